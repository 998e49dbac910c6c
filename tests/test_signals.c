/*
 * Every blocking call of every primitive, plain and _timeout forms, under
 * a storm of signals (support.h: a SIGUSR1 every ~50 µs, handler installed
 * without SA_RESTART, so the kernel interrupts every wait). Each call is
 * made three ways while the storm runs:
 *
 *   plain_form         the plain form; a helper unblocks it after DELAY:
 *                      it returns 0, and not before the helper acted
 *   timeout_expires    the _timeout form, nobody unblocks it: ETIMEDOUT
 *                      after the whole timeout, not a moment less
 *   timeout_succeeds   the _timeout form with a long timeout, unblocked
 *                      after DELAY: 0, and not before the helper acted
 *
 * EINTR must never come out. The helper thread blocks SIGUSR1, so the
 * signals land on the thread making the call (and on threads the call
 * waits for, where there are such).
 */
#include "support.h"

#include <signal.h>

#define DELAY 0.1
#define TIMEOUT 0.2
#define LONG_TIMEOUT (10.0 * ct_test_scale())

struct fixture {
    ct_lock_t lock;
    ct_rlock_t rlock;
    ct_cond_t cond;
    ct_sem_t sem;
    ct_event_t event;
    ct_barrier_t barrier;
    ct_thread_t *thread;
    ct_timer_t *timer;
    bool flag;
    ct_event_t held, returned; /* the helper holds; the call returned */
    double unblocked_at;       /* when the helper began to unblock */
};

/* One blocking call: what makes it block and what ends that. */
struct op {
    void (*setup)(struct fixture *);             /* main thread, before */
    void (*hold)(struct fixture *);              /* helper, before the call */
    int (*plain)(struct fixture *);
    int (*timed)(struct fixture *, double timeout);
    void (*unblock)(struct fixture *);           /* helper */
    void (*teardown)(struct fixture *);          /* main thread, after */
};

static void nothing(struct fixture *f) { (void)f; }

/* Lock: the helper holds it, and releases it. */
static void lock_hold(struct fixture *f) { ck_assert_int_eq(ct_lock_acquire(&f->lock), 0); }
static int lock_plain(struct fixture *f) { return ct_lock_acquire(&f->lock); }
static int lock_timed(struct fixture *f, double t) { return ct_lock_acquire_timeout(&f->lock, t); }
static void lock_unblock(struct fixture *f) { ck_assert_int_eq(ct_lock_release(&f->lock), 0); }
static void lock_teardown(struct fixture *f)
{
    if (ct_lock_locked(&f->lock))
        ck_assert_int_eq(ct_lock_release(&f->lock), 0);
}
static const struct op lock_op = { nothing, lock_hold, lock_plain, lock_timed, lock_unblock,
                                   lock_teardown };

/* RLock: the same, owned by the helper. */
static void rlock_hold(struct fixture *f) { ck_assert_int_eq(ct_rlock_acquire(&f->rlock), 0); }
static int rlock_plain(struct fixture *f) { return ct_rlock_acquire(&f->rlock); }
static int rlock_timed(struct fixture *f, double t)
{
    return ct_rlock_acquire_timeout(&f->rlock, t);
}
static void rlock_unblock(struct fixture *f) { ck_assert_int_eq(ct_rlock_release(&f->rlock), 0); }
static void rlock_teardown(struct fixture *f)
{
    if (ct_rlock_is_owned(&f->rlock))
        ck_assert_int_eq(ct_rlock_release(&f->rlock), 0);
}
static const struct op rlock_op = { nothing, rlock_hold, rlock_plain, rlock_timed,
                                    rlock_unblock, rlock_teardown };

/* Condition acquire: the helper holds the condition's own RLock. */
static void cacq_hold(struct fixture *f) { ck_assert_int_eq(ct_cond_acquire(&f->cond), 0); }
static int cacq_plain(struct fixture *f) { return ct_cond_acquire(&f->cond); }
static int cacq_timed(struct fixture *f, double t) { return ct_cond_acquire_timeout(&f->cond, t); }
static void cacq_unblock(struct fixture *f) { ck_assert_int_eq(ct_cond_release(&f->cond), 0); }
static void cacq_teardown(struct fixture *f)
{
    if (ct_rlock_is_owned(&f->cond.own))
        ck_assert_int_eq(ct_cond_release(&f->cond), 0);
}
static const struct op cond_acquire_op = { nothing, cacq_hold, cacq_plain, cacq_timed,
                                           cacq_unblock, cacq_teardown };

/* Condition wait: the helper notifies, under the lock. The caller holds
 * the lock at depth 2, which the wait must restore. */
static void cwait_notify(struct fixture *f)
{
    ck_assert_int_eq(ct_cond_acquire(&f->cond), 0);
    f->flag = true;
    ck_assert_int_eq(ct_cond_notify(&f->cond, 1), 0);
    ck_assert_int_eq(ct_cond_release(&f->cond), 0);
}

static int cwait_finish(struct fixture *f, int rc)
{
    ck_assert(ct_rlock_is_owned(&f->cond.own));
    ck_assert_int_eq(f->cond.own.depth, 2);
    ck_assert_int_eq(ct_cond_release(&f->cond), 0);
    ck_assert_int_eq(ct_cond_release(&f->cond), 0);
    return rc;
}

static void cwait_enter(struct fixture *f)
{
    ck_assert_int_eq(ct_cond_acquire(&f->cond), 0);
    ck_assert_int_eq(ct_cond_acquire(&f->cond), 0);
}

static int cwait_plain(struct fixture *f)
{
    cwait_enter(f);
    int rc = 0;
    while (!f->flag && rc == 0)
        rc = ct_cond_wait(&f->cond);
    return cwait_finish(f, rc);
}

/* Waits only if the helper has not notified yet (it may be quicker). */
static int cwait_timed(struct fixture *f, double t)
{
    cwait_enter(f);
    return cwait_finish(f, f->flag ? 0 : ct_cond_wait_timeout(&f->cond, t));
}
static const struct op cond_wait_op = { nothing, nothing, cwait_plain, cwait_timed,
                                        cwait_notify, nothing };

/* wait_for: false must come with errno ETIMEDOUT; 0 stands for true. */
static bool flag_is_set(void *arg) { return ((struct fixture *)arg)->flag; }

static int wait_for_result(bool ok)
{
    return ok ? 0 : errno;
}

static int cwaitfor_timed(struct fixture *f, double t)
{
    cwait_enter(f);
    errno = 0;
    return cwait_finish(f, wait_for_result(ct_cond_wait_for(&f->cond, flag_is_set, f, t)));
}

static int cwaitfor_plain(struct fixture *f) { return cwaitfor_timed(f, CT_FOREVER); }
static const struct op cond_wait_for_op = { nothing, nothing, cwaitfor_plain, cwaitfor_timed,
                                            cwait_notify, nothing };

static int cmacro_timed(struct fixture *f, double t)
{
    cwait_enter(f);
    errno = 0;
    return cwait_finish(f, wait_for_result(CT_COND_WAIT_FOR(&f->cond, f->flag, t)));
}

static int cmacro_plain(struct fixture *f) { return cmacro_timed(f, CT_FOREVER); }
static const struct op cond_wait_for_macro_op = { nothing, nothing, cmacro_plain, cmacro_timed,
                                                  cwait_notify, nothing };

/* Semaphore and bounded semaphore at 0: the helper releases one. */
static void sem_setup(struct fixture *f) { ck_assert_int_eq(ct_sem_init(&f->sem, 0), 0); }
static void bsem_setup(struct fixture *f)
{
    ck_assert_int_eq(ct_sem_init_bounded(&f->sem, 1), 0);
    ck_assert_int_eq(ct_sem_try_acquire(&f->sem), 0);
}
static int sem_plain(struct fixture *f) { return ct_sem_acquire(&f->sem); }
static int sem_timed(struct fixture *f, double t) { return ct_sem_acquire_timeout(&f->sem, t); }
static void sem_unblock(struct fixture *f) { ck_assert_int_eq(ct_sem_release(&f->sem, 1), 0); }
static const struct op sem_op = { sem_setup, nothing, sem_plain, sem_timed, sem_unblock,
                                  nothing };
static const struct op bounded_sem_op = { bsem_setup, nothing, sem_plain, sem_timed,
                                          sem_unblock, nothing };

/* Event: the helper sets it. */
static int event_plain(struct fixture *f) { return ct_event_wait(&f->event); }
static int event_timed(struct fixture *f, double t) { return ct_event_wait_timeout(&f->event, t); }
static void event_unblock(struct fixture *f) { ct_event_set(&f->event); }
static const struct op event_op = { nothing, nothing, event_plain, event_timed, event_unblock,
                                    nothing };

/* Barrier of two: the helper is the second party (after a timeout, the
 * barrier is broken and its wait returns at once). */
static void barrier_setup(struct fixture *f)
{
    ck_assert_int_eq(ct_barrier_init(&f->barrier, 2, NULL, NULL, CT_FOREVER), 0);
}
static int barrier_plain(struct fixture *f) { return ct_barrier_wait(&f->barrier, NULL); }
static int barrier_timed(struct fixture *f, double t)
{
    return ct_barrier_wait_timeout(&f->barrier, t, NULL);
}
static void barrier_unblock(struct fixture *f)
{
    int rc = ct_barrier_wait(&f->barrier, NULL);
    ck_assert(rc == 0 || rc == CT_EBROKEN);
}
static const struct op barrier_op = { barrier_setup, nothing, barrier_plain, barrier_timed,
                                      barrier_unblock, nothing };

/* Thread join: the thread waits for the event the helper sets. */
static void *wait_event(void *arg)
{
    ck_assert_int_eq(ct_event_wait(arg), 0);
    return arg;
}

static void thread_setup(struct fixture *f)
{
    f->thread = ct_thread_spawn(wait_event, &f->event, NULL);
    ck_assert_ptr_nonnull(f->thread);
}

/* The join's result, checked when it succeeded. */
static int join_timed(struct fixture *f, double t)
{
    void *result = NULL;
    int rc = ct_thread_join_timeout(f->thread, t, &result);
    if (rc == 0)
        ck_assert_ptr_eq(result, &f->event);
    return rc;
}

static int join_plain(struct fixture *f)
{
    void *result = NULL;
    int rc = ct_thread_join(f->thread, &result);
    ck_assert_ptr_eq(result, &f->event);
    return rc;
}

static void thread_teardown(struct fixture *f)
{
    ck_assert_int_eq(ct_thread_join(f->thread, NULL), 0);
    ct_thread_unref(f->thread);
}
static const struct op thread_join_op = { thread_setup, nothing, join_plain, join_timed,
                                          event_unblock, thread_teardown };

/* Timer join: the callback waits for the event the helper sets. */
static void timer_fn(void *arg)
{
    ct_event_wait(arg);
}

static void timer_setup(struct fixture *f)
{
    f->timer = ct_timer_new(0, timer_fn, &f->event);
    ck_assert_ptr_nonnull(f->timer);
    ck_assert_int_eq(ct_timer_start(f->timer), 0);
}
static int timer_plain(struct fixture *f) { return ct_timer_join(f->timer); }
static int timer_timed(struct fixture *f, double t) { return ct_timer_join_timeout(f->timer, t); }
static void timer_teardown(struct fixture *f)
{
    ck_assert_int_eq(ct_timer_join(f->timer), 0);
    ct_timer_free(f->timer);
}
static const struct op timer_join_op = { timer_setup, nothing, timer_plain, timer_timed,
                                         event_unblock, timer_teardown };

enum scenario { PLAIN, EXPIRES, SUCCEEDS };

struct run {
    const struct op *op;
    struct fixture f;
    enum scenario scenario;
};

/* The helper: holds, then unblocks after DELAY, or once the call has
 * returned if nothing is to unblock it. */
static void helper(void *arg, int i)
{
    (void)i;
    struct run *r = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    r->op->hold(&r->f);
    ct_event_set(&r->f.held);
    if (r->scenario == EXPIRES) {
        ck_assert_int_eq(ct_event_wait(&r->f.returned), 0);
    } else {
        ct_sleep(DELAY);
        r->f.unblocked_at = ct_monotonic(); /* read after the join */
    }
    r->op->unblock(&r->f);
}

static void run(const struct op *op, enum scenario scenario)
{
    struct run r = {
        .op = op,
        .scenario = scenario,
        .f = { .lock = CT_LOCK_INIT, .rlock = CT_RLOCK_INIT, .cond = CT_COND_INIT,
               .event = CT_EVENT_INIT, .held = CT_EVENT_INIT, .returned = CT_EVENT_INIT },
    };
    op->setup(&r.f);
    ct_storm_start();
    ct_group g;
    ct_group_start(&g, 1, helper, &r);
    ck_assert_int_eq(ct_event_wait(&r.f.held), 0);
    double start = ct_monotonic();
    int rc = scenario == PLAIN      ? op->plain(&r.f)
             : scenario == EXPIRES ? op->timed(&r.f, TIMEOUT)
                                   : op->timed(&r.f, LONG_TIMEOUT);
    double end = ct_monotonic();
    ct_event_set(&r.f.returned);
    ct_group_join(&g);
    ck_assert_int_gt(ct_storm_stop(), 0);
    op->teardown(&r.f);
    if (scenario == EXPIRES) {
        ck_assert_int_eq(rc, ETIMEDOUT);
        CT_ASSERT_DURATION(end - start, TIMEOUT);
    } else {
        ck_assert_int_eq(rc, 0);
        ck_assert_msg(end >= r.f.unblocked_at, "returned %.4f s before it was unblocked",
                      r.f.unblocked_at - end);
    }
}

#define SIGNAL_TESTS(name)                                                \
    START_TEST(name##_plain_form) { run(&name##_op, PLAIN); } END_TEST         \
    START_TEST(name##_timeout_expires) { run(&name##_op, EXPIRES); } END_TEST \
    START_TEST(name##_timeout_succeeds) { run(&name##_op, SUCCEEDS); } END_TEST

SIGNAL_TESTS(lock)
SIGNAL_TESTS(rlock)
SIGNAL_TESTS(cond_acquire)
SIGNAL_TESTS(cond_wait)
SIGNAL_TESTS(cond_wait_for)
SIGNAL_TESTS(cond_wait_for_macro)
SIGNAL_TESTS(sem)
SIGNAL_TESTS(bounded_sem)
SIGNAL_TESTS(event)
SIGNAL_TESTS(barrier)
SIGNAL_TESTS(thread_join)
SIGNAL_TESTS(timer_join)

/* ct_sleep has no result: it sleeps the whole time. */
START_TEST(sleep_whole_time)
{
    ct_storm_start();
    double start = ct_monotonic();
    ct_sleep(TIMEOUT);
    CT_ASSERT_TOOK(start, TIMEOUT);
    ck_assert_int_gt(ct_storm_stop(), 0);
}
END_TEST

#define ADD_SIGNAL_TESTS(s, name)                                         \
    do {                                                                  \
        CT_TEST_ADD(s, name##_plain_form);                                     \
        CT_TEST_ADD(s, name##_timeout_expires);                           \
        CT_TEST_ADD(s, name##_timeout_succeeds);                          \
    } while (0)

static Suite *make_suite(void)
{
    Suite *s = suite_create("signals");
    ADD_SIGNAL_TESTS(s, lock);
    ADD_SIGNAL_TESTS(s, rlock);
    ADD_SIGNAL_TESTS(s, cond_acquire);
    ADD_SIGNAL_TESTS(s, cond_wait);
    ADD_SIGNAL_TESTS(s, cond_wait_for);
    ADD_SIGNAL_TESTS(s, cond_wait_for_macro);
    ADD_SIGNAL_TESTS(s, sem);
    ADD_SIGNAL_TESTS(s, bounded_sem);
    ADD_SIGNAL_TESTS(s, event);
    ADD_SIGNAL_TESTS(s, barrier);
    ADD_SIGNAL_TESTS(s, thread_join);
    ADD_SIGNAL_TESTS(s, timer_join);
    CT_TEST_ADD(s, sleep_whole_time);
    return s;
}

CT_TEST_MAIN(make_suite)
