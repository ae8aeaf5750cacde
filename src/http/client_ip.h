/* The rate-limit key of a request (SPEC.md 3.0.4, with the preface's fix 4:
 * IPv6 clients are bucketed per /64 on every path). Pure: no I/O, no
 * allocation; the caller owns every input and the output array.
 *
 * Default key -- the TCP peer: IPv4 in dotted form, IPv6 reduced to its /64
 * network ("2001:db8:1:2::"), an IPv4-mapped IPv6 peer as plain IPv4. A
 * peer that is not an address (Go's RemoteAddr that could not be split) is
 * used as text.
 *
 * TRUSTED_PROXY_CIDRS set: when the peer is inside a trusted CIDR and the
 * pinned header (TRUSTED_PROXY_HEADER) is non-empty, the header -- every
 * line of it, in the order received, read as one list the way RFC 9110
 * 5.3 joins repeated lines with ", " -- is split on ',' and walked from
 * the rightmost entry leftwards:
 * each entry is trimmed of ASCII whitespace, empty entries are skipped, a
 * "[...]" pair is stripped (anything after ']' is ignored), else a ":port"
 * suffix when the entry has exactly one ':'. An entry that is not an IP
 * literal ends the walk with the default key; a trusted one is passed;
 * the first untrusted one is the key (IPv4 dotted, IPv6 /64). All entries
 * trusted: the default key. X-Real-IP and True-Client-IP carry one
 * address: pinned and sent on more than one line they are ambiguous (which
 * line did the trusted proxy write?), so the default key is used.
 * TRUST_PROXY_HEADERS is then ignored.
 *   peer 10.1.2.3, trusted 10.0.0.0/8:
 *     "203.0.113.99, 10.42.0.7"             -> 203.0.113.99
 *     "evil-spoof, 203.0.113.99, 10.42.0.7" -> 203.0.113.99
 *     "not-an-ip"                            -> 10.1.2.3
 *     "2001:db8:1:2:3:4:5:6"                 -> 2001:db8:1:2::
 *     lines "203.0.113.99" + "10.42.0.7"     -> 203.0.113.99
 *     lines "evil" + "203.0.113.99, 10.1.1.1" -> 203.0.113.99
 *
 * Legacy TRUST_PROXY_HEADERS without CIDRs (PROD_MODE=false only): the
 * first non-empty of True-Client-IP, X-Real-IP, X-Forwarded-For up to its
 * first ", " (comma and space), else the default key; each header's first
 * line, as Go's Header.Get read it (for X-Forwarded-For the same as the
 * joined value unless the first line is empty). Not validated: a
 * value is used as text unless a ':' comes before any '.' and it parses as
 * an IP, in which case it is reduced like an address.
 *
 * Deliberate differences from the Go service: IPv6 entries from a trusted
 * header are reduced to /64 (fix 4); IPv4-mapped IPv6 text becomes the IPv4
 * address on every path (Go reduced "::ffff:a.b.c.d" to "::" in the
 * default and legacy paths); only ASCII whitespace is trimmed and IPv6 zone
 * ids ("fe80::1%eth0") are not IP literals, so such entries end the walk
 * with the (stricter) default key. Text is cut at the first NUL byte and at
 * BOUNDS_CLIENT_IP_KEY_MAX bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "base/ipaddr.h"
#include "base/slice.h"
#include "bounds.h"

#define CLIENT_IP_KEY_SIZE (BOUNDS_CLIENT_IP_KEY_MAX + 1)

/* The header a trusted proxy writes the client's address into. */
enum client_ip_header {
    CLIENT_IP_HEADER_X_FORWARDED_FOR = 0,
    CLIENT_IP_HEADER_X_REAL_IP,
    CLIENT_IP_HEADER_TRUE_CLIENT_IP,
    CLIENT_IP_HEADER_COUNT,
};

/* What the key depends on from the configuration (the wiring fills it in
 * from TRUSTED_PROXY_*; this module never reads the configuration). */
struct client_ip_policy {
    const struct ipcidr *trusted; /* TRUSTED_PROXY_CIDRS (borrowed) */
    size_t trusted_count;         /* 0: no trusted proxies */
    enum client_ip_header header; /* TRUSTED_PROXY_HEADER */
    bool legacy;                  /* TRUST_PROXY_HEADERS; ignored with CIDRs */
};

/* The TCP peer of a connection. */
struct client_ip_peer {
    struct ipaddr addr; /* family 0 when the peer is not an IP address */
    struct slice text;  /* used only when addr.family == 0 (borrowed) */
};

/* From accept()'s address: AF_INET and AF_INET6 (mapped IPv4 unmapped);
 * other families give a non-address peer with text "unix" (AF_UNIX) or "". */
struct client_ip_peer client_ip_peer_from_sockaddr(const struct sockaddr *sa, socklen_t len);
/* From "host:port" text as Go's net/http RemoteAddr ("203.0.113.7:4711",
 * "[2001:db8::1]:443"), split the way Go's net.SplitHostPort splits; text
 * that does not split is kept whole (and is still an address when it
 * parses as one, e.g. "203.0.113.7"). The result borrows remote_addr. */
struct client_ip_peer client_ip_peer_from_text(struct slice remote_addr);

/* Every line of one header, in the order received (borrowed); count 0
 * when absent. */
struct client_ip_field {
    const struct slice *lines;
    size_t count;
};

/* A field of one line (tests, fuzzing); line is borrowed. An empty or NULL
 * text still counts as a line: build absent fields as {NULL, 0}. */
static inline struct client_ip_field
client_ip_field_one(const struct slice *line)
{
    return (struct client_ip_field){line, 1};
}

struct client_ip_headers {
    struct client_ip_field x_forwarded_for;
    struct client_ip_field x_real_ip;
    struct client_ip_field true_client_ip;
};

enum client_ip_source {
    CLIENT_IP_SOURCE_PEER = 0,       /* the default key */
    CLIENT_IP_SOURCE_TRUSTED_HEADER, /* walked out of the pinned header */
    CLIENT_IP_SOURCE_LEGACY_HEADER,  /* TRUST_PROXY_HEADERS */
    CLIENT_IP_SOURCE_COUNT,
};

/* Writes the key, NUL-terminated, into out and says where it came from.
 * Never fails. */
enum client_ip_source client_ip_key(const struct client_ip_policy *p,
                                    const struct client_ip_peer *peer,
                                    const struct client_ip_headers *h,
                                    char out[CLIENT_IP_KEY_SIZE]);
