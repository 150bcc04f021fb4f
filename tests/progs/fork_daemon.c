/*
 * fork_daemon: the children of a daemon and of a prefork server, forked
 * while the process has one thread, go on to make threads of their own.
 *
 *  - A daemon's child, forked after main looked up "localhost" (which
 *    leaves the C library's helper threads waiting, under libgreen): it
 *    has one OS thread before it makes its first thread; then 2,000
 *    threads (64 KiB stacks) each sleep 200 ms, and once every one is
 *    about to sleep the child counts its OS threads; then 8 threads look
 *    up "localhost" 20 times each.
 *  - The parent makes a socket it shares with a child non-blocking after
 *    the fork: the child's F_GETFL shows it, and its read of the socket
 *    says EAGAIN instead of waiting.
 *  - A prefork server's child: the parent opens a blocking listener and
 *    forks; the child's thread accepts on it in a loop and answers each
 *    connection with a byte while the child's main thread naps ten times,
 *    then tells the parent, which only then connects. A blocking accept
 *    that held up the rest of the child would never let the naps end.
 *  - A child forked with stdin and stdout closed (a daemon closes them)
 *    gets 0 and 1 from its next opens, and can dup2 onto them.
 *  - A child's thread blocks in accept() on the listener it got at the
 *    fork (as a prefork child's listener thread does, with other threads
 *    about), and an alarm's handler (set without SA_RESTART) ends it with
 *    EINTR, as natively.
 *
 * stdout is the same on every correct run. stderr carries the daemon
 * child's "os_threads=N" and "wall_ms=N" (from its first thread to the
 * last join), for tests/diff_progs.c to check that the child's threads are
 * not OS threads and sleep at once.
 *
 * A plain POSIX program that knows nothing of libgreen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "fork_daemon"
#include "progs.h"

enum {
    SLEEPERS = 2000,
    STACK = 64 * 1024,
    LOOKERS = 8,
    LOOKUPS = 20,
    CONNECTIONS = 3,
    NAPS = 10
};

static atomic_int about_to_sleep;
static atomic_int slept;

static void *sleeper(void *arg)
{
    struct timespec ts = {0, 200 * 1000000};

    (void)arg;
    atomic_fetch_add_explicit(&about_to_sleep, 1, memory_order_release);
    if (nanosleep(&ts, NULL) == 0)
        atomic_fetch_add_explicit(&slept, 1, memory_order_relaxed);
    return NULL;
}

static atomic_int looked_up;

static int look_up_localhost(void)
{
    struct addrinfo *res;
    int rc = getaddrinfo("localhost", "80", NULL, &res);

    if (rc == 0)
        freeaddrinfo(res);
    return rc;
}

static void *look_up(void *arg)
{
    (void)arg;
    for (int i = 0; i < LOOKUPS; i++)
        if (look_up_localhost() == 0)
            atomic_fetch_add_explicit(&looked_up, 1, memory_order_relaxed);
    return NULL;
}

static int wait_child(pid_t pid)
{
    int status;

    check_errno(waitpid(pid, &status, 0) == pid ? 0 : -1, "waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void daemon_child(void)
{
    static pthread_t threads[SLEEPERS];
    int64_t start = now_ns(CLOCK_MONOTONIC);
    pthread_attr_t attr;

    printf("daemon child: %d OS thread before its first thread\n",
           os_threads());
    check_rc(pthread_attr_init(&attr), "pthread_attr_init");
    check_rc(pthread_attr_setstacksize(&attr, STACK),
             "pthread_attr_setstacksize");
    for (int i = 0; i < SLEEPERS; i++)
        check_rc(pthread_create(&threads[i], &attr, sleeper, NULL),
                 "pthread_create");
    while (atomic_load_explicit(&about_to_sleep, memory_order_acquire) <
           SLEEPERS)
        nap_ms(1);
    fprintf(stderr, "os_threads=%d\n", os_threads());
    for (int i = 0; i < SLEEPERS; i++)
        check_rc(pthread_join(threads[i], NULL), "pthread_join");
    fprintf(stderr, "wall_ms=%lld\n",
            (long long)((now_ns(CLOCK_MONOTONIC) - start) / 1000000));
    printf("daemon child: %d threads slept\n", atomic_load(&slept));
    for (int i = 0; i < LOOKERS; i++)
        check_rc(pthread_create(&threads[i], NULL, look_up, NULL),
                 "pthread_create");
    for (int i = 0; i < LOOKERS; i++)
        check_rc(pthread_join(threads[i], NULL), "pthread_join");
    printf("daemon child: %d lookups of localhost answered\n",
           atomic_load(&looked_up));
    fflush(stdout);
    exit(0);
}

static int listen_local(struct sockaddr_in *at)
{
    socklen_t len = sizeof(*at);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    check_errno(fd < 0 ? -1 : 0, "socket");
    memset(at, 0, sizeof(*at));
    at->sin_family = AF_INET;
    at->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check_errno(bind(fd, (struct sockaddr *)at, sizeof(*at)), "bind");
    check_errno(listen(fd, 16), "listen");
    check_errno(getsockname(fd, (struct sockaddr *)at, &len), "getsockname");
    return fd;
}

static void *answer_connections(void *arg)
{
    int listener = *(int *)arg;

    for (int i = 0; i < CONNECTIONS; i++) {
        int conn = accept(listener, NULL, NULL);

        check_errno(conn < 0 ? -1 : 0, "accept");
        check_errno(write(conn, "c", 1) == 1 ? 0 : -1, "write");
        close(conn);
    }
    return NULL;
}

static void prefork_child(int listener, int tell)
{
    pthread_t t;

    check_rc(pthread_create(&t, NULL, answer_connections, &listener),
             "pthread_create");
    for (int i = 0; i < NAPS; i++)
        nap_ms(10);
    check_errno(write(tell, "n", 1) == 1 ? 0 : -1, "write");
    check_rc(pthread_join(t, NULL), "pthread_join");
    exit(0);
}

static void prefork(void)
{
    struct sockaddr_in at;
    int listener = listen_local(&at);
    int tell[2];
    char got = 0;
    pid_t pid;

    check_errno(pipe(tell), "pipe");
    fflush(stdout);
    pid = fork();
    check_errno(pid < 0 ? -1 : 0, "fork");
    if (pid == 0)
        prefork_child(listener, tell[1]);
    check_errno(read(tell[0], &got, 1) == 1 ? 0 : -1, "read");
    printf("prefork child: napped %d times while its thread accepted\n",
           NAPS);
    for (int i = 0; i < CONNECTIONS; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        check_errno(connect(fd, (struct sockaddr *)&at, sizeof(at)),
                    "connect");
        check_errno(read(fd, &got, 1) == 1 ? 0 : -1, "read");
        printf("connection %d answered by '%c'\n", i, got);
        close(fd);
    }
    printf("prefork child exited %d\n", wait_child(pid));
    close(tell[0]);
    close(tell[1]);
    close(listener);
}

static void shared_flags(void)
{
    int sv[2], go[2];
    char c;
    pid_t pid;

    check_errno(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
    check_errno(pipe(go), "pipe");
    fflush(stdout);
    pid = fork();
    check_errno(pid < 0 ? -1 : 0, "fork");
    if (pid == 0) {
        ssize_t n;
        int flags;

        check_errno(read(go[0], &c, 1) == 1 ? 0 : -1, "read");
        flags = fcntl(sv[1], F_GETFL);
        n = read(sv[1], &c, 1);
        printf("child: F_GETFL shows %s, read %zd, %s\n",
               flags & O_NONBLOCK ? "O_NONBLOCK" : "blocking", n,
               n < 0 ? ename(errno) : "0");
        fflush(stdout);
        exit(0);
    }
    check_errno(fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK),
                "fcntl");
    check_errno(write(go[1], "g", 1) == 1 ? 0 : -1, "write");
    printf("shared flags child exited %d\n", wait_child(pid));
    close(sv[0]);
    close(sv[1]);
    close(go[0]);
    close(go[1]);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void *nap_on(void *arg)
{
    (void)arg;
    for (;;)
        nap_ms(50);
    return NULL;
}

static void interrupted_accept(void)
{
    struct sockaddr_in at;
    int listener = listen_local(&at);
    pid_t pid;

    fflush(stdout);
    pid = fork();
    check_errno(pid < 0 ? -1 : 0, "fork");
    if (pid == 0) {
        struct sigaction sa = {.sa_handler = on_alarm};
        pthread_t t;
        int rc;

        check_rc(pthread_create(&t, NULL, nap_on, NULL), "pthread_create");
        sigemptyset(&sa.sa_mask);
        check_errno(sigaction(SIGALRM, &sa, NULL), "sigaction");
        alarm(1);
        rc = accept(listener, NULL, NULL);
        printf("child thread: accept %d, %s\n", rc,
               rc < 0 ? ename(errno) : "0");
        fflush(stdout);
        exit(0);
    }
    printf("interrupting child exited %d\n", wait_child(pid));
    close(listener);
}

/* The parent closes fds 0 and 1 around the fork; the child reports on
 * fd out. */
static void stdio_closed(void)
{
    int out, in, status;
    pid_t pid;

    fflush(stdout);
    out = dup(1);
    in = dup(0);
    check(out > 2 && in > 2, "dup");
    close(0);
    close(1);
    pid = fork();
    if (pid == 0) {
        int a = open("/dev/null", O_RDWR), b = dup(a), c = dup2(a, 1);

        dprintf(out, "child with 0 and 1 closed: open %d, dup %d, dup2 onto "
                     "1: %d\n",
                a, b, c);
        _exit(0);
    }
    dup2(in, 0);
    dup2(out, 1);
    close(in);
    close(out);
    waitpid(pid, &status, 0);
}

int main(void)
{
    pid_t pid;

    check(look_up_localhost() == 0, "localhost is found");
    nap_ms(100); /* helpers of the lookup, if any, go idle */
    fflush(stdout);
    pid = fork();
    check_errno(pid < 0 ? -1 : 0, "fork");
    if (pid == 0)
        daemon_child();
    printf("daemon child exited %d\n", wait_child(pid));
    prefork();
    stdio_closed();
    shared_flags();
    interrupted_accept();
    return 0;
}
