#include "net/tcp_txq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* The iovecs one sendmsg carries: the queue, then header and body of
 * each frame of a batch. */
#define TXQ_IOV_MAX 256

int ns_tcp_txq_init(struct ns_tcp_txq *q, size_t limit)
{
    memset(q, 0, sizeof(*q));
    q->limit = limit;
    q->cap = limit + NS_TCP_FRAME_MAX;
    q->buf = malloc(q->cap);
    return q->buf ? 0 : -1;
}

void ns_tcp_txq_free(struct ns_tcp_txq *q)
{
    free(q->buf);
    memset(q, 0, sizeof(*q));
}

bool ns_tcp_txq_empty(const struct ns_tcp_txq *q)
{
    return q->len == 0;
}

/* Appends n bytes (the caller checked the room). */
static void put(struct ns_tcp_txq *q, const void *p, size_t n)
{
    if (q->off + q->len + n > q->cap) {
        memmove(q->buf, q->buf + q->off, q->len);
        q->off = 0;
    }
    memcpy(q->buf + q->off + q->len, p, n);
    q->len += n;
}

/* Queues what is left of frame f after its first `done` bytes went out. */
static void queue_rest(struct ns_tcp_txq *q, const struct ns_tcp_out *f, size_t done)
{
    if (done < f->hdr_len) {
        put(q, f->hdr + done, f->hdr_len - done);
        done = f->hdr_len;
    }
    done -= f->hdr_len;
    put(q, f->body + done, f->body_len - done);
}

int ns_tcp_txq_send(struct ns_tcp_txq *q, int fd, const struct ns_tcp_out *f, unsigned n)
{
    struct iovec iov[TXQ_IOV_MAX];
    unsigned niov = 0, nf = 0;
    if (q->len)
        iov[niov++] = (struct iovec){q->buf + q->off, q->len};
    while (nf < n && niov + 2 <= TXQ_IOV_MAX) {
        iov[niov++] = (struct iovec){(void *)f[nf].hdr, f[nf].hdr_len};
        iov[niov++] = (struct iovec){(void *)f[nf].body, f[nf].body_len};
        nf++;
    }
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = niov};
    /* fd < 0: not connected yet, everything waits. */
    ssize_t w = fd < 0 ? 0 : sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        w = 0;
    }
    size_t done = (size_t)w;
    q->bytes_out += done;
    /* The queue's bytes went first. */
    size_t from_q = done < q->len ? done : q->len;
    q->off += from_q;
    q->len -= from_q;
    if (q->len == 0)
        q->off = 0;
    done -= from_q;
    for (unsigned i = 0; i < n; i++) {
        size_t flen = f[i].hdr_len + f[i].body_len;
        if (i < nf && done >= flen) {
            done -= flen;
            q->frames_out++;
            continue;
        }
        if (i < nf && done > 0) {
            /* Begun on the wire: its rest must follow, whatever the limit. */
            queue_rest(q, &f[i], done);
            done = 0;
            q->frames_out++;
            continue;
        }
        if (q->len + flen > q->limit) {
            q->dropped++;
            continue;
        }
        queue_rest(q, &f[i], 0);
        q->frames_out++;
    }
    return q->len ? 1 : 0;
}

int ns_tcp_txq_flush(struct ns_tcp_txq *q, int fd)
{
    if (!q->len)
        return 0;
    return ns_tcp_txq_send(q, fd, NULL, 0);
}
