/* Redis Sentinel discovery (see redis_sentinel.h).
 *
 * Three links per client: the query link (asks one sentinel at a time),
 * the subscribed link (+switch-master from the sentinel that last
 * answered) and the data link, which belongs to the store adapter and is
 * only steered from here. Link callbacks record what happened and wake
 * the step event; step() runs the state machine on the next loop turn, so
 * no decision is taken from inside a link's own callback chain (a drop
 * reports failed commands, then the state: acting on the first would see
 * the second as news). While this file retargets a link itself, that
 * link's callbacks are ignored (quiet). */
#include "store/redis_sentinel.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "config_check.h"
#include "log.h"
#include "metrics.h"
#include "net/resolve.h"
#include "store/redis_proto.h"
#include "store/redis_sentinel_proto.h"
#include "store/store_int.h"

#define SENTINEL_CHANNEL "+switch-master"
#define SENTINEL_COMMAND_MAX 1024

struct store_redis_sentinel_conf {
    struct config_redis_addr addrs[BOUNDS_REDIS_SENTINELS_MAX];
    size_t count;
    char *list;  /* "h:p,h:p", for sentences */
    char *where; /* "redis-sentinel://h:p,h:p/master" */
    char *master;
    char *user;                       /* NULL: none */
    char *password;                   /* NULL: none */
    struct store_redis_target target; /* the sentinels' login; host/port per sentinel */
    pthread_mutex_t mu;
    bool known;
    char primary_host[BOUNDS_REDIS_SENTINEL_HOST_MAX + 1];
    unsigned primary_port;
};

enum phase {
    PH_IDLE = 0,   /* waiting: for the retry timer, the refresh timer, a push */
    PH_ASKING,     /* a sentinel is being asked */
    PH_CONFIRMING, /* the data link goes to the candidate; ROLE next */
};

enum result {
    R_NONE = 0,
    R_ADDR,    /* a sentinel named an address / ROLE said master */
    R_UNKNOWN, /* the sentinel does not know the master name */
    R_FAILED,  /* anything else; why in the reason buffer */
};

struct store_redis_sentinel {
    struct event_base *base;
    struct store_redis_sentinel_conf *conf;
    bool check;
    store_redis_sentinel_outcome_fn outcome;
    void *arg;
    struct net_resolver *resolver; /* shared by the query and subscribed links */
    struct store_redis_link *query;
    struct store_redis_link *sub; /* NULL in check mode */
    bool sub_started;             /* sub was pointed at a sentinel (it starts idle) */
    struct store_redis_link *data;
    struct event *step_ev;
    struct event *retry_timer;
    struct event *refresh_timer;
    enum phase phase;
    bool confirmed;
    bool quiet; /* this file is retargeting a link: ignore its callbacks */
    /* ASKING */
    size_t good;  /* the sentinel that last answered: asked first */
    size_t asked; /* in this pass */
    size_t at;    /* the sentinel being asked */
    size_t unknown;
    bool query_sent;
    struct store_redis_cmd *query_cmd;
    enum result query_result;
    struct config_redis_addr candidate;
    size_t named_by; /* the sentinel that named the candidate */
    /* CONFIRMING */
    bool data_up;
    bool data_down;
    bool role_sent;
    struct store_redis_cmd *role_cmd;
    enum result role_result;
    char role_text[32];
    /* +switch-master */
    bool switch_pending;
    struct config_redis_addr switch_to;
    uint64_t retry_ms;
    bool failure_logged;
    struct buf reason; /* the current sentinel's or the data node's failure */
    struct buf pass;   /* this pass's failures, sentinel by sentinel */
    struct buf why;    /* why there is no confirmed primary */
};

/* ---- The process-wide part -------------------------------------------------------------- */

static void
format_addr(struct buf *out, const struct config_redis_addr *a)
{
    bool v6 = a->host_is_ip && strchr(a->host, ':') != NULL;
    buf_appendf_best(out, v6 ? "[%s]:%u" : "%s:%u", a->host, a->port);
}

struct store_redis_sentinel_conf *
store_redis_sentinel_conf_new(const char *sentinels, const char *master, const char *user,
                              const char *password, const struct store_redis_target *data,
                              struct buf *err)
{
    struct store_redis_sentinel_conf *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    const char *reason =
        sentinels != NULL
            ? config_check_redis_sentinels(slice_from_cstr(sentinels), c->addrs, &c->count)
            : "is not set";
    if (reason != NULL) {
        buf_appendf_best(err, "REDIS_SENTINELS %s", reason);
        goto fail;
    }
    reason =
        master != NULL ? config_check_redis_sentinel_master(slice_from_cstr(master)) : "is not set";
    if (reason != NULL) {
        buf_appendf_best(err, "REDIS_SENTINEL_MASTER %s", reason);
        goto fail;
    }
    c->master = xstrdup(master);
    /* An empty user or password means none, as for REDIS_URL. */
    c->user = user != NULL && user[0] != '\0' ? xstrdup(user) : NULL;
    c->password = password != NULL && password[0] != '\0' ? xstrdup(password) : NULL;
    struct buf list;
    buf_init(&list, BOUNDS_REDIS_SENTINELS_MAX * (BOUNDS_REDIS_SENTINEL_HOST_MAX + 9));
    for (size_t i = 0; i < c->count; i++) {
        if (i > 0) {
            buf_appendf_best(&list, ",");
        }
        format_addr(&list, &c->addrs[i]);
    }
    c->list = xstrdup(buf_cstr(&list));
    buf_reset(&list);
    buf_appendf_best(&list, "%s://%s/%s", data->tls ? "rediss-sentinel" : "redis-sentinel", c->list,
                     c->master);
    c->where = xstrdup(buf_cstr(&list));
    buf_cleanup(&list);
    c->target = (struct store_redis_target){
        .host = c->addrs[0].host,
        .port = c->addrs[0].port,
        .tls = data->tls,
        .user = c->user,
        .password = c->password,
        .db = 0,
        .connect_timeout_ms = data->connect_timeout_ms,
        .command_timeout_ms = data->command_timeout_ms,
    };
    return c;
fail:
    store_redis_sentinel_conf_free(c);
    return NULL;
}

void
store_redis_sentinel_conf_free(struct store_redis_sentinel_conf *c)
{
    if (c == NULL) {
        return;
    }
    pthread_mutex_destroy(&c->mu);
    xfree(c->list);
    xfree(c->where);
    xfree(c->master);
    xfree(c->user);
    if (c->password != NULL) {
        explicit_bzero(c->password, strlen(c->password));
        xfree(c->password);
    }
    xfree(c);
}

bool
store_redis_sentinel_conf_primary(struct store_redis_sentinel_conf *c, char *host, size_t cap,
                                  unsigned *port)
{
    pthread_mutex_lock(&c->mu);
    bool ok = c->known && strlen(c->primary_host) < cap;
    if (ok) {
        memcpy(host, c->primary_host, strlen(c->primary_host) + 1);
        *port = c->primary_port;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

const char *
store_redis_sentinel_conf_describe(const struct store_redis_sentinel_conf *c)
{
    return c->where;
}

/* Records a confirmed primary; true when it differs from the last one any
 * worker confirmed (the first worker to see a failover counts it). */
static bool
conf_publish(struct store_redis_sentinel_conf *c, const struct config_redis_addr *a, char *old,
             size_t old_cap, unsigned *old_port)
{
    pthread_mutex_lock(&c->mu);
    bool changed =
        c->known && (strcmp(c->primary_host, a->host) != 0 || c->primary_port != a->port);
    if (changed) {
        snprintf(old, old_cap, "%s", c->primary_host);
        *old_port = c->primary_port;
    }
    c->known = true;
    memcpy(c->primary_host, a->host, sizeof(c->primary_host));
    c->primary_port = a->port;
    pthread_mutex_unlock(&c->mu);
    return changed;
}

/* ---- The state machine ------------------------------------------------------------------ */

static void
wake(struct store_redis_sentinel *s)
{
    event_active(s->step_ev, EV_TIMEOUT, 0);
}

static bool
link_at(const struct store_redis_link *l, const struct config_redis_addr *a)
{
    return strcmp(store_redis_link_host(l), a->host) == 0 && store_redis_link_port(l) == a->port;
}

/* Points l at a unless it is already up there; true when it is. */
static bool
steer(struct store_redis_sentinel *s, struct store_redis_link *l, const struct config_redis_addr *a)
{
    if (link_at(l, a) && store_redis_link_is_up(l)) {
        return true;
    }
    s->quiet = true;
    store_redis_link_retarget(l, a->host, a->port);
    s->quiet = false;
    return false;
}

static void
cancel_query(struct store_redis_sentinel *s)
{
    if (s->query_cmd != NULL) {
        store_redis_link_cancel(s->query, s->query_cmd);
        s->query_cmd = NULL;
    }
}

static void
cancel_role(struct store_redis_sentinel *s)
{
    if (s->role_cmd != NULL) {
        store_redis_link_cancel(s->data, s->role_cmd);
        s->role_cmd = NULL;
    }
}

static void
set_why(struct store_redis_sentinel *s, const char *text)
{
    if (text == s->why.ptr) {
        return;
    }
    buf_reset(&s->why);
    buf_appendf_best(&s->why, "%s", text);
}

static void
unconfirm(struct store_redis_sentinel *s, const char *why)
{
    s->confirmed = false;
    set_why(s, why);
}

/* Asks sentinel s->at (the query link connects first when needed). */
static void
ask(struct store_redis_sentinel *s)
{
    s->query_sent = false;
    s->query_result = R_NONE;
    buf_reset(&s->reason);
    cancel_query(s);
    if (steer(s, s->query, &s->conf->addrs[s->at])) {
        wake(s); /* up already: send from step */
    }
}

static void
pass_start(struct store_redis_sentinel *s)
{
    event_del(s->retry_timer);
    s->phase = PH_ASKING;
    s->asked = 0;
    s->unknown = 0;
    s->at = s->good;
    buf_reset(&s->pass);
    ask(s);
}

/* After a failed pass: the check reports it; a worker retries later. */
static void
pass_failed(struct store_redis_sentinel *s, const char *sentence)
{
    s->phase = PH_IDLE;
    cancel_query(s);
    cancel_role(s);
    if (!s->confirmed) {
        set_why(s, sentence);
    }
    if (s->check) {
        if (s->outcome != NULL) {
            s->outcome(s->arg, false, sentence);
        }
        return;
    }
    metrics_inc(METRICS_REDIS_SENTINEL_NO_PRIMARY);
    if (!s->failure_logged) {
        /* Once per outage and worker: the retries would flood the log. */
        s->failure_logged = true;
        struct log_line l;
        log_begin(&l, LOG_WARN, "redis_sentinel_discovery_failed");
        log_str(&l, "error", sentence);
        log_end(&l);
    }
    struct timeval tv = clock_timeval_from_ms(s->retry_ms);
    s->retry_ms = s->retry_ms * 2 > BOUNDS_REDIS_BACKOFF_MAX_MS ? BOUNDS_REDIS_BACKOFF_MAX_MS
                                                                : s->retry_ms * 2;
    event_add(s->retry_timer, &tv);
}

/* The sentinel being asked gave no address: the next one, or the pass
 * ends with a sentence naming what each one said. */
static void
ask_next(struct store_redis_sentinel *s)
{
    struct buf entry;
    buf_init(&entry, STORE_ERROR_MAX - 1);
    if (s->query_result == R_UNKNOWN) {
        s->unknown++;
    } else {
        format_addr(&entry, &s->conf->addrs[s->at]);
        buf_appendf_best(&entry, ": %s", buf_cstr(&s->reason));
        if (strstr(buf_cstr(&s->reason), "authentication") != NULL) {
            buf_appendf_best(&entry, " (REDIS_SENTINEL_USERNAME / REDIS_SENTINEL_PASSWORD)");
        }
        buf_appendf_best(&s->pass, "%s%s", s->pass.len > 0 ? "; " : "", buf_cstr(&entry));
    }
    buf_cleanup(&entry);
    s->asked++;
    if (s->asked < s->conf->count) {
        s->at = (s->at + 1) % s->conf->count;
        ask(s);
        return;
    }
    struct buf sentence;
    buf_init(&sentence, 2 * STORE_ERROR_MAX);
    if (s->unknown == s->conf->count) {
        buf_appendf_best(&sentence, "no sentinel of %s knows master '%s'", s->conf->list,
                         s->conf->master);
    } else {
        buf_appendf_best(&sentence, "no sentinel of %s named the primary of master '%s'",
                         s->conf->list, s->conf->master);
        if (s->unknown > 0) {
            buf_appendf_best(&sentence, " (%zu do not know the name)", s->unknown);
        }
        buf_appendf_best(&sentence, ": %s", buf_cstr(&s->pass));
    }
    pass_failed(s, buf_cstr(&sentence));
    buf_cleanup(&sentence);
}

/* Points the data link at the candidate; ROLE follows once it is up. */
static void
confirm_start(struct store_redis_sentinel *s)
{
    cancel_query(s);
    cancel_role(s);
    s->phase = PH_CONFIRMING;
    s->data_down = false;
    s->data_up = false;
    s->role_sent = false;
    s->role_result = R_NONE;
    buf_reset(&s->reason);
    if (s->sub != NULL && (!s->sub_started || !link_at(s->sub, &s->conf->addrs[s->named_by]))) {
        s->sub_started = true;
        /* Follow the sentinel that answered: the one we listened to may be
         * the one that is gone. */
        s->quiet = true;
        store_redis_link_retarget(s->sub, s->conf->addrs[s->named_by].host,
                                  s->conf->addrs[s->named_by].port);
        s->quiet = false;
    }
    if (steer(s, s->data, &s->candidate)) {
        s->data_up = true;
        wake(s);
    }
}

static void
confirm_failed(struct store_redis_sentinel *s, const char *what)
{
    struct buf sentence;
    buf_init(&sentence, 2 * STORE_ERROR_MAX);
    buf_appendf_best(&sentence, "sentinel ");
    format_addr(&sentence, &s->conf->addrs[s->named_by]);
    buf_appendf_best(&sentence, " says ");
    format_addr(&sentence, &s->candidate);
    buf_appendf_best(&sentence, " is the primary of '%s' but ", s->conf->master);
    format_addr(&sentence, &s->candidate);
    buf_appendf_best(&sentence, " %s", what);
    s->confirmed = false;
    pass_failed(s, buf_cstr(&sentence));
    buf_cleanup(&sentence);
}

static void
confirmed(struct store_redis_sentinel *s)
{
    s->phase = PH_IDLE;
    s->confirmed = true;
    s->retry_ms = BOUNDS_REDIS_SENTINEL_RETRY_MIN_MS;
    s->failure_logged = false;
    buf_reset(&s->why);
    char old[BOUNDS_REDIS_SENTINEL_HOST_MAX + 1];
    unsigned old_port = 0;
    if (conf_publish(s->conf, &s->candidate, old, sizeof(old), &old_port) && !s->check) {
        metrics_inc(METRICS_REDIS_SENTINEL_FAILOVERS);
        struct log_line l;
        log_begin(&l, LOG_INFO, "redis_sentinel_primary_changed");
        log_str(&l, "master", s->conf->master);
        log_str(&l, "from_host", old);
        log_uint(&l, "from_port", old_port);
        log_str(&l, "to_host", s->candidate.host);
        log_uint(&l, "to_port", s->candidate.port);
        log_end(&l);
    }
    if (s->check && s->outcome != NULL) {
        s->outcome(s->arg, true, NULL);
    }
}

static void on_query_reply(void *arg, struct store_redis_reply *const *replies, size_t count,
                           const char *error);
static void on_role_reply(void *arg, struct store_redis_reply *const *replies, size_t count,
                          const char *error);

static void
send_query(struct store_redis_sentinel *s)
{
    struct buf cmd;
    buf_init(&cmd, SENTINEL_COMMAND_MAX);
    const struct slice argv[] = {
        slice_from_cstr("SENTINEL"),
        slice_from_cstr("GET-MASTER-ADDR-BY-NAME"),
        slice_from_cstr(s->conf->master),
    };
    s->query_sent = true;
    if (store_redis_proto_command(&cmd, 3, argv) != 0) {
        buf_appendf_best(&s->reason, "command too large");
        s->query_result = R_FAILED;
    } else {
        s->query_cmd = store_redis_link_send(s->query, &cmd, 1, 0, on_query_reply, s, &s->reason);
        if (s->query_cmd == NULL) {
            s->query_result = R_FAILED;
        }
    }
    buf_cleanup(&cmd);
}

static void
send_role(struct store_redis_sentinel *s)
{
    struct buf cmd;
    buf_init(&cmd, SENTINEL_COMMAND_MAX);
    const struct slice argv[] = {slice_from_cstr("ROLE")};
    s->role_sent = true;
    if (store_redis_proto_command(&cmd, 1, argv) != 0) {
        buf_appendf_best(&s->reason, "command too large");
        s->role_result = R_FAILED;
    } else {
        s->role_cmd = store_redis_link_send(s->data, &cmd, 1, 0, on_role_reply, s, &s->reason);
        if (s->role_cmd == NULL) {
            s->role_result = R_FAILED;
        }
    }
    buf_cleanup(&cmd);
}

static void
step_asking(struct store_redis_sentinel *s)
{
    if (s->query_result == R_NONE && !s->query_sent && store_redis_link_is_up(s->query) &&
        link_at(s->query, &s->conf->addrs[s->at])) {
        send_query(s);
    }
    if (s->query_result == R_ADDR) {
        s->good = s->at;
        s->named_by = s->at;
        if (s->confirmed && link_at(s->data, &s->candidate) && store_redis_link_is_up(s->data)) {
            s->phase = PH_IDLE; /* nothing moved */
            return;
        }
        if (s->confirmed) {
            unconfirm(s, "the sentinels name another primary");
        }
        confirm_start(s);
    } else if (s->query_result != R_NONE) {
        ask_next(s);
    }
}

static void
step_confirming(struct store_redis_sentinel *s)
{
    if (s->role_result == R_NONE && !s->role_sent && s->data_up) {
        send_role(s);
    }
    if (s->role_result == R_ADDR) {
        confirmed(s);
        return;
    }
    if (s->role_result != R_NONE || (s->data_down && s->role_cmd == NULL && !s->data_up)) {
        struct buf what;
        buf_init(&what, STORE_ERROR_MAX - 1);
        if (s->role_result == R_UNKNOWN) {
            buf_appendf_best(&what, "answers ROLE %s", s->role_text);
        } else {
            buf_appendf_best(&what, "could not be confirmed: %s", buf_cstr(&s->reason));
        }
        confirm_failed(s, buf_cstr(&what));
        buf_cleanup(&what);
    }
}

static void
on_step(evutil_socket_t fd, short what, void *arg)
{
    struct store_redis_sentinel *s = arg;
    (void)fd;
    (void)what;
    if (s->switch_pending) {
        /* A sentinel announced the new primary: confirm it now rather
         * than ask around (a pass in progress is abandoned). */
        s->switch_pending = false;
        if (!(s->confirmed && link_at(s->data, &s->switch_to))) {
            s->candidate = s->switch_to;
            s->named_by = s->good;
            unconfirm(s, "following +switch-master");
            confirm_start(s);
            return;
        }
    }
    switch (s->phase) {
    case PH_ASKING:
        step_asking(s);
        break;
    case PH_CONFIRMING:
        step_confirming(s);
        break;
    case PH_IDLE:
        if (!s->confirmed && !evtimer_pending(s->retry_timer, NULL)) {
            pass_start(s);
        }
        break;
    }
}

/* ---- Link callbacks: record, then wake step -------------------------------------------- */

static void
on_query_reply(void *arg, struct store_redis_reply *const *replies, size_t count, const char *error)
{
    struct store_redis_sentinel *s = arg;
    s->query_cmd = NULL;
    if (s->phase != PH_ASKING || s->query_result != R_NONE) {
        return;
    }
    buf_reset(&s->reason);
    if (replies == NULL || count == 0) {
        buf_appendf_best(&s->reason, "%s", error != NULL ? error : "no reply");
        s->query_result = R_FAILED;
    } else {
        switch (store_redis_sentinel_proto_master_addr(replies[0], &s->candidate)) {
        case STORE_REDIS_SENTINEL_ADDR:
            s->query_result = R_ADDR;
            break;
        case STORE_REDIS_SENTINEL_UNKNOWN:
            s->query_result = R_UNKNOWN;
            break;
        default: {
            char text[STORE_ERROR_MAX / 2];
            store_redis_proto_describe(replies[0], text, sizeof(text));
            buf_appendf_best(&s->reason, "%s answered %s", store_redis_link_where(s->query), text);
            s->query_result = R_FAILED;
        }
        }
    }
    wake(s);
}

static void
on_query_state(void *arg, bool up, const char *reason)
{
    struct store_redis_sentinel *s = arg;
    if (s->quiet || s->phase != PH_ASKING) {
        return;
    }
    if (!up && s->query_result == R_NONE) {
        buf_reset(&s->reason);
        buf_appendf_best(&s->reason, "%s", reason != NULL ? reason : "connection lost");
        s->query_result = R_FAILED;
    }
    wake(s);
}

static void
on_role_reply(void *arg, struct store_redis_reply *const *replies, size_t count, const char *error)
{
    struct store_redis_sentinel *s = arg;
    s->role_cmd = NULL;
    if (s->phase != PH_CONFIRMING || s->role_result != R_NONE) {
        return;
    }
    if (replies == NULL || count == 0) {
        buf_reset(&s->reason);
        buf_appendf_best(&s->reason, "%s", error != NULL ? error : "no reply");
        s->role_result = R_FAILED;
    } else {
        enum store_redis_sentinel_role role = store_redis_sentinel_proto_role(replies[0]);
        if (role == STORE_REDIS_SENTINEL_ROLE_MASTER) {
            s->role_result = R_ADDR;
        } else {
            s->role_result = R_UNKNOWN;
            snprintf(s->role_text, sizeof(s->role_text), "%s",
                     role == STORE_REDIS_SENTINEL_ROLE_REPLICA ? "slave" : "other than master");
        }
    }
    wake(s);
}

void
store_redis_sentinel_data_state(void *arg, bool up, const char *reason)
{
    struct store_redis_sentinel *s = arg;
    if (s->quiet) {
        return;
    }
    if (!up) {
        /* Synchronously: no operation may go out before step ran. */
        if (s->confirmed) {
            unconfirm(s, reason != NULL ? reason : "connection lost");
            /* A pass now (step), not after the retry wait. */
            event_del(s->retry_timer);
            s->retry_ms = BOUNDS_REDIS_SENTINEL_RETRY_MIN_MS;
            wake(s);
            return;
        }
        if (s->phase == PH_CONFIRMING && s->role_result == R_NONE) {
            if (s->role_cmd == NULL) {
                buf_reset(&s->reason);
                buf_appendf_best(&s->reason, "%s", reason != NULL ? reason : "connection lost");
            }
            s->data_down = true;
            s->data_up = false;
            wake(s);
        }
        return;
    }
    if (s->phase == PH_CONFIRMING && link_at(s->data, &s->candidate)) {
        s->data_up = true;
        wake(s);
    }
}

static void
on_push(void *arg, const struct store_redis_reply *msg)
{
    struct store_redis_sentinel *s = arg;
    /* RESP2 pub/sub: ["message", channel, payload]. */
    if (msg->type != STORE_REDIS_ARRAY || msg->count != 3 || msg->elems[2] == NULL ||
        msg->elems[2]->type != STORE_REDIS_STRING) {
        return;
    }
    struct config_redis_addr to;
    enum store_redis_sentinel_switch sw = store_redis_sentinel_proto_switch_master(
        slice_make(msg->elems[2]->str, msg->elems[2]->len), slice_from_cstr(s->conf->master), &to);
    if (sw != STORE_REDIS_SENTINEL_SWITCH_OURS) {
        return;
    }
    s->switch_to = to;
    s->switch_pending = true;
    wake(s);
}

static void
on_sub_state(void *arg, bool up, const char *reason)
{
    struct store_redis_sentinel *s = arg;
    (void)reason;
    if (s->quiet || !up) {
        return;
    }
    /* Messages sent while we were not subscribed are lost: ask again. */
    if (s->phase == PH_IDLE) {
        pass_start(s);
    }
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct store_redis_sentinel *s = arg;
    if (s->phase == PH_IDLE) {
        pass_start(s);
    }
}

/* ---- The interface ---------------------------------------------------------------------- */

struct store_redis_sentinel *
store_redis_sentinel_new(struct event_base *base, const struct store_redis_sentinel_opts *o)
{
    struct store_redis_sentinel *s = xcalloc(1, sizeof(*s));
    s->base = base;
    s->conf = o->conf;
    s->check = o->check;
    s->outcome = o->outcome;
    s->arg = o->arg;
    s->retry_ms = BOUNDS_REDIS_SENTINEL_RETRY_MIN_MS;
    buf_init(&s->reason, STORE_ERROR_MAX - 1);
    buf_init(&s->pass, STORE_ERROR_MAX);
    buf_init(&s->why, 2 * STORE_ERROR_MAX);
    buf_appendf_best(&s->why, "looking for the primary of '%s' through the sentinels",
                     s->conf->master);
    s->resolver = net_resolver_new(base, o->dns);
    struct store_redis_link_opts lo = {
        .target = &s->conf->target,
        .ssl_ctx = o->ssl_ctx,
        .resolver = s->resolver,
        .keepalive = o->keepalive,
        .idle = true,
        .auth_name = "REDIS_SENTINEL_PASSWORD",
        .on_state = on_query_state,
        .arg = s,
    };
    s->query = store_redis_link_new(base, &lo);
    if (!s->check) {
        lo.on_state = on_sub_state;
        s->sub = store_redis_link_new(base, &lo);
        store_redis_link_subscribe(s->sub, SENTINEL_CHANNEL, on_push, s);
    }
    s->step_ev = store_must(event_new(base, -1, 0, on_step, s), "event_new");
    s->retry_timer = store_must(event_new(base, -1, 0, on_retry, s), "event_new");
    return s;
}

static void
on_refresh(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct store_redis_sentinel *s = arg;
    if (s->phase == PH_IDLE) {
        pass_start(s);
    }
}

void
store_redis_sentinel_attach(struct store_redis_sentinel *s, struct store_redis_link *data)
{
    s->data = data;
    if (!s->check) {
        s->refresh_timer =
            store_must(event_new(s->base, -1, EV_PERSIST, on_refresh, s), "event_new");
        struct timeval tv = clock_timeval_from_ms(BOUNDS_REDIS_SENTINEL_REFRESH_MS);
        event_add(s->refresh_timer, &tv);
    }
    wake(s); /* PH_IDLE, unconfirmed: the first pass */
}

bool
store_redis_sentinel_confirmed(const struct store_redis_sentinel *s)
{
    return s->confirmed;
}

const char *
store_redis_sentinel_why(const struct store_redis_sentinel *s)
{
    return s->confirmed ? "" : buf_cstr(&s->why);
}

void
store_redis_sentinel_free(struct store_redis_sentinel *s)
{
    if (s == NULL) {
        return;
    }
    /* The links forget their commands without calling back. */
    store_redis_link_free(s->query);
    store_redis_link_free(s->sub);
    net_resolver_free(s->resolver);
    if (s->data != NULL) {
        cancel_role(s);
    }
    event_free(s->step_ev);
    event_free(s->retry_timer);
    if (s->refresh_timer != NULL) {
        event_free(s->refresh_timer);
    }
    buf_cleanup(&s->reason);
    buf_cleanup(&s->pass);
    buf_cleanup(&s->why);
    xfree(s);
}
