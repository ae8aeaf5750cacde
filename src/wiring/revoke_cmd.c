/* `mcp-auth-proxy revoke` (revoke_cmd.h): one revocation against the
 * configured Redis, on a private loop, then exit. */
#include "wiring/revoke_cmd.h"

#include <event2/event.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "bounds.h"
#include "config.h"
#include "net/resolve.h"
#include "net/sockopt.h"
#include "revocation/revocation.h"
#include "store/redis.h"
#include "store/redis_cluster.h"
#include "store/redis_url.h"
#include "store/store.h"

struct outcome {
    bool done;
    enum store_rc rc;
    char error[STORE_ERROR_MAX];
};

static void
on_written(enum store_rc rc, const char *error, void *arg)
{
    struct outcome *o = arg;
    o->done = true;
    o->rc = rc;
    (void)snprintf(o->error, sizeof(o->error), "%s", error != NULL ? error : store_rc_str(rc));
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

/* Runs base until *stop or the deadline; false at the deadline. */
static bool
run_until(struct event_base *base, const bool *stop, const bool *expired)
{
    while (!*stop && !*expired) {
        if (event_base_loop(base, EVLOOP_ONCE) != 0) {
            return false;
        }
    }
    return *stop;
}

/* The connection is up (the check passed) but a fresh store connects on
 * its own: wait for it, then write. */
/* The back end's redacted address, whichever kind b is. */
static const char *
describe(const struct store_backend *b)
{
    struct store_redis_cluster_access ca;
    return store_redis_cluster_backend_access(b, &ca) ? ca.where : store_redis_backend_describe(b);
}

static int
write_revocation(struct store_backend *b, enum revoke_cmd_kind kind, const char *id, int64_t at_ms,
                 struct outcome *o, struct buf *why)
{
    struct event_base *base = event_base_new();
    if (base == NULL) {
        buf_appendf_best(why, "cannot create an event loop");
        return -1;
    }
    bool expired = false;
    struct event *deadline = event_new(base, -1, 0, on_deadline, &expired);
    struct store *s = store_new(b, base);
    struct timeval tv = clock_timeval_from_ms(BOUNDS_REVOKE_CMD_MS);
    int rc = -1;
    if (deadline == NULL || event_add(deadline, &tv) != 0) {
        buf_appendf_best(why, "cannot arm the deadline");
        goto out;
    }
    bool connected = false;
    while (!connected && !expired) {
        connected = store_is_connected(s);
        if (!connected && event_base_loop(base, EVLOOP_ONCE) != 0) {
            break;
        }
    }
    if (!connected) {
        buf_appendf_best(why, "could not connect to %s within %d ms", describe(b),
                         BOUNDS_REVOKE_CMD_MS);
        goto out;
    }
    struct slice v = slice_from_cstr(id);
    struct store_op *op = kind == REVOKE_CMD_SUBJECT
                              ? revocation_revoke_subject_on(s, v, at_ms, on_written, o)
                              : revocation_revoke_family_on(s, v, on_written, o);
    if (!run_until(base, &o->done, &expired)) {
        store_cancel(op);
        buf_appendf_best(why, "no answer from %s within %d ms", describe(b), BOUNDS_REVOKE_CMD_MS);
        goto out;
    }
    if (o->rc != STORE_OK) {
        buf_appendf_best(why, "the revocation was not written: %s", o->error);
        goto out;
    }
    if (kind == REVOKE_CMD_FAMILY) {
        /* The marker refresh rotation reads (as POST /revoke writes it). */
        struct buf key;
        buf_init(&key, BOUNDS_STORE_KEY_MAX);
        if (store_key_refresh_family_revoked(v, &key) != 0) {
            buf_cleanup(&key);
            buf_appendf_best(why, "the family id does not fit a store key");
            goto out;
        }
        *o = (struct outcome){0};
        op = store_mark(s, buf_slice(&key), STORE_FAMILY_REVOKED_TTL_MS, on_written, o);
        buf_cleanup(&key);
        if (!run_until(base, &o->done, &expired) || o->rc != STORE_OK) {
            store_cancel(o->done ? NULL : op);
            buf_appendf_best(why, "the refresh-family marker was not written: %s",
                             o->done ? o->error : "no answer in time");
            goto out;
        }
    }
    rc = 0;
out:
    store_free(s);
    if (deadline != NULL) {
        event_free(deadline);
    }
    event_base_free(base);
    return rc;
}

int
revoke_cmd_run(const struct config *cfg, enum revoke_cmd_kind kind, const char *id, FILE *out,
               FILE *err)
{
    const char *what = kind == REVOKE_CMD_SUBJECT ? "subject" : "family";
    if (id[0] == '\0' || strlen(id) > BOUNDS_REVOCATION_ID_MAX) {
        (void)fprintf(err, "revoke: the %s must be 1 to %d bytes\n", what,
                      BOUNDS_REVOCATION_ID_MAX);
        return 1;
    }
    if (cfg->redis_url == NULL || cfg->redis_url[0] == '\0') {
        (void)fputs("revoke: REDIS_URL is not set. Without Redis the replay store lives inside "
                    "the running proxy process, which this command cannot reach, so a "
                    "revocation written here would apply to nothing; revoke through POST "
                    "/revoke, or set REVOKE_BEFORE and restart.\n",
                    err);
        return 1;
    }
    struct buf why;
    buf_init(&why, 2 * STORE_ERROR_MAX);
    /* The same back end the replicas run (docs/redis.md): Sentinel names
     * the primary (REDIS_URL's host is a placeholder; the check below finds
     * and confirms it); a Cluster's revocation goes to the primary owning
     * the set's slot. */
    const struct store_redis_sentinel_spec spec = {
        .url = cfg->redis_url,
        .sentinels = cfg->redis_sentinels,
        .master = cfg->redis_sentinel_master,
        .user = cfg->redis_sentinel_username,
        .password = cfg->redis_sentinel_password,
    };
    bool cluster = cfg->redis_sentinels == NULL &&
                   (cfg->redis_cluster || store_redis_url_is_cluster(cfg->redis_url));
    struct store_backend *b;
    if (cfg->redis_sentinels != NULL)
        b = store_redis_sentinel_backend_new(&spec, cfg->redis_key_prefix, cfg->redis_ca_file,
                                             &why);
    else if (cluster)
        b = store_redis_cluster_backend_new(cfg->redis_url, cfg->redis_key_prefix,
                                            cfg->redis_ca_file, &why);
    else
        b = store_redis_backend_new(cfg->redis_url, cfg->redis_key_prefix, cfg->redis_ca_file,
                                    &why);
    int rc = 1;
    if (b == NULL) {
        goto out;
    }
    const struct net_resolver_opts dns = {.resolv_conf = cfg->dns_resolv_conf,
                                          .hosts_file = cfg->dns_hosts_file};
    const struct net_keepalive keepalive = {
        .idle_s = (uint32_t)cfg->tcp_keepalive_idle_s,
        .interval_s = (uint32_t)cfg->tcp_keepalive_interval_s,
        .count = cfg->tcp_keepalive_count,
        .user_timeout_ms = (uint32_t)cfg->tcp_user_timeout_ms,
    };
    if (cluster) {
        store_redis_cluster_backend_set_net(b, &dns, &keepalive);
        if (store_redis_cluster_backend_check(b, BOUNDS_REDIS_STARTUP_CHECK_MS, &why) != 0) {
            goto out;
        }
    } else {
        store_redis_backend_set_net(b, &dns, &keepalive);
        if (store_redis_backend_check(b, BOUNDS_REDIS_STARTUP_CHECK_MS, &why) != 0) {
            goto out;
        }
    }
    int64_t now_ms = clock_unix_ms();
    struct outcome o = {0};
    if (write_revocation(b, kind, id, now_ms, &o, &why) != 0) {
        goto out;
    }
    if (kind == REVOKE_CMD_SUBJECT) {
        (void)fprintf(out,
                      "revoked subject %s at %lld (Unix ms): every token issued to it until now "
                      "is refused on every replica sharing %s; a new login works.\n",
                      id, (long long)now_ms, describe(b));
    } else {
        (void)fprintf(out,
                      "revoked family %s: its access and refresh tokens are refused on every "
                      "replica sharing %s.\n",
                      id, describe(b));
    }
    rc = 0;
out:
    if (rc != 0) {
        (void)fprintf(err, "revoke: %s\n", why.len > 0 ? buf_cstr(&why) : "failed");
    }
    buf_cleanup(&why);
    store_backend_free(b);
    return rc;
}
