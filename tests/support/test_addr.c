#include "support/test_addr.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

struct ns_addr test_addr(const char *s)
{
    struct ns_addr a;
    assert_int_equal(ns_addr_parse(&a, s), 0);
    return a;
}

struct ns_endpoint test_ep(const char *addr, uint16_t port)
{
    struct ns_endpoint e = {.addr = test_addr(addr), .port = port};
    return e;
}
