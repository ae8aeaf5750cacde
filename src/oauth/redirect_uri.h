/* Redirect URI rules (pure): registration-time validation (SPEC.md 3.2 step
 * 7), registered-vs-requested matching with the RFC 8252 loopback port
 * relaxation (3.3.1), and building the URL a client is sent back to with
 * error or success parameters (3.3.2, 3.7 step 20).
 *
 * Everything here parses through base/url and decides from parsed parts;
 * nothing does I/O or logs. Loopback means: the host as written, with one
 * trailing '.' removed, is "localhost" (any case, SPEC fix 7) or a canonical
 * IP literal in 127.0.0.0/8, ::1 (also written ::0.0.0.1) or
 * ::ffff:127.x.x.x. Hosts that only become loopback after normalisation
 * ("127.1", "0x7f000001", "local%68ost", "[::1%25lo]") are not loopback. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

/* Registration check. Returns NULL when uri (a C string) is acceptable,
 * else one of these static reasons:
 *   "redirect_uri exceeds maximum length"            (> 512 bytes)
 *   "malformed redirect_uri"                          (no RFC 3986 scheme;
 *                                                      for http(s): curl
 *                                                      refuses it, or an IPv6
 *                                                      zone id; for a
 *                                                      private-use scheme:
 *                                                      nothing after ':', or
 *                                                      a byte outside RFC
 *                                                      3986's set or a bad
 *                                                      '%' escape)
 *   "redirect_uri scheme is not allowed"              (javascript, data,
 *                                                      vbscript, file, about,
 *                                                      blob, ws, wss, ftp in
 *                                                      any case, or a
 *                                                      one-letter scheme: a
 *                                                      drive letter)
 * For http and https, in SPEC.md 3.2 step 7 order:
 *   "redirect_uri host must not be percent-encoded"
 *   "redirect_uri host is not a valid internationalized domain name (IDNA2008)"
 *   "redirect_uri host mixes scripts (such as Latin and Cyrillic) in one label"
 *                                                     (base/idn.h; not SPEC.md)
 *   "redirect_uri must be an absolute URI with authority, not opaque"
 *   "redirect_uri must include a host"
 *   "redirect_uri must not contain a fragment"        (any '#')
 *   "redirect_uri must not contain userinfo"
 *   "redirect_uri must use HTTPS for non-loopback addresses"
 * Any other scheme is a native app's private-use scheme (RFC 8252 7.1:
 * "cursor://anysphere.cursor-mcp/cb", "com.example.app:/cb"), accepted
 * with or without a period in it (docs/conformance.md), refused only for:
 *   "redirect_uri must not contain a fragment"
 *   "redirect_uri must not contain userinfo"          (an '@' in a "//"
 *                                                      authority)
 * A URI whose bytes include NUL cannot be passed here; callers holding
 * counted bytes refuse NUL as "malformed redirect_uri" themselves. */
const char *oauth_redirect_uri_check(const char *uri);

/* What a redirect URI that oauth_redirect_uri_check accepted points at;
 * this decides the client's application_type (SEP-837). */
enum oauth_redirect_uri_kind {
    OAUTH_REDIRECT_URI_WEB = 0,     /* https on a host that is not loopback */
    OAUTH_REDIRECT_URI_LOOPBACK,    /* http or https on a loopback host */
    OAUTH_REDIRECT_URI_PRIVATE_USE, /* a native app's own scheme */
};
enum oauth_redirect_uri_kind oauth_redirect_uri_kind(const char *uri);

/* Whether uri has a private-use scheme and passes its rules above (any
 * length): such a URI is opened by the app that registered the scheme. */
bool oauth_redirect_uri_is_private_use(const char *uri);

/* Whether uri parses and its host is loopback (see the file comment).
 * Says nothing about the scheme. */
bool oauth_redirect_uri_is_loopback(const char *uri);

/* SPEC.md 3.3.1 (for /authorize; /token compares byte for byte): true when
 * requested equals registered byte for byte (the only match for https and
 * private-use schemes), or when both parse, both are http on a loopback
 * host, and host literal (any case, one trailing '.'
 * ignored), escaped path, raw query and bare-'?' flag are equal, and
 * neither has userinfo or a fragment. Only the port may differ (RFC 8252
 * 7.3). */
bool oauth_redirect_uri_matches(const char *registered, const char *requested);

/* One parameter to set on a redirect URL. A NULL or empty value means "do
 * not set" (existing values of that name are kept): SPEC.md sets
 * error_description and state only when non-empty. */
struct oauth_param {
    const char *name;
    const char *value;
};

enum oauth_redirect_uri_rc {
    OAUTH_REDIRECT_URI_OK = 0,
    OAUTH_REDIRECT_URI_ERR_UNPARSEABLE, /* uri, or the URL built from it, does not parse:
                                           answer JSON 400 instead */
    OAUTH_REDIRECT_URI_ERR_TOO_LONG,    /* the result does not fit out's cap */
    OAUTH_REDIRECT_URI_RC_COUNT,
};

/* Appends to out the URL to redirect to (SPEC.md 3.3.2); uri is a URL curl
 * parses or a private-use URI (oauth_redirect_uri_is_private_use). uri's scheme,
 * authority and path as written; its existing query decoded in query mode
 * (bad pairs dropped), each given parameter set (replacing every existing
 * value of that name; a later duplicate in params wins), the whole query
 * re-encoded with names sorted bytewise (values of one name keep their
 * order; see form_append_escaped); any fragment dropped. Bytes >= 0x80
 * are written as %HH, so the result is ASCII and fit for a Location header;
 * it is checked to parse again before it is appended. On failure out is
 * unchanged. */
enum oauth_redirect_uri_rc oauth_redirect_uri_with_params(const char *uri,
                                                          const struct oauth_param *params,
                                                          size_t n, struct buf *out)
    __attribute__((warn_unused_result));
const char *oauth_redirect_uri_rc_str(enum oauth_redirect_uri_rc rc);
