/* The OpenSSL side of rediss:// (SPEC.md 5.1): the client context, one SSL
 * object per connection with SNI and name checks, and a sentence for why a
 * TLS connection failed. OpenSSL's types are forward-declared here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;
struct ssl_ctx_st;
struct ssl_st;

/* A client context: TLS 1.2 or later, peer verification on, trust from
 * ca_file (PEM, REDIS_CA_FILE) or, when it is NULL or "", the system CAs.
 * NULL and a sentence in err when the CAs cannot be loaded. Shared by all
 * workers (OpenSSL contexts are thread-safe once built). */
struct ssl_ctx_st *store_redis_tls_ctx_new(const char *ca_file, char *err, size_t err_cap);
void store_redis_tls_ctx_free(struct ssl_ctx_st *ctx);

/* An SSL object for one connection to host: a DNS name gets SNI and a
 * hostname check; an IP literal (no SNI, RFC 6066 section 3) an IP check
 * against the certificate's IP SANs. The bufferevent that takes it frees it. */
struct ssl_st *store_redis_tls_new(struct ssl_ctx_st *ctx, const char *host, bool host_is_ip);

/* Why the TLS bufferevent bev failed, naming where ("rediss://h:p/db"): a
 * certificate verification failure with OpenSSL's reason, or a handshake
 * error. Writes "" when TLS is not the cause. Drains OpenSSL's errors. */
void store_redis_tls_describe_failure(struct bufferevent *bev, const char *where, char *out,
                                      size_t cap);
