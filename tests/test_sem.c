/*
 * Semaphore and BoundedSemaphore: CPython's lock_tests.py
 * BaseSemaphoreTests (run for both kinds), SemaphoreTests and
 * BoundedSemaphoreTests, plus bad timeouts, signal storms, release(n)
 * waking exactly n, overflow, ordering, a stress test and starvation tests.
 */
#include "support.h"

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* A semaphore, bounded or not, and the counters its threads report to. */
struct subject {
    ct_sem_t sem;
    int started, finished, phase, taken, busy, result;
    int per_phase[3];
};

/* Once its waiters have left, a semaphore holds value permits and no
 * hand-off claim: sem.c's state is IDLE, or WAITERS left for the next
 * release to clear. */
static void assert_settled(ct_sem_t *s, unsigned value)
{
    uint32_t w = READ(s->word);
    ck_assert_uint_eq(w & CT_SEM_VALUE_MAX, value);
    ck_assert_uint_le(w >> 30, 1);
}

static void subject_init(struct subject *s, bool bounded, unsigned value)
{
    memset(s, 0, sizeof *s);
    int rc = bounded ? ct_sem_init_bounded(&s->sem, value) : ct_sem_init(&s->sem, value);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(ct_sem_value(&s->sem), value);
}

static void acquire_release(void *arg, int i)
{
    (void)i;
    struct subject *s = arg;
    BUMP(s->started);
    ck_assert_int_eq(ct_sem_acquire(&s->sem), 0);
    ck_assert_int_eq(ct_sem_release(&s->sem, 1), 0);
    BUMP(s->finished);
}

/* Acquires, by a different call per thread, and keeps the permit. */
static void acquire_keep(void *arg, int i)
{
    struct subject *s = arg;
    BUMP(s->started);
    switch (i % 3) {
    case 0:
        ck_assert_int_eq(ct_sem_acquire(&s->sem), 0);
        break;
    case 1:
        ck_assert_int_eq(ct_sem_acquire_timeout(&s->sem, INFINITY), 0);
        break;
    default:
        ck_assert_int_eq(ct_sem_acquire_timeout(&s->sem, 60 * ct_test_scale()), 0);
        break;
    }
    BUMP(s->finished);
}

static void base_constructor(bool bounded)
{
    ct_sem_t s;
    int (*init)(ct_sem_t *, unsigned) = bounded ? ct_sem_init_bounded : ct_sem_init;
    ck_assert_int_eq(init(&s, (unsigned)-1), EINVAL);
    ck_assert_int_eq(init(&s, CT_SEM_VALUE_MAX + 1u), EINVAL);
    ck_assert_int_eq(init(&s, CT_SEM_VALUE_MAX), 0);
    ck_assert_uint_eq(ct_sem_value(&s), CT_SEM_VALUE_MAX);
    ck_assert_int_eq(init(&s, 0), 0);
    ck_assert_uint_eq(ct_sem_value(&s), 0);
}

static void base_acquire(bool bounded)
{
    struct subject s;
    subject_init(&s, bounded, 1);
    ck_assert_int_eq(ct_sem_acquire(&s.sem), 0);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 0);
    ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    subject_init(&s, bounded, 2);
    ck_assert_int_eq(ct_sem_acquire(&s.sem), 0);
    ck_assert_int_eq(ct_sem_acquire(&s.sem), 0);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 0);
    ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 2);
}

/* Nothing to destroy: a held semaphore's memory may simply be freed. */
static void base_acquire_destroy(bool bounded)
{
    struct subject *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    subject_init(s, bounded, 1);
    ck_assert_int_eq(ct_sem_acquire(&s->sem), 0);
    free(s);
}

static void take_twice(void *arg, int i)
{
    (void)i;
    struct subject *s = arg;
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(ct_sem_acquire(&s->sem), 0);
        BUMP(s->per_phase[READ(s->phase)]);
        BUMP(s->taken);
    }
}

/* Waits until count permits were taken; exactly that many can be. */
static void wait_taken(struct subject *s, int count, int p0, int p1, int p2)
{
    CT_WAIT_UNTIL(READ(s->taken) >= count);
    ck_assert_int_eq(READ(s->taken), count);
    ck_assert_int_eq(READ(s->per_phase[0]), p0);
    ck_assert_int_eq(READ(s->per_phase[1]), p1);
    ck_assert_int_eq(READ(s->per_phase[2]), p2);
}

/* test_acquire_contended and test_multirelease: 10 threads take two
 * permits each from a semaphore of 7 whose main thread holds one; the
 * permits released in each phase go to exactly as many acquisitions. */
static void contended(bool bounded, bool multirelease)
{
    struct subject s;
    subject_init(&s, bounded, 7);
    ck_assert_int_eq(ct_sem_acquire(&s.sem), 0);
    ct_group g;
    ct_group_start(&g, 10, take_twice, &s);
    wait_taken(&s, 6, 6, 0, 0);
    WRITE(s.phase, 1);
    if (multirelease) {
        ck_assert_int_eq(ct_sem_release(&s.sem, 7), 0);
    } else {
        for (int i = 0; i < 7; i++)
            ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    }
    wait_taken(&s, 13, 6, 7, 0);
    WRITE(s.phase, 2);
    if (multirelease) {
        ck_assert_int_eq(ct_sem_release(&s.sem, 6), 0);
    } else {
        for (int i = 0; i < 6; i++)
            ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    }
    wait_taken(&s, 19, 6, 7, 6);
    ck_assert_int_eq(ct_sem_try_acquire(&s.sem), EBUSY);
    ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    ct_group_join(&g);
    ck_assert_int_eq(s.taken, 20);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 0);
}

static void base_acquire_contended(bool bounded) { contended(bounded, false); }
static void base_multirelease(bool bounded) { contended(bounded, true); }

static void base_try_acquire(bool bounded)
{
    struct subject s;
    subject_init(&s, bounded, 2);
    ck_assert_int_eq(ct_sem_try_acquire(&s.sem), 0);
    ck_assert_int_eq(ct_sem_try_acquire(&s.sem), 0);
    ck_assert_int_eq(ct_sem_try_acquire(&s.sem), EBUSY);
    ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    ck_assert_int_eq(ct_sem_try_acquire(&s.sem), 0);
}

static void try_twice(void *arg, int i)
{
    (void)i;
    struct subject *s = arg;
    for (int k = 0; k < 2; k++) {
        int rc = ct_sem_try_acquire(&s->sem);
        if (rc == 0)
            BUMP(s->taken);
        else if (rc == EBUSY)
            BUMP(s->busy);
    }
}

static void base_try_acquire_contended(bool bounded)
{
    struct subject s;
    subject_init(&s, bounded, 4);
    ck_assert_int_eq(ct_sem_acquire(&s.sem), 0);
    ct_group_run(5, try_twice, &s);
    ck_assert_int_eq(s.taken, 3);
    ck_assert_int_eq(s.busy, 7);
}

static void base_acquire_timeout(bool bounded)
{
    struct subject s;
    subject_init(&s, bounded, 2);
    ck_assert_int_eq(ct_sem_acquire_timeout(&s.sem, 0.005), 0);
    ck_assert_int_eq(ct_sem_acquire_timeout(&s.sem, 0.005), 0);
    ck_assert_int_eq(ct_sem_acquire_timeout(&s.sem, 0.005), ETIMEDOUT);
    ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    ck_assert_int_eq(ct_sem_acquire_timeout(&s.sem, 0.005), 0);
    double t0 = ct_monotonic();
    ck_assert_int_eq(ct_sem_acquire_timeout(&s.sem, 0.5), ETIMEDOUT);
    CT_ASSERT_TOOK(t0, 0.5);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 0);
}

/* Python's default value is 1; a thread blocks until it is released. */
static void base_default_value(bool bounded)
{
    struct subject s;
    subject_init(&s, bounded, 1);
    ck_assert_int_eq(ct_sem_acquire(&s.sem), 0);
    ct_group g;
    ct_group_start(&g, 1, acquire_release, &s);
    CT_WAIT_UNTIL(READ(s.started) == 1);
    ct_sleep(0.01);
    ck_assert_int_eq(READ(s.finished), 0);
    ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    ct_group_join(&g);
    ck_assert_int_eq(s.finished, 1);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 1);
}

/* The body of test_with; leaving early plays the part of the exception. */
static int with_nested(ct_sem_t *sem, bool leave_early)
{
    CT_WITH(sem) {
        ck_assert_int_eq(ct_sem_try_acquire(sem), 0);
        ck_assert_int_eq(ct_sem_release(sem, 1), 0);
        CT_WITH(sem) {
            ck_assert_int_eq(ct_sem_try_acquire(sem), EBUSY);
            if (leave_early)
                return -1;
        }
    }
    return 0;
}

static void base_with(bool bounded)
{
    struct subject s;
    subject_init(&s, bounded, 2);
    ck_assert_int_eq(with_nested(&s.sem, false), 0);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 2);
    ck_assert_int_eq(with_nested(&s.sem, true), -1);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 2);
}

/* NaN and negatives other than CT_FOREVER are EINVAL whether or not a
 * permit is free, and take nothing. */
static void base_bad_timeouts(bool bounded)
{
    static const double bad[] = { NAN, -2.0, -100.0, -0.5, -INFINITY };
    struct subject s;
    subject_init(&s, bounded, 1);
    for (int free_permits = 1; free_permits >= 0; free_permits--) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            ck_assert_int_eq(ct_sem_acquire_timeout(&s.sem, bad[i]), EINVAL);
        ck_assert_uint_eq(ct_sem_value(&s.sem), (unsigned)free_permits);
        if (free_permits)
            ck_assert_int_eq(ct_sem_acquire(&s.sem), 0);
    }
    static const double forever[] = { CT_FOREVER, INFINITY, 1e100, CT_TIMEOUT_MAX };
    for (size_t i = 0; i < sizeof forever / sizeof forever[0]; i++) {
        ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
        ck_assert_int_eq(ct_sem_acquire_timeout(&s.sem, forever[i]), 0);
    }
}

static void base_zero_timeout(bool bounded)
{
    struct subject s;
    subject_init(&s, bounded, 1);
    ck_assert_int_eq(ct_sem_acquire_timeout(&s.sem, 0), 0);
    double t0 = ct_monotonic();
    ck_assert_int_eq(ct_sem_acquire_timeout(&s.sem, 0), ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 < 0.1 * ct_test_scale());
    ck_assert_int_eq(ct_sem_try_acquire(&s.sem), EBUSY);
}

/* Waits with no limit (the plain call, +INFINITY and a long timeout) end
 * when permits are released. */
static void base_infinite_timeout(bool bounded)
{
    struct subject s;
    subject_init(&s, bounded, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ct_sem_acquire(&s.sem), 0);
    ct_group g;
    ct_group_start(&g, 3, acquire_keep, &s);
    CT_WAIT_UNTIL(READ(s.started) == 3);
    ct_sleep(0.05);
    ck_assert_int_eq(READ(s.finished), 0);
    ck_assert_int_eq(ct_sem_release(&s.sem, 3), 0);
    ct_group_join(&g);
    ck_assert_int_eq(s.finished, 3);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 0);
}

/* A signal storm neither cuts a timed wait short nor stretches it. */
static void base_timeout_under_signals(bool bounded)
{
    struct subject s;
    subject_init(&s, bounded, 0);
    ct_storm_start();
    double t0 = ct_monotonic();
    int rc = ct_sem_acquire_timeout(&s.sem, 0.2);
    double took = ct_monotonic() - t0;
    ck_assert_int_gt(ct_storm_stop(), 0);
    ck_assert_int_eq(rc, ETIMEDOUT);
    CT_ASSERT_DURATION(took, 0.2);
}

/* Waiters that signals keep interrupting still get released permits. */
static void base_acquire_under_signals(bool bounded)
{
    struct subject s;
    subject_init(&s, bounded, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ct_sem_acquire(&s.sem), 0);
    ct_storm_start();
    ct_group g;
    ct_group_start(&g, 3, acquire_keep, &s);
    CT_WAIT_UNTIL(READ(s.started) == 3);
    ct_sleep(0.1);
    ck_assert_int_eq(READ(s.finished), 0);
    ck_assert_int_eq(ct_sem_release(&s.sem, 3), 0);
    ct_group_join(&g);
    ck_assert_int_gt(ct_storm_stop(), 0);
    ck_assert_int_eq(s.finished, 3);
}

static void base_release_zero(bool bounded)
{
    struct subject s;
    subject_init(&s, bounded, 1);
    ck_assert_int_eq(ct_sem_acquire(&s.sem), 0);
    ck_assert_int_eq(ct_sem_release(&s.sem, 0), EINVAL);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 0);
    ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    ck_assert_int_eq(ct_sem_release(&s.sem, 0), EINVAL);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 1);
}

/* m threads blocked in acquire on a semaphore of m permits, all taken. */
static void start_sleepers(struct subject *s, ct_group *g, bool bounded, int m)
{
    subject_init(s, bounded, (unsigned)m);
    for (int i = 0; i < m; i++)
        ck_assert_int_eq(ct_sem_acquire(&s->sem), 0);
    ct_group_start(g, m, acquire_keep, s);
    CT_WAIT_UNTIL(READ(s->started) == m);
    ct_sleep(0.02);
}

/* Exactly n of the sleepers got through: n did, and no other follows. */
static void expect_through(struct subject *s, int n)
{
    CT_WAIT_UNTIL(READ(s->finished) >= n);
    ct_sleep(0.05);
    ck_assert_int_eq(READ(s->finished), n);
}

/* release(n) lets exactly n of m waiters through, however many of them
 * were asleep yet. */
static void base_release_n_of_m(bool bounded)
{
    struct subject s;
    ct_group g;
    start_sleepers(&s, &g, bounded, 6);
    ck_assert_int_eq(ct_sem_release(&s.sem, 2), 0);
    expect_through(&s, 2);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 0);
    ck_assert_int_eq(ct_sem_release(&s.sem, 4), 0);
    ct_group_join(&g);
    ck_assert_int_eq(s.finished, 6);
    assert_settled(&s.sem, 0);
}

/* Two releases of one in a row let two sleepers through, even when the
 * second release comes before the first one's sleeper has run (sem.c: the
 * woken sleeper passes the second permit on). */
static void base_release_twice(bool bounded)
{
    struct subject s;
    ct_group g;
    start_sleepers(&s, &g, bounded, 3);
    ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    expect_through(&s, 2);
    ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
    ct_group_join(&g);
    assert_settled(&s.sem, 0);
}

/* A release and the acquire it lets through order memory: plain data
 * written before the one is seen after the other (ThreadSanitizer checks
 * this too). Two semaphores pass a token back and forth. */
struct ping {
    ct_sem_t ping, pong;
    long data;
};

#define ROUNDS 2000

static void pong(void *arg, int i)
{
    (void)i;
    struct ping *p = arg;
    for (long k = 0; k < ROUNDS; k++) {
        ck_assert_int_eq(ct_sem_acquire(&p->ping), 0);
        ck_assert_int_eq(p->data, 2 * k + 1);
        p->data++;
        ck_assert_int_eq(ct_sem_release(&p->pong, 1), 0);
    }
}

static void base_ordering(bool bounded)
{
    struct ping p = { .data = 0 };
    ck_assert_int_eq(bounded ? ct_sem_init_bounded(&p.ping, 1) : ct_sem_init(&p.ping, 1), 0);
    ck_assert_int_eq(bounded ? ct_sem_init_bounded(&p.pong, 1) : ct_sem_init(&p.pong, 1), 0);
    ck_assert_int_eq(ct_sem_acquire(&p.ping), 0);
    ck_assert_int_eq(ct_sem_acquire(&p.pong), 0);
    ct_group g;
    ct_group_start(&g, 1, pong, &p);
    for (long k = 0; k < ROUNDS; k++) {
        p.data++;
        ck_assert_int_eq(ct_sem_release(&p.ping, 1), 0);
        ck_assert_int_eq(ct_sem_acquire(&p.pong), 0);
        ck_assert_int_eq(p.data, 2 * k + 2);
    }
    ct_group_join(&g);
}

/* Each case above, for a Semaphore (sem_) and a BoundedSemaphore
 * (bounded_), as BaseSemaphoreTests runs. */
#define BOTH_KINDS(name)                                                  \
    START_TEST(sem_##name) { base_##name(false); } END_TEST               \
    START_TEST(bounded_##name) { base_##name(true); } END_TEST

BOTH_KINDS(constructor)
BOTH_KINDS(acquire)
BOTH_KINDS(acquire_destroy)
BOTH_KINDS(acquire_contended)
BOTH_KINDS(multirelease)
BOTH_KINDS(try_acquire)
BOTH_KINDS(try_acquire_contended)
BOTH_KINDS(acquire_timeout)
BOTH_KINDS(default_value)
BOTH_KINDS(with)
BOTH_KINDS(bad_timeouts)
BOTH_KINDS(zero_timeout)
BOTH_KINDS(infinite_timeout)
BOTH_KINDS(timeout_under_signals)
BOTH_KINDS(acquire_under_signals)
BOTH_KINDS(release_zero)
BOTH_KINDS(release_n_of_m)
BOTH_KINDS(release_twice)
BOTH_KINDS(ordering)

/* SemaphoreTests.test_release_unacquired: releases beyond the initial
 * value raise the count. */
START_TEST(sem_release_unacquired)
{
    ct_sem_t s = CT_SEM_INIT(1);
    ck_assert_int_eq(ct_sem_release(&s, 1), 0);
    ck_assert_uint_eq(ct_sem_value(&s), 2);
    ck_assert_int_eq(ct_sem_acquire(&s), 0);
    ck_assert_int_eq(ct_sem_acquire(&s), 0);
    ck_assert_int_eq(ct_sem_release(&s, 1), 0);
    ck_assert_uint_eq(ct_sem_value(&s), 1);
}
END_TEST

/* BoundedSemaphoreTests.test_release_unacquired: they cannot pass it. */
START_TEST(bounded_release_unacquired)
{
    ct_sem_t s = CT_BOUNDED_SEM_INIT(1);
    ck_assert_int_eq(ct_sem_release(&s, 1), EOVERFLOW);
    ck_assert_int_eq(ct_sem_acquire(&s), 0);
    ck_assert_int_eq(ct_sem_release(&s, 1), 0);
    ck_assert_int_eq(ct_sem_release(&s, 1), EOVERFLOW);
    ck_assert_uint_eq(ct_sem_value(&s), 1);
}
END_TEST

/* test_repr: "value=3", "value=2", "value=4" (unbounded) ... */
START_TEST(sem_value)
{
    ct_sem_t s = CT_SEM_INIT(3);
    ck_assert_uint_eq(ct_sem_value(&s), 3);
    ck_assert_int_eq(ct_sem_acquire(&s), 0);
    ck_assert_uint_eq(ct_sem_value(&s), 2);
    ck_assert_int_eq(ct_sem_release(&s, 1), 0);
    ck_assert_int_eq(ct_sem_release(&s, 1), 0);
    ck_assert_uint_eq(ct_sem_value(&s), 4);
}
END_TEST

/* ... and "value=3/3", "value=2/3" (bounded). */
START_TEST(bounded_value)
{
    ct_sem_t s = CT_BOUNDED_SEM_INIT(3);
    ck_assert_uint_eq(ct_sem_value(&s), 3);
    ck_assert_int_eq(ct_sem_acquire(&s), 0);
    ck_assert_uint_eq(ct_sem_value(&s), 2);
    ck_assert_uint_eq(s.bound, 3);
}
END_TEST

/* The initialisers are constant expressions and make what the functions
 * make. */
static ct_sem_t static_sem = CT_SEM_INIT(5), static_bounded = CT_BOUNDED_SEM_INIT(5);

START_TEST(sem_static_init)
{
    ct_sem_t a, b;
    ck_assert_int_eq(ct_sem_init(&a, 5), 0);
    ck_assert_int_eq(ct_sem_init_bounded(&b, 5), 0);
    ck_assert_int_eq(memcmp(&a, &static_sem, sizeof a), 0);
    ck_assert_int_eq(memcmp(&b, &static_bounded, sizeof b), 0);
}
END_TEST

/* An unbounded semaphore stops at CT_SEM_VALUE_MAX, changing nothing. */
START_TEST(sem_overflow)
{
    ct_sem_t s;
    ck_assert_int_eq(ct_sem_init(&s, CT_SEM_VALUE_MAX - 1), 0);
    ck_assert_int_eq(ct_sem_release(&s, 2), EOVERFLOW);
    ck_assert_int_eq(ct_sem_release(&s, UINT_MAX), EOVERFLOW);
    ck_assert_uint_eq(ct_sem_value(&s), CT_SEM_VALUE_MAX - 1);
    ck_assert_int_eq(ct_sem_release(&s, 1), 0);
    ck_assert_uint_eq(ct_sem_value(&s), CT_SEM_VALUE_MAX);
    ck_assert_int_eq(ct_sem_release(&s, 1), EOVERFLOW);
    ck_assert_uint_eq(ct_sem_value(&s), CT_SEM_VALUE_MAX);
    ck_assert_int_eq(ct_sem_acquire(&s), 0);
    ck_assert_uint_eq(ct_sem_value(&s), CT_SEM_VALUE_MAX - 1);
}
END_TEST

/* A bounded release past the initial value is refused whole. */
START_TEST(bounded_overflow_unchanged)
{
    ct_sem_t s = CT_BOUNDED_SEM_INIT(3);
    ck_assert_int_eq(ct_sem_acquire(&s), 0);
    ck_assert_int_eq(ct_sem_acquire(&s), 0);
    ck_assert_int_eq(ct_sem_release(&s, 3), EOVERFLOW);
    ck_assert_int_eq(ct_sem_release(&s, UINT_MAX), EOVERFLOW);
    ck_assert_uint_eq(ct_sem_value(&s), 1);
    ck_assert_int_eq(ct_sem_release(&s, 2), 0);
    ck_assert_uint_eq(ct_sem_value(&s), 3);
    ck_assert_int_eq(ct_sem_release(&s, 1), EOVERFLOW);
    ck_assert_uint_eq(ct_sem_value(&s), 3);
}
END_TEST

/* BoundedSemaphore(0): nothing to take, nothing to give back. */
START_TEST(bounded_zero)
{
    ct_sem_t s = CT_BOUNDED_SEM_INIT(0);
    ck_assert_int_eq(ct_sem_try_acquire(&s), EBUSY);
    ck_assert_int_eq(ct_sem_acquire_timeout(&s, 0.01), ETIMEDOUT);
    ck_assert_int_eq(ct_sem_release(&s, 1), EOVERFLOW);
    ck_assert_uint_eq(ct_sem_value(&s), 0);
}
END_TEST

/* Stress: 8 threads take one or two permits of a bounded semaphore of 3
 * by every kind of acquire (timeouts expiring at random), counting the
 * permits held at once; the count never passes the bound, every thread
 * gets permits, and at the end the semaphore is back to its initial
 * state with no hand-off claim left. */
struct stress {
    ct_sem_t sem;
    int held, most;
    long total;
    double until;
};

static void hold(struct stress *st, int k)
{
    int now = __atomic_add_fetch(&st->held, k, __ATOMIC_SEQ_CST);
    int most = READ(st->most);
    while (now > most && !__atomic_compare_exchange_n(&st->most, &most, now, false,
                                                      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
    __atomic_sub_fetch(&st->held, k, __ATOMIC_SEQ_CST);
    ck_assert_int_eq(ct_sem_release(&st->sem, (unsigned)k), 0);
}

static void stress_worker(void *arg, int i)
{
    struct stress *st = arg;
    unsigned seed = (unsigned)(i + 1) * 2654435761u;
    long n = 0;
    while (ct_monotonic() < st->until) {
        seed = seed * 1103515245u + 12345u;
        int rc;
        switch ((seed >> 16) % 4) {
        case 0:
            rc = ct_sem_try_acquire(&st->sem);
            break;
        case 1:
            rc = ct_sem_acquire_timeout(&st->sem, (double)((seed >> 8) % 2000) * 1e-6);
            break;
        default:
            rc = ct_sem_acquire(&st->sem);
            break;
        }
        if (rc == EBUSY || rc == ETIMEDOUT)
            continue;
        ck_assert_int_eq(rc, 0);
        hold(st, 1 + (ct_sem_try_acquire(&st->sem) == 0));
        n++;
    }
    ck_assert_int_gt(n, 0);
    __atomic_fetch_add(&st->total, n, __ATOMIC_SEQ_CST);
}

START_TEST(bounded_stress)
{
    struct stress st = { .sem = CT_BOUNDED_SEM_INIT(3), .until = ct_monotonic() + 1.0 };
    ct_group_run(8, stress_worker, &st);
    ck_assert_int_gt(st.total, 0);
    ck_assert_int_ge(st.most, 1);
    ck_assert_int_le(st.most, 3);
    ck_assert_uint_eq(ct_sem_value(&st.sem), 3);
    assert_settled(&st.sem, 3);
}
END_TEST

/* Starvation: a waiter that always wakes too late to take a released
 * permit before the releaser takes it back (here a signal handler holds it
 * up each time) is still handed a permit once it has waited about 1 ms:
 * the releaser then finds none to take back. Without the hand-off, it
 * would lose every round. */
static int slowed, resume;

static void slow_down(int sig)
{
    (void)sig;
    WRITE(slowed, 1);
    while (!READ(resume))
        ;
    WRITE(slowed, 0);
}

static void patient(void *arg, int i)
{
    (void)i;
    struct subject *s = arg;
    s->result = ct_sem_acquire_timeout(&s->sem, 10 * ct_test_scale());
}

START_TEST(sem_no_starvation)
{
    struct sigaction sa = { .sa_handler = slow_down };
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR2, &sa, NULL), 0);
    struct subject s;
    subject_init(&s, false, 1);
    ck_assert_int_eq(ct_sem_acquire(&s.sem), 0);
    ct_group g;
    ct_group_start(&g, 1, patient, &s);
    CT_WAIT_UNTIL(READ(s.sem.word) != 0);
    double t0 = ct_monotonic();
    int rounds = 0, rc = 0;
    while (rc == 0 && rounds < 1000) {
        rounds++;
        ct_sleep(0.0002);
        WRITE(resume, 0);
        ck_assert_int_eq(pthread_kill((pthread_t)ct_thread_ident(g.threads[0]), SIGUSR2), 0);
        CT_WAIT_UNTIL(READ(slowed));
        ck_assert_int_eq(ct_sem_release(&s.sem, 1), 0);
        rc = ct_sem_try_acquire(&s.sem);
        WRITE(resume, 1);
        CT_WAIT_UNTIL(!READ(slowed));
    }
    ck_assert_msg(rc == EBUSY, "the waiter lost %d rounds in %.3f s", rounds,
                  ct_monotonic() - t0);
    ct_group_join(&g);
    ck_assert_int_eq(s.result, 0);
    ck_assert_uint_eq(ct_sem_value(&s.sem), 0);
    assert_settled(&s.sem, 0);
}
END_TEST

/* Waiters that turn hungry and then time out give their claim back. A hog
 * holds a semaphore of 1 for 0.2 ms and 1 ms in turn, releasing it and
 * taking it again at once; two threads wait for it with timeouts of
 * 1.5 ms (and pause in between), so they turn hungry after 1 ms and then
 * either are handed the next permit or time out first. No permit is lost or duplicated, and
 * every wait ends in 0 or ETIMEDOUT. */
struct hungry {
    ct_sem_t sem;
    int stop;
    long hogged;
};

static void hog(void *arg, int i)
{
    (void)i;
    struct hungry *h = arg;
    while (!READ(h->stop)) {
        ck_assert_int_eq(ct_sem_acquire(&h->sem), 0);
        double until = ct_monotonic() + (BUMP(h->hogged) % 2 ? 0.001 : 0.0002);
        while (ct_monotonic() < until)
            ;
        ck_assert_int_eq(ct_sem_release(&h->sem, 1), 0);
    }
}

static void impatient(void *arg, int i)
{
    (void)i;
    struct hungry *h = arg;
    for (int k = 0; k < 200; k++) {
        int rc = ct_sem_acquire_timeout(&h->sem, 0.0015);
        if (rc == 0)
            ck_assert_int_eq(ct_sem_release(&h->sem, 1), 0);
        else
            ck_assert_int_eq(rc, ETIMEDOUT);
        ct_sleep(0.0003);
    }
}

START_TEST(sem_hungry_timeout)
{
    struct hungry h = { .sem = CT_SEM_INIT(1) };
    ct_group hogs;
    ct_group_start(&hogs, 1, hog, &h);
    CT_WAIT_UNTIL(READ(h.hogged) > 10);
    ct_group_run(2, impatient, &h);
    WRITE(h.stop, 1);
    ct_group_join(&hogs);
    assert_settled(&h.sem, 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("sem");
    CT_TEST_ADD(s, sem_constructor);
    CT_TEST_ADD(s, bounded_constructor);
    CT_TEST_ADD(s, sem_acquire);
    CT_TEST_ADD(s, bounded_acquire);
    CT_TEST_ADD(s, sem_acquire_destroy);
    CT_TEST_ADD(s, bounded_acquire_destroy);
    CT_TEST_ADD(s, sem_acquire_contended);
    CT_TEST_ADD(s, bounded_acquire_contended);
    CT_TEST_ADD(s, sem_multirelease);
    CT_TEST_ADD(s, bounded_multirelease);
    CT_TEST_ADD(s, sem_try_acquire);
    CT_TEST_ADD(s, bounded_try_acquire);
    CT_TEST_ADD(s, sem_try_acquire_contended);
    CT_TEST_ADD(s, bounded_try_acquire_contended);
    CT_TEST_ADD(s, sem_acquire_timeout);
    CT_TEST_ADD(s, bounded_acquire_timeout);
    CT_TEST_ADD(s, sem_default_value);
    CT_TEST_ADD(s, bounded_default_value);
    CT_TEST_ADD(s, sem_with);
    CT_TEST_ADD(s, bounded_with);
    CT_TEST_ADD(s, sem_bad_timeouts);
    CT_TEST_ADD(s, bounded_bad_timeouts);
    CT_TEST_ADD(s, sem_zero_timeout);
    CT_TEST_ADD(s, bounded_zero_timeout);
    CT_TEST_ADD(s, sem_infinite_timeout);
    CT_TEST_ADD(s, bounded_infinite_timeout);
    CT_TEST_ADD(s, sem_timeout_under_signals);
    CT_TEST_ADD(s, bounded_timeout_under_signals);
    CT_TEST_ADD(s, sem_acquire_under_signals);
    CT_TEST_ADD(s, bounded_acquire_under_signals);
    CT_TEST_ADD(s, sem_release_zero);
    CT_TEST_ADD(s, bounded_release_zero);
    CT_TEST_ADD(s, sem_release_n_of_m);
    CT_TEST_ADD(s, bounded_release_n_of_m);
    CT_TEST_ADD(s, sem_release_twice);
    CT_TEST_ADD(s, bounded_release_twice);
    CT_TEST_ADD(s, sem_ordering);
    CT_TEST_ADD(s, bounded_ordering);
    CT_TEST_ADD(s, sem_release_unacquired);
    CT_TEST_ADD(s, bounded_release_unacquired);
    CT_TEST_ADD(s, sem_value);
    CT_TEST_ADD(s, bounded_value);
    CT_TEST_ADD(s, sem_static_init);
    CT_TEST_ADD(s, sem_overflow);
    CT_TEST_ADD(s, bounded_overflow_unchanged);
    CT_TEST_ADD(s, bounded_zero);
    CT_TEST_ADD(s, bounded_stress);
    CT_TEST_ADD(s, sem_no_starvation);
    CT_TEST_ADD(s, sem_hungry_timeout);
    return s;
}

CT_TEST_MAIN(make_suite)
