/* hosts(5) lookup (see hosts.h).
 *
 * Format: fields separated by blanks; the first is an address, the rest
 * are the canonical name and aliases; '#' starts a comment that runs to the
 * end of the line. Example: "10.0.0.7  mcp.internal mcp  # pinned". */
#include "net/hosts.h"

#include <string.h>
#include <strings.h>

#include "base/slice.h"

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The next blank-separated field of line at *pos, or an empty slice. */
static struct slice
next_field(struct slice line, size_t *pos)
{
    size_t i = *pos;
    while (i < line.len && is_blank(line.ptr[i])) {
        i++;
    }
    size_t start = i;
    while (i < line.len && !is_blank(line.ptr[i])) {
        i++;
    }
    *pos = i;
    return slice_make(line.ptr + start, i - start);
}

static bool
name_matches(struct slice field, const char *name, size_t name_len)
{
    if (field.len > 0 && field.ptr[field.len - 1] == '.') {
        field.len--;
    }
    return field.len == name_len && field.len > 0 && strncasecmp(field.ptr, name, name_len) == 0;
}

/* One line (comment already cut off): adds its address when it lists name. */
static bool
scan_line(struct slice line, const char *name, size_t name_len, struct net_addrs *out)
{
    size_t pos = 0;
    struct slice addr = next_field(line, &pos);
    char text[64];
    union net_sockaddr a;
    if (addr.len == 0 || addr.len >= sizeof(text)) {
        return false;
    }
    memcpy(text, addr.ptr, addr.len);
    text[addr.len] = '\0';
    if (!net_addr_parse_ip(text, 0, &a)) {
        return false;
    }
    for (;;) {
        struct slice field = next_field(line, &pos);
        if (field.len == 0) {
            return false;
        }
        if (name_matches(field, name, name_len)) {
            (void)net_addrs_add(out, &a); /* full: the first ones are kept */
            return true;
        }
    }
}

bool
net_hosts_lookup(const char *text, size_t len, const char *name, struct net_addrs *out)
{
    size_t name_len = strlen(name);
    if (name_len > 0 && name[name_len - 1] == '.') {
        name_len--;
    }
    if (name_len == 0) {
        return false;
    }
    bool found = false;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        struct slice line = slice_make(text + i, end - i);
        long hash = slice_find_byte(line, '#');
        if (hash >= 0) {
            line.len = (size_t)hash;
        }
        if (scan_line(line, name, name_len, out)) {
            found = true;
        }
        i = end + 1;
    }
    return found;
}
