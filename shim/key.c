/*
 * shim/key.c: thread-specific data (pthread_key_*), per green thread.
 *
 * glibc keeps these values per OS thread, which all green threads of a
 * worker share, so keys are ours for every thread: one global table of
 * keys, each with a sequence number (odd while in use) and a destructor,
 * and per thread up to KEY_BLOCKS blocks of values, allocated on first use.
 * A value is valid only while its recorded sequence matches its key's, so
 * a deleted and re-created key never shows a stale value. Green threads
 * keep their blocks in struct g_thread; other threads in a thread-local.
 * Any thread.
 */
#include "shim/sync.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#define KEYS PTHREAD_KEYS_MAX /* 1024 */
#define BLOCK 32
#define KEY_BLOCKS (KEYS / BLOCK)

struct key {
    _Atomic uintptr_t seq; /* odd: in use */
    void (*_Atomic destructor)(void *);
};

struct slot {
    uintptr_t seq;
    void *value;
};

struct g_tsd {
    struct slot *blocks[KEY_BLOCKS];
};

static struct key keys[KEYS];
static __thread struct g_tsd *os_tsd;

static struct g_tsd **tsd_home(void)
{
    struct g_thread *self = g_self();

    return self ? &self->tsd : &os_tsd;
}

int g_key_create(unsigned *key, void (*destructor)(void *))
{
    for (unsigned i = 0; i < KEYS; i++) {
        uintptr_t seq =
            atomic_load_explicit(&keys[i].seq, memory_order_relaxed);

        if (seq & 1)
            continue;
        atomic_store_explicit(&keys[i].destructor, destructor,
                              memory_order_relaxed);
        if (atomic_compare_exchange_strong_explicit(&keys[i].seq, &seq, seq + 1,
                                                    memory_order_release,
                                                    memory_order_relaxed)) {
            *key = i;
            return 0;
        }
    }
    return -EAGAIN;
}

int g_key_delete(unsigned key)
{
    uintptr_t seq;

    if (key >= KEYS)
        return -EINVAL;
    seq = atomic_load_explicit(&keys[key].seq, memory_order_relaxed);
    if (!(seq & 1) ||
        !atomic_compare_exchange_strong(&keys[key].seq, &seq, seq + 1))
        return -EINVAL;
    return 0;
}

void *g_key_get(unsigned key)
{
    struct g_tsd *tsd = *tsd_home();
    struct slot *s;

    if (key >= KEYS || !tsd || !tsd->blocks[key / BLOCK])
        return NULL;
    s = &tsd->blocks[key / BLOCK][key % BLOCK];
    return s->seq == atomic_load_explicit(&keys[key].seq, memory_order_relaxed)
               ? s->value
               : NULL;
}

int g_key_set(unsigned key, const void *value)
{
    struct g_tsd **home = tsd_home();
    uintptr_t seq;
    struct slot *block;

    if (key >= KEYS)
        return -EINVAL;
    seq = atomic_load_explicit(&keys[key].seq, memory_order_relaxed);
    if (!(seq & 1))
        return -EINVAL;
    if (!*home && !(*home = calloc(1, sizeof(**home))))
        return -ENOMEM;
    block = (*home)->blocks[key / BLOCK];
    if (!block &&
        !(block = (*home)->blocks[key / BLOCK] = calloc(BLOCK, sizeof(*block))))
        return -ENOMEM;
    block[key % BLOCK].seq = seq;
    block[key % BLOCK].value = (void *)value;
    return 0;
}

/* One round over every value: clear it, then call its destructor. */
static bool destructor_round(struct g_tsd *tsd)
{
    bool called = false;

    for (unsigned b = 0; b < KEY_BLOCKS; b++) {
        if (!tsd->blocks[b])
            continue;
        for (unsigned i = 0; i < BLOCK; i++) {
            struct slot *s = &tsd->blocks[b][i];
            struct key *k = &keys[b * BLOCK + i];
            void (*destructor)(void *);
            void *value = s->value;

            if (!value || s->seq != atomic_load(&k->seq))
                continue;
            s->value = NULL;
            destructor = atomic_load(&k->destructor);
            if (destructor) {
                destructor(value);
                called = true;
            }
        }
    }
    return called;
}

void g_key_run_destructors(void)
{
    struct g_tsd **home = tsd_home();
    struct g_tsd *tsd = *home;

    if (!tsd)
        return;
    for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++)
        if (!destructor_round(tsd))
            break;
    for (unsigned b = 0; b < KEY_BLOCKS; b++)
        free(tsd->blocks[b]);
    free(tsd);
    *home = NULL;
}
