/* Snapshots of heap blocks for a fuzz target: the target is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free, so every
 * block natsec's code (and the harness) allocates is known with its size.
 * The blocks allocated during a window and still live at its end are
 * copied; a restore allocates a fresh block for each (an ordinary
 * allocation, which ASan watches like any other) and rewrites every
 * pointer from one block of the window to another to point between the
 * new blocks. So a structure built once at some cost (an IKE handshake)
 * can be had again for the price of a few allocations and copies.
 *
 * A block may only hold pointers to blocks of the window, to memory that
 * outlives every restore (static data, blocks allocated before the window
 * and never freed), or to nothing on the heap: a pointer to a live heap
 * block made by a library (OpenSSL) cannot be copied, and hs_take refuses
 * such a window, unless the block holding it is given as opaque (the
 * caller replaces those after each restore). Single-threaded: blocks
 * allocated by other threads are not followed. */
#ifndef NATSEC_TESTS_FUZZ_HEAP_SNAPSHOT_H
#define NATSEC_TESTS_FUZZ_HEAP_SNAPSHOT_H

#include <stddef.h>

struct hs_snapshot;

/* Blocks allocated from now on, by this thread, are the window's. */
void hs_window_open(void);

/* Ends the window and copies its live blocks. opaque (n_opaque of them)
 * are blocks of the window copied byte for byte and never looked into;
 * the caller replaces them after each restore. Returns NULL (and ends the
 * window) when a block holds a pointer it cannot copy, or memory runs
 * out. */
struct hs_snapshot *hs_take(void *const *opaque, size_t n_opaque);

void hs_free(struct hs_snapshot *s);

/* Allocates and fills a new copy of every block. Returns 0, or -1 when
 * memory runs out (nothing is left allocated then). */
int hs_restore(struct hs_snapshot *s);

/* Where old (an address in a block of the window, or one past its end)
 * is in the copy made by the last hs_restore; old itself when it is in
 * no block of the window. */
void *hs_moved(const struct hs_snapshot *s, const void *old);

#endif
