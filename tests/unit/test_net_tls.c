/* net/tls: SNI and the name check for host names, no SNI and an IP check
 * for literals, TLS 1.2 at least, unexpected EOF treated as a close (the
 * owner's framing decides), and an unloadable CA file reported while the
 * context still fails closed. Handshakes against real servers are covered
 * by test_store_redis (rediss://, hostname and IP mismatches) and the e2e
 * https upstream tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "bounds.h"
#include "net/tls.h"

static void
test_context(void **state)
{
    (void)state;
    struct buf err;
    buf_init(&err, BOUNDS_NET_ERROR_MAX);
    SSL_CTX *ctx = net_tls_ctx_new(NULL, &err);
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER, SSL_VERIFY_PEER);
    assert_true((SSL_CTX_get_options(ctx) & SSL_OP_IGNORE_UNEXPECTED_EOF) != 0);
    net_tls_ctx_free(ctx);

    ctx = net_tls_ctx_new("/nonexistent/ca.pem", &err);
    assert_non_null(ctx); /* trusts nothing: every handshake fails verification */
    assert_non_null(strstr(buf_cstr(&err), "/nonexistent/ca.pem cannot be loaded"));
    net_tls_ctx_free(ctx);
    buf_cleanup(&err);
}

static void
test_per_connection(void **state)
{
    (void)state;
    struct buf err;
    buf_init(&err, BOUNDS_NET_ERROR_MAX);
    SSL_CTX *ctx = net_tls_ctx_new(NULL, &err);
    SSL *ssl = net_tls_new(ctx, "mcp.internal");
    assert_string_equal(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), "mcp.internal");
    assert_string_equal(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0), "mcp.internal");
    SSL_free(ssl);

    /* RFC 6066 3: no SNI for an address; the IP is what gets checked. */
    ssl = net_tls_new(ctx, "::1");
    assert_null(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
    assert_null(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0));
    char *ip = X509_VERIFY_PARAM_get1_ip_asc(SSL_get0_param(ssl));
    assert_non_null(ip);
    assert_string_equal(ip, "0:0:0:0:0:0:0:1");
    OPENSSL_free(ip);
    SSL_free(ssl);
    ssl = net_tls_new(ctx, "127.0.0.1");
    assert_null(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
    SSL_free(ssl);
    net_tls_ctx_free(ctx);
    buf_cleanup(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context),
        cmocka_unit_test(test_per_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
