/*
 * Barrier phases: parties threads pass one barrier again and again; one
 * iteration is one phase (every party arrives, all are released).
 */
#define _GNU_SOURCE
#include "suite.h"

#include <cthreading.h>
#include <pthread.h>
#include <stdalign.h>
#include <uv.h>

/* init(pointer, parties); wait and destroy take the pointer. */
#define BARRIER_PEER(id, barrier_type, init, wait, destroy)                       \
    static struct {                                                               \
        alignas(64) barrier_type b;                                               \
    } id;                                                                         \
    static void id##_setup(unsigned parties, long rounds)                         \
    {                                                                             \
        (void)rounds;                                                             \
        init(&id.b, parties);                                                     \
    }                                                                             \
    static void id##_partner(long rounds)                                         \
    {                                                                             \
        for (long i = 0; i < rounds; i++)                                         \
            wait(&id.b);                                                          \
    }                                                                             \
    static void id##_round(void)                                                  \
    {                                                                             \
        wait(&id.b);                                                              \
    }                                                                             \
    static void id##_teardown(void)                                               \
    {                                                                             \
        destroy(&id.b);                                                           \
    }

static void ct_init(ct_barrier_t *b, unsigned parties)
{
    ct_barrier_init(b, parties, NULL, NULL, CT_FOREVER);
}
static void ct_wait(ct_barrier_t *b) { ct_barrier_wait(b, NULL); }
static void ct_destroy(ct_barrier_t *b) { (void)b; }
static void posix_init(pthread_barrier_t *b, unsigned parties)
{
    pthread_barrier_init(b, NULL, parties);
}

BARRIER_PEER(ct, ct_barrier_t, ct_init, ct_wait, ct_destroy)
BARRIER_PEER(posix, pthread_barrier_t, posix_init, pthread_barrier_wait,
             pthread_barrier_destroy)
BARRIER_PEER(uv, uv_barrier_t, uv_barrier_init, uv_barrier_wait, uv_barrier_destroy)

const struct bench_team_peer bench_barrier_peers[] = {
    BENCH_TEAM_PEER(ct, "ct_barrier"),
    BENCH_TEAM_PEER(posix, "pthread_barrier"),
    BENCH_TEAM_PEER(uv, "uv_barrier"),
    { 0 },
};
