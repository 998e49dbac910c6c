/*
 * ct_lock_t — Python's Lock: not reentrant, not owned (any thread may
 * release it). One 32-bit word; needs no destroy call.
 *
 *     static ct_lock_t lock = CT_LOCK_INIT;
 *     ct_lock_acquire(&lock);
 *     counter += 1;
 *     ct_lock_release(&lock);
 *
 * Fast when uncontended (one compare-and-swap each way), fair under load:
 * a waiter that has waited about a millisecond gets the lock handed to it.
 */
#ifndef CTHREADING_LOCK_H
#define CTHREADING_LOCK_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_lock {
    uint32_t word;
} ct_lock_t;

#define CT_LOCK_INIT { 0 }

/* Makes *l an unlocked lock. */
CT_API void ct_lock_init(ct_lock_t *l);
/* Waits until the lock is free and takes it. Returns 0. */
CT_API int ct_lock_acquire(ct_lock_t *l);
/* Takes the lock if it is free: 0, or EBUSY. */
CT_API int ct_lock_try_acquire(ct_lock_t *l);
/* 0, ETIMEDOUT if the lock stayed taken for the whole timeout (also for
 * timeout 0), EINVAL for a bad timeout. */
CT_API int ct_lock_acquire_timeout(ct_lock_t *l, double timeout);
/* 0, or EPERM if the lock was not locked. */
CT_API int ct_lock_release(ct_lock_t *l);
/* Whether some thread holds the lock (a snapshot). */
CT_API bool ct_lock_locked(const ct_lock_t *l);

#ifdef __cplusplus
}
#endif

#endif
