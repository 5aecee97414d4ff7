/* The control socket (UNIX stream, conf.control, mode 0600, in a folder
 * only root or natsecd's user may write: made 0700 when missing, refused
 * otherwise, util/fileperm.h): natsecctl sends one request line, natsecd
 * answers with one JSON object and closes.
 *
 *   status, status-json  the status (status.c), streamed in parts
 *                        (control_status.c); natsecctl draws its table
 *                        from the same JSON, so there is one source of truth
 *   status-summary       the status without the list of IKE SAs (their
 *                        numbers are in the counters): O(1) in their number
 *   up                   client: connect to the gateway
 *   down                 client: delete the IKE SA (and stop reconnecting)
 *   rekey-child          re-key every CHILD_SA now (natsecctl rekey)
 *   rekey-ike            re-key every IKE SA now (natsecctl rekey ike)
 *   version              {"version", "pid"} of this natsecd
 *   log-level [LEVEL]    the log level now, or set it (error, warn, info, debug)
 *   disconnect WHAT      delete the IKE SAs of a peer (disconnect.c)
 *   reload               read the configuration again (reload.c)
 *
 * Errors are {"error": "..."}. Connections are non-blocking and few (a
 * local administrator's tool), bounded by NSD_CTL_MAX; a connection that
 * says nothing useful within its buffer is answered with an error. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/natsecd.h"
#include "util/fileperm.h"
#include "util/log.h"
#include "util/version.h"

static void conn_close(struct nsd_ctl_conn *c)
{
    if (!c->d)
        return;
    ns_loop_remove(c->d->loop, c->fd);
    close(c->fd);
    nsd_ctl_status_end(c);
    free(c->out);
    memset(c, 0, sizeof(*c));
}

static json_object *answer_error(const char *msg)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(msg));
    return o;
}

static json_object *answer_result(const char *msg)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "result", json_object_new_string(msg));
    return o;
}

static json_object *handle(struct nsd *d, const char *req)
{
    if (strcmp(req, "status-summary") == 0)
        return nsd_status_summary_json(d);
    if (strcmp(req, "log-level") == 0 || strncmp(req, "log-level ", 10) == 0) {
        if (req[9] == ' ') {
            int level = ns_log_level_parse(req + 10);
            if (level < 0)
                return answer_error("unknown log level (error, warn, info, debug)");
            ns_log_set_level((enum ns_log_level)level);
            NS_INFO("control: log level %s", ns_log_level_name((enum ns_log_level)level));
        }
        return answer_result(ns_log_level_name(ns_log_get_level()));
    }
    if (strcmp(req, "reload") == 0) {
        char msg[1200];
        if (nsd_reload(d, msg, sizeof(msg)) != 0)
            return answer_error(msg);
        return answer_result(msg);
    }
    if (strncmp(req, "disconnect ", 11) == 0 && req[11] != '\0')
        return nsd_disconnect(d, req + 11);
    if (strcmp(req, "version") == 0) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "version", json_object_new_string(ns_version_long()));
        json_object_object_add(o, "pid", json_object_new_int64((int64_t)getpid()));
        return o;
    }
    bool client = d->conf.role == NS_CONF_CLIENT;
    if (strcmp(req, "up") == 0) {
        if (!client)
            return answer_error("'up' is for a client; a gateway waits for its clients");
        if (nsd_client_connect(d) != 0)
            return answer_error("cannot connect: already connecting or connected, or no route "
                                "to the gateway (see the log)");
        NS_INFO("control: up");
        return answer_result("connecting");
    }
    if (strcmp(req, "down") == 0) {
        if (!client)
            return answer_error("'down' is for a client");
        nsd_reconnect_stop(d);
        int rc = ns_ike_engine_disconnect(d->engine, ns_loop_now_ms(d->loop));
        nsd_engine_rearm(d);
        if (rc != 0)
            return answer_error("not connected");
        NS_INFO("control: down");
        return answer_result("disconnecting");
    }
    if (strcmp(req, "rekey-child") == 0 || strcmp(req, "rekey-ike") == 0) {
        bool ike = strcmp(req, "rekey-ike") == 0;
        unsigned n = ns_ike_engine_rekey(d->engine, 0, ike, ns_loop_now_ms(d->loop));
        nsd_engine_rearm(d);
        char msg[64];
        snprintf(msg, sizeof(msg), "re-keying %u %s SA(s)", n, ike ? "IKE" : "CHILD");
        NS_INFO("control: %s", msg);
        return answer_result(msg);
    }
    return answer_error("unknown request (status, status-json, status-summary, up, down, "
                        "rekey-child, rekey-ike, version, log-level [LEVEL], disconnect WHAT, "
                        "reload)");
}

static void conn_io(struct ns_loop *loop, int fd, uint32_t events, void *arg);

static void conn_answer(struct nsd_ctl_conn *c, json_object *ans)
{
    const char *s = json_object_to_json_string_ext(ans, JSON_C_TO_STRING_PLAIN);
    size_t len = strlen(s);
    c->out = malloc(len + 1);
    if (c->out) {
        memcpy(c->out, s, len);
        c->out[len] = '\n';
        c->out_len = c->out_cap = len + 1;
        c->out_off = 0;
    }
    json_object_put(ans);
    if (!c->out || ns_loop_modify(c->d->loop, c->fd, EPOLLOUT) != 0)
        conn_close(c);
}

static void conn_io(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)loop;
    (void)fd;
    struct nsd_ctl_conn *c = arg;
    if (c->out) {
        while (c->out_off < c->out_len) {
            ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            if (w <= 0)
                break;
            c->out_off += (size_t)w;
        }
        /* The next part of a status, if any; then back to the loop, which
         * calls again once every other ready socket had its turn. */
        if (c->out_off == c->out_len && c->streaming && nsd_ctl_status_next(c) == 0)
            return;
        conn_close(c);
        return;
    }
    if (!(events & EPOLLIN)) {
        conn_close(c);
        return;
    }
    ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        conn_close(c);
        return;
    }
    c->in_len += (size_t)r;
    c->in[c->in_len] = '\0';
    char *nl = strchr(c->in, '\n');
    if (!nl) {
        if (c->in_len == sizeof(c->in) - 1)
            conn_answer(c, answer_error("request too long"));
        return;
    }
    *nl = '\0';
    if (nl > c->in && nl[-1] == '\r')
        nl[-1] = '\0';
    if (strcmp(c->in, "status") == 0 || strcmp(c->in, "status-json") == 0) {
        if (nsd_ctl_status_start(c) != 0 || ns_loop_modify(c->d->loop, c->fd, EPOLLOUT) != 0)
            conn_close(c);
        return;
    }
    conn_answer(c, handle(c->d, c->in));
}

static void on_accept(struct ns_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)events;
    struct nsd *d = arg;
    for (;;) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                NS_WARN("control: accept: %s", strerror(errno));
            return;
        }
        struct nsd_ctl_conn *c = NULL;
        for (unsigned i = 0; i < NSD_CTL_MAX && !c; i++)
            if (!d->ctl_conns[i].d)
                c = &d->ctl_conns[i];
        if (!c) {
            NS_WARN("control: too many connections, one refused");
            close(cfd);
            continue;
        }
        memset(c, 0, sizeof(*c));
        c->fd = cfd;
        c->d = d;
        if (ns_loop_add(loop, cfd, EPOLLIN, conn_io, c) != 0) {
            close(cfd);
            memset(c, 0, sizeof(*c));
        }
    }
}

/* Removes a socket file left by a natsecd that died; refuses when one is
 * still listening there. */
static int clear_stale(const char *path, const struct sockaddr_un *sun)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        NS_ERR("control: %s exists and is not a socket", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
        close(fd);
        NS_ERR("control: another natsecd is listening on %s", path);
        return -1;
    }
    if (fd >= 0)
        close(fd);
    unlink(path);
    return 0;
}

int nsd_control_start(struct nsd *d)
{
    const char *path = d->conf.control;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path)) {
        NS_ERR("control: path too long: %s", path);
        return -1;
    }
    strcpy(sun.sun_path, path);
    /* Whoever may write the folder may put a socket of their own where
     * natsecctl looks for ours. */
    char dir[sizeof(sun.sun_path)], why[512];
    strcpy(dir, path);
    if (ns_perm_private_dir(dirname(dir), why, sizeof(why)) != 0) {
        NS_ERR("control: the folder of %s: %s", path, why);
        return -1;
    }
    if (clear_stale(path, &sun) != 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        NS_ERR("control: socket: %s", strerror(errno));
        return -1;
    }
    /* Only root may ask: status shows identities and addresses of peers. */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    if (rc != 0 || listen(fd, 16) != 0) {
        NS_ERR("control: cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (ns_loop_add(d->loop, fd, EPOLLIN, on_accept, d) != 0) {
        close(fd);
        unlink(path);
        return -1;
    }
    d->control_fd = fd;
    NS_INFO("control socket %s", path);
    return 0;
}

void nsd_control_stop(struct nsd *d)
{
    for (unsigned i = 0; i < NSD_CTL_MAX; i++)
        conn_close(&d->ctl_conns[i]);
    if (d->control_fd >= 0) {
        ns_loop_remove(d->loop, d->control_fd);
        close(d->control_fd);
        unlink(d->conf.control);
        d->control_fd = -1;
    }
}
