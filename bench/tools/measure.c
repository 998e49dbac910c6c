/*
 * measure — runs a command and prints what it cost, for
 * bench/tools/report.py:
 *
 *     measure SECONDS COMMAND [ARG...]
 *
 * prints "STATUS WALL USER SYS MAXRSS" on stderr's last line (exit status,
 * or 128 + signal; seconds; peak RSS in KiB) and kills the command (and
 * its process group) if it runs longer than SECONDS.
 *
 * Why not Python's own wait4: a child's peak RSS starts from that of the
 * process that forked it (Linux carries the high-water mark across exec),
 * and a Python parent is 30 MiB or more, more than some of the tools
 * measured. This program is a few hundred KiB.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    kill(-child, SIGKILL);
}

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: measure SECONDS COMMAND [ARG...]\n", stderr);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    child = fork();
    if (child < 0) {
        perror("measure: fork");
        return 2;
    }
    if (child == 0) {
        setpgid(0, 0);
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    setpgid(child, child);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)atoi(argv[1]));
    int st;
    struct rusage ru;
    while (wait4(child, &st, 0, &ru) < 0)
        ;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    fprintf(stderr, "\n%d %.6f %.6f %.6f %ld\n", status,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
            seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss);
    return 0;
}
