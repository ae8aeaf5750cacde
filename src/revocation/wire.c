/* Members and messages of the revocation set (see wire.h). */
#include "revocation/wire.h"

#include <string.h>

#include "bounds.h"

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
