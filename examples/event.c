/*
 * The tutorial's Event: worker threads get ready, then all wait for one
 * starting signal; the main thread sets the Event and they all go at once.
 * A worker that gives up waiting after a timeout shows wait's other answer.
 */
#include <cthreading.h>
#include <stdio.h>

#define WORKERS 4

static ct_event_t start = CT_EVENT_INIT;
static ct_event_t never = CT_EVENT_INIT;

static void *worker(void *arg)
{
    double t0 = ct_monotonic();
    ct_event_wait(&start);
    printf("%s started after %.2f s\n", ct_thread_name(ct_current_thread()), ct_monotonic() - t0);
    return arg;
}

int main(void)
{
    ct_thread_t *workers[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        workers[i] = ct_thread_spawn(worker, NULL, NULL);
        if (!workers[i]) {
            perror("event: cannot start a worker");
            return 1;
        }
    }
    printf("main: workers are waiting; setting the event in 0.2 s\n");
    ct_sleep(0.2);
    ct_event_set(&start);
    for (int i = 0; i < WORKERS; i++) {
        ct_thread_join(workers[i], NULL);
        ct_thread_unref(workers[i]);
    }
    int rc = ct_event_wait_timeout(&never, 0.1);
    printf("main: waiting 0.1 s for an event nobody sets: %s\n",
           rc == ETIMEDOUT ? "ETIMEDOUT, as expected" : ct_strerror(rc));
    return ct_event_is_set(&start) && rc == ETIMEDOUT ? 0 : 1;
}
