/* Reading natsecd's INI file with libinih: lines, sections, and the public
 * load functions (keys.c gives each key its meaning, check.c validates the
 * whole).
 *
 * libinih does not pass line numbers to the handler in Debian's build, and
 * it truncates section names to 50 characters (too short for identities).
 * So the text is fed to ini_parse_stream through our own line reader, which
 * counts lines and reads section headers itself; the handler then knows the
 * line and the full section of every key. */
#include "conf/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/parse.h"
#include "conf/proposal_parse.h"
#include "crypto/x509.h"
#include "natt/udp_demux.h"
#include "util/fileperm.h"

#define LINE_CHARS 4096        /* longest accepted line */
#define FILE_BYTES (16u << 20) /* thousands of peers fit easily */

/* Defaults, as written in docs/config.md. Only the suites that native
 * clients and strongSwan propose (X9); no legacy algorithms (X12). ESP
 * keeps HMAC-SHA1-96 (RFC 8221: MUST-), which Windows offers for ESP even
 * when its IKE uses AES-256 and MODP-2048. */
static const char default_ike[] =
    "aes128gcm16-prfsha256-x25519, aes256gcm16-prfsha384-x25519, "
    "chacha20poly1305-prfsha256-x25519, aes256gcm16-prfsha256-ecp256, aes256-sha256-ecp256, "
    "aes256-sha256-modp2048, aes128-sha256-modp2048";
static const char default_esp[] =
    "aes128gcm16, aes256gcm16, chacha20poly1305, aes256-sha256, aes128-sha256, aes256-sha1, "
    "aes128-sha1";

void ns_conf_p_error(struct ns_conf_parser *p, int line, const char *fmt, ...)
{
    if (p->err_line)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
    p->err_line = line;
}

/* The argument of a section "<kind> <arg>" (spaces skipped, "" for none),
 * or NULL when name is another kind. */
static const char *section_arg(const char *name, const char *kind)
{
    size_t n = strlen(kind);
    if (strncmp(name, kind, n) != 0 || (name[n] != '\0' && name[n] != ' ' && name[n] != '\t'))
        return NULL;
    const char *arg = name + n;
    while (*arg == ' ' || *arg == '\t')
        arg++;
    return arg;
}

static void begin_section(struct ns_conf_parser *p, const char *name)
{
    if (strcmp(name, "natsecd") == 0) {
        if (p->main_line) {
            ns_conf_p_error(p, p->line, "duplicate [natsecd] section (first on line %d)",
                            p->main_line);
            p->sec = NS_CONF_P_BAD;
            return;
        }
        p->main_line = p->line;
        p->sec = NS_CONF_P_MAIN;
        return;
    }
    const char *arg = section_arg(name, "peer");
    if (arg) {
        ns_conf_p_begin_peer(p, arg);
        return;
    }
    arg = section_arg(name, "user");
    if (arg) {
        ns_conf_p_begin_user(p, arg);
        return;
    }
    ns_conf_p_error(p, p->line,
                    "unknown section [%s] (expected [natsecd], [peer <identity>] or "
                    "[user <name>])",
                    name);
    p->sec = NS_CONF_P_BAD;
}

/* Looks at a whole line before libinih sees it: its length, and whether
 * it opens a section. */
static void on_line_start(struct ns_conf_parser *p, int num)
{
    const char *s = p->text + p->pos;
    const char *nl = memchr(s, '\n', p->len - p->pos);
    size_t n = nl ? (size_t)(nl - s) : p->len - p->pos;
    /* libinih needs room for "\r\n\0" after the text. */
    if (n + 3 > (size_t)num) {
        ns_conf_p_error(p, p->line, "line is longer than %d characters", num - 3);
        p->sec = NS_CONF_P_BAD;
        return;
    }
    if (p->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
    }
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i == n || s[i] != '[')
        return;
    const char *close = memchr(s + i, ']', n - i);
    if (!close) {
        p->sec = NS_CONF_P_BAD; /* libinih reports the syntax error */
        return;
    }
    const char *b = s + i + 1, *e = close;
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    char name[NS_CONF_NAME_MAX + 8];
    if ((size_t)(e - b) >= sizeof(name)) {
        ns_conf_p_error(p, p->line, "section name is too long");
        p->sec = NS_CONF_P_BAD;
        return;
    }
    memcpy(name, b, (size_t)(e - b));
    name[e - b] = '\0';
    begin_section(p, name);
}

/* fgets() over the text in memory, counting lines. */
static char *read_line(char *str, int num, void *stream)
{
    struct ns_conf_parser *p = stream;
    if (p->pos >= p->len || num < 2) {
        /* The end: libinih frees its line buffer next, and the last lines
         * in it may be PSKs. */
        OPENSSL_cleanse(str, (size_t)num);
        return NULL;
    }
    if (p->at_line_start) {
        p->line++;
        on_line_start(p, num);
    }
    size_t max = (size_t)num - 1, avail = p->len - p->pos;
    size_t n = avail < max ? avail : max;
    const char *nl = memchr(p->text + p->pos, '\n', n);
    if (nl)
        n = (size_t)(nl - (p->text + p->pos)) + 1;
    memcpy(str, p->text + p->pos, n);
    str[n] = '\0';
    p->pos += n;
    p->at_line_start = nl != NULL;
    return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct ns_conf_parser *p = user;
    (void)section; /* possibly truncated by libinih; p->sec is the truth */
    switch (p->sec) {
    case NS_CONF_P_NONE:
        ns_conf_p_error(p, p->line, "'%s' is outside any section; start with [natsecd]", name);
        break;
    case NS_CONF_P_BAD:
        break;
    case NS_CONF_P_MAIN:
    case NS_CONF_P_PEER:
    case NS_CONF_P_USER:
        if (!value || value[0] == '\0') {
            ns_conf_p_error(p, p->line, "'%s' has no value", name);
            break;
        }
        if (p->sec == NS_CONF_P_MAIN)
            ns_conf_p_main_key(p, name, value);
        else if (p->sec == NS_CONF_P_PEER)
            ns_conf_p_peer_key(p, name, value);
        else
            ns_conf_p_user_key(p, name, value);
        break;
    }
    /* Errors are kept in p with the right line; libinih's own return value
     * is left to report syntax errors only. */
    return 1;
}

/* ---- public functions -------------------------------------------------- */

void ns_conf_defaults(struct ns_conf *c)
{
    char err[256];
    memset(c, 0, sizeof(*c));
    c->listen.family = AF_INET; /* 0.0.0.0 */
    c->ike_port = 500;
    c->natt_port = 4500;
    snprintf(c->control, sizeof(c->control), "/run/natsec/natsecd.sock");
    c->log_level = NS_LOG_INFO;
    int n = ns_proposal_list_parse(default_ike, NS_PROTO_IKE, c->ike, NS_MAX_PROPOSALS, err,
                                   sizeof(err));
    c->n_ike = n > 0 ? (unsigned)n : 0;
    n = ns_proposal_list_parse(default_esp, NS_PROTO_ESP, c->esp, NS_MAX_PROPOSALS, err,
                               sizeof(err));
    c->n_esp = n > 0 ? (unsigned)n : 0;
    c->keepalive_auto = true;
    c->keepalive_s = NS_NATT_KEEPALIVE_DEFAULT_S;
    c->dpd_s = 30;
    c->retransmit_timeout_ms = 1000;
    c->retransmit_tries = 5;
    c->fragmentation = true;
    c->fragment_size = 1280;
    c->half_open_max = 4000;
    c->cookie_threshold = 100;
    c->ike_lifetime_s = 14400;
    c->child_lifetime_s = 3600;
    c->child_lifetime_bytes = 0;
    snprintf(c->tun, sizeof(c->tun), "natsec0");
    c->mtu = 1400;
    c->fwmark = 0x4e53;
    c->route_table = 220;
    c->tx_thread = true;
    c->workers = NS_CONF_WORKERS_AUTO;
    c->tun_offload = true;
    c->tun_uso = true;
    c->udp_gso = true;
    c->udp_gro = true;
    c->transport = NS_CONF_TRANSPORT_AUTO;
    c->tcp_port = 4500;
    c->tcp_fallback_ms = 2000;
    c->tcp_udp_probe_s = 30;
    c->tcp_handshake_s = 5;
    c->tcp_idle_s = 120;
    c->tcp_per_source = 16;
    c->tcp_max_connections = 1024;
    c->seccomp = true;
    c->ike_sas_per_id = 4;
    c->unique = NS_CONF_UNIQUE_NO;
    c->initial_contact = true;
    c->mobike = true;
    c->qcd = true;
    snprintf(c->qcd_secret_file, sizeof(c->qcd_secret_file), "%s", NS_CONF_QCD_SECRET_DEFAULT);
    c->qcd_rate = 10000;
    c->radius_timeout_ms = 2000;
    c->radius_tries = 3;
}

unsigned ns_conf_workers_resolve(unsigned workers, long online)
{
    if (workers != NS_CONF_WORKERS_AUTO)
        return workers;
    if (online < 1)
        return 1;
    return online > (long)NS_CONF_WORKERS_MAX ? NS_CONF_WORKERS_MAX : (unsigned)online;
}

void ns_conf_free(struct ns_conf *c)
{
    for (unsigned i = 0; i < NS_CONF_MAX_MAIN_KEYS; i++) {
        free(c->main_value[i]);
        c->main_value[i] = NULL;
    }
    ns_x509_creds_free(c->creds);
    c->creds = NULL;
    if (c->peers)
        OPENSSL_cleanse(c->peers, c->n_peers * sizeof(*c->peers)); /* their PSKs */
    free(c->peers);
    free(c->peer_slots);
    if (c->users)
        OPENSSL_cleanse(c->users, c->n_users * sizeof(*c->users)); /* their NT hashes */
    free(c->users);
    OPENSSL_cleanse(c->radius_secret, sizeof(c->radius_secret));
    c->radius_secret_len = 0;
    OPENSSL_cleanse(c->qcd_secret, sizeof(c->qcd_secret));
    c->qcd_secret_set = false;
    c->users = NULL;
    c->n_users = 0;
    c->peers = NULL;
    c->peer_slots = NULL;
    c->n_peers = 0;
    c->n_peer_slots = 0;
}

/* libinih's options are process-wide variables in Debian's build; set the
 * ones natsec relies on before every parse. */
static void configure_inih(void)
{
    static char comment_prefixes[] = ";#";
    ini_use_stack = false;
    ini_allow_realloc = false;
    ini_initial_alloc = LINE_CHARS; /* the buffer size without realloc */
    ini_max_line = LINE_CHARS;
    ini_allow_multiline = false; /* an indented line is a line, not a continuation */
    ini_allow_inline_comments = true;
    ini_inline_comment_prefixes = comment_prefixes;
    ini_allow_no_value = false;
    ini_stop_on_first_error = false;
}

int ns_conf_load_string(const char *text, const char *name, struct ns_conf *out, char *err,
                        size_t errlen)
{
    struct ns_conf_parser p;
    memset(&p, 0, sizeof(p));
    p.name = name;
    p.text = text;
    p.len = strlen(text);
    p.at_line_start = true;
    p.c = out;
    ns_conf_defaults(out);

    configure_inih();
    int rc = ini_parse_stream(read_line, &p, on_key, &p);
    /* libinih counts lines as we do, so the smaller line is the first. */
    if (rc > 0 && (!p.err_line || rc < p.err_line)) {
        p.err_line = 0;
        ns_conf_p_error(&p, rc, "expected 'key = value', a comment, or a [section]");
    } else if (rc < 0 && !p.err_line) {
        ns_conf_p_error(&p, p.line, "out of memory while parsing");
    }
    if (!p.err_line)
        ns_conf_p_validate(&p);
    out->main_line = p.main_line;
    ns_conf_p_seal(&p);
    free(p.meta);
    if (p.err_line) {
        snprintf(err, errlen, "%s:%d: %s", name, p.err_line, p.err);
        ns_conf_free(out);
        ns_conf_defaults(out);
        return -1;
    }
    return 0;
}

/* The whole file into a NUL-terminated heap buffer, its length without the
 * NUL into *len and its status into *st (with read(2): a stdio buffer
 * would keep a copy of the PSKs that nobody wipes). A file that others may
 * write is refused unread. NULL with the reason in err. */
static char *read_file(const char *path, size_t *len, struct stat *st, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char why[256];
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_size > FILE_BYTES) {
        snprintf(err, errlen, "%s:0: not a regular file of at most %u bytes", path, FILE_BYTES);
        close(fd);
        return NULL;
    }
    if (ns_perm_file(st, false, why, sizeof(why)) == NS_PERM_REFUSE) {
        snprintf(err, errlen, "%s:0: refused: %s", path, why);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st->st_size, n = 0;
    char *text = malloc(size + 1);
    int read_errno = 0;
    while (text && n < size) {
        ssize_t r = read(fd, text + n, size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            read_errno = errno;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!text || n < size) {
        snprintf(err, errlen, "%s:0: cannot read: %s", path,
                 !text        ? "no memory"
                 : read_errno ? strerror(read_errno)
                              : "the file shrank while it was read");
        if (text) {
            OPENSSL_cleanse(text, size + 1);
            free(text);
        }
        return NULL;
    }
    text[n] = '\0';
    *len = n;
    return text;
}

/* Warns about a loaded file that its group may write, that someone else
 * owns, or that holds PSKs and others may read (on the line of the first
 * [peer] with a psk). */
static void warn_file_access(const char *path, const struct stat *st, const struct ns_conf *c)
{
    const struct ns_conf_peer *secret = NULL;
    for (unsigned i = 0; i < c->n_peers && !secret; i++)
        if (c->peers[i].psk_len)
            secret = &c->peers[i];
    char why[256];
    if (ns_perm_file(st, secret != NULL, why, sizeof(why)) == NS_PERM_WARN)
        NS_WARN("%s:%d: %s", path, secret ? secret->line : 0, why);
}

/* The group natsecd reads its file as at a reload when it is not root:
 * that of `user`, which it becomes once set up, or its own when started as
 * another user; (gid_t)-1 when it stays root (no group needs to read). */
gid_t ns_conf_p_run_group(const struct ns_conf *c)
{
    if (geteuid() != 0)
        return getegid();
    const struct passwd *pw = c->user[0] ? getpwnam(c->user) : NULL;
    return pw ? pw->pw_gid : (gid_t)-1;
}

/* A file with [user] sections holds what logs anyone in (their NT hashes):
 * refused unless only root and natsecd may read it. */
static int check_users_private(const char *path, const struct stat *st, struct ns_conf *c,
                               char *err, size_t errlen)
{
    char why[256];
    if (c->n_users == 0 ||
        ns_perm_private(st, ns_conf_p_run_group(c), why, sizeof(why)) == NS_PERM_OK)
        return 0;
    snprintf(err, errlen,
             "%s:%d: [user %s]: refused: a file with user passwords must be readable by root "
             "and natsecd only, but %s",
             path, c->users[0].line, c->users[0].name, why);
    ns_conf_free(c);
    ns_conf_defaults(c);
    return -1;
}

int ns_conf_load(const char *path, struct ns_conf *out, char *err, size_t errlen)
{
    ns_conf_defaults(out);
    size_t n;
    struct stat st;
    char *text = read_file(path, &n, &st, err, errlen);
    if (!text)
        return -1;
    int rc = -1;
    const char *nul = memchr(text, '\0', n);
    if (nul) {
        int line = 1;
        for (const char *q = text; q < nul; q++)
            line += *q == '\n';
        snprintf(err, errlen, "%s:%d: NUL byte in a text file", path, line);
    } else {
        rc = ns_conf_load_string(text, path, out, err, errlen);
    }
    if (rc == 0)
        rc = check_users_private(path, &st, out, err, errlen);
    if (rc == 0)
        warn_file_access(path, &st, out);
    OPENSSL_cleanse(text, n);
    free(text);
    return rc;
}
