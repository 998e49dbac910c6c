/*
 * ct_lock_t: one 32-bit word.
 *
 *   bit 0     LOCKED    someone holds the lock (or it is being handed over)
 *   bit 1     HANDOFF   released straight to a waiter: it stays LOCKED, and
 *                       the first counted waiter to see this bit owns it
 *   bit 2     STARVING  a waiter has waited over a millisecond: releases
 *                       hand off instead of unlocking
 *   bit 3     WOKEN     a counted waiter is awake and will look at the word
 *                       again, so a release need not wake another
 *   bits 4-31 waiters   threads in the slow path (asleep or about to be)
 *
 * Uncontended, acquire is one compare-and-swap 0 -> LOCKED and release one
 * LOCKED -> 0. Contended, a thread waits about two microseconds without
 * touching the word, looks once, yields a few times with a look after each
 * (the holder is probably about to release, or would if it ran), then
 * counts itself in and sleeps on the word.
 *
 * No lost wake-up: a counted waiter sleeps only on a value with LOCKED set
 * and WOKEN clear (it clears WOKEN itself first, being awake). The release
 * from that value sees waiters and no WOKEN, so it sets WOKEN and wakes
 * one; if that wake finds nobody in the kernel, every counted waiter is
 * awake and will see the new word before it sleeps (the wait compares the
 * word atomically). A HANDOFF is always followed by a wake, and a counted
 * waiter leaving on a timeout takes a pending HANDOFF rather than drop it.
 * Nobody sleeps on a word with HANDOFF: a counted waiter that sees it
 * takes the lock, and an arrival waits (yielding) for the hand-off to
 * land before it counts itself in. Otherwise the word could come back to
 * the very value a waiter counted in with and is about to sleep on (a new
 * HANDOFF, after other hand-offs and arrivals), after that hand-off's one
 * wake found nobody asleep: every counted waiter would sleep, and the lock
 * stay handed to nobody (a model checker finds this with three threads).
 * The condition variable counts in a waiter for a thread it moves onto
 * the word (ct__requeue) while it holds the lock: that thread is then
 * asleep on the word or awake and about to look at it, as any counted
 * waiter.
 *
 * Fairness: barging gives throughput, but once a waiter has waited about a
 * millisecond it sets STARVING and releases hand the lock to the sleeper
 * the kernel wakes first (futex queues are FIFO); new arrivals cannot barge
 * in then, since the lock never becomes free. The mode ends when a waiter
 * that has not waited that long, or the last waiter, receives the lock.
 */
#include <cthreading.h>

#include <assert.h>
#include <sched.h>

#include "deadline.h"
#include "lock_internal.h"
#include "spin.h"
#include "tsan.h"

enum {
    LOCKED = 1u << 0,
    HANDOFF = 1u << 1,
    STARVING = 1u << 2,
    WOKEN = 1u << 3,
    ONE_WAITER = 1u << 4,
};

/* spin_acquire: a wait of SPIN_WAIT_NS and a look, or EAGER_LOOKS looks
 * with back-off (127 pauses in all), then YIELDS yields. */
#define SPIN_WAIT_NS 2000
#define EAGER_LOOKS 7
#define YIELDS 4
#define STARVATION_NS 1000000

static inline bool cas(uint32_t *word, uint32_t *seen, uint32_t desired)
{
    return __atomic_compare_exchange_n(word, seen, desired, true,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void ct_lock_init(ct_lock_t *l)
{
    assert(l);
    ct__tsan_unlock(l);
    __atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
}

static int try_take(ct_lock_t *l)
{
    uint32_t v = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
    while (!(v & LOCKED)) {
        if (cas(&l->word, &v, v | LOCKED))
            return 0;
    }
    return EBUSY;
}

int ct_lock_try_acquire(ct_lock_t *l)
{
    ct__tsan_pre_lock(l, false);
    int rc = try_take(l);
    ct__tsan_post_lock(l, false, rc);
    return rc;
}

/* Leaves the lock's word alone for SPIN_WAIT_NS. */
static void keep_off(void)
{
    struct ct__spin wait = { 0 };
    while (ct__spin(&wait, SPIN_WAIT_NS))
        ;
}

/* Waits SPIN_WAIT_NS and looks at the word, or, eager, looks EAGER_LOOKS
 * times pausing twice as long each time; then yields up to YIELDS times
 * with a look after each: 0 once taken. The patient wait does not read the
 * word: every look pulls the lock's cache line away from the holder's
 * core, and with short critical sections a spinner that looks often takes
 * the lock the moment it is free, so that the lock moves between the cores
 * on every acquisition; left alone for the wait, the holder's core runs
 * many sections at its uncontended speed. Eager suits a caller whose
 * holder will release soon and not take the lock again at once (a
 * notifier; a thread passing through a short section of the library),
 * where a patient wait would only delay the hand-over. A waiter already
 * asleep does not stop the spin, since sleeping costs two system calls and
 * the holder, if it runs, releases within a microsecond; the yields let a
 * holder that does not run (more threads than cores) finish. A lock being
 * handed to a waiter ends it: it will not be free. */
static int spin_acquire(ct_lock_t *l, bool eager)
{
    int looks = eager ? EAGER_LOOKS : 1;
    for (int round = 0; round < looks + YIELDS; round++) {
        if (round >= looks)
            sched_yield();
        else if (eager)
            for (int i = 0; i < 1 << round; i++)
                ct__cpu_relax();
        else
            keep_off();
        uint32_t v = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
        if (!(v & LOCKED)) {
            if (cas(&l->word, &v, v | LOCKED))
                return 0;
            continue;
        }
        if (v & (STARVING | HANDOFF))
            break;
    }
    return EBUSY;
}

/* The slow path; 0 once the caller owns the lock, ETIMEDOUT once it has
 * left the count at its deadline. A waiter back from a sleep that finds the
 * lock held leaves the word alone for SPIN_WAIT_NS and looks again before
 * it sleeps once more: the kernel wakes the oldest sleeper, and sleeping
 * again at once would send it to the back of the kernel's queue just as
 * its turn came; meanwhile the WOKEN that its wake set stays, so releases
 * wake nobody else. A counted waiter clears WOKEN in every update it
 * makes: it is awake, and it looks at the word again before it sleeps.
 * The last waiter to leave ends the STARVING mode. counted: the caller was
 * counted in already (ct__lock_count_waiter). */
static int wait_acquire(ct_lock_t *l, int64_t deadline, bool counted)
{
    int64_t since = ct__now();
    bool timed_out = false;
    uint32_t v = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
    for (;;) {
        uint32_t awake = counted ? WOKEN : 0, leave = counted ? ONE_WAITER : 0;
        bool starving = ct__now() - since > STARVATION_NS;
        if (!(v & LOCKED) || (counted && (v & HANDOFF))) {
            uint32_t next = ((v | LOCKED) & ~(HANDOFF | awake)) - leave;
            if (next < ONE_WAITER || ((v & HANDOFF) && !starving))
                next &= ~STARVING;
            if (cas(&l->word, &v, next))
                return 0;
            continue;
        }
        if (timed_out) {
            uint32_t next = (v & ~WOKEN) - ONE_WAITER;
            if (next < ONE_WAITER)
                next &= ~STARVING;
            if (cas(&l->word, &v, next))
                return ETIMEDOUT;
            continue;
        }
        if (!counted && (v & HANDOFF)) {
            if (deadline != CT__NO_DEADLINE && ct__now() >= deadline)
                return ETIMEDOUT;
            sched_yield();
            v = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
            continue;
        }
        uint32_t next = (v & ~WOKEN) + (counted ? 0 : ONE_WAITER);
        if (starving)
            next |= STARVING;
        if (next != v && !cas(&l->word, &v, next))
            continue;
        counted = true;
        timed_out = ct__wait(&l->word, next, deadline) == ETIMEDOUT;
        v = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
        if (!timed_out && (v & LOCKED) && !(v & HANDOFF)) {
            keep_off();
            v = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
        }
    }
}

static void acquire(ct_lock_t *l, bool eager)
{
    ct__tsan_pre_lock(l, true);
    uint32_t v = 0;
    if (!__builtin_expect(cas(&l->word, &v, LOCKED), 1) && spin_acquire(l, eager) != 0)
        wait_acquire(l, CT__NO_DEADLINE, false);
    ct__tsan_post_lock(l, true, 0);
}

int ct_lock_acquire(ct_lock_t *l)
{
    acquire(l, false);
    return 0;
}

void ct__lock_acquire_eager(ct_lock_t *l)
{
    acquire(l, true);
}

int ct__lock_acquire_until(ct_lock_t *l, int64_t deadline)
{
    bool blocking = deadline == CT__NO_DEADLINE;
    ct__tsan_pre_lock(l, blocking);
    int rc = try_take(l);
    if (rc)
        rc = !blocking && ct__now() >= deadline ? ETIMEDOUT
             : spin_acquire(l, false) == 0      ? 0
                                                : wait_acquire(l, deadline, false);
    ct__tsan_post_lock(l, blocking, rc);
    return rc;
}

void ct__lock_count_waiter(ct_lock_t *l)
{
    __atomic_fetch_add(&l->word, ONE_WAITER, __ATOMIC_RELAXED);
}

void ct__lock_acquire_counted(ct_lock_t *l)
{
    ct__tsan_pre_lock(l, true);
    wait_acquire(l, CT__NO_DEADLINE, true);
    ct__tsan_post_lock(l, true, 0);
}

int ct_lock_acquire_timeout(ct_lock_t *l, double timeout)
{
    int64_t deadline;
    if (ct__deadline(timeout, &deadline))
        return EINVAL;
    return ct__lock_acquire_until(l, deadline);
}

int ct_lock_release(ct_lock_t *l)
{
    ct__tsan_unlock(l);
    uint32_t v = LOCKED;
    if (__builtin_expect(__atomic_compare_exchange_n(&l->word, &v, 0, false, __ATOMIC_RELEASE,
                                                     __ATOMIC_RELAXED), 1))
        return 0;
    for (;;) {
        if (!(v & LOCKED))
            return EPERM;
        uint32_t next;
        bool wake = false;
        if (v >= ONE_WAITER && (v & (STARVING | HANDOFF)) == STARVING) {
            next = v | HANDOFF;
            wake = true;
        } else {
            next = v & ~(LOCKED | HANDOFF);
            if (v >= ONE_WAITER && !(v & WOKEN)) {
                next |= WOKEN;
                wake = true;
            }
        }
        if (__atomic_compare_exchange_n(&l->word, &v, next, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED)) {
            if (wake)
                ct__wake(&l->word, 1);
            return 0;
        }
    }
}

bool ct_lock_locked(const ct_lock_t *l)
{
    return __atomic_load_n(&l->word, __ATOMIC_RELAXED) & LOCKED;
}
