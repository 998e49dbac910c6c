/*
 * fork() while other threads hammer every part of the library: locks,
 * RLocks, conditions, semaphores, events, barriers, timers starting and
 * cancelling, threads starting and ending (and so the wait seam, the
 * parking lot's buckets in that build, the thread registry and the timer
 * service, whose locks may be held at the instant of the fork). Each
 * child, whatever instant it was forked at, must work: it is the main
 * thread, alone, and it starts threads, takes locks, waits, notifies,
 * runs timers and joins, on objects of its own (those of the parent may
 * be held by threads the child does not have, as in Python).
 *
 * A child reports through its exit status, and leaves by _exit (see
 * test_fork.c); one that hangs is killed, and fails the test.
 *
 * AddressSanitizer's allocator (as in GCC 12 and Clang 14) is not locked
 * across fork(): a child forked while another thread is inside malloc can
 * hang in its next malloc. ThreadSanitizer's runtime was seen to hang such
 * a child too. glibc's malloc is fork-safe, so only in sanitizer builds do
 * the hammers that allocate (timers, thread starts) stay out.
 */
#include "support.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MALLOC_FORK_SAFE false
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MALLOC_FORK_SAFE false
#endif
#endif
#ifndef MALLOC_FORK_SAFE
#define MALLOC_FORK_SAFE true
#endif

/* ---- the hammering, in the parent ------------------------------------- */

static struct {
    ct_lock_t lock;
    ct_rlock_t rlock;
    ct_cond_t cond;
    ct_sem_t sem;
    ct_event_t event;
    ct_barrier_t barrier;
    int items;
    int stop;
    long rounds[8];
} h;

static void hammer_lock(int i)
{
    ct_lock_acquire(&h.lock);
    ct_lock_release(&h.lock);
    if (ct_lock_acquire_timeout(&h.lock, 0.0005) == 0)
        ct_lock_release(&h.lock);
    (void)i;
}

static void hammer_rlock(int i)
{
    (void)i;
    ct_rlock_acquire(&h.rlock);
    ct_rlock_acquire(&h.rlock);
    ct_rlock_release(&h.rlock);
    ct_rlock_release(&h.rlock);
}

/* A producer and a consumer on the condition; the consumer's timeout
 * keeps it going when the producer is the one that stops first. */
static void hammer_cond(int i)
{
    ct_cond_acquire(&h.cond);
    if (i % 2) {
        h.items++;
        ct_cond_notify(&h.cond, 1);
    } else if (CT_COND_WAIT_FOR(&h.cond, h.items > 0, 0.001)) {
        h.items--;
    }
    ct_cond_release(&h.cond);
}

static void hammer_sem_event(int i)
{
    if (i % 2) {
        if (ct_sem_acquire_timeout(&h.sem, 0.001) == 0)
            ct_sem_release(&h.sem, 1);
        ct_event_wait_timeout(&h.event, 0.0005);
    } else {
        ct_event_set(&h.event);
        ct_event_clear(&h.event);
    }
}

static void hammer_barrier(int i)
{
    (void)i;
    if (ct_barrier_wait_timeout(&h.barrier, 0.002, NULL) != 0)
        ct_barrier_reset(&h.barrier);
}

static void tick(void *arg)
{
    BUMP(*(long *)arg);
}

static long ticks;

static void hammer_timers(int i)
{
    ct_timer_t *t = ct_timer_new(i % 3 ? 0 : 0.0005, tick, &ticks);
    if (!t)
        return;
    if (ct_timer_start(t) == 0 && i % 2)
        ct_timer_cancel(t);
    ct_timer_join(t);
    ct_timer_free(t);
}

static void *nothing(void *arg)
{
    return arg;
}

static void hammer_threads(int i)
{
    (void)i;
    ct_thread_t *t = ct_thread_spawn(nothing, NULL, NULL);
    if (t) {
        ct_thread_join(t, NULL);
        ct_thread_unref(t);
    }
}

static void (*const hammers[])(int) = {
    hammer_lock, hammer_lock, hammer_rlock, hammer_cond, hammer_cond,
    hammer_sem_event, hammer_sem_event, hammer_timers,
};
#define HAMMERS ((int)(sizeof hammers / sizeof hammers[0]))

/* Each hammer thread runs its hammer, and between rounds the barrier (two
 * of them) or a thread start, so every part stays busy. */
static void hammer(void *arg, int index)
{
    (void)arg;
    bool allocates = index == HAMMERS - 1;
    for (int round = 0; !READ(h.stop); round++) {
        if (allocates && !MALLOC_FORK_SAFE) {
            hammer_rlock(round);
        } else {
            hammers[index](round + index);
            if (allocates)
                hammer_threads(round);
        }
        if (index < 2)
            hammer_barrier(round);
        BUMP(h.rounds[index]);
    }
}

/* ---- the child -------------------------------------------------------- */

struct child_state {
    ct_lock_t lock;
    ct_cond_t cond;
    ct_sem_t sem;
    ct_event_t event;
    ct_barrier_t barrier;
    int ready;
};

static void *child_worker(void *arg)
{
    struct child_state *c = arg;
    CHILD_CHECK(ct_lock_acquire(&c->lock) == 0);
    CHILD_CHECK(ct_lock_release(&c->lock) == 0);
    CHILD_CHECK(ct_cond_acquire(&c->cond) == 0);
    c->ready = 1;
    CHILD_CHECK(ct_cond_notify_all(&c->cond) == 0);
    CHILD_CHECK(ct_cond_release(&c->cond) == 0);
    CHILD_CHECK(ct_sem_acquire(&c->sem) == 0);
    ct_event_set(&c->event);
    unsigned index;
    CHILD_CHECK(ct_barrier_wait(&c->barrier, &index) == 0);
    return arg;
}

static void child_tick(void *arg)
{
    ct_event_set(arg);
}

static int child_main(void)
{
    CHILD_CHECK(ct_current_thread() == ct_main_thread());
    CHILD_CHECK(ct_active_count() == 1);
    struct child_state c = { .lock = CT_LOCK_INIT, .cond = CT_COND_INIT,
                             .event = CT_EVENT_INIT };
    CHILD_CHECK(ct_sem_init(&c.sem, 0) == 0);
    CHILD_CHECK(ct_barrier_init(&c.barrier, 2, NULL, NULL, CT_FOREVER) == 0);
    CHILD_CHECK(ct_lock_acquire(&c.lock) == 0);
    ct_thread_t *t = ct_thread_spawn(child_worker, &c, NULL);
    CHILD_CHECK(t != NULL);
    CHILD_CHECK(ct_lock_release(&c.lock) == 0);
    CHILD_CHECK(ct_cond_acquire(&c.cond) == 0);
    CHILD_CHECK(CT_COND_WAIT_FOR(&c.cond, c.ready, CT_FOREVER));
    CHILD_CHECK(ct_cond_release(&c.cond) == 0);
    CHILD_CHECK(ct_sem_release(&c.sem, 1) == 0);
    CHILD_CHECK(ct_event_wait(&c.event) == 0);
    CHILD_CHECK(ct_barrier_wait(&c.barrier, NULL) == 0);
    void *result = NULL;
    CHILD_CHECK(ct_thread_join(t, &result) == 0 && result == &c);
    ct_thread_unref(t);

    ct_event_t fired = CT_EVENT_INIT;
    ct_timer_t *timer = ct_timer_new(0.001, child_tick, &fired);
    CHILD_CHECK(timer != NULL);
    CHILD_CHECK(ct_timer_start(timer) == 0);
    CHILD_CHECK(ct_timer_join(timer) == 0);
    CHILD_CHECK(ct_event_is_set(&fired));
    ct_timer_free(timer);
    CHILD_CHECK(ct_active_count() == 1);
    return 0;
}

/* Waits for the child, for at most limit seconds: its exit status, or -1
 * if it did not exit normally, or -2 if it hung (and was killed). */
static int wait_child(pid_t pid, double limit)
{
    double until = ct_monotonic() + limit;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        ck_assert_int_eq(r, 0);
        if (ct_monotonic() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -2;
        }
        ct_sleep(0.0005);
    }
}

#define MIN_FORKS 10
#define SECONDS 1.0

START_TEST(fork_while_hammering)
{
    h.lock = (ct_lock_t)CT_LOCK_INIT;
    h.rlock = (ct_rlock_t)CT_RLOCK_INIT;
    h.cond = (ct_cond_t)CT_COND_INIT;
    h.event = (ct_event_t)CT_EVENT_INIT;
    ck_assert_int_eq(ct_sem_init(&h.sem, 1), 0);
    ck_assert_int_eq(ct_barrier_init(&h.barrier, 2, NULL, NULL, CT_FOREVER), 0);
    ct_group g;
    ct_group_start(&g, HAMMERS, hammer, NULL);
    for (int i = 0; i < HAMMERS; i++)
        CT_WAIT_UNTIL(READ(h.rounds[i]) > 0);

    double until = ct_monotonic() + SECONDS;
    int forks = 0;
    while (forks < MIN_FORKS || ct_monotonic() < until) {
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            _exit(child_main());
        int status = wait_child(pid, 10.0 * ct_test_scale());
        ck_assert_msg(status != -2, "child %d hung", forks);
        ck_assert_msg(status == 0, "child %d failed: %d", forks, status);
        forks++;
    }

    WRITE(h.stop, 1);
    ct_barrier_abort(&h.barrier);
    ct_group_join(&g);
    for (int i = 0; i < HAMMERS; i++)
        ck_assert_int_gt(h.rounds[i], 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("fork_stress");
    CT_TEST_ADD(s, fork_while_hammering);
    return s;
}

CT_TEST_MAIN(make_suite)
