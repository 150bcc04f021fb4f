/*
 * http_uv: the server of http_threaded written for one libuv loop, for
 * scripts/bench-http: what the same work costs natively in the event-loop
 * style that libgreen uses underneath.
 *
 *   http_uv PORT           (PORT 0: any free port)
 *
 * Listens on 127.0.0.1:PORT, prints "listening on PORT" once it accepts
 * connections, and serves until killed. Same parser and same bytes as
 * http_threaded (http.c); one thread, callbacks instead of blocking calls.
 */
#include "http.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Responses to pipelined requests are gathered here and sent together. */
#define OUT_MAX 2048

struct conn {
    uv_tcp_t tcp;
    size_t len; /* bytes of an incomplete request head at buf */
    char buf[HTTP_REQUEST_MAX];
};

/* One uv_write in flight, with its own copy of the bytes. */
struct out {
    uv_write_t req;
    int close; /* the last response said Connection: close */
    char data[];
};

static uv_loop_t loop;

static void on_close(uv_handle_t *h)
{
    free(h->data);
}

static void drop(struct conn *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_write(uv_write_t *req, int status)
{
    struct out *o = (struct out *)req;
    struct conn *c = req->handle->data;

    if (status < 0 || o->close)
        drop(c);
    free(o);
}

/*
 * Queues a copy of data for writing, to close the connection once it is
 * sent if last. Returns 0, or -1 if the connection is gone.
 */
static int send_out(struct conn *c, const char *data, size_t len, int last)
{
    struct out *o = malloc(sizeof(*o) + len);
    uv_buf_t b;

    if (!o)
        return -1;
    memcpy(o->data, data, len);
    o->close = last;
    b = uv_buf_init(o->data, (unsigned int)len);
    if (uv_write(&o->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
        free(o);
        return -1;
    }
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct conn *c = h->data;

    (void)suggested;
    *b = uv_buf_init(c->buf + c->len, (unsigned int)(sizeof(c->buf) - c->len));
}

/*
 * Answers every complete request in c->buf, and leaves the bytes of an
 * incomplete one at its start. After a response that closes, reads stop and
 * the write callback closes the connection.
 */
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = s->data;
    char out[OUT_MAX];
    size_t off = 0, olen = 0, used;
    struct http_request req;
    int keep = 1;

    (void)b;
    if (nread < 0) {
        drop(c);
        return;
    }
    c->len += (size_t)nread;
    while (keep && (used = http_parse(c->buf + off, c->len - off,
                                      HTTP_REQUEST_MAX, &req)) > 0) {
        off += used;
        if (OUT_MAX - olen < HTTP_RESPONSE_MAX) {
            if (send_out(c, out, olen, 0) < 0)
                goto out_drop;
            olen = 0;
        }
        olen += http_respond(&req, out + olen);
        keep = req.keep_alive;
    }
    if (olen > 0 && send_out(c, out, olen, !keep) < 0)
        goto out_drop;
    if (!keep)
        uv_read_stop(s);
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return;

out_drop:
    drop(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct conn *c;

    if (status < 0) {
        fprintf(stderr, "http_uv: listen: %s\n", uv_strerror(status));
        return;
    }
    c = malloc(sizeof(*c));
    if (!c) {
        fprintf(stderr, "http_uv: out of memory\n");
        return;
    }
    c->len = 0;
    uv_tcp_init(&loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        drop(c);
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr;
    int alen = sizeof(addr);
    uv_tcp_t server;
    char *end;
    long port = argc == 2 ? strtol(argv[1], &end, 10) : -1;
    int rc;

    if (argc != 2 || *end || port < 0 || port > 65535) {
        fprintf(stderr, "usage: http_uv PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    uv_tcp_init(&loop, &server);
    uv_ip4_addr("127.0.0.1", (int)port, &addr);
    if ((rc = uv_tcp_bind(&server, (struct sockaddr *)&addr, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection)) <
            0 ||
        (rc = uv_tcp_getsockname(&server, (struct sockaddr *)&addr, &alen)) <
            0) {
        fprintf(stderr, "http_uv: bind/listen: %s\n", uv_strerror(rc));
        return 1;
    }
    printf("listening on %d\n", ntohs(addr.sin_port));
    fflush(stdout);
    return uv_run(&loop, UV_RUN_DEFAULT);
}
