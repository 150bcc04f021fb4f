/*
 * http.c: request heads in, responses out, for the demo servers (http.h).
 * Serves every path of GET and HEAD with one fixed text body. Enough of
 * HTTP/1.1 for wrk and curl: pipelined requests, requests split across
 * reads, and persistent connections (the default in 1.1, on request in 1.0).
 * Requests with a body are refused, since no client of the demo sends one.
 */
#include "http.h"

#include <string.h>
#include <strings.h>

struct status {
    int code;
    const char *reason;
    const char *body;
};

static const struct status statuses[] = {
    {200, "OK", "hello from libgreen demo\n"},
    {400, "Bad Request", "bad request\n"},
    {405, "Method Not Allowed", "only GET and HEAD\n"},
    {431, "Request Header Fields Too Large", "request head too large\n"},
};

/*
 * Length of the line at p, without its CRLF. end is the head's end (the
 * first CR of its CRLFCRLF), so there is always a CRLF to find.
 */
static size_t line_len(const char *p, const char *end)
{
    const char *crlf = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);

    return (size_t)(crlf - p);
}

/* True if line (n bytes) is a header called name. */
static int is_header(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);

    return n > k && line[k] == ':' && strncasecmp(line, name, k) == 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* True if the comma-separated list v (n bytes) holds the token tok. */
static int has_token(const char *v, size_t n, const char *tok)
{
    size_t k = strlen(tok);
    size_t i = 0;

    while (i < n) {
        size_t start, end;

        while (i < n && (is_space(v[i]) || v[i] == ','))
            i++;
        start = i;
        while (i < n && v[i] != ',')
            i++;
        end = i;
        while (end > start && is_space(v[end - 1]))
            end--;
        if (end - start == k && strncasecmp(v + start, tok, k) == 0)
            return 1;
    }
    return 0;
}

/* True if the Content-Length value v (n bytes) is a number above zero. */
static int nonzero_length(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] != '0' && !is_space(v[i]))
            return 1;
    }
    return 0;
}

/*
 * Reads the request line and the headers of a complete head that ends at
 * end (the first CR of its CRLFCRLF), and fills in req.
 */
static void parse_head(const char *buf, const char *end,
                       struct http_request *req)
{
    size_t n = line_len(buf, end);
    const char *sp = memchr(buf, ' ', n);
    int ask_close = 0, ask_keep = 0;

    req->status = 400;
    req->keep_alive = 0;
    req->head = 0;
    req->http10 = 0;
    /* METHOD SP TARGET SP HTTP/1.x, with a target at least one byte long */
    if (!sp || n < 12 || sp >= buf + n - 10 || buf[n - 9] != ' ')
        return;
    if (memcmp(buf + n - 8, "HTTP/1.1", 8) == 0)
        req->http10 = 0;
    else if (memcmp(buf + n - 8, "HTTP/1.0", 8) == 0)
        req->http10 = 1;
    else
        return;
    if (sp - buf == 4 && memcmp(buf, "HEAD", 4) == 0)
        req->head = 1;
    else if (!(sp - buf == 3 && memcmp(buf, "GET", 3) == 0)) {
        req->status = 405;
        return;
    }

    for (const char *p = buf + n + 2; p < end; p += n + 2) {
        const char *v;

        n = line_len(p, end);
        v = memchr(p, ':', n);
        if (!v)
            return;
        v++;
        if (is_header(p, n, "Connection")) {
            ask_close |= has_token(v, n - (size_t)(v - p), "close");
            ask_keep |= has_token(v, n - (size_t)(v - p), "keep-alive");
        } else if (is_header(p, n, "Transfer-Encoding")) {
            return;
        } else if (is_header(p, n, "Content-Length")) {
            if (nonzero_length(v, n - (size_t)(v - p)))
                return;
        }
    }
    req->status = 200;
    req->keep_alive = req->http10 ? ask_keep && !ask_close : !ask_close;
}

size_t http_parse(const char *buf, size_t len, size_t cap,
                  struct http_request *req)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);

    if (!end) {
        if (len < cap)
            return 0;
        req->status = 431;
        req->keep_alive = 0;
        req->head = 0;
        req->http10 = 0;
        return len;
    }
    parse_head(buf, end, req);
    if (req->status != 200)
        return len;
    return (size_t)(end - buf) + 4;
}

static char *put(char *out, const char *s)
{
    size_t n = strlen(s);

    memcpy(out, s, n);
    return out + n;
}

/* Writes v in decimal. */
static char *put_size(char *out, size_t v)
{
    char digits[24];
    int i = 0;

    do {
        digits[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i > 0)
        *out++ = digits[--i];
    return out;
}

size_t http_respond(const struct http_request *req, char *out)
{
    const struct status *s = &statuses[1];
    char *p = out;

    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        if (statuses[i].code == req->status)
            s = &statuses[i];
    }
    p = put(p, "HTTP/1.1 ");
    p = put_size(p, (size_t)s->code);
    p = put(p, " ");
    p = put(p, s->reason);
    p = put(p, "\r\nContent-Type: text/plain\r\nContent-Length: ");
    p = put_size(p, strlen(s->body));
    if (!req->keep_alive)
        p = put(p, "\r\nConnection: close");
    else if (req->http10)
        p = put(p, "\r\nConnection: keep-alive");
    p = put(p, "\r\n\r\n");
    if (!req->head)
        p = put(p, s->body);
    return (size_t)(p - out);
}
