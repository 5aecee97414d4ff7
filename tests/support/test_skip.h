/* A unit test case that cannot run here (a kernel without IPv6, say)
 * reports itself skipped: cmocka shows it as SKIPPED, and the program exits
 * with TEST_SKIP_EXIT, which CTest's SKIP_RETURN_CODE (tests/support/
 * discover.cmake) shows as "Skipped" rather than "Passed". */
#ifndef NATSEC_TESTS_SUPPORT_TEST_SKIP_H
#define NATSEC_TESTS_SUPPORT_TEST_SKIP_H

#include <stdbool.h>

#define TEST_SKIP_EXIT 77

/* Prints why and leaves the running test case as skipped (does not
 * return). */
_Noreturn void test_skip(const char *why);

/* Whether a case of this program has been skipped. */
bool test_skipped(void);

#endif
