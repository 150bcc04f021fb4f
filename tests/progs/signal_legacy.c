/*
 * signal_legacy: the BSD and System V signal calls old programs (and
 * dash) still make. sigblock, siggetmask and sigsetmask(0), which lets a
 * pending signal in before it returns; sighold and sigrelse; X/Open's
 * sigpause waiting for an itimer's signal; sigset with SIG_HOLD and back;
 * sigignore; siginterrupt deciding whether a later signal() restarts a
 * read. Last, a forked child does what dash does in its SIGINT handler
 * (a handler that blocks everything, sigsetmask(0), SIG_DFL, raise) and
 * must die of the signal. And after a handler that jumps within itself,
 * 50 threads each nap 100 ms: stderr's "os_threads_max=N" (sampled while
 * they nap) shows whether they are still green threads.
 *
 * stdout is the same natively and green. A plain POSIX program that knows
 * nothing of libgreen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* They are deprecated: this program calls them on purpose. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define PROG_NAME "signal_legacy"
#include "progs.h"

static atomic_int usr1_runs, alarm_runs;

static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&usr1_runs, 1);
}

static void on_alarm(int sig)
{
    (void)sig;
    atomic_fetch_add(&alarm_runs, 1);
}

/* A BSD mask's bit for sig (glibc's sigmask() macro warns). */
#define BSD_BIT(sig) (1 << ((sig) - 1))

static void bsd_masks(void)
{
    int old, now;

    signal(SIGUSR1, on_usr1);
    old = sigblock(BSD_BIT(SIGUSR1));
    /* Looked up: a call by name makes the linker warn that it is old. */
    now = ((int (*)(void))dlsym(RTLD_DEFAULT, "siggetmask"))();
    printf("sigblock: old mask %#x, now SIGUSR1 %s\n", old,
           now & BSD_BIT(SIGUSR1) ? "blocked" : "not blocked");
    raise(SIGUSR1);
    printf("raised while blocked: handler ran %d time(s)\n",
           atomic_load(&usr1_runs));
    old = sigsetmask(0);
    printf("sigsetmask(0): old mask had SIGUSR1: %s, handler ran %d time(s)\n",
           old & BSD_BIT(SIGUSR1) ? "yes" : "no", atomic_load(&usr1_runs));
}

static void system_v_masks(void)
{
    struct itimerval tick = {{0, 0}, {0, 50000}};
    int rc;

    atomic_store(&usr1_runs, 0);
    sighold(SIGUSR1);
    raise(SIGUSR1);
    printf("sighold, raise: handler ran %d time(s)\n", atomic_load(&usr1_runs));
    sigrelse(SIGUSR1);
    printf("sigrelse: handler ran %d time(s)\n", atomic_load(&usr1_runs));
    errno = 0;
    rc = sighold(0);
    printf("sighold of signal 0: %d %s\n", rc, ename(errno));

    signal(SIGALRM, on_alarm);
    sighold(SIGALRM);
    setitimer(ITIMER_REAL, &tick, NULL);
    rc = sigpause(SIGALRM);
    printf("sigpause(SIGALRM): %d %s, handler ran %d time(s)\n", rc,
           ename(errno), atomic_load(&alarm_runs));
    sigrelse(SIGALRM);

    atomic_store(&usr1_runs, 0);
    printf("sigset(SIGUSR1, SIG_HOLD) gave the handler back: %s\n",
           sigset(SIGUSR1, SIG_HOLD) == on_usr1 ? "yes" : "no");
    raise(SIGUSR1);
    printf("held, raised: handler ran %d time(s)\n", atomic_load(&usr1_runs));
    rc = sigset(SIGUSR1, on_usr1) == SIG_HOLD;
    printf("sigset(SIGUSR1, handler) said SIG_HOLD: %s, handler ran %d "
           "time(s)\n",
           rc ? "yes" : "no", atomic_load(&usr1_runs));

    sigignore(SIGUSR2);
    raise(SIGUSR2);
    printf("sigignore(SIGUSR2), raise: still here, disposition %s\n",
           signal(SIGUSR2, SIG_DFL) == SIG_IGN ? "SIG_IGN" : "something else");
}

/* --- siginterrupt -------------------------------------------------------- */

static int fds[2];
static atomic_bool read_done;

static void *reads_pipe(void *arg)
{
    char c;
    ssize_t n;

    (void)arg;
    n = read(fds[0], &c, 1);
    atomic_store(&read_done, true);
    return (void *)(long)(n < 0 ? -errno : n);
}

/* A read signals land in: EINTR, or restarted each time and then fed a
 * byte. They come every 20 ms for 300 ms, so that one lands while the
 * reader waits in read however late it gets there. */
static const char *read_under_signal(void)
{
    static char answer[32];
    pthread_t t;
    void *result;

    check_errno(pipe(fds), "pipe");
    atomic_store(&read_done, false);
    check_rc(pthread_create(&t, NULL, reads_pipe, NULL), "pthread_create");
    for (int i = 0; i < 15 && !atomic_load(&read_done); i++) {
        pthread_kill(t, SIGUSR1);
        nap_ms(20);
    }
    check(write(fds[1], "x", 1) == 1, "write");
    check_rc(pthread_join(t, &result), "pthread_join");
    if ((long)result < 0)
        snprintf(answer, sizeof(answer), "%s", ename((int)-(long)result));
    else
        snprintf(answer, sizeof(answer), "read %ld byte", (long)result);
    close(fds[0]);
    close(fds[1]);
    return answer;
}

static void interrupting(void)
{
    siginterrupt(SIGUSR1, 1);
    signal(SIGUSR1, on_usr1);
    printf("siginterrupt(SIGUSR1, 1), signal(): %s\n", read_under_signal());
    siginterrupt(SIGUSR1, 0);
    signal(SIGUSR1, on_usr1);
    printf("siginterrupt(SIGUSR1, 0), signal(): %s\n", read_under_signal());
}

/* --- dash's SIGINT ------------------------------------------------------- */

static void like_dash(int sig)
{
    sigsetmask(0);
    signal(sig, SIG_DFL);
    raise(sig);
    _exit(130); /* the signal did not end it */
}

static void dies_like_dash(void)
{
    struct sigaction act = {.sa_handler = like_dash};
    int status;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        sigfillset(&act.sa_mask);
        sigaction(SIGINT, &act, NULL);
        kill(getpid(), SIGINT);
        pause();
        _exit(1);
    }
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("a handler that lets SIGINT in and raises it: killed by "
               "signal %d\n",
               WTERMSIG(status));
    else
        printf("a handler that lets SIGINT in and raises it: exited %d\n",
               WEXITSTATUS(status));
}

static sigjmp_buf inside;
static atomic_int inner_jumps;

static void jumps_within_itself(int sig)
{
    (void)sig;
    if (sigsetjmp(inside, 1) == 0)
        siglongjmp(inside, 1);
    atomic_fetch_add(&inner_jumps, 1);
}

static void *naps(void *arg)
{
    (void)arg;
    nap_ms(100);
    return NULL;
}

static void threads_after_an_inner_jump(void)
{
    pthread_t t[50];

    signal(SIGUSR2, jumps_within_itself);
    raise(SIGUSR2);
    for (int i = 0; i < 50; i++)
        check_rc(pthread_create(&t[i], NULL, naps, NULL), "pthread_create");
    nap_ms(50);
    sample_threads();
    for (int i = 0; i < 50; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    printf("after a handler jumped within itself (%d): 50 threads napped\n",
           atomic_load(&inner_jumps));
}

int main(void)
{
    dies_like_dash(); /* first: the child of a single thread goes on green */
    bsd_masks();
    system_v_masks();
    interrupting();
    threads_after_an_inner_jump();
    return 0;
}
