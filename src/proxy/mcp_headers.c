#include "proxy/mcp_headers.h"

#include <stdint.h>
#include <string.h>

#include "base/b64url.h"
#include "base/xalloc.h"
#include "proxy/jsonrpc_peek.h"

#define SENTINEL_HEAD "=?base64?"
#define SENTINEL_TAIL "?="

static bool
starts_with(struct slice s, const char *p)
{
    size_t n = strlen(p);
    return s.len >= n && memcmp(s.ptr, p, n) == 0;
}

static bool
ends_with(struct slice s, const char *p)
{
    size_t n = strlen(p);
    return s.len >= n && memcmp(s.ptr + s.len - n, p, n) == 0;
}

/* Standard padded base64 (RFC 4648 4), canonical: the length a multiple of
 * 4, '=' only as the one or two last characters, then the same rules as
 * base64url (zero unused bits), which does the decoding once the alphabet
 * is mapped. */
static int
decode_std_base64(struct slice text, char *out, size_t cap, size_t *out_len)
{
    if (text.len % 4 != 0) {
        return -1;
    }
    size_t pad = 0;
    while (pad < 2 && pad < text.len && text.ptr[text.len - 1 - pad] == '=') {
        pad++;
    }
    size_t n = text.len - pad;
    char *mapped = xstrndup(text.ptr, n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        switch (mapped[i]) {
        case '+':
            mapped[i] = '-';
            break;
        case '/':
            mapped[i] = '_';
            break;
        case '-': /* base64url's alphabet is not this one */
        case '_':
        case '=':
            rc = -1;
            break;
        default:
            break;
        }
    }
    if (rc == 0 && b64url_decode(slice_make(mapped, n), (uint8_t *)out, cap, out_len) != 0) {
        rc = -1;
    }
    xfree(mapped);
    return rc;
}

int
proxy_mcp_headers_decode_name(struct slice value, char *out, size_t cap, size_t *out_len)
{
    size_t head = sizeof(SENTINEL_HEAD) - 1;
    size_t tail = sizeof(SENTINEL_TAIL) - 1;
    if (value.len >= head + tail && starts_with(value, SENTINEL_HEAD) &&
        ends_with(value, SENTINEL_TAIL)) {
        return decode_std_base64(slice_make(value.ptr + head, value.len - head - tail), out, cap,
                                 out_len);
    }
    if (value.len > cap) {
        return -1;
    }
    memcpy(out, value.ptr, value.len);
    *out_len = value.len;
    return 0;
}

static bool
equals(struct slice a, const char *b, size_t b_len)
{
    return b != NULL && a.len == b_len && memcmp(a.ptr, b, b_len) == 0;
}

const char *
proxy_mcp_headers_check(const struct proxy_mcp_headers *h, const struct proxy_jsonrpc_peek *peek)
{
    if (h->method_count == 0 && h->name_count == 0) {
        return NULL;
    }
    if (h->method_count > 1 || h->name_count > 1) {
        return "Mcp-Method or Mcp-Name header is repeated";
    }
    if (peek->kind != PROXY_JSONRPC_SINGLE || peek->call_method == NULL) {
        return "Mcp-Method or Mcp-Name header sent, but the body is not one JSON-RPC request";
    }
    if (h->method_count == 1 && !equals(h->method[0], peek->call_method, peek->call_method_len)) {
        return "Mcp-Method header does not match the request body's method";
    }
    if (h->name_count == 0) {
        return NULL;
    }
    if (peek->call_name == NULL) {
        return "Mcp-Name header sent, but the request body names no tool, prompt or resource";
    }
    /* A decoded value is never longer than its header value. */
    struct slice v = h->name[0];
    char *decoded = xmalloc(v.len + 1);
    size_t len = 0;
    const char *reason = NULL;
    if (proxy_mcp_headers_decode_name(v, decoded, v.len + 1, &len) != 0) {
        reason = "Mcp-Name header has invalid base64";
    } else if (!equals(slice_make(decoded, len), peek->call_name, peek->call_name_len)) {
        reason = "Mcp-Name header does not match the request body's name";
    }
    xfree(decoded);
    return reason;
}
