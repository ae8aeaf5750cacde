/* struct arena: a per-request bump allocator with a cleanup list (h2o's
 * pool, nginx's pool).
 *
 * Everything allocated from an arena dies together in arena_free(); nothing
 * is freed on its own. The arena has a byte cap fixed at creation: an
 * allocation that would pass it returns NULL, which callers treat as a 500
 * (the only NULL-returning allocator in the project, because the cap is a
 * limit on a request, not on the machine). Objects with destructors are
 * registered with arena_on_free() and released, newest first, by
 * arena_free(). Arena memory must never be referenced by anything that can
 * outlive the request. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "base/slice.h"

struct arena;

typedef void (*arena_cleanup_fn)(void *ptr);

struct arena *arena_new(size_t max_bytes);
/* Runs the cleanups, frees every block. NULL is a no-op. */
void arena_free(struct arena *a);

/* size bytes aligned for any type, or NULL past the cap. */
void *arena_alloc(struct arena *a, size_t size) __attribute__((warn_unused_result));
/* Zeroed. */
void *arena_zalloc(struct arena *a, size_t size) __attribute__((warn_unused_result));
char *arena_strdup(struct arena *a, const char *s) __attribute__((warn_unused_result));
/* Copies len bytes and terminates them. */
char *arena_strndup(struct arena *a, const char *s, size_t len) __attribute__((warn_unused_result));
char *arena_slicedup(struct arena *a, struct slice s) __attribute__((warn_unused_result));
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));

/* Registers fn(ptr) to run when the arena is freed. Never fails (the
 * cleanup record is heap-allocated outside the cap). */
void arena_on_free(struct arena *a, arena_cleanup_fn fn, void *ptr);

/* Bytes handed out so far (for tests and the cap). */
size_t arena_used(const struct arena *a);
