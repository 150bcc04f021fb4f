/*
 * sync_pshared: objects in shared memory, used by this process's threads and
 * by a child process at once: a process-shared mutex both contend (exact
 * total), a robust mutex whose holder dies (EOWNERDEAD, then consistent), a
 * process-shared rwlock held by the child while a thread here waits, and a
 * process-shared semaphore the child posts.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG_NAME "sync_pshared"
#include "progs.h"

enum { THREADS = 4, ROUNDS = 20000 };

struct shared {
    pthread_mutex_t lock;   /* process-shared */
    pthread_mutex_t robust; /* process-shared and robust */
    pthread_rwlock_t rw;    /* process-shared */
    sem_t posted;           /* process-shared */
    _Atomic int child_ready;
    long total;
};

static struct shared *sh;

static void add_many(void)
{
    for (int i = 0; i < ROUNDS; i++) {
        check_rc(pthread_mutex_lock(&sh->lock), "pthread_mutex_lock");
        sh->total++;
        check_rc(pthread_mutex_unlock(&sh->lock), "pthread_mutex_unlock");
    }
}

static void *adder(void *arg)
{
    (void)arg;
    add_many();
    return NULL;
}

static int wait_child(pid_t pid)
{
    int status;

    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void init_shared(void)
{
    pthread_mutexattr_t ma;
    pthread_rwlockattr_t ra;

    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check(sh != MAP_FAILED, "mmap");
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    check_rc(pthread_mutex_init(&sh->lock, &ma), "pthread_mutex_init");
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    check_rc(pthread_mutex_init(&sh->robust, &ma), "pthread_mutex_init");
    pthread_mutexattr_destroy(&ma);
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setpshared(&ra, PTHREAD_PROCESS_SHARED);
    check_rc(pthread_rwlock_init(&sh->rw, &ra), "pthread_rwlock_init");
    pthread_rwlockattr_destroy(&ra);
    check_errno(sem_init(&sh->posted, 1, 0), "sem_init");
}

int main(void)
{
    pthread_t t[THREADS];
    pid_t pid;
    int rc;

    init_shared();

    /* A shared mutex, contended by a child process and our threads. */
    fflush(stdout);
    if ((pid = fork()) == 0) {
        add_many();
        _exit(0);
    }
    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_create(&t[i], NULL, adder, NULL), "pthread_create");
    for (int i = 0; i < THREADS; i++)
        check_rc(pthread_join(t[i], NULL), "pthread_join");
    printf("child exited %d\n", wait_child(pid));
    printf("total %ld of %d\n", sh->total, (THREADS + 1) * ROUNDS);

    /* A robust mutex whose holder dies. */
    fflush(stdout);
    if ((pid = fork()) == 0) {
        pthread_mutex_lock(&sh->robust);
        _exit(0);
    }
    printf("holder exited %d\n", wait_child(pid));
    rc = pthread_mutex_lock(&sh->robust);
    printf("lock after the holder died: %s\n", ename(rc));
    if (rc == EOWNERDEAD)
        printf("consistent: %s\n", ename(pthread_mutex_consistent(&sh->robust)));
    printf("unlock: %s\n", ename(pthread_mutex_unlock(&sh->robust)));
    printf("lock again: %s\n", ename(pthread_mutex_lock(&sh->robust)));
    pthread_mutex_unlock(&sh->robust);

    /* A shared rwlock the child writes while we wait to read; a shared
     * semaphore it posts. */
    fflush(stdout);
    if ((pid = fork()) == 0) {
        pthread_rwlock_wrlock(&sh->rw);
        atomic_store(&sh->child_ready, 1);
        nap_ms(50);
        pthread_rwlock_unlock(&sh->rw);
        for (int i = 0; i < 3; i++) {
            nap_ms(10);
            sem_post(&sh->posted);
        }
        _exit(0);
    }
    while (!atomic_load(&sh->child_ready))
        nap_ms(1);
    printf("tryrdlock while the child writes: %s\n",
           ename(pthread_rwlock_tryrdlock(&sh->rw)));
    printf("rdlock: %s\n", ename(pthread_rwlock_rdlock(&sh->rw)));
    pthread_rwlock_unlock(&sh->rw);
    for (int i = 0; i < 3; i++)
        printf("sem_wait %d: %d\n", i + 1, sem_wait(&sh->posted));
    printf("child exited %d\n", wait_child(pid));
    fprintf(stderr, "os_threads_max=%d\n", os_threads());
    return 0;
}
