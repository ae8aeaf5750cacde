/* Enum <-> string tables (systemd's string-table idiom).
 *
 * A module declares `static const char *const foo_names[FOO_COUNT] = {...}`
 * and uses these helpers, so each user-facing enum has exactly one table and
 * a test can check the table is complete. */
#pragma once

#include <stddef.h>
#include <string.h>

#include "base/slice.h"

/* names[i] for i < count, else fallback. */
static inline const char *
strtab_name(const char *const *names, size_t count, size_t i, const char *fallback)
{
    return i < count && names[i] != NULL ? names[i] : fallback;
}

/* Index of s in names, or -1. */
static inline long
strtab_find(const char *const *names, size_t count, struct slice s)
{
    for (size_t i = 0; i < count; i++) {
        if (names[i] != NULL && slice_eq_cstr(s, names[i])) {
            return (long)i;
        }
    }
    return -1;
}
