/*
 * ct_thread_t — Python's Thread: a thread with a name, a daemon flag, a
 * result and join(timeout); and the module functions around it
 * (current_thread, main_thread, enumerate, active_count, ...).
 *
 *     static void *work(void *arg) { ...; return result; }
 *
 *     ct_thread_t *t = ct_thread_spawn(work, arg, &(ct_thread_opts){ .name = "worker" });
 *     if (!t) return errno;                   // ENOMEM, EAGAIN, EINVAL
 *     void *result;
 *     ct_thread_join(t, &result);
 *     ct_thread_unref(t);
 *
 * Objects are reference-counted: ct_thread_new and ct_thread_spawn return
 * one reference, each ct_thread_ref adds one and ct_thread_unref drops one.
 * A running thread holds a reference to itself, so dropping the last one
 * while it runs detaches it: it frees itself when it ends.
 *
 * Names: without opts->name a thread is named as Python names it,
 * "Thread-N (fn)", N counting every default name (and "Dummy-N") of the
 * process. ct_thread_new and ct_thread_spawn are macros that pass the text
 * of their fn argument to ct_thread_new_named / ct_thread_spawn_named; the
 * functions of the same names (ct_thread_new) and (ct_thread_spawn), whose
 * addresses may be taken, name a thread "Thread-N". The name is also given
 * to the OS thread (top -H, gdb, /proc/self/task/{tid}/comm), cut to the
 * OS limit (15 bytes on Linux) at a UTF-8 character boundary.
 *
 * Exit: when the program ends normally (return from main, or exit()), it
 * first waits for every non-daemon thread started here — also those that
 * start during that wait; daemon threads are abandoned. The thread that
 * calls exit() is not waited for (it is the one waiting), nor is the main
 * thread if a worker calls exit(). The waiting is an atexit handler,
 * registered when the first thread starts: it runs before the atexit
 * handlers registered earlier, after those registered later.
 *
 * fork(): the child holds only the forking thread, which becomes the
 * child's main thread (a thread not started here becomes "MainThread");
 * every other thread is over there (not alive; joins return at once). The
 * child may start and join threads.
 *
 * The main thread is the thread that loaded the library (for a program
 * linked with it, the thread that runs main). Other threads not started
 * here get, when they first call ct_current_thread, a daemon "Dummy-N"
 * object, freed when that thread ends; they cannot be joined.
 */
#ifndef CTHREADING_THREAD_H
#define CTHREADING_THREAD_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_thread ct_thread_t;

/* A thread's function; what it returns is the thread's join result. */
typedef void *(*ct_thread_fn)(void *arg);

/* ct_thread_opts.daemon: inherit the creating thread's flag (Python's
 * default), or say which. */
#define CT_INHERIT 0
#define CT_DAEMON 1
#define CT_NON_DAEMON 2

/* Options; every field's zero is its default, and opts may be NULL. */
typedef struct ct_thread_opts {
    const char *name;   /* NULL or "": "Thread-N (fn)" */
    int daemon;         /* CT_INHERIT, CT_DAEMON or CT_NON_DAEMON */
    size_t stack_size;  /* 0: the ct_stack_size() default */
} ct_thread_opts;

/* A new thread object, not started, that will run fn(arg) (fn NULL: run
 * nothing); fn_name, the name of fn, goes into the default name and may be
 * NULL. NULL with errno ENOMEM, or EINVAL for a bad daemon value or a
 * stack size the OS refuses. */
CT_API ct_thread_t *ct_thread_new_named(ct_thread_fn fn, const char *fn_name, void *arg,
                                        const ct_thread_opts *opts);
/* ct_thread_new_named, then ct_thread_start: NULL with errno ENOMEM,
 * EINVAL or EAGAIN (the OS refused a thread; nothing is left behind). */
CT_API ct_thread_t *ct_thread_spawn_named(ct_thread_fn fn, const char *fn_name, void *arg,
                                          const ct_thread_opts *opts);
/* The same without a function name: default names are "Thread-N". */
CT_API ct_thread_t *ct_thread_new(ct_thread_fn fn, void *arg, const ct_thread_opts *opts);
CT_API ct_thread_t *ct_thread_spawn(ct_thread_fn fn, void *arg, const ct_thread_opts *opts);
/* (fn, arg, opts): variadic only so that a compound literal with commas
 * can be the opts argument. */
#define ct_thread_new(fn, ...) ct_thread_new_named((fn), #fn, __VA_ARGS__)
#define ct_thread_spawn(fn, ...) ct_thread_spawn_named((fn), #fn, __VA_ARGS__)

/* Starts the thread: 0; EINVAL if it was started before (or is the main
 * or a dummy thread); EAGAIN if the OS refused a thread, and then t stays
 * valid and unstarted. */
CT_API int ct_thread_start(ct_thread_t *t);
/* Waits until t has ended (its ct_local_t values destroyed) and stores its
 * result in *result unless result is NULL (NULL for a thread that left by
 * pthread_exit): 0; EINVAL if t was never started or is a dummy; EDEADLK
 * if t is the calling thread. Any number of threads may join t, any
 * number of times, and all get the same result. */
CT_API int ct_thread_join(ct_thread_t *t, void **result);
/* As ct_thread_join, waiting at most timeout seconds: also ETIMEDOUT if t
 * still runs, EINVAL for a bad timeout. */
CT_API int ct_thread_join_timeout(ct_thread_t *t, double timeout, void **result);
/* Whether t has started and not yet ended (a snapshot). */
CT_API bool ct_thread_is_alive(const ct_thread_t *t);

/* t's name. The string is t's: valid until the next ct_thread_set_name of
 * t or the last ct_thread_unref. */
CT_API const char *ct_thread_name(const ct_thread_t *t);
/* Gives t a copy of name, at any time, and names the OS thread if it runs:
 * 0, EINVAL if name is NULL, ENOMEM (and t keeps its old name). */
CT_API int ct_thread_set_name(ct_thread_t *t, const char *name);
/* Whether t is a daemon thread: one the program does not wait for at exit. */
CT_API bool ct_thread_is_daemon(const ct_thread_t *t);
/* 0, or EINVAL once t has started. */
CT_API int ct_thread_set_daemon(ct_thread_t *t, bool daemon);
/* t's pthread_t as a number (Python's ident); 0 before it starts. Kept
 * after t ends, when the OS may give it to a new thread. */
CT_API unsigned long ct_thread_ident(const ct_thread_t *t);
/* t's OS thread id (Linux's tid, Python's native_id); 0 before it starts.
 * Just after the start, waits until the thread has begun to run. */
CT_API long ct_thread_native_id(const ct_thread_t *t);

/* One more reference to t; returns t. */
CT_API ct_thread_t *ct_thread_ref(ct_thread_t *t);
/* Drops a reference (NULL: nothing); the last one frees t, or detaches it
 * if it still runs. */
CT_API void ct_thread_unref(ct_thread_t *t);

/* The calling thread's object, borrowed: valid while the thread runs.
 * A thread not started here gets a daemon "Dummy-N" object, or NULL with
 * errno ENOMEM if none can be made. */
CT_API ct_thread_t *ct_current_thread(void);
/* The main thread's object, borrowed (see above for which thread that is). */
CT_API ct_thread_t *ct_main_thread(void);
/* How many threads are active: those started and not yet ended, the main
 * thread (also while the process exits), and those with a dummy object. */
CT_API size_t ct_active_count(void);
/* Stores new references to min(cap, count) active threads in out (main
 * thread first, then oldest first) and returns count, the number active. */
CT_API size_t ct_enumerate(ct_thread_t **out, size_t cap);
/* The calling thread's pthread_t as a number (Python's get_ident). */
CT_API unsigned long ct_get_ident(void);
/* The calling thread's OS thread id (Python's get_native_id). */
CT_API long ct_get_native_id(void);
/* Sets the stack size of threads started later without their own, and
 * stores the previous setting in *old unless old is NULL (0: the OS
 * default). size 0 restores the OS default. 0, or EINVAL if the OS refuses
 * size (below its minimum, PTHREAD_STACK_MIN). */
CT_API int ct_stack_size(size_t size, size_t *old);

#ifdef __cplusplus
}
#endif

#endif
