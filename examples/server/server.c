/*
 * server — the tutorial's thread-per-connection server, as a real tool: it
 * serves the files of a folder over HTTP/1.1 (GET and HEAD, keep-alive).
 *
 *     server [--bind ADDR] [--port 7777] [--root DIR] [--max-clients N]
 *            [--idle-timeout SECONDS]
 *
 * Threads. The main thread accepts; each connection is served by a thread
 * of its own, which reads requests and answers them until the client
 * closes or asks to, stays silent for the idle timeout, or the server
 * stops. A thread whose connection ended stays on as a spare for a short
 * while (SPARE_IDLE), parked on its own event, and the main thread hands
 * the next connection to a spare if there is one: a thread is still one
 * connection's at a time, but a server whose clients connect for one
 * request each (Connection: close) does not pay for a thread's birth and
 * death per request. A thread's stack is small (64 KiB: its buffer lives in
 * its struct conn, on the heap), and a small request leaves that buffer
 * a page or two deep, so an idle keep-alive connection costs about 14 KiB
 * of memory and ten thousand of them fit (given 10,300 open files).
 * A semaphore of --max-clients permits bounds how many are served at
 * once: the main thread takes a permit before it accepts and the
 * connection's thread gives it back as it ends, so further clients wait
 * in the kernel's accept queue.
 *
 * Joining. Every thread is joined, in a relay: as one ends (a spare that
 * waited SPARE_IDLE in vain or was woken by the stop, or one that found
 * no room among the spares), it joins the thread that ended before it
 * (which has finished, or is about to) and frees its struct conn, and the
 * main thread joins the last one at shutdown. So an ended thread's memory
 * is back at once, whether or not new clients come.
 *
 * Waiting. A connection between requests waits in a blocking recv, whose
 * SO_RCVTIMEO (like SO_SNDTIMEO and TCP_NODELAY, set once on the listening
 * socket, which accepted sockets inherit) is the idle timeout: a
 * keep-alive request costs no poll. A head that has begun to arrive is
 * waited for with poll against its own deadline instead.
 *
 * Stopping. SIGINT and SIGTERM are blocked in every thread and taken by
 * one thread in sigwait. It sets the `stopping` event, shuts down the
 * listening socket (which wakes the accept), wakes every spare, shuts
 * down the reading side of every connection waiting between requests
 * (which ends its recv), and releases one permit (so an accept loop
 * waiting for a free one wakes too). A request already arriving is read
 * and answered, with "Connection: close"; then the main thread waits
 * until no connection thread is left, joins the last one (the relay has
 * joined the others), and exits 0.
 *
 * Bounds. A request head is at most HTTP_HEAD_MAX bytes (else 431). A
 * client has the idle timeout to start a request, and again to finish its
 * head once it has begun (else 408), and a send that makes no progress
 * for that long drops the connection: no client holds a thread for ever.
 * Files are opened beneath the root by the kernel (see files.c), at most
 * FILE_SLOTS at once, so that a client needs one descriptor, not two.
 */
#define _GNU_SOURCE
#include "files.h"
#include "http.h"

#include <cthreading.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A connection thread's stack: its frames are small, its buffer is not
 * on it. */
#define CLIENT_STACK (64 * 1024)

/* A spare thread waits this long for a new connection before it ends, and
 * at most this many wait: enough to absorb a burst of short connections,
 * few enough that an idle server soon holds no more than its two threads. */
#define SPARE_IDLE 2.0
#define MAX_SPARES 64

/* At most this long (or the idle timeout, if shorter), a connection closed
 * with a request partly unread is drained first: see linger. */
#define LINGER 2.0

/* Descriptors kept for everything but clients and their files: stdio, the
 * listener, the root, and some to spare. */
#define RESERVED_FDS 16

/* Files open at once, at most: a file is open only until its response is
 * sent (a small one only until it is read), so a few hundred serve
 * thousands of clients. */
#define FILE_SLOTS 256

/* Room for a response head, which a 301's Location makes as long as the
 * request's target; what a head leaves of it takes a small file's bytes,
 * sent with the head in one system call. */
#define OUT_MAX (HTTP_HEAD_MAX + 1024)

/* conn.waiting: whether its thread is in its recv between requests, and
 * whether the stop has come (see recv_idle). */
enum { BUSY, IDLE, STOPPED };

/* One connection's thread and what it needs, kept from one connection to
 * the next while the thread is a spare. */
struct conn {
    struct conn *prev, *next; /* in pool.conns, every connection thread's */
    struct conn *next_spare;  /* in pool.spares, while parked */
    ct_thread_t *thread;      /* its own reference to itself, for its joiner */
    ct_event_t handed;        /* set when fd is handed to a spare, or at a stop */
    uint32_t waiting;         /* IDLE while in recv between requests;
                                 STOPPED once the stop has seen it */
    int fd;                   /* -1 while parked */
    unsigned long requests;   /* answered on this connection */
    size_t used;              /* bytes received in `buf` */
    size_t scanned;           /* how far `buf` was searched for the head's end */
    bool unread;              /* the last request was not read to its end */
    time_t date_time;         /* the second `date` shows */
    char date[32];            /* the Date header's value, redone once a second */
    /* One buffer: the bytes received, then, from buf + used, room for a
     * request's file path (done with before its response is formatted)
     * or its response head and a small file. A small request and file
     * touch only its first page or two, which is all an idle connection
     * keeps resident. */
    char buf[HTTP_HEAD_MAX + OUT_MAX];
};

/* Settings read by every thread, fixed before the first one starts. */
static struct {
    double idle;             /* --idle-timeout, seconds */
    struct timeval io_idle;  /* the same, for SO_RCVTIMEO and SO_SNDTIMEO */
    int root;                /* the served folder, from files_open_root */
    int listener;            /* the listening socket */
} config;

static ct_sem_t slots;                       /* one permit per client served at once */
static ct_sem_t files;                       /* one permit per file open at once */
static ct_event_t stopping = CT_EVENT_INIT;  /* set by SIGINT or SIGTERM */
static sigset_t stop_signals;

/* The connection threads: every one, the spares among them, the last one
 * to end (its thread ended or ending, not yet joined), and what they did. */
static struct {
    ct_cond_t cond; /* guards the fields below; notified when conns empties */
    struct conn *conns;
    struct conn *spares;
    size_t n_spares;
    struct conn *ended;
    unsigned long connections, requests;
} pool = { .cond = CT_COND_INIT };

/* What a response head says. */
struct reply {
    int status;
    const char *type;     /* Content-Type */
    off_t length;         /* Content-Length */
    bool keep;            /* whether the connection stays open */
    const char *location; /* for a 301: the target's path, to which '/' is added */
    size_t location_len;
};

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Internal Server Error";
    }
}

/* Where a request's path or response head goes: past the bytes received,
 * which the head's fields point into and pipelined requests follow. */
static char *scratch(struct conn *c)
{
    return c->buf + c->used;
}

/* Formats r into scratch(c) and returns its length. */
static size_t format_head(struct conn *c, const struct reply *r)
{
    /* gmtime_r takes a process-wide lock in glibc: not once per request. */
    time_t now = time(NULL);
    if (now != c->date_time) {
        struct tm tm;
        strftime(c->date, sizeof c->date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
        c->date_time = now;
    }
    char *out = scratch(c);
    size_t cap = OUT_MAX;
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Server: cthreading-server\r\n"
                     "Date: %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %lld\r\n"
                     "%s",
                     r->status, reason(r->status), c->date, r->type, (long long)r->length,
                     r->status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (r->status == 301)
        n += snprintf(out + n, cap - (size_t)n, "Location: %.*s/\r\n", (int)r->location_len,
                      r->location);
    n += snprintf(out + n, cap - (size_t)n, "Connection: %s\r\n\r\n",
                  r->keep ? "keep-alive" : "close");
    return (size_t)n;
}

static bool send_all(int fd, const char *buf, size_t len, int flags)
{
    while (len) {
        ssize_t n = send(fd, buf, len, flags | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) /* also EAGAIN: SO_SNDTIMEO passed without progress */
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Sends size bytes of file. Fails if the file shrank meanwhile: the
 * Content-Length sent can then only be honoured by closing. */
static bool send_body(int fd, int file, off_t size)
{
    off_t off = 0;
    while (off < size) {
        ssize_t n = sendfile(fd, file, &off, (size_t)(size - off));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
    }
    return true;
}

/* Answers r with a short HTML page as its body (or none, for HEAD). */
static bool send_page(struct conn *c, struct reply r, bool head_only)
{
    char body[128];
    int len = snprintf(body, sizeof body, "<!doctype html>\n<title>%d %s</title>\n<h1>%d %s</h1>\n",
                       r.status, reason(r.status), r.status, reason(r.status));
    r.type = "text/html; charset=utf-8";
    r.length = len;
    size_t n = format_head(c, &r);
    if (!head_only) {
        memcpy(scratch(c) + n, body, (size_t)len);
        n += (size_t)len;
    }
    return send_all(c->fd, scratch(c), n, 0);
}

/* Answers with the file f, then closes it. */
static bool send_file(struct conn *c, struct reply r, struct file f, bool head_only)
{
    r.type = f.type;
    r.length = f.size;
    size_t n = format_head(c, &r);
    bool body = !head_only && f.size > 0;
    if (body && f.size <= (off_t)(OUT_MAX - n)) {
        /* Read after the head and sent with it: for a small file, cheaper
         * than a head held back with MSG_MORE and a sendfile. */
        bool whole = pread(f.fd, scratch(c) + n, (size_t)f.size, 0) == f.size;
        close(f.fd);
        return whole && send_all(c->fd, scratch(c), n + (size_t)f.size, 0);
    }
    /* MSG_MORE holds the head back to leave in one packet with the body. */
    bool ok = send_all(c->fd, scratch(c), n, body ? MSG_MORE : 0) &&
              (!body || send_body(c->fd, f.fd, f.size));
    close(f.fd);
    return ok;
}

/* Answers the request whose head is the first head_len bytes of c->buf;
 * returns whether the connection may carry another. */
static bool answer(struct conn *c, size_t head_len)
{
    struct http_request req;
    struct reply r = { 0 };
    c->requests++;
    r.status = http_parse(c->buf, head_len, &req);
    if (r.status) {
        c->unread = true; /* who knows where this request ends */
        send_page(c, r, false);
        return false;
    }
    c->unread = req.has_body;
    /* A request's body is never read, so nothing can follow it. */
    r.keep = req.keep_alive && !req.has_body && !ct_event_is_set(&stopping);
    bool head_only = req.method == HTTP_HEAD;
    if (req.method == HTTP_OTHER) {
        r.status = 405;
    } else {
        bool dir;
        r.status = http_path(req.target, req.target_len, scratch(c), &dir);
        if (!r.status) {
            struct file f;
            ct_sem_acquire(&files);
            r.status = files_open(config.root, scratch(c), OUT_MAX, dir, &f);
            bool sent = r.status == 200 && send_file(c, r, f, head_only);
            ct_sem_release(&files, 1);
            if (r.status == 200)
                return sent && r.keep;
        }
        if (r.status == 301)
            http_target_path(req.target, req.target_len, &r.location, &r.location_len);
        /* A malformed target: whatever the client meant, stop listening. */
        r.keep &= r.status != 400;
    }
    return send_page(c, r, head_only) && r.keep;
}

/* Waits until fd is readable: false at the deadline. */
static bool wait_readable(int fd, double deadline)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    for (;;) {
        double left = deadline - ct_monotonic();
        if (left <= 0)
            return false;
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR)
            return false;
        if (p.revents)
            return true;
    }
}

/* Waits in recv for the first bytes of a request into the empty c->buf and
 * returns how many came; 0 when the client closed the connection or stayed
 * silent for the idle timeout (SO_RCVTIMEO), or the server stops. */
static size_t recv_idle(struct conn *c)
{
    /* The stop marks every connection STOPPED, and shuts down the socket of
     * each it finds IDLE (watch_signals): so either this sees the mark, or
     * the stop sees IDLE and ends the recv. */
    uint32_t busy = BUSY;
    if (!__atomic_compare_exchange_n(&c->waiting, &busy, IDLE, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return 0;
    ssize_t got;
    do
        got = recv(c->fd, c->buf, HTTP_HEAD_MAX, 0);
    while (got < 0 && errno == EINTR);
    /* STOPPED: the stop took this connection for an idle one and shut it
     * down, so whatever came meanwhile is dropped with it. */
    if (__atomic_exchange_n(&c->waiting, BUSY, __ATOMIC_SEQ_CST) == STOPPED || got < 0)
        return 0;
    return (size_t)got;
}

/* Reads until c->buf starts with a whole request head and returns its
 * length; 0 when the connection is to close: the client closed it or
 * stayed silent, the server stops while it is idle, or the head was too
 * long (answered 431) or too slow (408). */
static size_t read_head(struct conn *c)
{
    double deadline = 0; /* for the rest of a head that has begun */
    for (;;) {
        size_t n = http_head_end(c->buf, c->used, &c->scanned);
        if (n)
            return n;
        if (c->used == HTTP_HEAD_MAX) {
            c->unread = true;
            send_page(c, (struct reply){ .status = 431 }, false);
            return 0;
        }
        if (c->used == 0) {
            c->used = recv_idle(c);
            if (c->used == 0)
                return 0;
            continue;
        }
        if (!deadline)
            deadline = ct_monotonic() + config.idle;
        if (!wait_readable(c->fd, deadline)) {
            c->unread = true;
            send_page(c, (struct reply){ .status = 408 }, false);
            return 0;
        }
        ssize_t got = recv(c->fd, c->buf + c->used, HTTP_HEAD_MAX - c->used, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        c->used += (size_t)got;
    }
}

/* Ends a connection the server chose to end before it read the whole
 * request (a body, the rest of a long, slow or bad head). Closing a socket
 * with unread bytes resets the connection, and a reset can destroy the
 * response on its way; so send FIN first, and read and drop what comes
 * until the client closes its side, for a bounded time. */
static void linger(struct conn *c)
{
    shutdown(c->fd, SHUT_WR);
    double deadline = ct_monotonic() + (config.idle < LINGER ? config.idle : LINGER);
    while (wait_readable(c->fd, deadline) && recv(c->fd, c->buf, sizeof c->buf, 0) > 0)
        ;
}

/* Serves the connection c->fd until it is to close. */
static void serve(struct conn *c)
{
    c->requests = c->used = c->scanned = 0;
    c->unread = false;
    for (size_t n; (n = read_head(c)) && answer(c, n);) {
        /* Pipelined requests may already follow this one. */
        c->used -= n;
        memmove(c->buf, c->buf + n, c->used);
        c->scanned = 0;
    }
    if (c->unread)
        linger(c);
}

/* Closes c's connection, and waits as a spare for the next one: true once
 * it has c->fd, false when c's thread is to end (no room among the spares,
 * none came in SPARE_IDLE, or the server stops). */
static bool next_connection(struct conn *c)
{
    int fd = c->fd;
    bool spare = false;
    CT_WITH(&pool.cond) {
        pool.requests += c->requests;
        c->fd = -1;
        spare = pool.n_spares < MAX_SPARES && !ct_event_is_set(&stopping);
        if (spare) {
            ct_event_clear(&c->handed);
            c->next_spare = pool.spares;
            pool.spares = c;
            pool.n_spares++;
        }
    }
    /* Closed only now: until c->fd was -1, the stop could shut it down. */
    close(fd);
    ct_sem_release(&slots, 1);
    if (!spare)
        return false;
    ct_event_wait_timeout(&c->handed, SPARE_IDLE);
    /* Handed a connection or not, by the lock's verdict: the main thread may
     * take this spare just as its wait ends. */
    CT_WITH(&pool.cond) {
        for (struct conn **p = &pool.spares; c->fd < 0 && *p; p = &(*p)->next_spare) {
            if (*p == c) {
                *p = c->next_spare;
                pool.n_spares--;
                break;
            }
        }
    }
    return c->fd >= 0;
}

/* Adds c to pool.conns, or takes it out; under pool.cond. */
static void link_conn(struct conn *c)
{
    c->prev = NULL;
    c->next = pool.conns;
    if (c->next)
        c->next->prev = c;
    pool.conns = c;
}

static void unlink_conn(struct conn *c)
{
    if (c->next)
        c->next->prev = c->prev;
    *(c->prev ? &c->prev->next : &pool.conns) = c->next;
}

/* Joins the thread of a connection that has ended, and frees it. */
static void join_conn(struct conn *c)
{
    ct_thread_join(c->thread, NULL);
    ct_thread_unref(c->thread);
    free(c);
}

static void *serve_clients(void *arg)
{
    struct conn *c = arg;
    c->thread = ct_thread_ref(ct_current_thread());
    do
        serve(c);
    while (next_connection(c));
    struct conn *before = NULL;
    CT_WITH(&pool.cond) {
        unlink_conn(c);
        before = pool.ended;
        pool.ended = c; /* from here on, c is its joiner's */
        if (!pool.conns)
            ct_cond_notify_all(&pool.cond);
    }
    if (before)
        join_conn(before);
    return NULL;
}

/* Gives c the client fd, under pool.cond: so the stop's walk over the
 * connections either comes after and finds it, or came before, and then
 * `stopping` is set here and c is marked as the walk would have. */
static void start_conn(struct conn *c, int fd)
{
    c->fd = fd;
    __atomic_store_n(&c->waiting, ct_event_is_set(&stopping) ? STOPPED : BUSY, __ATOMIC_SEQ_CST);
}

/* Gives the client fd to a spare thread, or else to a new one: false if
 * no thread can be had. */
static bool hand_off(int fd)
{
    static const ct_thread_opts opts = { .name = "client", .stack_size = CLIENT_STACK };
    struct conn *c = NULL;
    CT_WITH(&pool.cond) {
        pool.connections++;
        c = pool.spares;
        if (c) {
            pool.spares = c->next_spare;
            pool.n_spares--;
            start_conn(c, fd);
        }
    }
    if (c) {
        ct_event_set(&c->handed);
        return true;
    }
    /* Fields one by one: zeroing the buffer would make all of it resident. */
    c = malloc(sizeof *c);
    if (!c)
        return false;
    ct_event_init(&c->handed);
    c->date_time = 0;
    CT_WITH(&pool.cond) {
        start_conn(c, fd);
        link_conn(c);
    }
    /* The thread holds its own reference; it is joined through that. */
    ct_thread_t *t = ct_thread_spawn(serve_clients, c, &opts);
    ct_thread_unref(t);
    if (t)
        return true;
    CT_WITH(&pool.cond) {
        unlink_conn(c);
    }
    free(c);
    return false;
}

/* The next client's socket, or -1 once the server stops. */
static int next_client(void)
{
    while (!ct_event_is_set(&stopping)) {
        int fd = accept4(config.listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        switch (errno) {
        case EAGAIN: /* the listener's SO_RCVTIMEO passed */
        case EINVAL: /* the stop shut the listener down */
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
            break;
        default:
            /* Out of descriptors or memory (or stranger): give the
             * connections that are ending a moment to free some. */
            fprintf(stderr, "server: accept: %m\n");
            ct_event_wait_timeout(&stopping, 0.1);
            break;
        }
    }
    return -1;
}

/* Serves one thread per connection until the server stops. */
static void accept_clients(void)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "Content-Length: 0\r\nConnection: close\r\n\r\n";
    for (;;) {
        ct_sem_acquire(&slots);
        int fd = next_client();
        if (fd < 0)
            return;
        if (!hand_off(fd)) {
            fprintf(stderr, "server: cannot serve a client: %m\n");
            send(fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
            close(fd);
            ct_sem_release(&slots, 1);
        }
    }
}

/* Takes the first SIGINT or SIGTERM and starts the shutdown. */
static void *watch_signals(void *arg)
{
    (void)arg;
    int sig;
    sigwait(&stop_signals, &sig);
    printf("%s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fflush(stdout);
    ct_event_set(&stopping);
    shutdown(config.listener, SHUT_RD);
    CT_WITH(&pool.cond) {
        for (struct conn *c = pool.spares; c; c = c->next_spare)
            ct_event_set(&c->handed);
        for (struct conn *c = pool.conns; c; c = c->next) {
            /* IDLE: its thread is in recv_idle, so c->fd stays open while
             * the lock is held (next_connection closes it after the lock). */
            if (__atomic_exchange_n(&c->waiting, STOPPED, __ATOMIC_SEQ_CST) == IDLE)
                shutdown(c->fd, SHUT_RD);
        }
    }
    ct_sem_release(&slots, 1);
    return NULL;
}

/* A listening socket on addr:port, its address written to name; -1 after
 * saying why not. */
static int listen_on(const char *addr, unsigned port, char *name, size_t cap)
{
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo *ai, hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    int rc = getaddrinfo(addr, service, &hints, &ai);
    if (rc) {
        fprintf(stderr, "server: --bind %s: %s\n", addr, gai_strerror(rc));
        return -1;
    }
    /* Options that sockets accepted from it inherit (on Linux), so that
     * they cost no system calls per connection. */
    int on = 1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &config.io_idle, sizeof config.io_idle) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &config.io_idle, sizeof config.io_idle) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
        fprintf(stderr, "server: cannot listen on %s port %u: %m\n", addr, port);
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);

    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    getsockname(fd, (struct sockaddr *)&sa, &len);
    getnameinfo((struct sockaddr *)&sa, len, host, sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(name, cap, sa.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
    return fd;
}

/* Each client holds one descriptor, its socket; the files sent take up to
 * *file_slots more (FILE_SLOTS, or half of a lower limit). Raises the
 * open-file limit as far as allowed, and returns how many clients, at most
 * want, fit within it. */
static unsigned fit_open_files(unsigned want, unsigned *file_slots)
{
    *file_slots = FILE_SLOTS;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return want;
    rlim_t cur = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        rl.rlim_cur = cur;
    if (rl.rlim_cur == RLIM_INFINITY)
        return want;
    rlim_t avail = rl.rlim_cur > RESERVED_FDS + 2 ? rl.rlim_cur - RESERVED_FDS : 2;
    if (avail < 2 * FILE_SLOTS)
        *file_slots = (unsigned)(avail / 2);
    rlim_t fit = avail - *file_slots;
    return fit < want ? (unsigned)fit : want;
}

static void usage(FILE *to)
{
    fputs("usage: server [--bind ADDR] [--port PORT] [--root DIR] [--max-clients N]\n"
          "              [--idle-timeout SECONDS]\n"
          "Serves the files under DIR over HTTP/1.1 (GET, HEAD, keep-alive), one\n"
          "thread per connection.\n"
          "  -b, --bind ADDR             address to listen on (default 127.0.0.1;\n"
          "                              0.0.0.0 or :: for every interface)\n"
          "  -p, --port PORT             port (default 7777; 0 picks a free one)\n"
          "  -r, --root DIR              folder to serve (default .)\n"
          "  -c, --max-clients N         connections served at once; others wait to be\n"
          "                              accepted (default 10000, fewer if the open-file\n"
          "                              limit is lower)\n"
          "  -t, --idle-timeout SECONDS  drop a connection silent this long, or this slow\n"
          "                              to send a request or take a response (default 15)\n"
          "The first line of output is \"listening on ADDR:PORT\". SIGINT or SIGTERM\n"
          "stops it: it stops accepting, answers requests under way, joins every\n"
          "thread and exits 0.\n",
          to);
}

/* Parses s as a number in [min, max] into *out. */
static bool parse_number(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= min && v <= max))
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "bind", required_argument, NULL, 'b' },
        { "port", required_argument, NULL, 'p' },
        { "root", required_argument, NULL, 'r' },
        { "max-clients", required_argument, NULL, 'c' },
        { "idle-timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    const char *bind_addr = "127.0.0.1", *root = ".";
    double port = 7777, max_clients = 10000;
    bool max_given = false;
    config.idle = 15;
    for (int opt; (opt = getopt_long(argc, argv, "b:p:r:c:t:h", options, NULL)) != -1;) {
        bool ok = true;
        switch (opt) {
        case 'b': bind_addr = optarg; break;
        case 'r': root = optarg; break;
        case 'p': ok = parse_number(optarg, 0, 65535, &port) && port == (unsigned)port; break;
        case 'c':
            ok = parse_number(optarg, 1, CT_SEM_VALUE_MAX - 1, &max_clients) &&
                 max_clients == (unsigned)max_clients;
            max_given = true;
            break;
        case 't': ok = parse_number(optarg, 0.001, 86400, &config.idle); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok) {
            fprintf(stderr, "server: bad value for %s: %s\n", argv[optind - 1], optarg);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    config.io_idle.tv_sec = (time_t)config.idle;
    config.io_idle.tv_usec = (suseconds_t)((config.idle - (double)(time_t)config.idle) * 1e6);

    config.root = files_open_root(root);
    if (config.root < 0) {
        fprintf(stderr, errno == ENOSYS ? "server: --root %s: needs Linux 5.6 or later (openat2)\n"
                                        : "server: --root %s: %m\n",
                root);
        return 1;
    }
    unsigned file_slots;
    unsigned clients = fit_open_files((unsigned)max_clients, &file_slots);
    if (max_given && clients < (unsigned)max_clients)
        fprintf(stderr, "server: --max-clients lowered to %u to fit the open-file limit\n", clients);
    ct_sem_init(&slots, clients);
    ct_sem_init(&files, file_slots);

    char name[NI_MAXHOST + NI_MAXSERV + 4];
    config.listener = listen_on(bind_addr, (unsigned)port, name, sizeof name);
    if (config.listener < 0)
        return 1;
    /* Blocked here, before any thread starts, so every thread inherits the
     * mask and only sigwait takes these signals. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A daemon: should main ever return without a signal, the exit does
     * not wait for it. */
    ct_thread_t *watcher =
        ct_thread_spawn(watch_signals, NULL, &(ct_thread_opts){ .name = "signals", .daemon = CT_DAEMON });
    if (!watcher) {
        perror("server: cannot start a thread");
        return 1;
    }

    printf("listening on %s\n", name);
    fflush(stdout);
    accept_clients();

    CT_WITH(&pool.cond) {
        CT_COND_WAIT_FOR(&pool.cond, !pool.conns, CT_FOREVER);
    }
    if (pool.ended)
        join_conn(pool.ended);
    ct_thread_join(watcher, NULL);
    ct_thread_unref(watcher);
    close(config.listener); /* only now: the signal thread shuts it down */
    printf("stopped: %lu requests on %lu connections\n", pool.requests, pool.connections);
    return 0;
}
