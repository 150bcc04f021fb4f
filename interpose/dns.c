/*
 * interpose/dns.c: getaddrinfo, getnameinfo, gethostbyname, gethostbyname2,
 * gethostbyaddr and their _r versions. freeaddrinfo and gai_strerror stay
 * glibc's.
 *
 * glibc resolves inside libc, where no hook sees its sockets, so a lookup
 * would freeze its worker. On a green thread:
 *  - a lookup with nothing to look up (a numeric address, a NULL node,
 *    NI_NUMERICHOST) is glibc's, which answers without the network;
 *  - when nsswitch.conf's hosts line has a source other than files and
 *    dns, glibc's own lookup runs on the thread pool (g_run_blocking); so
 *    does one of "localhost" or a name under it, which c-ares answers by
 *    itself (RFC 6761) where glibc asks the DNS server;
 *  - otherwise c-ares finds the addresses (shim/dns.c) and glibc builds
 *    getaddrinfo's entries from each one, numerically, with the program's
 *    hints: socket types, protocols, ports, service names and every error
 *    about them are glibc's own, and the entries are glibc's allocations,
 *    linked as glibc links them, so glibc's freeaddrinfo frees them.
 * Runs on any thread; off green threads every call is glibc's.
 */
#include "interpose/interpose.h"
#include "shim/dns.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* --- the thread pool path ----------------------------------------------- */

struct gai_call {
    const char *node, *service;
    const struct addrinfo *hints;
    struct addrinfo **res;
    int rc;
};

static void run_getaddrinfo(void *arg)
{
    struct gai_call *c = arg;

    c->rc = real_getaddrinfo(c->node, c->service, c->hints, c->res);
}

/* May park. glibc's getaddrinfo, off the worker. */
static int pooled_getaddrinfo(const char *node, const char *service,
                              const struct addrinfo *hints,
                              struct addrinfo **res)
{
    struct gai_call c = {node, service, hints, res, 0};

    g_run_blocking(run_getaddrinfo, &c, G_PARK_DNS);
    return c.rc;
}

/* --- getaddrinfo --------------------------------------------------------- */

/* Whether glibc takes node as an address without looking anything up:
 * inet_aton's IPv4 forms, or IPv6 with an optional %scope. */
static bool numeric_host(const char *node)
{
    char v6[INET6_ADDRSTRLEN];
    struct in6_addr a6;
    struct in_addr a4;
    size_t len = strcspn(node, "%");

    if (inet_aton(node, &a4))
        return true;
    if (len >= sizeof(v6))
        return false;
    memcpy(v6, node, len);
    v6[len] = '\0';
    return inet_pton(AF_INET6, v6, &a6) == 1;
}

/* The hints of glibc's numeric calls for each address found. */
static struct addrinfo numeric_hints(const struct addrinfo *hints)
{
    struct addrinfo h = {0};

    if (hints) {
        h.ai_flags = hints->ai_flags;
        h.ai_family = hints->ai_family;
        h.ai_socktype = hints->ai_socktype;
        h.ai_protocol = hints->ai_protocol;
    }
    h.ai_flags = (h.ai_flags | AI_NUMERICHOST) & ~(AI_CANONNAME | AI_ADDRCONFIG);
    return h;
}

/*
 * glibc's checks of the flags, family, socket type and service, which come
 * before it looks the name up: the same call on a numeric address of the
 * asked family gives their error, if any.
 */
static int check_like_glibc(const char *service, const struct addrinfo *h)
{
    struct addrinfo *probe;
    int rc = real_getaddrinfo(h->ai_family == AF_INET6 ? "::1" : "127.0.0.1",
                              service, h, &probe);

    if (rc == 0)
        freeaddrinfo(probe);
    return rc;
}

/* glibc's entries for each address of found, linked in found's order. */
static int entries_of(const struct g_dns_addrs *found, const char *service,
                      const struct addrinfo *h, struct addrinfo **res)
{
    struct addrinfo *head = NULL, **tail = &head;

    for (size_t i = 0; i < found->count; i++) {
        const struct sockaddr_storage *sa = &found->addrs[i];
        const void *addr =
            sa->ss_family == AF_INET6
                ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
        char text[INET6_ADDRSTRLEN];
        int rc;

        if (!inet_ntop(sa->ss_family, addr, text, sizeof(text)))
            continue;
        rc = real_getaddrinfo(text, service, h, tail);
        if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME)
            continue; /* not of the asked family: glibc would not list it */
        if (rc != 0) {
            freeaddrinfo(head);
            return rc;
        }
        while (*tail)
            tail = &(*tail)->ai_next;
    }
    *res = head;
    return head ? 0 : EAI_NONAME;
}

/* May park. The green getaddrinfo of a name to look up. */
static int green_getaddrinfo(const char *node, const char *service,
                             const struct addrinfo *hints,
                             struct addrinfo **res)
{
    struct addrinfo h = numeric_hints(hints);
    /* Without hints, glibc's defaults (AI_ADDRCONFIG narrows). */
    int flags = hints ? hints->ai_flags : AI_V4MAPPED | AI_ADDRCONFIG;
    struct g_dns_addrs found;
    int rc;

    if ((rc = check_like_glibc(service, &h)) != 0)
        return rc;
    if ((rc = g_dns_addrs(node, h.ai_family, flags, &found)) != 0)
        return rc;
    rc = entries_of(&found, service, &h, res);
    /* Each entry carries the flags asked for, as glibc's do (without
     * hints, glibc's default ones). */
    for (struct addrinfo *ai = rc == 0 ? *res : NULL; ai; ai = ai->ai_next)
        ai->ai_flags = hints ? flags : AI_V4MAPPED | AI_ADDRCONFIG;
    if (rc == 0 && (flags & AI_CANONNAME) &&
        !((*res)->ai_canonname = strdup(found.canon ? found.canon : node))) {
        freeaddrinfo(*res);
        rc = EAI_MEMORY;
    }
    g_dns_addrs_free(&found);
    return rc;
}

/* Whether name is "localhost" or under it, with an optional final dot. */
static bool localhost(const char *name)
{
    size_t len = strlen(name);

    if (len && name[len - 1] == '.')
        len--;
    return (len == 9 && strncasecmp(name, "localhost", 9) == 0) ||
           (len > 10 && strncasecmp(name + len - 10, ".localhost", 10) == 0);
}

/* Whether a green thread's lookup of name goes to c-ares. */
static bool ours(const char *name)
{
    return g_dns_serves() && !localhost(name);
}

G_EXPORT int getaddrinfo(const char *node, const char *service,
                         const struct addrinfo *hints, struct addrinfo **res)
{
    if (!hook_enter() || !node || numeric_host(node) ||
        (hints && (hints->ai_flags & AI_NUMERICHOST)))
        return real_getaddrinfo(node, service, hints, res);
    if (!ours(node))
        return pooled_getaddrinfo(node, service, hints, res);
    return green_getaddrinfo(node, service, hints, res);
}

/* --- getnameinfo --------------------------------------------------------- */

struct gni_call {
    const struct sockaddr *sa;
    socklen_t salen;
    char *host;
    socklen_t hostlen;
    char *serv;
    socklen_t servlen;
    int flags;
    int rc;
};

static void run_getnameinfo(void *arg)
{
    struct gni_call *c = arg;

    c->rc = real_getnameinfo(c->sa, c->salen, c->host, c->hostlen, c->serv,
                             c->servlen, c->flags);
}

/* The address and its length inside sa, or NULL for another family. */
static const void *address_of(const struct sockaddr *sa, socklen_t salen,
                              socklen_t *len)
{
    if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        *len = sizeof(struct in_addr);
        return &((const struct sockaddr_in *)sa)->sin_addr;
    }
    if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
        *len = sizeof(struct in6_addr);
        return &((const struct sockaddr_in6 *)sa)->sin6_addr;
    }
    return NULL;
}

/* May park. The name of sa's address into host, as getnameinfo gives it. */
static int green_host_name(const struct sockaddr *sa, socklen_t salen,
                           char *host, socklen_t hostlen, int flags)
{
    socklen_t len = 0;
    const void *addr = address_of(sa, salen, &len);
    struct hostent *he;
    int herr, rc;

    rc = g_dns_host_by_addr(addr, len, sa->sa_family, &he, &herr);
    if (rc == EAI_FAIL && herr == TRY_AGAIN)
        rc = EAI_AGAIN;
    if (rc == EAI_NONAME || rc == EAI_NODATA) {
        /* No name: the address itself, unless one was required. */
        if (flags & NI_NAMEREQD)
            return EAI_NONAME;
        return real_getnameinfo(sa, salen, host, hostlen, NULL, 0,
                                flags | NI_NUMERICHOST);
    }
    if (rc != 0)
        return rc;
    if (strlen(he->h_name) >= hostlen)
        rc = EAI_OVERFLOW;
    else
        strcpy(host, he->h_name);
    free(he);
    return rc;
}

G_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen,
                         char *host, socklen_t hostlen, char *serv,
                         socklen_t servlen, int flags)
{
    struct gni_call c = {sa, salen, host, hostlen, serv, servlen, flags, 0};
    socklen_t len;
    int rc;

    /* No name wanted, or glibc's own checks fail: nothing to look up. */
    if (!hook_enter() || !host || hostlen == 0 || (flags & NI_NUMERICHOST) ||
        !sa || !address_of(sa, salen, &len))
        return real_getnameinfo(sa, salen, host, hostlen, serv, servlen,
                                flags);
    /* NI_NOFQDN needs glibc's idea of the local domain. */
    if (!g_dns_serves() || (flags & NI_NOFQDN)) {
        g_run_blocking(run_getnameinfo, &c, G_PARK_DNS);
        return c.rc;
    }
    /* The service part first, if asked for (glibc's call wants a host
     * or a service). */
    if (serv && servlen &&
        (rc = real_getnameinfo(sa, salen, NULL, 0, serv, servlen,
                               flags & ~NI_NAMEREQD)) != 0)
        return rc;
    return green_host_name(sa, salen, host, hostlen, flags);
}

/* --- gethostbyname and gethostbyaddr ------------------------------------- */

/* One of them, for the thread pool: by name (addr NULL) or by address,
 * reentrant (ret not NULL) or not. */
struct host_call {
    const char *name;
    const void *addr;
    socklen_t len;
    int af;
    struct hostent *ret, **result;
    char *buf;
    size_t buflen;
    int *h_errnop;
    struct hostent *he; /* what a non-reentrant call returned */
    int rc, herr;
};

static void run_host(void *arg)
{
    struct host_call *c = arg;

    if (c->ret && c->addr)
        c->rc = real_gethostbyaddr_r(c->addr, c->len, c->af, c->ret, c->buf,
                                     c->buflen, c->result, c->h_errnop);
    else if (c->ret)
        c->rc = real_gethostbyname2_r(c->name, c->af, c->ret, c->buf,
                                      c->buflen, c->result, c->h_errnop);
    else if (c->addr)
        c->he = real_gethostbyaddr(c->addr, c->len, c->af);
    else
        c->he = real_gethostbyname2(c->name, c->af);
    c->herr = h_errno; /* the pool thread's: carried back */
}

/* May park. c's call, glibc's, off the worker. */
static void pooled_host(struct host_call *c)
{
    g_run_blocking(run_host, c, G_PARK_DNS);
    h_errno = c->herr;
}

/* glibc's files module parses into the caller's buffer and refuses, before
 * it looks, one smaller than its per-entry data (an address and two
 * pointers): ERANGE whatever the name. */
#define FILES_MIN_BUFFER (16 + 2 * sizeof(char *) + 1)

static bool too_small(size_t buflen, struct hostent **result, int *h_errnop)
{
    if (buflen >= FILES_MIN_BUFFER || !g_dns_reads_files())
        return false;
    *result = NULL;
    *h_errnop = NETDB_INTERNAL;
    return true;
}

/* The _r calls' answer for a lookup that gave he (or failed with herr). */
static int answer_r(int lookup_rc, bool by_addr, struct hostent *he,
                    int herr, struct hostent *ret, char *buf, size_t buflen,
                    struct hostent **result, int *h_errnop)
{
    int rc = 0;

    *result = NULL;
    if (!he)
        *h_errnop = herr; /* glibc leaves it alone on success */
    if (he) {
        rc = g_dns_hostent_fill(he, ret, buf, buflen);
        if (rc == 0)
            *result = ret;
        else
            *h_errnop = NETDB_INTERNAL;
        free(he);
    } else if (lookup_rc == EAI_AGAIN) {
        rc = EAGAIN; /* see shim/dns.h */
    }
    if (by_addr && rc == EAGAIN)
        rc = 0; /* glibc's gethostbyaddr_r says so only in *h_errnop */
    return rc;
}

/*
 * What the non-reentrant calls return: one static hostent and buffer,
 * overwritten by the next such call, as glibc's. Never freed, so a caller
 * still reading the last answer reads a newer one at worst (as natively),
 * never freed memory; the lock keeps two writers from mixing theirs.
 */
static struct hostent static_host;
static char static_buf[16384];
static _Atomic int static_lock;

static struct hostent *answer_static(struct hostent *he, int herr)
{
    struct hostent *result = NULL;

    if (he) {
        while (atomic_exchange_explicit(&static_lock, 1,
                                        memory_order_acquire))
            sched_yield(); /* our hook: lets the writer's thread run */
        if (g_dns_hostent_fill(he, &static_host, static_buf, sizeof(static_buf)) ==
            0)
            result = &static_host;
        else
            herr = NETDB_INTERNAL; /* an answer bigger than the buffer */
        atomic_store_explicit(&static_lock, 0, memory_order_release);
        free(he);
    }
    if (!result)
        h_errno = herr; /* glibc leaves it alone on success */
    return result;
}

G_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
    struct hostent *he;
    int herr;

    if (!hook_enter() || !name || numeric_host(name) ||
        (af != AF_INET && af != AF_INET6))
        return real_gethostbyname2(name, af);
    if (!ours(name)) {
        struct host_call c = {.name = name, .af = af};

        pooled_host(&c);
        return c.he;
    }
    g_dns_host_by_name(name, af, &he, &herr);
    return answer_static(he, herr);
}

G_EXPORT struct hostent *gethostbyname(const char *name)
{
    return gethostbyname2(name, AF_INET);
}

G_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret,
                              char *buf, size_t buflen,
                              struct hostent **result, int *h_errnop)
{
    struct hostent *he;
    int herr, rc;

    if (!hook_enter() || !name || numeric_host(name) ||
        (af != AF_INET && af != AF_INET6))
        return real_gethostbyname2_r(name, af, ret, buf, buflen, result,
                                     h_errnop);
    if (!ours(name)) {
        struct host_call c = {.name = name, .af = af, .ret = ret, .buf = buf,
                              .buflen = buflen, .result = result,
                              .h_errnop = h_errnop};

        pooled_host(&c);
        return c.rc;
    }
    if (too_small(buflen, result, h_errnop))
        return ERANGE;
    rc = g_dns_host_by_name(name, af, &he, &herr);
    return answer_r(rc, false, he, herr, ret, buf, buflen, result, h_errnop);
}

G_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf,
                             size_t buflen, struct hostent **result,
                             int *h_errnop)
{
    return gethostbyname2_r(name, AF_INET, ret, buf, buflen, result,
                            h_errnop);
}

/* Whether a reverse lookup is one to make off glibc's own code: of an
 * address the call accepts (else glibc says why at once). */
static bool reverse_lookup(socklen_t len, int type)
{
    return (type == AF_INET && len == sizeof(struct in_addr)) ||
           (type == AF_INET6 && len == sizeof(struct in6_addr));
}

G_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len,
                                       int type)
{
    struct hostent *he;
    int herr;

    if (!hook_enter() || !addr || !reverse_lookup(len, type))
        return real_gethostbyaddr(addr, len, type);
    if (!g_dns_serves()) {
        struct host_call c = {.addr = addr, .len = len, .af = type};

        pooled_host(&c);
        return c.he;
    }
    g_dns_host_by_addr(addr, len, type, &he, &herr);
    return answer_static(he, herr);
}

G_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type,
                             struct hostent *ret, char *buf, size_t buflen,
                             struct hostent **result, int *h_errnop)
{
    struct hostent *he;
    int herr, rc;

    if (!hook_enter() || !addr || !reverse_lookup(len, type))
        return real_gethostbyaddr_r(addr, len, type, ret, buf, buflen, result,
                                    h_errnop);
    if (!g_dns_serves()) {
        struct host_call c = {.addr = addr, .len = len, .af = type,
                              .ret = ret, .buf = buf, .buflen = buflen,
                              .result = result, .h_errnop = h_errnop};

        pooled_host(&c);
        return c.rc;
    }
    if (too_small(buflen, result, h_errnop))
        return ERANGE;
    rc = g_dns_host_by_addr(addr, len, type, &he, &herr);
    return answer_r(rc, true, he, herr, ret, buf, buflen, result, h_errnop);
}
