/*
 * RLock: CPython's lock_tests.py RLockTests (the BaseLockTests run for
 * RLock in test_lock.c), plus depth limits and a recursive stress test.
 */
#include "support.h"

START_TEST(rlock_reacquire)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    ck_assert_int_eq(ct_rlock_acquire(&r), 0);
    ck_assert_int_eq(ct_rlock_acquire(&r), 0);
    ck_assert_int_eq(ct_rlock_release(&r), 0);
    ck_assert_int_eq(ct_rlock_try_acquire(&r), 0);
    ck_assert_int_eq(ct_rlock_acquire_timeout(&r, 0), 0);
    ck_assert_int_eq(ct_rlock_release(&r), 0);
    ck_assert_int_eq(ct_rlock_release(&r), 0);
    ck_assert(ct_rlock_locked(&r));
    ck_assert_int_eq(ct_rlock_release(&r), 0);
    ck_assert(!ct_rlock_locked(&r));
}
END_TEST

START_TEST(rlock_release_unacquired)
{
    ct_rlock_t r;
    ct_rlock_init(&r);
    ck_assert_int_eq(ct_rlock_release(&r), EPERM);
    ck_assert_int_eq(ct_rlock_acquire(&r), 0);
    ck_assert_int_eq(ct_rlock_acquire(&r), 0);
    ck_assert_int_eq(ct_rlock_release(&r), 0);
    ck_assert_int_eq(ct_rlock_acquire(&r), 0);
    ck_assert_int_eq(ct_rlock_release(&r), 0);
    ck_assert_int_eq(ct_rlock_release(&r), 0);
    ck_assert_int_eq(ct_rlock_release(&r), EPERM);
}
END_TEST

struct shared {
    ct_rlock_t r;
    int held, result, done;
    bool owned;
};

static void hold_until_done(void *arg, int i)
{
    (void)i;
    struct shared *sh = arg;
    ck_assert_int_eq(ct_rlock_acquire(&sh->r), 0);
    __atomic_store_n(&sh->held, 1, __ATOMIC_SEQ_CST);
    CT_WAIT_UNTIL(__atomic_load_n(&sh->done, __ATOMIC_SEQ_CST));
    ck_assert_int_eq(ct_rlock_release(&sh->r), 0);
}

START_TEST(rlock_different_thread)
{
    struct shared sh = { .r = CT_RLOCK_INIT };
    ct_group g;
    ct_group_start(&g, 1, hold_until_done, &sh);
    CT_WAIT_UNTIL(__atomic_load_n(&sh.held, __ATOMIC_SEQ_CST));
    ck_assert_int_eq(ct_rlock_release(&sh.r), EPERM);
    ck_assert(ct_rlock_locked(&sh.r));
    ck_assert(!ct_rlock_is_owned(&sh.r));
    ck_assert_int_eq(ct_rlock_try_acquire(&sh.r), EBUSY);
    ck_assert_int_eq(ct_rlock_acquire_timeout(&sh.r, 0.05), ETIMEDOUT);
    __atomic_store_n(&sh.done, 1, __ATOMIC_SEQ_CST);
    ct_group_join(&g);
    ck_assert(!ct_rlock_locked(&sh.r));
}
END_TEST

static void report_owned(void *arg, int i)
{
    (void)i;
    struct shared *sh = arg;
    sh->owned = ct_rlock_is_owned(&sh->r);
}

START_TEST(rlock_is_owned)
{
    struct shared sh = { .r = CT_RLOCK_INIT };
    ck_assert(!ct_rlock_is_owned(&sh.r));
    ck_assert_int_eq(ct_rlock_acquire(&sh.r), 0);
    ck_assert(ct_rlock_is_owned(&sh.r));
    ck_assert_int_eq(ct_rlock_acquire(&sh.r), 0);
    ck_assert(ct_rlock_is_owned(&sh.r));
    sh.owned = true;
    ct_group_run(1, report_owned, &sh);
    ck_assert(!sh.owned);
    ck_assert_int_eq(ct_rlock_release(&sh.r), 0);
    ck_assert(ct_rlock_is_owned(&sh.r));
    ck_assert_int_eq(ct_rlock_release(&sh.r), 0);
    ck_assert(!ct_rlock_is_owned(&sh.r));
}
END_TEST

START_TEST(rlock_depth_overflow)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    ck_assert_int_eq(ct_rlock_acquire(&r), 0);
    r.depth = UINT32_MAX;
    ck_assert_int_eq(ct_rlock_acquire(&r), EOVERFLOW);
    ck_assert_int_eq(ct_rlock_try_acquire(&r), EOVERFLOW);
    ck_assert_int_eq(ct_rlock_acquire_timeout(&r, 1), EOVERFLOW);
    ck_assert_uint_eq(r.depth, UINT32_MAX);
    r.depth = 1;
    ck_assert_int_eq(ct_rlock_release(&r), 0);
    ck_assert(!ct_rlock_locked(&r));
}
END_TEST

START_TEST(rlock_bad_timeouts_keep_depth)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    ck_assert_int_eq(ct_rlock_acquire(&r), 0);
    ck_assert_int_eq(ct_rlock_acquire_timeout(&r, -2), EINVAL);
    ck_assert_int_eq(ct_rlock_release(&r), 0);
    ck_assert_int_eq(ct_rlock_release(&r), EPERM);
}
END_TEST

/* Stress: threads take the RLock 1 to 3 levels deep; the count is exact
 * and the RLock ends free. */
struct stress {
    ct_rlock_t r;
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
        int depth = 1 + (int)((seed >> 16) % 3);
        if (ct_rlock_acquire_timeout(&st->r, 0.0001) == ETIMEDOUT)
            continue;
        for (int d = 1; d < depth; d++)
            ck_assert_int_eq(ct_rlock_acquire(&st->r), 0);
        st->counter++;
        n++;
        for (int d = 0; d < depth; d++)
            ck_assert_int_eq(ct_rlock_release(&st->r), 0);
    }
    __atomic_fetch_add(&st->done, n, __ATOMIC_SEQ_CST);
}

START_TEST(rlock_stress)
{
    struct stress st = { .r = CT_RLOCK_INIT, .until = ct_monotonic() + 1.0 };
    ct_group_run(6, stress_worker, &st);
    ck_assert_int_gt(st.done, 0);
    ck_assert_int_eq(st.counter, st.done);
    ck_assert(!ct_rlock_locked(&st.r));
    ck_assert_uint_eq(st.r.lock.word, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("rlock");
    CT_TEST_ADD(s, rlock_reacquire);
    CT_TEST_ADD(s, rlock_release_unacquired);
    CT_TEST_ADD(s, rlock_different_thread);
    CT_TEST_ADD(s, rlock_is_owned);
    CT_TEST_ADD(s, rlock_depth_overflow);
    CT_TEST_ADD(s, rlock_bad_timeouts_keep_depth);
    CT_TEST_ADD(s, rlock_stress);
    return s;
}

CT_TEST_MAIN(make_suite)
