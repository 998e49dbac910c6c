/*
 * ct_sem_t — Python's Semaphore and BoundedSemaphore: a count of permits.
 * acquire takes one, waiting while there is none; release gives n back and
 * wakes at most n waiters. A bounded semaphore refuses a release that would
 * lift the count above its initial value (Python's ValueError is EOVERFLOW
 * here, and nothing changes).
 *
 *     static ct_sem_t slots = CT_BOUNDED_SEM_INIT(4);   // four at a time
 *
 *     ct_sem_acquire(&slots);
 *     fetch(url);
 *     ct_sem_release(&slots, 1);
 *
 * or CT_WITH(&slots) { fetch(url); }. Needs no destroy call and owns no
 * memory. Acquire and release are one compare-and-swap each when nobody
 * waits. Free permits go to whoever asks first, but a waiter that has
 * waited over a millisecond is handed the next permit released, so no
 * waiter starves.
 */
#ifndef CTHREADING_SEM_H
#define CTHREADING_SEM_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest count a semaphore holds (2^30 - 1). */
#define CT_SEM_VALUE_MAX 0x3fffffffu

typedef struct ct_sem {
    uint32_t word;  /* the count, and who waits for it (see sem.c) */
    uint32_t bound; /* the bound, or CT_SEM_VALUE_MAX when unbounded */
} ct_sem_t;

/* Static initialisers; v is at most CT_SEM_VALUE_MAX (ct_sem_init checks
 * that, these cannot). */
#define CT_SEM_INIT(v) { (v), CT_SEM_VALUE_MAX }
#define CT_BOUNDED_SEM_INIT(v) { (v), (v) }

/* Makes *s a semaphore holding value permits: 0, or EINVAL if value is
 * above CT_SEM_VALUE_MAX (and *s is left alone). */
CT_API int ct_sem_init(ct_sem_t *s, unsigned value);
/* The same, bounded: releases may never lift the count above value. */
CT_API int ct_sem_init_bounded(ct_sem_t *s, unsigned value);
/* Waits until a permit is free and takes it. Returns 0. */
CT_API int ct_sem_acquire(ct_sem_t *s);
/* Takes a permit if one is free: 0, or EBUSY. */
CT_API int ct_sem_try_acquire(ct_sem_t *s);
/* 0, ETIMEDOUT if no permit came free within timeout (also for timeout
 * 0), EINVAL for a bad timeout. */
CT_API int ct_sem_acquire_timeout(ct_sem_t *s, double timeout);
/* Gives back n permits and wakes up to n waiters: 0; EINVAL if n is 0;
 * EOVERFLOW, changing nothing, if the count would pass the bound (or
 * CT_SEM_VALUE_MAX). */
CT_API int ct_sem_release(ct_sem_t *s, unsigned n);
/* The number of free permits (a snapshot). */
CT_API unsigned ct_sem_value(const ct_sem_t *s);

#ifdef __cplusplus
}
#endif

#endif
