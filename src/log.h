/* JSON log lines: one object per line on stdout (STYLE.md 3.8).
 *
 * A line is built field by field and written under a process-wide lock,
 * so lines from several worker threads never interleave. Keys:
 * "time", "level", "msg" (a constant snake_case event name), then fields.
 * When the level is disabled every call is a cheap no-op. Never pass a
 * token, secret, code or Authorization value; untrusted text goes through
 * log_sample(), which truncates it and replaces non-printable bytes.
 *
 *   struct log_line l;
 *   log_begin(&l, LOG_WARN, "jwks_refresh_failed");
 *   log_str(&l, "reason", "timeout");
 *   log_end(&l);
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

enum log_level {
    LOG_DEBUG = 0,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR,
    LOG_LEVEL_COUNT,
};

/* Longest line written; longer lines are cut at a field boundary and get
 * "truncated":true. */
#define LOG_LINE_MAX 16384
/* Bytes of untrusted text shown by log_sample(). */
#define LOG_SAMPLE_MAX 64

struct log_line {
    struct buf b;
    bool on;
    bool truncated;
};

const char *log_level_str(enum log_level level);
/* Case-insensitive "debug", "info", "warn", "error" (and zap's "dpanic",
 * "panic", "fatal", mapped to error). Anything else: false. */
bool log_level_parse(const char *text, enum log_level *out);

void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
/* Tests only: send lines to fd instead of stdout (1). */
void log_set_fd(int fd);

void log_begin(struct log_line *l, enum log_level level, const char *msg);
void log_str(struct log_line *l, const char *key, const char *value);
void log_slice(struct log_line *l, const char *key, struct slice value);
/* Untrusted text: at most LOG_SAMPLE_MAX bytes, non-printable bytes as '?'. */
void log_sample(struct log_line *l, const char *key, struct slice value);
void log_int(struct log_line *l, const char *key, int64_t value);
void log_uint(struct log_line *l, const char *key, uint64_t value);
void log_bool(struct log_line *l, const char *key, bool value);
void log_double(struct log_line *l, const char *key, double value);
/* A value that is already valid JSON (an array built by the caller). */
void log_raw_json(struct log_line *l, const char *key, struct slice json);
/* Writes the line and releases it. */
void log_end(struct log_line *l);

/* One-field conveniences for lifecycle events. */
void log_event(enum log_level level, const char *msg);
