/* The access-log skip matcher: ACCESS_LOG_SKIP_RE compiled once (PCRE2)
 * with its match limits, owned by the logging side, not by struct config,
 * which keeps only the pattern's text.
 *
 * A matcher is read-only once built, so every worker shares one. Matching
 * allocates only its match data, per call; it never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct log_skip;

/* Compiles pattern (NUL-terminated, already trimmed; the configuration
 * refuses an empty one). Returns the matcher, or NULL on a pattern PCRE2
 * refuses, with "<compiler's message> at offset <n>" appended to err (err
 * may be NULL). Free with log_skip_free(). */
struct log_skip *log_skip_new(const char *pattern, struct buf *err)
    __attribute__((warn_unused_result));
/* NULL is a no-op. */
void log_skip_free(struct log_skip *s);

/* Does the decoded request path (path_len bytes; NULL with 0 is "")
 * match, unanchored, as Go's MatchString does? A NULL matcher matches
 * nothing; a match that hits BOUNDS_ACCESS_LOG_SKIP_MATCH_LIMIT or
 * _DEPTH_LIMIT counts as no match, so the line is logged. */
bool log_skip_match(const struct log_skip *s, const char *path, size_t path_len);
