/*
 * download — fetches many URLs at once, the way Python's threading
 * tutorial does it: one thread per URL, a BoundedSemaphore so that at most
 * N of them transfer at a time, and a join of every thread at the end.
 *
 *     download [-j N] [-o DIR] [-t SECONDS] [-i FILE] URL...
 *
 * Ctrl-C (SIGINT; also SIGTERM, and SIGHUP when the terminal goes away)
 * sets one Event. Every transfer sees it within a tenth of a second, stops
 * and removes its partial file; each thread still waiting for a slot gets
 * one as the transfers end, sees the event and leaves without starting;
 * then all are joined and the program exits 130. The signals are blocked
 * in every thread and taken by one thread with sigwait(), so the event is
 * set by an ordinary thread and not in a signal handler, where few
 * functions may be called.
 *
 * Exit status: 0 all saved, 1 some failed, 2 bad usage, 130 interrupted.
 */
#include "download.h"

#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each thread's stack. A thread waiting for a slot uses almost none, and
 * a plain HTTP transfer runs in 32 KiB (measured): 256 KiB leaves room for
 * TLS and sanitizers, and keeps 10,000 waiting threads from reserving the
 * 80 GiB of address space that default 8 MiB stacks would. */
#define STACK_SIZE (256 * 1024)

static const char usage[] =
    "usage: download [-j N] [-o DIR] [-t SECONDS] [-i FILE] URL...\n"
    "Downloads every URL at once, N at a time, each into a file named after\n"
    "the URL's last path segment.\n"
    "  -j N        transfer at most N files at once (default 3)\n"
    "  -o DIR      save the files in DIR, made if missing (default: here)\n"
    "  -t SECONDS  give up on a server silent for that long (default 30)\n"
    "  -i FILE     also read URLs from FILE, one a line ('-': stdin)\n";

static ct_sem_t slots;
static ct_event_t stop = CT_EVENT_INIT;
static struct setup setup = { .dirfd = -1, .stall_timeout = 30, .stop = &stop };

struct options {
    unsigned long jobs;
    const char *folder;
    char **urls;
    size_t count, room;
};

/* A thread: one URL, when a slot is free. */
static void *fetch(void *arg)
{
    struct job *job = arg;
    CT_WITH(&slots) {
        if (ct_event_is_set(&stop))
            __atomic_store_n(&job->state, JOB_CANCELLED, __ATOMIC_RELEASE);
        else
            transfer(job, &setup);
    }
    return NULL;
}

/* The thread that takes SIGINT, SIGTERM and SIGHUP for all. */
static void *take_signals(void *arg)
{
    const sigset_t *signals = arg;
    int number;
    while (!sigwait(signals, &number))
        ct_event_set(&stop);
    return NULL;
}

/* Makes one thread take SIGINT, SIGTERM and SIGHUP for all: 0 or an errno
 * value. Called before any other thread starts, so that every thread
 * inherits the mask that blocks them (libcurl's resolver threads too).
 * SIGPIPE: libcurl asks its users to ignore it when CURLOPT_NOSIGNAL is
 * set. */
static int take_signals_in_one_thread(void)
{
    static sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    ct_thread_opts opts = { .name = "signals", .daemon = CT_DAEMON };
    ct_thread_t *taker = ct_thread_spawn(take_signals, &signals, &opts);
    if (!taker)
        return errno;
    ct_thread_unref(taker); /* a daemon, left waiting when the program ends */
    return 0;
}

/* Adds a copy of url to the list: 0 or ENOMEM. */
static int add_url(struct options *o, const char *url)
{
    if (o->count == o->room) {
        size_t room = o->room ? 2 * o->room : 64;
        char **urls = realloc(o->urls, room * sizeof *urls);
        if (!urls)
            return ENOMEM;
        o->urls = urls;
        o->room = room;
    }
    if (!(o->urls[o->count] = strdup(url)))
        return ENOMEM;
    o->count++;
    return 0;
}

/* Adds the URLs in path ("-": stdin), one a line; blank lines and lines
 * starting with '#' are skipped. 0 or an errno value. */
static int read_urls(struct options *o, const char *path)
{
    FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!in)
        return errno;
    char *line = NULL;
    size_t size = 0;
    int err = 0;
    while (!err && getline(&line, &size, in) >= 0) {
        char *url = line + strspn(line, " \t");
        url[strcspn(url, " \t\r\n")] = '\0';
        if (*url && *url != '#')
            err = add_url(o, url);
    }
    if (!err && ferror(in))
        err = errno;
    free(line);
    if (in != stdin)
        fclose(in);
    return err;
}

/* Reads the command line into o: -1 to go on, or the exit status (2 after
 * saying why on stderr, 0 after -h). */
static int parse(int argc, char **argv, struct options *o)
{
    int c, err;
    char *end;
    while ((c = getopt(argc, argv, "hj:o:t:i:")) != -1) {
        switch (c) {
        case 'j':
            errno = 0;
            o->jobs = strtoul(optarg, &end, 10);
            if (errno || *end || end == optarg || o->jobs < 1 || o->jobs > CT_SEM_VALUE_MAX) {
                fprintf(stderr, "download: -j wants a number of transfers, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'o':
            o->folder = optarg;
            break;
        case 't':
            errno = 0;
            setup.stall_timeout = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(setup.stall_timeout > 0)) {
                fprintf(stderr, "download: -t wants a number of seconds, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'i':
            if ((err = read_urls(o, optarg))) {
                fprintf(stderr, "download: cannot read URLs from %s: %s\n", optarg,
                        strerror(err));
                return 2;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (add_url(o, argv[i])) {
            fprintf(stderr, "download: out of memory\n");
            return 2;
        }
    }
    if (o->count == 0) {
        fputs(usage, stderr);
        return 2;
    }
    return -1;
}

/* Makes the folder path and any parents missing: 0 or an errno value. */
static int make_folders(const char *path)
{
    char part[PATH_MAX];
    if (snprintf(part, sizeof part, "%s", path) >= (int)sizeof part)
        return ENAMETOOLONG;
    for (char *p = part + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = '\0';
            if (mkdir(part, 0777) && errno != EEXIST)
                return errno;
            if (!(*p = c))
                return 0;
        }
    }
}

/* Opens the output folder, making it if missing: a descriptor, or -1
 * after saying why on stderr. */
static int open_folder(const char *path)
{
    int err = make_folders(path);
    int fd = err ? -1 : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        fprintf(stderr, "download: cannot use folder %s: %s\n", path, strerror(err ? err : errno));
    return fd;
}

/* Joins a job's thread, if it has one. */
static void finish(struct job *job)
{
    if (job->thread) {
        ct_thread_join(job->thread, NULL);
        ct_thread_unref(job->thread);
        job->thread = NULL;
    }
}

/* One thread per URL, all joined. When the OS has no thread left to give,
 * the oldest one is joined first to make room. */
static void run_all(struct job *jobs, size_t count)
{
    size_t joined = 0;
    for (size_t i = 0; i < count; i++) {
        ct_thread_opts opts = { .name = jobs[i].name, .stack_size = STACK_SIZE };
        while (!(jobs[i].thread = ct_thread_spawn(fetch, &jobs[i], &opts)) && errno == EAGAIN &&
               joined < i)
            finish(&jobs[joined++]);
        if (!jobs[i].thread) {
            char why[128];
            snprintf(why, sizeof why, "cannot start a thread: %s", strerror(errno));
            __atomic_store_n(&jobs[i].state, JOB_FAILED, __ATOMIC_RELEASE);
            progress_failed(&jobs[i], why);
        }
    }
    while (joined < count)
        finish(&jobs[joined++]);
}

/* "3 of 4 files saved, 12.0 MiB in 1.25 s (9.6 MiB/s); 1 failed", and the
 * exit status. */
static int summarize(const struct job *jobs, size_t count, double elapsed)
{
    size_t saved = 0, failed = 0;
    double bytes = 0;
    for (size_t i = 0; i < count; i++) {
        if (jobs[i].state == JOB_DONE) {
            saved++;
            bytes += (double)jobs[i].received;
        }
        failed += jobs[i].state == JOB_FAILED;
    }
    char size[24], rate[24];
    format_size(size, sizeof size, bytes);
    format_size(rate, sizeof rate, bytes / (elapsed > 1e-3 ? elapsed : 1e-3));
    bool interrupted = ct_event_is_set(&stop);
    printf("%s%zu of %zu files saved, %s in %.2f s (%s/s)", interrupted ? "interrupted: " : "",
           saved, count, size, elapsed, rate);
    if (failed)
        printf("; %zu failed", failed);
    printf("\n");
    return interrupted ? 130 : failed ? 1 : 0;
}

/* Downloads o's URLs into the folder: the exit status. */
static int download(const struct options *o)
{
    struct job *jobs = calloc(o->count, sizeof *jobs);
    if (!jobs) {
        fprintf(stderr, "download: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < o->count; i++) {
        jobs[i].url = o->urls[i];
        jobs[i].expected = -1;
    }
    int status = 1, err;
    if (names_assign(jobs, o->count)) {
        fprintf(stderr, "download: out of memory\n");
    } else if ((err = take_signals_in_one_thread())) {
        fprintf(stderr, "download: cannot start a thread: %s\n", strerror(err));
    } else {
        ct_sem_init_bounded(&slots, (unsigned)o->jobs);
        double began = ct_monotonic();
        progress_begin(jobs, o->count);
        run_all(jobs, o->count);
        progress_end();
        status = summarize(jobs, o->count, ct_monotonic() - began);
    }
    for (size_t i = 0; i < o->count; i++)
        free(jobs[i].name);
    free(jobs);
    return status;
}

int main(int argc, char **argv)
{
    struct options o = { .jobs = 3, .folder = "." };
    int status = parse(argc, argv, &o);
    if (status < 0 && (setup.dirfd = open_folder(o.folder)) < 0)
        status = 2;
    if (status < 0) {
        if (transfers_begin()) {
            fprintf(stderr, "download: cannot initialise libcurl\n");
            status = 1;
        } else {
            status = download(&o);
            transfers_end();
        }
        close(setup.dirfd);
    }
    for (size_t i = 0; i < o.count; i++)
        free(o.urls[i]);
    free(o.urls);
    return status;
}
