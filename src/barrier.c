/*
 * ct_barrier_t: Python's Barrier, on one word that every waiter sleeps on.
 *
 *   bits 0-1   phase       FILLING    threads arrive and wait
 *                          RELEASING  all have arrived; the last runs the action
 *                          BROKEN     aborted, timed out, or the action failed
 *                          RESETTING  reset: the broken waiters are leaving
 *   bits 2-31  generation  +1 when a generation passes or the barrier reopens
 *
 * count, under the lock: the arrivals of a FILLING generation (each waiter's
 * index is the count it found), and in BROKEN and RESETTING the waiters of
 * the broken generation that have not left yet. In RELEASING every party is
 * known to be inside, and count already belongs to the next generation.
 *
 * The word changes under the lock, but for one change: the last arrival
 * drops the lock to run the action, and then passes its generation
 * (RELEASING -> next generation) with a compare-and-swap. Lock holders
 * change a RELEASING word with a compare-and-swap too, and look again if
 * the pass came first. Released threads take no lock: a release costs one
 * wake, not a herd through the lock.
 *
 * No draining: a waiter of generation g needs only the word to learn how g
 * ended. The generation moves when g passes, or when the barrier reopens,
 * which waits until the last waiter of the broken generation has left; so
 * while a waiter of g is inside, a new generation means that g passed, and
 * g with BROKEN or RESETTING that it broke. The released threads need not
 * come back before new ones enter (Python's "draining" state); arrivals
 * wait only while an action runs or a reset lets the broken waiters out.
 *
 * No lost wake-up: every thread sleeps on the exact word it last saw, and
 * every change that ends a wait is followed by a wake of all. The one
 * change without a wake, FILLING -> RELEASING, ends no wait: the waiters of
 * the generation sleep on until it has passed or broken.
 *
 * Fairness: a generation is released as a whole, by one wake. Arrivals
 * beyond a generation's parties wait for the next one and join it in the
 * order they get the lock, with no further promise (as in Python). The
 * generation wraps after 2^30; only a waiter asleep through all of them
 * could mistake the outcome of its own.
 */
#include <cthreading.h>

#include <assert.h>

#include "deadline.h"
#include "lock_internal.h"

enum { FILLING, RELEASING, BROKEN, RESETTING };
#define PHASE 3u
#define ONE_GENERATION 4u

static uint32_t phase(uint32_t w) { return w & PHASE; }
static uint32_t with_phase(uint32_t w, uint32_t p) { return (w & ~PHASE) | p; }
static uint32_t next_generation(uint32_t w) { return (w & ~PHASE) + ONE_GENERATION; }

static uint32_t load(const ct_barrier_t *b)
{
    return __atomic_load_n(&b->word, __ATOMIC_ACQUIRE);
}

/* count is read without the lock by ct_barrier_n_waiting. */
static void set_count(ct_barrier_t *b, uint32_t n)
{
    __atomic_store_n(&b->count, n, __ATOMIC_RELAXED);
}

/* w -> next, waking every thread asleep on the word; false if the word
 * was no longer w (only the pass of a RELEASING word can come first). */
static bool move(ct_barrier_t *b, uint32_t w, uint32_t next)
{
    if (!__atomic_compare_exchange_n(&b->word, &w, next, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return false;
    ct__wake(&b->word, INT_MAX);
    return true;
}

/* Under the lock: ends generation w, broken, in phase to (BROKEN or
 * RESETTING); its waiters will leave one by one. False if the releaser
 * passed it first. */
static bool end(ct_barrier_t *b, uint32_t w, uint32_t to)
{
    if (!move(b, w, with_phase(w, to)))
        return false;
    if (phase(w) == RELEASING)
        set_count(b, b->parties);
    return true;
}

/* Under the lock: a waiter of a broken generation leaves; the last one out
 * of a reset reopens the barrier. */
static void leave(ct_barrier_t *b)
{
    uint32_t n = b->count - 1;
    set_count(b, n);
    uint32_t w = load(b);
    if (n == 0 && phase(w) == RESETTING)
        move(b, w, next_generation(w));
}

/* Under the lock: what ct_barrier_abort does, in any phase. */
static void break_locked(ct_barrier_t *b)
{
    for (;;) {
        uint32_t w = load(b);
        if (phase(w) == BROKEN || end(b, w, BROKEN))
            return;
    }
}

int ct_barrier_init(ct_barrier_t *b, unsigned parties, int (*action)(void *arg),
                    void *arg, double timeout)
{
    assert(b);
    int64_t unused;
    if (parties == 0 || ct__deadline(timeout, &unused))
        return EINVAL;
    *b = (ct_barrier_t)CT_BARRIER_INIT(parties);
    b->action = action;
    b->arg = arg;
    b->timeout = timeout;
    return 0;
}

/* The last arrival of generation w, holding the lock: runs the action with
 * the generation RELEASING and the lock free (so the action may use the
 * barrier), then passes the generation, or breaks it if the action failed. */
static int release(ct_barrier_t *b, uint32_t w, unsigned i, unsigned *index)
{
    uint32_t releasing = with_phase(w, RELEASING);
    __atomic_store_n(&b->word, releasing, __ATOMIC_RELAXED);
    set_count(b, 0);
    ct_lock_release(&b->lock);
    int rc = b->action ? b->action(b->arg) : 0;
    if (rc == 0 && move(b, releasing, next_generation(releasing))) {
        if (index)
            *index = i;
        return 0;
    }
    /* The action failed, or an abort or reset broke the generation while
     * it ran (then the word is no longer releasing, and end does nothing). */
    ct__lock_acquire_eager(&b->lock);
    end(b, releasing, BROKEN);
    leave(b);
    ct_lock_release(&b->lock);
    return rc ? rc : CT_EBROKEN;
}

/* A waiter of generation joined (FILLING), without the lock, until the
 * generation passes or breaks. Once it is RELEASING every party is in, and
 * no timeout can break it. */
static int wait_released(ct_barrier_t *b, uint32_t joined, unsigned i, int64_t deadline,
                         unsigned *index)
{
    for (;;) {
        uint32_t w = load(b);
        if ((w ^ joined) & ~PHASE) {
            if (index)
                *index = i;
            return 0;
        }
        if (phase(w) == BROKEN || phase(w) == RESETTING) {
            ct__lock_acquire_eager(&b->lock);
            leave(b);
            ct_lock_release(&b->lock);
            return CT_EBROKEN;
        }
        if (phase(w) == RELEASING)
            deadline = CT__NO_DEADLINE;
        if (ct__wait(&b->word, w, deadline) == ETIMEDOUT) {
            ct__lock_acquire_eager(&b->lock);
            bool breaks = load(b) == joined;
            if (breaks) {
                end(b, joined, BROKEN);
                leave(b);
            }
            ct_lock_release(&b->lock);
            if (breaks)
                return ETIMEDOUT;
        }
    }
}

int ct_barrier_wait_timeout(ct_barrier_t *b, double timeout, unsigned *index)
{
    assert(b && b->parties > 0);
    int64_t deadline;
    if (ct__deadline(timeout, &deadline))
        return EINVAL;
    ct__lock_acquire_eager(&b->lock);
    uint32_t w = load(b);
    /* Between generations: wait for the action to end or the reset to
     * finish. Running out of time here breaks the barrier as well. */
    while (phase(w) != FILLING) {
        if (phase(w) == BROKEN) {
            ct_lock_release(&b->lock);
            return CT_EBROKEN;
        }
        ct_lock_release(&b->lock);
        int rc = ct__wait(&b->word, w, deadline);
        ct__lock_acquire_eager(&b->lock);
        if (rc == ETIMEDOUT && load(b) == w) {
            break_locked(b);
            ct_lock_release(&b->lock);
            return ETIMEDOUT;
        }
        w = load(b);
    }
    unsigned i = b->count;
    if (i + 1 == b->parties)
        return release(b, w, i, index);
    set_count(b, i + 1);
    ct_lock_release(&b->lock);
    return wait_released(b, w, i, deadline, index);
}

int ct_barrier_wait(ct_barrier_t *b, unsigned *index)
{
    assert(b);
    return ct_barrier_wait_timeout(b, b->timeout, index);
}

void ct_barrier_reset(ct_barrier_t *b)
{
    assert(b);
    ct__lock_acquire_eager(&b->lock);
    for (;;) {
        uint32_t w = load(b), n = b->count;
        if (phase(w) == RESETTING || (phase(w) == FILLING && n == 0))
            break;
        if (phase(w) == BROKEN && n == 0) {
            move(b, w, next_generation(w));
            break;
        }
        if (end(b, w, RESETTING))
            break;
    }
    ct_lock_release(&b->lock);
}

void ct_barrier_abort(ct_barrier_t *b)
{
    assert(b);
    ct__lock_acquire_eager(&b->lock);
    break_locked(b);
    ct_lock_release(&b->lock);
}

unsigned ct_barrier_parties(const ct_barrier_t *b)
{
    assert(b);
    return b->parties;
}

unsigned ct_barrier_n_waiting(const ct_barrier_t *b)
{
    assert(b);
    uint32_t w = load(b);
    if (phase(w) == RELEASING)
        return b->parties;
    return phase(w) == FILLING ? __atomic_load_n(&b->count, __ATOMIC_RELAXED) : 0;
}

bool ct_barrier_broken(const ct_barrier_t *b)
{
    assert(b);
    return phase(load(b)) == BROKEN;
}
