/* In-process replay store for a single replica (SPEC.md 5.6; wired when
 * REDIS_REQUIRED=false and REDIS_URL is empty, SPEC preface fix 11).
 *
 * One table per back end, shared by every worker's store behind a mutex:
 * key → (expires_at, set_at) in Unix milliseconds from base/clock (so tests
 * pin time instead of sleeping). Expired entries are dropped lazily when
 * looked up, and the whole table is swept on an insert once
 * BOUNDS_MEMORY_STORE_SWEEP_MS has passed since the last sweep -- lazily
 * rather than on a timer, so the table needs no loop of its own and an idle
 * process does no work. At BOUNDS_MEMORY_STORE_ENTRIES_MAX entries an
 * insert sweeps once; if the table is still full, new keys fail closed with
 * STORE_ERR_UNAVAILABLE ("store full") while overwrites of existing keys
 * still succeed. Claims are not shared with other replicas: run one. */
#pragma once

#include <stddef.h>

struct store_backend;

/* key_prefix is copied (NULL = ""). Never NULL. */
struct store_backend *store_memory_backend_new(const char *key_prefix);

/* Tests and diagnostics: entries held, expired ones included until they
 * are looked up or swept. */
size_t store_memory_backend_count(struct store_backend *b);
