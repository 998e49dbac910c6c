/*
 * Event ping-pong: two events; one thread sets the first and waits for the
 * second, the other the reverse, each clearing what it waited for. One
 * iteration is a round trip, two hand-offs: the floor is the semaphore
 * ping-pong (two futex wakes).
 *
 * nsync's note cannot be cleared (it is notified once, for ever), so its
 * row uses a fresh note per hand-off, all made in setup, outside the
 * measured loop.
 */
#define _GNU_SOURCE
#include "suite.h"

#include <cthreading.h>
#include <nsync.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>

#include "hand_event.h"

/* init, set, clear and wait are applied to a pointer to one event. */
#define EVENT_PEER(id, event_type, init, set, clear, wait, destroy)               \
    static struct {                                                               \
        alignas(64) event_type ping;                                              \
        alignas(64) event_type pong;                                              \
    } id;                                                                         \
    static void id##_setup(unsigned parties, long rounds)                         \
    {                                                                             \
        (void)parties, (void)rounds;                                              \
        init(&id.ping);                                                           \
        init(&id.pong);                                                           \
    }                                                                             \
    static void id##_partner(long rounds)                                         \
    {                                                                             \
        for (long i = 0; i < rounds; i++) {                                       \
            wait(&id.ping);                                                       \
            clear(&id.ping);                                                      \
            set(&id.pong);                                                        \
        }                                                                         \
    }                                                                             \
    static void id##_round(void)                                                  \
    {                                                                             \
        set(&id.ping);                                                            \
        wait(&id.pong);                                                           \
        clear(&id.pong);                                                          \
    }                                                                             \
    static void id##_teardown(void)                                               \
    {                                                                             \
        destroy(&id.ping);                                                        \
        destroy(&id.pong);                                                        \
    }

static void ct_destroy(ct_event_t *e) { (void)e; }

EVENT_PEER(ct, ct_event_t, ct_event_init, ct_event_set, ct_event_clear, ct_event_wait,
           ct_destroy)
EVENT_PEER(hand, struct hand_event, hand_event_init, hand_event_set, hand_event_clear,
           hand_event_wait, hand_event_destroy)

static struct {
    nsync_note *ping, *pong;
    long rounds, next;
} note;

static nsync_note *new_notes(long n)
{
    nsync_note *notes = malloc(sizeof *notes * (size_t)n);
    if (!notes && n) {
        perror("bench: notes");
        exit(1);
    }
    for (long i = 0; i < n; i++)
        notes[i] = nsync_note_new(NULL, nsync_time_no_deadline);
    return notes;
}

static void free_notes(nsync_note *notes, long n)
{
    for (long i = 0; i < n; i++)
        nsync_note_free(notes[i]);
    free(notes);
}

static void note_setup(unsigned parties, long rounds)
{
    (void)parties;
    note.ping = new_notes(rounds);
    note.pong = new_notes(rounds);
    note.rounds = rounds;
    note.next = 0;
}

static void note_partner(long rounds)
{
    for (long i = 0; i < rounds; i++) {
        nsync_note_wait(note.ping[i], nsync_time_no_deadline);
        nsync_note_notify(note.pong[i]);
    }
}

static void note_round(void)
{
    long i = note.next++;
    nsync_note_notify(note.ping[i]);
    nsync_note_wait(note.pong[i], nsync_time_no_deadline);
}

static void note_teardown(void)
{
    free_notes(note.ping, note.rounds);
    free_notes(note.pong, note.rounds);
}

#define PEER(id, label) { label, id##_setup, id##_partner, id##_round, id##_teardown }

const struct bench_team_peer bench_event_peers[] = {
    PEER(ct, "ct_event"),
    PEER(note, "nsync_note"),
    PEER(hand, "pthread_mutex_cond_flag"),
    { 0 },
};
