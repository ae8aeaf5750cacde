#include "doctor/http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "bounds.h"
#include "version.h"

struct sink {
    struct buf *body;
    bool too_large;
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    if (buf_append(s->body, data, n) != 0) {
        s->too_large = true;
        return 0;
    }
    return n;
}

static enum doctor_http_rc
classify(CURLcode res)
{
    switch (res) {
    case CURLE_OK:
        return DOCTOR_HTTP_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return DOCTOR_HTTP_UNREACHABLE;
    case CURLE_OPERATION_TIMEDOUT:
        return DOCTOR_HTTP_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        return DOCTOR_HTTP_TLS;
    default:
        return DOCTOR_HTTP_ERROR;
    }
}

/* Leaf subject, issuer and expiry from CURLINFO_CERTINFO, one line. */
static void
summarise_certs(CURL *e, char *out, size_t cap)
{
    struct curl_certinfo *ci = NULL;
    if (curl_easy_getinfo(e, CURLINFO_CERTINFO, &ci) != CURLE_OK || ci == NULL ||
        ci->num_of_certs <= 0) {
        return;
    }
    const char *subject = "";
    const char *issuer = "";
    const char *expire = "";
    for (struct curl_slist *l = ci->certinfo[0]; l != NULL; l = l->next) {
        if (strncmp(l->data, "Subject:", 8) == 0) {
            subject = l->data + 8;
        } else if (strncmp(l->data, "Issuer:", 7) == 0) {
            issuer = l->data + 7;
        } else if (strncmp(l->data, "Expire date:", 12) == 0) {
            expire = l->data + 12;
        }
    }
    (void)snprintf(out, cap, "%d certificate(s); leaf subject %s; issuer %s; expires %s",
                   ci->num_of_certs, subject, issuer, expire);
}

static struct curl_slist *
header_list(const struct doctor_http_req *req)
{
    struct curl_slist *h = NULL;
    /* curl adds "Expect: 100-continue" to larger POSTs; no server here
     * needs the extra round trip. */
    h = curl_slist_append(h, "Expect:");
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        h = curl_slist_append(h, req->headers[i]);
    }
    return h;
}

enum doctor_http_rc
doctor_http_do(const struct doctor_http_opts *opts, const struct doctor_http_req *req,
               struct doctor_http_resp *out)
{
    memset(out, 0, sizeof(*out));
    buf_init(&out->body, BOUNDS_DOCTOR_BODY_MAX);
    uint64_t now = clock_mono_ms();
    if (now >= opts->deadline_ms) {
        out->rc = DOCTOR_HTTP_TIMEOUT;
        (void)snprintf(out->error, sizeof(out->error), "the doctor's overall time (%d s) ran out",
                       BOUNDS_DOCTOR_TOTAL_MS / 1000);
        return out->rc;
    }
    uint64_t timeout = req->timeout_ms != 0 ? req->timeout_ms : BOUNDS_DOCTOR_REQUEST_MS;
    if (timeout > opts->deadline_ms - now) {
        timeout = opts->deadline_ms - now;
    }
    CURL *e = curl_easy_init();
    if (e == NULL) {
        out->rc = DOCTOR_HTTP_ERROR;
        (void)snprintf(out->error, sizeof(out->error), "curl_easy_init failed");
        return out->rc;
    }
    out->easy = e;
    struct sink sink = {.body = &out->body};
    struct curl_slist *headers = header_list(req);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    }
    if (req->body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mcp-auth-proxy-doctor/" MAP_VERSION);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)BOUNDS_DOCTOR_CONNECT_MS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (opts->ca_file != NULL) {
        curl_easy_setopt(e, CURLOPT_CAINFO, opts->ca_file);
    }
    curl_easy_setopt(e, CURLOPT_CERTINFO, req->want_certinfo ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode res = curl_easy_perform(e);
    out->elapsed_ms = clock_mono_ms() - now;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
    out->rc = sink.too_large ? DOCTOR_HTTP_ERROR : classify(res);
    if (sink.too_large) {
        (void)snprintf(out->error, sizeof(out->error), "the answer is larger than %d bytes",
                       BOUNDS_DOCTOR_BODY_MAX);
    } else if (res != CURLE_OK) {
        (void)snprintf(out->error, sizeof(out->error), "%s",
                       errbuf[0] != '\0' ? errbuf : curl_easy_strerror(res));
    }
    char *ip = NULL;
    if (curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != NULL) {
        (void)snprintf(out->primary_ip, sizeof(out->primary_ip), "%s", ip);
    }
    if (req->want_certinfo && res == CURLE_OK) {
        summarise_certs(e, out->tls_summary, sizeof(out->tls_summary));
    }
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return out->rc;
}

void
doctor_http_resp_cleanup(struct doctor_http_resp *r)
{
    if (r->easy != NULL) {
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    buf_cleanup(&r->body);
}

bool
doctor_http_header(const struct doctor_http_resp *r, const char *name, size_t index,
                   struct slice *out)
{
    struct curl_header *h = NULL;
    if (r->easy == NULL ||
        curl_easy_header(r->easy, name, index, CURLH_HEADER, -1, &h) != CURLHE_OK || h == NULL) {
        return false;
    }
    *out = slice_from_cstr(h->value);
    return true;
}

bool
doctor_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

void
doctor_http_global_cleanup(void)
{
    curl_global_cleanup();
}
