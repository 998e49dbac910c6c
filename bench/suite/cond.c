/*
 * Condition ping-pong: two threads take turns through one condition
 * variable. The partner holds the lock for all its rounds except while it
 * waits; the measuring thread takes it for each round (so that a team of
 * no rounds cannot deadlock), which costs an uncontended pair per round
 * trip. One iteration is a round trip: two notifies, two wakes.
 */
#define _GNU_SOURCE
#include "suite.h"

#include <cthreading.h>
#include <glib.h>
#include <nsync.h>
#include <pthread.h>
#include <stdalign.h>
#include <threads.h>
#include <uv.h>

/* lock, unlock, wait and signal are statements over id.m and id.c. */
#define COND_PEER(id, mutex_t, cond_t, init, lock, unlock, wait, signal, destroy) \
    static struct {                                                               \
        alignas(64) mutex_t m;                                                    \
        cond_t c;                                                                 \
        int turn;                                                                 \
    } id;                                                                         \
    static void id##_setup(unsigned parties, long rounds)                         \
    {                                                                             \
        (void)parties, (void)rounds;                                              \
        init;                                                                     \
        id.turn = 0;                                                              \
    }                                                                             \
    static void id##_partner(long rounds)                                         \
    {                                                                             \
        lock;                                                                     \
        for (long i = 0; i < rounds; i++) {                                       \
            while (id.turn == 0)                                                  \
                wait;                                                             \
            id.turn = 0;                                                          \
            signal;                                                               \
        }                                                                         \
        unlock;                                                                   \
    }                                                                             \
    static void id##_round(void)                                                  \
    {                                                                             \
        lock;                                                                     \
        id.turn = 1;                                                              \
        signal;                                                                   \
        while (id.turn == 1)                                                      \
            wait;                                                                 \
        unlock;                                                                   \
    }                                                                             \
    static void id##_teardown(void)                                               \
    {                                                                             \
        destroy;                                                                  \
    }

/* Python's Condition(): its own RLock. m is unused. */
COND_PEER(ct, char, ct_cond_t, ct_cond_init(&ct.c), ct_cond_acquire(&ct.c),
          ct_cond_release(&ct.c), ct_cond_wait(&ct.c), ct_cond_notify(&ct.c, 1), (void)ct.m)
/* Condition(Lock()). */
COND_PEER(ct_l, ct_lock_t, ct_cond_t, ct_cond_init_lock(&ct_l.c, &ct_l.m),
          ct_cond_acquire(&ct_l.c), ct_cond_release(&ct_l.c), ct_cond_wait(&ct_l.c),
          ct_cond_notify(&ct_l.c, 1), (void)0)
COND_PEER(posix, pthread_mutex_t, pthread_cond_t,
          (pthread_mutex_init(&posix.m, NULL), pthread_cond_init(&posix.c, NULL)),
          pthread_mutex_lock(&posix.m), pthread_mutex_unlock(&posix.m),
          pthread_cond_wait(&posix.c, &posix.m), pthread_cond_signal(&posix.c),
          (pthread_cond_destroy(&posix.c), pthread_mutex_destroy(&posix.m)))
COND_PEER(c11, mtx_t, cnd_t, (mtx_init(&c11.m, mtx_plain), cnd_init(&c11.c)),
          mtx_lock(&c11.m), mtx_unlock(&c11.m), cnd_wait(&c11.c, &c11.m), cnd_signal(&c11.c),
          (cnd_destroy(&c11.c), mtx_destroy(&c11.m)))
COND_PEER(ns, nsync_mu, nsync_cv, (nsync_mu_init(&ns.m), nsync_cv_init(&ns.c)),
          nsync_mu_lock(&ns.m), nsync_mu_unlock(&ns.m), nsync_cv_wait(&ns.c, &ns.m),
          nsync_cv_signal(&ns.c), (void)0)
COND_PEER(glib, GMutex, GCond, (g_mutex_init(&glib.m), g_cond_init(&glib.c)),
          g_mutex_lock(&glib.m), g_mutex_unlock(&glib.m), g_cond_wait(&glib.c, &glib.m),
          g_cond_signal(&glib.c), (g_cond_clear(&glib.c), g_mutex_clear(&glib.m)))
COND_PEER(uv, uv_mutex_t, uv_cond_t, (uv_mutex_init(&uv.m), uv_cond_init(&uv.c)),
          uv_mutex_lock(&uv.m), uv_mutex_unlock(&uv.m), uv_cond_wait(&uv.c, &uv.m),
          uv_cond_signal(&uv.c), (uv_cond_destroy(&uv.c), uv_mutex_destroy(&uv.m)))

const struct bench_team_peer bench_cond_peers[] = {
    BENCH_TEAM_PEER(ct, "ct_cond"),
    BENCH_TEAM_PEER(ct_l, "ct_cond_lock"),
    BENCH_TEAM_PEER(posix, "pthread_cond"),
    BENCH_TEAM_PEER(c11, "c11_cnd"),
    BENCH_TEAM_PEER(ns, "nsync_cv"),
    BENCH_TEAM_PEER(glib, "GCond"),
    BENCH_TEAM_PEER(uv, "uv_cond"),
    { 0 },
};
