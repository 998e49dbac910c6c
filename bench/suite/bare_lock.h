/*
 * The simplest correct word lock: an exchange to take it, a store to give
 * it back, spinning in between. It is the floor for an uncontended
 * acquire+release, built as its own shared library so that its calls cost
 * what a library call costs, as ct_lock's and pthread_mutex_lock's do.
 */
#ifndef BENCH_BARE_LOCK_H
#define BENCH_BARE_LOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void bare_lock_acquire(uint32_t *word);
void bare_lock_release(uint32_t *word);

#ifdef __cplusplus
}
#endif

#endif
