/* Fuzz target: the rate-limit key (http/client_ip, SPEC.md 3.0.4).
 *
 * Input: one flag byte, then up to four '\n'-separated fields: the peer as
 * Go's RemoteAddr text, X-Forwarded-For, X-Real-IP, True-Client-IP.
 * Flag bits: 0 trusted CIDRs on, 1 legacy TRUST_PROXY_HEADERS, 2-3 the
 * pinned header (0 X-Forwarded-For, 1 X-Real-IP, 2 True-Client-IP).
 *
 * Checked: no out-of-bounds access; the key is a C string within the cap;
 * the same input gives the same key; a key that is an IPv6 address is a /64
 * network and never IPv4-mapped (preface fix 4); a key taken from a trusted
 * header is an address outside every trusted CIDR. */
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

    struct slice fields[4] = { SLICE_NULL, SLICE_NULL, SLICE_NULL, SLICE_NULL };
    size_t start = 0;
    for (int f = 0; f < 4 && start <= n; f++) {
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
        .header = (enum config_proxy_header)((flags >> 2) % CONFIG_PROXY_HEADER_COUNT),
        .legacy = (flags & 2) != 0,
    };
    struct client_ip_peer peer = client_ip_peer_from_text(fields[0]);
    struct client_ip_headers h = {
        .x_forwarded_for = fields[1],
        .x_real_ip = fields[2],
        .true_client_ip = fields[3],
    };
    char key[CLIENT_IP_KEY_SIZE];
    char again[CLIENT_IP_KEY_SIZE];
    enum client_ip_source src = client_ip_key(&p, &peer, &h, key);
    enum client_ip_source src2 = client_ip_key(&p, &peer, &h, again);
    if (src != src2 || strcmp(key, again) != 0 || (unsigned)src >= CLIENT_IP_SOURCE_COUNT) {
        abort();
    }
    check_key(key, src, trusted);
    xfree(text);
    return 0;
}
