/*
 * io_echo: a thread-per-connection TCP echo server and its clients in one
 * process, over 127.0.0.1. The server listens on port 0; one thread accepts,
 * and each connection gets a thread that reads with a blocking read() and
 * writes back all it got. Each of the clients (argv[1], default 1000)
 * connects and sends its bytes (argv[2], default 1 MiB) in chunks of varied
 * sizes with write, send and writev in turn, then shuts down its sending
 * side; a second thread of the client reads the echo with read, recv and
 * readv in turn, in reads of varied sizes, while the first still sends
 * (sending it all before reading would fill both ends' buffers and stop
 * natively too), and compares every byte. Each client's bytes are its own:
 * a window of one pseudo-random table that starts at an offset derived from
 * the client's index, so bytes that reach the wrong client, or come back
 * out of order, do not compare equal.
 *
 * stdout: the totals, the same natively and green. stderr carries
 * "os_threads_max=N", sampled by main once every client has started and by
 * some readers halfway through (three threads per client natively: the
 * runner bounds it for green runs), and "elapsed_ms=N".
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_io.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define PROG_NAME "io_echo"
#include "progs.h"

enum {
    DEFAULT_CLIENTS = 1000,
    DEFAULT_BYTES = 1 << 20,
    SPREAD = 4096,          /* client windows start at 0..SPREAD-1 */
    SERVER_BUF = 32 * 1024, /* what one server read() asks for at most */
    READER_BUF = 64 * 1024,
    STACK = 64 * 1024, /* all buffers are on the heap */
};

/* Sizes of the chunks a client writes, and of the reads of its reader;
 * each client starts at its own place in each list. */
static const size_t chunk_sizes[] = {1,    7,     512,   1460,   4096,
                                     9000, 16384, 65536, 131072, 300000};
static const size_t read_sizes[] = {1, 100, 4096, 65536, 8191, 1500, 32768};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int n_clients;
static size_t bytes_each;
static unsigned char *table; /* bytes_each + SPREAD pseudo-random bytes */
static struct sockaddr_in server;
static int listen_fd;
static pthread_attr_t small_stack; /* every thread but main */

/* --- server ------------------------------------------------------------- */

struct conn {
    pthread_t thread;
    int fd;
    uint64_t echoed; /* read by the server and written back */
};

static struct conn *conns; /* n_clients of them, filled by the acceptor */

/* Writes all len bytes of buf to fd, or exits. */
static void write_all(int fd, const unsigned char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        check(n > 0, "server write() wrote something");
        buf += n;
        len -= (size_t)n;
    }
}

static void *serve(void *arg)
{
    struct conn *c = arg;
    unsigned char *buf = malloc(SERVER_BUF);
    ssize_t n;

    check(buf != NULL, "malloc");
    while ((n = read(c->fd, buf, SERVER_BUF)) > 0) {
        write_all(c->fd, buf, (size_t)n);
        c->echoed += (uint64_t)n;
    }
    check_errno(n < 0 ? -1 : 0, "server read");
    check_errno(close(c->fd), "close");
    free(buf);
    return NULL;
}

/* Accepts exactly n_clients connections, a thread for each. */
static void *acceptor(void *arg)
{
    (void)arg;
    for (int i = 0; i < n_clients; i++) {
        conns[i].fd = accept(listen_fd, NULL, NULL);
        check_errno(conns[i].fd < 0 ? -1 : 0, "accept");
        check_rc(
            pthread_create(&conns[i].thread, &small_stack, serve, &conns[i]),
            "pthread_create");
    }
    return NULL;
}

/* --- clients ------------------------------------------------------------ */

struct client {
    pthread_t writer;
    int index;
    int fd;
    size_t sent;
    size_t received;
    int mismatch; /* the reader saw a byte that differs */
    int eof;      /* the reader saw end of file after all bytes */
};

static struct client *clients;
static atomic_long calls[3]; /* writes by write, send and writev */

static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;

/* sample_threads from any thread: os_threads_max is shared. */
static void sample_locked(void)
{
    check_rc(pthread_mutex_lock(&sample_lock), "pthread_mutex_lock");
    sample_threads();
    check_rc(pthread_mutex_unlock(&sample_lock), "pthread_mutex_unlock");
}

static const unsigned char *window(const struct client *c)
{
    return table + (size_t)c->index * 37 % SPREAD;
}

/* Sends buf[0..len) with the call chosen by how (0 write, 1 send, 2 writev
 * in three pieces); returns what the call returned. */
static ssize_t send_some(int fd, const unsigned char *buf, size_t len, int how)
{
    struct iovec iov[3];

    atomic_fetch_add_explicit(&calls[how], 1, memory_order_relaxed);
    switch (how) {
    case 0:
        return write(fd, buf, len);
    case 1:
        return send(fd, buf, len, 0);
    default:
        iov[0] = (struct iovec){(void *)buf, len / 3};
        iov[1] = (struct iovec){(void *)(buf + len / 3), len / 2 - len / 3};
        iov[2] = (struct iovec){(void *)(buf + len / 2), len - len / 2};
        return writev(fd, iov, 3);
    }
}

/* Receives into buf at most len bytes with the call chosen by how (0 read,
 * 1 recv, 2 readv in two pieces). */
static ssize_t recv_some(int fd, unsigned char *buf, size_t len, int how)
{
    struct iovec iov[2];

    switch (how) {
    case 0:
        return read(fd, buf, len);
    case 1:
        return recv(fd, buf, len, 0);
    default:
        iov[0] = (struct iovec){buf, len / 2};
        iov[1] = (struct iovec){buf + len / 2, len - len / 2};
        return readv(fd, iov, 2);
    }
}

static void *reader(void *arg)
{
    struct client *c = arg;
    const unsigned char *want = window(c);
    unsigned char *buf = malloc(READER_BUF);
    int sampled = c->index % 100 != 0; /* a few readers sample threads */
    ssize_t n;

    check(buf != NULL, "malloc");
    for (unsigned k = (unsigned)c->index;; k++) {
        size_t len = read_sizes[k % COUNT(read_sizes)];

        n = recv_some(c->fd, buf, len, (int)(k % 3));
        if (n <= 0)
            break;
        if (c->received + (size_t)n > bytes_each ||
            memcmp(buf, want + c->received, (size_t)n) != 0)
            c->mismatch = 1;
        c->received += (size_t)n;
        if (!sampled && c->received >= bytes_each / 2) {
            sample_locked();
            sampled = 1;
        }
    }
    check_errno(n < 0 ? -1 : 0, "client read");
    c->eof = 1;
    free(buf);
    return NULL;
}

static void *client(void *arg)
{
    struct client *c = arg;
    const unsigned char *data = window(c);
    pthread_t rd;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    check_errno(c->fd < 0 ? -1 : 0, "socket");
    check_errno(connect(c->fd, (struct sockaddr *)&server, sizeof(server)),
                "connect");
    check_rc(pthread_create(&rd, &small_stack, reader, c), "pthread_create");

    for (unsigned k = (unsigned)c->index; c->sent < bytes_each; k++) {
        size_t len = chunk_sizes[k % COUNT(chunk_sizes)];
        const unsigned char *p = data + c->sent;

        if (len > bytes_each - c->sent)
            len = bytes_each - c->sent;
        /* A blocking socket takes the whole chunk; loop anyway, as a
         * program must, in case a call returns early. */
        while (len > 0) {
            ssize_t n = send_some(c->fd, p, len, (int)(k % 3));

            check_errno(n < 0 ? -1 : 0, "client send");
            check(n > 0, "client send wrote something");
            p += n;
            len -= (size_t)n;
            c->sent += (size_t)n;
        }
    }
    check_errno(shutdown(c->fd, SHUT_WR), "shutdown");
    check_rc(pthread_join(rd, NULL), "pthread_join");
    check_errno(close(c->fd), "close");
    return NULL;
}

/* --- main --------------------------------------------------------------- */

/* Fills table with xorshift bytes, the same every run. */
static void fill_table(size_t len)
{
    uint64_t x = 0x9e3779b97f4a7c15u;

    table = malloc(len);
    check(table != NULL, "malloc");
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        table[i] = (unsigned char)(x >> 32);
    }
}

/* Two fds per client, and a few more: raises the soft limit if it is
 * lower (often 1024) and the hard limit allows. */
static void enough_fds(void)
{
    rlim_t need = (rlim_t)n_clients * 2 + 64;
    struct rlimit rl;

    check_errno(getrlimit(RLIMIT_NOFILE, &rl), "getrlimit");
    if (rl.rlim_cur >= need)
        return;
    check(rl.rlim_max >= need, "RLIMIT_NOFILE hard limit fits 2 fds a client");
    rl.rlim_cur = need;
    check_errno(setrlimit(RLIMIT_NOFILE, &rl), "setrlimit");
}

static void start_server(void)
{
    socklen_t len = sizeof(server);

    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    check_errno(listen_fd < 0 ? -1 : 0, "socket");
    memset(&server, 0, sizeof(server));
    server.sin_family = AF_INET;
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server.sin_port = 0;
    check_errno(bind(listen_fd, (struct sockaddr *)&server, sizeof(server)),
                "bind");
    check_errno(listen(listen_fd, SOMAXCONN), "listen");
    check_errno(getsockname(listen_fd, (struct sockaddr *)&server, &len),
                "getsockname");
}

int main(int argc, char *argv[])
{
    int64_t start = now_ns(CLOCK_MONOTONIC);
    pthread_t acc;
    long verified = 0, mismatched = 0;
    uint64_t echoed = 0;

    n_clients = argc > 1 ? atoi(argv[1]) : DEFAULT_CLIENTS;
    bytes_each = argc > 2 ? strtoul(argv[2], NULL, 0) : DEFAULT_BYTES;
    check(n_clients > 0 && bytes_each > 0, "usage: io_echo [clients [bytes]]");
    fill_table(bytes_each + SPREAD);
    conns = calloc((size_t)n_clients, sizeof(*conns));
    clients = calloc((size_t)n_clients, sizeof(*clients));
    check(conns && clients, "calloc");
    enough_fds();

    start_server();
    check_rc(pthread_attr_init(&small_stack), "pthread_attr_init");
    check_rc(pthread_attr_setstacksize(&small_stack, STACK),
             "pthread_attr_setstacksize");
    check_rc(pthread_create(&acc, &small_stack, acceptor, NULL),
             "pthread_create");
    for (int i = 0; i < n_clients; i++) {
        clients[i].index = i;
        check_rc(pthread_create(&clients[i].writer, &small_stack, client,
                                &clients[i]),
                 "pthread_create");
    }
    sample_locked();

    for (int i = 0; i < n_clients; i++) {
        struct client *c = &clients[i];

        check_rc(pthread_join(c->writer, NULL), "pthread_join");
        if (c->mismatch)
            mismatched++;
        else if (c->eof && c->sent == bytes_each && c->received == bytes_each)
            verified++;
    }
    check_rc(pthread_join(acc, NULL), "pthread_join");
    for (int i = 0; i < n_clients; i++) {
        check_rc(pthread_join(conns[i].thread, NULL), "pthread_join");
        echoed += conns[i].echoed;
    }
    check_errno(close(listen_fd), "close");
    pthread_attr_destroy(&small_stack);

    printf("clients=%d bytes_each=%zu verified=%ld mismatched=%ld\n", n_clients,
           bytes_each, verified, mismatched);
    printf("accepted=%d echoed_total=%llu\n", n_clients,
           (unsigned long long)echoed);
    /* Which call sent each chunk depends only on the client's index and
     * the chunk's number, not on timing. */
    printf("chunks: write=%ld send=%ld writev=%ld\n", atomic_load(&calls[0]),
           atomic_load(&calls[1]), atomic_load(&calls[2]));
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    fprintf(stderr, "elapsed_ms=%lld\n",
            (long long)((now_ns(CLOCK_MONOTONIC) - start) / 1000000));
    return verified == n_clients ? 0 : 1;
}
