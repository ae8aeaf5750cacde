/* The clients the doctor speaks for and what each needs (pure): which
 * checks must pass for it to log in, which only warn, and whether it can
 * use a Client ID Metadata Document instead of /register. The verdict
 * turns a struct doctor_results into one line per client. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doctor/check.h"

enum doctor_client {
    DOCTOR_CLIENT_CLAUDEAI = 0,
    DOCTOR_CLIENT_CHATGPT,
    DOCTOR_CLIENT_CURSOR,
    DOCTOR_CLIENT_VSCODE,
    DOCTOR_CLIENT_CLAUDE_CODE,
    DOCTOR_CLIENT_GEMINI,
    DOCTOR_CLIENT_INSPECTOR,
    DOCTOR_CLIENT_COUNT,
};

struct doctor_client_def {
    const char *name;                /* as the operator knows it: "Claude.ai" */
    const char *key;                 /* for --json: "claude_ai" */
    uint64_t required;               /* bit per enum doctor_check_id: must not FAIL */
    uint64_t advisory;               /* a FAIL or WARN here is a note, not a failure */
    enum doctor_check_id dcr;        /* its own /register check */
    bool cimd;                       /* uses a metadata document when advertised */
    const char *cimd_url;            /* its document's URL (the client_id); NULL when !cimd */
    enum doctor_check_id cimd_fetch; /* its --server-side fetch check; DOCTOR_CHECK_COUNT: none */
    const char *body;                /* its /register body (JSON) */
    size_t redirect_count;           /* redirect URIs in body */
};

/* The table, indexed by enum doctor_client. */
const struct doctor_client_def *doctor_clients_get(enum doctor_client c);

/* Status strings: "PASS", "FAIL", "WARN", "SKIP"; check names for output. */
const char *doctor_clients_status_str(enum doctor_status s);
const char *doctor_clients_check_name(enum doctor_check_id id);

struct doctor_verdict {
    bool ok;
    /* Checks behind the verdict, most important first: the failing required
     * ones, then the advisory ones that did not pass. */
    enum doctor_check_id problems[DOCTOR_CHECK_COUNT];
    size_t problem_count;
    size_t failing; /* how many of problems[] are failures */
};

/* Judges client c on r. A required check counts when it is FAIL; a
 * client's /register check also passes when the client uses metadata
 * documents and the server advertises them (DOCTOR_CHECK_CIMD PASS), unless
 * its document was fetched from the server's host and failed. That fetch
 * failing is a failure of its own: an advertised flag sends the client down
 * the document route whatever /register would have said. */
void doctor_clients_verdict(enum doctor_client c, const struct doctor_results *r,
                            struct doctor_verdict *out);
