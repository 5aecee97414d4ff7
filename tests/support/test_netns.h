/* Runs part of a unit test in a forked child inside a network namespace of
 * its own (unshare(CLONE_NEWNET), as root) with loopback up, so nothing
 * touches the host's network. The child reports failure by exit status;
 * the parent fails the test case when it does. */
#ifndef NATSEC_TESTS_SUPPORT_TEST_NETNS_H
#define NATSEC_TESTS_SUPPORT_TEST_NETNS_H

/* The case needs IPv6: it is enabled in the namespace (all, default and
 * lo), whatever the host's settings a new namespace may inherit; on a
 * kernel without IPv6 the case is skipped (support/test_skip.h). */
#define TEST_NETNS_IPV6 1u

void test_in_netns(void (*fn)(void), unsigned flags);

#endif
