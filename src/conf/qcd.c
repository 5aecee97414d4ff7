/* The secret of quick crash detection (RFC 6290 5.1, X2): the [natsecd]
 * keys qcd and qcd_secret_file, and the file itself. The secret must
 * outlive a restart (a token is only worth something when the restarted
 * natsecd makes the same one again), so it lives in a file, made once with
 * 32 random bytes; whoever reads it can end every peer's IKE SA with a
 * forged crash answer, so only root and natsecd may read it. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/parse.h"
#include "conf/value.h"
#include "crypto/rand.h"
#include "util/fileperm.h"
#include "util/log.h"

int ns_conf_p_set_qcd(struct ns_conf_parser *p, const char *v, char *err, size_t errlen)
{
    return ns_conf_value_bool(v, &p->c->qcd, err, errlen);
}

int ns_conf_p_set_qcd_secret_file(struct ns_conf_parser *p, const char *v, char *err,
                                  size_t errlen)
{
    if (!v[0] || strlen(v) >= sizeof(p->c->qcd_secret_file)) {
        snprintf(err, errlen, "a path of 1 to %zu characters", sizeof(p->c->qcd_secret_file) - 1);
        return -1;
    }
    snprintf(p->c->qcd_secret_file, sizeof(p->c->qcd_secret_file), "%s", v);
    p->c->qcd_secret_line = p->line;
    return 0;
}

/* The folder the file goes in, made (mode 0700) when missing: natsecd's
 * state folder outside systemd (which makes it, StateDirectory=). */
static int make_parent(const char *path)
{
    char dir[NS_CONF_FILE_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

/* A new secret file, put in place whole with link(2): a process that
 * starts at the same time finds either no file or the whole of one. 0; 1
 * when another process made it first (read that one); -1 with errno. */
static int create_secret(const char *path)
{
    char tmp[NS_CONF_FILE_MAX + 32];
    uint8_t s[NS_CONF_QCD_SECRET_LEN];
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    if (make_parent(path) != 0)
        return -1;
    if (ns_random_bytes(s, sizeof(s)) != 0) {
        errno = EIO;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        OPENSSL_cleanse(s, sizeof(s));
        return -1;
    }
    ssize_t n = write(fd, s, sizeof(s));
    int saved = errno;
    OPENSSL_cleanse(s, sizeof(s));
    int rc = n == (ssize_t)sizeof(s) && fsync(fd) == 0 ? 0 : -1;
    if (rc != 0)
        saved = n >= 0 ? EIO : saved;
    close(fd);
    if (rc == 0 && link(tmp, path) != 0) {
        saved = errno;
        rc = saved == EEXIST ? 1 : -1;
    }
    unlink(tmp);
    errno = saved;
    return rc;
}

int ns_conf_qcd_secret(struct ns_conf *c, const char *name, char *err, size_t errlen)
{
    c->qcd_secret_set = false;
    if (!c->qcd)
        return 0;
    const char *path = c->qcd_secret_file;
    int line = c->qcd_secret_line ? c->qcd_secret_line : c->main_line;
    bool dflt = c->qcd_secret_line == 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        int rc = create_secret(path);
        if (rc < 0 && dflt) {
            NS_WARN("qcd: cannot make %s (%s): quick crash detection (RFC 6290) is off; set "
                    "qcd_secret_file to a file natsecd may write, or qcd = no",
                    path, strerror(errno));
            return 0;
        }
        if (rc < 0) {
            snprintf(err, errlen, "%s:%d: qcd_secret_file: cannot make %s: %s", name, line, path,
                     strerror(errno));
            return -1;
        }
        if (rc == 0)
            NS_INFO("qcd: made a new secret in %s", path);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s:%d: qcd_secret_file: cannot read %s: %s", name, line, path,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char why[256];
    if (ns_perm_private(&st, ns_conf_p_run_group(c), why, sizeof(why)) != NS_PERM_OK) {
        snprintf(err, errlen,
                 "%s:%d: qcd_secret_file: refused: %s holds the secret of the QCD tokens "
                 "(RFC 6290) and must be readable by root and natsecd only, but %s",
                 name, line, path, why);
        close(fd);
        return -1;
    }
    uint8_t buf[NS_CONF_QCD_SECRET_LEN + 1];
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n != NS_CONF_QCD_SECRET_LEN || !S_ISREG(st.st_mode)) {
        OPENSSL_cleanse(buf, sizeof(buf));
        snprintf(err, errlen,
                 "%s:%d: qcd_secret_file: %s must be a file of exactly %d bytes (remove it: "
                 "natsecd makes a new one; peers connected then reconnect once after a restart)",
                 name, line, path, NS_CONF_QCD_SECRET_LEN);
        return -1;
    }
    memcpy(c->qcd_secret, buf, NS_CONF_QCD_SECRET_LEN);
    OPENSSL_cleanse(buf, sizeof(buf));
    c->qcd_secret_set = true;
    return 0;
}
