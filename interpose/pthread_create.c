/*
 * interpose/pthread_create.c: creating, joining, detaching and ending
 * threads, and their ids.
 *
 * On a green thread, pthread_create makes another green thread; anywhere
 * else it makes a real one (invariant 1). The join family and detach accept
 * both kinds of id; a green thread joining a real thread polls instead of
 * blocking its worker. Runs on any thread.
 */
#include "interpose/interpose.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(sizeof(pthread_t) == sizeof(uintptr_t), "pthread_t size");

/* Translate pthread_create's attributes; NULL means all defaults. A
 * signal mask the attributes carry goes to *mask, for ga->sigmask. */
static void read_attr(const pthread_attr_t *attr, struct g_thread_attr *ga,
                      uint64_t *mask)
{
    pthread_attr_t dflt;
    size_t size, dflt_size;
    sigset_t set;
    void *low;
    char *top;
    int detach;

    ga->detached = false;
    ga->stack_size = 0;
    ga->user_stack = NULL;
    ga->guard_size = g_stack_guard();
    ga->sigmask = NULL;
    if (!attr)
        return;
    if (pthread_attr_getsigmask_np(attr, &set) == 0) {
        memcpy(mask, &set, sizeof(*mask));
        g_signals_hide(*mask);
        ga->sigmask = mask;
    }
    pthread_attr_getdetachstate(attr, &detach);
    ga->detached = detach == PTHREAD_CREATE_DETACHED;
    pthread_attr_getguardsize(attr, &ga->guard_size);
    /* glibc keeps the top of a pthread_attr_setstack stack and reports
     * top - size: a top of NULL means none was set. */
    pthread_attr_getstack(attr, &low, &size);
    top = (char *)low + size;
    if (top) {
        ga->user_stack = low;
        ga->stack_size = size;
        return;
    }
    /* A size equal to glibc's default was (most likely) not asked for:
     * GREEN_STACK_SIZE decides then. */
    pthread_getattr_default_np(&dflt);
    pthread_attr_getstacksize(&dflt, &dflt_size);
    pthread_attr_destroy(&dflt);
    if (size != dflt_size)
        ga->stack_size = size;
}

/*
 * Threads made by create_internal. Nothing waits for one of them to end:
 * the workers never do, and libuv joins its pool's only in its destructor
 * at exit, where a thread busy with a slow lookup would hold the exit up;
 * in a forked child, which has none of its parent's, their ids may even
 * be its own workers' now (glibc reuses descriptors). So a join of one
 * returns at once. A thread the program makes under such an id takes it
 * out (it may be joined for real).
 */
#define INTERNAL_MAX 2048 /* workers and libuv's pool, with room */
static _Atomic(pthread_t) internal[INTERNAL_MAX];

static void forget_internal(pthread_t id)
{
    for (int i = 0; i < INTERNAL_MAX; i++) {
        pthread_t seen = id;

        atomic_compare_exchange_strong(&internal[i], &seen, (pthread_t)0);
    }
}

static void note_internal(pthread_t id)
{
    static _Atomic unsigned next;
    unsigned i = atomic_fetch_add(&next, 1) % INTERNAL_MAX;

    forget_internal(id); /* made before a fork, under the same id */
    atomic_store(&internal[i], id);
}

static bool is_internal(pthread_t id)
{
    for (int i = 0; i < INTERNAL_MAX; i++)
        if (id && atomic_load(&internal[i]) == id)
            return true;
    return false;
}

/*
 * A thread libgreen or libuv makes (g_tls_creating_internal: the other
 * workers, the thread pool) starts with every signal blocked: the program's signals are
 * for its green threads, which the workers' OS threads run.
 */
static int create_internal(pthread_t *thread, const pthread_attr_t *attr,
                           void *(*start)(void *), void *arg)
{
    sigset_t all, old;
    int rc;

    sigfillset(&all);
    real_pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = real_pthread_create(thread, attr, start, arg);
    real_pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        note_internal(*thread);
    return rc;
}

G_EXPORT int pthread_create(pthread_t *restrict thread,
                            const pthread_attr_t *restrict attr,
                            void *(*start)(void *), void *restrict arg)
{
    struct g_thread_attr ga;
    uint64_t mask;

    if (!hook_enter()) {
        int rc;

        if (g_tls_creating_internal)
            return create_internal(thread, attr, start, arg);
        rc = real_pthread_create(thread, attr, start, arg);
        if (rc == 0)
            forget_internal(*thread);
        return rc;
    }
    read_attr(attr, &ga, &mask);
    /* The id is stored before the new thread can run, as glibc does: it may
     * read the variable at once. */
    return -g_thread_create(&ga, start, arg, (uintptr_t *)thread);
}

struct real_join {
    pthread_t thread;
    void **retval;
};

static int attempt_join(void *arg)
{
    struct real_join *j = arg;

    return -real_pthread_tryjoin_np(j->thread, j->retval);
}

/* May park. A green thread waits for a real thread without blocking its
 * worker: it polls. A cancellation point. */
static int join_real(pthread_t thread, void **retval, int64_t deadline)
{
    struct real_join j = {thread, retval};
    int rc = g_poll_until(attempt_join, &j, deadline, true);

    if (rc == -ECANCELED)
        g_cancel_act(g_self());
    return -rc;
}

/*
 * Whether the OS thread behind id is gone from this process with its
 * descriptor: in a forked child, the parent's other threads, whose stacks
 * glibc may have unmapped. libuv's destructor joins its pool's threads at
 * exit, in a child too, and glibc's join would fault on the descriptor.
 */
static bool gone_with_fork(pthread_t id)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t at = (uintptr_t)id & ~(uintptr_t)(page - 1);

    return !g_runtime_running() &&
           syscall(SYS_msync, at, page, MS_ASYNC) != 0 && errno == ENOMEM;
}

G_EXPORT int pthread_join(pthread_t thread, void **retval)
{
    struct g_thread *self = hook_enter();
    struct g_thread *t = green_of(thread);

    if (t)
        return -g_thread_join(t, retval, G_NEVER);
    if ((!self && gone_with_fork(thread)) || is_internal(thread))
        return 0; /* as if it had ended and been joined */
    if (!self)
        return real_pthread_join(thread, retval);
    return join_real(thread, retval, G_NEVER);
}

G_EXPORT int pthread_tryjoin_np(pthread_t thread, void **retval)
{
    struct g_thread *t = green_of(thread);

    hook_enter();
    if (t)
        return -g_thread_join(t, retval, 0);
    return real_pthread_tryjoin_np(thread, retval);
}

G_EXPORT int pthread_clockjoin_np(pthread_t thread, void **retval,
                                  clockid_t clock,
                                  const struct timespec *abstime)
{
    struct g_thread *self = hook_enter();
    struct g_thread *t = green_of(thread);
    int64_t deadline;

    if (!t && !self)
        return real_pthread_clockjoin_np(thread, retval, clock, abstime);
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    /* As glibc 2.36: a time before the epoch has passed; a bad tv_nsec
     * makes its futex wait fail and retry until the thread ends. */
    if (abstime->tv_sec < 0)
        deadline = 1;
    else if (g_deadline(clock, abstime, &deadline) != 0)
        deadline = G_NEVER;
    if (t)
        return -g_thread_join(t, retval, deadline);
    return join_real(thread, retval, deadline);
}

G_EXPORT int pthread_timedjoin_np(pthread_t thread, void **retval,
                                  const struct timespec *abstime)
{
    if (!abstime)
        return pthread_join(thread, retval);
    return pthread_clockjoin_np(thread, retval, CLOCK_REALTIME, abstime);
}

G_EXPORT int pthread_detach(pthread_t thread)
{
    struct g_thread *t = green_of(thread);

    hook_enter();
    if (t)
        return -g_thread_detach(t);
    return real_pthread_detach(thread);
}

G_EXPORT void pthread_exit(void *retval)
{
    if (!hook_enter_self()) {
        /* The real one would end a worker and every thread on it. */
        if (g_in_scheduler()) {
            fputs("libgreen: pthread_exit from a signal handler that "
                  "interrupted no green thread (its worker was idle)\n",
                  stderr);
            abort();
        }
        real_pthread_exit(retval);
        __builtin_unreachable();
    }
    g_thread_exit(retval);
}

G_EXPORT pthread_t pthread_self(void)
{
    struct g_thread *self = hook_enter_self();

    return self ? (pthread_t)g_thread_id(self) : real_pthread_self();
}

G_EXPORT int pthread_equal(pthread_t a, pthread_t b)
{
    return a == b;
}

/*
 * pthread_cleanup_push/pop expand to these three calls (without
 * -fexceptions); glibc would keep the chain per OS thread.
 */
G_EXPORT void __pthread_register_cancel(__pthread_unwind_buf_t *buf)
{
    struct g_thread *self = hook_enter_self();

    if (!self)
        real___pthread_register_cancel(buf);
    else
        g_cleanup_push(self, buf);
}

G_EXPORT void __pthread_unregister_cancel(__pthread_unwind_buf_t *buf)
{
    struct g_thread *self = hook_enter_self();

    if (!self)
        real___pthread_unregister_cancel(buf);
    else
        g_cleanup_pop(self, buf);
}

G_EXPORT void __pthread_unwind_next(__pthread_unwind_buf_t *buf)
{
    struct g_thread *self = hook_enter_self();

    if (!self) {
        real___pthread_unwind_next(buf);
        __builtin_unreachable();
    }
    /* Called by a cleanup handler's expansion after it ran: go on with the
     * exit, which runs the next handler or ends the thread. */
    g_thread_exit(NULL);
}
