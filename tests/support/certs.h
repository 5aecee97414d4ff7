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

/* The configuration lines of a node with certificate NAME (NAME.pem and
 * NAME.key) trusting ca: "cert = <path>\nkey = <path>\nca = <path>\n",
 * in a static buffer of 4 rotating slots. */
static inline const char *cert_conf_lines(const char *name, const char *ca)
{
    static char slots[4][2048];
    static unsigned next;
    char *s = slots[next++ % 4];
    char pem[64], key[64];
    snprintf(pem, sizeof(pem), "%s.pem", name);
    snprintf(key, sizeof(key), "%s.key", name);
    snprintf(s, sizeof(slots[0]), "cert = %s\nkey = %s\nca = %s\n", cert_path(pem), cert_path(key),
             cert_path(ca));
    return s;
}

#endif
