/*
 * The event of src/event.c: one word, SET, WAITERS and a generation that
 * every set of a clear event advances; set, clear and the wait loop,
 * each compare-and-swap one atomic step. Two waiters, one waiting without
 * a timeout and one with a timeout that may fire at any moment, race a
 * thread that sets, clears and sets again (or clears at once after the
 * first set); the last set stays.
 *
 * Checked: no invalid end state (the waiter without a timeout always
 * returns: no set is lost on a sleeper); and Python's rule that a wait
 * in progress when a set happens returns 0, even if a clear follows
 * before it wakes (a ghost marks the waiters inside their wait at each
 * set).
 */
#ifndef SPURIOUS
#define SPURIOUS 0
#endif
#define WAITERS_N 2
#define P (WAITERS_N + 2) /* init, the setter, the waiters */

#include "futex.pml"

#define SET 1
#define WAITERS 2
#define GENERATION 252 /* bits 2-7 */
#define ONE_GENERATION 4
#define ETIMEDOUT 110
#define WORD 0

byte word;
/* ghosts: who is inside a wait (has read the word), who must return 0 */
bool inside[P], must_succeed[P];

inline set()
{
    byte w = word, next;
    bool ok = false;
    do
    :: ok -> break
    :: else ->
        next = ((w & SET) != 0 -> w : ((w & GENERATION) + ONE_GENERATION + SET) & 255);
        d_step {
            if
            :: word == w ->
                word = next; ok = true;
                /* every wait in progress now must return 0 */
                fj = 0;
                do
                :: fj < P -> must_succeed[fj] = must_succeed[fj] || inside[fj]; fj++
                :: else -> break
                od;
                fj = 0
            :: else -> w = word
            fi
        }
    od;
    if
    :: (w & WAITERS) != 0 -> futex_wake_all(WORD)
    :: else -> skip
    fi;
    w = 0; next = 0; ok = false
}

inline clear()
{
    d_step { word = word & ~SET }
}

proctype setter()
{
    set();
    if
    :: clear(); set()
    :: clear()
    fi;
    set()
}

proctype waiter(bool timed)
{
    byte w, generation, rc;
    bool timed_out, ok;

    d_step { w = word; inside[_pid] = true }
    generation = w & GENERATION;
    do
    :: (w & SET) != 0 || (w & GENERATION) != generation -> rc = 0; break
    :: else ->
        if
        :: timed_out -> rc = ETIMEDOUT; break
        :: else -> skip
        fi;
        ok = true;
        if
        :: (w & WAITERS) == 0 ->
            d_step {
                if
                :: word == w -> word = w | WAITERS
                :: else -> w = word; ok = false
                fi
            }
        :: else -> skip
        fi;
        if
        :: ok ->
            futex_wait(WORD, word, w | WAITERS, timed, timed_out);
            /* after a timeout, this read decides: a set after it is
             * after the wait */
            d_step {
                w = word;
                if
                :: timed_out -> inside[_pid] = false
                :: else -> skip
                fi
            }
        :: else -> skip
        fi
    od;
    skip;
    d_step { inside[_pid] = false }
    assert(rc == 0 || !must_succeed[_pid])
}

init
{
    atomic {
        futex_init();
        run setter();
        run waiter(false);
        run waiter(true)
    }
}
