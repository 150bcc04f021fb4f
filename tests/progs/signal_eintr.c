/*
 * signal_eintr: signals that end blocking calls, as signal(7) says.
 *
 * A plain pthread program. Each case starts a thread that blocks in one
 * call; the main thread sends it SIGUSR1 with pthread_kill, again every
 * 20 ms until the call has ended (the first may come before the thread
 * blocks), or, for a call that should go on, until the handler has run,
 * and then gives the call what it waits for. Printed per case: what the
 * call returned, its errno, and whether the handler ran on that thread.
 *
 *  - without SA_RESTART: read, recv, accept, write (a full pipe), poll,
 *    select, epoll_wait, nanosleep (with the time left), sleep, usleep,
 *    sem_wait, pause, sigsuspend end with EINTR;
 *  - with SA_RESTART: read, accept and sem_wait go on and then succeed;
 *    poll, nanosleep and a recv on a socket with SO_RCVTIMEO still end
 *    with EINTR;
 *  - a call's own mask: a signal pending while blocked ends ppoll, pselect,
 *    epoll_pwait and sigsuspend at once, and is delivered before
 *    pthread_sigmask returns when the thread unblocks it;
 *  - signals sent to the process: the main thread gets them first (an
 *    itimer ends its read, kill() its accept); a thread that alone takes
 *    SIGUSR2 gets it while everyone else blocks it;
 *  - the sigwait pattern: SIGTERM (default action: terminate) and SIGUSR1
 *    blocked in every thread, taken by sigwait and sigwaitinfo (with the
 *    sigqueue value), sigtimedwait's timeout, sigpending;
 *  - a handler's mask, and siglongjmp out of a handler that interrupted a
 *    read, with the mask back as before.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define PROG_NAME "signal_eintr"
#include "progs.h"

static atomic_int handled;
static atomic_int on_target; /* handler calls on the thread meant */
static pthread_t target;
static atomic_int done;

static void on_signal(int sig)
{
    (void)sig;
    if (pthread_equal(pthread_self(), target))
        atomic_fetch_add(&on_target, 1);
    atomic_fetch_add(&handled, 1);
}

static void handle(int sig, int flags)
{
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = flags};

    sigemptyset(&sa.sa_mask);
    check_errno(sigaction(sig, &sa, NULL), "sigaction");
}

/* Case state: a pipe, a connected socket pair, a listener, a semaphore. */
static int pipe_fd[2], pair[2], listener, epfd;
static struct sockaddr_in listen_addr;
static sem_t sem;

static void fresh_fds(void)
{
    struct epoll_event ev = {.events = EPOLLIN};
    socklen_t len = sizeof(listen_addr);

    check_errno(pipe(pipe_fd), "pipe");
    check_errno(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), "socketpair");
    listener = socket(AF_INET, SOCK_STREAM, 0);
    memset(&listen_addr, 0, sizeof(listen_addr));
    listen_addr.sin_family = AF_INET;
    listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check_errno(bind(listener, (struct sockaddr *)&listen_addr,
                     sizeof(listen_addr)),
                "bind");
    check_errno(listen(listener, 8), "listen");
    check_errno(getsockname(listener, (struct sockaddr *)&listen_addr, &len),
                "getsockname");
    epfd = epoll_create1(0);
    ev.data.fd = pipe_fd[0];
    check_errno(epoll_ctl(epfd, EPOLL_CTL_ADD, pipe_fd[0], &ev), "epoll_ctl");
    check_errno(sem_init(&sem, 0, 0), "sem_init");
}

static void close_fds(void)
{
    int fds[] = {pipe_fd[0], pipe_fd[1], pair[0], pair[1], listener, epfd};

    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        close(fds[i]);
    sem_destroy(&sem);
}

/* Fills the pipe, so that the next blocking write waits. */
static void fill_pipe(void)
{
    static char block[4096];
    int flags = fcntl(pipe_fd[1], F_GETFL);

    fcntl(pipe_fd[1], F_SETFL, flags | O_NONBLOCK);
    while (write(pipe_fd[1], block, sizeof(block)) > 0)
        ;
    fcntl(pipe_fd[1], F_SETFL, flags);
}

/* --- the blocking calls, each in a thread of its own --- */

struct result {
    long rc;
    int err;
    long extra; /* what else the call reports (time left, a value) */
};

typedef long (*call_fn)(struct result *r);

static long do_read(struct result *r)
{
    char c;

    (void)r;
    return read(pipe_fd[0], &c, 1);
}

static long do_recv(struct result *r)
{
    char c;

    (void)r;
    return recv(pair[0], &c, 1, 0);
}

static long do_accept(struct result *r)
{
    long fd = accept(listener, NULL, NULL);

    (void)r;
    if (fd >= 0) {
        close((int)fd);
        return 0; /* an fd number varies between runs */
    }
    return fd;
}

static long do_write_full(struct result *r)
{
    char c = 'x';

    (void)r;
    return write(pipe_fd[1], &c, 1);
}

static long do_poll(struct result *r)
{
    struct pollfd p = {.fd = pipe_fd[0], .events = POLLIN};

    (void)r;
    return poll(&p, 1, -1);
}

static long do_select(struct result *r)
{
    fd_set set;

    (void)r;
    FD_ZERO(&set);
    FD_SET(pipe_fd[0], &set);
    return select(pipe_fd[0] + 1, &set, NULL, NULL, NULL);
}

static long do_epoll(struct result *r)
{
    struct epoll_event ev;

    (void)r;
    return epoll_wait(epfd, &ev, 1, -1);
}

static long do_nanosleep(struct result *r)
{
    struct timespec req = {5, 0}, rem = {0, 0};
    long rc = nanosleep(&req, &rem);

    /* 1: some time was left, and less than asked for. */
    r->extra = rc < 0 && rem.tv_sec < 5 && (rem.tv_sec > 0 || rem.tv_nsec > 0);
    return rc;
}

static long do_sleep(struct result *r)
{
    (void)r;
    return (long)sleep(5); /* the whole seconds left */
}

static long do_usleep(struct result *r)
{
    (void)r;
    return usleep(5000000);
}

static long do_sem_wait(struct result *r)
{
    (void)r;
    return sem_wait(&sem);
}

static long do_pause(struct result *r)
{
    (void)r;
    return pause();
}

static long do_sigsuspend(struct result *r)
{
    sigset_t none;

    (void)r;
    sigemptyset(&none);
    return sigsuspend(&none);
}

static long do_recv_timeout(struct result *r)
{
    struct timeval tv = {5, 0};
    char c;

    (void)r;
    setsockopt(pair[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return recv(pair[0], &c, 1, 0);
}

/* With SIGUSR1 blocked and one pending: the call's mask lets it in. */
static sigset_t empty_mask(void)
{
    sigset_t none;

    sigemptyset(&none);
    return none;
}

static long do_ppoll_masked(struct result *r)
{
    struct pollfd p = {.fd = pipe_fd[0], .events = POLLIN};
    struct timespec ts = {5, 0};
    sigset_t none = empty_mask();

    (void)r;
    return ppoll(&p, 1, &ts, &none);
}

static long do_pselect_masked(struct result *r)
{
    struct timespec ts = {5, 0};
    sigset_t none = empty_mask();
    fd_set set;

    (void)r;
    FD_ZERO(&set);
    FD_SET(pipe_fd[0], &set);
    return pselect(pipe_fd[0] + 1, &set, NULL, NULL, &ts, &none);
}

static long do_epoll_pwait_masked(struct result *r)
{
    sigset_t none = empty_mask();
    struct epoll_event ev;

    (void)r;
    return epoll_pwait(epfd, &ev, 1, 5000, &none);
}

struct job {
    call_fn call;
    bool block_first;  /* block SIGUSR1, get one pending, then call */
    bool unblock_usr2; /* take SIGUSR2, which its creator blocks */
    struct result r;
};

static void *run_call(void *arg)
{
    struct job *j = arg;

    if (j->unblock_usr2) {
        sigset_t usr2;

        sigemptyset(&usr2);
        sigaddset(&usr2, SIGUSR2);
        pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
    }
    if (j->block_first) {
        sigset_t usr1;

        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &usr1, NULL);
        pthread_kill(pthread_self(), SIGUSR1);
    }
    j->r.rc = j->call(&j->r);
    j->r.err = j->r.rc < 0 ? errno : 0;
    atomic_store(&done, 1);
    return NULL;
}

/* What ends a call that should go on once its handler has run. */
static void give(call_fn call)
{
    char c = 'x';

    if (call == do_read)
        check(write(pipe_fd[1], &c, 1) == 1, "write");
    if (call == do_accept) {
        int s = socket(AF_INET, SOCK_STREAM, 0);

        check_errno(connect(s, (struct sockaddr *)&listen_addr,
                            sizeof(listen_addr)),
                    "connect");
        close(s);
    }
    if (call == do_sem_wait)
        sem_post(&sem);
}

/*
 * Runs call in a thread and signals it until it ends (goes_on false) or
 * until its handler ran (goes_on true: then gives the call its due).
 */
static void run_case(const char *name, call_fn call, int flags, bool goes_on,
                     bool block_first)
{
    struct job j = {.call = call, .block_first = block_first};

    fresh_fds();
    if (call == do_write_full)
        fill_pipe();
    handle(SIGUSR1, flags);
    atomic_store(&handled, 0);
    atomic_store(&on_target, 0);
    atomic_store(&done, 0);
    check_rc(pthread_create(&target, NULL, run_call, &j), "pthread_create");
    if (!block_first) {
        while (!atomic_load(&done) && !(goes_on && atomic_load(&handled))) {
            nap_ms(20);
            pthread_kill(target, SIGUSR1);
        }
        if (goes_on)
            give(call);
    }
    check_rc(pthread_join(target, NULL), "pthread_join");
    printf("%-32s %-10s rc=%ld errno=%s extra=%ld handler_on_thread=%s\n",
           name, flags & SA_RESTART ? "SA_RESTART" : "-", j.r.rc,
           j.r.rc < 0 ? ename(j.r.err) : "-", j.r.extra,
           atomic_load(&on_target) > 0 &&
                   atomic_load(&on_target) == atomic_load(&handled)
               ? "yes"
               : "no");
    close_fds();
}

static void thread_directed(void)
{
    static const struct {
        const char *name;
        call_fn call;
    } eintr[] = {
        {"read(pipe)", do_read},
        {"recv(socketpair)", do_recv},
        {"accept", do_accept},
        {"write(full pipe)", do_write_full},
        {"poll", do_poll},
        {"select", do_select},
        {"epoll_wait", do_epoll},
        {"nanosleep(5s)", do_nanosleep},
        {"sleep(5)", do_sleep},
        {"usleep(5s)", do_usleep},
        {"sem_wait", do_sem_wait},
        {"pause", do_pause},
        {"sigsuspend", do_sigsuspend},
    };

    for (size_t i = 0; i < sizeof(eintr) / sizeof(eintr[0]); i++)
        run_case(eintr[i].name, eintr[i].call, 0, false, false);
    /* SA_RESTART: these go on ... */
    run_case("read(pipe)", do_read, SA_RESTART, true, false);
    run_case("accept", do_accept, SA_RESTART, true, false);
    run_case("sem_wait", do_sem_wait, SA_RESTART, true, false);
    /* ... these never do. */
    run_case("poll", do_poll, SA_RESTART, false, false);
    run_case("nanosleep(5s)", do_nanosleep, SA_RESTART, false, false);
    run_case("recv(SO_RCVTIMEO 5s)", do_recv_timeout, SA_RESTART, false,
             false);
    /* A signal pending while blocked, let in by the call's own mask. */
    run_case("ppoll(pending, mask lets in)", do_ppoll_masked, 0, false, true);
    run_case("pselect(pending, mask lets in)", do_pselect_masked, 0, false,
             true);
    run_case("epoll_pwait(pending, mask lets in)", do_epoll_pwait_masked, 0,
             false, true);
    run_case("sigsuspend(pending, mask lets in)", do_sigsuspend, 0, false,
             true);
}

/* --- a pending signal delivered when the thread unblocks it --- */

static atomic_int order;
static atomic_int handler_order;

static void on_usr1_ordered(int sig)
{
    (void)sig;
    atomic_store(&handler_order, atomic_fetch_add(&order, 1));
}

static void *unblocks_later(void *arg)
{
    sigset_t usr1, pending;
    int before;

    (void)arg;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    pthread_kill(pthread_self(), SIGUSR1);
    sigpending(&pending);
    before = atomic_load(&order);
    printf("blocked: pending has SIGUSR1: %d, handler ran: %d\n",
           sigismember(&pending, SIGUSR1), atomic_load(&handler_order) >= 0);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    printf("after unblock: handler ran before pthread_sigmask returned: %d\n",
           atomic_load(&handler_order) == before);
    sigpending(&pending);
    printf("after unblock: pending has SIGUSR1: %d\n",
           sigismember(&pending, SIGUSR1));
    return NULL;
}

static void pending_then_unblocked(void)
{
    struct sigaction sa = {.sa_handler = on_usr1_ordered};
    pthread_t t;

    sigemptyset(&sa.sa_mask);
    atomic_store(&handler_order, -1);
    check_errno(sigaction(SIGUSR1, &sa, NULL), "sigaction");
    check_rc(pthread_create(&t, NULL, unblocks_later, NULL), "pthread_create");
    check_rc(pthread_join(t, NULL), "pthread_join");
}

/* --- signals sent to the process --- */

static void *kill_process_later(void *arg)
{
    int sig = (int)(long)arg;

    while (!atomic_load(&done)) {
        nap_ms(20);
        kill(getpid(), sig);
    }
    return NULL;
}

static void process_directed(void)
{
    struct itimerval tick = {.it_value = {0, 50000}};
    pthread_t killer;
    sigset_t usr2;
    long rc;
    char c;

    /* An itimer's SIGALRM ends the main thread's read. */
    fresh_fds();
    target = pthread_self();
    handle(SIGALRM, 0);
    atomic_store(&on_target, 0);
    setitimer(ITIMER_REAL, &tick, NULL);
    rc = read(pipe_fd[0], &c, 1);
    printf("main read, itimer: rc=%ld errno=%s handler_on_main=%s\n", rc,
           rc < 0 ? ename(errno) : "-",
           atomic_load(&on_target) == 1 ? "yes" : "no");
    close_fds();

    /* kill() from another thread ends the main thread's accept. */
    fresh_fds();
    handle(SIGTERM, 0);
    atomic_store(&on_target, 0);
    atomic_store(&done, 0);
    check_rc(pthread_create(&killer, NULL, kill_process_later,
                            (void *)(long)SIGTERM),
             "pthread_create");
    rc = accept(listener, NULL, NULL);
    printf("main accept, kill(SIGTERM): rc=%ld errno=%s handler_on_main=%s\n",
           rc, rc < 0 ? ename(errno) : "-",
           atomic_load(&on_target) > 0 ? "yes" : "no");
    atomic_store(&done, 1);
    check_rc(pthread_join(killer, NULL), "pthread_join");
    signal(SIGTERM, SIG_DFL);
    close_fds();

    /* Everyone but one thread blocks SIGUSR2: it goes there. */
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);
    fresh_fds();
    handle(SIGUSR2, 0);
    atomic_store(&on_target, 0);
    atomic_store(&handled, 0);
    atomic_store(&done, 0);
    {
        struct job j = {.call = do_poll, .unblock_usr2 = true};

        check_rc(pthread_create(&target, NULL, run_call, &j),
                 "pthread_create");
        check_rc(pthread_create(&killer, NULL, kill_process_later,
                                (void *)(long)SIGUSR2),
                 "pthread_create");
        check_rc(pthread_join(target, NULL), "pthread_join");
        check_rc(pthread_join(killer, NULL), "pthread_join");
        printf("poll in the one thread taking SIGUSR2: rc=%ld errno=%s "
               "handler_on_thread=%s\n",
               j.r.rc, j.r.rc < 0 ? ename(j.r.err) : "-",
               atomic_load(&on_target) > 0 &&
                       atomic_load(&on_target) == atomic_load(&handled)
                   ? "yes"
                   : "no");
    }
    close_fds();
    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
    signal(SIGUSR2, SIG_DFL);
}

/* --- the sigwait pattern --- */

static void *sigwaiter(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;

    check_rc(sigwait(set, &sig), "sigwait");
    printf("sigwait took %s\n", sig == SIGTERM ? "SIGTERM" : "another");
    return NULL;
}

static void sigwait_pattern(void)
{
    struct timespec tenth = {0, 100000000};
    sigset_t set, pending;
    siginfo_t info;
    pthread_t t;
    int rc;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    signal(SIGUSR1, SIG_DFL);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    check_rc(pthread_create(&t, NULL, sigwaiter, &set), "pthread_create");
    nap_ms(50);
    /* Its default action would end the process: every thread blocks it. */
    kill(getpid(), SIGTERM);
    check_rc(pthread_join(t, NULL), "pthread_join");

    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 42});
    sigpending(&pending);
    printf("sigpending after sigqueue: SIGUSR1 %d SIGTERM %d\n",
           sigismember(&pending, SIGUSR1), sigismember(&pending, SIGTERM));
    rc = sigwaitinfo(&set, &info);
    printf("sigwaitinfo: %s code=%s value=%d\n",
           rc == SIGUSR1 ? "SIGUSR1" : "another",
           info.si_code == SI_QUEUE ? "SI_QUEUE" : "other",
           info.si_value.sival_int);
    rc = sigtimedwait(&set, &info, &tenth);
    printf("sigtimedwait with nothing pending: rc=%d errno=%s\n", rc,
           rc < 0 ? ename(errno) : "-");
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* --- a handler's mask, and a jump out of it --- */

static sigjmp_buf jump_back;
static atomic_int mask_in_handler;

static void jump_out(int sig)
{
    sigset_t cur;

    (void)sig;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    atomic_store(&mask_in_handler, sigismember(&cur, SIGUSR1));
    siglongjmp(jump_back, 1);
}

static void *read_until_jump(void *arg)
{
    sigset_t cur;
    char c;

    (void)arg;
    if (sigsetjmp(jump_back, 1) == 0) {
        read(pipe_fd[0], &c, 1);
        printf("read returned without the jump\n");
    } else {
        pthread_sigmask(SIG_BLOCK, NULL, &cur);
        printf("jumped out of the handler: SIGUSR1 blocked in it %d, "
               "after it %d\n",
               atomic_load(&mask_in_handler), sigismember(&cur, SIGUSR1));
    }
    atomic_store(&done, 1);
    return NULL;
}

static void jump_from_handler(void)
{
    struct sigaction sa = {.sa_handler = jump_out};

    sigemptyset(&sa.sa_mask);
    fresh_fds();
    check_errno(sigaction(SIGUSR1, &sa, NULL), "sigaction");
    atomic_store(&done, 0);
    check_rc(pthread_create(&target, NULL, read_until_jump, NULL),
             "pthread_create");
    while (!atomic_load(&done)) {
        nap_ms(20);
        pthread_kill(target, SIGUSR1);
    }
    check_rc(pthread_join(target, NULL), "pthread_join");
    close_fds();
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    thread_directed();
    pending_then_unblocked();
    process_directed();
    sigwait_pattern();
    jump_from_handler();
    return 0;
}
