/*
 * shim/stats.c: the GREEN_STATS report, written at exit.
 *
 * One "name value" line per field, after a title line; the fields, in
 * order (docs/libgreen.7 says the same to users):
 *
 *   threads_created      green threads made, main() included
 *   threads_peak         the most green threads alive at one time
 *   switches             context switches between green threads and the
 *                        schedulers
 *   parks_<reason>       parks of green threads by what they waited for:
 *                        fd, timer, mutex (rwlocks and spinlocks too),
 *                        cond, sem, join, dns, other (barriers, once)
 *   wakeups_cross_worker wake-ups of a green thread by another worker or
 *                        by an OS thread that is not its own worker
 *   loopN_iterations     polls of worker N's libuv loop
 *   loopN_longest_us     the longest stretch worker N's loop went unpolled
 *                        while green threads ran (a thread that computes
 *                        or blocks in a call libgreen cannot park freezes
 *                        its worker for that long)
 *   loopN_longest_call   the intercepted call made last on worker N before
 *                        that stretch ended ("-" if none)
 *
 * The counters are bumped by their own worker without locks and read here
 * while other workers may still run: each value is exact for its worker at
 * some moment during the report.
 */
#include "shim/worker.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const reason_names[G_PARK_REASONS] = {
    [G_PARK_OTHER] = "other", [G_PARK_FD] = "fd",     [G_PARK_TIMER] = "timer",
    [G_PARK_MUTEX] = "mutex", [G_PARK_COND] = "cond", [G_PARK_SEM] = "sem",
    [G_PARK_JOIN] = "join",   [G_PARK_DNS] = "dns",
};

/* Print order of the reasons: as the documentation lists them. */
static const enum g_park_reason reason_order[G_PARK_REASONS] = {
    G_PARK_FD,   G_PARK_TIMER, G_PARK_MUTEX, G_PARK_COND,
    G_PARK_SEM,  G_PARK_JOIN,  G_PARK_DNS,   G_PARK_OTHER,
};

static uint64_t sum(size_t offset)
{
    uint64_t total = 0;

    for (int i = 0; i < g_nworkers; i++)
        total += atomic_load_explicit(
            (_Atomic uint64_t *)((char *)&g_workers[i].stats + offset),
            memory_order_relaxed);
    return total;
}

#define SUM(field) sum(offsetof(struct g_worker_stats, field))

static void write_report(FILE *out)
{
    fprintf(out, "libgreen stats: pid %ld, %d loops\n", (long)getpid(),
            g_nworkers);
    fprintf(out, "threads_created %llu\n", (unsigned long long)SUM(created));
    fprintf(out, "threads_peak %ld\n", g_thread_peak());
    fprintf(out, "switches %llu\n", (unsigned long long)SUM(switches));
    for (int r = 0; r < G_PARK_REASONS; r++)
        fprintf(out, "parks_%s %llu\n", reason_names[reason_order[r]],
                (unsigned long long)SUM(parks[reason_order[r]]));
    fprintf(out, "wakeups_cross_worker %llu\n",
            (unsigned long long)SUM(cross_wakeups));
    for (int i = 0; i < g_nworkers; i++) {
        struct g_worker_stats *s = &g_workers[i].stats;
        const char *call =
            atomic_load_explicit(&s->longest_call, memory_order_relaxed);

        fprintf(out, "loop%d_iterations %llu\n", i,
                (unsigned long long)atomic_load_explicit(
                    &s->iterations, memory_order_relaxed));
        fprintf(out, "loop%d_longest_us %lld\n", i,
                (long long)atomic_load_explicit(&s->longest_ns,
                                                memory_order_relaxed) /
                    1000);
        fprintf(out, "loop%d_longest_call %s\n", i, call ? call : "-");
    }
}

void g_stats_report(void)
{
    const char *path = g_config.stats;
    FILE *out = stderr;

    if (!path || !g_workers)
        return;
    if (*path && !(out = fopen(path, "w"))) {
        fprintf(stderr, "libgreen: GREEN_STATS: cannot write %s: %m\n", path);
        return;
    }
    write_report(out);
    if (out != stderr)
        fclose(out);
    else
        fflush(out);
}
