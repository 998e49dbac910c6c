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

static void ct_init(ct_sem_t *s) { ct_sem_init(s, 0); }
static void ct_post(ct_sem_t *s) { ct_sem_release(s, 1); }
static void ct_destroy(ct_sem_t *s) { (void)s; }
static void posix_init(sem_t *s) { sem_init(s, 0, 0); }
static void uv_init(uv_sem_t *s) { uv_sem_init(s, 0); }

BENCH_PINGPONG_PEER(ct, ct_sem_t, ct_init, ct_post, ct_sem_acquire, ct_destroy)
BENCH_PINGPONG_PEER(posix, sem_t, posix_init, sem_post, sem_wait, sem_destroy)
BENCH_PINGPONG_PEER(uv, uv_sem_t, uv_init, uv_sem_post, uv_sem_wait, uv_sem_destroy)

const struct bench_team_peer bench_sem_peers[] = {
    BENCH_TEAM_PEER(ct, "ct_sem"),
    BENCH_TEAM_PEER(posix, "sem_t"),
    BENCH_TEAM_PEER(uv, "uv_sem"),
    { 0 },
};
