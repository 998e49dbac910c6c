/*
 * ct_local_t: CPython's test_threading_local.py, as far as it means
 * something in C, plus destructors (at a thread's end before its join
 * returns, in ct_local_destroy for every thread, never with NULL), threads
 * not started by cthreading, many keys, reused keys and out of memory.
 */
#include "support.h"

#include "alloc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static ct_lock_t gate = CT_LOCK_INIT;
static int arrived;

static void gate_pass(void)
{
    BUMP(arrived);
    ct_lock_acquire(&gate);
    ct_lock_release(&gate);
}

/* The destructor counts its calls and frees what it is given. */
static int destroyed;

static void count_free(void *value)
{
    ck_assert_ptr_nonnull(value);
    BUMP(destroyed);
    free(value);
}

static int *boxed(int v)
{
    int *p = malloc(sizeof *p);
    ck_assert_ptr_nonnull(p);
    *p = v;
    return p;
}

static ct_thread_t *spawn_checked(ct_thread_fn fn, void *arg)
{
    ct_thread_t *t = ct_thread_spawn_named(fn, NULL, arg, NULL);
    ck_assert_ptr_nonnull(t);
    return t;
}

static void join_unref(ct_thread_t *t)
{
    ck_assert_int_eq(ct_thread_join(t, NULL), 0);
    ct_thread_unref(t);
}

static ct_local_t key;

START_TEST(test_get_set)
{
    ck_assert_int_eq(ct_local_init(&key, count_free), 0);
    ck_assert_ptr_null(ct_local_get(&key));
    int *a = boxed(1), *b = boxed(2);
    ck_assert_int_eq(ct_local_set(&key, a), 0);
    ck_assert_ptr_eq(ct_local_get(&key), a);
    /* set does not destroy the value it replaces */
    ck_assert_int_eq(ct_local_set(&key, b), 0);
    ck_assert_ptr_eq(ct_local_get(&key), b);
    ck_assert_int_eq(READ(destroyed), 0);
    ck_assert_int_eq(ct_local_set(&key, NULL), 0);
    ck_assert_ptr_null(ct_local_get(&key));
    ck_assert_int_eq(ct_local_set(&key, a), 0);
    ct_local_destroy(&key);
    ck_assert_int_eq(READ(destroyed), 1);
    free(b);
    /* A destroyed key holds nothing and takes nothing. */
    ck_assert_ptr_null(ct_local_get(&key));
    int x;
    ck_assert_int_eq(ct_local_set(&key, &x), EINVAL);
    ct_local_destroy(&key);
    ck_assert_int_eq(READ(destroyed), 1);
}
END_TEST

/* _test_one_class: a value set in one thread is not seen in another. */
static void *set_and_wait(void *arg)
{
    ck_assert_int_eq(ct_local_set(&key, arg), 0);
    gate_pass();
    return ct_local_get(&key);
}

static void *get_value(void *arg)
{
    (void)arg;
    return ct_local_get(&key);
}

START_TEST(test_threading_local)
{
    ck_assert_int_eq(ct_local_init(&key, NULL), 0);
    int x;
    ct_lock_acquire(&gate);
    ct_thread_t *t1 = spawn_checked(set_and_wait, &x);
    CT_WAIT_UNTIL(READ(arrived) == 1);
    ct_thread_t *t2 = spawn_checked(get_value, NULL);
    void *seen = &x;
    ck_assert_int_eq(ct_thread_join(t2, &seen), 0);
    ck_assert_ptr_null(seen);
    ck_assert_ptr_null(ct_local_get(&key));
    ct_lock_release(&gate);
    ck_assert_int_eq(ct_thread_join(t1, &seen), 0);
    ck_assert_ptr_eq(seen, &x);
    ct_thread_unref(t1);
    ct_thread_unref(t2);
    ct_local_destroy(&key);
}
END_TEST

/* test_derived: ten threads, each with its own value, interleaved. */
static void *own_value(void *arg)
{
    int *v = boxed((int)(intptr_t)arg);
    ct_sleep(0.001);
    ck_assert_int_eq(ct_local_set(&key, v), 0);
    ct_sleep(0.001);
    int *seen = ct_local_get(&key);
    return (void *)(intptr_t)(seen == v && *seen == (int)(intptr_t)arg);
}

START_TEST(test_derived)
{
    ck_assert_int_eq(ct_local_init(&key, count_free), 0);
    ct_thread_t *t[10];
    for (intptr_t i = 0; i < 10; i++)
        t[i] = spawn_checked(own_value, (void *)i);
    for (int i = 0; i < 10; i++) {
        void *ok;
        ck_assert_int_eq(ct_thread_join(t[i], &ok), 0);
        ck_assert_ptr_nonnull(ok);
        ct_thread_unref(t[i]);
    }
    ck_assert_int_eq(READ(destroyed), 10);
    ct_local_destroy(&key);
}
END_TEST

/* test_local_refs: every thread's value is destroyed at its end, before
 * its join returns. */
static void *set_boxed(void *arg)
{
    ck_assert_int_eq(ct_local_set(&key, boxed((int)(intptr_t)arg)), 0);
    return NULL;
}

START_TEST(test_local_refs)
{
    ck_assert_int_eq(ct_local_init(&key, count_free), 0);
    for (int n = 0; n < 100; n++) {
        join_unref(spawn_checked(set_boxed, (void *)(intptr_t)n));
        ck_assert_int_eq(READ(destroyed), n + 1);
    }
    ct_local_destroy(&key);
    ck_assert_int_eq(READ(destroyed), 100);
}
END_TEST

/* test_finalization_shutdown's slow destructor: join still waits for it;
 * and the thread is still itself while its values go. */
static int slow_done;
static bool named_in_destructor;

static void slow_destructor(void *value)
{
    (void)value;
    named_in_destructor = ct_current_thread() && ct_thread_is_alive(ct_current_thread()) &&
                          strcmp(ct_thread_name(ct_current_thread()), "slow") == 0;
    ct_sleep(0.05);
    __atomic_store_n(&slow_done, 1, __ATOMIC_SEQ_CST);
}

START_TEST(test_destructor_before_join)
{
    ck_assert_int_eq(ct_local_init(&key, slow_destructor), 0);
    int x;
    ct_thread_t *t = ct_thread_spawn(set_and_wait, &x, &(ct_thread_opts){ .name = "slow" });
    ck_assert_ptr_nonnull(t);
    join_unref(t);
    ck_assert_int_eq(READ(slow_done), 1);
    ck_assert(named_in_destructor);
    ct_local_destroy(&key);
}
END_TEST

static void *exit_with_value(void *arg)
{
    ck_assert_int_eq(ct_local_set(&key, arg), 0);
    pthread_exit(NULL);
}

START_TEST(test_pthread_exit)
{
    ck_assert_int_eq(ct_local_init(&key, count_free), 0);
    join_unref(spawn_checked(exit_with_value, boxed(1)));
    ck_assert_int_eq(READ(destroyed), 1);
    ct_local_destroy(&key);
}
END_TEST

/* The destructor is never called with NULL: a value set back to NULL is
 * no value; and a replaced value is not destroyed. */
static void *set_then_clear(void *arg)
{
    int *a = boxed(1), *b = arg;
    ck_assert_int_eq(ct_local_set(&key, a), 0);
    ck_assert_int_eq(ct_local_set(&key, NULL), 0);
    free(a);
    if (b) {
        ck_assert_int_eq(ct_local_set(&key, a = boxed(2)), 0);
        ck_assert_int_eq(ct_local_set(&key, b), 0);
        free(a);
    }
    return NULL;
}

static int *last_destroyed;

static void record(void *value)
{
    ck_assert_ptr_nonnull(value);
    BUMP(destroyed);
    last_destroyed = value;
}

START_TEST(test_never_null)
{
    ck_assert_int_eq(ct_local_init(&key, record), 0);
    join_unref(spawn_checked(set_then_clear, NULL));
    ck_assert_int_eq(READ(destroyed), 0);
    int b;
    join_unref(spawn_checked(set_then_clear, &b));
    ck_assert_int_eq(READ(destroyed), 1);
    ck_assert_ptr_eq(last_destroyed, &b);
    ct_local_destroy(&key);
}
END_TEST

/* A thread not started by cthreading has its values destroyed too. */
START_TEST(test_foreign_thread)
{
    ck_assert_int_eq(ct_local_init(&key, count_free), 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, set_boxed, (void *)1), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(READ(destroyed), 1);
    /* ... also when it has a dummy thread object. */
    ck_assert_int_eq(pthread_create(&th, NULL, own_value, (void *)2), 0);
    void *ok;
    ck_assert_int_eq(pthread_join(th, &ok), 0);
    ck_assert_ptr_nonnull(ok);
    ck_assert_int_eq(READ(destroyed), 2);
    ct_local_destroy(&key);
}
END_TEST

/* ct_local_destroy destroys every thread's value, its caller's too. */
START_TEST(test_destroy_every_thread)
{
    ck_assert_int_eq(ct_local_init(&key, count_free), 0);
    ct_lock_acquire(&gate);
    ct_thread_t *t[4];
    for (intptr_t i = 0; i < 4; i++)
        t[i] = spawn_checked(set_and_wait, boxed((int)i));
    ck_assert_int_eq(ct_local_set(&key, boxed(9)), 0);
    CT_WAIT_UNTIL(READ(arrived) == 4);
    ct_local_destroy(&key);
    ck_assert_int_eq(READ(destroyed), 5);
    ck_assert_ptr_null(ct_local_get(&key));
    ct_lock_release(&gate);
    for (int i = 0; i < 4; i++)
        join_unref(t[i]);
    ck_assert_int_eq(READ(destroyed), 5);
}
END_TEST

/* A retired key's index comes back for a new key: nobody has a value
 * under it. */
static ct_local_t other;

static void *keep_then_check(void *arg)
{
    ck_assert_int_eq(ct_local_set(&key, arg), 0);
    gate_pass();
    void *stale = ct_local_get(&other);
    ck_assert_int_eq(ct_local_set(&other, boxed(3)), 0);
    return stale;
}

START_TEST(test_key_reuse)
{
    ck_assert_int_eq(ct_local_init(&key, count_free), 0);
    ct_lock_acquire(&gate);
    ct_thread_t *t = spawn_checked(keep_then_check, boxed(1));
    CT_WAIT_UNTIL(READ(arrived) == 1);
    size_t index = key.index;
    ct_local_destroy(&key);
    ck_assert_int_eq(READ(destroyed), 1);
    ck_assert_int_eq(ct_local_init(&other, count_free), 0);
    ck_assert_uint_eq(other.index, index);
    ct_lock_release(&gate);
    void *stale = &stale;
    ck_assert_int_eq(ct_thread_join(t, &stale), 0);
    ck_assert_ptr_null(stale);
    ck_assert_int_eq(READ(destroyed), 2);
    ct_thread_unref(t);
    ct_local_destroy(&other);
    /* Churn does not grow anything: the same index each time. */
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(ct_local_init(&key, NULL), 0);
        ck_assert_uint_eq(key.index, index);
        ct_local_destroy(&key);
    }
}
END_TEST

/* No fixed limit: 5,000 keys, in two threads. */
enum { MANY = 5000 };
static ct_local_t many[MANY];

static void *fill_many(void *arg)
{
    int base = (int)(intptr_t)arg;
    for (int i = 0; i < MANY; i++)
        ck_assert_int_eq(ct_local_set(&many[i], boxed(base + i)), 0);
    int bad = 0;
    for (int i = 0; i < MANY; i++)
        bad += *(int *)ct_local_get(&many[i]) != base + i;
    return (void *)(intptr_t)bad;
}

START_TEST(test_many_keys)
{
    for (int i = 0; i < MANY; i++)
        ck_assert_int_eq(ct_local_init(&many[i], count_free), 0);
    ck_assert_ptr_null(fill_many((void *)0));
    ct_thread_t *t = spawn_checked(fill_many, (void *)MANY);
    void *bad;
    ck_assert_int_eq(ct_thread_join(t, &bad), 0);
    ck_assert_ptr_null(bad);
    ct_thread_unref(t);
    ck_assert_int_eq(READ(destroyed), MANY);
    for (int i = 0; i < MANY; i++)
        ck_assert_int_eq(*(int *)ct_local_get(&many[i]), i);
    for (int i = 0; i < MANY; i++)
        ct_local_destroy(&many[i]);
    ck_assert_int_eq(READ(destroyed), 2 * MANY);
}
END_TEST

/* A destructor that sets a value again is called again, a bounded number
 * of times (PTHREAD_DESTRUCTOR_ITERATIONS rounds, as pthread keys). */
static int resets;

static void set_again(void *value)
{
    BUMP(resets);
    ck_assert_int_eq(ct_local_set(&key, value), 0);
}

START_TEST(test_destructor_sets_again)
{
    ck_assert_int_eq(ct_local_init(&key, set_again), 0);
    int x;
    join_unref(spawn_checked(set_and_wait, &x));
    ck_assert_int_eq(READ(resets), PTHREAD_DESTRUCTOR_ITERATIONS);
    ct_local_destroy(&key);
}
END_TEST

START_TEST(test_out_of_memory)
{
    ct__alloc_fail_after(0);
    ck_assert_int_eq(ct_local_init(&key, NULL), ENOMEM);
    ct__alloc_fail_after(-1);
    ck_assert_int_eq(ct_local_init(&key, NULL), 0);
    ct__alloc_fail_after(0);
    int x;
    ck_assert_int_eq(ct_local_set(&key, &x), ENOMEM);
    ck_assert_ptr_null(ct_local_get(&key));
    ck_assert_int_eq(ct_local_set(&key, NULL), 0);
    /* The table is made, its values are not. */
    ct__alloc_fail_after(1);
    ck_assert_int_eq(ct_local_set(&key, &x), ENOMEM);
    ck_assert_ptr_null(ct_local_get(&key));
    ct__alloc_fail_after(-1);
    ck_assert_int_eq(ct_local_set(&key, &x), 0);
    ck_assert_ptr_eq(ct_local_get(&key), &x);
    ct_local_destroy(&key);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("local");
    CT_TEST_ADD(s, test_get_set);
    CT_TEST_ADD(s, test_threading_local);
    CT_TEST_ADD(s, test_derived);
    CT_TEST_ADD(s, test_local_refs);
    CT_TEST_ADD(s, test_destructor_before_join);
    CT_TEST_ADD(s, test_pthread_exit);
    CT_TEST_ADD(s, test_never_null);
    CT_TEST_ADD(s, test_foreign_thread);
    CT_TEST_ADD(s, test_destroy_every_thread);
    CT_TEST_ADD(s, test_key_reuse);
    CT_TEST_ADD(s, test_many_keys);
    CT_TEST_ADD(s, test_destructor_sets_again);
    CT_TEST_ADD(s, test_out_of_memory);
    return s;
}

CT_TEST_MAIN(make_suite)
