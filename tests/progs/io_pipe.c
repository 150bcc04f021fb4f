/*
 * io_pipe: blocking pipes and eventfds between threads. Two threads play
 * 20,000 rounds of ping-pong with one byte through two pipes, then 10,000
 * rounds through two eventfds. One thread writes 4 MiB to a pipe in a single
 * write(), which must return the full count, while another reads it in small
 * reads of varied sizes and checks every byte. writev and readv: a small
 * writev read back by one readv spread over three buffers, a readv that
 * waits for a later write, and a 1 MiB writev of four pieces read back with
 * readv. A read after the last writer closed returns 0.
 *
 * stdout shows counts and checksums only (never how many reads a transfer
 * took, which depends on timing), the same natively and green. stderr
 * carries "os_threads_max=N" and "elapsed_ms=N".
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_io.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#define PROG_NAME "io_pipe"
#include "progs.h"

enum {
    PIPE_ROUNDS = 20000,
    EVENTFD_ROUNDS = 10000,
    BIG = 4 << 20,   /* the one write() */
    BIG_V = 1 << 20, /* the big writev */
};

static ssize_t must(ssize_t n, const char *call)
{
    check_errno(n < 0 ? -1 : 0, call);
    return n;
}

static void make_pipe(int fds[2])
{
    check_errno(pipe(fds), "pipe");
}

/* The byte at offset i of the streams this program sends. */
static unsigned char byte_at(size_t i)
{
    return (unsigned char)(i * 7 + (i >> 9) + (i >> 17));
}

/* --- pipe ping-pong ----------------------------------------------------- */

static int ping[2], pong[2];

/* Answers each byte on ping with the byte plus one on pong, until EOF. */
static void *pong_player(void *arg)
{
    unsigned char b;
    ssize_t n;

    (void)arg;
    while ((n = must(read(ping[0], &b, 1), "read")) == 1) {
        b++;
        check(must(write(pong[1], &b, 1), "write") == 1, "write 1 byte");
    }
    return NULL;
}

static void pipe_ping_pong(void)
{
    pthread_t t;
    long wrong = 0;
    unsigned sum = 0;

    make_pipe(ping);
    make_pipe(pong);
    check_rc(pthread_create(&t, NULL, pong_player, NULL), "pthread_create");
    for (int i = 0; i < PIPE_ROUNDS; i++) {
        unsigned char b = (unsigned char)i;

        check(must(write(ping[1], &b, 1), "write") == 1, "write 1 byte");
        check(must(read(pong[0], &b, 1), "read") == 1, "read 1 byte");
        wrong += b != (unsigned char)(i + 1);
        sum += b;
    }
    sample_threads();
    check_errno(close(ping[1]), "close");
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("pipe ping-pong: %d round trips, %ld wrong, sum %u\n", PIPE_ROUNDS,
           wrong, sum);
    printf("pipe read after the writer closed: %zd\n",
           must(read(ping[0], &(char){0}, 1), "read"));
    check_errno(close(ping[0]), "close");
    check_errno(close(pong[0]), "close");
    check_errno(close(pong[1]), "close");
}

/* --- eventfd ping-pong -------------------------------------------------- */

static int ev_ping, ev_pong;

/* Answers each value v read from ev_ping with 2 * v on ev_pong; stops
 * after EVENTFD_ROUNDS. */
static void *eventfd_player(void *arg)
{
    (void)arg;
    for (int i = 0; i < EVENTFD_ROUNDS; i++) {
        uint64_t v;

        check(must(read(ev_ping, &v, 8), "read") == 8, "read 8 bytes");
        v *= 2;
        check(must(write(ev_pong, &v, 8), "write") == 8, "write 8 bytes");
    }
    return NULL;
}

static void eventfd_ping_pong(void)
{
    pthread_t t;
    long wrong = 0;
    uint64_t sum = 0;

    ev_ping = eventfd(0, 0);
    ev_pong = eventfd(0, 0);
    check(ev_ping >= 0 && ev_pong >= 0, "eventfd");
    check_rc(pthread_create(&t, NULL, eventfd_player, NULL), "pthread_create");
    for (uint64_t i = 1; i <= EVENTFD_ROUNDS; i++) {
        uint64_t v = i;

        check(must(write(ev_ping, &v, 8), "write") == 8, "write 8 bytes");
        check(must(read(ev_pong, &v, 8), "read") == 8, "read 8 bytes");
        wrong += v != 2 * i;
        sum += v;
    }
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("eventfd ping-pong: %d round trips, %ld wrong, sum %llu\n",
           EVENTFD_ROUNDS, wrong, (unsigned long long)sum);
    check_errno(close(ev_ping), "close");
    check_errno(close(ev_pong), "close");
}

/* --- one big write, small reads ----------------------------------------- */

struct big_write {
    int fd;
    const unsigned char *buf;
    size_t len;
    ssize_t wrote; /* what the one call returned */
    int last_errno;
};

static void *write_once(void *arg)
{
    struct big_write *w = arg;

    w->wrote = write(w->fd, w->buf, w->len);
    w->last_errno = w->wrote < 0 ? errno : 0;
    check_errno(close(w->fd), "close");
    return NULL;
}

/* Reads fd to EOF in reads of varied small sizes; returns the bytes read
 * and counts into *wrong those that differ from byte_at. */
static size_t read_small(int fd, long *wrong)
{
    static const size_t sizes[] = {1, 13, 512, 4096, 100, 3000, 2};
    unsigned char buf[4096];
    size_t got = 0;
    ssize_t n;

    for (unsigned k = 0;; k++) {
        n = must(read(fd, buf, sizes[k % 7]), "read");
        if (n == 0)
            return got;
        for (ssize_t i = 0; i < n; i++)
            *wrong += buf[i] != byte_at(got + (size_t)i);
        got += (size_t)n;
    }
}

static void big_write_small_reads(void)
{
    struct big_write w;
    unsigned char *buf = malloc(BIG);
    int fds[2];
    pthread_t t;
    long wrong = 0;
    size_t got;

    check(buf != NULL, "malloc");
    for (size_t i = 0; i < BIG; i++)
        buf[i] = byte_at(i);
    make_pipe(fds);
    w = (struct big_write){.fd = fds[1], .buf = buf, .len = BIG};
    check_rc(pthread_create(&t, NULL, write_once, &w), "pthread_create");
    got = read_small(fds[0], &wrong);
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("one write of %d bytes returned %zd (%s); read %zu, %ld wrong\n",
           BIG, w.wrote, ename(w.last_errno), got, wrong);
    check_errno(close(fds[0]), "close");
    free(buf);
}

/* --- readv and writev --------------------------------------------------- */

static void print_piece(const char *name, const char *p, size_t len)
{
    printf("  %s: \"%.*s\"\n", name, (int)len, p);
}

/* A writev that fits the pipe, then one readv: the readv takes it all,
 * filling its buffers in order. */
static void small_writev_readv(void)
{
    char a[10], b[50], c[100];
    struct iovec out[3] = {{"alpha,", 6}, {"beta,", 5}, {"gamma", 5}};
    struct iovec in[3] = {{a, 4}, {b, 10}, {c, sizeof(c)}};
    int fds[2];

    make_pipe(fds);
    printf("writev of 6+5+5 bytes: %zd\n",
           must(writev(fds[1], out, 3), "writev"));
    printf("readv into 4+10+100 bytes: %zd\n",
           must(readv(fds[0], in, 3), "readv"));
    print_piece("first", a, 4);
    print_piece("second", b, 10);
    print_piece("third", c, 2);
    check_errno(close(fds[0]), "close");
    check_errno(close(fds[1]), "close");
}

static int late_fd;

static void *write_later(void *arg)
{
    (void)arg;
    nap_ms(20);
    check(must(write(late_fd, "0123456789", 10), "write") == 10,
          "write 10 bytes");
    return NULL;
}

/* A readv on an empty pipe waits for the other thread's write of 10 bytes,
 * which a pipe delivers whole. */
static void readv_waits(void)
{
    char a[3], b[20];
    struct iovec in[2] = {{a, 3}, {b, sizeof(b)}};
    int fds[2];
    pthread_t t;

    make_pipe(fds);
    late_fd = fds[1];
    check_rc(pthread_create(&t, NULL, write_later, NULL), "pthread_create");
    printf("readv on an empty pipe, written 20 ms later: %zd\n",
           must(readv(fds[0], in, 2), "readv"));
    print_piece("first", a, 3);
    print_piece("second", b, 7);
    check_rc(pthread_join(t, NULL), "pthread_join");
    check_errno(close(fds[0]), "close");
    check_errno(close(fds[1]), "close");
}

struct big_writev {
    int fd;
    const unsigned char *buf;
    ssize_t wrote;
};

/* Writes BIG_V bytes of buf in one writev of four unequal pieces. */
static void *writev_once(void *arg)
{
    struct big_writev *w = arg;
    const size_t cut[] = {0, 1, 70000, 500001, BIG_V};
    struct iovec iov[4];

    for (int i = 0; i < 4; i++)
        iov[i] = (struct iovec){(void *)(w->buf + cut[i]), cut[i + 1] - cut[i]};
    w->wrote = must(writev(w->fd, iov, 4), "writev");
    check_errno(close(w->fd), "close");
    return NULL;
}

/* Reads fd to EOF with readv into three buffers; returns the bytes read
 * and counts into *wrong those that differ from byte_at. */
static size_t readv_all(int fd, long *wrong)
{
    static unsigned char a[7], b[4096], c[30000];
    struct iovec in[3] = {{a, sizeof(a)}, {b, sizeof(b)}, {c, sizeof(c)}};
    size_t got = 0;
    ssize_t n;

    while ((n = must(readv(fd, in, 3), "readv")) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            const unsigned char *p = i < 7          ? &a[i]
                                     : i < 7 + 4096 ? &b[i - 7]
                                                    : &c[i - 7 - 4096];

            *wrong += *p != byte_at(got + (size_t)i);
        }
        got += (size_t)n;
    }
    return got;
}

static void big_writev_readv(void)
{
    struct big_writev w;
    unsigned char *buf = malloc(BIG_V);
    int fds[2];
    pthread_t t;
    long wrong = 0;
    size_t got;

    check(buf != NULL, "malloc");
    for (size_t i = 0; i < BIG_V; i++)
        buf[i] = byte_at(i);
    make_pipe(fds);
    w = (struct big_writev){.fd = fds[1], .buf = buf};
    check_rc(pthread_create(&t, NULL, writev_once, &w), "pthread_create");
    got = readv_all(fds[0], &wrong);
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("one writev of %d bytes in 4 pieces returned %zd; readv read %zu, "
           "%ld wrong\n",
           BIG_V, w.wrote, got, wrong);
    check_errno(close(fds[0]), "close");
    free(buf);
}

int main(void)
{
    int64_t start = now_ns(CLOCK_MONOTONIC);

    pipe_ping_pong();
    eventfd_ping_pong();
    big_write_small_reads();
    small_writev_readv();
    readv_waits();
    big_writev_readv();
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    fprintf(stderr, "elapsed_ms=%lld\n",
            (long long)((now_ns(CLOCK_MONOTONIC) - start) / 1000000));
    return 0;
}
