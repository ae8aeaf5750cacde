/* Pure validators for configuration values whose shape is more than a
 * number or a boolean: listen addresses, the three URLs of SPEC.md 1.3, CSP
 * sources, the Redis key prefix, header values and non-negative decimals.
 *
 * Also the weak-secret analysis of SPEC.md 1.4.
 *
 * Each returns NULL when the value is acceptable, otherwise a static reason
 * that says what is wrong and how to fix it ("must not contain a query;
 * remove the ?... part"), written to follow "config: NAME: ". Reasons never
 * quote the input. No I/O; outputs are written only on success and owned by
 * the caller (free with xfree). config.c turns reasons into problem lines. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "bounds.h"

/* "host:port" for a listener: ":8080" (host "", all addresses),
 * "127.0.0.1:9090", "[::1]:9090" (host "::1"), "localhost:8080". The port
 * is decimal, 1..65535; service names and port 0 are refused. */
const char *config_check_listen(const char *text, char **out_host, uint16_t *out_port);

/* OIDC_ISSUER_URL (SPEC.md 1.2): absolute, with a host; https, or http to
 * localhost / a loopback IP literal, or any http when allow_insecure_http. */
const char *config_check_issuer_url(const char *text, bool allow_insecure_http);

/* PROXY_BASE_URL (SPEC.md 1.3), given with its trailing '/' already
 * stripped: https or loopback http; no userinfo, query, fragment or path. */
const char *config_check_base_url(const char *text);

/* UPSTREAM_MCP_URL (SPEC.md 1.3 and the preface fixes 2 and 3). */
struct config_upstream {
    char *url;    /* scheme://host[:port]/mount */
    char *origin; /* scheme://host[:port] */
    char *mount;  /* "/mcp": trailing '/' stripped */
};
/* The reason returned when the URL has no path; the caller adds the hint
 * "<input without trailing slash>/mcp" (SPEC.md 1.3 rule 4). Compare by
 * pointer. */
extern const char config_check_reason_origin_only[];
const char *config_check_upstream_url(const char *text, struct config_upstream *out);
void config_check_upstream_cleanup(struct config_upstream *u);

/* One CSP_FORM_ACTION_EXTRA entry (already trimmed): scheme://host[:port]
 * with nothing after it. *out_source is the entry with scheme and host
 * lower-cased. */
const char *config_check_csp_source(struct slice entry, char **out_source);

/* One MCP_ALLOWED_ORIGINS entry (already trimmed): an http or https origin
 * as browsers serialise it in the Origin header (RFC 6454 6.2). The rules of
 * config_check_csp_source, plus: "*" and "null" are refused with their own
 * reasons (a wildcard would switch the DNS-rebinding check off; "null" is
 * shared by every sandboxed frame and file: page), other schemes are
 * refused. *out_origin is the serialised form: scheme and host lower-cased,
 * the port in decimal without leading zeros and left out when it is the
 * scheme's default ("HTTPS://A.example:0443" -> "https://a.example"). */
const char *config_check_origin(struct slice entry, char **out_origin);

/* REDIS_KEY_PREFIX: bytes 0x20..0x7E except '{' and '}'. On failure
 * *out_offset is the offset of the first forbidden byte. */
const char *config_check_redis_key_prefix(struct slice prefix, size_t *out_offset);

/* A value sent verbatim as an HTTP header field value (RFC 9110 5.5):
 * no control bytes other than HTAB, no DEL. */
const char *config_check_header_value(struct slice value);

/* A non-negative decimal without exponent: "20", "+2.5", "0.25", ".5",
 * "5.". Integer part up to 2^53 (exact in a double); fraction digits past
 * the 18th are ignored. '-' in any form is refused (even "-0"). */
const char *config_check_decimal(struct slice text, double *out);

/* A decimal integer with an optional leading sign ("+5", "-0", "007"), as
 * Go's strconv.Atoi reads it. *out_negative and *out_magnitude are set on
 * success; "-0" is magnitude 0 and not negative. */
const char *config_check_integer(struct slice text, bool *out_negative, uint64_t *out_magnitude);

/* Weak-secret detection (SPEC.md 1.4): NULL when acceptable, otherwise one
 * of three static stems -- "copies of a single byte", "repeats with period",
 * "distinct byte values" -- and *detail receives the number that goes with
 * it (the length, the period, the count of distinct bytes). Linear time.
 * config_load judges TOKEN_SIGNING_SECRET once and keeps the phrase in
 * struct config (token_signing_secret_weakness). */
const char *config_check_secret_weakness(const char *secret, size_t len, size_t *detail);
/* One weakness phrase, NUL included ("uses only 7 distinct byte values"). */
#define CONFIG_CHECK_WEAKNESS_TEXT_MAX 64
/* The same as a phrase: "is 32 copies of a single byte", "repeats with
 * period 3", "uses only 7 distinct byte values"; "" when not weak. Writes
 * at most cap bytes (NUL included) into out. */
void config_check_secret_weakness_text(const char *secret, size_t len, char *out, size_t cap);

/* ---- Redis Sentinel ----------------------------------------------------
 * REDIS_SENTINELS: "host:port,host:port", IPv6 in brackets
 * ("[::1]:26379"), the port required (Sentinel's is not Redis's), spaces
 * around an entry allowed, at most BOUNDS_REDIS_SENTINELS_MAX. The host
 * and port checks are shared with store/redis_sentinel_proto, which reads
 * the hosts sentinels name (IPv6 there comes bare). */
struct config_redis_addr {
    char host[BOUNDS_REDIS_SENTINEL_HOST_MAX + 1]; /* bare: no IPv6 brackets */
    bool host_is_ip;
    unsigned port; /* 1..65535 */
};

/* Fills out[0..*count); on a reason *count is 0. */
const char *config_check_redis_sentinels(struct slice text, struct config_redis_addr *out,
                                         size_t *count);
/* REDIS_SENTINEL_MASTER: printable ASCII without spaces (a space would
 * split the +switch-master message), at most BOUNDS_REDIS_SENTINEL_MASTER_MAX. */
const char *config_check_redis_sentinel_master(struct slice name);
/* A bare host: an IP literal or a name of [A-Za-z0-9._-], at most
 * BOUNDS_REDIS_SENTINEL_HOST_MAX bytes; fills out->host and host_is_ip. */
bool config_check_redis_host(struct slice host, struct config_redis_addr *out);
/* 1..65535 in at most five ASCII digits, nothing else. */
bool config_check_port(struct slice s, unsigned *out);
