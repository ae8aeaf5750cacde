#include "ratelimit_budget.h"

#include <openssl/sha.h>
#include <string.h>

#include "base/hex.h"
#include "base/ipaddr.h"
#include "base/xalloc.h"

struct client_budget {
    char *id; /* decoded */
    size_t len;
    unsigned limit;
};

struct cidr_budget {
    struct ipcidr range;
    unsigned limit;
};

struct ratelimit_budgets {
    unsigned per_min[METRICS_ENDPOINT_COUNT];
    struct client_budget *clients;
    size_t client_count;
    struct cidr_budget *cidrs;
    size_t cidr_count;
};

static bool
is_space(char c)
{
    return c == ' ' || c == '\t';
}

static struct slice
trim(struct slice s)
{
    while (s.len > 0 && is_space(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && is_space(s.ptr[s.len - 1])) {
        s.len--;
    }
    return s;
}

/* The next comma-separated entry of *rest (trimmed); false at the end. */
static bool
next_entry(struct slice *rest, struct slice *entry)
{
    if (rest->ptr == NULL || rest->len == 0) {
        return false;
    }
    const char *comma = memchr(rest->ptr, ',', rest->len);
    size_t n = comma != NULL ? (size_t)(comma - rest->ptr) : rest->len;
    *entry = trim(slice_make(rest->ptr, n));
    if (comma != NULL) {
        *rest = slice_make(comma + 1, rest->len - n - 1);
    } else {
        *rest = slice_make(rest->ptr + n, 0);
    }
    return true;
}

/* "<name>=<n>" split at the last '='. */
static const char *
split_budget(struct slice entry, struct slice *name, unsigned *limit)
{
    if (entry.len == 0) {
        return "has an empty entry; separate entries with one comma";
    }
    const char *eq = NULL;
    for (size_t i = entry.len; i > 0; i--) {
        if (entry.ptr[i - 1] == '=') {
            eq = entry.ptr + i - 1;
            break;
        }
    }
    if (eq == NULL) {
        return "has an entry without \"=<requests per minute>\"";
    }
    *name = trim(slice_make(entry.ptr, (size_t)(eq - entry.ptr)));
    struct slice num = trim(slice_make(eq + 1, entry.len - (size_t)(eq - entry.ptr) - 1));
    if (name->len == 0) {
        return "has an entry with nothing before '='";
    }
    uint64_t v = 0;
    if (num.len == 0 || num.len > 7) {
        return "has a budget that is not a whole number from 1 to 1000000";
    }
    for (size_t i = 0; i < num.len; i++) {
        if (num.ptr[i] < '0' || num.ptr[i] > '9') {
            return "has a budget that is not a whole number from 1 to 1000000";
        }
        v = v * 10 + (uint64_t)(num.ptr[i] - '0');
    }
    if (v < 1 || v > BOUNDS_RATE_PER_WINDOW_MAX) {
        return "has a budget that is not a whole number from 1 to 1000000";
    }
    *limit = (unsigned)v;
    return NULL;
}

/* Percent-decodes a client_id into out (BOUNDS_RATE_CLIENT_ID_MAX bytes). */
static const char *
decode_client(struct slice in, char *out, size_t *out_len)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        if (c == '%') {
            if (i + 2 >= in.len) {
                return "has a '%' not followed by two hex digits (write a '%' as %25)";
            }
            int hi = hex_value((unsigned char)in.ptr[i + 1]);
            int lo = hex_value((unsigned char)in.ptr[i + 2]);
            if (hi < 0 || lo < 0) {
                return "has a '%' not followed by two hex digits (write a '%' as %25)";
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c < 0x21 || c == 0x7f) {
            return "has a client_id with a space or control byte";
        }
        if (n == BOUNDS_RATE_CLIENT_ID_MAX) {
            return "has a client_id longer than 2048 bytes";
        }
        out[n++] = (char)c;
    }
    *out_len = n;
    return NULL;
}

/* Parses the client list; with b non-NULL also records it. */
static const char *
parse_clients(struct slice text, struct ratelimit_budgets *b)
{
    struct slice rest = text, entry;
    size_t count = 0;
    char *ids = xmalloc((size_t)BOUNDS_RATE_NAMED_BUDGETS_MAX * BOUNDS_RATE_CLIENT_ID_MAX);
    size_t lens[BOUNDS_RATE_NAMED_BUDGETS_MAX];
    unsigned limits[BOUNDS_RATE_NAMED_BUDGETS_MAX];
    const char *why = NULL;
    if (trim(text).len == 0) {
        rest = SLICE_NULL;
    }
    while (why == NULL && next_entry(&rest, &entry)) {
        struct slice name;
        unsigned limit = 0;
        if ((why = split_budget(entry, &name, &limit)) != NULL) {
            break;
        }
        if (count == BOUNDS_RATE_NAMED_BUDGETS_MAX) {
            why = "has more than 256 entries";
            break;
        }
        char *id = ids + count * BOUNDS_RATE_CLIENT_ID_MAX;
        if ((why = decode_client(name, id, &lens[count])) != NULL) {
            break;
        }
        for (size_t i = 0; i < count; i++) {
            if (lens[i] == lens[count] &&
                memcmp(ids + i * BOUNDS_RATE_CLIENT_ID_MAX, id, lens[i]) == 0) {
                why = "names one client_id twice";
            }
        }
        limits[count++] = limit;
    }
    if (why == NULL && b != NULL && count > 0) {
        b->clients = xcalloc(count, sizeof(*b->clients));
        b->client_count = count;
        for (size_t i = 0; i < count; i++) {
            b->clients[i].id = xstrndup(ids + i * BOUNDS_RATE_CLIENT_ID_MAX, lens[i]);
            b->clients[i].len = lens[i];
            b->clients[i].limit = limits[i];
        }
    }
    xfree(ids);
    return why;
}

static const char *
parse_cidrs(struct slice text, struct ratelimit_budgets *b)
{
    struct slice rest = text, entry;
    size_t count = 0;
    struct cidr_budget found[BOUNDS_RATE_NAMED_BUDGETS_MAX];
    if (trim(text).len == 0) {
        rest = SLICE_NULL;
    }
    while (next_entry(&rest, &entry)) {
        struct slice name;
        unsigned limit = 0;
        const char *why = split_budget(entry, &name, &limit);
        if (why != NULL) {
            return why;
        }
        if (count == BOUNDS_RATE_NAMED_BUDGETS_MAX) {
            return "has more than 256 entries";
        }
        struct cidr_budget *c = &found[count];
        if (!ipcidr_parse(name, &c->range)) {
            return "has a range that is not address/prefix, e.g. 160.79.104.0/21=1200";
        }
        c->range.addr = ipaddr_mask(c->range.addr, c->range.prefix);
        for (size_t i = 0; i < count; i++) {
            if (found[i].range.prefix == c->range.prefix &&
                ipaddr_eq(&found[i].range.addr, &c->range.addr)) {
                return "names one range twice";
            }
        }
        c->limit = limit;
        count++;
    }
    if (b != NULL && count > 0) {
        b->cidrs = xcalloc(count, sizeof(*b->cidrs));
        memcpy(b->cidrs, found, count * sizeof(*found));
        b->cidr_count = count;
    }
    return NULL;
}

const char *
ratelimit_budget_check_clients(struct slice text)
{
    return parse_clients(text, NULL);
}

const char *
ratelimit_budget_check_cidrs(struct slice text)
{
    return parse_cidrs(text, NULL);
}

struct ratelimit_budgets *
ratelimit_budgets_new(const unsigned per_min[METRICS_ENDPOINT_COUNT], const char *clients,
                      const char *cidrs)
{
    struct ratelimit_budgets *b = xcalloc(1, sizeof(*b));
    memcpy(b->per_min, per_min, sizeof(b->per_min));
    /* Validated by the configuration already: a failure here leaves the
     * list empty rather than half-built. */
    if (parse_clients(slice_from_cstr(clients), b) != NULL) {
        b->client_count = 0;
    }
    if (parse_cidrs(slice_from_cstr(cidrs), b) != NULL) {
        b->cidr_count = 0;
    }
    return b;
}

void
ratelimit_budgets_free(struct ratelimit_budgets *b)
{
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < b->client_count; i++) {
        xfree(b->clients[i].id);
    }
    xfree(b->clients);
    xfree(b->cidrs);
    xfree(b);
}

bool
ratelimit_budget_client_aware(enum metrics_endpoint bucket)
{
    return bucket == METRICS_ENDPOINT_TOKEN || bucket == METRICS_ENDPOINT_AUTHORIZE;
}

unsigned
ratelimit_budget_select(const struct ratelimit_budgets *b, enum metrics_endpoint bucket,
                        struct slice client_id, const struct ipaddr *addr,
                        enum ratelimit_budget_source *source)
{
    enum ratelimit_budget_source src = RATELIMIT_BUDGET_ENDPOINT;
    unsigned limit = (unsigned)bucket < METRICS_ENDPOINT_COUNT ? b->per_min[bucket] : 0;
    if (ratelimit_budget_client_aware(bucket)) {
        bool named = false;
        for (size_t i = 0; client_id.len > 0 && i < b->client_count; i++) {
            if (b->clients[i].len == client_id.len &&
                memcmp(b->clients[i].id, client_id.ptr, client_id.len) == 0) {
                limit = b->clients[i].limit;
                src = RATELIMIT_BUDGET_CLIENT;
                named = true;
                break;
            }
        }
        const struct cidr_budget *best = NULL;
        for (size_t i = 0; !named && addr != NULL && i < b->cidr_count; i++) {
            const struct cidr_budget *c = &b->cidrs[i];
            if (ipcidr_contains(&c->range, addr) &&
                (best == NULL || c->range.prefix > best->range.prefix)) {
                best = c;
            }
        }
        if (best != NULL) {
            limit = best->limit;
            src = RATELIMIT_BUDGET_CIDR;
        }
    }
    if (source != NULL) {
        *source = src;
    }
    return limit;
}

unsigned
ratelimit_budget_ceiling(const struct ratelimit_budgets *b, enum metrics_endpoint bucket,
                         const struct ipaddr *addr)
{
    if (!ratelimit_budget_client_aware(bucket)) {
        return 0;
    }
    unsigned most = ratelimit_budget_select(b, bucket, SLICE_NULL, addr, NULL);
    for (size_t i = 0; i < b->client_count; i++) {
        most = b->clients[i].limit > most ? b->clients[i].limit : most;
    }
    return most * BOUNDS_RATE_CLIENTS_PER_ADDRESS_FACTOR;
}

void
ratelimit_budget_ceiling_key(const char *ip_key, char out[RATELIMIT_BUDGET_KEY_SIZE])
{
    size_t n = strnlen(ip_key, BOUNDS_CLIENT_IP_KEY_MAX);
    memcpy(out, ip_key, n);
    memcpy(out + n, " *", 3);
}

void
ratelimit_budget_key(enum metrics_endpoint bucket, const char *ip_key, struct slice client_id,
                     char out[RATELIMIT_BUDGET_KEY_SIZE])
{
    size_t n = strnlen(ip_key, BOUNDS_CLIENT_IP_KEY_MAX);
    memcpy(out, ip_key, n);
    if (ratelimit_budget_client_aware(bucket) && client_id.len > 0) {
        unsigned char digest[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)client_id.ptr, client_id.len, digest);
        out[n++] = ' ';
        hex_encode(digest, 16, out + n);
        n += 32;
    }
    out[n] = '\0';
}

static bool
plain_key_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == ':' || c == '/' || c == '_' || c == '-';
}

int
ratelimit_budget_store_key(enum metrics_endpoint bucket, const char *key, struct buf *out)
{
    static const char digits[] = "0123456789ABCDEF";
    if (buf_append_str(out, "ratelimit:") != 0 ||
        buf_append_str(out, metrics_endpoint_str(bucket)) != 0 || buf_append_byte(out, ':') != 0) {
        return -1;
    }
    size_t n = strnlen(key, RATELIMIT_BUDGET_KEY_SIZE);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        int rc = plain_key_byte(c) ? buf_append_byte(out, (char)c)
                                   : buf_appendf(out, "%%%c%c", digits[c >> 4], digits[c & 15]);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}
