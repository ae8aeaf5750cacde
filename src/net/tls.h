/* net/tls: the TLS client side, written once for every outgoing
 * connection (the upstream over https, Redis over rediss://).
 *
 * A context: TLS 1.2 or later, the peer's chain verified against a CA file
 * or the system store. An SSL per connection: a DNS name gets SNI and a
 * host-name check (SSL_set1_host: SAN dNSName, wildcards per RFC 6125); an
 * IP literal gets no SNI (RFC 6066 3) and a check against the
 * certificate's IP SANs. And the sentence for why a TLS connection failed:
 * the verification result when the chain or name was refused, else the
 * handshake's (or, once up, the connection's) OpenSSL reason.
 *
 * A peer that closes without close_notify ends the stream like a clean
 * close (SSL_OP_IGNORE_UNEXPECTED_EOF): the owner's framing must tell a
 * complete message from a cut one (HTTP Content-Length or chunked, Redis
 * replies), and a close-delimited HTTP body can only end that way with
 * many servers. OpenSSL types are forward-declared here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct bufferevent;
struct ssl_ctx_st;
struct ssl_st;

/* A client context trusting ca_file (PEM) or, when NULL or "", the system
 * CAs. Never NULL. When the CAs cannot be loaded, a sentence is appended
 * to err and the context trusts nothing (every handshake then fails
 * verification: closed, not open); otherwise err is left as it was.
 * Thread-safe once built. */
struct ssl_ctx_st *net_tls_ctx_new(const char *ca_file, struct buf *err);
void net_tls_ctx_free(struct ssl_ctx_st *ctx);

/* An SSL for one connection to host (a name or an IP literal, no
 * brackets). Whoever takes it (the OpenSSL bufferevent) frees it. */
struct ssl_st *net_tls_new(struct ssl_ctx_st *ctx, const char *host);

/* Why the TLS bufferevent bev failed, for host where ("mcp.internal",
 * "rediss://h:6380/0"), appended to out: "TLS certificate verification
 * failed for <where>: <reason>", "TLS handshake with <where> failed:
 * <reason>" (handshaking true) or "TLS connection to <where> failed:
 * <reason>". Nothing is appended when OpenSSL reports nothing (then the
 * socket error is the cause). Drains the bufferevent's OpenSSL errors. */
void net_tls_describe(struct bufferevent *bev, bool handshaking, const char *where,
                      struct buf *out);
