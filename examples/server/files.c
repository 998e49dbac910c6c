/*
 * Confinement is the kernel's job here, not string checks': every file is
 * opened with openat2(RESOLVE_BENEATH) relative to the root's descriptor,
 * so the whole lookup — each "..", each symlink, absolute or relative —
 * fails with EXDEV the moment it would leave the root, and there is no
 * window between checking a path and opening it. Symlinks that stay
 * inside the root work. Opening is O_NONBLOCK so that a FIFO in the root
 * cannot hold a thread; only regular files are served.
 */
#define _GNU_SOURCE
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int open_beneath(int root, const char *path, int flags)
{
    struct open_how how = {
        .flags = (unsigned)flags | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, root, path, &how, sizeof how);
}

int files_open_root(const char *dir)
{
    int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return -1;
    int probe = open_beneath(root, ".", O_PATH);
    if (probe < 0) {
        int err = errno;
        close(root);
        errno = err;
        return -1;
    }
    close(probe);
    return root;
}

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        { "html", "text/html; charset=utf-8" },
        { "htm", "text/html; charset=utf-8" },
        { "css", "text/css; charset=utf-8" },
        { "js", "text/javascript; charset=utf-8" },
        { "mjs", "text/javascript; charset=utf-8" },
        { "json", "application/json" },
        { "txt", "text/plain; charset=utf-8" },
        { "md", "text/markdown; charset=utf-8" },
        { "csv", "text/csv; charset=utf-8" },
        { "xml", "application/xml" },
        { "svg", "image/svg+xml" },
        { "png", "image/png" },
        { "jpg", "image/jpeg" },
        { "jpeg", "image/jpeg" },
        { "gif", "image/gif" },
        { "webp", "image/webp" },
        { "ico", "image/x-icon" },
        { "pdf", "application/pdf" },
        { "wasm", "application/wasm" },
        { "zip", "application/zip" },
        { "gz", "application/gzip" },
        { "tar", "application/x-tar" },
        { "mp3", "audio/mpeg" },
        { "mp4", "video/mp4" },
        { "webm", "video/webm" },
        { "woff", "font/woff" },
        { "woff2", "font/woff2" },
    };
    const char *name = strrchr(path, '/');
    const char *dot = strrchr(name ? name : path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++) {
        if (strcasecmp(dot + 1, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

static int status_of(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        return 404;
    case EXDEV: /* the lookup would have left the root */
    case ELOOP:
    case EACCES:
    case EPERM:
        return 403;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
        return 503;
    default:
        return 500;
    }
}

/* Opens path and fills *f: 200, or an error status. *is_dir tells
 * whether path is a directory (403, nothing left open). */
static int open_file(int root, const char *path, struct file *f, bool *is_dir)
{
    *is_dir = false;
    int fd = open_beneath(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return status_of(errno);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int status = status_of(errno);
        close(fd);
        return status;
    }
    if (!S_ISREG(st.st_mode)) {
        *is_dir = S_ISDIR(st.st_mode);
        close(fd);
        return 403;
    }
    *f = (struct file){ fd, st.st_size, content_type(path) };
    return 200;
}

int files_open(int root, char *path, size_t cap, bool dir, struct file *f)
{
    bool is_dir;
    int status = open_file(root, path, f, &is_dir);
    if (!is_dir)
        return status;
    if (!dir)
        return 301;
    size_t n = strlen(path);
    if (n + sizeof FILES_INDEX > cap)
        return 404;
    memcpy(path + n, FILES_INDEX, sizeof FILES_INDEX);
    return open_file(root, path, f, &is_dir);
}
