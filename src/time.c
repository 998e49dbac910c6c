/*
 * Time: the monotonic clock, the one validator of timeouts, and a sleep that
 * signals cannot cut short. Every timed wait converts its timeout here once
 * and then retries against the same absolute deadline.
 */
#include <cthreading.h>

#include <math.h>
#include <unistd.h>

#include "deadline.h"

#define NS_PER_S 1000000000LL

int64_t ct__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int ct__deadline(double timeout, int64_t *deadline)
{
    if (isnan(timeout) || (timeout < 0 && timeout != CT_FOREVER))
        return EINVAL;
    if (timeout == CT_FOREVER || timeout > CT_TIMEOUT_MAX) {
        *deadline = CT__NO_DEADLINE;
        return 0;
    }
    int64_t now = ct__now();
    /* Rounded up, so a wait never ends early; clamped where now plus
     * CT_TIMEOUT_MAX seconds would overflow, which still leaves centuries. */
    double ns = timeout * (double)NS_PER_S;
    if (ns >= (double)(CT__NO_DEADLINE - now)) {
        *deadline = CT__NO_DEADLINE;
        return 0;
    }
    int64_t whole = (int64_t)ns;
    *deadline = now + whole + (whole < ns);
    return 0;
}

struct timespec ct__timespec(int64_t deadline)
{
    return (struct timespec){ .tv_sec = deadline / NS_PER_S,
                              .tv_nsec = deadline % NS_PER_S };
}

double ct_monotonic(void)
{
    return (double)ct__now() / (double)NS_PER_S;
}

void ct_sleep(double seconds)
{
    if (isnan(seconds) || seconds <= 0)
        return;
    int64_t deadline;
    ct__deadline(seconds, &deadline);
    if (deadline == CT__NO_DEADLINE) {
        for (;;)
            pause();
    }
    struct timespec ts = ct__timespec(deadline);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}
