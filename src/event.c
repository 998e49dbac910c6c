/*
 * ct_event_t: one 32-bit word.
 *
 *   bit 0      SET         the flag
 *   bit 1      WAITERS     a thread may sleep on the word: set must wake
 *   bits 2-31  generation  advanced by every set that finds the flag clear
 *
 * is_set is one load. set replaces a clear word with SET, the next
 * generation and no WAITERS, and makes a system call only if WAITERS was
 * there; clear drops SET and keeps the generation. A waiter remembers the
 * generation it saw with the flag clear and returns 0 once it sees the
 * flag set or the generation moved on. So a waiter asleep when set ran
 * returns 0 even if clear ran before it woke, as Python's wait returns
 * True then (it would miss that set only if exactly 2^30 sets came and
 * went while it was not looking).
 *
 * No lost wake-up: a waiter sleeps only while the word still holds the
 * WAITERS bit it saw or added (the wait compares atomically); a set
 * replaces the word, and wakes every sleeper if WAITERS was in what it
 * replaced. WAITERS can outlive its waiters (one that times out leaves it):
 * that costs the next set one needless wake, never a missed one.
 *
 * Fairness has no meaning here: set wakes everyone.
 */
#include <cthreading.h>

#include <assert.h>
#include <limits.h>

#include "deadline.h"

#define SET 1u
#define WAITERS 2u
#define GENERATION (~(SET | WAITERS))
#define ONE_GENERATION 4u

void ct_event_init(ct_event_t *e)
{
    assert(e);
    __atomic_store_n(&e->word, 0, __ATOMIC_RELAXED);
}

bool ct_event_is_set(const ct_event_t *e)
{
    assert(e);
    return __atomic_load_n(&e->word, __ATOMIC_ACQUIRE) & SET;
}

/* A set that finds the flag set already still writes the word (the same
 * value), so that a waiter who reads it is ordered after this call too. */
void ct_event_set(ct_event_t *e)
{
    assert(e);
    uint32_t w = __atomic_load_n(&e->word, __ATOMIC_RELAXED), next;
    do
        next = (w & SET) ? w : (w & GENERATION) + ONE_GENERATION + SET;
    while (!__atomic_compare_exchange_n(&e->word, &w, next, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
    if (w & WAITERS)
        ct__wake(&e->word, INT_MAX);
}

void ct_event_clear(ct_event_t *e)
{
    assert(e);
    __atomic_fetch_and(&e->word, ~SET, __ATOMIC_RELEASE);
}

/* 0 once the flag is seen set or a set is seen to have come since the
 * call began; ETIMEDOUT at the deadline. */
static int wait_until(ct_event_t *e, int64_t deadline)
{
    uint32_t w = __atomic_load_n(&e->word, __ATOMIC_ACQUIRE);
    uint32_t generation = w & GENERATION;
    bool timed_out = false;
    for (;;) {
        if ((w & SET) || (w & GENERATION) != generation)
            return 0;
        if (timed_out)
            return ETIMEDOUT;
        if (!(w & WAITERS) &&
            !__atomic_compare_exchange_n(&e->word, &w, w | WAITERS, true, __ATOMIC_ACQUIRE,
                                         __ATOMIC_ACQUIRE))
            continue;
        timed_out = ct__wait(&e->word, w | WAITERS, deadline) == ETIMEDOUT;
        w = __atomic_load_n(&e->word, __ATOMIC_ACQUIRE);
    }
}

int ct_event_wait(ct_event_t *e)
{
    assert(e);
    return wait_until(e, CT__NO_DEADLINE);
}

int ct_event_wait_timeout(ct_event_t *e, double timeout)
{
    assert(e);
    int64_t deadline;
    if (ct__deadline(timeout, &deadline))
        return EINVAL;
    if (timeout == 0)
        return ct_event_is_set(e) ? 0 : ETIMEDOUT;
    return wait_until(e, deadline);
}
