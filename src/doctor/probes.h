/* The doctor's requests against a live deployment (doctor/http.c), in the
 * order the clients make them: the unauthenticated initialize and its
 * challenge, protected-resource and authorization-server metadata at every
 * well-known URL, /register with each client's body, a CORS preflight
 * from a browser origin, the GET stream request. Nothing here sends a
 * credential or starts a login; /register creates a client and nothing
 * else. Each finding goes into a struct doctor_results. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "doctor/check.h"
#include "doctor/cimd_fetch.h"

struct doctor_probe_opts {
    const char *mount;                   /* the MCP URL the clients are given */
    const char *ca_file;                 /* NULL: the system store */
    const char *origin;                  /* browser origin for the CORS checks */
    uint64_t deadline_ms;                /* clock_mono_ms() bound of the whole run */
    const struct doctor_cimd_opts *cimd; /* the --server-side document fetches */
};

enum doctor_probes_rc {
    DOCTOR_PROBES_DONE = 0,
    DOCTOR_PROBES_UNREACHABLE, /* the first request got no answer at all */
};

/* Runs every check into *out. On DOCTOR_PROBES_UNREACHABLE, why (capacity
 * cap) says what happened and *out holds nothing useful. */
enum doctor_probes_rc doctor_probes_run(const struct doctor_probe_opts *o,
                                        struct doctor_results *out, char *why, size_t cap);
