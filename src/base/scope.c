/* RFC 6749 3.3 scope tokens and space-separated scope sets (base/scope.h).
 *
 * Example: with the set "mcp:read mcp:write offline_access",
 *   scope_has(set, "mcp:write")          -> true
 *   scope_without_offline_access(set)    -> "mcp:read mcp:write" */
#include "base/scope.h"

#include <string.h>

bool
scope_token_is_valid(struct slice token)
{
    if (token.len == 0) {
        return false;
    }
    for (size_t i = 0; i < token.len; i++) {
        unsigned char c = (unsigned char)token.ptr[i];
        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') {
            return false;
        }
    }
    return true;
}

static bool
is_sep(char c, const char *seps)
{
    return c != '\0' && strchr(seps, c) != NULL;
}

bool
scope_next(struct slice *rest, const char *seps, struct slice *out_token)
{
    if (rest->len == 0) {
        return false; /* also an empty slice with a NULL ptr: no arithmetic on it */
    }
    size_t i = 0;
    while (i < rest->len && is_sep(rest->ptr[i], seps)) {
        i++;
    }
    size_t start = i;
    while (i < rest->len && !is_sep(rest->ptr[i], seps)) {
        i++;
    }
    if (i == start) {
        *rest = slice_make(rest->ptr + i, 0);
        return false;
    }
    *out_token = slice_make(rest->ptr + start, i - start);
    *rest = slice_make(rest->ptr + i, rest->len - i);
    return true;
}

bool
scope_has(const char *set, struct slice token)
{
    struct slice rest = slice_from_cstr(set);
    struct slice t;
    while (scope_next(&rest, " ", &t)) {
        if (slice_eq(t, token)) {
            return true;
        }
    }
    return false;
}

int
scope_filter(const char *set, bool (*keep)(struct slice token, const void *arg), const void *arg,
             struct buf *out)
{
    /* Built aside and appended in one step, so a cap hit leaves out as it
     * was. */
    struct buf tmp;
    buf_init(&tmp, out->max);
    int rc = 0;
    struct slice rest = slice_from_cstr(set);
    struct slice t;
    while (rc == 0 && scope_next(&rest, " ", &t)) {
        if (keep(t, arg)) {
            rc = tmp.len > 0 ? buf_append_byte(&tmp, ' ') : 0;
            rc = rc == 0 ? buf_append_slice(&tmp, t) : rc;
        }
    }
    if (rc == 0) {
        rc = buf_append_slice(out, buf_slice(&tmp));
    }
    buf_cleanup(&tmp);
    return rc;
}

static bool
not_offline_access(struct slice token, const void *arg)
{
    (void)arg;
    return !slice_eq_cstr(token, SCOPE_OFFLINE_ACCESS);
}

int
scope_without_offline_access(const char *set, struct buf *out)
{
    return scope_filter(set, not_offline_access, NULL, out);
}
