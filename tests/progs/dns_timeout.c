/*
 * dns_timeout: lookups the DNS server never answers, or answers only in
 * part, with resolv.conf's "options timeout:1 attempts:1": what each call
 * returns (EAI_AGAIN, TRY_AGAIN...) and, mostly, how many whole seconds it
 * took, which the resolv.conf options decide. The cases run at once, one thread
 * each, and print in a fixed order when all are done; a ticker thread
 * shows the process is not frozen meanwhile.
 *
 * Meant to run under tests/dns/netns.c with the files of tests/dns/etc and
 * tests/dns/etc-timeout and fakedns serving tests/dns/zone, where
 * silent.test.lan and the reverse name of 192.0.2.61 get no answer at all,
 * half.test.lan an A answer and no AAAA one.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define PROG_NAME "dns_timeout"
#include "progs.h"

#include "dns.h"

enum { LINE = NI_MAXHOST + 64 };

struct lookup {
    const char *what;
    void (*call)(const struct lookup *l, char *out);
    const char *name;
    int family;
    int flags;
    bool timed; /* print its whole seconds */
    char out[LINE];
    long ms;
};

static atomic_bool stop;
static atomic_int ticks;

static void gai(const struct lookup *l, char *out)
{
    struct addrinfo hints = {.ai_family = l->family,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = l->flags};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(l->name, NULL, &hints, &res);
    size_t len = (size_t)snprintf(out, LINE, "%s", eai_name(rc));

    for (struct addrinfo *ai = rc == 0 ? res : NULL; ai; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN];
        void *addr =
            ai->ai_family == AF_INET6
                ? (void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                : (void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;

        inet_ntop(ai->ai_family, addr, text, sizeof(text));
        len += (size_t)snprintf(out + len, LINE - len, " %s", text);
    }
    if (rc == 0)
        freeaddrinfo(res);
}

static void ghbn(const struct lookup *l, char *out)
{
    static char buf[8192];
    struct hostent he, *h = NULL;
    int herr = 0;
    int rc =
        gethostbyname2_r(l->name, l->family, &he, buf, sizeof(buf), &h, &herr);

    snprintf(out, LINE, "%s %s", ename(rc), h ? h->h_name : herr_name(herr));
}

static void gni(const struct lookup *l, char *out)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    char host[NI_MAXHOST];
    int rc;

    inet_pton(AF_INET, l->name, &sin.sin_addr);
    rc = getnameinfo((struct sockaddr *)&sin, sizeof(sin), host, sizeof(host),
                     NULL, 0, l->flags);
    snprintf(out, LINE, "%s%s%s", eai_name(rc), rc == 0 ? " " : "",
             rc == 0 ? host : "");
}

static void ghba(const struct lookup *l, char *out)
{
    static char buf[8192];
    struct in_addr a;
    struct hostent he, *h = NULL;
    int herr = 0, rc;

    inet_pton(AF_INET, l->name, &a);
    rc = gethostbyaddr_r(&a, sizeof(a), AF_INET, &he, buf, sizeof(buf), &h,
                         &herr);
    snprintf(out, LINE, "%s %s", ename(rc), h ? h->h_name : herr_name(herr));
}

/* Each case says whether its whole seconds are printed: they are where
 * resolv.conf's timeout alone decides them. Where one of glibc's two
 * parallel queries is answered and the other is not, glibc then retries
 * them one after the other, twice (3 s in all); its answer is compared,
 * not how long that took. */
static struct lookup lookups[] = {
    {.what = "getaddrinfo UNSPEC",
     .call = gai,
     .name = "silent.test.lan.",
     .family = AF_UNSPEC,
     .timed = true},
    {.what = "getaddrinfo INET",
     .call = gai,
     .name = "silent.test.lan",
     .family = AF_INET,
     .timed = true},
    {.what = "getaddrinfo INET6",
     .call = gai,
     .name = "silent",
     .family = AF_INET6,
     .timed = true},
    {.what = "getaddrinfo UNSPEC",
     .call = gai,
     .name = "half.test.lan",
     .family = AF_UNSPEC,
     .timed = false},
    {.what = "getaddrinfo INET",
     .call = gai,
     .name = "half.test.lan",
     .family = AF_INET,
     .timed = true},
    {.what = "gethostbyname2_r INET",
     .call = ghbn,
     .name = "silent.test.lan.",
     .family = AF_INET,
     .timed = true},
    {.what = "gethostbyname2_r INET6",
     .call = ghbn,
     .name = "half.test.lan.",
     .family = AF_INET6,
     .timed = true},
    {.what = "getnameinfo NAMEREQD",
     .call = gni,
     .name = "192.0.2.61",
     .flags = NI_NAMEREQD,
     .timed = true},
    {.what = "getnameinfo", .call = gni, .name = "192.0.2.61", .timed = true},
    {.what = "gethostbyaddr_r",
     .call = ghba,
     .name = "192.0.2.61",
     .timed = true},
};

enum { NLOOKUPS = sizeof(lookups) / sizeof(lookups[0]) };

static void *run_lookup(void *arg)
{
    struct lookup *l = arg;
    int64_t began = now_ns(CLOCK_MONOTONIC);

    l->call(l, l->out);
    l->ms = (long)((now_ns(CLOCK_MONOTONIC) - began) / 1000000);
    return NULL;
}

static void *ticker(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        nap_ms(10);
        atomic_fetch_add(&ticks, 1);
    }
    return NULL;
}

int main(void)
{
    pthread_t threads[NLOOKUPS], tick;
    int64_t began = now_ns(CLOCK_MONOTONIC);
    long wall_ms;

    check_rc(pthread_create(&tick, NULL, ticker, NULL), "pthread_create");
    for (int i = 0; i < NLOOKUPS; i++)
        check_rc(pthread_create(&threads[i], NULL, run_lookup, &lookups[i]),
                 "pthread_create");
    for (int i = 0; i < NLOOKUPS; i++)
        check_rc(pthread_join(threads[i], NULL), "pthread_join");
    wall_ms = (long)((now_ns(CLOCK_MONOTONIC) - began) / 1000000);
    atomic_store(&stop, true);
    check_rc(pthread_join(tick, NULL), "pthread_join");

    for (int i = 0; i < NLOOKUPS; i++) {
        const struct lookup *l = &lookups[i];

        /* Whole seconds: the timeouts are whole seconds. */
        printf("%s %s: %s", l->what, l->name, l->out);
        if (l->timed)
            printf(", %ld s", (l->ms + 500) / 1000);
        printf("\n");
        fprintf(stderr, "%s %s: %ld ms\n", l->what, l->name, l->ms);
    }
    /* The ticker sleeps 10 ms at a time; during the longest lookup it
     * must have run for most of it. */
    printf("ticker ran alongside: %s\n",
           atomic_load(&ticks) >= wall_ms / 10 / 2 ? "yes" : "no");
    fprintf(stderr, "wall_ms=%ld ticks=%d\n", wall_ms, atomic_load(&ticks));
    return 0;
}
