/*
 * The tutorial's counter: four threads add to one number. Without a lock,
 * increments are lost (each thread reads the counter, adds one and writes
 * it back, and another thread's write in between is overwritten). With
 * CT_WITH(&lock) around the update, none is.
 */
#include <cthreading.h>
#include <stdio.h>

#define THREADS 4
#define ROUNDS 1000000

static long unguarded, guarded;
static ct_lock_t lock = CT_LOCK_INIT;

/* Read, add, write back: three steps another thread can come between. */
static void add_one(long *counter)
{
    long value = __atomic_load_n(counter, __ATOMIC_RELAXED);
    __atomic_store_n(counter, value + 1, __ATOMIC_RELAXED);
}

static void *without_lock(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++)
        add_one(&unguarded);
    return NULL;
}

static void *with_lock(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        CT_WITH(&lock) {
            add_one(&guarded);
        }
    }
    return NULL;
}

/* Starts THREADS threads running fn, and joins them all. */
static int run(ct_thread_fn fn)
{
    ct_thread_t *threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        threads[i] = ct_thread_spawn(fn, NULL, NULL);
        if (!threads[i]) {
            perror("counter: cannot start a thread");
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++) {
        ct_thread_join(threads[i], NULL);
        ct_thread_unref(threads[i]);
    }
    return 0;
}

int main(void)
{
    long expected = (long)THREADS * ROUNDS;
    if (run(without_lock) || run(with_lock))
        return 1;
    printf("without a lock: %ld of %ld increments (%ld lost)\n", unguarded, expected,
           expected - unguarded);
    printf("with CT_WITH:   %ld of %ld increments\n", guarded, expected);
    return guarded == expected ? 0 : 1;
}
