/* Hexadecimal digits: lowercase encoding and the value of one digit.
 * Every hex decoder in the tree (percent-escapes, JSON \u escapes) reads
 * its digits through hex_value(), so there is one definition of a digit. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Writes 2n lowercase hex chars plus a NUL into out. */
void hex_encode(const uint8_t *data, size_t n, char *out);

/* The value 0..15 of one hex digit, either case ('7' -> 7, 'b' and 'B' ->
 * 11); -1 for any other byte. */
int hex_value(unsigned char c);
