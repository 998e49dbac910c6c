/*
 * Semaphore and bounded semaphore against a model that is one count and
 * one bound. Single-threaded operations take every form of acquire and
 * release(n) with any n (zero, overflowing, huge); a few per input are
 * made against a helper thread that releases while the caller sleeps,
 * sometimes after more than a millisecond, which takes the hand-off path
 * (HUNGRY, GRANTED in sem.c).
 */
#include "fuzz.h"

#include <errno.h>
#include <pthread.h>

#define THREADED_MAX 4

struct model {
    uint32_t count, max;
};

struct helper {
    ct_sem_t *sem;
    double delay;
};

static void *release_later(void *arg)
{
    struct helper *h = arg;
    ct_sleep(h->delay);
    CHECK(ct_sem_release(h->sem, 1) == 0, "helper release");
    return NULL;
}

static unsigned next_release_n(struct input *in)
{
    switch (next_byte(in) % 4) {
    case 0:
        return 0;
    case 1:
        return next_u32(in);
    default:
        return next_byte(in) % 5 + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    bool bounded = next_byte(&in) & 1;
    uint8_t v = next_byte(&in);
    unsigned value = v < 250 ? v % 8 : CT_SEM_VALUE_MAX - 2 + (v - 250) % 4; /* also MAX + 1 */
    ct_sem_t sem;
    int rc = bounded ? ct_sem_init_bounded(&sem, value) : ct_sem_init(&sem, value);
    if (value > CT_SEM_VALUE_MAX) {
        CHECK(rc == EINVAL, "init(%u) gave %d", value, rc);
        return 0;
    }
    CHECK(rc == 0, "init(%u) gave %d", value, rc);
    struct model m = { value, bounded ? value : CT_SEM_VALUE_MAX };
    int threaded = 0;

    while (in.n > 0) {
        uint8_t op = next_byte(&in) % 6;
        switch (op) {
        case 0:
            rc = ct_sem_try_acquire(&sem);
            CHECK(rc == (m.count ? 0 : EBUSY), "try_acquire gave %d at %u", rc, m.count);
            m.count -= rc == 0;
            break;
        case 1:
        case 2: {
            double t = op == 1 ? 0 : next_short_timeout(&in);
            rc = ct_sem_acquire_timeout(&sem, t);
            CHECK(rc == (m.count ? 0 : ETIMEDOUT), "acquire_timeout(%g) gave %d at %u", t, rc,
                  m.count);
            m.count -= rc == 0;
            break;
        }
        case 3:
            if (m.count == 0)
                continue;
            rc = ct_sem_acquire(&sem);
            CHECK(rc == 0, "acquire gave %d at %u", rc, m.count);
            m.count--;
            break;
        case 4: {
            unsigned n = next_release_n(&in);
            rc = ct_sem_release(&sem, n);
            int want = n == 0 ? EINVAL : n > m.max - m.count ? EOVERFLOW : 0;
            CHECK(rc == want, "release(%u) gave %d, not %d, at %u of %u", n, rc, want, m.count,
                  m.max);
            if (rc == 0)
                m.count += n;
            break;
        }
        case 5: {
            /* The count is 0 and the caller sleeps; a helper releases one. */
            if (m.count != 0 || m.max == 0 || threaded++ == THREADED_MAX)
                continue;
            struct helper h = { &sem, 1e-4 * (next_byte(&in) % 20) };
            pthread_t th;
            CHECK(pthread_create(&th, NULL, release_later, &h) == 0, "pthread_create");
            rc = next_byte(&in) & 1 ? ct_sem_acquire(&sem) : ct_sem_acquire_timeout(&sem, 60);
            CHECK(rc == 0, "acquire while released gave %d", rc);
            pthread_join(th, NULL);
            break;
        }
        }
        CHECK(ct_sem_value(&sem) == m.count, "value %u, model %u", ct_sem_value(&sem), m.count);
    }
    return 0;
}
