/*
 * io_calls: each remaining data call once, with its exact answers.
 *  - a stream socketpair: read/write, recv/send, recvfrom/sendto,
 *    recvmsg/sendmsg with several buffers, readv/writev, MSG_PEEK,
 *    MSG_WAITALL (another thread sends the rest 20 ms later), MSG_DONTWAIT,
 *    an fd passed with SCM_RIGHTS, and shutdown(SHUT_WR);
 *  - a datagram socketpair: message boundaries, MSG_TRUNC, a recv that
 *    waits for a later send;
 *  - UDP over 127.0.0.1: sendto/recvfrom, sendmmsg/recvmmsg (all of vlen
 *    without flags, MSG_WAITFORONE, and a recvmmsg that waits for a later
 *    sendmmsg);
 *  - TCP over 127.0.0.1: sendfile of a 4 MiB temporary file to a socket
 *    that another thread reads and checks (the socket buffer fills, so
 *    sendfile must wait), then SHUT_WR gives the reader end of file;
 *    sendfile from the file position;
 *  - dup, dup2 (also onto an open fd), dup3 and F_DUPFD_CLOEXEC, with data
 *    through the duplicates;
 *  - O_NONBLOCK set and cleared by fcntl F_SETFL and by ioctl FIONBIO,
 *    which F_GETFL shows exactly, with recv giving EAGAIN while it is set
 *    and waiting for a later send once it is cleared; accept4 with
 *    SOCK_NONBLOCK | SOCK_CLOEXEC; accept on a non-blocking listener;
 *    pipe2 with O_NONBLOCK and O_CLOEXEC;
 *  - eventfd: counting, EFD_SEMAPHORE, EFD_NONBLOCK, a read that waits.
 *
 * stdout shows what each call returned, the same natively and green (fd
 * numbers are never printed: libgreen may hold fds of its own). stderr
 * carries "os_threads_max=N".
 *
 * A plain POSIX program that knows nothing of libgreen; tests/diff_io.c
 * runs it natively and green and compares stdout and exit status.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define PROG_NAME "io_calls"
#include "progs.h"

enum { FILE_BYTES = 4 << 20, DUP2_TARGET = 200, DUP3_TARGET = 201 };

static int must_fd(int fd, const char *call)
{
    check_errno(fd < 0 ? -1 : 0, call);
    return fd;
}

static ssize_t must(ssize_t n, const char *call)
{
    check_errno(n < 0 ? -1 : 0, call);
    return n;
}

static void must_close(int fd)
{
    check_errno(close(fd), "close");
}

/* "n" for a count, or "-1 ENAME" for a failure. */
static const char *result(ssize_t n)
{
    static char buf[64];

    if (n < 0)
        snprintf(buf, sizeof(buf), "-1 %s", ename(errno));
    else
        snprintf(buf, sizeof(buf), "%zd", n);
    return buf;
}

/* Prints what a receive of n bytes into buf got. */
static void got(const char *call, ssize_t n, const char *buf)
{
    if (n < 0)
        printf("%s: %s\n", call, result(n));
    else
        printf("%s: %zd \"%.*s\"\n", call, n, (int)n, buf);
}

/* The status flags and descriptor flags of fd. */
static void print_flags(const char *what, int fd)
{
    printf("%s: F_GETFL %#o, F_GETFD %d\n", what, fcntl(fd, F_GETFL),
           fcntl(fd, F_GETFD));
}

/* --- another thread, 20 ms later ---------------------------------------- */

struct later {
    pthread_t thread;
    int fd;
    const void *data;
    size_t len;
    const struct sockaddr_in *addr; /* connect to it instead */
    int made;                       /* the socket connect made */
};

static int connect_to(const struct sockaddr_in *addr)
{
    int fd = must_fd(socket(AF_INET, SOCK_STREAM, 0), "socket");

    check_errno(connect(fd, (const struct sockaddr *)addr, sizeof(*addr)),
                "connect");
    return fd;
}

static void *act(void *arg)
{
    struct later *l = arg;

    nap_ms(20);
    if (l->addr)
        l->made = connect_to(l->addr);
    else
        check(must(write(l->fd, l->data, l->len), "write") == (ssize_t)l->len,
              "write all");
    return NULL;
}

/* In 20 ms, another thread writes len bytes of data to fd. */
static void write_later(struct later *l, int fd, const void *data, size_t len)
{
    *l = (struct later){.fd = fd, .data = data, .len = len, .made = -1};
    check_rc(pthread_create(&l->thread, NULL, act, l), "pthread_create");
    sample_threads();
}

/* In 20 ms, another thread connects to addr. */
static void connect_later(struct later *l, const struct sockaddr_in *addr)
{
    *l = (struct later){.addr = addr, .made = -1};
    check_rc(pthread_create(&l->thread, NULL, act, l), "pthread_create");
    sample_threads();
}

static void join_later(struct later *l)
{
    check_rc(pthread_join(l->thread, NULL), "pthread_join");
}

/* --- stream socketpair -------------------------------------------------- */

static void pass_fd(int via, int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {"F", 1};
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = ctl.buf,
                       .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);

    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    printf("sendmsg with SCM_RIGHTS: %s\n", result(sendmsg(via, &m, 0)));
}

static int receive_fd(int via)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    char byte;
    struct iovec iov = {&byte, 1};
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = ctl.buf,
                       .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *c;
    int fd = -1;

    printf("recvmsg with SCM_RIGHTS: %s", result(recvmsg(via, &m, 0)));
    c = CMSG_FIRSTHDR(&m);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
    printf(", byte '%c', an fd came: %s\n", byte, fd >= 0 ? "yes" : "no");
    return fd;
}

static void stream_pair(void)
{
    char buf[1024], a[4], b[64];
    struct sockaddr_storage from;
    socklen_t from_len = sizeof(from);
    struct iovec out[3] = {{"one,", 4}, {"two,", 4}, {"three", 5}};
    struct iovec in[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
    struct msghdr m = {.msg_iov = in, .msg_iovlen = 2};
    struct later l;
    char rest[700];
    int sp[2], p[2], passed;
    ssize_t n;

    check_errno(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), "socketpair");
    printf("stream socketpair:\n");
    printf("write: %s\n", result(write(sp[0], "hello", 5)));
    got("read", read(sp[1], buf, sizeof(buf)), buf);
    printf("send: %s\n", result(send(sp[0], "world", 5, 0)));
    got("recv", recv(sp[1], buf, sizeof(buf), 0), buf);
    printf("sendto: %s\n", result(sendto(sp[0], "to", 2, 0, NULL, 0)));
    n = recvfrom(sp[1], buf, sizeof(buf), 0, (struct sockaddr *)&from,
                 &from_len);
    got("recvfrom", n, buf);
    printf("recvfrom address length: %u\n", (unsigned)from_len);
    printf("sendmsg of 4+4+5: %s\n",
           result(sendmsg(
               sp[0], &(struct msghdr){.msg_iov = out, .msg_iovlen = 3}, 0)));
    n = must(recvmsg(sp[1], &m, 0), "recvmsg");
    printf("recvmsg into 4+64: %zd \"%.4s\" \"%.*s\" flags %#x\n", n, a,
           (int)(n - 4), b, m.msg_flags);
    printf("writev of 4+4+5: %s\n", result(writev(sp[1], out, 3)));
    n = must(readv(sp[0], in, 2), "readv");
    printf("readv into 4+64: %zd \"%.4s\" \"%.*s\"\n", n, a, (int)(n - 4), b);

    printf("send: %s\n", result(send(sp[0], "peekaboo", 8, 0)));
    got("recv 4 MSG_PEEK", recv(sp[1], buf, 4, MSG_PEEK), buf);
    got("recv 4 MSG_PEEK again", recv(sp[1], buf, 4, MSG_PEEK), buf);
    got("recv", recv(sp[1], buf, sizeof(buf), 0), buf);
    printf("recv MSG_DONTWAIT, nothing there: %s\n",
           result(recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT)));

    /* 300 bytes now, 700 in 20 ms: MSG_WAITALL waits for all 1000. */
    memset(buf, 'a', 300);
    memset(rest, 'b', sizeof(rest));
    check(must(send(sp[0], buf, 300, 0), "send") == 300, "send 300");
    write_later(&l, sp[0], rest, sizeof(rest));
    memset(buf, 0, sizeof(buf));
    n = recv(sp[1], buf, 1000, MSG_WAITALL);
    join_later(&l);
    printf("recv 1000 MSG_WAITALL, 300 there and 700 sent 20 ms later: %s, "
           "%s\n",
           result(n),
           n == 1000 && buf[0] == 'a' && buf[299] == 'a' && buf[300] == 'b' &&
                   buf[999] == 'b'
               ? "in order"
               : "WRONG BYTES");

    /* A pipe's read end goes over the socket; what is written to the pipe
     * comes out of the received fd. */
    check_errno(pipe(p), "pipe");
    pass_fd(sp[0], p[0]);
    passed = receive_fd(sp[1]);
    must_close(p[0]);
    if (passed >= 0) {
        check(write(p[1], "through", 7) == 7, "write 7 bytes");
        got("read from the passed fd", read(passed, buf, sizeof(buf)), buf);
        must_close(passed);
    }
    must_close(p[1]);

    printf("shutdown SHUT_WR: %s\n", result(shutdown(sp[0], SHUT_WR)));
    got("read after the peer's SHUT_WR", read(sp[1], buf, sizeof(buf)), buf);
    printf("write the other way after SHUT_WR: %s\n",
           result(write(sp[1], "back", 4)));
    got("read the other way", read(sp[0], buf, sizeof(buf)), buf);
    must_close(sp[0]);
    must_close(sp[1]);
}

/* --- datagram socketpair ------------------------------------------------ */

static void dgram_pair(void)
{
    char buf[100], small[5];
    struct iovec iov = {small, sizeof(small)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    struct later l;
    int sp[2];

    check_errno(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), "socketpair");
    printf("datagram socketpair:\n");
    memset(buf, 'x', sizeof(buf));
    for (int len = 10; len <= 30; len += 10)
        printf("send %d: %s\n", len, result(send(sp[0], buf, (size_t)len, 0)));
    for (int i = 0; i < 3; i++)
        printf("recv into 100: %s\n", result(recv(sp[1], buf, 100, 0)));

    printf("write 30: %s\n",
           result(write(sp[0], "0123456789abcdefghij!@#$%^&*()", 30)));
    printf("recvmsg into 5: %s", result(recvmsg(sp[1], &m, 0)));
    printf(" \"%.5s\" MSG_TRUNC %s\n", small,
           m.msg_flags & MSG_TRUNC ? "set" : "clear");
    printf("send 30: %s\n", result(send(sp[0], buf, 30, 0)));
    printf("recv into 5 with MSG_TRUNC: %s\n",
           result(recv(sp[1], small, sizeof(small), MSG_TRUNC)));

    write_later(&l, sp[0], "late", 4);
    got("recv, sent 20 ms later", recv(sp[1], buf, sizeof(buf), 0), buf);
    join_later(&l);
    must_close(sp[0]);
    must_close(sp[1]);
}

/* --- UDP ---------------------------------------------------------------- */

static int udp_socket(struct sockaddr_in *addr)
{
    socklen_t len = sizeof(*addr);
    int fd = must_fd(socket(AF_INET, SOCK_DGRAM, 0), "socket");

    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check_errno(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), "bind");
    check_errno(getsockname(fd, (struct sockaddr *)addr, &len), "getsockname");
    return fd;
}

enum { MMSG = 8 };

struct mmsg {
    struct mmsghdr h[MMSG];
    struct iovec iov[MMSG];
    char buf[MMSG][64];
};

/* Prepares m for n messages; to send, message i is i + 1 bytes of 'A' + i
 * to dest; to receive, each gets a 64-byte buffer. */
static void mmsg_init(struct mmsg *m, int n, const struct sockaddr_in *dest)
{
    memset(m, 0, sizeof(*m));
    for (int i = 0; i < n; i++) {
        size_t len = dest ? (size_t)i + 1 : sizeof(m->buf[i]);

        memset(m->buf[i], 'A' + i, len);
        m->iov[i] = (struct iovec){m->buf[i], len};
        m->h[i].msg_hdr.msg_iov = &m->iov[i];
        m->h[i].msg_hdr.msg_iovlen = 1;
        m->h[i].msg_hdr.msg_name = (void *)dest;
        m->h[i].msg_hdr.msg_namelen = dest ? sizeof(*dest) : 0;
    }
}

static void print_mmsg(const struct mmsg *m, int n)
{
    for (int i = 0; i < n; i++)
        printf("  message %d: %u \"%.*s\"\n", i, m->h[i].msg_len,
               (int)m->h[i].msg_len, m->buf[i]);
}

struct later_mmsg {
    int fd;
    const struct sockaddr_in *dest;
    int n;
    int sent;
};

static void *sendmmsg_later(void *arg)
{
    struct later_mmsg *l = arg;
    struct mmsg m;

    nap_ms(20);
    mmsg_init(&m, l->n, l->dest);
    l->sent = (int)must(sendmmsg(l->fd, m.h, (unsigned)l->n, 0), "sendmmsg");
    return NULL;
}

static void udp(void)
{
    struct sockaddr_in ra, sa, from;
    socklen_t from_len = sizeof(from);
    int r = udp_socket(&ra), s = udp_socket(&sa), total = 0, rc;
    struct later_mmsg lm = {.fd = s, .dest = &ra, .n = 3};
    struct mmsg m;
    char buf[64];
    pthread_t t;
    ssize_t n;

    printf("UDP over 127.0.0.1:\n");
    printf("sendto: %s\n", result(sendto(s, "datagram", 8, 0,
                                         (struct sockaddr *)&ra, sizeof(ra))));
    n = recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len);
    got("recvfrom", n, buf);
    printf("recvfrom says it came from the sender: %s\n",
           from_len == sizeof(from) && from.sin_port == sa.sin_port &&
                   from.sin_addr.s_addr == sa.sin_addr.s_addr
               ? "yes"
               : "no");

    mmsg_init(&m, 5, &ra);
    printf("sendmmsg of 5: %s\n", result(sendmmsg(s, m.h, 5, 0)));
    /* Without flags, recvmmsg waits until it has all vlen messages, so
     * the count does not depend on when the kernel delivers them. */
    mmsg_init(&m, 5, NULL);
    printf("recvmmsg vlen 5: %s\n", result(recvmmsg(r, m.h, 5, 0, NULL)));
    print_mmsg(&m, 5);

    mmsg_init(&m, 3, &ra);
    printf("sendmmsg of 3: %s\n", result(sendmmsg(s, m.h, 3, 0)));
    /* MSG_WAITFORONE returns with fewer than vlen: how many depends on
     * delivery, so only the total is printed. */
    while (total < 3) {
        mmsg_init(&m, MMSG, NULL);
        rc =
            (int)must(recvmmsg(r, m.h, MMSG, MSG_WAITFORONE, NULL), "recvmmsg");
        check(rc >= 1 && rc <= 3 - total, "recvmmsg MSG_WAITFORONE count");
        for (int i = 0; i < rc; i++)
            check(m.h[i].msg_len == (unsigned)(total + i + 1),
                  "recvmmsg MSG_WAITFORONE length");
        total += rc;
    }
    printf("recvmmsg vlen %d MSG_WAITFORONE until 3: %d, in order\n", MMSG,
           total);

    check_rc(pthread_create(&t, NULL, sendmmsg_later, &lm), "pthread_create");
    mmsg_init(&m, 3, NULL);
    printf("recvmmsg vlen 3, sent 20 ms later: %s\n",
           result(recvmmsg(r, m.h, 3, 0, NULL)));
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("sendmmsg of 3, 20 ms later: %d\n", lm.sent);
    print_mmsg(&m, 3);
    must_close(r);
    must_close(s);
}

/* --- TCP: sendfile and shutdown ----------------------------------------- */

static int tcp_listener(struct sockaddr_in *addr)
{
    socklen_t len = sizeof(*addr);
    int fd = must_fd(socket(AF_INET, SOCK_STREAM, 0), "socket");

    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check_errno(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), "bind");
    check_errno(listen(fd, 16), "listen");
    check_errno(getsockname(fd, (struct sockaddr *)addr, &len), "getsockname");
    return fd;
}

static unsigned char file_byte(size_t i)
{
    return (unsigned char)(i * 13 + (i >> 10));
}

struct check_reader {
    int fd;
    size_t got;
    long wrong;
    int eof;
};

/* Reads to end of file 4 KiB at a time, checking each byte against what
 * tcp_sendfile sends. */
static void *read_and_check(void *arg)
{
    struct check_reader *c = arg;
    unsigned char buf[4096];
    ssize_t n;

    while ((n = must(read(c->fd, buf, sizeof(buf)), "read")) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            size_t at = c->got + (size_t)i;

            /* After the whole file come its bytes 1000..1999 again. */
            if (at >= FILE_BYTES)
                at = at - FILE_BYTES + 1000;
            c->wrong += buf[i] != file_byte(at);
        }
        c->got += (size_t)n;
    }
    c->eof = 1;
    return NULL;
}

static int temp_file(void)
{
    char path[] = "/tmp/io_calls.XXXXXX";
    unsigned char *data = malloc(FILE_BYTES);
    int fd = must_fd(mkstemp(path), "mkstemp");

    check(data != NULL, "malloc");
    check_errno(unlink(path), "unlink");
    for (size_t i = 0; i < FILE_BYTES; i++)
        data[i] = file_byte(i);
    check(must(write(fd, data, FILE_BYTES), "write") == FILE_BYTES,
          "write the file");
    free(data);
    return fd;
}

static void tcp_sendfile(void)
{
    struct sockaddr_in addr;
    int lfd = tcp_listener(&addr), file = temp_file();
    int out = connect_to(&addr);
    struct check_reader c = {.fd = must_fd(accept(lfd, NULL, NULL), "accept")};
    off_t off = 0;
    pthread_t t;
    ssize_t n;

    printf("TCP over 127.0.0.1:\n");
    /* A small send buffer makes sure sendfile has to wait for the reader. */
    check_errno(
        setsockopt(out, SOL_SOCKET, SO_SNDBUF, &(int){65536}, sizeof(int)),
        "setsockopt");
    check_rc(pthread_create(&t, NULL, read_and_check, &c), "pthread_create");
    sample_threads();
    n = sendfile(out, file, &off, FILE_BYTES);
    printf("sendfile of %d bytes from offset 0: %s, offset now %lld\n",
           FILE_BYTES, result(n), (long long)off);
    printf("file position after it: %lld\n",
           (long long)lseek(file, 0, SEEK_CUR));
    check_errno(lseek(file, 1000, SEEK_SET) < 0 ? -1 : 0, "lseek");
    printf("sendfile of 1000 bytes from the file position 1000: %s\n",
           result(sendfile(out, file, NULL, 1000)));
    printf("file position after it: %lld\n",
           (long long)lseek(file, 0, SEEK_CUR));
    printf("shutdown SHUT_WR: %s\n", result(shutdown(out, SHUT_WR)));
    check_rc(pthread_join(t, NULL), "pthread_join");
    printf("reader: %zu bytes, %ld wrong, end of file %s\n", c.got, c.wrong,
           c.eof ? "seen" : "NOT seen");
    must_close(out);
    must_close(c.fd);
    must_close(lfd);
    must_close(file);
}

/* --- dup ---------------------------------------------------------------- */

/* Writes msg to fd and prints what peer reads. */
static void through(const char *what, int fd, int peer, const char *msg)
{
    char buf[64];
    size_t len = strlen(msg);

    check(must(write(fd, msg, len), "write") == (ssize_t)len, "write all");
    got(what, read(peer, buf, sizeof(buf)), buf);
}

static void dups(void)
{
    int sp[2], p[2], d, fd;
    char buf[8];

    check_errno(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), "socketpair");
    printf("dup:\n");
    d = must_fd(dup(sp[0]), "dup");
    print_flags("dup of a socket", d);
    through("read what went through dup", d, sp[1], "via dup");
    must_close(sp[0]);
    through("read what went through dup after closing the original", d, sp[1],
            "still");

    fd = dup2(d, DUP2_TARGET);
    printf("dup2 to %d: returned it: %s\n", DUP2_TARGET,
           fd == DUP2_TARGET ? "yes" : result(fd));
    through("read what went through dup2", DUP2_TARGET, sp[1], "via dup2");
    printf("dup2 onto itself: returned it: %s\n",
           dup2(d, d) == d ? "yes" : "no");

    fd = dup3(d, DUP3_TARGET, O_CLOEXEC);
    printf("dup3 O_CLOEXEC to %d: returned it: %s\n", DUP3_TARGET,
           fd == DUP3_TARGET ? "yes" : result(fd));
    print_flags("dup3 O_CLOEXEC", DUP3_TARGET);
    through("read what went through dup3", DUP3_TARGET, sp[1], "via dup3");

    fd = must_fd(fcntl(d, F_DUPFD_CLOEXEC, 0), "fcntl F_DUPFD_CLOEXEC");
    print_flags("F_DUPFD_CLOEXEC", fd);
    through("read what went through F_DUPFD_CLOEXEC", fd, sp[1], "via fcntl");
    must_close(fd);

    /* dup2 onto a pipe's only write end closes it: the reader sees end of
     * file, and the number now writes to the socket. */
    check_errno(pipe(p), "pipe");
    printf("dup2 onto an open pipe write end: returned it: %s\n",
           dup2(d, p[1]) == p[1] ? "yes" : "no");
    printf("read of that pipe: %s\n", result(read(p[0], buf, sizeof(buf))));
    through("read what went through the replaced number", p[1], sp[1],
            "replaced");
    must_close(p[0]);
    must_close(p[1]);
    must_close(DUP2_TARGET);
    must_close(DUP3_TARGET);
    must_close(d);
    must_close(sp[1]);
}

/* --- non-blocking flags ------------------------------------------------- */

/* recv on the empty fd; then, unless it is non-blocking, a recv that waits
 * for a send 20 ms later. */
static void try_recv(const char *what, int fd, int peer, int nonblocking)
{
    struct later l;
    char buf[16];

    if (nonblocking) {
        printf("%s: recv on empty: %s\n", what,
               result(recv(fd, buf, sizeof(buf), 0)));
        return;
    }
    write_later(&l, peer, "later", 5);
    got("  recv, sent 20 ms later", recv(fd, buf, sizeof(buf), 0), buf);
    join_later(&l);
}

static void nonblocking_flags(void)
{
    struct sockaddr_in addr;
    struct later l;
    int sp[2], p[2], lfd, c, a, fl;

    check_errno(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), "socketpair");
    printf("non-blocking flags:\n");
    print_flags("socketpair", sp[0]);
    fl = fcntl(sp[0], F_GETFL);
    printf("F_SETFL O_NONBLOCK: %s\n",
           result(fcntl(sp[0], F_SETFL, fl | O_NONBLOCK)));
    print_flags("after it", sp[0]);
    try_recv("O_NONBLOCK", sp[0], sp[1], 1);
    printf("F_SETFL without O_NONBLOCK: %s\n",
           result(fcntl(sp[0], F_SETFL, fl & ~O_NONBLOCK)));
    print_flags("after it", sp[0]);
    try_recv("blocking again", sp[0], sp[1], 0);
    printf("F_SETFD FD_CLOEXEC: %s\n",
           result(fcntl(sp[0], F_SETFD, FD_CLOEXEC)));
    print_flags("after it", sp[0]);

    printf("ioctl FIONBIO 1: %s\n", result(ioctl(sp[1], FIONBIO, &(int){1})));
    print_flags("after it", sp[1]);
    try_recv("FIONBIO 1", sp[1], sp[0], 1);
    printf("ioctl FIONBIO 0: %s\n", result(ioctl(sp[1], FIONBIO, &(int){0})));
    print_flags("after it", sp[1]);
    try_recv("FIONBIO 0", sp[1], sp[0], 0);
    must_close(sp[0]);
    must_close(sp[1]);

    c = must_fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), "socket");
    print_flags("socket SOCK_NONBLOCK", c);
    must_close(c);

    lfd = tcp_listener(&addr);
    print_flags("listener", lfd);
    c = connect_to(&addr);
    a = must_fd(accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC),
                "accept4");
    print_flags("accept4 SOCK_NONBLOCK|SOCK_CLOEXEC", a);
    try_recv("accept4 SOCK_NONBLOCK", a, c, 1);
    must_close(a);
    must_close(c);

    connect_later(&l, &addr);
    a = must_fd(accept(lfd, NULL, NULL), "accept");
    join_later(&l);
    printf("accept, connected to 20 ms later: done\n");
    print_flags("accept", a);
    try_recv("accepted", a, l.made, 0);
    must_close(a);
    must_close(l.made);

    /* Accepted sockets do not inherit O_NONBLOCK from the listener. */
    fl = fcntl(lfd, F_GETFL);
    check_errno(fcntl(lfd, F_SETFL, fl | O_NONBLOCK), "fcntl F_SETFL");
    print_flags("non-blocking listener", lfd);
    printf("accept on it, nothing pending: %s\n",
           result(accept(lfd, NULL, NULL)));
    c = connect_to(&addr);
    /* The listener may learn of the connection a moment after connect
     * returns: wait until it is readable. */
    check(poll(&(struct pollfd){.fd = lfd, .events = POLLIN}, 1, 5000) == 1,
          "the listener became readable");
    a = accept(lfd, NULL, NULL);
    must_fd(a, "accept");
    print_flags("accepted from the non-blocking listener", a);
    try_recv("accepted", a, c, 0);
    must_close(a);
    must_close(c);
    must_close(lfd);

    check_errno(pipe2(p, O_NONBLOCK), "pipe2");
    print_flags("pipe2 O_NONBLOCK read end", p[0]);
    print_flags("pipe2 O_NONBLOCK write end", p[1]);
    printf("read on empty: %s\n", result(read(p[0], &(char){0}, 1)));
    must_close(p[0]);
    must_close(p[1]);
    check_errno(pipe2(p, O_CLOEXEC), "pipe2");
    print_flags("pipe2 O_CLOEXEC read end", p[0]);
    print_flags("pipe2 O_CLOEXEC write end", p[1]);
    must_close(p[0]);
    must_close(p[1]);
}

/* --- eventfd ------------------------------------------------------------ */

static void eventfds(void)
{
    uint64_t v = 0;
    struct later l;
    int e;

    printf("eventfd:\n");
    e = must_fd(eventfd(0, 0), "eventfd");
    print_flags("eventfd", e);
    printf("write 5: %s\n", result(write(e, &(uint64_t){5}, 8)));
    printf("write 7: %s\n", result(write(e, &(uint64_t){7}, 8)));
    printf("read: %s", result(read(e, &v, 8)));
    printf(", value %llu\n", (unsigned long long)v);
    write_later(&l, e, &(uint64_t){9}, 8);
    printf("read, written 20 ms later: %s", result(read(e, &v, 8)));
    printf(", value %llu\n", (unsigned long long)v);
    join_later(&l);
    must_close(e);

    e = must_fd(eventfd(3, EFD_SEMAPHORE), "eventfd");
    for (int i = 0; i < 3; i++) {
        v = 0;
        printf("EFD_SEMAPHORE read: %s", result(read(e, &v, 8)));
        printf(", value %llu\n", (unsigned long long)v);
    }
    must_close(e);

    e = must_fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
    print_flags("eventfd EFD_NONBLOCK|EFD_CLOEXEC", e);
    printf("read on zero: %s\n", result(read(e, &v, 8)));
    must_close(e);
}

int main(void)
{
    stream_pair();
    dgram_pair();
    udp();
    tcp_sendfile();
    dups();
    nonblocking_flags();
    eventfds();
    fprintf(stderr, "os_threads_max=%d\n", os_threads_max);
    return 0;
}
