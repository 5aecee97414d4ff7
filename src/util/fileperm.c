/* Permissions of the files natsecd trusts: see fileperm.h. */
#include "util/fileperm.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned mode_bits(const struct stat *st)
{
    return (unsigned)(st->st_mode & 07777);
}

/* Owned by root or by the user natsecd runs as. */
static bool trusted_owner(const struct stat *st)
{
    return st->st_uid == 0 || st->st_uid == geteuid();
}

enum ns_perm_verdict ns_perm_file(const struct stat *st, bool secret, char *why, size_t why_len)
{
    unsigned m = mode_bits(st);
    if (st->st_mode & S_IWOTH) {
        snprintf(why, why_len, "others may write it (mode %04o): chmod o-w", m);
        return NS_PERM_REFUSE;
    }
    if (!trusted_owner(st)) {
        snprintf(why, why_len, "user %u owns it and may change it: chown root",
                 (unsigned)st->st_uid);
        return NS_PERM_WARN;
    }
    if (st->st_mode & S_IWGRP) {
        snprintf(why, why_len, "its group (%u) may write it (mode %04o): chmod g-w",
                 (unsigned)st->st_gid, m);
        return NS_PERM_WARN;
    }
    if (secret && (st->st_mode & S_IROTH)) {
        snprintf(why, why_len, "it holds a secret and others may read it (mode %04o): chmod o-r",
                 m);
        return NS_PERM_WARN;
    }
    return NS_PERM_OK;
}

enum ns_perm_verdict ns_perm_private(const struct stat *st, gid_t run_group, char *why,
                                     size_t why_len)
{
    unsigned m = mode_bits(st);
    if (!trusted_owner(st)) {
        snprintf(why, why_len, "user %u owns it: chown root", (unsigned)st->st_uid);
        return NS_PERM_REFUSE;
    }
    if (st->st_mode & S_IRWXO) {
        snprintf(why, why_len, "others may use it (mode %04o): chmod o-rwx", m);
        return NS_PERM_REFUSE;
    }
    bool ours = run_group != (gid_t)-1 && st->st_gid == run_group;
    if ((st->st_mode & S_IRWXG) && (!ours || (st->st_mode & S_IRWXG) != S_IRGRP)) {
        snprintf(why, why_len,
                 "its group %u may use it (mode %04o): chmod 600, or chmod 640 with the group "
                 "natsecd runs as",
                 (unsigned)st->st_gid, m);
        return NS_PERM_REFUSE;
    }
    return NS_PERM_OK;
}

/* The worse of two verdicts, keeping the reason of the worse (the first
 * of equals). */
static enum ns_perm_verdict worse(enum ns_perm_verdict have, enum ns_perm_verdict next,
                                  const char *next_why, char *why, size_t why_len)
{
    bool replace = next == NS_PERM_REFUSE ? have != NS_PERM_REFUSE
                                          : next == NS_PERM_WARN && have == NS_PERM_OK;
    if (!replace)
        return have;
    snprintf(why, why_len, "%s", next_why);
    return next;
}

enum ns_perm_verdict ns_perm_path(const char *path, bool secret, char *why, size_t why_len)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return NS_PERM_OK;
    enum ns_perm_verdict v = ns_perm_file(&st, secret, why, why_len);
    if (!S_ISDIR(st.st_mode))
        return v;
    DIR *d = opendir(path);
    if (!d)
        return v;
    for (struct dirent *de; (de = readdir(d));) {
        char file[4096], r[512], named[4096 + 512 + 8];
        struct stat fst;
        if (de->d_name[0] == '.' ||
            snprintf(file, sizeof(file), "%s/%s", path, de->d_name) >= (int)sizeof(file) ||
            stat(file, &fst) != 0 || !S_ISREG(fst.st_mode))
            continue;
        enum ns_perm_verdict fv = ns_perm_file(&fst, secret, r, sizeof(r));
        if (fv == NS_PERM_OK)
            continue;
        snprintf(named, sizeof(named), "%s: %s", file, r);
        v = worse(v, fv, named, why, why_len);
    }
    closedir(d);
    return v;
}

int ns_perm_private_dir(const char *dir, char *why, size_t why_len)
{
    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST) {
        snprintf(why, why_len, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, why_len, "%s is not a directory", dir);
        return -1;
    }
    if (!trusted_owner(&st)) {
        snprintf(why, why_len, "%s belongs to user %u, who could put another socket there", dir,
                 (unsigned)st.st_uid);
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, why_len,
                 "others may write %s (mode %04o) and put another socket there: chmod go-w, or "
                 "choose another folder",
                 dir, mode_bits(&st));
        return -1;
    }
    return 0;
}
