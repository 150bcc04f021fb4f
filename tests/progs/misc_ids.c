/*
 * misc_ids: the pthread calls that take a thread id, used on main itself and
 * on other live threads: names (set, get, ERANGE), attributes read back with
 * pthread_getattr_np (detach state, stack size at least the one asked for,
 * guard size, the stack the thread really runs on), a user-supplied stack
 * (pthread_attr_setstack), pthread_kill(t, 0), scheduling parameters, CPU
 * affinity, the thread CPU-time clock, sched_yield. Prints what it saw,
 * never an id, an address or a time.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_progs.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "misc_ids"
#include "progs.h"

enum {
    WORKER_STACK = 256 * 1024,
    DETACHED_STACK = 512 * 1024,
    USER_STACK = 256 * 1024,
};

/* What a thread found out about itself, for main to print. */
struct report {
    char name[16]; /* its name, read after main named it */
    int name_rc;   /* pthread_getname_np on itself */
    int attr_rc;   /* pthread_getattr_np on itself */
    int detach_state;
    size_t stack_size;
    size_t guard_size;
    int local_in_stack; /* a local lies inside the reported stack */
    int local_in_user;  /* a local lies inside the stack main gave it */
    int user_reported;  /* getattr_np reports exactly main's stack */
};

static atomic_int started;
static atomic_int release;
static atomic_int finished;
static void *user_stack;

static const char *detach_name(int state)
{
    return state == PTHREAD_CREATE_DETACHED   ? "detached"
           : state == PTHREAD_CREATE_JOINABLE ? "joinable"
                                              : "unknown";
}

static int inside(const void *p, const void *lo, size_t size)
{
    return (uintptr_t)p >= (uintptr_t)lo && (uintptr_t)p < (uintptr_t)lo + size;
}

/* Fills r from pthread_getattr_np(pthread_self()). */
static void look_at_self(struct report *r)
{
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;
    int local;

    r->attr_rc = pthread_getattr_np(pthread_self(), &attr);
    if (r->attr_rc != 0)
        return;
    pthread_attr_getdetachstate(&attr, &r->detach_state);
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_getguardsize(&attr, &r->guard_size);
    r->stack_size = size;
    r->local_in_stack = inside(&local, addr, size);
    r->local_in_user = inside(&local, user_stack, USER_STACK);
    r->user_reported = addr == user_stack && size == USER_STACK;
    pthread_attr_destroy(&attr);
}

static void *subject(void *arg)
{
    struct report *r = arg;

    atomic_fetch_add_explicit(&started, 1, memory_order_release);
    while (!atomic_load_explicit(&release, memory_order_acquire))
        nap_ms(1);
    look_at_self(r);
    r->name_rc = pthread_getname_np(pthread_self(), r->name, sizeof(r->name));
    atomic_fetch_add_explicit(&finished, 1, memory_order_release);
    return NULL;
}

static void create(pthread_t *t, size_t stack, size_t guard, int detached,
                   struct report *r)
{
    pthread_attr_t attr;

    check_rc(pthread_attr_init(&attr), "pthread_attr_init");
    if (stack)
        check_rc(pthread_attr_setstacksize(&attr, stack),
                 "pthread_attr_setstacksize");
    if (guard)
        check_rc(pthread_attr_setguardsize(&attr, guard),
                 "pthread_attr_setguardsize");
    if (detached)
        check_rc(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED),
                 "pthread_attr_setdetachstate");
    check_rc(pthread_create(t, &attr, subject, r), "pthread_create");
    pthread_attr_destroy(&attr);
}

static void create_on_user_stack(pthread_t *t, struct report *r)
{
    pthread_attr_t attr;

    user_stack = mmap(NULL, USER_STACK, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (user_stack == MAP_FAILED) {
        perror("misc_ids: mmap");
        exit(1);
    }
    check_rc(pthread_attr_init(&attr), "pthread_attr_init");
    check_rc(pthread_attr_setstack(&attr, user_stack, USER_STACK),
             "pthread_attr_setstack");
    check_rc(pthread_create(t, &attr, subject, r), "pthread_create");
    pthread_attr_destroy(&attr);
}

/* pthread_getattr_np on another live thread. */
static void attr_of(const char *who, pthread_t t, size_t asked)
{
    pthread_attr_t attr;
    size_t size = 0;
    int state = -1, rc;

    rc = pthread_getattr_np(t, &attr);
    printf("getattr_np(%s): %s\n", who, ename(rc));
    if (rc != 0)
        return;
    pthread_attr_getdetachstate(&attr, &state);
    pthread_attr_getstacksize(&attr, &size);
    printf("  detach state %s, stack size >= %zu KiB: %s\n", detach_name(state),
           asked / 1024, size >= asked ? "yes" : "no");
    pthread_attr_destroy(&attr);
}

static void print_self_report(const char *who, const struct report *r,
                              size_t asked, long page)
{
    printf("%s, seen from itself: getattr_np %s, %s, stack size >= %zu KiB: "
           "%s, guard %ld pages, local inside its stack: %s\n",
           who, ename(r->attr_rc), detach_name(r->detach_state), asked / 1024,
           r->stack_size >= asked ? "yes" : "no", (long)r->guard_size / page,
           r->local_in_stack ? "yes" : "no");
    printf("%s: its name is \"%s\" (%s)\n", who, r->name, ename(r->name_rc));
}

static void names(pthread_t worker)
{
    char name[16] = "";
    char small[8];

    printf("setname_np(self, \"misc-main\"): %s\n",
           ename(pthread_setname_np(pthread_self(), "misc-main")));
    printf("getname_np(self): %s",
           ename(pthread_getname_np(pthread_self(), name, sizeof(name))));
    printf(" \"%s\"\n", name);
    printf("setname_np(worker, \"worker-1\"): %s\n",
           ename(pthread_setname_np(worker, "worker-1")));
    memset(name, 0, sizeof(name));
    printf("getname_np(worker): %s",
           ename(pthread_getname_np(worker, name, sizeof(name))));
    printf(" \"%s\"\n", name);
    printf("setname_np(worker, 16 characters): %s\n",
           ename(pthread_setname_np(worker, "0123456789abcdef")));
    printf("setname_np(self, 16 characters): %s\n",
           ename(pthread_setname_np(pthread_self(), "0123456789abcdef")));
    printf("getname_np(worker, 8-byte buffer): %s\n",
           ename(pthread_getname_np(worker, small, sizeof(small))));
    printf("getname_np(self, 8-byte buffer): %s\n",
           ename(pthread_getname_np(pthread_self(), small, sizeof(small))));
}

static void scheduling(pthread_t worker)
{
    struct sched_param param = {.sched_priority = -1};
    int policy = -1, rc;

    rc = pthread_getschedparam(worker, &policy, &param);
    printf("getschedparam(worker): %s, %s, priority %d\n", ename(rc),
           policy == SCHED_OTHER ? "SCHED_OTHER" : "not SCHED_OTHER",
           param.sched_priority);
    param.sched_priority = 0;
    printf("setschedparam(worker, SCHED_OTHER, 0): %s\n",
           ename(pthread_setschedparam(worker, SCHED_OTHER, &param)));
    param.sched_priority = 5;
    printf("setschedparam(worker, SCHED_OTHER, 5): %s\n",
           ename(pthread_setschedparam(worker, SCHED_OTHER, &param)));
    printf("setschedprio(worker, 0): %s\n",
           ename(pthread_setschedprio(worker, 0)));
    rc = pthread_getschedparam(pthread_self(), &policy, &param);
    printf("getschedparam(self): %s, %s, priority %d\n", ename(rc),
           policy == SCHED_OTHER ? "SCHED_OTHER" : "not SCHED_OTHER",
           param.sched_priority);
}

static void affinity(pthread_t worker)
{
    cpu_set_t set, again;
    int rc;

    CPU_ZERO(&set);
    CPU_ZERO(&again);
    rc = pthread_getaffinity_np(worker, sizeof(set), &set);
    printf("getaffinity_np(worker): %s, some CPU: %s\n", ename(rc),
           CPU_COUNT(&set) > 0 ? "yes" : "no");
    printf("setaffinity_np(worker, same set): %s\n",
           ename(pthread_setaffinity_np(worker, sizeof(set), &set)));
    rc = pthread_getaffinity_np(worker, sizeof(again), &again);
    printf("getaffinity_np(worker) again: %s, unchanged: %s\n", ename(rc),
           CPU_EQUAL(&set, &again) ? "yes" : "no");
}

static void cpu_clocks(pthread_t worker)
{
    clockid_t clock;
    struct timespec ts;
    int rc;

    rc = pthread_getcpuclockid(worker, &clock);
    printf("getcpuclockid(worker): %s", ename(rc));
    printf(", clock_gettime on it: %d\n",
           rc == 0 ? clock_gettime(clock, &ts) : -2);
    rc = pthread_getcpuclockid(pthread_self(), &clock);
    printf("getcpuclockid(self): %s", ename(rc));
    printf(", clock_gettime on it: %d\n",
           rc == 0 ? clock_gettime(clock, &ts) : -2);
}

int main(void)
{
    static struct report worker_r, detached_r, user_r;
    long page = sysconf(_SC_PAGESIZE);
    pthread_t worker, detached, on_user;
    struct report main_r = {.name = ""};

    create(&worker, WORKER_STACK, 2 * (size_t)page, 0, &worker_r);
    create(&detached, DETACHED_STACK, 0, 1, &detached_r);
    create_on_user_stack(&on_user, &user_r);
    while (atomic_load_explicit(&started, memory_order_acquire) < 3)
        nap_ms(1);

    /* All three stay alive until release is set. */
    look_at_self(&main_r);
    printf("main, seen from itself: getattr_np %s, %s\n", ename(main_r.attr_rc),
           detach_name(main_r.detach_state));
    attr_of("worker", worker, WORKER_STACK);
    attr_of("detached", detached, DETACHED_STACK);
    attr_of("user-stack thread", on_user, USER_STACK);
    names(worker);
    printf("pthread_kill(worker, 0): %s\n", ename(pthread_kill(worker, 0)));
    printf("pthread_kill(self, 0): %s\n",
           ename(pthread_kill(pthread_self(), 0)));
    scheduling(worker);
    affinity(worker);
    cpu_clocks(worker);
    printf("sched_yield: %d\n", sched_yield());

    atomic_store_explicit(&release, 1, memory_order_release);
    check_rc(pthread_join(worker, NULL), "pthread_join");
    check_rc(pthread_join(on_user, NULL), "pthread_join");
    while (atomic_load_explicit(&finished, memory_order_acquire) < 3)
        nap_ms(1);
    print_self_report("worker", &worker_r, WORKER_STACK, page);
    print_self_report("detached", &detached_r, DETACHED_STACK, page);
    print_self_report("user-stack thread", &user_r, USER_STACK, page);
    printf("user-stack thread: a local lies in the given stack: %s, "
           "getattr_np reports that stack: %s\n",
           user_r.local_in_user ? "yes" : "no",
           user_r.user_reported ? "yes" : "no");
    return 0;
}
