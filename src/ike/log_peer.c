/* The peer a log line is about (util/log.h ns_log_context): while the
 * engine works on an IKE SA, every line, the daemon's callbacks' included,
 * ends with "[peer <identity> <address:port>]", the identity once the peer
 * proved it, the address as used now (after NAT and moves, R4). Before
 * there is an SA, the sender of the datagram being handled. The text is
 * made only for lines that are logged. */
#include <stdio.h>

#include "ike/ike_sa.h"

static void sa_context(const void *arg, char *buf, size_t len)
{
    const struct ns_ikesa *sa = arg;
    char id[NS_CONF_ID_STRLEN], ep[NS_ENDPOINT_STRLEN];
    if (sa->remote_id.type)
        snprintf(buf, len, "peer %s %s", ns_conf_id_str(&sa->remote_id, id),
                 ns_endpoint_str(&sa->remote, ep));
    else if (sa->remote.addr.family)
        snprintf(buf, len, "peer %s", ns_endpoint_str(&sa->remote, ep));
    else
        buf[0] = '\0';
}

static void endpoint_context(const void *arg, char *buf, size_t len)
{
    char ep[NS_ENDPOINT_STRLEN];
    snprintf(buf, len, "peer %s", ns_endpoint_str(arg, ep));
}

void ns_eng_log_sa(const struct ns_ikesa *sa)
{
    ns_log_context(sa_context, sa);
}

void ns_eng_log_from(const struct ns_endpoint *from)
{
    ns_log_context(endpoint_context, from);
}

void ns_eng_log_done(void)
{
    ns_log_context(NULL, NULL);
}
