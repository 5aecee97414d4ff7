/* Hex text to bytes for the unit tests' vectors; spaces and newlines are
 * skipped, and malformed text or more than cap bytes fails the test. */
#ifndef NATSEC_TESTS_SUPPORT_TEST_HEX_H
#define NATSEC_TESTS_SUPPORT_TEST_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Returns the number of bytes written to out. */
size_t test_unhex(const char *hex, uint8_t *out, size_t cap);

#endif
