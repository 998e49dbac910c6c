/* The pause between two looks at a word another core is about to change:
 * it lets that core's hyper-thread run and saves power while spinning. */
#ifndef CT_SPIN_H
#define CT_SPIN_H

static inline void ct__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
