/* The identity claims the proxy uses from a verified id_token (SPEC.md
 * 6.5): sub, email, name, email_verified and the groups claim, plus the
 * group rules of SPEC.md 3.7 steps 16-18.
 *
 * Pure: takes the claims object oidc_id_token_check produced, copies what
 * it keeps, logs nothing and counts nothing (the /callback handler logs the
 * shape mismatch and bumps its metric). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

struct json_t;

struct oidc_claims {
    char *sub;                   /* "" when absent or null (the handler denies) */
    char *email;                 /* "" when absent or null */
    char *name;                  /* "" when absent or null */
    bool email_verified_present; /* false: absent or null (accepted) */
    bool email_verified;
    char **groups; /* NULL when group_count == 0 */
    size_t group_count;
    /* The groups claim was present but not an array of strings (SPEC.md 3.7
     * step 16: warn + metric, login continues). groups_error is a static
     * phrase for the log. A non-array yields no groups; an array with some
     * non-string elements keeps its string elements (Go put "" in place of
     * the others, which would reach X-User-Groups as empty names; we drop
     * them instead). */
    bool groups_shape_mismatch;
    const char *groups_error;
    /* Some group fails oidc_claims_check_group (SPEC.md 3.7 step 17,
     * widened: any control byte or invalid UTF-8, not only CR LF NUL). */
    bool group_invalid;
    /* sub or email fails oidc_claims_check_value: judged on the full JSON
     * string, before a NUL could shorten the copy kept above. The handler
     * refuses the login (403 claim_invalid): a token sealed with such a
     * value could never be forwarded (proxy/headers refuses CTLs in the
     * X-User-* values it injects), so it would fail with 502 for 7 days. */
    bool sub_invalid;
    bool email_invalid;
    /* The recorded authentication (OIDC Core 2, docs/step-up.md). acr: ""
     * when absent, null, not a string, or a value that fails
     * oidc_claims_check_value -- unknown, so it proves no strength (never
     * a login failure: most IdPs send no acr at all). auth_time: Unix
     * seconds (a JSON number, a fraction floored), 0 when absent, null,
     * not a number, or outside 1..OIDC_CLAIMS_AUTH_TIME_MAX. The /callback
     * handler judges both against what was asked. amr is not kept: only
     * logged by the handler. */
    char *acr;
    int64_t auth_time;
    /* Google's hosted domain (`hd`, the Workspace domain of the account):
     * "" when absent, null, not a string or failing oidc_claims_check_value.
     * Judged against ALLOWED_HOSTED_DOMAINS; never forwarded. */
    char *hd;
    /* The groups claim is absent but the token says where the groups are
     * instead: `_claim_names` names the groups claim (OIDC Core 5.6.2
     * distributed claims; Entra ID's "groups overage" when a user is in
     * more groups than fit in a token), or `hasgroups` is true (Entra's
     * implicit-flow form). The proxy never fetches them (docs/idps.md):
     * with group checks configured the login is refused, never passed
     * with no groups. */
    bool groups_overage;
};

/* The largest auth_time taken as a time (year 9999); beyond it the claim
 * reads as unknown. */
#define OIDC_CLAIMS_AUTH_TIME_MAX INT64_C(253402300799)

enum oidc_claims_rc {
    OIDC_CLAIMS_OK = 0,
    /* sub, email or name not a string; email_verified neither a boolean nor
     * the string "true"/"false" (SPEC.md 3.7 step 13: 500) */
    OIDC_CLAIMS_ERR_MALFORMED,
    OIDC_CLAIMS_RC_COUNT,
};

const char *oidc_claims_rc_str(enum oidc_claims_rc rc);

/* Extracts from claims (borrowed). groups_claim is GROUPS_CLAIM and
 * email_claim is EMAIL_CLAIM, each a flat top-level name (a name holding
 * '/' or ':', such as Auth0's namespaced "https://example.com/groups", is
 * one key, never a path). On OK *out owns copies (oidc_claims_cleanup); on failure
 * *out is left empty (cleanup is still safe) and *out_reason, if not NULL,
 * names the offending claim ("sub", "email", "name", "email_verified"). */
enum oidc_claims_rc oidc_claims_parse(const struct json_t *claims, const char *groups_claim,
                                      const char *email_claim, struct oidc_claims *out,
                                      const char **out_reason) __attribute__((warn_unused_result));
void oidc_claims_cleanup(struct oidc_claims *c);

/* An identity value (sub, email) that is safe to freeze into tokens and to
 * inject as an X-User-* header: NULL, or a static reason when it holds a C0
 * control byte (0x00-0x1F, TAB included), DEL (0x7F) or is not valid UTF-8.
 * A superset of what proxy/headers refuses to forward (CTLs but TAB), so a
 * value that passes here always forwards. */
const char *oidc_claims_check_value(struct slice v);
/* A group name that is safe to freeze into tokens and X-User-Groups: NULL,
 * or "group name contains invalid characters" when it holds ',' (the
 * header's separator) or fails oidc_claims_check_value. */
const char *oidc_claims_check_group(struct slice group);
/* The same over every extracted group: NULL or the reason above. */
const char *oidc_claims_check_groups(const struct oidc_claims *c);
/* sub and email: NULL, or "subject claim contains invalid characters" /
 * "email claim contains invalid characters" for the first that fails
 * oidc_claims_check_value. */
const char *oidc_claims_check_identity(const struct oidc_claims *c);

/* ALLOWED_HOSTED_DOMAINS: true when count is 0, or when hd is non-empty
 * and equals some entry, ASCII case-insensitively (domain names). */
bool oidc_claims_in_hosted_domains(const struct oidc_claims *c, char *const *domains, size_t count);

/* ALLOWED_GROUPS (SPEC.md 3.7 step 18): true when allowed_count is 0, or
 * when some group equals some allowed entry (exact, case-sensitive). */
bool oidc_claims_in_allowed_groups(const struct oidc_claims *c, char *const *allowed,
                                   size_t allowed_count);
