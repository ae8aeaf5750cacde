/* Lowercase hexadecimal encoding. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Writes 2n lowercase hex chars plus a NUL into out. */
void hex_encode(const uint8_t *data, size_t n, char *out);
