#include "policy/glob.h"

#include <stdint.h>

#include "base/utf8.h"

static bool
byte_eq(char a, char b, bool fold_case)
{
    if (a == b) {
        return true;
    }
    return fold_case && slice_case_eq_n(&a, &b, 1);
}

/* The length of the code point at name[i] (1 for a byte that does not
 * start a valid sequence, so `?` still advances). */
static size_t
code_point_len(struct slice name, size_t i)
{
    size_t n = utf8_seq_len((const unsigned char *)name.ptr + i, name.len - i);
    return n == 0 ? 1 : n;
}

/* The classic single-backtrack matcher: on a mismatch, retry from the last
 * `*` with one more byte swallowed. Only the last star needs remembering,
 * because a later star can absorb anything an earlier one could. */
bool
policy_glob_match(struct slice pattern, struct slice name, bool fold_case)
{
    size_t p = 0, n = 0;
    size_t star_p = SIZE_MAX, star_n = 0;
    while (n < name.len) {
        if (p < pattern.len && pattern.ptr[p] == '*') {
            star_p = ++p;
            star_n = n;
        } else if (p < pattern.len && pattern.ptr[p] == '?') {
            p++;
            n += code_point_len(name, n);
        } else if (p < pattern.len && byte_eq(pattern.ptr[p], name.ptr[n], fold_case)) {
            p++;
            n++;
        } else if (star_p != SIZE_MAX) {
            p = star_p;
            n = ++star_n;
        } else {
            return false;
        }
    }
    while (p < pattern.len && pattern.ptr[p] == '*') {
        p++;
    }
    return p == pattern.len;
}
