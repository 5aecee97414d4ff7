/* Snapshots of heap blocks for a fuzz target: the target is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free, so every
 * block natsec's code (and the harness) allocates is known with its size.
 * The blocks allocated during a window and still live at its end are
 * copied; a restore fills a block of its own for each (allocated by the
 * first restore and kept, ASan's redzones around it as around any other)
 * and rewrites every pointer from one block of the window to another to
 * point between those blocks. So a structure built once at some cost (an
 * IKE handshake) can be had again for the price of a few copies.
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

/* Fills a copy of every block: the first restore allocates the copies,
 * every later one rewrites the same blocks (kept: a free() of one by the
 * program marks it free and poisons it, and it stays allocated for the
 * next restore; a second free() of it aborts). Returns 0, or -1 when
 * memory runs out (nothing is left allocated then). Aborts when a block of
 * the last restore is still in use (hs_live). */
int hs_restore(struct hs_snapshot *s);

/* How many blocks of the last restore the program has not freed: after it
 * has freed everything it built on the copy, any is a leak (LeakSanitizer
 * does not see kept blocks). */
size_t hs_live(const struct hs_snapshot *s);

/* Where old (an address in a block of the window, or one past its end)
 * is in the copy made by the last hs_restore; old itself when it is in
 * no block of the window. */
void *hs_moved(const struct hs_snapshot *s, const void *old);

#endif
