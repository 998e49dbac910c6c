/*
 * The porting seam: every blocking call of the library sleeps here, on a
 * 32-bit word, and is woken here. One file under src/wait/ implements it
 * per platform; CMake compiles exactly one (CT_WAIT_BACKEND).
 *
 * ct__wait may return 0 early for any reason (a wake, a signal, a changed
 * word, nothing at all): every caller re-checks its condition in a loop, and
 * passes the same absolute deadline each time, so no retry stretches a
 * timeout.
 */
#ifndef CT_WAIT_H
#define CT_WAIT_H

#include <limits.h>
#include <stdint.h>

/* A deadline that never comes. */
#define CT__NO_DEADLINE INT64_MAX

/* Sleeps while *word == expected, until woken or until the absolute
 * CLOCK_MONOTONIC time deadline (nanoseconds). 0, or ETIMEDOUT once the
 * deadline has passed. */
int ct__wait(const uint32_t *word, uint32_t expected, int64_t deadline);

/* Wakes up to n threads sleeping on word (INT_MAX: all of them). */
void ct__wake(const uint32_t *word, int n);

/* If *from == expected, moves one thread sleeping on from to sleep on to
 * instead, without waking it: a later ct__wake(to, ...) wakes it. A
 * back-end may wake it instead (it then returns 0 from its ct__wait on
 * from). Either way a thread asleep on from with that value is disturbed
 * at most once, and none is woken on to by this call. */
void ct__requeue(const uint32_t *from, uint32_t expected, const uint32_t *to);

#endif
