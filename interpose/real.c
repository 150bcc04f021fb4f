/*
 * interpose/real.c: the one table of real functions (invariant 5).
 *
 * g_real_init() runs from our constructor and from any hook that finds the
 * table unresolved (a hook can run before our constructor, from another
 * library's). It only calls dlsym/dlvsym and stores pointers: no allocation
 * of its own, no stdio. Concurrent first calls store the same values.
 */
#include "interpose/real.h"

#include <dlfcn.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

_Atomic bool g_real_ready;

int (*real___libc_start_main)(g_main_fn, int, char **, void (*)(void),
                              void (*)(void), void (*)(void), void *);
int (*real_pthread_create)(pthread_t *, const pthread_attr_t *,
                           void *(*)(void *), void *);
int (*real_pthread_join)(pthread_t, void **);
int (*real_pthread_tryjoin_np)(pthread_t, void **);
int (*real_pthread_timedjoin_np)(pthread_t, void **, const struct timespec *);
int (*real_pthread_clockjoin_np)(pthread_t, void **, clockid_t,
                                 const struct timespec *);
int (*real_pthread_detach)(pthread_t);
void (*real_pthread_exit)(void *);
pthread_t (*real_pthread_self)(void);
int (*real_pthread_getattr_np)(pthread_t, pthread_attr_t *);
int (*real_pthread_setname_np)(pthread_t, const char *);
int (*real_pthread_getname_np)(pthread_t, char *, size_t);
int (*real_sched_yield)(void);
int (*real_pthread_kill)(pthread_t, int);
int (*real_pthread_sigqueue)(pthread_t, int, const union sigval);
int (*real_pthread_cancel)(pthread_t);
int (*real_pthread_setcancelstate)(int, int *);
int (*real_pthread_setcanceltype)(int, int *);
void (*real_pthread_testcancel)(void);
void (*real___pthread_register_cancel)(__pthread_unwind_buf_t *);
void (*real___pthread_unregister_cancel)(__pthread_unwind_buf_t *);
void (*real___pthread_unwind_next)(__pthread_unwind_buf_t *);
int (*real_pthread_getschedparam)(pthread_t, int *, struct sched_param *);
int (*real_pthread_setschedparam)(pthread_t, int, const struct sched_param *);
int (*real_pthread_setschedprio)(pthread_t, int);
int (*real_pthread_getaffinity_np)(pthread_t, size_t, cpu_set_t *);
int (*real_pthread_setaffinity_np)(pthread_t, size_t, const cpu_set_t *);
int (*real_pthread_getcpuclockid)(pthread_t, clockid_t *);
int (*real_pthread_mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
int (*real_pthread_mutex_destroy)(pthread_mutex_t *);
int (*real_pthread_mutex_lock)(pthread_mutex_t *);
int (*real_pthread_mutex_trylock)(pthread_mutex_t *);
int (*real_pthread_mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
int (*real_pthread_mutex_clocklock)(pthread_mutex_t *, clockid_t,
                                    const struct timespec *);
int (*real_pthread_mutex_unlock)(pthread_mutex_t *);
int (*real_pthread_mutex_consistent)(pthread_mutex_t *);
int (*real_pthread_cond_init)(pthread_cond_t *, const pthread_condattr_t *);
int (*real_pthread_cond_destroy)(pthread_cond_t *);
int (*real_pthread_cond_signal)(pthread_cond_t *);
int (*real_pthread_cond_broadcast)(pthread_cond_t *);
int (*real_pthread_cond_wait)(pthread_cond_t *, pthread_mutex_t *);
int (*real_pthread_cond_timedwait)(pthread_cond_t *, pthread_mutex_t *,
                                   const struct timespec *);
int (*real_pthread_cond_clockwait)(pthread_cond_t *, pthread_mutex_t *,
                                   clockid_t, const struct timespec *);
int (*real_pthread_key_create)(pthread_key_t *, void (*)(void *));
int (*real_pthread_setspecific)(pthread_key_t, const void *);
int (*real_pthread_rwlock_rdlock)(pthread_rwlock_t *);
int (*real_pthread_rwlock_tryrdlock)(pthread_rwlock_t *);
int (*real_pthread_rwlock_wrlock)(pthread_rwlock_t *);
int (*real_pthread_rwlock_trywrlock)(pthread_rwlock_t *);
int (*real_pthread_rwlock_unlock)(pthread_rwlock_t *);
int (*real_pthread_rwlock_init)(pthread_rwlock_t *,
                                const pthread_rwlockattr_t *);
int (*real_pthread_rwlock_destroy)(pthread_rwlock_t *);
int (*real_pthread_barrier_init)(pthread_barrier_t *,
                                 const pthread_barrierattr_t *, unsigned);
int (*real_pthread_barrier_wait)(pthread_barrier_t *);
int (*real_pthread_barrier_destroy)(pthread_barrier_t *);
int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
int (*real_pthread_sigmask)(int, const sigset_t *, sigset_t *);
int (*real_signalfd)(int, const sigset_t *, int);
int (*real_execve)(const char *, char *const[], char *const[]);
int (*real_execvpe)(const char *, char *const[], char *const[]);
int (*real_fexecve)(int, char *const[], char *const[]);
int (*real_posix_spawn)(pid_t *, const char *,
                        const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[],
                        char *const[]);
int (*real_posix_spawnp)(pid_t *, const char *,
                         const posix_spawn_file_actions_t *,
                         const posix_spawnattr_t *, char *const[],
                         char *const[]);
int (*real_system)(const char *);
FILE *(*real_popen)(const char *, const char *);
int (*real_sigprocmask)(int, const sigset_t *, sigset_t *);
int (*real_sigpending)(sigset_t *);
int (*real_sigsuspend)(const sigset_t *);
int (*real_pause)(void);
int (*real_sigwait)(const sigset_t *, int *);
int (*real_sigwaitinfo)(const sigset_t *, siginfo_t *);
int (*real_sigtimedwait)(const sigset_t *, siginfo_t *,
                         const struct timespec *);
void (*real_siglongjmp)(sigjmp_buf, int) __attribute__((noreturn));
void (*real_longjmp)(jmp_buf, int) __attribute__((noreturn));
void (*real__longjmp)(jmp_buf, int) __attribute__((noreturn));
void (*real___longjmp_chk)(jmp_buf, int) __attribute__((noreturn));
int (*real___sigsetjmp)(struct __jmp_buf_tag *, int);
pid_t (*real_wait4)(pid_t, int *, int, struct rusage *);
int (*real_waitid)(int, id_t, siginfo_t *, int);
int (*real_flock)(int, int);
int (*real_lockf)(int, int, off_t);
unsigned int (*real_sleep)(unsigned int);
int (*real_usleep)(useconds_t);
int (*real_nanosleep)(const struct timespec *, struct timespec *);
int (*real_clock_nanosleep)(clockid_t, int, const struct timespec *,
                            struct timespec *);

ssize_t (*real_read)(int fd, void *buf, size_t n);
ssize_t (*real_write)(int fd, const void *buf, size_t n);
ssize_t (*real_readv)(int fd, const struct iovec *iov, int iovcnt);
ssize_t (*real_writev)(int fd, const struct iovec *iov, int iovcnt);
ssize_t (*real_preadv2)(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags);
ssize_t (*real_pwritev2)(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags);
ssize_t (*real___read_chk)(int fd, void *buf, size_t n, size_t buflen);
ssize_t (*real_recv)(int fd, void *buf, size_t n, int flags);
ssize_t (*real_recvfrom)(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *addrlen);
ssize_t (*real_recvmsg)(int fd, struct msghdr *msg, int flags);
int (*real_recvmmsg)(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout);
ssize_t (*real___recv_chk)(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t (*real___recvfrom_chk)(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr, socklen_t *addrlen);
ssize_t (*real_send)(int fd, const void *buf, size_t n, int flags);
ssize_t (*real_sendto)(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t addrlen);
ssize_t (*real_sendmsg)(int fd, const struct msghdr *msg, int flags);
int (*real_sendmmsg)(int fd, struct mmsghdr *vec, unsigned int vlen, int flags);
ssize_t (*real_sendfile)(int out, int in, off_t *offset, size_t count);
ssize_t (*real_sendfile64)(int out, int in, off64_t *offset, size_t count);
int (*real_socket)(int domain, int type, int protocol);
int (*real_socketpair)(int domain, int type, int protocol, int sv[2]);
int (*real_accept)(int fd, struct sockaddr *addr, socklen_t *addrlen);
int (*real_accept4)(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
int (*real_connect)(int fd, const struct sockaddr *addr, socklen_t addrlen);
int (*real_setsockopt)(int fd, int level, int opt, const void *val, socklen_t len);
int (*real_pipe2)(int fds[2], int flags);
int (*real_close)(int fd);
int (*real_close_range)(unsigned int first, unsigned int last, int flags);
void (*real_closefrom)(int lowfd);
int (*real_fclose)(FILE *f);
FILE *(*real_fdopen)(int fd, const char *mode);
int (*real_pclose)(FILE *f);
int (*real_dup)(int fd);
int (*real_dup2)(int fd, int fd2);
int (*real_dup3)(int fd, int fd2, int flags);
int (*real_fcntl)(int fd, int cmd, ...);
int (*real_fcntl64)(int fd, int cmd, ...);
int (*real_ioctl)(int fd, unsigned long request, ...);
int (*real_poll)(struct pollfd *fds, nfds_t n, int timeout);
int (*real_ppoll)(struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *sigmask);
int (*real___poll_chk)(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
int (*real___ppoll_chk)(struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *sigmask, size_t fdslen);
int (*real_select)(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout);
int (*real_pselect)(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *timeout, const sigset_t *sigmask);
int (*real_epoll_wait)(int epfd, struct epoll_event *ev, int max, int timeout);
int (*real_epoll_pwait)(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *sigmask);
int (*real_epoll_pwait2)(int epfd, struct epoll_event *ev, int max, const struct timespec *timeout, const sigset_t *sigmask);

int (*real_getaddrinfo)(const char *, const char *, const struct addrinfo *,
                        struct addrinfo **);
int (*real_getnameinfo)(const struct sockaddr *, socklen_t, char *, socklen_t,
                        char *, socklen_t, int);
struct hostent *(*real_gethostbyname)(const char *);
struct hostent *(*real_gethostbyname2)(const char *, int);
int (*real_gethostbyname_r)(const char *, struct hostent *, char *, size_t,
                            struct hostent **, int *);
int (*real_gethostbyname2_r)(const char *, int, struct hostent *, char *,
                             size_t, struct hostent **, int *);
struct hostent *(*real_gethostbyaddr)(const void *, socklen_t, int);
int (*real_gethostbyaddr_r)(const void *, socklen_t, int, struct hostent *,
                            char *, size_t, struct hostent **, int *);

/* One row per real function: its name, the glibc version to bind (NULL:
 * the default one), and the slot. */
struct row {
    const char *name;
    const char *version;
    void **slot;
};

static const struct row table[] = {
    {"__libc_start_main", NULL, (void **)&real___libc_start_main},
    {"pthread_create", NULL, (void **)&real_pthread_create},
    {"pthread_join", NULL, (void **)&real_pthread_join},
    {"pthread_tryjoin_np", NULL, (void **)&real_pthread_tryjoin_np},
    {"pthread_timedjoin_np", NULL, (void **)&real_pthread_timedjoin_np},
    {"pthread_clockjoin_np", NULL, (void **)&real_pthread_clockjoin_np},
    {"pthread_detach", NULL, (void **)&real_pthread_detach},
    {"pthread_exit", NULL, (void **)&real_pthread_exit},
    {"pthread_self", NULL, (void **)&real_pthread_self},
    {"pthread_getattr_np", NULL, (void **)&real_pthread_getattr_np},
    {"pthread_setname_np", NULL, (void **)&real_pthread_setname_np},
    {"pthread_getname_np", NULL, (void **)&real_pthread_getname_np},
    {"sched_yield", NULL, (void **)&real_sched_yield},
    {"pthread_kill", NULL, (void **)&real_pthread_kill},
    {"pthread_sigqueue", NULL, (void **)&real_pthread_sigqueue},
    {"pthread_cancel", NULL, (void **)&real_pthread_cancel},
    {"pthread_setcancelstate", NULL, (void **)&real_pthread_setcancelstate},
    {"pthread_setcanceltype", NULL, (void **)&real_pthread_setcanceltype},
    {"pthread_testcancel", NULL, (void **)&real_pthread_testcancel},
    {"__pthread_register_cancel", NULL,
     (void **)&real___pthread_register_cancel},
    {"__pthread_unregister_cancel", NULL,
     (void **)&real___pthread_unregister_cancel},
    {"__pthread_unwind_next", NULL, (void **)&real___pthread_unwind_next},
    {"pthread_getschedparam", NULL, (void **)&real_pthread_getschedparam},
    {"pthread_setschedparam", NULL, (void **)&real_pthread_setschedparam},
    {"pthread_setschedprio", NULL, (void **)&real_pthread_setschedprio},
    {"pthread_getaffinity_np", NULL, (void **)&real_pthread_getaffinity_np},
    {"pthread_setaffinity_np", NULL, (void **)&real_pthread_setaffinity_np},
    {"pthread_getcpuclockid", NULL, (void **)&real_pthread_getcpuclockid},
    {"pthread_mutex_init", NULL, (void **)&real_pthread_mutex_init},
    {"pthread_mutex_destroy", NULL, (void **)&real_pthread_mutex_destroy},
    {"pthread_mutex_lock", NULL, (void **)&real_pthread_mutex_lock},
    {"pthread_mutex_trylock", NULL, (void **)&real_pthread_mutex_trylock},
    {"pthread_mutex_timedlock", NULL, (void **)&real_pthread_mutex_timedlock},
    {"pthread_mutex_clocklock", NULL, (void **)&real_pthread_mutex_clocklock},
    {"pthread_mutex_unlock", NULL, (void **)&real_pthread_mutex_unlock},
    {"pthread_mutex_consistent", NULL, (void **)&real_pthread_mutex_consistent},
    /* The condition variables of glibc 2.3.2 on, not the old compat ones. */
    {"pthread_cond_init", "GLIBC_2.3.2", (void **)&real_pthread_cond_init},
    {"pthread_cond_destroy", "GLIBC_2.3.2",
     (void **)&real_pthread_cond_destroy},
    {"pthread_cond_signal", "GLIBC_2.3.2", (void **)&real_pthread_cond_signal},
    {"pthread_cond_broadcast", "GLIBC_2.3.2",
     (void **)&real_pthread_cond_broadcast},
    {"pthread_cond_wait", "GLIBC_2.3.2", (void **)&real_pthread_cond_wait},
    {"pthread_cond_timedwait", "GLIBC_2.3.2",
     (void **)&real_pthread_cond_timedwait},
    {"pthread_cond_clockwait", NULL, (void **)&real_pthread_cond_clockwait},
    {"pthread_key_create", NULL, (void **)&real_pthread_key_create},
    {"pthread_setspecific", NULL, (void **)&real_pthread_setspecific},
    {"pthread_rwlock_rdlock", NULL, (void **)&real_pthread_rwlock_rdlock},
    {"pthread_rwlock_tryrdlock", NULL, (void **)&real_pthread_rwlock_tryrdlock},
    {"pthread_rwlock_wrlock", NULL, (void **)&real_pthread_rwlock_wrlock},
    {"pthread_rwlock_trywrlock", NULL, (void **)&real_pthread_rwlock_trywrlock},
    {"pthread_rwlock_unlock", NULL, (void **)&real_pthread_rwlock_unlock},
    {"pthread_rwlock_init", NULL, (void **)&real_pthread_rwlock_init},
    {"pthread_rwlock_destroy", NULL, (void **)&real_pthread_rwlock_destroy},
    {"pthread_barrier_init", NULL, (void **)&real_pthread_barrier_init},
    {"pthread_barrier_wait", NULL, (void **)&real_pthread_barrier_wait},
    {"pthread_barrier_destroy", NULL, (void **)&real_pthread_barrier_destroy},
    {"sigaction", NULL, (void **)&real_sigaction},
    {"pthread_sigmask", NULL, (void **)&real_pthread_sigmask},
    {"signalfd", NULL, (void **)&real_signalfd},
    {"execve", NULL, (void **)&real_execve},
    {"execvpe", NULL, (void **)&real_execvpe},
    {"fexecve", NULL, (void **)&real_fexecve},
    {"posix_spawn", NULL, (void **)&real_posix_spawn},
    {"posix_spawnp", NULL, (void **)&real_posix_spawnp},
    {"system", NULL, (void **)&real_system},
    {"popen", NULL, (void **)&real_popen},
    {"sigprocmask", NULL, (void **)&real_sigprocmask},
    {"sigpending", NULL, (void **)&real_sigpending},
    {"sigsuspend", NULL, (void **)&real_sigsuspend},
    {"pause", NULL, (void **)&real_pause},
    {"sigwait", NULL, (void **)&real_sigwait},
    {"sigwaitinfo", NULL, (void **)&real_sigwaitinfo},
    {"sigtimedwait", NULL, (void **)&real_sigtimedwait},
    {"siglongjmp", NULL, (void **)&real_siglongjmp},
    {"longjmp", NULL, (void **)&real_longjmp},
    {"_longjmp", NULL, (void **)&real__longjmp},
    {"__longjmp_chk", NULL, (void **)&real___longjmp_chk},
    {"__sigsetjmp", NULL, (void **)&real___sigsetjmp},
    {"wait4", NULL, (void **)&real_wait4},
    {"waitid", NULL, (void **)&real_waitid},
    {"flock", NULL, (void **)&real_flock},
    {"lockf", NULL, (void **)&real_lockf},
    {"sleep", NULL, (void **)&real_sleep},
    {"usleep", NULL, (void **)&real_usleep},
    {"nanosleep", NULL, (void **)&real_nanosleep},
    {"clock_nanosleep", NULL, (void **)&real_clock_nanosleep},
    {"read", NULL, (void **)&real_read},
    {"write", NULL, (void **)&real_write},
    {"readv", NULL, (void **)&real_readv},
    {"writev", NULL, (void **)&real_writev},
    {"__read_chk", NULL, (void **)&real___read_chk},
    {"recv", NULL, (void **)&real_recv},
    {"recvfrom", NULL, (void **)&real_recvfrom},
    {"recvmsg", NULL, (void **)&real_recvmsg},
    {"recvmmsg", NULL, (void **)&real_recvmmsg},
    {"__recv_chk", NULL, (void **)&real___recv_chk},
    {"__recvfrom_chk", NULL, (void **)&real___recvfrom_chk},
    {"send", NULL, (void **)&real_send},
    {"sendto", NULL, (void **)&real_sendto},
    {"sendmsg", NULL, (void **)&real_sendmsg},
    {"sendmmsg", NULL, (void **)&real_sendmmsg},
    {"sendfile", NULL, (void **)&real_sendfile},
    {"sendfile64", NULL, (void **)&real_sendfile64},
    {"socket", NULL, (void **)&real_socket},
    {"socketpair", NULL, (void **)&real_socketpair},
    {"accept", NULL, (void **)&real_accept},
    {"accept4", NULL, (void **)&real_accept4},
    {"connect", NULL, (void **)&real_connect},
    {"setsockopt", NULL, (void **)&real_setsockopt},
    {"pipe2", NULL, (void **)&real_pipe2},
    {"close", NULL, (void **)&real_close},
    {"fclose", NULL, (void **)&real_fclose},
    {"fdopen", NULL, (void **)&real_fdopen},
    {"pclose", NULL, (void **)&real_pclose},
    {"dup", NULL, (void **)&real_dup},
    {"dup2", NULL, (void **)&real_dup2},
    {"dup3", NULL, (void **)&real_dup3},
    {"fcntl", NULL, (void **)&real_fcntl},
    {"fcntl64", NULL, (void **)&real_fcntl64},
    {"ioctl", NULL, (void **)&real_ioctl},
    {"poll", NULL, (void **)&real_poll},
    {"ppoll", NULL, (void **)&real_ppoll},
    {"__poll_chk", NULL, (void **)&real___poll_chk},
    {"__ppoll_chk", NULL, (void **)&real___ppoll_chk},
    {"select", NULL, (void **)&real_select},
    {"pselect", NULL, (void **)&real_pselect},
    {"epoll_wait", NULL, (void **)&real_epoll_wait},
    {"epoll_pwait", NULL, (void **)&real_epoll_pwait},
    {"getaddrinfo", NULL, (void **)&real_getaddrinfo},
    {"getnameinfo", NULL, (void **)&real_getnameinfo},
    {"gethostbyname", NULL, (void **)&real_gethostbyname},
    {"gethostbyname2", NULL, (void **)&real_gethostbyname2},
    {"gethostbyname_r", NULL, (void **)&real_gethostbyname_r},
    {"gethostbyname2_r", NULL, (void **)&real_gethostbyname2_r},
    {"gethostbyaddr", NULL, (void **)&real_gethostbyaddr},
    {"gethostbyaddr_r", NULL, (void **)&real_gethostbyaddr_r},
};

/* Newer than some glibc we may meet: a NULL slot makes the hook answer
 * ENOSYS. */
static const struct row optional[] = {
    {"preadv2", NULL, (void **)&real_preadv2},
    {"pwritev2", NULL, (void **)&real_pwritev2},
    {"close_range", NULL, (void **)&real_close_range},
    {"closefrom", NULL, (void **)&real_closefrom},
    {"epoll_pwait2", NULL, (void **)&real_epoll_pwait2},
};

void g_real_init(void)
{
    if (g_real_ready)
        return;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        void *fn = table[i].version
                       ? dlvsym(RTLD_NEXT, table[i].name, table[i].version)
                       : dlsym(RTLD_NEXT, table[i].name);

        if (!fn) {
            static const char msg[] = "libgreen: a libc function is missing\n";

            syscall(SYS_write, 2, msg, sizeof(msg) - 1); /* not our hook */
            _exit(2);
        }
        *table[i].slot = fn;
    }
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
        *optional[i].slot = dlsym(RTLD_NEXT, optional[i].name);
    g_real_ready = true;
}

__attribute__((constructor(101))) static void resolve_early(void)
{
    g_real_init();
}
