/*
 * shim/sync.h: green-aware synchronisation objects, laid over glibc's
 * types and sizes so that zero-filled and statically initialised objects
 * are valid as they are. Waiters park in the lot (shim/lot.h): green
 * threads park, other threads sleep on a futex, on the same queues.
 * Functions return 0 or -EXXX. "May park." as elsewhere.
 */
#ifndef G_SYNC_H
#define G_SYNC_H

#include <pthread.h>
#include <semaphore.h>

#include "shim/shim.h"

/* --- mutex (shim/mutex.c), over pthread_mutex_t (40 bytes) --- */

struct g_mutex {
    _Atomic int state; /* G_MUTEX_LOCKED | G_MUTEX_WAITERS */
    unsigned count;    /* extra recursive locks */
    int owner;         /* g_owner_id() of the holder, 0 while free */
    unsigned unused;
    int kind; /* glibc's __kind, where its initialisers put it */
};

#define G_MUTEX_LOCKED 1
#define G_MUTEX_WAITERS 2

/* glibc's __kind bits beyond the type: these mutexes stay glibc's own
 * (robust, priority protocols, process-shared: another process may take
 * them without libgreen). */
#define G_MUTEX_GLIBC_ONLY (16 | 32 | 64 | 128)

static inline bool g_mutex_is_glibc(const void *m)
{
    return ((const struct g_mutex *)m)->kind & G_MUTEX_GLIBC_ONLY;
}

void g_mutex_init(void *m, int kind);
/* May park. deadline 0: try only (-EBUSY); G_NEVER: no deadline; negative:
 * the program passed a bad timespec (-EINVAL, if it has to wait). */
int g_mutex_lock(void *m, int64_t deadline);
int g_mutex_unlock(void *m);
/* -EBUSY if locked. */
int g_mutex_destroy(void *m);

/* --- condition variable (shim/cond.c), over pthread_cond_t (48) --- */

/* How to release and retake the mutex around a wait. */
struct g_cond_mutex {
    void *mutex;
    int (*unlock)(void *mutex);
    int (*lock)(void *mutex);
};

void g_cond_init(void *c, clockid_t clock);
clockid_t g_cond_clock(const void *c);
/* May park. A cancellation point. 0 or -ETIMEDOUT; the mutex is held
 * again either way. */
int g_cond_wait(void *c, const struct g_cond_mutex *m, int64_t deadline);
void g_cond_signal(void *c);
void g_cond_broadcast(void *c);
int g_cond_destroy(void *c);

/* --- spinlock, once (shim/once_spin.c) --- */

/* May park: a green thread that finds the lock taken yields to the others
 * of its worker, one of which may hold it. */
int g_spin_lock(void *lock, bool try_only);
void g_spin_unlock(void *lock);
/* May park. pthread_once: run init once; every caller returns after it. */
int g_once(void *once, void (*init)(void));

/* --- keys (shim/key.c): per green thread, or per OS thread --- */

int g_key_create(unsigned *key, void (*destructor)(void *));
int g_key_delete(unsigned key);
void *g_key_get(unsigned key);
int g_key_set(unsigned key, const void *value);
/* At the end of a thread: run the destructors, as pthread_exit does. */
void g_key_run_destructors(void);

/* --- semaphores (shim/sem.c), over sem_t (32 bytes) --- */

int g_sem_init(void *sem, bool shared, unsigned value);
/* May park. deadline as for g_mutex_lock; a cancellation point; -EINTR
 * when a signal came for a green waiter (g_sig_restart decides). */
int g_sem_wait(void *sem, int64_t deadline);
int g_sem_post(void *sem);
int g_sem_value(void *sem);

/* --- rwlock (shim/rwlock.c), over pthread_rwlock_t (56 bytes) --- */

void g_rwlock_init(void *rw, bool prefer_writer);
bool g_rwlock_is_glibc(const void *rw);
/* May park. deadline as for g_mutex_lock. */
int g_rwlock_rdlock(void *rw, int64_t deadline);
int g_rwlock_wrlock(void *rw, int64_t deadline);
int g_rwlock_unlock(void *rw);
int g_rwlock_destroy(void *rw);

/* --- barrier (shim/barrier.c), over pthread_barrier_t (32 bytes) --- */

int g_barrier_init(void *b, unsigned count);
bool g_barrier_is_ours(const void *b);
/* May park. PTHREAD_BARRIER_SERIAL_THREAD for one of each round, else 0. */
int g_barrier_wait(void *b);
int g_barrier_destroy(void *b);

#endif
