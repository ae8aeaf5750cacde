/* wiring/revoke_cmd: `mcp-auth-proxy revoke --subject SUB | --family ID`,
 * the operator's revocation (issue 14, docs/runbook.md "Revocation").
 *
 * With the configuration the proxy runs with (the environment), it opens
 * the configured Redis on a private loop, as the start-up check does, and
 * runs the same revocation write a replica runs (revocation/revocation.h):
 * the entry is added to the shared revoked set and published, so every
 * running replica refuses it within a second and a replica started later
 * loads it. A family revocation also writes the refresh marker rotation
 * reads. Without REDIS_URL it refuses: the memory store lives inside the
 * running proxy, which this process cannot reach.
 *
 * Blocks for at most a few seconds; writes one sentence to out (success)
 * or err (failure). Not for use inside the server. */
#pragma once

#include <stdio.h>

struct config;

enum revoke_cmd_kind {
    REVOKE_CMD_SUBJECT = 0, /* every token of a user, issued up to now */
    REVOKE_CMD_FAMILY,      /* one login's tokens (a family id from the logs) */
};

/* 0 done; 1 refused or failed (the sentence says why). id is borrowed. */
int revoke_cmd_run(const struct config *cfg, enum revoke_cmd_kind kind, const char *id, FILE *out,
                   FILE *err);
