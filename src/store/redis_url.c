/* REDIS_URL parsing (see redis_url.h).
 *
 * Hand-written with base/scan rather than through base/url: the Redis URL
 * is its own small grammar whose userinfo carries the password, which the
 * web-URL wrapper deliberately does not hand out, and whose query options
 * follow go-redis, not RFC 3986 form rules. Example:
 *
 *   rediss://proxy:s%40cret@redis.internal:6380/2?dial_timeout=3s
 */
#include "store/redis_url.h"

#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/hex.h"
#include "base/ipaddr.h"
#include "base/scan.h"
#include "base/slice.h"
#include "base/xalloc.h"
#include "bounds.h"

#define REDIS_DEFAULT_PORT 6379
#define REDIS_DB_MAX 2147483647u

/* Percent-decodes s into a new string. Refuses a bad escape, a decoded NUL
 * (it cannot travel in our C strings) and raw control bytes or spaces. */
static bool
decode(struct slice s, char **out)
{
    char *d = xmalloc(s.len + 1);
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c <= 0x20 || c == 0x7f) {
            xfree(d);
            return false;
        }
        if (c == '%') {
            int hi = i + 2 < s.len ? hex_value((unsigned char)s.ptr[i + 1]) : -1;
            int lo = i + 2 < s.len ? hex_value((unsigned char)s.ptr[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                xfree(d);
                return false;
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        d[n++] = (char)c;
    }
    d[n] = '\0';
    *out = d;
    return true;
}

static bool
is_host_char(unsigned char c)
{
    return scan_is_alpha(c) || scan_is_digit(c) || c == '-' || c == '.' || c == '_';
}

/* "host", "host:port", "[v6]", "[v6]:port". */
static bool
parse_hostport(struct slice hp, struct store_redis_url *u, struct buf *err)
{
    struct scan s = scan_init(hp);
    struct slice host;
    if (scan_byte(&s, '[')) {
        if (!scan_until(&s, ']', &host)) {
            buf_appendf_best(err, "REDIS_URL has an unclosed '[' in the host");
            return false;
        }
        struct ipaddr a;
        if (!ipaddr_parse(host, &a) || a.family != AF_INET6) {
            buf_appendf_best(err, "REDIS_URL host in brackets is not an IPv6 address");
            return false;
        }
        (void)scan_byte(&s, ']');
        u->host_is_ip = true;
    } else {
        host = scan_while(&s, is_host_char);
        if (host.len == 0) {
            buf_appendf_best(err, "REDIS_URL has no host (write redis://host:port)");
            return false;
        }
        struct ipaddr a;
        u->host_is_ip = ipaddr_parse(host, &a);
    }
    u->port = REDIS_DEFAULT_PORT;
    if (scan_byte(&s, ':')) {
        uint64_t port;
        if (!scan_u64(&s, 65535, &port) || port == 0) {
            buf_appendf_best(err, "REDIS_URL port must be a number from 1 to 65535");
            return false;
        }
        u->port = (unsigned)port;
    }
    if (!scan_eof(&s)) {
        buf_appendf_best(err, "REDIS_URL host contains a character that is not allowed");
        return false;
    }
    u->host = xstrndup(host.ptr, host.len);
    return true;
}

static bool
parse_userinfo(struct slice ui, struct store_redis_url *u, struct buf *err)
{
    long colon = slice_find_byte(ui, ':');
    struct slice user = colon < 0 ? ui : slice_make(ui.ptr, (size_t)colon);
    char *user_s = NULL;
    if (!decode(user, &user_s)) {
        buf_appendf_best(err, "REDIS_URL user name has a bad %%-escape or a control byte");
        return false;
    }
    if (colon >= 0) {
        char *pass = NULL;
        if (!decode(slice_skip(ui, (size_t)colon + 1), &pass)) {
            xfree(user_s);
            buf_appendf_best(err, "REDIS_URL password has a bad %%-escape or a control byte "
                                  "(percent-encode reserved characters)");
            return false;
        }
        u->password = pass;
    }
    if (user_s[0] != '\0') {
        u->user = user_s;
    } else {
        xfree(user_s);
    }
    return true;
}

static bool
parse_db(struct slice text, unsigned *out)
{
    struct scan s = scan_init(text);
    uint64_t v;
    if (!scan_u64(&s, REDIS_DB_MAX, &v) || !scan_eof(&s)) {
        return false;
    }
    *out = (unsigned)v;
    return true;
}

/* One component of a Go duration: "<digits>[.<digits>]<unit>". Adds its
 * value in nanoseconds to *ns; false on a syntax error. Whole parts are
 * capped at 10^9 and fractions at nine digits, so the sum of a handful of
 * components cannot overflow 128 bits. */
static bool
duration_component(struct scan *s, unsigned __int128 *ns)
{
    /* "ms" before "m" and "s" so the longer name wins. */
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},       {"us", 1000},         {"\xc2\xb5s", 1000},   {"\xce\xbcs", 1000},
        {"ms", 1000000}, {"s", 1000000000ULL}, {"m", 60000000000ULL}, {"h", 3600000000000ULL},
    };
    uint64_t whole = 0, frac = 0, scale = 1;
    bool digits = false;
    if (scan_is_digit((unsigned char)scan_peek(s))) {
        if (!scan_u64(s, 1000000000ULL, &whole)) {
            return false;
        }
        digits = true;
    }
    if (scan_byte(s, '.')) {
        while (scan_is_digit((unsigned char)scan_peek(s))) {
            if (scale < 1000000000ULL) {
                frac = frac * 10 + (uint64_t)(*s->p - '0');
                scale *= 10;
            }
            s->p++;
            digits = true;
        }
    }
    if (!digits) {
        return false;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (scan_lit(s, units[i].name)) {
            *ns += (unsigned __int128)whole * units[i].ns +
                   (unsigned __int128)frac * units[i].ns / scale;
            return true;
        }
    }
    return false;
}

/* A go-redis duration option: whole seconds ("5"), or a Go duration
 * ("500ms", "1.5s", "1m30s"). go-redis reads zero or a negative value as
 * "no timeout"; we refuse that, and anything past the cap. */
static bool
parse_timeout(const char *name, struct slice v, uint64_t *out_ms, struct buf *err)
{
    struct scan s = scan_init(v);
    unsigned __int128 ns = 0;
    uint64_t secs;
    if (v.len == 0) {
        return true; /* go-redis: an empty value keeps the default */
    }
    bool negative = scan_byte(&s, '-');
    if (!negative) {
        (void)scan_byte(&s, '+');
    }
    struct scan probe = s;
    if (scan_u64(&probe, 1000000000ULL, &secs) && scan_eof(&probe)) {
        ns = (unsigned __int128)secs * 1000000000ULL;
    } else {
        int parts = 0;
        while (!scan_eof(&s)) {
            if (parts++ == 8 || !duration_component(&s, &ns)) {
                buf_appendf_best(
                    err, "REDIS_URL option %s is not a duration (examples: 500ms, 2s, 5)", name);
                return false;
            }
        }
        if (parts == 0) {
            buf_appendf_best(err, "REDIS_URL option %s is not a duration", name);
            return false;
        }
    }
    if (negative || ns == 0) {
        buf_appendf_best(err,
                         "REDIS_URL option %s must be positive: a Redis call without a timeout "
                         "could stall the proxy",
                         name);
        return false;
    }
    unsigned __int128 ms = (ns + 999999) / 1000000;
    if (ms > BOUNDS_REDIS_TIMEOUT_MAX_MS) {
        buf_appendf_best(err, "REDIS_URL option %s is longer than the %u ms maximum", name,
                         (unsigned)BOUNDS_REDIS_TIMEOUT_MAX_MS);
        return false;
    }
    *out_ms = (uint64_t)ms;
    return true;
}

/* go-redis options that size its pool or tune its retries. We hold one
 * connection per worker and never retry, so they are accepted (an
 * operator's URL keeps working) and have no effect. */
static const char *const ignored_options[] = {
    "protocol",           "client_name",          "max_retries",
    "min_retry_backoff",  "max_retry_backoff",    "pool_fifo",
    "pool_size",          "pool_timeout",         "min_idle_conns",
    "max_idle_conns",     "max_active_conns",     "max_concurrent_dials",
    "conn_max_idle_time", "conn_max_lifetime",    "idle_timeout",
    "max_conn_age",       "idle_check_frequency", "context_timeout_enabled",
    "read_buffer_size",   "write_buffer_size",
};

static bool
is_ignored_option(struct slice name)
{
    for (size_t i = 0; i < sizeof(ignored_options) / sizeof(ignored_options[0]); i++) {
        if (slice_eq_cstr(name, ignored_options[i])) {
            return true;
        }
    }
    return false;
}

static bool
is_name_char(unsigned char c)
{
    return scan_is_alpha(c) || scan_is_digit(c) || c == '_';
}

static bool
parse_option(struct slice name, struct slice value, struct store_redis_url *u, uint64_t *read_ms,
             uint64_t *write_ms, struct buf *err)
{
    struct scan ns = scan_init(name);
    if (name.len == 0 || name.len > 32 || scan_while(&ns, is_name_char).len != name.len) {
        buf_appendf_best(err, "REDIS_URL has a malformed query option");
        return false;
    }
    if (slice_eq_cstr(name, "db")) {
        if (value.len > 0 && !parse_db(value, &u->db)) {
            buf_appendf_best(err, "REDIS_URL option db must be a database number");
            return false;
        }
        return true;
    }
    if (slice_eq_cstr(name, "dial_timeout")) {
        return parse_timeout("dial_timeout", value, &u->connect_timeout_ms, err);
    }
    if (slice_eq_cstr(name, "read_timeout")) {
        return parse_timeout("read_timeout", value, read_ms, err);
    }
    if (slice_eq_cstr(name, "write_timeout")) {
        return parse_timeout("write_timeout", value, write_ms, err);
    }
    if (slice_eq_cstr(name, "skip_verify")) {
        if (value.len == 0 || slice_eq_cstr(value, "false") || slice_eq_cstr(value, "0")) {
            return true;
        }
        buf_appendf_best(err,
                         "REDIS_URL option skip_verify is not supported: the server certificate is "
                         "always verified; give its CA in REDIS_CA_FILE");
        return false;
    }
    if (is_ignored_option(name)) {
        return true;
    }
    buf_appendf_best(err, "REDIS_URL has an unexpected option: %.*s", (int)name.len, name.ptr);
    return false;
}

/* "a=1&b=2". An option given twice keeps its last value, as in go-redis. */
static bool
parse_query(struct slice q, struct store_redis_url *u, struct buf *err)
{
    uint64_t read_ms = 0, write_ms = 0;
    struct scan s = scan_init(q);
    struct slice pair;
    while (scan_list_next(&s, '&', &pair)) {
        if (pair.len == 0) {
            continue;
        }
        long eq = slice_find_byte(pair, '=');
        struct slice name = eq < 0 ? pair : slice_make(pair.ptr, (size_t)eq);
        struct slice value = eq < 0 ? SLICE_NULL : slice_skip(pair, (size_t)eq + 1);
        if (!parse_option(name, value, u, &read_ms, &write_ms, err)) {
            return false;
        }
    }
    /* One deadline covers writing a command and reading its reply. */
    uint64_t cmd = read_ms > write_ms ? read_ms : write_ms;
    if (cmd > 0) {
        u->command_timeout_ms = cmd;
    }
    return true;
}

static bool
parse_scheme(struct scan *s, struct store_redis_url *u, struct buf *err)
{
    if (scan_lit_case(s, "rediss://")) {
        u->tls = true;
    } else if (scan_lit_case(s, "redis://")) {
        u->tls = false;
    } else if (scan_lit_case(s, "redis+cluster://") || scan_lit_case(s, "rediss+cluster://")) {
        buf_appendf_best(err, "REDIS_URL redis+cluster:// is a Redis Cluster URL, read by the "
                              "cluster back end only");
        return false;
    } else if (scan_lit_case(s, "unix:")) {
        buf_appendf_best(err,
                         "REDIS_URL unix:// sockets are not supported; use redis://host:port or "
                         "rediss://host:port");
        return false;
    } else {
        buf_appendf_best(err, "REDIS_URL must start with redis:// or rediss:// "
                              "(redis://[user:password@]host:port/db)");
        return false;
    }
    return true;
}

static bool
parse_all(const char *text, struct store_redis_url *u, struct buf *err)
{
    struct slice all = slice_from_cstr(text);
    if (all.len > BOUNDS_REDIS_URL_MAX) {
        buf_appendf_best(err, "REDIS_URL is longer than %u bytes", (unsigned)BOUNDS_REDIS_URL_MAX);
        return false;
    }
    struct scan s = scan_init(all);
    if (!parse_scheme(&s, u, err)) {
        return false;
    }
    if (slice_find_byte(scan_rest(&s), '#') >= 0) {
        buf_appendf_best(err, "REDIS_URL must not have a #fragment");
        return false;
    }
    /* The authority runs to the first '/' or '?'; its userinfo ends at the
     * last '@' (a password may contain an unescaped '@', as Go allows). */
    struct slice rest = scan_rest(&s);
    size_t auth_len = 0;
    while (auth_len < rest.len && rest.ptr[auth_len] != '/' && rest.ptr[auth_len] != '?') {
        auth_len++;
    }
    struct slice authority = slice_make(rest.ptr, auth_len);
    struct slice hostport = authority;
    for (size_t i = authority.len; i > 0; i--) {
        if (authority.ptr[i - 1] == '@') {
            if (!parse_userinfo(slice_make(authority.ptr, i - 1), u, err)) {
                return false;
            }
            hostport = slice_skip(authority, i);
            break;
        }
    }
    if (!parse_hostport(hostport, u, err)) {
        return false;
    }
    struct slice tail = slice_skip(rest, auth_len);
    long qm = slice_find_byte(tail, '?');
    struct slice path = qm < 0 ? tail : slice_make(tail.ptr, (size_t)qm);
    if (path.len > 1 && !parse_db(slice_skip(path, 1), &u->db)) {
        buf_appendf_best(err, "REDIS_URL path must be a database number, as in /0");
        return false;
    }
    if (qm >= 0 && !parse_query(slice_skip(tail, (size_t)qm + 1), u, err)) {
        return false;
    }
    return true;
}

bool
store_redis_url_parse(const char *text, struct store_redis_url *out, struct buf *err)
{
    struct store_redis_url u;
    memset(&u, 0, sizeof(u));
    memset(out, 0, sizeof(*out));
    u.connect_timeout_ms = BOUNDS_REDIS_CONNECT_TIMEOUT_MS;
    u.command_timeout_ms = BOUNDS_REDIS_COMMAND_TIMEOUT_MS;
    if (text == NULL || !parse_all(text, &u, err)) {
        if (text == NULL) {
            buf_appendf_best(err, "REDIS_URL is empty");
        }
        store_redis_url_cleanup(&u);
        return false;
    }
    *out = u;
    return true;
}

void
store_redis_url_cleanup(struct store_redis_url *u)
{
    if (u->password != NULL) {
        explicit_bzero(u->password, strlen(u->password));
    }
    xfree(u->password);
    xfree(u->user);
    xfree(u->host);
    memset(u, 0, sizeof(*u));
}

int
store_redis_url_format_redacted(const struct store_redis_url *u, struct buf *out)
{
    bool v6 = u->host_is_ip && strchr(u->host, ':') != NULL;
    return buf_appendf(out, "%s://%s%s%s:%u/%u", u->tls ? "rediss" : "redis", v6 ? "[" : "",
                       u->host, v6 ? "]" : "", u->port, u->db);
}

/* ---- Redis Cluster ------------------------------------------------------------------ */

bool
store_redis_url_is_cluster(const char *text)
{
    return text != NULL && (strncasecmp(text, "redis+cluster://", 16) == 0 ||
                            strncasecmp(text, "rediss+cluster://", 17) == 0);
}

/* Parses one seed as the single-server URL "<scheme>://<userinfo@><seed><tail>",
 * so a seed reads exactly as REDIS_URL does (forms, options, refusals). */
static bool
parse_seed(bool tls, struct slice userinfo, struct slice seed, struct slice tail,
           struct store_redis_url *out, struct buf *err)
{
    struct buf text;
    buf_init(&text, BOUNDS_REDIS_URL_MAX + 32);
    bool ok = buf_appendf(&text, "%s://", tls ? "rediss" : "redis") == 0 &&
              (userinfo.len == 0 ||
               (buf_append_slice(&text, userinfo) == 0 && buf_append(&text, "@", 1) == 0)) &&
              buf_append_slice(&text, seed) == 0 && buf_append_slice(&text, tail) == 0;
    if (!ok) {
        buf_appendf_best(err, "REDIS_URL is longer than %u bytes", (unsigned)BOUNDS_REDIS_URL_MAX);
    } else {
        ok = store_redis_url_parse(buf_cstr(&text), out, err);
    }
    explicit_bzero(text.ptr, text.len); /* it held the password */
    buf_cleanup(&text);
    return ok;
}

bool
store_redis_url_parse_cluster(const char *text, struct store_redis_cluster_url *out,
                              struct buf *err)
{
    memset(out, 0, sizeof(*out));
    if (text == NULL || text[0] == '\0') {
        buf_appendf_best(err, "REDIS_URL is empty");
        return false;
    }
    struct slice all = slice_from_cstr(text);
    if (all.len > BOUNDS_REDIS_URL_MAX) {
        buf_appendf_best(err, "REDIS_URL is longer than %u bytes", (unsigned)BOUNDS_REDIS_URL_MAX);
        return false;
    }
    struct scan s = scan_init(all);
    bool tls;
    if (scan_lit_case(&s, "rediss+cluster://") || scan_lit_case(&s, "rediss://")) {
        tls = true;
    } else if (scan_lit_case(&s, "redis+cluster://") || scan_lit_case(&s, "redis://")) {
        tls = false;
    } else {
        buf_appendf_best(err, "REDIS_URL must start with redis+cluster:// or rediss+cluster:// "
                              "(redis+cluster://[user:password@]host:port,host:port)");
        return false;
    }
    /* The authority as in parse_all: to the first '/' or '?', userinfo up
     * to the last '@'; then the host list is split at commas. */
    struct slice rest = scan_rest(&s);
    size_t auth_len = 0;
    while (auth_len < rest.len && rest.ptr[auth_len] != '/' && rest.ptr[auth_len] != '?') {
        auth_len++;
    }
    struct slice authority = slice_make(rest.ptr, auth_len);
    struct slice userinfo = SLICE_NULL;
    struct slice hosts = authority;
    for (size_t i = authority.len; i > 0; i--) {
        if (authority.ptr[i - 1] == '@') {
            userinfo = slice_make(authority.ptr, i - 1);
            hosts = slice_skip(authority, i);
            break;
        }
    }
    struct slice tail = slice_skip(rest, auth_len);
    while (true) {
        long comma = slice_find_byte(hosts, ',');
        struct slice seed = comma < 0 ? hosts : slice_make(hosts.ptr, (size_t)comma);
        if (seed.len == 0) {
            buf_appendf_best(err, "REDIS_URL has an empty host in its list of cluster nodes");
            goto fail;
        }
        if (out->seed_count == BOUNDS_REDIS_CLUSTER_SEEDS_MAX) {
            buf_appendf_best(err,
                             "REDIS_URL names more than %u cluster nodes; a few seeds are "
                             "enough (the others are discovered)",
                             (unsigned)BOUNDS_REDIS_CLUSTER_SEEDS_MAX);
            goto fail;
        }
        struct store_redis_url u;
        if (!parse_seed(tls, userinfo, seed, tail, &u, err)) {
            goto fail;
        }
        if (u.db != 0) {
            buf_appendf_best(err,
                             "REDIS_URL names database %u, but Redis Cluster has only "
                             "database 0; drop the /%u",
                             u.db, u.db);
            store_redis_url_cleanup(&u);
            goto fail;
        }
        struct store_redis_cluster_seed *sd = &out->seeds[out->seed_count++];
        sd->host = u.host;
        sd->host_is_ip = u.host_is_ip;
        sd->port = u.port;
        if (out->seed_count == 1) {
            out->base = u; /* keeps auth, TLS and timeouts; host is seeds[0]'s */
            out->base.host = xstrdup(u.host);
        } else {
            u.host = NULL; /* moved to the seed */
            store_redis_url_cleanup(&u);
        }
        if (comma < 0) {
            break;
        }
        hosts = slice_skip(hosts, (size_t)comma + 1);
    }
    return true;
fail:
    store_redis_url_cleanup_cluster(out);
    return false;
}

void
store_redis_url_cleanup_cluster(struct store_redis_cluster_url *u)
{
    for (size_t i = 0; i < u->seed_count; i++) {
        xfree(u->seeds[i].host);
    }
    store_redis_url_cleanup(&u->base);
    memset(u, 0, sizeof(*u));
}
