/* OpenSSL for rediss:// (see redis_tls.h). */
#include "store/redis_tls.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>

#include "store/store_int.h"

/* snprintf for messages: truncation of a long path or host is acceptable. */
static void __attribute__((format(printf, 3, 4)))
say(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

struct ssl_ctx_st *
store_redis_tls_ctx_new(const char *ca_file, char *err, size_t err_cap)
{
    SSL_CTX *ctx = store_must(SSL_CTX_new(TLS_client_method()), "SSL_CTX_new");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    bool custom = ca_file != NULL && ca_file[0] != '\0';
    int ok = custom ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                    : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        const char *why = ERR_reason_error_string(ERR_peek_last_error());
        if (custom) {
            say(err, err_cap, "REDIS_CA_FILE %s cannot be loaded: %s", ca_file,
                why != NULL ? why : "unknown error");
        } else {
            say(err, err_cap, "the system CA certificates cannot be loaded: %s",
                why != NULL ? why : "unknown error");
        }
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

void
store_redis_tls_ctx_free(struct ssl_ctx_st *ctx)
{
    SSL_CTX_free(ctx);
}

struct ssl_st *
store_redis_tls_new(struct ssl_ctx_st *ctx, const char *host, bool host_is_ip)
{
    SSL *ssl = store_must(SSL_new(ctx), "SSL_new");
    if (host_is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    } else {
        SSL_set_tlsext_host_name(ssl, host);
        SSL_set1_host(ssl, host);
    }
    return ssl;
}

void
store_redis_tls_describe_failure(struct bufferevent *bev, const char *where, char *out,
                                 size_t cap)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    long verify = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e, last = 0;
    while ((e = bufferevent_get_openssl_error(bev)) != 0) {
        last = e;
    }
    if (verify != X509_V_OK) {
        say(out, cap,
            "TLS certificate verification failed for %s: %s (the server certificate must be "
            "signed by a CA in REDIS_CA_FILE or the system store, and name the host)",
            where, X509_verify_cert_error_string(verify));
        return;
    }
    if (last != 0) {
        const char *why = ERR_reason_error_string(last);
        say(out, cap, "TLS handshake with %s failed: %s (is it a TLS port?)", where,
            why != NULL ? why : "unknown error");
        return;
    }
    out[0] = '\0';
}
