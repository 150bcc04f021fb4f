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
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
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

extern unsigned int (*real_sleep)(unsigned int seconds);
extern int (*real_usleep)(useconds_t usec);
extern int (*real_nanosleep)(const struct timespec *req, struct timespec *rem);
extern int (*real_clock_nanosleep)(clockid_t clock, int flags,
                                   const struct timespec *req,
                                   struct timespec *rem);

#endif
