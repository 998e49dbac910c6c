/*
 * The tutorial's programs with cthreading, as tutorial.py runs them with
 * Python's threading: the same work, the same counts, the same output.
 *
 *     bench_tutorial PROGRAM N
 *
 * PROGRAM is counter (4 threads add N times each under one lock), cond (N
 * round trips through one condition), event (N round trips through two
 * events) or threads (N threads started and joined one after another). It
 * prints one JSON line: the operations done, and the wall and CPU (user +
 * system) seconds they took.
 */
#include <cthreading.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static long n;

static void start(ct_thread_t **t, ct_thread_fn fn)
{
    *t = ct_thread_spawn(fn, NULL, NULL);
    if (!*t) {
        perror("bench_tutorial: ct_thread_spawn");
        exit(1);
    }
}

static void finish(ct_thread_t *t)
{
    ct_thread_join(t, NULL);
    ct_thread_unref(t);
}

/* ---- counter ---- */

static ct_lock_t lock = CT_LOCK_INIT;
static long total;

static void *add(void *arg)
{
    for (long i = 0; i < n; i++) {
        CT_WITH(&lock) {
            total += 1;
        }
    }
    return arg;
}

static long counter(void)
{
    ct_thread_t *t[4];
    for (int i = 0; i < 4; i++)
        start(&t[i], add);
    for (int i = 0; i < 4; i++)
        finish(t[i]);
    if (total != 4 * n)
        abort();
    return 4 * n;
}

/* ---- condition ping-pong ---- */

static ct_cond_t cv = CT_COND_INIT;
static int turn;

static void *cond_partner(void *arg)
{
    CT_WITH(&cv) {
        for (long i = 0; i < n; i++) {
            CT_COND_WAIT_FOR(&cv, turn == 1, CT_FOREVER);
            turn = 0;
            ct_cond_notify(&cv, 1);
        }
    }
    return arg;
}

static long cond(void)
{
    ct_thread_t *t;
    start(&t, cond_partner);
    CT_WITH(&cv) {
        for (long i = 0; i < n; i++) {
            turn = 1;
            ct_cond_notify(&cv, 1);
            CT_COND_WAIT_FOR(&cv, turn == 0, CT_FOREVER);
        }
    }
    finish(t);
    return n;
}

/* ---- event ping-pong ---- */

static ct_event_t ping = CT_EVENT_INIT, pong = CT_EVENT_INIT;

static void *event_partner(void *arg)
{
    for (long i = 0; i < n; i++) {
        ct_event_wait(&ping);
        ct_event_clear(&ping);
        ct_event_set(&pong);
    }
    return arg;
}

static long event(void)
{
    ct_thread_t *t;
    start(&t, event_partner);
    for (long i = 0; i < n; i++) {
        ct_event_set(&ping);
        ct_event_wait(&pong);
        ct_event_clear(&pong);
    }
    finish(t);
    return n;
}

/* ---- threads ---- */

static void *nothing(void *arg)
{
    return arg;
}

static long threads(void)
{
    for (long i = 0; i < n; i++) {
        ct_thread_t *t;
        start(&t, nothing);
        finish(t);
    }
    return n;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        long (*run)(void);
    } programs[] = { { "counter", counter }, { "cond", cond }, { "event", event },
                     { "threads", threads } };
    if (argc != 3) {
        fprintf(stderr, "usage: bench_tutorial counter|cond|event|threads N\n");
        return 2;
    }
    n = atol(argv[2]);
    for (size_t i = 0; i < sizeof programs / sizeof *programs; i++) {
        if (strcmp(argv[1], programs[i].name))
            continue;
        double wall = ct_monotonic(), cpu = cpu_seconds();
        long ops = programs[i].run();
        printf("{\"program\": \"%s\", \"ops\": %ld, \"wall\": %.9f, \"cpu\": %.6f}\n",
               programs[i].name, ops, ct_monotonic() - wall, cpu_seconds() - cpu);
        return 0;
    }
    fprintf(stderr, "bench_tutorial: no program named %s\n", argv[1]);
    return 2;
}
