#include "doctor/clients.h"

#define BIT(id) (UINT64_C(1) << (id))

/* Every client needs the challenge, discovery, AS metadata with S256 and
 * the `none` method (all of them are public clients: MCP authorization
 * 2025-11-25 "Authorization Server Metadata Discovery", and clients MUST
 * refuse to go on without code_challenge_methods_supported), TLS, and a
 * GET stream request that is answered. */
#define COMMON                                                                                     \
    (BIT(DOCTOR_CHECK_TLS) | BIT(DOCTOR_CHECK_CHALLENGE) | BIT(DOCTOR_CHECK_DISCOVERY) |           \
     BIT(DOCTOR_CHECK_AS_METADATA) | BIT(DOCTOR_CHECK_AS_PKCE) | BIT(DOCTOR_CHECK_AS_NONE) |       \
     BIT(DOCTOR_CHECK_SSE) | BIT(DOCTOR_CHECK_SSE_BUFFERING))
#define NOTES                                                                                      \
    (BIT(DOCTOR_CHECK_CHALLENGE_RM) | BIT(DOCTOR_CHECK_PRM_PATH) | BIT(DOCTOR_CHECK_PRM_ROOT) |    \
     BIT(DOCTOR_CHECK_AS_ISS))
#define FLOW                                                                                       \
    "\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"response_types\":[\"code\"]"

/* The registration bodies are the ones tests/e2e/client_shapes.test.mjs
 * sends for each client (docs/clients.md), with ChatGPT's newer fixed
 * redirect beside its per-connector one. */
static const struct doctor_client_def table[DOCTOR_CLIENT_COUNT] = {
    [DOCTOR_CLIENT_CLAUDEAI] =
        {"Claude.ai", "claude_ai", COMMON, NOTES, DOCTOR_CHECK_DCR_CLAUDEAI, true,
         "https://claude.ai/oauth/mcp-oauth-client-metadata", DOCTOR_CHECK_CIMD_FETCH_CLAUDEAI,
         "{\"client_name\":\"claudeai\"," FLOW ",\"token_endpoint_auth_method\":\"none\","
         "\"scope\":\"claudeai\",\"redirect_uris\":[\"https://claude.ai/api/mcp/auth_callback\","
         "\"https://claude.com/api/mcp/auth_callback\"]}",
         2},
    [DOCTOR_CLIENT_CHATGPT] =
        {"ChatGPT", "chatgpt", COMMON, NOTES, DOCTOR_CHECK_DCR_CHATGPT, true,
         "https://chatgpt.com/oauth/client.json", DOCTOR_CHECK_CIMD_FETCH_CHATGPT,
         "{\"client_name\":\"ChatGPT\"," FLOW ",\"token_endpoint_auth_method\":\"none\","
         "\"redirect_uris\":[\"https://chatgpt.com/connector_platform_oauth_redirect\","
         "\"https://chatgpt.com/connector/oauth/c_0123456789abcdef\"]}",
         2},
    [DOCTOR_CLIENT_CURSOR] =
        {"Cursor", "cursor", COMMON, NOTES, DOCTOR_CHECK_DCR_CURSOR, false, NULL,
         DOCTOR_CHECK_COUNT,
         "{\"redirect_uris\":[\"cursor://anysphere.cursor-mcp/oauth/callback\","
         "\"https://www.cursor.com/agents/mcp/oauth/callback\",\"http://localhost:8787/callback\"],"
         "\"token_endpoint_auth_method\":\"none\"}",
         3},
    [DOCTOR_CLIENT_VSCODE] = {"VS Code", "vscode", COMMON, NOTES, DOCTOR_CHECK_DCR_VSCODE, true,
                              "https://vscode.dev/oauth/client-metadata.json",
                              DOCTOR_CHECK_CIMD_FETCH_VSCODE,
                              "{\"client_name\":\"Visual Studio "
                              "Code\",\"client_uri\":\"https://code.visualstudio.com\"," FLOW
                              ",\"redirect_uris\":[\"https://insiders.vscode.dev/"
                              "redirect\",\"https://vscode.dev/redirect\","
                              "\"http://127.0.0.1/\",\"http://127.0.0.1:33418/"
                              "\"],\"token_endpoint_auth_method\":\"none\","
                              "\"application_type\":\"native\"}",
                              4},
    [DOCTOR_CLIENT_CLAUDE_CODE] =
        {"Claude Code", "claude_code", COMMON, NOTES, DOCTOR_CHECK_DCR_CLAUDE_CODE, true,
         "https://claude.ai/oauth/claude-code-client-metadata", DOCTOR_CHECK_CIMD_FETCH_CLAUDE_CODE,
         "{\"client_name\":\"Claude Code (mcp-auth-proxy doctor)\"," FLOW
         ",\"token_endpoint_auth_method\":\"none\",\"redirect_uris\":[\"http://localhost:54212/"
         "callback\"],\"application_type\":\"native\"}",
         1},
    [DOCTOR_CLIENT_GEMINI] = {"Gemini CLI", "gemini_cli", COMMON, NOTES, DOCTOR_CHECK_DCR_GEMINI,
                              false, NULL, DOCTOR_CHECK_COUNT,
                              "{\"client_name\":\"Gemini CLI MCP Client\"," FLOW
                              ",\"token_endpoint_auth_method\":\"none\","
                              "\"redirect_uris\":[\"http://localhost:7777/oauth/callback\"],"
                              "\"scope\":\"openid offline_access\"}",
                              1},
    /* The Inspector's 1.x "Direct" mode is a browser page on its own
     * origin: CORS matters to it, but 2.x and 1.x "Via Proxy" need none,
     * so CORS findings are notes. */
    [DOCTOR_CLIENT_INSPECTOR] =
        {"MCP Inspector", "mcp_inspector", COMMON,
         NOTES | BIT(DOCTOR_CHECK_CORS_PREFLIGHT) | BIT(DOCTOR_CHECK_CORS_EXPOSE),
         DOCTOR_CHECK_DCR_INSPECTOR, false, NULL, DOCTOR_CHECK_COUNT,
         "{\"redirect_uris\":[\"http://localhost:6274/oauth/callback\"],"
         "\"token_endpoint_auth_method\":\"none\"," FLOW ",\"client_name\":\"MCP Inspector\","
         "\"client_uri\":\"https://github.com/modelcontextprotocol/inspector\",\"scope\":\"\","
         "\"application_type\":\"native\"}",
         1},
};

static const char *const status_str[DOCTOR_STATUS_COUNT] = {
    [DOCTOR_SKIP] = "SKIP", [DOCTOR_PASS] = "PASS", [DOCTOR_WARN] = "WARN", [DOCTOR_FAIL] = "FAIL"};

static const char *const check_str[DOCTOR_CHECK_COUNT] = {
    [DOCTOR_CHECK_TLS] = "tls",
    [DOCTOR_CHECK_CHALLENGE] = "challenge",
    [DOCTOR_CHECK_CHALLENGE_RM] = "challenge_resource_metadata",
    [DOCTOR_CHECK_DISCOVERY] = "discovery",
    [DOCTOR_CHECK_PRM_HEADER] = "prm_header_url",
    [DOCTOR_CHECK_PRM_PATH] = "prm_path_inserted",
    [DOCTOR_CHECK_PRM_ROOT] = "prm_root",
    [DOCTOR_CHECK_AS_METADATA] = "as_metadata",
    [DOCTOR_CHECK_AS_PKCE] = "as_pkce_s256",
    [DOCTOR_CHECK_AS_NONE] = "as_auth_method_none",
    [DOCTOR_CHECK_AS_ISS] = "as_iss_parameter",
    [DOCTOR_CHECK_REGISTRATION] = "registration_endpoint",
    [DOCTOR_CHECK_CIMD] = "cimd",
    [DOCTOR_CHECK_DCR_CLAUDEAI] = "register_claude_ai",
    [DOCTOR_CHECK_DCR_CHATGPT] = "register_chatgpt",
    [DOCTOR_CHECK_DCR_CURSOR] = "register_cursor",
    [DOCTOR_CHECK_DCR_VSCODE] = "register_vscode",
    [DOCTOR_CHECK_DCR_CLAUDE_CODE] = "register_claude_code",
    [DOCTOR_CHECK_DCR_GEMINI] = "register_gemini_cli",
    [DOCTOR_CHECK_DCR_INSPECTOR] = "register_mcp_inspector",
    [DOCTOR_CHECK_CIMD_FETCH_CLAUDEAI] = "cimd_fetch_claude_ai",
    [DOCTOR_CHECK_CIMD_FETCH_CHATGPT] = "cimd_fetch_chatgpt",
    [DOCTOR_CHECK_CIMD_FETCH_VSCODE] = "cimd_fetch_vscode",
    [DOCTOR_CHECK_CIMD_FETCH_CLAUDE_CODE] = "cimd_fetch_claude_code",
    [DOCTOR_CHECK_CORS_PREFLIGHT] = "cors_preflight",
    [DOCTOR_CHECK_CORS_EXPOSE] = "cors_expose_headers",
    [DOCTOR_CHECK_SSE] = "sse_get",
    [DOCTOR_CHECK_SSE_BUFFERING] = "sse_buffering",
};

const struct doctor_client_def *
doctor_clients_get(enum doctor_client c)
{
    return (unsigned)c < DOCTOR_CLIENT_COUNT ? &table[c] : NULL;
}

const char *
doctor_clients_status_str(enum doctor_status s)
{
    return (unsigned)s < DOCTOR_STATUS_COUNT ? status_str[s] : "?";
}

const char *
doctor_clients_check_name(enum doctor_check_id id)
{
    return (unsigned)id < DOCTOR_CHECK_COUNT ? check_str[id] : "?";
}

/* A client gets its login going by /register or, when it uses them and
 * the server advertises them, by a metadata document. */
static bool
registration_fails(const struct doctor_client_def *d, const struct doctor_results *r)
{
    if (r->checks[d->dcr].status != DOCTOR_FAIL) {
        return false;
    }
    return !(d->cimd && r->checks[DOCTOR_CHECK_CIMD].status == DOCTOR_PASS &&
             r->checks[d->cimd_fetch].status != DOCTOR_FAIL);
}

void
doctor_clients_verdict(enum doctor_client c, const struct doctor_results *r,
                       struct doctor_verdict *out)
{
    *out = (struct doctor_verdict){.ok = true};
    const struct doctor_client_def *d = doctor_clients_get(c);
    if (d == NULL) {
        out->ok = false;
        return;
    }
    for (int id = 0; id < DOCTOR_CHECK_COUNT; id++) {
        bool failed = (d->required & BIT(id)) && r->checks[id].status == DOCTOR_FAIL;
        if (id == (int)d->dcr) {
            failed = registration_fails(d, r);
        } else if (id == (int)d->cimd_fetch) {
            failed = r->checks[id].status == DOCTOR_FAIL;
        }
        if (failed) {
            out->problems[out->problem_count++] = (enum doctor_check_id)id;
        }
    }
    out->failing = out->problem_count;
    out->ok = out->failing == 0;
    for (int id = 0; id < DOCTOR_CHECK_COUNT; id++) {
        enum doctor_status s = r->checks[id].status;
        bool note = (d->advisory & BIT(id)) && (s == DOCTOR_FAIL || s == DOCTOR_WARN);
        /* Its /register rate limited, or failed where the metadata document
         * route makes up for it. */
        note = note || (id == (int)d->dcr &&
                        (s == DOCTOR_WARN || (s == DOCTOR_FAIL && !registration_fails(d, r))));
        if (note) {
            out->problems[out->problem_count++] = (enum doctor_check_id)id;
        }
    }
}
