/* Where clients look for metadata (pure; no I/O): the well-known URLs of
 * RFC 9728 3.1 (protected resource), RFC 8414 3.1 (authorization server)
 * and OpenID Connect Discovery 1.0 4, derived from a resource or issuer
 * URL the way the MCP authorization spec (2025-11-25) tells clients to. */
#pragma once

struct buf;

enum doctor_wellknown {
    DOCTOR_WELLKNOWN_PRM_PATH = 0,  /* origin + /.well-known/oauth-protected-resource + path */
    DOCTOR_WELLKNOWN_PRM_ROOT,      /* origin + /.well-known/oauth-protected-resource */
    DOCTOR_WELLKNOWN_AS_OAUTH,      /* origin + /.well-known/oauth-authorization-server + path */
    DOCTOR_WELLKNOWN_AS_OIDC,       /* origin + /.well-known/openid-configuration + path */
    DOCTOR_WELLKNOWN_AS_OIDC_AFTER, /* issuer + /.well-known/openid-configuration */
    DOCTOR_WELLKNOWN_COUNT,
};

/* Appends the URL of `kind` for `url` (an absolute http(s) URL without
 * query or fragment) to out. The path inserted is the URL's path, except
 * that a lone "/" counts as none (RFC 8414 3.1: the terminating slash after
 * the host is removed). 0, or -1 when url does not parse, is not http(s),
 * has a query or fragment, or the result passes out's cap. */
int doctor_wellknown_url(const char *url, enum doctor_wellknown kind, struct buf *out)
    __attribute__((warn_unused_result));
