/*
 * CT_WITH and CT_GUARD: every way out of the block releases, for every
 * kind of object, and the object expression is evaluated once.
 */
#include "support.h"

static ct_lock_t lock = CT_LOCK_INIT;

static int with_return(void)
{
    CT_WITH(&lock) {
        ck_assert(ct_lock_locked(&lock));
        return 7;
    }
    return 0;
}

START_TEST(with_releases_on_end)
{
    CT_WITH(&lock) {
        ck_assert(ct_lock_locked(&lock));
    }
    ck_assert(!ct_lock_locked(&lock));
}
END_TEST

START_TEST(with_releases_on_return)
{
    ck_assert_int_eq(with_return(), 7);
    ck_assert(!ct_lock_locked(&lock));
}
END_TEST

START_TEST(with_releases_on_break_and_continue)
{
    int rounds = 0;
    for (int i = 0; i < 3; i++) {
        CT_WITH(&lock) {
            rounds++;
            if (i == 0)
                continue;
            break;
        }
        ck_assert(!ct_lock_locked(&lock));
    }
    ck_assert_int_eq(rounds, 3); /* break leaves the CT_WITH, not the loop */
    ck_assert(!ct_lock_locked(&lock));
}
END_TEST

START_TEST(with_releases_on_goto)
{
    CT_WITH(&lock) {
        ck_assert(ct_lock_locked(&lock));
        goto out;
    }
    ck_abort_msg("goto did not leave the block");
out:
    ck_assert(!ct_lock_locked(&lock));
}
END_TEST

START_TEST(with_nests)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    CT_WITH(&r) {
        CT_WITH(&r) {
            CT_WITH(&lock) {
                ck_assert(ct_rlock_is_owned(&r));
                ck_assert(ct_lock_locked(&lock));
            }
        }
        ck_assert(ct_rlock_is_owned(&r));
        ck_assert(!ct_lock_locked(&lock));
    }
    ck_assert(!ct_rlock_locked(&r));
}
END_TEST

static int evaluations;

static ct_lock_t *counted_lock(void)
{
    evaluations++;
    return &lock;
}

START_TEST(with_evaluates_once)
{
    CT_WITH(counted_lock()) {
        ck_assert_int_eq(evaluations, 1);
    }
    {
        CT_GUARD(counted_lock());
        ck_assert_int_eq(evaluations, 2);
    }
    ck_assert_int_eq(evaluations, 2);
    ck_assert(!ct_lock_locked(&lock));
}
END_TEST

static int guarded_early_return(bool early)
{
    CT_GUARD(&lock);
    ck_assert(ct_lock_locked(&lock));
    if (early)
        return 1;
    return 2;
}

START_TEST(guard_releases_at_scope_end)
{
    ck_assert_int_eq(guarded_early_return(true), 1);
    ck_assert(!ct_lock_locked(&lock));
    ck_assert_int_eq(guarded_early_return(false), 2);
    ck_assert(!ct_lock_locked(&lock));
    for (int i = 0; i < 3; i++) {
        CT_GUARD(&lock);
        if (i == 1)
            break; /* with CT_GUARD, break leaves the loop */
    }
    ck_assert(!ct_lock_locked(&lock));
}
END_TEST

START_TEST(with_every_kind)
{
    ct_rlock_t r = CT_RLOCK_INIT;
    ct_sem_t s = CT_SEM_INIT(2);
    ct_cond_t c;
    ct_cond_init(&c);
    CT_WITH(&r) {
        ck_assert(ct_rlock_is_owned(&r));
    }
    ck_assert(!ct_rlock_locked(&r));
    CT_WITH(&s) {
        ck_assert_uint_eq(ct_sem_value(&s), 1);
        CT_WITH(&s) {
            ck_assert_uint_eq(ct_sem_value(&s), 0);
        }
    }
    ck_assert_uint_eq(ct_sem_value(&s), 2);
    CT_WITH(&c) {
        ck_assert_int_eq(ct_cond_notify(&c, 1), 0);
    }
    ck_assert_int_eq(ct_cond_notify(&c, 1), EPERM);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("with");
    CT_TEST_ADD(s, with_releases_on_end);
    CT_TEST_ADD(s, with_releases_on_return);
    CT_TEST_ADD(s, with_releases_on_break_and_continue);
    CT_TEST_ADD(s, with_releases_on_goto);
    CT_TEST_ADD(s, with_nests);
    CT_TEST_ADD(s, with_evaluates_once);
    CT_TEST_ADD(s, guard_releases_at_scope_end);
    CT_TEST_ADD(s, with_every_kind);
    return s;
}

CT_TEST_MAIN(make_suite)
