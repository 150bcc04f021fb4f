/*
 * io_edges: socket calls at their edges, where a green emulation made of
 * non-blocking tries could part from the kernel.
 *
 *  - sendmmsg on a blocking TCP socket sends each message whole: four
 *    messages of 3 MiB in three iovs each, to a reader that starts late
 *    and reads in small pieces, so that tries send messages in part. The
 *    reader checks every byte of the stream, in order.
 *  - read and readv of nothing from a UDP socket return 0 at once, with a
 *    datagram waiting or not, and leave the datagram for the next recv.
 *  - recvmsg(MSG_WAITALL) on a unix stream socket ends with the bytes that
 *    carried an fd (SCM_RIGHTS), with the fd and its control length; the
 *    rest comes with the next call.
 *  - close_range with a flag it does not know fails with EINVAL and closes
 *    nothing, not even a pipe another thread is reading.
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_io.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PROG_NAME "io_edges"
#include "progs.h"

enum { MSGS = 4, PARTS = 3, PART = 1 << 20, PIECE = 4096 };

static unsigned char stream_byte(size_t i)
{
    return (unsigned char)(i * 7 + i / 4093);
}

/* --- sendmmsg on TCP -------------------------------------------------- */

struct reader {
    int fd;
    size_t total;
    int in_order;
};

static void *read_stream(void *arg)
{
    struct reader *r = arg;
    unsigned char buf[PIECE];
    ssize_t n;

    nap_ms(100); /* let the sender fill the socket first */
    r->in_order = 1;
    while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != stream_byte(r->total + (size_t)i))
                r->in_order = 0;
        r->total += (size_t)n;
    }
    check_errno((int)n, "read");
    return NULL;
}

static void tcp_pair(int *a, int *b)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    int l = socket(AF_INET, SOCK_STREAM, 0);

    check(l >= 0, "socket");
    check_errno(bind(l, (struct sockaddr *)&addr, sizeof(addr)), "bind");
    check_errno(listen(l, 1), "listen");
    check_errno(getsockname(l, (struct sockaddr *)&addr, &len), "getsockname");
    *a = socket(AF_INET, SOCK_STREAM, 0);
    check(*a >= 0, "socket");
    check_errno(connect(*a, (struct sockaddr *)&addr, sizeof(addr)), "connect");
    *b = accept(l, NULL, NULL);
    check(*b >= 0, "accept");
    close(l);
}

static void sendmmsg_tcp(void)
{
    static unsigned char data[MSGS * PARTS * PART];
    struct iovec iov[MSGS][PARTS];
    struct mmsghdr vec[MSGS];
    struct reader r = {0};
    pthread_t t;
    int out, rc;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = stream_byte(i);
    memset(vec, 0, sizeof(vec));
    for (int m = 0; m < MSGS; m++) {
        for (int p = 0; p < PARTS; p++) {
            iov[m][p].iov_base = data + ((size_t)m * PARTS + (size_t)p) * PART;
            iov[m][p].iov_len = PART;
        }
        vec[m].msg_hdr.msg_iov = iov[m];
        vec[m].msg_hdr.msg_iovlen = PARTS;
    }
    tcp_pair(&out, &r.fd);
    check_rc(pthread_create(&t, NULL, read_stream, &r), "pthread_create");
    rc = sendmmsg(out, vec, MSGS, 0);
    printf("sendmmsg tcp: %d messages:", rc);
    for (int m = 0; m < MSGS; m++)
        printf(" %u", vec[m].msg_len);
    printf("\n");
    check_errno(shutdown(out, SHUT_WR), "shutdown");
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("sendmmsg tcp: reader got %zu bytes, in order: %s\n", r.total,
           r.in_order ? "yes" : "no");
    close(out);
    close(r.fd);
}

/* --- reads of nothing from UDP ------------------------------------------ */

static void udp_read_nothing(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    char buf[16];
    struct iovec none = {.iov_base = buf, .iov_len = 0};
    ssize_t n;

    check(s >= 0, "socket");
    check_errno(bind(s, (struct sockaddr *)&addr, sizeof(addr)), "bind");
    check_errno(getsockname(s, (struct sockaddr *)&addr, &len), "getsockname");
    printf("udp read 0, nothing waiting: %zd\n", read(s, buf, 0));
    printf("udp readv 0, nothing waiting: %zd\n", readv(s, &none, 1));
    check(sendto(s, "datagram", 8, 0, (struct sockaddr *)&addr, len) == 8,
          "sendto");
    nap_ms(10);
    printf("udp read 0, one waiting: %zd\n", read(s, buf, 0));
    n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
    printf("udp recv after: %zd %.*s\n", n, n > 0 ? (int)n : 0, buf);
    close(s);
}

/* --- MSG_WAITALL and an fd passed --------------------------------------- */

static void *send_rest_later(void *arg)
{
    nap_ms(50);
    check(write(*(int *)arg, "def", 3) == 3, "write");
    return NULL;
}

static void waitall_with_fd(void)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } out_ctl, in_ctl;
    struct iovec iov = {.iov_base = "abc", .iov_len = 3};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = out_ctl.buf,
                         .msg_controllen = sizeof(out_ctl.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    char got[8] = {0};
    struct stat st;
    pthread_t t;
    int sv[2], passed = -1;
    ssize_t n;

    check_errno(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &sv[0], sizeof(int));
    check(sendmsg(sv[0], &msg, 0) == 3, "sendmsg");
    check_rc(pthread_create(&t, NULL, send_rest_later, &sv[0]),
             "pthread_create");

    iov = (struct iovec){.iov_base = got, .iov_len = 6};
    msg = (struct msghdr){.msg_iov = &iov,
                          .msg_iovlen = 1,
                          .msg_control = in_ctl.buf,
                          .msg_controllen = sizeof(in_ctl.buf)};
    n = recvmsg(sv[1], &msg, MSG_WAITALL);
    c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_type == SCM_RIGHTS)
        memcpy(&passed, CMSG_DATA(c), sizeof(int));
    printf("waitall with fd: %zd bytes '%s', control %s, fd %s, ctrunc %d\n",
           n, got, msg.msg_controllen > 0 ? "yes" : "no",
           passed >= 0 && fstat(passed, &st) == 0 ? "open" : "missing",
           !!(msg.msg_flags & MSG_CTRUNC));
    memset(got, 0, sizeof(got));
    n = recv(sv[1], got, 3, MSG_WAITALL);
    printf("waitall then: %zd bytes '%s'\n", n, got);
    check_rc(pthread_join(t, NULL), "pthread_join");
    if (passed >= 0)
        close(passed);
    close(sv[0]);
    close(sv[1]);
}

/* --- close_range with an unknown flag ------------------------------------ */

static void *read_pipe(void *arg)
{
    char c = 0;
    ssize_t n = read(*(int *)arg, &c, 1);

    printf("pipe reader: %s\n", n == 1 && c == 'x' ? "got x" : ename(errno));
    return NULL;
}

static void close_range_bad_flag(void)
{
    int p[2], rc;
    pthread_t t;

    check_errno(pipe(p), "pipe");
    check_rc(pthread_create(&t, NULL, read_pipe, &p[0]), "pthread_create");
    nap_ms(50); /* the reader waits on p[0] */
    rc = close_range((unsigned)p[0], (unsigned)p[0], 1u << 15);
    printf("close_range unknown flag: %d %s\n", rc, rc ? ename(errno) : "");
    check(write(p[1], "x", 1) == 1, "write");
    check_rc(pthread_join(t, NULL), "pthread_join");
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    sendmmsg_tcp();
    udp_read_nothing();
    waitall_with_fd();
    close_range_bad_flag();
    return 0;
}
