/*
 * fakedns: the small authoritative DNS server of the name resolution tests
 * (issue 6). It answers from a zone file, over UDP and TCP, on 127.0.0.1
 * and ::1, port 53 unless --port says otherwise; tests/dns/netns.c starts
 * it inside a private network namespace, where nothing else listens there.
 * It is a plain program that knows nothing of libgreen and is never run
 * under it.
 *
 *     fakedns --zone FILE [--delay-ms N] [--port N] [--log]
 *
 * The zone file has one record a line; '#' starts a comment. Names are
 * fully qualified (the trailing dot is optional) and compared without
 * regard to case:
 *
 *     www.test.lan.     A      192.0.2.10
 *     www.test.lan.     AAAA   2001:db8::10
 *     alias.test.lan.   CNAME  www.test.lan.
 *     10.2.0.192.in-addr.arpa. PTR www.test.lan.
 *     slow.test.lan.    DELAY  300        answer 300 ms after the query
 *     silent.test.lan.  DROP              never answer
 *     half.test.lan.    DROP   AAAA       never answer AAAA queries
 *     broken.test.lan.  SERVFAIL          answer with SERVFAIL
 *     $GENERATE 0-255 n$.par.test.lan. A 10.77.0.$
 *
 * DELAY, DROP and SERVFAIL are not records but what to do with queries for
 * the name, optionally for one type only; $GENERATE repeats a line with
 * each number of the range in place of '$' (or of "${N}", the number plus
 * N). A query for a name with no line gets NXDOMAIN, with no SOA; a name
 * with lines but none of the type asked gets an empty NOERROR answer. A
 * CNAME is followed within the zone, each step an answer record, as an
 * authoritative server does. An answer longer than 512 bytes (or than the
 * query's EDNS size) is sent truncated over UDP, so that the client asks
 * again over TCP.
 *
 * Every answer leaves its delay after its query arrived (--delay-ms, or
 * the name's DELAY), however many others are waiting: answers wait in a
 * queue that one poll loop serves, never in a sleep. fakedns prints
 * "ready" on stdout once it listens, and on SIGTERM prints what it served
 * on stderr and exits 0.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    T_A = 1,
    T_CNAME = 5,
    T_PTR = 12,
    T_AAAA = 28,
    T_OPT = 41,
    T_ANY = 255,
};

enum { RC_FORMERR = 1, RC_SERVFAIL = 2, RC_NXDOMAIN = 3, RC_NOTIMP = 4 };

enum {
    NAME_MAX_TEXT = 256, /* a name in text, with its NUL */
    MSG_MAX = 65535,     /* a DNS message over TCP */
    UDP_PLAIN_MAX = 512, /* a UDP answer to a query without EDNS */
    CNAME_STEPS = 8,     /* a longer chain is a loop */
    MAX_CONNS = 512,     /* TCP connections at a time */
    TTL = 300,
};

/* What a line of the zone says of one name. */
enum rule_kind {
    RULE_RECORD,   /* an answer record */
    RULE_DELAY,    /* answer after ms */
    RULE_DROP,     /* never answer */
    RULE_SERVFAIL, /* answer SERVFAIL */
};

struct rule {
    char name[NAME_MAX_TEXT]; /* lower case, no trailing dot */
    enum rule_kind kind;
    int type;                     /* record type; 0: every type (not RECORD) */
    int delay_ms;                 /* RULE_DELAY */
    uint8_t rdata[NAME_MAX_TEXT]; /* RULE_RECORD, in wire form */
    int rdlen;
};

static struct rule *rules;
static int nrules;
static int default_delay_ms;
static bool log_queries;

/* An answer waiting for its time. */
struct pending {
    int64_t due_ns;
    int fd;            /* UDP socket, or TCP connection */
    unsigned conn_gen; /* TCP: the connection it was asked on */
    bool tcp;
    struct sockaddr_storage peer; /* UDP */
    socklen_t peer_len;
    uint8_t *msg;
    int len;
};

static struct pending *queue;
static int nqueue, queue_cap;

/* A TCP connection and the bytes of the queries it has sent so far. */
struct conn {
    int fd; /* -1: free */
    unsigned gen;
    uint8_t buf[2 + MSG_MAX];
    int len;
};

static struct conn conns[MAX_CONNS];

static struct {
    long udp, tcp, answered, dropped, truncated;
} stats;

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void die(const char *what)
{
    fprintf(stderr, "fakedns: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- the zone ------------------------------------------------------------ */

static void lower_name(char *dst, const char *src)
{
    size_t n = strlen(src);

    if (n > 0 && src[n - 1] == '.')
        n--;
    if (n >= NAME_MAX_TEXT)
        n = NAME_MAX_TEXT - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[n] = '\0';
}

/* Writes name (text, lower case, no trailing dot) in wire form; returns
 * its length, or -1 if a label is empty or too long. */
static int name_to_wire(const char *name, uint8_t *out, int cap)
{
    int len = 0;

    while (*name) {
        const char *dot = strchr(name, '.');
        int label = dot ? (int)(dot - name) : (int)strlen(name);

        if (label == 0 || label > 63 || len + 1 + label + 1 > cap)
            return -1;
        out[len++] = (uint8_t)label;
        memcpy(out + len, name, (size_t)label);
        len += label;
        name += label + (dot ? 1 : 0);
    }
    out[len++] = 0;
    return len;
}

static int type_of(const char *word)
{
    static const struct {
        const char *name;
        int type;
    } types[] = {
        {"A", T_A}, {"AAAA", T_AAAA}, {"CNAME", T_CNAME}, {"PTR", T_PTR}};

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(word, types[i].name) == 0)
            return types[i].type;
    return -1;
}

static void add_rule(const struct rule *r)
{
    static int cap;

    if (nrules == cap) {
        cap = cap ? cap * 2 : 64;
        rules = realloc(rules, (size_t)cap * sizeof(*rules));
        if (!rules)
            die("realloc");
    }
    rules[nrules++] = *r;
}

/* Parses one line (without $GENERATE); returns 0 or -1 if it is bad. */
static int parse_line(char *line)
{
    char *words[4] = {0}, *save = NULL;
    int n = 0;
    struct rule r = {0};

    for (char *w = strtok_r(line, " \t\r\n", &save); w && n < 4;
         w = strtok_r(NULL, " \t\r\n", &save))
        words[n++] = w;
    if (n == 0)
        return 0;
    if (n < 2)
        return -1;
    lower_name(r.name, words[0]);
    if (strcasecmp(words[1], "DELAY") == 0) {
        if (n < 3)
            return -1;
        r.kind = RULE_DELAY;
        r.delay_ms = atoi(words[2]);
        r.type = n > 3 ? type_of(words[3]) : 0;
    } else if (strcasecmp(words[1], "DROP") == 0 ||
               strcasecmp(words[1], "SERVFAIL") == 0) {
        r.kind = toupper((unsigned char)words[1][1]) == 'R' ? RULE_DROP
                                                            : RULE_SERVFAIL;
        r.type = n > 2 ? type_of(words[2]) : 0;
    } else {
        char target[NAME_MAX_TEXT];

        if (n < 3)
            return -1;
        r.kind = RULE_RECORD;
        r.type = type_of(words[1]);
        switch (r.type) {
        case T_A:
            r.rdlen = 4;
            if (inet_pton(AF_INET, words[2], r.rdata) != 1)
                return -1;
            break;
        case T_AAAA:
            r.rdlen = 16;
            if (inet_pton(AF_INET6, words[2], r.rdata) != 1)
                return -1;
            break;
        case T_CNAME:
        case T_PTR:
            lower_name(target, words[2]);
            r.rdlen = name_to_wire(target, r.rdata, sizeof(r.rdata));
            if (r.rdlen < 0)
                return -1;
            break;
        default:
            return -1;
        }
    }
    if (r.type < 0)
        return -1;
    add_rule(&r);
    return 0;
}

/* Copies tmpl into out with each '$' (or "${N}") replaced by i (plus N). */
static void expand(const char *tmpl, int i, char *out, size_t cap)
{
    size_t len = 0;

    while (*tmpl && len + 16 < cap) {
        int offset = 0;

        if (*tmpl != '$') {
            out[len++] = *tmpl++;
            continue;
        }
        tmpl++;
        if (*tmpl == '{') {
            char *end;

            offset = (int)strtol(tmpl + 1, &end, 10);
            tmpl = *end == '}' ? end + 1 : end;
        }
        len += (size_t)snprintf(out + len, cap - len, "%d", i + offset);
    }
    out[len] = '\0';
}

/* "$GENERATE first-last rest": rest once per number. */
static int parse_generate(char *args)
{
    int first, last, skip = 0;
    char line[1024];

    if (sscanf(args, " %d-%d %n", &first, &last, &skip) != 2 || !skip)
        return -1;
    for (int i = first; i <= last; i++) {
        expand(args + skip, i, line, sizeof(line));
        if (parse_line(line) < 0)
            return -1;
    }
    return 0;
}

static void load_zone(const char *path)
{
    char line[1024];
    int lineno = 0;
    FILE *f = fopen(path, "r");

    if (!f)
        die(path);
    while (fgets(line, sizeof(line), f)) {
        char *hash = strchr(line, '#');
        int rc;

        lineno++;
        if (hash)
            *hash = '\0';
        if (strncasecmp(line, "$GENERATE", 9) == 0)
            rc = parse_generate(line + 9);
        else
            rc = parse_line(line);
        if (rc < 0) {
            fprintf(stderr, "fakedns: %s:%d: bad line\n", path, lineno);
            exit(2);
        }
    }
    fclose(f);
}

/* Whether the zone has any line for name. */
static bool known(const char *name)
{
    for (int i = 0; i < nrules; i++)
        if (strcmp(rules[i].name, name) == 0)
            return true;
    return false;
}

/* The rule of kind for name and type, or NULL; one for the type wins over
 * one for every type. */
static const struct rule *rule_for(const char *name, int type,
                                   enum rule_kind kind)
{
    const struct rule *any = NULL;

    for (int i = 0; i < nrules; i++) {
        const struct rule *r = &rules[i];

        if (r->kind != kind || strcmp(r->name, name) != 0)
            continue;
        if (r->type == type)
            return r;
        if (r->type == 0)
            any = r;
    }
    return any;
}

/* --- answers ------------------------------------------------------------- */

struct writer {
    uint8_t *p;
    int len, cap;
    bool full;
};

static void put(struct writer *w, const void *data, int len)
{
    if (w->len + len > w->cap) {
        w->full = true;
        return;
    }
    memcpy(w->p + w->len, data, (size_t)len);
    w->len += len;
}

static void put16(struct writer *w, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

    put(w, b, 2);
}

static void put32(struct writer *w, uint32_t v)
{
    put16(w, v >> 16);
    put16(w, v & 0xffff);
}

/* One answer record; owner is wire form, or NULL for the question's name
 * (a pointer to offset 12). */
static void put_rr(struct writer *w, const char *owner, const struct rule *r)
{
    if (owner) {
        uint8_t wire[NAME_MAX_TEXT];
        int n = name_to_wire(owner, wire, sizeof(wire));

        put(w, wire, n);
    } else {
        put16(w, 0xc00c);
    }
    put16(w, (unsigned)r->type);
    put16(w, 1); /* IN */
    put32(w, TTL);
    put16(w, (unsigned)r->rdlen);
    put(w, r->rdata, r->rdlen);
}

/* Reads the name at msg[*off] (no compression: queries have one name)
 * into text; returns 0 or -1. */
static int read_qname(const uint8_t *msg, int len, int *off, char *text)
{
    int t = 0, o = *off;

    for (;;) {
        int label;

        if (o >= len)
            return -1;
        label = msg[o++];
        if (label == 0)
            break;
        if (label > 63 || o + label > len || t + label + 2 > NAME_MAX_TEXT)
            return -1;
        if (t > 0)
            text[t++] = '.';
        for (int i = 0; i < label; i++)
            text[t++] = (char)tolower(msg[o + i]);
        o += label;
    }
    text[t] = '\0';
    *off = o;
    return 0;
}

/* The UDP size the query's EDNS OPT record offers, or 0 without one. */
static int edns_size(const uint8_t *q, int len, int off)
{
    int arcount = q[10] << 8 | q[11];

    /* Answer and authority sections are empty in a query. */
    for (int i = 0; i < arcount && off + 11 <= len; i++) {
        int type, size, rdlen;

        if (q[off] != 0)
            return 0; /* only the root name is expected here */
        type = q[off + 1] << 8 | q[off + 2];
        size = q[off + 3] << 8 | q[off + 4];
        rdlen = q[off + 9] << 8 | q[off + 10];
        if (type == T_OPT)
            return size < UDP_PLAIN_MAX ? UDP_PLAIN_MAX : size;
        off += 11 + rdlen;
    }
    return 0;
}

/*
 * Builds the answer to the query q of len bytes into out (MSG_MAX bytes).
 * Returns its length, or -1 if the query gets no answer. *delay_ms gets
 * how long to wait before sending it. Over UDP, an answer longer than
 * the query allows is cut to its question, with TC set.
 */
static int answer(const uint8_t *q, int len, bool tcp, uint8_t *out,
                  int *delay_ms)
{
    struct writer w = {.p = out, .cap = MSG_MAX};
    char qname[NAME_MAX_TEXT], cur[NAME_MAX_TEXT];
    int off = 12, qtype, qend, ancount = 0, rcode = 0, edns, max, tc = 0;
    const struct rule *delay;

    *delay_ms = default_delay_ms;
    if (len < 12 || (q[2] & 0x80))
        return -1; /* not a query */
    if ((q[4] << 8 | q[5]) != 1 || read_qname(q, len, &off, qname) < 0 ||
        off + 4 > len) {
        rcode = RC_FORMERR;
        qend = 12;
        qtype = 0;
        goto header_only;
    }
    qtype = q[off] << 8 | q[off + 1];
    qend = off + 4;
    if (log_queries)
        fprintf(stderr, "fakedns: %s %s type %d\n", tcp ? "tcp" : "udp", qname,
                qtype);
    if (rule_for(qname, qtype, RULE_DROP))
        return -1;
    delay = rule_for(qname, qtype, RULE_DELAY);
    if (delay)
        *delay_ms = delay->delay_ms;
    if (((q[2] >> 3) & 0xf) != 0) {
        rcode = RC_NOTIMP;
        goto header_only;
    }
    if (rule_for(qname, qtype, RULE_SERVFAIL)) {
        rcode = RC_SERVFAIL;
        goto header_only;
    }

    put(&w, q, qend); /* header, fixed below, and question */
    strcpy(cur, qname);
    for (int step = 0; step <= CNAME_STEPS; step++) {
        const struct rule *cname = rule_for(cur, T_CNAME, RULE_RECORD);
        char target[NAME_MAX_TEXT];
        int toff = 0;

        if (!cname || qtype == T_CNAME)
            break;
        put_rr(&w, step == 0 ? NULL : cur, cname);
        ancount++;
        read_qname(cname->rdata, cname->rdlen, &toff, target);
        strcpy(cur, target);
    }
    for (int i = 0; i < nrules; i++) {
        const struct rule *r = &rules[i];

        if (r->kind == RULE_RECORD && strcmp(r->name, cur) == 0 &&
            (r->type == qtype || qtype == T_ANY) &&
            !(r->type == T_CNAME && ancount > 0)) {
            put_rr(&w, strcmp(cur, qname) == 0 ? NULL : cur, r);
            ancount++;
        }
    }
    if (!known(cur))
        rcode = RC_NXDOMAIN; /* also at the end of a dangling chain */
    edns = edns_size(q, len, qend);
    if (edns) {
        put(&w, "", 1); /* OPT: root name, then type, size, ttl, rdlen */
        put16(&w, T_OPT);
        put16(&w, 1232);
        put32(&w, 0);
        put16(&w, 0);
    }
    max = tcp ? MSG_MAX : edns ? edns : UDP_PLAIN_MAX;
    if (w.full || w.len > max) {
        stats.truncated++;
        w.len = qend;
        ancount = 0;
        edns = 0;
        tc = 0x02;
    }
    /* QR, the query's opcode and RD, AA, TC. */
    out[2] = (uint8_t)(0x80 | (q[2] & 0x79) | 0x04 | tc);
    out[3] = (uint8_t)(0x80 | rcode); /* RA */
    out[6] = (uint8_t)(ancount >> 8);
    out[7] = (uint8_t)ancount;
    out[8] = out[9] = 0;
    out[10] = 0;
    out[11] = edns ? 1 : 0;
    return w.len;

header_only:
    memcpy(out, q, (size_t)qend);
    out[2] = (uint8_t)(0x80 | (q[2] & 0x79) | 0x04);
    out[3] = (uint8_t)(0x80 | rcode);
    memset(out + 4, 0, 8);
    if (qend > 12)
        out[5] = 1;
    return qend;
}

/* --- the queue of answers ------------------------------------------------- */

static void enqueue(const struct pending *p)
{
    if (nqueue == queue_cap) {
        queue_cap = queue_cap ? queue_cap * 2 : 256;
        queue = realloc(queue, (size_t)queue_cap * sizeof(*queue));
        if (!queue)
            die("realloc");
    }
    queue[nqueue++] = *p;
}

/* Sends every answer that is due; returns the poll timeout until the next
 * one, in ms, or -1 if none waits. */
static int send_due(void)
{
    int64_t now = now_ns(), next = -1;
    int kept = 0;

    for (int i = 0; i < nqueue; i++) {
        struct pending *p = &queue[i];

        if (p->due_ns > now) {
            if (next < 0 || p->due_ns < next)
                next = p->due_ns;
            queue[kept++] = *p;
            continue;
        }
        if (!p->tcp) {
            sendto(p->fd, p->msg, (size_t)p->len, 0,
                   (struct sockaddr *)&p->peer, p->peer_len);
            stats.answered++;
        } else {
            struct conn *c = &conns[p->conn_gen % MAX_CONNS];

            /* The connection may have gone, or its slot been reused. */
            if (c->fd >= 0 && c->gen == p->conn_gen) {
                uint8_t lenbuf[2] = {(uint8_t)(p->len >> 8), (uint8_t)p->len};
                struct iovec iov[2] = {{lenbuf, 2}, {p->msg, (size_t)p->len}};
                struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

                sendmsg(c->fd, &mh, MSG_NOSIGNAL);
                stats.answered++;
            }
        }
        free(p->msg);
    }
    nqueue = kept;
    if (next < 0)
        return -1;
    return (int)((next - now + 999999) / 1000000);
}

/* Answers one query, now or later. */
static void take_query(const uint8_t *q, int len, int fd, bool tcp,
                       unsigned conn_gen, const struct sockaddr_storage *peer,
                       socklen_t peer_len)
{
    static uint8_t out[MSG_MAX];
    struct pending p = {.fd = fd, .tcp = tcp, .conn_gen = conn_gen};
    int delay_ms;

    p.len = answer(q, len, tcp, out, &delay_ms);
    if (p.len < 0) {
        stats.dropped++;
        return;
    }
    p.msg = malloc((size_t)p.len);
    if (!p.msg)
        die("malloc");
    memcpy(p.msg, out, (size_t)p.len);
    if (peer) {
        p.peer = *peer;
        p.peer_len = peer_len;
    }
    p.due_ns = now_ns() + (int64_t)delay_ms * 1000000;
    enqueue(&p);
}

/* --- sockets -------------------------------------------------------------- */

static void read_udp(int fd)
{
    static uint8_t buf[MSG_MAX];

    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof(peer);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer,
                             &peer_len);

        if (n < 0)
            return; /* EAGAIN: all read */
        stats.udp++;
        take_query(buf, (int)n, fd, false, 0, &peer, peer_len);
    }
}

static void accept_tcp(int fd)
{
    static unsigned next_gen;

    for (;;) {
        int s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct conn *c = NULL;

        if (s < 0)
            return;
        /* A slot whose index matches the generation, so that an answer
         * finds its connection from the generation alone. */
        for (int tries = 0; tries < MAX_CONNS; tries++) {
            unsigned gen = ++next_gen;

            if (conns[gen % MAX_CONNS].fd < 0) {
                c = &conns[gen % MAX_CONNS];
                c->gen = gen;
                break;
            }
        }
        if (!c) {
            close(s);
            continue;
        }
        c->fd = s;
        c->len = 0;
    }
}

static void close_conn(struct conn *c)
{
    close(c->fd);
    c->fd = -1;
}

static void read_tcp(struct conn *c)
{
    ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - (size_t)c->len);
    int used = 0;

    if (n <= 0) {
        if (n == 0 || errno != EAGAIN)
            close_conn(c);
        return;
    }
    c->len += (int)n;
    while (c->len - used >= 2) {
        int qlen = c->buf[used] << 8 | c->buf[used + 1];

        if (c->len - used < 2 + qlen)
            break;
        stats.tcp++;
        take_query(c->buf + used + 2, qlen, c->fd, true, c->gen, NULL, 0);
        used += 2 + qlen;
    }
    memmove(c->buf, c->buf + used, (size_t)(c->len - used));
    c->len -= used;
}

/* Binds a socket of type to the loopback address of family, on port;
 * returns it, or -1 if family is AF_INET6 and ::1 cannot be bound. */
static int listen_on(int family, int type, int port)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int one = 1;
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sin6->sin6_addr = in6addr_loopback;
        len = sizeof(*sin6);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
        if (family == AF_INET6) {
            close(fd);
            return -1;
        }
        die("bind 127.0.0.1");
    }
    if (type == SOCK_STREAM && listen(fd, 256) < 0)
        die("listen");
    if (type == SOCK_DGRAM) {
        int size = 1 << 20; /* a burst of hundreds of queries */

        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    return fd;
}

static void usage(void)
{
    fprintf(stderr, "usage: fakedns --zone FILE [--delay-ms N] [--port N] "
                    "[--log]\n");
    exit(2);
}

int main(int argc, char *argv[])
{
    struct pollfd fds[4 + MAX_CONNS];
    int listeners[4], nlisten = 0, port = 53;
    const char *zone = NULL;
    struct sigaction sa = {.sa_handler = on_term};
    sigset_t term, none;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc)
            zone = argv[++i];
        else if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc)
            default_delay_ms = atoi(argv[++i]);
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--log") == 0)
            log_queries = true;
        else
            usage();
    }
    if (!zone)
        usage();
    load_zone(zone);
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i].fd = -1;

    /* SIGTERM is blocked except inside ppoll, so that it cannot come
     * between the check of stop and the wait. */
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigaddset(&term, SIGINT);
    sigprocmask(SIG_BLOCK, &term, &none);
    sigdelset(&none, SIGTERM);
    sigdelset(&none, SIGINT);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    listeners[nlisten++] = listen_on(AF_INET, SOCK_DGRAM, port);
    listeners[nlisten++] = listen_on(AF_INET, SOCK_STREAM, port);
    for (int type = SOCK_STREAM; type <= SOCK_DGRAM; type++) {
        int fd = listen_on(AF_INET6, type, port);

        if (fd >= 0)
            listeners[nlisten++] = fd;
    }
    printf("ready\n");
    fflush(stdout);

    while (!stop) {
        int timeout = send_due(), nfds = 0, rc;
        struct timespec ts, *tsp = NULL;
        int conn_of[MAX_CONNS];

        for (int i = 0; i < nlisten; i++)
            fds[nfds++] = (struct pollfd){.fd = listeners[i], .events = POLLIN};
        for (int i = 0; i < MAX_CONNS; i++) {
            if (conns[i].fd < 0)
                continue;
            conn_of[nfds - nlisten] = i;
            fds[nfds++] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        }
        if (timeout >= 0) {
            ts = (struct timespec){timeout / 1000, timeout % 1000 * 1000000L};
            tsp = &ts;
        }
        rc = ppoll(fds, (nfds_t)nfds, tsp, &none);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            die("ppoll");
        }
        for (int i = 0; i < nfds; i++) {
            int type;
            socklen_t tlen = sizeof(type);

            if (!fds[i].revents)
                continue;
            if (i >= nlisten) {
                read_tcp(&conns[conn_of[i - nlisten]]);
                continue;
            }
            getsockopt(fds[i].fd, SOL_SOCKET, SO_TYPE, &type, &tlen);
            if (type == SOCK_DGRAM)
                read_udp(fds[i].fd);
            else
                accept_tcp(fds[i].fd);
        }
    }
    fprintf(stderr,
            "fakedns: %ld udp and %ld tcp queries, %ld answered, %ld "
            "dropped, %ld truncated, %d never sent\n",
            stats.udp, stats.tcp, stats.answered, stats.dropped,
            stats.truncated, nqueue);
    return 0;
}
