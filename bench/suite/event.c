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

/* Taking an event is waiting for it and clearing it. */
static void ct_take(ct_event_t *e)
{
    ct_event_wait(e);
    ct_event_clear(e);
}

static void hand_take(struct hand_event *e)
{
    hand_event_wait(e);
    hand_event_clear(e);
}

static void ct_destroy(ct_event_t *e) { (void)e; }

BENCH_PINGPONG_PEER(ct, ct_event_t, ct_event_init, ct_event_set, ct_take, ct_destroy)
BENCH_PINGPONG_PEER(hand, struct hand_event, hand_event_init, hand_event_set, hand_take,
                    hand_event_destroy)

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

const struct bench_team_peer bench_event_peers[] = {
    BENCH_TEAM_PEER(ct, "ct_event"),
    BENCH_TEAM_PEER(note, "nsync_note"),
    BENCH_TEAM_PEER(hand, "pthread_mutex_cond_flag"),
    { 0 },
};
