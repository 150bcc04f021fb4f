/*
 * shim/dns.h: name lookups that park the green thread instead of blocking
 * its worker, with c-ares driven from the waiting thread (shim/dns.c).
 *
 * c-ares reads the same /etc/resolv.conf (servers, search, ndots, timeout,
 * attempts, rotate) and /etc/hosts, in the order /etc/nsswitch.conf gives
 * for "files" and "dns". Functions return 0 or an EAI_* code, and set
 * *herr to a netdb h_errno value where they have one. Green threads only.
 */
#ifndef G_DNS_H
#define G_DNS_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Whether /etc/nsswitch.conf's hosts sources are ones c-ares serves
 * (files, dns); otherwise glibc's own lookup runs on the thread pool. */
bool g_dns_serves(void);

/* Whether the hosts file is one of the sources (glibc's files module then
 * wants a minimum of buffer for the _r calls before it looks). */
bool g_dns_reads_files(void);

/* The addresses a name has, in c-ares' order (RFC 6724 destination
 * address selection, as glibc sorts them). */
struct g_dns_addrs {
    char *canon;   /* the canonical name (after CNAMEs), or NULL */
    size_t count;
    struct sockaddr_storage *addrs;
};

/* May park. The addresses of name for family (AF_UNSPEC, AF_INET,
 * AF_INET6) with getaddrinfo's AI_V4MAPPED, AI_ALL and AI_ADDRCONFIG in
 * flags. On success the caller frees *out with g_dns_addrs_free. */
int g_dns_addrs(const char *name, int family, int flags, struct g_dns_addrs *out);
void g_dns_addrs_free(struct g_dns_addrs *a);

/* Copy he into ret and buf as glibc's _r calls fill them: 0, or ERANGE
 * when buf is too small. */
int g_dns_hostent_fill(const struct hostent *he, struct hostent *ret,
                       char *buf, size_t buflen);

/* May park. gethostbyname2's answer for name in family, or gethostbyaddr's
 * for addr (len bytes of family), as one malloc'd block the caller frees.
 * A failure is EAI_AGAIN where glibc's _r calls return EAGAIN (a timeout,
 * with *herr TRY_AGAIN; an answer that is only a CNAME, NO_RECOVERY) and
 * EAI_FAIL after a server failure (TRY_AGAIN, but they return 0). */
int g_dns_host_by_name(const char *name, int family, struct hostent **out,
                       int *herr);
int g_dns_host_by_addr(const void *addr, socklen_t len, int family,
                       struct hostent **out, int *herr);

#endif
