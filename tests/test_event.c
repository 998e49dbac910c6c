/*
 * Event: CPython's lock_tests.py EventTests, plus bad timeouts, signal
 * storms, ordering, a set that finds no waiter making no system call, and
 * a stress test. (test_reset_internal_locks and test_at_fork_reinit are
 * about Python's internal Condition; test_repr shows is_set.)
 */
#define _GNU_SOURCE

#include "support.h"

#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wait/wait.h"

#define N 5

_Static_assert(sizeof(ct_event_t) <= 4, "ct_event_t is at most 4 bytes");

/* An event and what its waiting threads report. */
struct subject {
    ct_event_t e;
    int started, first, second;
    int result[N], zero[N];
    double took[N];
    pid_t tid[N];
};

static void subject_init(struct subject *s)
{
    *s = (struct subject){ .e = CT_EVENT_INIT };
}

/* Whether thread tid is asleep in a futex system call, where every wait of
 * the library sleeps (on either back-end). */
static bool asleep_in_futex(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    long nr = -1;
    int got = fscanf(f, "%ld", &nr);
    fclose(f);
    return got == 1 && nr == SYS_futex;
}

static bool all_asleep(const struct subject *s, int n)
{
    for (int i = 0; i < n; i++) {
        if (!asleep_in_futex(s->tid[i]))
            return false;
    }
    return true;
}

START_TEST(event_is_set)
{
    ct_event_t e = CT_EVENT_INIT;
    ck_assert(!ct_event_is_set(&e));
    ct_event_set(&e);
    ck_assert(ct_event_is_set(&e));
    ct_event_set(&e);
    ck_assert(ct_event_is_set(&e));
    ct_event_clear(&e);
    ck_assert(!ct_event_is_set(&e));
    ct_event_clear(&e);
    ck_assert(!ct_event_is_set(&e));
}
END_TEST

START_TEST(event_init)
{
    ct_event_t a = CT_EVENT_INIT, b;
    ct_event_init(&b);
    ck_assert(!ct_event_is_set(&b));
    ck_assert_uint_eq(a.word, b.word);
    ct_event_set(&b);
    ct_event_init(&b);
    ck_assert(!ct_event_is_set(&b));
    ck_assert_int_eq(ct_event_wait_timeout(&b, 0), ETIMEDOUT);
    ck_assert_uint_le(sizeof(ct_event_t), 4);
}
END_TEST

static void wait_twice(void *arg, int i)
{
    (void)i;
    struct subject *s = arg;
    BUMP(s->started);
    ck_assert_int_eq(ct_event_wait(&s->e), 0);
    BUMP(s->first);
    ck_assert_int_eq(ct_event_wait(&s->e), 0);
    BUMP(s->second);
}

/* Every waiter is woken, and waits again on a set event return at once. */
static void check_notify(struct subject *s)
{
    s->started = s->first = s->second = 0;
    ct_group g;
    ct_group_start(&g, N, wait_twice, s);
    CT_WAIT_UNTIL(READ(s->started) == N);
    ct_sleep(0.01 * N);
    ck_assert_int_eq(READ(s->first), 0);
    ct_event_set(&s->e);
    ct_group_join(&g);
    ck_assert_int_eq(s->first, N);
    ck_assert_int_eq(s->second, N);
}

START_TEST(event_notify)
{
    struct subject s;
    subject_init(&s);
    check_notify(&s);
    ct_event_set(&s.e);
    ct_event_clear(&s.e);
    check_notify(&s);
}
END_TEST

static void timed_waits(void *arg, int i)
{
    struct subject *s = arg;
    s->zero[i] = ct_event_wait_timeout(&s->e, 0.0);
    double t0 = ct_monotonic();
    s->result[i] = ct_event_wait_timeout(&s->e, 0.5);
    s->took[i] = ct_monotonic() - t0;
}

START_TEST(event_timeout)
{
    struct subject s;
    subject_init(&s);
    ct_group_run(N, timed_waits, &s);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(s.zero[i], ETIMEDOUT);
        ck_assert_int_eq(s.result[i], ETIMEDOUT);
        CT_ASSERT_DURATION(s.took[i], 0.5);
    }
    ct_event_set(&s.e);
    ct_group_run(N, timed_waits, &s);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(s.zero[i], 0);
        ck_assert_int_eq(s.result[i], 0);
        ck_assert(s.took[i] < 0.5);
    }
}
END_TEST

/* Waits at the lowest priority there is, reporting its thread id. */
static void idle_wait(void *arg, int i)
{
    struct subject *s = arg;
    struct sched_param none = { 0 };
    ck_assert_int_eq(sched_setscheduler(0, SCHED_IDLE, &none), 0);
    s->tid[i] = gettid();
    BUMP(s->started);
    s->result[i] = ct_event_wait_timeout(&s->e, 10 * ct_test_scale());
}

/* gh-57711: waiters asleep when set() runs return 0 even though clear()
 * runs before they wake. The threads are seen asleep in the kernel (twice,
 * 10 ms apart) before the set, so each has looked at the event; all share
 * one CPU and the waiters run at SCHED_IDLE, so none can run between the
 * set and the clear: each looks again only once the event is clear. */
START_TEST(event_set_and_clear)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
    struct subject s;
    subject_init(&s);
    ct_group g;
    ct_group_start(&g, N, idle_wait, &s);
    CT_WAIT_UNTIL(READ(s.started) == N);
    CT_WAIT_UNTIL(all_asleep(&s, N));
    ct_sleep(0.01);
    CT_WAIT_UNTIL(all_asleep(&s, N));
    ct_event_set(&s.e);
    ct_event_clear(&s.e);
    ct_group_join(&g);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(s.result[i], 0);
    ck_assert(!ct_event_is_set(&s.e));
}
END_TEST

/* NaN and negatives other than CT_FOREVER are EINVAL, set or not. */
START_TEST(event_bad_timeouts)
{
    static const double bad[] = { NAN, -2.0, -100.0, -0.5, -INFINITY };
    static const double forever[] = { CT_FOREVER, INFINITY, 1e100, CT_TIMEOUT_MAX };
    ct_event_t e = CT_EVENT_INIT;
    for (int set = 0; set < 2; set++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            ck_assert_int_eq(ct_event_wait_timeout(&e, bad[i]), EINVAL);
        ct_event_set(&e);
    }
    for (size_t i = 0; i < sizeof forever / sizeof forever[0]; i++)
        ck_assert_int_eq(ct_event_wait_timeout(&e, forever[i]), 0);
}
END_TEST

START_TEST(event_zero_timeout)
{
    ct_event_t e = CT_EVENT_INIT;
    double t0 = ct_monotonic();
    ck_assert_int_eq(ct_event_wait_timeout(&e, 0), ETIMEDOUT);
    ck_assert(ct_monotonic() - t0 < 0.1 * ct_test_scale());
    ct_event_set(&e);
    ck_assert_int_eq(ct_event_wait_timeout(&e, 0), 0);
}
END_TEST

/* Waits by every call that has no limit. */
static void wait_forever(void *arg, int i)
{
    struct subject *s = arg;
    BUMP(s->started);
    switch (i % 4) {
    case 0:
        s->result[i] = ct_event_wait(&s->e);
        break;
    case 1:
        s->result[i] = ct_event_wait_timeout(&s->e, INFINITY);
        break;
    case 2:
        s->result[i] = ct_event_wait_timeout(&s->e, CT_FOREVER);
        break;
    default:
        s->result[i] = ct_event_wait_timeout(&s->e, 1e100);
        break;
    }
    BUMP(s->first);
}

START_TEST(event_infinite_timeout)
{
    struct subject s;
    subject_init(&s);
    ct_group g;
    ct_group_start(&g, 4, wait_forever, &s);
    CT_WAIT_UNTIL(READ(s.started) == 4);
    ct_sleep(0.05);
    ck_assert_int_eq(READ(s.first), 0);
    ct_event_set(&s.e);
    ct_group_join(&g);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(s.result[i], 0);
}
END_TEST

/* clear on a clear event wakes nobody; the set after it wakes everyone. */
START_TEST(event_clear_wakes_nobody)
{
    struct subject s;
    subject_init(&s);
    ct_group g;
    ct_group_start(&g, 4, wait_forever, &s);
    CT_WAIT_UNTIL(READ(s.started) == 4);
    ct_sleep(0.02);
    ct_event_clear(&s.e);
    ct_sleep(0.05);
    ck_assert_int_eq(READ(s.first), 0);
    ct_event_set(&s.e);
    ct_group_join(&g);
    ck_assert_int_eq(s.first, 4);
}
END_TEST

/* A signal storm neither cuts a timed wait short nor stretches it. */
START_TEST(event_timeout_under_signals)
{
    ct_event_t e = CT_EVENT_INIT;
    ct_storm_start();
    double t0 = ct_monotonic();
    int rc = ct_event_wait_timeout(&e, 0.2);
    double took = ct_monotonic() - t0;
    ck_assert_int_gt(ct_storm_stop(), 0);
    ck_assert_int_eq(rc, ETIMEDOUT);
    CT_ASSERT_DURATION(took, 0.2);
}
END_TEST

/* Waiters that signals keep interrupting still return 0 on a set. */
START_TEST(event_set_under_signals)
{
    struct subject s;
    subject_init(&s);
    ct_storm_start();
    ct_group g;
    ct_group_start(&g, 4, wait_forever, &s);
    CT_WAIT_UNTIL(READ(s.started) == 4);
    ct_sleep(0.1);
    ck_assert_int_eq(READ(s.first), 0);
    ct_event_set(&s.e);
    ct_group_join(&g);
    ck_assert_int_gt(ct_storm_stop(), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(s.result[i], 0);
}
END_TEST

/* A set and the wait it ends order memory: plain data written before the
 * one is seen after the other (ThreadSanitizer checks this too). Two
 * events pass a token back and forth. */
struct ping {
    ct_event_t ping, pong;
    long data;
};

#define ROUNDS 2000

static void pong(void *arg, int i)
{
    (void)i;
    struct ping *p = arg;
    for (long k = 0; k < ROUNDS; k++) {
        ck_assert_int_eq(ct_event_wait(&p->ping), 0);
        ct_event_clear(&p->ping);
        ck_assert_int_eq(p->data, 2 * k + 1);
        p->data++;
        ct_event_set(&p->pong);
    }
}

START_TEST(event_ordering)
{
    struct ping p = { .ping = CT_EVENT_INIT, .pong = CT_EVENT_INIT };
    ct_group g;
    ct_group_start(&g, 1, pong, &p);
    for (long k = 0; k < ROUNDS; k++) {
        p.data++;
        ct_event_set(&p.ping);
        ck_assert_int_eq(ct_event_wait(&p.pong), 0);
        ct_event_clear(&p.pong);
        ck_assert_int_eq(p.data, 2 * k + 2);
    }
    ct_group_join(&g);
}
END_TEST

/* A set that finds no waiter makes no system call. Measured, not assumed:
 * a seccomp filter turns every futex call this thread makes on the
 * event's word into a SIGSYS, which is counted (a direct call proves the
 * trap works). A wait that timed out leaves the waiters bit behind, so the
 * first set wakes once: the positive control. The parking back-end wakes
 * through its own table, never by a futex call on the word, which a
 * direct wake shows; there the set's count is 0 too. */
static int futex_calls;

static void count_futex_call(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)info;
    (void)context;
    BUMP(futex_calls);
}

static void trap_futex_calls_on(const uint32_t *word)
{
    enum { LOW = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 0 : 4 };
    uint64_t address = (uintptr_t)word;
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + LOW),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)address, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + 4 - LOW),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(address >> 32), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = { .len = sizeof code / sizeof code[0], .filter = code };
    struct sigaction sa = { .sa_sigaction = count_futex_call, .sa_flags = SA_SIGINFO };
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGSYS, &sa, NULL), 0);
    ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program), 0);
}

START_TEST(event_set_without_waiters_makes_no_system_call)
{
    static ct_event_t e = CT_EVENT_INIT;
    ck_assert_int_eq(ct_event_wait_timeout(&e, 0.001), ETIMEDOUT);
    trap_futex_calls_on(&e.word);
    syscall(SYS_futex, &e.word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    ck_assert_int_eq(READ(futex_calls), 1);
    ct__wake(&e.word, 1);
    int per_wake = READ(futex_calls) - 1;
    ct_event_set(&e);
    ck_assert_int_eq(READ(futex_calls), 1 + 2 * per_wake);
    for (int i = 0; i < 1000; i++) {
        ct_event_set(&e);
        ct_event_clear(&e);
        ct_event_set(&e);
    }
    ck_assert_int_eq(READ(futex_calls), 1 + 2 * per_wake);
}
END_TEST

/* Stress: one thread sets and clears the event as fast as it can while 4
 * threads wait on it in loops, some with short timeouts; after a last set
 * every waiter returns (a lost wake-up would leave one asleep, and the
 * test's timeout would fail it). */
struct flip {
    ct_event_t e;
    int stop;
    long woken, timed_out;
};

static void flip_waiter(void *arg, int i)
{
    struct flip *f = arg;
    while (!READ(f->stop)) {
        int rc = i % 2 ? ct_event_wait(&f->e) : ct_event_wait_timeout(&f->e, 0.0005 * (i + 1));
        if (rc == ETIMEDOUT) {
            BUMP(f->timed_out);
            continue;
        }
        ck_assert_int_eq(rc, 0);
        BUMP(f->woken);
    }
}

START_TEST(event_stress)
{
    struct flip f = { .e = CT_EVENT_INIT };
    ct_group g;
    ct_group_start(&g, 4, flip_waiter, &f);
    double until = ct_monotonic() + 1.0;
    for (long n = 0; ct_monotonic() < until; n++) {
        ct_event_set(&f.e);
        ct_event_clear(&f.e);
        if (n % 64 == 0)
            ct_sleep(0.0001);
    }
    WRITE(f.stop, 1);
    ct_event_set(&f.e);
    ct_group_join(&g);
    ck_assert_int_gt(f.woken, 0);
    ck_assert(ct_event_is_set(&f.e));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("event");
    CT_TEST_ADD(s, event_is_set);
    CT_TEST_ADD(s, event_init);
    CT_TEST_ADD(s, event_notify);
    CT_TEST_ADD(s, event_timeout);
    CT_TEST_ADD(s, event_set_and_clear);
    CT_TEST_ADD(s, event_bad_timeouts);
    CT_TEST_ADD(s, event_zero_timeout);
    CT_TEST_ADD(s, event_infinite_timeout);
    CT_TEST_ADD(s, event_clear_wakes_nobody);
    CT_TEST_ADD(s, event_timeout_under_signals);
    CT_TEST_ADD(s, event_set_under_signals);
    CT_TEST_ADD(s, event_ordering);
    CT_TEST_ADD(s, event_set_without_waiters_makes_no_system_call);
    CT_TEST_ADD(s, event_stress);
    return s;
}

CT_TEST_MAIN(make_suite)
