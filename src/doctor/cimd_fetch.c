#include "doctor/cimd_fetch.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/ipaddr.h"
#include "bounds.h"
#include "doctor/http.h"
#include "oauth/cimd.h"
#include "oauth/cimd_rules.h"

/* The fixes, in the words of docs/cimd.md. */
#define FIX_PIN "pin the document: put the vendor's file in CIMD_PINNED_DIR (docs/cimd.md)"
#define FIX_DISABLE                                                                                \
    "until its vendor fixes it, set CIMD_ENABLED=false so this client registers at /register "     \
    "instead"

#define HOST_PATTERNS_MAX 64

struct host_patterns {
    char text[1024]; /* CIMD_ALLOWED_HOSTS, lower-cased, commas made NULs */
    char *list[HOST_PATTERNS_MAX];
    size_t count;
};

/* CIMD_ALLOWED_HOSTS as config.c reads it: comma-separated, spaces around
 * an entry ignored, lower case. */
static void
host_patterns_parse(const char *env, struct host_patterns *out)
{
    out->count = 0;
    if (env == NULL) {
        return;
    }
    (void)snprintf(out->text, sizeof(out->text), "%s", env);
    char *save = NULL;
    for (char *tok = strtok_r(out->text, ",", &save); tok != NULL && out->count < HOST_PATTERNS_MAX;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t') {
            tok++;
        }
        size_t n = strlen(tok);
        while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t')) {
            tok[--n] = '\0';
        }
        for (char *c = tok; *c != '\0'; c++) {
            *c = (char)tolower((unsigned char)*c);
        }
        if (n > 0) {
            out->list[out->count++] = tok;
        }
    }
}

/* The answer's Content-Type, NUL-terminated in ct; NULL when none. */
static const char *
content_type(const struct doctor_http_resp *resp, char *ct, size_t cap)
{
    struct slice v;
    if (!doctor_http_header(resp, "Content-Type", 0, &v)) {
        return NULL;
    }
    (void)snprintf(ct, cap, "%.*s", (int)v.len, v.ptr);
    return ct;
}

/* Judges one fetched answer into check id. */
static void
judge_answer(struct doctor_results *r, enum doctor_check_id id, const char *url, const char *host,
             const struct doctor_http_resp *resp)
{
    char ct[256] = "";
    struct oauth_cimd_doc doc;
    const char *why = NULL;
    enum oauth_cimd_rules_rc rc = oauth_cimd_rules_parse(
        url, resp->status, content_type(resp, ct, sizeof(ct)), buf_slice(&resp->body), &doc, &why);
    char fix[DOCTOR_TEXT_MAX];
    switch (rc) {
    case OAUTH_CIMD_RULES_OK:
        doctor_check_set(r, id, DOCTOR_PASS, NULL,
                         "%s: 200 in %llu ms from %s, a valid document for \"%s\" "
                         "(%zu redirect URI%s)",
                         url, (unsigned long long)resp->elapsed_ms, resp->primary_ip,
                         doc.client_name, doc.redirect_uri_count,
                         doc.redirect_uri_count == 1 ? "" : "s");
        oauth_cimd_doc_cleanup(&doc);
        return;
    case OAUTH_CIMD_RULES_HTTP_STATUS:
    case OAUTH_CIMD_RULES_NOT_JSON:
        /* The usual cause: a CDN answering a datacenter address with a
         * challenge page (403, 429, or 200 text/html). */
        (void)snprintf(fix, sizeof(fix),
                       "%s refuses this host's address (vendors' CDNs answer datacenter "
                       "addresses with challenge pages) or an egress proxy answers for it: "
                       "fetch the document from a workstation and %s",
                       host, FIX_PIN);
        break;
    case OAUTH_CIMD_RULES_REDIRECT:
        (void)snprintf(fix, sizeof(fix),
                       "the proxy never follows a document's redirect (the CIMD draft forbids "
                       "it): check the URL; if the vendor moved the document, %s",
                       FIX_DISABLE);
        break;
    default:
        (void)snprintf(fix, sizeof(fix),
                       "the document fails the proxy's rules, so this client cannot log in "
                       "with it: %s",
                       FIX_DISABLE);
        break;
    }
    doctor_check_set(r, id, DOCTOR_FAIL, fix, "%s answered %ld%s%s: %s", url, resp->status,
                     ct[0] != '\0' && rc != OAUTH_CIMD_RULES_TOO_LARGE ? " " : "",
                     rc != OAUTH_CIMD_RULES_TOO_LARGE ? ct : "", why);
}

/* Fetches one client's document into check id, as the proxy would. */
static void
fetch_one(const struct doctor_cimd_opts *o, const struct host_patterns *hosts, uint64_t deadline_ms,
          const char *url, enum doctor_check_id id, struct doctor_results *r)
{
    char host[256];
    const char *bad = oauth_cimd_rules_check_url(slice_from_cstr(url), host, sizeof(host));
    if (bad != NULL) {
        doctor_check_set(r, id, DOCTOR_FAIL,
                         "give --cimd-url the document URL the client sends as its client_id",
                         "%s is not a document URL the proxy accepts: %s", url, bad);
        return;
    }
    char file[256];
    if (o->pinned_dir != NULL && o->pinned_dir[0] != '\0' &&
        oauth_cimd_pinned_file(o->pinned_dir, url, file, sizeof(file))) {
        doctor_check_set(r, id, DOCTOR_PASS, NULL,
                         "%s is pinned in CIMD_PINNED_DIR (%s): the proxy never fetches it", url,
                         file);
        return;
    }
    if (!oauth_cimd_rules_host_allowed(host, hosts->list, hosts->count)) {
        char fix[DOCTOR_TEXT_MAX];
        (void)snprintf(fix, sizeof(fix), "add %s to CIMD_ALLOWED_HOSTS, or %s", host, FIX_PIN);
        doctor_check_set(r, id, DOCTOR_FAIL, fix, "%s: the host %s is not in CIMD_ALLOWED_HOSTS",
                         url, host);
        return;
    }
    static const char *const h[] = {"Accept: application/json", NULL};
    struct doctor_http_opts http = {.ca_file = o->ca_file, .deadline_ms = deadline_ms};
    struct doctor_http_req req = {
        .method = "GET", .url = url, .headers = h, .timeout_ms = BOUNDS_CIMD_FETCH_TIMEOUT_MS};
    struct doctor_http_resp resp;
    enum doctor_http_rc rc = doctor_http_do(&http, &req, &resp);
    char fix[DOCTOR_TEXT_MAX];
    struct ipaddr addr;
    const char *special = NULL;
    if (rc == DOCTOR_HTTP_OK && ipaddr_parse(slice_from_cstr(resp.primary_ip), &addr)) {
        special = ipaddr_special_use(&addr);
    }
    bool allow_private = o->allow_private != NULL && strcasecmp(o->allow_private, "true") == 0;
    if (rc == DOCTOR_HTTP_UNREACHABLE || rc == DOCTOR_HTTP_TIMEOUT) {
        (void)snprintf(fix, sizeof(fix),
                       "let this host reach %s on port 443 (DNS, the network policy or egress "
                       "firewall, an HTTPS proxy), or %s",
                       host, FIX_PIN);
        doctor_check_set(r, id, DOCTOR_FAIL, fix, "%s: this host cannot fetch it: %s", url,
                         resp.error);
    } else if (rc == DOCTOR_HTTP_TLS) {
        (void)snprintf(fix, sizeof(fix),
                       "the proxy verifies %s against CIMD_CA_FILE or the system CAs: install "
                       "the CA bundle (ca-certificates) in the image, or set CIMD_CA_FILE to the "
                       "CA of the TLS-inspecting egress proxy in between",
                       host);
        doctor_check_set(r, id, DOCTOR_FAIL, fix, "%s: TLS failed: %s", url, resp.error);
    } else if (rc != DOCTOR_HTTP_OK) {
        doctor_check_set(r, id, DOCTOR_FAIL, FIX_DISABLE, "%s: %s", url, resp.error);
    } else if (special != NULL && !allow_private) {
        (void)snprintf(fix, sizeof(fix),
                       "the proxy refuses documents from %s addresses (SSRF guard): fix this "
                       "host's DNS for %s, or, if the document really is served inside your "
                       "network, set CIMD_ALLOW_PRIVATE_ADDRESSES=true",
                       special, host);
        doctor_check_set(r, id, DOCTOR_FAIL, fix, "%s: %s resolves to %s, a %s address", url, host,
                         resp.primary_ip, special);
    } else {
        judge_answer(r, id, url, host, &resp);
    }
    doctor_http_resp_cleanup(&resp);
}

void
doctor_cimd_fetch_run(const struct doctor_cimd_opts *o, bool advertised, uint64_t deadline_ms,
                      struct doctor_results *r)
{
    struct host_patterns hosts;
    host_patterns_parse(o->allowed_hosts, &hosts);
    for (int c = 0; c < DOCTOR_CLIENT_COUNT; c++) {
        const struct doctor_client_def *d = doctor_clients_get((enum doctor_client)c);
        if (!d->cimd) {
            continue;
        }
        const char *url = o->urls[c] != NULL ? o->urls[c] : d->cimd_url;
        if (!o->server_side) {
            doctor_check_set(r, d->cimd_fetch, DOCTOR_SKIP, NULL,
                             "not run: run the doctor with --server-side on the proxy's host to "
                             "fetch %s from there",
                             url);
        } else if (!advertised) {
            doctor_check_set(r, d->cimd_fetch, DOCTOR_SKIP, NULL,
                             "not run: the server does not advertise metadata documents");
        } else {
            fetch_one(o, &hosts, deadline_ms, url, d->cimd_fetch, r);
        }
    }
}
