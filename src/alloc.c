/*
 * The library's fallible resources, with a budget a test can set: the
 * number of further successes before everything fails (negative: no
 * limit). The budget costs one relaxed load per call when unused.
 */
#include "alloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static long alloc_budget = -1;
static long create_budget = -1;

/* Spends one unit of *budget: false once it is exhausted. */
static bool spend(long *budget)
{
    long b = __atomic_load_n(budget, __ATOMIC_RELAXED);
    while (b > 0 && !__atomic_compare_exchange_n(budget, &b, b - 1, true, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED))
        ;
    return b != 0;
}

void *ct__malloc(size_t size)
{
    if (!spend(&alloc_budget)) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc(size);
}

void *ct__realloc(void *p, size_t size)
{
    if (!spend(&alloc_budget)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, size);
}

char *ct__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = ct__malloc(n);
    return copy ? memcpy(copy, s, n) : NULL;
}

int ct__pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                       void *(*fn)(void *), void *arg)
{
    if (!spend(&create_budget))
        return EAGAIN;
    return pthread_create(thread, attr, fn, arg);
}

void ct__alloc_fail_after(long n)
{
    __atomic_store_n(&alloc_budget, n, __ATOMIC_RELAXED);
}

void ct__pthread_create_fail_after(long n)
{
    __atomic_store_n(&create_budget, n, __ATOMIC_RELAXED);
}
