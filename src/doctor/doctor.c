#include "doctor/doctor.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "bounds.h"
#include "doctor/clients.h"
#include "doctor/http.h"
#include "doctor/probes.h"
#include "doctor/report.h"
#include "doctor/wellknown.h"

static const char usage[] =
    "usage: mcp-auth-proxy doctor URL [--json] [--ca-file FILE] [--origin ORIGIN]\n"
    "                                 [--server-side [--cimd-url CLIENT=URL]...]\n"
    "\n"
    "Checks, from this machine, whether the major MCP clients (Claude.ai, ChatGPT,\n"
    "Cursor, VS Code, Claude Code, Gemini CLI, MCP Inspector) can connect to the MCP\n"
    "server at URL (the URL users enter, e.g. https://mcp.example.com/mcp), and says\n"
    "what to fix when not. It sends what the clients send first: an initialize\n"
    "without a token, the metadata look-ups, one /register per client (each creates\n"
    "a client, nothing else), a CORS preflight and a GET stream request. It never\n"
    "sends a credential and never logs in.\n"
    "\n"
    "  --json           one JSON object on stdout (for CI)\n"
    "  --ca-file FILE   trust the CA certificates in FILE instead of the system store\n"
    "  --origin ORIGIN  browser origin for the CORS checks (default\n"
    "                   http://localhost:6274, the MCP Inspector's)\n"
    "  --server-side    run where the proxy runs (its host, or kubectl exec in its pod):\n"
    "                   also fetch the metadata documents of Claude.ai, ChatGPT, VS Code\n"
    "                   and Claude Code from here, as the proxy would, with its\n"
    "                   CIMD_ALLOWED_HOSTS, CIMD_ALLOW_PRIVATE_ADDRESSES, CIMD_CA_FILE\n"
    "                   and CIMD_PINNED_DIR from this environment\n"
    "  --cimd-url CLIENT=URL\n"
    "                   fetch URL as CLIENT's document (claude_ai, chatgpt, vscode,\n"
    "                   claude_code) instead of the one the doctor knows\n"
    "\n"
    "Exit status: 0 every client passes, 1 some fail, 2 usage error or unreachable.\n"
    "docs/doctor.md explains every check.\n";

struct args {
    const char *url;
    const char *ca_file;
    const char *origin;
    bool json;
    struct doctor_cimd_opts cimd;
};

/* --cimd-url CLIENT=URL: the client by its --json key. */
static bool
parse_cimd_url(char *arg, struct doctor_cimd_opts *o)
{
    char *eq = strchr(arg, '=');
    if (eq == NULL) {
        return false;
    }
    for (int c = 0; c < DOCTOR_CLIENT_COUNT; c++) {
        const struct doctor_client_def *d = doctor_clients_get((enum doctor_client)c);
        if (d->cimd && strncmp(arg, d->key, (size_t)(eq - arg)) == 0 && d->key[eq - arg] == '\0') {
            o->urls[c] = eq + 1;
            return true;
        }
    }
    return false;
}

static bool
parse_args(int argc, char **argv, struct args *a)
{
    *a = (struct args){.origin = "http://localhost:6274"};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if (strcmp(argv[i], "--ca-file") == 0 && i + 1 < argc) {
            a->ca_file = argv[++i];
        } else if (strcmp(argv[i], "--origin") == 0 && i + 1 < argc) {
            a->origin = argv[++i];
        } else if (strcmp(argv[i], "--server-side") == 0) {
            a->cimd.server_side = true;
        } else if (strcmp(argv[i], "--cimd-url") == 0 && i + 1 < argc) {
            if (!parse_cimd_url(argv[++i], &a->cimd)) {
                return false;
            }
        } else if (argv[i][0] != '-' && a->url == NULL) {
            a->url = argv[i];
        } else {
            return false;
        }
    }
    /* The proxy's own settings, when the doctor runs in its environment. */
    a->cimd.allowed_hosts = getenv("CIMD_ALLOWED_HOSTS");
    a->cimd.allow_private = getenv("CIMD_ALLOW_PRIVATE_ADDRESSES");
    a->cimd.ca_file = getenv("CIMD_CA_FILE");
    a->cimd.pinned_dir = getenv("CIMD_PINNED_DIR");
    return a->url != NULL;
}

/* The URL must be one the well-known derivation accepts: http(s), no
 * userinfo (the doctor sends no credentials), no query or fragment. */
static const char *
check_url(const char *url)
{
    if (strlen(url) >= BOUNDS_DOCTOR_URL_MAX) {
        return "the URL is too long";
    }
    struct buf b;
    buf_init(&b, BOUNDS_DOCTOR_URL_MAX * 2);
    int err = doctor_wellknown_url(url, DOCTOR_WELLKNOWN_PRM_PATH, &b);
    buf_cleanup(&b);
    return err == 0 ? NULL
                    : "the URL must be an absolute http(s) URL without user name, password, "
                      "query or fragment";
}

int
doctor_main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[2], "--help") == 0) {
        fputs(usage, stdout);
        return DOCTOR_EXIT_OK;
    }
    struct args a;
    if (!parse_args(argc, argv, &a)) {
        fputs(usage, stderr);
        return DOCTOR_EXIT_USAGE;
    }
    const char *bad = check_url(a.url);
    if (bad != NULL) {
        (void)fprintf(stderr, "doctor: %s\n", bad);
        return DOCTOR_EXIT_USAGE;
    }
    if (!doctor_http_global_init()) {
        (void)fprintf(stderr, "doctor: libcurl did not initialise\n");
        return DOCTOR_EXIT_USAGE;
    }
    static struct doctor_results results;
    struct doctor_probe_opts o = {.mount = a.url,
                                  .ca_file = a.ca_file,
                                  .origin = a.origin,
                                  .cimd = &a.cimd,
                                  .deadline_ms = clock_mono_ms() + BOUNDS_DOCTOR_TOTAL_MS};
    char why[512] = "";
    enum doctor_probes_rc rc = doctor_probes_run(&o, &results, why, sizeof(why));
    doctor_http_global_cleanup();
    if (rc == DOCTOR_PROBES_UNREACHABLE) {
        if (a.json) {
            struct buf b;
            buf_init(&b, 4096);
            buf_appendf_best(&b, "{\"url\":\"");
            if (buf_append_json_escaped(&b, slice_from_cstr(a.url)) != 0) {
                buf_appendf_best(&b, "...");
            }
            buf_appendf_best(&b, "\",\"ok\":false,\"unreachable\":\"");
            if (buf_append_json_escaped(&b, slice_from_cstr(why)) != 0) {
                buf_appendf_best(&b, "...");
            }
            buf_appendf_best(&b, "\"}\n");
            fputs(buf_cstr(&b), stdout);
            buf_cleanup(&b);
        }
        (void)fprintf(stderr, "doctor: %s is unreachable: %s\n", a.url, why);
        return DOCTOR_EXIT_USAGE;
    }
    bool ok = a.json ? doctor_report_json(a.url, &results, stdout)
                     : doctor_report_text(a.url, &results, stdout);
    return ok ? DOCTOR_EXIT_OK : DOCTOR_EXIT_FAIL;
}
