/*
 * The barrier of src/barrier.c: one word (phase in bits 0-1, generation
 * above) that every waiter sleeps on, the arrival count under the
 * barrier's lock (a plain mutex here; lock.pml checks the Lock), the last
 * arrival running the action with the lock free and passing the
 * generation by compare-and-swap, waiters leaving a broken generation one
 * by one, reset reopening the barrier once they have left. Three waiters
 * arrive once each at a barrier of two parties: waiter 0 without a
 * timeout, the others with one that may fire at any moment; the action
 * may fail; a controller may reset or abort at any moment, and aborts at
 * the end so that every wait ends.
 *
 * Promela picks any option whose guard holds, so the guards of each
 * C if-else chain are written to exclude one another.
 *
 * Checked: no invalid end state (no waiter left asleep: every change that
 * ends a wait wakes); a generation passes whole or not at all: the
 * waiters that get 0 for a generation are exactly `parties` of them, with
 * distinct indices, and its action ran once, before any of them returned;
 * the count never exceeds the parties.
 */
#ifndef SPURIOUS
#define SPURIOUS 0
#endif
#define WAITERS_N 3
#define PARTIES 2
#define P (WAITERS_N + 3) /* init, the controller, the waiters (and spare) */

#include "futex.pml"

#define FILLING 0
#define RELEASING 1
#define BROKEN 2
#define RESETTING 3
#define PHASE 3
#define ONE_GENERATION 4
#define GENERATIONS 16 /* ghost slots: more than the model can pass */
#define EBROKEN 200
#define ETIMEDOUT 110
#define ACTION_FAILED 77
#define WORD 0

bit bl;            /* the barrier's lock */
byte word, count;
/* ghosts: per generation, the indices that passed and the actions run */
byte passed[GENERATIONS], actions[GENERATIONS];
byte finished;

inline lock() { atomic { bl == 0 -> bl = 1 } }
inline unlock() { assert(count <= PARTIES); bl = 0 }

#define GEN(w) ((w) / ONE_GENERATION)
#define WITH_PHASE(w, p) (((w) & ~PHASE) | (p))
#define NEXT_GENERATION(w) (((w) & ~PHASE) + ONE_GENERATION)

/* move: m_from -> m_to, waking all; m_moved: whether the word was m_from. */
inline move(m_from, m_to, m_moved)
{
    d_step {
        if
        :: word == m_from -> word = m_to; m_moved = true
        :: else -> m_moved = false
        fi
    }
    if
    :: m_moved -> futex_wake_all(WORD)
    :: else -> skip
    fi
}

/* end: under the lock, generation e_from broken in phase e_to. */
inline end(e_from, e_to, e_ended)
{
    move(e_from, WITH_PHASE(e_from, e_to), e_ended);
    if
    :: e_ended && (e_from & PHASE) == RELEASING -> count = PARTIES
    :: else -> skip
    fi
}

/* leave: under the lock, a waiter of a broken generation leaves. */
inline leave(l_tmp, l_moved)
{
    count--;
    l_tmp = word;
    if
    :: count == 0 && (l_tmp & PHASE) == RESETTING -> move(l_tmp, NEXT_GENERATION(l_tmp), l_moved)
    :: else -> skip
    fi
}

inline break_locked(b_tmp, b_ended)
{
    do
    :: b_tmp = word;
       if
       :: (b_tmp & PHASE) == BROKEN -> break
       :: else -> end(b_tmp, BROKEN, b_ended);
          if
          :: b_ended -> break
          :: else -> skip
          fi
       fi
    od
}

proctype waiter(bool timed)
{
    byte w, i, joined, releasing, rc, tmp;
    bool timed_out, ok, breaks;

    lock();
    w = word;
    do
    :: (w & PHASE) == FILLING -> break
    :: (w & PHASE) == BROKEN -> unlock(); rc = EBROKEN; goto out
    :: else ->
        unlock();
        timed_out = false;
        futex_wait(WORD, word, w, timed, timed_out);
        lock();
        if
        :: timed_out && word == w ->
            break_locked(tmp, ok); unlock(); rc = ETIMEDOUT; goto out
        :: else -> skip
        fi;
        w = word
    od;
    i = count;
    joined = w;
    if
    :: i + 1 == PARTIES ->
        /* release: the action runs with the lock free */
        releasing = WITH_PHASE(w, RELEASING);
        word = releasing;
        count = 0;
        unlock();
        d_step { actions[GEN(w)]++; assert(passed[GEN(w)] == 0) }
        if
        :: move(releasing, NEXT_GENERATION(releasing), ok);
           if
           :: ok -> rc = 0
           :: else -> rc = EBROKEN
           fi
        :: rc = ACTION_FAILED; ok = false
        fi;
        if
        :: !ok ->
            lock();
            end(releasing, BROKEN, breaks);
            leave(tmp, breaks);
            unlock()
        :: else -> skip
        fi
    :: else ->
        count = i + 1;
        unlock();
        /* wait_released */
        do
        :: w = word;
           if
           :: ((w ^ joined) & ~PHASE) != 0 -> rc = 0; break
           :: ((w ^ joined) & ~PHASE) == 0 && ((w & PHASE) == BROKEN || (w & PHASE) == RESETTING) ->
               lock(); leave(tmp, ok); unlock(); rc = EBROKEN; break
           :: ((w ^ joined) & ~PHASE) == 0 && (w & PHASE) != BROKEN && (w & PHASE) != RESETTING ->
               if
               :: (w & PHASE) == RELEASING -> timed = false
               :: else -> skip
               fi;
               timed_out = false;
               futex_wait(WORD, word, w, timed, timed_out);
               if
               :: timed_out ->
                   lock();
                   breaks = word == joined;
                   if
                   :: breaks -> end(joined, BROKEN, ok); leave(tmp, ok)
                   :: else -> skip
                   fi;
                   unlock();
                   if
                   :: breaks -> rc = ETIMEDOUT; break
                   :: else -> skip
                   fi
               :: else -> skip
               fi
           fi
        od
    fi;
out:
    skip;
    d_step {
        if
        :: rc == 0 ->
            /* the generation joined passed: once, by all, each its index */
            assert(GEN(joined) < GENERATIONS);
            assert(actions[GEN(joined)] == 1);
            assert((passed[GEN(joined)] & (1 << i)) == 0);
            passed[GEN(joined)] = passed[GEN(joined)] | (1 << i)
        :: else -> skip
        fi;
        finished++
    }
}

proctype controller()
{
    byte tmp, w, n;
    bool ok;
    if
    :: skip
    :: /* reset */
        lock();
        do
        :: w = word; n = count;
           if
           :: (w & PHASE) == RESETTING || ((w & PHASE) == FILLING && n == 0) -> break
           :: (w & PHASE) == BROKEN && n == 0 -> move(w, NEXT_GENERATION(w), ok); break
           :: else -> end(w, RESETTING, ok);
              if
              :: ok -> break
              :: else -> skip
              fi
           fi
        od;
        unlock()
    :: lock(); break_locked(tmp, ok); unlock()
    fi;
    /* the end: an abort, so that every wait ends */
    lock(); break_locked(tmp, ok); unlock();
    (finished == WAITERS_N);
    /* a generation passes whole or not at all */
    d_step {
        n = 0;
        do
        :: n < GENERATIONS ->
            assert(passed[n] == 0 || passed[n] == (1 << PARTIES) - 1);
            assert(passed[n] == 0 || actions[n] == 1);
            n++
        :: else -> break
        od
    }
}

init
{
    atomic {
        futex_init();
        run controller();
        run waiter(false);
        run waiter(true);
        run waiter(true)
    }
}
