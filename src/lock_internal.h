/* What the primitives built on the lock need of it: an acquire against an
 * absolute deadline, and a way to queue a thread on it. */
#ifndef CT_LOCK_INTERNAL_H
#define CT_LOCK_INTERNAL_H

#include <cthreading.h>

/* 0 once taken, ETIMEDOUT at the deadline (CLOCK_MONOTONIC ns, or
 * CT__NO_DEADLINE); a deadline already past makes one attempt. */
int ct__lock_acquire_until(ct_lock_t *l, int64_t deadline);

/* Takes l, waiting as long as it takes, for a caller whose holder will
 * release it soon and not take it again at once: a thread its holder has
 * just notified, or one passing through a short section of the library.
 * It follows the release closely instead of first leaving the holder
 * alone for a while, as ct_lock_acquire does. */
void ct__lock_acquire_eager(ct_lock_t *l);

/* For a condition variable moving a waiter onto the lock: the caller
 * holds l, and counts in a waiter for a thread that it has moved to sleep
 * on l's word, or that is awake and will call ct__lock_acquire_counted. */
void ct__lock_count_waiter(ct_lock_t *l);

/* Takes l, waiting as long as it takes, for a thread counted in by
 * ct__lock_count_waiter. */
void ct__lock_acquire_counted(ct_lock_t *l);

#endif
