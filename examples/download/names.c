/*
 * File names from URLs. A URL's last path segment is the natural name, but
 * whoever wrote the URL chose it: it may be "..", empty, hold a '/' once
 * decoded (%2F), hold control characters that would drive the terminal
 * (ESC), or be longer than a file name may be. Each of those is made
 * harmless here, and no name ever contains '/': opened with openat() in the
 * output folder, a name cannot reach anything outside it.
 *
 * Two URLs may end in the same segment (a/x and b/x), and each download is
 * written to "name.part" until it is complete, so a name must differ from
 * every other name and from every other name's ".part". The first URL
 * keeps its name; later ones get a number before the extension
 * ("x.1.tar", as aria2 does). A hash set of the names given so far makes
 * that O(1) a name, so a list of 100,000 URLs costs nothing noticeable.
 */
#include "download.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a name, before a number and ".part" are added: well under
 * NAME_MAX (255) on every Linux file system. */
#define NAME_LIMIT 200
#define PART ".part"

/* Room for a name, a number, and ".part". */
typedef char name_buf[NAME_LIMIT + 32];

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The last segment of url's path, undecoded: [*start, *end). The path
 * begins after the authority (host and port) and ends at the query or
 * fragment; a URL without "scheme://" is read as curl reads it, as
 * "host/path". */
static void last_segment(const char *url, const char **start, const char **end)
{
    const char *scheme = strstr(url, "://");
    const char *path = scheme ? scheme + 3 : url;
    path += strcspn(path, "/?#");
    const char *stop = path + strcspn(path, "?#");
    *start = path;
    for (const char *p = path; p < stop; p++) {
        if (*p == '/')
            *start = p + 1;
    }
    *end = stop;
}

/* Cuts the UTF-8 character that a limit may have split at the end of
 * name[0, len): returns the length without it. */
static size_t utf8_cut(const char *name, size_t len)
{
    size_t lead = len;
    while (lead > 0 && ((unsigned char)name[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead == 0)
        return len;
    unsigned char c = (unsigned char)name[lead - 1];
    size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return len - (lead - 1) < need ? lead - 1 : len;
}

/* url's natural file name, decoded and made safe, into name. */
static void natural_name(const char *url, name_buf name)
{
    const char *p, *end;
    last_segment(url, &p, &end);
    size_t len = 0;
    while (p < end && len < NAME_LIMIT) {
        int c = (unsigned char)*p++;
        if (c == '%' && end - p >= 2 && hex_digit(p[0]) >= 0 && hex_digit(p[1]) >= 0) {
            c = hex_digit(p[0]) * 16 + hex_digit(p[1]);
            p += 2;
        }
        name[len++] = c == '/' || c < 0x20 || c == 0x7f ? '_' : (char)c;
    }
    if (p < end)
        len = utf8_cut(name, len);
    name[len] = '\0';
    if (!strcmp(name, "") || !strcmp(name, ".") || !strcmp(name, ".."))
        strcpy(name, "index.html");
}

/* The names given so far: open addressing, at most half full. */
struct name_set {
    const char **slots;
    size_t mask;
};

static size_t hash(const char *s)
{
    size_t h = 14695981039346656037u; /* FNV-1a */
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return h;
}

/* The slot that holds s, or the empty slot where it would go. */
static size_t slot_of(const struct name_set *set, const char *s)
{
    size_t i = hash(s) & set->mask;
    while (set->slots[i] && strcmp(set->slots[i], s))
        i = (i + 1) & set->mask;
    return i;
}

static bool member(const struct name_set *set, const char *s)
{
    return set->slots[slot_of(set, s)] != NULL;
}

/* Whether name, or name.part, would be the same file as another name or
 * its ".part". */
static bool clashes(const struct name_set *set, const char *name)
{
    char other[sizeof(name_buf) + sizeof PART];
    size_t len = strlen(name);
    snprintf(other, sizeof other, "%s" PART, name);
    if (member(set, name) || member(set, other))
        return true;
    size_t part = strlen(PART);
    if (len <= part || strcmp(name + len - part, PART))
        return false;
    snprintf(other, sizeof other, "%.*s", (int)(len - part), name);
    return member(set, other);
}

/* base with number n before its extension: "x.tar" → "x.1.tar", and
 * "x" or ".x" → "x.1" or ".x.1". */
static void numbered(const char *base, unsigned n, name_buf name)
{
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        dot = base + strlen(base);
    snprintf(name, sizeof(name_buf), "%.*s.%u%s", (int)(dot - base), base, n, dot);
}

int names_assign(struct job *jobs, size_t count)
{
    struct name_set set = { .mask = 15 };
    while (set.mask < 2 * count)
        set.mask = set.mask * 2 + 1;
    set.slots = calloc(set.mask + 1, sizeof *set.slots);
    if (!set.slots)
        return ENOMEM;
    int err = 0;
    for (size_t i = 0; i < count && !err; i++) {
        name_buf base, name;
        natural_name(jobs[i].url, base);
        strcpy(name, base);
        for (unsigned n = 1; clashes(&set, name); n++)
            numbered(base, n, name);
        jobs[i].name = strdup(name);
        if (jobs[i].name)
            set.slots[slot_of(&set, name)] = jobs[i].name;
        else
            err = ENOMEM;
    }
    free(set.slots);
    return err;
}
