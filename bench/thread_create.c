/*
 * The cost of a thread: create, start and join one that does nothing, with
 * cthreading (ct_thread_spawn + ct_thread_join + ct_thread_unref) and with
 * raw pthreads (pthread_create + pthread_join), in the same run.
 *
 * Rounds alternate between the two so that both see the same machine;
 * each reports its best round (the least disturbed), in microseconds per
 * thread. cthreading's aim: at most 1.2 times the raw cost.
 */
#include <cthreading.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *noop(void *arg)
{
    return arg;
}

static double raw_round(int n)
{
    double start = ct_monotonic();
    for (int i = 0; i < n; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, noop, NULL) || pthread_join(th, NULL)) {
            perror("pthread");
            exit(1);
        }
    }
    return (ct_monotonic() - start) / n * 1e6;
}

static double ct_round(int n)
{
    double start = ct_monotonic();
    for (int i = 0; i < n; i++) {
        ct_thread_t *t = ct_thread_spawn(noop, NULL, NULL);
        if (!t || ct_thread_join(t, NULL)) {
            perror("ct_thread");
            exit(1);
        }
        ct_thread_unref(t);
    }
    return (ct_monotonic() - start) / n * 1e6;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int rounds = quick ? 2 : 10, n = quick ? 200 : 5000;
    double raw = 1e9, ct = 1e9;
    for (int r = 0; r < rounds; r++) {
        double a = raw_round(n), b = ct_round(n);
        raw = a < raw ? a : raw;
        ct = b < ct ? b : ct;
    }
    printf("create+start+join of a no-op thread, best of %d rounds of %d:\n", rounds, n);
    printf("  pthread_create + pthread_join          %8.2f us\n", raw);
    printf("  ct_thread_spawn + ct_thread_join/unref %8.2f us\n", ct);
    printf("  ratio cthreading / pthreads            %8.3f\n", ct / raw);
    return 0;
}
