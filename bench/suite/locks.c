/*
 * Locks: uncontended acquire+release pairs, and threads contending for one
 * lock around a counter (the section), for every peer with a lock.
 *
 * LOCK_PEER expands one peer's loops with its acquire and release written
 * in place (PAIR_PEER and CONTEND are its two halves). The contended loop stamps the time before acquire and after
 * release, so the longest stamp-to-stamp time is the longest wait plus one
 * section; the only work outside the section besides the configured work
 * is that timestamp.
 */
#define _GNU_SOURCE
#include "suite.h"

#include <cthreading.h>
#include <ck_spinlock.h>
#include <glib.h>
#include <nsync.h>
#include <pthread.h>
#include <stdalign.h>
#include <threads.h>
#include <uv.h>

#include "bare_lock.h"

/* The lock, its counter, and the uncontended loop. */
#define PAIR_PEER(id, type, init, acquire, release)                               \
    static struct {                                                               \
        alignas(64) type lock;                                                    \
        long counter;                                                             \
    } id;                                                                         \
    static void id##_reset(void)                                                  \
    {                                                                             \
        init;                                                                     \
        id.counter = 0;                                                           \
    }                                                                             \
    static void id##_uncontended(long n)                                          \
    {                                                                             \
        for (long i = 0; i < n; i++) {                                            \
            acquire;                                                              \
            release;                                                              \
        }                                                                         \
    }

/* The contended loop: section is the statement run under the lock. */
#define CONTEND(id, acquire, section, release)                                    \
    static void id##_contend(struct bench_contender *c)                           \
    {                                                                             \
        uint64_t worst = 0;                                                       \
        long n = 0;                                                               \
        while (!__atomic_load_n(c->stop, __ATOMIC_RELAXED)) {                     \
            uint64_t t0 = bench_ticks();                                          \
            acquire;                                                              \
            section;                                                              \
            bench_work(c->inside);                                                \
            release;                                                              \
            uint64_t t = bench_ticks() - t0;                                      \
            worst = t > worst ? t : worst;                                        \
            n++;                                                                  \
            bench_work(c->outside);                                               \
        }                                                                         \
        c->count = n;                                                             \
        c->worst = worst;                                                         \
    }

/* A lock measured both ways. */
#define LOCK_PEER(id, type, init, acquire, release)                               \
    PAIR_PEER(id, type, init, acquire, release)                                   \
    CONTEND(id, acquire, id.counter++, release)

#define PEER(id, label) { label, &id.counter, id##_reset, id##_uncontended, id##_contend }
/* Measured uncontended only: Python's RLock, and the floor of a pair. */
#define PAIR_ONLY(id, label) { label, &id.counter, id##_reset, id##_uncontended, NULL }
/* Measured contended only. */
#define CONTEND_ONLY(id, label) { label, &id.counter, id##_reset, NULL, id##_contend }

static void adaptive_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

LOCK_PEER(ct, ct_lock_t, ct_lock_init(&ct.lock), ct_lock_acquire(&ct.lock),
          ct_lock_release(&ct.lock))
PAIR_PEER(ct_r, ct_rlock_t, ct_rlock_init(&ct_r.lock), ct_rlock_acquire(&ct_r.lock),
          ct_rlock_release(&ct_r.lock))
LOCK_PEER(mutex, pthread_mutex_t, pthread_mutex_init(&mutex.lock, NULL),
          pthread_mutex_lock(&mutex.lock), pthread_mutex_unlock(&mutex.lock))
LOCK_PEER(adaptive, pthread_mutex_t, adaptive_init(&adaptive.lock),
          pthread_mutex_lock(&adaptive.lock), pthread_mutex_unlock(&adaptive.lock))
LOCK_PEER(c11, mtx_t, mtx_init(&c11.lock, mtx_plain), mtx_lock(&c11.lock),
          mtx_unlock(&c11.lock))
LOCK_PEER(ns, nsync_mu, nsync_mu_init(&ns.lock), nsync_mu_lock(&ns.lock),
          nsync_mu_unlock(&ns.lock))
LOCK_PEER(glib, GMutex, g_mutex_init(&glib.lock), g_mutex_lock(&glib.lock),
          g_mutex_unlock(&glib.lock))
LOCK_PEER(uv, uv_mutex_t, uv_mutex_init(&uv.lock), uv_mutex_lock(&uv.lock),
          uv_mutex_unlock(&uv.lock))
LOCK_PEER(fas, ck_spinlock_fas_t, ck_spinlock_fas_init(&fas.lock),
          ck_spinlock_fas_lock(&fas.lock), ck_spinlock_fas_unlock(&fas.lock))
LOCK_PEER(ticket, ck_spinlock_ticket_t, ck_spinlock_ticket_init(&ticket.lock),
          ck_spinlock_ticket_lock(&ticket.lock), ck_spinlock_ticket_unlock(&ticket.lock))
LOCK_PEER(mcs, ck_spinlock_mcs_t, ck_spinlock_mcs_init(&mcs.lock),
          struct ck_spinlock_mcs node; ck_spinlock_mcs_lock(&mcs.lock, &node),
          ck_spinlock_mcs_unlock(&mcs.lock, &node))
PAIR_PEER(bare, uint32_t, bare.lock = 0, bare_lock_acquire(&bare.lock),
          bare_lock_release(&bare.lock))

/* No lock at all: the same loop with an atomic increment, so that what the
 * scheduler alone does to fairness and to the longest "wait" on this
 * machine shows beside the locks. */
static struct {
    alignas(64) long counter;
} none;
static void none_reset(void)
{
    none.counter = 0;
}
CONTEND(none, (void)0, __atomic_fetch_add(&none.counter, 1, __ATOMIC_RELAXED), (void)0)

const struct bench_lock_peer bench_lock_peers[] = {
    PEER(ct, "ct_lock"),
    PAIR_ONLY(ct_r, "ct_rlock"),
    PEER(mutex, "pthread_mutex"),
    PEER(adaptive, "pthread_mutex_adaptive"),
    PEER(c11, "c11_mtx"),
    PEER(ns, "nsync_mu"),
    PEER(glib, "GMutex"),
    PEER(uv, "uv_mutex"),
    PEER(fas, "ck_spinlock_fas"),
    PEER(ticket, "ck_spinlock_ticket"),
    PEER(mcs, "ck_spinlock_mcs"),
    PAIR_ONLY(bare, "bare_xchg_lock"),
    CONTEND_ONLY(none, "no_lock"),
    { 0 },
};
