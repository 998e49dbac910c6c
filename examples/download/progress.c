/*
 * The display. On a terminal: a bar for each download in progress (name,
 * bytes, rate) and a total line, redrawn in place ten times a second by a
 * thread of its own, with each finished download or error printed above
 * the bars as it happens. Anywhere else (a pipe, a file, TERM=dumb): one
 * plain line per event.
 *
 * Everything reaches the screen under one ct_lock_t, so that a line from a
 * transfer never lands inside a frame. stdout is fully buffered and
 * flushed once a frame: the terminal gets each frame in one write, and
 * nothing flickers.
 *
 * Redrawing in place: a frame ends with a newline, which leaves the cursor
 * below the bars; "\r" takes it to the first column (the terminal may
 * have echoed a ^C there), "ESC[nA" up n lines to the first bar, and
 * "ESC[J" erases from there down: all VT100, which every terminal knows. Each line is cut
 * to the terminal's width, since a wrapped line would take two rows and
 * throw that count off.
 *
 * Cost: a frame reads every job, O(URLs): for 10,000 URLs, 100,000 loads a
 * second, nothing next to the transfers. Rates are smoothed over the last
 * few frames, so they follow a change within about half a second.
 */
#include "download.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define FRAME_INTERVAL 0.1 /* seconds */
#define SMOOTHING 0.3      /* the weight of the latest frame in a rate */
#define MAX_COLUMNS 300
#define MAX_BARS 50

static struct {
    ct_lock_t lock;       /* the screen, and everything below */
    ct_event_t done;      /* progress_end: stop redrawing */
    ct_thread_t *painter; /* NULL: plain lines */
    struct job *jobs;
    size_t count;
    size_t name_width; /* columns of the longest name */
    int drawn;         /* lines of bars on the screen now */
    double last;       /* ct_monotonic() when rates were last measured */
    uint64_t seen;     /* total bytes then */
    double rate;       /* total bytes per second, smoothed */
} display = { .lock = CT_LOCK_INIT, .done = CT_EVENT_INIT };

void format_size(char *buf, size_t size, double n)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int unit = 0;
    for (; n >= 1024 && unit < 4; unit++)
        n /= 1024;
    snprintf(buf, size, unit ? "%.1f %s" : "%.0f %s", n, units[unit]);
}

/* A line being built, cut at a number of columns (a column a UTF-8
 * character). */
struct text {
    char buf[MAX_COLUMNS * 4 + 1];
    size_t len, columns, limit;
};

static bool starts_character(char c)
{
    return ((unsigned char)c & 0xc0) != 0x80;
}

static size_t columns_of(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += starts_character(*s);
    return n;
}

static void put(struct text *t, const char *s)
{
    for (; *s && t->len + 1 < sizeof t->buf; s++) {
        if (starts_character(*s)) {
            if (t->columns == t->limit)
                break;
            t->columns++;
        }
        t->buf[t->len++] = *s;
    }
    t->buf[t->len] = '\0';
}

/* s in exactly width columns: padded, or cut and ended with "..". */
static void put_fitted(struct text *t, const char *s, size_t width)
{
    size_t end = t->columns + width, limit = t->limit;
    bool cut = columns_of(s) > width;
    t->limit = end - 2 * cut < limit ? end - 2 * cut : limit;
    put(t, s);
    t->limit = limit;
    if (cut)
        put(t, "..");
    while (t->columns < end && t->columns < t->limit)
        put(t, " ");
}

static double smooth(double old, double latest)
{
    return old == 0 ? latest : old + SMOOTHING * (latest - old);
}

/* Updates the rates, from the bytes received since the last frame. */
static void measure(double now)
{
    double dt = now - display.last;
    if (dt <= 0)
        return;
    uint64_t total = 0;
    for (size_t i = 0; i < display.count; i++) {
        struct job *job = &display.jobs[i];
        uint64_t received = __atomic_load_n(&job->received, __ATOMIC_RELAXED);
        if (__atomic_load_n(&job->state, __ATOMIC_ACQUIRE) == JOB_ACTIVE)
            job->rate = smooth(job->rate, (double)(received - job->shown) / dt);
        job->shown = received;
        total += received;
    }
    display.rate = smooth(display.rate, (double)(total - display.seen) / dt);
    display.seen = total;
    display.last = now;
}

/* One download's bar:
 *   name.iso      [########--------]  45%  29.0 MiB / 64.0 MiB  12.3 MiB/s */
static void paint_bar(const struct job *job, size_t columns, double now)
{
    char got[24], speed[24], rate[32], right[96];
    uint64_t received = __atomic_load_n(&job->received, __ATOMIC_RELAXED);
    int64_t expected = __atomic_load_n(&job->expected, __ATOMIC_RELAXED);
    format_size(got, sizeof got, (double)received);
    format_size(speed, sizeof speed, job->rate);
    snprintf(rate, sizeof rate, "%s/s", speed);
    /* Fixed widths, so that the bars line up. */
    if (expected > 0) {
        char size[24];
        format_size(size, sizeof size, (double)expected);
        snprintf(right, sizeof right, " %3d%%  %10s / %-10s %12s",
                 (int)(100.0 * (double)received / (double)expected), got, size, rate);
    } else {
        snprintf(right, sizeof right, "       %10s   %-10s %12s", got, "", rate);
    }

    struct text t = { .limit = columns - 1 };
    size_t name_width = columns / 4 > 8 ? columns / 4 : 8;
    if (name_width > display.name_width)
        name_width = display.name_width;
    put_fitted(&t, job->name, name_width);
    size_t used = name_width + 3 + strlen(right);
    if (used + 5 <= t.limit) {
        size_t width = t.limit - used;
        char bar[MAX_COLUMNS + 1];
        if (expected > 0) {
            double share = (double)received / (double)expected;
            size_t filled = share < 1 ? (size_t)(share * (double)width) : width;
            memset(bar, '#', filled);
            memset(bar + filled, '-', width - filled);
        } else {
            /* The size is unknown: a marker bounces, to show that it moves. */
            size_t span = width - 3, step = (size_t)(now * 10) % (2 * span);
            memset(bar, ' ', width);
            memcpy(bar + (step <= span ? step : 2 * span - step), "<=>", 3);
        }
        bar[width] = '\0';
        put(&t, " [");
        put(&t, bar);
        put(&t, "]");
    }
    put(&t, right);
    printf("%s\n", t.buf);
}

/* Draws the bars and the total line below whatever is on the screen. */
static void paint(void)
{
    struct winsize size;
    size_t columns = 80, rows = 24;
    if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) && size.ws_col && size.ws_row) {
        columns = size.ws_col < MAX_COLUMNS ? size.ws_col : MAX_COLUMNS;
        rows = size.ws_row;
    }
    size_t room = rows > 3 ? rows - 2 : 1;
    size_t count[JOB_CANCELLED + 1] = { 0 }, bars = 0;
    double now = ct_monotonic();
    for (size_t i = 0; i < display.count; i++) {
        const struct job *job = &display.jobs[i];
        uint32_t state = __atomic_load_n(&job->state, __ATOMIC_ACQUIRE);
        count[state]++;
        if (state == JOB_ACTIVE && bars < room && bars < MAX_BARS) {
            paint_bar(job, columns, now);
            bars++;
        }
    }
    char got[24], rate[24], hidden[48] = "", line[256];
    format_size(got, sizeof got, (double)display.seen);
    format_size(rate, sizeof rate, display.rate);
    if (count[JOB_ACTIVE] > bars)
        snprintf(hidden, sizeof hidden, " (%zu not shown)", count[JOB_ACTIVE] - bars);
    snprintf(line, sizeof line, "total: %s, %s/s; %zu active%s, %zu waiting, %zu done, %zu failed",
             got, rate, count[JOB_ACTIVE], hidden, count[JOB_WAITING], count[JOB_DONE],
             count[JOB_FAILED]);
    struct text t = { .limit = columns - 1 };
    put(&t, line);
    printf("%s\n", t.buf);
    display.drawn = (int)bars + 1;
}

/* Removes the bars, leaving the cursor where the first one began. */
static void erase(void)
{
    if (display.drawn)
        printf("\r\x1b[%dA\x1b[J", display.drawn);
    display.drawn = 0;
}

static void *paint_loop(void *arg)
{
    (void)arg;
    do {
        CT_WITH(&display.lock) {
            measure(ct_monotonic());
            erase();
            paint();
            fflush(stdout);
        }
    } while (ct_event_wait_timeout(&display.done, FRAME_INTERVAL) == ETIMEDOUT);
    return NULL;
}

/* Prints one line: above the bars on a terminal, redrawing them at once. */
__attribute__((format(printf, 2, 3))) static void say(FILE *to, const char *format, ...)
{
    CT_WITH(&display.lock) {
        if (display.painter) {
            erase();
            if (to != stdout)
                fflush(stdout);
        }
        va_list args;
        va_start(args, format);
        vfprintf(to, format, args);
        va_end(args);
        if (display.painter)
            paint();
        fflush(to);
        fflush(stdout);
    }
}

void progress_begin(struct job *jobs, size_t count)
{
    display.jobs = jobs;
    display.count = count;
    display.last = ct_monotonic();
    const char *term = getenv("TERM");
    if (!isatty(STDOUT_FILENO) || !term || !strcmp(term, "dumb"))
        return;
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    for (size_t i = 0; i < count; i++) {
        size_t width = columns_of(jobs[i].name);
        display.name_width = width > display.name_width ? width : display.name_width;
    }
    /* Without a thread to paint with, the lines come plain. */
    display.painter = ct_thread_spawn(paint_loop, NULL, &(ct_thread_opts){ .name = "progress" });
}

void progress_started(const struct job *job)
{
    if (!display.painter)
        say(stdout, "fetching %s (%s)\n", job->name, job->url);
}

void progress_finished(const struct job *job)
{
    if (__atomic_load_n(&job->state, __ATOMIC_ACQUIRE) == JOB_CANCELLED) {
        say(stdout, "stopped %s: interrupted, partial file removed\n", job->name);
        return;
    }
    char got[24], rate[24];
    double elapsed = job->elapsed > 1e-3 ? job->elapsed : 1e-3;
    uint64_t received = __atomic_load_n(&job->received, __ATOMIC_RELAXED);
    format_size(got, sizeof got, (double)received);
    format_size(rate, sizeof rate, (double)received / elapsed);
    say(stdout, "saved %s: %s in %.2f s, %s/s\n", job->name, got, job->elapsed, rate);
}

void progress_failed(const struct job *job, const char *reason)
{
    say(stderr, "download: %s: %s\n", job->url, reason);
}

void progress_end(void)
{
    if (!display.painter)
        return;
    ct_event_set(&display.done);
    ct_thread_join(display.painter, NULL);
    ct_thread_unref(display.painter);
    CT_WITH(&display.lock) {
        display.painter = NULL;
        erase();
        fflush(stdout);
    }
}
