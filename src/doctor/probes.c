#include "doctor/probes.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "bounds.h"
#include "doctor/clients.h"
#include "doctor/http.h"
#include "doctor/parse.h"
#include "doctor/wellknown.h"

#define INITIALIZE                                                                                 \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"     \
    "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"mcp-auth-proxy-doctor\","       \
    "\"version\":\"1\"}}}"

/* Fix texts, in the words of whoever runs the ingress. */
#define FIX_STRIPPED                                                                               \
    "your ingress strips WWW-Authenticate from 401 answers: pass it through (nginx: remove "       \
    "`proxy_hide_header WWW-Authenticate`; nginx ingress: no custom-http-errors for 401; a "       \
    "gateway's own auth must not replace the proxy's 401)"
#define FIX_NOT_PROXY                                                                              \
    "the URL is not served by mcp-auth-proxy's mount: give the doctor the MCP URL your users "     \
    "enter, and route it (and /.well-known/, /register, /authorize, /token) to the proxy"
#define FIX_WELLKNOWN                                                                              \
    "route /.well-known/oauth-protected-resource and /.well-known/oauth-authorization-server "     \
    "(with every path below them) to the proxy unchanged; a path rewrite or a `location` that "    \
    "covers only the mount leaves them unreachable"
#define FIX_RESOURCE                                                                               \
    "set PROXY_BASE_URL to the public origin and serve the mount at the same path as the "         \
    "upstream's (no prefix added or removed by the ingress): clients refuse metadata whose "       \
    "`resource` is not the URL they connect to"
#define FIX_BUFFERING                                                                              \
    "the ingress buffers SSE: add `X-Accel-Buffering: no` on the upstream's event streams, or "    \
    "`proxy_buffering off` (nginx ingress: nginx.ingress.kubernetes.io/proxy-buffering: \"off\")"
#define FIX_SSE_HELD                                                                               \
    "the ingress holds a GET stream request instead of passing it on: set `proxy_buffering off`"   \
    " and `proxy_http_version 1.1` for the mount, and a read timeout above the streams' idle time"

/* snprintf that may cut: every text here is a report line. */
static void text_fmt(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
text_fmt(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

static void
skip_rest(struct doctor_results *r, enum doctor_check_id from, const char *why)
{
    for (int id = from; id < DOCTOR_CHECK_COUNT; id++) {
        if (r->checks[id].status == DOCTOR_SKIP && r->checks[id].detail[0] == '\0') {
            doctor_check_set(r, (enum doctor_check_id)id, DOCTOR_SKIP, NULL, "not run: %s", why);
        }
    }
}

struct run {
    const struct doctor_probe_opts *o;
    struct doctor_http_opts http;
    struct doctor_results *r;
    struct doctor_challenge challenge;
    struct doctor_prm prm; /* the document discovery settled on */
    struct doctor_as as;
};

static enum doctor_http_rc
get_json(struct run *run, const char *url, struct doctor_http_resp *resp)
{
    static const char *const h[] = {"Accept: application/json", NULL};
    struct doctor_http_req req = {.method = "GET", .url = url, .headers = h};
    return doctor_http_do(&run->http, &req, resp);
}

/* ----------------------------------------------------------- challenge */

/* The Bearer challenge among the answer's WWW-Authenticate fields. */
static const char *
find_bearer(const struct doctor_http_resp *resp, struct doctor_challenge *out, bool *out_any)
{
    struct slice v;
    *out_any = false;
    const char *why = NULL;
    for (size_t i = 0; i < 8 && doctor_http_header(resp, "WWW-Authenticate", i, &v); i++) {
        *out_any = true;
        why = doctor_parse_challenge(v, out);
        if (why == NULL && out->bearer) {
            return NULL;
        }
    }
    return why != NULL ? why : "no Bearer challenge";
}

static bool
probe_challenge(struct run *run, char *why, size_t cap)
{
    struct doctor_results *r = run->r;
    static const char *const h[] = {"Content-Type: application/json",
                                    "Accept: application/json, text/event-stream", NULL};
    bool https = strncmp(run->o->mount, "https://", 8) == 0;
    struct doctor_http_req req = {.method = "POST",
                                  .url = run->o->mount,
                                  .headers = h,
                                  .body = INITIALIZE,
                                  .want_certinfo = https};
    struct doctor_http_resp resp;
    enum doctor_http_rc rc = doctor_http_do(&run->http, &req, &resp);
    bool go_on = true;
    if (rc == DOCTOR_HTTP_UNREACHABLE || (rc == DOCTOR_HTTP_TIMEOUT && resp.status == 0)) {
        text_fmt(why, cap, "%s", resp.error);
        doctor_http_resp_cleanup(&resp);
        return false;
    }
    if (rc == DOCTOR_HTTP_TLS) {
        doctor_check_set(
            r, DOCTOR_CHECK_TLS, DOCTOR_FAIL,
            "serve the full certificate chain (leaf then intermediates) for this host name; "
            "clients verify it against public roots",
            "%s", resp.error);
        skip_rest(r, DOCTOR_CHECK_CHALLENGE, "TLS failed");
        go_on = false;
    } else if (https) {
        doctor_check_set(r, DOCTOR_CHECK_TLS, DOCTOR_PASS, NULL, "verified: %s", resp.tls_summary);
    } else {
        doctor_check_set(r, DOCTOR_CHECK_TLS, DOCTOR_SKIP, NULL,
                         "plain http: clients accept it on loopback only");
    }
    if (go_on && rc != DOCTOR_HTTP_OK) {
        doctor_check_set(r, DOCTOR_CHECK_CHALLENGE, DOCTOR_FAIL, FIX_NOT_PROXY,
                         "POST initialize: %s", resp.error);
        skip_rest(r, DOCTOR_CHECK_CHALLENGE_RM, "no challenge");
        go_on = false;
    } else if (go_on && resp.status != 401) {
        doctor_check_set(r, DOCTOR_CHECK_CHALLENGE, DOCTOR_FAIL, FIX_NOT_PROXY,
                         "POST initialize without a token answered %ld, not 401", resp.status);
        skip_rest(r, DOCTOR_CHECK_CHALLENGE_RM, "no challenge");
        go_on = false;
    }
    if (go_on) {
        bool any = false;
        const char *bad = find_bearer(&resp, &run->challenge, &any);
        if (!any) {
            doctor_check_set(r, DOCTOR_CHECK_CHALLENGE, DOCTOR_FAIL, FIX_STRIPPED,
                             "401 without WWW-Authenticate: clients cannot tell how to log in");
        } else if (bad != NULL) {
            doctor_check_set(
                r, DOCTOR_CHECK_CHALLENGE, DOCTOR_FAIL,
                "the 401's WWW-Authenticate must be a Bearer challenge (RFC 6750 3); something "
                "in front of the proxy rewrites it",
                "WWW-Authenticate unusable: %s", bad);
        } else {
            doctor_check_set(r, DOCTOR_CHECK_CHALLENGE, DOCTOR_PASS, NULL,
                             "401 with a Bearer challenge%s%s%s",
                             run->challenge.has_scope ? " (scope \"" : "", run->challenge.scope,
                             run->challenge.has_scope ? "\")" : "");
        }
        if (!any) {
            doctor_check_set(r, DOCTOR_CHECK_CHALLENGE_RM, DOCTOR_SKIP, NULL,
                             "not run: no challenge");
        } else if (run->challenge.resource_metadata[0] != '\0') {
            doctor_check_set(r, DOCTOR_CHECK_CHALLENGE_RM, DOCTOR_PASS, NULL,
                             "resource_metadata=%s", run->challenge.resource_metadata);
        } else {
            doctor_check_set(
                r, DOCTOR_CHECK_CHALLENGE_RM, DOCTOR_FAIL,
                "the challenge should name resource_metadata (RFC 9728 5.1); without it clients "
                "guess the well-known URLs",
                "no resource_metadata parameter in the challenge");
        }
    }
    doctor_http_resp_cleanup(&resp);
    return true;
}

/* ----------------------------------------------------------- discovery */

/* One protected-resource metadata document: PASS or FAIL into id. */
static bool
probe_prm(struct run *run, enum doctor_check_id id, const char *url, bool root,
          struct doctor_prm *out)
{
    struct doctor_http_resp resp;
    enum doctor_http_rc rc = get_json(run, url, &resp);
    bool ok = false;
    if (rc != DOCTOR_HTTP_OK) {
        doctor_check_set(run->r, id, DOCTOR_FAIL, FIX_WELLKNOWN, "%s: %s", url, resp.error);
    } else if (resp.status != 200) {
        doctor_check_set(run->r, id, DOCTOR_FAIL, FIX_WELLKNOWN, "%s answered %ld", url,
                         resp.status);
    } else {
        const char *why = doctor_parse_prm(buf_slice(&resp.body), run->o->mount, root, out);
        if (why == NULL) {
            ok = true;
            doctor_check_set(run->r, id, DOCTOR_PASS, NULL,
                             "%s: resource %s, authorization server %s", url, out->resource,
                             out->authorization_server);
        } else if (out->resource[0] != '\0') {
            doctor_check_set(run->r, id, DOCTOR_FAIL, FIX_RESOURCE, "%s: %s (it says %s)", url, why,
                             out->resource);
        } else {
            doctor_check_set(run->r, id, DOCTOR_FAIL, FIX_WELLKNOWN, "%s: %s", url, why);
        }
    }
    doctor_http_resp_cleanup(&resp);
    return ok;
}

static void
probe_discovery(struct run *run)
{
    struct doctor_results *r = run->r;
    struct doctor_prm header = {0};
    struct doctor_prm path = {0};
    struct doctor_prm root = {0};
    bool header_ok = false;
    const char *header_url = run->challenge.resource_metadata;
    if (header_url[0] != '\0') {
        header_ok = probe_prm(run, DOCTOR_CHECK_PRM_HEADER, header_url, false, &header);
    } else {
        doctor_check_set(r, DOCTOR_CHECK_PRM_HEADER, DOCTOR_SKIP, NULL,
                         "no resource_metadata in the challenge");
    }
    struct buf url;
    buf_init(&url, BOUNDS_DOCTOR_URL_MAX);
    bool path_ok = false;
    bool root_ok = false;
    if (doctor_wellknown_url(run->o->mount, DOCTOR_WELLKNOWN_PRM_PATH, &url) == 0) {
        path_ok = probe_prm(run, DOCTOR_CHECK_PRM_PATH, buf_cstr(&url), false, &path);
    }
    buf_reset(&url);
    if (doctor_wellknown_url(run->o->mount, DOCTOR_WELLKNOWN_PRM_ROOT, &url) == 0) {
        root_ok = probe_prm(run, DOCTOR_CHECK_PRM_ROOT, buf_cstr(&url), true, &root);
    }
    buf_cleanup(&url);
    /* MCP authorization (2025-11-25): the header's URL when there is one;
     * otherwise the path-inserted URL, then the root one. */
    const struct doctor_check *used = NULL;
    if (header_url[0] != '\0') {
        used = &r->checks[DOCTOR_CHECK_PRM_HEADER];
        run->prm = header;
    } else if (path_ok || !root_ok) {
        used = &r->checks[DOCTOR_CHECK_PRM_PATH];
        run->prm = path;
    } else {
        used = &r->checks[DOCTOR_CHECK_PRM_ROOT];
        run->prm = root;
    }
    bool ok = header_url[0] != '\0' ? header_ok : (path_ok || root_ok);
    doctor_check_set(r, DOCTOR_CHECK_DISCOVERY, ok ? DOCTOR_PASS : DOCTOR_FAIL,
                     ok ? NULL : used->advice, "%s", used->detail);
}

/* ----------------------------------------------------------- AS metadata */

static void
probe_as(struct run *run)
{
    struct doctor_results *r = run->r;
    const char *issuer = run->prm.authorization_server;
    static const enum doctor_wellknown kinds[] = {
        DOCTOR_WELLKNOWN_AS_OAUTH, DOCTOR_WELLKNOWN_AS_OIDC, DOCTOR_WELLKNOWN_AS_OIDC_AFTER};
    char tried[3][BOUNDS_DOCTOR_URL_MAX];
    size_t ntried = 0;
    bool found = false;
    char mismatch[DOCTOR_TEXT_MAX] = "";
    for (size_t k = 0; k < 3 && !found; k++) {
        struct buf url;
        buf_init(&url, BOUNDS_DOCTOR_URL_MAX);
        bool dup = doctor_wellknown_url(issuer, kinds[k], &url) != 0;
        for (size_t i = 0; i < ntried && !dup; i++) {
            dup = strcmp(tried[i], buf_cstr(&url)) == 0;
        }
        if (!dup) {
            text_fmt(tried[ntried++], BOUNDS_DOCTOR_URL_MAX, "%s", buf_cstr(&url));
            struct doctor_http_resp resp;
            if (get_json(run, buf_cstr(&url), &resp) == DOCTOR_HTTP_OK && resp.status == 200) {
                const char *why = doctor_parse_as(buf_slice(&resp.body), issuer, &run->as);
                if (why == NULL) {
                    found = true;
                    doctor_check_set(r, DOCTOR_CHECK_AS_METADATA, DOCTOR_PASS, NULL,
                                     "%s: issuer %s", buf_cstr(&url), run->as.issuer);
                } else if (mismatch[0] == '\0') {
                    text_fmt(mismatch, sizeof(mismatch), "%s: %s (it says \"%s\")", buf_cstr(&url),
                             why, run->as.issuer);
                }
            }
            doctor_http_resp_cleanup(&resp);
        }
        buf_cleanup(&url);
    }
    if (!found) {
        if (mismatch[0] != '\0') {
            doctor_check_set(
                r, DOCTOR_CHECK_AS_METADATA, DOCTOR_FAIL,
                "the authorization server's issuer must equal the URL in authorization_servers "
                "byte for byte (RFC 8414 3.3): set PROXY_BASE_URL to the public origin exactly",
                "%s", mismatch);
        } else {
            doctor_check_set(r, DOCTOR_CHECK_AS_METADATA, DOCTOR_FAIL, FIX_WELLKNOWN,
                             "no authorization-server metadata for %s at %s%s%s%s%s", issuer,
                             tried[0], ntried > 1 ? ", " : "", ntried > 1 ? tried[1] : "",
                             ntried > 2 ? ", " : "", ntried > 2 ? tried[2] : "");
        }
        skip_rest(r, DOCTOR_CHECK_AS_PKCE, "no authorization-server metadata");
        return;
    }
    const struct doctor_as *as = &run->as;
    doctor_check_set(r, DOCTOR_CHECK_AS_PKCE, as->pkce_s256 ? DOCTOR_PASS : DOCTOR_FAIL,
                     as->pkce_s256 ? NULL
                                   : "advertise code_challenge_methods_supported [\"S256\"]: MCP "
                                     "clients refuse servers that do not",
                     "S256 %s", as->pkce_s256 ? "advertised" : "not advertised");
    doctor_check_set(r, DOCTOR_CHECK_AS_NONE, as->auth_none ? DOCTOR_PASS : DOCTOR_FAIL,
                     as->auth_none ? NULL
                                   : "advertise \"none\" in token_endpoint_auth_methods_supported: "
                                     "every MCP client here is a public client",
                     "\"none\" %s", as->auth_none ? "advertised" : "not advertised");
    doctor_check_set(r, DOCTOR_CHECK_AS_ISS, as->iss_parameter ? DOCTOR_PASS : DOCTOR_WARN,
                     as->iss_parameter ? NULL
                                       : "advertise authorization_response_iss_parameter_supported "
                                         "(RFC 9207) so clients can detect mix-up attacks",
                     "iss parameter %s", as->iss_parameter ? "supported" : "not advertised");
    doctor_check_set(
        r, DOCTOR_CHECK_REGISTRATION,
        as->registration_endpoint[0] != '\0' ? DOCTOR_PASS : DOCTOR_FAIL,
        as->registration_endpoint[0] != '\0'
            ? NULL
            : "advertise registration_endpoint: Cursor, Gemini CLI and the MCP Inspector "
              "register dynamically",
        "%s", as->registration_endpoint[0] != '\0' ? as->registration_endpoint : "not advertised");
    doctor_check_set(
        r, DOCTOR_CHECK_CIMD, as->cimd ? DOCTOR_PASS : DOCTOR_SKIP, NULL,
        "client ID metadata documents %s",
        as->cimd ? "advertised: Claude.ai, ChatGPT, VS Code and Claude Code may use them instead "
                   "of /register (the cimd_fetch checks say whether the proxy can fetch them; "
                   "they run with --server-side)"
                 : "not advertised: every client registers at /register");
}

/* ----------------------------------------------------------- /register */

static void
probe_register(struct run *run)
{
    static const char *const h[] = {"Content-Type: application/json", "Accept: application/json",
                                    NULL};
    for (int c = 0; c < DOCTOR_CLIENT_COUNT; c++) {
        const struct doctor_client_def *d = doctor_clients_get((enum doctor_client)c);
        if (run->as.registration_endpoint[0] == '\0') {
            doctor_check_set(run->r, d->dcr, DOCTOR_FAIL,
                             run->r->checks[DOCTOR_CHECK_REGISTRATION].advice,
                             "no registration_endpoint");
            continue;
        }
        struct doctor_http_req req = {
            .method = "POST", .url = run->as.registration_endpoint, .headers = h, .body = d->body};
        struct doctor_http_resp resp;
        enum doctor_http_rc rc = doctor_http_do(&run->http, &req, &resp);
        char err[DOCTOR_TEXT_MAX / 2] = "";
        if (rc == DOCTOR_HTTP_OK) {
            doctor_parse_oauth_error(buf_slice(&resp.body), err, sizeof(err));
        }
        const char *why = NULL;
        if (rc != DOCTOR_HTTP_OK) {
            doctor_check_set(run->r, d->dcr, DOCTOR_FAIL, FIX_WELLKNOWN, "%s", resp.error);
        } else if (resp.status == 429) {
            doctor_check_set(
                run->r, d->dcr, DOCTOR_WARN,
                "/register is rate limited for this address: run the doctor again in a minute",
                "answered 429");
        } else if (resp.status != 201 && resp.status != 200) {
            doctor_check_set(
                run->r, d->dcr, DOCTOR_FAIL,
                "/register refuses this client's redirect URIs: allow them (see docs/clients.md)",
                "answered %ld%s%s", resp.status, err[0] != '\0' ? ": " : "", err);
        } else if ((why = doctor_parse_registration(buf_slice(&resp.body), d->redirect_count)) !=
                   NULL) {
            doctor_check_set(
                run->r, d->dcr, DOCTOR_FAIL,
                "the registration answer must be RFC 7591 client metadata with every redirect "
                "URI kept",
                "answered %ld but %s", resp.status, why);
        } else {
            doctor_check_set(run->r, d->dcr, DOCTOR_PASS, NULL, "registered (%zu redirect URI%s)",
                             d->redirect_count, d->redirect_count == 1 ? "" : "s");
        }
        doctor_http_resp_cleanup(&resp);
    }
}

/* ----------------------------------------------------------- CORS */

static void
probe_cors(struct run *run)
{
    struct doctor_results *r = run->r;
    char origin[BOUNDS_DOCTOR_URL_MAX + 16];
    text_fmt(origin, sizeof(origin), "Origin: %s", run->o->origin);
    const char *const pre_h[] = {origin, "Access-Control-Request-Method: POST",
                                 "Access-Control-Request-Headers: authorization, content-type, "
                                 "mcp-protocol-version",
                                 NULL};
    struct doctor_http_req req = {.method = "OPTIONS", .url = run->o->mount, .headers = pre_h};
    struct doctor_http_resp resp;
    enum doctor_http_rc rc = doctor_http_do(&run->http, &req, &resp);
    struct slice acao = SLICE_NULL;
    struct slice allow = SLICE_NULL;
    bool has_acao =
        rc == DOCTOR_HTTP_OK && doctor_http_header(&resp, "Access-Control-Allow-Origin", 0, &acao);
    bool allowed = has_acao && resp.status >= 200 && resp.status < 300 &&
                   (slice_eq_cstr(acao, run->o->origin) || slice_eq_cstr(acao, "*")) &&
                   doctor_http_header(&resp, "Access-Control-Allow-Headers", 0, &allow) &&
                   doctor_parse_list_has(allow, "authorization", false);
    if (!allowed) {
        doctor_check_set(
            r, DOCTOR_CHECK_CORS_PREFLIGHT, DOCTOR_WARN,
            "only browser pages need this (MCP Inspector 1.x \"Direct\"): to allow one, add its "
            "origin to MCP_ALLOWED_ORIGINS; then the ingress must pass OPTIONS to the proxy",
            "preflight from %s refused (status %ld%s)", run->o->origin, resp.status,
            has_acao ? "" : ", no Access-Control-Allow-Origin");
        doctor_http_resp_cleanup(&resp);
        doctor_check_set(r, DOCTOR_CHECK_CORS_EXPOSE, DOCTOR_SKIP, NULL,
                         "not run: the origin is not allowed");
        return;
    }
    doctor_check_set(r, DOCTOR_CHECK_CORS_PREFLIGHT, DOCTOR_PASS, NULL, "preflight from %s allowed",
                     run->o->origin);
    doctor_http_resp_cleanup(&resp);

    const char *const post_h[] = {origin, "Content-Type: application/json",
                                  "Accept: application/json, text/event-stream", NULL};
    struct doctor_http_req post = {
        .method = "POST", .url = run->o->mount, .headers = post_h, .body = INITIALIZE};
    rc = doctor_http_do(&run->http, &post, &resp);
    struct slice expose = SLICE_NULL;
    bool has_expose = rc == DOCTOR_HTTP_OK &&
                      doctor_http_header(&resp, "Access-Control-Expose-Headers", 0, &expose);
    bool www = has_expose && doctor_parse_list_has(expose, "WWW-Authenticate", true);
    bool sid = has_expose && doctor_parse_list_has(expose, "Mcp-Session-Id", true);
    bool acao_ok =
        rc == DOCTOR_HTTP_OK && doctor_http_header(&resp, "Access-Control-Allow-Origin", 0, &acao);
    if (acao_ok && www && sid) {
        doctor_check_set(r, DOCTOR_CHECK_CORS_EXPOSE, DOCTOR_PASS, NULL,
                         "the 401 to %s exposes WWW-Authenticate and Mcp-Session-Id",
                         run->o->origin);
    } else {
        doctor_check_set(
            r, DOCTOR_CHECK_CORS_EXPOSE, DOCTOR_FAIL,
            "your ingress drops or overrides the proxy's CORS headers on the mount: pass "
            "Access-Control-Allow-Origin and Access-Control-Expose-Headers through unchanged",
            "the 401 to %s %s", run->o->origin,
            !acao_ok ? "has no Access-Control-Allow-Origin"
                     : "does not expose WWW-Authenticate and Mcp-Session-Id");
    }
    doctor_http_resp_cleanup(&resp);
}

/* ----------------------------------------------------------- SSE */

/* What an answer to the stream request shows about buffering. Honest
 * limits: without a token no event stream flows, so only signs left in the
 * headers count (docs/doctor.md). */
static void
judge_buffering(struct run *run, const struct doctor_http_resp *resp)
{
    struct slice v;
    bool accel_yes = doctor_http_header(resp, "X-Accel-Buffering", 0, &v) &&
                     slice_case_eq_cstr(slice_trim_ows(v), "yes");
    struct slice ct = SLICE_NULL;
    bool stream = doctor_http_header(resp, "Content-Type", 0, &ct) &&
                  slice_case_starts_with(ct, SLICE_LIT("text/event-stream"));
    bool length = doctor_http_header(resp, "Content-Length", 0, &v);
    if (accel_yes) {
        doctor_check_set(run->r, DOCTOR_CHECK_SSE_BUFFERING, DOCTOR_FAIL, FIX_BUFFERING,
                         "the answer carries X-Accel-Buffering: yes");
    } else if (stream && length) {
        doctor_check_set(
            run->r, DOCTOR_CHECK_SSE_BUFFERING, DOCTOR_FAIL, FIX_BUFFERING,
            "an event stream answered with Content-Length: something collected it whole");
    } else {
        doctor_check_set(
            run->r, DOCTOR_CHECK_SSE_BUFFERING, DOCTOR_SKIP, NULL,
            "no sign of buffering in the headers; a stream itself cannot be observed without a "
            "token (behind nginx: `proxy_buffering off` on the mount)");
    }
}

static void
probe_sse(struct run *run)
{
    struct doctor_results *r = run->r;
    static const char *const h[] = {"Accept: text/event-stream", NULL};
    struct doctor_http_req req = {.method = "GET",
                                  .url = run->o->mount,
                                  .headers = h,
                                  .timeout_ms = BOUNDS_DOCTOR_SSE_PROMPT_MS};
    struct doctor_http_resp resp;
    enum doctor_http_rc rc = doctor_http_do(&run->http, &req, &resp);
    struct doctor_challenge ch;
    bool any = false;
    if (rc == DOCTOR_HTTP_TIMEOUT && resp.status == 0) {
        doctor_check_set(r, DOCTOR_CHECK_SSE, DOCTOR_FAIL, FIX_SSE_HELD,
                         "no answer within %d ms to GET Accept: text/event-stream without a token",
                         BOUNDS_DOCTOR_SSE_PROMPT_MS);
    } else if (resp.status == 0) {
        doctor_check_set(r, DOCTOR_CHECK_SSE, DOCTOR_FAIL, FIX_SSE_HELD, "GET stream request: %s",
                         resp.error);
    } else if (resp.status == 401 && find_bearer(&resp, &ch, &any) == NULL) {
        doctor_check_set(r, DOCTOR_CHECK_SSE, DOCTOR_PASS, NULL,
                         "refused with 401 and the challenge in %llu ms",
                         (unsigned long long)resp.elapsed_ms);
    } else if (resp.status == 401) {
        doctor_check_set(r, DOCTOR_CHECK_SSE, DOCTOR_FAIL, FIX_STRIPPED,
                         "GET stream request: 401 without a Bearer challenge");
    } else if (resp.status == 405) {
        doctor_check_set(
            r, DOCTOR_CHECK_SSE, DOCTOR_WARN,
            "the ingress refuses GET on the mount: clients then get no server-initiated "
            "messages; allow GET",
            "GET stream request answered 405");
    } else {
        doctor_check_set(r, DOCTOR_CHECK_SSE, DOCTOR_FAIL, FIX_NOT_PROXY,
                         "GET stream request without a token answered %ld", resp.status);
    }
    if (resp.status != 0) {
        judge_buffering(run, &resp);
    } else {
        doctor_check_set(r, DOCTOR_CHECK_SSE_BUFFERING, DOCTOR_SKIP, NULL, "not run: no answer");
    }
    doctor_http_resp_cleanup(&resp);
}

enum doctor_probes_rc
doctor_probes_run(const struct doctor_probe_opts *o, struct doctor_results *out, char *why,
                  size_t cap)
{
    memset(out, 0, sizeof(*out));
    struct run run = {
        .o = o, .http = {.ca_file = o->ca_file, .deadline_ms = o->deadline_ms}, .r = out};
    if (!probe_challenge(&run, why, cap)) {
        return DOCTOR_PROBES_UNREACHABLE;
    }
    if (out->checks[DOCTOR_CHECK_TLS].status == DOCTOR_FAIL) {
        return DOCTOR_PROBES_DONE;
    }
    /* Discovery runs even without a usable challenge: clients fall back to
     * the well-known URLs, and the report should say whether they work. */
    probe_discovery(&run);
    if (out->checks[DOCTOR_CHECK_DISCOVERY].status == DOCTOR_PASS) {
        probe_as(&run);
        if (out->checks[DOCTOR_CHECK_AS_METADATA].status == DOCTOR_PASS) {
            probe_register(&run);
            doctor_cimd_fetch_run(o->cimd, run.as.cimd, o->deadline_ms, out);
        }
    }
    skip_rest(out, DOCTOR_CHECK_AS_METADATA, "discovery failed");
    /* Undo the blanket skip for the checks that do not depend on it. */
    for (int id = DOCTOR_CHECK_CORS_PREFLIGHT; id < DOCTOR_CHECK_COUNT; id++) {
        out->checks[id] = (struct doctor_check){0};
    }
    probe_cors(&run);
    probe_sse(&run);
    return DOCTOR_PROBES_DONE;
}
