/* A client's DNS while its tunnel is up (X8): the servers the gateway sent
 * in the configuration payload, both families, applied by dns_apply:
 *   resolved  systemd-resolved over D-Bus (org.freedesktop.resolve1):
 *             SetLinkDNS on the TUN device, RevertLink when it goes down;
 *   file      /etc/resolv.conf replaced by the VPN's servers, its previous
 *             content written back when the tunnel goes down and at exit;
 *   auto      resolved when it runs (its varlink socket exists), else file;
 *   no        the servers are only logged.
 * Both need what natsecd gives up after set-up (X14): the bus connection
 * and the file's descriptor are opened before the privilege drop and the
 * system call filter, and only used afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "daemon/natsecd.h"
#include "ike/cp_domain.h"
#include "util/log.h"
#include "util/resolvconf.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLVED_SOCKET "/run/systemd/resolve/io.systemd.Resolve"
#define RESOLV_CONF_MAX 65536
#define RESOLVED_TIMEOUT_US 2000000 /* the event loop waits at most this for resolved */

struct nsd_dns {
    enum ns_conf_dns_apply mode; /* RESOLVED or FILE */
    bool applied;
    /* file */
    int fd;
    char *saved;
    size_t saved_len;
    /* resolved */
    sd_bus *bus;
    int ifindex;
};

static int open_file(struct nsd_dns *s)
{
    s->fd = open(RESOLV_CONF, O_RDWR | O_CLOEXEC);
    if (s->fd < 0) {
        NS_ERR("dns_apply = file: cannot open %s: %s", RESOLV_CONF, strerror(errno));
        return -1;
    }
    s->saved = ns_file_slurp(s->fd, RESOLV_CONF_MAX, &s->saved_len);
    if (!s->saved) {
        NS_ERR("dns_apply = file: cannot read %s: %s", RESOLV_CONF, strerror(errno));
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    return 0;
}

static int open_bus(struct nsd_dns *s)
{
    int rc = sd_bus_open_system(&s->bus);
    if (rc < 0) {
        NS_ERR("dns_apply = resolved: no system bus: %s", strerror(-rc));
        s->bus = NULL;
        return -1;
    }
    /* The bus authenticates as who we are now, before the privilege drop. */
    const char *name;
    rc = sd_bus_get_unique_name(s->bus, &name);
    if (rc < 0) {
        NS_ERR("dns_apply = resolved: system bus: %s", strerror(-rc));
        s->bus = sd_bus_flush_close_unref(s->bus);
        return -1;
    }
    return 0;
}

int nsd_dns_prepare(struct nsd *d)
{
    enum ns_conf_dns_apply mode = d->conf.dns_apply;
    if (d->conf.role != NS_CONF_CLIENT || mode == NS_CONF_DNS_NO)
        return 0;
    if (mode == NS_CONF_DNS_AUTO)
        mode = access(RESOLVED_SOCKET, F_OK) == 0 ? NS_CONF_DNS_RESOLVED : NS_CONF_DNS_FILE;
    struct nsd_dns *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    *s = (struct nsd_dns){.mode = mode, .fd = -1, .ifindex = d->tun.ifindex};
    int rc = mode == NS_CONF_DNS_FILE ? open_file(s) : open_bus(s);
    if (rc != 0) {
        free(s);
        /* auto: natsecd works without it, as with dns_apply = no. */
        return d->conf.dns_apply == NS_CONF_DNS_AUTO ? 0 : -1;
    }
    NS_INFO("DNS servers from the gateway go to %s",
            mode == NS_CONF_DNS_FILE ? RESOLV_CONF : "systemd-resolved");
    d->dns = s;
    return 0;
}

static int resolved_call(struct nsd_dns *s, sd_bus_message *m, const char *what)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int rc = sd_bus_call(s->bus, m, RESOLVED_TIMEOUT_US, &e, NULL);
    if (rc < 0)
        NS_ERR("systemd-resolved %s: %s", what, e.message ? e.message : strerror(-rc));
    sd_bus_error_free(&e);
    return rc < 0 ? -1 : 0;
}

/* SetLinkDNS(i ifindex, a(iay) addresses). */
static int resolved_set(struct nsd_dns *s, const struct ns_addr *dns, unsigned n)
{
    sd_bus_message *m = NULL;
    int rc = sd_bus_message_new_method_call(s->bus, &m, "org.freedesktop.resolve1",
                                            "/org/freedesktop/resolve1",
                                            "org.freedesktop.resolve1.Manager", "SetLinkDNS");
    if (rc >= 0)
        rc = sd_bus_message_append(m, "i", s->ifindex);
    if (rc >= 0)
        rc = sd_bus_message_open_container(m, 'a', "(iay)");
    for (unsigned i = 0; rc >= 0 && i < n; i++) {
        rc = sd_bus_message_open_container(m, 'r', "iay");
        if (rc >= 0)
            rc = sd_bus_message_append(m, "i", (int32_t)dns[i].family);
        if (rc >= 0)
            rc = sd_bus_message_append_array(m, 'y', dns[i].a, ns_addr_len(&dns[i]));
        if (rc >= 0)
            rc = sd_bus_message_close_container(m);
    }
    if (rc >= 0)
        rc = sd_bus_message_close_container(m);
    rc = rc >= 0 ? resolved_call(s, m, "SetLinkDNS") : -1;
    sd_bus_message_unref(m);
    return rc;
}

static void resolved_revert(struct nsd_dns *s)
{
    sd_bus_message *m = NULL;
    if (sd_bus_message_new_method_call(s->bus, &m, "org.freedesktop.resolve1",
                                       "/org/freedesktop/resolve1",
                                       "org.freedesktop.resolve1.Manager", "RevertLink") >= 0 &&
        sd_bus_message_append(m, "i", s->ifindex) >= 0)
        (void)resolved_call(s, m, "RevertLink");
    sd_bus_message_unref(m);
}

struct find_domains {
    uint64_t id;
    char *out;
};

static void copy_domains(void *arg, const struct ns_ike_sa_status *st)
{
    struct find_domains *f = arg;
    if (st->id == f->id && st->dns_domains)
        snprintf(f->out, NS_CP_DOMAINS_MAX, "%s", st->dns_domains);
}

/* SetLinkDomains(i ifindex, a(sb) domains): each a routing-only domain
 * ("~" in resolvectl), so only its names go to the VPN's servers. */
static int resolved_domains(struct nsd_dns *s, char *list)
{
    sd_bus_message *m = NULL;
    int rc = sd_bus_message_new_method_call(s->bus, &m, "org.freedesktop.resolve1",
                                            "/org/freedesktop/resolve1",
                                            "org.freedesktop.resolve1.Manager", "SetLinkDomains");
    if (rc >= 0)
        rc = sd_bus_message_append(m, "i", s->ifindex);
    if (rc >= 0)
        rc = sd_bus_message_open_container(m, 'a', "(sb)");
    char *save = NULL;
    for (char *t = strtok_r(list, " ", &save); rc >= 0 && t; t = strtok_r(NULL, " ", &save))
        rc = sd_bus_message_append(m, "(sb)", t, 1);
    if (rc >= 0)
        rc = sd_bus_message_close_container(m);
    rc = rc >= 0 ? resolved_call(s, m, "SetLinkDomains") : -1;
    sd_bus_message_unref(m);
    return rc;
}

void nsd_dns_up(struct nsd *d, uint64_t ike_sa_id, const struct ns_addr *dns, unsigned n)
{
    char domains[NS_CP_DOMAINS_MAX] = "";
    struct find_domains f = {ike_sa_id, domains};
    ns_ike_engine_foreach(d->engine, copy_domains, &f);
    if (domains[0])
        NS_INFO("gateway names split DNS domains: %s", domains);
    for (unsigned i = 0; i < n; i++) {
        char a[NS_ADDR_STRLEN];
        NS_INFO("gateway offers DNS server %s", ns_addr_str(&dns[i], a));
    }
    struct nsd_dns *s = d->dns;
    if (!s || n == 0)
        return;
    if (s->mode == NS_CONF_DNS_RESOLVED) {
        s->applied = resolved_set(s, dns, n) == 0;
        if (s->applied && domains[0])
            (void)resolved_domains(s, domains);
        return;
    }
    /* resolv.conf has no per-domain servers: the domains become its
     * search list, the VPN's servers answer every name. */
    const char *dom[NS_CP_DOMAINS_MAX / 2];
    unsigned n_dom = 0;
    char *save = NULL;
    for (char *t = strtok_r(domains, " ", &save); t; t = strtok_r(NULL, " ", &save))
        dom[n_dom++] = t;
    char text[4096];
    ssize_t len = ns_resolvconf_render(text, sizeof(text), dns, n, dom, n_dom);
    if (len < 0 || ns_file_replace(s->fd, text, (size_t)len) != 0) {
        NS_ERR("cannot write the VPN's DNS servers to %s: %s", RESOLV_CONF,
               len < 0 ? "too long" : strerror(errno));
        /* Whatever part was written goes back. */
        (void)ns_file_replace(s->fd, s->saved, s->saved_len);
        return;
    }
    s->applied = true;
}

void nsd_dns_down(struct nsd *d)
{
    struct nsd_dns *s = d->dns;
    if (!s || !s->applied)
        return;
    s->applied = false;
    if (s->mode == NS_CONF_DNS_RESOLVED) {
        resolved_revert(s);
        return;
    }
    if (ns_file_replace(s->fd, s->saved, s->saved_len) != 0)
        NS_ERR("cannot put back the previous %s: %s", RESOLV_CONF, strerror(errno));
    else
        NS_INFO("%s: previous content put back", RESOLV_CONF);
}

void nsd_dns_close(struct nsd *d)
{
    struct nsd_dns *s = d->dns;
    if (!s)
        return;
    nsd_dns_down(d);
    if (s->fd >= 0)
        close(s->fd);
    free(s->saved);
    if (s->bus)
        sd_bus_flush_close_unref(s->bus);
    free(s);
    d->dns = NULL;
}
