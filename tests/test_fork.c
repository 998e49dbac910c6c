/*
 * fork(): the child holds only the forking thread, which becomes its main
 * thread; the other threads are over there; the child can start and join
 * threads, and its exit waits for them. CPython's fork cases of
 * test_threading.py, each in a child process that reports through its
 * exit status (and stderr, saying what failed).
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Forks; the child runs child_main(arg) and leaves with what it returns:
 * by exit() when full_exit (its shutdown runs, LeakSanitizer checks it),
 * else by _exit() as CPython's tests do. _exit is for children forked
 * from a thread other than main, where LeakSanitizer would count as leaked
 * what only the vanished main thread's stack held, and for forks while
 * threads start or end, which may leave the sanitizers' own thread lock
 * held in the child. Returns the child's exit status, -1 if it did not
 * exit. */
static int fork_and_wait(int (*child_main)(void *), void *arg, bool full_exit)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int status = child_main(arg);
        if (full_exit)
            exit(status);
        _exit(status);
    }
    if (pid < 0)
        return -2;
    int wstatus;
    if (waitpid(pid, &wstatus, 0) != pid)
        return -3;
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

static void *noop(void *arg)
{
    return arg;
}

/* Spawns and joins n threads: 0 when each returned its argument. */
static int spawn_and_join(int n)
{
    for (intptr_t i = 0; i < n; i++) {
        ct_thread_t *t = ct_thread_spawn(noop, (void *)i, NULL);
        CHILD_CHECK(t != NULL);
        void *r;
        CHILD_CHECK(ct_thread_join(t, &r) == 0);
        CHILD_CHECK(r == (void *)i);
        ct_thread_unref(t);
    }
    return 0;
}

/* After fork() in a process with 8 busy threads, the child has one
 * thread, and starts and joins 8. */
static int stop, busy_running;

static void *busy(void *arg)
{
    BUMP(busy_running);
    volatile unsigned long spins = 0;
    while (!READ(stop))
        spins++;
    return arg;
}

static int busy_child(void *arg)
{
    (void)arg;
    CHILD_CHECK(ct_active_count() == 1);
    ct_thread_t *all[16];
    CHILD_CHECK(ct_enumerate(all, 16) == 1);
    CHILD_CHECK(all[0] == ct_main_thread());
    ct_thread_unref(all[0]);
    CHILD_CHECK(ct_current_thread() == ct_main_thread());
    ct_thread_t *t[8];
    for (intptr_t i = 0; i < 8; i++) {
        t[i] = ct_thread_spawn(noop, (void *)i, NULL);
        CHILD_CHECK(t[i] != NULL);
    }
    for (intptr_t i = 0; i < 8; i++) {
        void *r;
        CHILD_CHECK(ct_thread_join(t[i], &r) == 0);
        CHILD_CHECK(r == (void *)i);
        ct_thread_unref(t[i]);
    }
    return 0;
}

START_TEST(test_fork_with_busy_threads)
{
    ct_thread_t *t[8];
    for (int i = 0; i < 8; i++)
        ck_assert_ptr_nonnull(t[i] = ct_thread_spawn(busy, NULL, NULL));
    ck_assert_uint_eq(ct_active_count(), 9);
    CT_WAIT_UNTIL(READ(busy_running) == 8); /* all started: none in pthread_create */
    ck_assert_int_eq(fork_and_wait(busy_child, NULL, true), 0);
    ck_assert_uint_eq(ct_active_count(), 9);
    WRITE(stop, 1);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(ct_thread_join(t[i], NULL), 0);
        ct_thread_unref(t[i]);
    }
}
END_TEST

/* test_main_thread_after_fork */
struct before {
    unsigned long ident;
    long native_id;
    ct_thread_t *current, *main;
};

static int main_after_fork(void *arg)
{
    struct before *b = arg;
    ct_thread_t *main = ct_main_thread();
    CHILD_CHECK(ct_get_ident() == b->ident);
    CHILD_CHECK(strcmp(ct_thread_name(main), "MainThread") == 0);
    CHILD_CHECK(ct_thread_ident(main) == b->ident);
    CHILD_CHECK(ct_current_thread() == main);
    CHILD_CHECK(ct_thread_is_alive(main));
    CHILD_CHECK(ct_active_count() == 1);
    /* test_native_id_after_fork: a new OS thread id. */
    CHILD_CHECK(ct_thread_native_id(main) == ct_get_native_id());
    CHILD_CHECK(ct_get_native_id() != b->native_id);
    return spawn_and_join(2);
}

START_TEST(test_main_thread_after_fork)
{
    struct before b = { ct_get_ident(), ct_get_native_id(), NULL, NULL };
    ck_assert_int_eq(fork_and_wait(main_after_fork, &b, true), 0);
    ck_assert_int_eq(ct_thread_native_id(ct_main_thread()), b.native_id);
}
END_TEST

/* test_main_thread_after_fork_from_nonmain_thread, and
 * test_3_join_in_forked_from_thread: the forking thread keeps its object,
 * which is the child's main thread; the old main thread is over. */
static void *join_old_main(void *arg)
{
    return (void *)(intptr_t)ct_thread_join_timeout(arg, 10, NULL);
}

static int worker_after_fork(void *arg)
{
    struct before *b = arg;
    ct_thread_t *main = ct_main_thread();
    CHILD_CHECK(main == b->current);
    CHILD_CHECK(main != b->main);
    CHILD_CHECK(ct_current_thread() == main);
    CHILD_CHECK(strstr(ct_thread_name(main), " (fork_in_worker)") != NULL);
    CHILD_CHECK(ct_thread_ident(main) == b->ident);
    CHILD_CHECK(ct_thread_is_alive(main));
    CHILD_CHECK(!ct_thread_is_alive(b->main));
    CHILD_CHECK(ct_active_count() == 1);
    ct_thread_t *t = ct_thread_spawn(join_old_main, b->main, NULL);
    CHILD_CHECK(t != NULL);
    void *rc;
    CHILD_CHECK(ct_thread_join(t, &rc) == 0);
    CHILD_CHECK(rc == (void *)0);
    ct_thread_unref(t);
    return 0;
}

static void *fork_in_worker(void *arg)
{
    (void)arg;
    struct before b = { ct_get_ident(), ct_get_native_id(), ct_current_thread(), ct_main_thread() };
    return (void *)(intptr_t)fork_and_wait(worker_after_fork, &b, false);
}

START_TEST(test_main_thread_after_fork_from_nonmain_thread)
{
    ct_thread_t *t = ct_thread_spawn(fork_in_worker, NULL, NULL);
    void *status;
    ck_assert_int_eq(ct_thread_join(t, &status), 0);
    ck_assert_int_eq((int)(intptr_t)status, 0);
    ct_thread_unref(t);
}
END_TEST

/* test_main_thread_after_fork_from_foreign_thread / _dummy_thread: a
 * thread not started here becomes a new "MainThread". */
static int foreign_after_fork(void *arg)
{
    struct before *b = arg;
    ct_thread_t *main = ct_main_thread();
    CHILD_CHECK(strcmp(ct_thread_name(main), "MainThread") == 0);
    CHILD_CHECK(ct_thread_ident(main) == b->ident);
    CHILD_CHECK(ct_thread_native_id(main) == ct_get_native_id());
    CHILD_CHECK(ct_current_thread() == main);
    CHILD_CHECK(!ct_thread_is_daemon(main));
    CHILD_CHECK(ct_active_count() == 1);
    ct_thread_t *all[4];
    CHILD_CHECK(ct_enumerate(all, 4) == 1 && all[0] == main);
    return spawn_and_join(2);
}

static void *fork_in_foreign(void *arg)
{
    bool dummy = arg != NULL;
    if (dummy && !ct_thread_is_daemon(ct_current_thread()))
        return (void *)-1;
    struct before b = { ct_get_ident(), ct_get_native_id(), NULL, NULL };
    return (void *)(intptr_t)fork_and_wait(foreign_after_fork, &b, false);
}

static int fork_from_foreign(bool dummy)
{
    pthread_t th;
    void *status;
    ck_assert_int_eq(pthread_create(&th, NULL, fork_in_foreign, dummy ? "dummy" : NULL), 0);
    ck_assert_int_eq(pthread_join(th, &status), 0);
    return (int)(intptr_t)status;
}

START_TEST(test_main_thread_after_fork_from_foreign_thread)
{
    ck_assert_int_eq(fork_from_foreign(false), 0);
    ck_assert_uint_eq(ct_active_count(), 1);
}
END_TEST

START_TEST(test_main_thread_after_fork_from_dummy_thread)
{
    ck_assert_int_eq(fork_from_foreign(true), 0);
    ck_assert_uint_eq(ct_active_count(), 1);
}
END_TEST

/* test_dummy_thread_after_fork: a dummy of another thread is gone in the
 * child. */
static ct_lock_t gate = CT_LOCK_INIT;
static int arrived;

static void *dummy_waits(void *arg)
{
    ct_current_thread();
    BUMP(arrived);
    ct_lock_acquire(&gate);
    ct_lock_release(&gate);
    return arg;
}

static int one_thread(void *arg)
{
    (void)arg;
    CHILD_CHECK(ct_active_count() == 1);
    return 0;
}

START_TEST(test_dummy_thread_after_fork)
{
    ct_lock_acquire(&gate);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, dummy_waits, NULL), 0);
    CT_WAIT_UNTIL(READ(arrived) == 1);
    ck_assert_uint_eq(ct_active_count(), 2);
    ck_assert_int_eq(fork_and_wait(one_thread, NULL, true), 0);
    ck_assert_uint_eq(ct_active_count(), 2);
    ct_lock_release(&gate);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_uint_eq(ct_active_count(), 1);
}
END_TEST

/* test_is_alive_after_fork: threads of the parent are not alive in the
 * child, whatever they were doing. */
static int alive_in_child(void *arg)
{
    return ct_thread_is_alive(arg) ? 11 : 10;
}

START_TEST(test_is_alive_after_fork)
{
    for (int i = 0; i < 20; i++) {
        ct_thread_t *t = ct_thread_spawn(noop, NULL, NULL);
        ck_assert_int_eq(fork_and_wait(alive_in_child, t, false), 10);
        ck_assert_int_eq(ct_thread_join(t, NULL), 0);
        ct_thread_unref(t);
    }
}
END_TEST

/* test_2_join_in_forked_process: in the child, a thread joins the main
 * thread; the child's exit lets it finish. */
static int report_fd;

static void *join_main_and_report(void *arg)
{
    (void)arg;
    if (ct_thread_join(ct_main_thread(), NULL) == 0)
        (void)!write(report_fd, "end of thread\n", 14);
    return NULL;
}

static int child_joined_at_exit(void *arg)
{
    (void)arg;
    ct_thread_unref(ct_thread_spawn(join_main_and_report, NULL, NULL));
    ct_sleep(0.05);
    (void)!write(report_fd, "end of main\n", 12);
    return 0;
}

START_TEST(test_2_join_in_forked_process)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    report_fd = fds[1];
    ck_assert_int_eq(fork_and_wait(child_joined_at_exit, NULL, true), 0);
    close(fds[1]);
    char out[64] = { 0 };
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    ck_assert_str_eq(out, "end of main\nend of thread\n");
}
END_TEST

/* test_reinit_tls_after_fork: many threads fork at once. */
static int exit_50(void *arg)
{
    (void)arg;
    return 50;
}

static void *fork_and_report(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)fork_and_wait(exit_50, NULL, false);
}

START_TEST(test_reinit_tls_after_fork)
{
    ct_thread_t *t[16];
    for (int i = 0; i < 16; i++)
        t[i] = ct_thread_spawn(fork_and_report, NULL, NULL);
    for (int i = 0; i < 16; i++) {
        void *status;
        ck_assert_int_eq(ct_thread_join(t[i], &status), 0);
        ck_assert_int_eq((int)(intptr_t)status, 50);
        ct_thread_unref(t[i]);
    }
}
END_TEST

/* test_clear_threads_states_after_fork */
static void *sleep_a_while(void *arg)
{
    ct_sleep(0.3);
    return arg;
}

static int count_threads(void *arg)
{
    (void)arg;
    return ct_active_count() == 1 ? 51 : 52;
}

START_TEST(test_clear_threads_states_after_fork)
{
    ct_thread_t *t[16];
    for (int i = 0; i < 16; i++)
        t[i] = ct_thread_spawn(sleep_a_while, NULL, NULL);
    ck_assert_int_eq(fork_and_wait(count_threads, NULL, false), 51);
    for (int i = 0; i < 16; i++) {
        ck_assert_int_eq(ct_thread_join(t[i], NULL), 0);
        ct_thread_unref(t[i]);
    }
}
END_TEST

/* ct_local_t across fork(): the child keeps the forking thread's values
 * only, and keys keep working. */
static ct_local_t key;
static int destroyed;

static void count(void *value)
{
    (void)value;
    BUMP(destroyed);
}

static void *hold_value(void *arg)
{
    ct_local_set(&key, arg);
    BUMP(arrived);
    ct_lock_acquire(&gate);
    ct_lock_release(&gate);
    return NULL;
}

static void *set_in_child(void *arg)
{
    return (void *)(intptr_t)(ct_local_get(&key) == NULL && ct_local_set(&key, arg) == 0 &&
                              ct_local_get(&key) == arg);
}

static int locals_in_child(void *arg)
{
    CHILD_CHECK(ct_local_get(&key) == arg);
    ct_thread_t *t = ct_thread_spawn(set_in_child, &key, NULL);
    void *ok;
    CHILD_CHECK(t && ct_thread_join(t, &ok) == 0 && ok);
    ct_thread_unref(t);
    CHILD_CHECK(READ(destroyed) == 1);
    ct_local_destroy(&key);
    CHILD_CHECK(READ(destroyed) == 2); /* main's value, not the others' */
    return 0;
}

START_TEST(test_locals_after_fork)
{
    ck_assert_int_eq(ct_local_init(&key, count), 0);
    int mine, theirs[2];
    ck_assert_int_eq(ct_local_set(&key, &mine), 0);
    ct_lock_acquire(&gate);
    ct_thread_t *t[2];
    for (int i = 0; i < 2; i++)
        t[i] = ct_thread_spawn(hold_value, &theirs[i], NULL);
    CT_WAIT_UNTIL(READ(arrived) == 2);
    ck_assert_int_eq(fork_and_wait(locals_in_child, &mine, true), 0);
    ct_lock_release(&gate);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(ct_thread_join(t[i], NULL), 0);
        ct_thread_unref(t[i]);
    }
    ck_assert_int_eq(READ(destroyed), 2);
    ct_local_destroy(&key);
    ck_assert_int_eq(READ(destroyed), 3);
}
END_TEST

/* test_fork_at_exit: fork() in an atexit handler that runs after the wait
 * for threads; the grandchild, inside exit() too, leaves by _exit. */
static int handler_child(void *arg)
{
    (void)arg;
    return spawn_and_join(1);
}

/* The thread waited for at exit is over, but its OS thread may still be
 * ending: wait until it is gone, so that no sanitizer lock it holds is
 * copied into the child. */
static long sleeper_tid;

static void fork_at_exit(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld", sleeper_tid);
    while (access(path, F_OK) == 0)
        ct_sleep(0.001);
    _exit(fork_and_wait(handler_child, NULL, false));
}

static int program_with_exit_fork(void *arg)
{
    (void)arg;
    atexit(fork_at_exit);
    ct_thread_t *t = ct_thread_spawn(sleep_a_while, NULL, NULL);
    sleeper_tid = ct_thread_native_id(t);
    ct_thread_unref(t);
    return 0;
}

START_TEST(test_fork_at_exit)
{
    ck_assert_int_eq(fork_and_wait(program_with_exit_fork, NULL, true), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("fork");
    CT_TEST_ADD(s, test_fork_with_busy_threads);
    CT_TEST_ADD(s, test_main_thread_after_fork);
    CT_TEST_ADD(s, test_main_thread_after_fork_from_nonmain_thread);
    CT_TEST_ADD(s, test_main_thread_after_fork_from_foreign_thread);
    CT_TEST_ADD(s, test_main_thread_after_fork_from_dummy_thread);
    CT_TEST_ADD(s, test_dummy_thread_after_fork);
    CT_TEST_ADD(s, test_is_alive_after_fork);
    CT_TEST_ADD(s, test_2_join_in_forked_process);
    CT_TEST_ADD(s, test_reinit_tls_after_fork);
    CT_TEST_ADD(s, test_clear_threads_states_after_fork);
    CT_TEST_ADD(s, test_locals_after_fork);
    CT_TEST_ADD(s, test_fork_at_exit);
    return s;
}

CT_TEST_MAIN(make_suite)
