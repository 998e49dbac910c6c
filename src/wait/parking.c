/*
 * The portable wait back-end, for any POSIX system: a parking lot.
 *
 * A fixed table of buckets, each a mutex and a FIFO queue of sleeping
 * threads, is indexed by a hash of the word's address. A sleeping thread
 * parks on a node on its own stack, with its own condition variable, so
 * parking allocates nothing and a wake touches only the threads it wakes.
 *
 * No lost wake-up: the sleeper compares the word with what it expects while
 * holding the bucket's mutex, and a waker changes the word before it takes
 * that mutex to wake; so either the sleeper sees the new value and does not
 * sleep, or it is queued before the waker looks.
 *
 * ct__requeue does not move a sleeper between buckets (the sleeper waits on
 * its own bucket's mutex): it wakes it, as the seam allows.
 *
 * After fork() the child has only the forking thread: every bucket is made
 * new, empty and unlocked (the queued nodes belong to threads that do not
 * exist there).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "../deadline.h"

#define BUCKETS 256
#define CACHE_LINE 64

struct waiter {
    struct waiter *next;
    const uint32_t *word;
    pthread_cond_t cond;
    bool woken;
};

struct bucket {
    _Alignas(CACHE_LINE) pthread_mutex_t mutex;
    struct waiter *head, *tail;
};

static struct bucket table[BUCKETS];
static pthread_condattr_t monotonic;

static void reset_table(void)
{
    for (int i = 0; i < BUCKETS; i++) {
        pthread_mutex_init(&table[i].mutex, NULL);
        table[i].head = table[i].tail = NULL;
    }
}

__attribute__((constructor)) static void parking_init(void)
{
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    reset_table();
    pthread_atfork(NULL, NULL, reset_table);
}

static struct bucket *bucket_of(const uint32_t *word)
{
    uintptr_t a = (uintptr_t)word >> 2;
    a ^= a >> 17;
    a *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return &table[(a >> 24) % BUCKETS];
}

static void unlink_waiter(struct bucket *b, struct waiter *w)
{
    struct waiter **p = &b->head, *prev = NULL;
    while (*p != w) {
        prev = *p;
        p = &(*p)->next;
    }
    *p = w->next;
    if (b->tail == w)
        b->tail = prev;
}

int ct__wait(const uint32_t *word, uint32_t expected, int64_t deadline)
{
    struct bucket *b = bucket_of(word);
    int result = 0;
    if (deadline != CT__NO_DEADLINE && ct__now() >= deadline)
        return ETIMEDOUT;
    int saved_errno = errno;
    pthread_mutex_lock(&b->mutex);
    if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != expected) {
        pthread_mutex_unlock(&b->mutex);
        return 0;
    }
    struct waiter w = { .next = NULL, .word = word, .woken = false };
    pthread_cond_init(&w.cond, &monotonic);
    if (b->tail)
        b->tail->next = &w;
    else
        b->head = &w;
    b->tail = &w;
    struct timespec ts = ct__timespec(deadline);
    while (!w.woken) {
        int rc = deadline == CT__NO_DEADLINE
                     ? pthread_cond_wait(&w.cond, &b->mutex)
                     : pthread_cond_timedwait(&w.cond, &b->mutex, &ts);
        if (rc == ETIMEDOUT && !w.woken) {
            unlink_waiter(b, &w);
            result = ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&b->mutex);
    pthread_cond_destroy(&w.cond);
    errno = saved_errno;
    return result;
}

void ct__wake(const uint32_t *word, int n)
{
    struct bucket *b = bucket_of(word);
    pthread_mutex_lock(&b->mutex);
    struct waiter **p = &b->head, *prev = NULL;
    while (*p && n > 0) {
        struct waiter *w = *p;
        if (w->word != word) {
            prev = w;
            p = &w->next;
            continue;
        }
        *p = w->next;
        if (b->tail == w)
            b->tail = prev;
        w->woken = true;
        pthread_cond_signal(&w->cond);
        n--;
    }
    pthread_mutex_unlock(&b->mutex);
}

void ct__requeue(const uint32_t *from, uint32_t expected, const uint32_t *to)
{
    (void)expected, (void)to;
    ct__wake(from, 1);
}
