/* TUN batches with the offloads inside (net/tun_batch.h). */
#include "net/tun_batch.h"

#include <string.h>

#include "net/tun_uso.h"
#include "util/log.h"

/* ---- read ---- */

/* Without offloads: one packet per read, straight into d. */
static unsigned read_plain(struct ns_tun *t, struct ns_dgram *d, unsigned n, struct ns_tun_got *got)
{
    int k = ns_tun_read(t, d, n);
    got->more = k == (int)n;
    if (k <= 0)
        return 0;
    got->read = (unsigned)k;
    for (int i = 0; i < k; i++)
        got->truncated += d[i].truncated;
    return (unsigned)k;
}

/* With offloads: a read may return a TCP super-packet of up to 64 KB, cut
 * here into MTU-sized segments, one descriptor each. One read and one
 * kernel traversal carry what took ~45 without. Every read goes straight
 * into the next free descriptor's buffer (its virtio header into the
 * bytes before it), so a plain packet costs one read and no copy; only the
 * tail of a super-packet spills into r->super, behind room for the
 * descriptor's part, which is copied there to make it whole. */
static unsigned read_offload(struct ns_tun_reader *r, struct ns_tun *t, struct ns_dgram *d,
                             unsigned n, bool may_read, struct ns_tun_got *got)
{
    unsigned k = 0;
    got->more = true;
    while (k < n) {
        if (!r->pending) {
            if (!may_read)
                break;
            struct ns_vnet_hdr h;
            int l = ns_tun_read_split(t, d[k].data, d[k].cap, r->super, sizeof(r->super), &h);
            if (l <= 0) {
                got->more = false;
                break;
            }
            size_t len = (size_t)l;
            got->read++;
            if (len >= sizeof(r->super)) {
                got->truncated++;
                continue;
            }
            if (len <= d[k].cap && ns_gso_single(&h, d[k].data, len) == 0) {
                d[k++].len = len; /* in place */
                continue;
            }
            memcpy(r->super, d[k].data, len < d[k].cap ? len : d[k].cap);
            if (ns_gso_init(&r->it, &h, r->super, len) != 0) {
                got->truncated++;
                continue;
            }
            got->read--; /* counted per segment below */
            r->pending = true;
        }
        int l = ns_gso_next(&r->it, d[k].data, d[k].cap);
        if (l <= 0) {
            r->pending = false;
            if (l < 0) {
                got->read++;
                got->truncated++;
            }
            continue;
        }
        got->read++;
        d[k++].len = (size_t)l;
    }
    return k;
}

unsigned ns_tun_batch_read(struct ns_tun_reader *r, struct ns_tun *t, struct ns_dgram *d,
                           unsigned n, bool may_read, struct ns_tun_got *got)
{
    memset(got, 0, sizeof(*got));
    if (t->offload)
        return read_offload(r, t, d, n, may_read, got);
    return may_read ? read_plain(t, d, n, got) : 0;
}

bool ns_tun_reader_pending(const struct ns_tun_reader *r)
{
    return r->pending;
}

/* ---- write ---- */

static void write_plain(struct ns_tun *t, const struct ns_dgram *d, unsigned n,
                        struct ns_tun_wrote *c)
{
    if (!n)
        return;
    int k = ns_tun_write(t, d, n);
    if (k < 0)
        k = 0;
    c->written += (unsigned)k;
    c->blocked += n - (unsigned)k;
}

/* The run of d[i..n) that merges into one super-packet in w->super: its
 * end j (i + 1: none, write d[i] alone), the length and header in *len,
 * *h. */
static unsigned merge_run(struct ns_tun_writer *w, const struct ns_tun *t, const struct ns_dgram *d,
                          unsigned i, unsigned n, size_t *len, struct ns_vnet_hdr *h)
{
    unsigned j = i + 1;
    if (j == n) /* the batch's last packet: no run to start (no copy, no checksum) */
        return j;
    struct ns_gro g;
    if (ns_gro_start(&g, w->super, sizeof(w->super), d[i].data, d[i].len)) {
        while (j < n && ns_gro_append(&g, d[j].data, d[j].len))
            j++;
        *len = ns_gro_finish(&g, h);
        return j;
    }
    struct ns_uso u;
    if (t->uso_write && ns_uso_start(&u, w->super, sizeof(w->super), d[i].data, d[i].len)) {
        while (j < n && ns_uso_append(&u, d[j].data, d[j].len))
            j++;
        *len = ns_uso_finish(&u, h);
    }
    return j;
}

struct ns_tun_wrote ns_tun_batch_write(struct ns_tun_writer *w, struct ns_tun *t,
                                       const struct ns_dgram *d, unsigned n)
{
    struct ns_tun_wrote c = {0, 0, 0, 0};
    if (!t->offload) {
        write_plain(t, d, n, &c);
        return c;
    }
    unsigned i = 0;
    while (i < n) {
        size_t len = 0;
        struct ns_vnet_hdr h;
        unsigned j = merge_run(w, t, d, i, n, &len, &h);
        if (j == i + 1) {
            write_plain(t, &d[i], 1, &c);
            i = j;
            continue;
        }
        uint64_t refused = t->write_errors;
        int k = ns_tun_write_vnet(t, &h, w->super, len);
        if (k > 0 && t->write_errors != refused && h.gso_type == NS_VIRTIO_NET_HDR_GSO_UDP_L4) {
            /* A kernel that announced USO but refuses its writes: the
             * datagrams go one by one, now and from now on. */
            NS_WARN("tun %s: UDP segmentation offload refused; writing datagrams singly", t->name);
            t->write_errors = refused;
            t->uso_write = false;
            write_plain(t, &d[i], j - i, &c);
        } else if (k > 0) {
            c.written += j - i;
            if (h.gso_type == NS_VIRTIO_NET_HDR_GSO_UDP_L4)
                c.udp_supers++;
            else
                c.tcp_supers++;
        } else {
            c.blocked += j - i;
        }
        i = j;
    }
    return c;
}
