/*
 * HTTP/1.1 request heads, as the server reads them (RFC 9112): where a
 * head ends, its request line and the few headers that matter here, and
 * its target turned into a path below the served folder.
 *
 *     size_t scanned = 0, n = http_head_end(buf, len, &scanned);
 *     if (n) {
 *         struct http_request req;
 *         int status = http_parse(buf, n, &req);   // 0, or 400 / 505 to answer
 *         ...
 *     }
 *
 * Everything works in place on the caller's buffer and allocates nothing.
 */
#ifndef SERVER_HTTP_H
#define SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* The longest request head (request line and headers) the server reads;
 * a longer one is answered 431. */
#define HTTP_HEAD_MAX 8192

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER };

struct http_request {
    enum http_method method;
    const char *target; /* points into the head; not NUL-terminated */
    size_t target_len;
    bool keep_alive;    /* the client may send another request */
    bool has_body;      /* a body follows the head (which is never read) */
};

/* The length of the request head at the start of buf[0, len), through the
 * empty line that ends it, or 0 while that line has not arrived. *scanned
 * keeps the search's place between calls on the same growing buffer; set
 * it to 0 for a new one. Lines may end in CRLF or a bare LF. */
size_t http_head_end(const char *buf, size_t len, size_t *scanned);

/* Parses a whole head of len bytes into *req: 0, or the status to answer
 * with and close: 400 for a malformed head (or an HTTP/1.1 one without
 * exactly one Host header), 505 for an HTTP major version other than 1. */
int http_parse(const char *head, size_t len, struct http_request *req);

/* The path part of a request target: origin-form "/p?q" or absolute-form
 * "http://host/p?q" give "/p" (the query and any fragment cut), stored in
 * *path and *path_len without decoding. 0, or 400 for another form. */
int http_target_path(const char *target, size_t len, const char **path, size_t *path_len);

/* Percent-decodes the path of a request target into out (room for len + 2
 * bytes), as a path relative to the served folder: its segments joined by
 * '/', without empty and "." segments; "." for the folder itself. *dir
 * tells whether the path ends in '/'. 0, or 400 (not a path, a bad
 * %-escape, an encoded NUL), or 403 (a ".." segment, also encoded: the
 * server never climbs out of its folder). */
int http_path(const char *target, size_t len, char *out, bool *dir);

#endif
