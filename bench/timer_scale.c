/*
 * Timers at scale: cthreading's ct_timer_t against the same program written
 * the Python way (a thread per timer that waits on an event for its
 * interval, as threading.Timer does), in one run.
 *
 *   start+cancel   new + start + cancel + free of one timer, 100,000 times
 *                  while 100,000 others are pending
 *   bytes/timer    memory per pending timer (heap bytes for cthreading;
 *                  resident bytes for the thread per timer, 10,000 of them)
 *   lateness       10,000 timers spread over 2 s: how long after its
 *                  deadline each callback ran, median and p99
 */
#include <cthreading.h>

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string.h>

/* Full sizes; --quick divides the counts by 100 and the spread by 10. */
static int n_pending = 100000, n_pairs = 100000, n_spread = 10000, n_thread_timers = 10000;
static double spread_seconds = 2.0;

/* ---- the Python way: one thread per timer ---- */

struct thread_timer {
    pthread_t thread;
    ct_event_t finished; /* Python's Timer.finished: set by cancel */
    double interval;
    void (*fn)(void *);
    void *arg;
};

static void *thread_timer_main(void *p)
{
    struct thread_timer *t = p;
    if (ct_event_wait_timeout(&t->finished, t->interval) == ETIMEDOUT)
        t->fn(t->arg);
    ct_event_set(&t->finished);
    return NULL;
}

static int thread_timer_start(struct thread_timer *t, double interval, void (*fn)(void *),
                              void *arg)
{
    *t = (struct thread_timer){ .finished = CT_EVENT_INIT, .interval = interval, .fn = fn,
                                .arg = arg };
    return pthread_create(&t->thread, NULL, thread_timer_main, t);
}

static void thread_timer_cancel(struct thread_timer *t)
{
    ct_event_set(&t->finished);
}

static void thread_timer_join(struct thread_timer *t)
{
    pthread_join(t->thread, NULL);
}

/* ---- measurements ---- */

static void nothing(void *arg)
{
    (void)arg;
}

struct due {
    double at, late;
};

static void note_lateness(void *arg)
{
    struct due *d = arg;
    d->late = ct_monotonic() - d->at;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void percentiles(struct due *d, int n, double *median, double *p99)
{
    double *late = malloc(sizeof *late * (size_t)n);
    for (int i = 0; i < n; i++)
        late[i] = d[i].late;
    qsort(late, (size_t)n, sizeof *late, by_value);
    *median = late[n / 2];
    *p99 = late[(int)(n * 0.99)];
    free(late);
}

static long resident_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

static double ct_pairs_per_second(void)
{
    double t0 = ct_monotonic();
    for (int i = 0; i < n_pairs; i++) {
        ct_timer_t *t = ct_timer_new(60.0 + (i % 1000) * 0.01, nothing, NULL);
        ct_timer_start(t);
        ct_timer_cancel(t);
        ct_timer_free(t);
    }
    return n_pairs / (ct_monotonic() - t0);
}

static double thread_pairs_per_second(int n)
{
    struct thread_timer t;
    double t0 = ct_monotonic();
    for (int i = 0; i < n; i++) {
        if (thread_timer_start(&t, 60.0, nothing, NULL))
            return 0;
        thread_timer_cancel(&t);
        thread_timer_join(&t);
    }
    return n / (ct_monotonic() - t0);
}

static void ct_lateness(double *median, double *p99)
{
    struct due *d = calloc((size_t)n_spread, sizeof *d);
    ct_timer_t **t = calloc((size_t)n_spread, sizeof *t);
    for (int i = 0; i < n_spread; i++) {
        double interval = spread_seconds * (double)(i * 7919 % n_spread) / n_spread;
        t[i] = ct_timer_new(interval, note_lateness, &d[i]);
        d[i].at = ct_monotonic() + interval;
        ct_timer_start(t[i]);
    }
    for (int i = 0; i < n_spread; i++) {
        ct_timer_join(t[i]);
        ct_timer_free(t[i]);
    }
    percentiles(d, n_spread, median, p99);
    free(d);
    free(t);
}

static void thread_lateness(double *median, double *p99, long *bytes)
{
    struct due *d = calloc((size_t)n_thread_timers, sizeof *d);
    struct thread_timer *t = calloc((size_t)n_thread_timers, sizeof *t);
    long before = resident_bytes();
    int started = 0;
    for (int i = 0; i < n_thread_timers; i++) {
        double interval = spread_seconds + spread_seconds * (double)(i * 7919 % n_thread_timers) /
                                               n_thread_timers;
        d[i].at = ct_monotonic() + interval;
        if (thread_timer_start(&t[i], interval, note_lateness, &d[i]))
            break;
        started++;
    }
    *bytes = (resident_bytes() - before) / (started ? started : 1);
    for (int i = 0; i < started; i++)
        thread_timer_join(&t[i]);
    percentiles(d, started, median, p99);
    if (started < n_thread_timers)
        printf("  (the OS gave only %d threads)\n", started);
    free(d);
    free(t);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
        n_pending /= 100;
        n_pairs /= 100;
        n_spread /= 100;
        n_thread_timers /= 100;
        spread_seconds /= 10;
    }
    ct_timer_t **pending = calloc((size_t)n_pending, sizeof *pending);
    struct mallinfo2 m0 = mallinfo2();
    for (int i = 0; i < n_pending; i++) {
        pending[i] = ct_timer_new(3600.0 + i * 1e-3, nothing, NULL);
        if (!pending[i] || ct_timer_start(pending[i])) {
            perror("timer_scale: ct_timer_new/start");
            return 1;
        }
    }
    struct mallinfo2 m1 = mallinfo2();
    double ct_bytes = (double)(m1.uordblks - m0.uordblks) / n_pending;
    double ct_pairs = ct_pairs_per_second();
    for (int i = 0; i < n_pending; i++)
        ct_timer_free(pending[i]);
    free(pending);

    double ct_median, ct_p99;
    ct_lateness(&ct_median, &ct_p99);

    double th_pairs = thread_pairs_per_second(n_pairs / 10);
    double th_median, th_p99;
    long th_bytes;
    thread_lateness(&th_median, &th_p99, &th_bytes);

    printf("%-30s %14s %14s %8s\n", "timers", "cthreading", "thread/timer", "ratio");
    printf("%-30s %14.0f %14.0f %7.1fx\n", "start+cancel pairs/s", ct_pairs, th_pairs,
           ct_pairs / th_pairs);
    printf("%-30s %14.0f %14ld %7.1fx\n", "bytes per pending timer", ct_bytes, th_bytes,
           th_bytes / ct_bytes);
    printf("%-30s %14.3f %14.3f\n", "lateness median (ms)", ct_median * 1e3, th_median * 1e3);
    printf("%-30s %14.3f %14.3f\n", "lateness p99 (ms)", ct_p99 * 1e3, th_p99 * 1e3);
    printf("(%d cthreading timers pending during start+cancel; %d thread timers; lateness over "
           "%.1f s)\n", n_pending, n_thread_timers, spread_seconds);
    return 0;
}
