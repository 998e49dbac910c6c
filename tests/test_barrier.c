/*
 * Barrier: CPython's lock_tests.py BarrierTests, plus bad timeouts, a
 * timeout under a signal storm, the action's place in a generation, the
 * barrier used from its own action, arrivals and timeouts while an action
 * runs, and two stress tests.
 */
#include "support.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* BarrierTests.N: the parties, and the threads of run_threads. */
#define N 5

/* The fixture: BarrierTests' barrier (N parties and a default timeout that
 * stops a broken test from hanging), a second one, and what the threads
 * report. Each test case runs in its own process. */
static struct {
    ct_barrier_t b, b2;
    int results1, results2, results3;
    int rc[N];            /* each thread's last result */
    unsigned index[N];    /* each thread's last index */
    int action_runs, released, go, arriving;
} F;

static void setup(void)
{
    memset(&F, 0, sizeof F);
    ck_assert_int_eq(ct_barrier_init(&F.b, N, NULL, NULL, 5.0 * ct_test_scale()), 0);
}

/* BarrierTests.run_threads: f in N-1 new threads and this one. */
static void run_threads(ct_group_fn f)
{
    ct_group g;
    ct_group_start(&g, N - 1, f, NULL);
    f(NULL, N - 1);
    ct_group_join(&g);
}

static int count_rc(int value)
{
    int n = 0;
    for (int t = 0; t < N; t++)
        n += F.rc[t] == value;
    return n;
}

/* Whether indices[0..n) are 0..n-1 in some order. (Without an assertion
 * per element: each one costs Check a write to its pipe.) */
static bool is_permutation(const unsigned *indices, unsigned n)
{
    bool seen[64] = { false };
    if (n > 64)
        return false;
    for (unsigned t = 0; t < n; t++) {
        if (indices[t] >= n || seen[indices[t]])
            return false;
        seen[indices[t]] = true;
    }
    return true;
}

#define ASSERT_PERMUTATION(indices, n) \
    ck_assert_msg(is_permutation((indices), (n)), "%s is not a permutation", #indices)

START_TEST(test_constructor)
{
    ct_barrier_t b, before;
    memset(&b, 0xA5, sizeof b);
    before = b;
    ck_assert_int_eq(ct_barrier_init(&b, 0, NULL, NULL, CT_FOREVER), EINVAL);
    ck_assert_int_eq(ct_barrier_init(&b, 3, NULL, NULL, NAN), EINVAL);
    ck_assert_int_eq(ct_barrier_init(&b, 3, NULL, NULL, -2.0), EINVAL);
    ck_assert_int_eq(ct_barrier_init(&b, 3, NULL, NULL, -INFINITY), EINVAL);
    ck_assert_mem_eq(&b, &before, sizeof b);
    ck_assert_int_eq(ct_barrier_init(&b, 3, NULL, NULL, CT_FOREVER), 0);
    ck_assert_uint_eq(ct_barrier_parties(&b), 3);
    ck_assert_uint_eq(ct_barrier_n_waiting(&b), 0);
    ck_assert(!ct_barrier_broken(&b));
    ck_assert_int_eq(ct_barrier_init(&b, 1, NULL, NULL, INFINITY), 0);
    ck_assert_int_eq(ct_barrier_init(&b, 1, NULL, NULL, 0.0), 0);
    ck_assert_int_eq(ct_barrier_init(&b, 1, NULL, NULL, CT_TIMEOUT_MAX * 2), 0);
}
END_TEST

START_TEST(test_bad_timeout)
{
    setup();
    ck_assert_int_eq(ct_barrier_wait_timeout(&F.b, NAN, NULL), EINVAL);
    ck_assert_int_eq(ct_barrier_wait_timeout(&F.b, -2.0, NULL), EINVAL);
    ck_assert_int_eq(ct_barrier_wait_timeout(&F.b, -0.5, NULL), EINVAL);
    ck_assert_uint_eq(ct_barrier_n_waiting(&F.b), 0);
    ck_assert(!ct_barrier_broken(&F.b));
}
END_TEST

/* BarrierTests.multipass: no thread gets ahead of the others. */
static void multipass(int passes)
{
    for (int i = 0; i < passes; i++) {
        BUMP(F.results1);
        ck_assert_int_eq(READ(F.results2), i * N);
        ck_assert_int_eq(ct_barrier_wait(&F.b, NULL), 0);
        BUMP(F.results2);
        ck_assert_int_eq(READ(F.results1), (i + 1) * N);
        ck_assert_int_eq(ct_barrier_wait(&F.b, NULL), 0);
    }
    ck_assert_uint_eq(ct_barrier_n_waiting(&F.b), 0);
    ck_assert(!ct_barrier_broken(&F.b));
}

static void multipass_1(void *arg, int t) { (void)arg, (void)t, multipass(1); }
static void multipass_10(void *arg, int t) { (void)arg, (void)t, multipass(10); }

START_TEST(test_barrier)
{
    setup();
    run_threads(multipass_1);
}
END_TEST

START_TEST(test_barrier_10)
{
    setup();
    run_threads(multipass_10);
}
END_TEST

static void wait_return(void *arg, int t)
{
    (void)arg;
    ck_assert_int_eq(ct_barrier_wait(&F.b, &F.index[t]), 0);
}

START_TEST(test_wait_return)
{
    setup();
    run_threads(wait_return);
    ASSERT_PERMUTATION(F.index, N);
}
END_TEST

static int count_action(void *arg)
{
    (void)arg;
    BUMP(F.action_runs);
    return 0;
}

static void action_f(void *arg, int t)
{
    (void)arg, (void)t;
    ck_assert_int_eq(ct_barrier_wait(&F.b, NULL), 0);
    ck_assert_int_eq(READ(F.action_runs), 1);
}

START_TEST(test_action)
{
    setup();
    ck_assert_int_eq(ct_barrier_init(&F.b, N, count_action, NULL, CT_FOREVER), 0);
    run_threads(action_f);
    ck_assert_int_eq(F.action_runs, 1);
}
END_TEST

/* test_abort's first half: the middle arrival aborts instead of waiting
 * again; the others' second wait fails. */
static void abort_one(void)
{
    unsigned i;
    ck_assert_int_eq(ct_barrier_wait(&F.b, &i), 0);
    if (i == N / 2) {
        ct_barrier_abort(&F.b);
        return;
    }
    int rc = ct_barrier_wait(&F.b, NULL);
    if (rc == 0) {
        BUMP(F.results1);
    } else {
        ck_assert_int_eq(rc, CT_EBROKEN);
        BUMP(F.results2);
    }
}

static void abort_f(void *arg, int t) { (void)arg, (void)t, abort_one(); }

START_TEST(test_abort)
{
    setup();
    run_threads(abort_f);
    ck_assert_int_eq(F.results1, 0);
    ck_assert_int_eq(F.results2, N - 1);
    ck_assert(ct_barrier_broken(&F.b));
    ck_assert_int_eq(ct_barrier_wait(&F.b, NULL), CT_EBROKEN);
    ck_assert_int_eq(ct_barrier_wait_timeout(&F.b, 0, NULL), CT_EBROKEN);
}
END_TEST

static void reset_f(void *arg, int t)
{
    (void)arg, (void)t;
    unsigned i;
    ck_assert_int_eq(ct_barrier_wait(&F.b, &i), 0);
    if (i == N / 2) {
        CT_WAIT_UNTIL(ct_barrier_n_waiting(&F.b) == N - 1);
        ct_barrier_reset(&F.b);
    } else {
        int rc = ct_barrier_wait(&F.b, NULL);
        if (rc == 0) {
            BUMP(F.results1);
        } else {
            ck_assert_int_eq(rc, CT_EBROKEN);
            BUMP(F.results2);
        }
    }
    ck_assert_int_eq(ct_barrier_wait(&F.b, NULL), 0);
    BUMP(F.results3);
}

START_TEST(test_reset)
{
    setup();
    run_threads(reset_f);
    ck_assert_int_eq(F.results1, 0);
    ck_assert_int_eq(F.results2, N - 1);
    ck_assert_int_eq(F.results3, N);
    ck_assert(!ct_barrier_broken(&F.b));
}
END_TEST

static void abort_and_reset_f(void *arg, int t)
{
    (void)arg, (void)t;
    abort_one();
    /* Everyone has left F.b before the reset, and nobody enters it before. */
    unsigned i;
    ck_assert_int_eq(ct_barrier_wait(&F.b2, &i), 0);
    if (i == N / 2)
        ct_barrier_reset(&F.b);
    ck_assert_int_eq(ct_barrier_wait(&F.b2, NULL), 0);
    ck_assert_int_eq(ct_barrier_wait(&F.b, NULL), 0);
    BUMP(F.results3);
}

START_TEST(test_abort_and_reset)
{
    setup();
    ck_assert_int_eq(ct_barrier_init(&F.b2, N, NULL, NULL, CT_FOREVER), 0);
    run_threads(abort_and_reset_f);
    ck_assert_int_eq(F.results1, 0);
    ck_assert_int_eq(F.results2, N - 1);
    ck_assert_int_eq(F.results3, N);
}
END_TEST

/* The middle arrival comes back only once the barrier is broken; of the
 * others, the one whose own timeout (shorter than the default) breaks it
 * gets ETIMEDOUT after its full time, the rest CT_EBROKEN. */
static void late_one(void *arg, int t)
{
    (void)arg;
    unsigned i;
    ck_assert_int_eq(ct_barrier_wait(&F.b, &i), 0);
    if (i == N / 2)
        CT_WAIT_UNTIL(ct_barrier_broken(&F.b));
    double start = ct_monotonic();
    F.rc[t] = ct_barrier_wait_timeout(&F.b, 0.5, NULL);
    if (F.rc[t] == ETIMEDOUT)
        CT_ASSERT_TOOK(start, 0.5);
}

START_TEST(test_timeout)
{
    setup();
    run_threads(late_one);
    ck_assert_int_eq(count_rc(ETIMEDOUT), 1);
    ck_assert_int_eq(count_rc(CT_EBROKEN), N - 1);
    ck_assert(ct_barrier_broken(&F.b));
}
END_TEST

static void wait_default(void *arg, int t)
{
    double start = ct_monotonic();
    F.rc[t] = ct_barrier_wait(arg, NULL);
    CT_ASSERT_TOOK(start, 0.1);
}

START_TEST(test_default_timeout)
{
    ct_barrier_t b;
    ck_assert_int_eq(ct_barrier_init(&b, 2, NULL, NULL, 0.1), 0);
    ct_group_run(1, wait_default, &b);
    ck_assert_int_eq(F.rc[0], ETIMEDOUT);
    ck_assert(ct_barrier_broken(&b));
}
END_TEST

START_TEST(test_single_thread)
{
    ct_barrier_t b;
    unsigned i = 7;
    ck_assert_int_eq(ct_barrier_init(&b, 1, NULL, NULL, CT_FOREVER), 0);
    ck_assert_int_eq(ct_barrier_wait(&b, &i), 0);
    ck_assert_uint_eq(i, 0);
    ck_assert_int_eq(ct_barrier_wait(&b, NULL), 0);
    ck_assert_int_eq(ct_barrier_wait_timeout(&b, 0, &i), 0);
    ck_assert_uint_eq(i, 0);
}
END_TEST

static void static_f(void *arg, int t)
{
    ck_assert_int_eq(ct_barrier_wait(arg, &F.index[t]), 0);
}

START_TEST(test_static_initializer)
{
    static ct_barrier_t b = CT_BARRIER_INIT(3);
    ck_assert_uint_eq(ct_barrier_parties(&b), 3);
    ck_assert(!ct_barrier_broken(&b));
    ct_group_run(3, static_f, &b);
    ASSERT_PERMUTATION(F.index, 3);
    ck_assert_uint_eq(ct_barrier_n_waiting(&b), 0);
}
END_TEST

static void wait_forever(void *arg, int t)
{
    F.rc[t] = ct_barrier_wait_timeout(arg, CT_FOREVER, &F.index[t]);
}

/* Python's repr shows "waiters=n/parties", or "broken". */
START_TEST(test_repr)
{
    ct_barrier_t b;
    ck_assert_int_eq(ct_barrier_init(&b, 3, NULL, NULL, CT_FOREVER), 0);
    ck_assert_uint_eq(ct_barrier_n_waiting(&b), 0);
    ck_assert_uint_eq(ct_barrier_parties(&b), 3);
    ct_group g;
    ct_group_start(&g, 2, wait_forever, &b);
    CT_WAIT_UNTIL(ct_barrier_n_waiting(&b) >= 2);
    ck_assert_uint_eq(ct_barrier_n_waiting(&b), 2);
    ck_assert_int_eq(ct_barrier_wait(&b, &F.index[2]), 0);
    ct_group_join(&g);
    ck_assert_uint_eq(F.index[2], 2);
    ASSERT_PERMUTATION(F.index, 3);
    ck_assert_uint_eq(ct_barrier_n_waiting(&b), 0);
    ck_assert(!ct_barrier_broken(&b));
    ct_barrier_abort(&b);
    ck_assert(ct_barrier_broken(&b));
    ck_assert_uint_eq(ct_barrier_n_waiting(&b), 0);
}
END_TEST

START_TEST(test_timeout_zero)
{
    setup();
    double start = ct_monotonic();
    ck_assert_int_eq(ct_barrier_wait_timeout(&F.b, 0, NULL), ETIMEDOUT);
    ck_assert_double_lt(ct_monotonic() - start, 1.0 * ct_test_scale());
    ck_assert(ct_barrier_broken(&F.b));
    ck_assert_uint_eq(ct_barrier_n_waiting(&F.b), 0);
    ct_barrier_reset(&F.b);
    ck_assert(!ct_barrier_broken(&F.b));
    run_threads(multipass_1);
}
END_TEST

/* A wait that breaks the barrier by its timeout lasts its whole time,
 * signals or not; the thread already waiting learns it is broken. */
START_TEST(test_timeout_storm)
{
    ct_barrier_t b;
    ck_assert_int_eq(ct_barrier_init(&b, 3, NULL, NULL, CT_FOREVER), 0);
    ct_storm_start();
    ct_group g;
    ct_group_start(&g, 1, wait_forever, &b);
    CT_WAIT_UNTIL(ct_barrier_n_waiting(&b) == 1);
    double start = ct_monotonic();
    ck_assert_int_eq(ct_barrier_wait_timeout(&b, 0.2, NULL), ETIMEDOUT);
    CT_ASSERT_TOOK(start, 0.2);
    ct_group_join(&g);
    ck_assert_int_gt(ct_storm_stop(), 0);
    ck_assert_int_eq(F.rc[0], CT_EBROKEN);
    ck_assert(ct_barrier_broken(&b));
    ck_assert_int_eq(ct_barrier_wait(&b, NULL), CT_EBROKEN);
}
END_TEST

/* The action runs once per generation, before any thread of it is
 * released (and after every thread of the one before was). */
static int ordered_action(void *arg)
{
    (void)arg;
    ck_assert_int_eq(READ(F.released), F.action_runs * N);
    ck_assert_uint_eq(ct_barrier_n_waiting(&F.b), N);
    ck_assert(!ct_barrier_broken(&F.b));
    BUMP(F.action_runs);
    return 0;
}

#define GENERATIONS 20

static void ordered_f(void *arg, int t)
{
    (void)arg, (void)t;
    for (int k = 0; k < GENERATIONS; k++) {
        ck_assert_int_eq(ct_barrier_wait(&F.b, NULL), 0);
        BUMP(F.released);
    }
}

START_TEST(test_action_before_release)
{
    setup();
    ck_assert_int_eq(ct_barrier_init(&F.b, N, ordered_action, NULL, CT_FOREVER), 0);
    run_threads(ordered_f);
    ck_assert_int_eq(F.action_runs, GENERATIONS);
    ck_assert_int_eq(F.released, GENERATIONS * N);
}
END_TEST

/* The first run of the action fails with 42. */
static int failing_action(void *arg)
{
    (void)arg;
    return BUMP(F.action_runs) == 1 ? 42 : 0;
}

static void record(void *arg, int t)
{
    (void)arg;
    F.rc[t] = ct_barrier_wait(&F.b, &F.index[t]);
}

START_TEST(test_action_fails)
{
    setup();
    ck_assert_int_eq(ct_barrier_init(&F.b, N, failing_action, NULL, CT_FOREVER), 0);
    run_threads(record);
    ck_assert_int_eq(count_rc(42), 1);
    ck_assert_int_eq(count_rc(CT_EBROKEN), N - 1);
    ck_assert(ct_barrier_broken(&F.b));
    ct_barrier_reset(&F.b);
    run_threads(record);
    ck_assert_int_eq(count_rc(0), N);
    ASSERT_PERMUTATION(F.index, N);
    ck_assert_int_eq(F.action_runs, 2);
}
END_TEST

/* The action may use its own barrier: abort breaks the generation it runs
 * for; reset also lets it pass no more, but leaves the barrier usable. */
static int aborting_action(void *arg)
{
    (void)arg;
    ck_assert_uint_eq(ct_barrier_n_waiting(&F.b), N);
    ct_barrier_abort(&F.b);
    ck_assert(ct_barrier_broken(&F.b));
    return 0;
}

START_TEST(test_abort_in_action)
{
    setup();
    ck_assert_int_eq(ct_barrier_init(&F.b, N, aborting_action, NULL, CT_FOREVER), 0);
    run_threads(record);
    ck_assert_int_eq(count_rc(CT_EBROKEN), N);
    ck_assert(ct_barrier_broken(&F.b));
}
END_TEST

static int resetting_action(void *arg)
{
    (void)arg;
    if (BUMP(F.action_runs) == 1)
        ct_barrier_reset(&F.b);
    return 0;
}

START_TEST(test_reset_in_action)
{
    setup();
    ck_assert_int_eq(ct_barrier_init(&F.b, N, resetting_action, NULL, CT_FOREVER), 0);
    run_threads(record);
    ck_assert_int_eq(count_rc(CT_EBROKEN), N);
    ck_assert(!ct_barrier_broken(&F.b));
    run_threads(record);
    ck_assert_int_eq(count_rc(0), N);
    ck_assert_int_eq(F.action_runs, 2);
}
END_TEST

/* An action that runs until the test says go. */
static int slow_action(void *arg)
{
    (void)arg;
    BUMP(F.action_runs);
    CT_WAIT_UNTIL(READ(F.go));
    return 0;
}

static void arrive_late(void *arg, int t)
{
    (void)arg, (void)t;
    BUMP(F.arriving);
    F.rc[2] = ct_barrier_wait(&F.b, &F.index[2]);
    BUMP(F.released);
}

/* A thread arriving while the action runs waits for the generation to be
 * released, then joins the next one. */
START_TEST(test_arrival_during_action)
{
    setup();
    ck_assert_int_eq(ct_barrier_init(&F.b, 2, slow_action, NULL, CT_FOREVER), 0);
    ct_group first, late;
    ct_group_start(&first, 2, record, NULL);
    CT_WAIT_UNTIL(READ(F.action_runs) == 1);
    ck_assert_uint_eq(ct_barrier_n_waiting(&F.b), 2);
    ct_group_start(&late, 1, arrive_late, NULL);
    CT_WAIT_UNTIL(READ(F.arriving) == 1);
    ct_sleep(0.05); /* gives it the chance to (wrongly) get through */
    ck_assert_int_eq(READ(F.released), 0);
    WRITE(F.go, 1);
    ct_group_join(&first);
    ck_assert_int_eq(F.rc[0], 0);
    ck_assert_int_eq(F.rc[1], 0);
    ASSERT_PERMUTATION(F.index, 2);
    CT_WAIT_UNTIL(ct_barrier_n_waiting(&F.b) == 1);
    unsigned i;
    ck_assert_int_eq(ct_barrier_wait(&F.b, &i), 0);
    ck_assert_uint_eq(i, 1);
    ct_group_join(&late);
    ck_assert_int_eq(F.rc[2], 0);
    ck_assert_uint_eq(F.index[2], 0);
    ck_assert_int_eq(F.action_runs, 2);
}
END_TEST

/* A timeout counts from the call: one that expires while the previous
 * generation's action runs breaks the barrier, that generation included. */
START_TEST(test_timeout_during_action)
{
    setup();
    ck_assert_int_eq(ct_barrier_init(&F.b, 2, slow_action, NULL, CT_FOREVER), 0);
    ct_group first;
    ct_group_start(&first, 2, record, NULL);
    CT_WAIT_UNTIL(READ(F.action_runs) == 1);
    double start = ct_monotonic();
    ck_assert_int_eq(ct_barrier_wait_timeout(&F.b, 0.1, NULL), ETIMEDOUT);
    CT_ASSERT_TOOK(start, 0.1);
    ck_assert(ct_barrier_broken(&F.b));
    WRITE(F.go, 1);
    ct_group_join(&first);
    ck_assert_int_eq(F.rc[0], CT_EBROKEN);
    ck_assert_int_eq(F.rc[1], CT_EBROKEN);
}
END_TEST

/* Once every party has arrived, no timeout can break the generation: a
 * waiter whose time runs out while the action runs still passes. */
static int sleepy_action(void *arg)
{
    (void)arg;
    ct_sleep(0.3);
    return 0;
}

static double thread_cpu_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps through the action, not spinning once its time is up. */
static void wait_briefly(void *arg, int t)
{
    (void)arg;
    double cpu = thread_cpu_time();
    F.rc[t] = ct_barrier_wait_timeout(&F.b, 0.1, &F.index[t]);
    ck_assert_double_lt(thread_cpu_time() - cpu, 0.05);
}

START_TEST(test_timeout_during_own_action)
{
    setup();
    ck_assert_int_eq(ct_barrier_init(&F.b, 2, sleepy_action, NULL, CT_FOREVER), 0);
    ct_group g;
    ct_group_start(&g, 1, wait_briefly, NULL);
    CT_WAIT_UNTIL(ct_barrier_n_waiting(&F.b) == 1);
    ck_assert_int_eq(ct_barrier_wait(&F.b, &F.index[1]), 0);
    ct_group_join(&g);
    ck_assert_int_eq(F.rc[0], 0);
    ck_assert_uint_eq(F.index[0], 0);
    ck_assert_uint_eq(F.index[1], 1);
    ck_assert(!ct_barrier_broken(&F.b));
}
END_TEST

/* Stress: two threads race tiny timeouts against each other's arrival,
 * for about half a second. Each round ends with both 0, or with ETIMEDOUT
 * for the one whose timeout broke the barrier and CT_EBROKEN for the other;
 * then the second barrier's action resets the first (as test_abort_and_reset
 * does). Afterwards the barrier still works. */
static struct {
    int rc[2], passed, broken;
    double stop_at;
    int stop;
} R;

static int judge_round(void *arg)
{
    (void)arg;
    int a = R.rc[0], b = R.rc[1];
    if (a == 0 && b == 0) {
        R.passed++;
    } else if ((a == ETIMEDOUT && b == CT_EBROKEN) || (a == CT_EBROKEN && b == ETIMEDOUT)) {
        R.broken++;
        ck_assert(ct_barrier_broken(&F.b));
        ct_barrier_reset(&F.b);
    } else {
        ck_abort_msg("round %d: %d and %d", R.passed + R.broken, a, b);
    }
    if (ct_monotonic() > R.stop_at)
        WRITE(R.stop, 1);
    return 0;
}

static void race_timeouts(void *arg, int t)
{
    (void)arg;
    unsigned seed = (unsigned)t * 7919u + 1u;
    while (!READ(R.stop)) {
        seed = seed * 1103515245u + 12345u;
        double timeout = (double)((seed >> 16) % 100) * 1e-6;
        R.rc[t] = ct_barrier_wait_timeout(&F.b, timeout, NULL);
        if (ct_barrier_wait(&F.b2, NULL) != 0)
            ck_abort_msg("the judging barrier broke");
    }
}

START_TEST(test_stress_timeouts)
{
    setup();
    ck_assert_int_eq(ct_barrier_init(&F.b, 2, NULL, NULL, CT_FOREVER), 0);
    ck_assert_int_eq(ct_barrier_init(&F.b2, 2, judge_round, NULL, CT_FOREVER), 0);
    R.stop_at = ct_monotonic() + 0.5;
    ct_group_run(2, race_timeouts, NULL);
    ck_assert_int_gt(R.passed + R.broken, 0);
    ck_assert(!ct_barrier_broken(&F.b));
    ck_assert_uint_eq(ct_barrier_n_waiting(&F.b), 0);
    ct_group_run(2, wait_forever, &F.b);
    ck_assert_int_eq(F.rc[0], 0);
    ck_assert_int_eq(F.rc[1], 0);
    ASSERT_PERMUTATION(F.index, 2);
}
END_TEST

/* Stress: exactly the parties, for about a second (or MAX_GENERATIONS).
 * Each thread's k-th pass is generation k, so each generation's indices
 * must be a permutation; the action ends the run, so every thread stops
 * after the same generation and none is left waiting. */
#define STRESS_PARTIES 4
#define MAX_GENERATIONS 100000

static struct {
    ct_barrier_t b;
    unsigned index[MAX_GENERATIONS][STRESS_PARTIES];
    double stop_at;
    int generations, stop;
} S;

static int stress_action(void *arg)
{
    (void)arg;
    int g = READ(S.generations);
    WRITE(S.generations, g + 1);
    if (g + 1 == MAX_GENERATIONS || ct_monotonic() > S.stop_at)
        WRITE(S.stop, 1);
    return 0;
}

static void stress_f(void *arg, int t)
{
    (void)arg;
    double timeout = 30.0 * ct_test_scale();
    for (int k = 0;; k++) {
        unsigned *i = &S.index[k][t];
        int rc = k % 2 ? ct_barrier_wait_timeout(&S.b, timeout, i) : ct_barrier_wait(&S.b, i);
        if (rc != 0)
            ck_abort_msg("generation %d: wait returned %d", k, rc);
        if (READ(S.stop)) {
            ck_assert_int_eq(k + 1, READ(S.generations));
            return;
        }
    }
}

START_TEST(test_stress)
{
    ck_assert_int_eq(ct_barrier_init(&S.b, STRESS_PARTIES, stress_action, NULL, CT_FOREVER), 0);
    S.stop_at = ct_monotonic() + 1.0;
    ct_group_run(STRESS_PARTIES, stress_f, NULL);
    ck_assert_int_gt(S.generations, 0);
    int bad = 0;
    for (int k = 0; k < S.generations; k++)
        bad += !is_permutation(S.index[k], STRESS_PARTIES);
    ck_assert_int_eq(bad, 0);
    ck_assert_uint_eq(ct_barrier_n_waiting(&S.b), 0);
    ck_assert(!ct_barrier_broken(&S.b));
}
END_TEST

/* Stress: twice as many threads as parties, so arrivals keep meeting a
 * generation being released, for about half a second; then an abort lets
 * everybody out. Every passed generation gave each index exactly once. */
#define CROWD 8

static struct {
    ct_barrier_t b;
    int passes[CROWD][STRESS_PARTIES];
    int action_runs;
} C;

static int crowd_action(void *arg)
{
    (void)arg;
    BUMP(C.action_runs);
    return 0;
}

static void crowd_f(void *arg, int t)
{
    (void)arg;
    double timeout = 30.0 * ct_test_scale();
    for (int k = 0;; k++) {
        unsigned i;
        int rc = k % 2 ? ct_barrier_wait_timeout(&C.b, timeout, &i) : ct_barrier_wait(&C.b, &i);
        if (rc != 0) {
            ck_assert_int_eq(rc, CT_EBROKEN);
            return;
        }
        if (i >= STRESS_PARTIES)
            ck_abort_msg("index %u", i);
        C.passes[t][i]++;
    }
}

START_TEST(test_stress_crowd)
{
    ck_assert_int_eq(ct_barrier_init(&C.b, STRESS_PARTIES, crowd_action, NULL, CT_FOREVER), 0);
    ct_group g;
    ct_group_start(&g, CROWD, crowd_f, NULL);
    ct_sleep(0.5);
    ct_barrier_abort(&C.b);
    ct_group_join(&g);
    int per_index[STRESS_PARTIES] = { 0 };
    for (int t = 0; t < CROWD; t++)
        for (int i = 0; i < STRESS_PARTIES; i++)
            per_index[i] += C.passes[t][i];
    int passed = per_index[STRESS_PARTIES - 1];
    ck_assert_int_gt(passed, 0);
    for (int i = 0; i < STRESS_PARTIES; i++)
        ck_assert_int_eq(per_index[i], passed);
    /* An abort during the last action broke a generation it ran for. */
    ck_assert_int_ge(C.action_runs, passed);
    ck_assert_int_le(C.action_runs, passed + 1);
    ck_assert(ct_barrier_broken(&C.b));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("barrier");
    CT_TEST_ADD(s, test_constructor);
    CT_TEST_ADD(s, test_bad_timeout);
    CT_TEST_ADD(s, test_barrier);
    CT_TEST_ADD(s, test_barrier_10);
    CT_TEST_ADD(s, test_wait_return);
    CT_TEST_ADD(s, test_action);
    CT_TEST_ADD(s, test_abort);
    CT_TEST_ADD(s, test_reset);
    CT_TEST_ADD(s, test_abort_and_reset);
    CT_TEST_ADD(s, test_timeout);
    CT_TEST_ADD(s, test_default_timeout);
    CT_TEST_ADD(s, test_single_thread);
    CT_TEST_ADD(s, test_repr);
    CT_TEST_ADD(s, test_static_initializer);
    CT_TEST_ADD(s, test_timeout_zero);
    CT_TEST_ADD(s, test_timeout_storm);
    CT_TEST_ADD(s, test_action_before_release);
    CT_TEST_ADD(s, test_action_fails);
    CT_TEST_ADD(s, test_abort_in_action);
    CT_TEST_ADD(s, test_reset_in_action);
    CT_TEST_ADD(s, test_arrival_during_action);
    CT_TEST_ADD(s, test_timeout_during_action);
    CT_TEST_ADD(s, test_timeout_during_own_action);
    CT_TEST_ADD(s, test_stress);
    CT_TEST_ADD(s, test_stress_crowd);
    CT_TEST_ADD(s, test_stress_timeouts);
    return s;
}

CT_TEST_MAIN(make_suite)
