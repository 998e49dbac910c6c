/*
 * ct_cond_t: a FIFO queue of waiters, each a node on its waiting thread's
 * stack. The condition's own lock, which wait and notify require the
 * caller to hold, guards the queue: it needs no lock of its own.
 *
 * The queue holds the notified waiters, then those not notified yet, each
 * part oldest first; `waiting` marks the first not notified. notify(n)
 * moves that mark n nodes on, so notified waiters keep their FIFO order.
 * Each node's word says where its thread stands:
 *
 *   WAITING   0   not notified
 *   NOTIFIED  1   notified, asleep until it is the head of the queue
 *   WOKEN     2   notified, awake, on its way to take the lock back
 *   QUEUED    3   notified, and counted among the lock's waiters: moved
 *                 to sleep on the lock's word, which its release wakes
 *   SLEEPING  4   (a bit) the waiter sleeps in the kernel on its word
 *
 * The states change only under the lock. The waiter itself sets SLEEPING
 * before it sleeps, and clears it when its timeout fires; a waker decides
 * between WOKEN and QUEUED by that bit, with one atomic step.
 *
 * A waiter queues its node, releases the lock (whatever its depth), and
 * waits until its word is WOKEN or QUEUED or its deadline passes. It then
 * takes the lock back (as a counted waiter of the lock if QUEUED), reads
 * its word and unlinks its node: a word still WAITING is ETIMEDOUT, any
 * other 0. So a waiter that notify chose returns 0 even if its timeout
 * fired meanwhile, and a notification is never lost on it.
 *
 * Waking on release: a notified waiter needs the lock, which the notifier
 * holds. A sleeping waiter is therefore not woken but moved onto the
 * lock's word (ct__requeue), so that the lock's release wakes it once it
 * can take the lock, instead of it waking only to sleep again on the lock
 * (two more context switches and system calls per notify).
 *
 * No thundering herd: of the notified waiters only the head is woken or
 * queued, and whoever unlinks a node passes that baton on to a notified
 * new head. The invariant: a notified head is WOKEN or QUEUED. notify
 * makes a waiting head notified only to wake it at once; unlinking wakes
 * the new head if it is NOTIFIED; no other change touches the head. So
 * notify_all releases its waiters one at a time, each as the previous one
 * gets the lock, and no notified waiter sleeps for ever: the head's thread
 * must unlink its node.
 *
 * No lost wake-up, no use after return: a waker changes the word before it
 * wakes or moves its thread, ct__wait compares the word atomically, and a
 * thread moved onto the lock is counted there before the lock is released;
 * a node leaves the queue only when its own thread, holding the lock,
 * unlinks it, and every waker holds the lock from its store to its wake.
 *
 * Costs: wait and unlinking are O(1); notify(n) walks the n nodes it
 * notifies, and wakes one thread whatever n is. A waiter spins for a
 * couple of microseconds on its word before it sets SLEEPING and sleeps: a
 * partner that answers at once then wakes it with one store.
 */
#include <cthreading.h>

#include <assert.h>

#include "deadline.h"
#include "rlock_internal.h"
#include "spin.h"

enum { WAITING, NOTIFIED, WOKEN, QUEUED, STATE = 3, SLEEPING = 4 };

#define SPIN_NS 2000

struct ct__cond_waiter {
    struct ct__cond_waiter *prev, *next;
    uint32_t word;
};

void ct_cond_init(ct_cond_t *c)
{
    assert(c);
    *c = (ct_cond_t)CT_COND_INIT;
}

void ct_cond_init_lock(ct_cond_t *c, ct_lock_t *l)
{
    assert(l);
    ct_cond_init(c);
    c->lock = l;
}

void ct_cond_init_rlock(ct_cond_t *c, ct_rlock_t *r)
{
    assert(r);
    ct_cond_init(c);
    c->rlock = r;
}

/* The RLock in use when no Lock was given. */
static ct_rlock_t *rlock_of(ct_cond_t *c)
{
    return c->rlock ? c->rlock : &c->own;
}

int ct_cond_acquire(ct_cond_t *c)
{
    return c->lock ? ct_lock_acquire(c->lock) : ct_rlock_acquire(rlock_of(c));
}

int ct_cond_try_acquire(ct_cond_t *c)
{
    return c->lock ? ct_lock_try_acquire(c->lock) : ct_rlock_try_acquire(rlock_of(c));
}

int ct_cond_acquire_timeout(ct_cond_t *c, double timeout)
{
    return c->lock ? ct_lock_acquire_timeout(c->lock, timeout)
                   : ct_rlock_acquire_timeout(rlock_of(c), timeout);
}

int ct_cond_release(ct_cond_t *c)
{
    return c->lock ? ct_lock_release(c->lock) : ct_rlock_release(rlock_of(c));
}

/* Python's _is_owned: a Lock cannot tell who holds it. */
static bool held(ct_cond_t *c)
{
    return c->lock ? ct_lock_locked(c->lock) : ct_rlock_is_owned(rlock_of(c));
}

/* The Lock under the condition's lock, whichever kind that is. */
static ct_lock_t *lock_of(ct_cond_t *c)
{
    return c->lock ? c->lock : &rlock_of(c)->lock;
}

/* Releases the lock fully; returns the RLock depth to restore. */
static uint32_t release_save(ct_cond_t *c)
{
    if (c->lock) {
        ct_lock_release(c->lock);
        return 0;
    }
    return ct__rlock_release_save(rlock_of(c));
}

/* Takes the lock back, as a waiter the lock counts already if queued. */
static void acquire_restore(ct_cond_t *c, uint32_t depth, bool queued)
{
    if (queued)
        ct__lock_acquire_counted(lock_of(c));
    else
        ct__lock_acquire_eager(lock_of(c));
    if (!c->lock)
        ct__rlock_own(rlock_of(c), depth);
}

/* The caller holds the lock, and keeps it until w can no longer matter.
 * A sleeping waiter moves to the lock's word, counted in before the lock
 * can be released; the rest are told by a store. */
static void wake(ct_cond_t *c, struct ct__cond_waiter *w)
{
    uint32_t seen = __atomic_load_n(&w->word, __ATOMIC_RELAXED), next;
    do
        next = seen & SLEEPING ? QUEUED : WOKEN;
    while (!__atomic_compare_exchange_n(&w->word, &seen, next, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
    if (next == QUEUED) {
        ct_lock_t *l = lock_of(c);
        ct__requeue(&w->word, QUEUED, &l->word);
        ct__lock_count_waiter(l);
    }
}

static uint32_t state_of(const struct ct__cond_waiter *w)
{
    return __atomic_load_n(&w->word, __ATOMIC_ACQUIRE) & STATE;
}

/* The queue is circular: the tail is the head's prev. The node after w,
 * or NULL at the tail. */
static struct ct__cond_waiter *next_of(const ct_cond_t *c, const struct ct__cond_waiter *w)
{
    return w->next == c->head ? NULL : w->next;
}

/* The caller holds the lock. Passes the baton to a notified new head. */
static void unlink_waiter(ct_cond_t *c, struct ct__cond_waiter *w)
{
    if (c->waiting == w)
        c->waiting = next_of(c, w);
    if (w->next == w) {
        c->head = NULL;
    } else {
        w->prev->next = w->next;
        w->next->prev = w->prev;
        if (c->head == w)
            c->head = w->next;
    }
    if (c->head && state_of(c->head) == NOTIFIED)
        wake(c, c->head);
}

/* The caller holds the lock: 0 if notified, else ETIMEDOUT. */
static int wait_until(ct_cond_t *c, int64_t deadline)
{
    struct ct__cond_waiter self = { .word = WAITING };
    if (c->head) {
        self.prev = c->head->prev;
        self.next = c->head;
        c->head->prev->next = &self;
        c->head->prev = &self;
    } else {
        self.prev = self.next = &self;
        c->head = &self;
    }
    if (!c->waiting)
        c->waiting = &self;

    uint32_t depth = release_save(c);
    struct ct__spin spin = { 0 };
    bool timed_out = false;
    uint32_t seen;
    for (;;) {
        seen = __atomic_load_n(&self.word, __ATOMIC_ACQUIRE);
        if ((seen & STATE) >= WOKEN)
            break;
        if (timed_out) {
            /* Not asleep any more: a notify must not count it in the lock. */
            if (__atomic_compare_exchange_n(&self.word, &seen, seen & ~SLEEPING, true,
                                            __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
                break;
            continue;
        }
        if (!(seen & SLEEPING)) {
            if (ct__spin(&spin, SPIN_NS))
                continue;
            if (!__atomic_compare_exchange_n(&self.word, &seen, seen | SLEEPING, true,
                                             __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
                continue;
            seen |= SLEEPING;
        }
        timed_out = ct__wait(&self.word, seen, deadline) == ETIMEDOUT;
    }
    acquire_restore(c, depth, (seen & STATE) == QUEUED);

    int rc = state_of(&self) == WAITING ? ETIMEDOUT : 0;
    unlink_waiter(c, &self);
    return rc;
}

int ct_cond_wait(ct_cond_t *c)
{
    return held(c) ? wait_until(c, CT__NO_DEADLINE) : EPERM;
}

int ct_cond_wait_timeout(ct_cond_t *c, double timeout)
{
    int64_t deadline;
    if (!held(c))
        return EPERM;
    if (ct__deadline(timeout, &deadline))
        return EINVAL;
    return wait_until(c, deadline);
}

bool ct__cond_wait_for_start(struct ct__cond_wait_for *w, ct_cond_t *c, double timeout)
{
    int err = held(c) ? ct__deadline(timeout, &w->deadline) : EPERM;
    if (err) {
        errno = err;
        return false;
    }
    w->cond = c;
    w->expired = false;
    return true;
}

/* Python's order: the predicate is evaluated after every wait, and the
 * loop ends once that happens past the deadline. The lock is checked
 * again in case the predicate released it. */
bool ct__cond_wait_for_next(struct ct__cond_wait_for *w)
{
    int err = w->expired ? ETIMEDOUT : held(w->cond) ? 0 : EPERM;
    if (err) {
        errno = err;
        return false;
    }
    wait_until(w->cond, w->deadline);
    w->expired = ct__now() >= w->deadline;
    return true;
}

bool ct_cond_wait_for(ct_cond_t *c, bool (*pred)(void *arg), void *arg, double timeout)
{
    assert(pred);
    return CT_COND_WAIT_FOR(c, pred(arg), timeout);
}

int ct_cond_notify(ct_cond_t *c, size_t n)
{
    if (!held(c))
        return EPERM;
    struct ct__cond_waiter *first = c->waiting, *w = first;
    for (; w && n > 0; w = next_of(c, w), n--)
        __atomic_fetch_or(&w->word, NOTIFIED, __ATOMIC_RELAXED);
    c->waiting = w;
    if (w != first && first == c->head)
        wake(c, first);
    return 0;
}

int ct_cond_notify_all(ct_cond_t *c)
{
    return ct_cond_notify(c, SIZE_MAX);
}
