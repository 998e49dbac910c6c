/*
 * One download, done as libcurl's documentation asks of a threaded
 * program: curl_global_init runs once, before any thread starts
 * (transfers_begin); each thread has its own easy handle; and
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
 * The transfers share libcurl's DNS cache and TLS sessions, so that a host
 * is resolved, and a TLS session negotiated, about once and not once a URL;
 * libcurl locks each kind of shared data through callbacks, here one
 * ct_lock_t a kind. (Not the connections: libcurl does not support
 * sharing those between threads.)
 *
 * Bytes go from libcurl's buffer straight into the file with write(2), no
 * stdio buffer between. The file is "name.part" until the transfer is
 * complete; then rename(2) gives it its name in one step, so that "name"
 * only ever exists complete. Every other ending removes "name.part".
 */
#include "download.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* How long a wait for data may last before looking at the stop event and
 * the stall timeout again. */
#define STOP_CHECK_MS 100

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

void transfers_end(void)
{
    curl_share_cleanup(share);
    curl_global_cleanup();
}

/* Where libcurl's data goes. */
struct sink {
    struct job *job;
    CURL *curl;
    int fd;
    int error;   /* errno of a failed write, or 0 */
    bool sized;  /* job->expected is known */
    double last; /* ct_monotonic() when data last came */
};

/* libcurl's write callback: the whole chunk goes to the file, or the
 * transfer fails with CURLE_WRITE_ERROR. */
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
    for (size_t done = 0; done < len;) {
        ssize_t n = write(sink->fd, data + done, len - done);
        if (n < 0) {
            sink->error = errno;
            return 0;
        }
        done += (size_t)n;
    }
    __atomic_add_fetch(&sink->job->received, len, __ATOMIC_RELAXED);
    sink->last = ct_monotonic();
    return len;
}

/* Runs the transfer to its end, or until stop is set (then *stopped, and
 * the result means nothing), or until nothing came for the stall timeout
 * (CURLE_OPERATION_TIMEDOUT). Watching for stalls here, rather than with
 * CURLOPT_LOW_SPEED_TIME, makes the time exact: libcurl averages speed
 * over five seconds, so ten bytes at the start would keep it waiting. */
static CURLcode run(struct sink *sink, const struct setup *setup, bool *stopped, char *error)
{
    CURLM *multi = curl_multi_init();
    if (!multi)
        return CURLE_OUT_OF_MEMORY;
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
    curl_multi_cleanup(multi);
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
    char error[CURL_ERROR_SIZE] = "";
    CURL *curl = sink->curl = curl_easy_init();
    if (!curl) {
        snprintf(why, size, "cannot start a libcurl transfer");
        return;
    }
    curl_easy_setopt(curl, CURLOPT_URL, sink->job->url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SHARE, share);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 20L);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "cthreading-download/1.0");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);

    sink->last = ct_monotonic();
    CURLcode result = run(sink, setup, stopped, error);
    if (!*stopped && result != CURLE_OK)
        describe(curl, result, error, sink, setup->stall_timeout, why, size);
    curl_easy_cleanup(curl);
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
