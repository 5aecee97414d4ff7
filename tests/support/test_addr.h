/* Addresses and endpoints from text for the unit tests; a text that does
 * not parse fails the test. */
#ifndef NATSEC_TESTS_SUPPORT_TEST_ADDR_H
#define NATSEC_TESTS_SUPPORT_TEST_ADDR_H

#include <stdint.h>

#include "util/addr.h"

struct ns_addr test_addr(const char *s);
struct ns_endpoint test_ep(const char *addr, uint16_t port);

#endif
