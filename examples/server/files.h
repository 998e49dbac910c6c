/*
 * The served folder: opening a request's file so that no path — "..",
 * a symlink pointing out, an absolute symlink — reaches anything outside
 * it, and naming the file's Content-Type.
 *
 *     int root = files_open_root("www");        // once
 *     struct file f;
 *     int status = files_open(root, path, sizeof path, dir, &f);
 *     if (status == 200) { ... send f.size bytes of f.fd ...; close(f.fd); }
 */
#ifndef SERVER_FILES_H
#define SERVER_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The suffix files_open may append to a directory's path. */
#define FILES_INDEX "/index.html"

/* A file opened for a response. */
struct file {
    int fd;
    off_t size;
    const char *type; /* its Content-Type */
};

/* A descriptor for the folder dir, to pass to files_open; -1 with errno
 * set if it cannot be opened, or ENOSYS when the kernel cannot confine
 * lookups to it (openat2, Linux 5.6). */
int files_open_root(const char *dir);

/* Opens path, relative to the folder root (as http_path makes it), for
 * reading. A directory stands for its index.html, appended to path in
 * place (cap is path's size, which must leave room for FILES_INDEX), if
 * dir says the URL ended in '/'. Returns 200, with *f filled in; 301 for
 * a directory whose URL lacks the '/'; 403 when the path leads out of
 * root or to something other than a regular file, or may not be read;
 * 404 when nothing is there (nor an index.html); 503 when out of file
 * descriptors or memory; 500 for another error. */
int files_open(int root, char *path, size_t cap, bool dir, struct file *f);

#endif
