/*
 * http.h: the little HTTP/1.1 that the two demo servers share, so that
 * http_threaded and http_uv parse the same requests and send the same bytes.
 * Pure functions on buffers, no I/O: each server feeds in what it has read
 * and writes out what comes back, in its own way.
 */
#ifndef DEMO_HTTP_H
#define DEMO_HTTP_H

#include <stddef.h>

/* Room each server keeps per connection for one request's head. */
#define HTTP_REQUEST_MAX 4096

/* http_respond never writes more than this. */
#define HTTP_RESPONSE_MAX 256

struct http_request {
    int status;     /* 200, or 400, 405, 431 for what we do not serve */
    int keep_alive; /* the connection stays open after the response */
    int head;       /* HEAD: the response has no body */
    int http10;     /* the request said HTTP/1.0 */
};

/*
 * Looks for one complete request head (up to and with its blank line) at the
 * start of buf[0..len). Returns the bytes it takes, or 0 if it is not all
 * there yet and more should be read. cap is the most the caller can hold: a
 * head that would not fit gets status 431. A request we cannot serve gets a
 * 4xx status, keep_alive 0, and takes all of len, since after it we no longer
 * know where the next request starts.
 */
size_t http_parse(const char *buf, size_t len, size_t cap,
                  struct http_request *req);

/*
 * Writes the response to req into out, which has room for at least
 * HTTP_RESPONSE_MAX bytes, and returns its length.
 */
size_t http_respond(const struct http_request *req, char *out);

#endif
