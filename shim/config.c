/*
 * shim/config.c: the GREEN_* environment variables.
 *
 * Read once, before main() starts. A bad value stops the program with one
 * line on stderr naming the variable, its value and what is allowed, and
 * exit status 2, so a typo never runs silently with defaults.
 */
#include "shim/shim.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define LOOPS_MAX 1024
#define STACK_MIN (16UL * 1024)
#define STACK_MAX (1UL << 30)
#define STACK_FALLBACK (8UL << 20) /* when RLIMIT_STACK is unlimited */
#define MAX_THREADS_MAX 1000000000L

struct g_config g_config;

static _Noreturn void bad_value(const char *name, const char *value,
                                const char *allowed)
{
    fprintf(stderr, "libgreen: %s=\"%s\" is not valid: %s\n", name, value,
            allowed);
    _exit(2);
}

/* A whole decimal number in [min, max], or -1. */
static long parse_count(const char *s, long min, long max)
{
    char *end;
    long n;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    n = strtol(s, &end, 10);
    if (errno || *end || n < min || n > max)
        return -1;
    return n;
}

/* A size: digits with an optional K, M or G (either case, powers of 1024),
 * in [min, max]; 0 when not valid. */
static size_t parse_size(const char *s, size_t min, size_t max)
{
    unsigned long long n, unit = 1;
    char *end;

    if (!isdigit((unsigned char)*s))
        return 0;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno)
        return 0;
    switch (tolower((unsigned char)*end)) {
    case 'k':
        unit = 1ULL << 10;
        end++;
        break;
    case 'm':
        unit = 1ULL << 20;
        end++;
        break;
    case 'g':
        unit = 1ULL << 30;
        end++;
        break;
    }
    if (*end || n > max / unit || n * unit < min)
        return 0;
    return (size_t)(n * unit);
}

static int affinity_cpus(void)
{
    cpu_set_t set;
    int n;

    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 1;
    n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

static size_t rlimit_stack(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return STACK_FALLBACK;
    return rl.rlim_cur;
}

size_t g_stack_guard(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

size_t g_main_stack_size(void)
{
    size_t native = rlimit_stack();

    return native > g_config.stack_size ? native : g_config.stack_size;
}

void g_config_load(void)
{
    const char *v;

    g_config.loops = affinity_cpus();
    if (g_config.loops > LOOPS_MAX)
        g_config.loops = LOOPS_MAX;
    if ((v = getenv("GREEN_LOOPS"))) {
        long n = parse_count(v, 1, LOOPS_MAX);

        if (n < 0)
            bad_value("GREEN_LOOPS", v,
                      "expected a whole number of worker threads from 1 to "
                      "1024");
        g_config.loops = (int)n;
    }

    g_config.stack_size = rlimit_stack();
    if (g_config.stack_size < STACK_MIN)
        g_config.stack_size = STACK_MIN;
    if (g_config.stack_size > STACK_MAX)
        g_config.stack_size = STACK_MAX;
    if ((v = getenv("GREEN_STACK_SIZE"))) {
        size_t n = parse_size(v, STACK_MIN, STACK_MAX);

        if (!n)
            bad_value("GREEN_STACK_SIZE", v,
                      "expected a size from 16K to 1G, in bytes or with a "
                      "K, M or G suffix (e.g. 256K, 8M)");
        g_config.stack_size = n;
    }

    g_config.max_threads = 0;
    if ((v = getenv("GREEN_MAX_THREADS"))) {
        long n = parse_count(v, 1, MAX_THREADS_MAX);

        if (n < 0)
            bad_value("GREEN_MAX_THREADS", v,
                      "expected a whole number of green threads from 1 to "
                      "1000000000");
        g_config.max_threads = n;
    }

    /* GREEN_STATS: 1 for stderr, 0 or unset for none, else a file path. */
    g_config.stats = NULL;
    if ((v = getenv("GREEN_STATS")) && strcmp(v, "0") != 0) {
        if (!*v)
            bad_value("GREEN_STATS", v,
                      "expected 1 (report on stderr at exit), 0 (none) or "
                      "the path of a file to write the report to");
        g_config.stats = strcmp(v, "1") == 0 ? "" : v;
    }
}
