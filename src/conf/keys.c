/* What each key of natsecd's configuration means: the [natsecd] keys with
 * their ranges; the [peer <identity>] keys are in peer_keys.c. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/creds.h"
#include "conf/parse.h"
#include "conf/proposal_parse.h"
#include "conf/value.h"
#include "natt/udp_demux.h"


typedef int (*main_setter)(struct ns_conf_parser *p, const char *v, char *err, size_t errlen);

struct main_key {
    const char *name;
    main_setter set;  /* NULL: a plain number stored at off */
    size_t off, size; /* field of struct ns_conf for plain numbers */
    uint64_t min, max;
    bool repeat; /* may be written again: each line adds to the list */
};

/* ---- [natsecd] keys ---------------------------------------------------- */

static int set_role(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "gateway") == 0)
        p->c->role = NS_CONF_GATEWAY;
    else if (strcmp(v, "client") == 0)
        p->c->role = NS_CONF_CLIENT;
    else {
        snprintf(err, errlen, "'%s' is neither gateway nor client", v);
        return -1;
    }
    return 0;
}

static int set_local_id(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_id_parse_err(v, &p->c->local_id, err, errlen);
}

static int set_remote_id(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_id_parse_err(v, &p->c->remote_id, err, errlen);
}

struct listen_items {
    struct ns_addr addr[2];
    unsigned n;
};

static int listen_item(const char *item, void *arg, char *err, size_t errlen)
{
    struct listen_items *l = arg;
    if (l->n == 2) {
        snprintf(err, errlen, "at most two addresses (0.0.0.0, ::)");
        return -1;
    }
    return ns_conf_value_addr(item, &l->addr[l->n++], err, errlen);
}

/* One address, or one of each IP version: one socket serves both
 * (net/udp.h), bound to the wildcards; two specific addresses are then a
 * filter on where datagrams arrived (listen_only). */
static int set_listen(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    struct listen_items l = {.n = 0};
    if (ns_conf_value_list(v, listen_item, &l, err, errlen) != 0)
        return -1;
    p->c->listen_dual = false;
    p->c->listen = l.addr[0];
    p->c->n_listen_only = 0;
    if (l.n == 1)
        return 0;
    bool any0 = ns_addr_is_any(&l.addr[0]), any1 = ns_addr_is_any(&l.addr[1]);
    if (l.addr[0].family == l.addr[1].family || any0 != any1) {
        snprintf(err, errlen, "'%s': two addresses are one IPv4 and one IPv6 address, both "
                              "specific or both wildcards (0.0.0.0, ::)", v);
        return -1;
    }
    if (!any0) {
        p->c->listen_only[0] = l.addr[0];
        p->c->listen_only[1] = l.addr[1];
        p->c->n_listen_only = 2;
    }
    p->c->listen_dual = true;
    memset(&p->c->listen, 0, sizeof(p->c->listen));
    p->c->listen.family = AF_INET6;
    return 0;
}

/* A DNS name (RFC 1123 host name syntax): labels of letters, digits and
 * '-', dot-separated, not starting or ending with '-', at most 253
 * characters; not all digits and dots (that would be a bad address). */
static bool host_name(const char *v)
{
    size_t n = strlen(v), label = 0;
    bool alpha = false;
    if (n == 0 || n >= NS_CONF_HOST_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        if (ch == '.') {
            if (label == 0 || v[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || (ch == '-' && label > 0);
        if (!ok || ++label > 63)
            return false;
        alpha |= (ch < '0' || ch > '9');
    }
    return alpha && v[n - 1] != '-';
}

static int set_gateway(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    /* A port here would be ambiguous between 500 and 4500; ike_port and
     * natt_port say it instead. A name is resolved when natsecd starts
     * (daemon/gateway_name.c). */
    p->c->gateway_name[0] = 0;
    if (ns_conf_value_addr(v, &p->c->gateway, err, errlen) == 0)
        return 0;
    if (!host_name(v))
        return -1; /* the address error stands */
    memset(&p->c->gateway, 0, sizeof(p->c->gateway));
    snprintf(p->c->gateway_name, sizeof(p->c->gateway_name), "%s", v);
    return 0;
}

static int set_control(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    if (v[0] != '/' || strlen(v) >= sizeof(p->c->control)) {
        snprintf(err, errlen, "'%s' is not an absolute path shorter than %zu characters", v,
                 sizeof(p->c->control));
        return -1;
    }
    strcpy(p->c->control, v);
    return 0;
}

static int set_log_level(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    int l = ns_log_level_parse(v);
    if (l < 0) {
        snprintf(err, errlen, "'%s' is not one of error, warn, info, debug", v);
        return -1;
    }
    p->c->log_level = (enum ns_log_level)l;
    return 0;
}

static int set_dns_apply(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    static const char *const names[] = {
        [NS_CONF_DNS_AUTO] = "auto",
        [NS_CONF_DNS_RESOLVED] = "resolved",
        [NS_CONF_DNS_FILE] = "file",
        [NS_CONF_DNS_NO] = "no",
    };
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(v, names[i]) == 0) {
            p->c->dns_apply = (enum ns_conf_dns_apply)i;
            return 0;
        }
    snprintf(err, errlen, "'%s' is not one of auto, resolved, file, no", v);
    return -1;
}

static int set_log_target(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "stderr") == 0)
        p->c->log_target = NS_CONF_LOG_STDERR;
    else if (strcmp(v, "syslog") == 0)
        p->c->log_target = NS_CONF_LOG_SYSLOG;
    else if (strcmp(v, "auto") == 0)
        p->c->log_target = NS_CONF_LOG_AUTO;
    else {
        snprintf(err, errlen, "'%s' is not one of stderr, syslog, auto", v);
        return -1;
    }
    return 0;
}

/* A POSIX portable user name, as Debian's adduser takes by default. */
static int set_user(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);
    bool ok = n > 0 && n < sizeof(p->c->user) && v[0] != '-';
    for (size_t i = 0; ok && i < n; i++)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
             (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '-' || v[i] == '.';
    if (!ok) {
        snprintf(err, errlen, "'%s' is not a user name (1 to %zu of a-z A-Z 0-9 . _ -)", v,
                 sizeof(p->c->user) - 1);
        return -1;
    }
    strcpy(p->c->user, v);
    return 0;
}

static int set_ike_proposals(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    int n = ns_proposal_list_parse(v, NS_PROTO_IKE, p->c->ike, NS_MAX_PROPOSALS, err, errlen);
    if (n < 0)
        return -1;
    p->c->n_ike = (unsigned)n;
    return 0;
}

static int set_esp_proposals(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    int n = ns_proposal_list_parse(v, NS_PROTO_ESP, p->c->esp, NS_MAX_PROPOSALS, err, errlen);
    if (n < 0)
        return -1;
    p->c->n_esp = (unsigned)n;
    return 0;
}

int ns_conf_p_refuse_ah(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    (void)p;
    (void)v;
    snprintf(err, errlen,
             "AH is never offered (R1: it cannot cross a NAT); for integrity only use "
             "esp_proposals with null encryption, e.g. null-sha256");
    return -1;
}

static int set_force_encap(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->force_encap, err, errlen);
}

static int set_mobike(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->mobike, err, errlen);
}

static int set_keepalive(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    uint64_t n = 0;
    p->c->keepalive_auto = strcmp(v, "auto") == 0;
    if (p->c->keepalive_auto) {
        n = NS_NATT_KEEPALIVE_DEFAULT_S;
    } else if (strcmp(v, "off") != 0 && ns_conf_value_uint(v, 0, 3600, &n, err, errlen) != 0) {
        snprintf(err, errlen, "'%s' is not auto, off or a number of seconds up to 3600", v);
        return -1;
    }
    p->c->keepalive_s = (unsigned)n;
    return 0;
}

static int set_legacy_proposals(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->legacy_proposals, err, errlen);
}

static int set_tx_thread(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->tx_thread, err, errlen);
}

static int set_workers(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    uint64_t n = NS_CONF_WORKERS_AUTO;
    if (strcmp(v, "auto") != 0 &&
        ns_conf_value_uint(v, 1, NS_CONF_WORKERS_MAX, &n, err, errlen) != 0) {
        snprintf(err, errlen, "'%s' is not auto or a number of threads from 1 to %u", v,
                 NS_CONF_WORKERS_MAX);
        return -1;
    }
    p->c->workers = (unsigned)n;
    return 0;
}

static int set_tun_offload(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->tun_offload, err, errlen);
}

static int set_tun_uso(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->tun_uso, err, errlen);
}

static int set_udp_gso(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->udp_gso, err, errlen);
}

static int set_udp_gro(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->udp_gro, err, errlen);
}

static int set_initial_contact(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->initial_contact, err, errlen);
}

static int set_transport(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "auto") == 0) {
        p->c->transport = NS_CONF_TRANSPORT_AUTO;
    } else if (strcmp(v, "udp") == 0) {
        p->c->transport = NS_CONF_TRANSPORT_UDP;
    } else if (strcmp(v, "tcp") == 0) {
        p->c->transport = NS_CONF_TRANSPORT_TCP;
    } else {
        snprintf(err, errlen, "'%s' is not one of auto, udp, tcp", v);
        return -1;
    }
    return 0;
}

static int set_unique(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "no") == 0) {
        p->c->unique = NS_CONF_UNIQUE_NO;
    } else if (strcmp(v, "replace") == 0) {
        p->c->unique = NS_CONF_UNIQUE_REPLACE;
    } else if (strcmp(v, "keep") == 0) {
        p->c->unique = NS_CONF_UNIQUE_KEEP;
    } else {
        snprintf(err, errlen, "'%s' is not one of replace, keep, no", v);
        return -1;
    }
    return 0;
}

static int set_seccomp(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->seccomp, err, errlen);
}

static int set_fragmentation(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->fragmentation, err, errlen);
}

static int set_retransmit_timeout(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_seconds_ms(v, 50, 60000, &p->c->retransmit_timeout_ms, err, errlen);
}

static int set_tun(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);
    bool ok = n > 0 && n < sizeof(p->c->tun) && strcmp(v, ".") != 0 && strcmp(v, "..") != 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = v[i] > ' ' && v[i] < 127 && v[i] != '/' && v[i] != ':';
    if (!ok) {
        snprintf(err, errlen, "'%s' is not an interface name (1 to %zu characters, no '/' or ':')",
                 v, sizeof(p->c->tun) - 1);
        return -1;
    }
    strcpy(p->c->tun, v);
    return 0;
}

static int set_route_table(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    uint64_t t;
    if (ns_conf_value_uint(v, 1, UINT32_MAX, &t, err, errlen) != 0)
        return -1;
    if (t >= 253 && t <= 255) { /* default, main, local */
        snprintf(err, errlen, "table %s is one of the kernel's own (default, main, local)", v);
        return -1;
    }
    p->c->route_table = (uint32_t)t;
    return 0;
}

static int set_pool(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    struct ns_conf *c = p->c;
    if (ns_conf_value_prefix(v, false, &c->pool, &c->pool_prefix, err, errlen) != 0)
        return -1;
    if (c->pool.family != AF_INET) {
        snprintf(err, errlen, "'%s': the pool is an IPv4 prefix", v);
        return -1;
    }
    /* Exactly what the pool supports (ike/pool.h): /30 leaves one address
     * for a client after the gateway's; a /12 already holds a million. */
    if (c->pool_prefix < NS_POOL_MIN_PREFIX || c->pool_prefix > NS_POOL_MAX_PREFIX) {
        snprintf(err, errlen, "'%s': pool prefix length must be /%u to /%u", v, NS_POOL_MIN_PREFIX,
                 NS_POOL_MAX_PREFIX);
        return -1;
    }
    return 0;
}

static int set_pool6(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    struct ns_conf *c = p->c;
    if (ns_conf_value_prefix(v, false, &c->pool6, &c->pool6_prefix, err, errlen) != 0)
        return -1;
    if (c->pool6.family != AF_INET6) {
        snprintf(err, errlen, "'%s': pool6 is an IPv6 prefix", v);
        return -1;
    }
    if (c->pool6_prefix < NS_POOL6_MIN_PREFIX || c->pool6_prefix > NS_POOL6_MAX_PREFIX) {
        snprintf(err, errlen, "'%s': pool6 prefix length must be /%u to /%u", v,
                 NS_POOL6_MIN_PREFIX, NS_POOL6_MAX_PREFIX);
        return -1;
    }
    return 0;
}

static int dns_item(const char *item, void *arg, char *err, size_t errlen)
{
    struct ns_conf *c = arg;
    if (c->n_dns == NS_CONF_MAX_DNS) {
        snprintf(err, errlen, "more than %d DNS servers", NS_CONF_MAX_DNS);
        return -1;
    }
    return ns_conf_value_addr(item, &c->dns[c->n_dns++], err, errlen);
}

static int dns_domain_item(const char *item, void *arg, char *err, size_t errlen)
{
    struct ns_conf *c = arg;
    if (c->n_dns_domains == NS_CONF_MAX_DNS) {
        snprintf(err, errlen, "more than %d domains", NS_CONF_MAX_DNS);
        return -1;
    }
    if (!host_name(item)) {
        snprintf(err, errlen, "'%s' is not a DNS name", item);
        return -1;
    }
    snprintf(c->dns_domains[c->n_dns_domains++], NS_CONF_HOST_MAX, "%s", item);
    return 0;
}

static int set_dns_domains(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    p->c->n_dns_domains = 0;
    return ns_conf_value_list(v, dns_domain_item, p->c, err, errlen);
}

static int set_dns(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    p->c->n_dns = 0;
    return ns_conf_value_list(v, dns_item, p->c, err, errlen);
}

#define NUM(name, field, lo, hi)                                                                   \
    {                                                                                              \
        name, NULL, offsetof(struct ns_conf, field), sizeof(((struct ns_conf *)0)->field), lo, hi, \
            false                                                                                  \
    }
#define FN(name, fn)                                                                               \
    {                                                                                              \
        name, fn, 0, 0, 0, 0, false                                                                \
    }

#define FN_REPEAT(name, fn)                                                                        \
    {                                                                                              \
        name, fn, 0, 0, 0, 0, true                                                                 \
    }

static const struct main_key main_keys[] = {
    FN("role", set_role),
    FN("local_id", set_local_id),
    FN("listen", set_listen),
    NUM("ike_port", ike_port, 1, 65535),
    NUM("natt_port", natt_port, 1, 65535),
    FN("control", set_control),
    FN("log_level", set_log_level),
    FN("log_target", set_log_target),
    FN("user", set_user),
    FN("seccomp", set_seccomp),
    FN("ike_proposals", set_ike_proposals),
    FN("esp_proposals", set_esp_proposals),
    FN("ah_proposals", ns_conf_p_refuse_ah),
    FN("legacy_proposals", set_legacy_proposals),
    FN("force_encap", set_force_encap),
    FN("mobike", set_mobike),
    FN("keepalive", set_keepalive),
    NUM("dpd", dpd_s, 0, 86400),
    FN("retransmit_timeout", set_retransmit_timeout),
    NUM("retransmit_tries", retransmit_tries, 1, 20),
    FN("fragmentation", set_fragmentation),
    /* RFC 7383 2.5.1: 576 is the least every IPv4 path carries. */
    NUM("fragment_size", fragment_size, 576, 65535),
    NUM("half_open_max", half_open_max, 1, 10000000),
    NUM("cookie_threshold", cookie_threshold, 0, 10000000),
    NUM("ike_lifetime", ike_lifetime_s, 10, 30 * 86400),
    NUM("child_lifetime", child_lifetime_s, 10, 30 * 86400),
    NUM("child_lifetime_bytes", child_lifetime_bytes, 0, UINT64_MAX),
    FN("tun", set_tun),
    NUM("mtu", mtu, 576, 65535),
    NUM("fwmark", fwmark, 1, UINT32_MAX),
    FN("route_table", set_route_table),
    FN("tx_thread", set_tx_thread),
    FN("workers", set_workers),
    FN("tun_offload", set_tun_offload),
    FN("tun_uso", set_tun_uso),
    FN("udp_gso", set_udp_gso),
    FN("udp_gro", set_udp_gro),
    FN("transport", set_transport),
    NUM("tcp_port", tcp_port, 0, 65535),
    NUM("tcp_fallback", tcp_fallback_ms, 100, 60000),
    NUM("tcp_udp_probe", tcp_udp_probe_s, 0, 86400),
    NUM("tcp_handshake_timeout", tcp_handshake_s, 1, 300),
    NUM("tcp_idle_timeout", tcp_idle_s, 5, 86400),
    NUM("tcp_per_source", tcp_per_source, 1, 100000),
    NUM("tcp_max_connections", tcp_max_connections, 1, 100000),
    FN("pool", set_pool),
    FN("pool6", set_pool6),
    FN("dns", set_dns),
    FN("dns_apply", set_dns_apply),
    FN("dns_domains", set_dns_domains),
    NUM("ike_sas_per_id", ike_sas_per_id, 1, 1000000),
    FN("unique", set_unique),
    FN("gateway", set_gateway),
    FN("remote_id", set_remote_id),
    FN("initial_contact", set_initial_contact),
    FN("qcd", ns_conf_p_set_qcd),
    FN("qcd_secret_file", ns_conf_p_set_qcd_secret_file),
    NUM("qcd_rate", qcd_rate, 1, 1000000),
    FN("cert", ns_conf_p_set_cert),
    FN("key", ns_conf_p_set_key),
    FN("ca", ns_conf_p_set_ca),
    FN("rsa_pss", ns_conf_p_set_rsa_pss),
    FN("eap_backend", ns_conf_p_set_eap_backend),
    FN_REPEAT("radius_server", ns_conf_p_set_radius_server),
    FN("radius_secret_file", ns_conf_p_set_radius_secret_file),
    FN("radius_timeout", ns_conf_p_set_radius_timeout),
    NUM("radius_tries", radius_tries, 1, 10),
    FN("radius_nas_id", ns_conf_p_set_radius_nas_id),
};
#define N_MAIN_KEYS (sizeof(main_keys) / sizeof(main_keys[0]))

static int main_key_index(const char *name)
{
    for (size_t i = 0; i < N_MAIN_KEYS; i++)
        if (strcmp(main_keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int set_number(struct ns_conf_parser *p, const struct main_key *k, const char *v, char *err,
                      size_t errlen)
{
    uint64_t n;
    if (ns_conf_value_uint(v, k->min, k->max, &n, err, errlen) != 0)
        return -1;
    char *field = (char *)p->c + k->off;
    switch (k->size) {
    case 2: {
        uint16_t x = (uint16_t)n;
        memcpy(field, &x, 2);
        break;
    }
    case 4: {
        uint32_t x = (uint32_t)n;
        memcpy(field, &x, 4);
        break;
    }
    default:
        memcpy(field, &n, 8);
        break;
    }
    return 0;
}

void ns_conf_p_main_key(struct ns_conf_parser *p, const char *name, const char *value)
{
    int i = main_key_index(name);
    if (i < 0) {
        ns_conf_p_error(p, p->line, "unknown key '%s' in [natsecd]", name);
        return;
    }
    const struct main_key *k = &main_keys[i];
    if (p->main_key_line[i] && !k->repeat) {
        ns_conf_p_error(p, p->line, "'%s' is set twice (first on line %d)", name,
                        p->main_key_line[i]);
        return;
    }
    if (p->main_key_line[i]) {
        /* What a reload compares: every line's value, in order. */
        char *old = p->c->main_value[i];
        size_t n = (old ? strlen(old) : 0) + strlen(value) + 3;
        char *joined = old ? malloc(n) : NULL;
        if (joined)
            snprintf(joined, n, "%s, %s", old, value);
        free(old);
        p->c->main_value[i] = joined;
    } else {
        p->main_key_line[i] = p->line;
        p->c->main_value[i] = strdup(value); /* NULL when out of memory: "unchanged" fails safe */
    }
    p->c->main_value_line[i] = p->line;
    char why[512];
    int rc =
        k->set ? k->set(p, value, why, sizeof(why)) : set_number(p, k, value, why, sizeof(why));
    if (rc != 0)
        ns_conf_p_error(p, p->line, "%s: %s", name, why);
}

const char *ns_conf_p_main_key_name(unsigned i)
{
    return i < N_MAIN_KEYS ? main_keys[i].name : NULL;
}

int ns_conf_p_key_line(const struct ns_conf_parser *p, const char *name)
{
    int i = main_key_index(name);
    return i < 0 ? 0 : p->main_key_line[i];
}

_Static_assert(sizeof(main_keys) / sizeof(main_keys[0]) <= NS_CONF_P_MAX_MAIN_KEYS,
               "struct ns_conf_parser has room for every [natsecd] key");
