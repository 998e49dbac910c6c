/*
 * Signals nobody waits for: setting (and clearing) an event, releasing
 * (and taking back) a permit, on one thread. These must stay in user
 * space; `bench_suite --nowait N` runs the cthreading loops alone so that
 * strace or perf can count the system calls.
 */
#define _GNU_SOURCE
#include "suite.h"

#include <cthreading.h>
#include <semaphore.h>
#include <stdalign.h>

#include "hand_event.h"

static struct {
    alignas(64) ct_event_t event;
    alignas(64) ct_sem_t sem;
    alignas(64) sem_t posix;
    alignas(64) struct hand_event hand;
} s = { .event = CT_EVENT_INIT, .sem = CT_SEM_INIT(0) };

static void event_run(long n)
{
    for (long i = 0; i < n; i++) {
        ct_event_set(&s.event);
        ct_event_clear(&s.event);
    }
}

static void sem_run(long n)
{
    for (long i = 0; i < n; i++) {
        ct_sem_release(&s.sem, 1);
        ct_sem_acquire(&s.sem);
    }
}

static void posix_run(long n)
{
    sem_init(&s.posix, 0, 0);
    for (long i = 0; i < n; i++) {
        sem_post(&s.posix);
        sem_wait(&s.posix);
    }
    sem_destroy(&s.posix);
}

static void hand_run(long n)
{
    hand_event_init(&s.hand);
    for (long i = 0; i < n; i++) {
        hand_event_set(&s.hand);
        hand_event_clear(&s.hand);
    }
    hand_event_destroy(&s.hand);
}

const struct bench_loop_peer bench_nowait_peers[] = {
    { "ct_event_set_clear", event_run },
    { "ct_sem_release_acquire", sem_run },
    { "sem_post_wait", posix_run },
    { "pthread_mutex_cond_flag_set_clear", hand_run },
    { 0 },
};
