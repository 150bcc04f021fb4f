/*
 * wait_child: waits for one child while another thread runs. An itimer
 * signal whose handler lacks SA_RESTART ends waitpid with EINTR; with
 * SA_RESTART the wait goes on to the child's end. pthread_cancel of a
 * thread in waitpid acts at once (the child is still alive, and killed
 * after). waitid(P_PID) and wait4 report the child's status. A wait for
 * a pid that is not a child says ECHILD. Then the same for wait(), for
 * any child: EINTR, a cancel at once, and a handler that jumps out of it
 * leaves the child to a later waitpid.
 *
 * stdout is the same natively and green. A plain POSIX program that
 * knows nothing of libgreen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG_NAME "wait_child"
#include "progs.h"

static atomic_bool running = true;

/* Keeps a second thread alive: a lone thread's wait is the real one. */
static void *other(void *arg)
{
    (void)arg;
    while (atomic_load(&running))
        nap_ms(10);
    return NULL;
}

static void on_alarm(int sig)
{
    (void)sig;
}

static pid_t child_sleeping(long ms, int code)
{
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        nap_ms(ms);
        _exit(code);
    }
    check(pid > 0, "fork");
    return pid;
}

static void alarm_in_ms(long ms)
{
    struct itimerval t = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};

    setitimer(ITIMER_REAL, &t, NULL);
}

static void interrupted_and_restarted(void)
{
    struct sigaction act = {.sa_handler = on_alarm};
    pid_t pid = child_sleeping(600, 3), rc;
    int status;

    sigemptyset(&act.sa_mask);
    sigaction(SIGALRM, &act, NULL);
    alarm_in_ms(100);
    rc = waitpid(pid, &status, 0);
    printf("waitpid, a handler without SA_RESTART ran: %s\n",
           rc < 0 ? ename(errno) : "returned");
    act.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &act, NULL);
    alarm_in_ms(100);
    rc = waitpid(pid, &status, 0);
    printf("waitpid, a handler with SA_RESTART ran: %s, exit %d\n",
           rc == pid ? "the child" : "something else", WEXITSTATUS(status));
}

static void *waits(void *arg)
{
    int status;

    waitpid(*(pid_t *)arg, &status, 0);
    return NULL;
}

static void cancelled(void)
{
    pid_t pid = child_sleeping(5000, 0);
    pthread_t t;
    void *result;
    int status;

    check_rc(pthread_create(&t, NULL, waits, &pid), "pthread_create");
    nap_ms(100);
    check_rc(pthread_cancel(t), "pthread_cancel");
    check_rc(pthread_join(t, &result), "pthread_join");
    printf("a thread in waitpid: %s\n",
           result == PTHREAD_CANCELED ? "canceled" : "returned");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    printf("the child was still alive: %s\n",
           WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? "yes" : "no");
}

static void statuses(void)
{
    siginfo_t info;
    struct rusage usage;
    pid_t pid, rc;
    int status;

    pid = child_sleeping(50, 7);
    check_errno(waitid(P_PID, (id_t)pid, &info, WEXITED), "waitid");
    printf("waitid: %s, status %d, pid %s\n",
           info.si_code == CLD_EXITED ? "CLD_EXITED" : "something else",
           info.si_status, info.si_pid == pid ? "right" : "wrong");
    pid = child_sleeping(50, 9);
    rc = wait4(pid, &status, 0, &usage);
    printf("wait4: %s, exit %d\n", rc == pid ? "the child" : "something else",
           WEXITSTATUS(status));
    errno = 0;
    rc = waitpid(1, &status, 0);
    printf("waitpid of a pid that is no child: %d %s\n", (int)rc,
           ename(errno));
}

static void *waits_any(void *arg)
{
    int status;

    (void)arg;
    wait(&status);
    return NULL;
}

static sigjmp_buf out_of_wait;

static void jump_out(int sig)
{
    (void)sig;
    siglongjmp(out_of_wait, 1);
}

static void any_child(void)
{
    struct sigaction act = {.sa_handler = on_alarm};
    pid_t pid = child_sleeping(600, 5), rc;
    pthread_t t;
    void *result;
    int status;

    sigemptyset(&act.sa_mask);
    sigaction(SIGALRM, &act, NULL);
    alarm_in_ms(100);
    rc = wait(&status);
    printf("wait, a handler without SA_RESTART ran: %s\n",
           rc < 0 ? ename(errno) : "returned");

    check_rc(pthread_create(&t, NULL, waits_any, NULL), "pthread_create");
    nap_ms(100);
    check_rc(pthread_cancel(t), "pthread_cancel");
    check_rc(pthread_join(t, &result), "pthread_join");
    printf("a thread in wait: %s\n",
           result == PTHREAD_CANCELED ? "canceled" : "returned");

    act.sa_handler = jump_out;
    sigaction(SIGALRM, &act, NULL);
    if (sigsetjmp(out_of_wait, 1) == 0) {
        alarm_in_ms(100);
        wait(&status);
        printf("wait returned before the alarm\n");
    }
    rc = waitpid(pid, &status, 0);
    printf("after a jump out of wait, waitpid: %s, exit %d\n",
           rc == pid ? "the child" : ename(errno), WEXITSTATUS(status));
}

int main(void)
{
    pthread_t t;

    check_rc(pthread_create(&t, NULL, other, NULL), "pthread_create");
    interrupted_and_restarted();
    cancelled();
    statuses();
    any_child();
    atomic_store(&running, false);
    check_rc(pthread_join(t, NULL), "pthread_join");
    return 0;
}
