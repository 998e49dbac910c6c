/*
 * Thread lifetime: create, start and join one thread that does nothing,
 * with each peer's own thread API as its users would call it (cthreading's
 * default: a Python-style name, given to the OS thread too).
 */
#define _GNU_SOURCE
#include "suite.h"

#include <cthreading.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <threads.h>
#include <uv.h>

static void fail(const char *what)
{
    fprintf(stderr, "bench: %s failed\n", what);
    exit(1);
}

static void *noop(void *arg)
{
    return arg;
}

static void ct_run(long n)
{
    for (long i = 0; i < n; i++) {
        ct_thread_t *t = ct_thread_spawn(noop, NULL, NULL);
        if (!t || ct_thread_join(t, NULL))
            fail("ct_thread_spawn/join");
        ct_thread_unref(t);
    }
}

static void posix_run(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, noop, NULL) || pthread_join(t, NULL))
            fail("pthread_create/join");
    }
}

static int c11_noop(void *arg)
{
    (void)arg;
    return 0;
}

static void c11_run(long n)
{
    for (long i = 0; i < n; i++) {
        thrd_t t;
        if (thrd_create(&t, c11_noop, NULL) != thrd_success || thrd_join(t, NULL) != thrd_success)
            fail("thrd_create/join");
    }
}

static void glib_run(long n)
{
    for (long i = 0; i < n; i++)
        g_thread_join(g_thread_new(NULL, noop, NULL));
}

static void uv_noop(void *arg)
{
    (void)arg;
}

static void libuv_run(long n)
{
    for (long i = 0; i < n; i++) {
        uv_thread_t t;
        if (uv_thread_create(&t, uv_noop, NULL) || uv_thread_join(&t))
            fail("uv_thread_create/join");
    }
}

const struct bench_loop_peer bench_thread_peers[] = {
    { "ct_thread", ct_run },
    { "pthread", posix_run },
    { "c11_thrd", c11_run },
    { "GThread", glib_run },
    { "uv_thread", libuv_run },
    { 0 },
};
