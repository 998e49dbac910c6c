/*
 * The server tool, tested from outside as its users meet it: each case
 * starts `server --port 0` on loopback over a folder made for the run,
 * speaks HTTP to it over plain sockets, and stops it with a signal,
 * checking that it exits 0. The server dies with the test case
 * (PR_SET_PDEATHSIG), so a failing case leaves no process behind.
 *
 * Threads are counted in /proc/PID/task: the count with no client (the
 * main thread and the signal thread) is the base, and one thread per open
 * connection comes on top of it, and for 2 s after a connection ends, its
 * thread as a spare.
 */
#define _GNU_SOURCE
#include "support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG_SIZE (1024 * 1024 + 7)

static char top[] = "/tmp/ct-server-test-XXXXXX"; /* holds www/ and outside/ */
static char www[64];
static char *big; /* the contents of www/big.bin */

static const char hello[] = "hello, world\n";
static const char home[] = "<h1>home</h1>\n";
static const char sub_home[] = "<h1>sub</h1>\n";

/* ---- the folder served ---- */

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static void symlink_in(const char *target, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", www, name);
    if (symlink(target, path)) {
        perror(path);
        exit(1);
    }
}

static void make_tree(void)
{
    char outside[64], path[128];
    if (!mkdtemp(top)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(www, sizeof www, "%s/www", top);
    snprintf(outside, sizeof outside, "%s/outside", top);
    snprintf(path, sizeof path, "%s/sub", www);
    if (mkdir(www, 0755) || mkdir(outside, 0755) || mkdir(path, 0755)) {
        perror("mkdir");
        exit(1);
    }
    write_file(www, "hello.txt", hello, strlen(hello));
    write_file(www, "index.html", home, strlen(home));
    write_file(www, "sub/index.html", sub_home, strlen(sub_home));
    big = malloc(BIG_SIZE);
    uint32_t x = 12345;
    for (size_t i = 0; i < BIG_SIZE; i++) {
        x = x * 1103515245 + 12345;
        big[i] = (char)(x >> 16);
    }
    write_file(www, "big.bin", big, BIG_SIZE);
    write_file(outside, "secret.txt", "SECRET\n", 7);
    char abs[128];
    snprintf(abs, sizeof abs, "%s/secret.txt", outside);
    symlink_in("hello.txt", "alias.txt");
    symlink_in("../outside/secret.txt", "escape.txt");
    symlink_in(abs, "abs.txt");
    symlink_in("../outside", "outlink");
    snprintf(path, sizeof path, "%s/fifo", www);
    if (mkfifo(path, 0644)) {
        perror("mkfifo");
        exit(1);
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* ---- the server process ---- */

static struct {
    pid_t pid;
    int port;
    FILE *out; /* its stdout */
} srv;

/* Starts the server over www with the options given (a NULL-terminated
 * list), and reads its port from its first line. */
static void start_server(const char *opt, ...)
{
    const char *argv[32] = { SERVER_PATH, "--bind", "127.0.0.1", "--port", "0", "--root", www };
    int argc = 7;
    va_list ap;
    va_start(ap, opt);
    for (const char *a = opt; a; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    int out[2];
    ck_assert_int_eq(pipe(out), 0);
    pid_t parent = getpid();
    srv.pid = fork();
    ck_assert_int_ge(srv.pid, 0);
    if (srv.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execv(SERVER_PATH, (char **)argv);
        _exit(127);
    }
    close(out[1]);
    srv.out = fdopen(out[0], "r");
    char line[256];
    ck_assert_msg(fgets(line, sizeof line, srv.out), "the server printed nothing");
    ck_assert_msg(sscanf(line, "listening on 127.0.0.1:%d", &srv.port) == 1, "first line: %s", line);
}

/* Waits for the server to exit and returns its exit status. */
static int server_exit_status(void)
{
    int status;
    CT_WAIT_UNTIL(waitpid(srv.pid, &status, WNOHANG) == srv.pid);
    ck_assert_msg(WIFEXITED(status), "the server was killed by signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

/* Stops the server with sig; checks it exits 0 and that its last line
 * reads "stopped: ..."; returns the rest of that line. */
static const char *stop_server(int sig)
{
    static char last[256];
    char line[256];
    ck_assert_int_eq(kill(srv.pid, sig), 0);
    ck_assert_int_eq(server_exit_status(), 0);
    last[0] = '\0';
    while (fgets(line, sizeof line, srv.out))
        strcpy(last, line);
    fclose(srv.out);
    ck_assert_msg(strncmp(last, "stopped: ", 9) == 0, "last line: %s", last);
    return last + 9;
}

/* Calls fn(id, arg), unless fn is NULL, for each thread of the server
 * process, and returns how many it has. */
static int each_thread(void (*fn)(long id, void *arg), void *arg)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)srv.pid);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        if (fn)
            fn(strtol(e->d_name, NULL, 10), arg);
    }
    closedir(d);
    return n;
}

/* The number of threads of the server process. */
static int server_threads(void)
{
    return each_thread(NULL, NULL);
}

struct in_syscall {
    long nr;
    int n;
};

static void count_in_syscall(long id, void *arg)
{
    struct in_syscall *s = arg;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%ld/syscall", (int)srv.pid, id);
    FILE *f = fopen(path, "r");
    long nr;
    if (!f)
        return; /* it ended meanwhile */
    if (fscanf(f, "%ld", &nr) == 1 && nr == s->nr)
        s->n++;
    fclose(f);
}

/* The system call of glibc's poll. */
#ifdef SYS_poll
#define POLL_SYSCALL SYS_poll
#else
#define POLL_SYSCALL SYS_ppoll
#endif

/* How many of the server's threads are in the system call nr: the first
 * field of /proc/PID/task/TID/syscall. */
static int threads_in_syscall(long nr)
{
    struct in_syscall s = { nr, 0 };
    each_thread(count_in_syscall, &s);
    return s.n;
}

/* Thread ids seen, each once. */
struct thread_ids {
    long id[64];
    int n;
};

static void note_thread(long id, void *arg)
{
    struct thread_ids *t = arg;
    int i = 0;
    while (i < t->n && t->id[i] != id)
        i++;
    if (i == t->n && t->n < (int)(sizeof t->id / sizeof t->id[0]))
        t->id[t->n++] = id;
}

/* ---- a client ---- */

struct client {
    int fd;
    size_t len; /* bytes received and not yet consumed */
    char buf[16384];
};

struct reply {
    int status;
    char head[4096]; /* the status line and headers, NUL-terminated */
    long length;     /* Content-Length */
    char *body;      /* length bytes and a NUL (NULL after HEAD) */
};

static double io_timeout(void)
{
    return 10.0 * ct_test_scale();
}

static struct client *connect_client(void)
{
    struct client *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c->fd, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)srv.port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0);
    /* A hung server fails the case instead of hanging it. */
    struct timeval tv = { .tv_sec = (time_t)io_timeout() };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return c;
}

static void close_client(struct client *c)
{
    close(c->fd);
    free(c);
}

static void send_text(struct client *c, const char *text)
{
    size_t len = strlen(text);
    ck_assert_int_eq(send(c->fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Receives more bytes into c->buf; fails on EOF, error or timeout. */
static void receive(struct client *c)
{
    ck_assert_uint_lt(c->len, sizeof c->buf);
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    ck_assert_msg(n > 0, "no reply: recv returned %zd (%s)", n, n < 0 ? strerror(errno) : "EOF");
    c->len += (size_t)n;
}

static void consume(struct client *c, size_t n)
{
    c->len -= n;
    memmove(c->buf, c->buf + n, c->len);
}

/* Reads one reply; with_body false for the reply to a HEAD. */
static void read_reply(struct client *c, struct reply *r, bool with_body)
{
    char *end;
    while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
        receive(c);
    size_t head_len = (size_t)(end - c->buf) + 4;
    ck_assert_uint_lt(head_len, sizeof r->head);
    memcpy(r->head, c->buf, head_len);
    r->head[head_len] = '\0';
    consume(c, head_len);
    ck_assert_int_eq(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
    const char *cl = strcasestr(r->head, "\r\nContent-Length: ");
    ck_assert_ptr_nonnull(cl);
    r->length = strtol(cl + 18, NULL, 10);
    r->body = NULL;
    if (!with_body)
        return;
    r->body = malloc((size_t)r->length + 1);
    size_t got = 0;
    while (got < (size_t)r->length) {
        if (c->len == 0)
            receive(c);
        size_t n = c->len < (size_t)r->length - got ? c->len : (size_t)r->length - got;
        memcpy(r->body + got, c->buf, n);
        consume(c, n);
        got += n;
    }
    r->body[got] = '\0';
}

static void free_reply(struct reply *r)
{
    free(r->body);
    r->body = NULL;
}

/* Whether the reply's head has the header line given ("Name: value"). */
static bool has_header(const struct reply *r, const char *line)
{
    char want[256];
    snprintf(want, sizeof want, "\r\n%s\r\n", line);
    return strstr(r->head, want) != NULL;
}

/* Whether the server closes the connection (nothing more comes). */
static bool server_closes(struct client *c)
{
    char ch;
    ssize_t n = recv(c->fd, &ch, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* Sends request on a new connection and reads the reply, expecting it
 * to be status; returns the client, for more. */
static struct client *exchange(const char *request, struct reply *r, int status)
{
    struct client *c = connect_client();
    send_text(c, request);
    read_reply(c, r, strncmp(request, "HEAD ", 5) != 0);
    ck_assert_msg(r->status == status, "%s-> %d, not %d", request, r->status, status);
    return c;
}

/* The same on a connection of its own, closed after. */
static void expect(const char *request, int status)
{
    struct reply r;
    close_client(exchange(request, &r, status));
    free_reply(&r);
}

/* A GET of path with the usual headers. */
static const char *get(const char *path)
{
    static char request[1024];
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path);
    return request;
}

/* ---- the cases ---- */

START_TEST(test_get_file)
{
    start_server(NULL);
    struct reply r;
    struct client *c = exchange(get("/hello.txt"), &r, 200);
    ck_assert_str_eq(r.body, hello);
    ck_assert(has_header(&r, "Content-Type: text/plain; charset=utf-8"));
    ck_assert(has_header(&r, "Content-Length: 13"));
    ck_assert(has_header(&r, "Connection: keep-alive"));
    free_reply(&r);
    close_client(c);
    stop_server(SIGTERM);
}
END_TEST

START_TEST(test_get_large_file)
{
    start_server(NULL);
    struct reply r;
    struct client *c = exchange(get("/big.bin"), &r, 200);
    ck_assert_int_eq(r.length, BIG_SIZE);
    ck_assert(memcmp(r.body, big, BIG_SIZE) == 0);
    ck_assert(has_header(&r, "Content-Type: application/octet-stream"));
    free_reply(&r);
    close_client(c);
    stop_server(SIGTERM);
}
END_TEST

START_TEST(test_index_and_redirect)
{
    start_server(NULL);
    struct reply r;
    close_client(exchange(get("/"), &r, 200));
    ck_assert_str_eq(r.body, home);
    ck_assert(has_header(&r, "Content-Type: text/html; charset=utf-8"));
    free_reply(&r);
    close_client(exchange(get("/sub?x=1"), &r, 301));
    ck_assert(has_header(&r, "Location: /sub/"));
    free_reply(&r);
    close_client(exchange(get("/sub/?x=1#top"), &r, 200));
    ck_assert_str_eq(r.body, sub_home);
    free_reply(&r);
    close_client(exchange(get("http://test/sub/index.html"), &r, 200));
    ck_assert_str_eq(r.body, sub_home);
    free_reply(&r);
    close_client(exchange(get("/alias.txt"), &r, 200)); /* a symlink inside */
    ck_assert_str_eq(r.body, hello);
    free_reply(&r);
    stop_server(SIGTERM);
}
END_TEST

/* HEAD sends the head a GET would, and no body: the reply that follows
 * on the same connection starts right after it. */
START_TEST(test_head_has_no_body)
{
    start_server(NULL);
    struct reply r;
    struct client *c = exchange("HEAD /hello.txt HTTP/1.1\r\nHost: test\r\n\r\n", &r, 200);
    ck_assert_int_eq(r.length, (long)strlen(hello));
    ck_assert(has_header(&r, "Content-Type: text/plain; charset=utf-8"));
    send_text(c, "HEAD /missing HTTP/1.1\r\nHost: test\r\n\r\n");
    read_reply(c, &r, false);
    ck_assert_int_eq(r.status, 404);
    ck_assert_int_gt(r.length, 0);
    send_text(c, get("/index.html"));
    read_reply(c, &r, true);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, home);
    free_reply(&r);
    close_client(c);
    stop_server(SIGTERM);
}
END_TEST

START_TEST(test_keep_alive)
{
    start_server(NULL);
    struct reply r;
    struct client *c = connect_client();
    for (int i = 0; i < 3; i++) {
        send_text(c, get("/hello.txt"));
        read_reply(c, &r, true);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, hello);
        free_reply(&r);
    }
    /* Pipelined: two requests in one packet, two replies in order. */
    send_text(c, "GET /index.html HTTP/1.1\r\nHost: test\r\n\r\n"
                 "GET /hello.txt HTTP/1.1\r\nHost: test\r\n\r\n");
    read_reply(c, &r, true);
    ck_assert_str_eq(r.body, home);
    free_reply(&r);
    read_reply(c, &r, true);
    ck_assert_str_eq(r.body, hello);
    free_reply(&r);
    send_text(c, "GET /hello.txt HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    read_reply(c, &r, true);
    ck_assert_int_eq(r.status, 200);
    ck_assert(has_header(&r, "Connection: close"));
    free_reply(&r);
    ck_assert(server_closes(c));
    close_client(c);
    ck_assert_str_eq(stop_server(SIGTERM), "6 requests on 1 connections\n");
}
END_TEST

START_TEST(test_http10)
{
    start_server(NULL);
    struct reply r;
    struct client *c = exchange("GET /hello.txt HTTP/1.0\r\n\r\n", &r, 200);
    ck_assert(has_header(&r, "Connection: close"));
    ck_assert(server_closes(c));
    close_client(c);
    free_reply(&r);
    c = exchange("GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r, 200);
    ck_assert(has_header(&r, "Connection: keep-alive"));
    free_reply(&r);
    send_text(c, "GET / HTTP/1.0\r\n\r\n");
    read_reply(c, &r, true);
    ck_assert_str_eq(r.body, home);
    free_reply(&r);
    close_client(c);
    stop_server(SIGTERM);
}
END_TEST

START_TEST(test_not_found)
{
    start_server(NULL);
    expect(get("/missing.txt"), 404);
    expect(get("/hello.txt/more"), 404);
    expect(get("/sub/missing/"), 404);
    expect(get("/%20"), 404);
    stop_server(SIGTERM);
}
END_TEST

START_TEST(test_post_gets_405)
{
    start_server(NULL);
    struct reply r;
    struct client *c = exchange("POST /hello.txt HTTP/1.1\r\nHost: test\r\n"
                                "Content-Length: 5\r\n\r\nhello",
                                &r, 405);
    ck_assert(has_header(&r, "Allow: GET, HEAD"));
    ck_assert(has_header(&r, "Connection: close"));
    ck_assert(server_closes(c));
    close_client(c);
    free_reply(&r);
    /* Without a body the connection can carry on. */
    c = exchange("DELETE /hello.txt HTTP/1.1\r\nHost: test\r\n\r\n", &r, 405);
    free_reply(&r);
    send_text(c, get("/hello.txt"));
    read_reply(c, &r, true);
    ck_assert_int_eq(r.status, 200);
    free_reply(&r);
    close_client(c);
    stop_server(SIGTERM);
}
END_TEST

START_TEST(test_malformed_requests_get_400)
{
    static const char *const bad[] = {
        "GARBAGE\r\n\r\n",
        "GET /\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: test\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n", /* no Host */
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: test\r\n\r\n",
        "GET / HTTQ/1.1\r\nHost: test\r\n\r\n",
        "GET hello.txt HTTP/1.1\r\nHost: test\r\n\r\n",
        "GET /%zz HTTP/1.1\r\nHost: test\r\n\r\n",
        "GET /%2 HTTP/1.1\r\nHost: test\r\n\r\n",
        "GET /hello.txt%00.html HTTP/1.1\r\nHost: test\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: test\r\nNo colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: test\r\nBad : space\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: test\r\nX-A: 1\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: test\r\nContent-Length: 1x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: te\001st\r\n\r\n",
    };
    start_server(NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct reply r;
        struct client *c = exchange(bad[i], &r, 400);
        ck_assert_msg(has_header(&r, "Connection: close"), "%s", bad[i]);
        ck_assert(server_closes(c));
        close_client(c);
        free_reply(&r);
    }
    expect("GET / HTTP/2.0\r\nHost: test\r\n\r\n", 505);
    stop_server(SIGTERM);
}
END_TEST

/* Every way out of the folder is refused, and the secret never shows. */
START_TEST(test_traversal_is_refused)
{
    static const char *const paths[] = {
        "/../outside/secret.txt",
        "/..",
        "/%2e%2e/outside/secret.txt",
        "/%2E%2E%2Foutside%2Fsecret.txt",
        "/.%2e/outside/secret.txt",
        "/sub/../../outside/secret.txt",
        "/sub/%2e%2e/%2e%2e/outside/secret.txt",
        "/sub/..%2f..%2foutside/secret.txt",
        "http://test/../outside/secret.txt",
        "/escape.txt",          /* a symlink to ../outside/secret.txt */
        "/abs.txt",             /* a symlink to its absolute path */
        "/outlink/secret.txt",  /* through a symlink to ../outside */
        "/fifo",                /* not a regular file: refused, not waited on */
    };
    start_server(NULL);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct reply r;
        close_client(exchange(get(paths[i]), &r, 403));
        ck_assert_ptr_null(strstr(r.body, "SECRET"));
        free_reply(&r);
    }
    stop_server(SIGTERM);
}
END_TEST

/* A head over the limit gets 431 and the connection closes; the reply
 * arrives intact although the server did not read all that was sent. */
START_TEST(test_oversized_request_gets_431)
{
    start_server(NULL);
    size_t n = 20000;
    char *request = malloc(n + 64);
    int len = snprintf(request, n, "GET / HTTP/1.1\r\nHost: test\r\nX-Big: ");
    memset(request + len, 'a', n - (size_t)len);
    strcpy(request + n, "\r\n\r\n");
    struct reply r;
    struct client *c = exchange(request, &r, 431);
    ck_assert(has_header(&r, "Connection: close"));
    ck_assert(server_closes(c));
    close_client(c);
    free_reply(&r);
    free(request);
    stop_server(SIGTERM);
}
END_TEST

/* A client that connects and says nothing holds its own thread only:
 * others are served meanwhile, and it is dropped after the idle timeout.
 * One that starts a request and stalls gets 408 as well. */
START_TEST(test_idle_client_is_dropped)
{
    const double idle = 1.0;
    start_server("--idle-timeout", "1", NULL);
    double start = ct_monotonic();
    struct client *silent = connect_client();
    struct client *stalled = connect_client();
    send_text(stalled, "GET /hello.txt HTTP/1.1\r\n");
    expect(get("/hello.txt"), 200);

    ck_assert(server_closes(silent));
    CT_ASSERT_TOOK(start, idle);
    struct reply r;
    read_reply(stalled, &r, true);
    ck_assert_int_eq(r.status, 408);
    ck_assert(server_closes(stalled));
    free_reply(&r);
    close_client(silent);
    close_client(stalled);
    stop_server(SIGTERM);
}
END_TEST

/* With --max-clients 2, a third client waits in the accept queue until
 * one of the two served leaves. */
START_TEST(test_max_clients)
{
    start_server("--max-clients", "2", NULL);
    int base = server_threads();
    struct reply r;
    struct client *a = exchange(get("/hello.txt"), &r, 200);
    free_reply(&r);
    struct client *b = exchange(get("/hello.txt"), &r, 200);
    free_reply(&r);
    ck_assert_int_eq(server_threads(), base + 2);

    struct client *c = connect_client(); /* the kernel completes it */
    send_text(c, get("/hello.txt"));
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    ck_assert_int_eq(poll(&p, 1, 300), 0); /* not accepted: no reply */
    ck_assert_int_eq(server_threads(), base + 2);

    close_client(a);
    read_reply(c, &r, true);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, hello);
    free_reply(&r);
    close_client(b);
    close_client(c);
    CT_WAIT_UNTIL(server_threads() == base);
    stop_server(SIGTERM);
}
END_TEST

/* 200 clients at once: 200 threads, each client served, and the threads
 * gone again when the clients leave. */
START_TEST(test_200_concurrent_clients)
{
    enum { N = 200 };
    start_server(NULL);
    int base = server_threads();
    struct client *c[N];
    for (int i = 0; i < N; i++)
        c[i] = connect_client();
    CT_WAIT_UNTIL(server_threads() == base + N);
    for (int i = 0; i < N; i++)
        send_text(c[i], get(i % 2 ? "/hello.txt" : "/"));
    for (int i = 0; i < N; i++) {
        struct reply r;
        read_reply(c[i], &r, true);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, i % 2 ? hello : home);
        free_reply(&r);
    }
    for (int i = 0; i < N; i++)
        close_client(c[i]);
    CT_WAIT_UNTIL(server_threads() == base);
    ck_assert_str_eq(stop_server(SIGTERM), "200 requests on 200 connections\n");
}
END_TEST

/* SIGTERM with clients connected: idle ones are closed at once (not after
 * the idle timeout), a request under way is still answered, and the
 * server joins every thread and exits 0. */
START_TEST(test_sigterm_with_clients)
{
    start_server("--idle-timeout", "60", NULL);
    int base = server_threads();
    struct reply r;
    struct client *idle = exchange(get("/hello.txt"), &r, 200);
    free_reply(&r);
    struct client *silent = connect_client();
    struct client *midway = connect_client();
    send_text(midway, "GET /hello.txt HTTP/1.1\r\nHost: test\r\n");
    /* Until midway's thread has read what came and polls for the rest:
     * before, the stop could still find it waiting for a request. */
    CT_WAIT_UNTIL(server_threads() == base + 3 && threads_in_syscall(POLL_SYSCALL) == 1);

    double start = ct_monotonic();
    ck_assert_int_eq(kill(srv.pid, SIGTERM), 0);
    ck_assert(server_closes(idle));
    ck_assert(server_closes(silent));
    ck_assert_double_lt(ct_monotonic() - start, 5.0 * ct_test_scale());
    /* The stop is under way (it closed those two); the request can end. */
    send_text(midway, "\r\n");
    read_reply(midway, &r, true);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, hello);
    ck_assert(has_header(&r, "Connection: close"));
    ck_assert(server_closes(midway));
    free_reply(&r);
    close_client(midway);

    ck_assert_int_eq(server_exit_status(), 0);
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, srv.out));
    ck_assert_str_eq(line, "SIGTERM: stopping\n");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, srv.out));
    ck_assert_str_eq(line, "stopped: 2 requests on 3 connections\n");
    fclose(srv.out);
    close_client(idle);
    close_client(silent);
}
END_TEST

/* Clients that connect for one request each are served by a few threads
 * reused, not by a thread each: the thread ids seen stay few, and the
 * spare threads, parked waiting for the next client, are woken and joined
 * at once by SIGTERM. */
START_TEST(test_threads_are_reused)
{
    enum { N = 500 };
    start_server(NULL);
    struct thread_ids seen = { .n = 0 };
    int base = each_thread(note_thread, &seen);
    for (int i = 0; i < N; i++) {
        struct reply r;
        struct client *c =
            exchange("GET /hello.txt HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", &r, 200);
        ck_assert_str_eq(r.body, hello);
        free_reply(&r);
        ck_assert(server_closes(c));
        close_client(c);
        /* A connection's thread is parked before it closes the socket, so
         * one spare serves them all; a new one comes only if a spare's own
         * wait ran out meanwhile. */
        ck_assert_int_le(each_thread(note_thread, &seen), base + 4);
    }
    /* A full table would mean the threads were not reused. */
    ck_assert_int_lt(seen.n, (int)(sizeof seen.id / sizeof seen.id[0]));
    double start = ct_monotonic();
    ck_assert_str_eq(stop_server(SIGTERM), "500 requests on 500 connections\n");
    /* Not after the spares' own wait of 2 s. */
    ck_assert_double_lt(ct_monotonic() - start, 1.5);
}
END_TEST

/* A client needs one descriptor, not two: under an open-file limit of
 * 1,024, 700 clients fit; 1,000 do not, and --max-clients is lowered to
 * what fits beside the files' 256 and 16 held back. */
START_TEST(test_max_clients_fit_open_files)
{
    static const struct {
        const char *want, *said;
    } cases[] = {
        { "700", "" },
        { "1000", "server: --max-clients lowered to 752 to fit the open-file limit\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int err[2];
        ck_assert_int_eq(pipe(err), 0);
        srv.pid = fork();
        ck_assert_int_ge(srv.pid, 0);
        if (srv.pid == 0) {
            struct rlimit rl = { 1024, 1024 };
            int null = open("/dev/null", O_WRONLY);
            dup2(null, STDOUT_FILENO);
            dup2(err[1], STDERR_FILENO);
            if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                _exit(127);
            /* --bind 256.0.0.0: it stops after the open-file check. */
            execl(SERVER_PATH, SERVER_PATH, "--port", "0", "--bind", "256.0.0.0", "--max-clients",
                  cases[i].want, (char *)NULL);
            _exit(127);
        }
        close(err[1]);
        ck_assert_int_eq(server_exit_status(), 1);
        char out[512] = "";
        FILE *f = fdopen(err[0], "r");
        char line[256];
        while (fgets(line, sizeof line, f) && strncmp(line, "server: --bind", 14) != 0)
            strcat(out, line);
        fclose(f);
        ck_assert_str_eq(out, cases[i].said);
    }
}
END_TEST

START_TEST(test_sigint_stops)
{
    start_server(NULL);
    expect(get("/hello.txt"), 200);
    ck_assert_str_eq(stop_server(SIGINT), "1 requests on 1 connections\n");
}
END_TEST

/* Exit status 2 for a bad command line, 1 for a folder that is not. */
START_TEST(test_bad_options)
{
    static const char *const cases[][4] = {
        { "--port", "65536", NULL },
        { "--port", "http", NULL },
        { "--max-clients", "0", NULL },
        { "--idle-timeout", "-1", NULL },
        { "--frobnicate", NULL },
        { "stray", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        srv.pid = fork();
        if (srv.pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, STDERR_FILENO);
            execl(SERVER_PATH, SERVER_PATH, "--port", "0", cases[i][0], cases[i][1], (char *)NULL);
            _exit(127);
        }
        ck_assert_msg(server_exit_status() == 2, "%s %s", cases[i][0], cases[i][1]);
    }
    srv.pid = fork();
    if (srv.pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO);
        execl(SERVER_PATH, SERVER_PATH, "--port", "0", "--root", "/nonexistent", (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(server_exit_status(), 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("server");
    CT_TEST_ADD(s, test_get_file);
    CT_TEST_ADD(s, test_get_large_file);
    CT_TEST_ADD(s, test_index_and_redirect);
    CT_TEST_ADD(s, test_head_has_no_body);
    CT_TEST_ADD(s, test_keep_alive);
    CT_TEST_ADD(s, test_http10);
    CT_TEST_ADD(s, test_not_found);
    CT_TEST_ADD(s, test_post_gets_405);
    CT_TEST_ADD(s, test_malformed_requests_get_400);
    CT_TEST_ADD(s, test_traversal_is_refused);
    CT_TEST_ADD(s, test_oversized_request_gets_431);
    CT_TEST_ADD(s, test_idle_client_is_dropped);
    CT_TEST_ADD(s, test_max_clients);
    CT_TEST_ADD(s, test_200_concurrent_clients);
    CT_TEST_ADD(s, test_sigterm_with_clients);
    CT_TEST_ADD(s, test_threads_are_reused);
    CT_TEST_ADD(s, test_max_clients_fit_open_files);
    CT_TEST_ADD(s, test_sigint_stops);
    CT_TEST_ADD(s, test_bad_options);
    return s;
}

/* The folder is made once, before the cases fork, and removed after. */
int main(void)
{
    make_tree();
    int rc = ct_test_run(make_suite());
    nftw(top, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(big);
    return rc;
}
