/* IP addresses, transport endpoints and address/port ranges (the shape of
 * an IKEv2 traffic selector), shared by the control and data planes. */
#ifndef NATSEC_UTIL_ADDR_H
#define NATSEC_UTIL_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 address; IPv4 is held in the first 4 bytes of a. */
struct ns_addr {
    uint8_t family; /* AF_INET or AF_INET6; 0 = unset */
    uint8_t a[16];
};

/* An address and a UDP port (host order). */
struct ns_endpoint {
    struct ns_addr addr;
    uint16_t port;
};

/* Inclusive ranges of addresses and ports for one IP protocol (0 = any). */
struct ns_ts {
    uint8_t ip_proto;
    uint16_t port_lo, port_hi;
    struct ns_addr lo, hi;
};

#define NS_ADDR_STRLEN 46     /* INET6_ADDRSTRLEN */
#define NS_ENDPOINT_STRLEN 56 /* [addr]:port */
#define NS_TS_STRLEN 128

size_t ns_addr_len(const struct ns_addr *a); /* 4, 16, or 0 */
bool ns_addr_equal(const struct ns_addr *x, const struct ns_addr *y);
/* Unset, or the wildcard address (0.0.0.0, ::): "any local address". */
bool ns_addr_is_any(const struct ns_addr *a);
/* Byte-wise order within one family; families order AF_INET first. */
int ns_addr_cmp(const struct ns_addr *x, const struct ns_addr *y);
void ns_addr_from_ipv4(struct ns_addr *a, uint32_t host_order);
uint32_t ns_addr_to_ipv4(const struct ns_addr *a); /* host order */
/* Parses a literal IPv4 or IPv6 address; returns 0 or -1. */
int ns_addr_parse(struct ns_addr *a, const char *s);
const char *ns_addr_str(const struct ns_addr *a, char buf[NS_ADDR_STRLEN]);

/* IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, RFC 4291 2.5.5.2) are how a
 * socket serving both IP versions names its IPv4 peers. unmap turns one
 * into the IPv4 address and leaves any other address alone; map_v6 turns
 * an IPv4 address into its mapped form and leaves IPv6 alone. Above the
 * sockets every address is in its own family, so NAT detection hashes,
 * selectors and logs never see the mapped form. */
void ns_addr_unmap(struct ns_addr *a);
void ns_addr_map_v6(struct ns_addr *a);

bool ns_endpoint_equal(const struct ns_endpoint *x, const struct ns_endpoint *y);
const char *ns_endpoint_str(const struct ns_endpoint *e, char buf[NS_ENDPOINT_STRLEN]);
/* Conversions to and from the socket API; from returns -1 for other
 * families and gives an IPv4-mapped IPv6 address as IPv4. */
socklen_t ns_endpoint_to_sockaddr(const struct ns_endpoint *e, struct sockaddr_storage *ss);
int ns_endpoint_from_sockaddr(struct ns_endpoint *e, const struct sockaddr *sa, socklen_t len);

/* "10.0.0.0/24" or "192.0.2.10" (a /32) to an any-protocol, any-port
 * selector; returns 0 or -1. */
int ns_ts_from_prefix(struct ns_ts *ts, const char *cidr);
/* A selector for exactly one address, any protocol and port. */
void ns_ts_from_addr(struct ns_ts *ts, const struct ns_addr *a);
bool ns_ts_contains_addr(const struct ns_ts *ts, const struct ns_addr *a);
/* Whether (addr, proto, port) lies inside: proto 0 in ts means any, port
 * is only compared for TCP, UDP, SCTP and UDP-Lite. */
bool ns_ts_contains(const struct ns_ts *ts, const struct ns_addr *a, uint8_t proto, uint16_t port);
/* The intersection of two selectors; returns false when it is empty. Used
 * to narrow a peer's proposal to what policy allows (RFC 7296 2.9). */
bool ns_ts_intersect(const struct ns_ts *x, const struct ns_ts *y, struct ns_ts *out);
const char *ns_ts_str(const struct ns_ts *ts, char buf[NS_TS_STRLEN]);

#endif
