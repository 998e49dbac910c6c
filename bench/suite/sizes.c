/* The size of every primitive's object, for each peer that has one. */
#define _GNU_SOURCE
#include "suite.h"

#include <cthreading.h>
#include <ck_spinlock.h>
#include <glib.h>
#include <nsync.h>
#include <pthread.h>
#include <semaphore.h>
#include <threads.h>
#include <uv.h>

#include "hand_event.h"

#define SIZE(primitive, peer, type) { primitive, peer, #type, sizeof(type) }

const struct bench_size bench_sizes[] = {
    SIZE("lock", "cthreading", ct_lock_t),
    SIZE("lock", "pthreads", pthread_mutex_t),
    SIZE("lock", "C11", mtx_t),
    SIZE("lock", "nsync", nsync_mu),
    SIZE("lock", "GLib", GMutex),
    SIZE("lock", "libuv", uv_mutex_t),
    SIZE("lock", "ck", ck_spinlock_fas_t),
    SIZE("lock", "ck", ck_spinlock_ticket_t),
    SIZE("lock", "ck", ck_spinlock_mcs_t),
    SIZE("rlock", "cthreading", ct_rlock_t),
    SIZE("rlock", "pthreads", pthread_mutex_t),
    SIZE("rlock", "C11", mtx_t),
    SIZE("rlock", "GLib", GRecMutex),
    SIZE("rlock", "libuv", uv_mutex_t),
    SIZE("condition", "cthreading", ct_cond_t),
    SIZE("condition", "pthreads", pthread_cond_t),
    SIZE("condition", "C11", cnd_t),
    SIZE("condition", "nsync", nsync_cv),
    SIZE("condition", "GLib", GCond),
    SIZE("condition", "libuv", uv_cond_t),
    SIZE("semaphore", "cthreading", ct_sem_t),
    SIZE("semaphore", "pthreads", sem_t),
    SIZE("semaphore", "libuv", uv_sem_t),
    SIZE("event", "cthreading", ct_event_t),
    SIZE("event", "nsync", nsync_note),
    SIZE("event", "pthreads", struct hand_event),
    SIZE("barrier", "cthreading", ct_barrier_t),
    SIZE("barrier", "pthreads", pthread_barrier_t),
    SIZE("barrier", "libuv", uv_barrier_t),
    { 0 },
};
