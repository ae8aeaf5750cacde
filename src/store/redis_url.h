/* REDIS_URL parsing (SPEC.md 1.2, 5.1). Pure: no I/O, fuzzable.
 *
 *   redis://[user[:password]@]host[:port][/db][?option=value&...]
 *   rediss://...   the same over TLS
 *
 * The scheme is redis or rediss (any case); unix:// sockets are refused
 * with a message saying so. Userinfo is percent-decoded ("p%40ss" is
 * "p@ss"); a password without a user ("redis://:secret@host") is the
 * legacy single-password AUTH, a user with or without a password is an ACL
 * AUTH. The host is a name, an IPv4 literal or a bracketed IPv6 literal;
 * the port defaults to 6379, the database to 0.
 *
 * Query options are the ones go-redis reads, so an operator's URL keeps
 * working (SPEC.md 1.2): `db` overrides the path; `dial_timeout` sets the
 * connect timeout and `read_timeout` / `write_timeout` the command timeout
 * (Go durations, or whole seconds; at most BOUNDS_REDIS_TIMEOUT_MAX_MS, and
 * never "none": a Redis call without a deadline could wedge a worker).
 * Pool and retry options (pool_size, max_retries, ...) are accepted and
 * have no effect -- there is one connection per worker and no retry.
 * `skip_verify=true` is refused (give the CA in REDIS_CA_FILE instead);
 * any other option is refused, as go-redis does. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "bounds.h"

struct store_redis_url {
    bool tls;        /* rediss:// */
    char *host;      /* bare: no IPv6 brackets */
    bool host_is_ip; /* an IP literal: no DNS, no SNI */
    unsigned port;
    char *user;     /* NULL when the URL names none */
    char *password; /* NULL when the URL has none */
    unsigned db;
    uint64_t connect_timeout_ms; /* BOUNDS_REDIS_CONNECT_TIMEOUT_MS unless set */
    uint64_t command_timeout_ms; /* BOUNDS_REDIS_COMMAND_TIMEOUT_MS unless set */
};

/* Parses text into *out (release with store_redis_url_cleanup). On failure
 * returns false, leaves *out zeroed, and appends one sentence to err naming
 * what is wrong; the sentence never repeats the password. */
bool store_redis_url_parse(const char *text, struct store_redis_url *out, struct buf *err)
    __attribute__((warn_unused_result));
/* Wipes the password and frees the strings. */
void store_redis_url_cleanup(struct store_redis_url *u);

/* "rediss://host:port/db", no credentials: safe for logs and errors.
 * -1 at the buffer's cap. */
int store_redis_url_format_redacted(const struct store_redis_url *u, struct buf *out)
    __attribute__((warn_unused_result));

/* ---- Redis Cluster (issue 14) ---------------------------------------------
 *
 *   redis+cluster://[user[:password]@]host:port[,host:port...][/0][?option=...]
 *   rediss+cluster://...   TLS to every node
 *
 * Each seed reads exactly as a REDIS_URL host (names, IPv4, [IPv6],
 * default port 6379) with the same userinfo and options; a seed is only
 * where the slot map is first asked for, so a few are enough. redis:// and
 * rediss:// are read too, as one seed (REDIS_CLUSTER=true with an ordinary
 * REDIS_URL). A database other than 0 is refused: Redis Cluster has only
 * database 0. */
struct store_redis_cluster_seed {
    char *host; /* bare: no IPv6 brackets */
    bool host_is_ip;
    unsigned port;
};

struct store_redis_cluster_url {
    struct store_redis_url base; /* TLS, user, password, timeouts, db 0; host = seeds[0]'s */
    size_t seed_count;           /* >= 1 after a successful parse */
    struct store_redis_cluster_seed seeds[BOUNDS_REDIS_CLUSTER_SEEDS_MAX];
};

/* text starts with redis+cluster:// or rediss+cluster:// (any case). */
bool store_redis_url_is_cluster(const char *text);
/* As store_redis_url_parse, for the cluster form. */
bool store_redis_url_parse_cluster(const char *text, struct store_redis_cluster_url *out,
                                   struct buf *err) __attribute__((warn_unused_result));
void store_redis_url_cleanup_cluster(struct store_redis_cluster_url *u);
