/*
 * Semaphore ping-pong: two semaphores at 0; one thread releases the first
 * and acquires the second, the other the reverse. One iteration is a
 * round trip: two hand-offs, each a wake of a sleeping thread.
 */
#define _GNU_SOURCE
#include "suite.h"

#include <cthreading.h>
#include <semaphore.h>
#include <stdalign.h>
#include <uv.h>

/* init, post, wait and destroy are applied to a pointer to one semaphore. */
#define SEM_PEER(id, sem_type, init, post, wait, destroy)                         \
    static struct {                                                               \
        alignas(64) sem_type ping;                                                \
        alignas(64) sem_type pong;                                                \
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
            wait(&id.ping);                                                       \
            post(&id.pong);                                                       \
        }                                                                         \
    }                                                                             \
    static void id##_round(void)                                                  \
    {                                                                             \
        post(&id.ping);                                                           \
        wait(&id.pong);                                                           \
    }                                                                             \
    static void id##_teardown(void)                                               \
    {                                                                             \
        destroy(&id.ping);                                                        \
        destroy(&id.pong);                                                        \
    }

static void ct_init(ct_sem_t *s) { ct_sem_init(s, 0); }
static void ct_post(ct_sem_t *s) { ct_sem_release(s, 1); }
static void ct_destroy(ct_sem_t *s) { (void)s; }
static void posix_init(sem_t *s) { sem_init(s, 0, 0); }
static void uv_init(uv_sem_t *s) { uv_sem_init(s, 0); }

SEM_PEER(ct, ct_sem_t, ct_init, ct_post, ct_sem_acquire, ct_destroy)
SEM_PEER(posix, sem_t, posix_init, sem_post, sem_wait, sem_destroy)
SEM_PEER(uv, uv_sem_t, uv_init, uv_sem_post, uv_sem_wait, uv_sem_destroy)

#define PEER(id, label) { label, id##_setup, id##_partner, id##_round, id##_teardown }

const struct bench_team_peer bench_sem_peers[] = {
    PEER(ct, "ct_sem"),
    PEER(posix, "sem_t"),
    PEER(uv, "uv_sem"),
    { 0 },
};
