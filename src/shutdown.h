/*
 * Python's shutdown, shared by threads and timers: one atexit handler
 * (thread.c) waits until no non-daemon thread runs and no non-daemon timer
 * is pending or running, however those start one another meanwhile.
 */
#ifndef CT_SHUTDOWN_H
#define CT_SHUTDOWN_H

#include <stdbool.h>

/* Registers the handler, once per process; called when the first thread
 * or timer starts. */
void ct__shutdown_arm(void);

/* Waits until no non-daemon timer is live, unless the caller is running a
 * timer's callback; true if it had any to wait for. */
bool ct__timers_wait_idle(void);

#endif
