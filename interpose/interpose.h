/*
 * interpose/interpose.h: what every hook shares.
 *
 * A hook is the exported libc name with libc's own prototype. It starts with
 * hook_enter(): NULL means "not on a green thread" (or in a signal handler,
 * which waits as its OS thread: interpose/signal.c) and the hook calls the
 * real function unchanged (invariant 1). Errors from shim/ arrive as -errno;
 * g_ret() turns them into errno and -1, and pthread hooks return the
 * positive error number instead.
 */
#ifndef G_INTERPOSE_H
#define G_INTERPOSE_H

#include <errno.h>

#include "interpose/real.h"
#include "shim/shim.h"

#define G_EXPORT __attribute__((visibility("default")))

/* Also records call, the hook's name, for GREEN_STATS. */
static inline struct g_thread *hook_enter_as(const char *call)
{
    struct g_thread *self;

    if (__builtin_expect(!g_real_ready, 0))
        g_real_init();
    self = g_self_to_park();
    if (self) /* not libuv's own calls from the scheduler */
        g_tls_call = call;
    return self;
}

#define hook_enter() hook_enter_as(__func__)

/* For the hooks that act on the calling thread itself and never wait
 * (pthread_self, keys, cleanup handlers, cancel state, exit): its green
 * thread, inside a signal handler too. */
#define hook_enter_self() (hook_enter_as(__func__), g_self())

/* For the synchronisation hooks, which never call a real function (the
 * objects are ours for every thread): only the call's name, for
 * GREEN_STATS. They are the hand-off path issue 4 measures. */
static inline struct g_thread *hook_enter_sync(const char *call)
{
    struct g_thread *self = g_self_to_park();

    if (self)
        g_tls_call = call;
    return self;
}

/* rc < 0: errno = -rc and -1; otherwise rc, errno untouched. */
static inline long g_ret(long rc)
{
    if (rc < 0) {
        errno = (int)-rc;
        return -1;
    }
    return rc;
}

/* The green thread behind a pthread_t, or NULL for a real one. */
static inline struct g_thread *green_of(pthread_t id)
{
    return g_thread_from_id((uintptr_t)id);
}

/* interpose/exec.c: the mask a program self starts should begin with:
 * self's own, and the signals a signalfd reads. */
void g_hook_child_mask(struct g_thread *self, sigset_t *set);

/* interpose/signal.c: put our trampoline in for the signals of set whose
 * disposition is SIG_DFL, before a green thread blocks them; and, before
 * the workers start, make the process's mask main()'s. */
void g_signals_hide(uint64_t set);
void g_signals_start(void);
/* In a forked child: the OS mask and dispositions of a plain process. */
void g_signals_forked(void);
/* For interpose/signal.c's __sigsetjmp, which calls it from assembly. */
struct __jmp_buf_tag;
void g_signals_setjmp(struct __jmp_buf_tag *env, int savemask);

/* interpose/offloaded.c: fcntl's F_SETLKW or F_OFD_SETLKW with real, on a
 * helper OS thread while a green thread waits (real's answer, errno). */
int g_hook_lock_wait(int (*real)(int, int, ...), int fd, int cmd, void *arg);

/* interpose/io_fd.c: before a stream's fd is closed inside libc (fclose,
 * pclose), as a close of it would be. */
void g_hook_stream_closing(FILE *f);

/* interpose/shell.c: in a forked child, the lock of system and popen
 * free (a thread left in the parent may have held it). */
void g_shell_forked(void);
/* interpose/shell.c: whether f is a popen stream of ours, which fclose
 * closes as pclose does (glibc's fclose of a popen stream waits too). */
bool g_shell_popened(FILE *f);

/* interpose/pthread_mutex.c: lock and unlock any mutex the program has,
 * ours or glibc-only, as pthread_mutex_lock would; positive errors. */
int g_hook_mutex_lock(pthread_mutex_t *m, int64_t deadline);
int g_hook_mutex_unlock(pthread_mutex_t *m);

#endif
