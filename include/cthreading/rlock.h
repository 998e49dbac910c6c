/*
 * ct_rlock_t — Python's RLock: a lock its owner may take again; released
 * when the owner has released it as many times as it acquired it.
 *
 *     static ct_rlock_t r = CT_RLOCK_INIT;
 *     ct_rlock_acquire(&r);
 *     ct_rlock_acquire(&r);      // same thread: depth 2
 *     ct_rlock_release(&r);
 *     ct_rlock_release(&r);      // free again
 */
#ifndef CTHREADING_RLOCK_H
#define CTHREADING_RLOCK_H

#include "lock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_rlock {
    ct_lock_t lock;
    uint32_t depth;   /* written by the owner only */
    uintptr_t owner;  /* an id of the owning thread, 0 when free */
} ct_rlock_t;

#define CT_RLOCK_INIT { CT_LOCK_INIT, 0, 0 }

/* Makes *r a free RLock. */
CT_API void ct_rlock_init(ct_rlock_t *r);
/* Takes the RLock, or goes one level deeper if the caller owns it. 0, or
 * EOVERFLOW if the depth would pass UINT32_MAX. */
CT_API int ct_rlock_acquire(ct_rlock_t *r);
/* As acquire, without waiting: 0, EBUSY or EOVERFLOW. */
CT_API int ct_rlock_try_acquire(ct_rlock_t *r);
/* As acquire, waiting at most timeout: 0, ETIMEDOUT, EINVAL, EOVERFLOW. */
CT_API int ct_rlock_acquire_timeout(ct_rlock_t *r, double timeout);
/* One level less; frees it at depth 0. 0, or EPERM unless the caller owns it. */
CT_API int ct_rlock_release(ct_rlock_t *r);
/* Whether any thread owns it (a snapshot). */
CT_API bool ct_rlock_locked(const ct_rlock_t *r);
/* Whether the calling thread owns it. */
CT_API bool ct_rlock_is_owned(const ct_rlock_t *r);

#ifdef __cplusplus
}
#endif

#endif
