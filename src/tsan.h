/*
 * ThreadSanitizer's view of ct_lock_t, in TSan builds only; elsewhere the
 * three hooks are empty.
 *
 * Happens-before needs no help: TSan sees the atomics on the lock's word.
 * What it cannot see is that the word is a mutex, so it could not report
 * a lock-order inversion (a potential deadlock) between two ct_lock_t, nor
 * name the held locks in a report. The hooks tell it.
 *
 * A ct_lock_t is not owned: any thread may release it. TSan's exclusive
 * mutexes are owned (a release by another thread is reported as a bug),
 * its shared ("read") mutexes are not, and its deadlock detector treats
 * both alike; so the lock is announced as a shared mutex. Shared mutexes
 * order nothing by themselves, which is why the release is announced
 * before the word is released: the atomic release then lies outside the
 * announcement's ignored region, where TSan sees it.
 *
 * Only the thread that announced a lock as taken may announce it
 * released, or TSan's per-thread record of held locks goes wrong. Each
 * thread keeps the locks it announced; a lock another thread released is
 * announced released by its taker when that thread next takes it. Timed
 * and non-blocking acquires are try-locks to TSan, as pthread's timedlock
 * is: they cannot deadlock, so they add no lock-order edges.
 *
 * In the child of a fork() from a threaded process, TSan ignores the
 * pthread calls (it expects an exec), among them those of the library's
 * fork handlers: announcing our locks there would pair them with mutexes
 * TSan wrongly believes held, and report inversions that cannot happen.
 * So the announcements stop in such a child, as TSan's own bookkeeping
 * does.
 */
#ifndef CT_TSAN_H
#define CT_TSAN_H

#include <stdbool.h>

#if defined(__SANITIZE_THREAD__)
#define CT__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CT__TSAN 1
#endif
#endif

#ifdef CT__TSAN
#include <fcntl.h>
#include <pthread.h>
#include <sanitizer/tsan_interface.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* TSan's own deadlock detector stops at 64 locks held by one thread. */
#define CT__TSAN_HELD 64

static __thread const void *ct__tsan_held[CT__TSAN_HELD];
static __thread unsigned ct__tsan_n_held;
static bool ct__tsan_threaded, ct__tsan_off;

/* Whether the process runs more than one thread, from /proc (fork's
 * prepare handlers may read files). */
static void ct__tsan_fork_prepare(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    const char *threads = strstr(buf, "\nThreads:");
    ct__tsan_threaded = !threads || strtol(threads + 9, NULL, 10) > 1;
}

static void ct__tsan_fork_child(void)
{
    if (ct__tsan_threaded)
        __atomic_store_n(&ct__tsan_off, true, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void ct__tsan_init(void)
{
    pthread_atfork(ct__tsan_fork_prepare, NULL, ct__tsan_fork_child);
}

static inline bool ct__tsan_on(void)
{
    return !__atomic_load_n(&ct__tsan_off, __ATOMIC_RELAXED);
}

/* Drops l from this thread's announced locks: whether it was there. */
static inline bool ct__tsan_forget(const void *l)
{
    for (unsigned i = 0; i < ct__tsan_n_held; i++) {
        if (ct__tsan_held[i] == l) {
            ct__tsan_held[i] = ct__tsan_held[--ct__tsan_n_held];
            return true;
        }
    }
    return false;
}

/* Before the word is released (and before retaking a lock that another
 * thread released). */
static inline void ct__tsan_unlock(void *l)
{
    if (ct__tsan_on() && ct__tsan_forget(l)) {
        __tsan_mutex_pre_unlock(l, __tsan_mutex_read_lock);
        __tsan_mutex_post_unlock(l, __tsan_mutex_read_lock);
    }
}

static inline unsigned ct__tsan_flags(bool blocking)
{
    return __tsan_mutex_read_lock | (blocking ? 0 : __tsan_mutex_try_lock);
}

/* Before an acquire: a blocking one is where an inversion is reported. */
static inline void ct__tsan_pre_lock(void *l, bool blocking)
{
    if (!ct__tsan_on())
        return;
    ct__tsan_unlock(l);
    __tsan_mutex_pre_lock(l, ct__tsan_flags(blocking));
}

/* After it, with its result. */
static inline void ct__tsan_post_lock(void *l, bool blocking, int rc)
{
    if (!ct__tsan_on())
        return;
    __tsan_mutex_post_lock(l, ct__tsan_flags(blocking) | (rc ? __tsan_mutex_try_lock_failed : 0),
                           0);
    if (rc == 0 && ct__tsan_n_held < CT__TSAN_HELD)
        ct__tsan_held[ct__tsan_n_held++] = l;
}
#else
#define ct__tsan_unlock(l) ((void)(l))
#define ct__tsan_pre_lock(l, blocking) ((void)(l))
#define ct__tsan_post_lock(l, blocking, rc) ((void)(l))
#endif

#endif
