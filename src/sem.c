/*
 * ct_sem_t: the permits live in one 32-bit word, which waiters sleep on.
 *
 *   bits 0-29  count     free permits: anyone may take one
 *   bit 30     GRANTED   a release handed a permit to the HUNGRY waiter,
 *                        which has yet to collect it
 *   bit 31     HUNGRY    a waiter that has waited over a millisecond
 *                        sleeps on `handoff` for the next permit released
 *
 * `waiters` counts the threads in the slow path of an acquire; `max` is the
 * bound. Uncontended, acquire is one compare-and-swap (count - 1), and
 * release one compare-and-swap (count + n) and a load of `waiters`: no
 * system call while nobody waits.
 *
 * No lost wake-up: a waiter counts itself in `waiters` before it reads the
 * word, and sleeps only while the count is 0 (the wait compares the word
 * atomically, after a full barrier); a release changes the word before it
 * reads `waiters`, both sequentially consistent. So either the waiter sees
 * the permits or the release sees the waiter, and wakes min(n, waiters)
 * sleepers. A woken waiter takes a permit or finds that others took them
 * all; so while a permit is free, no waiter sleeps without a wake on its
 * way to it.
 *
 * Fairness: free permits go to whoever asks first (barging, as Python's
 * Semaphore allows too), which keeps a busy semaphore fast; sleepers are
 * woken in FIFO order. A woken waiter that finds the permits gone again
 * after waiting over a millisecond claims HUNGRY, one waiter at a time and
 * only while the count is 0. The next release then hands its first permit
 * straight to that waiter (HUNGRY becomes GRANTED and the count does not
 * grow, so nobody can barge in) and wakes it on `handoff`, a word only the
 * hungry waiter sleeps on. Collecting the permit clears GRANTED, and the
 * next starving waiter may claim HUNGRY. The cost: a handed permit idles
 * until its waiter runs, paid only once someone has waited a millisecond.
 *
 * HUNGRY implies a count of 0 and no GRANTED: it is claimed only then,
 * takes need a count, and the first release turns it into GRANTED.
 */
#include <cthreading.h>

#include <assert.h>

#include "deadline.h"

#define COUNT CT_SEM_VALUE_MAX
#define GRANTED (1u << 30)
#define HUNGRY (1u << 31)

#define HUNGER_NS 1000000

static int init(ct_sem_t *s, unsigned value, uint32_t max)
{
    assert(s);
    if (value > CT_SEM_VALUE_MAX)
        return EINVAL;
    *s = (ct_sem_t){ .word = value, .max = max };
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
 * ETIMEDOUT at the deadline unless a grant beats it. Either way one atomic
 * ends the claim, since HUNGRY and GRANTED are never both set and nobody
 * else sets either while the claim stands. */
static int wait_granted(ct_sem_t *s, int64_t deadline)
{
    for (;;) {
        uint32_t seen = __atomic_load_n(&s->handoff, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->word, __ATOMIC_ACQUIRE) & GRANTED)
            break;
        if (ct__wait(&s->handoff, seen, deadline) == ETIMEDOUT)
            break;
    }
    uint32_t w = __atomic_fetch_and(&s->word, ~(HUNGRY | GRANTED), __ATOMIC_ACQUIRE);
    return (w & GRANTED) ? 0 : ETIMEDOUT;
}

/* The slow path: 0 with a permit, or ETIMEDOUT at the deadline. A permit
 * that comes free just as the deadline passes is still taken, as Python
 * does. */
static int wait_acquire(ct_sem_t *s, int64_t deadline)
{
    int64_t since = ct__now();
    bool timed_out = false;
    int rc;
    __atomic_fetch_add(&s->waiters, 1, __ATOMIC_SEQ_CST);
    uint32_t w = __atomic_load_n(&s->word, __ATOMIC_SEQ_CST);
    for (;;) {
        if (w & COUNT) {
            if (cas(&s->word, &w, w - 1)) {
                rc = 0;
                break;
            }
            continue;
        }
        if (timed_out) {
            rc = ETIMEDOUT;
            break;
        }
        if (!(w & (HUNGRY | GRANTED)) && ct__now() - since > HUNGER_NS) {
            if (cas(&s->word, &w, w | HUNGRY)) {
                rc = wait_granted(s, deadline);
                break;
            }
            continue;
        }
        timed_out = ct__wait(&s->word, w, deadline) == ETIMEDOUT;
        w = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
    }
    __atomic_fetch_sub(&s->waiters, 1, __ATOMIC_RELAXED);
    return rc;
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

int ct_sem_release(ct_sem_t *s, unsigned n)
{
    assert(s);
    if (n == 0)
        return EINVAL;
    uint32_t w = __atomic_load_n(&s->word, __ATOMIC_RELAXED), next;
    do {
        if (n > s->max - (w & COUNT))
            return EOVERFLOW;
        next = (w & HUNGRY) ? (w ^ (HUNGRY | GRANTED)) + n - 1 : w + n;
    } while (!__atomic_compare_exchange_n(&s->word, &w, next, true, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    uint32_t freed = n;
    if (w & HUNGRY) {
        freed--;
        __atomic_fetch_add(&s->handoff, 1, __ATOMIC_RELEASE);
        ct__wake(&s->handoff, 1);
    }
    if (freed) {
        uint32_t waiters = __atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST);
        if (waiters)
            ct__wake(&s->word, (int)(waiters < freed ? waiters : freed));
    }
    return 0;
}

unsigned ct_sem_value(const ct_sem_t *s)
{
    assert(s);
    return __atomic_load_n(&s->word, __ATOMIC_RELAXED) & COUNT;
}
