/*
 * The wait seam (src/wait/wait.h), for the models that include this file:
 * futex_wait sleeps only if the word still holds the expected value,
 * compared atomically with going to sleep; futex_wake wakes sleepers on a
 * word, oldest first; futex_requeue_one moves a sleeper to another word.
 * A sleeper may also come back for no reason when
 * SPURIOUS is 1 (the seam allows it), and a timed sleeper when its
 * deadline passes (at any moment: the model knows no clock); either way
 * its caller re-checks. Words are small numbers chosen by each model;
 * processes have pids below P.
 *
 * asleep[p]: the word p sleeps on, or NONE. fifo[0..flen): the sleepers,
 * oldest first. fj: scratch, inside d_steps only (reset to 0 after).
 */
#define NONE 255

byte asleep[P];
byte fifo[P];
byte flen;
byte fj;

/* Takes fifo[fj] out, keeping the order. */
inline fifo_remove()
{
    do
    :: fj + 1 < flen -> fifo[fj] = fifo[fj + 1]; fj++
    :: else -> break
    od;
    flen--;
    fj = 0
}

/* Takes the calling process out of the queue. */
inline fifo_leave()
{
    fj = 0;
    do
    :: fifo[fj] != _pid -> fj++
    :: else -> break
    od;
    fifo_remove()
}

/* Sleeps on word f_word if f_value == f_expected (f_value is read in the
 * same atomic step), until woken, or spuriously, or (if f_timed) at the
 * deadline, which sets f_timed_out. */
inline futex_wait(f_word, f_value, f_expected, f_timed, f_timed_out)
{
    atomic {
        if
        :: f_timed -> f_timed_out = true          /* the deadline is already past */
        :: (f_value) == (f_expected) -> asleep[_pid] = f_word; fifo[flen] = _pid; flen++
        :: else -> skip
        fi
    }
    if
    :: asleep[_pid] == NONE -> skip
    :: SPURIOUS -> d_step { if :: asleep[_pid] != NONE -> fifo_leave(); asleep[_pid] = NONE :: else fi }
    :: f_timed -> d_step { if :: asleep[_pid] != NONE -> fifo_leave(); asleep[_pid] = NONE; f_timed_out = true :: else fi }
    fi
}

/* Wakes the oldest sleeper on word f_word, if there is one. */
inline futex_wake_one(f_word)
{
    d_step {
        fj = 0;
        do
        :: fj < flen && asleep[fifo[fj]] != f_word -> fj++
        :: else -> break
        od;
        if
        :: fj < flen -> asleep[fifo[fj]] = NONE; fifo_remove()
        :: else -> fj = 0
        fi
    }
}

/* Wakes every sleeper on word f_word. */
inline futex_wake_all(f_word)
{
    d_step {
        fj = 0;
        do
        :: fj < flen && asleep[fifo[fj]] == f_word -> asleep[fifo[fj]] = NONE; fifo_remove()
        :: fj < flen && asleep[fifo[fj]] != f_word -> fj++
        :: else -> break
        od;
        fj = 0
    }
}

/* ct__requeue: if f_value == f_expected (read in the same atomic step),
 * moves the oldest sleeper on word f_from to sleep on word f_to, keeping
 * its place in the queue (the kernel's order is by arrival too). */
inline futex_requeue_one(f_from, f_value, f_expected, f_to)
{
    d_step {
        fj = 0;
        do
        :: fj < flen && asleep[fifo[fj]] != f_from -> fj++
        :: else -> break
        od;
        if
        :: fj < flen && (f_value) == (f_expected) -> asleep[fifo[fj]] = f_to
        :: else -> skip
        fi;
        fj = 0
    }
}

inline futex_init()
{
    fj = 0;
    do
    :: fj < P -> asleep[fj] = NONE; fj++
    :: else -> break
    od;
    fj = 0
}
