/* The [natsecd] keys of EAP on RADIUS servers (X16): eap_backend,
 * radius_server (a list, in the order they are tried), radius_secret_file
 * (only root and natsecd may read it: the secret lets anyone answer for
 * the servers), radius_timeout, radius_tries, radius_nas_id. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/parse.h"
#include "conf/value.h"
#include "util/fileperm.h"

#define RADIUS_PORT 1812
#define NAS_ID_MAX 253 /* one RADIUS attribute */

int ns_conf_p_set_eap_backend(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "local") == 0)
        p->c->eap_backend = NS_CONF_EAP_LOCAL;
    else if (strcmp(v, "radius") == 0)
        p->c->eap_backend = NS_CONF_EAP_RADIUS;
    else {
        snprintf(err, errlen, "'%s' is neither local nor radius", v);
        return -1;
    }
    return 0;
}

/* "192.0.2.5", "192.0.2.5:1812", "[2001:db8::5]:1812" or "2001:db8::5":
 * addresses only, so that nothing waits for DNS. */
static int server_item(const char *item, void *arg, char *err, size_t errlen)
{
    struct ns_conf *c = arg;
    char host[64];
    const char *port = NULL;
    size_t n = strlen(item);
    if (c->n_radius_server == NS_CONF_MAX_RADIUS) {
        snprintf(err, errlen, "more than %d RADIUS servers", NS_CONF_MAX_RADIUS);
        return -1;
    }
    if (item[0] == '[') {
        const char *close = strchr(item, ']');
        if (!close || (close[1] && close[1] != ':') || (size_t)(close - item - 1) >= sizeof(host))
            goto bad;
        memcpy(host, item + 1, (size_t)(close - item - 1));
        host[close - item - 1] = 0;
        port = close[1] ? close + 2 : NULL;
    } else {
        const char *colon = strchr(item, ':');
        bool v4_port = colon && !strchr(colon + 1, ':');
        size_t hl = v4_port ? (size_t)(colon - item) : n;
        if (hl >= sizeof(host))
            goto bad;
        memcpy(host, item, hl);
        host[hl] = 0;
        port = v4_port ? colon + 1 : NULL;
    }
    struct ns_endpoint *ep = &c->radius_server[c->n_radius_server];
    uint64_t pn = RADIUS_PORT;
    if (ns_addr_parse(&ep->addr, host) != 0 ||
        (port && ns_conf_value_uint(port, 1, 65535, &pn, err, errlen) != 0))
        goto bad;
    ep->port = (uint16_t)pn;
    c->n_radius_server++;
    return 0;
bad:
    snprintf(err, errlen,
             "'%s' is not address[:port] (an IP address, no host name; IPv6 as [addr]:port; "
             "port default %d)",
             item, RADIUS_PORT);
    return -1;
}

/* Each radius_server line adds its servers after those of the lines
 * before it. */
int ns_conf_p_set_radius_server(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_list(v, server_item, p->c, err, errlen);
}

int ns_conf_p_set_radius_secret_file(struct ns_conf_parser *p, const char *v, char *err,
                                     size_t errlen)
{
    if (strlen(v) >= sizeof(p->c->radius_secret_file)) {
        snprintf(err, errlen, "a path of more than %zu characters",
                 sizeof(p->c->radius_secret_file) - 1);
        return -1;
    }
    snprintf(p->c->radius_secret_file, sizeof(p->c->radius_secret_file), "%s", v);
    return 0;
}

int ns_conf_p_set_radius_timeout(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_seconds_ms(v, 100, 60000, &p->c->radius_timeout_ms, err, errlen);
}

int ns_conf_p_set_radius_nas_id(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    if (strlen(v) > NAS_ID_MAX) {
        snprintf(err, errlen, "longer than %d characters (one RADIUS attribute)", NAS_ID_MAX);
        return -1;
    }
    snprintf(p->c->radius_nas_id, sizeof(p->c->radius_nas_id), "%s", v);
    return 0;
}

/* The secret: the file's first line, without its line end. */
static void read_secret(struct ns_conf_parser *p)
{
    struct ns_conf *c = p->c;
    int line = ns_conf_p_key_line(p, "radius_secret_file");
    char why[256];
    uint8_t buf[NS_CONF_RADIUS_SECRET_MAX + 2];
    int fd = open(c->radius_secret_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        ns_conf_p_error(p, line, "radius_secret_file: cannot read %s: %s", c->radius_secret_file,
                        strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    if (ns_perm_private(&st, ns_conf_p_run_group(c), why, sizeof(why)) != NS_PERM_OK) {
        ns_conf_p_error(p, line,
                        "radius_secret_file: refused: %s holds the RADIUS shared secret and must "
                        "be readable by root and natsecd only, but %s",
                        c->radius_secret_file, why);
        close(fd);
        return;
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    size_t len = n > 0 ? (size_t)n : 0;
    const uint8_t *nl = memchr(buf, '\n', len);
    if (nl)
        len = (size_t)(nl - buf);
    if (len && buf[len - 1] == '\r')
        len--;
    if (n < 0 || len == 0 || (!nl && (size_t)n == sizeof(buf)) || len > NS_CONF_RADIUS_SECRET_MAX)
        ns_conf_p_error(p, line,
                        "radius_secret_file: %s must hold the secret on its first line, 1 to %d "
                        "bytes (the value is not shown: it is a secret)",
                        c->radius_secret_file, NS_CONF_RADIUS_SECRET_MAX);
    else {
        memcpy(c->radius_secret, buf, len);
        c->radius_secret_len = len;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
}

void ns_conf_p_check_radius(struct ns_conf_parser *p)
{
    static const char *const keys[] = {"radius_server", "radius_secret_file", "radius_timeout",
                                       "radius_tries", "radius_nas_id"};
    struct ns_conf *c = p->c;
    if (c->eap_backend != NS_CONF_EAP_RADIUS) {
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (ns_conf_p_key_line(p, keys[i]))
                ns_conf_p_error(p, ns_conf_p_key_line(p, keys[i]),
                                "'%s' is used only with eap_backend = radius", keys[i]);
        return;
    }
    int line = ns_conf_p_key_line(p, "eap_backend");
    if (c->role != NS_CONF_GATEWAY) {
        ns_conf_p_error(p, line, "eap_backend = radius is a gateway setting");
        return;
    }
    if (c->n_radius_server == 0)
        ns_conf_p_error(p, line, "eap_backend = radius needs radius_server (address[:port], ...)");
    else if (!c->radius_secret_file[0])
        ns_conf_p_error(p, line,
                        "eap_backend = radius needs radius_secret_file (the shared secret's file)");
    else
        read_secret(p);
    if (c->n_users)
        NS_WARN("%s:%d: [user %s] is not used: eap_backend = radius checks logins on the RADIUS "
                "servers",
                p->name, c->users[0].line, c->users[0].name);
}
