/*
 * io_locks: waiting for a file lock that another process holds, with
 * fcntl's F_SETLKW and F_OFD_SETLKW, lockf's F_LOCK and flock.
 *
 * A plain pthread program. For each kind, a child process takes the lock
 * on a temporary file and holds it for 300 ms; meanwhile one thread waits
 * for it and another ticks every 10 ms. Printed per kind: whether the
 * waiter got the lock once the child let go, and whether the ticker kept
 * ticking while it waited (natively it runs on its own; a waiter that
 * blocked its whole worker would stop it).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG_NAME "io_locks"
#include "progs.h"

enum kind { POSIX_LOCK, OFD_LOCK, LOCKF, FLOCK };

static const char *const names[] = {"fcntl F_SETLKW", "fcntl F_OFD_SETLKW",
                                    "lockf F_LOCK", "flock LOCK_EX"};

static char path[] = "/tmp/io_locks_XXXXXX";
static atomic_int waiting;
static atomic_int ticks;

/* Take kind's lock on fd: wait if wait, else fail at once if taken. */
static int take(enum kind kind, int fd, bool wait)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

    switch (kind) {
    case POSIX_LOCK:
        return fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
    case OFD_LOCK:
        return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
    case LOCKF:
        return lockf(fd, wait ? F_LOCK : F_TLOCK, 0);
    case FLOCK:
        return flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
    }
    return -1;
}

static void *ticker(void *arg)
{
    (void)arg;
    while (atomic_load(&waiting)) {
        nap_ms(10);
        atomic_fetch_add(&ticks, 1);
    }
    return NULL;
}

struct waiter {
    enum kind kind;
    int rc;
    long waited_ms;
};

static void *waiter(void *arg)
{
    struct waiter *w = arg;
    int fd = open(path, O_RDWR);
    int64_t start = now_ns(CLOCK_MONOTONIC);

    check(fd >= 0, "open");
    w->rc = take(w->kind, fd, true);
    w->waited_ms = (long)((now_ns(CLOCK_MONOTONIC) - start) / 1000000);
    atomic_store(&waiting, 0);
    close(fd);
    return NULL;
}

static void one_kind(enum kind kind)
{
    struct waiter w = {.kind = kind};
    int ready[2];
    pthread_t t, tk;
    pid_t child;
    char c;

    check_errno(pipe(ready), "pipe");
    fflush(stdout);
    child = fork();
    if (child == 0) {
        int fd = open(path, O_RDWR);

        if (fd < 0 || take(kind, fd, false) != 0)
            _exit(1);
        write(ready[1], "x", 1);
        nap_ms(300);
        _exit(0); /* its locks go with it */
    }
    check(read(ready[0], &c, 1) == 1, "the child took the lock");
    atomic_store(&ticks, 0);
    atomic_store(&waiting, 1);
    check_rc(pthread_create(&tk, NULL, ticker, NULL), "pthread_create");
    check_rc(pthread_create(&t, NULL, waiter, &w), "pthread_create");
    check_rc(pthread_join(t, NULL), "pthread_join");
    check_rc(pthread_join(tk, NULL), "pthread_join");
    waitpid(child, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    printf("%-18s rc=%d %s; ticker ran while it waited: %s\n", names[kind],
           w.rc, w.waited_ms >= 200 ? "after the holder let go" : "too soon",
           atomic_load(&ticks) >= 10 ? "yes" : "no");
    fprintf(stderr, "%s: waited %ld ms, %d ticks\n", names[kind],
            w.waited_ms, atomic_load(&ticks));
}

int main(void)
{
    int fd = mkstemp(path);

    check(fd >= 0, "mkstemp");
    close(fd);
    for (enum kind k = POSIX_LOCK; k <= FLOCK; k++)
        one_kind(k);
    unlink(path);
    return 0;
}
