/*
 * The condition variable of src/cond.c: the circular FIFO queue of
 * waiter nodes (prev, next, word per node; head and waiting), wait_until
 * with its brief spin, its SLEEPING bit and its timeout that clears it,
 * unlink_waiter with its baton, notify(n), and the wake that moves a
 * sleeping waiter onto the lock's word (ct__requeue) and counts it among
 * the lock's waiters, transcribed step by step.
 * The condition stands on a Lock, modelled as a word LOCKED or not, with
 * a count of the waiters the condition moved onto it: those sleep on the
 * lock's word, and a release that finds the count above zero wakes one
 * (lock.pml checks the Lock itself, with its spinning and its WOKEN and
 * hand-off bits; other arrivals simply wait here for the word to be
 * free). W waiters wait once each, waiter 0 without a timeout and the
 * others with one that may fire at any moment, racing a notifier that
 * calls notify(1), notify(2) or notify_all, then, once waiter 0 is
 * queued, notify_all.
 *
 * Checked, besides no invalid end state (no notified waiter asleep for
 * ever, on its word or on the lock's; no lost wake-up) and every wait
 * returning:
 *  - FIFO: the queue from head runs in the order the waiters queued, the
 *    notified ones first, waiting marking the first not notified; so
 *    notify(n) chooses the n oldest waiters not yet chosen;
 *  - a wait returns 0 exactly when notify chose it, also when its timeout
 *    fired meanwhile, and ETIMEDOUT otherwise;
 *  - the baton: whenever the lock is free, a notified head is WOKEN or
 *    QUEUED;
 *  - nothing touches a node whose thread has returned;
 *  - at the end the lock counts no waiter.
 */
#ifndef W
#define W 3
#endif
#ifndef SPURIOUS
#define SPURIOUS 0
#endif
#define P (W + 2) /* init, the notifier, the waiters */
#define LOCK_WORD W /* the futex word of the lock; the nodes' are 0..W-1 */

#include "futex.pml"

#define NIL 255
#define WAITING 0
#define NOTIFIED 1
#define WOKEN 2
#define QUEUED 3
#define STATE 3
#define SLEEPING 4
#define SPINS 1 /* looks before setting SLEEPING (SPIN_LIMIT in cond.c) */
#define ETIMEDOUT 110

bit lk;                                /* the Lock: LOCKED */
byte lwaiters;                         /* its waiters moved there by wake */
byte head = NIL, waiting = NIL;
byte prev[W], next[W], word[W];
/* ghosts */
byte ticket[W], tickets;
bool queued[W], chosen[W], gone[W];
byte returned;

inline lock() { atomic { lk == 0 -> lk = 1 } }

/* The queue's invariants, checked whenever the lock is released. */
inline check_queue()
{
    d_step {
        fj = head;
        bool in_notified = true;
        byte count = 0;
        do
        :: fj == NIL -> break
        :: else ->
            assert(!gone[fj] && queued[fj]);
            if
            :: fj == waiting -> in_notified = false
            :: else -> skip
            fi;
            assert(chosen[fj] == in_notified);
            assert(next[fj] == head || ticket[next[fj]] > ticket[fj]);
            assert(prev[next[fj]] == fj);
            count++;
            assert(count <= W);
            fj = (next[fj] == head -> NIL : next[fj])
        od;
        assert(head == NIL || !chosen[head] || (word[head] & STATE) >= WOKEN);
        assert(waiting == NIL || !in_notified);
        in_notified = false;
        count = 0;
        fj = 0
    }
}

inline unlock()
{
    check_queue();
    /* the release and its wake in one step: lock.pml checks the gap */
    atomic {
        lk = 0;
        if
        :: lwaiters > 0 -> futex_wake_one(LOCK_WORD)
        :: else -> skip
        fi
    }
}

/* ct__lock_acquire_counted, for a waiter wake counted in: sleeps on the
 * lock's word while it is LOCKED, and leaves the count as it takes it. */
inline lock_counted()
{
    do
    :: atomic { lk == 0 -> lk = 1; lwaiters--; break }
    :: else -> futex_wait(LOCK_WORD, lk, 1, false, timed_out)
    od
}

/* One atomic step decides by SLEEPING: a sleeping waiter becomes QUEUED,
 * is moved onto the lock's word and counted there; another becomes WOKEN
 * (old: a local of the calling process). */
inline wake(x)
{
    assert(!gone[x]);
    d_step {
        old = word[x];
        if
        :: (old & SLEEPING) != 0 -> word[x] = QUEUED
        :: else -> word[x] = WOKEN
        fi
    }
    /* One step, as the lock is held and only its release reads the count;
     * the waiter changes a QUEUED word no more. */
    if
    :: (old & SLEEPING) != 0 ->
        d_step { futex_requeue_one(x, word[x], QUEUED, LOCK_WORD); lwaiters++ }
    :: else -> skip
    fi;
    old = 0
}

/* next_of: the node after x, or NIL at the tail. */
#define NEXT_OF(x) (next[x] == head -> NIL : next[x])

inline unlink_waiter(x)
{
    if
    :: waiting == x -> waiting = NEXT_OF(x)
    :: else -> skip
    fi;
    if
    :: next[x] == x -> head = NIL
    :: else ->
        next[prev[x]] = next[x];
        prev[next[x]] = prev[x];
        if
        :: head == x -> head = next[x]
        :: else -> skip
        fi
    fi;
    if
    :: head != NIL && (word[head] & STATE) == NOTIFIED -> wake(head)
    :: else -> skip
    fi
}

proctype waiter(byte me; bool timed)
{
    byte seen, rc, spins, old;
    bool timed_out, ok;

    lock();
    /* wait_until: queue the node */
    word[me] = WAITING;
    if
    :: head != NIL ->
        prev[me] = prev[head]; next[me] = head;
        next[prev[head]] = me; prev[head] = me
    :: else -> prev[me] = me; next[me] = me; head = me
    fi;
    if
    :: waiting == NIL -> waiting = me
    :: else -> skip
    fi;
    d_step { queued[me] = true; ticket[me] = tickets; tickets++ }
    unlock(); /* release_save */
    do
    :: /* the load, and after a timeout the compare-and-swap that clears
        * SLEEPING (a failed one loads again: one step with the load) */
       d_step {
           seen = word[me];
           if
           :: (seen & STATE) < WOKEN && timed_out -> word[me] = seen & ~SLEEPING
           :: else -> skip
           fi
       }
       if
       :: (seen & STATE) >= WOKEN || timed_out -> break
       :: else
       fi;
       if
       :: (seen & SLEEPING) == 0 && spins < SPINS -> spins++
       :: (seen & SLEEPING) != 0 || spins == SPINS ->
           ok = true;
           if
           :: (seen & SLEEPING) == 0 ->
               d_step {
                   if
                   :: word[me] == seen -> word[me] = seen | SLEEPING
                   :: else -> ok = false
                   fi
               }
           :: else -> skip
           fi;
           if
           :: ok -> futex_wait(me, word[me], seen | SLEEPING, timed, timed_out)
           :: else -> skip
           fi
       fi
    od;
    /* acquire_restore */
    if
    :: (seen & STATE) == QUEUED -> lock_counted()
    :: else -> lock()
    fi;
    seen = 0; spins = 0; timed_out = false; ok = false; /* dead from here */
    rc = ((word[me] & STATE) == WAITING -> ETIMEDOUT : 0);
    assert((rc == 0) == chosen[me]);
    unlink_waiter(me);
    d_step { gone[me] = true; queued[me] = false; chosen[me] = false; returned++ }
    unlock()
}

inline notify(count)
{
    byte first = waiting, x = waiting, n = count;
    do
    :: x != NIL && n > 0 ->
        word[x] = word[x] | NOTIFIED; chosen[x] = true;
        x = NEXT_OF(x); n--
    :: else -> break
    od;
    waiting = x;
    if
    :: x != first && first == head -> wake(first)
    :: else -> skip
    fi;
    first = 0; x = 0; n = 0
}

proctype notifier()
{
    byte old; /* wake's */
    lock();
    if
    :: notify(1)
    :: notify(2)
    :: notify(W)
    fi;
    unlock();
    (queued[0] || gone[0]);
    lock();
    notify(W);
    unlock()
}

init
{
    byte k = 0;
    atomic {
        futex_init();
        run notifier();
        do
        :: k < W -> run waiter(k, k > 0); k++
        :: else -> break
        od
    }
    _nr_pr == 1 -> assert(returned == W && lwaiters == 0 && lk == 0)
}
