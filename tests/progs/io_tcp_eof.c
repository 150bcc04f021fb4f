/*
 * io_tcp_eof: a TCP reader sees every byte and then the end of file, when
 * the end comes right behind the last data.
 *
 * Rounds of: a writer sends 1 MiB in 7,000-byte writes over 127.0.0.1,
 * through a small send buffer, and
 * shuts its side down at once; a reader thread reads 4 KiB at a time until
 * read() returns 0. The reader's last reads come back short, and the FIN
 * may already be there when they do: a reader that took a short read for
 * "nothing more until the next event" would wait for an event that never
 * comes. Prints the rounds and the bytes read in all.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROG_NAME "io_tcp_eof"
#include "progs.h"

enum { ROUNDS = 200, BYTES = 1 << 20, CHUNK = 7000 };

struct reader {
    int fd;
    long got;
};

static void *read_to_eof(void *arg)
{
    struct reader *r = arg;
    char buf[4096];
    ssize_t n;

    while ((n = read(r->fd, buf, sizeof(buf))) > 0)
        r->got += n;
    check_errno(n < 0 ? -1 : 0, "read");
    return NULL;
}

int main(void)
{
    static char data[BYTES];
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    long total = 0;

    check(lfd >= 0, "socket");
    check_errno(bind(lfd, (struct sockaddr *)&addr, len), "bind");
    check_errno(listen(lfd, 16), "listen");
    check_errno(getsockname(lfd, (struct sockaddr *)&addr, &len),
                "getsockname");
    for (int round = 0; round < ROUNDS; round++) {
        int out = socket(AF_INET, SOCK_STREAM, 0);
        struct reader r = {.fd = -1};
        pthread_t t;

        check(out >= 0, "socket");
        check_errno(connect(out, (struct sockaddr *)&addr, sizeof(addr)),
                    "connect");
        r.fd = accept(lfd, NULL, NULL);
        check(r.fd >= 0, "accept");
        /* A small send buffer: the data comes in many pieces. */
        check_errno(setsockopt(out, SOL_SOCKET, SO_SNDBUF, &(int){65536},
                               sizeof(int)),
                    "setsockopt");
        check_rc(pthread_create(&t, NULL, read_to_eof, &r), "pthread_create");
        for (long sent = 0; sent < BYTES;) {
            long n = write(out, data + sent,
                           BYTES - sent < CHUNK ? BYTES - sent : CHUNK);

            check(n > 0, "write");
            sent += n;
        }
        check_errno(shutdown(out, SHUT_WR), "shutdown");
        check_rc(pthread_join(t, NULL), "pthread_join");
        check(r.got == BYTES, "the reader got every byte");
        total += r.got;
        close(out);
        close(r.fd);
    }
    printf("rounds=%d bytes=%ld, each read to its end of file\n", ROUNDS,
           total);
    return 0;
}
