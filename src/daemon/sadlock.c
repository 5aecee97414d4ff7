/* sad_lock: the SAD's reader-writer lock between the main thread and the
 * data-plane threads (the rules are in natsecd.h), in one part per thread
 * beside the main one (a "big reader" lock): a thread's batch takes only
 * its own part shared, so the threads never write a cache line another
 * core reads, and the main thread takes every part, in order, to hold the
 * lock exclusive. The main thread is the only writer, so holding it shared
 * excludes nobody: NSD_HOLD_SHARED holds no part.
 *
 * Each part prefers writers, so a thread that takes its part shared batch
 * after batch cannot keep the main thread out: its next batch waits while
 * the main thread wants the part. The main thread's state is one of none,
 * shared or exclusive (d->sad_hold), moved by nsd_sad_hold. */
#include <stdlib.h>
#include <string.h>

#include "daemon/natsecd.h"
#include "util/log.h"

struct nsd_sad_lock {
    _Alignas(64) pthread_rwlock_t l;
};

void nsd_sad_hold(struct nsd *d, enum nsd_hold want)
{
    if (!d->sad_locking || d->sad_hold == want)
        return;
    bool was = d->sad_hold == NSD_HOLD_EXCLUSIVE, will = want == NSD_HOLD_EXCLUSIVE;
    for (unsigned i = 0; was && !will && i < d->n_sad_locks; i++)
        pthread_rwlock_unlock(&d->sad_locks[i].l);
    for (unsigned i = 0; will && !was && i < d->n_sad_locks; i++)
        pthread_rwlock_wrlock(&d->sad_locks[i].l);
    d->sad_hold = want;
}

pthread_rwlock_t *nsd_sad_lock_part(struct nsd *d, unsigned i)
{
    return &d->sad_locks[i].l;
}

/* The loop's guard (ns_loop_set_guard): exclusive for timers and
 * callbacks, nothing while it waits. */
static void guard_enter(void *arg)
{
    nsd_sad_hold(arg, NSD_HOLD_EXCLUSIVE);
}

static void guard_leave(void *arg)
{
    nsd_sad_hold(arg, NSD_HOLD_NONE);
}

int nsd_sad_lock_init(struct nsd *d, unsigned n)
{
    d->sad_locks = aligned_alloc(_Alignof(struct nsd_sad_lock), n * sizeof(*d->sad_locks));
    if (!d->sad_locks) {
        NS_ERR("out of memory for the SAD lock");
        return -1;
    }
    pthread_rwlockattr_t attr;
    int rc = pthread_rwlockattr_init(&attr);
    if (rc == 0)
        rc = pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    unsigned made = 0;
    while (rc == 0 && made < n && (rc = pthread_rwlock_init(&d->sad_locks[made].l, &attr)) == 0)
        made++;
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) {
        NS_ERR("cannot create the SAD lock: %s", strerror(rc));
        while (made > 0)
            pthread_rwlock_destroy(&d->sad_locks[--made].l);
        free(d->sad_locks);
        d->sad_locks = NULL;
        return -1;
    }
    d->n_sad_locks = n;
    d->sad_locking = true;
    d->sad_hold = NSD_HOLD_NONE;
    nsd_sad_hold(d, NSD_HOLD_EXCLUSIVE);
    ns_loop_set_guard(d->loop, guard_enter, guard_leave, d);
    return 0;
}

void nsd_sad_lock_fini(struct nsd *d)
{
    if (!d->sad_locking)
        return;
    ns_loop_set_guard(d->loop, NULL, NULL, NULL);
    nsd_sad_hold(d, NSD_HOLD_NONE);
    d->sad_locking = false;
    for (unsigned i = 0; i < d->n_sad_locks; i++)
        pthread_rwlock_destroy(&d->sad_locks[i].l);
    free(d->sad_locks);
    d->sad_locks = NULL;
    d->n_sad_locks = 0;
}
