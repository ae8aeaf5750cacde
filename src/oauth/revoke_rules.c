/* POST /revoke's decision about a token (revoke_rules.h). */
#include "oauth/revoke_rules.h"

#include <string.h>

#include "base/form.h"
#include "base/strtab.h"

static const char *const singletons[] = {
    "token", "token_type_hint", "client_id", "client_assertion", "client_assertion_type",
};
static const char *const repeated_desc[] = {
    "token must not be repeated",
    "token_type_hint must not be repeated",
    "client_id must not be repeated",
    "client_assertion must not be repeated",
    "client_assertion_type must not be repeated",
};
_Static_assert(sizeof(singletons) == sizeof(repeated_desc), "one description per singleton");

bool
oauth_revoke_rules_front(const struct form_params *p, struct oauth_error *err)
{
    size_t n = sizeof(singletons) / sizeof(singletons[0]);
    const char *repeated = form_params_find_repeated(p, singletons, n);
    for (size_t i = 0; repeated != NULL && i < n; i++) {
        if (repeated == singletons[i]) {
            oauth_error_set(err, 400, OAUTH_ERROR_INVALID_REQUEST, repeated_desc[i]);
        }
    }
    return repeated == NULL;
}

static const char *const verdict_names[OAUTH_REVOKE_RULES_VERDICT_COUNT] = {
    [OAUTH_REVOKE_RULES_FAMILY] = "family",
    [OAUTH_REVOKE_RULES_UNKNOWN] = "unknown_token",
    [OAUTH_REVOKE_RULES_CLIENT_MISMATCH] = "client_mismatch",
    [OAUTH_REVOKE_RULES_LEGACY] = "legacy_token",
};

const char *
oauth_revoke_rules_verdict_str(enum oauth_revoke_rules_verdict v)
{
    return strtab_name(verdict_names, OAUTH_REVOKE_RULES_VERDICT_COUNT, (size_t)v, "unknown");
}

enum oauth_revoke_rules_hint
oauth_revoke_rules_hint_parse(struct slice hint)
{
    if (slice_eq_cstr(hint, "access_token")) {
        return OAUTH_REVOKE_RULES_HINT_ACCESS;
    }
    if (slice_eq_cstr(hint, "refresh_token")) {
        return OAUTH_REVOKE_RULES_HINT_REFRESH;
    }
    return OAUTH_REVOKE_RULES_HINT_NONE;
}

/* true when the token opened as a refresh token of aud, unexpired. */
static bool
open_refresh(const struct seal_ring *ring, struct slice token, const char *aud, int64_t now_s,
             struct oauth_revoke_rules_found *f)
{
    if (grants_open_refresh(ring, token, aud, now_s, &f->refresh, NULL) != GRANTS_OK) {
        grants_cleanup_refresh(&f->refresh);
        return false;
    }
    f->type = "refresh_token";
    f->family_id = f->refresh.family_id;
    f->sub = f->refresh.sub;
    f->client_id = f->refresh.client_id;
    return true;
}

static bool
open_access(const struct seal_ring *ring, struct slice token, const char *aud, int64_t now_s,
            struct oauth_revoke_rules_found *f)
{
    if (grants_open_access(ring, token, aud, now_s, &f->access, NULL) != GRANTS_OK) {
        grants_cleanup_access(&f->access);
        return false;
    }
    f->type = "access_token";
    f->family_id = f->access.family_id;
    f->sub = f->access.sub;
    f->client_id = f->access.client_id;
    return true;
}

enum oauth_revoke_rules_verdict
oauth_revoke_rules_judge(const struct seal_ring *ring, struct slice token,
                         enum oauth_revoke_rules_hint hint, const char *aud, int64_t now_s,
                         const char *client_id, struct oauth_revoke_rules_found *out)
{
    memset(out, 0, sizeof(*out));
    out->type = out->family_id = out->sub = out->client_id = "";
    bool opened = hint == OAUTH_REVOKE_RULES_HINT_ACCESS
                      ? open_access(ring, token, aud, now_s, out) ||
                            open_refresh(ring, token, aud, now_s, out)
                      : open_refresh(ring, token, aud, now_s, out) ||
                            open_access(ring, token, aud, now_s, out);
    if (!opened) {
        return OAUTH_REVOKE_RULES_UNKNOWN;
    }
    if (strcmp(out->client_id, client_id) != 0) {
        return OAUTH_REVOKE_RULES_CLIENT_MISMATCH;
    }
    if (out->family_id[0] == '\0') {
        /* A refresh token always carries its family (grants.h); an access
         * token minted before "fam" existed does not, and its family
         * cannot be named: it lives out its hour (REVOKE_BEFORE or
         * `revoke --subject` reach it). */
        return strcmp(out->type, "access_token") == 0 ? OAUTH_REVOKE_RULES_LEGACY
                                                      : OAUTH_REVOKE_RULES_UNKNOWN;
    }
    return OAUTH_REVOKE_RULES_FAMILY;
}

void
oauth_revoke_rules_cleanup(struct oauth_revoke_rules_found *f)
{
    grants_cleanup_access(&f->access);
    grants_cleanup_refresh(&f->refresh);
    f->type = f->family_id = f->sub = f->client_id = "";
}
