/* JSON log lines: one object per line on stdout (STYLE.md 3.8).
 *
 * A line is built field by field in the caller's memory, then handed on
 * whole, so lines never interleave or split. Keys:
 * "time", "level", "msg" (a constant snake_case event name), then fields.
 * When the level is disabled every call is a cheap no-op. Never pass a
 * token, secret, code or Authorization value; untrusted text goes through
 * log_sample(), which truncates it and replaces non-printable bytes.
 *
 *   struct log_line l;
 *   log_begin(&l, LOG_WARN, "jwks_refresh_failed");
 *   log_str(&l, "reason", "timeout");
 *   log_end(&l);
 *
 * Where a finished line goes. Until log_writer_start() (start-up) and
 * after log_writer_stop() (exit), and in unit tests that never start it,
 * log_end() writes the line to the fd at once, under a process-wide lock.
 * While the writer runs, log_end() only copies the line into a bounded
 * buffer -- the thread's own after log_thread_attach() (each worker), else
 * one shared by the other threads -- and a writer thread writes the
 * buffers out with blocking writes, each buffer's lines in order. A stdout
 * reader that stops reading (a wedged log shipper, a full container pipe)
 * then blocks only the writer: a line that does not fit in its buffer is
 * dropped and counted in mcp_auth_log_lines_dropped_total, and once the
 * writer gets bytes through again it writes one
 *   {"level":"warn","msg":"log_lines_dropped","count":N,...}
 * line. An event loop never waits for stdout (BOUNDS_LOG_BUFFER_BYTES).
 * Lines from different threads may reach the sink in a different order
 * than they were logged; each has its own "time". */
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
    bool spare; /* b is the thread's reused buffer */
};

const char *log_level_str(enum log_level level);
/* Case-insensitive "debug", "info", "warn", "error" (and zap's "dpanic",
 * "panic", "fatal", mapped to error). Anything else: false. */
bool log_level_parse(const char *text, enum log_level *out);

void log_set_level(enum log_level level);

/* LOG_FORMAT (docs/configuration.md): lines are built as JSON either way;
 * console turns each finished line into log_console.h's readable form
 * before it is written. */
enum log_format {
    LOG_FORMAT_JSON = 0,
    LOG_FORMAT_CONSOLE,
};
void log_set_format(enum log_format format);
bool log_enabled(enum log_level level);
/* Tests only: send lines to fd instead of stdout (1). */
void log_set_fd(int fd);

/* The "time" of a line logged at unix_ms: rfc3339_format_ms's text, with
 * the date and time of day formatted once per second per thread. */
void log_format_time(int64_t unix_ms, char *out);

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
/* Releases the line and copies what log_end would write into out instead
 * (tests and the fuzz target compare lines this way). Returns its length;
 * 0 when the line is off or longer than cap. */
size_t log_end_copy(struct log_line *l, char *out, size_t cap);

/* One-field conveniences for lifecycle events. */
void log_event(enum log_level level, const char *msg);

/* Gives the calling thread a buffer of its own (a worker, at its start);
 * without one a thread uses the shared buffer. _detach (at the thread's
 * end) hands the buffer back for a later thread; lines still in it are
 * written first. Cheap and idempotent; safe before the writer starts. */
void log_thread_attach(void);
void log_thread_detach(void);

/* Starts the writer thread: lines are buffered from now on. false when it
 * already runs or the thread cannot be created (lines stay direct). */
bool log_writer_start(void);
/* Waits until every buffered line was written, at most timeout_ms. true
 * when nothing is left (or the writer is not running). */
bool log_flush(uint64_t timeout_ms);
/* Writes what is buffered and ends the writer, at most timeout_ms, then
 * goes back to direct writes. false when the sink did not take it all in
 * time: the writer is left blocked in its write, and lines logged from
 * then on are dropped and counted (the process is about to exit; a stalled
 * stdout must not hang it). */
bool log_writer_stop(uint64_t timeout_ms);
