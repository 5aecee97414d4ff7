/* The IKE engine tests' node and its standard ops callbacks (ike_node.h). */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ike/msg.h"
#include "support/ike_net.h"
#include "support/ike_node.h"

unsigned ike_node_children(const struct ike_node *n)
{
    assert_true(n->n_child_down <= n->n_child_up);
    return n->n_child_up - n->n_child_down;
}

const struct ike_node_child *ike_node_child(const struct ike_node *n, unsigned i)
{
    assert_true(i < n->n_child_up && i < IKE_NODE_MAX_CHILD);
    return &n->child[i];
}

const struct ike_node_child *ike_node_last_child(const struct ike_node *n)
{
    assert_true(n->n_child_up >= 1);
    return ike_node_child(n, n->n_child_up - 1);
}

void ike_node_send(void *ctx, const struct ns_endpoint *local, const struct ns_endpoint *remote,
                   const uint8_t *msg, size_t len, bool natt_marker)
{
    struct ike_net *net = ike_net_current();
    assert_true(len >= NS_IKE_HEADER_LEN);
    assert_int_equal(natt_marker, local->port == 4500);
    ike_net_send(net, ike_net_node_index(net, ctx), local, remote, msg, len);
}

int ike_node_child_up(void *ctx, const struct ns_esp_sa_spec *in, const struct ns_esp_sa_spec *out)
{
    struct ike_node *n = ctx;
    if (n->refuse_child)
        return -1;
    assert_int_equal(in->dir, NS_ESP_INBOUND);
    assert_int_equal(out->dir, NS_ESP_OUTBOUND);
    assert_int_equal(in->paired_spi, out->spi);
    assert_int_equal(out->paired_spi, in->spi);
    if (n->n_child_up < IKE_NODE_MAX_CHILD)
        n->child[n->n_child_up] = (struct ike_node_child){.in = *in, .out = *out};
    n->n_child_up++;
    return 0;
}

int ike_node_child_in_up(void *ctx, const struct ns_esp_sa_spec *in)
{
    struct ike_node *n = ctx;
    if (n->refuse_child)
        return -1;
    assert_int_equal(in->dir, NS_ESP_INBOUND);
    if (n->n_child_up < IKE_NODE_MAX_CHILD)
        n->child[n->n_child_up] = (struct ike_node_child){.in = *in};
    n->n_child_up++;
    return 0;
}

int ike_node_child_out_up(void *ctx, const struct ns_esp_sa_spec *in,
                          const struct ns_esp_sa_spec *out)
{
    struct ike_node *n = ctx;
    assert_int_equal(out->dir, NS_ESP_OUTBOUND);
    assert_int_equal(out->paired_spi, in->spi);
    for (unsigned i = 0; i < n->n_child_up && i < IKE_NODE_MAX_CHILD; i++)
        if (n->child[i].in.spi == in->spi)
            n->child[i].out = *out;
    return 0;
}

void ike_node_child_down(void *ctx, uint32_t in_spi, uint32_t out_spi)
{
    struct ike_node *n = ctx;
    if (n->n_child_down < IKE_NODE_MAX_CHILD) {
        n->down_in[n->n_child_down] = in_spi;
        n->down_out[n->n_child_down] = out_spi;
    }
    n->n_child_down++;
}

void ike_node_peer_moved(void *ctx, uint64_t ike_sa_id, const struct ns_endpoint *local,
                         const struct ns_endpoint *peer)
{
    (void)ike_sa_id;
    (void)local;
    struct ike_node *n = ctx;
    n->n_moved++;
    n->moved_to = *peer;
}

void ike_node_client_up(void *ctx, uint64_t ike_sa_id, const struct ns_addr *vip,
                        const struct ns_addr *vip6, const struct ns_ts *remote, unsigned n,
                        const struct ns_addr *dns, unsigned n_dns)
{
    struct ike_node *node = ctx;
    node->n_client_up++;
    node->up_id = ike_sa_id;
    node->vip = *vip;
    node->vip6 = *vip6;
    node->n_routes = n < IKE_NODE_MAX_ROUTES ? n : IKE_NODE_MAX_ROUTES;
    memcpy(node->routes, remote, node->n_routes * sizeof(*remote));
    node->n_dns = n_dns < IKE_NODE_MAX_DNS ? n_dns : IKE_NODE_MAX_DNS;
    memcpy(node->dns, dns, node->n_dns * sizeof(*dns));
}

void ike_node_client_down(void *ctx, enum ns_ike_down_reason reason)
{
    struct ike_node *n = ctx;
    n->n_client_down++;
    n->down_reason = reason;
    n->down_at = ike_net_current()->now;
}

static void ike_node_client_path(void *ctx, const struct ns_addr *local,
                                 const struct ns_addr *gateway)
{
    struct ike_node *n = ctx;
    n->n_client_path++;
    n->path_local = *local;
    n->path_gw = *gateway;
}

const struct ns_ike_ops ike_node_ops = {.send = ike_node_send,
                                        .client_path = ike_node_client_path,
                                        .child_up = ike_node_child_up,
                                        .child_down = ike_node_child_down,
                                        .peer_moved = ike_node_peer_moved,
                                        .client_up = ike_node_client_up,
                                        .client_down = ike_node_client_down};
