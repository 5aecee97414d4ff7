/* A one-byte spin lock for a few hundred nanoseconds of work that threads
 * rarely contend for (an SA's cipher context or replay window, which data-
 * plane workers on several cores may reach at once). Uncontended it costs
 * one atomic exchange and one release store; a waiter spins on a plain
 * load so it does not bounce the cache line. Zero is unlocked. */
#ifndef NATSEC_UTIL_SPIN_H
#define NATSEC_UTIL_SPIN_H

/* The CPU's hint that this is a spin-wait loop, where it has one. */
#if defined(__x86_64__) || defined(__i386__)
#define NS_SPIN_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define NS_SPIN_PAUSE() __asm__ __volatile__("yield")
#else
#define NS_SPIN_PAUSE() ((void)0)
#endif

static inline void ns_spin_lock(unsigned char *l)
{
    while (__atomic_test_and_set(l, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            NS_SPIN_PAUSE();
}

static inline void ns_spin_unlock(unsigned char *l)
{
    __atomic_clear(l, __ATOMIC_RELEASE);
}

#endif
