/*
 * cthreading — Python's threading module, in C.
 *
 * Threads with names, daemon flags and join(timeout); Lock, RLock,
 * Condition, Semaphore, BoundedSemaphore, Event, Timer, Barrier and
 * thread-local data; CT_WITH blocks that cannot leak a held lock; a timeout
 * on every wait. Each part has its own header below, which documents it.
 */
#ifndef CTHREADING_H
#define CTHREADING_H

#include "cthreading/common.h"
#include "cthreading/lock.h"
#include "cthreading/rlock.h"
#include "cthreading/cond.h"
#include "cthreading/sem.h"
#include "cthreading/event.h"
#include "cthreading/barrier.h"
#include "cthreading/thread.h"
#include "cthreading/local.h"
#include "cthreading/timer.h"
#include "cthreading/with.h"

#endif
