/* Fuzz target: the rate-limit key (http/client_ip, SPEC.md 3.0.4).
 *
 * Input: one flag byte, then up to four '\n'-separated fields: the peer as
 * Go's RemoteAddr text, X-Forwarded-For, X-Real-IP, True-Client-IP. A '\r'
 * inside a header field separates its lines (a header sent on several
 * lines; RFC 9110 5.3), at most FIELD_LINES_MAX of them.
 * Flag bits: 0 trusted CIDRs on, 1 legacy TRUST_PROXY_HEADERS, 2-3 the
 * pinned header (0 X-Forwarded-For, 1 X-Real-IP, 2 True-Client-IP).
 *
 * Checked: no out-of-bounds access; the key is a C string within the cap;
 * the same input gives the same key; a key that is an IPv6 address is a /64
 * network and never IPv4-mapped (preface fix 4); a key taken from a trusted
 * header is an address outside every trusted CIDR; the lines of
 * X-Forwarded-For give the same key as their join with ", "; a pinned
 * X-Real-IP or True-Client-IP on more than one line is never trusted. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "http/client_ip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const trusted_text[] = {
    "10.0.0.0/8", "192.168.0.0/16", "fd00::/8", "2001:db8:ffff::/48", "::ffff:172.16.0.0/108",
};
#define TRUSTED_COUNT (sizeof(trusted_text) / sizeof(trusted_text[0]))
#define FIELD_LINES_MAX 8

/* Splits a field on '\r' into at most FIELD_LINES_MAX lines; none when the
 * field is absent (not in the input). */
static struct client_ip_field
split_lines(struct slice field, bool present, struct slice lines[FIELD_LINES_MAX])
{
    struct client_ip_field f = {lines, 0};
    if (!present) {
        return f;
    }
    size_t start = 0;
    for (size_t i = 0; i <= field.len && f.count < FIELD_LINES_MAX; i++) {
        if (i == field.len || field.ptr[i] == '\r') {
            lines[f.count++] = slice_make(field.ptr + start, i - start);
            start = i + 1;
        }
    }
    return f;
}

static void
check_key(const char *key, enum client_ip_source src, const struct ipcidr *trusted)
{
    size_t len = strnlen(key, CLIENT_IP_KEY_SIZE);
    if (len > BOUNDS_CLIENT_IP_KEY_MAX) {
        abort();
    }
    struct ipaddr a;
    bool is_ip = ipaddr_parse(slice_make(key, len), &a);
    if (is_ip && a.family == AF_INET6) {
        for (int i = 8; i < 16; i++) {
            if (a.bytes[i] != 0) {
                abort(); /* not reduced to its /64 */
            }
        }
        if (ipaddr_unmap(a).family != AF_INET6) {
            abort(); /* a mapped address must have become IPv4 */
        }
    }
    if (src == CLIENT_IP_SOURCE_TRUSTED_HEADER) {
        if (!is_ip) {
            abort();
        }
        /* Every IPv6 range above is /64 or wider, so reducing a hop to its
         * /64 cannot move it into one. */
        for (size_t i = 0; i < TRUSTED_COUNT; i++) {
            if (ipcidr_contains(&trusted[i], &a)) {
                abort(); /* a trusted proxy is never the client */
            }
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    struct ipcidr trusted[TRUSTED_COUNT];
    for (size_t i = 0; i < TRUSTED_COUNT; i++) {
        if (!ipcidr_parse(slice_from_cstr(trusted_text[i]), &trusted[i])) {
            abort();
        }
    }
    uint8_t flags = data[0];
    /* Exact-size copy of the rest, so ASan sees any overread. */
    size_t n = size - 1;
    char *text = xmalloc(n ? n : 1);
    memcpy(text, data + 1, n);

    struct slice fields[4] = {SLICE_NULL, SLICE_NULL, SLICE_NULL, SLICE_NULL};
    bool present[4] = {false, false, false, false};
    size_t start = 0;
    for (int f = 0; f < 4 && start <= n; f++) {
        present[f] = true;
        size_t end = start;
        while (end < n && (f == 3 || text[end] != '\n')) {
            end++;
        }
        fields[f] = slice_make(text + start, end - start);
        start = end + 1;
    }

    struct client_ip_policy p = {
        .trusted = (flags & 1) ? trusted : NULL,
        .trusted_count = (flags & 1) ? TRUSTED_COUNT : 0,
        .header = (enum client_ip_header)((flags >> 2) % CLIENT_IP_HEADER_COUNT),
        .legacy = (flags & 2) != 0,
    };
    struct client_ip_peer peer = client_ip_peer_from_text(fields[0]);
    struct slice xff[FIELD_LINES_MAX];
    struct slice xrip[FIELD_LINES_MAX];
    struct slice tcip[FIELD_LINES_MAX];
    struct client_ip_headers h = {
        .x_forwarded_for = split_lines(fields[1], present[1], xff),
        .x_real_ip = split_lines(fields[2], present[2], xrip),
        .true_client_ip = split_lines(fields[3], present[3], tcip),
    };
    char key[CLIENT_IP_KEY_SIZE];
    char again[CLIENT_IP_KEY_SIZE];
    enum client_ip_source src = client_ip_key(&p, &peer, &h, key);
    enum client_ip_source src2 = client_ip_key(&p, &peer, &h, again);
    if (src != src2 || strcmp(key, again) != 0 || (unsigned)src >= CLIENT_IP_SOURCE_COUNT) {
        abort();
    }
    check_key(key, src, trusted);

    /* The lines of X-Forwarded-For mean their join with ", " (the walk
     * reads each line up to a NUL, so a NUL keeps the lines apart). */
    if (h.x_forwarded_for.count > 1 && p.trusted_count > 0 &&
        p.header == CLIENT_IP_HEADER_X_FORWARDED_FOR &&
        memchr(fields[1].ptr, '\0', fields[1].len) == NULL) {
        char *joined = xmalloc(fields[1].len + FIELD_LINES_MAX * 2 + 1);
        size_t jn = 0;
        for (size_t i = 0; i < h.x_forwarded_for.count; i++) {
            struct slice l = h.x_forwarded_for.lines[i];
            if (i > 0) {
                joined[jn++] = ',';
                joined[jn++] = ' ';
            }
            if (l.len > 0) {
                memcpy(joined + jn, l.ptr, l.len);
            }
            jn += l.len;
        }
        struct slice one = slice_make(joined, jn);
        struct client_ip_headers hj = h;
        hj.x_forwarded_for = (struct client_ip_field){&one, 1};
        enum client_ip_source srcj = client_ip_key(&p, &peer, &hj, again);
        if (srcj != src || strcmp(key, again) != 0) {
            abort();
        }
        xfree(joined);
    }
    /* A pinned singleton header on several lines is never the source. */
    if (p.trusted_count > 0 && src == CLIENT_IP_SOURCE_TRUSTED_HEADER &&
        ((p.header == CLIENT_IP_HEADER_X_REAL_IP && h.x_real_ip.count > 1) ||
         (p.header == CLIENT_IP_HEADER_TRUE_CLIENT_IP && h.true_client_ip.count > 1))) {
        abort();
    }
    xfree(text);
    return 0;
}
