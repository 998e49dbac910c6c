/*
 * Every resource the library can fail to get — memory, a new OS thread —
 * is taken through here, so that tests (which link the static library) can
 * make the n+1-th and later attempts fail and check that nothing leaks.
 */
#ifndef CT_ALLOC_H
#define CT_ALLOC_H

#include <pthread.h>
#include <stddef.h>

/* malloc, realloc and strdup that fail with ENOMEM when told to. */
void *ct__malloc(size_t size);
void *ct__realloc(void *p, size_t size);
char *ct__strdup(const char *s);

/* pthread_create, failing with EAGAIN when told to. */
int ct__pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                       void *(*fn)(void *), void *arg);

/* For tests: let the next n allocations (thread creations) succeed and
 * every later one fail; n < 0 (the default) never fails. */
void ct__alloc_fail_after(long n);
void ct__pthread_create_fail_after(long n);

#endif
