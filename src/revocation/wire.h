/* revocation/wire: how a revocation is spelled in Redis -- the sorted
 * set's members and the channel's messages (docs/internals/revocation.md).
 *
 *   member   f:<family_id>            a revoked family
 *            s:<at_ms>:<sub>          a subject revoked at at_ms (Unix ms)
 *   score    expires_ms               when the entry can be forgotten
 *   message  <expires_ms> <member>    PUBLISHed by the same script
 *
 * The subject's revocation time lives in its member (not in a hash beside
 * the set), so one ZRANGEBYSCORE reads everything a resync needs and one
 * message carries everything a replica applies. Revoking a subject twice
 * leaves two members; the set keeps the later time. Pure functions: the
 * messages and replies come from the network and are fuzzed
 * (fuzz/fuzz_revocation_wire.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "revocation/set.h"

/* A decimal Unix-ms value: 1..16 digits, no sign (Lua numbers are doubles,
 * exact to 2^53; 16 digits is past year 2200). Redis prints an integral
 * score that way. */
bool revocation_wire_parse_ms(struct slice text, int64_t *out);

/* member + its score → *out (id borrows from member). False for anything
 * else: an unknown prefix, a missing or bad time, an empty or oversized
 * id (BOUNDS_REVOCATION_ID_MAX). */
bool revocation_wire_parse_member(struct slice member, int64_t expires_ms,
                                  struct revocation_entry *out);
/* "<expires_ms> <member>" → *out (id borrows from payload). */
bool revocation_wire_parse_message(struct slice payload, struct revocation_entry *out);

/* Appends e's member to out; -1 for an invalid id or at out's cap. */
int revocation_wire_member(const struct revocation_entry *e, struct buf *out) BUF_WUR;

/* ---- Replies on the subscriber's connection ---------------------------- */

struct store_redis_reply;

/* A resync page (ZRANGEBYSCORE ... WITHSCORES): member, score, member,
 * score ... Adds every valid entry to set (now_ms for its sweep); counts
 * the members read in *out_members and the ones that did not parse or fit
 * in *out_bad. False when the reply is not an array of an even number of
 * strings (the connection is then out of step and is dropped). */
bool revocation_wire_apply_page(const struct store_redis_reply *r, struct revocation_set *set,
                                int64_t now_ms, size_t *out_members, size_t *out_bad);

enum revocation_wire_push {
    REVOCATION_PUSH_MESSAGE = 0, /* ["message", channel, payload] on our channel */
    REVOCATION_PUSH_SUBSCRIBED,  /* ["subscribe", channel, n] on our channel */
    REVOCATION_PUSH_PONG,        /* ["pong", ""]: PING while subscribed */
    REVOCATION_PUSH_INVALID,     /* anything else: drop the connection */
};
/* Classifies one reply read in subscribed mode; *out_payload borrows the
 * message's payload from r. */
enum revocation_wire_push revocation_wire_classify(const struct store_redis_reply *r,
                                                   struct slice channel, struct slice *out_payload);
