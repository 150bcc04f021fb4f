/*
 * interpose/pthread_key.c: thread-specific data, per green thread.
 *
 * Keys are ours for every thread (shim/key.c). An OS thread that stores a
 * value also gets one glibc key of ours set, whose destructor runs our
 * destructors when that OS thread exits; green threads run theirs in
 * pthread_exit. Any thread.
 */
#include "interpose/interpose.h"

#include "shim/sync.h"

static pthread_key_t os_exit_key;
static pthread_once_t os_exit_once = PTHREAD_ONCE_INIT;

static void run_os_destructors(void *unused)
{
    (void)unused;
    g_key_run_destructors();
}

static void make_os_exit_key(void)
{
    real_pthread_key_create(&os_exit_key, run_os_destructors);
}

G_EXPORT int pthread_key_create(pthread_key_t *key, void (*destructor)(void *))
{
    unsigned k;
    int rc;

    hook_enter();
    rc = g_key_create(&k, destructor);
    if (rc == 0)
        *key = k;
    return -rc;
}

G_EXPORT int pthread_key_delete(pthread_key_t key)
{
    hook_enter();
    return -g_key_delete(key);
}

G_EXPORT void *pthread_getspecific(pthread_key_t key)
{
    hook_enter();
    return g_key_get(key);
}

G_EXPORT int pthread_setspecific(pthread_key_t key, const void *value)
{
    if (!hook_enter_self()) {
        pthread_once(&os_exit_once, make_os_exit_key);
        real_pthread_setspecific(os_exit_key, (void *)1);
    }
    return -g_key_set(key, value);
}
