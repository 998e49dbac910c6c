/*
 * download — what its parts share: one job per URL, and the calls between
 * the main program (download.c), the transfer (transfer.c), the file names
 * (names.c) and the display (progress.c).
 */
#ifndef DOWNLOAD_H
#define DOWNLOAD_H

#include <cthreading.h>
#include <stdint.h>
#include <stdio.h>

/* A job's life: WAITING for a slot, ACTIVE while it transfers, then DONE,
 * FAILED or CANCELLED (Ctrl-C, before or during its transfer). */
enum job_state { JOB_WAITING, JOB_ACTIVE, JOB_DONE, JOB_FAILED, JOB_CANCELLED };

/* One URL. The job's thread writes the atomic fields (__atomic_* builtins)
 * while the display thread reads them; the others are set before the
 * thread starts, or read after it is joined. */
struct job {
    const char *url;
    char *name;          /* file name in the output folder, without '/' */
    ct_thread_t *thread;
    uint32_t state;      /* enum job_state; atomic */
    uint64_t received;   /* bytes received so far; atomic */
    int64_t expected;    /* the size the server announced, or -1; atomic */
    double started;      /* ct_monotonic() when it became ACTIVE */
    double elapsed;      /* seconds its transfer took, once DONE */
    uint64_t shown;      /* the display's own: bytes at its last frame */
    double rate;         /* the display's own: smoothed bytes per second */
};

/* Everything a transfer needs besides its job. */
struct setup {
    int dirfd;           /* the output folder */
    double stall_timeout; /* seconds without data before giving up */
    ct_event_t *stop;    /* set by Ctrl-C: abort every transfer */
};

/* transfer.c: transfers_begin readies libcurl, before any thread starts:
 * 0, or -1 if it cannot. transfers_end, after the last transfer, undoes it. */
int transfers_begin(void);
void transfers_end(void);
/* transfer.c: downloads job->url into job->name (through name.part),
 * leaving the job DONE, FAILED or CANCELLED and no partial file behind. */
void transfer(struct job *job, const struct setup *setup);

/* names.c: gives every job a safe file name: the URL's last path segment,
 * decoded, with '/', control characters and "..", "." and "" made
 * harmless, and duplicates (also of each other's ".part" files) made
 * distinct as "name.1.ext", "name.2.ext"... 0, or ENOMEM. */
int names_assign(struct job *jobs, size_t count);

/* progress.c: shows jobs on stdout, redrawn in place on a terminal and one
 * line per event otherwise. Calls between begin and end may come from any
 * thread. */
void progress_begin(struct job *jobs, size_t count);
void progress_started(const struct job *job);
void progress_finished(const struct job *job);
void progress_failed(const struct job *job, const char *reason);
void progress_end(void);
/* Writes n bytes as "123 B", "1.5 KiB", "20.0 MiB"... into buf. */
void format_size(char *buf, size_t size, double n);

#endif
