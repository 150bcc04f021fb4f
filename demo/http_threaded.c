/*
 * http_threaded: a thread-per-connection HTTP/1.1 server, for scripts/demo
 * and scripts/bench-http.
 *
 *   http_threaded PORT     (PORT 0: any free port)
 *
 * Listens on 127.0.0.1:PORT, prints "listening on PORT" once it accepts
 * connections, and serves until killed. main accepts; each connection gets
 * a detached thread with the default stack that reads requests and writes
 * responses with plain blocking read() and write() until the client closes
 * or asks to. The way servers were written before event loops: a plain
 * pthread program that knows nothing of libgreen, and the baseline that
 * libgreen runs unchanged.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Responses to pipelined requests are gathered here and sent together. */
#define OUT_MAX 2048

/* Writes all of buf; returns 0, or -1 if the connection is gone. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * Answers every complete request in buf[0..*len), and leaves the bytes of
 * an incomplete one at the start of buf. Returns 1 to keep reading, 0 once
 * the connection should close.
 */
static int serve(int fd, char *buf, size_t *len)
{
    char out[OUT_MAX];
    size_t off = 0, olen = 0, used;
    struct http_request req;
    int keep = 1;

    while (keep && (used = http_parse(buf + off, *len - off, HTTP_REQUEST_MAX,
                                      &req)) > 0) {
        off += used;
        if (OUT_MAX - olen < HTTP_RESPONSE_MAX) {
            if (write_all(fd, out, olen) < 0)
                return 0;
            olen = 0;
        }
        olen += http_respond(&req, out + olen);
        keep = req.keep_alive;
    }
    if (olen > 0 && write_all(fd, out, olen) < 0)
        return 0;
    memmove(buf, buf + off, *len - off);
    *len -= off;
    return keep;
}

static void *connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[HTTP_REQUEST_MAX];
    size_t len = 0;

    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (!serve(fd, buf, &len))
            break;
    }
    close(fd);
    return NULL;
}

static int listen_on(int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t alen = sizeof(addr);
    int one = 1;
    int fd;

    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("http_threaded: socket");
        exit(1);
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) < 0) {
        perror("http_threaded: bind/listen");
        exit(1);
    }
    printf("listening on %d\n", ntohs(addr.sin_port));
    fflush(stdout);
    return fd;
}

int main(int argc, char **argv)
{
    const struct timespec backoff = {.tv_nsec = 10 * 1000 * 1000};
    char *end;
    long port = argc == 2 ? strtol(argv[1], &end, 10) : -1;
    pthread_attr_t attr;
    int lfd, fd, rc;
    pthread_t t;

    if (argc != 2 || *end || port < 0 || port > 65535) {
        fprintf(stderr, "usage: http_threaded PORT\n");
        return 2;
    }
    /* A client that goes away mid-response must cost only its thread. */
    signal(SIGPIPE, SIG_IGN);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    lfd = listen_on((int)port);
    for (;;) {
        fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EMFILE && errno != ENFILE && errno != ENOBUFS &&
                errno != ENOMEM) {
                perror("http_threaded: accept");
                return 1;
            }
            /* Out of fds or memory: wait for connections to end. */
            perror("http_threaded: accept");
            nanosleep(&backoff, NULL);
            continue;
        }
        rc = pthread_create(&t, &attr, connection, (void *)(intptr_t)fd);
        if (rc != 0) {
            fprintf(stderr, "http_threaded: pthread_create: %s\n",
                    strerror(rc));
            close(fd);
        }
    }
}
