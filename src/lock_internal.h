/* The lock's acquire against an absolute deadline, for the primitives
 * built on it. */
#ifndef CT_LOCK_INTERNAL_H
#define CT_LOCK_INTERNAL_H

#include <cthreading.h>

/* 0 once taken, ETIMEDOUT at the deadline (CLOCK_MONOTONIC ns, or
 * CT__NO_DEADLINE); a deadline already past makes one attempt. */
int ct__lock_acquire_until(ct_lock_t *l, int64_t deadline);

#endif
