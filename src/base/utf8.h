/* UTF-8 validation, one character at a time (RFC 3629). */
#pragma once

#include <stddef.h>

/* The length (2..4) of the well-formed multi-byte UTF-8 character starting
 * at p, of which avail bytes are readable, or 0 when it is not one:
 * overlong forms, surrogates (U+D800..U+DFFF) and code points past
 * U+10FFFF are invalid, as in jansson's decoder. ASCII bytes (< 0x80) are
 * not multi-byte characters and also give 0. */
size_t utf8_seq_len(const unsigned char *p, size_t avail);
