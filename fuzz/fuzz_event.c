/*
 * Event against a model that is one flag. Besides set, clear and waits of
 * every form, a few operations per input race a helper thread: it sets
 * the event (and sometimes clears it at once) while the caller sleeps in
 * a wait, which must return 0 either way, since the event was set while
 * it waited (Python's wait returns True then). The helper acts only once
 * the caller is inside its wait, having seen the flag clear: it watches
 * for event.c's WAITERS bit (bit 1 of the word), which a waiter sets
 * before it sleeps.
 */
#include "fuzz.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>

#define WAITERS 2u

#define THREADED_MAX 4

struct helper {
    ct_event_t *event;
    double delay;
    bool clear;
};

static void *set_later(void *arg)
{
    struct helper *h = arg;
    while (!(__atomic_load_n(&h->event->word, __ATOMIC_ACQUIRE) & WAITERS))
        sched_yield();
    ct_sleep(h->delay);
    ct_event_set(h->event);
    if (h->clear)
        ct_event_clear(h->event);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    ct_event_t e;
    ct_event_init(&e);
    bool flag = false;
    int threaded = 0;
    while (in.n > 0) {
        int rc;
        switch (next_byte(&in) % 6) {
        case 0:
            ct_event_set(&e);
            flag = true;
            break;
        case 1:
            ct_event_clear(&e);
            flag = false;
            break;
        case 2:
            rc = ct_event_wait_timeout(&e, 0);
            CHECK(rc == (flag ? 0 : ETIMEDOUT), "wait_timeout(0) gave %d", rc);
            break;
        case 3: {
            double t = next_short_timeout(&in);
            rc = ct_event_wait_timeout(&e, t);
            CHECK(rc == (flag ? 0 : ETIMEDOUT), "wait_timeout(%g) gave %d", t, rc);
            break;
        }
        case 4:
            if (flag)
                CHECK(ct_event_wait(&e) == 0, "wait on a set event");
            break;
        case 5: {
            if (flag || threaded++ == THREADED_MAX)
                break;
            /* A set clears a WAITERS bit left by an earlier timed wait. */
            ct_event_set(&e);
            ct_event_clear(&e);
            uint8_t b = next_byte(&in);
            struct helper h = { &e, 1e-4 * (b % 10), b & 0x80 };
            pthread_t th;
            CHECK(pthread_create(&th, NULL, set_later, &h) == 0, "pthread_create");
            rc = b & 0x40 ? ct_event_wait(&e) : ct_event_wait_timeout(&e, 60);
            CHECK(rc == 0, "wait while set gave %d", rc);
            pthread_join(th, NULL);
            flag = !h.clear;
            break;
        }
        }
        CHECK(ct_event_is_set(&e) == flag, "is_set %d, model %d", ct_event_is_set(&e), flag);
    }
    return 0;
}
