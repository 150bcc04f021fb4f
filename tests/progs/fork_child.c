/*
 * fork_child: fork() from a thread and from main. The child keeps running
 * the forking thread: it sleeps, creates and joins a thread, and exits with
 * a status its parent reads; a child whose forking thread simply returns
 * ends with status 0. Then a child forked after a name lookup (localhost,
 * from /etc/hosts) exits with its status too. Last, the old timeout
 * pattern: alarm(), then waitpid() ends with EINTR when the alarm's
 * handler (without SA_RESTART) runs, and the parent kills the child. And a
 * child that makes a pipe the parent shares non-blocking: the parent's
 * F_GETFL shows it, and its read says EAGAIN instead of waiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *add_one(void *arg)
{
    return (void *)((long)arg + 1);
}

static void child_work(int status)
{
    struct timespec ts = {0, 10000000};
    pthread_t t;
    void *ret;

    nanosleep(&ts, NULL);
    pthread_create(&t, NULL, add_one, (void *)(long)status);
    pthread_join(t, &ret);
    printf("child: thread returned %ld\n", (long)ret);
    fflush(stdout);
    exit((int)(long)ret);
}

static int wait_child(pid_t pid)
{
    int status;

    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void *forker(void *arg)
{
    pid_t pid;

    (void)arg;
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        child_work(4);
    printf("parent: child of a thread exited %d\n", wait_child(pid));
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        return NULL; /* the child's only thread ends: status 0 */
    printf("parent: child whose thread returned exited %d\n", wait_child(pid));
    return NULL;
}

/* Under libgreen that lookup runs on libuv's thread pool, whose threads
 * the child's exit() joins (libuv's destructor) though it has none. */
static void lookup_then_fork(void)
{
    struct addrinfo *ai;
    int rc = getaddrinfo("localhost", "80", NULL, &ai);
    pid_t pid;

    printf("parent: localhost looked up: %s\n", rc == 0 ? "yes" : "no");
    if (rc == 0)
        freeaddrinfo(ai);
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        exit(7);
    printf("parent: child after a lookup exited %d\n", wait_child(pid));
}

static void child_sets_o_nonblock(void)
{
    int p[2], status;
    char c;
    pid_t pid;
    ssize_t n;

    if (pipe(p) != 0)
        exit(1);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    printf("parent: F_GETFL after the child's F_SETFL: %s\n",
           fcntl(p[0], F_GETFL) & O_NONBLOCK ? "O_NONBLOCK" : "blocking");
    n = read(p[0], &c, 1);
    printf("parent: read of the empty pipe: %s\n",
           n < 0 && errno == EAGAIN ? "EAGAIN" : "something else");
    close(p[0]);
    close(p[1]);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void wait_with_a_timeout(void)
{
    struct sigaction act = {.sa_handler = on_alarm};
    pid_t pid;
    int status, rc;

    sigemptyset(&act.sa_mask);
    sigaction(SIGALRM, &act, NULL); /* no SA_RESTART */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        sleep(5);
        exit(0);
    }
    alarm(1);
    rc = waitpid(pid, &status, 0);
    printf("parent: waitpid past the alarm: %s\n",
           rc < 0 && errno == EINTR ? "EINTR" : "something else");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    printf("parent: the child was killed: %s\n",
           WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? "yes" : "no");
}

int main(void)
{
    pthread_t t;
    pid_t pid;

    pthread_create(&t, NULL, forker, NULL);
    pthread_join(t, NULL);
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        child_work(8);
    printf("parent: child of main exited %d\n", wait_child(pid));
    lookup_then_fork();
    wait_with_a_timeout();
    child_sets_o_nonblock();
    return 0;
}
