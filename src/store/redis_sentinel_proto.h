/* Redis Sentinel's bytes (issue 14 item 1). Pure: no I/O, fuzzable
 * (fuzz/fuzz_redis_sentinel.c).
 *
 * (REDIS_SENTINELS and the master name are checked in config_check.h,
 * a floor below, so that config.c can refuse them at start-up.)
 * - SENTINEL GET-MASTER-ADDR-BY-NAME <name>: a 2-element array (host,
 *   port as a string), or nil when the sentinel does not know the name.
 * - ROLE: an array whose first element is "master", "slave" or
 *   "sentinel".
 * - the +switch-master message: "<name> <old-ip> <old-port> <new-ip>
 *   <new-port>".
 * Every host a sentinel names is checked as a REDIS_URL host would be
 * (name bytes, or an IP literal; IPv6 comes bare), so nothing else
 * reaches the resolver. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"
#include "config_check.h"

struct store_redis_reply;

enum store_redis_sentinel_answer {
    STORE_REDIS_SENTINEL_ADDR = 0, /* *out holds the primary's address */
    STORE_REDIS_SENTINEL_UNKNOWN,  /* nil: this sentinel does not know the name */
    STORE_REDIS_SENTINEL_BAD,      /* an error reply or a malformed answer */
};

/* The reply to SENTINEL GET-MASTER-ADDR-BY-NAME. */
enum store_redis_sentinel_answer
store_redis_sentinel_proto_master_addr(const struct store_redis_reply *r,
                                       struct config_redis_addr *out);

enum store_redis_sentinel_role {
    STORE_REDIS_SENTINEL_ROLE_MASTER = 0,
    STORE_REDIS_SENTINEL_ROLE_REPLICA, /* "slave" (or "replica") */
    STORE_REDIS_SENTINEL_ROLE_OTHER,   /* "sentinel", an error, anything else */
};

/* The reply to ROLE: only its first element is read. */
enum store_redis_sentinel_role store_redis_sentinel_proto_role(const struct store_redis_reply *r);

enum store_redis_sentinel_switch {
    STORE_REDIS_SENTINEL_SWITCH_OURS = 0, /* our master moved: *out is the new primary */
    STORE_REDIS_SENTINEL_SWITCH_OTHER,    /* well formed, another master's name */
    STORE_REDIS_SENTINEL_SWITCH_BAD,      /* not five fields of the right shape */
};

/* A +switch-master message's payload, for the master named master. */
enum store_redis_sentinel_switch
store_redis_sentinel_proto_switch_master(struct slice msg, struct slice master,
                                         struct config_redis_addr *out);
