/* The configuration of natsecd: one INI file (docs/config.md), parsed and
 * validated once at start into one plain struct. Nothing here is runtime
 * state; the daemon copies what it needs.
 *
 * Every error names the file and line ("path:line: reason"); a missing
 * required key names the key and the line of the section it belongs in. */
#ifndef NATSEC_CONF_CONF_H
#define NATSEC_CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mschapv2.h"
#include "crypto/proposal.h"
#include "eap/eap.h"
#include "esp/sa_spec.h"
#include "util/addr.h"
#include "util/log.h"

/* IKEv2 identification types (RFC 7296 3.5), the values on the wire. */
#define NS_CONF_ID_IPV4_ADDR 1
#define NS_CONF_ID_FQDN 2
#define NS_CONF_ID_RFC822_ADDR 3
#define NS_CONF_ID_IPV6_ADDR 5
#define NS_CONF_ID_DER_ASN1_DN 9
#define NS_CONF_ID_KEY_ID 11

#define NS_CONF_ID_MAX 256
#define NS_CONF_ID_STRLEN 520 /* printable form, hex for binary IDs */
#define NS_CONF_PSK_MAX 256
#define NS_CONF_MAX_SUBNETS 16
#define NS_CONF_MAX_DNS 4
#define NS_CONF_PATH_MAX 108  /* sizeof(sockaddr_un.sun_path) */
#define NS_CONF_IFNAME_MAX 16 /* IFNAMSIZ */
#define NS_CONF_NAME_MAX 512
#define NS_CONF_HOST_MAX 254     /* a DNS name and its NUL */
#define NS_CONF_MAX_MAIN_KEYS 80 /* keys [natsecd] may hold */
#define NS_CONF_USER_MAX 33      /* a user name, 32 characters at most (useradd) */
#define NS_CONF_DIGEST_LEN 32    /* SHA-256 */
/* The pool prefix lengths the configuration accepts, which are exactly
 * what the gateway's address pool (ike/pool.h) supports. */
#define NS_POOL_MIN_PREFIX 12 /* a /12: 1048573 client addresses */
#define NS_POOL_MAX_PREFIX 30 /* a /30: one client address */
/* The same for pool6 (ike/pool6.h). */
#define NS_POOL6_MIN_PREFIX 48  /* shorter prefixes are a site's, not a pool's */
#define NS_POOL6_MAX_PREFIX 126 /* a /126: one client address */
/* The shortest prefix a client may ask for (vip6_prefix). */
#define NS_CONF_VIP6_PREFIX_MIN 48

/* An identity as it goes into an IDi/IDr payload: type and data exactly as
 * on the wire (4 or 16 address bytes for IP types, DER for a DN). */
struct ns_conf_id {
    uint8_t type; /* NS_CONF_ID_*; 0 = unset (the %default peer) */
    uint8_t data[NS_CONF_ID_MAX];
    size_t len;
};

/* How a peer proves its identity, and how this host proves its own to
 * that peer (X7). */
enum ns_conf_auth {
    NS_CONF_AUTH_PSK = 0,    /* the [peer]'s psk (default) */
    NS_CONF_AUTH_PUBKEY = 1, /* certificates: ours is cert/key, the peer's must chain to ca */
    /* EAP in IKE_AUTH (RFC 7296 2.16) with EAP-MSCHAPv2: the client logs
     * in with a user name and password (a gateway's [user] sections, a
     * client's eap_user and eap_password), the gateway shows its
     * certificate (cert/key; the client checks it against ca). */
    NS_CONF_AUTH_EAP_MSCHAPV2 = 2,
};

/* Where a gateway checks EAP logins (X12, X16). */
enum ns_conf_eap_backend {
    NS_CONF_EAP_LOCAL = 0,  /* its [user] sections, EAP-MSCHAPv2 (default) */
    NS_CONF_EAP_RADIUS = 1, /* RADIUS servers (radius_*): any EAP method they run */
};
#define NS_CONF_MAX_RADIUS 8 /* radius_server entries */
#define NS_CONF_RADIUS_SECRET_MAX 128

/* One [user <name>] section of a gateway: an EAP-MSCHAPv2 login. Only the
 * NT hash of the password is kept (all MS-CHAPv2 needs); it is as good as
 * the password to anyone who would log in, so it is wiped when freed. */
struct ns_conf_user {
    char name[NS_EAP_IDENTITY_MAX + 1]; /* as the client sends it, case and domain included */
    size_t name_len;
    uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN];
    int line; /* of the section header */
};

#define NS_CONF_FILE_MAX 1024 /* cert, key and ca paths */
#define NS_CONF_QCD_SECRET_LEN 32 /* bytes of the QCD secret (RFC 6290 5) */
#define NS_CONF_QCD_SECRET_DEFAULT "/var/lib/natsec/qcd_secret"
struct ns_x509_creds;         /* crypto/x509.h */

/* Where natsecd logs (log_target). */
enum ns_conf_log_target {
    NS_CONF_LOG_AUTO = 0, /* syslog in the background or under systemd, else stderr */
    NS_CONF_LOG_STDERR = 1,
    NS_CONF_LOG_SYSLOG = 2,
};

/* How a client applies the DNS servers its gateway sends (dns_apply). */
enum ns_conf_dns_apply {
    NS_CONF_DNS_AUTO = 0, /* systemd-resolved when it runs, else the file */
    NS_CONF_DNS_RESOLVED, /* systemd-resolved, over D-Bus, on the TUN link */
    NS_CONF_DNS_FILE,     /* /etc/resolv.conf, its content put back after */
    NS_CONF_DNS_NO,       /* logged only */
};

/* What a gateway does when an identity that already has an IKE SA
 * authenticates again (the unique-ID policy of other gateways). */
enum ns_conf_unique {
    NS_CONF_UNIQUE_NO = 0,      /* keep both, up to ike_sas_per_id (INITIAL_CONTACT still
                                   deletes the older ones, RFC 7296 2.4) */
    NS_CONF_UNIQUE_REPLACE = 1, /* the new one wins: the older ones are deleted */
    NS_CONF_UNIQUE_KEEP = 2,    /* the old one stays: the new one is refused */
};

/* How a client reaches its gateway (transport): IKE and ESP over UDP
 * (RFC 7296, RFC 3948), over TCP (RFC 8229, X6), or UDP first and TCP when
 * UDP gets no answer (daemon/tcp_client.c). */
enum ns_conf_transport {
    NS_CONF_TRANSPORT_AUTO = 0,
    NS_CONF_TRANSPORT_UDP = 1,
    NS_CONF_TRANSPORT_TCP = 2,
};

enum ns_conf_role {
    NS_CONF_GATEWAY = 1, /* IKE responder, many clients, assigns virtual IPs */
    NS_CONF_CLIENT = 2,  /* IKE initiator towards one gateway */
};

/* One [peer <identity>] section. After loading, ike[] and esp[] are always
 * filled: the section's override, else the [natsecd] lists. */
struct ns_conf_peer {
    char name[NS_CONF_NAME_MAX]; /* the text after "peer " */
    struct ns_conf_id id;        /* type 0 for %default */
    bool is_default;             /* [peer %default] (gateway only) */
    uint8_t psk[NS_CONF_PSK_MAX];
    size_t psk_len;
    /* Gateway: destinations this identity may reach (its local traffic
     * selectors, R9/R17). Client: subnets routed into the tunnel (the
     * remote traffic selectors it asks for). */
    struct ns_ts subnets[NS_CONF_MAX_SUBNETS];
    unsigned n_subnets;
    enum ns_esp_mode mode;  /* default NS_ESP_TUNNEL */
    /* Client: ask for an IPv6 prefix of this length rather than an
     * address (vip6_prefix, RFC 7296 3.15.1); 0: an address. */
    unsigned vip6_prefix;
    enum ns_conf_auth auth; /* default psk */
    /* Client with auth = eap-mschapv2: the user name it logs in with and
     * the NT hash of its password (eap_user, eap_password). */
    char eap_user[NS_EAP_IDENTITY_MAX + 1];
    size_t eap_user_len;
    uint8_t eap_nt_hash[NS_MSCHAPV2_HASH_LEN];
    struct ns_proposal ike[NS_MAX_PROPOSALS];
    unsigned n_ike;
    struct ns_proposal esp[NS_MAX_PROPOSALS];
    unsigned n_esp;
    int line; /* line of the section header, for later messages */
    /* SHA-256 over its keys and values as written, in a fixed key order:
     * a reload keeps the SAs of a section whose name and digest stay. */
    uint8_t digest[NS_CONF_DIGEST_LEN];
};

struct ns_conf {
    enum ns_conf_role role;
    struct ns_conf_id local_id;
    /* listen: one address, or with listen_dual the wildcards of both IP
     * versions on one socket (listen is then ::). Default: dual on a
     * gateway; a client's follows its gateway's family. */
    struct ns_addr listen;
    bool listen_dual;
    /* listen with one IPv4 and one IPv6 address (gateway): both versions'
     * sockets as listen_dual, and only what arrives at these two is
     * taken (daemon/dataplane.c); n_listen_only 0: no such filter. */
    struct ns_addr listen_only[2];
    unsigned n_listen_only;
    uint16_t ike_port;              /* default 500 */
    uint16_t natt_port;             /* default 4500 */
    char control[NS_CONF_PATH_MAX]; /* default /run/natsec/natsecd.sock */
    enum ns_log_level log_level;    /* default info */

    /* Where natsecd logs; default auto (daemon/main.c decides). */
    enum ns_conf_log_target log_target;

    /* The user natsecd runs as once set up, when started as root (empty:
     * stays as started); NS_CONF_USER_MAX includes the NUL. */
    char user[NS_CONF_USER_MAX];
    /* The system call allow-list after set-up (daemon/seccomp.c); default yes. */
    bool seccomp;

    /* Default proposal lists, most preferred first. */
    struct ns_proposal ike[NS_MAX_PROPOSALS];
    unsigned n_ike;
    struct ns_proposal esp[NS_MAX_PROPOSALS];
    unsigned n_esp;
    /* default no. yes: the weak algorithms of ns_proposal_legacy may be
     * written in any list, and the suites Windows offers without a
     * registry change are appended to the two lists above unless they
     * were written (X12). */
    bool legacy_proposals;

    bool force_encap;               /* default no (RFC 7296 2.23) */
    bool mobike;                    /* default yes: MOBIKE (RFC 4555, X4) when the peer has it */
    /* NAT keepalives (X1): keepalive = auto (the default) learns the
     * interval from the NAT (natt/ka_learn.h), keepalive_s is then its
     * cap; a number of seconds is a fixed interval; 0 or off: none. */
    bool keepalive_auto;
    unsigned keepalive_s;
    unsigned dpd_s;                 /* default 30, 0 disables (X2) */
    unsigned retransmit_timeout_ms; /* default 1000, doubles each try */
    unsigned retransmit_tries;      /* default 5 */
    /* IKE fragmentation (RFC 7383, X5): offered in IKE_SA_INIT, default
     * yes; messages above fragment_size (the whole IP datagram, default
     * 1280) then go as SKF fragments when the peer offered it too. */
    bool fragmentation;
    unsigned fragment_size;
    unsigned half_open_max;         /* default 4000 (R15) */
    unsigned cookie_threshold;      /* default 100 (R15) */
    unsigned ike_lifetime_s;        /* default 14400 */
    unsigned child_lifetime_s;      /* default 3600 */
    uint64_t child_lifetime_bytes;  /* default 0 = no byte limit */

    char tun[NS_CONF_IFNAME_MAX]; /* default natsec0 */
    unsigned mtu;                 /* default 1400 */
    uint32_t fwmark;              /* default 0x4e53 */
    uint32_t route_table;         /* default 220 */
    enum ns_conf_dns_apply dns_apply; /* client; default auto */
    bool tx_thread; /* default yes: TUN -> ESP on a thread of its own (daemon/natsecd.h) */
    /* Data-plane workers (daemon/natsecd.h): NS_CONF_WORKERS_AUTO (the
     * default): one per online CPU; 1: the outbound path on tx_thread,
     * inbound ESP on the main thread; N > 1: N threads each with its own
     * NAT-T socket and TUN queue, both directions. */
    unsigned workers;
    /* Data-path offloads, each default yes (used where the kernel has
     * them); no measures or tests the path of a kernel without one. */
    bool tun_offload; /* IFF_VNET_HDR on TUN: TCP super-packets both ways */
    bool tun_uso;     /* UDP super-packets on TUN writes (needs tun_offload) */
    bool udp_gso;     /* UDP_SEGMENT on the NAT-T socket */
    bool udp_gro;     /* UDP_GRO on the NAT-T socket */

    /* IKE and ESP over TCP (RFC 8229, X6; daemon/tcp.h). */
    enum ns_conf_transport transport; /* client: default auto */
    uint16_t tcp_port;                /* default 4500; a gateway's 0: no TCP */
    unsigned tcp_fallback_ms;         /* client: default 2000, UDP's time to answer */
    unsigned tcp_udp_probe_s;         /* client: default 30, 0 stays on TCP */
    unsigned tcp_handshake_s;         /* gateway: default 5, to a valid IKE_SA_INIT */
    unsigned tcp_idle_s;              /* gateway: default 120 without a valid message */
    unsigned tcp_per_source;          /* gateway: default 16 connections per address */
    unsigned tcp_max_connections;     /* gateway: default 1024 */

    /* Gateway only. pool is the network address, pool_prefix its length
     * (IPv4, at most /30 so that there is a gateway address and a client). */
    struct ns_addr pool;
    unsigned pool_prefix;
    /* pool6: IPv6 virtual IPs, one /128 a client (X8); family 0 = none. */
    struct ns_addr pool6;
    unsigned pool6_prefix;
    struct ns_addr dns[NS_CONF_MAX_DNS];
    unsigned n_dns;
    /* gateway: split DNS domains (INTERNAL_DNS_DOMAIN, RFC 8598) sent to a
     * client that asks */
    char dns_domains[NS_CONF_MAX_DNS][NS_CONF_HOST_MAX];
    unsigned n_dns_domains;
    /* Established IKE SAs one identity may hold (R15: one authenticated
     * member cannot take the whole pool), and the unique-ID policy. */
    unsigned ike_sas_per_id;    /* default 4 */
    enum ns_conf_unique unique; /* default no */

    /* Gateway: EAP on RADIUS servers (eap_backend = radius, X16): tried
     * in this order, each radius_tries times radius_timeout_ms apart; the
     * shared secret read from radius_secret_file (wiped by ns_conf_free);
     * NAS-Identifier radius_nas_id (default: local_id as text). */
    enum ns_conf_eap_backend eap_backend;
    struct ns_endpoint radius_server[NS_CONF_MAX_RADIUS];
    unsigned n_radius_server;
    char radius_secret_file[NS_CONF_FILE_MAX];
    uint8_t radius_secret[NS_CONF_RADIUS_SECRET_MAX];
    size_t radius_secret_len;
    unsigned radius_timeout_ms; /* default 2000 */
    unsigned radius_tries;      /* default 3 */
    char radius_nas_id[NS_CONF_NAME_MAX];

    /* Client only. gateway: its address; family 0 while gateway_name (a
     * DNS name, "" when an address was written) is not resolved yet. */
    struct ns_addr gateway;
    char gateway_name[NS_CONF_HOST_MAX];
    struct ns_conf_id remote_id;
    bool initial_contact; /* default yes: IKE_AUTH says we hold no other SA (2.4) */

    /* Quick crash detection (RFC 6290, X2; ike/qcd.c): default yes. Its
     * tokens are made with the secret in qcd_secret_file (written at
     * qcd_secret_line, 0: the default path), which ns_conf_qcd_secret
     * reads, or creates, into qcd_secret (qcd_secret_set; wiped by
     * ns_conf_free); without it QCD stays off. qcd_rate: the crash
     * answers (unprotected) sent per second at most, also the burst. */
    bool qcd;
    char qcd_secret_file[NS_CONF_FILE_MAX];
    int qcd_secret_line;
    uint8_t qcd_secret[NS_CONF_QCD_SECRET_LEN];
    bool qcd_secret_set;
    unsigned qcd_rate; /* default 10000 */

    /* Certificates (X7): the files as written, and what was loaded from
     * them when a [peer] says auth = pubkey (NULL otherwise; freed by
     * ns_conf_free). rsa_pss: sign with RSASSA-PSS rather than PKCS#1 v1.5. */
    char cert[NS_CONF_FILE_MAX], key[NS_CONF_FILE_MAX], ca[NS_CONF_FILE_MAX];
    bool rsa_pss;
    struct ns_x509_creds *creds;

    struct ns_conf_peer *peers; /* heap; freed by ns_conf_free */
    unsigned n_peers;
    /* Gateway: the [user] sections, in file order (heap; wiped and freed by
     * ns_conf_free). */
    struct ns_conf_user *users;
    unsigned n_users;

    /* Each [natsecd] key's value as written (heap; NULL: not set, its
     * default) and its line, in the parser's key order, and the line of
     * [natsecd]: what a reload compares (ns_conf_reload_check). */
    char *main_value[NS_CONF_MAX_MAIN_KEYS];
    int main_value_line[NS_CONF_MAX_MAIN_KEYS];
    int main_line;

    /* Private: hash index of peers by identity, so that finding the
     * section for an IKE_AUTH is O(1) with thousands of peers (R12). */
    unsigned *peer_slots;
    unsigned n_peer_slots;
};

/* Fills every default (role unset, no peers). ns_conf_load* start with it. */
void ns_conf_defaults(struct ns_conf *c);

/* Loads and validates a file. Returns 0, or -1 with "path:line: reason" in
 * err (line 0 when the file cannot be read); on -1, *out holds nothing that
 * needs freeing. */
int ns_conf_load(const char *path, struct ns_conf *out, char *err, size_t errlen);
/* The same from text in memory; name stands for the path in messages. */
int ns_conf_load_string(const char *text, const char *name, struct ns_conf *out, char *err,
                        size_t errlen);
void ns_conf_free(struct ns_conf *c);
/* With qcd on, reads the QCD secret of c->qcd_secret_file into
 * c->qcd_secret, or, when the file does not exist, makes one: 32 bytes
 * from OpenSSL's generator, mode 0600, put in place whole (a second
 * process starting at the same time reads the first one's). A file that
 * others may read or write, or of another size, is refused: -1 with
 * "name:line: ..." in err (name: the configuration's path). The default
 * path that cannot be made (its folder missing and not creatable, no
 * permission) only turns QCD off, with a warning: 0, qcd_secret_set
 * false. 0 when done or qcd is off. */
int ns_conf_qcd_secret(struct ns_conf *c, const char *name, char *err, size_t errlen);

/* The suites legacy_proposals = yes adds for protocol (NS_PROTO_IKE or
 * NS_PROTO_ESP): what Windows 10/11 proposes without a registry change.
 * Returns how many were put in out[0..max). */
unsigned ns_conf_legacy_suites(uint8_t protocol, struct ns_proposal *out, unsigned max);

/* The weak algorithms (NS_LEGACY_* of conf/proposal_parse.h) found in any
 * proposal list of c, for the start-up log line; 0 unless legacy_proposals. */
unsigned ns_conf_legacy_in_use(const struct ns_conf *c);

/* workers = auto (the default), and the most workers = N may ask for. */
#define NS_CONF_WORKERS_AUTO 0u
#define NS_CONF_WORKERS_MAX 64u

/* The data-plane threads that workers asks for on a machine with online
 * CPUs (sysconf(_SC_NPROCESSORS_ONLN), below 1 when unknown): a number is
 * itself; auto is one per online CPU, at least 1, at most
 * NS_CONF_WORKERS_MAX. */
unsigned ns_conf_workers_resolve(unsigned workers, long online);

/* Reload (daemon/reload.c): 0 when nw may replace old in a running
 * natsecd, i.e. every [natsecd] key other than log_level and log_target is
 * as written before; else -1 with "path:line: <key> cannot change without
 * a restart (was '...', now '...')" in err, the line being nw's. */
int ns_conf_reload_check(const struct ns_conf *old, const struct ns_conf *nw, const char *path,
                         char *err, size_t errlen);
/* The section of nw that stands for p unchanged (same section name, same
 * keys and values), or NULL: removed or changed. */
const struct ns_conf_peer *ns_conf_same_peer(const struct ns_conf *nw,
                                             const struct ns_conf_peer *p);

/* The peer section for an identity: the same type and data
 * (ns_conf_id_match), else the %default section, else NULL. */
const struct ns_conf_peer *ns_conf_find_peer(const struct ns_conf *c, const struct ns_conf_id *id);

/* The [user] section of an EAP identity (exactly its bytes), or NULL. */
const struct ns_conf_user *ns_conf_find_user(const struct ns_conf *c, const uint8_t *name,
                                             size_t len);

/* Identity text to an ID, inferring the type (R3): "a@b" RFC822_ADDR,
 * "keyid:0x<hex>" or "keyid:<text>" KEY_ID, an IPv4 or IPv6 literal
 * IPV4_ADDR/IPV6_ADDR, "dn:<C=..,O=..,CN=..>" DER_ASN1_DN (DER-encoded),
 * anything else FQDN. Returns 0 or -1 (empty, too long, bad DN or hex). */
int ns_conf_id_parse(const char *s, struct ns_conf_id *out);
bool ns_conf_id_equal(const struct ns_conf_id *x, const struct ns_conf_id *y);
/* Whether two identities name the same thing as a certificate's names
 * compare (R3): equal bytes, and for FQDN and RFC822_ADDR (the text types,
 * ns_conf_id_text_type) ASCII letters without case. Peer sections are
 * found by it. */
bool ns_conf_id_match(const struct ns_conf_id *x, const struct ns_conf_id *y);
bool ns_conf_id_text_type(uint8_t type);
/* Printable form, the inverse of ns_conf_id_parse for text types. */
const char *ns_conf_id_str(const struct ns_conf_id *id, char buf[NS_CONF_ID_STRLEN]);
/* "fqdn", "rfc822", "ipv4", "ipv6", "dn", "keyid", or "unknown". */
const char *ns_conf_id_type_name(uint8_t type);
/* "psk", "pubkey", "eap-mschapv2": the auth key's value. */
const char *ns_conf_auth_name(enum ns_conf_auth auth);

#endif
