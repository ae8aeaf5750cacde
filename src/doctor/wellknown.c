#include "doctor/wellknown.h"

#include <string.h>

#include "base/buf.h"
#include "base/url.h"

static const char *const suffix[DOCTOR_WELLKNOWN_COUNT] = {
    [DOCTOR_WELLKNOWN_PRM_PATH] = "/.well-known/oauth-protected-resource",
    [DOCTOR_WELLKNOWN_PRM_ROOT] = "/.well-known/oauth-protected-resource",
    [DOCTOR_WELLKNOWN_AS_OAUTH] = "/.well-known/oauth-authorization-server",
    [DOCTOR_WELLKNOWN_AS_OIDC] = "/.well-known/openid-configuration",
    [DOCTOR_WELLKNOWN_AS_OIDC_AFTER] = "/.well-known/openid-configuration",
};

int
doctor_wellknown_url(const char *url, enum doctor_wellknown kind, struct buf *out)
{
    if ((unsigned)kind >= DOCTOR_WELLKNOWN_COUNT) {
        return -1;
    }
    struct url u;
    if (url_parse(url, &u) != URL_OK) {
        return -1;
    }
    int err = 0;
    if ((strcmp(u.scheme, "https") != 0 && strcmp(u.scheme, "http") != 0) || u.has_query ||
        u.has_fragment || u.has_userinfo) {
        err = -1;
    }
    /* "https://h" and "https://h/" have no path to insert. */
    const char *path = strcmp(u.path, "/") == 0 ? "" : u.path;
    struct buf tmp;
    buf_init(&tmp, out->max);
    if (err == 0) {
        err = buf_appendf(&tmp, "%s://%s", u.scheme, u.host);
    }
    if (err == 0 && u.port != NULL) {
        err = buf_appendf(&tmp, ":%s", u.port);
    }
    if (err == 0 && kind == DOCTOR_WELLKNOWN_AS_OIDC_AFTER) {
        /* OIDC Discovery 4: the issuer, its trailing slash removed, then
         * the suffix. */
        size_t n = strlen(path);
        err = buf_append(&tmp, path, n > 0 && path[n - 1] == '/' ? n - 1 : n);
        if (err == 0) {
            err = buf_append_str(&tmp, suffix[kind]);
        }
    } else if (err == 0) {
        err = buf_append_str(&tmp, suffix[kind]);
        if (err == 0 && kind != DOCTOR_WELLKNOWN_PRM_ROOT) {
            err = buf_append_str(&tmp, path);
        }
    }
    if (err == 0) {
        err = buf_append_slice(out, buf_slice(&tmp));
    }
    buf_cleanup(&tmp);
    url_cleanup(&u);
    return err;
}
