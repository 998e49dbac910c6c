/*
 * The tutorial's Barrier: runners get to the starting line at different
 * times; the barrier holds each until all have arrived, its action fires
 * the starting gun once, and then they all run. Three rounds.
 */
#include <cthreading.h>
#include <stdio.h>

#define RUNNERS 3
#define ROUNDS 3

static ct_barrier_t line;
static int gun_fired;

static int fire_gun(void *arg)
{
    (void)arg;
    printf("barrier: all %d at the line: bang! (round %d)\n", RUNNERS, ++gun_fired);
    return 0;
}

static void *runner(void *arg)
{
    long id = (long)arg;
    for (int round = 0; round < ROUNDS; round++) {
        ct_sleep(0.01 * (double)(id + 1));
        unsigned place;
        int rc = ct_barrier_wait(&line, &place);
        if (rc) {
            fprintf(stderr, "barrier: runner %ld: %s\n", id, ct_strerror(rc));
            return (void *)1;
        }
        printf("barrier: runner %ld off (arrived %u of %d)\n", id, place + 1, RUNNERS);
    }
    return NULL;
}

int main(void)
{
    if (ct_barrier_init(&line, RUNNERS, fire_gun, NULL, 5.0)) {
        fprintf(stderr, "barrier: cannot set up the barrier\n");
        return 1;
    }
    ct_thread_t *runners[RUNNERS];
    for (long i = 0; i < RUNNERS; i++) {
        runners[i] = ct_thread_spawn(runner, (void *)i, NULL);
        if (!runners[i]) {
            perror("barrier: cannot start a runner");
            return 1;
        }
    }
    int failed = 0;
    for (int i = 0; i < RUNNERS; i++) {
        void *result;
        ct_thread_join(runners[i], &result);
        failed |= result != NULL;
        ct_thread_unref(runners[i]);
    }
    return failed || gun_fired != ROUNDS;
}
