/*
 * Lock and RLock: CPython's lock_tests.py BaseLockTests (run for both
 * kinds) and LockTests, plus bad timeouts, signal storms, a stress test
 * and a starvation test.
 */
#include "support.h"

#include <math.h>

/* The operations BaseLockTests needs, for either kind of lock. */
struct kind {
    int (*acquire)(void *);
    int (*try_acquire)(void *);
    int (*acquire_timeout)(void *, double);
    int (*release)(void *);
    bool (*locked)(const void *);
};

static int l_acquire(void *l) { return ct_lock_acquire(l); }
static int l_try(void *l) { return ct_lock_try_acquire(l); }
static int l_timeout(void *l, double t) { return ct_lock_acquire_timeout(l, t); }
static int l_release(void *l) { return ct_lock_release(l); }
static bool l_locked(const void *l) { return ct_lock_locked(l); }
static int r_acquire(void *r) { return ct_rlock_acquire(r); }
static int r_try(void *r) { return ct_rlock_try_acquire(r); }
static int r_timeout(void *r, double t) { return ct_rlock_acquire_timeout(r, t); }
static int r_release(void *r) { return ct_rlock_release(r); }
static bool r_locked(const void *r) { return ct_rlock_locked(r); }

static const struct kind lock_kind = { l_acquire, l_try, l_timeout, l_release, l_locked };
static const struct kind rlock_kind = { r_acquire, r_try, r_timeout, r_release, r_locked };

/* One object of either kind, with the counters the threads report to. */
struct subject {
    const struct kind *k;
    union {
        ct_lock_t lock;
        ct_rlock_t rlock;
    } u;
    int started, finished, result;
    double took;
};

static void subject_init(struct subject *s, const struct kind *k)
{
    s->k = k;
    if (k == &lock_kind)
        ct_lock_init(&s->u.lock);
    else
        ct_rlock_init(&s->u.rlock);
    s->started = s->finished = s->result = 0;
}

static void try_in_thread(void *arg, int i)
{
    (void)i;
    struct subject *s = arg;
    s->result = s->k->try_acquire(&s->u);
    if (s->result == 0)
        s->k->release(&s->u);
}

static void acquire_release(void *arg, int i)
{
    (void)i;
    struct subject *s = arg;
    BUMP(s->started);
    ck_assert_int_eq(s->k->acquire(&s->u), 0);
    ck_assert_int_eq(s->k->release(&s->u), 0);
    BUMP(s->finished);
}

static void timed_acquire(void *arg, int i)
{
    (void)i;
    struct subject *s = arg;
    double t0 = ct_monotonic();
    s->result = s->k->acquire_timeout(&s->u, 0.5);
    s->took = ct_monotonic() - t0;
}

static void base_acquire_release(const struct kind *k)
{
    struct subject s;
    subject_init(&s, k);
    ck_assert(!k->locked(&s.u));
    ck_assert_int_eq(k->acquire(&s.u), 0);
    ck_assert(k->locked(&s.u));
    ck_assert_int_eq(k->release(&s.u), 0);
    ck_assert(!k->locked(&s.u));
}

static void base_try_acquire(const struct kind *k)
{
    struct subject s;
    subject_init(&s, k);
    ck_assert_int_eq(k->try_acquire(&s.u), 0);
    ck_assert_int_eq(k->release(&s.u), 0);
}

static void base_try_acquire_contended(const struct kind *k)
{
    struct subject s;
    subject_init(&s, k);
    ck_assert_int_eq(k->acquire(&s.u), 0);
    ct_group_run(1, try_in_thread, &s);
    ck_assert_int_eq(s.result, EBUSY);
    ck_assert_int_eq(k->release(&s.u), 0);
}

static void base_acquire_contended(const struct kind *k)
{
    struct subject s;
    subject_init(&s, k);
    ck_assert_int_eq(k->acquire(&s.u), 0);
    ct_group g;
    ct_group_start(&g, 5, acquire_release, &s);
    CT_WAIT_UNTIL(READ(s.started) == 5);
    ct_sleep(0.01);
    ck_assert_int_eq(READ(s.finished), 0);
    ck_assert_int_eq(k->release(&s.u), 0);
    ct_group_join(&g);
    ck_assert_int_eq(s.finished, 5);
}

static void base_timeout(const struct kind *k)
{
    struct subject s;
    subject_init(&s, k);
    ck_assert_int_eq(k->acquire_timeout(&s.u, -100), EINVAL);
    ck_assert_int_eq(k->acquire_timeout(&s.u, NAN), EINVAL);
    ck_assert_int_eq(k->acquire_timeout(&s.u, -2), EINVAL);
    ck_assert(!k->locked(&s.u));
    ck_assert_int_eq(k->acquire_timeout(&s.u, CT_TIMEOUT_MAX), 0);
    ck_assert_int_eq(k->release(&s.u), 0);
    ck_assert_int_eq(k->acquire_timeout(&s.u, 1e100), 0);
    ck_assert_int_eq(k->release(&s.u), 0);
    ck_assert_int_eq(k->acquire_timeout(&s.u, INFINITY), 0);
    ck_assert_int_eq(k->release(&s.u), 0);
    double t0 = ct_monotonic();
    ck_assert_int_eq(k->acquire_timeout(&s.u, 5), 0);
    ck_assert(ct_monotonic() - t0 < 5);
    ct_group_run(1, timed_acquire, &s);
    ck_assert_int_eq(s.result, ETIMEDOUT);
    CT_ASSERT_DURATION(s.took, 0.5);
    ck_assert_int_eq(k->release(&s.u), 0);
}

static void base_zero_timeout(const struct kind *k)
{
    struct subject s;
    subject_init(&s, k);
    ck_assert_int_eq(k->acquire_timeout(&s.u, 0), 0);
    ct_group_run(1, try_in_thread, &s);
    ck_assert_int_eq(s.result, EBUSY);
    ck_assert_int_eq(k->release(&s.u), 0);
}

static void base_timeout_under_signals(const struct kind *k)
{
    struct subject s;
    subject_init(&s, k);
    ck_assert_int_eq(k->acquire(&s.u), 0);
    ct_storm_start();
    ct_group_run(1, timed_acquire, &s);
    ck_assert_int_gt(ct_storm_stop(), 0);
    ck_assert_int_eq(s.result, ETIMEDOUT);
    CT_ASSERT_DURATION(s.took, 0.5);
    ck_assert_int_eq(k->release(&s.u), 0);
}

static void base_acquire_under_signals(const struct kind *k)
{
    struct subject s;
    subject_init(&s, k);
    ck_assert_int_eq(k->acquire(&s.u), 0);
    ct_storm_start();
    ct_group g;
    ct_group_start(&g, 3, acquire_release, &s);
    CT_WAIT_UNTIL(READ(s.started) == 3);
    ct_sleep(0.1);
    ck_assert_int_eq(READ(s.finished), 0);
    ck_assert_int_eq(k->release(&s.u), 0);
    ct_group_join(&g);
    ck_assert_int_gt(ct_storm_stop(), 0);
    ck_assert_int_eq(s.finished, 3);
}

/* Leaking no thread objects (test_thread_leak) is the thread tests' job;
 * test_repr and test_constructor have no C meaning beyond init. */
#define BOTH_KINDS(name)                                                  \
    START_TEST(lock_##name) { base_##name(&lock_kind); } END_TEST         \
    START_TEST(rlock_##name) { base_##name(&rlock_kind); } END_TEST

BOTH_KINDS(acquire_release)
BOTH_KINDS(try_acquire)
BOTH_KINDS(try_acquire_contended)
BOTH_KINDS(acquire_contended)
BOTH_KINDS(timeout)
BOTH_KINDS(zero_timeout)
BOTH_KINDS(timeout_under_signals)
BOTH_KINDS(acquire_under_signals)

static void reacquire_in_thread(void *arg, int i)
{
    (void)i;
    struct subject *s = arg;
    ck_assert_int_eq(ct_lock_acquire(&s->u.lock), 0);
    BUMP(s->started);
    ck_assert_int_eq(ct_lock_acquire(&s->u.lock), 0);
    BUMP(s->finished);
}

START_TEST(lock_reacquire)
{
    struct subject s;
    subject_init(&s, &lock_kind);
    ct_group g;
    ct_group_start(&g, 1, reacquire_in_thread, &s);
    CT_WAIT_UNTIL(READ(s.started) == 1);
    ct_sleep(0.01);
    ck_assert_int_eq(READ(s.finished), 0);
    ck_assert_int_eq(ct_lock_release(&s.u.lock), 0);
    ct_group_join(&g);
    ck_assert_int_eq(s.finished, 1);
}
END_TEST

static void release_in_thread(void *arg, int i)
{
    (void)i;
    struct subject *s = arg;
    s->result = ct_lock_release(&s->u.lock);
}

START_TEST(lock_different_thread)
{
    struct subject s;
    subject_init(&s, &lock_kind);
    ck_assert_int_eq(ct_lock_acquire(&s.u.lock), 0);
    ct_group_run(1, release_in_thread, &s);
    ck_assert_int_eq(s.result, 0);
    ck_assert_int_eq(ct_lock_acquire(&s.u.lock), 0);
    ck_assert_int_eq(ct_lock_release(&s.u.lock), 0);
}
END_TEST

START_TEST(lock_state_after_timeout)
{
    ct_lock_t l = CT_LOCK_INIT;
    ck_assert_int_eq(ct_lock_acquire(&l), 0);
    ck_assert_int_eq(ct_lock_acquire_timeout(&l, 0.01), ETIMEDOUT);
    ck_assert_int_eq(ct_lock_release(&l), 0);
    ck_assert(!ct_lock_locked(&l));
    ck_assert_int_eq(ct_lock_try_acquire(&l), 0);
    ck_assert_int_eq(ct_lock_release(&l), 0);
    ck_assert_uint_eq(l.word, 0);
}
END_TEST

START_TEST(lock_release_unlocked)
{
    ct_lock_t l = CT_LOCK_INIT;
    ck_assert_int_eq(ct_lock_release(&l), EPERM);
    ck_assert_int_eq(ct_lock_acquire(&l), 0);
    ck_assert_int_eq(ct_lock_release(&l), 0);
    ck_assert_int_eq(ct_lock_release(&l), EPERM);
    ck_assert(!ct_lock_locked(&l));
}
END_TEST

START_TEST(lock_sizes)
{
    ck_assert_uint_le(sizeof(ct_lock_t), 4);
    ck_assert_uint_le(sizeof(ct_event_t), 4);
}
END_TEST

/* Stress: increments under the lock are exact while waits that time out
 * at random race releases and hand-offs; at the end nobody is left
 * counted as waiting (the word is back to 0). */
struct stress {
    ct_lock_t lock;
    long counter, done;
    double until;
};

static void stress_worker(void *arg, int i)
{
    struct stress *st = arg;
    unsigned seed = (unsigned)(i + 1) * 2654435761u;
    long n = 0;
    while (ct_monotonic() < st->until) {
        seed = seed * 1103515245u + 12345u;
        int rc = (seed >> 16) % 4 == 0
                     ? ct_lock_acquire_timeout(&st->lock, (double)((seed >> 8) % 200) * 1e-6)
                     : ct_lock_acquire(&st->lock);
        if (rc == ETIMEDOUT)
            continue;
        ck_assert_int_eq(rc, 0);
        st->counter++;
        n++;
        ck_assert_int_eq(ct_lock_release(&st->lock), 0);
    }
    __atomic_fetch_add(&st->done, n, __ATOMIC_SEQ_CST);
}

START_TEST(lock_stress)
{
    struct stress st = { .lock = CT_LOCK_INIT, .until = ct_monotonic() + 1.0 };
    ct_group_run(8, stress_worker, &st);
    ck_assert_int_gt(st.done, 0);
    ck_assert_int_eq(st.counter, st.done);
    ck_assert_uint_eq(st.lock.word, 0);
}
END_TEST

/* Starvation: a thread that holds the lock almost all the time, releasing
 * and re-acquiring it in a tight loop, cannot keep another thread waiting
 * for more than a few milliseconds, since a waiter older than about 1 ms
 * gets the lock handed to it. (Without the hand-off, the woken waiter
 * finds the lock taken again nearly every time, for seconds.) The bound
 * is generous because a loaded machine may hold any thread off its core
 * for tens of milliseconds. */
struct starve {
    ct_lock_t lock;
    int stop;
    long hogged;
};

static void hog(void *arg, int i)
{
    (void)i;
    struct starve *st = arg;
    while (!READ(st->stop)) {
        ct_lock_acquire(&st->lock);
        BUMP(st->hogged);
        double until = ct_monotonic() + 50e-6;
        while (ct_monotonic() < until)
            ;
        ct_lock_release(&st->lock);
    }
}

START_TEST(lock_no_starvation)
{
    struct starve st = { .lock = CT_LOCK_INIT };
    ct_group g;
    ct_group_start(&g, 1, hog, &st);
    CT_WAIT_UNTIL(READ(st.hogged) > 100);
    double worst = 0;
    for (int i = 0; i < 200; i++) {
        double t0 = ct_monotonic();
        ck_assert_int_eq(ct_lock_acquire(&st.lock), 0);
        double waited = ct_monotonic() - t0;
        ck_assert_int_eq(ct_lock_release(&st.lock), 0);
        worst = waited > worst ? waited : worst;
        ct_sleep(0.0005);
    }
    __atomic_store_n(&st.stop, 1, __ATOMIC_SEQ_CST);
    ct_group_join(&g);
    ck_assert_msg(worst < 0.2 * ct_test_scale(), "a waiter starved for %.4f s", worst);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("lock");
    CT_TEST_ADD(s, lock_acquire_release);
    CT_TEST_ADD(s, rlock_acquire_release);
    CT_TEST_ADD(s, lock_try_acquire);
    CT_TEST_ADD(s, rlock_try_acquire);
    CT_TEST_ADD(s, lock_try_acquire_contended);
    CT_TEST_ADD(s, rlock_try_acquire_contended);
    CT_TEST_ADD(s, lock_acquire_contended);
    CT_TEST_ADD(s, rlock_acquire_contended);
    CT_TEST_ADD(s, lock_timeout);
    CT_TEST_ADD(s, rlock_timeout);
    CT_TEST_ADD(s, lock_zero_timeout);
    CT_TEST_ADD(s, rlock_zero_timeout);
    CT_TEST_ADD(s, lock_timeout_under_signals);
    CT_TEST_ADD(s, rlock_timeout_under_signals);
    CT_TEST_ADD(s, lock_acquire_under_signals);
    CT_TEST_ADD(s, rlock_acquire_under_signals);
    CT_TEST_ADD(s, lock_reacquire);
    CT_TEST_ADD(s, lock_different_thread);
    CT_TEST_ADD(s, lock_state_after_timeout);
    CT_TEST_ADD(s, lock_release_unlocked);
    CT_TEST_ADD(s, lock_sizes);
    CT_TEST_ADD(s, lock_stress);
    CT_TEST_ADD(s, lock_no_starvation);
    return s;
}

CT_TEST_MAIN(make_suite)
