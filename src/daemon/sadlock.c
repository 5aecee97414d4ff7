/* sad_lock: the SAD's reader-writer lock between the main thread and the
 * outbound worker (the rules are in natsecd.h).
 *
 * The main thread is the only writer. It prefers writers, so a worker that
 * takes the lock shared batch after batch cannot keep the main thread out:
 * its next batch waits while the main thread wants the lock. The main
 * thread's state is one of none, shared or exclusive (d->sad_hold), moved
 * by nsd_sad_hold; pthread rwlocks cannot downgrade, but nothing can slip
 * in between the unlock and the new lock that matters: only this thread
 * changes the SAD. */
#include <string.h>

#include "daemon/natsecd.h"
#include "util/log.h"

void nsd_sad_hold(struct nsd *d, enum nsd_hold want)
{
    if (!d->sad_locking || d->sad_hold == want)
        return;
    if (d->sad_hold != NSD_HOLD_NONE)
        pthread_rwlock_unlock(&d->sad_lock);
    if (want == NSD_HOLD_SHARED)
        pthread_rwlock_rdlock(&d->sad_lock);
    else if (want == NSD_HOLD_EXCLUSIVE)
        pthread_rwlock_wrlock(&d->sad_lock);
    d->sad_hold = want;
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

int nsd_sad_lock_init(struct nsd *d)
{
    pthread_rwlockattr_t attr;
    int rc = pthread_rwlockattr_init(&attr);
    if (rc == 0) {
        rc = pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        if (rc == 0)
            rc = pthread_rwlock_init(&d->sad_lock, &attr);
        pthread_rwlockattr_destroy(&attr);
    }
    if (rc != 0) {
        NS_ERR("cannot create the SAD lock: %s", strerror(rc));
        return -1;
    }
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
    pthread_rwlock_destroy(&d->sad_lock);
}
