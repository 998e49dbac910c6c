/*
 * ct_timer_t — Python's Timer: call fn(arg) once, interval seconds after
 * start, unless cancelled first.
 *
 *     static void expire(void *session) { ... }
 *
 *     ct_timer_t *t = ct_timer_new(30.0, expire, session);
 *     if (!t || ct_timer_start(t)) ...;      // errno / the error number
 *     ...
 *     ct_timer_cancel(t);                    // activity: no expiry after all
 *     ct_timer_free(t);
 *
 * Unlike Python's, a pending timer costs no thread: one timer thread sleeps
 * until the earliest deadline of all pending timers, and due callbacks run
 * on a small set of runner threads that grows while callbacks block (so a
 * slow callback delays no other timer) and shrinks when idle. 100,000
 * pending timers cost about 100 bytes each. Starting and cancelling are
 * O(log n).
 *
 * Cancelling before the callback has begun prevents it; once it has begun,
 * cancel has no effect. Like Python's Timer (a non-daemon thread), a
 * started timer that is neither finished nor cancelled is waited for when
 * the program ends normally (return from main, or exit()) — unless it was
 * made a daemon with ct_timer_set_daemon. A callback that calls exit()
 * itself is not waited for. After fork(), the child has no pending timers
 * (those of the parent are cancelled there) and can start new ones.
 *
 * Callbacks run on the library's runner threads, which block every signal;
 * they are not ct_thread_t objects and do not appear in ct_enumerate.
 */
#ifndef CTHREADING_TIMER_H
#define CTHREADING_TIMER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_timer ct_timer_t;

/* A timer that will call fn(arg) interval seconds after it starts
 * (more than CT_TIMEOUT_MAX, or INFINITY: never, until cancelled). NULL
 * with errno EINVAL for a NaN or negative interval or a NULL fn, ENOMEM. */
CT_API ct_timer_t *ct_timer_new(double interval, void (*fn)(void *arg), void *arg);
/* Starts the countdown: 0; EINVAL if it was started before; EAGAIN if the
 * OS refused the timer thread, ENOMEM (the timer is then as before). */
CT_API int ct_timer_start(ct_timer_t *t);
/* Stops the timer if its callback has not begun: 0 (also when it is too
 * late, or the timer was never started; Python's cancel never fails). */
CT_API int ct_timer_cancel(ct_timer_t *t);
/* Waits until the callback has returned or the timer was cancelled: 0;
 * EINVAL if it was never started; EDEADLK from inside its own callback. */
CT_API int ct_timer_join(ct_timer_t *t);
/* As ct_timer_join, at most timeout seconds: also ETIMEDOUT. */
CT_API int ct_timer_join_timeout(ct_timer_t *t, double timeout);
/* Started, and neither finished nor cancelled. */
CT_API bool ct_timer_is_alive(const ct_timer_t *t);
/* Whether the program's exit waits for it (false, the default) or not:
 * 0, or EINVAL once started. */
CT_API int ct_timer_set_daemon(ct_timer_t *t, bool daemon);
/* Cancels the timer if pending and frees it; a callback already running
 * finishes first, on its own. NULL is ignored. */
CT_API void ct_timer_free(ct_timer_t *t);

#ifdef __cplusplus
}
#endif

#endif
