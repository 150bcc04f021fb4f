/*
 * dns_netns: runs one program of the name resolution tests (issue 6) in a
 * private world of its own: new mount, network and UTS namespaces, where
 * test files are bind-mounted over /etc/resolv.conf, /etc/hosts and
 * /etc/nsswitch.conf, where only the loopback interface exists (with the
 * extra addresses asked for), and where tests/dns/fakedns answers on
 * 127.0.0.1 and ::1 port 53. The machine's own configuration is never
 * touched: the mounts and the interface vanish with the namespaces when
 * the last process in them exits.
 *
 *     dns_netns [--etc DIR]... [--zone FILE] [--fakedns PATH]
 *               [--delay-ms N] [--addr ADDR/LEN]... [--hostname NAME]
 *               [--probe] -- PROG [ARG]...
 *
 * --etc binds every file of DIR over the file of the same name in /etc,
 * which must exist (a later DIR binds over an earlier one). --zone starts
 * fakedns (from --fakedns) with that zone and --delay-ms, and waits for
 * its "ready". --hostname names the machine in the new UTS namespace (on
 * which getnameinfo's NI_NOFQDN depends). --probe only checks that all
 * this can be set up, and exits. By hand, from the build directory:
 *
 *     tests/dns_netns --etc ../tests/dns/etc --zone ../tests/dns/zone \
 *         --fakedns tests/fakedns -- /bin/sh
 *
 * Without arguments, dns_netns reads them, one a line, from the file named
 * as it was invoked plus ".args": tests/diff_dns.c symlinks it under each
 * case's name, since diff_run starts programs without arguments.
 *
 * It is linked statically, so that LD_PRELOAD, which the runner sets for
 * green runs, has no effect on it; it passes LD_PRELOAD and GREEN_* on to
 * PROG only, not to fakedns. Its exit status is PROG's (a signal that
 * killed PROG kills it too), 77 if the namespaces or mounts are not
 * allowed here (the runner then skips), or 125 if something else failed.
 * PROG and fakedns die with it if it is killed.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/ipv6.h>

extern char **environ;

enum {
    EXIT_SKIP = 77,    /* automake's and meson's "skipped" */
    EXIT_FAILED = 125, /* set-up failed; not PROG's */
    MAX_ARGS = 64,
    READY_MS = 5000,  /* fakedns gets this long to print "ready" */
    TERM_MS = 2000,   /* and this long to exit on SIGTERM */
    SETTLE_MS = 3000, /* IPv6 addresses get this long to be usable */
};

struct options {
    const char *etc[8];
    int netc;
    const char *addr[8];
    int naddr;
    const char *zone;
    const char *fakedns;
    const char *delay_ms;
    const char *hostname;
    bool probe;
    char **prog; /* PROG and its arguments, NULL-terminated */
};

static void fail(int code, const char *what, const char *detail)
{
    fprintf(stderr, "dns_netns: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    exit(code);
}

static void usage(void)
{
    fail(EXIT_FAILED,
         "usage: dns_netns [--etc DIR]... [--zone FILE] [--fakedns PATH] "
         "[--delay-ms N] [--addr ADDR/LEN]... [--hostname NAME] [--probe] "
         "-- PROG [ARG]...",
         NULL);
}

/* --- arguments ------------------------------------------------------------ */

/* Reads "<argv0>.args" into a NULL-terminated argv (argv0 first). */
static char **args_from_file(const char *argv0)
{
    static char *args[MAX_ARGS + 2];
    char path[PATH_MAX], line[PATH_MAX];
    int n = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s.args", argv0);
    f = fopen(path, "r");
    if (!f)
        fail(EXIT_FAILED, path, strerror(errno));
    args[n++] = (char *)argv0;
    while (n < MAX_ARGS + 1 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] && !(args[n++] = strdup(line)))
            fail(EXIT_FAILED, "strdup", strerror(errno));
    }
    fclose(f);
    args[n] = NULL;
    return args;
}

static void parse(char **argv, struct options *o)
{
    int i;

    for (i = 1; argv[i] && strcmp(argv[i], "--") != 0; i++) {
        const char *opt = argv[i], *val = argv[i + 1];

        if (strcmp(opt, "--probe") == 0) {
            o->probe = true;
            continue;
        }
        if (!val)
            usage();
        i++;
        if (strcmp(opt, "--etc") == 0 && o->netc < 8)
            o->etc[o->netc++] = val;
        else if (strcmp(opt, "--addr") == 0 && o->naddr < 8)
            o->addr[o->naddr++] = val;
        else if (strcmp(opt, "--zone") == 0)
            o->zone = val;
        else if (strcmp(opt, "--fakedns") == 0)
            o->fakedns = val;
        else if (strcmp(opt, "--delay-ms") == 0)
            o->delay_ms = val;
        else if (strcmp(opt, "--hostname") == 0)
            o->hostname = val;
        else
            usage();
    }
    o->prog = argv[i] ? &argv[i + 1] : NULL;
    if (!o->probe && (!o->prog || !o->prog[0]))
        usage();
    if (o->zone && !o->fakedns)
        usage();
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the namespaces --------------------------------------------------------
 */

/* Binds each file of dir over /etc/<its name>. */
static void bind_etc(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        fail(EXIT_FAILED, dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        char src[PATH_MAX], dst[PATH_MAX];
        struct stat st;

        snprintf(src, sizeof(src), "%s/%s", dir, e->d_name);
        if (stat(src, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        snprintf(dst, sizeof(dst), "/etc/%s", e->d_name);
        if (access(dst, F_OK) < 0)
            fail(EXIT_SKIP, dst, "missing, so there is nothing to bind over");
        if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
            fail(EXIT_SKIP, "bind mount over /etc", strerror(errno));
    }
    closedir(d);
}

/* Brings lo up, as "ip link set lo up" does; a new network namespace has
 * it down, without even 127.0.0.1. */
static void loopback_up(void)
{
    struct ifreq ifr = {0};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        fail(EXIT_FAILED, "socket", strerror(errno));
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        fail(EXIT_FAILED, "SIOCGIFFLAGS lo", strerror(errno));
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        fail(EXIT_FAILED, "SIOCSIFFLAGS lo", strerror(errno));
    close(fd);
}

/* Adds spec, "ADDR/LEN", to lo: an IPv4 one as the alias lo:<n>, an IPv6
 * one directly (see ipv6_settled). */
static void add_address(const char *spec, int n)
{
    char addr[INET6_ADDRSTRLEN];
    const char *slash = strchr(spec, '/');
    int len = slash ? atoi(slash + 1) : -1;
    size_t alen = slash ? (size_t)(slash - spec) : 0;
    int fd;

    if (!slash || alen >= sizeof(addr))
        fail(EXIT_FAILED, "--addr wants ADDR/LEN", spec);
    memcpy(addr, spec, alen);
    addr[alen] = '\0';
    if (strchr(addr, ':')) {
        struct in6_ifreq req = {.ifr6_prefixlen = (unsigned)len,
                                .ifr6_ifindex = (int)if_nametoindex("lo")};

        if (inet_pton(AF_INET6, addr, &req.ifr6_addr) != 1)
            fail(EXIT_FAILED, "bad IPv6 address", spec);
        fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || ioctl(fd, SIOCSIFADDR, &req) < 0)
            fail(EXIT_FAILED, spec, strerror(errno));
    } else {
        struct ifreq ifr = {0};
        struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo:%d", n);
        sin->sin_family = AF_INET;
        if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1 || len < 0 ||
            len > 32)
            fail(EXIT_FAILED, "bad IPv4 address", spec);
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || ioctl(fd, SIOCSIFADDR, &ifr) < 0)
            fail(EXIT_FAILED, spec, strerror(errno));
        sin->sin_addr.s_addr = len ? htonl(~0u << (32 - len)) : 0;
        if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
            fail(EXIT_FAILED, spec, strerror(errno));
    }
    close(fd);
}

/* Turns duplicate address detection off for lo in this network namespace,
 * so that an IPv6 address added next is not tentative for a while. */
static void ipv6_dad_off(void)
{
    int fd = open("/proc/sys/net/ipv6/conf/lo/accept_dad", O_WRONLY);

    if (fd < 0)
        return; /* no IPv6: add_address will say so */
    if (write(fd, "0\n", 2) != 2)
        fprintf(stderr, "dns_netns: accept_dad: %s\n", strerror(errno));
    close(fd);
}

/* Waits until no IPv6 address is tentative, that is until the kernel lets
 * each be a source address: glibc's sorting of getaddrinfo's answers
 * depends on it. With ipv6_dad_off, this is at once. */
static void ipv6_settled(void)
{
    int64_t deadline = now_ms() + SETTLE_MS;
    struct timespec nap = {0, 1000000};

    for (;;) {
        char line[256];
        unsigned flags;
        bool tentative = false;
        FILE *f = fopen("/proc/net/if_inet6", "r");

        if (!f)
            return; /* no IPv6 at all */
        /* "addr ifindex prefixlen scope flags name", the numbers in hex. */
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "%*s %*x %*x %*x %x", &flags) == 1 &&
                (flags & IFA_F_TENTATIVE))
                tentative = true;
        fclose(f);
        if (!tentative)
            return;
        if (now_ms() > deadline)
            fail(EXIT_FAILED, "an IPv6 address stays tentative", NULL);
        nanosleep(&nap, NULL);
    }
}

static void enter_namespaces(const struct options *o)
{
    if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS) < 0)
        fail(EXIT_SKIP,
             "unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS) is not "
             "allowed here",
             strerror(errno));
    /* Without this, on a system whose / is a shared mount, the binds
     * below would propagate back to the machine's own /etc. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail(EXIT_SKIP, "cannot make / private in the new mount namespace",
             strerror(errno));
    for (int i = 0; i < o->netc; i++)
        bind_etc(o->etc[i]);
    if (o->hostname && sethostname(o->hostname, strlen(o->hostname)) < 0)
        fail(EXIT_FAILED, "sethostname", strerror(errno));
    loopback_up();
    if (o->naddr > 0)
        ipv6_dad_off();
    for (int i = 0; i < o->naddr; i++)
        add_address(o->addr[i], i + 1);
    ipv6_settled();
}

/* --- children ---------------------------------------------------------------
 */

/* In a child: dies with the runner, even if it was already gone. */
static void die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(EXIT_FAILED);
}

/* Our environment without LD_PRELOAD and GREEN_*, for fakedns. */
static char **plain_env(void)
{
    size_t n = 0, k = 0;
    char **env;

    for (char **e = environ; *e; e++)
        n++;
    env = calloc(n + 1, sizeof(*env));
    if (!env)
        fail(EXIT_FAILED, "calloc", strerror(errno));
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) != 0 &&
            strncmp(*e, "GREEN_", 6) != 0)
            env[k++] = *e;
    return env;
}

/* Starts fakedns and waits for its "ready"; returns its pid. *ready_fd
 * gets our end of its stdout, kept open so that it never sees EPIPE. */
static pid_t start_fakedns(const struct options *o, int *ready_fd)
{
    char *argv[] = {(char *)o->fakedns,
                    "--zone",
                    (char *)o->zone,
                    "--delay-ms",
                    (char *)(o->delay_ms ? o->delay_ms : "0"),
                    NULL};
    char buf[64];
    size_t got = 0;
    int64_t deadline = now_ms() + READY_MS;
    pid_t self = getpid(), pid;
    int out[2];

    if (pipe2(out, O_CLOEXEC) < 0)
        fail(EXIT_FAILED, "pipe", strerror(errno));
    pid = fork();
    if (pid < 0)
        fail(EXIT_FAILED, "fork", strerror(errno));
    if (pid == 0) {
        die_with_parent(self);
        if (dup2(out[1], 1) < 0)
            _exit(EXIT_FAILED);
        execve(o->fakedns, argv, plain_env());
        fprintf(stderr, "dns_netns: %s: %s\n", o->fakedns, strerror(errno));
        _exit(EXIT_FAILED);
    }
    close(out[1]);
    while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
        struct pollfd p = {.fd = out[0], .events = POLLIN};
        int64_t left = deadline - now_ms();
        ssize_t n;

        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            fail(EXIT_FAILED, "fakedns did not say ready", NULL);
        n = read(out[0], buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            fail(EXIT_FAILED, "fakedns exited before it was ready", NULL);
        got += (size_t)n;
    }
    buf[got] = '\0';
    if (strcmp(buf, "ready\n") != 0)
        fail(EXIT_FAILED, "fakedns said something else than ready", buf);
    *ready_fd = out[0];
    return pid;
}

/* Sends SIGTERM to fakedns and reaps it, with SIGKILL if it lingers. */
static void stop_fakedns(pid_t pid)
{
    int64_t deadline = now_ms() + TERM_MS;
    struct timespec nap = {0, 1000000};

    kill(pid, SIGTERM);
    while (waitpid(pid, NULL, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fprintf(stderr, "dns_netns: fakedns ignored SIGTERM\n");
            return;
        }
        nanosleep(&nap, NULL);
    }
}

/* Runs PROG with our environment (LD_PRELOAD included) and returns its
 * wait status. */
static int run(char **prog)
{
    pid_t self = getpid(), pid = fork();
    int status;

    if (pid < 0)
        fail(EXIT_FAILED, "fork", strerror(errno));
    if (pid == 0) {
        die_with_parent(self);
        execve(prog[0], prog, environ);
        fprintf(stderr, "dns_netns: %s: %s\n", prog[0], strerror(errno));
        _exit(EXIT_FAILED);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            fail(EXIT_FAILED, "waitpid", strerror(errno));
    return status;
}

/* Ends as status says PROG ended. */
static void exit_like(int status)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        struct rlimit no_core = {0, 0};
        sigset_t set;

        setrlimit(RLIMIT_CORE, &no_core);
        signal(sig, SIG_DFL);
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        raise(sig);
        exit(128 + sig);
    }
    exit(WEXITSTATUS(status));
}

int main(int argc, char *argv[])
{
    struct options o = {0};
    pid_t dns = -1;
    int ready_fd = -1, status;

    parse(argc > 1 ? argv : args_from_file(argv[0]), &o);
    enter_namespaces(&o);
    if (o.probe)
        return 0;
    if (o.zone)
        dns = start_fakedns(&o, &ready_fd);
    status = run(o.prog);
    if (dns > 0) {
        stop_fakedns(dns);
        close(ready_fd);
    }
    exit_like(status);
}
