/*
 * What the tests share: Check, a main() that runs one suite, threads
 * started in groups, bounded polling for a state another thread reaches,
 * and a storm of signals.
 *
 * Every test case runs in its own process (Check's fork mode) under a
 * timeout, so a deadlock fails the case instead of hanging the run.
 */
#ifndef CT_TEST_SUPPORT_H
#define CT_TEST_SUPPORT_H

#include <check.h>
#include <cthreading.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

/* Shared words the tests' threads report through. BUMP gives the new
 * value. */
#define READ(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define WRITE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)
#define BUMP(x) __atomic_add_fetch(&(x), 1, __ATOMIC_SEQ_CST)

/* In a child: a failed check says which and exits 1. */
#define CHILD_CHECK(cond)                                                 \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: child: %s failed\n", __FILE__,        \
                    __LINE__, #cond);                                     \
            _exit(1);                                                     \
        }                                                                 \
    } while (0)

/* Seconds a test case may run before Check kills it (times
 * CK_TIMEOUT_MULTIPLIER, which sanitizer builds raise). */
#define CT_TEST_TIMEOUT 30

/* main() for a test file: runs the suite that make_suite() returns. */
#define CT_TEST_MAIN(make_suite)                                          \
    int main(void) { return ct_test_run(make_suite()); }
int ct_test_run(Suite *s);

/* A test case named after fn with the standard timeout, added to s. */
#define CT_TEST_ADD(s, fn) ct_test_add((s), #fn, (fn))
void ct_test_add(Suite *s, const char *name, const TTest *fn);

/* Up to CT_GROUP_MAX ct_thread_t threads running fn(arg, index). */
#define CT_GROUP_MAX 64
typedef void (*ct_group_fn)(void *arg, int index);
typedef struct ct_group {
    ct_thread_t *threads[CT_GROUP_MAX];
    struct ct_group_slot {
        ct_group_fn fn;
        void *arg;
        int index;
    } slots[CT_GROUP_MAX];
    int n;
    bool joined;
} ct_group;

void ct_group_start(ct_group *g, int n, ct_group_fn fn, void *arg);
void ct_group_join(ct_group *g);
/* Starts n threads and joins them all. */
void ct_group_run(int n, ct_group_fn fn, void *arg);

/* Polls cond (an expression) every 100 µs until it holds or 10 s (times
 * the multiplier) pass; fails the test on the timeout. For waiting until
 * another thread has reached a state, never for hoping. */
#define CT_WAIT_UNTIL(cond)                                               \
    do {                                                                  \
        double ct__limit_ = ct_monotonic() + 10.0 * ct_test_scale();      \
        while (!(cond)) {                                                 \
            ck_assert_msg(ct_monotonic() < ct__limit_,                    \
                          "timed out waiting until %s", #cond);           \
            ct_sleep(0.0001);                                             \
        }                                                                 \
    } while (0)

/* The timeout multiplier in force (CK_TIMEOUT_MULTIPLIER, default 1). */
double ct_test_scale(void);

/* A thread that sends SIGUSR1 to the process every ~50 µs; the handler is
 * installed without SA_RESTART, so every blocking call sees EINTR from the
 * kernel. ct_storm_stop returns how many signals were handled. */
void ct_storm_start(void);
long ct_storm_stop(void);

/* Asserts that a timed call lasted about its timeout: at least timeout
 * (less clock granularity) and not absurdly more. */
#define CT_ASSERT_DURATION(took, timeout)                                 \
    do {                                                                  \
        double ct__took_ = (took);                                        \
        ck_assert_msg(ct__took_ >= (timeout) - 0.001,                     \
                      "returned after %.4f s, before its timeout %.4f s", \
                      ct__took_, (double)(timeout));                      \
        ck_assert_msg(ct__took_ < (timeout) + 5.0 * ct_test_scale(),      \
                      "returned after %.4f s, timeout %.4f s", ct__took_, \
                      (double)(timeout));                                 \
    } while (0)

/* The same for a call that started at ct_monotonic() == start. */
#define CT_ASSERT_TOOK(start, timeout)                                    \
    CT_ASSERT_DURATION(ct_monotonic() - (start), timeout)

#endif
