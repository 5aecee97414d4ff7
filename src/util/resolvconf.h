/* The resolv.conf a client writes while its tunnel is up (dns_apply = file):
 * the VPN's DNS servers of both families, and putting back the content
 * that was there before. Pure formatting and writing through a descriptor
 * opened earlier, so the daemon can do it after it dropped the right to
 * open /etc/resolv.conf. */
#ifndef NATSEC_UTIL_RESOLVCONF_H
#define NATSEC_UTIL_RESOLVCONF_H

#include <stddef.h>
#include <sys/types.h>

#include "util/addr.h"

/* Writes into out[0..cap) a resolv.conf naming dns[0..n) (in that order)
 * and, when n_domains > 0, a "search" line of domains. Returns the length
 * (without the NUL), or -1 when it does not fit or an address is unset. */
ssize_t ns_resolvconf_render(char *out, size_t cap, const struct ns_addr *dns, unsigned n,
                             const char *const *domains, unsigned n_domains);

/* Replaces the whole content of the file open (read-write) on fd with
 * data[0..len): written from offset 0, then cut to len. 0 or -1 (errno). */
int ns_file_replace(int fd, const char *data, size_t len);

/* Reads the whole content of fd from offset 0 into a malloc'd buffer of
 * at most max bytes (*len set; NUL-terminated). NULL on error or when the
 * file is larger than max. */
char *ns_file_slurp(int fd, size_t max, size_t *len);

#endif
