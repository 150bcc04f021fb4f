/*
 * interpose/real.h: the real libc functions behind our hooks.
 *
 * Each is a pointer filled by g_real_init() from the one table in real.c,
 * with dlsym(RTLD_NEXT) or dlvsym where glibc keeps several versions
 * (invariant 5). Hooks reach them after hook_enter() (interpose.h), which
 * resolves them lazily when a hook runs before our constructor.
 */
#ifndef G_REAL_H
#define G_REAL_H

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>

extern _Atomic bool g_real_ready;
/* Resolve every real function. Idempotent; only dlsym/dlvsym, no stdio. */
void g_real_init(void);

typedef int (*g_main_fn)(int, char **, char **);

extern int (*real___libc_start_main)(g_main_fn main, int argc, char **argv,
                                     void (*init)(void), void (*fini)(void),
                                     void (*rtld_fini)(void), void *stack_end);

extern int (*real_pthread_create)(pthread_t *thread, const pthread_attr_t *attr,
                                  void *(*start)(void *), void *arg);
extern int (*real_pthread_join)(pthread_t thread, void **retval);
extern int (*real_pthread_tryjoin_np)(pthread_t thread, void **retval);
extern int (*real_pthread_timedjoin_np)(pthread_t thread, void **retval,
                                        const struct timespec *abstime);
extern int (*real_pthread_clockjoin_np)(pthread_t thread, void **retval,
                                        clockid_t clock,
                                        const struct timespec *abstime);
extern int (*real_pthread_detach)(pthread_t thread);
extern void (*real_pthread_exit)(void *retval);
extern pthread_t (*real_pthread_self)(void);
extern int (*real_pthread_getattr_np)(pthread_t thread, pthread_attr_t *attr);
extern int (*real_pthread_setname_np)(pthread_t thread, const char *name);
extern int (*real_pthread_getname_np)(pthread_t thread, char *name, size_t len);
extern int (*real_sched_yield)(void);

extern int (*real_pthread_kill)(pthread_t thread, int sig);
extern int (*real_pthread_sigqueue)(pthread_t thread, int sig,
                                    const union sigval value);
extern int (*real_pthread_cancel)(pthread_t thread);
extern int (*real_pthread_setcancelstate)(int state, int *oldstate);
extern int (*real_pthread_setcanceltype)(int type, int *oldtype);
extern void (*real_pthread_testcancel)(void);
extern void (*real___pthread_register_cancel)(__pthread_unwind_buf_t *buf);
extern void (*real___pthread_unregister_cancel)(__pthread_unwind_buf_t *buf);
extern void (*real___pthread_unwind_next)(__pthread_unwind_buf_t *buf);
extern int (*real_pthread_getschedparam)(pthread_t thread, int *policy,
                                         struct sched_param *param);
extern int (*real_pthread_setschedparam)(pthread_t thread, int policy,
                                         const struct sched_param *param);
extern int (*real_pthread_setschedprio)(pthread_t thread, int prio);
extern int (*real_pthread_getaffinity_np)(pthread_t thread, size_t size,
                                          cpu_set_t *set);
extern int (*real_pthread_setaffinity_np)(pthread_t thread, size_t size,
                                          const cpu_set_t *set);
extern int (*real_pthread_getcpuclockid)(pthread_t thread, clockid_t *clock);

extern int (*real_pthread_mutex_init)(pthread_mutex_t *m,
                                      const pthread_mutexattr_t *attr);
extern int (*real_pthread_mutex_destroy)(pthread_mutex_t *m);
extern int (*real_pthread_mutex_lock)(pthread_mutex_t *m);
extern int (*real_pthread_mutex_trylock)(pthread_mutex_t *m);
extern int (*real_pthread_mutex_timedlock)(pthread_mutex_t *m,
                                           const struct timespec *abstime);
extern int (*real_pthread_mutex_clocklock)(pthread_mutex_t *m, clockid_t clock,
                                           const struct timespec *abstime);
extern int (*real_pthread_mutex_unlock)(pthread_mutex_t *m);
extern int (*real_pthread_mutex_consistent)(pthread_mutex_t *m);

extern int (*real_pthread_cond_init)(pthread_cond_t *c,
                                     const pthread_condattr_t *attr);
extern int (*real_pthread_cond_destroy)(pthread_cond_t *c);
extern int (*real_pthread_cond_signal)(pthread_cond_t *c);
extern int (*real_pthread_cond_broadcast)(pthread_cond_t *c);
extern int (*real_pthread_cond_wait)(pthread_cond_t *c, pthread_mutex_t *m);
extern int (*real_pthread_cond_timedwait)(pthread_cond_t *c, pthread_mutex_t *m,
                                          const struct timespec *abstime);
extern int (*real_pthread_cond_clockwait)(pthread_cond_t *c, pthread_mutex_t *m,
                                          clockid_t clock,
                                          const struct timespec *abstime);

extern int (*real_pthread_key_create)(pthread_key_t *key,
                                      void (*destructor)(void *));
extern int (*real_pthread_setspecific)(pthread_key_t key, const void *value);
extern int (*real_pthread_rwlock_rdlock)(pthread_rwlock_t *rw);
extern int (*real_pthread_rwlock_tryrdlock)(pthread_rwlock_t *rw);
extern int (*real_pthread_rwlock_wrlock)(pthread_rwlock_t *rw);
extern int (*real_pthread_rwlock_trywrlock)(pthread_rwlock_t *rw);
extern int (*real_pthread_rwlock_unlock)(pthread_rwlock_t *rw);
extern int (*real_pthread_rwlock_init)(pthread_rwlock_t *rw,
                                       const pthread_rwlockattr_t *attr);
extern int (*real_pthread_rwlock_destroy)(pthread_rwlock_t *rw);
extern int (*real_pthread_barrier_init)(pthread_barrier_t *b,
                                        const pthread_barrierattr_t *attr,
                                        unsigned count);
extern int (*real_pthread_barrier_wait)(pthread_barrier_t *b);
extern int (*real_pthread_barrier_destroy)(pthread_barrier_t *b);

extern int (*real_sigaction)(int sig, const struct sigaction *act,
                             struct sigaction *old);
extern int (*real_pthread_sigmask)(int how, const sigset_t *set,
                                   sigset_t *old);
extern int (*real_signalfd)(int fd, const sigset_t *mask, int flags);
extern int (*real_execve)(const char *path, char *const argv[],
                          char *const envp[]);
extern int (*real_execvpe)(const char *file, char *const argv[],
                           char *const envp[]);
extern int (*real_fexecve)(int fd, char *const argv[], char *const envp[]);
extern int (*real_posix_spawn)(pid_t *pid, const char *path,
                               const posix_spawn_file_actions_t *actions,
                               const posix_spawnattr_t *attr,
                               char *const argv[], char *const envp[]);
extern int (*real_posix_spawnp)(pid_t *pid, const char *file,
                                const posix_spawn_file_actions_t *actions,
                                const posix_spawnattr_t *attr,
                                char *const argv[], char *const envp[]);
extern int (*real_system)(const char *command);
extern FILE *(*real_popen)(const char *command, const char *type);
extern int (*real_sigprocmask)(int how, const sigset_t *set, sigset_t *old);
extern int (*real_sigpending)(sigset_t *set);
extern int (*real_sigsuspend)(const sigset_t *mask);
extern int (*real_pause)(void);
extern int (*real_sigwait)(const sigset_t *set, int *sig);
extern int (*real_sigwaitinfo)(const sigset_t *set, siginfo_t *info);
extern int (*real_sigtimedwait)(const sigset_t *set, siginfo_t *info,
                                const struct timespec *timeout);
extern void (*real_siglongjmp)(sigjmp_buf env, int val)
    __attribute__((noreturn));
extern void (*real_longjmp)(jmp_buf env, int val) __attribute__((noreturn));
extern void (*real__longjmp)(jmp_buf env, int val) __attribute__((noreturn));
extern int (*real___sigsetjmp)(struct __jmp_buf_tag *env, int savemask);
extern void (*real___longjmp_chk)(jmp_buf env, int val)
    __attribute__((noreturn));

extern pid_t (*real_wait4)(pid_t pid, int *status, int options,
                           struct rusage *usage);
/* type is an idtype_t: <sys/wait.h> would take the name wait from the
 * hooks' own helpers. */
extern int (*real_waitid)(int type, id_t id, siginfo_t *info, int options);
extern int (*real_flock)(int fd, int op);
extern int (*real_lockf)(int fd, int cmd, off_t len);

extern unsigned int (*real_sleep)(unsigned int seconds);
extern int (*real_usleep)(useconds_t usec);
extern int (*real_nanosleep)(const struct timespec *req, struct timespec *rem);
extern int (*real_clock_nanosleep)(clockid_t clock, int flags,
                                   const struct timespec *req,
                                   struct timespec *rem);

extern ssize_t (*real_read)(int fd, void *buf, size_t n);
extern ssize_t (*real_write)(int fd, const void *buf, size_t n);
extern ssize_t (*real_readv)(int fd, const struct iovec *iov, int iovcnt);
extern ssize_t (*real_writev)(int fd, const struct iovec *iov, int iovcnt);
extern ssize_t (*real_preadv2)(int fd, const struct iovec *iov, int iovcnt,
                               off_t offset, int flags);
extern ssize_t (*real_pwritev2)(int fd, const struct iovec *iov, int iovcnt,
                                off_t offset, int flags);
extern ssize_t (*real___read_chk)(int fd, void *buf, size_t n, size_t buflen);
extern ssize_t (*real_recv)(int fd, void *buf, size_t n, int flags);
extern ssize_t (*real_recvfrom)(int fd, void *buf, size_t n, int flags,
                                struct sockaddr *addr, socklen_t *addrlen);
extern ssize_t (*real_recvmsg)(int fd, struct msghdr *msg, int flags);
extern int (*real_recvmmsg)(int fd, struct mmsghdr *vec, unsigned int vlen,
                            int flags, struct timespec *timeout);
extern ssize_t (*real___recv_chk)(int fd, void *buf, size_t n, size_t buflen,
                                  int flags);
extern ssize_t (*real___recvfrom_chk)(int fd, void *buf, size_t n,
                                      size_t buflen, int flags,
                                      struct sockaddr *addr,
                                      socklen_t *addrlen);
extern ssize_t (*real_send)(int fd, const void *buf, size_t n, int flags);
extern ssize_t (*real_sendto)(int fd, const void *buf, size_t n, int flags,
                              const struct sockaddr *addr, socklen_t addrlen);
extern ssize_t (*real_sendmsg)(int fd, const struct msghdr *msg, int flags);
extern int (*real_sendmmsg)(int fd, struct mmsghdr *vec, unsigned int vlen,
                            int flags);
extern ssize_t (*real_sendfile)(int out, int in, off_t *offset, size_t count);
extern ssize_t (*real_sendfile64)(int out, int in, off64_t *offset,
                                  size_t count);

extern int (*real_socket)(int domain, int type, int protocol);
extern int (*real_socketpair)(int domain, int type, int protocol, int sv[2]);
extern int (*real_accept)(int fd, struct sockaddr *addr, socklen_t *addrlen);
extern int (*real_accept4)(int fd, struct sockaddr *addr, socklen_t *addrlen,
                           int flags);
extern int (*real_connect)(int fd, const struct sockaddr *addr,
                           socklen_t addrlen);
extern int (*real_setsockopt)(int fd, int level, int opt, const void *val,
                              socklen_t len);
extern int (*real_pipe2)(int fds[2], int flags);

extern int (*real_close)(int fd);
extern int (*real_close_range)(unsigned int first, unsigned int last,
                               int flags);
extern void (*real_closefrom)(int lowfd);
extern int (*real_fclose)(FILE *f);
extern FILE *(*real_fdopen)(int fd, const char *mode);
extern int (*real_pclose)(FILE *f);
extern int (*real_dup)(int fd);
extern int (*real_dup2)(int fd, int fd2);
extern int (*real_dup3)(int fd, int fd2, int flags);
extern int (*real_fcntl)(int fd, int cmd, ...);
extern int (*real_fcntl64)(int fd, int cmd, ...);
extern int (*real_ioctl)(int fd, unsigned long request, ...);

extern int (*real_poll)(struct pollfd *fds, nfds_t n, int timeout);
extern int (*real_ppoll)(struct pollfd *fds, nfds_t n,
                         const struct timespec *timeout,
                         const sigset_t *sigmask);
extern int (*real___poll_chk)(struct pollfd *fds, nfds_t n, int timeout,
                              size_t fdslen);
extern int (*real___ppoll_chk)(struct pollfd *fds, nfds_t n,
                               const struct timespec *timeout,
                               const sigset_t *sigmask, size_t fdslen);
extern int (*real_select)(int nfds, fd_set *r, fd_set *w, fd_set *e,
                          struct timeval *timeout);
extern int (*real_pselect)(int nfds, fd_set *r, fd_set *w, fd_set *e,
                           const struct timespec *timeout,
                           const sigset_t *sigmask);
extern int (*real_epoll_wait)(int epfd, struct epoll_event *ev, int max,
                              int timeout);
extern int (*real_epoll_pwait)(int epfd, struct epoll_event *ev, int max,
                               int timeout, const sigset_t *sigmask);
extern int (*real_epoll_pwait2)(int epfd, struct epoll_event *ev, int max,
                                const struct timespec *timeout,
                                const sigset_t *sigmask);

extern int (*real_getaddrinfo)(const char *node, const char *service,
                               const struct addrinfo *hints,
                               struct addrinfo **res);
extern int (*real_getnameinfo)(const struct sockaddr *sa, socklen_t salen,
                               char *host, socklen_t hostlen, char *serv,
                               socklen_t servlen, int flags);
extern struct hostent *(*real_gethostbyname)(const char *name);
extern struct hostent *(*real_gethostbyname2)(const char *name, int af);
extern int (*real_gethostbyname_r)(const char *name, struct hostent *ret,
                                   char *buf, size_t buflen,
                                   struct hostent **result, int *h_errnop);
extern int (*real_gethostbyname2_r)(const char *name, int af,
                                    struct hostent *ret, char *buf,
                                    size_t buflen, struct hostent **result,
                                    int *h_errnop);
extern struct hostent *(*real_gethostbyaddr)(const void *addr, socklen_t len,
                                             int type);
extern int (*real_gethostbyaddr_r)(const void *addr, socklen_t len, int type,
                                   struct hostent *ret, char *buf,
                                   size_t buflen, struct hostent **result,
                                   int *h_errnop);

#endif
