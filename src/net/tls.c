/* The OpenSSL client side (see tls.h). */
#include "net/tls.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include "base/buf.h"
#include "net/addr.h"

struct ssl_ctx_st *
net_tls_ctx_new(const char *ca_file, struct buf *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        abort(); /* allocation only: our allocator aborts first */
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    bool custom = ca_file != NULL && ca_file[0] != '\0';
    int ok = custom ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                    : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        const char *why = ERR_reason_error_string(ERR_peek_last_error());
        buf_appendf_best(err, "%s cannot be loaded: %s",
                         custom ? ca_file : "the system CA certificates",
                         why != NULL ? why : "unknown error");
        ERR_clear_error();
    }
    return ctx;
}

void
net_tls_ctx_free(struct ssl_ctx_st *ctx)
{
    SSL_CTX_free(ctx);
}

struct ssl_st *
net_tls_new(struct ssl_ctx_st *ctx, const char *host)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL) {
        abort(); /* allocation only */
    }
    if (net_addr_is_ip(host)) {
        /* RFC 6066 3: no SNI for an address; match the IP SANs. */
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    } else {
        SSL_set_tlsext_host_name(ssl, host);
        SSL_set1_host(ssl, host);
    }
    return ssl;
}

void
net_tls_describe(struct bufferevent *bev, bool handshaking, const char *where, struct buf *out)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    long verify = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e;
    unsigned long last = 0;
    while ((e = bufferevent_get_openssl_error(bev)) != 0) {
        last = e;
    }
    ERR_clear_error();
    if (handshaking && verify != X509_V_OK) {
        buf_appendf_best(out, "TLS certificate verification failed for %s: %s", where,
                         X509_verify_cert_error_string(verify));
        return;
    }
    if (last != 0) {
        const char *why = ERR_reason_error_string(last);
        buf_appendf_best(out,
                         handshaking ? "TLS handshake with %s failed: %s"
                                     : "TLS connection to %s failed: %s",
                         where, why != NULL ? why : "unknown error");
    }
}
