/*
 * measure: runs one program and reports what it cost, for scripts/demo.
 *
 *   measure [-o FILE] [-t SECONDS] [-i MICROSECONDS] [-e NAME=VALUE]... \
 *           -- PROGRAM [ARG]...
 *
 * Forks, sets each -e variable in the child only (so LD_PRELOAD reaches the
 * measured program and never this one), and execs PROGRAM with the child's
 * stdout and stderr left as they are. While the child runs, this polls
 * /proc/PID/status every -i microseconds (default 1000) for the highest
 * "Threads:" count. On exit it reports, as key=value lines to FILE (default
 * stderr):
 *
 *   wall_ns       fork to reaped, CLOCK_MONOTONIC
 *   peak_threads  highest Threads: seen while polling
 *   maxrss_kb     the child's peak resident set, from wait4's rusage (the
 *                 number GNU time prints as %M)
 *   exit          the exit status, or 128+signal if a signal ended it
 *   timed_out     1 if -t passed first and the child was killed
 *
 * Exits 0 if the report was written, whatever the child did; 2 on bad usage
 * or if the child could not be started. It only ever signals its own child.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENV 32

struct options {
    const char *out;
    double timeout_s;
    long interval_us;
    char *env[MAX_ENV];
    int nenv;
    char **argv;
};

static long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void usage(void)
{
    fprintf(stderr, "usage: measure [-o FILE] [-t SECONDS] [-i USEC] "
                    "[-e NAME=VALUE]... -- PROGRAM [ARG]...\n");
    exit(2);
}

static void parse(int argc, char **argv, struct options *o)
{
    int c;

    o->out = NULL;
    o->timeout_s = 0;
    o->interval_us = 1000;
    o->nenv = 0;
    while ((c = getopt(argc, argv, "+o:t:i:e:")) != -1) {
        switch (c) {
        case 'o':
            o->out = optarg;
            break;
        case 't':
            o->timeout_s = strtod(optarg, NULL);
            break;
        case 'i':
            o->interval_us = strtol(optarg, NULL, 10);
            if (o->interval_us < 1)
                usage();
            break;
        case 'e':
            if (o->nenv == MAX_ENV || !strchr(optarg, '='))
                usage();
            o->env[o->nenv++] = optarg;
            break;
        default:
            usage();
        }
    }
    if (optind >= argc)
        usage();
    o->argv = argv + optind;
}

/*
 * Returns the Threads: count of pid, or -1 if its status cannot be read (it
 * has just exited, or is a zombie whose count no longer means anything).
 */
static int threads_of(pid_t pid)
{
    char path[64], buf[4096];
    const char *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    p = strstr(buf, "\nThreads:");
    if (!p)
        return -1;
    return atoi(p + strlen("\nThreads:"));
}

static pid_t start(const struct options *o)
{
    pid_t pid = fork();

    if (pid < 0) {
        perror("measure: fork");
        exit(2);
    }
    if (pid > 0)
        return pid;
    for (int i = 0; i < o->nenv; i++)
        putenv(o->env[i]);
    execvp(o->argv[0], o->argv);
    fprintf(stderr, "measure: %s: %s\n", o->argv[0], strerror(errno));
    _exit(127);
}

int main(int argc, char **argv)
{
    struct options o;
    struct rusage ru;
    struct timespec nap;
    long long t0, t1;
    int status, peak = 0, timed_out = 0, code;
    pid_t pid, w;
    FILE *out;

    parse(argc, argv, &o);
    nap.tv_sec = o.interval_us / 1000000;
    nap.tv_nsec = (o.interval_us % 1000000) * 1000;

    t0 = now_ns();
    pid = start(&o);
    for (;;) {
        w = wait4(pid, &status, WNOHANG, &ru);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            perror("measure: wait4");
            return 2;
        }
        int n = threads_of(pid);
        if (n > peak)
            peak = n;
        if (!timed_out && o.timeout_s > 0 &&
            now_ns() - t0 > (long long)(o.timeout_s * 1e9)) {
            kill(pid, SIGKILL);
            timed_out = 1;
        }
        nanosleep(&nap, NULL);
    }
    t1 = now_ns();

    if (WIFEXITED(status))
        code = WEXITSTATUS(status);
    else
        code = 128 + WTERMSIG(status);
    out = o.out ? fopen(o.out, "w") : stderr;
    if (!out) {
        perror(o.out);
        return 2;
    }
    fprintf(out, "wall_ns=%lld\npeak_threads=%d\nmaxrss_kb=%ld\n", t1 - t0,
            peak, ru.ru_maxrss);
    fprintf(out, "exit=%d\ntimed_out=%d\n", code, timed_out);
    if (out != stderr && fclose(out) != 0) {
        perror(o.out);
        return 2;
    }
    return 0;
}
