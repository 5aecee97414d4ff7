/* Who besides natsecd may change, or read, a file it trusts: its
 * configuration, its private key, certificates and CAs (read once at
 * start), and the folder of its control socket. A file that others can
 * write lets them choose natsecd's peers, keys and subnets, or put a
 * socket of their own where natsecctl looks for natsecd's.
 *
 * "Others" are users that are neither the file's owner nor in its group;
 * the group and an owner other than root or natsecd's own user are
 * reported too, as warnings: some installations want them (a key readable
 * by a group such as ssl-cert). */
#ifndef NATSEC_UTIL_FILEPERM_H
#define NATSEC_UTIL_FILEPERM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

enum ns_perm_verdict {
    NS_PERM_REFUSE = -1, /* others may write it */
    NS_PERM_OK = 0,
    NS_PERM_WARN = 1, /* its group may write it, someone else owns it, or a secret others may
                         read */
};

/* Judges a file natsecd reads (st from stat or fstat); secret: it holds a
 * PSK or a private key. Anything but NS_PERM_OK comes with the reason and
 * the remedy in why, e.g. "others may write it (mode 0666): chmod o-w". */
enum ns_perm_verdict ns_perm_file(const struct stat *st, bool secret, char *why, size_t why_len);

/* The same for a path; a directory (a folder of CA certificates) is judged
 * with the regular files directly in it, and the worst verdict is given,
 * its reason naming the file. A path that cannot be read is OK here: the
 * loader reports it. */
enum ns_perm_verdict ns_perm_path(const char *path, bool secret, char *why, size_t why_len);

/* A file only natsecd may read: NS_PERM_OK when root or natsecd's own
 * user owns it, others have no access, and its group none, or read only
 * when it is run_group (the group natsecd runs as once it dropped root,
 * which reads the file again at a reload; (gid_t)-1: none). Else
 * NS_PERM_REFUSE with the reason and the remedy in why. For the files
 * that hold what logs users in. */
enum ns_perm_verdict ns_perm_private(const struct stat *st, gid_t run_group, char *why,
                                     size_t why_len);

/* The folder of a socket natsecd listens on: created with mode 0700 when
 * it does not exist (its parent must); else it must be a directory owned
 * by root or natsecd's user that neither its group nor others may write.
 * 0, or -1 with the reason in why. */
int ns_perm_private_dir(const char *dir, char *why, size_t why_len);

#endif
