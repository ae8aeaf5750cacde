/* Eight bytes at a time: tests on a 64-bit word that say whether any of
 * its bytes has a property, so a scanner can skip the plain stretches of
 * a header or a log value a word at a time and look byte by byte only in
 * the word that holds a special byte (the "SIMD within a register" tricks
 * of Hacker's Delight, 6-1).
 *
 * Each test is exact as a yes/no answer for the whole word; it does not say
 * which byte, so callers rescan that word byte by byte. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGHS 0x8080808080808080ULL

static inline uint64_t
swar_load(const char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w)); /* unaligned, and no aliasing question */
    return w;
}

/* Does any byte of w equal zero? */
static inline bool
swar_has_zero(uint64_t w)
{
    return ((w - SWAR_ONES) & ~w & SWAR_HIGHS) != 0;
}

/* Does any byte of w equal c? */
static inline bool
swar_has_byte(uint64_t w, unsigned char c)
{
    return swar_has_zero(w ^ (SWAR_ONES * c));
}

/* Is any byte of w below n (n at most 128)? Bytes of 0x80 and above
 * never count. */
static inline bool
swar_has_below(uint64_t w, unsigned char n)
{
    return ((w - SWAR_ONES * n) & ~w & SWAR_HIGHS) != 0;
}
