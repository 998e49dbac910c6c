/*
 * ct_thread_t and the module functions: CPython's test_threading.py
 * ThreadTests and ThreadingExceptionTests, as far as they mean something
 * in C, plus names given to the OS thread, stack sizes, references, the
 * failure paths (out of memory, the OS refusing a thread) and many
 * threads. Exit and fork() have their own files.
 */
#include "support.h"

#include "alloc.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DROP(x) __atomic_sub_fetch(&(x), 1, __ATOMIC_SEQ_CST)

/* Threads that must not end yet pass through the gate, which the test
 * holds closed (as CPython's tests use a held _thread lock). */
static ct_lock_t gate = CT_LOCK_INIT;
static int arrived;

static void gate_pass(void)
{
    BUMP(arrived);
    ck_assert_int_eq(ct_lock_acquire(&gate), 0);
    ck_assert_int_eq(ct_lock_release(&gate), 0);
}

static void *noop(void *arg)
{
    return arg;
}

static void *wait_gate(void *arg)
{
    gate_pass();
    return arg;
}

static ct_thread_t *spawn_checked(ct_thread_fn fn, void *arg, const ct_thread_opts *opts)
{
    ct_thread_t *t = ct_thread_spawn_named(fn, NULL, arg, opts);
    ck_assert_ptr_nonnull(t);
    return t;
}

static void join_unref(ct_thread_t *t)
{
    ck_assert_int_eq(ct_thread_join(t, NULL), 0);
    ct_thread_unref(t);
}

/* The OS name of thread tid, from /proc. */
static void os_name(long tid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/comm", tid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, (int)size, f));
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

static unsigned long number_in(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    ck_assert_msg(strncmp(name, prefix, n) == 0, "'%s' does not start with '%s'", name, prefix);
    return strtoul(name + n, NULL, 10);
}

START_TEST(test_name)
{
    ct_thread_t *t = ct_thread_new(noop, NULL, &(ct_thread_opts){ .name = "myname1" });
    ck_assert_str_eq(ct_thread_name(t), "myname1");
    ct_thread_unref(t);

    /* The default: "Thread-N (fn)", N counting. */
    t = ct_thread_new(noop, NULL, NULL);
    unsigned long n = number_in(ct_thread_name(t), "Thread-");
    char want[64];
    snprintf(want, sizeof want, "Thread-%lu (noop)", n);
    ck_assert_str_eq(ct_thread_name(t), want);
    ct_thread_unref(t);

    /* An empty name is no name; the target's name is ignored if a name is
     * given. */
    t = ct_thread_new(noop, NULL, &(ct_thread_opts){ .name = "" });
    snprintf(want, sizeof want, "Thread-%lu (noop)", n + 1);
    ck_assert_str_eq(ct_thread_name(t), want);
    ct_thread_unref(t);

    t = ct_thread_new(&noop, NULL, NULL);
    snprintf(want, sizeof want, "Thread-%lu (noop)", n + 2);
    ck_assert_str_eq(ct_thread_name(t), want);
    ct_thread_unref(t);

    /* No target: "Thread-N", as Python's Thread(). */
    t = ct_thread_new(NULL, NULL, NULL);
    snprintf(want, sizeof want, "Thread-%lu", n + 3);
    ck_assert_str_eq(ct_thread_name(t), want);
    ct_thread_unref(t);

    /* The functions behind the macros do not know fn's name. */
    t = (ct_thread_new)(noop, NULL, NULL);
    snprintf(want, sizeof want, "Thread-%lu", n + 4);
    ck_assert_str_eq(ct_thread_name(t), want);
    ct_thread_unref(t);

    /* The name is a copy. */
    char mine[] = "mine";
    t = ct_thread_new(noop, NULL, &(ct_thread_opts){ .name = mine });
    mine[0] = 'X';
    ck_assert_str_eq(ct_thread_name(t), "mine");
    ck_assert_int_eq(ct_thread_set_name(t, mine), 0);
    mine[0] = 'Y';
    ck_assert_str_eq(ct_thread_name(t), "Xine");
    ck_assert_int_eq(ct_thread_set_name(t, NULL), EINVAL);
    ck_assert_str_eq(ct_thread_name(t), "Xine");
    ct_thread_unref(t);
}
END_TEST

START_TEST(test_functions_by_address)
{
    ct_thread_t *(*make)(ct_thread_fn, void *, const ct_thread_opts *) = ct_thread_new;
    ct_thread_t *(*spawn)(ct_thread_fn, void *, const ct_thread_opts *) = ct_thread_spawn;
    int x = 7;
    ct_thread_t *t = make(noop, &x, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(ct_thread_start(t), 0);
    void *result = NULL;
    ck_assert_int_eq(ct_thread_join(t, &result), 0);
    ck_assert_ptr_eq(result, &x);
    ct_thread_unref(t);

    t = spawn(noop, &x, &(ct_thread_opts){ .name = "worker", .daemon = CT_DAEMON });
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(ct_thread_name(t), "worker");
    ck_assert(ct_thread_is_daemon(t));
    join_unref(t);
}
END_TEST

static void *twice(void *arg)
{
    return (void *)(2 * (intptr_t)arg);
}

START_TEST(test_args_argument)
{
    for (intptr_t i = 0; i < 5; i++) {
        ct_thread_t *t = ct_thread_spawn(twice, (void *)i, NULL);
        ck_assert_ptr_nonnull(t);
        void *result = (void *)-1;
        ck_assert_int_eq(ct_thread_join(t, &result), 0);
        ck_assert_ptr_eq(result, (void *)(2 * i));
        /* Joined again, by the same thread: the same result. */
        result = NULL;
        ck_assert_int_eq(ct_thread_join_timeout(t, 0, &result), 0);
        ck_assert_ptr_eq(result, (void *)(2 * i));
        ct_thread_unref(t);
    }
}
END_TEST

/* test_various_ops: ten threads, at most three at work at once (a
 * counting limit made of atomics: Semaphore is tested elsewhere). */
static int running, max_running;
static long native_ids[11];

static void *limited_task(void *arg)
{
    native_ids[(intptr_t)arg] = ct_get_native_id();
    for (;;) {
        int r = READ(running);
        if (r < 3 && __atomic_compare_exchange_n(&running, &r, r + 1, false, __ATOMIC_SEQ_CST,
                                                 __ATOMIC_SEQ_CST))
            break;
        ct_sleep(0.0001);
    }
    int now = READ(running), max = READ(max_running);
    while (now > max && !__atomic_compare_exchange_n(&max_running, &max, now, false,
                                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
    ct_sleep(0.0001 * (double)((intptr_t)arg % 4));
    DROP(running);
    return NULL;
}

static void various_ops(void)
{
    enum { N = 10 };
    ct_thread_t *threads[N];
    long ids[N + 1];
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "<thread %d>", i);
        threads[i] = ct_thread_new(limited_task, (void *)(intptr_t)i,
                                   &(ct_thread_opts){ .name = name });
        ck_assert_ptr_nonnull(threads[i]);
        ck_assert_uint_eq(ct_thread_ident(threads[i]), 0);
        ck_assert_int_eq(ct_thread_native_id(threads[i]), 0);
        ck_assert_int_eq(ct_thread_start(threads[i]), 0);
    }
    for (int i = 0; i < N; i++)
        ids[i] = ct_thread_native_id(threads[i]);
    ids[N] = ct_get_native_id();
    for (int i = 0; i <= N; i++) {
        ck_assert_int_gt(ids[i], 0);
        for (int j = 0; j < i; j++)
            ck_assert_int_ne(ids[i], ids[j]);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(ct_thread_join(threads[i], NULL), 0);
        ck_assert(!ct_thread_is_alive(threads[i]));
        ck_assert_uint_ne(ct_thread_ident(threads[i]), 0);
        ck_assert_int_eq(ct_thread_native_id(threads[i]), native_ids[i]);
        ct_thread_unref(threads[i]);
    }
    ck_assert_int_eq(READ(running), 0);
    ck_assert_int_le(READ(max_running), 3);
    ck_assert_int_ge(READ(max_running), 1);
}

START_TEST(test_various_ops)
{
    various_ops();
}
END_TEST

START_TEST(test_various_ops_small_stack)
{
    ck_assert_int_eq(ct_stack_size(256 * 1024, NULL), 0);
    various_ops();
    ck_assert_int_eq(ct_stack_size(0, NULL), 0);
}
END_TEST

START_TEST(test_various_ops_large_stack)
{
    ck_assert_int_eq(ct_stack_size(1024 * 1024, NULL), 0);
    various_ops();
    ck_assert_int_eq(ct_stack_size(0, NULL), 0);
}
END_TEST

/* A thread not started by cthreading: what it sees of itself. */
struct foreign {
    ct_thread_t *dummy;
    unsigned long ident, self_ident;
    long native_id, self_native_id;
    bool alive, daemon, in_enumerate, same_twice;
    int join, join_timeout, start, set_daemon;
    size_t active;
};

static void *foreign_main(void *arg)
{
    struct foreign *f = arg;
    f->dummy = ct_current_thread();
    f->same_twice = ct_current_thread() == f->dummy;
    f->ident = ct_thread_ident(f->dummy);
    f->self_ident = ct_get_ident();
    f->native_id = ct_thread_native_id(f->dummy);
    f->self_native_id = ct_get_native_id();
    f->alive = ct_thread_is_alive(f->dummy);
    f->daemon = ct_thread_is_daemon(f->dummy);
    f->join = ct_thread_join(f->dummy, NULL);
    f->join_timeout = ct_thread_join_timeout(f->dummy, 0, NULL);
    f->start = ct_thread_start(f->dummy);
    f->set_daemon = ct_thread_set_daemon(f->dummy, false);
    f->active = ct_active_count();
    ct_thread_t *all[8];
    size_t n = ct_enumerate(all, 8);
    for (size_t i = 0; i < n && i < 8; i++) {
        f->in_enumerate |= all[i] == f->dummy;
        ct_thread_unref(all[i]);
    }
    ct_thread_ref(f->dummy); /* kept past the thread's end */
    return NULL;
}

START_TEST(test_foreign_thread)
{
    struct foreign f = { 0 };
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, foreign_main, &f), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_ptr_nonnull(f.dummy);
    ck_assert(f.same_twice);
    /* Dummies count with the default names, as in Python. */
    unsigned long n = number_in(ct_thread_name(f.dummy), "Dummy-");
    ct_thread_t *t = ct_thread_new(NULL, NULL, NULL);
    ck_assert_uint_eq(number_in(ct_thread_name(t), "Thread-"), n + 1);
    ct_thread_unref(t);
    ck_assert_uint_eq(f.ident, (unsigned long)th);
    ck_assert_uint_eq(f.self_ident, (unsigned long)th);
    ck_assert_int_eq(f.native_id, f.self_native_id);
    ck_assert(f.alive);
    ck_assert(f.daemon);
    ck_assert_int_eq(f.join, EINVAL);
    ck_assert_int_eq(f.join_timeout, EINVAL);
    ck_assert_int_eq(f.start, EINVAL);
    ck_assert_int_eq(f.set_daemon, EINVAL);
    ck_assert_uint_eq(f.active, 2);
    ck_assert(f.in_enumerate);
    /* Gone with its thread (pthread_join returns after the thread's key
     * destructors); the reference kept still works. */
    ck_assert_uint_eq(ct_active_count(), 1);
    ck_assert(!ct_thread_is_alive(f.dummy));
    ck_assert_int_eq(ct_thread_join(f.dummy, NULL), EINVAL);
    ct_thread_unref(f.dummy);
}
END_TEST

static void *ident_of_current(void *arg)
{
    (void)arg;
    return (void *)ct_thread_ident(ct_current_thread());
}

START_TEST(test_ident_of_no_threading_threads)
{
    ck_assert_uint_eq(ct_thread_ident(ct_current_thread()), ct_get_ident());
    ck_assert_uint_eq(ct_get_ident(), (unsigned long)pthread_self());
    pthread_t th;
    void *ident;
    ck_assert_int_eq(pthread_create(&th, NULL, ident_of_current, NULL), 0);
    ck_assert_int_eq(pthread_join(th, &ident), 0);
    ck_assert_uint_eq((unsigned long)ident, (unsigned long)th);

    ct_thread_t *t = spawn_checked(ident_of_current, NULL, NULL);
    ck_assert_int_eq(ct_thread_join(t, &ident), 0);
    ck_assert_uint_eq((unsigned long)ident, ct_thread_ident(t));
    ct_thread_unref(t);
}
END_TEST

/* test_limbo_cleanup, test_start_new_thread_failed: the OS refuses. */
START_TEST(test_start_new_thread_failed)
{
    int x;
    ct_thread_t *t = ct_thread_new(noop, &x, NULL);
    ct__pthread_create_fail_after(0);
    ck_assert_int_eq(ct_thread_start(t), EAGAIN);
    ck_assert(!ct_thread_is_alive(t));
    ck_assert_uint_eq(ct_thread_ident(t), 0);
    ck_assert_int_eq(ct_thread_native_id(t), 0);
    ck_assert_uint_eq(ct_active_count(), 1);
    ct_thread_t *all[4];
    ck_assert_uint_eq(ct_enumerate(all, 4), 1);
    ck_assert_ptr_eq(all[0], ct_main_thread());
    ct_thread_unref(all[0]);
    ck_assert_int_eq(ct_thread_join(t, NULL), EINVAL);
    ck_assert_int_eq(ct_thread_set_daemon(t, true), 0);

    errno = 0;
    ck_assert_ptr_null(ct_thread_spawn(noop, NULL, NULL));
    ck_assert_int_eq(errno, EAGAIN);

    /* Still valid, and unstarted: it can start later. */
    ct__pthread_create_fail_after(-1);
    ck_assert_int_eq(ct_thread_start(t), 0);
    void *result = NULL;
    ck_assert_int_eq(ct_thread_join(t, &result), 0);
    ck_assert_ptr_eq(result, &x);
    ck_assert(ct_thread_is_daemon(t));
    ct_thread_unref(t);
}
END_TEST

/* Out of memory: nothing is made, nothing leaks (LeakSanitizer checks in
 * the ASan build), and the next try works. */
static void *current_in_thread(void *arg)
{
    int *err = arg;
    ct_thread_t *t = ct_current_thread();
    *err = t ? 0 : errno;
    return t;
}

START_TEST(test_out_of_memory)
{
    for (long n = 0; n < 2; n++) {
        ct__alloc_fail_after(n);
        errno = 0;
        ck_assert_ptr_null(ct_thread_new(noop, NULL, NULL));
        ck_assert_int_eq(errno, ENOMEM);
        ct__alloc_fail_after(n);
        errno = 0;
        ck_assert_ptr_null(ct_thread_new(noop, NULL, &(ct_thread_opts){ .name = "named" }));
        ck_assert_int_eq(errno, ENOMEM);
        ct__alloc_fail_after(n);
        errno = 0;
        ck_assert_ptr_null(ct_thread_spawn(noop, NULL, NULL));
        ck_assert_int_eq(errno, ENOMEM);
    }
    ct__alloc_fail_after(-1);
    ct_thread_t *t = ct_thread_new(noop, NULL, &(ct_thread_opts){ .name = "before" });
    ct__alloc_fail_after(0);
    ck_assert_int_eq(ct_thread_set_name(t, "after"), ENOMEM);
    ck_assert_str_eq(ct_thread_name(t), "before");

    /* A thread not started here cannot get its dummy object. */
    int err = 0;
    pthread_t th;
    void *dummy;
    ck_assert_int_eq(pthread_create(&th, NULL, current_in_thread, &err), 0);
    ck_assert_int_eq(pthread_join(th, &dummy), 0);
    ck_assert_ptr_null(dummy);
    ck_assert_int_eq(err, ENOMEM);
    ck_assert_uint_eq(ct_active_count(), 1);

    ct__alloc_fail_after(-1);
    ck_assert_int_eq(ct_thread_start(t), 0);
    join_unref(t);
}
END_TEST

START_TEST(test_enumerate_after_join)
{
    for (int i = 0; i < 100; i++) {
        ct_thread_t *t = spawn_checked(noop, NULL, NULL);
        ck_assert_int_eq(ct_thread_join(t, NULL), 0);
        ct_thread_t *all[8];
        size_t n = ct_enumerate(all, 8);
        ck_assert_uint_eq(n, 1);
        ck_assert_ptr_ne(all[0], t);
        ct_thread_unref(all[0]);
        ct_thread_unref(t);
    }
}
END_TEST

/* Joiners of one thread, all at once: each gets its result. */
struct joiner_arg {
    ct_thread_t *target;
    int started;
    void *results[8];
    int rcs[8];
};

static struct joiner_arg joiners;

static void *joiner(void *arg)
{
    intptr_t i = (intptr_t)arg;
    BUMP(joiners.started);
    joiners.rcs[i] = ct_thread_join(joiners.target, &joiners.results[i]);
    return NULL;
}

START_TEST(test_join_from_multiple_threads)
{
    int x;
    for (int n = 2; n <= 8; n++) {
        ct_lock_acquire(&gate);
        memset(&joiners, 0, sizeof joiners);
        joiners.target = spawn_checked(wait_gate, &x, NULL);
        ct_thread_t *js[8];
        for (intptr_t i = 0; i < n; i++)
            js[i] = spawn_checked(joiner, (void *)i, NULL);
        CT_WAIT_UNTIL(READ(joiners.started) == n);
        ct_sleep(0.01); /* a chance for them to sleep in join */
        ct_lock_release(&gate);
        for (int i = 0; i < n; i++) {
            join_unref(js[i]);
            ck_assert_int_eq(joiners.rcs[i], 0);
            ck_assert_ptr_eq(joiners.results[i], &x);
        }
        join_unref(joiners.target);
    }
}
END_TEST

START_TEST(test_join_with_timeout)
{
    ct_lock_acquire(&gate);
    ct_thread_t *t = spawn_checked(wait_gate, NULL, NULL);
    double start = ct_monotonic();
    ck_assert_int_eq(ct_thread_join_timeout(t, 0.05, NULL), ETIMEDOUT);
    CT_ASSERT_TOOK(start, 0.05);
    ck_assert(ct_thread_is_alive(t));
    ck_assert_int_eq(ct_thread_join_timeout(t, 0, NULL), ETIMEDOUT);
    ck_assert_int_eq(ct_thread_join_timeout(t, NAN, NULL), EINVAL);
    ck_assert_int_eq(ct_thread_join_timeout(t, -2, NULL), EINVAL);
    ct_lock_release(&gate);
    ck_assert_int_eq(ct_thread_join_timeout(t, INFINITY, NULL), 0);
    ck_assert(!ct_thread_is_alive(t));
    ck_assert_int_eq(ct_thread_join_timeout(t, 0, NULL), 0);
    ck_assert_int_eq(ct_thread_join_timeout(t, CT_FOREVER, NULL), 0);
    ct_thread_unref(t);
}
END_TEST

/* Signals never surface: a timed join lasts its whole timeout, and a join
 * outlasts the storm and returns 0 once the thread ends. */
static void *open_gate_later(void *arg)
{
    ct_sleep(0.1);
    ct_lock_release(&gate);
    return arg;
}

START_TEST(test_join_under_signal_storm)
{
    ct_lock_acquire(&gate);
    ct_thread_t *t = spawn_checked(wait_gate, NULL, NULL);
    ct_storm_start();
    double start = ct_monotonic();
    ck_assert_int_eq(ct_thread_join_timeout(t, 0.2, NULL), ETIMEDOUT);
    CT_ASSERT_TOOK(start, 0.2);
    ct_thread_t *opener = spawn_checked(open_gate_later, NULL, NULL);
    ck_assert_int_eq(ct_thread_join(t, NULL), 0);
    ck_assert_int_gt(ct_storm_stop(), 0);
    join_unref(opener);
    ct_thread_unref(t);
}
END_TEST

/* test_no_refcycle_through_target, test_leak_without_join: the last
 * reference dropped while the thread runs detaches it; it frees itself. */
static void *check_self(void *arg)
{
    gate_pass();
    ck_assert_str_eq(ct_thread_name(ct_current_thread()), "detached");
    return arg;
}

START_TEST(test_leak_without_join)
{
    ct_lock_acquire(&gate);
    ct_thread_t *t = spawn_checked(check_self, NULL, &(ct_thread_opts){ .name = "detached" });
    ct_thread_unref(t);
    ck_assert_uint_eq(ct_active_count(), 2);
    ct_lock_release(&gate);
    CT_WAIT_UNTIL(ct_active_count() == 1);

    ct_thread_unref(spawn_checked(noop, NULL, NULL));
    CT_WAIT_UNTIL(ct_active_count() == 1);
}
END_TEST

START_TEST(test_refs)
{
    ct_thread_t *t = ct_thread_new(noop, NULL, &(ct_thread_opts){ .name = "counted" });
    ck_assert_ptr_eq(ct_thread_ref(t), t);
    ct_thread_unref(t);
    ck_assert_str_eq(ct_thread_name(t), "counted");
    ck_assert_int_eq(ct_thread_start(t), 0);
    ck_assert_ptr_eq(ct_thread_ref(t), t);
    join_unref(t);
    ck_assert(!ct_thread_is_alive(t));
    ct_thread_unref(t);
    ct_thread_unref(NULL);
    /* The main thread's object is not counted. */
    ct_thread_unref(ct_thread_ref(ct_main_thread()));
    ct_thread_unref(ct_main_thread());
    ck_assert_str_eq(ct_thread_name(ct_main_thread()), "MainThread");
}
END_TEST

START_TEST(test_daemon_param)
{
    ct_thread_t *t = ct_thread_new(noop, NULL, NULL);
    ck_assert(!ct_thread_is_daemon(t));
    ct_thread_unref(t);
    t = ct_thread_new(noop, NULL, &(ct_thread_opts){ .daemon = CT_NON_DAEMON });
    ck_assert(!ct_thread_is_daemon(t));
    ct_thread_unref(t);
    t = ct_thread_new(noop, NULL, &(ct_thread_opts){ .daemon = CT_DAEMON });
    ck_assert(ct_thread_is_daemon(t));
    ct_thread_unref(t);
    errno = 0;
    ck_assert_ptr_null(ct_thread_new(noop, NULL, &(ct_thread_opts){ .daemon = 3 }));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(ct_thread_new(noop, NULL, &(ct_thread_opts){ .daemon = -1 }));
}
END_TEST

/* A new thread inherits the daemon flag of the thread that makes it. */
static void *make_child_daemon(void *arg)
{
    const ct_thread_opts *opts = arg;
    ct_thread_t *t = ct_thread_new(noop, NULL, opts);
    bool daemon = ct_thread_is_daemon(t);
    ct_thread_unref(t);
    return (void *)(intptr_t)daemon;
}

static bool child_daemon(const ct_thread_opts *parent, const ct_thread_opts *child)
{
    ct_thread_t *t = spawn_checked(make_child_daemon, (void *)child, parent);
    void *daemon;
    ck_assert_int_eq(ct_thread_join(t, &daemon), 0);
    ct_thread_unref(t);
    return daemon != NULL;
}

START_TEST(test_daemon_inheritance)
{
    const ct_thread_opts daemon = { .daemon = CT_DAEMON }, plain = { .daemon = CT_NON_DAEMON };
    ck_assert(child_daemon(&daemon, NULL));
    ck_assert(!child_daemon(&plain, NULL));
    ck_assert(!child_daemon(&daemon, &plain));
    ck_assert(child_daemon(&plain, &daemon));
    /* A thread not started here is a daemon (its dummy is one). */
    pthread_t th;
    void *d;
    ck_assert_int_eq(pthread_create(&th, NULL, make_child_daemon, NULL), 0);
    ck_assert_int_eq(pthread_join(th, &d), 0);
    ck_assert_ptr_nonnull(d);
}
END_TEST

START_TEST(test_daemonize_active_thread)
{
    ct_lock_acquire(&gate);
    ct_thread_t *t = ct_thread_new(wait_gate, NULL, NULL);
    ck_assert_int_eq(ct_thread_set_daemon(t, true), 0);
    ck_assert(ct_thread_is_daemon(t));
    ck_assert_int_eq(ct_thread_set_daemon(t, false), 0);
    ck_assert_int_eq(ct_thread_start(t), 0);
    ck_assert_int_eq(ct_thread_set_daemon(t, true), EINVAL);
    ck_assert(!ct_thread_is_daemon(t));
    ct_lock_release(&gate);
    ck_assert_int_eq(ct_thread_join(t, NULL), 0);
    ck_assert_int_eq(ct_thread_set_daemon(t, true), EINVAL);
    ck_assert_int_eq(ct_thread_set_daemon(ct_main_thread(), true), EINVAL);
    ck_assert(!ct_thread_is_daemon(ct_main_thread()));
    ct_thread_unref(t);
}
END_TEST

START_TEST(test_start_thread_again)
{
    ct_lock_acquire(&gate);
    ct_thread_t *t = spawn_checked(wait_gate, NULL, NULL);
    ck_assert_int_eq(ct_thread_start(t), EINVAL);
    ct_lock_release(&gate);
    ck_assert_int_eq(ct_thread_join(t, NULL), 0);
    ck_assert_int_eq(ct_thread_start(t), EINVAL);
    ck_assert_int_eq(ct_thread_start(ct_main_thread()), EINVAL);
    ct_thread_unref(t);
}
END_TEST

static void *join_self(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)ct_thread_join(ct_current_thread(), NULL);
}

START_TEST(test_joining_current_thread)
{
    ck_assert_int_eq(ct_thread_join(ct_current_thread(), NULL), EDEADLK);
    ck_assert_int_eq(ct_thread_join_timeout(ct_main_thread(), 1, NULL), EDEADLK);
    ct_thread_t *t = spawn_checked(join_self, NULL, NULL);
    void *rc;
    ck_assert_int_eq(ct_thread_join(t, &rc), 0);
    ck_assert_int_eq((int)(intptr_t)rc, EDEADLK);
    ct_thread_unref(t);
}
END_TEST

START_TEST(test_joining_inactive_thread)
{
    ct_thread_t *t = ct_thread_new(noop, NULL, NULL);
    ck_assert_int_eq(ct_thread_join(t, NULL), EINVAL);
    ck_assert_int_eq(ct_thread_join_timeout(t, 0.01, NULL), EINVAL);
    ck_assert(!ct_thread_is_alive(t));
    ct_thread_unref(t);
}
END_TEST

START_TEST(test_is_alive)
{
    ct_lock_acquire(&gate);
    ct_thread_t *t = ct_thread_new(wait_gate, NULL, NULL);
    ck_assert(!ct_thread_is_alive(t));
    ck_assert_int_eq(ct_thread_start(t), 0);
    ck_assert(ct_thread_is_alive(t));
    CT_WAIT_UNTIL(READ(arrived) == 1);
    ck_assert(ct_thread_is_alive(t));
    ct_lock_release(&gate);
    /* test_repr_stopped: it ends on its own, unjoined. */
    CT_WAIT_UNTIL(!ct_thread_is_alive(t));
    ck_assert_int_eq(ct_thread_join(t, NULL), 0);
    ck_assert(!ct_thread_is_alive(t));
    ct_thread_unref(t);
}
END_TEST

/* test_boolean_target: no function, a thread that does nothing. */
START_TEST(test_no_target)
{
    ct_thread_t *t = ct_thread_spawn(NULL, (void *)1, NULL);
    ck_assert_ptr_nonnull(t);
    void *result = (void *)1;
    ck_assert_int_eq(ct_thread_join(t, &result), 0);
    ck_assert_ptr_null(result);
    ct_thread_unref(t);
}
END_TEST

static void *exit_early(void *arg)
{
    pthread_exit(arg);
}

START_TEST(test_pthread_exit)
{
    int x;
    ct_thread_t *t = spawn_checked(exit_early, &x, NULL);
    void *result = &x;
    ck_assert_int_eq(ct_thread_join(t, &result), 0);
    ck_assert_ptr_null(result);
    ck_assert(!ct_thread_is_alive(t));
    ck_assert_uint_eq(ct_active_count(), 1);
    ct_thread_unref(t);
}
END_TEST

static void *main_from_worker(void *arg)
{
    (void)arg;
    ct_thread_t *main = ct_main_thread();
    ck_assert_ptr_ne(main, ct_current_thread());
    ck_assert_uint_ne(ct_thread_ident(main), ct_thread_ident(ct_current_thread()));
    ck_assert_uint_ne(ct_thread_ident(main), ct_get_ident());
    ck_assert(ct_thread_is_alive(main));
    /* The main thread runs until main returns. */
    double start = ct_monotonic();
    ck_assert_int_eq(ct_thread_join_timeout(main, 0.05, NULL), ETIMEDOUT);
    CT_ASSERT_TOOK(start, 0.05);
    return main;
}

START_TEST(test_main_thread)
{
    ct_thread_t *main = ct_main_thread();
    ck_assert_str_eq(ct_thread_name(main), "MainThread");
    ck_assert_ptr_eq(main, ct_current_thread());
    ck_assert_uint_eq(ct_thread_ident(main), ct_get_ident());
    ck_assert_int_eq(ct_thread_native_id(main), ct_get_native_id());
    ck_assert(ct_thread_is_alive(main));
    ck_assert(!ct_thread_is_daemon(main));
    ct_thread_t *t = spawn_checked(main_from_worker, NULL, NULL);
    void *seen;
    ck_assert_int_eq(ct_thread_join(t, &seen), 0);
    ck_assert_ptr_eq(seen, main);
    ct_thread_unref(t);
}
END_TEST

/* enumerate and active_count agree while 50 threads start and stop. */
static ct_thread_t *churn[50];
static int churn_ready;

static void *churn_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++)
        churn[i] = ct_thread_spawn(noop, NULL, NULL);
    for (int i = 0; i < 50; i++) {
        if (churn[i])
            ct_thread_join(churn[i], NULL);
    }
    WRITE(churn_ready, 1);
    return NULL;
}

START_TEST(test_enumerate_while_threads_come_and_go)
{
    ct_thread_t *spawner = spawn_checked(churn_main, NULL, NULL);
    ct_thread_t *all[64];
    int rounds = 0;
    while (!READ(churn_ready) || rounds < 10) {
        size_t n = ct_enumerate(all, 64), active = ct_active_count();
        ck_assert_uint_ge(n, 1);
        ck_assert_uint_le(n, 52);
        ck_assert_uint_le(active, 52);
        ck_assert_ptr_eq(all[0], ct_main_thread());
        for (size_t i = 0; i < n; i++) {
            ck_assert(all[i] == ct_main_thread() ||
                      strncmp(ct_thread_name(all[i]), "Thread-", 7) == 0);
            ct_thread_unref(all[i]);
        }
        rounds++;
    }
    join_unref(spawner);
    for (int i = 0; i < 50; i++) {
        ck_assert_ptr_nonnull(churn[i]);
        ck_assert(!ct_thread_is_alive(churn[i]));
        ct_thread_unref(churn[i]);
    }
    ck_assert_uint_eq(ct_active_count(), 1);
    ck_assert_uint_eq(ct_enumerate(all, 64), 1);
    ct_thread_unref(all[0]);
    /* A short array gets what fits; the count is all of them. */
    ct_lock_acquire(&gate);
    ct_thread_t *a = spawn_checked(wait_gate, NULL, NULL);
    ct_thread_t *b = spawn_checked(wait_gate, NULL, NULL);
    ck_assert_uint_eq(ct_enumerate(all, 2), 3);
    ck_assert_ptr_eq(all[0], ct_main_thread());
    ck_assert_ptr_eq(all[1], a);
    ct_thread_unref(all[1]);
    ck_assert_uint_eq(ct_enumerate(NULL, 0), 3);
    ck_assert_uint_eq(ct_active_count(), 3);
    ct_lock_release(&gate);
    join_unref(a);
    join_unref(b);
}
END_TEST

/* The name, given to the OS thread: /proc/self/task/{tid}/comm. */
struct os_names {
    char at_start[32], after_rename[32];
};

static void *read_own_name(void *arg)
{
    struct os_names *n = arg;
    os_name(ct_get_native_id(), n->at_start, sizeof n->at_start);
    ck_assert_int_eq(ct_thread_set_name(ct_current_thread(), "new name"), 0);
    os_name(ct_get_native_id(), n->after_rename, sizeof n->after_rename);
    return NULL;
}

static void check_os_name(const char *name, const char *expected)
{
    struct os_names n;
    ct_thread_t *t = spawn_checked(read_own_name, &n, &(ct_thread_opts){ .name = name });
    join_unref(t);
    ck_assert_str_eq(n.at_start, expected);
    ck_assert_str_eq(n.after_rename, "new name");
}

START_TEST(test_os_name)
{
    check_os_name("name", "name");
    check_os_name("CustomName", "CustomName");
    check_os_name("xxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxx");
    check_os_name("xxxxxxxxxxxxxxxyyyyyyyyyy", "xxxxxxxxxxxxxxx");
    /* Cut at a character boundary: 14 bytes, then a 2-byte é. */
    check_os_name("xxxxxxxxxxxxxx\xc3\xa9", "xxxxxxxxxxxxxx");
    check_os_name("xxxxxxxxxxxxx\xc3\xa9yy", "xxxxxxxxxxxxx\xc3\xa9");
    check_os_name("x\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d",
                  "x\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d\xf0\x9f\x90\x8d");

    /* Renamed from outside while it runs, and before it starts. */
    ct_lock_acquire(&gate);
    ct_thread_t *t = ct_thread_new(wait_gate, NULL, &(ct_thread_opts){ .name = "first" });
    ck_assert_int_eq(ct_thread_set_name(t, "second"), 0);
    ck_assert_int_eq(ct_thread_start(t), 0);
    CT_WAIT_UNTIL(READ(arrived) == 1);
    char comm[32];
    os_name(ct_thread_native_id(t), comm, sizeof comm);
    ck_assert_str_eq(comm, "second");
    ck_assert_int_eq(ct_thread_set_name(t, "third"), 0);
    os_name(ct_thread_native_id(t), comm, sizeof comm);
    ck_assert_str_eq(comm, "third");
    ct_lock_release(&gate);
    ck_assert_int_eq(ct_thread_join(t, NULL), 0);
    /* After its end: the object's name only. */
    ck_assert_int_eq(ct_thread_set_name(t, "fourth"), 0);
    ck_assert_str_eq(ct_thread_name(t), "fourth");
    ct_thread_unref(t);
}
END_TEST

/* Stack sizes: a 64 KiB stack works; below the OS minimum is EINVAL. */
static void *use_stack(void *arg)
{
    (void)arg;
    volatile char buf[16 * 1024];
    for (size_t i = 0; i < sizeof buf; i += 512)
        buf[i] = (char)i;
    return (void *)(intptr_t)buf[512];
}

START_TEST(test_stack_size)
{
    size_t old = 1;
    ck_assert_int_eq(ct_stack_size(0, &old), 0);
    ck_assert_uint_eq(old, 0);

    ct_thread_t *t = spawn_checked(use_stack, NULL, &(ct_thread_opts){ .stack_size = 64 * 1024 });
    void *r;
    ck_assert_int_eq(ct_thread_join(t, &r), 0);
    ck_assert_int_eq((int)(intptr_t)r, (char)512);
    ct_thread_unref(t);

    ck_assert_int_eq(ct_stack_size(64 * 1024, &old), 0);
    ck_assert_uint_eq(old, 0);
    join_unref(spawn_checked(use_stack, NULL, NULL));
    ck_assert_int_eq(ct_stack_size(256 * 1024, &old), 0);
    ck_assert_uint_eq(old, 64 * 1024);

    ck_assert_int_eq(ct_stack_size(PTHREAD_STACK_MIN - 1, &old), EINVAL);
    ck_assert_int_eq(ct_stack_size(1, NULL), EINVAL);
    ck_assert_int_eq(ct_stack_size(0, &old), 0);
    ck_assert_uint_eq(old, 256 * 1024);
    ck_assert_int_eq(ct_stack_size(0, &old), 0);
    ck_assert_uint_eq(old, 0);

    errno = 0;
    ck_assert_ptr_null(ct_thread_new(noop, NULL, &(ct_thread_opts){ .stack_size = 1 }));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(
        ct_thread_new(noop, NULL, &(ct_thread_opts){ .stack_size = PTHREAD_STACK_MIN - 1 }));
}
END_TEST

static void *report_native_id(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)ct_get_native_id();
}

START_TEST(test_native_id)
{
    ct_thread_t *t = ct_thread_new(report_native_id, NULL, NULL);
    ck_assert_int_eq(ct_thread_native_id(t), 0);
    ck_assert_int_eq(ct_thread_start(t), 0);
    long id = ct_thread_native_id(t); /* waits until it is known */
    ck_assert_int_gt(id, 0);
    ck_assert_int_ne(id, ct_get_native_id());
    void *seen;
    ck_assert_int_eq(ct_thread_join(t, &seen), 0);
    ck_assert_int_eq((long)(intptr_t)seen, id);
    ck_assert_int_eq(ct_thread_native_id(t), id);
    ct_thread_unref(t);
    ck_assert_int_eq(ct_get_native_id(), getpid());
}
END_TEST

/* No leak across 10,000 create/join cycles (LeakSanitizer in the ASan
 * build checks at exit). */
START_TEST(test_create_join_cycles)
{
    for (intptr_t i = 0; i < 10000; i++) {
        ct_thread_t *t = ct_thread_spawn(twice, (void *)i, NULL);
        ck_assert_ptr_nonnull(t);
        void *r;
        ck_assert_int_eq(ct_thread_join(t, &r), 0);
        ck_assert_ptr_eq(r, (void *)(2 * i));
        ct_thread_unref(t);
    }
    ck_assert_uint_eq(ct_active_count(), 1);
}
END_TEST

/* ... and 10,000 detached threads, at most 32 at a time. */
static int detached_live;

static void *detached_task(void *arg)
{
    DROP(detached_live);
    return arg;
}

START_TEST(test_detached_threads)
{
    for (int i = 0; i < 10000; i++) {
        while (READ(detached_live) >= 32)
            ct_sleep(0.0001);
        BUMP(detached_live);
        ct_thread_t *t = ct_thread_spawn(detached_task, NULL, NULL);
        ck_assert_ptr_nonnull(t);
        ct_thread_unref(t);
    }
    CT_WAIT_UNTIL(ct_active_count() == 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("thread");
    CT_TEST_ADD(s, test_name);
    CT_TEST_ADD(s, test_functions_by_address);
    CT_TEST_ADD(s, test_args_argument);
    CT_TEST_ADD(s, test_various_ops);
    CT_TEST_ADD(s, test_various_ops_small_stack);
    CT_TEST_ADD(s, test_various_ops_large_stack);
    CT_TEST_ADD(s, test_foreign_thread);
    CT_TEST_ADD(s, test_ident_of_no_threading_threads);
    CT_TEST_ADD(s, test_start_new_thread_failed);
    CT_TEST_ADD(s, test_out_of_memory);
    CT_TEST_ADD(s, test_enumerate_after_join);
    CT_TEST_ADD(s, test_join_from_multiple_threads);
    CT_TEST_ADD(s, test_join_with_timeout);
    CT_TEST_ADD(s, test_join_under_signal_storm);
    CT_TEST_ADD(s, test_leak_without_join);
    CT_TEST_ADD(s, test_refs);
    CT_TEST_ADD(s, test_daemon_param);
    CT_TEST_ADD(s, test_daemon_inheritance);
    CT_TEST_ADD(s, test_daemonize_active_thread);
    CT_TEST_ADD(s, test_start_thread_again);
    CT_TEST_ADD(s, test_joining_current_thread);
    CT_TEST_ADD(s, test_joining_inactive_thread);
    CT_TEST_ADD(s, test_is_alive);
    CT_TEST_ADD(s, test_no_target);
    CT_TEST_ADD(s, test_pthread_exit);
    CT_TEST_ADD(s, test_main_thread);
    CT_TEST_ADD(s, test_enumerate_while_threads_come_and_go);
    CT_TEST_ADD(s, test_os_name);
    CT_TEST_ADD(s, test_stack_size);
    CT_TEST_ADD(s, test_native_id);
    CT_TEST_ADD(s, test_create_join_cycles);
    CT_TEST_ADD(s, test_detached_threads);
    return s;
}

CT_TEST_MAIN(make_suite)
