/*
 * ct_cond_t — Python's Condition: a lock, and a queue of threads waiting
 * for the state that lock guards to change. wait releases the lock while it
 * sleeps and takes it back before it returns; notify(n) wakes the n
 * longest-waiting threads, oldest first. Needs no destroy call and owns no
 * memory.
 *
 *     static ct_cond_t cond = CT_COND_INIT;   // with its own RLock
 *     static int items;
 *
 *     CT_WITH(&cond) {                        // a consumer
 *         CT_COND_WAIT_FOR(&cond, items > 0, CT_FOREVER);
 *         items--;
 *     }
 *
 *     CT_WITH(&cond) {                        // a producer
 *         items++;
 *         ct_cond_notify(&cond, 1);
 *     }
 *
 * wait, wait_for and notify need the lock held, as Python means it: an
 * RLock owned by the caller, or a Lock locked by anyone (with a Lock, make
 * sure that is the caller). wait returns 0 only to a thread that notify
 * chose: there are no spurious wake-ups, though re-checking the state
 * (wait_for) stays the robust way to wait.
 */
#ifndef CTHREADING_COND_H
#define CTHREADING_COND_H

#include "lock.h"
#include "rlock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A waiting thread's place in the queue; it lives on that thread's stack. */
struct ct__cond_waiter;

typedef struct ct_cond {
    ct_rlock_t own;                /* the lock unless one was given */
    ct_rlock_t *rlock;             /* the given RLock, or NULL */
    ct_lock_t *lock;               /* the given Lock, or NULL */
    /* The waiters, oldest first, in a circle (the tail is head->prev):
     * the notified ones, then the others; waiting is the first not
     * notified, or NULL. */
    struct ct__cond_waiter *head, *waiting;
} ct_cond_t;

/* A condition with its own RLock, as ct_cond_init makes. */
#define CT_COND_INIT { CT_RLOCK_INIT, NULL, NULL, NULL, NULL }

/* Makes *c a condition with its own RLock (Python's Condition()). */
CT_API void ct_cond_init(ct_cond_t *c);
/* Makes *c a condition around the Lock *l, which it uses, not copies. */
CT_API void ct_cond_init_lock(ct_cond_t *c, ct_lock_t *l);
/* Makes *c a condition around the RLock *r, which it uses, not copies. */
CT_API void ct_cond_init_rlock(ct_cond_t *c, ct_rlock_t *r);

/* Acquires the condition's lock, as that lock's acquire does: 0 (or
 * EOVERFLOW for an RLock too deep). */
CT_API int ct_cond_acquire(ct_cond_t *c);
/* As acquire, without waiting: 0, EBUSY (or EOVERFLOW). */
CT_API int ct_cond_try_acquire(ct_cond_t *c);
/* As acquire, waiting at most timeout: 0, ETIMEDOUT, EINVAL (or EOVERFLOW). */
CT_API int ct_cond_acquire_timeout(ct_cond_t *c, double timeout);
/* Releases the condition's lock: 0, or EPERM as that lock's release. */
CT_API int ct_cond_release(ct_cond_t *c);

/* Releases the lock (an RLock at any depth), sleeps until notified, and
 * takes the lock back at the same depth. 0, or EPERM (nothing done) if the
 * lock is not held. */
CT_API int ct_cond_wait(ct_cond_t *c);
/* As wait, for at most timeout: 0 if notified (even if the time ran out
 * as well), ETIMEDOUT if not (the lock is taken back either way); EPERM or
 * EINVAL for a bad timeout, both with nothing done. */
CT_API int ct_cond_wait_timeout(ct_cond_t *c, double timeout);

/* Python's wait_for: until pred(arg) holds, waits, all within one timeout
 * counted from the call; returns pred's last value. pred is called with
 * the lock held, first before any wait. On false, errno says why:
 * ETIMEDOUT (pred was still false at the end), or EPERM (the lock is not
 * held) or EINVAL (a bad timeout), both before pred is called. */
CT_API bool ct_cond_wait_for(ct_cond_t *c, bool (*pred)(void *arg), void *arg,
                             double timeout);

/* ct_cond_wait_for with the predicate written as an expression (a GNU
 * statement expression): evaluates to the last value of expr as a bool,
 * and sets errno on false as ct_cond_wait_for does. c and timeout are
 * evaluated once, before expr. */
#define CT_COND_WAIT_FOR(c, expr, timeout)                                \
    __extension__({                                                       \
        struct ct__cond_wait_for ct__wait_for_;                           \
        bool ct__wait_for_value_ = false;                                 \
        if (ct__cond_wait_for_start(&ct__wait_for_, (c), (timeout)))      \
            while (!(ct__wait_for_value_ = (expr)) &&                     \
                   ct__cond_wait_for_next(&ct__wait_for_))                \
                ;                                                         \
        ct__wait_for_value_;                                              \
    })

/* Wakes the n threads that have waited longest (fewer if fewer wait), in
 * that order. 0, or EPERM if the lock is not held. */
CT_API int ct_cond_notify(ct_cond_t *c, size_t n);
/* Wakes every waiting thread. 0, or EPERM if the lock is not held. */
CT_API int ct_cond_notify_all(ct_cond_t *c);

/* The state of one CT_COND_WAIT_FOR, and the two steps of its loop: start
 * validates the call; next waits once, or sets errno and returns false
 * when the loop must end. Not for direct use. */
struct ct__cond_wait_for {
    ct_cond_t *cond;
    int64_t deadline;
    bool expired;
};
CT_API bool ct__cond_wait_for_start(struct ct__cond_wait_for *w, ct_cond_t *c,
                                    double timeout);
CT_API bool ct__cond_wait_for_next(struct ct__cond_wait_for *w);

#ifdef __cplusplus
}
#endif

#endif
