/*
 * The soak: every primitive at once, for as long as asked, under many
 * threads (4x the cores by default; --threads N), each picking a random
 * operation with random forms and timeouts: plain, try and timed
 * acquires, timed waits, timer cancels, barrier resets and aborts,
 * thread starts, thread-local values. The main thread is the heartbeat
 * (it sets the event and feeds the condition's queue every few
 * milliseconds, so a wait without a timeout always has a wake coming) and
 * the watchdog.
 *
 * Checked all the time: mutual exclusion of the Lock and the RLock (a
 * count of holders), the semaphore's bound (holders never above it),
 * the queue's bounds and conservation, a timed wait never returning
 * ETIMEDOUT before its time, a timer never calling back early or twice,
 * and progress: a worker that has made no progress for STUCK seconds
 * waits for a wake that was lost (or is deadlocked), and fails the run.
 * Checked at the end, with everything quiet: counters add up, every
 * barrier index came out as often as every other (a generation passes
 * whole or not at all), every thread-local value was destroyed once,
 * every thread was joined; and the process's thread count and the bytes
 * it has allocated are no higher at the end than in the first seconds
 * (plus slack), so nothing grows with time.
 *
 *     soak [--seconds N] [--threads N] [--seed N]
 *
 * Exit status 0 when everything held; 1 with a message on the first
 * violation.
 */
#include <cthreading.h>

#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 256
#define QUEUE_CAP 8
#define SEM_PERMITS 3
#define PARTIES 3
#define STUCK 10.0
#define HEARTBEAT 0.002
#define SAMPLE 0.1

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED true
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED true
#endif
#endif
#ifndef SANITIZED
#define SANITIZED false
#endif

#define READ(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define WRITE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)
#define ADD(x, v) __atomic_add_fetch(&(x), (v), __ATOMIC_SEQ_CST)

static void fail(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fprintf(stderr, "soak: FAILED: ");
    vfprintf(stderr, format, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(NULL);
    _exit(1);
}

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond))                                                      \
            fail(__VA_ARGS__);                                            \
    } while (0)

/* ---- shared state ----------------------------------------------------- */

static struct {
    ct_lock_t lock;
    long lock_inside, lock_count; /* lock_count under the lock */
    ct_rlock_t rlock;
    long rlock_inside;
    ct_cond_t cond;
    int items;                    /* under the condition's lock */
    long produced, consumed;      /* under the condition's lock */
    ct_sem_t sem;
    long sem_inside;
    ct_event_t event;
    ct_barrier_t barrier;
    long actions, passed[PARTIES];
    ct_local_t key;
    long values_made, values_destroyed;
    long timers_called;
    long threads_started, threads_joined;
    int stop;
} s;

struct worker {
    pthread_t thread;
    uint64_t rng;
    long ops, lock_count;
    long long progress; /* when the last operation finished, in µs */
    int op;          /* the operation under way, for the watchdog */
} workers[MAX_WORKERS];

static long long micros(void)
{
    return (long long)(ct_monotonic() * 1e6);
}

static uint32_t random_below(struct worker *w, uint32_t n)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return (uint32_t)(w->rng >> 32) % n;
}

/* A timeout: 0, a few microseconds to milliseconds, or none. */
static double random_timeout(struct worker *w)
{
    switch (random_below(w, 8)) {
    case 0:
        return 0;
    case 1:
        return CT_FOREVER;
    default:
        return 1e-6 * (1 + random_below(w, 3000));
    }
}

/* A timed call that gave ETIMEDOUT must have lasted its timeout. */
static int timed(int rc, double start, double timeout, const char *what)
{
    double took = ct_monotonic() - start;
    CHECK(rc != EINTR, "%s returned EINTR", what);
    CHECK(rc != ETIMEDOUT || took >= timeout - 1e-6,
          "%s gave ETIMEDOUT after %.6f s of %.6f", what, took, timeout);
    return rc;
}

/* ---- the operations --------------------------------------------------- */

static void op_lock(struct worker *w)
{
    double t = random_timeout(w), start = ct_monotonic();
    int rc = random_below(w, 4) == 0 ? ct_lock_try_acquire(&s.lock)
             : t == CT_FOREVER      ? ct_lock_acquire(&s.lock)
                                    : timed(ct_lock_acquire_timeout(&s.lock, t), start, t,
                                            "lock_acquire_timeout");
    if (rc)
        return;
    CHECK(ADD(s.lock_inside, 1) == 1, "two threads inside the Lock");
    s.lock_count++;
    w->lock_count++;
    CHECK(ADD(s.lock_inside, -1) == 0, "two threads inside the Lock");
    CHECK(ct_lock_release(&s.lock) == 0, "lock_release failed");
}

static void op_rlock(struct worker *w)
{
    int depth = 1 + (int)random_below(w, 4), held = 0;
    for (int i = 0; i < depth; i++) {
        double t = random_timeout(w), start = ct_monotonic();
        int rc = t == CT_FOREVER ? ct_rlock_acquire(&s.rlock)
                                 : timed(ct_rlock_acquire_timeout(&s.rlock, t), start, t,
                                         "rlock_acquire_timeout");
        if (rc)
            break;
        if (held++ == 0)
            CHECK(ADD(s.rlock_inside, 1) == 1, "two threads inside the RLock");
        CHECK(ct_rlock_is_owned(&s.rlock), "an acquired RLock is not owned");
    }
    if (held)
        CHECK(ADD(s.rlock_inside, -1) == 0, "two threads inside the RLock");
    while (held--)
        CHECK(ct_rlock_release(&s.rlock) == 0, "rlock_release failed");
    CHECK(ct_rlock_release(&s.rlock) == EPERM, "an RLock released to depth 0 is still owned");
}

static void check_queue(void)
{
    CHECK(s.items >= 0 && s.items <= QUEUE_CAP, "queue holds %d items", s.items);
    CHECK(s.produced - s.consumed == s.items, "queue: %ld produced, %ld consumed, %d held",
          s.produced, s.consumed, s.items);
}

static void op_cond(struct worker *w)
{
    double t = random_timeout(w);
    bool produce = random_below(w, 2);
    CHECK(ct_cond_acquire(&s.cond) == 0, "cond_acquire failed");
    check_queue();
    double start = ct_monotonic();
    bool ok = produce ? CT_COND_WAIT_FOR(&s.cond, s.items < QUEUE_CAP || READ(s.stop), t)
                      : CT_COND_WAIT_FOR(&s.cond, s.items > 0 || READ(s.stop), t);
    if (!ok)
        timed(errno, start, t, "CT_COND_WAIT_FOR");
    if (ok && produce && s.items < QUEUE_CAP) {
        s.items++;
        s.produced++;
        ct_cond_notify(&s.cond, random_below(w, 2) ? 1 : 2);
    } else if (ok && !produce && s.items > 0) {
        s.items--;
        s.consumed++;
        ct_cond_notify(&s.cond, 1);
    }
    check_queue();
    CHECK(ct_cond_release(&s.cond) == 0, "cond_release failed");
}

static void op_sem(struct worker *w)
{
    double t = random_timeout(w), start = ct_monotonic();
    int rc = random_below(w, 4) == 0 ? ct_sem_try_acquire(&s.sem)
             : t == CT_FOREVER      ? ct_sem_acquire(&s.sem)
                                    : timed(ct_sem_acquire_timeout(&s.sem, t), start, t,
                                            "sem_acquire_timeout");
    if (rc)
        return;
    long inside = ADD(s.sem_inside, 1);
    CHECK(inside <= SEM_PERMITS, "%ld threads inside a semaphore of %d", inside, SEM_PERMITS);
    CHECK(ct_sem_value(&s.sem) < SEM_PERMITS, "a taken permit is still free");
    ADD(s.sem_inside, -1);
    CHECK(ct_sem_release(&s.sem, 1) == 0, "sem_release failed");
}

static void op_event(struct worker *w)
{
    double t = random_timeout(w), start = ct_monotonic();
    int rc = t == CT_FOREVER ? ct_event_wait(&s.event)
                             : timed(ct_event_wait_timeout(&s.event, t), start, t,
                                     "event_wait_timeout");
    CHECK(rc == 0 || rc == ETIMEDOUT, "event wait: %d", rc);
}

static int action(void *unused)
{
    (void)unused;
    ADD(s.actions, 1);
    return 0;
}

static void op_barrier(struct worker *w)
{
    double t = random_timeout(w);
    if (t == CT_FOREVER || t == 0)
        t = 0.001;
    unsigned index = PARTIES;
    double start = ct_monotonic();
    int rc = timed(ct_barrier_wait_timeout(&s.barrier, t, &index), start, t, "barrier_wait");
    if (rc == 0) {
        CHECK(index < PARTIES, "barrier index %u", index);
        ADD(s.passed[index], 1);
    } else {
        CHECK(rc == ETIMEDOUT || rc == CT_EBROKEN, "barrier wait: %d", rc);
        if (random_below(w, 2))
            ct_barrier_reset(&s.barrier);
    }
    if (random_below(w, 64) == 0)
        ct_barrier_abort(&s.barrier);
}

struct timer_run {
    double due;
    long calls;
};

static void timer_fn(void *arg)
{
    struct timer_run *r = arg;
    CHECK(ct_monotonic() >= r->due, "a timer called back %.6f s early",
          r->due - ct_monotonic());
    CHECK(ADD(r->calls, 1) == 1, "a timer called back twice");
    ADD(s.timers_called, 1);
}

static void op_timer(struct worker *w)
{
    double interval = 1e-6 * random_below(w, 2000);
    struct timer_run r = { 0, 0 };
    ct_timer_t *t = ct_timer_new(interval, timer_fn, &r);
    CHECK(t != NULL, "timer_new failed");
    r.due = ct_monotonic() + interval;
    CHECK(ct_timer_start(t) == 0, "timer_start failed");
    if (random_below(w, 3) == 0)
        ct_timer_cancel(t);
    double jt = random_timeout(w), start = ct_monotonic();
    int rc = timed(ct_timer_join_timeout(t, jt), start, jt, "timer_join_timeout");
    if (rc == ETIMEDOUT)
        rc = ct_timer_join(t);
    CHECK(rc == 0, "timer join: %d", rc);
    CHECK(!ct_timer_is_alive(t), "a joined timer is alive");
    CHECK(READ(r.calls) <= 1, "a timer called back twice");
    ct_timer_free(t);
}

static void destroy_value(void *value)
{
    ADD(s.values_destroyed, 1);
    free(value);
}

/* A value for the key in the calling thread (whose end destroys it). */
static void set_value(void)
{
    if (ct_local_get(&s.key))
        return;
    int *v = malloc(sizeof *v);
    CHECK(v != NULL, "out of memory");
    CHECK(ct_local_set(&s.key, v) == 0, "local_set failed");
    ADD(s.values_made, 1);
}

static void *thread_body(void *arg)
{
    set_value();
    if ((uintptr_t)arg & 1)
        ct_sleep(0.0005);
    return arg;
}

static void op_thread(struct worker *w)
{
    void *arg = (void *)(uintptr_t)random_below(w, 1000);
    ct_thread_t *t = ct_thread_spawn(thread_body, arg, NULL);
    CHECK(t != NULL, "thread_spawn failed: %d", errno);
    ADD(s.threads_started, 1);
    double jt = random_timeout(w), start = ct_monotonic();
    void *result = NULL;
    int rc = timed(ct_thread_join_timeout(t, jt, &result), start, jt, "thread_join_timeout");
    if (rc == ETIMEDOUT)
        rc = ct_thread_join(t, &result);
    CHECK(rc == 0 && result == arg, "thread join: %d", rc);
    CHECK(!ct_thread_is_alive(t), "a joined thread is alive");
    ct_thread_unref(t);
    ADD(s.threads_joined, 1);
}

static void (*const ops[])(struct worker *) = {
    op_lock, op_lock, op_rlock, op_cond, op_cond, op_sem, op_event, op_barrier, op_timer,
    op_thread,
};
#define OPS ((int)(sizeof ops / sizeof ops[0]))

static const char *const op_names[] = {
    "lock", "lock", "rlock", "cond", "cond", "sem", "event", "barrier", "timer", "thread",
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    set_value();
    while (!READ(s.stop)) {
        int op = (int)random_below(w, OPS);
        WRITE(w->op, op);
        ops[op](w);
        WRITE(w->progress, micros());
        ADD(w->ops, 1);
    }
    return NULL;
}

/* ---- the process as a whole ------------------------------------------- */

static long os_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %ld", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

static size_t heap_in_use(void)
{
    return mallinfo2().uordblks;
}

static void heartbeat(void)
{
    ct_event_set(&s.event);
    ct_cond_acquire(&s.cond);
    if (s.items < QUEUE_CAP) {
        s.items++;
        s.produced++;
    }
    ct_cond_notify_all(&s.cond);
    ct_cond_release(&s.cond);
    ct_event_clear(&s.event);
}

static void watchdog(int n)
{
    long long now = micros();
    for (int i = 0; i < n; i++) {
        double idle = 1e-6 * (double)(now - READ(workers[i].progress));
        CHECK(idle < STUCK, "worker %d stuck for %.1f s in %s (a lost wake-up?)", i, idle,
              op_names[READ(workers[i].op)]);
    }
}

int main(int argc, char **argv)
{
    double seconds = 10;
    long n = 4 * sysconf(_SC_NPROCESSORS_ONLN);
    unsigned long seed = (unsigned long)time(NULL);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            n = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = strtoul(argv[i + 1], NULL, 10);
        else
            fail("usage: soak [--seconds N] [--threads N] [--seed N]");
    }
    if (n < 2)
        n = 2;
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    printf("soak: %.0f s, %ld threads, seed %lu\n", seconds, n, seed);
    fflush(stdout);

    s.lock = (ct_lock_t)CT_LOCK_INIT;
    ct_rlock_init(&s.rlock);
    ct_cond_init(&s.cond);
    ct_event_init(&s.event);
    CHECK(ct_sem_init_bounded(&s.sem, SEM_PERMITS) == 0, "sem_init failed");
    CHECK(ct_barrier_init(&s.barrier, PARTIES, action, NULL, CT_FOREVER) == 0, "barrier_init");
    CHECK(ct_local_init(&s.key, destroy_value) == 0, "local_init failed");

    double start = ct_monotonic();
    for (long i = 0; i < n; i++) {
        workers[i].rng = (seed + 1) * 0x9E3779B97F4A7C15ull + (uint64_t)i * 0xBF58476D1CE4E5B9ull;
        workers[i].rng |= 1;
        workers[i].progress = micros();
        CHECK(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) == 0,
              "pthread_create failed");
    }

    double warm_at = start + (seconds < 8 ? seconds / 4 : 2);
    double report_at = start + 10, sample_at = warm_at, end = start + seconds;
    long warm_threads = -1, peak_threads = 0;
    size_t warm_heap = 0, peak_heap = 0;
    while (ct_monotonic() < end) {
        ct_sleep(HEARTBEAT);
        heartbeat();
        watchdog((int)n);
        double now = ct_monotonic();
        if (warm_threads < 0 && now >= warm_at) {
            warm_threads = os_threads();
            warm_heap = heap_in_use();
        }
        if (now >= report_at) {
            long total = 0;
            for (long i = 0; i < n; i++)
                total += READ(workers[i].ops);
            printf("soak: %4.0f s  %10ld operations  %3ld OS threads  %8zu heap bytes\n",
                   now - start, total, os_threads(), heap_in_use());
            fflush(stdout);
            report_at += 10;
        }
        if (warm_threads >= 0 && now >= sample_at) {
            sample_at = now + SAMPLE;
            long t = os_threads();
            size_t h = heap_in_use();
            peak_threads = t > peak_threads ? t : peak_threads;
            peak_heap = h > peak_heap ? h : peak_heap;
        }
    }

    /* Quiet everything: every wait ends (the event stays set, the barrier
     * broken, the queue's waiters see stop), then the workers are joined
     * under the watchdog's eye. */
    WRITE(s.stop, 1);
    ct_event_set(&s.event);
    ct_barrier_abort(&s.barrier);
    ct_cond_acquire(&s.cond);
    ct_cond_notify_all(&s.cond);
    ct_cond_release(&s.cond);
    for (long i = 0; i < n; i++) {
        CHECK(pthread_join(workers[i].thread, NULL) == 0, "pthread_join failed");
    }

    long total = 0, lock_count = 0;
    for (long i = 0; i < n; i++) {
        total += workers[i].ops;
        lock_count += workers[i].lock_count;
    }
    CHECK(s.lock_count == lock_count, "Lock: %ld increments counted, %ld made", s.lock_count,
          lock_count);
    CHECK(!ct_lock_locked(&s.lock) && !ct_rlock_locked(&s.rlock), "a lock is still held");
    CHECK(ct_sem_value(&s.sem) == SEM_PERMITS, "semaphore at %u of %d", ct_sem_value(&s.sem),
          SEM_PERMITS);
    check_queue();
    for (int i = 1; i < PARTIES; i++)
        CHECK(s.passed[i] == s.passed[0], "barrier index %d passed %ld times, index 0 %ld", i,
              s.passed[i], s.passed[0]);
    CHECK(s.actions >= s.passed[0], "%ld barrier actions for %ld generations", s.actions,
          s.passed[0]);
    CHECK(s.threads_started == s.threads_joined, "%ld threads started, %ld joined",
          s.threads_started, s.threads_joined);
    CHECK(ct_active_count() == 1, "%zu threads active at the end", ct_active_count());
    ct_local_destroy(&s.key);
    CHECK(s.values_made == s.values_destroyed, "%ld thread-local values, %ld destroyed",
          s.values_made, s.values_destroyed);

    /* Flat: the last seconds' peaks are the first seconds' levels plus
     * what the workers may hold at any one time (a thread and a timer
     * each, and the timer service's runners), not growth with time. */
    long thread_slack = 2 * n + 16;
    CHECK(warm_threads < 0 || peak_threads <= warm_threads + thread_slack,
          "OS threads grew from %ld to %ld", warm_threads, peak_threads);
    /* The sanitizers' allocators keep freed memory aside for a while. */
    size_t heap_slack = (size_t)n * 64 * 1024 + (4u << 20);
    CHECK(SANITIZED || warm_threads < 0 || peak_heap <= warm_heap + heap_slack,
          "the heap grew from %zu to %zu bytes", warm_heap, peak_heap);

    printf("soak: %.0f s, %ld operations (%ld Lock, %ld queue items, %ld barrier generations, "
           "%ld timer calls, %ld threads): every invariant held; peak %ld OS threads, "
           "%zu heap bytes\n",
           ct_monotonic() - start, total, lock_count, s.consumed, s.passed[0],
           s.timers_called, s.threads_started, peak_threads, peak_heap);
    return 0;
}
