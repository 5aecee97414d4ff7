/* The state of one parse of natsecd's configuration, shared by the files
 * of src/conf only (not part of the public surface): conf.c reads lines and
 * sections, keys.c gives each key its meaning, check.c validates the whole
 * and indexes the peers. */
#ifndef NATSEC_CONF_PARSE_H
#define NATSEC_CONF_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf/conf.h"

#define NS_CONF_P_MAX_MAIN_KEYS NS_CONF_MAX_MAIN_KEYS

enum ns_conf_p_section {
    NS_CONF_P_NONE,
    NS_CONF_P_MAIN,
    NS_CONF_P_PEER,
    NS_CONF_P_USER,
    NS_CONF_P_BAD
};

enum ns_conf_p_peer_key {
    NS_CONF_P_PSK,
    NS_CONF_P_SUBNETS,
    NS_CONF_P_MODE,
    NS_CONF_P_IKE,
    NS_CONF_P_ESP,
    NS_CONF_P_AUTH,
    NS_CONF_P_EAP_USER,
    NS_CONF_P_EAP_PASSWORD,
    NS_CONF_P_VIP6_PREFIX,
    NS_CONF_P_PEER_KEYS
};

/* Where each key of one [peer] section was set (0 = not set). */
struct ns_conf_p_peer_meta {
    int key_line[NS_CONF_P_PEER_KEYS];
    char *value[NS_CONF_P_PEER_KEYS]; /* as written, until ns_conf_p_seal digests them */
};

struct ns_conf_parser {
    const char *name; /* path, for messages */
    const char *text;
    size_t len, pos;
    int line; /* the line being read */
    bool at_line_start;

    enum ns_conf_p_section sec;
    int main_line;                              /* of [natsecd], 0 if none yet */
    int main_key_line[NS_CONF_P_MAX_MAIN_KEYS]; /* where each [natsecd] key was set */

    struct ns_conf *c;
    unsigned peers_cap;
    unsigned users_cap;
    int user_key_line[2];             /* of the current [user]: password, nt_hash (0 = not set) */
    struct ns_conf_p_peer_meta *meta; /* parallel to c->peers */

    int err_line; /* of the first error, 0 if none */
    char err[768];
};

/* Records an error unless one is already recorded: the first error is the
 * one worth reading. */
void ns_conf_p_error(struct ns_conf_parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* keys.c: one key = value of [natsecd] or of the current [peer]; a new
 * [peer <ident>] section. Errors go to p. */
void ns_conf_p_main_key(struct ns_conf_parser *p, const char *name, const char *value);
void ns_conf_p_peer_key(struct ns_conf_parser *p, const char *name, const char *value);
void ns_conf_p_begin_peer(struct ns_conf_parser *p, const char *ident);
/* An array of secrets (PSKs, NT hashes) grown to cap bytes: a new block
 * with the used bytes of old, which is wiped and freed (realloc would free
 * it unwiped). NULL when out of memory (old then stays). */
void *ns_conf_p_grow_wiped(void *old, size_t used, size_t cap);

/* Refuses ah_proposals, in [natsecd] and in a peer section alike (R1). */
int ns_conf_p_refuse_ah(struct ns_conf_parser *p, const char *v, char *err, size_t errlen);

/* users.c: a new [user <name>] section, one of its keys, and (after the
 * whole file) the checks between users and the [peer] sections that use
 * them. */
void ns_conf_p_begin_user(struct ns_conf_parser *p, const char *name);
void ns_conf_p_user_key(struct ns_conf_parser *p, const char *name, const char *value);
void ns_conf_p_check_users(struct ns_conf_parser *p);
/* An EAP-MSCHAPv2 password to its NT hash (conf/users.c); 0, or -1 with
 * the reason (never the password) in err. */
int ns_conf_p_nt_hash(const char *password, uint8_t out[16], char *err, size_t errlen);

/* radius.c: the [natsecd] keys of EAP on RADIUS servers (X16), and the
 * checks after the whole file (the secret file read, only root and
 * natsecd may read it). */
int ns_conf_p_set_eap_backend(struct ns_conf_parser *p, const char *v, char *err, size_t errlen);
int ns_conf_p_set_radius_server(struct ns_conf_parser *p, const char *v, char *err, size_t errlen);
int ns_conf_p_set_radius_secret_file(struct ns_conf_parser *p, const char *v, char *err,
                                     size_t errlen);
int ns_conf_p_set_radius_timeout(struct ns_conf_parser *p, const char *v, char *err, size_t errlen);
int ns_conf_p_set_radius_nas_id(struct ns_conf_parser *p, const char *v, char *err, size_t errlen);
void ns_conf_p_check_radius(struct ns_conf_parser *p);
/* qcd.c: quick crash detection (RFC 6290): qcd and qcd_secret_file. */
int ns_conf_p_set_qcd(struct ns_conf_parser *p, const char *v, char *err, size_t errlen);
int ns_conf_p_set_qcd_secret_file(struct ns_conf_parser *p, const char *v, char *err,
                                  size_t errlen);
/* conf.c: the group natsecd reads its files as at a reload when it is not
 * root ((gid_t)-1: none, it stays root). */
gid_t ns_conf_p_run_group(const struct ns_conf *c);

/* The line where a [natsecd] key was set, 0 if it was not. */
int ns_conf_p_key_line(const struct ns_conf_parser *p, const char *name);

/* The name of [natsecd] key i, or NULL past the last; of [peer] key k. */
const char *ns_conf_p_main_key_name(unsigned i);
const char *ns_conf_p_peer_key_name(enum ns_conf_p_peer_key k);

/* reload.c: each peer's digest from the values the parse kept in p->meta,
 * which it then wipes and frees. Called once after every parse. */
void ns_conf_p_seal(struct ns_conf_parser *p);

/* check.c: cross-key validation and default proposals into peers; errors
 * go to p. */
void ns_conf_p_validate(struct ns_conf_parser *p);
/* legacy.c: without legacy_proposals, a weak algorithm in any list is an
 * error on its key's line; with it, the Windows default suites are
 * appended to [natsecd]'s lists that were not written. Runs before the
 * peers take those lists. */
void ns_conf_p_legacy(struct ns_conf_parser *p);
/* Adds c->peers[i] to the identity index (O(1) on average). Returns -1
 * when added, the index of an earlier peer with the same identity (not
 * added), or -2 when out of memory. */
int ns_conf_p_index_add(struct ns_conf *c, unsigned i);

#endif
