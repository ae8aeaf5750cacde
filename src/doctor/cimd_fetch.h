/* The doctor's --server-side check of Client ID Metadata Documents: run
 * on the proxy's own host (or in its pod), it fetches the document of
 * every client that uses one (Claude.ai, ChatGPT, VS Code, Claude Code)
 * the way the proxy would -- the same URL rules, CIMD_ALLOWED_HOSTS,
 * the refusal of private addresses, CIMD_CA_FILE, CIMD_PINNED_DIR, no
 * redirects -- and judges each answer with the proxy's own document
 * rules (oauth/cimd_rules.h). Its findings go into the clients' fetch
 * checks (DOCTOR_CHECK_CIMD_FETCH_*). A document the vendor's CDN refuses
 * to this host's address is the common failure; the fix is in the words
 * of docs/cimd.md. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "doctor/check.h"
#include "doctor/clients.h"

struct doctor_cimd_opts {
    bool server_side;                      /* --server-side: fetch, else every check SKIP */
    const char *urls[DOCTOR_CLIENT_COUNT]; /* --cimd-url overrides; NULL: the known URL */
    /* The proxy's settings, as this host's environment gives them (the
     * doctor is meant to run where the proxy runs); NULL when unset. */
    const char *allowed_hosts; /* CIMD_ALLOWED_HOSTS, comma-separated patterns */
    const char *allow_private; /* CIMD_ALLOW_PRIVATE_ADDRESSES; "true" allows */
    const char *ca_file;       /* CIMD_CA_FILE */
    const char *pinned_dir;    /* CIMD_PINNED_DIR */
};

/* Fills the fetch check of every metadata-document client in *r.
 * advertised: the server's metadata says client_id_metadata_document_supported
 * (without it the clients never use a document: SKIP). deadline_ms bounds
 * the requests, as every doctor request is bounded. */
void doctor_cimd_fetch_run(const struct doctor_cimd_opts *o, bool advertised, uint64_t deadline_ms,
                           struct doctor_results *r);
