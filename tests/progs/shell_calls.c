/*
 * shell_calls: system, popen and pclose in a threaded program. Exit
 * statuses and a shell killed by a signal; SIGINT ignored in the caller
 * while system runs (but not in the command) and the handler back after;
 * the mask a thread blocks reaching the command; a thread cancelled in
 * system, and an alarm's handler jumping out of it, whose command is
 * killed and reaped. fclose of a popen stream waits as pclose does. popen's read and write streams, their types
 * ("re" is close-on-exec, "rw" is EINVAL), an earlier stream closed in a
 * later child (so its reader sees the end at once), and 16 threads each
 * reading their own command. All the while a ticker thread naps in 10 ms
 * steps: it must go on ticking while a thread waits in system, in a read
 * of a popen stream and in pclose (with one loop, glibc's calls blocked
 * the worker, ticker and all). Last, 8 threads run system("sleep 0.3") at
 * once.
 *
 * stdout is the same natively and green. stderr carries "system_wall_ms=N"
 * for the 8 at once, for tests/diff_progs.c to check they overlapped.
 *
 * A plain POSIX program that knows nothing of libgreen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG_NAME "shell_calls"
#include "progs.h"

enum { N_READERS = 16, N_SYSTEMS = 8, MIN_TICKS = 5 };

static const char *status_of(int status, char *buf, size_t len)
{
    if (status == -1)
        snprintf(buf, len, "-1 (%s)", ename(errno));
    else if (WIFEXITED(status))
        snprintf(buf, len, "exited %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "status %#x", status);
    return buf;
}

/* --- the ticker ---------------------------------------------------------- */

static atomic_int ticks;
static atomic_bool ticking = true;

static void *ticker(void *arg)
{
    (void)arg;
    while (atomic_load(&ticking)) {
        nap_ms(10);
        atomic_fetch_add(&ticks, 1);
    }
    return NULL;
}

static void start_counting(void)
{
    atomic_store(&ticks, 0);
}

static const char *ticked(void)
{
    return atomic_load(&ticks) >= MIN_TICKS ? "yes" : "no";
}

/* --- system -------------------------------------------------------------- */

static void on_sigint(int sig)
{
    (void)sig;
}

static atomic_bool system_running;
static void (*seen_while_running)(int);

/* Looks for SIG_IGN for up to 200 ms of the 300 the command runs. */
static void *watch_sigint(void *arg)
{
    struct sigaction now;

    (void)arg;
    while (!atomic_load(&system_running))
        nap_ms(1);
    for (int ms = 0; ms < 200; ms++) {
        sigaction(SIGINT, NULL, &now);
        seen_while_running = now.sa_handler;
        if (now.sa_handler == SIG_IGN)
            break;
        nap_ms(1);
    }
    return NULL;
}

static void system_calls(void)
{
    struct sigaction act = {.sa_handler = on_sigint}, now;
    char buf[64];
    pthread_t watcher;
    sigset_t usr1, old;

    printf("system(NULL): %s\n", system(NULL) ? "a shell" : "no shell");
    printf("system(\"exit 3\"): %s\n",
           status_of(system("exit 3"), buf, sizeof(buf)));
    printf("system(\"kill -TERM $$\"): %s\n",
           status_of(system("kill -TERM $$"), buf, sizeof(buf)));

    sigemptyset(&act.sa_mask);
    sigaction(SIGINT, &act, NULL);
    check_rc(pthread_create(&watcher, NULL, watch_sigint, NULL),
             "pthread_create");
    start_counting();
    atomic_store(&system_running, true);
    system("sleep 0.3");
    check_rc(pthread_join(watcher, NULL), "pthread_join");
    sigaction(SIGINT, NULL, &now);
    printf("SIGINT while system ran: %s; after: %s\n",
           seen_while_running == SIG_IGN ? "ignored" : "not ignored",
           now.sa_handler == on_sigint ? "the handler" : "something else");
    printf("the ticker ticked while system waited: %s\n", ticked());
    /* Ignored in the caller, but at its default in the command. */
    printf("system(\"kill -INT $$\"): %s\n",
           status_of(system("kill -INT $$"), buf, sizeof(buf)));

    /* The command starts with the calling thread's mask. env drops the
     * preload, if any, so that grep's own mask is the one it was given. */
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, &old);
    fflush(stdout);
    system("exec env -u LD_PRELOAD grep ^SigBlk /proc/self/status");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void *system_for_long(void *arg)
{
    (void)arg;
    system("exec sleep 5"); /* killed with the shell it replaces */
    return NULL;
}

/* glibc kills the command of a thread cancelled in system, reaps it, and
 * puts SIGINT back. */
static void cancelled_in_system(void)
{
    struct sigaction now;
    int64_t start = now_ns(CLOCK_MONOTONIC);
    pthread_t t;
    void *result;

    check_rc(pthread_create(&t, NULL, system_for_long, NULL),
             "pthread_create");
    nap_ms(200);
    check_rc(pthread_cancel(t), "pthread_cancel");
    check_rc(pthread_join(t, &result), "pthread_join");
    sigaction(SIGINT, NULL, &now);
    printf("a thread cancelled in system: %s, at once: %s, SIGINT after: %s\n",
           result == PTHREAD_CANCELED ? "canceled" : "returned",
           now_ns(CLOCK_MONOTONIC) - start < 3000 * 1000000LL ? "yes" : "no",
           now.sa_handler == on_sigint ? "the handler" : "something else");
}

static sigjmp_buf out_of_system;

static void jump_out(int sig)
{
    (void)sig;
    siglongjmp(out_of_system, 1);
}

/* The old timeout: an alarm whose handler jumps out of system. glibc
 * kills and reaps the command on the way out, and puts SIGINT back. */
static void jumped_out_of_system(void)
{
    struct sigaction act = {.sa_handler = jump_out}, now;
    struct itimerval in_200ms = {{0, 0}, {0, 200000}};
    int64_t start = now_ns(CLOCK_MONOTONIC);
    int status, cancel_state;
    pid_t reaped;

    sigemptyset(&act.sa_mask);
    sigaction(SIGALRM, &act, NULL);
    if (sigsetjmp(out_of_system, 1) == 0) {
        setitimer(ITIMER_REAL, &in_200ms, NULL);
        system("exec sleep 5");
        printf("system returned: the alarm did not jump\n");
    }
    errno = 0;
    reaped = waitpid(-1, &status, WNOHANG);
    sigaction(SIGINT, NULL, &now);
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &cancel_state);
    printf("jumped out of system: at once: %s, the command reaped: %s, SIGINT "
           "after: %s, cancel: %s\n",
           now_ns(CLOCK_MONOTONIC) - start < 3000 * 1000000LL ? "yes" : "no",
           reaped < 0 && errno == ECHILD ? "yes" : "no",
           now.sa_handler == on_sigint ? "the handler" : "something else",
           cancel_state == PTHREAD_CANCEL_ENABLE ? "enabled" : "disabled");
}

static void *one_system(void *arg)
{
    (void)arg;
    return (void *)(long)system("sleep 0.3");
}

static void systems_at_once(void)
{
    pthread_t t[N_SYSTEMS];
    int64_t start = now_ns(CLOCK_MONOTONIC);
    int ok = 0;
    void *status;

    for (int i = 0; i < N_SYSTEMS; i++)
        check_rc(pthread_create(&t[i], NULL, one_system, NULL),
                 "pthread_create");
    for (int i = 0; i < N_SYSTEMS; i++) {
        check_rc(pthread_join(t[i], &status), "pthread_join");
        ok += (long)status == 0;
    }
    fprintf(stderr, "system_wall_ms=%lld\n",
            (long long)((now_ns(CLOCK_MONOTONIC) - start) / 1000000));
    printf("%d threads ran system at once: %d exited 0\n", N_SYSTEMS, ok);
}

/* --- popen --------------------------------------------------------------- */

static void popen_types(void)
{
    const char *bad[] = {"rw", "x", ""};
    FILE *f;

    for (int i = 0; i < 3; i++) {
        errno = 0;
        f = popen("true", bad[i]);
        printf("popen type \"%s\": %s, %s\n", bad[i], f ? "a stream" : "NULL",
               ename(errno));
        if (f)
            pclose(f);
    }
    f = popen("true", "re");
    printf("\"re\": %s\n",
           fcntl(fileno(f), F_GETFD) & FD_CLOEXEC ? "close-on-exec" : "inherited");
    pclose(f);
    f = popen("true", "r");
    printf("\"r\": %s\n",
           fcntl(fileno(f), F_GETFD) & FD_CLOEXEC ? "close-on-exec" : "inherited");
    pclose(f);
}

static void popen_streams(void)
{
    char line[64], buf[64];
    FILE *f, *first, *second;
    int64_t start;
    int status;

    f = popen("echo hello; echo world", "r");
    check(f != NULL, "popen r");
    while (fgets(line, sizeof(line), f))
        printf("read from popen: %s", line);
    printf("pclose: %s\n", status_of(pclose(f), buf, sizeof(buf)));

    f = popen("read line; test \"$line\" = ping && exit 5", "w");
    check(f != NULL, "popen w");
    fputs("ping\n", f);
    printf("pclose of a writer: %s\n", status_of(pclose(f), buf, sizeof(buf)));

    start_counting();
    f = popen("sleep 0.3; echo late", "r");
    check(f != NULL, "popen r");
    fgets(line, sizeof(line), f);
    printf("read after a wait: %s", line);
    printf("the ticker ticked while the read waited: %s\n", ticked());
    pclose(f);

    /* glibc's fclose of a popen stream waits for the command, as pclose. */
    f = popen("exit 4", "r");
    check(f != NULL, "popen r");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-dealloc" /* on purpose */
    status = fclose(f);
#pragma GCC diagnostic pop
    errno = 0;
    printf("fclose of a popen stream: %s, then waitpid: %s\n",
           status_of(status, buf, sizeof(buf)),
           waitpid(-1, &status, WNOHANG) < 0 ? ename(errno) : "a child");

    f = popen("sleep 0.3", "r");
    check(f != NULL, "popen r");
    start_counting();
    pclose(f);
    printf("the ticker ticked while pclose waited: %s\n", ticked());

    /* The second child must not hold the first's pipe open. */
    first = popen("cat > /dev/null", "w");
    second = popen("sleep 2", "r");
    check(first && second, "popen");
    start = now_ns(CLOCK_MONOTONIC);
    status = pclose(first);
    printf("pclose of the first stream while a second runs: %s, at once: %s\n",
           status_of(status, buf, sizeof(buf)),
           now_ns(CLOCK_MONOTONIC) - start < 1500 * 1000000LL ? "yes" : "no");
    printf("pclose of the second: %s\n",
           status_of(pclose(second), buf, sizeof(buf)));
}

static void *reader(void *arg)
{
    long i = (long)arg, value = -1;
    char command[64], line[64];
    FILE *f;

    snprintf(command, sizeof(command), "sleep 0.1; echo $((%ld * %ld))", i, i);
    f = popen(command, "r");
    check(f != NULL, "popen");
    if (fgets(line, sizeof(line), f))
        value = atol(line);
    if (pclose(f) != 0)
        value = -1000000;
    return (void *)value;
}

static void popen_readers(void)
{
    pthread_t t[N_READERS];
    long sum = 0;
    void *value;

    for (long i = 0; i < N_READERS; i++)
        check_rc(pthread_create(&t[i], NULL, reader, (void *)i),
                 "pthread_create");
    for (int i = 0; i < N_READERS; i++) {
        check_rc(pthread_join(t[i], &value), "pthread_join");
        sum += (long)value;
    }
    printf("%d threads read their own popen: sum of squares %ld\n", N_READERS,
           sum);
}

int main(void)
{
    pthread_t tick;

    check_rc(pthread_create(&tick, NULL, ticker, NULL), "pthread_create");
    system_calls();
    cancelled_in_system();
    jumped_out_of_system();
    popen_types();
    popen_streams();
    popen_readers();
    systems_at_once();
    atomic_store(&ticking, false);
    check_rc(pthread_join(tick, NULL), "pthread_join");
    return 0;
}
