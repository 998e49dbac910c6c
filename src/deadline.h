/* Timeouts become absolute monotonic deadlines in one place (time.c). */
#ifndef CT_DEADLINE_H
#define CT_DEADLINE_H

#include <stdint.h>
#include <time.h>

#include "wait/wait.h"

/* Nanoseconds on CLOCK_MONOTONIC. */
int64_t ct__now(void);

/* Validates a relative timeout in seconds (API.md's rules) and turns it
 * into an absolute deadline: 0, or EINVAL for NaN and negatives other than
 * CT_FOREVER. Waiting forever gives CT__NO_DEADLINE; timeout 0 gives now. */
int ct__deadline(double timeout, int64_t *deadline);

/* The deadline as a struct timespec on CLOCK_MONOTONIC. */
struct timespec ct__timespec(int64_t deadline);

#endif
