/*
 * The benchmark suite's workloads, written in C, one file per workload with
 * every peer in it; main.cc registers them with Google Benchmark.
 *
 * Each peer is a table of plain functions whose loops call the peer's own
 * primitives directly, so no indirect call sits inside a measured loop
 * (the harness calls a peer once per batch, round or run). The objects
 * under test are file-scope statics, each alone on its cache line(s).
 */
#ifndef BENCH_SUITE_H
#define BENCH_SUITE_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#else
#include <time.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- time and work ---- */

/* A cheap timestamp (the TSC on x86), converted by bench_ticks_to_ns. */
static inline uint64_t bench_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* Busy work of `units` steps that the compiler cannot remove or merge. */
static inline void bench_work(unsigned units)
{
    for (unsigned i = 0; i < units; i++)
        __asm__ __volatile__("" ::: "memory");
}

/* Calibrates the tick rate and the work loop; call once, first. */
void bench_calibrate(void);
double bench_ticks_to_ns(uint64_t ticks);
/* The work units that take about ns nanoseconds on this machine. */
unsigned bench_work_units(double ns);

/* Seconds of CPU (user + system) the process has used, and its context
 * switches (voluntary + involuntary), all threads included. */
void bench_usage(double *cpu_seconds, double *switches);

/* ---- locks: uncontended pairs and contended throughput ---- */

/* One contending thread: it runs until *stop, counting its acquisitions
 * and the longest time from calling acquire to having released. */
struct bench_contender {
    const int *stop;
    unsigned inside, outside; /* work units in and after the section */
    long count;
    uint64_t worst; /* ticks */
};

struct bench_lock_peer {
    const char *name;
    long *counter;                    /* what the section increments */
    void (*reset)(void);              /* a fresh unlocked lock, counter 0 */
    void (*uncontended)(long n);      /* n acquire+release pairs, one thread */
    void (*contend)(struct bench_contender *c); /* either may be NULL: not measured */
};
extern const struct bench_lock_peer bench_lock_peers[];

struct bench_contention {
    int threads;
    unsigned inside, outside;
    double seconds;
};

struct bench_contention_result {
    double seconds, cpu_seconds, switches;
    long total, min, max;
    double jain, worst_ns;
};

/* Runs one contended measurement; aborts if the lock lost an increment. */
void bench_contend(const struct bench_lock_peer *p, const struct bench_contention *cfg,
                   struct bench_contention_result *r);

/* ---- teams: ping-pong pairs and barrier phases ---- */

/* A team: the measuring thread plays `round` once per iteration, while
 * parties - 1 partner threads run `partner` for the same number of
 * rounds; setup learns both numbers first, teardown runs after the joins. */
struct bench_team_peer {
    const char *name;
    void (*setup)(unsigned parties, long rounds);
    void (*partner)(long rounds);
    void (*round)(void);
    void (*teardown)(void);
};
extern const struct bench_team_peer bench_cond_peers[], bench_sem_peers[],
    bench_event_peers[], bench_barrier_peers[];

/* The bench_team_peer of the functions id##_setup, _partner, _round and
 * _teardown. */
#define BENCH_TEAM_PEER(id, label) \
    { label, id##_setup, id##_partner, id##_round, id##_teardown }

/* A ping-pong team of two over two objects of one type, each padded to
 * its own cache line: one thread gives ping and takes pong, the partner
 * takes ping and gives pong. One round is a round trip, two hand-offs.
 * init, give, take and destroy are applied to a pointer to one object. */
#define BENCH_PINGPONG_PEER(id, type, init, give, take, destroy)                  \
    static struct {                                                               \
        alignas(64) type ping;                                                    \
        alignas(64) type pong;                                                    \
    } id;                                                                         \
    static void id##_setup(unsigned parties, long rounds)                         \
    {                                                                             \
        (void)parties, (void)rounds;                                              \
        init(&id.ping);                                                           \
        init(&id.pong);                                                           \
    }                                                                             \
    static void id##_partner(long rounds)                                         \
    {                                                                             \
        for (long i = 0; i < rounds; i++) {                                       \
            take(&id.ping);                                                       \
            give(&id.pong);                                                       \
        }                                                                         \
    }                                                                             \
    static void id##_round(void)                                                  \
    {                                                                             \
        give(&id.ping);                                                           \
        take(&id.pong);                                                           \
    }                                                                             \
    static void id##_teardown(void)                                               \
    {                                                                             \
        destroy(&id.ping);                                                        \
        destroy(&id.pong);                                                        \
    }

/* Starts the partners of a team (at most 16 parties); bench_team_finish
 * joins them once the measuring thread has played its rounds. */
void bench_team_start(const struct bench_team_peer *p, unsigned parties, long rounds);
void bench_team_finish(const struct bench_team_peer *p);

/* ---- single-thread loops: thread lifetimes, signals nobody waits for ---- */

struct bench_loop_peer {
    const char *name;
    void (*run)(long n);
};
extern const struct bench_loop_peer bench_thread_peers[], bench_nowait_peers[];

/* ---- sizes ---- */

struct bench_size {
    const char *primitive, *peer, *type;
    size_t size;
};
extern const struct bench_size bench_sizes[];

#ifdef __cplusplus
}
#endif

#endif
