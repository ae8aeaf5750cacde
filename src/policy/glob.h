/* policy/glob: the name patterns of a policy rule (docs/policy.md "Globs").
 *
 * `*` matches any run of bytes, `/` included (a resource URI's path is
 * one name: "file:///srv/" followed by a star covers everything below /srv); `?` matches
 * exactly one UTF-8 code point; every other byte matches itself. No
 * classes, no escapes: a policy names tools, prompts and URIs, and those
 * never need a literal `*`. Pure. */
#pragma once

#include <stdbool.h>

#include "base/slice.h"

/* Whether name matches pattern. fold_case: ASCII letters compare
 * case-insensitively (JSON-RPC methods, see policy_decide). The cost is at
 * most len(pattern) * len(name) byte comparisons (one backtrack point, the
 * last `*`). */
bool policy_glob_match(struct slice pattern, struct slice name, bool fold_case);
