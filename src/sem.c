/*
 * ct_sem_t: two 32-bit words. `word` holds the permits, and waiters sleep
 * on it:
 *
 *   bits 0-29   count     free permits: anyone may take one
 *   bits 30-31  state     IDLE     nobody sleeps on the word
 *                         WAITERS  a thread may sleep on the word
 *                         HUNGRY   a waiter that has waited over a
 *                                  millisecond wants the next permit
 *                         GRANTED  a release handed it that permit, which
 *                                  it has yet to collect
 *
 * `bound` holds the bound in bits 0-29 (CT_SEM_VALUE_MAX when unbounded)
 * and PARKED in bit 31: the hungry waiter sleeps on `bound` while PARKED
 * is set, and the release that grants it a permit clears PARKED. HUNGRY and
 * GRANTED imply WAITERS (others may sleep on the word meanwhile).
 *
 * Uncontended, acquire is one compare-and-swap (count - 1) and release one
 * (count + n), with no system call while the state is IDLE. A waiter sets
 * WAITERS before it sleeps, and sleeps only on a word with a count of 0 and
 * that state (the wait compares atomically), so a release that adds to the
 * count sees it. That release makes the state IDLE and wakes n sleepers:
 * at most n, and at worst one needless wake once the last waiter has left.
 *
 * No lost wake-up: the state turns IDLE only when a release wakes the
 * sleepers, and a thread back from a sleep sets WAITERS again (if the state
 * is still IDLE) in the update that takes its permit, that gives up at the
 * deadline or that precedes its next sleep. Until then the releases that
 * find IDLE wake nobody, so that first update also wakes as many sleepers
 * as it leaves permits free: every permit released since the state turned
 * IDLE then has a wake on its way, or has been taken. A release from
 * HUNGRY, GRANTED or WAITERS wakes n.
 *
 * Fairness: free permits go to whoever asks first (barging, as Python's
 * Semaphore allows too), which keeps a busy semaphore fast; sleepers are
 * woken in FIFO order. A woken waiter that finds the permits gone again
 * after waiting over a millisecond claims HUNGRY, one waiter at a time and
 * only while the count is 0. The next release then hands its first permit
 * straight to that waiter (HUNGRY becomes GRANTED and the count does not
 * grow, so nobody can barge in) and wakes it on `bound`, which only the
 * hungry waiter sleeps on. Collecting the permit ends the claim (the state
 * becomes WAITERS), and the next starving waiter may claim HUNGRY. The
 * cost: a handed permit idles until its waiter runs, paid only once
 * someone has waited a millisecond.
 *
 * The hungry waiter sets PARKED and then looks for GRANTED; the release
 * sets GRANTED and then clears PARKED (all sequentially consistent). So
 * either the waiter sees its grant or it sleeps on a PARKED that the
 * release is yet to clear, with the wake after it. A late clear from an
 * earlier grant only wakes a later hungry waiter early.
 */
#include <cthreading.h>

#include <assert.h>

#include "deadline.h"

#define COUNT CT_SEM_VALUE_MAX
#define STATE (3u << 30)
#define IDLE 0u
#define WAITERS (1u << 30)
#define HUNGRY (2u << 30)
#define GRANTED (3u << 30)
#define PARKED (1u << 31)

#define HUNGER_NS 1000000

static int init(ct_sem_t *s, unsigned value, uint32_t bound)
{
    assert(s);
    if (value > CT_SEM_VALUE_MAX)
        return EINVAL;
    *s = (ct_sem_t){ .word = value, .bound = bound };
    return 0;
}

int ct_sem_init(ct_sem_t *s, unsigned value)
{
    return init(s, value, CT_SEM_VALUE_MAX);
}

int ct_sem_init_bounded(ct_sem_t *s, unsigned value)
{
    return init(s, value, value);
}

static inline bool cas(uint32_t *word, uint32_t *seen, uint32_t desired)
{
    return __atomic_compare_exchange_n(word, seen, desired, true, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

/* Takes a free permit: true, or false if there is none. */
static bool take(ct_sem_t *s)
{
    uint32_t w = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
    while (w & COUNT) {
        if (cas(&s->word, &w, w - 1))
            return true;
    }
    return false;
}

/* The hungry waiter's wait: 0 once a release has granted it a permit, or
 * ETIMEDOUT at the deadline unless a grant beats it. Either way one update
 * ends the claim, since nobody else changes the state while it stands. */
static int wait_granted(ct_sem_t *s, int64_t deadline)
{
    uint32_t parked = (__atomic_load_n(&s->bound, __ATOMIC_RELAXED) & COUNT) | PARKED;
    for (;;) {
        __atomic_fetch_or(&s->bound, PARKED, __ATOMIC_SEQ_CST);
        if ((__atomic_load_n(&s->word, __ATOMIC_SEQ_CST) & STATE) == GRANTED)
            break;
        if (ct__wait(&s->bound, parked, deadline) == ETIMEDOUT)
            break;
    }
    uint32_t w = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
    while (!cas(&s->word, &w, (w & COUNT) | WAITERS))
        ;
    return (w & STATE) == GRANTED ? 0 : ETIMEDOUT;
}

/* The slow path: 0 with a permit, or ETIMEDOUT at the deadline. A permit
 * that comes free just as the deadline passes is still taken, as Python
 * does. Once back from a sleep, the caller sets WAITERS again if a release
 * cleared it (see the top of the file). */
static int wait_acquire(ct_sem_t *s, int64_t deadline)
{
    int64_t since = ct__now();
    bool slept = false, timed_out = false;
    uint32_t w = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
    for (;;) {
        uint32_t mark = slept && (w & STATE) == IDLE ? WAITERS : 0;
        if (w & COUNT) {
            if (cas(&s->word, &w, (w - 1) | mark)) {
                uint32_t left = (w - 1) & COUNT;
                if (mark && left)
                    ct__wake(&s->word, (int)left);
                return 0;
            }
            continue;
        }
        if (timed_out) {
            if (!mark || cas(&s->word, &w, w | WAITERS))
                return ETIMEDOUT;
            continue;
        }
        if ((w & STATE) < HUNGRY && ct__now() - since > HUNGER_NS) {
            if (cas(&s->word, &w, HUNGRY))
                return wait_granted(s, deadline);
            continue;
        }
        if ((w & STATE) == IDLE) {
            if (!cas(&s->word, &w, WAITERS))
                continue;
            w = WAITERS;
        }
        slept = true;
        timed_out = ct__wait(&s->word, w, deadline) == ETIMEDOUT;
        w = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
    }
}

int ct_sem_acquire(ct_sem_t *s)
{
    assert(s);
    return take(s) ? 0 : wait_acquire(s, CT__NO_DEADLINE);
}

int ct_sem_try_acquire(ct_sem_t *s)
{
    assert(s);
    return take(s) ? 0 : EBUSY;
}

int ct_sem_acquire_timeout(ct_sem_t *s, double timeout)
{
    assert(s);
    int64_t deadline;
    if (ct__deadline(timeout, &deadline))
        return EINVAL;
    if (take(s))
        return 0;
    return timeout == 0 ? ETIMEDOUT : wait_acquire(s, deadline);
}

/* From HUNGRY, the first permit becomes the grant (HUNGRY + WAITERS is
 * GRANTED); from WAITERS, the state turns IDLE as the sleepers are woken. */
int ct_sem_release(ct_sem_t *s, unsigned n)
{
    assert(s);
    if (n == 0)
        return EINVAL;
    uint32_t max = __atomic_load_n(&s->bound, __ATOMIC_RELAXED) & COUNT;
    uint32_t w = __atomic_load_n(&s->word, __ATOMIC_RELAXED), next;
    do {
        if (n > max - (w & COUNT))
            return EOVERFLOW;
        switch (w & STATE) {
        case HUNGRY:
            next = w + WAITERS + n - 1;
            break;
        case WAITERS:
            next = (w & COUNT) + n;
            break;
        default:
            next = w + n;
            break;
        }
    } while (!__atomic_compare_exchange_n(&s->word, &w, next, true, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    if ((w & STATE) == HUNGRY) {
        __atomic_fetch_and(&s->bound, ~PARKED, __ATOMIC_SEQ_CST);
        ct__wake(&s->bound, 1);
        n--;
    }
    if ((w & STATE) != IDLE && n)
        ct__wake(&s->word, (int)n);
    return 0;
}

unsigned ct_sem_value(const ct_sem_t *s)
{
    assert(s);
    return __atomic_load_n(&s->word, __ATOMIC_RELAXED) & COUNT;
}
