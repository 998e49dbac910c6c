/*
 * ct_rlock_t: a ct_lock_t, the owner's id and the depth.
 *
 * Only the owner writes depth, and owner changes only while the lock is
 * held, so a thread comparing owner with its own id gets a true answer
 * about itself however stale the field is for others: no other thread can
 * set it to the caller's id. The id is the address of a thread-local
 * variable, unique among live threads and free to compute.
 */
#include <cthreading.h>

#include <assert.h>

#include "deadline.h"
#include "rlock_internal.h"

static __thread char thread_anchor;

uintptr_t ct__thread_id(void)
{
    return (uintptr_t)&thread_anchor;
}

static uintptr_t owner_of(const ct_rlock_t *r)
{
    return __atomic_load_n(&r->owner, __ATOMIC_RELAXED);
}

void ct_rlock_init(ct_rlock_t *r)
{
    assert(r);
    *r = (ct_rlock_t)CT_RLOCK_INIT;
}

/* The caller owns r: one level deeper. */
static int deepen(ct_rlock_t *r)
{
    if (r->depth == UINT32_MAX)
        return EOVERFLOW;
    r->depth++;
    return 0;
}

static void take(ct_rlock_t *r, uintptr_t me, uint32_t depth)
{
    __atomic_store_n(&r->owner, me, __ATOMIC_RELAXED);
    r->depth = depth;
}

int ct_rlock_acquire(ct_rlock_t *r)
{
    uintptr_t me = ct__thread_id();
    if (owner_of(r) == me)
        return deepen(r);
    ct_lock_acquire(&r->lock);
    take(r, me, 1);
    return 0;
}

int ct_rlock_try_acquire(ct_rlock_t *r)
{
    uintptr_t me = ct__thread_id();
    if (owner_of(r) == me)
        return deepen(r);
    if (ct_lock_try_acquire(&r->lock))
        return EBUSY;
    take(r, me, 1);
    return 0;
}

int ct_rlock_acquire_timeout(ct_rlock_t *r, double timeout)
{
    uintptr_t me = ct__thread_id();
    int64_t deadline;
    if (ct__deadline(timeout, &deadline))
        return EINVAL;
    if (owner_of(r) == me)
        return deepen(r);
    int rc = ct__lock_acquire_until(&r->lock, deadline);
    if (rc == 0)
        take(r, me, 1);
    return rc;
}

int ct_rlock_release(ct_rlock_t *r)
{
    if (owner_of(r) != ct__thread_id())
        return EPERM;
    if (--r->depth == 0) {
        __atomic_store_n(&r->owner, 0, __ATOMIC_RELAXED);
        ct_lock_release(&r->lock);
    }
    return 0;
}

bool ct_rlock_locked(const ct_rlock_t *r)
{
    return ct_lock_locked(&r->lock);
}

bool ct_rlock_is_owned(const ct_rlock_t *r)
{
    return owner_of(r) == ct__thread_id();
}

uint32_t ct__rlock_release_save(ct_rlock_t *r)
{
    uint32_t depth = r->depth;
    r->depth = 0;
    __atomic_store_n(&r->owner, 0, __ATOMIC_RELAXED);
    ct_lock_release(&r->lock);
    return depth;
}

void ct__rlock_own(ct_rlock_t *r, uint32_t depth)
{
    take(r, ct__thread_id(), depth);
}
