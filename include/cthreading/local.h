/*
 * ct_local_t — Python's threading.local: a key under which every thread
 * keeps its own value.
 *
 *     static ct_local_t buffer;                  // once: ct_local_init(&buffer, free)
 *
 *     char *b = ct_local_get(&buffer);
 *     if (!b) {
 *         b = malloc(4096);
 *         ct_local_set(&buffer, b);              // freed when this thread ends
 *     }
 *
 * There is no fixed limit on the number of keys (pthread keys stop at
 * PTHREAD_KEYS_MAX). ct_local_get is a few loads. A thread's values are
 * destroyed (the key's destructor is called on each) when the thread ends,
 * before ct_thread_join returns for it; threads not started by cthreading
 * have theirs destroyed when they end too. ct_local_set does not destroy
 * the value it replaces, and the destructor is never called with NULL.
 * After fork() the child keeps the forking thread's values only.
 */
#ifndef CTHREADING_LOCAL_H
#define CTHREADING_LOCAL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_local {
    size_t index; /* 0: not initialised, or destroyed */
} ct_local_t;

/* Makes *k a key with no value in any thread; destructor (may be NULL) is
 * called on each thread's value when that thread ends. 0, or ENOMEM. */
CT_API int ct_local_init(ct_local_t *k, void (*destructor)(void *value));
/* The calling thread's value, NULL when it has none. */
CT_API void *ct_local_get(const ct_local_t *k);
/* Gives the calling thread value (NULL removes it, without destroying
 * the old one): 0, ENOMEM, or EINVAL if k is not an initialised key. */
CT_API int ct_local_set(ct_local_t *k, void *value);
/* Calls the destructor on every thread's value and retires the key, which
 * may then be initialised again. Call it once the threads that use k no
 * longer do (their ct_thread_join, or pthread_join, has returned, or they
 * are done with it). */
CT_API void ct_local_destroy(ct_local_t *k);

#ifdef __cplusplus
}
#endif

#endif
