/*
 * Faults: the library's every allocation (src/alloc.h) made to fail, the
 * n-th one for n = 0, 1, 2, ... until a scenario succeeds, and every
 * thread it starts refused by the OS.
 *
 * A public call whose allocation fails returns ENOMEM (or NULL with errno
 * ENOMEM) and leaves its object as it was; the scenario checks that, and
 * undoes what it did, so the sanitizer builds' LeakSanitizer (at the exit
 * of each test's process) proves that nothing leaked. Each scenario must
 * need exactly the allocations counted here: fewer would mean a site was
 * never made to fail.
 *
 * A refused thread is EAGAIN from ct_thread_start, ct_thread_spawn and the
 * first ct_timer_start (the timer thread); a refused timer runner cannot
 * be reported to anyone, so its timer must simply run once threads can be
 * had again. After each refusal the library works as before.
 */
#include "support.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"

/* Runs scenario(arg) with the n-th allocation failing, for n = 0, 1, ...
 * until it succeeds; returns the n of that run. A scenario that starts
 * afresh each time makes n allocations, each of which was once made to
 * fail; one that leaves something allocated for the next run (a table
 * that grew) needs fewer, as counted at each. */
static long until_it_succeeds(bool (*scenario)(void *), void *arg)
{
    for (long n = 0; n < 1000; n++) {
        ct__alloc_fail_after(n);
        bool ok = scenario(arg);
        ct__alloc_fail_after(-1);
        if (ok)
            return n;
    }
    ck_abort_msg("the scenario never succeeded");
    return -1;
}

static void *give_back(void *arg)
{
    return arg;
}

/* Runs fn(arg) on a new thread that is not the library's (so it has no
 * thread object, no thread-local table, and costs no allocation). */
static void run_raw(void *(*fn)(void *), void *arg)
{
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, fn, arg), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
}

/* ct_thread_new: the object and its default name, or its given name. */
static bool thread_new(void *name)
{
    errno = 0;
    ct_thread_t *t = ct_thread_new(give_back, &errno, &(ct_thread_opts){ .name = name });
    if (!t) {
        ck_assert_int_eq(errno, ENOMEM);
        return false;
    }
    ck_assert_int_eq(ct_thread_start(t), 0);
    void *r = NULL;
    ck_assert_int_eq(ct_thread_join(t, &r), 0);
    ck_assert_ptr_eq(r, &errno);
    if (name)
        ck_assert_str_eq(ct_thread_name(t), name);
    ct_thread_unref(t);
    return true;
}

START_TEST(thread_new_out_of_memory)
{
    ck_assert_int_eq(until_it_succeeds(thread_new, NULL), 2);
    ck_assert_int_eq(until_it_succeeds(thread_new, "named"), 2);
    ck_assert_uint_eq(ct_active_count(), 1);
}
END_TEST

/* ct_thread_spawn: the same allocations, then the start. */
static bool thread_spawn(void *unused)
{
    (void)unused;
    size_t before = ct_active_count();
    errno = 0;
    ct_thread_t *t = ct_thread_spawn(give_back, NULL, NULL);
    if (!t) {
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_uint_eq(ct_active_count(), before);
        return false;
    }
    ck_assert_int_eq(ct_thread_join(t, NULL), 0);
    ct_thread_unref(t);
    return true;
}

START_TEST(thread_spawn_out_of_memory)
{
    ck_assert_int_eq(until_it_succeeds(thread_spawn, NULL), 2);
}
END_TEST

/* ct_thread_set_name: on failure the old name stays, on a running thread
 * too. */
static bool set_name(void *t)
{
    const char *before = ct_thread_name(t);
    char old[64];
    snprintf(old, sizeof old, "%s", before);
    int rc = ct_thread_set_name(t, "renamed");
    if (rc) {
        ck_assert_int_eq(rc, ENOMEM);
        ck_assert_ptr_eq(ct_thread_name(t), before);
        ck_assert_str_eq(ct_thread_name(t), old);
        return false;
    }
    ck_assert_str_eq(ct_thread_name(t), "renamed");
    return true;
}

static void *wait_event(void *arg)
{
    ct_event_wait(arg);
    return NULL;
}

START_TEST(thread_set_name_out_of_memory)
{
    ct_event_t go = CT_EVENT_INIT;
    ct_thread_t *t = ct_thread_spawn(wait_event, &go, &(ct_thread_opts){ .name = "before" });
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(until_it_succeeds(set_name, t), 1);
    ck_assert_int_eq(until_it_succeeds(set_name, ct_main_thread()), 1);
    ct_event_set(&go);
    ck_assert_int_eq(ct_thread_join(t, NULL), 0);
    ct_thread_unref(t);
}
END_TEST

/* ct_current_thread in a thread not started here: its dummy object and
 * the dummy's name; without them NULL and ENOMEM, and the thread has no
 * object until a later call gets one. */
struct dummy_run {
    bool ok;
};

static void *foreign(void *arg)
{
    struct dummy_run *run = arg;
    errno = 0;
    ct_thread_t *me = ct_current_thread();
    run->ok = me != NULL;
    if (me) {
        ck_assert(strncmp(ct_thread_name(me), "Dummy-", 6) == 0);
        return NULL;
    }
    ck_assert_int_eq(errno, ENOMEM);
    size_t active = ct_active_count();
    ct__alloc_fail_after(-1);
    me = ct_current_thread();
    ck_assert_ptr_nonnull(me);
    ck_assert_uint_eq(ct_active_count(), active + 1);
    return NULL;
}

static bool dummy(void *unused)
{
    (void)unused;
    struct dummy_run run = { false };
    run_raw(foreign, &run);
    return run.ok;
}

START_TEST(dummy_thread_out_of_memory)
{
    ck_assert_int_eq(until_it_succeeds(dummy, NULL), 2);
    CT_WAIT_UNTIL(ct_active_count() == 1); /* the dummies end with their threads */
}
END_TEST

/* ct_local_init: the table of keys grows (from none, then at 64 keys);
 * a failed init leaves the key untouched. */
#define KEYS 70

static bool local_init(void *unused)
{
    (void)unused;
    ct_local_t keys[KEYS];
    int made = 0, rc = 0;
    for (; made < KEYS; made++) {
        keys[made].index = 12345;
        rc = ct_local_init(&keys[made], NULL);
        if (rc) {
            ck_assert_int_eq(rc, ENOMEM);
            ck_assert_uint_eq(keys[made].index, 12345);
            break;
        }
    }
    ct__alloc_fail_after(-1); /* the keys work */
    for (int i = 0; i < made; i++) {
        ck_assert_int_eq(ct_local_set(&keys[i], &keys[i]), 0);
        ck_assert_ptr_eq(ct_local_get(&keys[i]), &keys[i]);
        ct_local_destroy(&keys[i]);
    }
    return rc == 0;
}

START_TEST(local_init_out_of_memory)
{
    /* The first run's first init fails; the second grows the table to 64
     * keys and fails to grow it again; the third reuses 63 and grows. */
    ck_assert_int_eq(until_it_succeeds(local_init, NULL), 2);
}
END_TEST

/* ct_local_set: a thread's first value makes its table (two allocations),
 * a key past the table's size grows it; a failed set leaves every value
 * as it was, and the values set are destroyed when the thread ends. */
struct local_run {
    ct_local_t near, far;
    bool ok;
    int set, destroyed;
};

static struct local_run *local_run;

static void count_destroyed(void *value)
{
    (void)value;
    BUMP(local_run->destroyed);
}

static void *local_setter(void *arg)
{
    struct local_run *run = arg;
    int rc = ct_local_set(&run->near, &run->near);
    if (rc) {
        ck_assert_int_eq(rc, ENOMEM);
        ck_assert_ptr_null(ct_local_get(&run->near));
        return NULL;
    }
    ck_assert_ptr_eq(ct_local_get(&run->near), &run->near);
    run->set++;
    rc = ct_local_set(&run->far, &run->far);
    if (rc) {
        ck_assert_int_eq(rc, ENOMEM);
        ck_assert_ptr_null(ct_local_get(&run->far));
        ck_assert_ptr_eq(ct_local_get(&run->near), &run->near);
        return NULL;
    }
    ck_assert_ptr_eq(ct_local_get(&run->far), &run->far);
    run->set++;
    run->ok = true;
    return NULL;
}

static bool local_set(void *arg)
{
    struct local_run *run = arg;
    run->ok = false;
    run->set = 0;
    int before = READ(run->destroyed);
    run_raw(local_setter, run);
    /* Whatever was set is destroyed with the thread, nothing more. */
    ck_assert_int_eq(READ(run->destroyed) - before, run->set);
    return run->ok;
}

START_TEST(local_set_out_of_memory)
{
    struct local_run run = { .destroyed = 0 };
    local_run = &run;
    ct_local_t filler[16];
    ck_assert_int_eq(ct_local_init(&run.near, count_destroyed), 0);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(ct_local_init(&filler[i], NULL), 0);
    ck_assert_int_eq(ct_local_init(&run.far, count_destroyed), 0);
    ck_assert_uint_gt(run.far.index, 8);
    ck_assert_int_eq(until_it_succeeds(local_set, &run), 3);
    for (int i = 0; i < 16; i++)
        ct_local_destroy(&filler[i]);
    ct_local_destroy(&run.near);
    ct_local_destroy(&run.far);
}
END_TEST

/* Timers: ct_timer_new's object, and ct_timer_start's heap, which grows
 * from none and at 64 pending timers. A timer whose start failed is as it
 * was: not alive, and it can be started later. */
static void count_call(void *arg)
{
    BUMP(*(int *)arg);
}

#define TIMERS 65

static bool timers(void *calls)
{
    ct_timer_t *t[TIMERS];
    int made = 0, rc = 0, ran_before = READ(*(int *)calls);
    for (; made < TIMERS; made++) {
        errno = 0;
        t[made] = ct_timer_new(made == 0 ? 0.001 : 1000.0, count_call, calls);
        if (!t[made]) {
            ck_assert_int_eq(errno, ENOMEM);
            break;
        }
        rc = ct_timer_start(t[made]);
        if (rc) {
            ck_assert_int_eq(rc, ENOMEM);
            ck_assert(!ct_timer_is_alive(t[made]));
            ck_assert_int_eq(ct_timer_join_timeout(t[made], 0), EINVAL); /* never started */
            ct_timer_free(t[made]);
            break;
        }
        /* The first is due in a millisecond: it may have run already. */
        ck_assert(ct_timer_is_alive(t[made]) ||
                  (made == 0 && READ(*(int *)calls) == ran_before + 1));
    }
    if (made > 0) {
        ck_assert_int_eq(ct_timer_join(t[0]), 0); /* the one due soon ran */
        ck_assert(!ct_timer_is_alive(t[0]));
    }
    for (int i = 0; i < made; i++)
        ct_timer_free(t[i]);
    return made == TIMERS;
}

START_TEST(timer_out_of_memory)
{
    int calls = 0;
    /* n = 0: the first new fails; 1: the first start (the heap, from
     * none); then each new in turn, until the 65th start (the heap grows
     * past 64); the run after that makes 65 timers and a heap. */
    ck_assert_int_eq(until_it_succeeds(timers, &calls), TIMERS + 1);
    ck_assert_int_eq(READ(calls), TIMERS); /* the first timer of each run from n = 2 */
}
END_TEST

/* Thread creation refused. */
START_TEST(thread_start_refused)
{
    ct_thread_t *t = ct_thread_new(give_back, &errno, NULL);
    ck_assert_ptr_nonnull(t);
    ct__pthread_create_fail_after(0);
    ck_assert_int_eq(ct_thread_start(t), EAGAIN);
    ct__pthread_create_fail_after(-1);
    ck_assert(!ct_thread_is_alive(t));
    ck_assert_uint_eq(ct_thread_ident(t), 0);
    ck_assert_int_eq(ct_thread_native_id(t), 0);
    ck_assert_int_eq(ct_thread_join(t, NULL), EINVAL);
    ck_assert_uint_eq(ct_active_count(), 1);
    ck_assert_int_eq(ct_thread_set_daemon(t, true), 0); /* still unstarted */
    ck_assert_int_eq(ct_thread_start(t), 0);
    void *r = NULL;
    ck_assert_int_eq(ct_thread_join(t, &r), 0);
    ck_assert_ptr_eq(r, &errno);
    ct_thread_unref(t);
}
END_TEST

START_TEST(thread_spawn_refused)
{
    ct__pthread_create_fail_after(0);
    errno = 0;
    ck_assert_ptr_null(ct_thread_spawn(give_back, NULL, NULL));
    ck_assert_int_eq(errno, EAGAIN);
    ct__pthread_create_fail_after(-1);
    ck_assert_uint_eq(ct_active_count(), 1);
    ct_thread_t *t = ct_thread_spawn(give_back, NULL, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(ct_thread_join(t, NULL), 0);
    ct_thread_unref(t);
}
END_TEST

START_TEST(timer_thread_refused)
{
    int calls = 0;
    ct_timer_t *t = ct_timer_new(0.001, count_call, &calls);
    ck_assert_ptr_nonnull(t);
    ct__pthread_create_fail_after(0);
    ck_assert_int_eq(ct_timer_start(t), EAGAIN);
    ct__pthread_create_fail_after(-1);
    ck_assert(!ct_timer_is_alive(t));
    ck_assert_int_eq(ct_timer_start(t), 0);
    ck_assert_int_eq(ct_timer_join(t), 0);
    ck_assert_int_eq(calls, 1);
    ct_timer_free(t);
}
END_TEST

/* The first due timer needs a runner, and the OS refuses it: the timer
 * stays due, and runs once a thread can be had. */
START_TEST(timer_runner_refused)
{
    int calls = 0;
    ct_timer_t *t = ct_timer_new(0.001, count_call, &calls);
    ck_assert_ptr_nonnull(t);
    ct__pthread_create_fail_after(1); /* the timer thread, and no runner */
    ck_assert_int_eq(ct_timer_start(t), 0);
    ct_sleep(0.05); /* give the timer thread the chance to try a runner */
    ck_assert_int_eq(READ(calls), 0);
    ct__pthread_create_fail_after(-1);
    ck_assert_int_eq(ct_timer_join_timeout(t, 5.0 * ct_test_scale()), 0);
    ck_assert_int_eq(READ(calls), 1);
    ct_timer_free(t);
}
END_TEST

/* A runner is busy with a slow callback; the next due timer needs another
 * runner, which the OS refuses: once threads can be had again, it runs
 * while the slow callback still blocks. */
struct slow {
    ct_event_t release;
    int running;
};

static void slow(void *arg)
{
    struct slow *s = arg;
    BUMP(s->running);
    ct_event_wait(&s->release);
}

START_TEST(timer_second_runner_refused)
{
    struct slow s = { .release = CT_EVENT_INIT };
    int calls = 0;
    ct_timer_t *blocker = ct_timer_new(0, slow, &s);
    ct_timer_t *t = ct_timer_new(0.02, count_call, &calls);
    ck_assert_ptr_nonnull(blocker);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(ct_timer_start(blocker), 0);
    CT_WAIT_UNTIL(READ(s.running) == 1);
    ct__pthread_create_fail_after(0);
    ck_assert_int_eq(ct_timer_start(t), 0);
    ct_sleep(0.1); /* give the timer thread the chance to try a runner */
    ck_assert_int_eq(READ(calls), 0);
    ct__pthread_create_fail_after(-1);
    ck_assert_int_eq(ct_timer_join_timeout(t, 5.0 * ct_test_scale()), 0);
    ck_assert_int_eq(READ(calls), 1);
    ck_assert(ct_timer_is_alive(blocker));
    ct_event_set(&s.release);
    ck_assert_int_eq(ct_timer_join(blocker), 0);
    ct_timer_free(blocker);
    ct_timer_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("faults");
    CT_TEST_ADD(s, thread_new_out_of_memory);
    CT_TEST_ADD(s, thread_spawn_out_of_memory);
    CT_TEST_ADD(s, thread_set_name_out_of_memory);
    CT_TEST_ADD(s, dummy_thread_out_of_memory);
    CT_TEST_ADD(s, local_init_out_of_memory);
    CT_TEST_ADD(s, local_set_out_of_memory);
    CT_TEST_ADD(s, timer_out_of_memory);
    CT_TEST_ADD(s, thread_start_refused);
    CT_TEST_ADD(s, thread_spawn_refused);
    CT_TEST_ADD(s, timer_thread_refused);
    CT_TEST_ADD(s, timer_runner_refused);
    CT_TEST_ADD(s, timer_second_runner_refused);
    return s;
}

CT_TEST_MAIN(make_suite)
