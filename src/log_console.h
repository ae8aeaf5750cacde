/* The console log format (LOG_FORMAT=console): one readable line per log
 * line, for a person at a terminal, as the Go project's development
 * encoder gives.
 *
 *   2026-12-06T05:00:00.123Z INFO  request request_id=Ab3 method=POST status=200
 *
 * The time, the level (upper case, padded to five), the event name, then
 * key=value for each field in order. A string value is written bare when
 * it is non-empty and holds no space, '"', '=' or escape; otherwise it
 * keeps its JSON form (quoted, escaped), so a value can never split the
 * line or carry a control character to the terminal. Numbers, booleans
 * and raw JSON values are written as they are.
 *
 * The input is a line log.c built ({"time":...,"level":...,"msg":...,
 * fields}); pure, thread-safe. */
#pragma once

#include "base/buf.h"
#include "base/slice.h"

/* Appends the console form of json (one log line, with or without its
 * '\n') and a '\n' to out. -1 when json is not of log.c's shape or out's
 * cap is hit (out is then reset to its length before the call). */
int log_console_format(struct slice json, struct buf *out) __attribute__((warn_unused_result));
