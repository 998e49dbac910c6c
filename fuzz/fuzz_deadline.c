/*
 * The timeout validator (ct__deadline, src/time.c) against API.md's rule,
 * for any double at all: NaN and negatives other than CT_FOREVER are
 * EINVAL; CT_FOREVER, +INFINITY and anything above CT_TIMEOUT_MAX wait
 * without limit; anything else is a deadline never earlier than now plus
 * the timeout. Then every public call that takes a timeout must agree
 * with it, on objects that let the call succeed at once; and a short
 * valid timeout that expires must have lasted its whole time.
 */
#include "fuzz.h"

#include <errno.h>
#include <math.h>

#include "../src/deadline.h"

static void noop(void *arg)
{
    (void)arg;
}

static bool is_set(void *e)
{
    return ct_event_is_set(e);
}

static void *nothing(void *arg)
{
    return arg;
}

/* A thread that has ended: joining it succeeds at once, any number of
 * times. */
static ct_thread_t *ended_thread(void)
{
    static ct_thread_t *t;
    if (!t) {
        t = ct_thread_spawn(nothing, NULL, NULL);
        CHECK(t != NULL && ct_thread_join(t, NULL) == 0, "a thread to join");
    }
    return t;
}

static void check_api(double t, bool valid)
{
    int want = valid ? 0 : EINVAL;
    ct_lock_t l = CT_LOCK_INIT;
    int rc = ct_lock_acquire_timeout(&l, t);
    CHECK(rc == want, "lock_acquire_timeout(%a): %d", t, rc);
    if (rc == 0)
        ct_lock_release(&l);

    ct_rlock_t r = CT_RLOCK_INIT;
    rc = ct_rlock_acquire_timeout(&r, t);
    CHECK(rc == want, "rlock_acquire_timeout(%a): %d", t, rc);
    if (rc == 0)
        ct_rlock_release(&r);

    ct_sem_t s = CT_SEM_INIT(1);
    rc = ct_sem_acquire_timeout(&s, t);
    CHECK(rc == want, "sem_acquire_timeout(%a): %d", t, rc);

    ct_event_t e = CT_EVENT_INIT;
    ct_event_set(&e);
    rc = ct_event_wait_timeout(&e, t);
    CHECK(rc == want, "event_wait_timeout(%a): %d", t, rc);

    ct_barrier_t b;
    rc = ct_barrier_init(&b, 1, NULL, NULL, t);
    CHECK(rc == want, "barrier_init(%a): %d", t, rc);
    rc = ct_barrier_init(&b, 1, NULL, NULL, CT_FOREVER);
    CHECK(rc == 0, "barrier_init");
    rc = ct_barrier_wait_timeout(&b, t, NULL);
    CHECK(rc == want, "barrier_wait_timeout(%a): %d", t, rc);

    rc = ct_thread_join_timeout(ended_thread(), t, NULL);
    CHECK(rc == want, "thread_join_timeout(%a): %d", t, rc);

    ct_cond_t c = CT_COND_INIT;
    rc = ct_cond_acquire_timeout(&c, t);
    CHECK(rc == want, "cond_acquire_timeout(%a): %d", t, rc);
    if (rc == 0)
        ct_cond_release(&c);
    ct_cond_acquire(&c);
    if (!valid) {
        rc = ct_cond_wait_timeout(&c, t);
        CHECK(rc == EINVAL, "cond_wait_timeout(%a): %d", t, rc);
    }
    errno = 0;
    bool ok = ct_cond_wait_for(&c, is_set, &e, t);
    CHECK(ok == valid && (valid || errno == EINVAL), "cond_wait_for(%a): %d, errno %d", t, ok,
          errno);
    ct_cond_release(&c);

    /* A timer's interval is a timeout that cannot be CT_FOREVER. */
    errno = 0;
    ct_timer_t *timer = ct_timer_new(t, noop, NULL);
    CHECK((timer != NULL) == (valid && t != CT_FOREVER) && (timer || errno == EINVAL),
          "timer_new(%a): %p, errno %d", t, (void *)timer, errno);
    ct_timer_free(timer);
}

/* A short timeout that expires lasts its whole time. */
static void check_expiry(double t)
{
    ct_event_t e = CT_EVENT_INIT;
    int64_t before = ct__now();
    int rc = ct_event_wait_timeout(&e, t);
    int64_t took = ct__now() - before;
    CHECK(rc == ETIMEDOUT, "event_wait_timeout(%a) on a clear event: %d", t, rc);
    CHECK((double)took >= t * 1e9, "event_wait_timeout(%a) returned after %lld ns", t,
          (long long)took);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    double t = next_double(&in);
    bool valid = !isnan(t) && (t >= 0 || t == CT_FOREVER);
    bool forever = valid && (t == CT_FOREVER || t > CT_TIMEOUT_MAX);

    int64_t before = ct__now(), deadline = 0;
    int rc = ct__deadline(t, &deadline);
    int64_t after = ct__now();
    CHECK(rc == (valid ? 0 : EINVAL), "ct__deadline(%a): %d", t, rc);
    if (forever) {
        CHECK(deadline == CT__NO_DEADLINE, "ct__deadline(%a): %lld", t, (long long)deadline);
    } else if (valid) {
        /* now + t, to the nanosecond and the double's precision (a
         * relative 2^-52): never earlier, never later, unless the sum
         * passes the clock's range, which is no deadline at all. */
        long double ns = (long double)t * 1e9L, slack = ns * 0x1p-52L + 1;
        CHECK((long double)deadline >= (long double)before + ns - slack,
              "ct__deadline(%a) is early by %Lg ns", t, (long double)before + ns - deadline);
        if (deadline == CT__NO_DEADLINE)
            CHECK((long double)after + ns + slack >= (long double)CT__NO_DEADLINE,
                  "ct__deadline(%a) gave no deadline", t);
        else
            CHECK((long double)deadline <= (long double)after + ns + slack,
                  "ct__deadline(%a) is late by %Lg ns", t, (long double)deadline - after - ns);
    }
    check_api(t, valid);
    if (valid && !forever && t < 1e-3)
        check_expiry(t);
    return 0;
}
