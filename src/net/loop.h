/* The event loop: epoll for file descriptors, a timer heap (net/timer.h)
 * for deadlines, and signalfd for signals, all dispatched from one thread.
 *
 * Callbacks may add, modify and remove any descriptor (their own included)
 * and arm or cancel any timer; an event already collected for a descriptor
 * removed in the same round is not delivered. */
#ifndef NATSEC_NET_LOOP_H
#define NATSEC_NET_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

#include "net/timer.h"

struct ns_loop;

/* events: the EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP bits that are ready. */
typedef void (*ns_io_fn)(struct ns_loop *loop, int fd, uint32_t events, void *arg);
typedef void (*ns_signal_fn)(struct ns_loop *loop, int signo, void *arg);

/* NULL on failure (logged). */
struct ns_loop *ns_loop_new(void);
/* Closes the loop's own descriptors (not the registered ones), disarms its
 * timers and restores the signal mask that ns_loop_on_signal changed. */
void ns_loop_free(struct ns_loop *loop);

/* Watches fd for events (EPOLLIN and/or EPOLLOUT; level-triggered). One
 * registration per fd. Returns 0 or -1 (logged). */
int ns_loop_add(struct ns_loop *loop, int fd, uint32_t events, ns_io_fn fn, void *arg);
int ns_loop_modify(struct ns_loop *loop, int fd, uint32_t events);
/* As ns_loop_add, for a callback that does its own locking: it runs with
 * the guard (ns_loop_set_guard) left, and must return with it left. */
int ns_loop_add_unguarded(struct ns_loop *loop, int fd, uint32_t events, ns_io_fn fn, void *arg);
/* Stops watching fd; call it before closing fd. Returns 0 or -1. */
int ns_loop_remove(struct ns_loop *loop, int fd);

/* The monotonic time (ms) read at the start of the current round; timers
 * are relative to it, so every callback of one round sees one "now". */
uint64_t ns_loop_now_ms(const struct ns_loop *loop);
/* Arms (or moves) t to fire delay_ms after ns_loop_now_ms. 0 or -1. */
int ns_loop_timer_arm(struct ns_loop *loop, struct ns_timer *t, uint64_t delay_ms);
int ns_loop_timer_arm_at(struct ns_loop *loop, struct ns_timer *t, uint64_t deadline_ms);
void ns_loop_timer_cancel(struct ns_loop *loop, struct ns_timer *t);

/* Delivers signo through the loop instead of asynchronously: blocks it and
 * reads it from a signalfd. fn NULL means "stop the loop" (what SIGINT and
 * SIGTERM want). Returns 0 or -1. */
int ns_loop_on_signal(struct ns_loop *loop, int signo, ns_signal_fn fn, void *arg);

/* A guard against other threads (natsecd: the SAD's lock against its TX
 * worker, daemon/natsecd.h). The loop enters it before it runs timers or a
 * callback added with ns_loop_add and leaves it before it waits in epoll
 * and before a callback added with ns_loop_add_unguarded; it enters and
 * leaves lazily, only when the next thing to run needs the other state.
 * The caller holds the guard when it sets it, and holds it again whenever
 * ns_loop_run and ns_loop_run_once return. enter NULL removes the guard
 * (the loop then takes itself to hold nothing). */
void ns_loop_set_guard(struct ns_loop *loop, void (*enter)(void *arg), void (*leave)(void *arg),
                       void *arg);

/* Runs rounds until ns_loop_stop. Returns 0 when stopped, -1 when epoll
 * itself fails (logged). */
int ns_loop_run(struct ns_loop *loop);
/* One round: expires due timers, waits at most max_wait_ms (-1: until the
 * next timer or event) and dispatches. Returns the number of callbacks
 * run, or -1. */
int ns_loop_run_once(struct ns_loop *loop, int max_wait_ms);
/* Makes ns_loop_run return after the current callback and round. */
void ns_loop_stop(struct ns_loop *loop);
/* The last signal that stopped the loop (0 if none). */
int ns_loop_stop_signal(const struct ns_loop *loop);

#endif
