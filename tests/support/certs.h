/* The test certificates of tests/fixtures/certs (made by make.sh there),
 * found through NATSEC_FIXTURES as CTest sets it (X7, R3). Header only:
 * each test program that includes it gets its own copy. */
#ifndef NATSEC_TESTS_CERTS_H
#define NATSEC_TESTS_CERTS_H

#include <stdio.h>
#include <stdlib.h>

/* "<fixtures>/certs/<name>" in a static buffer of 8 rotating slots, so a
 * few paths can be used in one expression; NULL when NATSEC_FIXTURES is
 * not set. */
static inline const char *cert_path(const char *name)
{
    static char slots[8][512];
    static unsigned next;
    const char *root = getenv("NATSEC_FIXTURES");
    if (!root)
        return NULL;
    char *p = slots[next++ % 8];
    snprintf(p, sizeof(slots[0]), "%s/certs/%s", root, name);
    return p;
}

#endif
