/* The router's rate-limit call site (SPEC.md 3.0.3) and the client key
 * it and the body budget share: the client IP of SPEC.md 3.0.4, from the
 * peer or a trusted forwarding header.
 *
 * One per process, built by runtime_run() before the workers start and
 * read by every worker afterwards (the table and the gate do their own
 * locking). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "http/client_ip.h"
#include "ratelimit_gate.h"

struct config;
struct http_request;
struct http_router;
struct ratelimit;
struct ratelimit_budgets;

struct rate_limit_site {
    struct ratelimit *table; /* borrowed: the app's limiter */
    struct client_ip_policy policy;
    struct ratelimit_budgets *budgets; /* owned: RATE_LIMIT_* budgets (ratelimit_budget.h) */
    struct ratelimit_gate gate;        /* /token, /authorize; all but the mount when shared */
    uint32_t gate_buckets;             /* ratelimit_gate_buckets() */
};

/* TRUSTED_PROXY_CIDRS, _HEADER and TRUST_PROXY_HEADERS as http/client_ip's
 * policy (http/ does not read the configuration); borrows c's CIDRs. */
struct client_ip_policy rate_limit_site_ip_policy(const struct config *c);

/* Fills *site from the configuration around the app's table. site must
 * not move afterwards (the gate points back at it). */
void rate_limit_site_init(struct rate_limit_site *site, const struct config *c,
                          struct ratelimit *table);

/* With RATE_LIMIT_ENABLED: the router asks the site before dispatch and
 * the gate after the body. Without: nothing is installed. */
void rate_limit_site_install(struct rate_limit_site *site, const struct config *c,
                             struct http_router *router);

void rate_limit_site_cleanup(struct rate_limit_site *site);

/* http_server_opts.client_key; arg is the site. key gets the request's
 * client IP text. */
void rate_limit_site_client_key(void *arg, struct http_request *req, char key[CLIENT_IP_KEY_SIZE]);
