#include "http/client_ip.h"

#include <netinet/in.h>
#include <string.h>

/* Text ends at its first NUL byte: HTTP header values cannot carry one, and
 * the key is a C string. */
static struct slice
cut_at_nul(struct slice s)
{
    const char *nul = s.len ? memchr(s.ptr, '\0', s.len) : NULL;
    return nul ? slice_make(s.ptr, (size_t)(nul - s.ptr)) : s;
}

static bool
parse_ip(struct slice text, struct ipaddr *out)
{
    struct ipaddr a;
    if (!ipaddr_parse(text, &a)) {
        return false;
    }
    *out = ipaddr_unmap(a);
    return true;
}

/* An address as a key: IPv4 dotted, IPv6 its /64 network (fix 4). */
static void
key_from_addr(const struct ipaddr *a, char out[CLIENT_IP_KEY_SIZE])
{
    struct ipaddr u = ipaddr_unmap(*a);
    if (u.family == AF_INET6) {
        u = ipaddr_mask(u, 64);
    }
    char text[IPADDR_TEXT_MAX];
    ipaddr_format(&u, text);
    size_t n = strlen(text);
    memcpy(out, text, n + 1);
}

/* Unvalidated text as a key (httprate's canonicalizeIP): kept as written
 * unless a ':' comes before any '.' and the text parses as an IP, in which
 * case it is reduced like an address. Cut at BOUNDS_CLIENT_IP_KEY_MAX. */
static void
key_from_text(struct slice text, char out[CLIENT_IP_KEY_SIZE])
{
    text = cut_at_nul(text);
    for (size_t i = 0; i < text.len; i++) {
        if (text.ptr[i] == '.') {
            break;
        }
        if (text.ptr[i] == ':') {
            struct ipaddr a;
            if (parse_ip(text, &a)) {
                key_from_addr(&a, out);
                return;
            }
            break;
        }
    }
    size_t n = text.len < BOUNDS_CLIENT_IP_KEY_MAX ? text.len : BOUNDS_CLIENT_IP_KEY_MAX;
    if (n > 0) {
        memcpy(out, text.ptr, n);
    }
    out[n] = '\0';
}

static void
default_key(const struct client_ip_peer *peer, char out[CLIENT_IP_KEY_SIZE])
{
    if (peer->addr.family == AF_INET || peer->addr.family == AF_INET6) {
        key_from_addr(&peer->addr, out);
    } else {
        key_from_text(peer->text, out);
    }
}

struct client_ip_peer
client_ip_peer_from_sockaddr(const struct sockaddr *sa, socklen_t len)
{
    struct client_ip_peer p;
    memset(&p, 0, sizeof(p));
    if (sa == NULL || len < (socklen_t)sizeof(sa_family_t)) {
        return p;
    }
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        p.addr.family = AF_INET;
        memcpy(p.addr.bytes, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        p.addr.family = AF_INET6;
        memcpy(p.addr.bytes, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
        p.addr = ipaddr_unmap(p.addr);
    } else if (sa->sa_family == AF_UNIX) {
        p.text = SLICE_LIT("unix");
    }
    return p;
}

/* Go's net.SplitHostPort, host part only: "host:port" or "[host]:port"; the
 * port may be empty and is not checked. Refuses no colon, a colon inside an
 * unbracketed host, a '[' without ']', anything between ']' and the last
 * ':', and stray brackets. */
static bool
split_host_port(struct slice in, struct slice *host)
{
    long last = -1;
    for (size_t i = 0; i < in.len; i++) {
        if (in.ptr[i] == ':') {
            last = (long)i;
        }
    }
    if (last < 0) {
        return false;
    }
    size_t i = (size_t)last;
    size_t j = 0; /* no '[' from here on */
    size_t k = 0; /* no ']' from here on */
    struct slice h;
    if (in.ptr[0] == '[') {
        long end = slice_find_byte(in, ']');
        if (end < 0 || (size_t)end + 1 != i) {
            return false; /* missing ']', missing port, or too many colons */
        }
        h = slice_make(in.ptr + 1, (size_t)end - 1);
        j = 1;
        k = (size_t)end + 1;
    } else {
        h = slice_make(in.ptr, i);
        if (slice_find_byte(h, ':') >= 0) {
            return false;
        }
    }
    if (slice_find_byte(slice_skip(in, j), '[') >= 0 ||
        slice_find_byte(slice_skip(in, k), ']') >= 0) {
        return false;
    }
    *host = h;
    return true;
}

struct client_ip_peer
client_ip_peer_from_text(struct slice remote_addr)
{
    struct client_ip_peer p;
    memset(&p, 0, sizeof(p));
    struct slice host;
    if (!split_host_port(remote_addr, &host)) {
        host = remote_addr; /* SPEC.md 3.0.4: the raw string is used */
    }
    p.text = host;
    struct ipaddr a;
    if (parse_ip(host, &a)) {
        p.addr = a;
    }
    return p;
}

static bool
is_trusted(const struct client_ip_policy *p, const struct ipaddr *a)
{
    for (size_t i = 0; i < p->trusted_count; i++) {
        if (ipcidr_contains(&p->trusted[i], a)) {
            return true;
        }
    }
    return false;
}

/* One forwarded-for entry as an address: "[v6]..." -> v6, "v4:port" ->
 * v4 (exactly one ':'), else the entry itself. */
static bool
hop_addr(struct slice entry, struct ipaddr *out)
{
    if (entry.len > 0 && entry.ptr[0] == '[') {
        long close = slice_find_byte(entry, ']');
        if (close < 0) {
            return false;
        }
        entry = slice_make(entry.ptr + 1, (size_t)close - 1);
    } else {
        long colon = slice_find_byte(entry, ':');
        if (colon >= 0 && slice_find_byte(slice_skip(entry, (size_t)colon + 1), ':') < 0) {
            entry.len = (size_t)colon;
        }
    }
    return parse_ip(entry, out);
}

enum walk {
    WALK_FOUND,       /* *out is the first untrusted hop */
    WALK_ALL_TRUSTED, /* every hop of this line was a trusted proxy */
    WALK_MALFORMED,   /* a hop that is no address: stop, nothing left of it counts */
};

/* The right-to-left walk over one line of the pinned header. */
static enum walk
walk_line(const struct client_ip_policy *p, struct slice value, struct ipaddr *out)
{
    size_t end = value.len;
    for (;;) {
        size_t start = end;
        while (start > 0 && value.ptr[start - 1] != ',') {
            start--;
        }
        struct slice entry = slice_trim_space(slice_make(value.ptr + start, end - start));
        if (entry.len > 0) {
            struct ipaddr a;
            if (!hop_addr(entry, &a)) {
                return WALK_MALFORMED;
            }
            if (!is_trusted(p, &a)) {
                *out = a;
                return WALK_FOUND;
            }
        }
        if (start == 0) {
            return WALK_ALL_TRUSTED;
        }
        end = start - 1; /* skip the ',' */
    }
}

/* The walk over every line, last line first: the same hops, in the same
 * order, as the value joined with ", " (RFC 9110 5.3). true with *out set
 * when an untrusted hop was found; false means "use the default key". */
static bool
walk_forwarded(const struct client_ip_policy *p, struct client_ip_field f, struct ipaddr *out)
{
    for (size_t i = f.count; i > 0; i--) {
        switch (walk_line(p, cut_at_nul(f.lines[i - 1]), out)) {
        case WALK_FOUND:
            return true;
        case WALK_MALFORMED:
            return false;
        case WALK_ALL_TRUSTED:
        default:
            break;
        }
    }
    return false; /* every hop was a trusted proxy */
}

/* The pinned header; a repeated singleton header (X-Real-IP,
 * True-Client-IP) comes back absent: ambiguous, so never trusted. */
static struct client_ip_field
pinned_field(const struct client_ip_policy *p, const struct client_ip_headers *h)
{
    struct client_ip_field f;
    switch (p->header) {
    case CLIENT_IP_HEADER_X_REAL_IP:
        f = h->x_real_ip;
        break;
    case CLIENT_IP_HEADER_TRUE_CLIENT_IP:
        f = h->true_client_ip;
        break;
    case CLIENT_IP_HEADER_X_FORWARDED_FOR:
    case CLIENT_IP_HEADER_COUNT:
    default:
        return h->x_forwarded_for;
    }
    if (f.count > 1) {
        f.count = 0;
    }
    return f;
}

/* The first line of a header (Go's Header.Get); empty when absent. */
static struct slice
first_line(struct client_ip_field f)
{
    return f.count > 0 ? f.lines[0] : SLICE_NULL;
}

/* X-Forwarded-For up to its first ", " (comma and space), as httprate's
 * KeyByRealIP cut it. */
static struct slice
legacy_forwarded(struct slice xff)
{
    for (size_t i = 0; i + 1 < xff.len; i++) {
        if (xff.ptr[i] == ',' && xff.ptr[i + 1] == ' ') {
            return slice_make(xff.ptr, i);
        }
    }
    return xff;
}

enum client_ip_source
client_ip_key(const struct client_ip_policy *p, const struct client_ip_peer *peer,
              const struct client_ip_headers *h, char out[CLIENT_IP_KEY_SIZE])
{
    if (p->trusted_count > 0) {
        struct client_ip_field pinned = pinned_field(p, h);
        bool peer_is_ip = peer->addr.family == AF_INET || peer->addr.family == AF_INET6;
        struct ipaddr client;
        if (peer_is_ip && pinned.count > 0 && is_trusted(p, &peer->addr) &&
            walk_forwarded(p, pinned, &client)) {
            key_from_addr(&client, out);
            return CLIENT_IP_SOURCE_TRUSTED_HEADER;
        }
        default_key(peer, out);
        return CLIENT_IP_SOURCE_PEER;
    }
    if (p->legacy) {
        /* Header values are compared after their optional whitespace is
         * gone (RFC 9110 5.5), as Go's Header.Get saw them. */
        struct slice tcip = slice_trim_ows(first_line(h->true_client_ip));
        struct slice xrip = slice_trim_ows(first_line(h->x_real_ip));
        struct slice xff = slice_trim_ows(first_line(h->x_forwarded_for));
        if (tcip.len > 0) {
            key_from_text(tcip, out);
        } else if (xrip.len > 0) {
            key_from_text(xrip, out);
        } else if (xff.len > 0) {
            key_from_text(legacy_forwarded(xff), out);
        } else {
            default_key(peer, out);
            return CLIENT_IP_SOURCE_PEER;
        }
        return CLIENT_IP_SOURCE_LEGACY_HEADER;
    }
    default_key(peer, out);
    return CLIENT_IP_SOURCE_PEER;
}
