/* RFC 3339 timestamps: strict parsing (config's REVOKE_BEFORE) and UTC
 * formatting (log lines). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"

#define RFC3339_MS_LEN 24 /* "2026-05-01T12:00:00.123Z" */

/* "2026-05-01T12:00:00Z", "2026-05-01T12:00:00.5+02:00": date, 'T', time,
 * optional fraction (1-9 digits), then 'Z' or a numeric offset. The result
 * is Unix seconds plus nanoseconds, both in UTC. */
bool rfc3339_parse(struct slice text, int64_t *out_s, int32_t *out_ns);
/* Unix milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out[RFC3339_MS_LEN + 1]. */
void rfc3339_format_ms(int64_t unix_ms, char *out);
/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into out[21]. */
void rfc3339_format_s(int64_t unix_s, char *out);
