/*
 * cthreading — conventions shared by every part of the API.
 *
 * Errors: a function that can fail returns 0 or an error number (pthread
 * style). ETIMEDOUT: a timeout expired. EBUSY: a _try_ form could not
 * proceed. EPERM: the caller does not own what it releases. EINVAL: a bad
 * argument or a call in the wrong state. CT_EBROKEN: a broken barrier.
 * EINTR is never returned.
 *
 * Timeouts are relative, in seconds, as a double (Python's timeout=):
 * 0 does not block; CT_FOREVER, +INFINITY and anything above
 * CT_TIMEOUT_MAX wait without limit; NaN and other negatives are EINVAL.
 * Deadlines run on CLOCK_MONOTONIC, so wall-clock changes never matter.
 */
#ifndef CTHREADING_COMMON_H
#define CTHREADING_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>

#if defined(CT_BUILDING_LIBRARY) || defined(__GNUC__)
#define CT_API __attribute__((visibility("default")))
#else
#define CT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Wait without limit. */
#define CT_FOREVER (-1.0)

/* The largest timeout honoured as given, in seconds (about 292 years), as
 * Python's threading.TIMEOUT_MAX; larger ones wait without limit. */
#define CT_TIMEOUT_MAX 9223372036.0

/* The one library error number: a broken barrier. Distinct from every
 * errno value. */
#define CT_EBROKEN 0x10000

/* A short English description of any error number this library returns
 * (and of any other errno value). Never NULL. */
CT_API const char *ct_strerror(int err);

/* Seconds on the monotonic clock, as Python's time.monotonic(). */
CT_API double ct_monotonic(void);

/* Sleeps the whole time given, signals or not. NaN, zero and negative
 * values return at once; +INFINITY or more than CT_TIMEOUT_MAX sleeps for
 * ever. */
CT_API void ct_sleep(double seconds);

#ifdef __cplusplus
}
#endif

#endif
