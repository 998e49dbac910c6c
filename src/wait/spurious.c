/*
 * Spurious wake-ups, for a test build (cmake -DCT_SPURIOUS_WAKEUPS=ON).
 *
 * The wait seam's contract lets ct__wait return 0 for no reason at all;
 * real kernels seldom do, so code that forgets to re-check its condition
 * passes its tests anyway. In this build one wait in four is cut short:
 * half of those return at once, the other half after a nap of up to
 * 200 µs on the real back-end (woken early by a genuine wake too). The
 * whole test suite must pass unchanged.
 *
 * CMake compiles the chosen back-end with ct__wait renamed to
 * ct__wait_backend and adds this file, which takes the name ct__wait; so
 * the back-ends have no test code in them, and an ordinary build has no
 * trace of this one.
 *
 * The choice comes from a per-thread xorshift generator, seeded from a
 * process-wide counter, so threads do not move in step; no locks, no
 * system calls beyond the back-end's.
 */
#include <errno.h>

#include "../deadline.h"

#define NAP_NS 200000

int ct__wait_backend(const uint32_t *word, uint32_t expected, int64_t deadline);

static uint32_t seeds;
static __thread uint32_t state;

static uint32_t next_random(void)
{
    uint32_t x = state;
    if (x == 0)
        x = __atomic_add_fetch(&seeds, 0x9E3779B9u, __ATOMIC_RELAXED) | 1;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    state = x;
    return x;
}

int ct__wait(const uint32_t *word, uint32_t expected, int64_t deadline)
{
    uint32_t r = next_random();
    if (r % 4 != 0)
        return ct__wait_backend(word, expected, deadline);
    if (r & 4)
        return 0;
    int64_t nap = ct__now() + (int64_t)((r >> 8) % NAP_NS);
    if (nap >= deadline)
        return ct__wait_backend(word, expected, deadline);
    ct__wait_backend(word, expected, nap);
    return 0;
}
