#include "bare_lock.h"

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

void bare_lock_acquire(uint32_t *word)
{
    while (__atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(word, __ATOMIC_RELAXED))
            cpu_relax();
    }
}

void bare_lock_release(uint32_t *word)
{
    __atomic_store_n(word, 0, __ATOMIC_RELEASE);
}
