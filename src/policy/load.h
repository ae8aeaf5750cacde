/* policy/load: the policy file (YAML, docs/policy.md) -> struct policy.
 *
 * Validates everything at load: unknown or repeated keys, wrong types,
 * bad values and every cap (bounds.h BOUNDS_POLICY_*) are refused with one
 * message that names the file line and, inside rules, the rule's index and
 * name. libyaml stays inside this file. Reads the file it is given and
 * nothing else; no logging, no signals. */
#pragma once

#include "base/buf.h"
#include "base/slice.h"
#include "policy/policy.h"

/* text -> a policy with one reference (release with policy_release), or
 * NULL with the reason appended to err ("line 7: rules[2] \"admin\":
 * effect must be allow or deny"). */
struct policy *policy_load_parse(struct slice text, struct buf *err);

/* Reads path (at most BOUNDS_POLICY_FILE_MAX bytes) and parses it; NULL
 * with the reason (prefixed by nothing: the caller names the variable) on
 * any failure, read errors included. */
struct policy *policy_load_file(const char *path, struct buf *err);

/* 0 when every step_up scope of p is one of scopes_supported (a
 * space-separated list, MCP_SCOPES_SUPPORTED), else -1 with the first one
 * missing named in err. */
int policy_load_check_scopes(const struct policy *p, const char *scopes_supported, struct buf *err);

/* policy_load_file then policy_load_check_scopes: what start-up, reload and
 * --check-config all do. NULL with the reason in err. */
struct policy *policy_load_configured(const char *path, const char *scopes_supported,
                                      struct buf *err);
