/*
 * dns_alongside: while one thread waits for a slow answer (the DNS server
 * answers slow.test.lan, and the reverse name of 192.0.2.60, 300 ms after
 * each query), another thread keeps ticking every 10 ms. It must tick at
 * least 15 times during each lookup: getaddrinfo, gethostbyname,
 * gethostbyname2_r, getnameinfo and gethostbyaddr. A resolver that held
 * its OS thread for the whole lookup would stop the ticker wherever both
 * threads share one, as green threads on a single worker do.
 *
 * Meant to run under tests/dns/netns.c with fakedns serving tests/dns/zone.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define PROG_NAME "dns_alongside"
#include "progs.h"

#include "dns.h"

/* 300 ms of 10 ms naps is about 29 ticks. Fewer than 15 means the ticker
 * stood still for half the lookup or more: a worker held by the lookup
 * gives 0 or 1, a busy machine rarely costs more than a few. */
enum { MIN_TICKS = 15 };

static atomic_int ticks;
static atomic_bool stop;

static void *ticker(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        nap_ms(10);
        atomic_fetch_add(&ticks, 1);
    }
    return NULL;
}

/* Starts counting ticks for one lookup. */
static void begin(void)
{
    atomic_store(&ticks, 0);
}

/* Prints how a lookup went alongside the ticker; the count itself, which
 * varies from run to run, goes to stderr. */
static void end(const char *call, const char *answer)
{
    int n = atomic_load(&ticks);

    printf("%s: %s, ticker ran alongside: %s\n", call, answer,
           n >= MIN_TICKS ? "yes" : "no");
    fprintf(stderr, "%s: %d ticks\n", call, n);
}

static void lookups(void)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    static char buf[8192];
    char host[NI_MAXHOST], answer[NI_MAXHOST + 64];
    struct hostent he, *h;
    int rc, herr;

    begin();
    rc = getaddrinfo("slow", "80", &hints, &res);
    if (rc == 0) {
        char addr[INET6_ADDRSTRLEN];

        inet_ntop(
            res->ai_family,
            res->ai_family == AF_INET6
                ? (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                : (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr,
            addr, sizeof(addr));
        snprintf(answer, sizeof(answer), "0, first %s", addr);
        freeaddrinfo(res);
    } else {
        snprintf(answer, sizeof(answer), "%s", eai_name(rc));
    }
    end("getaddrinfo slow", answer);

    begin();
    h = gethostbyname("slow");
    snprintf(answer, sizeof(answer), "%s", h ? h->h_name : herr_name(h_errno));
    end("gethostbyname slow", answer);

    begin();
    rc = gethostbyname2_r("slow", AF_INET6, &he, buf, sizeof(buf), &h, &herr);
    snprintf(answer, sizeof(answer), "%s %s", ename(rc),
             h ? h->h_name : herr_name(herr));
    end("gethostbyname2_r slow AF_INET6", answer);

    inet_pton(AF_INET, "192.0.2.60", &sin.sin_addr);
    begin();
    rc = getnameinfo((struct sockaddr *)&sin, sizeof(sin), host, sizeof(host),
                     NULL, 0, NI_NAMEREQD);
    snprintf(answer, sizeof(answer), "%s%s%s", eai_name(rc), rc == 0 ? " " : "",
             rc == 0 ? host : "");
    end("getnameinfo 192.0.2.60", answer);

    begin();
    h = gethostbyaddr(&sin.sin_addr, sizeof(sin.sin_addr), AF_INET);
    snprintf(answer, sizeof(answer), "%s", h ? h->h_name : herr_name(h_errno));
    end("gethostbyaddr 192.0.2.60", answer);
}

int main(void)
{
    pthread_t t;

    check_rc(pthread_create(&t, NULL, ticker, NULL), "pthread_create");
    /* Let the ticker get going before the first lookup. */
    while (atomic_load(&ticks) < 2)
        nap_ms(1);
    lookups();
    atomic_store(&stop, true);
    check_rc(pthread_join(t, NULL), "pthread_join");
    return 0;
}
