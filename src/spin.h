/* Spinning: the pause between two looks at a word another core is about
 * to change, and a budget of time for a spin. A budget in iterations would
 * mean anything from under a microsecond to tens of them, as a pause takes
 * a few nanoseconds on one processor and over a hundred on another. */
#ifndef CT_SPIN_H
#define CT_SPIN_H

#include <stdbool.h>
#include <stdint.h>

#include "deadline.h"

static inline void ct__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A spin that ends after ns nanoseconds; start it at 0. */
struct ct__spin {
    int64_t until;
    unsigned passes;
};

/* Pauses and returns true while the spin's time lasts; the first call
 * starts the clock. The clock is read every 8 passes only: a read costs
 * about what a pause does, and the spin may overrun by 7 pauses. */
static inline bool ct__spin(struct ct__spin *s, int64_t ns)
{
    if (s->passes++ % 8 == 0) {
        int64_t now = ct__now();
        if (s->until == 0)
            s->until = now + ns;
        else if (now >= s->until)
            return false;
    }
    ct__cpu_relax();
    return true;
}

#endif
