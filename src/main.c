/* mcp-auth-proxy: argv, configuration, then the server (runtime_run).
 *
 * The process is configured only by environment variables (SPEC.md 0); the
 * command line only chooses what to do with them:
 *   (none)          load the configuration and serve
 *   --check-config  load it, print the effective values (secrets redacted)
 *   --help          usage and every variable, from config.c's table
 *   --version       version, commit and build time
 *   revoke --subject SUB | --family ID
 *                   revoke in the configured Redis (wiring/revoke_cmd.h)
 *   doctor URL [--json]
 *                   check a live deployment as the clients see it (doctor/)
 * Exit status: 0 success, 1 configuration (or start-up, or revocation)
 * failure, 2 usage. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "config.h"
#include "config_report.h"
#include "doctor/doctor.h"
#include "policy/load.h"
#include "policy/policy.h"
#include "version.h"
#include "wiring/revoke_cmd.h"
#include "wiring/runtime.h"

#define MAIN_EXIT_CONFIG 1
#define MAIN_EXIT_USAGE 2

#ifdef MAP_JEMALLOC
/* jemalloc's settings, read at its first allocation (docs/internals/
 * memory.md): a background thread returns pages that have been free for
 * about a second (dirty_decay_ms), straight to the kernel (muzzy_decay_ms:0,
 * MADV_DONTNEED), so RSS comes back after a burst of connections closes
 * even when the process then sits idle; the workers never purge inline. */
const char *malloc_conf = "background_thread:true,max_background_threads:1,"
                          "dirty_decay_ms:1000,muzzy_decay_ms:0";
#endif

static const char usage_line[] = "usage: mcp-auth-proxy [--check-config | --version | --help]\n"
                                 "       mcp-auth-proxy revoke --subject SUB | --family ID\n"
                                 "       mcp-auth-proxy doctor URL [--json]\n";

static void
print_version(void)
{
    printf("mcp-auth-proxy %s (commit %s, built %s)\n", MAP_VERSION, MAP_COMMIT, MAP_BUILD_TIME);
}

static void
print_help(void)
{
    fputs(usage_line, stdout);
    fputs("\n"
          "An OAuth 2.1 authorization server and authenticated reverse proxy for one MCP\n"
          "server, configured only by environment variables (docs/configuration.md).\n"
          "\n"
          "  (no option)     load the configuration and serve\n"
          "  --check-config  validate the environment and print the effective\n"
          "                  configuration (secrets redacted); exit 0 if valid, 1 if not\n"
          "  --version       print version, commit and build time\n"
          "  --help          print this text\n"
          "  revoke --subject SUB\n"
          "                  log a user out everywhere: every token issued to SUB (the\n"
          "                  IdP's subject, as logged) until now is refused by every\n"
          "                  replica sharing REDIS_URL; later logins work\n"
          "  revoke --family ID\n"
          "                  revoke one login: the access and refresh tokens of family ID\n"
          "                  (family_id in the logs)\n"
          "                  Both need REDIS_URL and the proxy's configuration; exit 0 when\n"
          "                  written, 1 when not (docs/runbook.md, Revocation)\n"
          "  doctor URL [--json]\n"
          "                  check from this machine whether the major MCP clients can\n"
          "                  connect to URL, and what to fix (docs/doctor.md; doctor --help)\n"
          "\n"
          "Environment variables:\n",
          stdout);
    config_report_help(stdout);
}

/* getenv has the right shape already; the wrapper keeps config_load's
 * signature free of libc's attributes. */
static const char *
process_getenv(const char *name)
{
    return getenv(name);
}

/* Problems and warnings go to stderr as plain sentences (the logger is not
 * set up yet), warnings first, then the problems when there are any. */
static bool
load_config(struct config *cfg)
{
    struct buf report;
    buf_init(&report, 2 * CONFIG_REPORT_MAX);
    bool ok = config_load(process_getenv, cfg, &report, &report);
    (void)fputs(buf_cstr(&report), stderr);
    (void)fflush(stderr);
    buf_cleanup(&report);
    return ok;
}

static int
check_config(void)
{
    struct config cfg;
    if (!load_config(&cfg)) {
        return MAIN_EXIT_CONFIG;
    }
    if (cfg.policy_file != NULL) {
        /* config.c only saw that the file is there; the policy is parsed
         * above the configuration's floor. */
        struct buf err;
        buf_init(&err, 1024);
        struct policy *p = policy_load_configured(cfg.policy_file, cfg.scopes_supported, &err);
        bool ok = p != NULL;
        if (!ok) {
            (void)fprintf(stderr, "config: MCP_POLICY_FILE: %s: %s\n", cfg.policy_file,
                          buf_cstr(&err));
        }
        buf_cleanup(&err);
        policy_release(p);
        if (!ok) {
            config_cleanup(&cfg);
            return MAIN_EXIT_CONFIG;
        }
    }
    config_report_dump(&cfg, stdout);
    config_cleanup(&cfg);
    return 0;
}

static int
serve(void)
{
    struct config cfg;
    /* The runtime repeats the warnings that matter as JSON lines through
     * config_report_log_startup(). */
    if (!load_config(&cfg)) {
        return MAIN_EXIT_CONFIG;
    }
    int rc = runtime_run(&cfg);
    config_cleanup(&cfg);
    return rc;
}

static const char revoke_usage[] =
    "usage: mcp-auth-proxy revoke --subject SUB | --family ID\n"
    "  --subject SUB  refuse every token issued to SUB until now, on every replica\n"
    "  --family ID    refuse the access and refresh tokens of one login\n"
    "Reads the proxy's configuration from the environment; needs REDIS_URL.\n";

/* `revoke --subject SUB | --family ID` (wiring/revoke_cmd.h). */
static int
revoke(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[2], "--help") == 0) {
        fputs(revoke_usage, stdout);
        return 0;
    }
    bool subject = argc == 4 && strcmp(argv[2], "--subject") == 0;
    bool family = argc == 4 && strcmp(argv[2], "--family") == 0;
    if (!subject && !family) {
        fputs(revoke_usage, stderr);
        return MAIN_EXIT_USAGE;
    }
    struct config cfg;
    if (!load_config(&cfg)) {
        return MAIN_EXIT_CONFIG;
    }
    int rc = revoke_cmd_run(&cfg, subject ? REVOKE_CMD_SUBJECT : REVOKE_CMD_FAMILY, argv[3], stdout,
                            stderr);
    config_cleanup(&cfg);
    return rc;
}

int
main(int argc, char **argv)
{
    if (!xalloc_install_library_hooks()) {
        fprintf(stderr, "fatal: could not install allocator hooks into OpenSSL\n");
        return 1;
    }
    if (argc == 1) {
        return serve();
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        print_version();
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        print_help();
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--check-config") == 0) {
        return check_config();
    }
    if (strcmp(argv[1], "revoke") == 0) {
        return revoke(argc, argv);
    }
    if (strcmp(argv[1], "doctor") == 0) {
        return doctor_main(argc, argv);
    }
    fputs(usage_line, stderr);
    return MAIN_EXIT_USAGE;
}
