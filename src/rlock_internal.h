/* What the condition variable needs of an RLock: who the caller is, and
 * how to release an RLock at any depth and own it again at that depth
 * once its lock is taken back. */
#ifndef CT_RLOCK_INTERNAL_H
#define CT_RLOCK_INTERNAL_H

#include <cthreading.h>

#include "lock_internal.h"

/* A number that identifies the calling thread among the live ones. */
uintptr_t ct__thread_id(void);

/* Releases an RLock that the caller owns, whatever its depth; returns
 * the depth. */
uint32_t ct__rlock_release_save(ct_rlock_t *r);

/* The caller has just taken r->lock: makes it the owner, at that depth. */
void ct__rlock_own(ct_rlock_t *r, uint32_t depth);

#endif
