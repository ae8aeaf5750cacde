/* Fuzz target: bytes from a "sentinel" or a "data node" through the capped
 * reply reader into the SENTINEL GET-MASTER-ADDR-BY-NAME and ROLE parsers,
 * and the same bytes as a +switch-master message and as a REDIS_SENTINELS
 * list (store/redis_sentinel_proto). The first byte picks the chunk size.
 * Nothing may crash, leak or read out of bounds; every address accepted
 * has a host of allowed bytes and a port in range, and a refusal leaves
 * no address behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis_feed.h"
#include "store/redis_proto.h"
#include "store/redis_sentinel_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_addr(bool ok, const struct config_redis_addr *a)
{
    size_t len = strnlen(a->host, sizeof(a->host));
    if (!ok) {
        if (len != 0 || a->port != 0) {
            abort();
        }
        return;
    }
    if (len == 0 || len == sizeof(a->host) || a->port == 0 || a->port > 65535 ||
        strspn(a->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:_%") !=
            len) {
        abort();
    }
}

static void
check(const struct store_redis_reply *r)
{
    struct config_redis_addr a;
    enum store_redis_sentinel_answer k = store_redis_sentinel_proto_master_addr(r, &a);
    check_addr(k == STORE_REDIS_SENTINEL_ADDR, &a);
    if (k == STORE_REDIS_SENTINEL_UNKNOWN && r->type != STORE_REDIS_NIL) {
        abort();
    }
    enum store_redis_sentinel_role role = store_redis_sentinel_proto_role(r);
    if (role == STORE_REDIS_SENTINEL_ROLE_MASTER &&
        (r->type != STORE_REDIS_ARRAY || r->count == 0 ||
         strcmp(r->elems[0]->str, "master") != 0)) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    size_t step = redis_feed_step(data[0]);
    data++;
    size--;

    struct slice text = slice_make((const char *)data, size);
    struct config_redis_addr a;
    enum store_redis_sentinel_switch sw =
        store_redis_sentinel_proto_switch_master(text, SLICE_LIT("mymaster"), &a);
    check_addr(sw == STORE_REDIS_SENTINEL_SWITCH_OURS, &a);
    if (sw == STORE_REDIS_SENTINEL_SWITCH_OURS && (size < 9 || memcmp(data, "mymaster ", 9) != 0)) {
        abort();
    }
    static struct config_redis_addr list[BOUNDS_REDIS_SENTINELS_MAX];
    size_t count = 99;
    const char *why = config_check_redis_sentinels(text, list, &count);
    if ((why == NULL) != (count > 0) || count > BOUNDS_REDIS_SENTINELS_MAX) {
        abort();
    }
    for (size_t i = 0; i < count; i++) {
        check_addr(true, &list[i]);
    }
    (void)config_check_redis_sentinel_master(text);

    redis_feed(data, size, step, check);
    return 0;
}
