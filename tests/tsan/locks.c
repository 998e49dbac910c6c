/*
 * What ThreadSanitizer says about programs using ct_lock_t (src/tsan.h);
 * built and run only in TSan builds, one scenario per run:
 *
 *   inversion  two threads take two locks in opposite orders, one after
 *              the other: TSan must report a lock-order inversion
 *   race       a counter guarded by a lock in one thread and not in the
 *              other: TSan must report the data race
 *   handover   a lock taken by one thread and released by another, over
 *              and over, guarding a counter: no report at all
 *
 * CTest reads the report (or its absence) from the output.
 */
#include <cthreading.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static ct_lock_t a = CT_LOCK_INIT, b = CT_LOCK_INIT;
static long counter;

static void *a_then_b(void *unused)
{
    (void)unused;
    ct_lock_acquire(&a);
    ct_lock_acquire(&b);
    ct_lock_release(&b);
    ct_lock_release(&a);
    return NULL;
}

static void *b_then_a(void *unused)
{
    (void)unused;
    ct_lock_acquire(&b);
    ct_lock_acquire(&a);
    ct_lock_release(&a);
    ct_lock_release(&b);
    return NULL;
}

static void *unguarded(void *unused)
{
    (void)unused;
    counter++;
    return NULL;
}

static void *guarded(void *unused)
{
    (void)unused;
    ct_lock_acquire(&a);
    counter++;
    ct_lock_release(&a);
    return NULL;
}

#define ROUNDS 1000

/* Releases a after each round the main thread takes it in. */
static void *releaser(void *unused)
{
    (void)unused;
    for (int i = 0; i < ROUNDS; i++) {
        while (__atomic_load_n(&counter, __ATOMIC_RELAXED) == i)
            ;
        ct_lock_acquire(&b);
        ct_lock_release(&b);
        ct_lock_release(&a);
    }
    return NULL;
}

static void run(void *(*fn)(void *))
{
    pthread_t t;
    pthread_create(&t, NULL, fn, NULL);
    pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "inversion") == 0) {
        run(a_then_b);
        run(b_then_a);
    } else if (strcmp(what, "race") == 0) {
        pthread_t t1, t2;
        pthread_create(&t1, NULL, guarded, NULL);
        pthread_create(&t2, NULL, unguarded, NULL);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
    } else if (strcmp(what, "handover") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, releaser, NULL);
        for (int i = 0; i < ROUNDS; i++) {
            ct_lock_acquire(&a);
            ct_lock_acquire(&b);
            ct_lock_release(&b);
            __atomic_store_n(&counter, i + 1, __ATOMIC_RELAXED);
        }
        ct_lock_acquire(&a);
        pthread_join(t, NULL);
        ct_lock_release(&a);
    } else {
        fprintf(stderr, "usage: %s inversion|race|handover\n", argv[0]);
        return 2;
    }
    printf("%s: done\n", what);
    return 0;
}
