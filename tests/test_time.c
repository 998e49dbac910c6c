/*
 * Time, errors and the wait seam: the timeout rules of API.md, a sleep
 * that signals cannot shorten, error names, and ct__wait/ct__wake on
 * whichever back-end this build uses.
 */
#include "support.h"

#include <math.h>
#include <string.h>

#include "deadline.h"

START_TEST(deadline_rules)
{
    int64_t d, before = ct__now();
    ck_assert_int_eq(ct__deadline(NAN, &d), EINVAL);
    ck_assert_int_eq(ct__deadline(-2, &d), EINVAL);
    ck_assert_int_eq(ct__deadline(-0.5, &d), EINVAL);
    ck_assert_int_eq(ct__deadline(-INFINITY, &d), EINVAL);
    ck_assert_int_eq(ct__deadline(CT_FOREVER, &d), 0);
    ck_assert(d == CT__NO_DEADLINE);
    ck_assert_int_eq(ct__deadline(INFINITY, &d), 0);
    ck_assert(d == CT__NO_DEADLINE);
    ck_assert_int_eq(ct__deadline(CT_TIMEOUT_MAX * 2, &d), 0);
    ck_assert(d == CT__NO_DEADLINE);
    ck_assert_int_eq(ct__deadline(CT_TIMEOUT_MAX, &d), 0);
    ck_assert(d > before + (int64_t)1e18);
    ck_assert_int_eq(ct__deadline(0, &d), 0);
    ck_assert(d >= before && d <= ct__now());
    ck_assert_int_eq(ct__deadline(1.5, &d), 0);
    ck_assert(d >= before + 1500000000 && d <= ct__now() + 1500000000);
}
END_TEST

START_TEST(monotonic_advances)
{
    double a = ct_monotonic();
    ct_sleep(0.01);
    double b = ct_monotonic();
    ck_assert(b - a >= 0.01 - 1e-6);
}
END_TEST

START_TEST(sleep_lasts_under_signals)
{
    ct_storm_start();
    double t0 = ct_monotonic();
    ct_sleep(0.3);
    CT_ASSERT_TOOK(t0, 0.3);
    ck_assert_int_gt(ct_storm_stop(), 0);
}
END_TEST

START_TEST(sleep_ignores_bad_values)
{
    double t0 = ct_monotonic();
    ct_sleep(0);
    ct_sleep(-1);
    ct_sleep(NAN);
    ck_assert(ct_monotonic() - t0 < 0.5);
}
END_TEST

START_TEST(strerror_names)
{
    ck_assert_str_eq(ct_strerror(CT_EBROKEN), "Broken barrier");
    ck_assert_str_eq(ct_strerror(0), "Success");
    ck_assert_str_eq(ct_strerror(ETIMEDOUT), strerror(ETIMEDOUT));
    ck_assert_ptr_nonnull(ct_strerror(123456));
    for (int e = 1; e < 200; e++)
        ck_assert_int_ne(e, CT_EBROKEN);
}
END_TEST

START_TEST(wait_returns_when_word_differs)
{
    uint32_t word = 1;
    ck_assert_int_eq(ct__wait(&word, 0, CT__NO_DEADLINE), 0);
}
END_TEST

START_TEST(wait_times_out)
{
    uint32_t word = 0;
    int64_t d;
    ct__deadline(0.2, &d);
    double t0 = ct_monotonic();
    int rc;
    while ((rc = ct__wait(&word, 0, d)) == 0)
        ;
    ck_assert_int_eq(rc, ETIMEDOUT);
    CT_ASSERT_TOOK(t0, 0.2);
    ck_assert_int_eq(ct__wait(&word, 0, d), ETIMEDOUT);
}
END_TEST

struct sleeper {
    uint32_t word;
    int asleep, woken;
};

static void sleep_on_word(void *arg, int i)
{
    (void)i;
    struct sleeper *s = arg;
    __atomic_fetch_add(&s->asleep, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&s->word, __ATOMIC_ACQUIRE) == 0)
        ct__wait(&s->word, 0, CT__NO_DEADLINE);
    __atomic_fetch_add(&s->woken, 1, __ATOMIC_SEQ_CST);
}

START_TEST(wake_wakes_all)
{
    struct sleeper s = { 0 };
    ct_storm_start();
    ct_group g;
    ct_group_start(&g, 4, sleep_on_word, &s);
    CT_WAIT_UNTIL(__atomic_load_n(&s.asleep, __ATOMIC_SEQ_CST) == 4);
    ct_sleep(0.05);
    ck_assert_int_eq(__atomic_load_n(&s.woken, __ATOMIC_SEQ_CST), 0);
    __atomic_store_n(&s.word, 1, __ATOMIC_RELEASE);
    ct__wake(&s.word, INT_MAX);
    ct_group_join(&g);
    ct_storm_stop();
    ck_assert_int_eq(s.woken, 4);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("time");
    CT_TEST_ADD(s, deadline_rules);
    CT_TEST_ADD(s, monotonic_advances);
    CT_TEST_ADD(s, sleep_lasts_under_signals);
    CT_TEST_ADD(s, sleep_ignores_bad_values);
    CT_TEST_ADD(s, strerror_names);
    CT_TEST_ADD(s, wait_returns_when_word_differs);
    CT_TEST_ADD(s, wait_times_out);
    CT_TEST_ADD(s, wake_wakes_all);
    return s;
}

CT_TEST_MAIN(make_suite)
