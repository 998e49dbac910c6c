/*
 * with blocks — Python's `with lock:` for C.
 *
 *     CT_WITH(&lock) {                 // acquired here
 *         if (!item) return -1;        // released
 *         counter += 1;
 *     }                                // released
 *
 *     void f(void) {
 *         CT_GUARD(&lock);             // held to the end of this scope
 *         ...
 *     }
 *
 * Both take a ct_lock_t *, ct_rlock_t *, ct_cond_t * or ct_sem_t *,
 * evaluate it once, and release on every way out: the end of the block,
 * break, continue, return or goto (the compiler's cleanup attribute runs
 * the release). break and continue inside CT_WITH leave the CT_WITH block,
 * not an enclosing loop.
 */
#ifndef CTHREADING_WITH_H
#define CTHREADING_WITH_H

#include "cond.h"
#include "lock.h"
#include "rlock.h"
#include "sem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a with block holds: the object and how to release it. */
struct ct__guard {
    void *object;
    int (*release)(void *object);
    int once;
};

CT_API struct ct__guard ct__guard_lock(ct_lock_t *l);
CT_API struct ct__guard ct__guard_rlock(ct_rlock_t *r);
CT_API struct ct__guard ct__guard_cond(ct_cond_t *c);
CT_API struct ct__guard ct__guard_sem(ct_sem_t *s);
CT_API void ct__guard_exit(struct ct__guard *g);

#define ct__guard_enter(x)                                                \
    _Generic((x), ct_lock_t *: ct__guard_lock, ct_rlock_t *: ct__guard_rlock, \
             ct_cond_t *: ct__guard_cond, ct_sem_t *: ct__guard_sem)(x)

#define CT__CAT2(a, b) a##b
#define CT__CAT(a, b) CT__CAT2(a, b)

#define CT__WITH(x, g)                                                    \
    for (struct ct__guard g __attribute__((cleanup(ct__guard_exit))) =    \
             ct__guard_enter(x);                                          \
         g.once; g.once = 0)
#define CT_WITH(x) CT__WITH(x, CT__CAT(ct__with_, __COUNTER__))

#define CT_GUARD(x)                                                       \
    struct ct__guard CT__CAT(ct__guard_, __COUNTER__)                     \
        __attribute__((cleanup(ct__guard_exit), unused)) = ct__guard_enter(x)

#ifdef __cplusplus
}
#endif

#endif
