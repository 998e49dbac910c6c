/*
 * idle_clients — holds many idle keep-alive connections open against an
 * HTTP/1.1 server, for bench/tools/report.py.
 *
 *     idle_clients ADDR PORT N PATH FILE
 *
 * It opens N connections to ADDR:PORT and asks for PATH once on each, so
 * that every one is a served keep-alive connection; then it prints
 * "idle N" and waits, sending nothing, until a line arrives on stdin. Then
 * it asks for PATH again on all N and prints "served K of N": the number
 * whose answer was a 200 with exactly FILE's bytes as its body. It exits
 * 0 if K is N, 1 otherwise (2 on bad usage); no phase may take longer than
 * 120 s.
 *
 * One thread and epoll: the client must be far cheaper than the server it
 * holds down, and ten thousand threads here would measure nothing but the
 * client. At most WINDOW connections are in progress at once, so the
 * server's accept queue never overflows (an overflow costs a 1 s SYN
 * retransmission, not an error, but it would make the phases slow).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 256
#define PHASE_SECONDS 120
#define HEAD_MAX 4096

enum state { IDLE, CONNECTING, SENDING, READING };

struct conn {
    int fd;
    enum state state;
    size_t sent;     /* bytes of the request sent */
    size_t got;      /* bytes of the response received */
    size_t need;     /* the whole response's length, once its head is in */
    bool ok;         /* the last response was right */
};

static struct sockaddr_in addr;
static char request[512];
static size_t request_len;
static char *expect;      /* FILE's bytes */
static size_t expect_len;
static char *buf;         /* one response at a time per connection: WINDOW slots */
static size_t buf_cap;
static int ep;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "idle_clients: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The receive buffer of the connection in progress in window slot i. */
static char *slot_buf(size_t i)
{
    return buf + i * buf_cap;
}

static void watch(struct conn *c, size_t slot, uint32_t events, int op)
{
    struct epoll_event ev = { .events = events, .data.u64 = slot };
    if (epoll_ctl(ep, op, c->fd, &ev) < 0)
        die("epoll_ctl");
}

/* Starts the next step of c (in window slot `slot`): a connect if it has
 * no socket yet, else a request. */
static void start(struct conn *c, size_t slot)
{
    c->sent = c->got = c->need = 0;
    c->ok = false;
    if (c->fd < 0) {
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            die("socket");
        int on = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)
            die("connect");
        c->state = CONNECTING;
        watch(c, slot, EPOLLOUT, EPOLL_CTL_ADD);
        return;
    }
    c->state = SENDING;
    watch(c, slot, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Parses the head in b[0, got): the whole response's length, 0 if the head
 * is not complete, -1 if it is not a 200 with FILE's length. */
static long response_length(const char *b, size_t got)
{
    const char *end = memmem(b, got, "\r\n\r\n", 4);
    if (!end)
        return got == buf_cap ? -1 : 0;
    size_t head = (size_t)(end - b) + 4;
    if (strncmp(b, "HTTP/1.1 200 ", 13) != 0)
        return -1;
    const char *cl = memmem(b, head, "\r\nContent-Length:", 17);
    if (!cl)
        cl = memmem(b, head, "\r\ncontent-length:", 17);
    if (!cl || strtoul(cl + 17, NULL, 10) != expect_len)
        return -1;
    return (long)(head + expect_len);
}

/* Advances c on an event; returns whether it has finished this phase
 * (c->ok says how). */
static bool step(struct conn *c, size_t slot)
{
    char *b = slot_buf(slot);
    switch (c->state) {
    case CONNECTING: {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            errno = err;
            fprintf(stderr, "idle_clients: connect: %s\n", strerror(err));
            return true;
        }
        c->state = SENDING;
    }
        /* fall through */
    case SENDING:
        while (c->sent < request_len) {
            ssize_t n = send(c->fd, request + c->sent, request_len - c->sent, MSG_NOSIGNAL);
            if (n < 0)
                return errno != EAGAIN;
            c->sent += (size_t)n;
        }
        c->state = READING;
        watch(c, slot, EPOLLIN, EPOLL_CTL_MOD);
        return false;
    case READING:
        for (;;) {
            size_t cap = c->need ? c->need : buf_cap;
            ssize_t n = recv(c->fd, b + c->got, cap - c->got, 0);
            if (n < 0)
                return errno != EAGAIN;
            if (n == 0)
                return true;
            c->got += (size_t)n;
            if (!c->need) {
                long need = response_length(b, c->got);
                if (need < 0)
                    return true;
                c->need = (size_t)need;
            }
            if (c->need && c->got >= c->need) {
                c->ok = c->got == c->need &&
                        memcmp(b + c->need - expect_len, expect, expect_len) == 0;
                return true;
            }
        }
    case IDLE:
        break;
    }
    return true;
}

/* Runs one request on each of the n connections, at most WINDOW at once;
 * returns how many got a correct answer. */
static size_t phase(struct conn *conns, size_t n)
{
    size_t next = 0, done = 0, good = 0;
    size_t in_slot[WINDOW];
    size_t free_slots[WINDOW], n_free = WINDOW;
    for (size_t i = 0; i < WINDOW; i++)
        free_slots[i] = WINDOW - 1 - i;
    double deadline = now() + PHASE_SECONDS;
    while (done < n) {
        while (next < n && n_free) {
            size_t slot = free_slots[--n_free];
            in_slot[slot] = next;
            start(&conns[next++], slot);
        }
        struct epoll_event evs[WINDOW];
        int k = epoll_wait(ep, evs, WINDOW, 1000);
        if (k < 0 && errno != EINTR)
            die("epoll_wait");
        for (int e = 0; e < k; e++) {
            size_t slot = (size_t)evs[e].data.u64;
            struct conn *c = &conns[in_slot[slot]];
            if (!step(c, slot))
                continue;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            c->state = IDLE;
            good += c->ok;
            done++;
            free_slots[n_free++] = slot;
        }
        if (now() > deadline) {
            fprintf(stderr, "idle_clients: gave up after %d s with %zu of %zu done\n",
                    PHASE_SECONDS, done, n);
            return good;
        }
    }
    return good;
}

/* Raises the open-file limit to fit n connections, as far as allowed. */
static void fit_open_files(size_t n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= n + 64)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > n + 64 ? n + 64 : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static void read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) < 0)
        die(path);
    expect_len = (size_t)st.st_size;
    expect = malloc(expect_len + 1);
    if (!expect || fread(expect, 1, expect_len, f) != expect_len)
        die(path);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fputs("usage: idle_clients ADDR PORT N PATH FILE\n", stderr);
        return 2;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    size_t n = strtoul(argv[3], NULL, 10);
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 || !addr.sin_port || !n) {
        fputs("idle_clients: bad ADDR, PORT or N\n", stderr);
        return 2;
    }
    int len = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s:%s\r\n\r\n", argv[4],
                       argv[1], argv[2]);
    if (len < 0 || (size_t)len >= sizeof request) {
        fputs("idle_clients: PATH too long\n", stderr);
        return 2;
    }
    request_len = (size_t)len;
    read_file(argv[5]);
    fit_open_files(n);

    buf_cap = HEAD_MAX + expect_len;
    buf = malloc(WINDOW * buf_cap);
    struct conn *conns = malloc(n * sizeof *conns);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!buf || !conns || ep < 0)
        die("setup");
    for (size_t i = 0; i < n; i++)
        conns[i] = (struct conn){ .fd = -1 };

    size_t good = phase(conns, n);
    if (good != n) {
        printf("opened %zu of %zu\n", good, n);
        return 1;
    }
    printf("idle %zu\n", n);
    fflush(stdout);

    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return 1;
    good = phase(conns, n);
    printf("served %zu of %zu\n", good, n);
    return good == n ? 0 : 1;
}
