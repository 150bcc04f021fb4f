/*
 * dns.h: how the name resolution programs of tests/progs/ (dns_*.c, issue
 * 6) print what getaddrinfo and its relatives answer, so that a native run
 * and a green run can be compared line by line. Like progs.h, which a
 * program includes first, it is plain POSIX and glibc and knows nothing of
 * libgreen: static inline functions only.
 *
 * Every line states the call, its arguments and the answer: return codes
 * by name (EAI_*, h_errno's HOST_NOT_FOUND..., errno names), addresses in
 * the order the call gave them, canonical names and aliases.
 */
#ifndef DNS_H
#define DNS_H

#ifndef PROGS_H
#error "include progs.h before dns.h"
#endif

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* The name of an EAI_* code (or 0), or "EAI? N". */
static inline const char *eai_name(int rc)
{
    static char other[32];

    switch (rc) {
    case 0:
        return "0";
    case EAI_BADFLAGS:
        return "EAI_BADFLAGS";
    case EAI_NONAME:
        return "EAI_NONAME";
    case EAI_AGAIN:
        return "EAI_AGAIN";
    case EAI_FAIL:
        return "EAI_FAIL";
    case EAI_NODATA:
        return "EAI_NODATA";
    case EAI_FAMILY:
        return "EAI_FAMILY";
    case EAI_SOCKTYPE:
        return "EAI_SOCKTYPE";
    case EAI_SERVICE:
        return "EAI_SERVICE";
    case EAI_ADDRFAMILY:
        return "EAI_ADDRFAMILY";
    case EAI_MEMORY:
        return "EAI_MEMORY";
    case EAI_SYSTEM:
        return "EAI_SYSTEM";
    case EAI_OVERFLOW:
        return "EAI_OVERFLOW";
    default:
        snprintf(other, sizeof(other), "EAI? %d", rc);
        return other;
    }
}

/* The name of an h_errno value. */
static inline const char *herr_name(int h)
{
    static char other[32];

    switch (h) {
    case 0:
        return "0";
    case HOST_NOT_FOUND:
        return "HOST_NOT_FOUND";
    case TRY_AGAIN:
        return "TRY_AGAIN";
    case NO_RECOVERY:
        return "NO_RECOVERY";
    case NO_DATA:
        return "NO_DATA";
    case NETDB_INTERNAL:
        return "NETDB_INTERNAL";
    default:
        snprintf(other, sizeof(other), "h_errno %d", h);
        return other;
    }
}

static inline const char *family_name(int family)
{
    static char other[32];

    switch (family) {
    case AF_UNSPEC:
        return "UNSPEC";
    case AF_INET:
        return "INET";
    case AF_INET6:
        return "INET6";
    case AF_UNIX:
        return "UNIX";
    default:
        snprintf(other, sizeof(other), "family %d", family);
        return other;
    }
}

static inline const char *socktype_name(int type)
{
    static char other[32];

    switch (type) {
    case 0:
        return "0";
    case SOCK_STREAM:
        return "STREAM";
    case SOCK_DGRAM:
        return "DGRAM";
    case SOCK_RAW:
        return "RAW";
    case SOCK_SEQPACKET:
        return "SEQPACKET";
    default:
        snprintf(other, sizeof(other), "type %d", type);
        return other;
    }
}

/* ai_flags as "CANONNAME|V4MAPPED", "0", and any unknown bits in hex. */
static inline const char *ai_flags_name(int flags)
{
    static const struct {
        int bit;
        const char *name;
    } bits[] = {{AI_PASSIVE, "PASSIVE"},
                {AI_CANONNAME, "CANONNAME"},
                {AI_NUMERICHOST, "NUMERICHOST"},
                {AI_V4MAPPED, "V4MAPPED"},
                {AI_ALL, "ALL"},
                {AI_ADDRCONFIG, "ADDRCONFIG"},
                {AI_NUMERICSERV, "NUMERICSERV"}};
    static char buf[128];
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if (flags & bits[i].bit) {
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
                                    len ? "|" : "", bits[i].name);
            flags &= ~bits[i].bit;
        }
    if (flags)
        snprintf(buf + len, sizeof(buf) - len, "%s0x%x", len ? "|" : "", flags);
    else if (!len)
        strcpy(buf, "0");
    return buf;
}

/* ni flags as "NUMERICHOST|NAMEREQD" or "0". */
static inline const char *ni_flags_name(int flags)
{
    static const struct {
        int bit;
        const char *name;
    } bits[] = {{NI_NUMERICHOST, "NUMERICHOST"},
                {NI_NUMERICSERV, "NUMERICSERV"},
                {NI_NOFQDN, "NOFQDN"},
                {NI_NAMEREQD, "NAMEREQD"},
                {NI_DGRAM, "DGRAM"}};
    static char buf[128];
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if (flags & bits[i].bit)
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
                                    len ? "|" : "", bits[i].name);
    if (!len)
        strcpy(buf, "0");
    return buf;
}

/* A socket address as "192.0.2.1 port 80" or "fe80::1%1 port 80". */
static inline void print_sockaddr(const struct sockaddr *sa, socklen_t len)
{
    char text[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET && len == sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

        inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
        printf("%s port %u", text, ntohs(sin->sin_port));
    } else if (sa->sa_family == AF_INET6 &&
               len == sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

        inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
        printf("%s", text);
        if (sin6->sin6_scope_id)
            printf("%%%u", sin6->sin6_scope_id);
        if (sin6->sin6_flowinfo)
            printf(" flow %u", ntohl(sin6->sin6_flowinfo));
        printf(" port %u", ntohs(sin6->sin6_port));
    } else {
        printf("family %d len %u", sa->sa_family, (unsigned)len);
    }
}

/* Prints each entry of a getaddrinfo result, in its order, one a line. */
static inline void print_addrinfo(const struct addrinfo *res)
{
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        printf("  %s %s %d ", family_name(ai->ai_family),
               socktype_name(ai->ai_socktype), ai->ai_protocol);
        print_sockaddr(ai->ai_addr, ai->ai_addrlen);
        if (ai->ai_canonname)
            printf(" canon %s", ai->ai_canonname);
        if (ai->ai_flags)
            printf(" flags %s", ai_flags_name(ai->ai_flags));
        printf("\n");
    }
}

/* Prints a hostent: name, aliases, type, length and addresses in order. */
static inline void print_hostent(const struct hostent *h)
{
    char text[INET6_ADDRSTRLEN];

    printf("  name %s type %s len %d\n", h->h_name, family_name(h->h_addrtype),
           h->h_length);
    for (char **a = h->h_aliases; a && *a; a++)
        printf("  alias %s\n", *a);
    for (char **a = h->h_addr_list; a && *a; a++) {
        if (h->h_addrtype == AF_INET || h->h_addrtype == AF_INET6)
            inet_ntop(h->h_addrtype, *a, text, sizeof(text));
        else
            strcpy(text, "?");
        printf("  addr %s\n", text);
    }
}

/* Prints a getaddrinfo call and its answer, and frees the result. */
static inline int show_gai(const char *node, const char *service, int family,
                           int socktype, int protocol, int flags)
{
    struct addrinfo hints = {.ai_family = family,
                             .ai_socktype = socktype,
                             .ai_protocol = protocol,
                             .ai_flags = flags};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(node, service, &hints, &res);

    printf("getaddrinfo %s %s %s %s %d %s: %s\n", node ? node : "NULL",
           service ? service : "NULL", family_name(family),
           socktype_name(socktype), protocol, ai_flags_name(flags),
           eai_name(rc));
    if (rc == 0) {
        print_addrinfo(res);
        freeaddrinfo(res);
    } else if (rc == EAI_SYSTEM) {
        printf("  errno %s\n", ename(errno));
    }
    return rc;
}

#endif
