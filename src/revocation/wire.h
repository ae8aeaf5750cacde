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
