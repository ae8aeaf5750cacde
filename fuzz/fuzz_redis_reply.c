/* Fuzz target: arbitrary bytes from a "Redis server" through the capped
 * hiredis reader and every reply → result mapping (store/redis_proto). The
 * first byte picks the chunk size, so replies split at every offset are
 * exercised. Whatever arrives must never crash, leak or read out of
 * bounds, and each mapping must only say yes to the exact reply shape it
 * stands for (anything else fails closed); arrays nest no deeper and no
 * wider than the caps in bounds.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "redis_feed.h"
#include "store/redis_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct store_redis_reply *r, int depth)
{
    if (r->type == STORE_REDIS_ARRAY && depth >= BOUNDS_REDIS_REPLY_DEPTH_MAX) {
        abort(); /* arrays nested deeper than the reader's cap */
    }
    enum store_rc rc = store_redis_proto_claim_result(r);
    if ((rc == STORE_OK && (r->type != STORE_REDIS_STATUS || strcmp(r->str, "OK") != 0)) ||
        (rc == STORE_ERR_ALREADY_USED && r->type != STORE_REDIS_NIL)) {
        abort();
    }
    if (store_redis_proto_ok_result(r) == STORE_OK && r->type != STORE_REDIS_STATUS) {
        abort();
    }
    if (store_redis_proto_exists_result(r) == STORE_OK && r->type != STORE_REDIS_INTEGER) {
        abort();
    }
    if (store_redis_proto_pong_result(r) == STORE_OK && r->type != STORE_REDIS_STATUS) {
        abort();
    }
    /* issue 14's rate window: only the integers 1 and 0 decide */
    enum store_rc rw = store_redis_proto_rate_window_result(r);
    if (rw != STORE_ERR_UNAVAILABLE &&
        (r->type != STORE_REDIS_INTEGER || (r->integer != 0 && r->integer != 1))) {
        abort();
    }
    enum store_refresh rf = store_redis_proto_refresh_result(r);
    if (rf != STORE_REFRESH_UNAVAILABLE &&
        (r->type != STORE_REDIS_ARRAY || (r->count != 3 && r->count != 4))) {
        abort();
    }
    /* A claim time comes only with RETRY, and is never negative. */
    int64_t retry_ms = store_redis_proto_refresh_retry_ms(r);
    if (retry_ms < 0 || (retry_ms != 0) != (rf == STORE_REFRESH_RETRY)) {
        abort();
    }
    if ((store_redis_proto_is_noscript(r) || store_redis_proto_is_auth_error(r)) &&
        r->type != STORE_REDIS_ERROR) {
        abort();
    }
    char text[64];
    store_redis_proto_describe(r, text, sizeof(text));
    if (memchr(text, '\0', sizeof(text)) == NULL) {
        abort();
    }
    if (r->type == STORE_REDIS_ARRAY) {
        if (r->count > BOUNDS_REDIS_REPLY_ARRAY_MAX) {
            abort();
        }
        for (size_t i = 0; i < r->count; i++) {
            if (r->elems[i] == NULL) {
                abort(); /* complete replies are complete */
            }
            check(r->elems[i], depth + 1);
        }
    }
}

static void
check_top(const struct store_redis_reply *r)
{
    check(r, 0);
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
    redis_feed(data, size, step, check_top);
    return 0;
}
