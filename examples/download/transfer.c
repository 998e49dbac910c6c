/*
 * One download, done as libcurl's documentation asks of a threaded
 * program: curl_global_init runs once, before any thread starts
 * (transfers_begin); a handle is used by one thread at a time; and
 * CURLOPT_NOSIGNAL keeps libcurl's timeouts off signals, which would land
 * in whichever thread they pleased.
 *
 * The easy handle runs in a multi handle of its own rather than in
 * curl_easy_perform only so that the thread wakes at least every 100 ms to
 * look at the stop event and at the time since data last came: Ctrl-C
 * stops every transfer within a tenth of a second, even one stuck on a
 * silent server. (curl_easy_perform runs the same loop, waking once a
 * second.)
 *
 * Connections are reused the way libcurl allows with threads: not through
 * a shared connection cache (CURL_LOCK_DATA_CONNECT is documented as
 * unsupported between concurrent threads, a known libcurl bug), but by
 * handing the handles themselves on. A transfer that ends puts its multi
 * and easy handle on an idle list, its connection still open in the multi
 * handle, and the thread of the next URL takes them from there: 303 files
 * from one server at -j 3 take 3 connections, not 303 (and 3 multi
 * handles, each with its wake-up socket pair, instead of 303). With the
 * larger receive buffer below, that cut the CPU time of bench/tools'
 * download set by a quarter.
 *
 * The transfers share libcurl's DNS cache and TLS sessions, so that a host
 * is resolved, and a TLS session negotiated, about once and not once a
 * handle; libcurl locks each kind of shared data through callbacks, here
 * one ct_lock_t a kind.
 *
 * Bytes go from libcurl's buffer into the file through a buffer of the
 * handle's own, written with write(2) whenever it is full and at the end:
 * never a whole file in memory, no stdio between. The file is "name.part"
 * until the transfer is complete; then rename(2) gives it its name in one
 * step, so that "name" only ever exists complete. Every other ending
 * removes "name.part".
 */
#include "download.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long a wait for data may last before looking at the stop event and
 * the stall timeout again. */
#define STOP_CHECK_MS 100

/* libcurl's receive buffer (its default is 16 KiB): one recv and one
 * poll per 256 KiB of a large file rather than per 16 KiB. Of 64 to 512
 * KiB, 256 KiB cost the least CPU on bench/tools' download set. */
#define RECEIVE_SIZE (256L * 1024)

/* libcurl hands data to the write callback 16 KiB at a time, whatever its
 * buffer; gathered here, it reaches the file in one write(2) per 256 KiB:
 * for bench/tools' 211 MiB set, 1,100 write calls instead of 14,000, and
 * a quarter less wall time on ext4. Each handle has its buffers, and
 * there are never more handles than -j. */
#define WRITE_SIZE (256 * 1024)
_Static_assert(WRITE_SIZE >= CURL_MAX_WRITE_SIZE, "a chunk from libcurl fits the buffer");

static CURLSH *share;
static ct_lock_t share_locks[CURL_LOCK_DATA_LAST];

static void lock_share(CURL *curl, curl_lock_data data, curl_lock_access access, void *arg)
{
    (void)curl, (void)access, (void)arg;
    ct_lock_acquire(&share_locks[data]);
}

static void unlock_share(CURL *curl, curl_lock_data data, void *arg)
{
    (void)curl, (void)arg;
    ct_lock_release(&share_locks[data]);
}

int transfers_begin(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        return -1;
    /* Without a share (out of memory), each transfer keeps its own. */
    share = curl_share_init();
    if (share) {
        curl_share_setopt(share, CURLSHOPT_LOCKFUNC, lock_share);
        curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, unlock_share);
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
    return 0;
}

/* Where libcurl's data goes. */
struct sink {
    struct job *job;
    CURL *curl;
    int fd;
    int error;    /* errno of a failed write, or 0 */
    bool sized;   /* job->expected is known */
    double last;  /* ct_monotonic() when data last came */
    char *buffer; /* WRITE_SIZE bytes, of which used wait to be written */
    size_t used;
};

/* Writes len bytes to the file: true, or false with sink->error set. */
static bool write_all(struct sink *sink, const char *data, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = write(sink->fd, data + done, len - done);
        if (n < 0) {
            sink->error = errno;
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

/* Writes out what the buffer holds: true, or false with sink->error set. */
static bool flush(struct sink *sink)
{
    size_t used = sink->used;
    sink->used = 0;
    return write_all(sink, sink->buffer, used);
}

/* libcurl's write callback: the chunk joins the buffer, which goes to the
 * file when full, or the transfer fails with CURLE_WRITE_ERROR. */
static size_t on_data(char *data, size_t size, size_t count, void *arg)
{
    struct sink *sink = arg;
    size_t len = size * count;
    if (!sink->sized) {
        /* Once the body begins, after any redirect, its size is known. */
        curl_off_t length = -1;
        curl_easy_getinfo(sink->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        __atomic_store_n(&sink->job->expected, (int64_t)length, __ATOMIC_RELAXED);
        sink->sized = true;
    }
    if (sink->used + len > WRITE_SIZE && !flush(sink))
        return 0;
    memcpy(sink->buffer + sink->used, data, len);
    sink->used += len;
    __atomic_add_fetch(&sink->job->received, len, __ATOMIC_RELAXED);
    sink->last = ct_monotonic();
    return len;
}

/* A transfer's libcurl handles, kept for the next URL when the transfer
 * ends: the multi handle keeps the connection, which the next transfer to
 * the same server reuses. */
struct handles {
    CURLM *multi;
    CURL *curl;
    char error[CURL_ERROR_SIZE];
    struct handles *next;
    char buffer[WRITE_SIZE]; /* the sink's */
};

/* The handles no transfer is using. A transfer holds a slot while it has
 * handles, so there are never more than -j of them. */
static struct {
    ct_lock_t lock;
    struct handles *first;
} idle = { .lock = CT_LOCK_INIT };

static void free_handles(struct handles *h)
{
    curl_multi_cleanup(h->multi); /* closes the connections it keeps */
    curl_easy_cleanup(h->curl);
    free(h);
}

/* Idle handles, or new ones: NULL when out of memory. */
static struct handles *take_handles(void)
{
    struct handles *h = NULL;
    CT_WITH(&idle.lock) {
        if ((h = idle.first))
            idle.first = h->next;
    }
    if (h)
        return h;
    if (!(h = calloc(1, sizeof *h)))
        return NULL;
    h->multi = curl_multi_init();
    h->curl = curl_easy_init();
    if (!h->multi || !h->curl) {
        free_handles(h);
        return NULL;
    }
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_SHARE, share);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->error);
    curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h->curl, CURLOPT_MAXREDIRS, 20L);
    curl_easy_setopt(h->curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "cthreading-download/1.0");
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->curl, CURLOPT_BUFFERSIZE, RECEIVE_SIZE);
    return h;
}

static void give_back(struct handles *h)
{
    CT_WITH(&idle.lock) {
        h->next = idle.first;
        idle.first = h;
    }
}

void transfers_end(void)
{
    /* No lock: every transfer's thread has ended. */
    while (idle.first) {
        struct handles *h = idle.first;
        idle.first = h->next;
        free_handles(h);
    }
    curl_share_cleanup(share);
    curl_global_cleanup();
}

/* Runs the transfer to its end, or until stop is set (then *stopped, and
 * the result means nothing), or until nothing came for the stall timeout
 * (CURLE_OPERATION_TIMEDOUT). Watching for stalls here, rather than with
 * CURLOPT_LOW_SPEED_TIME, makes the time exact: libcurl averages speed
 * over five seconds, so ten bytes at the start would keep it waiting. */
static CURLcode run(CURLM *multi, struct sink *sink, const struct setup *setup, bool *stopped,
                    char *error)
{
    CURLcode result = CURLE_OPERATION_TIMEDOUT;
    CURLMcode status = curl_multi_add_handle(multi, sink->curl);
    int running = 1;
    while (status == CURLM_OK && running && !(*stopped = ct_event_is_set(setup->stop)) &&
           ct_monotonic() - sink->last < setup->stall_timeout) {
        status = curl_multi_perform(multi, &running);
        if (status == CURLM_OK && running)
            status = curl_multi_poll(multi, NULL, 0, STOP_CHECK_MS, NULL);
    }
    int queued;
    CURLMsg *message = curl_multi_info_read(multi, &queued);
    if (message && message->msg == CURLMSG_DONE)
        result = message->data.result;
    if (status != CURLM_OK) {
        snprintf(error, CURL_ERROR_SIZE, "%s", curl_multi_strerror(status));
        result = CURLE_FAILED_INIT;
    }
    curl_multi_remove_handle(multi, sink->curl);
    return result;
}

/* Says in why, in one line, why result ended curl's transfer. */
static void describe(CURL *curl, CURLcode result, const char *error, const struct sink *sink,
                     double stall_timeout, char *why, size_t size)
{
    long number = 0;
    if (result == CURLE_HTTP_RETURNED_ERROR) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &number);
        snprintf(why, size, "HTTP error %ld", number);
    } else if (result == CURLE_WRITE_ERROR && sink->error) {
        snprintf(why, size, "cannot write %s.part: %s", sink->job->name, strerror(sink->error));
    } else if (result == CURLE_OPERATION_TIMEDOUT) {
        snprintf(why, size, "timed out: nothing received for %g s", stall_timeout);
    } else if (result == CURLE_COULDNT_CONNECT &&
               curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &number) == CURLE_OK && number) {
        /* curl says "Couldn't connect to server"; the system says why. */
        snprintf(why, size, "cannot connect: %s", strerror((int)number));
    } else {
        snprintf(why, size, "%s", *error ? error : curl_easy_strerror(result));
    }
}

/* Downloads into sink->fd; on failure, says why in why. */
static void perform(struct sink *sink, const struct setup *setup, bool *stopped, char *why,
                    size_t size)
{
    struct handles *h = take_handles();
    if (!h) {
        snprintf(why, size, "cannot start a libcurl transfer");
        return;
    }
    sink->curl = h->curl;
    sink->buffer = h->buffer;
    h->error[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_URL, sink->job->url);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, sink);
    sink->last = ct_monotonic();
    CURLcode result = run(h->multi, sink, setup, stopped, h->error);
    if (!*stopped && result == CURLE_OK && !flush(sink))
        result = CURLE_WRITE_ERROR;
    if (!*stopped && result != CURLE_OK)
        describe(h->curl, result, h->error, sink, setup->stall_timeout, why, size);
    /* A multi handle that failed (out of memory) is not trusted again. */
    if (result == CURLE_FAILED_INIT)
        free_handles(h);
    else
        give_back(h);
}

void transfer(struct job *job, const struct setup *setup)
{
    char part[NAME_MAX + 1];
    char why[CURL_ERROR_SIZE + NAME_MAX + 64] = "";
    bool stopped = false;
    snprintf(part, sizeof part, "%s.part", job->name);
    job->started = ct_monotonic();
    __atomic_store_n(&job->state, JOB_ACTIVE, __ATOMIC_RELEASE);
    progress_started(job);

    /* O_NOFOLLOW: a symlink planted under this name is not followed out of
     * the folder. */
    struct sink sink = { .job = job };
    sink.fd = openat(setup->dirfd, part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                     0666);
    if (sink.fd < 0) {
        snprintf(why, sizeof why, "cannot create %s: %s", part, strerror(errno));
    } else {
        perform(&sink, setup, &stopped, why, sizeof why);
        if (close(sink.fd) && !*why)
            snprintf(why, sizeof why, "cannot write %s: %s", part, strerror(errno));
        if (!stopped && !*why && renameat(setup->dirfd, part, setup->dirfd, job->name))
            snprintf(why, sizeof why, "cannot rename %s: %s", part, strerror(errno));
        if (stopped || *why)
            unlinkat(setup->dirfd, part, 0);
    }
    job->elapsed = ct_monotonic() - job->started;
    enum job_state end = stopped ? JOB_CANCELLED : *why ? JOB_FAILED : JOB_DONE;
    __atomic_store_n(&job->state, end, __ATOMIC_RELEASE);
    if (end == JOB_FAILED)
        progress_failed(job, why);
    else
        progress_finished(job);
}
