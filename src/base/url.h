/* A thin wrapper over libcurl's URL API (curl_url), the project's only URL
 * parser (STYLE.md 3.7).
 *
 * url_parse() splits an absolute URL into owned C strings. The path is kept
 * exactly as written (no dot-segment removal, no decoding) so callers can
 * compare and forward it verbatim. Facts curl's 7.88 API cannot report --
 * a bare '?' or '#', and whether the URL is opaque (no "//" authority) --
 * are read from the raw text. */
#pragma once

#include <stdbool.h>

struct buf;

struct url {
    char *scheme;      /* lowercase, never NULL after success */
    char *host;        /* as written (no percent-decoding, no IPv4 number rewriting);
                        * IPv6 literals keep their brackets and any zone id */
    char *port;        /* explicit port digits, or NULL */
    char *path;        /* as written; "" when the URL has none */
    char *query;       /* without '?', NULL when absent or empty */
    char *fragment;    /* without '#', NULL when absent or empty */
    bool has_query;    /* a '?' appears, even with nothing after it */
    bool has_fragment; /* a '#' appears, even with nothing after it */
    bool has_userinfo; /* user or password present, even empty ("@host") */
};

enum url_rc {
    URL_OK = 0,
    URL_ERR_MALFORMED, /* not "scheme:" (RFC 3986 3.1), or curl refused it (bad
                        * characters, bad port, bad IPv6 ...) */
    URL_ERR_OPAQUE,    /* "scheme:rest" without "//" (https:foo, javascript:x) */
    URL_ERR_NO_HOST,   /* authority present but empty (https:///x, file:///x) */
    URL_RC_COUNT,
};

/* Parses text. On success fills *out (release with url_cleanup); on failure
 * *out is zeroed and needs no cleanup. */
enum url_rc url_parse(const char *text, struct url *out) __attribute__((warn_unused_result));
void url_cleanup(struct url *u);

/* Resolves ref (an absolute URL or a relative reference, RFC 3986 5.2, e.g.
 * an HTTP Location value) against the absolute URL base, with curl's URL
 * API: dot segments in the result are removed. On URL_OK *out is the
 * resolved absolute URL (caller frees with xfree); on failure *out is NULL:
 * URL_ERR_OPAQUE for an opaque ref ("https:foo"), URL_ERR_MALFORMED when
 * base or ref does not parse (including schemes curl does not support). */
enum url_rc url_resolve(const char *base, const char *ref, char **out)
    __attribute__((warn_unused_result));

/* The default port of http (80) and https (443); 0 for other schemes. */
unsigned url_default_port(const char *scheme);
/* The effective port: explicit, else the scheme default; 0 if neither. */
unsigned url_effective_port(const struct url *u);
/* The host without IPv6 brackets, copied into out (capacity cap). Returns
 * false if it does not fit or there is no host. */
bool url_host_bare(const struct url *u, char *out, unsigned long cap);

/* Appends base then path to out: "https://proxy.example" + "/callback",
 * "/.well-known/oauth-protected-resource" + "/mcp". base carries no
 * trailing '/' (PROXY_BASE_URL and the mount are stored stripped) and path
 * is "" or starts with '/'. Nothing is parsed, resolved or normalised (that
 * is url_resolve's job): the result is exactly the two texts, so what we
 * advertise is what we route. 0, or -1 with out unchanged past its cap. */
int url_join(struct buf *out, const char *base, const char *path)
    __attribute__((warn_unused_result));
