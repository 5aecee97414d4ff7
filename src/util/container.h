/* The structure that holds a member, from a pointer to the member: how
 * intrusive links (hash chains, lists) get back to their records. */
#ifndef NATSEC_UTIL_CONTAINER_H
#define NATSEC_UTIL_CONTAINER_H

#include <stddef.h>

#define NS_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
