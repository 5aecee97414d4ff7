/* Lets CTest run and list every cmocka test case by name, and see the
 * cases that were skipped.
 *
 * Unit test programs are linked with -Wl,--wrap=_cmocka_run_group_tests, so
 * this wrapper runs in front of cmocka's group runner:
 *   NATSEC_TEST_LIST=1      print one test name per line and exit 0;
 *   NATSEC_TEST_FILTER=name run only the test of that exact name, and fail
 *                           when the program has no such test (so a
 *                           registered name can never pass by matching
 *                           nothing).
 * Without either variable the whole group runs as usual. A group in which
 * nothing failed but a case was skipped (test_skip) exits with
 * TEST_SKIP_EXIT, so that CTest reports it skipped, never passed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_skip.h"

static bool skipped;

void test_skip(const char *why)
{
    skipped = true;
    fprintf(stderr, "skipped: %s\n", why);
    skip();
    abort(); /* skip() leaves the test case; never here */
}

bool test_skipped(void)
{
    return skipped;
}

int __real__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                                   const size_t num_tests, CMFixtureFunction group_setup,
                                   CMFixtureFunction group_teardown);

int __wrap__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                                   const size_t num_tests, CMFixtureFunction group_setup,
                                   CMFixtureFunction group_teardown);

int __wrap__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                                   const size_t num_tests, CMFixtureFunction group_setup,
                                   CMFixtureFunction group_teardown)
{
    if (getenv("NATSEC_TEST_LIST")) {
        for (size_t i = 0; i < num_tests; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    const char *only = getenv("NATSEC_TEST_FILTER");
    if (only) {
        size_t i = 0;
        while (i < num_tests && strcmp(tests[i].name, only) != 0)
            i++;
        if (i == num_tests) {
            fprintf(stderr, "%s: no test named '%s'\n", group_name, only);
            return 1;
        }
        /* The same case may exist in another group of this program; the
         * filter is exact, so only that case runs. */
        cmocka_set_test_filter(only);
    }
    int rc =
        __real__cmocka_run_group_tests(group_name, tests, num_tests, group_setup, group_teardown);
    return rc == 0 && skipped ? TEST_SKIP_EXIT : rc;
}
