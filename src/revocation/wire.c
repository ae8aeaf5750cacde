/* Members and messages of the revocation set (see wire.h). */
#include "revocation/wire.h"

#include <string.h>

#include "bounds.h"
#include "store/redis_proto.h"

#define MS_DIGITS_MAX 16

bool
revocation_wire_parse_ms(struct slice text, int64_t *out)
{
    if (text.len == 0 || text.len > MS_DIGITS_MAX) {
        return false;
    }
    int64_t v = 0;
    for (size_t i = 0; i < text.len; i++) {
        char c = text.ptr[i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
}

static bool
id_ok(struct slice id)
{
    return id.len > 0 && id.len <= BOUNDS_REVOCATION_ID_MAX;
}

bool
revocation_wire_parse_member(struct slice member, int64_t expires_ms, struct revocation_entry *out)
{
    if (member.len < 3 || member.ptr[1] != ':') {
        return false;
    }
    struct slice rest = slice_skip(member, 2);
    if (member.ptr[0] == 'f') {
        if (!id_ok(rest)) {
            return false;
        }
        *out = (struct revocation_entry){
            .kind = REVOCATION_KIND_FAMILY, .id = rest, .at_ms = 0, .expires_ms = expires_ms};
        return true;
    }
    if (member.ptr[0] != 's') {
        return false;
    }
    const char *colon = memchr(rest.ptr, ':', rest.len);
    if (colon == NULL) {
        return false;
    }
    size_t n = (size_t)(colon - rest.ptr);
    int64_t at_ms;
    struct slice sub = slice_skip(rest, n + 1);
    if (!revocation_wire_parse_ms(slice_make(rest.ptr, n), &at_ms) || !id_ok(sub)) {
        return false;
    }
    *out = (struct revocation_entry){
        .kind = REVOCATION_KIND_SUBJECT, .id = sub, .at_ms = at_ms, .expires_ms = expires_ms};
    return true;
}

bool
revocation_wire_parse_message(struct slice payload, struct revocation_entry *out)
{
    const char *space = memchr(payload.ptr, ' ', payload.len);
    if (space == NULL) {
        return false;
    }
    size_t n = (size_t)(space - payload.ptr);
    int64_t expires_ms;
    if (!revocation_wire_parse_ms(slice_make(payload.ptr, n), &expires_ms)) {
        return false;
    }
    return revocation_wire_parse_member(slice_skip(payload, n + 1), expires_ms, out);
}

int
revocation_wire_member(const struct revocation_entry *e, struct buf *out)
{
    if (!id_ok(e->id) || e->at_ms < 0) {
        return -1;
    }
    if (e->kind == REVOCATION_KIND_FAMILY) {
        return buf_appendf(out, "f:%.*s", (int)e->id.len, e->id.ptr);
    }
    if (e->kind == REVOCATION_KIND_SUBJECT) {
        return buf_appendf(out, "s:%lld:%.*s", (long long)e->at_ms, (int)e->id.len, e->id.ptr);
    }
    return -1;
}

/* ---- Replies ---------------------------------------------------------------- */

static bool
is_string(const struct store_redis_reply *r)
{
    return r != NULL && r->type == STORE_REDIS_STRING;
}

static bool
string_is(const struct store_redis_reply *r, const char *text)
{
    return is_string(r) && slice_eq_cstr(slice_make(r->str, r->len), text);
}

bool
revocation_wire_apply_page(const struct store_redis_reply *r, struct revocation_set *set,
                           int64_t now_ms, size_t *out_members, size_t *out_bad)
{
    *out_members = 0;
    *out_bad = 0;
    if (r == NULL || r->type != STORE_REDIS_ARRAY || r->count % 2 != 0) {
        return false;
    }
    for (size_t i = 0; i < r->count; i++) {
        if (!is_string(r->elems[i])) {
            return false;
        }
    }
    for (size_t i = 0; i < r->count; i += 2) {
        struct revocation_entry e;
        int64_t expires_ms;
        (*out_members)++;
        const struct store_redis_reply *m = r->elems[i];
        const struct store_redis_reply *sc = r->elems[i + 1];
        if (!revocation_wire_parse_ms(slice_make(sc->str, sc->len), &expires_ms) ||
            !revocation_wire_parse_member(slice_make(m->str, m->len), expires_ms, &e)) {
            (*out_bad)++;
            continue;
        }
        enum revocation_set_rc rc = revocation_set_add(set, &e, now_ms);
        if (rc == REVOCATION_SET_FULL || rc == REVOCATION_SET_INVALID) {
            (*out_bad)++;
        }
    }
    return true;
}

enum revocation_wire_push
revocation_wire_classify(const struct store_redis_reply *r, struct slice channel,
                         struct slice *out_payload)
{
    if (r == NULL || r->type != STORE_REDIS_ARRAY || r->count < 2) {
        return REVOCATION_PUSH_INVALID;
    }
    if (r->count == 2 && string_is(r->elems[0], "pong")) {
        return REVOCATION_PUSH_PONG;
    }
    if (r->count != 3 || !is_string(r->elems[1]) ||
        !slice_eq(slice_make(r->elems[1]->str, r->elems[1]->len), channel)) {
        return REVOCATION_PUSH_INVALID;
    }
    if (string_is(r->elems[0], "subscribe") && r->elems[2]->type == STORE_REDIS_INTEGER) {
        return REVOCATION_PUSH_SUBSCRIBED;
    }
    if (string_is(r->elems[0], "message") && is_string(r->elems[2])) {
        *out_payload = slice_make(r->elems[2]->str, r->elems[2]->len);
        return REVOCATION_PUSH_MESSAGE;
    }
    return REVOCATION_PUSH_INVALID;
}
