/*
 * ct_timer_t without a thread per timer.
 *
 * One service holds every started timer, under one lock:
 *
 *   heap      pending timers, a binary min-heap on the deadline; each timer
 *             knows its slot, so cancel removes it in O(log n)
 *   due       a FIFO of timers whose deadline has passed, for the runners
 *   running   the timers whose callback runs now (needed after fork())
 *
 * The timer thread sleeps on timer_seq until the earliest deadline. A start
 * that makes a new earliest deadline bumps timer_seq and wakes it; other
 * starts and every cancel leave it asleep. While awake it moves due timers
 * to the FIFO and hands them to runner threads.
 *
 * Runners sleep on runner_seq while idle. A due timer wakes an idle runner,
 * or, if none is idle, the timer thread starts one; a runner that takes a
 * timer while more wait and none is idle starts another before calling back.
 * So a callback that blocks holds up only its own runner, and the set grows
 * only while callbacks keep runners busy. A runner idle for IDLE_NS leaves.
 *
 * No lost wake-up: both sequence words change only under the lock, and a
 * sleeper reads its word under the lock before it sleeps on that value.
 *
 * A timer's state word (NEW, PENDING, DUE, RUNNING, then FINISHED or
 * CANCELLED) is what join sleeps on; a JOINERS bit set by a joiner makes
 * the final transition wake it, so cancel and finish cost no system call
 * when nobody joins. The service holds a reference to each started timer
 * until it is done with it, so ct_timer_free during a callback is safe.
 *
 * The exit handler (shutdown.h) waits for the live non-daemon timers,
 * counted in live; fork() leaves the child with an empty service and the
 * parent's timers cancelled.
 */
#include <cthreading.h>

#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "alloc.h"
#include "deadline.h"
#include "lock_internal.h"
#include "shutdown.h"

enum {
    NEW,
    PENDING,
    DUE,
    RUNNING,
    FINISHED,
    CANCELLED,
    STATE = 0xff,
    JOINERS = 0x100,
};

#define IDLE_NS 1000000000LL
#define RETRY_NS 10000000LL
#define MAX_RUNNERS 256

struct ct_timer {
    int64_t deadline;
    double interval;
    void (*fn)(void *arg);
    void *arg;
    size_t slot;
    struct ct_timer *next;
    uint32_t state;
    uint32_t refs;
    bool daemon;
};

static struct {
    ct_lock_t lock;
    struct ct_timer **heap;
    size_t len, cap;
    struct ct_timer *due, *due_tail, *running;
    uint32_t timer_seq, runner_seq, live;
    int64_t timer_sleeps_until;
    unsigned runners, idle;
    bool started, exiting, refused;
} svc = { .lock = CT_LOCK_INIT };

static __thread struct ct_timer *current;

static void lock(void) { ct__lock_acquire_eager(&svc.lock); }
static void unlock(void) { ct_lock_release(&svc.lock); }

static uint32_t state_of(const struct ct_timer *t)
{
    return __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) & STATE;
}

/* A transition that keeps the JOINERS bit. */
static void set_state(struct ct_timer *t, uint32_t s)
{
    uint32_t v = __atomic_load_n(&t->state, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&t->state, &v, (v & JOINERS) | s, true,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

/* The final transition; the caller holds the lock. */
static void settle(struct ct_timer *t, uint32_t final)
{
    uint32_t old = __atomic_exchange_n(&t->state, final, __ATOMIC_RELEASE);
    if (old & JOINERS)
        ct__wake(&t->state, INT_MAX);
    if (!t->daemon && --svc.live == 0 && svc.exiting)
        ct__wake(&svc.live, INT_MAX);
}

/* Drops a reference; the caller holds the lock. */
static void drop(struct ct_timer *t)
{
    if (--t->refs == 0)
        free(t);
}

static bool earlier(size_t a, size_t b)
{
    return svc.heap[a]->deadline < svc.heap[b]->deadline;
}

static void put(size_t slot, struct ct_timer *t)
{
    svc.heap[slot] = t;
    t->slot = slot;
}

static void swap(size_t a, size_t b)
{
    struct ct_timer *t = svc.heap[a];
    put(a, svc.heap[b]);
    put(b, t);
}

static void sift_up(size_t i)
{
    while (i > 0 && earlier(i, (i - 1) / 2)) {
        swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < svc.len && earlier(l, m))
            m = l;
        if (r < svc.len && earlier(r, m))
            m = r;
        if (m == i)
            return;
        swap(i, m);
        i = m;
    }
}

static void heap_remove(size_t slot)
{
    struct ct_timer *last = svc.heap[--svc.len];
    if (slot == svc.len)
        return;
    put(slot, last);
    sift_up(slot);
    sift_down(last->slot);
}

/* Starts an internal thread with every signal blocked, so user handlers
 * never run on it: 0 or an error number. */
static int start_internal(void *(*fn)(void *))
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int rc = ct__pthread_create(&th, &attr, fn, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static void *runner_main(void *unused);

/* One more runner, if the OS gives one; the caller holds the lock. If it
 * does not, the timers wait in the FIFO for a runner that is there, and
 * the timer thread, woken, tries again every RETRY_NS while they wait. */
static void add_runner(void)
{
    if (svc.runners >= MAX_RUNNERS)
        return;
    svc.refused = start_internal(runner_main) != 0;
    if (!svc.refused) {
        svc.runners++;
    } else {
        svc.timer_seq++;
        ct__wake(&svc.timer_seq, 1);
    }
}

static void *runner_main(void *unused)
{
    (void)unused;
    lock();
    for (;;) {
        struct ct_timer *t = svc.due;
        if (t) {
            svc.due = t->next;
            if (state_of(t) == CANCELLED) {
                drop(t);
                continue;
            }
            set_state(t, RUNNING);
            t->next = svc.running;
            svc.running = t;
            if (svc.due && svc.idle == 0)
                add_runner();
            unlock();
            current = t;
            t->fn(t->arg);
            current = NULL;
            lock();
            struct ct_timer **p = &svc.running;
            while (*p != t)
                p = &(*p)->next;
            *p = t->next;
            settle(t, FINISHED);
            drop(t);
            continue;
        }
        svc.idle++;
        uint32_t seq = svc.runner_seq;
        unlock();
        int rc = ct__wait(&svc.runner_seq, seq, ct__now() + IDLE_NS);
        lock();
        svc.idle--;
        if (rc == ETIMEDOUT && !svc.due) {
            svc.runners--;
            unlock();
            return NULL;
        }
    }
}

static void *timer_main(void *unused)
{
    (void)unused;
    lock();
    for (;;) {
        int64_t now = ct__now();
        unsigned moved = 0;
        while (svc.len && svc.heap[0]->deadline <= now) {
            struct ct_timer *t = svc.heap[0];
            heap_remove(0);
            set_state(t, DUE);
            t->next = NULL;
            if (svc.due)
                svc.due_tail->next = t;
            else
                svc.due = t;
            svc.due_tail = t;
            moved++;
        }
        if (moved && svc.idle) {
            svc.runner_seq++;
            ct__wake(&svc.runner_seq, moved < svc.idle ? (int)moved : (int)svc.idle);
        } else if (moved || (svc.due && svc.refused)) {
            add_runner();
        }
        int64_t next = svc.len ? svc.heap[0]->deadline : CT__NO_DEADLINE;
        if (svc.due && svc.refused && next > now + RETRY_NS)
            next = now + RETRY_NS;
        uint32_t seq = svc.timer_seq;
        svc.timer_sleeps_until = next;
        unlock();
        ct__wait(&svc.timer_seq, seq, next);
        lock();
        svc.timer_sleeps_until = INT64_MIN;
    }
    return NULL;
}

bool ct__timers_wait_idle(void)
{
    if (current)
        return false;
    lock();
    bool waited = svc.live != 0;
    svc.exiting = true;
    while (svc.live) {
        uint32_t live = svc.live;
        unlock();
        ct__wait(&svc.live, live, CT__NO_DEADLINE);
        lock();
    }
    svc.exiting = false;
    unlock();
    return waited;
}

static void before_fork(void) { lock(); }
static void after_fork_parent(void) { unlock(); }

/* The child has no timer thread and no runners: every started timer of the
 * parent is cancelled here, and the service starts afresh. */
static void after_fork_child(void)
{
    ct_lock_init(&svc.lock);
    while (svc.len) {
        struct ct_timer *t = svc.heap[--svc.len];
        __atomic_store_n(&t->state, CANCELLED, __ATOMIC_RELAXED);
        drop(t);
    }
    for (struct ct_timer **list = &svc.due; list; list = list == &svc.due ? &svc.running : NULL) {
        while (*list) {
            struct ct_timer *t = *list;
            *list = t->next;
            __atomic_store_n(&t->state, CANCELLED, __ATOMIC_RELAXED);
            drop(t);
        }
    }
    svc.live = svc.runners = svc.idle = 0;
    svc.started = svc.exiting = svc.refused = false;
    current = NULL;
}

__attribute__((constructor)) static void timer_init(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

ct_timer_t *ct_timer_new(double interval, void (*fn)(void *arg), void *arg)
{
    int64_t ignored;
    if (!fn || interval == CT_FOREVER || ct__deadline(interval, &ignored)) {
        errno = EINVAL;
        return NULL;
    }
    struct ct_timer *t = ct__malloc(sizeof *t);
    if (!t)
        return NULL;
    *t = (struct ct_timer){ .interval = interval, .fn = fn, .arg = arg, .refs = 1 };
    return t;
}

int ct_timer_start(ct_timer_t *t)
{
    assert(t);
    lock();
    if (state_of(t) != NEW) {
        unlock();
        return EINVAL;
    }
    if (!svc.started) {
        int rc = start_internal(timer_main);
        if (rc) {
            unlock();
            return rc;
        }
        ct__shutdown_arm();
        svc.started = true;
        svc.timer_sleeps_until = INT64_MIN;
    }
    if (svc.len == svc.cap) {
        size_t cap = svc.cap ? svc.cap * 2 : 64;
        struct ct_timer **heap = ct__realloc(svc.heap, cap * sizeof *heap);
        if (!heap) {
            unlock();
            return ENOMEM;
        }
        svc.heap = heap;
        svc.cap = cap;
    }
    ct__deadline(t->interval, &t->deadline);
    put(svc.len++, t);
    sift_up(t->slot);
    set_state(t, PENDING);
    t->refs++;
    if (!t->daemon)
        svc.live++;
    bool wake = t->slot == 0 && t->deadline < svc.timer_sleeps_until;
    if (wake)
        svc.timer_seq++;
    unlock();
    if (wake)
        ct__wake(&svc.timer_seq, 1);
    return 0;
}

int ct_timer_cancel(ct_timer_t *t)
{
    assert(t);
    lock();
    switch (state_of(t)) {
    case PENDING:
        heap_remove(t->slot);
        settle(t, CANCELLED);
        drop(t);
        break;
    case DUE: /* a runner drops it from the FIFO */
        settle(t, CANCELLED);
        break;
    default:
        break;
    }
    unlock();
    return 0;
}

static bool is_final(uint32_t state)
{
    return state == FINISHED || state == CANCELLED;
}

int ct_timer_join_timeout(ct_timer_t *t, double timeout)
{
    assert(t);
    int64_t deadline;
    if (ct__deadline(timeout, &deadline))
        return EINVAL;
    if (current == t)
        return EDEADLK;
    uint32_t v = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
    if ((v & STATE) == NEW)
        return EINVAL;
    for (;;) {
        if (is_final(v & STATE))
            return 0;
        if (!(v & JOINERS) &&
            !__atomic_compare_exchange_n(&t->state, &v, v | JOINERS, true, __ATOMIC_ACQUIRE,
                                         __ATOMIC_ACQUIRE))
            continue;
        if (ct__wait(&t->state, v | JOINERS, deadline) == ETIMEDOUT) {
            v = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
            return is_final(v & STATE) ? 0 : ETIMEDOUT;
        }
        v = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
    }
}

int ct_timer_join(ct_timer_t *t)
{
    return ct_timer_join_timeout(t, CT_FOREVER);
}

bool ct_timer_is_alive(const ct_timer_t *t)
{
    assert(t);
    uint32_t s = state_of(t);
    return s != NEW && !is_final(s);
}

int ct_timer_set_daemon(ct_timer_t *t, bool daemon)
{
    assert(t);
    lock();
    int rc = state_of(t) == NEW ? 0 : EINVAL;
    if (rc == 0)
        t->daemon = daemon;
    unlock();
    return rc;
}

void ct_timer_free(ct_timer_t *t)
{
    if (!t)
        return;
    ct_timer_cancel(t);
    lock();
    drop(t);
    unlock();
}
