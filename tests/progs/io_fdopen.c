/*
 * io_fdopen: stdio streams on sockets and pipes, the way old servers read
 * a request line (fdopen, fgets, fprintf).
 *
 * 1. 20 pairs of threads, each pair on one socketpair with a stream on each
 *    end: the server thread waits in fgets for a line that its client
 *    thread sends 20 ms later with fprintf, and answers it; under
 *    libgreen all 40 threads share one or two OS threads, so a wait in
 *    fgets that blocked its worker would hang the run.
 * 2. fileno gives the stream's fd; fclose closes it.
 * 3. fdopen for reading on a pipe's write end fails with EINVAL.
 * 4. A write to a socket whose peer has gone: fflush fails with EPIPE
 *    (SIGPIPE ignored) and the stream's error flag is set.
 * 5. A stream on a regular file still seeks; one on a pipe says ESPIPE.
 * 6. A stream on a terminal is line-buffered: a line reaches the terminal
 *    without fflush.
 *
 * Prints what it checked; exits 1 on a mismatch.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROG_NAME "io_fdopen"
#include "progs.h"

#define PAIRS 20

static int answered, ok_fileno;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void *server(void *arg)
{
    int fd = (int)(long)arg;
    FILE *f = fdopen(fd, "r+");
    char line[64];

    check(f != NULL, "fdopen of a socket");
    if (fgets(line, sizeof(line), f)) {
        fprintf(f, "re: %s", line);
        fflush(f);
    }
    pthread_mutex_lock(&count_lock);
    ok_fileno += fileno(f) == fd;
    pthread_mutex_unlock(&count_lock);
    fclose(f);
    return NULL;
}

static void *client(void *arg)
{
    int fd = (int)(long)arg;
    FILE *f = fdopen(fd, "r+");
    char line[64];

    check(f != NULL, "fdopen of a socket");
    nap_ms(20);
    fprintf(f, "hello %d\n", fd);
    fflush(f);
    if (fgets(line, sizeof(line), f) && strncmp(line, "re: hello", 9) == 0) {
        pthread_mutex_lock(&count_lock);
        answered++;
        pthread_mutex_unlock(&count_lock);
    }
    fclose(f);
    return NULL;
}

static void line_exchanges(void)
{
    pthread_t t[2 * PAIRS];
    int fds[PAIRS][2];

    for (int i = 0; i < PAIRS; i++) {
        check_errno(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]), "socketpair");
        pthread_create(&t[2 * i], NULL, server, (void *)(long)fds[i][0]);
        pthread_create(&t[2 * i + 1], NULL, client, (void *)(long)fds[i][1]);
    }
    for (int i = 0; i < 2 * PAIRS; i++)
        pthread_join(t[i], NULL);
    printf("line exchanges answered: %d of %d\n", answered, PAIRS);
    printf("fileno gave the fd: %d of %d\n", ok_fileno, PAIRS);
    for (int i = 0; i < PAIRS; i++) {
        int closed = fcntl(fds[i][0], F_GETFD) < 0 && errno == EBADF &&
                     fcntl(fds[i][1], F_GETFD) < 0 && errno == EBADF;

        if (!closed) {
            printf("fclose left a socket open\n");
            return;
        }
    }
    printf("fclose closed every socket\n");
}

static void wrong_mode_fails(void)
{
    int p[2];
    FILE *f;

    check_errno(pipe(p), "pipe");
    errno = 0;
    f = fdopen(p[1], "r");
    printf("fdopen(write end, \"r\"): %s, %s\n", f ? "a stream" : "NULL",
           ename(errno));
    if (f)
        fclose(f);
    close(p[0]);
    close(p[1]);
}

static void write_to_a_gone_peer_fails(void)
{
    int sv[2];
    FILE *f;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    check_errno(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
    close(sv[1]);
    f = fdopen(sv[0], "w");
    check(f != NULL, "fdopen of a socket");
    fputs("nobody reads this\n", f);
    errno = 0;
    rc = fflush(f);
    printf("fflush to a gone peer: %s, %s, error flag %s\n",
           rc == EOF ? "EOF" : "0", ename(errno), ferror(f) ? "set" : "clear");
    fclose(f);
}

static void files_still_seek(void)
{
    char path[] = "/tmp/io_fdopen.XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    char word[8] = "";

    check(fd >= 0, "mkstemp");
    unlink(path);
    f = fdopen(fd, "w+");
    check(f != NULL, "fdopen of a file");
    fputs("first second", f);
    fseek(f, 6, SEEK_SET);
    check(fscanf(f, "%7s", word) == 1, "fscanf");
    printf("a file stream seeks: %s (read \"%s\")\n",
           strcmp(word, "second") == 0 ? "yes" : "no", word);
    fclose(f);
}

static void pipes_do_not_seek(void)
{
    int p[2];
    FILE *f;
    long at;
    int rc;

    check_errno(pipe(p), "pipe");
    f = fdopen(p[0], "r");
    check(f != NULL, "fdopen of a pipe");
    errno = 0;
    at = ftell(f);
    printf("ftell on a pipe: %ld, %s\n", at, ename(errno));
    errno = 0;
    rc = fseek(f, 0, SEEK_SET);
    printf("fseek on a pipe: %d, %s\n", rc, ename(errno));
    fclose(f);
    close(p[1]);
}

static void terminals_get_each_line(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    struct pollfd p = {.fd = master, .events = POLLIN};
    FILE *f;
    int term;

    check(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0,
          "a pseudo-terminal");
    term = open(ptsname(master), O_RDWR | O_NOCTTY);
    check(term >= 0, "open the terminal");
    f = fdopen(term, "w");
    check(f != NULL, "fdopen of a terminal");
    fputs("a line\n", f);
    printf("a line reached the terminal unflushed: %s\n",
           poll(&p, 1, 1000) == 1 ? "yes" : "no");
    fclose(f);
    close(master);
}

int main(void)
{
    line_exchanges();
    wrong_mode_fails();
    write_to_a_gone_peer_fails();
    files_still_seek();
    pipes_do_not_seek();
    terminals_get_each_line();
    return 0;
}
