/*
 * The event a C programmer writes by hand: a flag under a mutex, and a
 * condition variable to wait for it.
 */
#ifndef BENCH_HAND_EVENT_H
#define BENCH_HAND_EVENT_H

#include <pthread.h>
#include <stdbool.h>

struct hand_event {
    pthread_mutex_t m;
    pthread_cond_t c;
    bool set;
};

static inline void hand_event_init(struct hand_event *e)
{
    pthread_mutex_init(&e->m, NULL);
    pthread_cond_init(&e->c, NULL);
    e->set = false;
}

static inline void hand_event_destroy(struct hand_event *e)
{
    pthread_cond_destroy(&e->c);
    pthread_mutex_destroy(&e->m);
}

static inline void hand_event_set(struct hand_event *e)
{
    pthread_mutex_lock(&e->m);
    e->set = true;
    pthread_cond_broadcast(&e->c);
    pthread_mutex_unlock(&e->m);
}

static inline void hand_event_clear(struct hand_event *e)
{
    pthread_mutex_lock(&e->m);
    e->set = false;
    pthread_mutex_unlock(&e->m);
}

static inline void hand_event_wait(struct hand_event *e)
{
    pthread_mutex_lock(&e->m);
    while (!e->set)
        pthread_cond_wait(&e->c, &e->m);
    pthread_mutex_unlock(&e->m);
}

#endif
