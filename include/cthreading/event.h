/*
 * ct_event_t — Python's Event: a flag that threads wait for.
 *
 *     static ct_event_t ready = CT_EVENT_INIT;
 *
 *     // one thread                  // any number of others
 *     load_config();                 ct_event_wait(&ready);
 *     ct_event_set(&ready);          use_config(); // sees what load_config wrote
 *
 * set wakes every waiter, and a waiter that was asleep when set ran returns
 * 0 even if clear runs before it wakes. One 32-bit word; needs no destroy
 * call and owns no memory. set makes no system call when nobody waits, and
 * is_set is one load.
 */
#ifndef CTHREADING_EVENT_H
#define CTHREADING_EVENT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_event {
    uint32_t word;
} ct_event_t;

#define CT_EVENT_INIT { 0 }

/* Makes *e a clear event. */
CT_API void ct_event_init(ct_event_t *e);
/* Sets the flag and wakes every waiter. */
CT_API void ct_event_set(ct_event_t *e);
/* Clears the flag. Waiters that a set already released still return 0. */
CT_API void ct_event_clear(ct_event_t *e);
/* Whether the flag is set (a snapshot). */
CT_API bool ct_event_is_set(const ct_event_t *e);
/* Waits until the flag is set. Returns 0. */
CT_API int ct_event_wait(ct_event_t *e);
/* 0 if the flag is set, or gets set within timeout; ETIMEDOUT if not
 * (timeout 0 only looks); EINVAL for a bad timeout. */
CT_API int ct_event_wait_timeout(ct_event_t *e, double timeout);

#ifdef __cplusplus
}
#endif

#endif
