/*
 * The tutorial's producer and consumers: a producer puts numbered items
 * on a shared list and notifies; consumers wait on the Condition until the
 * list holds something (CT_COND_WAIT_FOR, Python's wait_for), take one,
 * and stop at the end-of-work marker. Every item is consumed exactly once.
 */
#include <cthreading.h>
#include <stdio.h>

#define ITEMS 20
#define CONSUMERS 3
#define DONE (-1)

static ct_cond_t cond = CT_COND_INIT;
static int list[ITEMS + CONSUMERS];
static int head, tail;
static int consumed[ITEMS];

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITEMS + CONSUMERS; i++) {
        ct_sleep(0.005);
        CT_WITH(&cond) {
            list[tail++] = i < ITEMS ? i : DONE; /* one marker per consumer */
            ct_cond_notify(&cond, 1);
        }
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long taken = 0;
    for (;;) {
        int item = DONE;
        CT_WITH(&cond) {
            CT_COND_WAIT_FOR(&cond, head < tail, CT_FOREVER);
            item = list[head++];
        }
        if (item == DONE)
            break;
        consumed[item]++;
        taken++;
        printf("%s took item %d\n", ct_thread_name(ct_current_thread()), item);
    }
    (void)arg;
    return (void *)taken;
}

int main(void)
{
    ct_thread_t *consumers[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++)
        consumers[i] = ct_thread_spawn(consumer, NULL, NULL);
    ct_thread_t *p = ct_thread_spawn(producer, NULL, &(ct_thread_opts){ .name = "producer" });
    if (!p) {
        perror("producer_consumer: cannot start the producer");
        return 1;
    }
    ct_thread_join(p, NULL);
    ct_thread_unref(p);
    long total = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        void *taken;
        if (!consumers[i]) {
            perror("producer_consumer: cannot start a consumer");
            return 1;
        }
        ct_thread_join(consumers[i], &taken);
        printf("%s consumed %ld items\n", ct_thread_name(consumers[i]), (long)taken);
        total += (long)taken;
        ct_thread_unref(consumers[i]);
    }
    for (int i = 0; i < ITEMS; i++) {
        if (consumed[i] != 1) {
            fprintf(stderr, "producer_consumer: item %d consumed %d times\n", i, consumed[i]);
            return 1;
        }
    }
    printf("%ld of %d items consumed, each exactly once\n", total, ITEMS);
    return total == ITEMS ? 0 : 1;
}
