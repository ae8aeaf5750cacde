/* The configuration's reports, driven by the table in config.c: the
 * effective values for --check-config (secrets redacted), --help, and the
 * start-up log lines of SPEC.md 1.7. They read a loaded struct config;
 * they never load or judge one (config.c does, once). */
#pragma once

#include <stdio.h>

struct config;

/* The effective configuration, secrets redacted, one VAR=value per line,
 * then a "# derived: ..." line when the URLs loaded. */
void config_report_dump(const struct config *c, FILE *out);
/* Every variable with its default and one line of why (--help). */
void config_report_help(FILE *out);

/* The SPEC.md 1.7 start-up lines that depend only on the configuration:
 * csp_form_action_extra_deprecated, startup_config, token_signing_secret_weak,
 * token_signing_rotation_in_progress, revoke_before_in_future,
 * trust_proxy_headers_superseded_by_cidrs and trust_proxy_headers_deprecated.
 * Call once, after log_set_level(). */
void config_report_log_startup(const struct config *c);
