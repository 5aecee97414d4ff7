/* The checks a copy of heap blocks (heap_snapshot.h) must keep: a use of a
 * freed kept block is reported, a second free of one stops the program,
 * and a kept block the program never freed is counted (hs_live), as
 * ASan and LeakSanitizer do for ordinary blocks. Each case is one run:
 *   heap_snapshot_check reuse | use-after-free | double-free | leak
 * reuse exits 0; use-after-free must end in ASan's use-after-poison
 * report, double-free in heap_snapshot's own abort; leak prints "leak
 * found" (CTest matches the output, tests/fuzz/CMakeLists.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_snapshot.h"

struct node {
    struct node *next;
    int v;
};

/* Reachable to the end: LeakSanitizer's report is not what is tested. */
static struct hs_snapshot *s;

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const char *mode = argv[1];
    hs_window_open();
    struct node *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    if (!a || !b)
        return 1;
    *b = (struct node){NULL, 2};
    *a = (struct node){b, 1};
    s = hs_take(NULL, 0);
    if (!s)
        return 1;
    free(b);
    free(a);
    for (int round = 0; round < 3; round++) {
        if (hs_restore(s) != 0)
            return 1;
        struct node *x = hs_moved(s, a);
        /* Every restore gives back the values and the pointer between
         * the blocks, in the same blocks. */
        if (x->v != 1 || x->next->v != 2 || hs_live(s) != 2) {
            fprintf(stderr, "round %d: a wrong copy\n", round);
            return 1;
        }
        struct node *y = x->next;
        free(y);
        if (round == 1 && strcmp(mode, "use-after-free") == 0)
            printf("%d\n", y->v); /* reported: the block is poisoned */
        if (round == 1 && strcmp(mode, "double-free") == 0)
            free(y); /* aborts */
        if (round == 1 && strcmp(mode, "leak") == 0) {
            if (hs_live(s) == 1)
                fprintf(stderr, "leak found\n");
            return 0;
        }
        free(x);
        if (hs_live(s) != 0) {
            fprintf(stderr, "round %d: freed blocks still live\n", round);
            return 1;
        }
    }
    hs_free(s);
    return strcmp(mode, "reuse") == 0 ? 0 : 1;
}
