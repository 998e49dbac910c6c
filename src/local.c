/*
 * ct_local_t: thread-local values under keys without a fixed limit.
 *
 * A key is an index into a process-wide array of slots (the destructor of
 * each live key, and a free list threaded through the retired ones, so
 * indices are reused and nothing grows with churn). Each thread that sets
 * a value owns a table: values[index], grown on demand, found through a
 * __thread pointer. So get is a thread-local load, a bound check and a
 * load; slot 0 is never used, which makes a zeroed or destroyed key read
 * NULL.
 *
 * Who touches what: a table's values are written by its own thread only,
 * except that ct_local_destroy and the thread's end take values out; those
 * two take each value under the one mutex, so every value is destroyed
 * exactly once. A table grows under the mutex too, so destroy can read
 * any table. Tables sit on a list, under the mutex, for destroy to visit.
 *
 * A thread's values are destroyed at its end by ct__local_exit: called by
 * the thread layer before the thread counts as ended (so join returns
 * after), or by the destructor of one pthread key for threads that are not
 * ours. A destructor may set values again: like pthread keys, up to
 * PTHREAD_DESTRUCTOR_ITERATIONS rounds are made, then the rest is dropped.
 *
 * After fork() the child keeps only the forking thread's table; the other
 * threads' tables are freed (their values, like the threads, stay behind).
 */
#include <cthreading.h>

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "local_internal.h"

struct slot {
    void (*destructor)(void *);
    size_t next_free; /* of a retired index: the next one, 0 ends the list */
};

struct table {
    struct table *prev, *next;
    size_t cap;
    void **values;
};

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots;
static size_t n_slots = 1, cap_slots, free_head;
static struct table tables = { &tables, &tables, 0, NULL };
static pthread_key_t table_key;
static __thread struct table *mine __attribute__((tls_model("initial-exec")));

static void lock(void) { pthread_mutex_lock(&mutex); }
static void unlock(void) { pthread_mutex_unlock(&mutex); }

int ct_local_init(ct_local_t *k, void (*destructor)(void *))
{
    assert(k);
    lock();
    size_t i = free_head;
    if (i) {
        free_head = slots[i].next_free;
    } else {
        if (n_slots >= cap_slots) {
            size_t cap = cap_slots ? 2 * cap_slots : 64;
            struct slot *s = ct__realloc(slots, cap * sizeof *s);
            if (!s) {
                unlock();
                return ENOMEM;
            }
            slots = s;
            cap_slots = cap;
        }
        i = n_slots++;
    }
    slots[i] = (struct slot){ destructor, 0 };
    unlock();
    k->index = i;
    return 0;
}

void *ct_local_get(const ct_local_t *k)
{
    assert(k);
    struct table *t = mine;
    size_t i = k->index;
    return t && i < t->cap ? t->values[i] : NULL;
}

/* Makes the calling thread's table hold index i: 0 or ENOMEM. */
static int reserve(size_t i)
{
    struct table *t = mine;
    if (!t) {
        t = ct__malloc(sizeof *t);
        if (!t)
            return ENOMEM;
        *t = (struct table){ NULL, NULL, 0, NULL };
        if (pthread_setspecific(table_key, t)) {
            free(t);
            return ENOMEM;
        }
        lock();
        t->prev = tables.prev;
        t->next = &tables;
        tables.prev->next = t;
        tables.prev = t;
        unlock();
        mine = t;
    }
    if (i < t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 8;
    while (cap <= i)
        cap *= 2;
    lock();
    void **v = ct__realloc(t->values, cap * sizeof *v);
    if (v) {
        memset(v + t->cap, 0, (cap - t->cap) * sizeof *v);
        t->values = v;
        t->cap = cap;
    }
    unlock();
    return v ? 0 : ENOMEM;
}

int ct_local_set(ct_local_t *k, void *value)
{
    assert(k);
    size_t i = k->index;
    if (i == 0)
        return EINVAL;
    struct table *t = mine;
    if (!t || i >= t->cap) {
        if (!value)
            return 0;
        int rc = reserve(i);
        if (rc)
            return rc;
        t = mine;
    }
    t->values[i] = value;
    return 0;
}

/* Takes the first value of t at index *i or above out of t, with its
 * destructor: false when there is none. The caller holds the mutex. */
static bool take(struct table *t, size_t *i, void **value, void (**destructor)(void *))
{
    while (*i < t->cap && !t->values[*i])
        ++*i;
    if (*i >= t->cap)
        return false;
    *value = t->values[*i];
    *destructor = slots[*i].destructor;
    t->values[*i] = NULL;
    return true;
}

void ct__local_exit(void)
{
    struct table *t = mine;
    if (!t)
        return;
    bool again = true;
    for (int round = 0; again && round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
        again = false;
        size_t i = 1;
        void *value;
        void (*destructor)(void *);
        for (;;) {
            lock();
            bool found = take(t, &i, &value, &destructor);
            unlock();
            if (!found)
                break;
            again = true;
            i++;
            if (destructor)
                destructor(value);
        }
    }
    lock();
    t->prev->next = t->next;
    t->next->prev = t->prev;
    unlock();
    free(t->values);
    free(t);
    mine = NULL;
    pthread_setspecific(table_key, NULL);
}

void ct_local_destroy(ct_local_t *k)
{
    assert(k);
    size_t i = k->index;
    if (i == 0)
        return;
    k->index = 0;
    lock();
    void (*destructor)(void *) = slots[i].destructor;
    /* Rescan from the start after each call: while the mutex was free,
     * threads may have ended and their tables gone. */
    for (struct table *t = tables.next; t != &tables;) {
        if (i < t->cap && t->values[i]) {
            void *value = t->values[i];
            t->values[i] = NULL;
            unlock();
            if (destructor)
                destructor(value);
            lock();
            t = tables.next;
        } else {
            t = t->next;
        }
    }
    slots[i] = (struct slot){ NULL, free_head };
    free_head = i;
    unlock();
}

/* A thread that is not ours ends: its values go. */
static void table_destructor(void *t)
{
    (void)t;
    ct__local_exit();
}

static void prepare(void) { lock(); }
static void parent(void) { unlock(); }

static void child(void)
{
    unlock(); /* taken by this thread in prepare */
    for (struct table *t = tables.next, *next; t != &tables; t = next) {
        next = t->next;
        if (t != mine) {
            t->prev->next = next;
            next->prev = t->prev;
            free(t->values);
            free(t);
        }
    }
}

__attribute__((constructor)) static void local_init(void)
{
    if (pthread_key_create(&table_key, table_destructor))
        abort();
    pthread_atfork(prepare, parent, child);
}
