/*
 * dns_table: resolves a table of names with every kind of flag, family,
 * socket type and service, through getaddrinfo, getnameinfo, the
 * gethostbyname family and gethostbyaddr, and prints each call and its
 * whole answer in the order the call gave it. Whatever the answers are,
 * native and green runs must print the same.
 *
 * Meant to run under tests/dns/netns.c, with the files of tests/dns/etc as
 * /etc/hosts, /etc/resolv.conf and /etc/nsswitch.conf and fakedns serving
 * tests/dns/zone; the names below are those of these files. None of them
 * is slow or silent (dns_timeout has those), so the table takes a few
 * milliseconds per call.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define PROG_NAME "dns_table"
#include "progs.h"

#include "dns.h"

/* Names of every kind: from /etc/hosts, from DNS only, through CNAMEs, in
 * the second search domain, absent, numeric. */
static const char *const names[] = {
    "www",            /* DNS, through the search list */
    "www.test.lan",   /* as it is, one dot is enough */
    "www.test.lan.",  /* absolute */
    "WWW.Test.Lan",   /* names have no case */
    "alias",          /* CNAME to www */
    "chain.test.lan", /* CNAME to a CNAME */
    "far",            /* CNAME into other.lan */
    "dangling",       /* CNAME to nothing */
    "web",            /* only in the second search domain */
    "x.sub",          /* tried as it is, then with the search list */
    "split",          /* AAAA in test.lan, A in other.lan */
    "v4only",
    "v6only",
    "big.test.lan", /* 40 addresses: truncated over UDP, again over TCP */
    "broken",       /* SERVFAIL */
    "nosuch",       /* NXDOMAIN everywhere */
    "nosuch.test.lan.",
    "both",       /* in /etc/hosts and in DNS */
    "hostsonly",  /* /etc/hosts: its first name is canonical */
    "hostsalias", /* /etc/hosts: an alias */
    "multi",      /* /etc/hosts: three lines */
    "v6hosts",
    "localhost",
    "localhost.",
    "box", /* the hostname, in /etc/hosts */
    "192.0.2.10",
    "2001:db8::10",
    "::ffff:192.0.2.10",
    "127.1", /* inet_aton's short forms */
    "0x7f.0.0.1",
    "1.2.3.4.5",  /* not an address, so a name */
    "fe80::1%lo", /* with a scope */
    "fe80::1%1",
    "",
};

/* What each name is asked with. */
static const struct {
    int family, socktype, flags;
    const char *service;
} combos[] = {
    {AF_UNSPEC, SOCK_STREAM, 0, NULL},
    {AF_UNSPEC, 0, AI_CANONNAME, "80"},
    {AF_INET, SOCK_DGRAM, AI_CANONNAME, "domain"},
    {AF_INET6, 0, 0, NULL},
    {AF_INET6, SOCK_STREAM, AI_V4MAPPED, "http"},
    {AF_INET6, SOCK_STREAM, AI_V4MAPPED | AI_ALL | AI_CANONNAME, "http"},
    {AF_UNSPEC, SOCK_STREAM, AI_ADDRCONFIG, NULL},
    {AF_INET, SOCK_STREAM, AI_ADDRCONFIG | AI_CANONNAME, "http"},
    {AF_INET6, SOCK_DGRAM, AI_ADDRCONFIG | AI_V4MAPPED, "53"},
    {AF_UNSPEC, 0, AI_NUMERICHOST, NULL},
};

static void gai_table(void)
{
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++)
        for (size_t c = 0; c < sizeof(combos) / sizeof(combos[0]); c++)
            show_gai(names[n], combos[c].service, combos[c].family,
                     combos[c].socktype, 0, combos[c].flags);
}

/* NULL nodes, services, and hints that are wrong. */
static void gai_edges(void)
{
    struct addrinfo *res = NULL;
    int rc;

    /* No node: the wildcard address with AI_PASSIVE, loopback without. */
    show_gai(NULL, "80", AF_UNSPEC, SOCK_STREAM, 0, AI_PASSIVE);
    show_gai(NULL, "80", AF_INET, 0, 0, AI_PASSIVE);
    show_gai(NULL, "http", AF_INET6, SOCK_STREAM, 0, AI_PASSIVE);
    show_gai(NULL, "80", AF_UNSPEC, SOCK_STREAM, 0, 0);
    show_gai(NULL, "domain", AF_UNSPEC, 0, 0, 0);
    show_gai(NULL, "80", AF_UNSPEC, SOCK_STREAM, 0, AI_PASSIVE | AI_ADDRCONFIG);
    show_gai(NULL, "80", AF_INET6, SOCK_STREAM, 0, AI_V4MAPPED);
    show_gai(NULL, NULL, AF_UNSPEC, 0, 0, AI_PASSIVE);

    /* Services. */
    show_gai("www", "http", AF_INET, 0, 0, 0); /* tcp only */
    show_gai("www", "ntp", AF_INET, 0, 0, 0);  /* udp only */
    show_gai("www", "ntp", AF_INET, SOCK_STREAM, 0, 0);
    show_gai("www", "domain", AF_INET, 0, 0, 0);
    show_gai("www", "www", AF_INET, 0, 0, 0); /* an alias of http */
    show_gai("www", "nosuchservice", AF_INET, 0, 0, 0);
    show_gai("www", "http", AF_INET, 0, 0, AI_NUMERICSERV);
    show_gai("www", "8080", AF_INET, 0, 0, AI_NUMERICSERV);
    show_gai("www", "0", AF_INET, SOCK_STREAM, 0, 0);
    show_gai("www", "65535", AF_INET, SOCK_STREAM, 0, 0);
    show_gai("www", "65536", AF_INET, SOCK_STREAM, 0, 0);
    show_gai("www", "-1", AF_INET, SOCK_STREAM, 0, 0);
    show_gai("www", " 80", AF_INET, SOCK_STREAM, 0, 0);
    show_gai("www", "80", AF_INET, SOCK_RAW, 0, 0);
    show_gai("www", NULL, AF_INET, SOCK_RAW, 0, 0);
    show_gai("www", "80", AF_INET, SOCK_STREAM, IPPROTO_TCP, 0);
    show_gai("www", "80", AF_INET, 0, IPPROTO_UDP, 0);
    show_gai("www", "80", AF_INET, SOCK_STREAM, IPPROTO_UDP, 0);
    show_gai("www", NULL, AF_INET, SOCK_SEQPACKET, 0, 0);
    show_gai("www", NULL, AF_INET, 99, 0, 0);

    /* Families and flags that are wrong. */
    show_gai("www", "80", AF_UNIX, 0, 0, 0);
    show_gai("www", "80", 12345, 0, 0, 0);
    show_gai(NULL, "80", AF_UNSPEC, 0, 0, AI_CANONNAME);
    show_gai("www", "80", AF_UNSPEC, 0, 0, 0x10000);
    show_gai(NULL, NULL, AF_UNSPEC, 0, 0, 0);
    show_gai(NULL, "80", AF_UNSPEC, 0, 0, AI_NUMERICHOST);
    show_gai("192.0.2.10", NULL, AF_INET, 0, 0, AI_NUMERICHOST);
    show_gai("192.0.2.10", NULL, AF_INET6, 0, 0, 0);
    show_gai("2001:db8::10", NULL, AF_INET, 0, 0, 0);
    show_gai("192.0.2.10", "80", AF_INET6, SOCK_STREAM, 0, AI_V4MAPPED);

    /* No hints at all. */
    rc = getaddrinfo("www", "80", NULL, &res);
    printf("getaddrinfo www 80 nohints: %s\n", eai_name(rc));
    if (rc == 0) {
        print_addrinfo(res);
        freeaddrinfo(res);
    }
}

/* A socket address from text. */
static socklen_t make_addr(const char *text, int port,
                           struct sockaddr_storage *ss)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        return sizeof(*sin);
    }
    check(inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1, text);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    return sizeof(*sin6);
}

static void show_gni(const char *addr, int port, int flags, size_t hostlen,
                     size_t servlen)
{
    struct sockaddr_storage ss;
    socklen_t len = make_addr(addr, port, &ss);
    char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
    int rc = getnameinfo((struct sockaddr *)&ss, len, hostlen ? host : NULL,
                         (socklen_t)hostlen, servlen ? serv : NULL,
                         (socklen_t)servlen, flags);

    printf("getnameinfo %s %d %s hostlen %zu servlen %zu: %s", addr, port,
           ni_flags_name(flags), hostlen, servlen, eai_name(rc));
    if (rc == 0)
        printf(" host '%s' serv '%s'", host, serv);
    printf("\n");
}

static void gni_table(void)
{
    static const char *const addrs[] = {
        "192.0.2.10", /* PTR www.test.lan */
        "192.0.2.5",  /* /etc/hosts hostsonly */
        "10.9.9.9",   /* /etc/hosts both */
        "192.0.2.40", /* PTR both.test.lan */
        "192.0.2.12", /* PTR through a CNAME */
        "192.0.2.1",  /* /etc/hosts box.test.lan, our own domain */
        "192.0.2.99", /* nothing */
        "127.0.0.1",    "2001:db8::10", "2001:db8::6", /* /etc/hosts multi */
        "2001:db8::99", "::1",          "::ffff:192.0.2.10", "::", "0.0.0.0",
    };
    static const int flags[] = {
        0,
        NI_NUMERICHOST,
        NI_NAMEREQD,
        NI_NUMERICSERV,
        NI_NOFQDN,
        NI_DGRAM,
        NI_NUMERICHOST | NI_NAMEREQD,
        NI_NUMERICHOST | NI_NUMERICSERV,
    };
    static const int ports[] = {80, 53, 123, 12345, 0};

    for (size_t a = 0; a < sizeof(addrs) / sizeof(addrs[0]); a++)
        for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++)
            show_gni(addrs[a], 80, flags[f], NI_MAXHOST, NI_MAXSERV);
    for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
        show_gni("192.0.2.10", ports[p], 0, NI_MAXHOST, NI_MAXSERV);
        show_gni("192.0.2.10", ports[p], NI_DGRAM, NI_MAXHOST, NI_MAXSERV);
    }
    /* Only one of host and service, and buffers that are too small. */
    show_gni("192.0.2.10", 80, 0, NI_MAXHOST, 0);
    show_gni("192.0.2.10", 80, 0, 0, NI_MAXSERV);
    show_gni("192.0.2.10", 80, 0, 0, 0);
    show_gni("192.0.2.10", 80, 0, 5, NI_MAXSERV);
    show_gni("192.0.2.10", 80, NI_NUMERICHOST, 5, NI_MAXSERV);
    show_gni("192.0.2.10", 80, 0, NI_MAXHOST, 2);
    show_gni("192.0.2.10", 12345, 0, NI_MAXHOST, 3);
}

/* A socket address that getnameinfo must refuse. */
static void gni_bad(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    struct sockaddr_un {
        sa_family_t family;
        char path[108];
    } sun = {.family = AF_UNIX, .path = "/tmp/x"};
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    int rc;

    rc = getnameinfo((struct sockaddr *)&sin, sizeof(sin) - 1, host,
                     sizeof(host), serv, sizeof(serv), 0);
    printf("getnameinfo short sockaddr_in: %s\n", eai_name(rc));
    rc = getnameinfo((struct sockaddr *)&sin, sizeof(struct sockaddr_in6), host,
                     sizeof(host), serv, sizeof(serv), 0);
    printf("getnameinfo long sockaddr_in: %s\n", eai_name(rc));
    rc = getnameinfo((struct sockaddr *)&sun, sizeof(sun), host, sizeof(host),
                     serv, sizeof(serv), 0);
    printf("getnameinfo AF_UNIX: %s\n", eai_name(rc));
}

/* Names for the gethostbyname family. */
static const char *const host_names[] = {
    "www",
    "alias",
    "chain.test.lan",
    "far",
    "dangling",
    "web",
    "split",
    "v4only",
    "v6only",
    "big.test.lan",
    "broken",
    "nosuch",
    "both",
    "hostsonly",
    "hostsalias",
    "multi",
    "v6hosts",
    "localhost",
    "192.0.2.10",
    "2001:db8::10",
    "127.1",
    "www.test.lan.",
    "",
};

static void ghbn_table(void)
{
    for (size_t n = 0; n < sizeof(host_names) / sizeof(host_names[0]); n++) {
        const char *name = host_names[n];
        struct hostent *h;

        h_errno = 0;
        h = gethostbyname(name);
        printf("gethostbyname %s: %s\n", name, h ? "ok" : herr_name(h_errno));
        if (h)
            print_hostent(h);
        for (int f = 0; f < 3; f++) {
            int family = f == 0 ? AF_INET : f == 1 ? AF_INET6 : AF_UNIX;

            h_errno = 0;
            h = gethostbyname2(name, family);
            printf("gethostbyname2 %s %s: %s\n", name, family_name(family),
                   h ? "ok" : herr_name(h_errno));
            if (h)
                print_hostent(h);
        }
    }
}

static void show_ghbn_r(const char *name, int family, size_t buflen)
{
    static char buf[16384];
    struct hostent he, *res = (struct hostent *)1;
    int herr = -1, rc;

    if (family == AF_UNSPEC)
        rc = gethostbyname_r(name, &he, buf, buflen, &res, &herr);
    else
        rc = gethostbyname2_r(name, family, &he, buf, buflen, &res, &herr);
    printf("gethostbyname%s_r %s %s buflen %zu: %s result %s",
           family == AF_UNSPEC ? "" : "2", name, family_name(family), buflen,
           ename(rc),
           res == &he ? "ok"
           : res      ? "?"
                      : "NULL");
    if (!res)
        printf(" h_errno %s", herr_name(herr));
    printf("\n");
    if (res == &he)
        print_hostent(res);
}

static void ghbn_r_table(void)
{
    for (size_t n = 0; n < sizeof(host_names) / sizeof(host_names[0]); n++) {
        show_ghbn_r(host_names[n], AF_UNSPEC, 16384);
        show_ghbn_r(host_names[n], AF_INET, 16384);
        show_ghbn_r(host_names[n], AF_INET6, 16384);
    }
    show_ghbn_r("www", AF_UNSPEC, 16);
    show_ghbn_r("www", AF_INET6, 40);
    show_ghbn_r("big.test.lan", AF_UNSPEC, 256);
    show_ghbn_r("hostsonly", AF_UNSPEC, 16);
    show_ghbn_r("nosuch", AF_UNSPEC, 16);
}

static void show_ghba(const char *text, bool reentrant, size_t buflen)
{
    static char buf[16384];
    struct sockaddr_storage ss;
    socklen_t sslen = make_addr(text, 0, &ss);
    const void *addr;
    socklen_t len;
    int family = ss.ss_family;
    struct hostent he, *h;
    int herr = -1, rc = 0;

    if (family == AF_INET) {
        addr = &((struct sockaddr_in *)&ss)->sin_addr;
        len = 4;
    } else {
        addr = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        len = 16;
    }
    (void)sslen;
    if (reentrant) {
        rc = gethostbyaddr_r(addr, len, family, &he, buf, buflen, &h, &herr);
        printf("gethostbyaddr_r %s buflen %zu: %s result %s", text, buflen,
               ename(rc), h ? "ok" : "NULL");
        if (!h)
            printf(" h_errno %s", herr_name(herr));
        printf("\n");
    } else {
        h_errno = 0;
        h = gethostbyaddr(addr, len, family);
        printf("gethostbyaddr %s: %s\n", text, h ? "ok" : herr_name(h_errno));
    }
    if (h)
        print_hostent(h);
}

static void ghba_table(void)
{
    static const char *const addrs[] = {
        "192.0.2.10",  "192.0.2.5",    "10.9.9.9",  "192.0.2.40",
        "192.0.2.12",  "192.0.2.99",   "127.0.0.1", "2001:db8::10",
        "2001:db8::6", "2001:db8::99", "::1",       "::ffff:192.0.2.10",
    };
    struct in_addr a4;
    struct hostent *h;

    for (size_t a = 0; a < sizeof(addrs) / sizeof(addrs[0]); a++) {
        show_ghba(addrs[a], false, 0);
        show_ghba(addrs[a], true, 16384);
    }
    show_ghba("192.0.2.10", true, 16);
    show_ghba("192.0.2.5", true, 16);

    /* A length or family that does not fit the address. */
    inet_pton(AF_INET, "192.0.2.10", &a4);
    h_errno = 0;
    h = gethostbyaddr(&a4, 3, AF_INET);
    printf("gethostbyaddr len 3: %s\n", h ? "ok" : herr_name(h_errno));
    h_errno = 0;
    h = gethostbyaddr(&a4, 4, AF_INET6);
    printf("gethostbyaddr len 4 INET6: %s\n", h ? "ok" : herr_name(h_errno));
    h_errno = 0;
    h = gethostbyaddr(&a4, 4, AF_UNIX);
    printf("gethostbyaddr AF_UNIX: %s\n", h ? "ok" : herr_name(h_errno));
}

static void strerror_table(void)
{
    static const int codes[] = {
        0,          EAI_BADFLAGS, EAI_NONAME,   EAI_AGAIN,   EAI_FAIL,
        EAI_NODATA, EAI_FAMILY,   EAI_SOCKTYPE, EAI_SERVICE, EAI_ADDRFAMILY,
        EAI_MEMORY, EAI_SYSTEM,   EAI_OVERFLOW, -13,         1,
        12345,
    };

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        printf("gai_strerror %d: %s\n", codes[i], gai_strerror(codes[i]));
}

int main(void)
{
    gai_table();
    gai_edges();
    gni_table();
    gni_bad();
    ghbn_table();
    ghbn_r_table();
    ghba_table();
    strerror_table();
    printf("done\n");
    return 0;
}
