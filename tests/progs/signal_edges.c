/*
 * signal_edges: where signals meet threads that are not simply blocked in
 * a call, and the process's edges (fork, exec, signalfd).
 *
 * A plain pthread program; each case prints what a native run prints:
 *  - a signal for a thread that is ready to run (just woken) runs its
 *    handler before the thread goes on;
 *  - SIGTERM blocked in every thread (default action: terminate) reaches a
 *    thread in sigwait, also after another thread ran sigsuspend, and a
 *    flood of SIGUSR1 from a child does not end the process;
 *  - a thread created before the main thread blocked a signal takes it,
 *    and its read ends with EINTR;
 *  - a one-shot (SA_RESETHAND) handler sent to a computing thread runs once;
 *  - blocked signals: SIG_DFL set while blocked stays pending; a pending
 *    signal meets the handler in force when it is delivered, and SIG_IGN
 *    set meanwhile discards it;
 *  - SIGCHLD, ignored by default, does not end pause() or ppoll();
 *  - siglongjmp restores the mask sigsetjmp saved, and not otherwise;
 *    jumps out of handlers that leave other signals pending lose none;
 *    an itimer whose handler jumps out of a blocking read, 2,000 times;
 *  - a signalfd reads a blocked signal; posix_spawn and exec pass the
 *    thread's mask on; a forked child's poll is not ended by SIGCHLD.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG_NAME "signal_edges"
#include "progs.h"

extern char **environ;

static atomic_int calls;

static void count(int sig)
{
    (void)sig;
    atomic_fetch_add(&calls, 1);
}

static void handle(int sig, void (*h)(int), int flags)
{
    struct sigaction sa = {.sa_handler = h, .sa_flags = flags};

    sigemptyset(&sa.sa_mask);
    check_errno(sigaction(sig, &sa, NULL), "sigaction");
}

static sigset_t one(int sig)
{
    sigset_t s;

    sigemptyset(&s);
    sigaddset(&s, sig);
    return s;
}

/* --- a thread that is ready, not blocked --- */

static sem_t to_main, to_peer;

static void *peer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        sem_wait(&to_peer);
        sem_post(&to_main); /* main is ready to run */
        if (i == 1000)
            kill(getpid(), SIGUSR1);
    }
    return NULL;
}

static void ready_thread(void)
{
    int seen_at = -1;
    pthread_t t;

    handle(SIGUSR1, count, 0);
    atomic_store(&calls, 0);
    sem_init(&to_main, 0, 0);
    sem_init(&to_peer, 0, 0);
    check_rc(pthread_create(&t, NULL, peer, NULL), "pthread_create");
    for (int i = 0; i < 20000; i++) {
        sem_post(&to_peer);
        while (sem_wait(&to_main) != 0)
            ;
        if (atomic_load(&calls) && seen_at < 0)
            seen_at = i;
    }
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("ready thread: handler ran %s\n",
           seen_at >= 1000 && seen_at < 1100 ? "at once" : "late or never");
    signal(SIGUSR1, SIG_DFL);
}

/* --- sigwait --- */

static void *sigwait_term(void *arg)
{
    sigset_t s = one(SIGTERM);
    int sig = 0;

    (void)arg;
    check_rc(sigwait(&s, &sig), "sigwait");
    printf("sigwait took %s\n", sig == SIGTERM ? "SIGTERM" : "another");
    return NULL;
}

static void *suspend_once(void *arg)
{
    sigset_t none;

    (void)arg;
    sigemptyset(&none);
    sigsuspend(&none); /* ended by SIGUSR2 */
    return NULL;
}

static atomic_int flood_over;

static void *sigwait_loop(void *arg)
{
    sigset_t s = one(SIGPROF);
    int sig;

    (void)arg;
    while (!atomic_load(&flood_over)) {
        sigwait(&s, &sig);
        atomic_fetch_add(&calls, 1);
    }
    return NULL;
}

static void sigwaiters(void)
{
    sigset_t term_usr2 = one(SIGTERM), prof = one(SIGPROF);
    struct timespec zero = {0, 0};
    pthread_t w, s;
    pid_t flood, parent = getpid();

    /* After another thread ran sigsuspend, the sigwaiter still gets it. */
    handle(SIGUSR2, count, 0);
    sigaddset(&term_usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &term_usr2, NULL);
    check_rc(pthread_create(&w, NULL, sigwait_term, NULL), "pthread_create");
    check_rc(pthread_create(&s, NULL, suspend_once, NULL), "pthread_create");
    nap_ms(50);
    pthread_kill(s, SIGUSR2);
    check_rc(pthread_join(s, NULL), "pthread_join");
    kill(getpid(), SIGTERM);
    check_rc(pthread_join(w, NULL), "pthread_join");
    pthread_sigmask(SIG_UNBLOCK, &term_usr2, NULL);
    signal(SIGUSR2, SIG_DFL);

    /* A flood of a signal whose default action ends the process. */
    atomic_store(&calls, 0);
    pthread_sigmask(SIG_BLOCK, &prof, NULL);
    check_rc(pthread_create(&w, NULL, sigwait_loop, NULL), "pthread_create");
    flood = fork();
    if (flood == 0) {
        while (getppid() == parent && kill(parent, SIGPROF) == 0)
            ;
        _exit(0);
    }
    nap_ms(500);
    kill(flood, SIGKILL);
    waitpid(flood, NULL, 0);
    atomic_store(&flood_over, 1);
    kill(getpid(), SIGPROF);
    check_rc(pthread_join(w, NULL), "pthread_join");
    printf("a flood of blocked SIGPROF: alive, sigwait took %s\n",
           atomic_load(&calls) > 0 ? "some" : "none");
    /* What is left of it stays blocked, and goes. */
    while (sigtimedwait(&prof, NULL, &zero) == SIGPROF)
        ;
}

/* --- a taker the main thread does not know about --- */

static int pipe_fd[2];

static void *reader(void *arg)
{
    char c;
    long rc;

    (void)arg;
    rc = read(pipe_fd[0], &c, 1);
    printf("thread created before main blocked SIGHUP: read=%ld %s\n", rc,
           rc < 0 ? ename(errno) : "-");
    return NULL;
}

static void *keep_killing(void *arg)
{
    atomic_int *done = arg;

    while (!atomic_load(done)) {
        nap_ms(20);
        kill(getpid(), SIGHUP);
    }
    return NULL;
}

static void unknown_taker(void)
{
    sigset_t hup = one(SIGHUP);
    atomic_int done = 0;
    pthread_t r, k;

    handle(SIGHUP, count, 0);
    check_errno(pipe(pipe_fd), "pipe");
    check_rc(pthread_create(&r, NULL, reader, NULL), "pthread_create");
    nap_ms(30);
    pthread_sigmask(SIG_BLOCK, &hup, NULL);
    check_rc(pthread_create(&k, NULL, keep_killing, &done), "pthread_create");
    check_rc(pthread_join(r, NULL), "pthread_join");
    atomic_store(&done, 1);
    check_rc(pthread_join(k, NULL), "pthread_join");
    close(pipe_fd[0]);
    close(pipe_fd[1]);
}

/* --- a one-shot handler and a computing thread --- */

static atomic_int shot;

static void once(int sig)
{
    (void)sig;
    atomic_fetch_add(&shot, 1);
}

static void *compute(void *arg)
{
    atomic_int *started = arg;

    atomic_store(started, 1);
    for (long i = 1; !atomic_load(&shot); i++) {
        if (i % 100000 == 0)
            sched_yield();
    }
    return NULL;
}

static void one_shot(void)
{
    atomic_int started = 0;
    pthread_t t;

    handle(SIGURG, once, SA_RESETHAND);
    check_rc(pthread_create(&t, NULL, compute, &started), "pthread_create");
    while (!atomic_load(&started))
        nap_ms(1);
    nap_ms(20);
    pthread_kill(t, SIGURG);
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("one-shot handler for a computing thread: ran %d time(s)\n",
           atomic_load(&shot));
}

/* --- blocked signals and dispositions --- */

static void dispositions(void)
{
    sigset_t winch = one(SIGWINCH), usr2 = one(SIGUSR2), pending;
    atomic_int before;

    /* SIG_DFL set while blocked: the signal waits, the process lives. */
    signal(SIGUSR2, SIG_IGN);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);
    signal(SIGUSR2, SIG_DFL);
    raise(SIGUSR2);
    sigpending(&pending);
    printf("SIG_DFL set while blocked, raised: alive, pending %d\n",
           sigismember(&pending, SIGUSR2));
    sigwaitinfo(&usr2, NULL);
    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);

    /* A pending signal meets the disposition of its delivery: SIG_IGN set
     * meanwhile discards it, a new handler takes it. */
    handle(SIGWINCH, count, 0);
    pthread_sigmask(SIG_BLOCK, &winch, NULL);
    atomic_store(&calls, 0);
    raise(SIGWINCH);
    signal(SIGWINCH, SIG_IGN);
    pthread_sigmask(SIG_UNBLOCK, &winch, NULL);
    before = atomic_load(&calls);
    signal(SIGWINCH, SIG_DFL);
    pthread_sigmask(SIG_BLOCK, &winch, NULL);
    raise(SIGWINCH);
    handle(SIGWINCH, count, 0);
    pthread_sigmask(SIG_UNBLOCK, &winch, NULL);
    printf("pending then SIG_IGN: handler ran %d; pending then a new "
           "handler: ran %d\n",
           before, atomic_load(&calls));
    signal(SIGWINCH, SIG_DFL);
}

static void *block_everything(void *arg)
{
    sigset_t all;

    (void)arg;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    nap_ms(600);
    return NULL;
}

static void *usr1_later(void *arg)
{
    pthread_t *to = arg;

    nap_ms(300);
    pthread_kill(*to, SIGUSR1);
    return NULL;
}

/* SIGCHLD (ignored by default) while another thread blocks everything. */
static void ignored_by_default(void)
{
    pthread_t blocker, sender, self = pthread_self();
    struct pollfd p;
    int rc;

    handle(SIGUSR1, count, 0);
    check_errno(pipe(pipe_fd), "pipe");
    p.fd = pipe_fd[0];
    p.events = POLLIN;
    for (int round = 0; round < 2; round++) {
        check_rc(pthread_create(&blocker, NULL, block_everything, NULL),
                 "pthread_create");
        check_rc(pthread_create(&sender, NULL, usr1_later, &self),
                 "pthread_create");
        nap_ms(20);
        if (fork() == 0)
            _exit(0); /* its SIGCHLD comes at once */
        if (round == 0) {
            rc = pause();
            printf("pause with a child exiting: ended by %s\n",
                   rc < 0 && errno == EINTR && atomic_load(&calls)
                       ? "SIGUSR1"
                       : "something else");
        } else {
            struct timespec five = {5, 0};
            sigset_t none;

            sigemptyset(&none);
            rc = ppoll(&p, 1, &five, &none);
            printf("ppoll with a child exiting: ended by %s\n",
                   rc < 0 && errno == EINTR && atomic_load(&calls)
                       ? "SIGUSR1"
                       : "something else");
        }
        atomic_store(&calls, 0);
        wait(NULL);
        check_rc(pthread_join(sender, NULL), "pthread_join");
        check_rc(pthread_join(blocker, NULL), "pthread_join");
    }
    close(pipe_fd[0]);
    close(pipe_fd[1]);
    signal(SIGUSR1, SIG_DFL);
}

/* --- jumps --- */

static sigjmp_buf env;

static void jump(int sig)
{
    (void)sig;
    siglongjmp(env, 1);
}

static void jumps(void)
{
    sigset_t usr2 = one(SIGUSR2), cur;
    struct itimerval tick = {.it_interval = {0, 200}, .it_value = {0, 200}};
    int jumped = 0;
    char c;

    /* A plain siglongjmp gives back the mask sigsetjmp(env, 1) saved. */
    if (sigsetjmp(env, 1) == 0) {
        pthread_sigmask(SIG_BLOCK, &usr2, NULL);
        siglongjmp(env, 1);
    }
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    printf("siglongjmp to sigsetjmp(env, 1): SIGUSR2 blocked %d\n",
           sigismember(&cur, SIGUSR2));
    /* sigsetjmp(env, 0): the mask stays as the jump found it. */
    if (sigsetjmp(env, 0) == 0) {
        pthread_sigmask(SIG_BLOCK, &usr2, NULL);
        siglongjmp(env, 1);
    }
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    printf("siglongjmp to sigsetjmp(env, 0): SIGUSR2 blocked %d\n",
           sigismember(&cur, SIGUSR2));
    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);

    /* The old timeout idiom, hammered. */
    check_errno(pipe(pipe_fd), "pipe");
    handle(SIGALRM, jump, 0);
    setitimer(ITIMER_REAL, &tick, NULL);
    while (jumped < 2000) {
        if (sigsetjmp(env, 1) == 0)
            read(pipe_fd[0], &c, 1);
        else
            jumped++;
    }
    tick.it_value.tv_usec = 0;
    tick.it_interval.tv_usec = 0;
    setitimer(ITIMER_REAL, &tick, NULL);
    signal(SIGALRM, SIG_IGN);
    printf("itimer handler jumping out of a read: %d jumps\n", jumped);
    signal(SIGALRM, SIG_DFL);
    close(pipe_fd[0]);
    close(pipe_fd[1]);
}

/* Two pending signals whose handler jumps when they are let in: nothing
 * is lost on the way, many times over (each pthread_kill succeeds). Which
 * handler runs, and whether the other's is lost in the jump, is the
 * kernel's order and not asked. */
static void jumps_lose_nothing(void)
{
    sigset_t both = one(SIGWINCH);
    struct sigaction sa = {.sa_handler = jump};
    int rounds = 0, failed = 0;

    sigaddset(&both, SIGURG);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGURG, &sa, NULL);
    for (int i = 0; i < 1100; i++) {
        pthread_sigmask(SIG_BLOCK, &both, NULL);
        failed += pthread_kill(pthread_self(), SIGWINCH) != 0;
        failed += pthread_kill(pthread_self(), SIGURG) != 0;
        if (sigsetjmp(env, 1) == 0)
            pthread_sigmask(SIG_UNBLOCK, &both, NULL);
        else
            rounds++;
        pthread_sigmask(SIG_UNBLOCK, &both, NULL);
    }
    printf("1,100 rounds of jumps out of two pending handlers: %s jumped, "
           "%d pthread_kill failed\n",
           rounds >= 1100 ? "each" : "not each", failed);
    signal(SIGWINCH, SIG_DFL);
    signal(SIGURG, SIG_DFL);
}

/* --- the process's edges --- */

/* What the child's /proc/self/status says of its blocked signals: grep
 * itself (a shell resets its mask), with the environment less whatever
 * LD_PRELOAD a runner may have put in it, which would make grep's own
 * threads the ones that the file describes. */
static void child_mask(const char *how)
{
    char *argv[] = {"/bin/grep", "SigBlk", "/proc/self/status", NULL};
    char *envp[256];
    size_t n = 0;
    pid_t pid;
    int status;

    for (char **e = environ; *e && n < 255; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) != 0)
            envp[n++] = *e;
    envp[n] = NULL;
    fflush(stdout);
    if (strcmp(how, "posix_spawn") == 0) {
        check_rc(posix_spawn(&pid, argv[0], NULL, NULL, argv, envp),
                 "posix_spawn");
    } else {
        pid = fork();
        if (pid == 0) {
            execve(argv[0], argv, envp);
            _exit(127);
        }
    }
    waitpid(pid, &status, 0);
}

static void process_edges(void)
{
    sigset_t usr1 = one(SIGUSR1), chld = one(SIGCHLD), all;
    struct signalfd_siginfo si;
    struct pollfd p;
    int fd, rc;
    pid_t child;

    /* signalfd */
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    fd = signalfd(-1, &usr1, SFD_CLOEXEC);
    kill(getpid(), SIGUSR1);
    p.fd = fd;
    p.events = POLLIN;
    rc = poll(&p, 1, 5000);
    printf("signalfd: %s\n",
           rc == 1 && read(fd, &si, sizeof(si)) == sizeof(si) &&
                   si.ssi_signo == SIGUSR1
               ? "read SIGUSR1"
               : "nothing");
    close(fd);

    /* Children see the thread's mask, SIGUSR1 and SIGCHLD blocked. */
    pthread_sigmask(SIG_BLOCK, &chld, NULL);
    printf("posix_spawn child: ");
    child_mask("posix_spawn");
    printf("fork+execve child: ");
    child_mask("execve");
    pthread_sigmask(SIG_UNBLOCK, &chld, NULL);

    /* A forked child polls while its own child exits: SIGCHLD (ignored by
     * default) does not end the poll, though a thread of the parent once
     * blocked everything. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_sigmask(SIG_SETMASK, &usr1, NULL);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        struct pollfd none = {.fd = -1};

        if (fork() == 0)
            _exit(0);
        rc = poll(&none, 1, 300);
        printf("forked child's poll with a grandchild exiting: %s\n",
               rc == 0 ? "timed out" : "ended early");
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    ready_thread();
    sigwaiters();
    unknown_taker();
    one_shot();
    dispositions();
    ignored_by_default();
    jumps();
    jumps_lose_nothing();
    process_edges();
    return 0;
}
