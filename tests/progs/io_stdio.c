/*
 * io_stdio: blocking reads of stdin and writes to stdout from several
 * threads at once, on descriptors the program inherited. stdin carries
 * records of 8 bytes, "%07d\n"; each of 4 threads reads one record at a
 * time with read(0, buf, 8) and echoes it with write(1, buf, 8), until EOF.
 * Then main prints how many records were read and their sum, and whether
 * stdin and stdout have O_NONBLOCK.
 *
 * It is run by tests/diff_io_faults.c with stdin a pipe (the runner writes
 * more than a pipe holds, so readers wait for it) and stdout a pipe or a
 * socket (the echo is more than either holds, so writers wait for the
 * runner too); the runner keeps its own descriptors of the same file
 * descriptions and checks that they never have O_NONBLOCK, and that every
 * record came back once. The echo order depends on the scheduler; the
 * summary lines do not.
 *
 * Records are atomic: the runner writes whole records in atomic writes, a
 * read of 8 bytes from a pipe that holds at least 8 returns 8, and a write
 * of 8 bytes to a pipe (at most PIPE_BUF) or a stream socket is not split.
 * A short read or write is reported and fails the program.
 *
 * stderr carries "os_threads_max=N" (5 natively: the runner bounds it for
 * green runs).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG_NAME "io_stdio"
#include "progs.h"

enum { THREADS = 4, RECORD = 8 };

struct echoer {
    pthread_t thread;
    long records;
    long long sum;
};

static void *echo(void *arg)
{
    struct echoer *e = arg;
    char rec[RECORD + 1];
    ssize_t n;

    while ((n = read(0, rec, RECORD)) > 0) {
        char *end;
        long v;

        if (n != RECORD) {
            fprintf(stderr, PROG_NAME ": read %zd bytes, not %d\n", n, RECORD);
            exit(1);
        }
        rec[RECORD] = '\0';
        v = strtol(rec, &end, 10);
        check(end == rec + RECORD - 1 && *end == '\n', "a record");
        e->records++;
        e->sum += v;
        n = write(1, rec, RECORD);
        if (n != RECORD) {
            fprintf(stderr, PROG_NAME ": write gave %zd: %s\n", n,
                    n < 0 ? strerror(errno) : "short");
            exit(1);
        }
        if (e->records == 100)
            sample_threads();
    }
    check_errno(n < 0, "read");
    return NULL;
}

static const char *nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0)
        return ename(errno);
    return flags & O_NONBLOCK ? "yes" : "no";
}

int main(void)
{
    static struct echoer echoers[THREADS];
    long records = 0;
    long long sum = 0;

    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_create(&echoers[i].thread, NULL, echo, &echoers[i]),
                 "pthread_create");
    for (int i = 0; i < THREADS; i++) {
        check_rc(pthread_join(echoers[i].thread, NULL), "pthread_join");
        records += echoers[i].records;
        sum += echoers[i].sum;
    }
    printf("records=%ld sum=%lld\n", records, sum);
    printf("stdin O_NONBLOCK: %s, stdout O_NONBLOCK: %s\n", nonblock(0),
           nonblock(1));
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
