/* The version natsecd and natsecctl report (--version, natsecctl version,
 * status, metrics), from the file VERSION at the top of the tree. */
#ifndef NATSEC_UTIL_VERSION_H
#define NATSEC_UTIL_VERSION_H

/* "0.1.0", the release. */
const char *ns_version(void);
/* "0.1.0 (git 57a5237-dirty)" when built from a git checkout, else as
 * ns_version(). */
const char *ns_version_long(void);

#endif
