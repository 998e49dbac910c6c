/*
 * RLock depth against a model: who owns it (this thread, the helper
 * thread, nobody) and how deep. The caller and a helper thread, driven
 * one command at a time, take, retake and release it in every form;
 * releases by the thread that does not own it must be EPERM, attempts
 * against the other's hold EBUSY or ETIMEDOUT, and depth must count
 * exactly (released at zero, not before).
 */
#include "fuzz.h"

#include <errno.h>
#include <pthread.h>

enum { NOBODY, ME, HELPER };

enum command { NONE, TRY, TIMED, RELEASE, QUIT };

static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    enum command command;
    int rc;
    ct_rlock_t *rlock;
} mailbox = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NONE, 0, NULL };

static void *helper_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&mailbox.mutex);
    for (;;) {
        while (mailbox.command == NONE)
            pthread_cond_wait(&mailbox.cond, &mailbox.mutex);
        enum command c = mailbox.command;
        if (c == QUIT)
            break;
        ct_rlock_t *r = mailbox.rlock;
        mailbox.rc = c == TRY     ? ct_rlock_try_acquire(r)
                     : c == TIMED ? ct_rlock_acquire_timeout(r, 1e-5)
                                  : ct_rlock_release(r);
        mailbox.command = NONE;
        pthread_cond_broadcast(&mailbox.cond);
    }
    pthread_mutex_unlock(&mailbox.mutex);
    return NULL;
}

/* Has the helper run c, and returns its result. */
static int helper(enum command c)
{
    pthread_mutex_lock(&mailbox.mutex);
    mailbox.command = c;
    pthread_cond_broadcast(&mailbox.cond);
    while (c != QUIT && mailbox.command != NONE)
        pthread_cond_wait(&mailbox.cond, &mailbox.mutex);
    int rc = mailbox.rc;
    pthread_mutex_unlock(&mailbox.mutex);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    ct_rlock_t r;
    ct_rlock_init(&r);
    mailbox.rlock = &r;
    mailbox.command = NONE;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, helper_main, NULL) == 0, "pthread_create");
    int owner = NOBODY;
    uint32_t depth = 0;
    while (in.n > 0) {
        int rc;
        uint8_t op = next_byte(&in) % 8;
        switch (op) {
        case 0: /* this thread takes it: every form, k times */
        case 1: {
            int k = 1 + next_byte(&in) % 64;
            for (int i = 0; i < k; i++) {
                int form = i % 3;
                if (form == 0 && owner == HELPER)
                    form = 1;
                rc = form == 0   ? ct_rlock_acquire(&r)
                     : form == 1 ? ct_rlock_try_acquire(&r)
                                 : ct_rlock_acquire_timeout(&r, next_short_timeout(&in));
                if (owner == HELPER) {
                    CHECK(rc == (form == 1 ? EBUSY : ETIMEDOUT), "acquire against the helper: %d",
                          rc);
                    break;
                }
                CHECK(rc == 0, "acquire at depth %u: %d", depth, rc);
                owner = ME;
                depth++;
            }
            break;
        }
        case 2:
        case 3:
            rc = ct_rlock_release(&r);
            CHECK(rc == (owner == ME ? 0 : EPERM), "release by me: %d", rc);
            if (rc == 0 && --depth == 0)
                owner = NOBODY;
            break;
        case 4:
        case 5:
            rc = helper(op == 4 ? TRY : TIMED);
            CHECK(rc == (owner == ME ? (op == 4 ? EBUSY : ETIMEDOUT) : 0), "helper acquire: %d",
                  rc);
            if (rc == 0) {
                owner = HELPER;
                depth++;
            }
            break;
        case 6:
            rc = helper(RELEASE);
            CHECK(rc == (owner == HELPER ? 0 : EPERM), "release by the helper: %d", rc);
            if (rc == 0 && --depth == 0)
                owner = NOBODY;
            break;
        case 7:
            CHECK(ct_rlock_acquire_timeout(&r, -2.0) == EINVAL, "a bad timeout");
            break;
        }
        CHECK(ct_rlock_locked(&r) == (owner != NOBODY), "locked %d, owner %d",
              ct_rlock_locked(&r), owner);
        CHECK(ct_rlock_is_owned(&r) == (owner == ME), "is_owned %d, owner %d",
              ct_rlock_is_owned(&r), owner);
    }
    while (owner == HELPER && depth--)
        CHECK(helper(RELEASE) == 0, "helper release at the end");
    helper(QUIT);
    pthread_join(th, NULL);
    return 0;
}
