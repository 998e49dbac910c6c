/*
 * ct_cond_t: CPython's lock_tests.ConditionTests, ported, for each kind of
 * lock a condition can stand on; then FIFO order, RLock depth, timeouts
 * (bad, infinite, under a signal storm), waiters moved onto the lock,
 * EPERM, CT_COND_WAIT_FOR, CT_WITH, and a bounded producer/consumer
 * stress test.
 */
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The locks a condition can stand on: its own RLock, a Lock, an RLock. */
enum kind { OWN, LOCK, RLOCK, KINDS };

struct subject {
    ct_cond_t cond;
    ct_lock_t lock;
    ct_rlock_t rlock;
};

static void subject_init(struct subject *s, enum kind k)
{
    ct_lock_init(&s->lock);
    ct_rlock_init(&s->rlock);
    if (k == OWN)
        ct_cond_init(&s->cond);
    else if (k == LOCK)
        ct_cond_init_lock(&s->cond, &s->lock);
    else
        ct_cond_init_rlock(&s->cond, &s->rlock);
}

/* Reads *v under the condition's lock: a waiter that counted itself there
 * before waiting is queued by the time this returns its count. */
static int read_locked(ct_cond_t *c, const int *v)
{
    ck_assert_int_eq(ct_cond_acquire(c), 0);
    int value = *v;
    ck_assert_int_eq(ct_cond_release(c), 0);
    return value;
}

/* Releases until EPERM: the depth the caller held (1 for a Lock). */
static int release_all(ct_cond_t *c)
{
    int depth = 0;
    while (ct_cond_release(c) == 0)
        depth++;
    return depth;
}

static void spin_until_set(const int *flag)
{
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
        ct_sleep(0.0001);
}

/* ---- waiters that queue in index order -------------------------------- */

#define MAX_WAITERS 8

static struct {
    struct subject s;
    double timeout[MAX_WAITERS];
    int queued;                /* under the lock, as the rest */
    int returned;
    int order[MAX_WAITERS];    /* indices, in the order their waits returned */
    int rc[MAX_WAITERS];
} w;

static void ordered_waiter(void *arg, int i)
{
    (void)arg;
    ct_cond_t *c = &w.s.cond;
    ct_cond_acquire(c);
    while (w.queued != i) {
        ct_cond_release(c);
        ct_sleep(0.0001);
        ct_cond_acquire(c);
    }
    w.queued++;
    w.rc[i] = ct_cond_wait_timeout(c, w.timeout[i]);
    w.order[w.returned++] = i;
    ct_cond_release(c);
}

/* Starts n waiters on a new condition of kind k, and returns once all of
 * them are queued, waiter 0 first. */
static void start_waiters(ct_group *g, enum kind k, int n, const double *timeouts)
{
    subject_init(&w.s, k);
    w.queued = w.returned = 0;
    for (int i = 0; i < n; i++)
        w.timeout[i] = timeouts[i];
    ct_group_start(g, n, ordered_waiter, NULL);
    CT_WAIT_UNTIL(read_locked(&w.s.cond, &w.queued) == n);
}

static void notify_locked(ct_cond_t *c, size_t n)
{
    ck_assert_int_eq(ct_cond_acquire(c), 0);
    ck_assert_int_eq(ct_cond_notify(c, n), 0);
    ck_assert_int_eq(ct_cond_release(c), 0);
}

/* ---- lock_tests.ConditionTests ----------------------------------------- */

START_TEST(test_acquire)
{
    /* By default a condition has an RLock: it can be acquired again. */
    ct_cond_t cond = CT_COND_INIT;
    ck_assert_int_eq(ct_cond_acquire(&cond), 0);
    ck_assert_int_eq(ct_cond_acquire(&cond), 0);
    ck_assert_int_eq(ct_cond_try_acquire(&cond), 0);
    ck_assert_int_eq(release_all(&cond), 3);

    ct_lock_t lock = CT_LOCK_INIT;
    ct_cond_init_lock(&cond, &lock);
    ck_assert_int_eq(ct_cond_acquire(&cond), 0);
    ck_assert_int_eq(ct_lock_try_acquire(&lock), EBUSY);
    ck_assert_int_eq(ct_cond_release(&cond), 0);
    ck_assert_int_eq(ct_lock_try_acquire(&lock), 0);
    ck_assert_int_eq(ct_cond_try_acquire(&cond), EBUSY);
    ck_assert_int_eq(ct_cond_acquire_timeout(&cond, 0.01), ETIMEDOUT);
    ck_assert_int_eq(ct_lock_release(&lock), 0);
    CT_WITH(&cond) {
        ck_assert_int_eq(ct_lock_try_acquire(&lock), EBUSY);
    }
    ck_assert(!ct_lock_locked(&lock));

    ct_rlock_t rlock = CT_RLOCK_INIT;
    ct_cond_init_rlock(&cond, &rlock);
    ck_assert_int_eq(ct_cond_acquire_timeout(&cond, 1.0), 0);
    ck_assert(ct_rlock_is_owned(&rlock));
    ck_assert_int_eq(ct_rlock_acquire(&rlock), 0);
    ck_assert_int_eq(release_all(&cond), 2);
    ck_assert(!ct_rlock_locked(&rlock));
}
END_TEST

static int other_holds;     /* the holder has the lock */
static int other_may_go;    /* the holder may release it */

static void hold_until_told(void *arg, int i)
{
    (void)i;
    ct_cond_t *c = arg;
    ct_cond_acquire(c);
    __atomic_store_n(&other_holds, 1, __ATOMIC_RELEASE);
    spin_until_set(&other_may_go);
    ct_cond_release(c);
}

static bool never(void *arg)
{
    int *calls = arg;
    ++*calls;
    return false;
}

START_TEST(test_unacquired_wait)
{
    for (enum kind k = 0; k < KINDS; k++) {
        struct subject s;
        subject_init(&s, k);
        int calls = 0;
        ck_assert_int_eq(ct_cond_wait(&s.cond), EPERM);
        ck_assert_int_eq(ct_cond_wait_timeout(&s.cond, 1.0), EPERM);
        ck_assert_int_eq(ct_cond_wait_timeout(&s.cond, NAN), EPERM);
        errno = 0;
        ck_assert(!ct_cond_wait_for(&s.cond, never, &calls, 1.0));
        ck_assert_int_eq(errno, EPERM);
        errno = 0;
        ck_assert(!CT_COND_WAIT_FOR(&s.cond, never(&calls), CT_FOREVER));
        ck_assert_int_eq(errno, EPERM);
        ck_assert_int_eq(calls, 0);
        /* Released since: not held any more. */
        ck_assert_int_eq(ct_cond_acquire(&s.cond), 0);
        ck_assert_int_eq(ct_cond_release(&s.cond), 0);
        ck_assert_int_eq(ct_cond_wait(&s.cond), EPERM);
    }
}
END_TEST

START_TEST(test_unacquired_notify)
{
    for (enum kind k = 0; k < KINDS; k++) {
        struct subject s;
        subject_init(&s, k);
        ck_assert_int_eq(ct_cond_notify(&s.cond, 1), EPERM);
        ck_assert_int_eq(ct_cond_notify(&s.cond, 0), EPERM);
        ck_assert_int_eq(ct_cond_notify_all(&s.cond), EPERM);
    }
}
END_TEST

/* Held by another thread: an RLock is not the caller's, so EPERM; a Lock
 * is held by anyone who locked it, so Python lets notify through. */
START_TEST(test_held_by_other_thread)
{
    for (enum kind k = 0; k < KINDS; k++) {
        struct subject s;
        subject_init(&s, k);
        other_holds = other_may_go = 0;
        ct_group g;
        ct_group_start(&g, 1, hold_until_told, &s.cond);
        CT_WAIT_UNTIL(__atomic_load_n(&other_holds, __ATOMIC_ACQUIRE));
        if (k == LOCK) {
            ck_assert_int_eq(ct_cond_notify(&s.cond, 1), 0);
            ck_assert_int_eq(ct_cond_notify_all(&s.cond), 0);
        } else {
            ck_assert_int_eq(ct_cond_wait(&s.cond), EPERM);
            ck_assert_int_eq(ct_cond_wait_timeout(&s.cond, 0.01), EPERM);
            ck_assert_int_eq(ct_cond_notify(&s.cond, 1), EPERM);
            ck_assert_int_eq(ct_cond_notify_all(&s.cond), EPERM);
            ck_assert_int_eq(ct_cond_release(&s.cond), EPERM);
        }
        __atomic_store_n(&other_may_go, 1, __ATOMIC_RELEASE);
        ct_group_join(&g);
    }
}
END_TEST

/* lock_tests' _check_notify: five threads wait twice each; notify(3), then
 * notify(5) reaches the two first waits left and the three second ones,
 * then notify_all the last two. A waiter records the phase that the
 * notifier set, under the lock, after notifying. */
#define NOTIFY_THREADS 5

static struct {
    struct subject s;
    int queued, phase, n1, n2;  /* under the lock, as the rest */
    int rc1[NOTIFY_THREADS], phase1[NOTIFY_THREADS];
    int rc2[NOTIFY_THREADS], phase2[NOTIFY_THREADS];
} nt;

static void notify_worker(void *arg, int i)
{
    (void)arg;
    (void)i;
    ct_cond_t *c = &nt.s.cond;
    ct_cond_acquire(c);
    nt.queued++;
    int rc = ct_cond_wait(c);
    nt.rc1[nt.n1] = rc;
    nt.phase1[nt.n1++] = nt.phase;
    ct_cond_release(c);

    ct_cond_acquire(c);
    nt.queued++;
    rc = ct_cond_wait(c);
    nt.rc2[nt.n2] = rc;
    nt.phase2[nt.n2++] = nt.phase;
    ct_cond_release(c);
}

static void notify_phase(size_t n, int phase)
{
    ct_cond_t *c = &nt.s.cond;
    ck_assert_int_eq(ct_cond_acquire(c), 0);
    if (n == SIZE_MAX)
        ck_assert_int_eq(ct_cond_notify_all(c), 0);
    else
        ck_assert_int_eq(ct_cond_notify(c, n), 0);
    ct_sleep(0.01); /* gives a woken thread the chance to run too early */
    nt.phase = phase;
    ck_assert_int_eq(ct_cond_release(c), 0);
}

static void check_results(const int *rc, const int *phase, int from, int to, int expected)
{
    for (int i = from; i < to; i++) {
        ck_assert_int_eq(rc[i], 0);
        ck_assert_int_eq(phase[i], expected);
    }
}

static void check_notify(void)
{
    ct_cond_t *c = &nt.s.cond;
    nt.queued = nt.phase = nt.n1 = nt.n2 = 0;
    ct_group g;
    ct_group_start(&g, NOTIFY_THREADS, notify_worker, NULL);
    CT_WAIT_UNTIL(read_locked(c, &nt.queued) == 5);
    ck_assert_int_eq(read_locked(c, &nt.n1), 0);

    notify_phase(3, 1);
    CT_WAIT_UNTIL(read_locked(c, &nt.n1) == 3);
    check_results(nt.rc1, nt.phase1, 0, 3, 1);
    ck_assert_int_eq(read_locked(c, &nt.n2), 0);

    CT_WAIT_UNTIL(read_locked(c, &nt.queued) == 8);
    notify_phase(5, 2);
    CT_WAIT_UNTIL(read_locked(c, &nt.n1) + read_locked(c, &nt.n2) == 8);
    ck_assert_int_eq(nt.n1, 5);
    check_results(nt.rc1, nt.phase1, 3, 5, 2);
    check_results(nt.rc2, nt.phase2, 0, 3, 2);

    CT_WAIT_UNTIL(read_locked(c, &nt.queued) == 10);
    notify_phase(SIZE_MAX, 3);
    CT_WAIT_UNTIL(read_locked(c, &nt.n2) == 5);
    check_results(nt.rc1, nt.phase1, 0, 3, 1);
    check_results(nt.rc2, nt.phase2, 3, 5, 3);
    ct_group_join(&g);
}

START_TEST(test_notify)
{
    for (enum kind k = 0; k < KINDS; k++) {
        subject_init(&nt.s, k);
        check_notify();
        check_notify(); /* a second time: the internal state is still right */
    }
}
END_TEST

#define TIMEOUT_THREADS 5

static struct {
    struct subject s;
    int rc[TIMEOUT_THREADS];
    double took[TIMEOUT_THREADS];
} tm;

static void timeout_worker(void *arg, int i)
{
    double timeout = *(const double *)arg;
    ct_cond_t *c = &tm.s.cond;
    ct_cond_acquire(c);
    double start = ct_monotonic();
    tm.rc[i] = ct_cond_wait_timeout(c, timeout);
    tm.took[i] = ct_monotonic() - start;
    ct_cond_release(c);
}

/* Nobody notifies: every wait lasts its timeout and returns ETIMEDOUT (no
 * spurious wake-ups). */
START_TEST(test_timeout)
{
    double timeout = 0.3;
    for (enum kind k = 0; k < KINDS; k++) {
        subject_init(&tm.s, k);
        ct_group_run(TIMEOUT_THREADS, timeout_worker, &timeout);
        for (int i = 0; i < TIMEOUT_THREADS; i++) {
            ck_assert_int_eq(tm.rc[i], ETIMEDOUT);
            CT_ASSERT_DURATION(tm.took[i], timeout);
        }
    }
}
END_TEST

static struct {
    struct subject s;
    int state;        /* under the lock, as the rest */
    bool result;
    int seen;
    int err;
    double took;
} wf;

static bool state_is_4(void *arg)
{
    (void)arg;
    return wf.state == 4;
}

static void waitfor_worker(void *arg, int i)
{
    double timeout = *(const double *)arg;
    (void)i;
    CT_WITH(&wf.s.cond) {
        double start = ct_monotonic();
        errno = 0;
        wf.result = ct_cond_wait_for(&wf.s.cond, state_is_4, NULL, timeout);
        wf.err = errno;
        wf.took = ct_monotonic() - start;
        wf.seen = wf.state;
    }
}

/* Counts up to steps, notifying after each step. */
static void step_state(int steps)
{
    for (int i = 0; i < steps; i++) {
        ct_sleep(0.01);
        CT_WITH(&wf.s.cond) {
            wf.state++;
            ck_assert_int_eq(ct_cond_notify(&wf.s.cond, 1), 0);
        }
    }
}

START_TEST(test_waitfor)
{
    double timeout = CT_FOREVER;
    for (enum kind k = 0; k < KINDS; k++) {
        subject_init(&wf.s, k);
        wf.state = 0;
        ct_group g;
        ct_group_start(&g, 1, waitfor_worker, &timeout);
        step_state(4);
        ct_group_join(&g);
        ck_assert(wf.result);
        ck_assert_int_eq(wf.seen, 4);
        ck_assert_int_eq(wf.err, 0);
    }
}
END_TEST

START_TEST(test_waitfor_timeout)
{
    double timeout = 0.1;
    for (enum kind k = 0; k < KINDS; k++) {
        subject_init(&wf.s, k);
        wf.state = 0;
        ct_group g;
        ct_group_start(&g, 1, waitfor_worker, &timeout);
        step_state(3); /* state == 4 is never reached */
        ct_group_join(&g);
        ck_assert(!wf.result);
        ck_assert_int_eq(wf.err, ETIMEDOUT);
        CT_ASSERT_DURATION(wf.took, timeout);
    }
}
END_TEST

/* Notifications that keep coming neither end wait_for early nor stretch
 * its timeout: one deadline holds for all its waits. */
static int pester_done;

static void pester(void *arg, int i)
{
    (void)i;
    ct_cond_t *c = arg;
    double give_up = ct_monotonic() + 2.0;
    while (!__atomic_load_n(&pester_done, __ATOMIC_ACQUIRE) && ct_monotonic() < give_up) {
        CT_WITH(c) {
            ct_cond_notify_all(c);
        }
        ct_sleep(0.002);
    }
}

START_TEST(test_waitfor_one_deadline)
{
    for (enum kind k = 0; k < KINDS; k++) {
        struct subject s;
        subject_init(&s, k);
        int calls = 0;
        pester_done = 0;
        ct_group g;
        ct_group_start(&g, 1, pester, &s.cond);
        double start = ct_monotonic();
        CT_WITH(&s.cond) {
            ck_assert(!ct_cond_wait_for(&s.cond, never, &calls, 0.1));
            ck_assert_int_eq(errno, ETIMEDOUT);
        }
        double took = ct_monotonic() - start;
        __atomic_store_n(&pester_done, 1, __ATOMIC_RELEASE);
        ct_group_join(&g);
        ck_assert_double_ge(took, 0.1 - 0.001);
        ck_assert_double_lt(took, 0.1 + 1.0 * ct_test_scale());
        ck_assert_int_gt(calls, 2);
    }
}
END_TEST

/* _test_multiprocessing's test_wait_result: wait(0) returns False. */
START_TEST(test_wait_result)
{
    for (enum kind k = 0; k < KINDS; k++) {
        struct subject s;
        subject_init(&s, k);
        CT_WITH(&s.cond) {
            ck_assert_int_eq(ct_cond_wait_timeout(&s.cond, 0), ETIMEDOUT);
            ck_assert_int_eq(ct_cond_notify(&s.cond, 1), 0);
        }
        ck_assert_int_eq(ct_cond_release(&s.cond), EPERM);
    }
}
END_TEST

/* ---- beyond lock_tests -------------------------------------------------- */

/* notify(n) wakes the longest-waiting first, one at a time or several. */
START_TEST(test_notify_fifo)
{
    const double forever[MAX_WAITERS] = { CT_FOREVER, CT_FOREVER, CT_FOREVER, CT_FOREVER,
                                          CT_FOREVER, CT_FOREVER, CT_FOREVER, CT_FOREVER };
    for (enum kind k = 0; k < KINDS; k++) {
        ct_group g;
        start_waiters(&g, k, MAX_WAITERS, forever);
        for (int i = 1; i <= 3; i++) {
            notify_locked(&w.s.cond, 1);
            CT_WAIT_UNTIL(read_locked(&w.s.cond, &w.returned) == i);
        }
        notify_locked(&w.s.cond, 2);
        CT_WAIT_UNTIL(read_locked(&w.s.cond, &w.returned) == 5);
        ck_assert_int_eq(ct_cond_acquire(&w.s.cond), 0);
        ck_assert_int_eq(ct_cond_notify_all(&w.s.cond), 0);
        ck_assert_int_eq(ct_cond_release(&w.s.cond), 0);
        ct_group_join(&g);
        for (int i = 0; i < MAX_WAITERS; i++) {
            ck_assert_int_eq(w.order[i], i);
            ck_assert_int_eq(w.rc[i], 0);
        }
        ck_assert_ptr_null(w.s.cond.head);
    }
}
END_TEST

/* notify_all with many waiters: the baton reaches every one of them. */
#define MANY 48

static struct {
    struct subject s;
    int queued, returned;  /* under the lock */
} many;

static void many_waiter(void *arg, int i)
{
    (void)arg;
    (void)i;
    CT_WITH(&many.s.cond) {
        many.queued++;
        if (ct_cond_wait(&many.s.cond) == 0)
            many.returned++;
    }
}

START_TEST(test_notify_all_many)
{
    for (enum kind k = 0; k < KINDS; k++) {
        subject_init(&many.s, k);
        many.queued = many.returned = 0;
        ct_group g;
        ct_group_start(&g, MANY, many_waiter, NULL);
        CT_WAIT_UNTIL(read_locked(&many.s.cond, &many.queued) == MANY);
        CT_WITH(&many.s.cond) {
            ck_assert_int_eq(ct_cond_notify_all(&many.s.cond), 0);
        }
        ct_group_join(&g);
        ck_assert_int_eq(many.returned, MANY);
        ck_assert_ptr_null(many.s.cond.head);
    }
}
END_TEST

/* notify(0) wakes nobody; notify(n) with fewer than n waiting wakes them
 * all; a notify with nobody waiting is not kept for a later wait. */
START_TEST(test_notify_counts)
{
    const double forever[2] = { CT_FOREVER, CT_FOREVER };
    for (enum kind k = 0; k < KINDS; k++) {
        ct_group g;
        start_waiters(&g, k, 2, forever);
        notify_locked(&w.s.cond, 0);
        ct_sleep(0.02); /* gives a wrongly woken waiter the chance to return */
        ck_assert_int_eq(read_locked(&w.s.cond, &w.returned), 0);
        notify_locked(&w.s.cond, 100);
        ct_group_join(&g);
        ck_assert_int_eq(w.rc[0], 0);
        ck_assert_int_eq(w.rc[1], 0);

        CT_WITH(&w.s.cond) {
            ck_assert_int_eq(ct_cond_notify(&w.s.cond, 5), 0);
            ck_assert_int_eq(ct_cond_notify_all(&w.s.cond), 0);
            ck_assert_int_eq(ct_cond_wait_timeout(&w.s.cond, 0.02), ETIMEDOUT);
        }
    }
}
END_TEST

/* A waiter whose timeout fires while it cannot take the lock back is still
 * in the queue: a notify reaches it, before or after the timeout, and it
 * returns 0, also when it is not the first notified (and so gets the lock
 * back without the baton). One not notified returns ETIMEDOUT and takes no
 * notification from the others. */
START_TEST(test_timeout_while_notified)
{
    const double timeouts[3] = { CT_FOREVER, 0.05, 0.05 };
    for (enum kind k = 0; k < KINDS; k++) {
        for (int notify_first = 0; notify_first < 2; notify_first++) {
            ct_group g;
            start_waiters(&g, k, 3, timeouts);
            ck_assert_int_eq(ct_cond_acquire(&w.s.cond), 0);
            if (notify_first)
                ck_assert_int_eq(ct_cond_notify(&w.s.cond, 2), 0);
            ct_sleep(0.1); /* past the timeouts, holding the lock */
            if (!notify_first)
                ck_assert_int_eq(ct_cond_notify(&w.s.cond, 2), 0);
            ck_assert_int_eq(ct_cond_release(&w.s.cond), 0);
            ct_group_join(&g);
            ck_assert_int_eq(w.rc[0], 0);
            ck_assert_int_eq(w.rc[1], 0);
            ck_assert_int_eq(w.rc[2], ETIMEDOUT);
            ck_assert_ptr_null(w.s.cond.head);
        }
    }
}
END_TEST

/* A waiter that timed out leaves the queue: the next notify reaches the
 * one still waiting. */
START_TEST(test_timed_out_waiter_leaves)
{
    const double timeouts[2] = { 0.02, CT_FOREVER };
    for (enum kind k = 0; k < KINDS; k++) {
        ct_group g;
        start_waiters(&g, k, 2, timeouts);
        CT_WAIT_UNTIL(read_locked(&w.s.cond, &w.returned) == 1);
        ck_assert_int_eq(w.rc[0], ETIMEDOUT);
        notify_locked(&w.s.cond, 1);
        ct_group_join(&g);
        ck_assert_int_eq(w.rc[1], 0);
    }
}
END_TEST

/* The word of the Lock under the condition: 0 once nobody holds it or
 * waits for it. */
static uint32_t lock_word(const struct subject *s, enum kind k)
{
    const ct_lock_t *l = k == LOCK ? &s->lock : k == RLOCK ? &s->rlock.lock : &s->cond.own.lock;
    return __atomic_load_n(&l->word, __ATOMIC_RELAXED);
}

/* Waiters notified while asleep are moved onto the lock: none returns
 * before the notifier releases it, then all return, one at a time, and
 * the lock counts none of them as a waiter afterwards (also the ones whose
 * timeout fired while they sat on the lock). */
START_TEST(test_notified_waiters_wait_for_release)
{
    const double timeouts[3] = { CT_FOREVER, 0.05, CT_FOREVER };
    for (enum kind k = 0; k < KINDS; k++) {
        ct_group g;
        start_waiters(&g, k, 3, timeouts);
        ck_assert_int_eq(ct_cond_acquire(&w.s.cond), 0);
        ct_sleep(0.02); /* gives the waiters the chance to fall asleep */
        ck_assert_int_eq(ct_cond_notify_all(&w.s.cond), 0);
        ct_sleep(0.1); /* past the timeout, holding the lock */
        ck_assert_int_eq(w.returned, 0);
        ck_assert_int_eq(ct_cond_release(&w.s.cond), 0);
        ct_group_join(&g);
        for (int i = 0; i < 3; i++) {
            ck_assert_int_eq(w.rc[i], 0);
            ck_assert_int_eq(w.order[i], i);
        }
        ck_assert_uint_eq(lock_word(&w.s, k), 0);
    }
}
END_TEST

/* CT_FOREVER, +INFINITY and more than CT_TIMEOUT_MAX wait until notified. */
START_TEST(test_wait_forever)
{
    const double timeouts[3] = { CT_FOREVER, INFINITY, 1e300 };
    for (enum kind k = 0; k < KINDS; k++) {
        ct_group g;
        start_waiters(&g, k, 3, timeouts);
        ct_sleep(0.02); /* gives a waiter the chance to return too early */
        ck_assert_int_eq(read_locked(&w.s.cond, &w.returned), 0);
        notify_locked(&w.s.cond, SIZE_MAX);
        ct_group_join(&g);
        for (int i = 0; i < 3; i++)
            ck_assert_int_eq(w.rc[i], 0);
    }
}
END_TEST

/* NaN and negatives other than CT_FOREVER: EINVAL before anything is
 * released; the lock stays held at its depth. */
START_TEST(test_wait_invalid_timeout)
{
    const double bad[] = { NAN, -2.0, -0.5, -INFINITY };
    for (enum kind k = 0; k < KINDS; k++) {
        struct subject s;
        subject_init(&s, k);
        int depth = k == LOCK ? 1 : 2;
        for (int i = 0; i < depth; i++)
            ck_assert_int_eq(ct_cond_acquire(&s.cond), 0);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            int calls = 0;
            ck_assert_int_eq(ct_cond_wait_timeout(&s.cond, bad[i]), EINVAL);
            errno = 0;
            ck_assert(!ct_cond_wait_for(&s.cond, never, &calls, bad[i]));
            ck_assert_int_eq(errno, EINVAL);
            errno = 0;
            ck_assert(!CT_COND_WAIT_FOR(&s.cond, never(&calls), bad[i]));
            ck_assert_int_eq(errno, EINVAL);
            ck_assert_int_eq(calls, 0);
        }
        ck_assert_int_eq(release_all(&s.cond), depth);
    }
}
END_TEST

/* wait releases an RLock held at depth 3 (another thread takes it) and
 * restores depth 3: notified, or after a timeout. */
static struct {
    struct subject s;
    int waiting;      /* the waiter is about to wait */
    int helper_rc;
} dp;

static void depth_helper(void *arg, int i)
{
    (void)arg;
    (void)i;
    spin_until_set(&dp.waiting);
    /* Succeeds only once the waiter has released every level. */
    dp.helper_rc = ct_cond_acquire_timeout(&dp.s.cond, 10.0 * ct_test_scale());
    if (dp.helper_rc == 0) {
        ct_cond_notify(&dp.s.cond, 1);
        ct_cond_release(&dp.s.cond);
    }
}

static int wait_at_depth_3(double timeout)
{
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ct_cond_acquire(&dp.s.cond), 0);
    __atomic_store_n(&dp.waiting, 1, __ATOMIC_RELEASE);
    return timeout == CT_FOREVER ? ct_cond_wait(&dp.s.cond)
                                 : ct_cond_wait_timeout(&dp.s.cond, timeout);
}

START_TEST(test_wait_restores_depth)
{
    const enum kind kinds[] = { OWN, RLOCK };
    for (int j = 0; j < 2; j++) {
        double timeouts[] = { CT_FOREVER, 10.0 * ct_test_scale() };
        for (int t = 0; t < 2; t++) {
            subject_init(&dp.s, kinds[j]);
            dp.waiting = 0;
            ct_group g;
            ct_group_start(&g, 1, depth_helper, NULL);
            ck_assert_int_eq(wait_at_depth_3(timeouts[t]), 0);
            ct_group_join(&g);
            ck_assert_int_eq(dp.helper_rc, 0);
            ck_assert_int_eq(release_all(&dp.s.cond), 3);
        }
        subject_init(&dp.s, kinds[j]);
        ck_assert_int_eq(wait_at_depth_3(0.05), ETIMEDOUT);
        ck_assert_int_eq(release_all(&dp.s.cond), 3);
    }
}
END_TEST

/* Signals interrupt the sleep again and again: a wait still lasts its whole
 * timeout, and a notified one returns 0. */
START_TEST(test_wait_under_signal_storm)
{
    const double forever[1] = { CT_FOREVER };
    for (enum kind k = 0; k < KINDS; k++) {
        struct subject s;
        subject_init(&s, k);
        ct_storm_start();
        ck_assert_int_eq(ct_cond_acquire(&s.cond), 0);
        double start = ct_monotonic();
        ck_assert_int_eq(ct_cond_wait_timeout(&s.cond, 0.2), ETIMEDOUT);
        CT_ASSERT_TOOK(start, 0.2);
        ck_assert_int_eq(ct_cond_release(&s.cond), 0);

        ct_group g;
        start_waiters(&g, k, 1, forever);
        ct_sleep(0.05); /* signals land on the sleeping waiter */
        ck_assert_int_eq(read_locked(&w.s.cond, &w.returned), 0);
        notify_locked(&w.s.cond, 1);
        ct_group_join(&g);
        ck_assert_int_eq(w.rc[0], 0);
        ck_assert_int_gt(ct_storm_stop(), 0);
    }
}
END_TEST

static int macro_state; /* under the lock */

static void macro_stepper(void *arg, int i)
{
    (void)i;
    ct_cond_t *c = arg;
    for (int step = 0; step < 3; step++) {
        ct_sleep(0.005);
        CT_WITH(c) {
            macro_state++;
            ct_cond_notify_all(c);
        }
    }
}

START_TEST(test_wait_for_macro)
{
    for (enum kind k = 0; k < KINDS; k++) {
        struct subject s;
        subject_init(&s, k);
        ct_cond_t *c = &s.cond;
        int evals = 0, cond_evals = 0, timeout_evals = 0;
        macro_state = 0;
        CT_WITH(c) {
            /* True at once: evaluated once, no wait. */
            ck_assert(CT_COND_WAIT_FOR(c, (evals++, macro_state == 0), CT_FOREVER));
            ck_assert_int_eq(evals, 1);
            /* The condition and the timeout are evaluated once each. */
            ck_assert(CT_COND_WAIT_FOR((cond_evals++, c), true, (timeout_evals++, 1.0)));
            ck_assert_int_eq(cond_evals, 1);
            ck_assert_int_eq(timeout_evals, 1);
            /* Timeout 0: the expression before and after one wait, as Python. */
            evals = 0;
            errno = 0;
            ck_assert(!CT_COND_WAIT_FOR(c, (evals++, macro_state == 1), 0));
            ck_assert_int_eq(errno, ETIMEDOUT);
            ck_assert_int_eq(evals, 2);
            /* One deadline for all the waits. */
            double start = ct_monotonic();
            ck_assert(!CT_COND_WAIT_FOR(c, macro_state == 99, 0.05));
            ck_assert_int_eq(errno, ETIMEDOUT);
            CT_ASSERT_TOOK(start, 0.05);
        }

        ct_group g;
        ct_group_start(&g, 1, macro_stepper, c);
        CT_WITH(c) {
            errno = 0;
            ck_assert(CT_COND_WAIT_FOR(c, macro_state >= 3 && evals > 0, CT_FOREVER));
            ck_assert_int_eq(macro_state, 3);
            ck_assert_int_eq(errno, 0);
        }
        ct_group_join(&g);
        ck_assert_int_eq(ct_cond_release(c), EPERM);
    }
}
END_TEST

static int other_rc;

static void try_from_other(void *arg, int i)
{
    (void)i;
    ct_cond_t *c = arg;
    other_rc = ct_cond_try_acquire(c);
    if (other_rc == 0)
        ct_cond_release(c);
}

/* Another thread's try_acquire on the condition: 0 or EBUSY. */
static int try_elsewhere(ct_cond_t *c)
{
    ct_group_run(1, try_from_other, c);
    return other_rc;
}

START_TEST(test_with)
{
    for (enum kind k = 0; k < KINDS; k++) {
        struct subject s;
        subject_init(&s, k);
        CT_WITH(&s.cond) {
            ck_assert_int_eq(try_elsewhere(&s.cond), EBUSY);
            ck_assert_int_eq(ct_cond_notify(&s.cond, 1), 0);
            ck_assert_int_eq(ct_cond_wait_timeout(&s.cond, 0.001), ETIMEDOUT);
        }
        ck_assert_int_eq(try_elsewhere(&s.cond), 0);
        ck_assert_int_eq(ct_cond_notify(&s.cond, 1), EPERM);
        for (int i = 0; i < 3; i++) {
            CT_WITH(&s.cond) {
                if (i == 1)
                    break; /* leaves the CT_WITH block, releasing */
            }
        }
        ck_assert_int_eq(try_elsewhere(&s.cond), 0);
        ck_assert_int_eq(ct_cond_release(&s.cond), EPERM);
    }
}
END_TEST

/* ---- stress -------------------------------------------------------------- */

/* A bounded buffer, as queue.Queue builds it: two conditions on one lock.
 * Producers run for a bounded time; waits mix CT_FOREVER with short random
 * timeouts, notifies mix notify(1) with notify_all. Every item must be
 * consumed exactly once, every thread must finish, no waiter may remain. */
#define CAPACITY 4
#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 50000

static struct {
    ct_lock_t lock;
    ct_rlock_t rlock;
    ct_cond_t not_empty, not_full;
    int buf[CAPACITY];
    int first, count;           /* under the lock, as the rest */
    int producers_done;
    double stop_at;
    int made[PRODUCERS];
    long consumed;
    int bad_rc;
    unsigned char seen[PRODUCERS * PER_PRODUCER];
} pc;

static void pc_wait(ct_cond_t *c, unsigned *seed)
{
    int rc = rand_r(seed) % 4 == 0 ? ct_cond_wait(c)
                                   : ct_cond_wait_timeout(c, (rand_r(seed) % 2000) * 1e-6);
    if (rc != 0 && rc != ETIMEDOUT)
        pc.bad_rc = rc;
}

static void pc_notify(ct_cond_t *c, unsigned *seed)
{
    int rc = rand_r(seed) % 4 == 0 ? ct_cond_notify_all(c) : ct_cond_notify(c, 1);
    if (rc != 0)
        pc.bad_rc = rc;
}

static void producer(int i)
{
    unsigned seed = (unsigned)i * 7919u + 1u;
    int n = 0;
    while (n < PER_PRODUCER && ct_monotonic() < pc.stop_at) {
        ct_cond_acquire(&pc.not_full);
        while (pc.count == CAPACITY)
            pc_wait(&pc.not_full, &seed);
        pc.buf[(pc.first + pc.count++) % CAPACITY] = i * PER_PRODUCER + n++;
        pc_notify(&pc.not_empty, &seed);
        ct_cond_release(&pc.not_full);
    }
    ct_cond_acquire(&pc.not_full);
    pc.made[i] = n;
    if (++pc.producers_done == PRODUCERS)
        ct_cond_notify_all(&pc.not_empty);
    ct_cond_release(&pc.not_full);
}

static void consumer(int i)
{
    unsigned seed = (unsigned)i * 104729u + 17u;
    for (;;) {
        ct_cond_acquire(&pc.not_empty);
        while (pc.count == 0 && pc.producers_done < PRODUCERS)
            pc_wait(&pc.not_empty, &seed);
        if (pc.count == 0) {
            ct_cond_release(&pc.not_empty);
            return;
        }
        int item = pc.buf[pc.first];
        pc.first = (pc.first + 1) % CAPACITY;
        pc.count--;
        pc.seen[item]++;
        pc.consumed++;
        pc_notify(&pc.not_full, &seed);
        ct_cond_release(&pc.not_empty);
    }
}

static void both_roles(void *arg, int i)
{
    (void)arg;
    if (i < PRODUCERS)
        producer(i);
    else
        consumer(i - PRODUCERS);
}

static void stress(enum kind k)
{
    memset(&pc, 0, sizeof pc);
    ct_lock_init(&pc.lock);
    ct_rlock_init(&pc.rlock);
    if (k == LOCK) {
        ct_cond_init_lock(&pc.not_empty, &pc.lock);
        ct_cond_init_lock(&pc.not_full, &pc.lock);
    } else {
        ct_cond_init_rlock(&pc.not_empty, &pc.rlock);
        ct_cond_init_rlock(&pc.not_full, &pc.rlock);
    }
    pc.stop_at = ct_monotonic() + 0.5;
    ct_group_run(PRODUCERS + CONSUMERS, both_roles, NULL);

    ck_assert_int_eq(pc.bad_rc, 0);
    ck_assert_int_eq(pc.count, 0);
    long made = 0, wrong = 0;
    for (int p = 0; p < PRODUCERS; p++) {
        ck_assert_int_gt(pc.made[p], 0);
        made += pc.made[p];
        for (int n = 0; n < PER_PRODUCER; n++)
            wrong += pc.seen[p * PER_PRODUCER + n] != (n < pc.made[p]);
    }
    ck_assert_int_eq(wrong, 0);
    ck_assert_int_eq(pc.consumed, made);
    ck_assert_ptr_null(pc.not_empty.head);
    ck_assert_ptr_null(pc.not_full.head);
}

START_TEST(test_stress_bounded_buffer)
{
    stress(LOCK);
    stress(RLOCK);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("cond");
    CT_TEST_ADD(s, test_acquire);
    CT_TEST_ADD(s, test_unacquired_wait);
    CT_TEST_ADD(s, test_unacquired_notify);
    CT_TEST_ADD(s, test_held_by_other_thread);
    CT_TEST_ADD(s, test_notify);
    CT_TEST_ADD(s, test_timeout);
    CT_TEST_ADD(s, test_waitfor);
    CT_TEST_ADD(s, test_waitfor_timeout);
    CT_TEST_ADD(s, test_waitfor_one_deadline);
    CT_TEST_ADD(s, test_wait_result);
    CT_TEST_ADD(s, test_notify_fifo);
    CT_TEST_ADD(s, test_notify_all_many);
    CT_TEST_ADD(s, test_notify_counts);
    CT_TEST_ADD(s, test_timeout_while_notified);
    CT_TEST_ADD(s, test_timed_out_waiter_leaves);
    CT_TEST_ADD(s, test_notified_waiters_wait_for_release);
    CT_TEST_ADD(s, test_wait_forever);
    CT_TEST_ADD(s, test_wait_invalid_timeout);
    CT_TEST_ADD(s, test_wait_restores_depth);
    CT_TEST_ADD(s, test_wait_under_signal_storm);
    CT_TEST_ADD(s, test_wait_for_macro);
    CT_TEST_ADD(s, test_with);
    CT_TEST_ADD(s, test_stress_bounded_buffer);
    return s;
}

CT_TEST_MAIN(make_suite)
