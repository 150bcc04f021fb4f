/*
 * shim/offload.c: a blocking call run on libuv's thread pool while its
 * green thread waits.
 *
 * The green thread queues the call on its worker and parks; the scheduler,
 * the only one allowed to call libuv (invariant 2), hands it to
 * uv_queue_work before it polls the loop, and the loop's completion
 * callback wakes the thread. libuv's pool is a few OS threads (4 unless
 * UV_THREADPOOL_SIZE says otherwise), made on first use.
 */
#include "shim/worker.h"

struct g_offload {
    uv_work_t work;
    void (*fn)(void *);
    void *arg;
    struct g_waiter w;
    struct g_offload *next; /* on worker->offloads */
};

static void run(uv_work_t *work)
{
    struct g_offload *o = work->data;

    o->fn(o->arg);
}

static void done(uv_work_t *work, int status)
{
    struct g_offload *o = work->data;

    g_wake(&o->w, status); /* 0; the call cannot be canceled */
}

void g_offload_flush(struct g_worker *wk)
{
    struct g_offload *o = wk->offloads;

    wk->offloads = NULL;
    while (o) {
        struct g_offload *next = o->next;
        int rc;

        o->work.data = o;
        g_tls_creating_internal = true; /* the pool starts on first use */
        rc = uv_queue_work(&wk->loop, &o->work, run, done);
        g_tls_creating_internal = false;
        if (rc != 0) {
            run(&o->work); /* cannot happen with a valid loop; still run */
            done(&o->work, 0);
        }
        o = next;
    }
}

void g_run_blocking(void (*fn)(void *), void *arg, enum g_park_reason reason)
{
    struct g_thread *self = g_self();
    struct g_offload o = {.fn = fn, .arg = arg};

    g_waiter_init(&o.w, false);
    o.w.reason = (unsigned char)reason;
    o.next = self->worker->offloads;
    self->worker->offloads = &o;
    /* Poll the loop at the next switch, so the call starts now. */
    self->worker->batch = 0;
    g_wait(&o.w, G_NEVER);
}
