/* The doctor's findings (doctor/): one result per check, filled by
 * doctor/probes.c and doctor/cimd_fetch.c, judged per client by
 * doctor/clients.c and printed by doctor/report.c. Plain data and its one
 * setter: no I/O here. */
#pragma once
#include <stdint.h>

enum doctor_check_id {
    DOCTOR_CHECK_TLS = 0,      /* https: chain and names */
    DOCTOR_CHECK_CHALLENGE,    /* POST initialize, no token -> 401 + Bearer challenge */
    DOCTOR_CHECK_CHALLENGE_RM, /* the challenge names resource_metadata */
    DOCTOR_CHECK_DISCOVERY,    /* the protected-resource metadata clients would use */
    DOCTOR_CHECK_PRM_HEADER,   /* ... at the challenge's resource_metadata URL */
    DOCTOR_CHECK_PRM_PATH,     /* ... at the path-inserted well-known URL (RFC 9728 3.1) */
    DOCTOR_CHECK_PRM_ROOT,     /* ... at the root well-known URL */
    DOCTOR_CHECK_AS_METADATA,  /* AS metadata found, issuer exactly equal */
    DOCTOR_CHECK_AS_PKCE,      /* S256 in code_challenge_methods_supported */
    DOCTOR_CHECK_AS_NONE,      /* none in token_endpoint_auth_methods_supported */
    DOCTOR_CHECK_AS_ISS,       /* authorization_response_iss_parameter_supported */
    DOCTOR_CHECK_REGISTRATION, /* registration_endpoint advertised */
    DOCTOR_CHECK_CIMD,         /* client_id_metadata_document_supported */
    DOCTOR_CHECK_DCR_CLAUDEAI, /* /register with each client's own body */
    DOCTOR_CHECK_DCR_CHATGPT,
    DOCTOR_CHECK_DCR_CURSOR,
    DOCTOR_CHECK_DCR_VSCODE,
    DOCTOR_CHECK_DCR_CLAUDE_CODE,
    DOCTOR_CHECK_DCR_GEMINI,
    DOCTOR_CHECK_DCR_INSPECTOR,
    /* --server-side: each metadata-document client's document fetched from
     * this host and judged by the proxy's own rules (doctor/cimd_fetch.c) */
    DOCTOR_CHECK_CIMD_FETCH_CLAUDEAI,
    DOCTOR_CHECK_CIMD_FETCH_CHATGPT,
    DOCTOR_CHECK_CIMD_FETCH_VSCODE,
    DOCTOR_CHECK_CIMD_FETCH_CLAUDE_CODE,
    DOCTOR_CHECK_CORS_PREFLIGHT, /* OPTIONS on the mount from a browser origin */
    DOCTOR_CHECK_CORS_EXPOSE,    /* the 401 to that origin exposes the challenge */
    DOCTOR_CHECK_SSE,            /* GET Accept: text/event-stream, no token -> prompt 401 */
    DOCTOR_CHECK_SSE_BUFFERING,  /* signs that the ingress buffers event streams */
    DOCTOR_CHECK_COUNT,
};

enum doctor_status {
    DOCTOR_SKIP = 0, /* not run: not applicable, or an earlier step failed */
    DOCTOR_PASS,
    DOCTOR_WARN, /* works for the clients that need it, with a caveat */
    DOCTOR_FAIL,
    DOCTOR_STATUS_COUNT,
};

#define DOCTOR_TEXT_MAX 512

struct doctor_check {
    enum doctor_status status;
    char detail[DOCTOR_TEXT_MAX]; /* what was seen, for the operator */
    char advice[DOCTOR_TEXT_MAX]; /* the fix in operator words; "" when none */
};

struct doctor_results {
    struct doctor_check checks[DOCTOR_CHECK_COUNT];
};

/* Sets check id of r: its status, the fix (NULL: none) and the detail
 * from fmt. Texts longer than DOCTOR_TEXT_MAX are cut: they are report
 * lines. */
void doctor_check_set(struct doctor_results *r, enum doctor_check_id id, enum doctor_status st,
                      const char *advice, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
