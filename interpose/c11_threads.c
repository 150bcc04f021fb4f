/*
 * interpose/c11_threads.c: C11 <threads.h> as the pthread calls they are.
 *
 * glibc implements thrd_*, mtx_*, cnd_*, tss_* and call_once over its
 * internal pthread functions, which no hook of ours sees: a thrd_create
 * would make an OS thread, and an mtx_lock a green thread waits in would
 * block its worker (and every thread on it, the holder too). Each is ours
 * here, over our pthread hooks, with glibc's mapping of their answers
 * (thrd_err_map). The types are glibc's pthread ones under other names.
 * Any thread.
 */
#include "interpose/interpose.h"

#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

_Static_assert(sizeof(thrd_t) == sizeof(pthread_t), "thrd_t");
_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "mtx_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "cnd_t");
_Static_assert(sizeof(tss_t) == sizeof(pthread_key_t), "tss_t");
_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t), "once_flag");

static int thrd_answer(int err)
{
    switch (err) {
    case 0:
        return thrd_success;
    case ENOMEM:
        return thrd_nomem;
    case ETIMEDOUT:
        return thrd_timedout;
    case EBUSY:
        return thrd_busy;
    default:
        return thrd_error;
    }
}

/* A thread's int result travels as its pthread result, as in glibc. */
struct c11_start {
    thrd_start_t func;
    void *arg;
};

static void *run_c11(void *p)
{
    struct c11_start start = *(struct c11_start *)p;

    free(p);
    return (void *)(uintptr_t)start.func(start.arg);
}

G_EXPORT int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
    struct c11_start *start = malloc(sizeof(*start));
    int rc;

    if (!start)
        return thrd_nomem;
    start->func = func;
    start->arg = arg;
    rc = pthread_create((pthread_t *)thr, NULL, run_c11, start);
    if (rc != 0)
        free(start);
    return thrd_answer(rc);
}

G_EXPORT thrd_t thrd_current(void)
{
    return pthread_self();
}

G_EXPORT int thrd_join(thrd_t thr, int *res)
{
    void *result;
    int rc = pthread_join(thr, &result);

    if (rc == 0 && res)
        *res = (int)(uintptr_t)result;
    return thrd_answer(rc);
}

G_EXPORT int thrd_detach(thrd_t thr)
{
    return thrd_answer(pthread_detach(thr));
}

G_EXPORT _Noreturn void thrd_exit(int res)
{
    pthread_exit((void *)(uintptr_t)res);
}

/* 0 when slept, -1 when a signal ended it, less for any other error. */
G_EXPORT int thrd_sleep(const struct timespec *duration,
                        struct timespec *remaining)
{
    int rc = clock_nanosleep(CLOCK_REALTIME, 0, duration, remaining);

    return rc == 0 ? 0 : rc == EINTR ? -1 : -2;
}

G_EXPORT void thrd_yield(void)
{
    sched_yield();
}

G_EXPORT int mtx_init(mtx_t *m, int type)
{
    pthread_mutexattr_t attr;
    int rc;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, type & mtx_recursive
                                         ? PTHREAD_MUTEX_RECURSIVE
                                         : PTHREAD_MUTEX_NORMAL);
    rc = pthread_mutex_init((pthread_mutex_t *)m, &attr);
    pthread_mutexattr_destroy(&attr);
    return thrd_answer(rc);
}

G_EXPORT int mtx_lock(mtx_t *m)
{
    return thrd_answer(pthread_mutex_lock((pthread_mutex_t *)m));
}

G_EXPORT int mtx_timedlock(mtx_t *restrict m,
                           const struct timespec *restrict deadline)
{
    return thrd_answer(
        pthread_mutex_timedlock((pthread_mutex_t *)m, deadline));
}

G_EXPORT int mtx_trylock(mtx_t *m)
{
    return thrd_answer(pthread_mutex_trylock((pthread_mutex_t *)m));
}

G_EXPORT int mtx_unlock(mtx_t *m)
{
    return thrd_answer(pthread_mutex_unlock((pthread_mutex_t *)m));
}

G_EXPORT void mtx_destroy(mtx_t *m)
{
    pthread_mutex_destroy((pthread_mutex_t *)m);
}

G_EXPORT int cnd_init(cnd_t *c)
{
    return thrd_answer(pthread_cond_init((pthread_cond_t *)c, NULL));
}

G_EXPORT int cnd_signal(cnd_t *c)
{
    return thrd_answer(pthread_cond_signal((pthread_cond_t *)c));
}

G_EXPORT int cnd_broadcast(cnd_t *c)
{
    return thrd_answer(pthread_cond_broadcast((pthread_cond_t *)c));
}

G_EXPORT int cnd_wait(cnd_t *c, mtx_t *m)
{
    return thrd_answer(
        pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}

G_EXPORT int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m,
                           const struct timespec *restrict deadline)
{
    return thrd_answer(pthread_cond_timedwait(
        (pthread_cond_t *)c, (pthread_mutex_t *)m, deadline));
}

G_EXPORT void cnd_destroy(cnd_t *c)
{
    pthread_cond_destroy((pthread_cond_t *)c);
}

G_EXPORT int tss_create(tss_t *key, tss_dtor_t destructor)
{
    return thrd_answer(pthread_key_create((pthread_key_t *)key, destructor));
}

G_EXPORT void *tss_get(tss_t key)
{
    return pthread_getspecific(key);
}

G_EXPORT int tss_set(tss_t key, void *value)
{
    return thrd_answer(pthread_setspecific(key, value));
}

G_EXPORT void tss_delete(tss_t key)
{
    pthread_key_delete(key);
}

G_EXPORT void call_once(once_flag *flag, void (*func)(void))
{
    pthread_once((pthread_once_t *)&flag->__data, func);
}
