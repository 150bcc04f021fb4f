/*
 * shim/dns.c: name lookups with c-ares, driven by the waiting green thread.
 *
 * Each lookup opens its own c-ares channel (which reads resolv.conf, the
 * hosts file and nsswitch's order of files and dns, as glibc does at
 * every lookup unless nscd runs), starts the query, and then loops on the
 * calling green thread: process what the channel's sockets have, else park
 * on them (shim/fdwait.c) until data or the channel's next timeout. The
 * worker runs other green threads meanwhile, and no OS thread is made:
 * hundreds of lookups at once cost hundreds of sockets, not threads.
 *
 * c-ares's own socket calls go through libgreen's hooks like any other;
 * its sockets are non-blocking, so those calls only ever try.
 */
#include "shim/dns.h"
#include "shim/fd.h"
#include "shim/shim.h"

#include <ares.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* --- which lookups are ours --------------------------------------------- */

/* Whether line is nsswitch's hosts line listing only files and dns, with
 * no [STATUS=action] (which c-ares would not honour). */
static bool only_files_dns(char *line)
{
    char *save, *word;

    line += strlen("hosts:");
    for (word = strtok_r(line, " \t\n", &save); word;
         word = strtok_r(NULL, " \t\n", &save)) {
        if (strcmp(word, "files") != 0 && strcmp(word, "dns") != 0)
            return false;
    }
    return true;
}

static bool nsswitch_is_ours(void)
{
    FILE *f = fopen("/etc/nsswitch.conf", "re");
    char line[512];
    bool ours = false; /* no file or no hosts line: glibc's own defaults */

    if (!f)
        return false;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "hosts:", 6) == 0) {
            ours = only_files_dns(line);
            break;
        }
    }
    fclose(f);
    return ours;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool serves;

static void init(void)
{
    serves = ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS &&
             nsswitch_is_ours();
}

bool g_dns_serves(void)
{
    pthread_once(&once, init);
    return serves;
}

/* --- driving a channel --------------------------------------------------- */

/* Sockets c-ares waits on, as a poll list; returns how many. */
static int channel_fds(ares_channel ch, struct pollfd *fds)
{
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
    int n = 0;

    for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
        short events = (ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0) |
                       (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0);

        if (events)
            fds[n++] = (struct pollfd){.fd = socks[i], .events = events};
    }
    return n;
}

/* Hand c-ares what its sockets have now; false if they have nothing. */
static bool process_ready(ares_channel ch, struct pollfd *fds, int n)
{
    struct timespec zero = {0, 0};

    /* The raw call: libc's ppoll is our own hook. */
    if (n == 0 || syscall(SYS_ppoll, fds, n, &zero, NULL, 0) <= 0)
        return false;
    for (int i = 0; i < n; i++) {
        short r = fds[i].revents;

        if (r)
            ares_process_fd(
                ch, r & (POLLIN | POLLERR | POLLHUP) ? fds[i].fd : ARES_SOCKET_BAD,
                r & POLLOUT ? fds[i].fd : ARES_SOCKET_BAD);
    }
    return true;
}

/*
 * May park. Run ch until *done: what is ready first (the epoll is
 * edge-triggered, so a wait must follow a look that found nothing), then a
 * wait until a socket has more or the next retry is due. A cancel of the
 * thread ends the lookup and the thread.
 */
static void drive(ares_channel ch, const bool *done)
{
    while (!*done) {
        struct pollfd fds[ARES_GETSOCK_MAXNUM];
        struct timeval tv, *tvp;
        int n = channel_fds(ch, fds), rc;

        if (process_ready(ch, fds, n))
            continue;
        tvp = ares_timeout(ch, NULL, &tv);
        if (!tvp && n == 0) {
            ares_cancel(ch); /* nothing left to wait for: cannot happen */
            continue;
        }
        rc = g_wait_fds(fds, n,
                        tvp ? g_now() + (int64_t)tv.tv_sec * 1000000000 +
                                  (int64_t)tv.tv_usec * 1000
                            : G_NEVER);
        if (rc == -ETIMEDOUT)
            ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        if (rc == -ECANCELED) {
            ares_destroy(ch); /* ends the query: its callback runs */
            g_cancel_act(g_self());
        }
    }
}

static int open_channel(ares_channel *ch)
{
    if (!g_dns_serves())
        return EAI_SYSTEM;
    switch (ares_init(ch)) {
    case ARES_SUCCESS:
        return 0;
    case ARES_ENOMEM:
        return EAI_MEMORY;
    default:
        return EAI_SYSTEM;
    }
}

/* getaddrinfo's error for a c-ares status; *herr gets gethostbyname's. */
static int eai_of(int status, int *herr)
{
    switch (status) {
    case ARES_SUCCESS:
        *herr = 0;
        return 0;
    case ARES_ENOTFOUND:
    case ARES_EBADNAME:
        *herr = HOST_NOT_FOUND;
        return EAI_NONAME;
    case ARES_ENODATA:
        *herr = NO_DATA;
        return EAI_NODATA;
    case ARES_ENOMEM:
        *herr = NETDB_INTERNAL;
        return EAI_MEMORY;
    case ARES_EBADFAMILY:
        *herr = NETDB_INTERNAL;
        return EAI_FAMILY;
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
        *herr = TRY_AGAIN;
        return EAI_AGAIN;
    default:
        *herr = NO_RECOVERY;
        return EAI_FAIL;
    }
}

/* --- AI_ADDRCONFIG ------------------------------------------------------- */

/*
 * Narrow family as glibc does for AI_ADDRCONFIG: from the families of the
 * addresses configured on this host, not counting 127.0.0.1 and ::1.
 * EAI_NONAME when family asks for one that has none.
 */
static int addrconfig(int *family)
{
    struct ifaddrs *list, *a;
    bool v4 = false, v6 = false;

    if (getifaddrs(&list) != 0)
        return 0; /* glibc answers unnarrowed when it cannot tell */
    for (a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr)
            continue;
        if (a->ifa_addr->sa_family == AF_INET)
            v4 |= ((struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr !=
                  htonl(INADDR_LOOPBACK);
        else if (a->ifa_addr->sa_family == AF_INET6)
            v6 |= !IN6_IS_ADDR_LOOPBACK(
                &((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr);
    }
    freeifaddrs(list);
    if (*family == AF_UNSPEC && v4 != v6)
        *family = v4 ? AF_INET : AF_INET6;
    else if ((*family == AF_INET && !v4) || (*family == AF_INET6 && !v6))
        return EAI_NONAME;
    return 0;
}

/* --- getaddrinfo's addresses --------------------------------------------- */

struct addr_call {
    bool done;
    int status;
    struct ares_addrinfo *ai;
};

static void on_addrinfo(void *arg, int status, int timeouts,
                        struct ares_addrinfo *ai)
{
    struct addr_call *c = arg;

    (void)timeouts;
    c->done = true;
    c->status = status;
    c->ai = ai;
}

/* Copy c-ares' answer into out. */
static int keep_addrs(const struct ares_addrinfo *ai, struct g_dns_addrs *out)
{
    const struct ares_addrinfo_node *node;
    size_t i = 0;

    out->count = 0;
    for (node = ai->nodes; node; node = node->ai_next)
        out->count++;
    out->addrs = calloc(out->count ? out->count : 1, sizeof(*out->addrs));
    out->canon = ai->name ? strdup(ai->name) : NULL;
    if (!out->addrs || (ai->name && !out->canon)) {
        g_dns_addrs_free(out);
        return EAI_MEMORY;
    }
    for (node = ai->nodes; node; node = node->ai_next, i++)
        memcpy(&out->addrs[i], node->ai_addr,
               node->ai_addrlen < sizeof(out->addrs[i])
                   ? node->ai_addrlen
                   : sizeof(out->addrs[i]));
    return 0;
}

int g_dns_addrs(const char *name, int family, int flags,
                struct g_dns_addrs *out)
{
    struct ares_addrinfo_hints hints = {
        .ai_flags = ARES_AI_CANONNAME |
                    (flags & AI_V4MAPPED ? ARES_AI_V4MAPPED : 0) |
                    (flags & AI_ALL ? ARES_AI_ALL : 0),
    };
    struct addr_call c = {0};
    ares_channel ch;
    int rc, herr;

    memset(out, 0, sizeof(*out));
    if ((flags & AI_ADDRCONFIG) && (rc = addrconfig(&family)) != 0)
        return rc;
    hints.ai_family = family;
    if ((rc = open_channel(&ch)) != 0)
        return rc;
    ares_getaddrinfo(ch, name, NULL, &hints, on_addrinfo, &c);
    drive(ch, &c.done);
    ares_destroy(ch);
    rc = eai_of(c.status, &herr);
    if (rc == 0)
        rc = c.ai && c.ai->nodes ? keep_addrs(c.ai, out) : EAI_NODATA;
    if (c.ai)
        ares_freeaddrinfo(c.ai);
    return rc;
}

void g_dns_addrs_free(struct g_dns_addrs *a)
{
    free(a->canon);
    free(a->addrs);
    memset(a, 0, sizeof(*a));
}

/* --- hostent lookups ----------------------------------------------------- */

struct host_call {
    bool done;
    int status;
    struct hostent *copy;
};

/* One malloc'd block holding he and everything it points to. */
static struct hostent *copy_hostent(const struct hostent *he)
{
    size_t naliases = 0, naddrs = 0, strings = strlen(he->h_name) + 1;
    struct hostent *copy;
    char **aliases, **addrs, *p;

    for (; he->h_aliases && he->h_aliases[naliases]; naliases++)
        strings += strlen(he->h_aliases[naliases]) + 1;
    while (he->h_addr_list && he->h_addr_list[naddrs])
        naddrs++;
    copy = malloc(sizeof(*copy) + (naliases + 1 + naddrs + 1) * sizeof(char *) +
                  naddrs * (size_t)he->h_length + strings);
    if (!copy)
        return NULL;
    aliases = (char **)(copy + 1);
    addrs = aliases + naliases + 1;
    p = (char *)(addrs + naddrs + 1);
    for (size_t i = 0; i < naddrs; i++, p += he->h_length)
        addrs[i] = memcpy(p, he->h_addr_list[i], (size_t)he->h_length);
    addrs[naddrs] = NULL;
    for (size_t i = 0; i < naliases; i++, p += strlen(p) + 1)
        aliases[i] = strcpy(p, he->h_aliases[i]);
    aliases[naliases] = NULL;
    *copy = (struct hostent){.h_name = strcpy(p, he->h_name),
                             .h_aliases = aliases,
                             .h_addrtype = he->h_addrtype,
                             .h_length = he->h_length,
                             .h_addr_list = addrs};
    return copy;
}

static void on_host(void *arg, int status, int timeouts, struct hostent *he)
{
    struct host_call *c = arg;

    (void)timeouts;
    c->done = true;
    c->status = status;
    if (status == ARES_SUCCESS && he && !(c->copy = copy_hostent(he)))
        c->status = ARES_ENOMEM;
}

/* May park. Finish a hostent lookup started on ch. */
static int host_result(ares_channel ch, struct host_call *c,
                       struct hostent **out, int *herr)
{
    int rc;

    drive(ch, &c->done);
    ares_destroy(ch);
    rc = eai_of(c->status, herr);
    *out = rc == 0 ? c->copy : NULL;
    if (rc != 0)
        free(c->copy);
    return rc;
}

int g_dns_host_by_name(const char *name, int family, struct hostent **out,
                       int *herr)
{
    struct host_call c = {0};
    ares_channel ch;
    int rc;

    *herr = NETDB_INTERNAL;
    if ((rc = open_channel(&ch)) != 0)
        return rc;
    ares_gethostbyname(ch, name, family, on_host, &c);
    return host_result(ch, &c, out, herr);
}

int g_dns_host_by_addr(const void *addr, socklen_t len, int family,
                       struct hostent **out, int *herr)
{
    struct host_call c = {0};
    ares_channel ch;
    int rc;

    *herr = NETDB_INTERNAL;
    if ((rc = open_channel(&ch)) != 0)
        return rc;
    ares_gethostbyaddr(ch, addr, (int)len, family, on_host, &c);
    return host_result(ch, &c, out, herr);
}
