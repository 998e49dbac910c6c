/*
 * What every workload shares: the clock and work calibration, CPU usage,
 * the contended-lock driver and the team driver. All of it runs outside
 * the measured loops, on raw pthreads, so that no peer is favoured.
 */
#define _GNU_SOURCE
#include "suite.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double ns_per_tick = 1.0;
static double ns_per_unit = 1.0;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

void bench_calibrate(void)
{
    double t0 = now_ns();
    uint64_t k0 = bench_ticks();
    while (now_ns() - t0 < 20e6)
        ;
    ns_per_tick = (now_ns() - t0) / (double)(bench_ticks() - k0);

    /* The best of a few timings: the least disturbed one. */
    const unsigned units = 1000000;
    double best = 1e30;
    for (int i = 0; i < 5; i++) {
        double s = now_ns();
        bench_work(units);
        double t = now_ns() - s;
        best = t < best ? t : best;
    }
    ns_per_unit = best / units;
}

double bench_ticks_to_ns(uint64_t ticks)
{
    return (double)ticks * ns_per_tick;
}

unsigned bench_work_units(double ns)
{
    return (unsigned)(ns / ns_per_unit + 0.5);
}

void bench_usage(double *cpu_seconds, double *switches)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
                   ru.ru_stime.tv_usec * 1e-6;
    *switches = (double)(ru.ru_nvcsw + ru.ru_nivcsw);
}

static void start_thread(pthread_t *th, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(th, NULL, fn, arg);
    if (rc) {
        fprintf(stderr, "bench: pthread_create: error %d\n", rc);
        exit(1);
    }
}

/* ---- contended locks ---- */

struct contender_thread {
    pthread_t thread;
    struct bench_contender c;
    const struct bench_lock_peer *peer;
    int *ready;
    const int *go;
};

static void *contender_main(void *arg)
{
    struct contender_thread *t = arg;
    __atomic_fetch_add(t->ready, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(t->go, __ATOMIC_ACQUIRE))
        sched_yield();
    t->peer->contend(&t->c);
    return NULL;
}

void bench_contend(const struct bench_lock_peer *p, const struct bench_contention *cfg,
                   struct bench_contention_result *r)
{
    struct contender_thread *t = calloc((size_t)cfg->threads, sizeof *t);
    int stop = 0, go = 0, ready = 0;
    p->reset();
    for (int i = 0; i < cfg->threads; i++) {
        t[i] = (struct contender_thread){
            .c = { .stop = &stop, .inside = cfg->inside, .outside = cfg->outside },
            .peer = p, .ready = &ready, .go = &go };
        start_thread(&t[i].thread, contender_main, &t[i]);
    }
    while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < cfg->threads)
        sched_yield();

    double cpu0, sw0, cpu1, sw1;
    bench_usage(&cpu0, &sw0);
    double t0 = now_ns();
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    struct timespec nap = { (time_t)cfg->seconds,
                            (long)((cfg->seconds - (time_t)cfg->seconds) * 1e9) };
    nanosleep(&nap, NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < cfg->threads; i++)
        pthread_join(t[i].thread, NULL);
    r->seconds = (now_ns() - t0) * 1e-9;
    bench_usage(&cpu1, &sw1);
    r->cpu_seconds = cpu1 - cpu0;
    r->switches = sw1 - sw0;

    double sum = 0, squares = 0;
    uint64_t worst = 0;
    r->total = 0;
    r->min = t[0].c.count;
    r->max = t[0].c.count;
    for (int i = 0; i < cfg->threads; i++) {
        long n = t[i].c.count;
        r->total += n;
        r->min = n < r->min ? n : r->min;
        r->max = n > r->max ? n : r->max;
        sum += (double)n;
        squares += (double)n * (double)n;
        worst = t[i].c.worst > worst ? t[i].c.worst : worst;
    }
    r->jain = squares > 0 ? sum * sum / (cfg->threads * squares) : 0;
    r->worst_ns = bench_ticks_to_ns(worst);
    free(t);
    if (*p->counter != r->total) {
        fprintf(stderr, "bench: %s lost increments: %ld of %ld\n", p->name, *p->counter,
                r->total);
        abort();
    }
}

/* ---- teams ---- */

#define MAX_PARTIES 16

static pthread_t partners[MAX_PARTIES];
static unsigned n_partners;

struct partner_args {
    const struct bench_team_peer *peer;
    long rounds;
};
static struct partner_args partner_args;

static void *partner_main(void *arg)
{
    const struct partner_args *a = arg;
    a->peer->partner(a->rounds);
    return NULL;
}

void bench_team_start(const struct bench_team_peer *p, unsigned parties, long rounds)
{
    if (parties < 2 || parties > MAX_PARTIES) {
        fprintf(stderr, "bench: a team has 2 to %d parties, not %u\n", MAX_PARTIES, parties);
        exit(1);
    }
    p->setup(parties, rounds);
    partner_args = (struct partner_args){ p, rounds };
    n_partners = parties - 1;
    for (unsigned i = 0; i < n_partners; i++)
        start_thread(&partners[i], partner_main, &partner_args);
}

void bench_team_finish(const struct bench_team_peer *p)
{
    for (unsigned i = 0; i < n_partners; i++)
        pthread_join(partners[i], NULL);
    p->teardown();
}
