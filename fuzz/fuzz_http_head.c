/* Fuzz target: the request parser (http/parser) on arbitrary bytes.
 *
 * The input is parsed twice -- whole, and in two pieces split where the
 * first byte says -- serving every message with a small body cap. Both
 * runs must agree on how many requests were served and whether the input
 * was refused (no rule may depend on how the network splits bytes; the
 * status may differ when the input breaks two rules at once, since llhttp
 * reports a field to us when its span ends or the buffer does),
 * and every head handed out must satisfy what the rest of the server
 * relies on: a non-empty path, token header names, no CR/LF/NUL in a
 * value, a known version, the caps of bounds.h, a Host that is host[:port]
 * (no userinfo, no '/', no space), and no Transfer-Encoding but one
 * "chunked" (RFC 9112 6.1: other codings are 501). Any violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/scan.h"
#include "bounds.h"
#include "http/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BODY_MAX 4096

struct run {
    int messages;
    int status;
    uint64_t body;
};

static int
count_body(void *arg, const char *data, size_t len)
{
    (void)data;
    struct run *r = arg;
    r->body += len;
    return 0;
}

static void
check_head(const struct http_head *h)
{
    if (h->path.len == 0 || h->target.len == 0 || h->target.len > BOUNDS_URL_MAX ||
        h->method_name.len == 0 || h->version_minor > 1 ||
        h->header_count > BOUNDS_HEADER_COUNT_MAX || h->head_bytes > BOUNDS_HEADER_BYTES_MAX) {
        abort();
    }
    if (h->content_length >= 0 && h->chunked) {
        abort(); /* CL + TE must never both be trusted */
    }
    size_t hosts = 0;
    size_t tes = 0;
    for (size_t i = 0; i < h->header_count; i++) {
        struct slice n = h->headers[i].name;
        struct slice v = h->headers[i].value;
        if (n.len == 0 || n.len > BOUNDS_HEADER_NAME_MAX) {
            abort();
        }
        for (size_t k = 0; k < n.len; k++) {
            if (!scan_is_tchar((unsigned char)n.ptr[k])) {
                abort();
            }
        }
        if (memchr(v.ptr, '\r', v.len) || memchr(v.ptr, '\n', v.len) || memchr(v.ptr, 0, v.len)) {
            abort();
        }
        if (slice_case_eq_cstr(n, "host")) {
            hosts++;
            for (size_t k = 0; k < v.len; k++) {
                if (v.ptr[k] == '@' || v.ptr[k] == '/' || v.ptr[k] == ' ' || v.ptr[k] == '\t' ||
                    v.ptr[k] == '?' || v.ptr[k] == '#') {
                    abort(); /* not host[:port] */
                }
            }
        }
        if (slice_case_eq_cstr(n, "transfer-encoding")) {
            if (tes++ > 0 || !h->chunked || !slice_case_eq_cstr(v, "chunked")) {
                abort(); /* a coding we do not implement was let through */
            }
        }
    }
    if (h->version_minor == 1 && hosts != 1) {
        abort();
    }
}

static struct run
parse(const uint8_t *data, size_t size, size_t split)
{
    struct run r = {0};
    struct http_parser *p = http_parser_new();
    const char *in = (const char *)data;
    size_t off = 0;
    size_t avail = split < size ? split : size;
    for (int guard = 0; guard < 1000000; guard++) {
        size_t used = 0;
        enum http_parse_event ev = http_parser_feed(p, in + off, avail - off, &used);
        if (used > avail - off) {
            abort();
        }
        off += used;
        if (ev == HTTP_PARSE_ERROR) {
            r.status = http_parser_error_status(p);
            if (r.status != 400 && r.status != 413 && r.status != 414 && r.status != 431 &&
                r.status != 501 && r.status != 505) {
                abort();
            }
            break;
        }
        if (ev == HTTP_PARSE_HEAD) {
            const struct http_head *h = http_parser_head(p);
            check_head(h);
            http_parser_accept_body(p, FUZZ_BODY_MAX, count_body, &r);
            continue;
        }
        if (ev == HTTP_PARSE_DONE) {
            r.messages++;
            bool keep = http_parser_head(p)->keep_alive;
            if (!keep) {
                break;
            }
            http_parser_next(p);
            continue;
        }
        if (off == avail) {
            if (avail == size) {
                break;
            }
            avail = size;
        }
    }
    if (r.body > (uint64_t)FUZZ_BODY_MAX * (uint64_t)(r.messages + 1)) {
        abort();
    }
    http_parser_free(p);
    return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run whole = parse(data, size, size);
    size_t split = size > 0 ? (size_t)data[0] * size / 256 : 0;
    struct run pieces = parse(data, size, split);
    if (whole.messages != pieces.messages || (whole.status != 0) != (pieces.status != 0)) {
        abort();
    }
    return 0;
}
