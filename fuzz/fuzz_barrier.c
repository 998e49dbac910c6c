/*
 * Barrier against a model: its parties, how many wait in the current
 * generation, whether it is broken, and whether the action will fail.
 * Arrivals that must wait are made by new threads (the caller waits until
 * the barrier counts them); the arrival that completes a generation, and
 * timed arrivals, are made by the caller. Every ending of a generation is
 * driven: it passes (each waiter gets 0 and its own index, the action ran
 * once), the action fails (its value to the last arrival, CT_EBROKEN to
 * the others), a timeout breaks it (ETIMEDOUT to the one that timed out),
 * an abort or a reset breaks it (CT_EBROKEN to all); a broken barrier
 * refuses every arrival until reset.
 */
#include "fuzz.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>

#define MAX_PARTIES 5
#define ACTION_FAILED 77

static ct_barrier_t barrier;
static bool action_fails;
static int actions;

struct waiter {
    pthread_t thread;
    unsigned index;
    int rc;
} waiters[MAX_PARTIES];

static int action(void *unused)
{
    (void)unused;
    actions++;
    return action_fails ? ACTION_FAILED : 0;
}

static void *wait_main(void *arg)
{
    struct waiter *w = arg;
    w->rc = ct_barrier_wait(&barrier, &w->index);
    return NULL;
}

/* Joins the n waiting threads; each must have got rc (and, for 0, its
 * place in the order of arrival: each arrived once the one before was
 * counted). */
static void join_waiters(unsigned n, int rc)
{
    for (unsigned i = 0; i < n; i++) {
        pthread_join(waiters[i].thread, NULL);
        CHECK(waiters[i].rc == rc, "waiter %u got %d, not %d", i, waiters[i].rc, rc);
        CHECK(rc != 0 || waiters[i].index == i, "waiter %u: index %u", i, waiters[i].index);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    unsigned parties = 1 + next_byte(&in) % MAX_PARTIES;
    CHECK(ct_barrier_init(&barrier, parties, action, NULL, CT_FOREVER) == 0, "init");
    unsigned count = 0;
    bool broken = false;
    action_fails = false;
    while (in.n > 0) {
        uint8_t op = next_byte(&in) % 6;
        int rc;
        unsigned index = parties;
        switch (op) {
        case 0: /* an arrival that waits, or completes the generation */
        case 1: /* the same by a timed wait, which times out at once */
            if (broken) {
                rc = op ? ct_barrier_wait_timeout(&barrier, 0, NULL)
                        : ct_barrier_wait(&barrier, NULL);
                CHECK(rc == CT_EBROKEN, "arrival at a broken barrier: %d", rc);
            } else if (count + 1 < parties && op == 0) {
                waiters[count].rc = -1;
                CHECK(pthread_create(&waiters[count].thread, NULL, wait_main, &waiters[count]) == 0,
                      "pthread_create");
                count++;
                while (ct_barrier_n_waiting(&barrier) != count)
                    sched_yield();
            } else if (count + 1 < parties) {
                rc = ct_barrier_wait_timeout(&barrier, 0, &index);
                CHECK(rc == ETIMEDOUT, "a lone timed arrival: %d", rc);
                join_waiters(count, CT_EBROKEN);
                count = 0;
                broken = true;
            } else {
                int before = actions;
                rc = op ? ct_barrier_wait_timeout(&barrier, 0, &index)
                        : ct_barrier_wait(&barrier, &index);
                CHECK(actions == before + 1, "the action ran %d times", actions - before);
                if (action_fails) {
                    CHECK(rc == ACTION_FAILED, "the last arrival, the action failing: %d", rc);
                    join_waiters(count, CT_EBROKEN);
                    broken = true;
                } else {
                    CHECK(rc == 0 && index == count, "the last arrival: %d, index %u", rc, index);
                    join_waiters(count, 0);
                }
                count = 0;
            }
            break;
        case 2:
            ct_barrier_abort(&barrier);
            join_waiters(count, CT_EBROKEN);
            count = 0;
            broken = true;
            break;
        case 3:
            ct_barrier_reset(&barrier);
            join_waiters(count, CT_EBROKEN);
            count = 0;
            broken = false;
            break;
        case 4:
            action_fails = !action_fails;
            break;
        case 5:
            CHECK(ct_barrier_wait_timeout(&barrier, -3.0, NULL) == EINVAL, "a bad timeout");
            break;
        }
        CHECK(ct_barrier_broken(&barrier) == broken, "broken %d, model %d",
              ct_barrier_broken(&barrier), broken);
        CHECK(ct_barrier_n_waiting(&barrier) == (broken ? 0 : count), "n_waiting %u, model %u",
              ct_barrier_n_waiting(&barrier), count);
        CHECK(ct_barrier_parties(&barrier) == parties, "parties");
    }
    ct_barrier_abort(&barrier);
    join_waiters(count, CT_EBROKEN);
    return 0;
}
