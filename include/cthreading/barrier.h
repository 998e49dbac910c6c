/*
 * ct_barrier_t — Python's Barrier: a fixed number of threads (the parties)
 * wait for each other; when the last one arrives, all are released at
 * once, and the barrier is ready for the next round (a generation).
 *
 *     static ct_barrier_t b = CT_BARRIER_INIT(4);
 *
 *     void *worker(void *arg) {
 *         for (;;) {
 *             compute_my_part(arg);
 *             unsigned i;
 *             if (ct_barrier_wait(&b, &i) != 0)
 *                 break;                  // broken: give up, like the others
 *             if (i == 0)
 *                 merge_results();        // exactly one thread of each round
 *         }
 *         return NULL;
 *     }
 *
 * Each waiter gets an index in [0, parties), its place in the order of
 * arrival. An action, if given, runs once per generation, in the last
 * thread to arrive, before any thread is released.
 *
 * A barrier breaks when a wait times out, when the action returns
 * non-zero, or on ct_barrier_abort. Every thread then waiting, and every
 * later one, gets CT_EBROKEN until ct_barrier_reset; the waiter whose
 * timeout broke it gets ETIMEDOUT, the thread whose action failed the
 * action's value. A timeout counts from the call: one that expires while
 * the previous generation's action still runs, or while a reset waits for
 * the threads it broke to leave, also breaks the barrier.
 *
 * A generation that has been released is not affected by what happens to
 * the barrier afterwards. No destroy call: once no thread uses the barrier,
 * it may be freed.
 */
#ifndef CTHREADING_BARRIER_H
#define CTHREADING_BARRIER_H

#include "common.h"
#include "lock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_barrier {
    uint32_t word;   /* generation and phase: waiters sleep on it */
    uint32_t count;  /* parties arrived in this generation (under lock) */
    ct_lock_t lock;
    unsigned parties;
    int (*action)(void *arg);
    void *arg;
    double timeout;  /* the default for ct_barrier_wait */
} ct_barrier_t;

/* A barrier for parties threads (at least 1), with no action and no
 * default timeout. */
#define CT_BARRIER_INIT(parties) { 0, 0, CT_LOCK_INIT, (parties), NULL, NULL, CT_FOREVER }

/* Makes *b a barrier for parties threads. action (may be NULL) runs with
 * arg once per generation; timeout is the default of ct_barrier_wait
 * (CT_FOREVER: none). 0, or EINVAL if parties is 0 or timeout is bad. */
CT_API int ct_barrier_init(ct_barrier_t *b, unsigned parties,
                           int (*action)(void *arg), void *arg, double timeout);
/* Waits, for at most the default timeout, until parties threads wait. 0 and
 * the arrival index in *index (if index is not NULL); ETIMEDOUT if this
 * wait timed out, which breaks the barrier; CT_EBROKEN if the barrier is or
 * becomes broken or is reset; the action's value if it failed here. */
CT_API int ct_barrier_wait(ct_barrier_t *b, unsigned *index);
/* As ct_barrier_wait, waiting at most timeout; EINVAL for a bad timeout.
 * Timeout 0 breaks the barrier unless the caller is the last to arrive. */
CT_API int ct_barrier_wait_timeout(ct_barrier_t *b, double timeout, unsigned *index);
/* Makes the barrier usable again: threads waiting now get CT_EBROKEN, and
 * threads arriving before those have left wait for them to leave. */
CT_API void ct_barrier_reset(ct_barrier_t *b);
/* Breaks the barrier: every current and later wait gets CT_EBROKEN, until
 * ct_barrier_reset. */
CT_API void ct_barrier_abort(ct_barrier_t *b);
/* The number of threads needed to pass the barrier. */
CT_API unsigned ct_barrier_parties(const ct_barrier_t *b);
/* The number of threads waiting in the current generation (a snapshot). */
CT_API unsigned ct_barrier_n_waiting(const ct_barrier_t *b);
/* Whether the barrier is broken (a snapshot). */
CT_API bool ct_barrier_broken(const ct_barrier_t *b);

#ifdef __cplusplus
}
#endif

#endif
