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

/* The hosts sources in nsswitch's order: 'f' files, 'b' dns. */
static char sources[3];

/* Whether line is nsswitch's hosts line listing only files and dns, with
 * no [STATUS=action] (which we would not honour); keeps their order. */
static bool only_files_dns(char *line)
{
    char *save, *word;
    size_t n = 0;

    line += strlen("hosts:");
    for (word = strtok_r(line, " \t\n", &save); word;
         word = strtok_r(NULL, " \t\n", &save)) {
        char source = strcmp(word, "files") == 0 ? 'f'
                      : strcmp(word, "dns") == 0 ? 'b'
                                                 : 0;

        if (!source || n >= sizeof(sources) - 1 || strchr(sources, source))
            return false;
        sources[n++] = source;
    }
    return n > 0;
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

bool g_dns_reads_files(void)
{
    return g_dns_serves() && strchr(sources, 'f');
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
        rc = g_wait_fds_for(fds, n,
                        tvp ? g_now() + (int64_t)tv.tv_sec * 1000000000 +
                                  (int64_t)tv.tv_usec * 1000
                            : G_NEVER,
                            G_PARK_DNS);
        if (rc < 0 && rc != -ETIMEDOUT && rc != -ECANCELED) {
            /* The epoll could not take the sockets (ENOSPC, ENOMEM): nap,
             * then let c-ares see what is due. */
            rc = g_sleep_until(g_now() + 1000000);
            rc = rc == 0 ? -ETIMEDOUT : rc;
        }
        if (rc == -ETIMEDOUT)
            ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        if (rc == -ECANCELED) {
            ares_destroy(ch); /* ends the query: its callback runs */
            g_cancel_act(g_self());
        }
    }
}

/* --- resolv.conf's options --------------------------------------------- */

/* glibc's defaults and upper bounds (resolv.h: RES_TIMEOUT, RES_DFLRETRY,
 * RES_MAXRETRANS, RES_MAXRETRY, RES_MAXNDOTS). */
enum { TIMEOUT_S = 5, ATTEMPTS = 2, MAX_TIMEOUT_S = 30, MAX_ATTEMPTS = 5,
       MAX_NDOTS = 15 };

/* glibc's MAXDNSRCH: search domains it uses, at most. */
enum { MAX_SEARCH = 6 };

struct resolver_options {
    int timeout_s, attempts, ndots;
    bool rotate;
    char search[MAX_SEARCH][256]; /* the search list, as glibc builds it */
    int nsearch;
};

/* A search or domain line: the last one wins, as in glibc. */
static void parse_search(char *words, struct resolver_options *o)
{
    char *save, *w;

    o->nsearch = 0;
    for (w = strtok_r(words, " \t\n", &save); w && o->nsearch < MAX_SEARCH;
         w = strtok_r(NULL, " \t\n", &save)) {
        if (strlen(w) < sizeof(o->search[0]))
            strcpy(o->search[o->nsearch++], w);
    }
}

/* Without a search or domain line: the domain of the host's name. */
static void default_search(struct resolver_options *o)
{
    char host[256], *dot;

    if (gethostname(host, sizeof(host)) == 0 && (dot = strchr(host, '.')) &&
        dot[1]) {
        strcpy(o->search[0], dot + 1);
        o->nsearch = 1;
    }
}

static int bounded(const char *v, int max)
{
    long n = strtol(v, NULL, 10);

    return n < 0 ? 0 : n > max ? max : (int)n;
}

/* Apply the options in words (an "options" line or RES_OPTIONS). */
static void parse_options(char *words, struct resolver_options *o)
{
    char *save, *w;

    for (w = strtok_r(words, " \t\n", &save); w;
         w = strtok_r(NULL, " \t\n", &save)) {
        if (strncmp(w, "timeout:", 8) == 0)
            o->timeout_s = bounded(w + 8, MAX_TIMEOUT_S);
        else if (strncmp(w, "attempts:", 9) == 0)
            o->attempts = bounded(w + 9, MAX_ATTEMPTS);
        else if (strncmp(w, "ndots:", 6) == 0)
            o->ndots = bounded(w + 6, MAX_NDOTS);
        else if (strcmp(w, "rotate") == 0)
            o->rotate = true;
    }
}

/*
 * The retry options as glibc reads them, from /etc/resolv.conf's options
 * lines and then RES_OPTIONS. c-ares has its own defaults (5 s, 4 tries:
 * 75 s for a silent server, where glibc gives up after 15 s) and does not
 * take these from the file itself.
 */
static void read_options(struct resolver_options *o)
{
    FILE *f = fopen("/etc/resolv.conf", "re");
    const char *env = getenv("RES_OPTIONS");
    char line[512];
    bool searched = false;

    memset(o, 0, sizeof(*o));
    o->timeout_s = TIMEOUT_S;
    o->attempts = ATTEMPTS;
    o->ndots = 1;
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "options", 7) == 0 && isspace((unsigned char)line[7]))
            parse_options(line + 7, o);
        else if ((strncmp(line, "search", 6) == 0 &&
                  isspace((unsigned char)line[6])) ||
                 (strncmp(line, "domain", 6) == 0 &&
                  isspace((unsigned char)line[6]))) {
            parse_search(line + 6, o);
            searched = true;
        }
    }
    if (!searched)
        default_search(o);
    if (f)
        fclose(f);
    if (env && strlen(env) < sizeof(line)) {
        strcpy(line, env);
        parse_options(line, o);
    }
    if (o->attempts < 1)
        o->attempts = 1;
    if (o->timeout_s < 1)
        o->timeout_s = 1;
}

/* A channel that looks in the sources lookups says ("f", "b" or both, as
 * nsswitch orders them), with glibc's retry options: known ones (a search
 * list reads them once for all its queries), or read now if NULL. */
static int open_channel_for(ares_channel *ch, const char *lookups,
                            const struct resolver_options *known)
{
    struct resolver_options ro;
    struct ares_options opts = {0};
    int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
               ARES_OPT_LOOKUPS;

    if (!g_dns_serves())
        return EAI_SYSTEM;
    if (known)
        ro = *known;
    else
        read_options(&ro);
    opts.lookups = (char *)lookups;
    opts.timeout = ro.timeout_s * 1000;
    opts.tries = ro.attempts;
    opts.ndots = ro.ndots;
    mask |= ro.rotate ? ARES_OPT_ROTATE : ARES_OPT_NOROTATE;
    switch (ares_init_options(ch, &opts, mask)) {
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

/* The name c-ares' answer ends at: its name, followed through CNAMEs. */
static const char *canonical(const struct ares_addrinfo *ai)
{
    const char *name = ai->name;

    for (int hops = 0; name && hops < 16; hops++) {
        const struct ares_addrinfo_cname *c = ai->cnames;

        while (c && (!c->alias || strcasecmp(c->alias, name) != 0))
            c = c->next;
        if (!c || !c->name)
            break;
        name = c->name;
    }
    return name;
}

struct count_call {
    bool done;
    int answers; /* records in the answer section, or -1 */
};

static void on_count(void *arg, int status, int timeouts, unsigned char *abuf,
                     int alen)
{
    struct count_call *c = arg;

    (void)timeouts;
    c->done = true;
    c->answers = -1;
    if ((status == ARES_SUCCESS || status == ARES_ENODATA) && abuf &&
        alen >= 12)
        c->answers = abuf[6] << 8 | abuf[7];
}

/*
 * May park. Whether the DNS answer for name (absolute) in family, which
 * c-ares called NODATA, has records all the same: a CNAME whose target has
 * no address of the family. glibc takes that as an answer, stops its
 * search there and reports NO_RECOVERY; c-ares keeps nothing of it.
 */
static bool cname_only(ares_channel ch, const char *name, int family)
{
    struct count_call c = {0};

    ares_query(ch, name, 1 /* C_IN */, family == AF_INET ? 1 : 28,
               on_count, &c);
    drive(ch, &c.done);
    return c.answers > 0;
}

/* May park. One lookup of name in the given sources (no search list: a
 * DNS name ends with a dot). The c-ares status; *ai on success. */
static int lookup_once(const char *name, int family, const char *lookups,
                       const struct resolver_options *ro, bool sort,
                       struct ares_addrinfo **ai)
{
    struct ares_addrinfo_hints hints = {
        .ai_flags = ARES_AI_CANONNAME | (sort ? 0 : ARES_AI_NOSORT),
        .ai_family = family};
    struct addr_call c = {0};
    ares_channel ch;

    *ai = NULL;
    if (open_channel_for(&ch, lookups, ro) != 0)
        return ARES_ENOMEM;
    ares_getaddrinfo(ch, name, NULL, &hints, on_addrinfo, &c);
    drive(ch, &c.done);
    if (c.status == ARES_ENODATA && lookups[0] == 'b' && family != AF_UNSPEC &&
        cname_only(ch, name, family))
        c.status = ARES_EBADRESP;
    ares_destroy(ch);
    if (c.status == ARES_SUCCESS && (!c.ai || !c.ai->nodes))
        c.status = ARES_ENODATA;
    /* c-ares reports servers that all answered SERVFAIL as unreachable. */
    if (c.status == ARES_ECONNREFUSED)
        c.status = ARES_ESERVFAIL;
    if (c.status == ARES_SUCCESS)
        *ai = c.ai;
    else if (c.ai)
        ares_freeaddrinfo(c.ai);
    return c.status;
}

/* netdb's h_errno for a c-ares status. */
static int herr_of(int status)
{
    int herr;

    eai_of(status, &herr);
    return herr;
}

/* Whether a query's outcome ends the search: addresses, or an answer that
 * is only a CNAME (see cname_only). */
static bool answered(int status)
{
    return status == ARES_SUCCESS || status == ARES_EBADRESP;
}

/* May park. DNS, through the search list as glibc's res_search walks it
 * (resolv/res_query.c): the name as written first if it has ndots dots,
 * then each search domain, stopping at an answer or at an error other
 * than NXDOMAIN, NODATA and SERVFAIL, then the name as written if not
 * tried yet. Which failure it reports: that of the first try as written,
 * else NODATA if a domain had one, else SERVFAIL's, else the last one. */
static int search_dns(const char *name, int family, bool sort,
                      struct ares_addrinfo **ai)
{
    struct resolver_options ro;
    size_t len = strlen(name);
    int dots = 0, status = ARES_ENOTFOUND, herr = HOST_NOT_FOUND, saved = -1;
    bool nodata = false, servfail = false, tried = false, done = false;
    char fqdn[512];

    for (const char *p = name; *p; p++)
        dots += *p == '.';
    if (len && name[len - 1] == '.')
        return lookup_once(name, family, "b", NULL, sort, ai);
    if (len + 2 > sizeof(fqdn))
        return ARES_EBADNAME;
    read_options(&ro);
    if (dots >= ro.ndots) {
        snprintf(fqdn, sizeof(fqdn), "%s.", name);
        if (answered(status = lookup_once(fqdn, family, "b", &ro, sort, ai)))
            return status;
        saved = herr_of(status);
        tried = true;
    }
    for (int i = 0; i < ro.nsearch && !done; i++) {
        if (snprintf(fqdn, sizeof(fqdn), "%s.%s.", name, ro.search[i]) >=
            (int)sizeof(fqdn))
            continue;
        if (answered(status = lookup_once(fqdn, family, "b", &ro, sort, ai)))
            return status;
        herr = herr_of(status);
        if (status == ARES_ENODATA)
            nodata = true;
        else if (status == ARES_ESERVFAIL)
            servfail = true;
        else if (status != ARES_ENOTFOUND)
            done = true; /* a timeout: "anything else implies we're done" */
    }
    if (!tried) {
        snprintf(fqdn, sizeof(fqdn), "%s.", name);
        if (answered(status = lookup_once(fqdn, family, "b", &ro, sort, ai)))
            return status;
        herr = herr_of(status);
    }
    /* glibc's nss_dns reports "unavailable" (EAI_AGAIN) only when its
     * last query timed out. Otherwise "not found", for the reason
     * res_search keeps: the first try as written (a timeout there counts
     * as no such name), else NODATA, else a server failure in the search
     * list (TRY_AGAIN), else the last answer. */
    if (status == ARES_ETIMEOUT)
        return ARES_ETIMEOUT;
    if (saved != -1)
        return saved == NO_DATA ? ARES_ENODATA : ARES_ENOTFOUND;
    if (nodata)
        return ARES_ENODATA;
    if (servfail)
        return ARES_ESERVFAIL;
    return herr == NO_DATA ? ARES_ENODATA : ARES_ENOTFOUND;
}

/* May park. name in family from one source, 'f' or 'b'. */
static int lookup_source(char source, const char *name, int family,
                         bool sort, struct ares_addrinfo **ai)
{
    int status;

    if (source == 'b')
        return search_dns(name, family, sort, ai);
    /* The hosts file has the name or has not: whatever c-ares says when
     * it has not (it may report a missing server), glibc's files module
     * says "not found". */
    status = lookup_once(name, family, "f", NULL, sort, ai);
    return status == ARES_SUCCESS || status == ARES_ENOMEM ? status
                                                           : ARES_ENOTFOUND;
}

/* Append ai's addresses (mapped to IPv6 if map) to out. */
static int keep(const struct ares_addrinfo *ai, bool map,
                struct g_dns_addrs *out)
{
    const struct ares_addrinfo_node *node;
    size_t n = 0;
    struct sockaddr_storage *grown;

    for (node = ai->nodes; node; node = node->ai_next)
        n++;
    grown = realloc(out->addrs, (out->count + n) * sizeof(*grown));
    if (!grown)
        return EAI_MEMORY;
    out->addrs = grown;
    for (node = ai->nodes; node; node = node->ai_next) {
        struct sockaddr_storage *sa = &out->addrs[out->count++];

        memset(sa, 0, sizeof(*sa));
        if (map && node->ai_family == AF_INET) {
            struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;

            v6->sin6_family = AF_INET6;
            v6->sin6_addr.s6_addr[10] = 0xff;
            v6->sin6_addr.s6_addr[11] = 0xff;
            memcpy(&v6->sin6_addr.s6_addr[12],
                   &((struct sockaddr_in *)node->ai_addr)->sin_addr, 4);
        } else {
            memcpy(sa, node->ai_addr,
                   node->ai_addrlen < sizeof(*sa) ? node->ai_addrlen
                                                  : sizeof(*sa));
        }
    }
    if (!out->canon && canonical(ai) && !(out->canon = strdup(canonical(ai))))
        return EAI_MEMORY;
    return 0;
}

/* Whether this host has a route to sa: a UDP connect() says (RFC 3484's
 * rule 1, which glibc checks the same way). Raw calls, not our hooks. */
static bool reachable(const struct sockaddr_storage *sa)
{
    long fd = syscall(SYS_socket, sa->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (fd < 0)
        return true;
    ok = syscall(SYS_connect, fd, sa,
                 sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                           : sizeof(struct sockaddr_in)) == 0;
    syscall(SYS_close, fd);
    return ok;
}

/*
 * AI_ALL's two lists, each in c-ares' order, joined as glibc sorts the
 * whole: destinations this host can reach first, the IPv6 ones before the
 * mapped IPv4 ones otherwise (rule 6, their precedence): a stable
 * partition.
 */
static void reachable_first(struct g_dns_addrs *out)
{
    size_t n = out->count, kept = 0;
    struct sockaddr_storage *sorted = malloc(n * sizeof(*sorted));
    bool *ok = malloc(n * sizeof(*ok));

    if (sorted && ok) {
        for (size_t i = 0; i < n; i++)
            ok[i] = reachable(&out->addrs[i]);
        for (int pass = 1; pass >= 0; pass--) {
            for (size_t i = 0; i < n; i++) {
                if (ok[i] == pass)
                    sorted[kept++] = out->addrs[i];
            }
        }
        memcpy(out->addrs, sorted, n * sizeof(*sorted));
    }
    free(sorted);
    free(ok);
}

int g_dns_addrs(const char *name, int family, int flags,
                struct g_dns_addrs *out)
{
    struct ares_addrinfo *ai6 = NULL, *ai4 = NULL;
    int status, rc, herr, asked = family;

    memset(out, 0, sizeof(*out));
    if ((flags & AI_ADDRCONFIG) && (rc = addrconfig(&family)) != 0)
        return rc;
    if (!g_dns_serves())
        return EAI_SYSTEM;
    /*
     * The sources in nsswitch's order: the first that has the name
     * answers, and when all fail the last failure is the answer. With
     * AI_V4MAPPED, each source is asked for IPv6 addresses, then for IPv4
     * ones (mapped) if it had none or AI_ALL asks for both: two lookups of
     * their own, whose IPv6 failure is the source's.
     */
    status = ARES_ENOTFOUND;
    rc = 0;
    for (const char *s = sources; *s && rc == 0 && out->count == 0; s++) {
        bool mapped = family == AF_INET6 && (flags & AI_V4MAPPED);

        status = lookup_source(*s, name, family, true, &ai6);
        if (mapped && (status != ARES_SUCCESS || (flags & AI_ALL)))
            lookup_source(*s, name, AF_INET, true, &ai4);
        if (ai6)
            rc = keep(ai6, false, out);
        if (ai4 && rc == 0)
            rc = keep(ai4, true, out);
        if (ai6 && ai4 && rc == 0)
            reachable_first(out);
        if (ai6)
            ares_freeaddrinfo(ai6);
        if (ai4)
            ares_freeaddrinfo(ai4);
        ai6 = ai4 = NULL;
    }
    if (rc == 0 && out->count == 0) {
        rc = eai_of(status, &herr);
        /* A server failure is EAI_AGAIN, but glibc says EAI_NONAME when
         * AI_ADDRCONFIG narrowed AF_UNSPEC to one family. */
        if ((status == ARES_ESERVFAIL && family != asked) ||
            status == ARES_EBADRESP)
            rc = EAI_NONAME;
    }
    if (rc != 0)
        g_dns_addrs_free(out);
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

/* The bytes he's aliases, addresses and names take when copied. */
static size_t hostent_bytes(const struct hostent *he)
{
    size_t n = strlen(he->h_name) + 1, naliases = 0, naddrs = 0;

    for (; he->h_aliases && he->h_aliases[naliases]; naliases++)
        n += strlen(he->h_aliases[naliases]) + 1;
    while (he->h_addr_list && he->h_addr_list[naddrs])
        naddrs++;
    return n + (naliases + 1 + naddrs + 1) * sizeof(char *) +
           naddrs * (size_t)he->h_length;
}

int g_dns_hostent_fill(const struct hostent *he, struct hostent *ret,
                       char *buf, size_t buflen)
{
    size_t align = sizeof(char *), naliases = 0, naddrs = 0;
    uintptr_t start = ((uintptr_t)buf + align - 1) & ~(uintptr_t)(align - 1);
    char **aliases, **addrs, *p;

    if ((start - (uintptr_t)buf) + hostent_bytes(he) > buflen)
        return ERANGE;
    while (he->h_aliases && he->h_aliases[naliases])
        naliases++;
    while (he->h_addr_list && he->h_addr_list[naddrs])
        naddrs++;
    aliases = (char **)start;
    addrs = aliases + naliases + 1;
    p = (char *)(addrs + naddrs + 1);
    for (size_t i = 0; i < naddrs; i++, p += he->h_length)
        addrs[i] = memcpy(p, he->h_addr_list[i], (size_t)he->h_length);
    addrs[naddrs] = NULL;
    for (size_t i = 0; i < naliases; i++, p += strlen(p) + 1)
        aliases[i] = strcpy(p, he->h_aliases[i]);
    aliases[naliases] = NULL;
    *ret = (struct hostent){.h_name = strcpy(p, he->h_name),
                            .h_aliases = aliases,
                            .h_addrtype = he->h_addrtype,
                            .h_length = he->h_length,
                            .h_addr_list = addrs};
    return 0;
}

/* One malloc'd block holding he and everything it points to. */
static struct hostent *copy_hostent(const struct hostent *he)
{
    size_t bytes = hostent_bytes(he);
    struct hostent *copy = malloc(sizeof(*copy) + bytes);

    if (copy)
        g_dns_hostent_fill(he, copy, (char *)(copy + 1), bytes);
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
    if (c->status == ARES_ESERVFAIL)
        rc = EAI_FAIL; /* TRY_AGAIN, but no timeout (see dns.h) */
    *out = rc == 0 ? c->copy : NULL;
    if (rc != 0)
        free(c->copy);
    return rc;
}

/* gethostbyname's answer from a DNS lookup: the canonical name, the
 * names the CNAMEs led through as aliases, the addresses in the server's
 * order. */
static struct hostent *hostent_of(const struct ares_addrinfo *ai, int family)
{
    const struct ares_addrinfo_node *node;
    char *aliases[17], *addrs[65];
    const char *name = ai->name;
    size_t naliases = 0, naddrs = 0;
    struct hostent he;

    while (name && naliases < 16) {
        const struct ares_addrinfo_cname *c = ai->cnames;

        while (c && (!c->alias || strcasecmp(c->alias, name) != 0))
            c = c->next;
        if (!c || !c->name)
            break;
        aliases[naliases++] = (char *)name;
        name = c->name;
    }
    aliases[naliases] = NULL;
    for (node = ai->nodes; node && naddrs < 64; node = node->ai_next) {
        if (node->ai_family != family)
            continue;
        addrs[naddrs++] =
            family == AF_INET
                ? (char *)&((struct sockaddr_in *)node->ai_addr)->sin_addr
                : (char *)&((struct sockaddr_in6 *)node->ai_addr)->sin6_addr;
    }
    addrs[naddrs] = NULL;
    he = (struct hostent){.h_name = (char *)(name ? name : ""),
                          .h_aliases = aliases,
                          .h_addrtype = family,
                          .h_length = family == AF_INET ? 4 : 16,
                          .h_addr_list = addrs};
    return copy_hostent(&he);
}

/* May park. name in the hosts file, as glibc's files module answers. */
static int host_from_file(const char *name, int family, struct hostent **out)
{
    struct hostent *he = NULL;
    ares_channel ch;
    int status;

    if (open_channel_for(&ch, "f", NULL) != 0)
        return ARES_ENOMEM;
    status = ares_gethostbyname_file(ch, name, family, &he);
    ares_destroy(ch);
    if (status == ARES_SUCCESS && !(*out = copy_hostent(he)))
        status = ARES_ENOMEM;
    if (he)
        ares_free_hostent(he);
    return status == ARES_SUCCESS || status == ARES_ENOMEM ? status
                                                           : ARES_ENOTFOUND;
}

int g_dns_host_by_name(const char *name, int family, struct hostent **out,
                       int *herr)
{
    int status = ARES_ENOTFOUND, rc;

    *out = NULL;
    *herr = NETDB_INTERNAL;
    if (!g_dns_serves())
        return EAI_SYSTEM;
    /* The sources in nsswitch's order; the last failure is the answer. */
    for (const char *s = sources; *s; s++) {
        struct ares_addrinfo *ai = NULL;

        if (*s == 'f') {
            status = host_from_file(name, family, out);
        } else if (!*name) {
            status = ARES_EBADSTR; /* glibc's DNS: NO_RECOVERY for "" */
        } else {
            status = search_dns(name, family, false, &ai);
            if (status == ARES_SUCCESS && !(*out = hostent_of(ai, family)))
                status = ARES_ENOMEM;
            if (ai)
                ares_freeaddrinfo(ai);
        }
        if (status == ARES_SUCCESS)
            return 0;
    }
    rc = eai_of(status, herr);
    if (status == ARES_ESERVFAIL)
        rc = EAI_FAIL; /* TRY_AGAIN, but no timeout (see dns.h) */
    if (status == ARES_EBADRESP)
        rc = EAI_AGAIN; /* NO_RECOVERY, and the _r calls say EAGAIN */
    return rc;
}

struct ptr_call {
    bool done;
    int status;
    const void *addr;
    socklen_t len;
    int family;
    struct hostent *copy;
};

static void on_ptr(void *arg, int status, int timeouts, unsigned char *abuf,
                   int alen)
{
    struct ptr_call *c = arg;
    struct hostent *he = NULL;

    (void)timeouts;
    c->done = true;
    if (status == ARES_SUCCESS)
        status = ares_parse_ptr_reply(abuf, alen, c->addr, (int)c->len,
                                      c->family, &he);
    if (status == ARES_SUCCESS) {
        /* c-ares lists the PTR names as aliases too; glibc, only the
         * others. */
        size_t kept = 0;

        for (size_t i = 0; he->h_aliases[i]; i++) {
            if (strcasecmp(he->h_aliases[i], he->h_name) != 0)
                he->h_aliases[kept++] = he->h_aliases[i];
        }
        he->h_aliases[kept] = NULL;
        if (!(c->copy = copy_hostent(he)))
            status = ARES_ENOMEM;
    }
    if (he)
        ares_free_hostent(he);
    c->status = status;
}

/* The PTR name of addr: in-addr.arpa or ip6.arpa. */
static void ptr_name(const unsigned char *a, socklen_t len, char *out,
                     size_t size)
{
    size_t n = 0;

    if (len == 4) {
        snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1],
                 a[0]);
        return;
    }
    for (int i = 15; i >= 0; i--)
        n += (size_t)snprintf(out + n, size - n, "%x.%x.", a[i] & 15,
                              a[i] >> 4);
    snprintf(out + n, size - n, "ip6.arpa");
}

/* May park. A reverse lookup in DNS, as glibc's: one PTR query, no
 * search list. */
static int reverse_dns(const void *addr, socklen_t len, int family,
                       struct hostent **out, int *herr)
{
    struct ptr_call c = {.addr = addr, .len = len, .family = family};
    char name[80];
    ares_channel ch;
    int rc;

    if ((rc = open_channel_for(&ch, "b", NULL)) != 0)
        return rc;
    ptr_name(addr, len, name, sizeof(name));
    ares_query(ch, name, 1 /* C_IN */, 12 /* T_PTR */, on_ptr, &c);
    drive(ch, &c.done);
    ares_destroy(ch);
    rc = eai_of(c.status, herr);
    if (c.status == ARES_ESERVFAIL)
        rc = EAI_FAIL;
    *out = rc == 0 ? c.copy : NULL;
    if (rc != 0)
        free(c.copy);
    return rc;
}

int g_dns_host_by_addr(const void *addr, socklen_t len, int family,
                       struct hostent **out, int *herr)
{
    ares_channel ch;
    int rc;

    *out = NULL;
    *herr = NETDB_INTERNAL;
    if (family == AF_INET6 && len == 16 &&
        IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)addr)) {
        /* glibc looks a mapped address up as the IPv4 one it holds. */
        addr = (const char *)addr + 12;
        len = 4;
        family = AF_INET;
    }
    /* The sources in nsswitch's order; the last failure is the answer. */
    rc = EAI_NONAME;
    for (const char *s = sources; *s; s++) {
        if (*s == 'b') {
            rc = reverse_dns(addr, len, family, out, herr);
        } else {
            struct host_call c = {0};

            if ((rc = open_channel_for(&ch, "f", NULL)) != 0)
                return rc;
            ares_gethostbyaddr(ch, addr, (int)len, family, on_host, &c);
            rc = host_result(ch, &c, out, herr);
        }
        if (rc == 0)
            break;
    }
    return rc;
}
