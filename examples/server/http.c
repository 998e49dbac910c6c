/*
 * Request heads (RFC 9112), parsed strictly: a server that guesses at a
 * malformed request is how requests get smuggled past proxies, so any
 * doubt is a 400 and the connection closes. Only what this server acts on
 * is extracted; every other header is checked for shape and skipped.
 */
#include "http.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

size_t http_head_end(const char *buf, size_t len, size_t *scanned)
{
    for (size_t i = *scanned; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    /* A line end in the last two bytes may yet begin the empty line. */
    *scanned = len > 2 ? len - 2 : 0;
    return 0;
}

/* A line of the head, without its CRLF or LF. */
struct line {
    const char *s;
    size_t n;
};

/* The line at *p, moving *p past it. The head ends with an empty line,
 * so every line has its LF. */
static struct line next_line(const char **p, const char *end)
{
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    assert(nl);
    *p = nl + 1;
    size_t n = (size_t)(nl - s);
    if (n && s[n - 1] == '\r')
        n--;
    return (struct line){ s, n };
}

/* A token character (RFC 9110 tchar): header names and methods. */
static bool is_tchar(unsigned char ch)
{
    return ch > ' ' && ch < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", ch);
}

static bool is_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_tchar((unsigned char)s[i]))
            return false;
    }
    return n > 0;
}

static bool equals(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* Whether the comma-separated list s[0, n) holds token, in any case. */
static bool has_token(const char *s, size_t n, const char *token)
{
    const char *end = s + n;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *e = comma ? comma : end;
        const char *b = s;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        const char *t = e;
        while (t > b && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (equals(b, (size_t)(t - b), token))
            return true;
        s = e + 1;
    }
    return false;
}

/* Checks "METHOD SP target SP HTTP/d.d" and fills the method and target
 * of *req; *minor gets the version's minor digit. */
static int parse_request_line(struct line l, struct http_request *req, int *minor)
{
    const char *end = l.s + l.n;
    const char *sp1 = memchr(l.s, ' ', l.n);
    if (!sp1 || !is_token(l.s, (size_t)(sp1 - l.s)))
        return 400;
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', (size_t)(end - target));
    if (!sp2 || sp2 == target)
        return 400;
    for (const char *p = target; p < sp2; p++) {
        if (*p <= ' ' || *p >= 0x7f)
            return 400;
    }
    const char *v = sp2 + 1;
    if (end - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
        v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1')
        return 505;
    *minor = v[7] - '0';

    size_t mlen = (size_t)(sp1 - l.s);
    req->method = mlen == 3 && memcmp(l.s, "GET", 3) == 0    ? HTTP_GET
                  : mlen == 4 && memcmp(l.s, "HEAD", 4) == 0 ? HTTP_HEAD
                                                             : HTTP_OTHER;
    req->target = target;
    req->target_len = (size_t)(sp2 - target);
    return 0;
}

int http_parse(const char *head, size_t len, struct http_request *req)
{
    const char *p = head, *end = head + len;
    /* RFC 9112 2.2: empty lines before a request line are ignored. */
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    if (p == end)
        return 400;
    int minor;
    int status = parse_request_line(next_line(&p, end), req, &minor);
    if (status)
        return status;

    int hosts = 0;
    bool close = false, keep = false;
    req->has_body = false;
    for (struct line l; (l = next_line(&p, end)).n;) {
        const char *colon = memchr(l.s, ':', l.n);
        /* No colon, no name, or a space before the colon (also a line
         * folded onto the one before it): all malformed. */
        if (!colon || !is_token(l.s, (size_t)(colon - l.s)))
            return 400;
        const char *v = colon + 1, *ve = l.s + l.n;
        for (const char *q = v; q < ve; q++) {
            unsigned char ch = (unsigned char)*q;
            if ((ch < ' ' && ch != '\t') || ch == 0x7f)
                return 400;
        }
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t name = (size_t)(colon - l.s), vn = (size_t)(ve - v);

        if (equals(l.s, name, "host")) {
            hosts++;
        } else if (equals(l.s, name, "connection")) {
            close |= has_token(v, vn, "close");
            keep |= has_token(v, vn, "keep-alive");
        } else if (equals(l.s, name, "content-length")) {
            if (vn == 0 || strspn(v, "0123456789") < vn)
                return 400;
            req->has_body |= strspn(v, "0") < vn;
        } else if (equals(l.s, name, "transfer-encoding")) {
            req->has_body = true;
        }
    }
    if (hosts > 1 || (minor >= 1 && hosts == 0))
        return 400;
    req->keep_alive = minor >= 1 ? !close : keep && !close;
    return 0;
}

int http_target_path(const char *target, size_t len, const char **path, size_t *path_len)
{
    const char *p = target, *end = target + len;
    size_t scheme = len >= 7 && strncasecmp(p, "http://", 7) == 0    ? 7
                    : len >= 8 && strncasecmp(p, "https://", 8) == 0 ? 8
                                                                     : 0;
    if (scheme) {
        /* Absolute-form: the path starts after the authority. */
        p = memchr(p + scheme, '/', (size_t)(end - p - scheme));
        if (!p) {
            *path = "/";
            *path_len = 1;
            return 0;
        }
    }
    if (*p != '/')
        return 400;
    const char *q = p;
    while (q < end && *q != '?' && *q != '#')
        q++;
    *path = p;
    *path_len = (size_t)(q - p);
    return 0;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int http_path(const char *target, size_t len, char *out, bool *dir)
{
    const char *p;
    size_t n;
    int status = http_target_path(target, len, &p, &n);
    if (status)
        return status;
    *dir = p[n - 1] == '/';

    /* Decode first, split after: an encoded "%2e%2e" or "%2f" is judged
     * as the ".." or "/" it stands for. */
    size_t o = 0, seg = 0;
    for (size_t i = 0; i <= n; i++) {
        char ch = i < n ? p[i] : '/';
        if (ch == '%') {
            int hi = i + 2 < n ? hex_value(p[i + 1]) : -1;
            int lo = i + 2 < n ? hex_value(p[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return 400;
            ch = (char)(hi << 4 | lo);
            i += 2;
        }
        if (ch != '/') {
            out[o++] = ch;
            continue;
        }
        size_t s = o - seg;
        if (s == 2 && out[seg] == '.' && out[seg + 1] == '.')
            return 403;
        if (s == 0 || (s == 1 && out[seg] == '.')) {
            o = seg;
        } else {
            out[o++] = '/';
            seg = o;
        }
    }
    if (o == 0)
        out[o++] = '.';
    else
        o--;
    out[o] = '\0';
    return 0;
}
