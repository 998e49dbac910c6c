/*
 * Timer: CPython's Timer tests (fires after its interval, cancel before it
 * fires, arguments reach the callback), Python's Thread-like rules, and
 * the scale promises: 100,000 pending timers on a handful of threads, a
 * blocked callback delaying nobody, 10,000 timers never early, exit
 * waiting for non-daemon timers, fork.
 */
#include "support.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"

static int task_count(void);

/* The threads of this process once the timer service has started and its
 * first runner has retired again: the baseline that pending timers must
 * not raise (whatever threads a sanitizer keeps besides). */
static void nothing(void *arg)
{
    (void)arg;
}

static int settled_task_count(void)
{
    ct_timer_t *t = ct_timer_new(0, nothing, NULL);
    ck_assert_int_eq(ct_timer_start(t), 0);
    ck_assert_int_eq(ct_timer_join(t), 0);
    ct_timer_free(t);
    int busy = task_count();
    CT_WAIT_UNTIL(task_count() < busy);
    return task_count();
}

static int task_count(void)
{
    DIR *d = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

struct record {
    int calls;
    double at;
    void *arg;
    ct_event_t done;
};

static void record(void *arg)
{
    struct record *r = arg;
    r->at = ct_monotonic();
    r->arg = arg;
    __atomic_fetch_add(&r->calls, 1, __ATOMIC_SEQ_CST);
    ct_event_set(&r->done);
}

START_TEST(timer_fires_after_interval)
{
    struct record r = { .done = CT_EVENT_INIT };
    ct_timer_t *t = ct_timer_new(0.1, record, &r);
    ck_assert_ptr_nonnull(t);
    ck_assert(!ct_timer_is_alive(t));
    double t0 = ct_monotonic();
    ck_assert_int_eq(ct_timer_start(t), 0);
    ck_assert(ct_timer_is_alive(t));
    ck_assert_int_eq(ct_timer_join(t), 0);
    ck_assert(!ct_timer_is_alive(t));
    ck_assert_int_eq(r.calls, 1);
    ck_assert_ptr_eq(r.arg, &r);
    CT_ASSERT_DURATION(r.at - t0, 0.1);
    ck_assert_int_eq(ct_timer_cancel(t), 0); /* too late: no effect */
    ck_assert_int_eq(r.calls, 1);
    ct_timer_free(t);
}
END_TEST

START_TEST(timer_cancel_before_firing)
{
    struct record cancelled = { .done = CT_EVENT_INIT }, fence = { .done = CT_EVENT_INIT };
    ct_timer_t *t = ct_timer_new(0.1, record, &cancelled);
    ct_timer_t *f = ct_timer_new(0.3, record, &fence);
    ck_assert_int_eq(ct_timer_start(t), 0);
    ck_assert_int_eq(ct_timer_start(f), 0);
    ck_assert_int_eq(ct_timer_cancel(t), 0);
    ck_assert(!ct_timer_is_alive(t));
    ck_assert_int_eq(ct_timer_join(t), 0);
    /* The fence is due after the cancelled one would have been. */
    ck_assert_int_eq(ct_timer_join(f), 0);
    ck_assert_int_eq(fence.calls, 1);
    ck_assert_int_eq(cancelled.calls, 0);
    ct_timer_free(t);
    ct_timer_free(f);
}
END_TEST

START_TEST(timer_bad_use)
{
    struct record r = { .done = CT_EVENT_INIT };
    errno = 0;
    ck_assert_ptr_null(ct_timer_new(NAN, record, &r));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(ct_timer_new(-1, record, &r));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(ct_timer_new(1, NULL, &r));
    ck_assert_int_eq(errno, EINVAL);
    ct_timer_t *t = ct_timer_new(0.01, record, &r);
    ck_assert_int_eq(ct_timer_join(t), EINVAL);
    ck_assert_int_eq(ct_timer_join_timeout(t, NAN), EINVAL);
    ck_assert_int_eq(ct_timer_cancel(t), 0); /* never started: nothing to do */
    ck_assert_int_eq(ct_timer_set_daemon(t, true), 0);
    ck_assert_int_eq(ct_timer_set_daemon(t, false), 0);
    ck_assert_int_eq(ct_timer_start(t), 0);
    ck_assert_int_eq(ct_timer_start(t), EINVAL);
    ck_assert_int_eq(ct_timer_set_daemon(t, true), EINVAL);
    ck_assert_int_eq(ct_timer_join(t), 0);
    ck_assert_int_eq(ct_timer_start(t), EINVAL);
    ck_assert_int_eq(r.calls, 1);
    ct_timer_free(t);
    ct_timer_free(NULL);
}
END_TEST

START_TEST(timer_join_timeout_while_pending)
{
    struct record r = { .done = CT_EVENT_INIT };
    ct_timer_t *t = ct_timer_new(10, record, &r);
    ck_assert_int_eq(ct_timer_start(t), 0);
    double t0 = ct_monotonic();
    ck_assert_int_eq(ct_timer_join_timeout(t, 0.1), ETIMEDOUT);
    CT_ASSERT_TOOK(t0, 0.1);
    ck_assert_int_eq(ct_timer_join_timeout(t, 0), ETIMEDOUT);
    ck_assert(ct_timer_is_alive(t));
    ct_timer_free(t); /* cancels it */
    ck_assert_int_eq(r.calls, 0);
}
END_TEST

struct self_join {
    ct_timer_t *t;
    int rc;
    ct_event_t started, go;
};

static void join_self(void *arg)
{
    struct self_join *s = arg;
    s->rc = ct_timer_join(s->t);
    ct_event_set(&s->started);
    ct_event_wait(&s->go);
}

START_TEST(timer_callback_cannot_be_cancelled_or_join_itself)
{
    struct self_join s = { .started = CT_EVENT_INIT, .go = CT_EVENT_INIT };
    s.t = ct_timer_new(0, join_self, &s);
    ck_assert_int_eq(ct_timer_start(s.t), 0);
    ck_assert_int_eq(ct_event_wait(&s.started), 0);
    ck_assert_int_eq(s.rc, EDEADLK);
    ck_assert_int_eq(ct_timer_cancel(s.t), 0);
    ck_assert(ct_timer_is_alive(s.t));
    ck_assert_int_eq(ct_timer_join_timeout(s.t, 0.05), ETIMEDOUT);
    ct_event_set(&s.go);
    ck_assert_int_eq(ct_timer_join(s.t), 0);
    ck_assert(!ct_timer_is_alive(s.t));
    ct_timer_free(s.t);
}
END_TEST

START_TEST(timer_free_while_running)
{
    /* Static: once freed, the timer cannot be joined, and its callback may
     * still be reading s when this function returns (exit waits for it). */
    static struct self_join s = { .started = CT_EVENT_INIT, .go = CT_EVENT_INIT };
    s.t = ct_timer_new(0, join_self, &s);
    ck_assert_int_eq(ct_timer_start(s.t), 0);
    ck_assert_int_eq(ct_event_wait(&s.started), 0);
    ct_timer_free(s.t); /* the runner still holds it */
    ct_event_set(&s.go);
    struct record r = { .done = CT_EVENT_INIT };
    ct_timer_t *after = ct_timer_new(0, record, &r);
    ck_assert_int_eq(ct_timer_start(after), 0);
    ck_assert_int_eq(ct_timer_join(after), 0);
    ct_timer_free(after);
}
END_TEST

static void count_call(void *arg)
{
    __atomic_fetch_add((int *)arg, 1, __ATOMIC_SEQ_CST);
}

START_TEST(timer_many_pending_few_threads)
{
    enum { N = 100000 };
    static ct_timer_t *timers[N];
    int calls = 0;
    int before = settled_task_count();
    for (int i = 0; i < N; i++) {
        timers[i] = ct_timer_new(60 + i * 1e-4, count_call, &calls);
        ck_assert_ptr_nonnull(timers[i]);
        ck_assert_int_eq(ct_timer_start(timers[i]), 0);
    }
    ck_assert_int_le(task_count(), before);
    for (int i = 0; i < N; i += 2)
        ck_assert_int_eq(ct_timer_cancel(timers[i]), 0);
    for (int i = 0; i < N; i++) {
        ct_timer_free(timers[i]);
    }
    ck_assert_int_eq(calls, 0);
    ck_assert_int_le(task_count(), before);
}
END_TEST

struct blocker {
    ct_event_t release;
    double fired;
};

static void block_a_second(void *arg)
{
    struct blocker *b = arg;
    ct_event_wait_timeout(&b->release, 1.0);
}

static void note_time(void *arg)
{
    struct blocker *b = arg;
    b->fired = ct_monotonic();
}

START_TEST(timer_blocked_callback_delays_nobody)
{
    struct blocker b = { .release = CT_EVENT_INIT };
    ct_timer_t *slow = ct_timer_new(0, block_a_second, &b);
    ct_timer_t *quick = ct_timer_new(0.01, note_time, &b);
    double t0 = ct_monotonic();
    ck_assert_int_eq(ct_timer_start(slow), 0);
    ck_assert_int_eq(ct_timer_start(quick), 0);
    ck_assert_int_eq(ct_timer_join(quick), 0);
    ck_assert_msg(b.fired - t0 < 0.01 + 0.2 * ct_test_scale(),
                  "a timer due after 10 ms fired after %.3f s", b.fired - t0);
    ck_assert(ct_timer_is_alive(slow));
    ct_event_set(&b.release);
    ck_assert_int_eq(ct_timer_join(slow), 0);
    ct_timer_free(slow);
    ct_timer_free(quick);
}
END_TEST

struct spread {
    double due;
    double fired;
};

static void note_fired(void *arg)
{
    ((struct spread *)arg)->fired = ct_monotonic();
}

START_TEST(timer_ten_thousand_never_early)
{
    enum { N = 10000 };
    static struct spread s[N];
    static ct_timer_t *timers[N];
    for (int i = 0; i < N; i++) {
        double interval = (double)(i * 7919 % N) / N; /* spread over 1 s */
        s[i].due = ct_monotonic() + interval;
        timers[i] = ct_timer_new(interval, note_fired, &s[i]);
        ck_assert_int_eq(ct_timer_start(timers[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(ct_timer_join(timers[i]), 0);
        ck_assert_msg(s[i].fired >= s[i].due, "timer %d fired %.6f s early", i,
                      s[i].due - s[i].fired);
        ct_timer_free(timers[i]);
    }
}
END_TEST

START_TEST(timer_runners_shrink_when_idle)
{
    int before = settled_task_count();
    struct blocker b = { .release = CT_EVENT_INIT };
    ct_timer_t *t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = ct_timer_new(0, block_a_second, &b);
        ck_assert_int_eq(ct_timer_start(t[i]), 0);
    }
    CT_WAIT_UNTIL(task_count() >= before + 4); /* a runner each */
    ct_event_set(&b.release);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(ct_timer_join(t[i]), 0);
        ct_timer_free(t[i]);
    }
    CT_WAIT_UNTIL(task_count() <= before);
}
END_TEST

/* Exit with a timer due in 0.3 s: a non-daemon timer still writes its
 * byte; a daemon timer does not hold the process. */
static void write_byte(void *arg)
{
    ck_assert_int_eq(write(*(int *)arg, "x", 1), 1);
}

static void exit_with_timer(bool daemon, bool expect_byte)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    double t0 = ct_monotonic();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        static int fd;
        fd = fds[1];
        ct_timer_t *t = ct_timer_new(0.3, write_byte, &fd);
        ct_timer_set_daemon(t, daemon);
        ct_timer_start(t);
        exit(0);
    }
    close(fds[1]);
    char c;
    ssize_t n = read(fds[0], &c, 1);
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(n, expect_byte ? 1 : 0);
    if (expect_byte)
        ck_assert(ct_monotonic() - t0 >= 0.3);
}

START_TEST(timer_exit_waits_for_non_daemon)
{
    exit_with_timer(false, true);
}
END_TEST

START_TEST(timer_exit_abandons_daemon)
{
    exit_with_timer(true, false);
}
END_TEST

/* A thread that starts a timer as the program exits: the exit waits for
 * the thread, then for the timer it started. */
static int late_fd;

static void *start_late_timer(void *arg)
{
    (void)arg;
    ct_sleep(0.1);
    ct_timer_t *t = ct_timer_new(0.2, write_byte, &late_fd);
    ct_timer_start(t);
    return NULL;
}

START_TEST(timer_exit_waits_for_timer_started_by_thread)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        late_fd = fds[1];
        ct_thread_t *t = ct_thread_spawn(start_late_timer, NULL,
                                         &(ct_thread_opts){ .daemon = CT_NON_DAEMON });
        ct_thread_unref(t);
        exit(0);
    }
    close(fds[1]);
    char c;
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

#ifndef __SANITIZE_ADDRESS__ /* see make_suite */
START_TEST(timer_after_fork)
{
    struct record r = { .done = CT_EVENT_INIT };
    ct_timer_t *pending = ct_timer_new(0.2, record, &r);
    ck_assert_int_eq(ct_timer_start(pending), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int ok = !ct_timer_is_alive(pending) && ct_timer_join(pending) == 0;
        struct record c = { .done = CT_EVENT_INIT };
        ct_timer_t *t = ct_timer_new(0.01, record, &c);
        ok = ok && ct_timer_start(t) == 0 && ct_timer_join(t) == 0 && c.calls == 1;
        ct_timer_free(t);
        ct_timer_free(pending);
        _exit(ok && r.calls == 0 ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(ct_timer_join(pending), 0);
    ck_assert_int_eq(r.calls, 1);
    ct_timer_free(pending);
}
END_TEST
#endif

START_TEST(timer_out_of_memory_and_threads)
{
    struct record r = { .done = CT_EVENT_INIT };
    ct__alloc_fail_after(0);
    errno = 0;
    ck_assert_ptr_null(ct_timer_new(0.01, record, &r));
    ck_assert_int_eq(errno, ENOMEM);
    ct__alloc_fail_after(-1);
    ct_timer_t *t = ct_timer_new(0.01, record, &r);
    ck_assert_ptr_nonnull(t);
    ct__pthread_create_fail_after(0); /* the first start needs the timer thread */
    ck_assert_int_eq(ct_timer_start(t), EAGAIN);
    ck_assert(!ct_timer_is_alive(t));
    ct__pthread_create_fail_after(-1);
    ck_assert_int_eq(ct_timer_start(t), 0);
    ck_assert_int_eq(ct_timer_join(t), 0);
    ck_assert_int_eq(r.calls, 1);
    ct_timer_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("timer");
    CT_TEST_ADD(s, timer_fires_after_interval);
    CT_TEST_ADD(s, timer_cancel_before_firing);
    CT_TEST_ADD(s, timer_bad_use);
    CT_TEST_ADD(s, timer_join_timeout_while_pending);
    CT_TEST_ADD(s, timer_callback_cannot_be_cancelled_or_join_itself);
    CT_TEST_ADD(s, timer_free_while_running);
    CT_TEST_ADD(s, timer_many_pending_few_threads);
    CT_TEST_ADD(s, timer_blocked_callback_delays_nobody);
    CT_TEST_ADD(s, timer_ten_thousand_never_early);
    CT_TEST_ADD(s, timer_runners_shrink_when_idle);
    CT_TEST_ADD(s, timer_exit_waits_for_non_daemon);
    CT_TEST_ADD(s, timer_exit_abandons_daemon);
    CT_TEST_ADD(s, timer_exit_waits_for_timer_started_by_thread);
#ifndef __SANITIZE_ADDRESS__
    /* GCC 12's AddressSanitizer allocator is not fork-safe: a child of a
     * threaded process can hang in malloc. The other builds run it. */
    CT_TEST_ADD(s, timer_after_fork);
#endif
    CT_TEST_ADD(s, timer_out_of_memory_and_threads);
    return s;
}

CT_TEST_MAIN(make_suite)
