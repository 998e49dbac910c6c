/*
 * The lock protocol of src/lock.c: one word, bits LOCKED, HANDOFF,
 * STARVING, WOKEN and a count of waiters; the fast path, the bounded spin,
 * the slow path (wait_acquire) and release, each compare-and-swap as one
 * atomic step, transcribed line for line. N threads each take the lock
 * ROUNDS times; thread 0 uses a timed acquire that may give up at any
 * moment. A waiter may decide it is starving at any moment (the model
 * has no clock), which turns on the hand-off mode.
 *
 * Checked: mutual exclusion (at most one thread inside); no invalid end
 * state (every thread finishes: no wake-up is lost, no waiter is left
 * asleep); at the end the word is 0 (no waiter counted, no bit left
 * behind); HANDOFF only ever with LOCKED.
 *
 * This model found that an arrival counting itself in during a hand-off
 * could later sleep on a word that had come back to the same value (a new
 * HANDOFF whose one wake had found nobody asleep), leaving the lock handed
 * to nobody: three threads, two rounds each (-DN=3 -DROUNDS=2 -DSPIN=0,
 * in seconds). The arrival now lets a hand-off land before it counts in,
 * as lock.c does; remove that option below to see the deadlock again.
 */
#ifndef N
#define N 3
#endif
#ifndef ROUNDS
#define ROUNDS 1
#endif
#ifndef SPURIOUS
#define SPURIOUS 0
#endif
#define P (N + 1) /* init and the lockers */
#ifndef SPIN
#define SPIN 2
#endif

#include "futex.pml"

#define LOCKED 1
#define HANDOFF 2
#define STARVING 4
#define WOKEN 8
#define ONE_WAITER 16
#define WORD 0

byte word;
byte inside;
byte done;

/* cas(seen, desired): one atomic step; on failure seen gets the word.
 * Every change of the word checks that HANDOFF comes only with LOCKED. */
#define CAS(seen, desired, ok) \
    d_step { \
        if \
        :: word == seen -> word = desired; ok = true; \
           assert((word & HANDOFF) == 0 || (word & LOCKED) != 0) \
        :: else -> seen = word; ok = false \
        fi \
    }

proctype locker(bool timed)
{
    byte v, next, rounds = 0;
    bool ok, counted, timed_out, starving, wake, got;
    byte i;

    do
    :: rounds == ROUNDS -> break
    :: else ->
        got = false;
        /* ct_lock_acquire / ct__lock_acquire_until: the fast path */
        v = 0;
        CAS(v, LOCKED, ok);
        if
        :: ok -> got = true
        :: else -> skip
        fi;
        /* spin_acquire */
        i = 0;
        do
        :: got || i == SPIN -> break
        :: else ->
            v = word;
            if
            :: (v & LOCKED) == 0 -> CAS(v, v | LOCKED, ok); got = ok
            :: (v & LOCKED) != 0 && (v & (STARVING | HANDOFF)) != 0 -> i = SPIN - 1
            :: else -> skip
            fi;
            i++
        od;
        /* wait_acquire */
        counted = false; timed_out = false; starving = false;
        v = word;
        do
        :: got -> break
        :: else ->
            if
            :: !starving -> starving = true
            :: true -> skip
            fi;
            if
            :: (v & LOCKED) == 0 || (counted && (v & HANDOFF) != 0) ->
                next = ((v | LOCKED) & ~(HANDOFF | (counted -> WOKEN : 0))) - (counted -> ONE_WAITER : 0);
                if
                :: next < ONE_WAITER || ((v & HANDOFF) != 0 && !starving) -> next = next & ~STARVING
                :: else -> skip
                fi;
                CAS(v, next, ok);
                got = ok
            :: else ->
                if
                :: timed_out ->
                    next = (v & ~WOKEN) - ONE_WAITER;
                    if
                    :: next < ONE_WAITER -> next = next & ~STARVING
                    :: else -> skip
                    fi;
                    CAS(v, next, ok);
                    if
                    :: ok -> break        /* ETIMEDOUT: left the count */
                    :: else -> skip
                    fi
                :: !counted && (v & HANDOFF) != 0 ->
                    /* a hand-off is under way: let it land before
                     * counting in, so that nobody sleeps on a word with
                     * HANDOFF (or gives up: ETIMEDOUT, never counted) */
                    if
                    :: timed -> break
                    :: true -> v = word
                    fi
                :: else ->
                    next = (v & ~WOKEN) + (counted -> 0 : ONE_WAITER);
                    if
                    :: starving -> next = next | STARVING
                    :: else -> skip
                    fi;
                    ok = true;
                    if
                    :: next != v -> CAS(v, next, ok)
                    :: else -> skip
                    fi;
                    if
                    :: ok ->
                        counted = true;
                        futex_wait(WORD, word, next, timed, timed_out);
                        v = word
                    :: else -> skip
                    fi
                fi
            fi
        od;
        if
        :: got ->
            /* the critical section */
            inside++;
            assert(inside == 1);
            inside--;
            /* ct_lock_release */
            v = LOCKED;
            CAS(v, 0, ok);
            do
            :: ok -> break
            :: else ->
                assert((v & LOCKED) != 0);
                wake = false;
                if
                :: v >= ONE_WAITER && (v & (STARVING | HANDOFF)) == STARVING ->
                    next = v | HANDOFF; wake = true
                :: else ->
                    next = v & ~(LOCKED | HANDOFF);
                    if
                    :: v >= ONE_WAITER && (v & WOKEN) == 0 -> next = next | WOKEN; wake = true
                    :: else -> skip
                    fi
                fi;
                CAS(v, next, ok);
                if
                :: ok && wake -> futex_wake_one(WORD)
                :: else -> skip
                fi
            od
        :: else -> skip
        fi;
        /* scratch values do not count as state between rounds */
        v = 0; next = 0; i = 0; ok = false; wake = false;
        counted = false; timed_out = false; starving = false; got = false;
        rounds++
    od;
    /* the last one out finds the word clean */
    skip;
    d_step {
        done++;
        if
        :: done == N -> assert(word == 0)
        :: else -> skip
        fi
    }
}

init
{
    byte k = 1;
    atomic {
        futex_init();
        run locker(true);
        do
        :: k < N -> run locker(false); k++
        :: else -> break
        od
    }
}
