/*
 * The Linux wait back-end: a private futex per word. FUTEX_WAIT_BITSET takes
 * an absolute deadline on CLOCK_MONOTONIC (the default clock of that
 * operation), so a wait that a signal interrupts is simply retried by the
 * caller against the same deadline. FUTEX_CMP_REQUEUE moves a sleeper from
 * one word's queue to another's inside the kernel.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../deadline.h"

int ct__wait(const uint32_t *word, uint32_t expected, int64_t deadline)
{
    struct timespec ts, *tsp = NULL;
    if (deadline != CT__NO_DEADLINE) {
        if (ct__now() >= deadline)
            return ETIMEDOUT;
        ts = ct__timespec(deadline);
        tsp = &ts;
    }
    int saved_errno = errno;
    long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
                      expected, tsp, NULL, FUTEX_BITSET_MATCH_ANY);
    int timed_out = rc == -1 && errno == ETIMEDOUT;
    errno = saved_errno;
    /* Woken, EAGAIN (the word had changed) or EINTR: the caller re-checks. */
    return timed_out ? ETIMEDOUT : 0;
}

void ct__wake(const uint32_t *word, int n)
{
    int saved_errno = errno;
    syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
    errno = saved_errno;
}

void ct__requeue(const uint32_t *from, uint32_t expected, const uint32_t *to)
{
    int saved_errno = errno;
    syscall(SYS_futex, from, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG, 0, (long)1, to, expected);
    errno = saved_errno;
}
