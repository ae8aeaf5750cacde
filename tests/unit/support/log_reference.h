/* The log line builder as it was before issue 13 (printf for numbers, a
 * byte-at-a-time escaper), kept as the reference the faster src/log.c is
 * compared with, byte for byte: tests/unit/test_log.c and
 * fuzz/fuzz_log_line.c. Compiled only into tests and fuzz targets.
 *
 * The line's "time" text is passed in (the reference of log_format_time
 * is rfc3339_format_ms, compared separately). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

struct log_reference_line {
    struct buf b;
    bool on;
    bool truncated;
};

/* The byte-at-a-time buf_append_json_escaped. */
int log_reference_json_escaped(struct buf *b, struct slice s);

void log_reference_begin(struct log_reference_line *l, const char *time, const char *level,
                         const char *msg);
void log_reference_slice(struct log_reference_line *l, const char *key, struct slice value);
void log_reference_sample(struct log_reference_line *l, const char *key, struct slice value);
void log_reference_int(struct log_reference_line *l, const char *key, int64_t value);
void log_reference_uint(struct log_reference_line *l, const char *key, uint64_t value);
void log_reference_bool(struct log_reference_line *l, const char *key, bool value);
void log_reference_double(struct log_reference_line *l, const char *key, double value);
void log_reference_raw_json(struct log_reference_line *l, const char *key, struct slice json);
/* Closes the line and returns it (borrowed until _cleanup); SLICE_NULL
 * when it is off. */
struct slice log_reference_close(struct log_reference_line *l);
void log_reference_cleanup(struct log_reference_line *l);
