/* Unsigned integers in decimal without printf, for the per-request paths
 * (the response head, the upstream request, the access-log line) that
 * format numbers on every request. One definition of the digits. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The longest result: UINT64_MAX has 20 digits. */
#define DECIMAL_U64_MAX 20

/* Writes v in decimal at out (no NUL, at most DECIMAL_U64_MAX bytes);
 * returns the number of bytes written. */
size_t decimal_format_u64(char *out, uint64_t v);
