/*
 * ct_thread_t: a thin layer over pthreads. Threads are created detached;
 * joining waits on a word of the thread object, through the wait seam, so
 * join_timeout keeps the library's timeout rules and never sees EINTR.
 *
 *   state   NEW 0 | STARTED 1 | DONE 2, plus JOINERS (4): someone sleeps
 *           on the word, so the end must wake it
 *   tid     0 not known yet | WANTED: someone sleeps until it is | the tid
 *
 * No lost wake-up: a joiner sets JOINERS by a compare-and-swap on the value
 * it saw, then sleeps only while the word still holds that value; the end
 * is one exchange to DONE, which returns the bit, and wakes all if it was
 * set. The tid word works the same way with WANTED. The ending thread wakes
 * while it still holds its own reference, so the word cannot be freed
 * under the wake.
 *
 * The registry (the alive threads, for enumerate, active_count and the wait
 * at exit) is a list under one mutex, touched when a thread starts and
 * ends, never on a hot path; the same mutex orders renames against the OS
 * thread's existence, and pthread_atfork takes it across fork() so the
 * child inherits a consistent list. ct_current_thread is a load of a
 * __thread pointer (initial-exec: no call, for 8 bytes of static TLS).
 *
 * A thread's end runs on the thread itself: after fn returns, or from the
 * destructor of a pthread key if it leaves by pthread_exit, and for dummy
 * objects of threads not started here. It destroys the thread's ct_local_t
 * values, leaves the registry, then publishes DONE (release), so a joiner
 * sees all of it. References: new gives one to the caller; a started thread
 * holds one on itself until its end; a dummy is held by its thread. The
 * main thread's object is static and immortal.
 */
#define _GNU_SOURCE
#include <cthreading.h>

#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "deadline.h"
#include "local_internal.h"
#include "shutdown.h"

enum { NEW = 0, STARTED = 1, DONE = 2, JOINERS = 4 };

#define WANTED UINT32_MAX

/* Linux keeps 15 bytes of a thread's name (TASK_COMM_LEN - 1). */
#define OS_NAME_MAX 15

struct ct_thread {
    uint32_t state;
    uint32_t tid;
    uint32_t refs;
    bool daemon;
    bool dummy;
    bool os_live; /* its OS thread runs and may be renamed (under the mutex) */
    ct_thread_fn fn;
    void *arg;
    void *result;
    char *name;
    size_t stack_size;
    unsigned long ident;
    struct ct_thread *prev, *next; /* in the registry while alive */
};

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static struct ct_thread registry = { .prev = &registry, .next = &registry };
static size_t n_alive;
static struct ct_thread main_storage;
static struct ct_thread *main_thread = &main_storage;
static char main_name[] = "MainThread";
static unsigned long name_counter;
static size_t default_stack;
static pthread_key_t self_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static __thread struct ct_thread *self __attribute__((tls_model("initial-exec")));

static void lock(void) { pthread_mutex_lock(&mutex); }
static void unlock(void) { pthread_mutex_unlock(&mutex); }

/* Registry changes; the caller holds the mutex. */
static void link_thread(struct ct_thread *t)
{
    t->prev = registry.prev;
    t->next = &registry;
    registry.prev->next = t;
    registry.prev = t;
    n_alive++;
}

static void unlink_thread(struct ct_thread *t)
{
    if (!t->next)
        return;
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->prev = t->next = NULL;
    n_alive--;
}

static void free_name(char *name)
{
    if (name != main_name)
        free(name);
}

static char *format_name(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(NULL, 0, format, ap);
    va_end(ap);
    char *s = ct__malloc((size_t)n + 1);
    if (s) {
        va_start(ap, format);
        vsnprintf(s, (size_t)n + 1, format, ap);
        va_end(ap);
    }
    return s;
}

static unsigned long next_number(void)
{
    return __atomic_add_fetch(&name_counter, 1, __ATOMIC_RELAXED);
}

/* Names the OS thread th, cutting name to the OS limit at a UTF-8
 * character boundary. */
static void name_os_thread(pthread_t th, const char *name)
{
    char cut[OS_NAME_MAX + 1];
    size_t n = strlen(name);
    if (n > OS_NAME_MAX) {
        n = OS_NAME_MAX;
        while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(cut, name, n);
    cut[n] = '\0';
    pthread_setname_np(th, cut);
}

/* Marks t ended: 0 for joiners and is_alive. */
static void publish_done(struct ct_thread *t)
{
    if (__atomic_exchange_n(&t->state, DONE, __ATOMIC_RELEASE) & JOINERS)
        ct__wake(&t->state, INT_MAX);
}

static void publish_tid(struct ct_thread *t, uint32_t tid)
{
    if (__atomic_exchange_n(&t->tid, tid, __ATOMIC_RELEASE) == WANTED)
        ct__wake(&t->tid, INT_MAX);
}

/* The end of the calling thread, whose object is t. */
static void end_thread(struct ct_thread *t)
{
    ct__local_exit();
    lock();
    unlink_thread(t);
    t->os_live = false;
    unlock();
    self = NULL;
    pthread_setspecific(self_key, NULL);
    publish_done(t);
    ct_thread_unref(t);
}

/* The thread left by pthread_exit, or it was not ours and ends. */
static void self_destructor(void *t)
{
    end_thread(t);
}

static void *trampoline(void *p)
{
    struct ct_thread *t = p;
    self = t;
    /* Only for a pthread_exit from fn: if the key cannot hold t (out of
     * memory for a late key), a return from fn still ends t below. */
    pthread_setspecific(self_key, t);
    __atomic_store_n(&t->ident, (unsigned long)pthread_self(), __ATOMIC_RELAXED);
    publish_tid(t, (uint32_t)gettid());
    lock();
    name_os_thread(pthread_self(), t->name);
    t->os_live = true;
    unlock();
    t->result = t->fn ? t->fn(t->arg) : NULL;
    end_thread(t);
    return NULL;
}

/* Whether the OS accepts size as a thread's stack size (0: its default). */
static bool stack_size_ok(size_t size)
{
    if (size == 0)
        return true;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    bool ok = pthread_attr_setstacksize(&attr, size) == 0;
    pthread_attr_destroy(&attr);
    return ok;
}

/* CT_INHERIT: the calling thread's flag; a thread not started here counts
 * as a daemon, as its dummy would be. */
static bool inherited_daemon(void)
{
    struct ct_thread *me = self;
    return me ? me->daemon : true;
}

static char *default_name(ct_thread_fn fn, const char *fn_name)
{
    unsigned long n = next_number();
    if (!fn || !fn_name)
        return format_name("Thread-%lu", n);
    while (*fn_name == '&' || isspace((unsigned char)*fn_name))
        fn_name++;
    return format_name("Thread-%lu (%s)", n, fn_name);
}

ct_thread_t *ct_thread_new_named(ct_thread_fn fn, const char *fn_name, void *arg,
                                 const ct_thread_opts *opts)
{
    ct_thread_opts o = opts ? *opts : (ct_thread_opts){ NULL, CT_INHERIT, 0 };
    if (o.daemon < CT_INHERIT || o.daemon > CT_NON_DAEMON || !stack_size_ok(o.stack_size)) {
        errno = EINVAL;
        return NULL;
    }
    struct ct_thread *t = ct__malloc(sizeof *t);
    if (!t)
        return NULL;
    char *name = o.name && *o.name ? ct__strdup(o.name) : default_name(fn, fn_name);
    if (!name) {
        free(t);
        errno = ENOMEM;
        return NULL;
    }
    *t = (struct ct_thread){
        .state = NEW,
        .refs = 1,
        .daemon = o.daemon == CT_INHERIT ? inherited_daemon() : o.daemon == CT_DAEMON,
        .fn = fn,
        .arg = arg,
        .name = name,
        .stack_size = o.stack_size,
    };
    return t;
}

ct_thread_t *ct_thread_spawn_named(ct_thread_fn fn, const char *fn_name, void *arg,
                                   const ct_thread_opts *opts)
{
    ct_thread_t *t = ct_thread_new_named(fn, fn_name, arg, opts);
    if (!t)
        return NULL;
    int rc = ct_thread_start(t);
    if (rc) {
        ct_thread_unref(t);
        errno = rc;
        return NULL;
    }
    return t;
}

/* The plain functions behind the macros, for callers that need their
 * address: the parentheses keep the macros from expanding. */
ct_thread_t *(ct_thread_new)(ct_thread_fn fn, void *arg, const ct_thread_opts *opts)
{
    return ct_thread_new_named(fn, NULL, arg, opts);
}

ct_thread_t *(ct_thread_spawn)(ct_thread_fn fn, void *arg, const ct_thread_opts *opts)
{
    return ct_thread_spawn_named(fn, NULL, arg, opts);
}

/* Python's shutdown: the main thread has returned (or some thread called
 * exit()); wait for every non-daemon thread but the caller and the main
 * thread, and every non-daemon timer, including those that start
 * meanwhile. */
static void wait_at_exit(void)
{
    struct ct_thread *me = self;
    if (me && me == main_thread)
        publish_done(me);
    for (;;) {
        struct ct_thread *t = NULL;
        lock();
        for (struct ct_thread *u = registry.next; u != &registry && !t; u = u->next) {
            if (!u->daemon && u != me && u != main_thread)
                t = ct_thread_ref(u);
        }
        unlock();
        if (!t) {
            if (ct__timers_wait_idle())
                continue;
            return;
        }
        ct_thread_join(t, NULL);
        ct_thread_unref(t);
    }
}

static void register_exit(void)
{
    atexit(wait_at_exit);
}

void ct__shutdown_arm(void)
{
    pthread_once(&exit_once, register_exit);
}

int ct_thread_start(ct_thread_t *t)
{
    assert(t);
    size_t stack = t->stack_size;
    if (!stack)
        stack = __atomic_load_n(&default_stack, __ATOMIC_RELAXED);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (stack)
        pthread_attr_setstacksize(&attr, stack); /* accepted when it was set */
    ct__shutdown_arm();

    /* Alive, in the registry, and holding its own reference, all at once:
     * the child of a fork() meanwhile drops that reference with the
     * registry entry. */
    lock();
    bool fresh = __atomic_load_n(&t->state, __ATOMIC_RELAXED) == NEW;
    if (fresh) {
        __atomic_store_n(&t->state, STARTED, __ATOMIC_RELAXED);
        ct_thread_ref(t);
        link_thread(t);
    }
    unlock();
    if (!fresh) {
        pthread_attr_destroy(&attr);
        return EINVAL;
    }
    pthread_t th;
    int rc = ct__pthread_create(&th, &attr, trampoline, t);
    pthread_attr_destroy(&attr);
    if (rc == 0) {
        __atomic_store_n(&t->ident, (unsigned long)th, __ATOMIC_RELAXED);
        return 0;
    }
    /* Undone as it was done, then whoever looked in the meantime is woken:
     * joiners see EINVAL, native_id 0. The caller's reference remains. */
    lock();
    unlink_thread(t);
    uint32_t seen = __atomic_exchange_n(&t->state, NEW, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    unlock();
    if (seen & JOINERS)
        ct__wake(&t->state, INT_MAX);
    if (__atomic_exchange_n(&t->tid, 0, __ATOMIC_RELAXED) == WANTED)
        ct__wake(&t->tid, INT_MAX);
    return EAGAIN;
}

int ct_thread_join(ct_thread_t *t, void **result)
{
    return ct_thread_join_timeout(t, CT_FOREVER, result);
}

int ct_thread_join_timeout(ct_thread_t *t, double timeout, void **result)
{
    assert(t);
    int64_t deadline;
    if (ct__deadline(timeout, &deadline))
        return EINVAL;
    if (t->dummy)
        return EINVAL;
    if (t == self)
        return EDEADLK;
    uint32_t s = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
    while (s != DONE) {
        if (s == NEW)
            return EINVAL;
        uint32_t want = s | JOINERS;
        if (s != want && !__atomic_compare_exchange_n(&t->state, &s, want, true,
                                                      __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            continue;
        int rc = ct__wait(&t->state, want, deadline);
        s = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
        if (rc == ETIMEDOUT && s != DONE)
            return ETIMEDOUT;
    }
    if (result)
        *result = t->result;
    return 0;
}

bool ct_thread_is_alive(const ct_thread_t *t)
{
    assert(t);
    return (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) & ~JOINERS) == STARTED;
}

const char *ct_thread_name(const ct_thread_t *t)
{
    assert(t);
    return t->name;
}

int ct_thread_set_name(ct_thread_t *t, const char *name)
{
    assert(t);
    if (!name)
        return EINVAL;
    char *copy = ct__strdup(name);
    if (!copy)
        return ENOMEM;
    lock();
    char *old = t->name;
    t->name = copy;
    if (t->os_live)
        name_os_thread((pthread_t)__atomic_load_n(&t->ident, __ATOMIC_RELAXED), copy);
    unlock();
    free_name(old);
    return 0;
}

bool ct_thread_is_daemon(const ct_thread_t *t)
{
    assert(t);
    return t->daemon;
}

int ct_thread_set_daemon(ct_thread_t *t, bool daemon)
{
    assert(t);
    lock();
    bool fresh = __atomic_load_n(&t->state, __ATOMIC_RELAXED) == NEW;
    if (fresh)
        t->daemon = daemon;
    unlock();
    return fresh ? 0 : EINVAL;
}

unsigned long ct_thread_ident(const ct_thread_t *t)
{
    assert(t);
    return __atomic_load_n(&t->ident, __ATOMIC_RELAXED);
}

long ct_thread_native_id(const ct_thread_t *t)
{
    assert(t);
    /* The word is written here only to say that someone waits. */
    uint32_t *word = (uint32_t *)&t->tid;
    for (;;) {
        uint32_t tid = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (tid != 0 && tid != WANTED)
            return (long)tid;
        if ((__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) & ~JOINERS) != STARTED)
            return 0;
        if (tid == 0 && !__atomic_compare_exchange_n(word, &tid, WANTED, false,
                                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            continue;
        ct__wait(word, WANTED, CT__NO_DEADLINE);
    }
}

ct_thread_t *ct_thread_ref(ct_thread_t *t)
{
    assert(t);
    if (t != &main_storage)
        __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    return t;
}

void ct_thread_unref(ct_thread_t *t)
{
    if (!t || t == &main_storage)
        return;
    if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free_name(t->name);
        free(t);
    }
}

/* Makes t the calling thread's object, alive, in the registry. */
static void become(struct ct_thread *t)
{
    self = t;
    lock();
    link_thread(t);
    unlock();
}

/* Gives the calling thread, not started here, a dummy object. */
static struct ct_thread *adopt_dummy(void)
{
    struct ct_thread *t = ct__malloc(sizeof *t);
    if (!t)
        return NULL;
    char *name = format_name("Dummy-%lu", next_number());
    if (!name || pthread_setspecific(self_key, t)) {
        free(name);
        free(t);
        errno = ENOMEM;
        return NULL;
    }
    *t = (struct ct_thread){
        .state = STARTED,
        .tid = (uint32_t)gettid(),
        .refs = 1, /* the thread's, dropped at its end */
        .daemon = true,
        .dummy = true,
        .os_live = true,
        .name = name,
        .ident = (unsigned long)pthread_self(),
    };
    become(t);
    return t;
}

ct_thread_t *ct_current_thread(void)
{
    struct ct_thread *t = self;
    return t ? t : adopt_dummy();
}

ct_thread_t *ct_main_thread(void)
{
    return main_thread;
}

size_t ct_active_count(void)
{
    lock();
    size_t n = n_alive;
    unlock();
    return n;
}

size_t ct_enumerate(ct_thread_t **out, size_t cap)
{
    assert(out || cap == 0);
    lock();
    size_t i = 0;
    for (struct ct_thread *t = registry.next; t != &registry && i < cap; t = t->next)
        out[i++] = ct_thread_ref(t);
    size_t n = n_alive;
    unlock();
    return n;
}

unsigned long ct_get_ident(void)
{
    return (unsigned long)pthread_self();
}

long ct_get_native_id(void)
{
    return (long)gettid();
}

int ct_stack_size(size_t size, size_t *old)
{
    if (!stack_size_ok(size))
        return EINVAL;
    size_t previous = __atomic_exchange_n(&default_stack, size, __ATOMIC_RELAXED);
    if (old)
        *old = previous;
    return 0;
}

/* The calling thread becomes the main thread, in main_storage; its key
 * value only serves a pthread_exit from main, so a failure is harmless. */
static void make_main(void)
{
    main_storage = (struct ct_thread){
        .state = STARTED,
        .tid = (uint32_t)gettid(),
        .os_live = true,
        .name = main_name,
        .ident = (unsigned long)pthread_self(),
    };
    pthread_setspecific(self_key, &main_storage);
    become(&main_storage);
    main_thread = &main_storage;
}

static void prepare(void) { lock(); }
static void parent(void) { unlock(); }

/* In the child of fork(): only the calling thread exists. It keeps its
 * object if it has one of ours (the main thread's, or a started one),
 * which becomes the main thread; otherwise (no object, or a dummy) it
 * becomes a new "MainThread" in main_storage, whichever thread that
 * described in the parent. Every other thread is over: DONE, out of the
 * registry, and the reference its thread held dropped. */
static void child(void)
{
    unlock(); /* taken by this thread in prepare */
    struct ct_thread *me = self;
    bool keep = me && !me->dummy;
    for (struct ct_thread *t = registry.next, *next; t != &registry; t = next) {
        next = t->next;
        if (keep && t == me)
            continue;
        unlink_thread(t);
        t->os_live = false;
        __atomic_store_n(&t->state, DONE, __ATOMIC_RELAXED);
        ct_thread_unref(t);
    }
    if (keep) {
        __atomic_store_n(&me->tid, (uint32_t)gettid(), __ATOMIC_RELAXED);
        main_thread = me;
    } else {
        free_name(main_storage.name);
        make_main();
    }
}

__attribute__((constructor)) static void thread_init(void)
{
    if (pthread_key_create(&self_key, self_destructor))
        abort();
    make_main();
    pthread_atfork(prepare, parent, child);
}
