/*
 * The timer heap of src/timer.c, driven directly: this file includes
 * timer.c, so it calls the heap's own functions (put, sift_up,
 * heap_remove) on the service's own array, and links the library without
 * its timer.c. Inserts with any deadline (ties included), removals from
 * any slot (what cancel does) and removals of the top (what the timer
 * thread does), against a model that is a plain array of deadlines. After
 * every step: the heap property, every timer's slot is where it is, the
 * top is the model's earliest deadline.
 */
#include "../src/timer.c"

#include "fuzz.h"

#define MAX_TIMERS 512

static struct ct_timer *live[MAX_TIMERS];
static size_t n_live;

static void check_heap(void)
{
    CHECK(svc.len == n_live, "the heap holds %zu, the model %zu", svc.len, n_live);
    int64_t earliest = INT64_MAX;
    for (size_t i = 0; i < n_live; i++)
        earliest = live[i]->deadline < earliest ? live[i]->deadline : earliest;
    for (size_t i = 0; i < svc.len; i++) {
        CHECK(svc.heap[i]->slot == i, "slot %zu says %zu", i, svc.heap[i]->slot);
        CHECK(i == 0 || svc.heap[(i - 1) / 2]->deadline <= svc.heap[i]->deadline,
              "slot %zu is earlier than its parent", i);
    }
    CHECK(svc.len == 0 || svc.heap[0]->deadline == earliest, "the top is not the earliest");
}

static void insert(int64_t deadline)
{
    if (svc.len == svc.cap) {
        size_t cap = svc.cap ? svc.cap * 2 : 4;
        struct ct_timer **heap = realloc(svc.heap, cap * sizeof *heap);
        CHECK(heap != NULL, "out of memory");
        svc.heap = heap;
        svc.cap = cap;
    }
    struct ct_timer *t = calloc(1, sizeof *t);
    CHECK(t != NULL, "out of memory");
    t->deadline = deadline;
    put(svc.len++, t);
    sift_up(t->slot);
    live[n_live++] = t;
}

/* Removes live[i] from the heap and the model. */
static void remove_live(size_t i)
{
    struct ct_timer *t = live[i];
    heap_remove(t->slot);
    live[i] = live[--n_live];
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };
    while (in.n > 0) {
        uint8_t op = next_byte(&in);
        if (op < 128 && n_live < MAX_TIMERS) {
            /* Few distinct deadlines, so that ties are common. */
            insert(op & 1 ? next_byte(&in) % 8 : (int64_t)next_u32(&in) - INT32_MAX);
        } else if (op < 224 && n_live > 0) {
            remove_live(next_byte(&in) % n_live);
        } else if (n_live > 0) {
            size_t top = 0;
            while (live[top] != svc.heap[0])
                top++;
            remove_live(top);
        }
        check_heap();
    }
    while (n_live > 0)
        remove_live(n_live - 1);
    check_heap();
    return 0;
}
