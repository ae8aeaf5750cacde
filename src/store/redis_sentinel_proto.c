/* Redis Sentinel's bytes: the REDIS_SENTINELS list, the primary's address
 * from a sentinel, ROLE, and +switch-master (redis_sentinel_proto.h). */
#include "store/redis_sentinel_proto.h"

#include <string.h>

#include "config_check.h"
#include "store/redis_proto.h"

static bool
is_text(const struct store_redis_reply *r)
{
    return r != NULL && (r->type == STORE_REDIS_STRING || r->type == STORE_REDIS_STATUS);
}

enum store_redis_sentinel_answer
store_redis_sentinel_proto_master_addr(const struct store_redis_reply *r,
                                       struct config_redis_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (r == NULL) {
        return STORE_REDIS_SENTINEL_BAD;
    }
    if (r->type == STORE_REDIS_NIL) {
        return STORE_REDIS_SENTINEL_UNKNOWN;
    }
    if (r->type != STORE_REDIS_ARRAY || r->count != 2 || !is_text(r->elems[0]) ||
        !is_text(r->elems[1])) {
        return STORE_REDIS_SENTINEL_BAD;
    }
    if (!config_check_redis_host(slice_make(r->elems[0]->str, r->elems[0]->len), out) ||
        !config_check_port(slice_make(r->elems[1]->str, r->elems[1]->len), &out->port)) {
        memset(out, 0, sizeof(*out));
        return STORE_REDIS_SENTINEL_BAD;
    }
    return STORE_REDIS_SENTINEL_ADDR;
}

enum store_redis_sentinel_role
store_redis_sentinel_proto_role(const struct store_redis_reply *r)
{
    if (r == NULL || r->type != STORE_REDIS_ARRAY || r->count == 0 || !is_text(r->elems[0])) {
        return STORE_REDIS_SENTINEL_ROLE_OTHER;
    }
    struct slice role = slice_make(r->elems[0]->str, r->elems[0]->len);
    if (slice_eq_cstr(role, "master")) {
        return STORE_REDIS_SENTINEL_ROLE_MASTER;
    }
    if (slice_eq_cstr(role, "slave") || slice_eq_cstr(role, "replica")) {
        return STORE_REDIS_SENTINEL_ROLE_REPLICA;
    }
    return STORE_REDIS_SENTINEL_ROLE_OTHER;
}

/* The next space-separated field; false when there is none. */
static bool
next_field(struct slice *rest, struct slice *out)
{
    if (rest->len == 0) {
        return false;
    }
    long sp = slice_find_byte(*rest, ' ');
    *out = sp < 0 ? *rest : slice_make(rest->ptr, (size_t)sp);
    *rest = sp < 0 ? slice_skip(*rest, rest->len) : slice_skip(*rest, (size_t)sp + 1);
    return out->len > 0;
}

enum store_redis_sentinel_switch
store_redis_sentinel_proto_switch_master(struct slice msg, struct slice master,
                                         struct config_redis_addr *out)
{
    memset(out, 0, sizeof(*out));
    struct slice f[5];
    struct slice rest = msg;
    for (size_t i = 0; i < 4; i++) {
        if (!next_field(&rest, &f[i])) {
            return STORE_REDIS_SENTINEL_SWITCH_BAD;
        }
    }
    f[4] = rest; /* the last field runs to the end: a space there is a sixth */
    struct config_redis_addr old;
    unsigned old_port;
    if (slice_find_byte(rest, ' ') >= 0 || !config_check_redis_host(f[1], &old) ||
        !config_check_port(f[2], &old_port) || !config_check_redis_host(f[3], out) ||
        !config_check_port(f[4], &out->port)) {
        memset(out, 0, sizeof(*out));
        return STORE_REDIS_SENTINEL_SWITCH_BAD;
    }
    if (!slice_eq(f[0], master)) {
        memset(out, 0, sizeof(*out));
        return STORE_REDIS_SENTINEL_SWITCH_OTHER;
    }
    return STORE_REDIS_SENTINEL_SWITCH_OURS;
}
