/*
 * The end of a program, Python's way: at a normal exit (return from main,
 * or exit()) the non-daemon threads are waited for and the daemon threads
 * abandoned. CPython's ThreadJoinOnShutdown and the shutdown cases of
 * ThreadTests, each in a new process: the test binary runs itself again
 * with the name of a scenario, whose function is that program's main, and
 * the test checks its exit status, its output and how long it took.
 */
#include "support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *line)
{
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* ---- the scenarios: each is a program's main ---- */

static void *work_then_say(void *arg)
{
    ct_sleep(0.3);
    say(arg);
    return NULL;
}

/* A non-daemon thread still at work when main returns gets it done. */
static int nondaemon_after_return(void)
{
    ct_thread_unref(ct_thread_spawn(work_then_say, "work done", NULL));
    say("end of main");
    return 0;
}

/* test_join_nondaemon_on_shutdown: the same through exit(). */
static int nondaemon_after_exit(void)
{
    ct_thread_unref(ct_thread_spawn(work_then_say, "work done", NULL));
    say("end of main");
    exit(0);
}

static void *block_forever(void *arg)
{
    (void)arg;
    ct_sleep(CT_FOREVER);
    return NULL;
}

/* A daemon thread does not hold the process. */
static int daemon_abandoned(void)
{
    ct_thread_unref(ct_thread_spawn(block_forever, NULL, &(ct_thread_opts){ .daemon = CT_DAEMON }));
    say("end of main");
    return 3;
}

/* test_1_join_on_shutdown: a thread that joins the main thread returns
 * from the join once main has returned. */
static void *join_main(void *arg)
{
    (void)arg;
    if (ct_thread_join(ct_main_thread(), NULL) == 0 && !ct_thread_is_alive(ct_main_thread()))
        say("end of thread");
    return NULL;
}

static int join_on_shutdown(void)
{
    ct_thread_unref(ct_thread_spawn(join_main, NULL, NULL));
    ct_sleep(0.1);
    say("end of main");
    return 0;
}

/* test_thread_from_thread: a thread started by a thread while main has
 * already returned is waited for too. */
static void *second(void *arg)
{
    (void)arg;
    ct_sleep(0.05);
    say("OK");
    return NULL;
}

static void *first(void *arg)
{
    (void)arg;
    ct_sleep(0.05);
    ct_thread_unref(ct_thread_spawn(second, NULL, NULL));
    return NULL;
}

static int thread_from_thread(void)
{
    ct_thread_unref(ct_thread_spawn(first, NULL, NULL));
    return 0;
}

/* A thread that calls exit() is not waited for (it waits); the others
 * are, but not the main thread, which is blocked joining the caller. */
static void *exit_now(void *arg)
{
    (void)arg;
    ct_sleep(0.05);
    exit(5);
}

static int exit_from_worker(void)
{
    ct_thread_unref(ct_thread_spawn(work_then_say, "other work done", NULL));
    ct_thread_t *t = ct_thread_spawn(exit_now, NULL, NULL);
    ct_thread_join(t, NULL);
    say("main went on");
    return 0;
}

/* test_4_daemon_threads: daemon threads at work while the process ends. */
static int daemons_ran;

static void *random_io(void *arg)
{
    int fd = open("/dev/null", O_WRONLY);
    for (int i = 0;; i++) {
        if (write(fd, "stuff", 5) != 5)
            abort();
        ct_sleep(0.0001 * (double)(((intptr_t)arg + i) % 5));
        if (i == 0)
            BUMP(daemons_ran);
    }
}

static int daemon_threads(void)
{
    const ct_thread_opts daemon = { .daemon = CT_DAEMON };
    for (intptr_t i = 0; i < 40; i++)
        ct_thread_unref(ct_thread_spawn(random_io, (void *)i, &daemon));
    while (READ(daemons_ran) < 40)
        ct_sleep(0.001);
    exit(0);
}

/* test_main_thread_during_shutdown, and where the wait sits among atexit
 * handlers: after those registered later than the first start, before
 * those registered earlier. */
static ct_thread_t *worker;

static void early_handler(void)
{
    ct_thread_t *all[4];
    size_t n = ct_enumerate(all, 4);
    printf("early: %d %d %d %d\n", ct_current_thread() == ct_main_thread(),
           n == 1 && all[0] == ct_main_thread(), ct_thread_is_alive(worker),
           ct_thread_is_alive(ct_main_thread()));
    fflush(stdout);
    for (size_t i = 0; i < n && i < 4; i++)
        ct_thread_unref(all[i]);
    ct_thread_unref(worker);
}

static void late_handler(void)
{
    printf("late: %d\n", ct_thread_is_alive(worker));
    fflush(stdout);
}

static int atexit_order(void)
{
    atexit(early_handler);
    worker = ct_thread_spawn(work_then_say, "work done", NULL);
    atexit(late_handler);
    return 0;
}

static const struct scenario {
    const char *name;
    int (*main)(void);
} scenarios[] = {
    { "nondaemon_after_return", nondaemon_after_return },
    { "nondaemon_after_exit", nondaemon_after_exit },
    { "daemon_abandoned", daemon_abandoned },
    { "join_on_shutdown", join_on_shutdown },
    { "thread_from_thread", thread_from_thread },
    { "exit_from_worker", exit_from_worker },
    { "daemon_threads", daemon_threads },
    { "atexit_order", atexit_order },
};

/* ---- the tests: run a scenario in a new process ---- */

struct outcome {
    int status; /* the exit status, or -1 if it did not exit */
    char out[1024];
    double took;
};

static struct outcome run(const char *scenario)
{
    struct outcome o = { .status = -1 };
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    double start = ct_monotonic();
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", "/proc/self/exe", scenario, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    double limit = start + 20.0 * ct_test_scale();
    size_t len = 0;
    int wstatus;
    for (;;) {
        ssize_t n = read(fds[0], o.out + len, sizeof o.out - 1 - len);
        if (n > 0) {
            len += (size_t)n;
            continue;
        }
        if (n == 0)
            break; /* every thread of the child is gone */
        if (ct_monotonic() > limit) {
            kill(pid, SIGKILL);
            break;
        }
        ct_sleep(0.001);
    }
    close(fds[0]);
    o.out[len] = '\0';
    ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
    o.took = ct_monotonic() - start;
    if (WIFEXITED(wstatus))
        o.status = WEXITSTATUS(wstatus);
    return o;
}

START_TEST(test_nondaemon_after_return)
{
    struct outcome o = run("nondaemon_after_return");
    ck_assert_int_eq(o.status, 0);
    ck_assert_str_eq(o.out, "end of main\nwork done\n");
    ck_assert_double_ge(o.took, 0.3);
}
END_TEST

START_TEST(test_join_nondaemon_on_shutdown)
{
    struct outcome o = run("nondaemon_after_exit");
    ck_assert_int_eq(o.status, 0);
    ck_assert_str_eq(o.out, "end of main\nwork done\n");
    ck_assert_double_ge(o.took, 0.3);
}
END_TEST

START_TEST(test_daemon_abandoned)
{
    struct outcome o = run("daemon_abandoned");
    ck_assert_int_eq(o.status, 3);
    ck_assert_str_eq(o.out, "end of main\n");
    ck_assert_double_lt(o.took, 10.0 * ct_test_scale());
}
END_TEST

START_TEST(test_1_join_on_shutdown)
{
    struct outcome o = run("join_on_shutdown");
    ck_assert_int_eq(o.status, 0);
    ck_assert_str_eq(o.out, "end of main\nend of thread\n");
}
END_TEST

START_TEST(test_thread_from_thread)
{
    struct outcome o = run("thread_from_thread");
    ck_assert_int_eq(o.status, 0);
    ck_assert_str_eq(o.out, "OK\n");
}
END_TEST

START_TEST(test_exit_from_worker)
{
    struct outcome o = run("exit_from_worker");
    ck_assert_int_eq(o.status, 5);
    ck_assert_str_eq(o.out, "other work done\n");
}
END_TEST

START_TEST(test_4_daemon_threads)
{
    struct outcome o = run("daemon_threads");
    ck_assert_int_eq(o.status, 0);
    ck_assert_str_eq(o.out, "");
}
END_TEST

START_TEST(test_main_thread_during_shutdown)
{
    struct outcome o = run("atexit_order");
    ck_assert_int_eq(o.status, 0);
    ck_assert_str_eq(o.out, "late: 1\nwork done\nearly: 1 1 0 0\n");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("shutdown");
    CT_TEST_ADD(s, test_nondaemon_after_return);
    CT_TEST_ADD(s, test_join_nondaemon_on_shutdown);
    CT_TEST_ADD(s, test_daemon_abandoned);
    CT_TEST_ADD(s, test_1_join_on_shutdown);
    CT_TEST_ADD(s, test_thread_from_thread);
    CT_TEST_ADD(s, test_exit_from_worker);
    CT_TEST_ADD(s, test_4_daemon_threads);
    CT_TEST_ADD(s, test_main_thread_during_shutdown);
    return s;
}

/* With a scenario's name, be that program; without, run the tests. */
int main(int argc, char **argv)
{
    if (argc == 2) {
        for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++) {
            if (strcmp(argv[1], scenarios[i].name) == 0)
                return scenarios[i].main();
        }
        return 127;
    }
    return ct_test_run(make_suite());
}
