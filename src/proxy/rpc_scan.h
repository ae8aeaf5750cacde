/* proxy/rpc_scan: one bounded pass over an MCP request body that both
 * validates it exactly as base/jsonx's strict jansson parse would and
 * records where the JSON-RPC fields are, without building a tree.
 *
 * The peek (proxy/jsonrpc_peek) and the policy step (proxy/policy_calls)
 * both read the one result, so a body is scanned once per request.
 *
 * Same answer as jsonx_parse (jansson 2.14, JSON_REJECT_DUPLICATES |
 * JSON_DECODE_ANY): RFC 8259 syntax with " \t\n\r" as whitespace and
 * nothing after the value; strings without control characters, with
 * well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF), without \u0000 and without lone surrogate escapes; integers
 * within int64; reals that strtod does not overflow; every value at most
 * PROXY_RPC_SCAN_DEPTH_MAX deep; no object with two keys equal once
 * decoded, at any depth.
 *
 * Recorded, without copying: for the message (the top-level value, or
 * each element of a top-level array) its type and the members id (raw
 * text), method, params, result, error, and params.name / params.uri.
 *
 * Rare shapes that would need memory to check exactly give
 * PROXY_RPC_SCAN_FALLBACK instead, and the caller asks the jansson
 * reference: more than BOUNDS_RPC_SCAN_KEYS_MAX keys in the objects open
 * at one time (the duplicate check), a batch of more than
 * BOUNDS_RPC_SCAN_BATCH_MAX elements. The single-message result
 * allocates nothing; a batch's messages are one heap array. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/slice.h"

/* jansson's JSON_PARSER_MAX_DEPTH: a value nested in this many containers
 * is refused. */
#define PROXY_RPC_SCAN_DEPTH_MAX 2048

enum proxy_rpc_scan_rc {
    PROXY_RPC_SCAN_OK = 0,
    PROXY_RPC_SCAN_MALFORMED, /* what jsonx_parse refuses (or longer than the cap) */
    PROXY_RPC_SCAN_FALLBACK,  /* a rare shape: ask the jansson reference */
};

enum proxy_rpc_type {
    PROXY_RPC_ABSENT = 0,
    PROXY_RPC_NULL,
    PROXY_RPC_BOOL,
    PROXY_RPC_INT,
    PROXY_RPC_REAL,
    PROXY_RPC_STRING,
    PROXY_RPC_ARRAY,
    PROXY_RPC_OBJECT,
};

/* A JSON string as it stands in the body: raw is the text between the
 * quotes (borrowed from the body); escaped says it holds a backslash, so
 * the decoded value differs from raw (and is never longer). */
struct proxy_rpc_str {
    struct slice raw;
    bool escaped;
};

struct proxy_rpc_msg {
    uint8_t type; /* enum proxy_rpc_type of the message itself */
    uint8_t id_type, method_type, params_type, name_type, uri_type;
    bool has_result, has_error;
    /* A member before the id ends in the NUL jansson skips (see
     * scan_value): the peek's raw-text id locator stops there, so the
     * logged id is "" (the reference's answer, kept identical). */
    bool id_text_lost;
    struct slice id_raw;         /* the id's raw JSON text */
    struct proxy_rpc_str method; /* when method_type is STRING */
    struct proxy_rpc_str name;   /* params.name, when params is an object */
    struct proxy_rpc_str uri;    /* params.uri, likewise */
};

struct proxy_rpc_scan {
    enum proxy_rpc_scan_rc rc;
    bool is_batch;              /* the top-level value is an array */
    struct proxy_rpc_msg one;   /* the top-level value when not a batch */
    struct proxy_rpc_msg *msgs; /* a batch's elements (heap, owned; NULL when none) */
    size_t msg_count;
    size_t msg_cap;
};

/* Scans body (borrowed: the result points into it). More than max_bytes is
 * MALFORMED, as jsonx_parse's TOO_LARGE. Release with
 * proxy_rpc_scan_cleanup whatever the outcome. */
void proxy_rpc_scan_body(struct slice body, size_t max_bytes, struct proxy_rpc_scan *out);
void proxy_rpc_scan_cleanup(struct proxy_rpc_scan *s);

/* The decoded length of a scanned string. */
size_t proxy_rpc_str_len(struct proxy_rpc_str s);
/* Decodes s into out (room for proxy_rpc_str_len(s) bytes; s.raw.len
 * always suffices); returns the length. No NUL is added. */
size_t proxy_rpc_str_decode(struct proxy_rpc_str s, char *out);
/* Is the decoded s exactly / ASCII case-insensitively cstr? */
bool proxy_rpc_str_eq_decoded(struct proxy_rpc_str s, const char *cstr);
/* Inline for the common unescaped case: callers pass literals, whose
 * length the compiler knows (the scan and the peek compare a dozen keys
 * and methods per request). */
static inline bool
proxy_rpc_str_eq(struct proxy_rpc_str s, const char *cstr)
{
    if (!s.escaped) {
        size_t n = strlen(cstr);
        return s.raw.len == n && memcmp(s.raw.ptr, cstr, n) == 0;
    }
    return proxy_rpc_str_eq_decoded(s, cstr);
}
bool proxy_rpc_str_case_eq(struct proxy_rpc_str s, const char *cstr);
/* Does the decoded s start with prefix, ASCII case-insensitively, and run
 * longer than it? */
bool proxy_rpc_str_case_prefix(struct proxy_rpc_str s, const char *prefix);
/* proxy_jsonrpc_sanitize of the decoded s. */
size_t proxy_rpc_str_sanitize(struct proxy_rpc_str s, size_t max_kept, char *out);

/* The id as jansson's json_dumps(JSON_ENCODE_ANY | JSON_COMPACT) would
 * write it ("7", "\"a\"", "1.5"), or "null" when absent or not a string or
 * a number. Written to small (NUL-terminated) when it fits in small_cap
 * bytes, else to the heap: *owned then says the caller frees it. */
char *proxy_rpc_msg_id_json(const struct proxy_rpc_msg *m, char *small, size_t small_cap,
                            bool *owned);
