/*
 * interpose/pthread_misc.c: the pthread calls that take a pthread_t or keep
 * per-thread state, for green ids.
 *
 * glibc would dereference a green id as its own struct pthread, so each
 * call that can be handed one is ours. Where the call has a meaning for a
 * green thread it keeps it (names, attributes, cancellation, existence
 * checks); where it is about the OS thread (signals, CPU clock, affinity,
 * scheduling policy) the answer is the one ARCHITECTURE.md documents. Real
 * ids, and calls off green threads, go to glibc unchanged. Any thread.
 */
#include "interpose/interpose.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* glibc reserves these for itself (SIGCANCEL, SIGSETXID). */
static bool signal_ok(int sig)
{
    return sig >= 0 && sig < _NSIG && sig != SIGRTMIN - 2 &&
           sig != SIGRTMIN - 1;
}

G_EXPORT int pthread_getattr_np(pthread_t thread, pthread_attr_t *attr)
{
    struct g_thread *t = green_of(thread);
    int rc;

    hook_enter();
    if (!t)
        return real_pthread_getattr_np(thread, attr);
    if (g_thread_alive(t) != 0)
        return ESRCH;
    if ((rc = pthread_attr_init(attr)) != 0)
        return rc;
    pthread_attr_setdetachstate(attr, t->detached ? PTHREAD_CREATE_DETACHED
                                                  : PTHREAD_CREATE_JOINABLE);
    pthread_attr_setguardsize(attr, t->guardsize);
    if (t->stack)
        pthread_attr_setstack(attr, t->stack->base, t->stack->size);
    return 0;
}

G_EXPORT int pthread_setname_np(pthread_t thread, const char *name)
{
    struct g_thread *t = green_of(thread);
    size_t len;

    hook_enter();
    if (!t)
        return real_pthread_setname_np(thread, name);
    len = strlen(name);
    if (len >= sizeof(t->name))
        return ERANGE;
    memcpy(t->name, name, len + 1);
    return 0;
}

G_EXPORT int pthread_getname_np(pthread_t thread, char *name, size_t len)
{
    struct g_thread *t = green_of(thread);
    size_t n;

    hook_enter();
    if (!t)
        return real_pthread_getname_np(thread, name, len);
    n = strlen(t->name);
    if (len <= n)
        return ERANGE;
    memcpy(name, t->name, n + 1);
    return 0;
}

G_EXPORT int sched_yield(void)
{
    struct g_thread *self = hook_enter();

    if (!self)
        return real_sched_yield();
    g_yield(self);
    /* A thread that computes and yields takes its signals here (on one
     * worker nothing else interrupts it). */
    if (g_sig_due(self))
        g_sig_deliver(self);
    return 0;
}

/* A signal for a green thread goes to that thread (shim/signal.c), with
 * the siginfo the kernel would give: code, our pid and uid, the value. */
static int send_to(struct g_thread *t, int sig, int code, union sigval value)
{
    siginfo_t info;

    if (!signal_ok(sig))
        return EINVAL;
    if (g_thread_alive(t) != 0)
        return ESRCH;
    /* glibc 2.34+: a thread that exited but is not joined yet takes any
     * signal as delivered. */
    if (sig == 0 || g_thread_exited(t))
        return 0;
    memset(&info, 0, sizeof(info));
    info.si_signo = sig;
    info.si_code = code;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value = value;
    return -g_sig_send(t, sig, &info);
}

G_EXPORT int pthread_kill(pthread_t thread, int sig)
{
    struct g_thread *t = green_of(thread);

    hook_enter_self();
    if (!t)
        return real_pthread_kill(thread, sig);
    return send_to(t, sig, SI_TKILL, (union sigval){0});
}

G_EXPORT int pthread_sigqueue(pthread_t thread, int sig,
                              const union sigval value)
{
    struct g_thread *t = green_of(thread);

    hook_enter_self();
    if (!t)
        return real_pthread_sigqueue(thread, sig, value);
    return send_to(t, sig, SI_QUEUE, value);
}

G_EXPORT int pthread_cancel(pthread_t thread)
{
    struct g_thread *t = green_of(thread);

    hook_enter();
    if (!t)
        return real_pthread_cancel(thread);
    if (g_thread_alive(t) != 0)
        return ESRCH;
    return -g_thread_cancel(t);
}

G_EXPORT int pthread_setcancelstate(int state, int *oldstate)
{
    struct g_thread *self = hook_enter_self();
    int old;

    if (!self)
        return real_pthread_setcancelstate(state, oldstate);
    if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE)
        return EINVAL;
    old = state == PTHREAD_CANCEL_DISABLE
              ? atomic_fetch_or(&self->cancel, G_CANCEL_DISABLED)
              : atomic_fetch_and(&self->cancel, ~G_CANCEL_DISABLED);
    if (oldstate)
        *oldstate = (old & G_CANCEL_DISABLED) ? PTHREAD_CANCEL_DISABLE
                                              : PTHREAD_CANCEL_ENABLE;
    return 0;
}

/* Asynchronous cancellation is honoured at cancellation points only. */
G_EXPORT int pthread_setcanceltype(int type, int *oldtype)
{
    struct g_thread *self = hook_enter_self();
    int old;

    if (!self)
        return real_pthread_setcanceltype(type, oldtype);
    if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS)
        return EINVAL;
    old = type == PTHREAD_CANCEL_ASYNCHRONOUS
              ? atomic_fetch_or(&self->cancel, G_CANCEL_ASYNC)
              : atomic_fetch_and(&self->cancel, ~G_CANCEL_ASYNC);
    if (oldtype)
        *oldtype = (old & G_CANCEL_ASYNC) ? PTHREAD_CANCEL_ASYNCHRONOUS
                                          : PTHREAD_CANCEL_DEFERRED;
    return 0;
}

G_EXPORT void pthread_testcancel(void)
{
    if (!hook_enter_self()) {
        real_pthread_testcancel();
        return;
    }
    g_testcancel();
}

static bool policy_ok(int policy, int priority)
{
    int min = sched_get_priority_min(policy);
    int max = sched_get_priority_max(policy);

    return min >= 0 && priority >= min && priority <= max;
}

/* Scheduling parameters of a green thread are remembered and reported, and
 * do not change how its worker schedules it. */
G_EXPORT int pthread_getschedparam(pthread_t thread, int *policy,
                                   struct sched_param *param)
{
    struct g_thread *t = green_of(thread);

    hook_enter();
    if (!t)
        return real_pthread_getschedparam(thread, policy, param);
    if (g_thread_alive(t) != 0)
        return ESRCH;
    *policy = t->sched_policy;
    memset(param, 0, sizeof(*param));
    param->sched_priority = t->sched_priority;
    return 0;
}

G_EXPORT int pthread_setschedparam(pthread_t thread, int policy,
                                   const struct sched_param *param)
{
    struct g_thread *t = green_of(thread);

    hook_enter();
    if (!t)
        return real_pthread_setschedparam(thread, policy, param);
    if (g_thread_alive(t) != 0)
        return ESRCH;
    if (!policy_ok(policy, param->sched_priority))
        return EINVAL;
    if ((policy == SCHED_FIFO || policy == SCHED_RR) && geteuid() != 0)
        return EPERM;
    t->sched_policy = policy;
    t->sched_priority = param->sched_priority;
    return 0;
}

G_EXPORT int pthread_setschedprio(pthread_t thread, int prio)
{
    struct g_thread *t = green_of(thread);
    struct sched_param param = {.sched_priority = prio};

    hook_enter();
    if (!t)
        return real_pthread_setschedprio(thread, prio);
    return pthread_setschedparam(thread, t->sched_policy, &param);
}

/* Affinity: a green thread runs where its worker runs. A set asked for is
 * checked and remembered, and reported back, but does not move it. */
G_EXPORT int pthread_getaffinity_np(pthread_t thread, size_t size,
                                    cpu_set_t *set)
{
    struct g_thread *t = green_of(thread);

    hook_enter();
    if (!t)
        return real_pthread_getaffinity_np(thread, size, set);
    if (g_thread_alive(t) != 0)
        return ESRCH;
    if (!t->affinity)
        return real_pthread_getaffinity_np((pthread_t)g_thread_os_thread(t),
                                           size, set);
    if (size < sizeof(cpu_set_t))
        return EINVAL;
    memset(set, 0, size);
    memcpy(set, t->affinity, sizeof(cpu_set_t));
    return 0;
}

G_EXPORT int pthread_setaffinity_np(pthread_t thread, size_t size,
                                    const cpu_set_t *set)
{
    struct g_thread *t = green_of(thread);
    cpu_set_t allowed, both;

    hook_enter();
    if (!t)
        return real_pthread_setaffinity_np(thread, size, set);
    if (g_thread_alive(t) != 0)
        return ESRCH;
    /* As the kernel: a set with none of the CPUs we may use is EINVAL. */
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
        return errno;
    CPU_ZERO(&both);
    memcpy(&both, set, size < sizeof(both) ? size : sizeof(both));
    CPU_AND(&both, &both, &allowed);
    if (CPU_COUNT(&both) == 0)
        return EINVAL;
    if (!t->affinity && !(t->affinity = malloc(sizeof(cpu_set_t))))
        return ENOMEM;
    *t->affinity = both;
    return 0;
}

/* The CPU clock of a green thread is its worker's: the time of every green
 * thread that ran there. */
G_EXPORT int pthread_getcpuclockid(pthread_t thread, clockid_t *clock)
{
    struct g_thread *t = green_of(thread);

    hook_enter();
    if (!t)
        return real_pthread_getcpuclockid(thread, clock);
    if (g_thread_alive(t) != 0)
        return ESRCH;
    return real_pthread_getcpuclockid((pthread_t)g_thread_os_thread(t), clock);
}
