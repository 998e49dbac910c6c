#include "support.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double ct_test_scale(void)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    double v = m ? atof(m) : 1.0;
    return v >= 1.0 ? v : 1.0;
}

void ct_test_add(Suite *s, const char *name, const TTest *fn)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, CT_TEST_TIMEOUT);
    tcase_add_test(tc, fn);
    suite_add_tcase(s, tc);
}

int ct_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static void *group_main(void *p)
{
    struct ct_group_slot *slot = p;
    slot->fn(slot->arg, slot->index);
    return NULL;
}

void ct_group_start(ct_group *g, int n, ct_group_fn fn, void *arg)
{
    ck_assert_int_le(n, CT_GROUP_MAX);
    g->n = n;
    g->joined = false;
    for (int i = 0; i < n; i++) {
        g->slots[i] = (struct ct_group_slot){ fn, arg, i };
        g->threads[i] = ct_thread_spawn(group_main, &g->slots[i], NULL);
        ck_assert_ptr_nonnull(g->threads[i]);
    }
}

void ct_group_join(ct_group *g)
{
    for (int i = 0; i < g->n; i++) {
        ck_assert_int_eq(ct_thread_join(g->threads[i], NULL), 0);
        ct_thread_unref(g->threads[i]);
    }
    g->joined = true;
}

void ct_group_run(int n, ct_group_fn fn, void *arg)
{
    ct_group g;
    ct_group_start(&g, n, fn, arg);
    ct_group_join(&g);
}

static int storm_running;
static long storm_handled;
static pthread_t storm_thread;

static void storm_handler(int sig)
{
    (void)sig;
    __atomic_fetch_add(&storm_handled, 1, __ATOMIC_RELAXED);
}

static void *storm_main(void *unused)
{
    (void)unused;
    /* The sender itself takes no signal, so every one lands on a thread
     * that may be blocked in the library. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct timespec gap = { 0, 50000 };
    while (__atomic_load_n(&storm_running, __ATOMIC_RELAXED)) {
        kill(getpid(), SIGUSR1);
        nanosleep(&gap, NULL);
    }
    return NULL;
}

void ct_storm_start(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = storm_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: interrupted calls see EINTR */
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    __atomic_store_n(&storm_handled, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&storm_running, 1, __ATOMIC_RELAXED);
    ck_assert_int_eq(pthread_create(&storm_thread, NULL, storm_main, NULL), 0);
}

long ct_storm_stop(void)
{
    __atomic_store_n(&storm_running, 0, __ATOMIC_RELAXED);
    pthread_join(storm_thread, NULL);
    return __atomic_load_n(&storm_handled, __ATOMIC_RELAXED);
}
