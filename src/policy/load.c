#include "policy/load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "base/scope.h"
#include "base/xalloc.h"
#include "bounds.h"
#include "policy/policy_int.h"

/* Where the walk is, for error messages: the rule being read (index -1
 * outside rules) and its name once known. */
struct ctx {
    yaml_document_t *doc;
    struct buf *err;
    long rule_index;
    const char *rule_name;
};

static int fail(struct ctx *x, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct ctx *x, const yaml_node_t *at, const char *fmt, ...)
{
    buf_appendf_best(x->err,
                     "line %lu: ", at != NULL ? (unsigned long)at->start_mark.line + 1 : 1UL);
    if (x->rule_index >= 0) {
        buf_appendf_best(x->err, "rules[%ld]", x->rule_index);
        if (x->rule_name != NULL && x->rule_name[0] != '\0') {
            buf_appendf_best(x->err, " \"%s\"", x->rule_name);
        }
        buf_appendf_best(x->err, ": ");
    }
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf_best(x->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Error text is best effort: a message cut at the buffer's cap still
 * names the line, which comes first. */
static void
append_best(struct buf *b, struct slice s)
{
    if (buf_append_json_escaped(b, s) != 0) {
        return;
    }
}

static yaml_node_t *
node(struct ctx *x, int id)
{
    return yaml_document_get_node(x->doc, id);
}

static struct slice
scalar(const yaml_node_t *n)
{
    return slice_make((const char *)n->data.scalar.value, n->data.scalar.length);
}

/* Printable text: no control bytes (NUL included: a double-quoted "\0"
 * is valid YAML), at most BOUNDS_POLICY_STRING_MAX bytes, not empty.
 * libyaml has already refused invalid UTF-8. */
static int
want_text(struct ctx *x, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        return fail(x, n, "%s must be a string", what);
    }
    struct slice s = scalar(n);
    if (s.len == 0) {
        return fail(x, n, "%s must not be empty", what);
    }
    if (s.len > BOUNDS_POLICY_STRING_MAX) {
        return fail(x, n, "%s is longer than %d bytes", what, BOUNDS_POLICY_STRING_MAX);
    }
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c < 0x20 || c == 0x7f) {
            return fail(x, n, "%s holds a control character", what);
        }
    }
    return 0;
}

static bool
is_ascii_token(struct slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c <= 0x20 || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

/* Checks that a mapping's keys are strings, known and not repeated; every
 * caller then looks its keys up with get(). */
static int
check_keys(struct ctx *x, const yaml_node_t *map, const char *what, const char *const *known)
{
    if (map->type != YAML_MAPPING_NODE) {
        return fail(x, map, "%s must be a mapping", what);
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(x, p->key);
        if (k == NULL || k->type != YAML_SCALAR_NODE) {
            return fail(x, k != NULL ? k : map, "%s: keys must be strings", what);
        }
        bool ok = false;
        for (size_t i = 0; known[i] != NULL && !ok; i++) {
            ok = slice_eq_cstr(scalar(k), known[i]);
        }
        if (!ok) {
            struct slice key = scalar(k);
            fail(x, k, "%s: unknown key \"", what);
            append_best(x->err, slice_make(key.ptr, key.len < 64 ? key.len : 64));
            buf_appendf_best(x->err, "\" (known:");
            for (size_t i = 0; known[i] != NULL; i++) {
                buf_appendf_best(x->err, " %s", known[i]);
            }
            buf_appendf_best(x->err, ")");
            return -1;
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            if (slice_eq(scalar(node(x, q->key)), scalar(k))) {
                return fail(x, k, "%s: key \"%.*s\" appears twice", what, (int)scalar(k).len,
                            scalar(k).ptr);
            }
        }
    }
    return 0;
}

/* The value of key in a mapping check_keys accepted, or NULL. */
static yaml_node_t *
get(struct ctx *x, const yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        if (slice_eq_cstr(scalar(node(x, p->key)), key)) {
            return node(x, p->value);
        }
    }
    return NULL;
}

enum kind { KIND_TEXT, KIND_METHOD, KIND_SCOPE, KIND_DOMAIN, KIND_TOKEN };

static int
check_item(struct ctx *x, const yaml_node_t *n, const char *what, enum kind kind)
{
    if (want_text(x, n, what) != 0) {
        return -1;
    }
    struct slice s = scalar(n);
    switch (kind) {
    case KIND_TEXT:
        return 0;
    case KIND_METHOD:
    case KIND_TOKEN:
        return is_ascii_token(s) ? 0
                                 : fail(x, n, "%s must be printable ASCII without spaces", what);
    case KIND_SCOPE:
        return scope_token_is_valid(s)
                   ? 0
                   : fail(x, n, "%s is not a valid scope token (RFC 6749 3.3)", what);
    case KIND_DOMAIN:
        for (size_t i = 0; i < s.len; i++) {
            char c = s.ptr[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-')) {
                return fail(x, n, "%s must be a domain name (letters, digits, '.', '-'; no '@')",
                            what);
            }
        }
        return 0;
    }
    return 0;
}

/* A list: a sequence of strings, or one string standing for a list of one
 * (operators write `groups: admins` as often as `groups: [admins]`). */
static int
load_list(struct ctx *x, const yaml_node_t *n, const char *what, enum kind kind,
          struct policy_list *out)
{
    const yaml_node_item_t *start = NULL, *top = NULL;
    yaml_node_item_t one = 0;
    if (n->type == YAML_SCALAR_NODE) {
        one = (yaml_node_item_t)(n - x->doc->nodes.start) + 1;
        start = &one;
        top = &one + 1;
    } else if (n->type == YAML_SEQUENCE_NODE) {
        start = n->data.sequence.items.start;
        top = n->data.sequence.items.top;
    } else {
        return fail(x, n, "%s must be a list of strings", what);
    }
    size_t count = (size_t)(top - start);
    if (count == 0) {
        return fail(x, n, "%s must not be an empty list (leave the key out instead)", what);
    }
    if (count > BOUNDS_POLICY_LIST_MAX) {
        return fail(x, n, "%s has more than %d entries", what, BOUNDS_POLICY_LIST_MAX);
    }
    out->items = xcalloc(count, sizeof(*out->items));
    for (const yaml_node_item_t *it = start; it < top; it++) {
        yaml_node_t *v = node(x, *it);
        if (check_item(x, v, what, kind) != 0) {
            return -1;
        }
        char *s = xstrndup(scalar(v).ptr, scalar(v).len);
        if (kind == KIND_DOMAIN) {
            for (char *c = s; *c != '\0'; c++) {
                *c = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c;
            }
        }
        out->items[out->count++] = s;
    }
    return 0;
}

static int
load_effect(struct ctx *x, const yaml_node_t *n, const char *what, enum policy_effect *out)
{
    if (n->type == YAML_SCALAR_NODE && slice_eq_cstr(scalar(n), "allow")) {
        *out = POLICY_ALLOW;
        return 0;
    }
    if (n->type == YAML_SCALAR_NODE && slice_eq_cstr(scalar(n), "deny")) {
        *out = POLICY_DENY;
        return 0;
    }
    return fail(x, n, "%s must be allow or deny", what);
}

static int
load_max_age(struct ctx *x, const yaml_node_t *n, int64_t *out)
{
    struct slice s = n->type == YAML_SCALAR_NODE ? scalar(n) : SLICE_NULL;
    int64_t v = 0;
    bool ok = s.len > 0 && s.len <= 10;
    for (size_t i = 0; ok && i < s.len; i++) {
        ok = s.ptr[i] >= '0' && s.ptr[i] <= '9';
        v = v * 10 + (s.ptr[i] - '0');
    }
    if (!ok || v > BOUNDS_POLICY_MAX_AGE_MAX_S) {
        return fail(x, n, "step_up max_age must be a whole number of seconds from 0 to %d",
                    BOUNDS_POLICY_MAX_AGE_MAX_S);
    }
    *out = v;
    return 0;
}

static int
load_step_ups(struct ctx *x, const yaml_node_t *map, struct policy *p)
{
    static const char *const known[] = {"acr", "max_age", NULL};
    if (map->type != YAML_MAPPING_NODE) {
        return fail(x, map, "step_up must be a mapping from a scope to its requirement");
    }
    size_t count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (count > BOUNDS_POLICY_STEP_UPS_MAX) {
        return fail(x, map, "step_up has more than %d scopes", BOUNDS_POLICY_STEP_UPS_MAX);
    }
    p->step_ups = xcalloc(count > 0 ? count : 1, sizeof(*p->step_ups));
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *k = node(x, pair->key), *v = node(x, pair->value);
        if (check_item(x, k, "a step_up key", KIND_SCOPE) != 0) {
            return -1;
        }
        if (policy_step_up_find(p, scalar(k)) != NULL) {
            return fail(x, k, "step_up scope \"%.*s\" appears twice", (int)scalar(k).len,
                        scalar(k).ptr);
        }
        struct policy_step_up *s = &p->step_ups[p->step_up_count++];
        s->scope = xstrndup(scalar(k).ptr, scalar(k).len);
        s->max_age = -1;
        if (check_keys(x, v, "a step_up requirement", known) != 0) {
            return -1;
        }
        yaml_node_t *acr = get(x, v, "acr"), *age = get(x, v, "max_age");
        if (acr == NULL && age == NULL) {
            return fail(x, v, "step_up \"%s\" needs acr, max_age or both", s->scope);
        }
        if (acr != NULL) {
            struct policy_list l = {0};
            int rc = load_list(x, acr, "step_up acr", KIND_TOKEN, &l);
            s->acr_values = (const char *const *)l.items;
            s->acr_count = l.count;
            if (rc != 0) {
                return -1;
            }
        }
        if (age != NULL && load_max_age(x, age, &s->max_age) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Appends token to a space-joined set unless it is there already. */
static void
join_scope(struct buf *b, const char *token)
{
    if (scope_has(buf_cstr(b), slice_from_cstr(token))) {
        return;
    }
    /* need's cap holds every scope of a rule plus its step_up scope. */
    if (b->len > 0 && buf_append_byte(b, ' ') != 0) {
        return;
    }
    if (buf_append_str(b, token) != 0) {
        return;
    }
}

static int
load_match(struct ctx *x, const yaml_node_t *match, struct policy_rule *r)
{
    static const char *const match_keys[] = {"method", "name", NULL};
    yaml_node_t *method = NULL, *name = NULL;
    if (match != NULL) {
        if (check_keys(x, match, "match", match_keys) != 0) {
            return -1;
        }
        method = get(x, match, "method");
        name = get(x, match, "name");
    }
    if (method != NULL) {
        if (load_list(x, method, "match.method", KIND_METHOD, &r->methods) != 0) {
            return -1;
        }
    } else {
        /* The common case, a rule about tools, needs no method line. */
        r->methods.items = xcalloc(1, sizeof(char *));
        r->methods.items[0] = xstrdup("tools/call");
        r->methods.count = 1;
    }
    if (name != NULL && load_list(x, name, "match.name", KIND_TEXT, &r->names) != 0) {
        return -1;
    }
    return 0;
}

static int
load_require(struct ctx *x, const yaml_node_t *req, const struct policy *p, struct policy_rule *r)
{
    static const char *const require_keys[] = {"groups", "scopes", "email_domains", "step_up",
                                               NULL};
    if (r->effect == POLICY_DENY) {
        return fail(x, req,
                    "require has no meaning on a deny rule (a deny rule denies whoever calls)");
    }
    if (check_keys(x, req, "require", require_keys) != 0) {
        return -1;
    }
    yaml_node_t *v;
    if ((v = get(x, req, "groups")) != NULL &&
        load_list(x, v, "require.groups", KIND_TEXT, &r->groups) != 0) {
        return -1;
    }
    if ((v = get(x, req, "scopes")) != NULL &&
        load_list(x, v, "require.scopes", KIND_SCOPE, &r->scopes) != 0) {
        return -1;
    }
    if ((v = get(x, req, "email_domains")) != NULL &&
        load_list(x, v, "require.email_domains", KIND_DOMAIN, &r->email_domains) != 0) {
        return -1;
    }
    if ((v = get(x, req, "step_up")) != NULL) {
        if (check_item(x, v, "require.step_up", KIND_SCOPE) != 0) {
            return -1;
        }
        r->step_up = policy_step_up_find(p, scalar(v));
        if (r->step_up == NULL) {
            return fail(x, v, "require.step_up \"%.*s\" is not a scope under step_up",
                        (int)scalar(v).len, scalar(v).ptr);
        }
    }
    return 0;
}

/* The name first, so every later error can quote it. */
static int
load_rule_name(struct ctx *x, const yaml_node_t *n, struct policy_rule *r)
{
    r->name = xstrdup("");
    yaml_node_t *name = n->type == YAML_MAPPING_NODE ? get(x, n, "name") : NULL;
    if (name == NULL) {
        return 0;
    }
    if (name->type != YAML_SCALAR_NODE || scalar(name).len == 0 ||
        scalar(name).len > BOUNDS_POLICY_RULE_NAME_MAX || !is_ascii_token(scalar(name))) {
        return fail(x, name, "name must be 1 to %d printable ASCII characters without spaces",
                    BOUNDS_POLICY_RULE_NAME_MAX);
    }
    xfree(r->name);
    r->name = xstrndup(scalar(name).ptr, scalar(name).len);
    x->rule_name = r->name;
    return 0;
}

static int
load_rule(struct ctx *x, const yaml_node_t *n, const struct policy *p, struct policy_rule *r)
{
    static const char *const rule_keys[] = {"name", "match", "require", "effect", NULL};
    r->line = (unsigned)n->start_mark.line + 1;
    if (load_rule_name(x, n, r) != 0 || check_keys(x, n, "a rule", rule_keys) != 0) {
        return -1;
    }
    yaml_node_t *effect = get(x, n, "effect");
    if (effect == NULL) {
        return fail(x, n, "effect (allow or deny) is required");
    }
    if (load_effect(x, effect, "effect", &r->effect) != 0 ||
        load_match(x, get(x, n, "match"), r) != 0) {
        return -1;
    }
    yaml_node_t *req = get(x, n, "require");
    if (req != NULL && load_require(x, req, p, r) != 0) {
        return -1;
    }
    struct buf need;
    buf_init(&need,
             BOUNDS_POLICY_LIST_MAX * (BOUNDS_POLICY_STRING_MAX + 1) + BOUNDS_POLICY_STRING_MAX);
    for (size_t i = 0; i < r->scopes.count; i++) {
        join_scope(&need, r->scopes.items[i]);
    }
    if (r->step_up != NULL) {
        join_scope(&need, r->step_up->scope);
    }
    r->required_scope = xstrdup(buf_cstr(&need) != NULL ? buf_cstr(&need) : "");
    buf_cleanup(&need);
    return 0;
}

static int
load_rules(struct ctx *x, const yaml_node_t *seq, struct policy *p)
{
    if (seq->type != YAML_SEQUENCE_NODE) {
        return fail(x, seq, "rules must be a list");
    }
    size_t count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (count > BOUNDS_POLICY_RULES_MAX) {
        return fail(x, seq, "rules has more than %d entries", BOUNDS_POLICY_RULES_MAX);
    }
    p->rules = xcalloc(count > 0 ? count : 1, sizeof(*p->rules));
    for (size_t i = 0; i < count; i++) {
        x->rule_index = (long)i;
        x->rule_name = NULL;
        yaml_node_t *n = node(x, seq->data.sequence.items.start[i]);
        p->rule_count++;
        if (load_rule(x, n, p, &p->rules[i]) != 0) {
            return -1;
        }
    }
    x->rule_index = -1;
    x->rule_name = NULL;
    return 0;
}

static int
load_document(struct ctx *x, struct policy *p)
{
    static const char *const top_keys[] = {"default", "step_up", "rules", NULL};
    yaml_node_t *root = yaml_document_get_root_node(x->doc);
    if (root == NULL) {
        return fail(x, NULL, "the file holds no YAML document (it is empty)");
    }
    if (check_keys(x, root, "the file", top_keys) != 0) {
        return -1;
    }
    yaml_node_t *v;
    p->default_effect = POLICY_ALLOW;
    if ((v = get(x, root, "default")) != NULL &&
        load_effect(x, v, "default", &p->default_effect) != 0) {
        return -1;
    }
    /* step_up before rules, whatever their order in the file: rules name it. */
    if ((v = get(x, root, "step_up")) != NULL && load_step_ups(x, v, p) != 0) {
        return -1;
    }
    if ((v = get(x, root, "rules")) != NULL && load_rules(x, v, p) != 0) {
        return -1;
    }
    return 0;
}

struct policy *
policy_load_parse(struct slice text, struct buf *err)
{
    if (text.len > BOUNDS_POLICY_FILE_MAX) {
        buf_appendf_best(err, "the file is larger than %d bytes", BOUNDS_POLICY_FILE_MAX);
        return NULL;
    }
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    bool have_doc = false, have_extra = false;
    struct policy *p = NULL;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)(text.ptr != NULL ? text.ptr : ""),
                                 text.len);
    if (!yaml_parser_load(&parser, &doc)) {
        buf_appendf_best(err, "line %lu: not valid YAML: %s",
                         (unsigned long)parser.problem_mark.line + 1,
                         parser.problem != NULL ? parser.problem : "parse error");
        goto out;
    }
    have_doc = true;
    struct ctx x = {.doc = &doc, .err = err, .rule_index = -1};
    p = xcalloc(1, sizeof(*p));
    atomic_init(&p->refs, 1);
    if (load_document(&x, p) != 0) {
        goto fail;
    }
    /* One document only: a second one would be silently ignored. */
    if (!yaml_parser_load(&parser, &extra)) {
        buf_appendf_best(err, "line %lu: not valid YAML: %s",
                         (unsigned long)parser.problem_mark.line + 1,
                         parser.problem != NULL ? parser.problem : "parse error");
        goto fail;
    }
    have_extra = true;
    if (yaml_document_get_root_node(&extra) != NULL) {
        buf_appendf_best(err, "line %lu: the file holds more than one YAML document",
                         (unsigned long)yaml_document_get_root_node(&extra)->start_mark.line + 1);
        goto fail;
    }
    goto out;
fail:
    policy_destroy(p);
    p = NULL;
out:
    if (have_extra) {
        yaml_document_delete(&extra);
    }
    if (have_doc) {
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return p;
}

struct policy *
policy_load_file(const char *path, struct buf *err)
{
    struct policy *p = NULL;
    char *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        buf_appendf_best(err, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        buf_appendf_best(err, "not a regular file");
        goto out;
    }
    /* One byte more than the cap, so a larger file is seen as larger. */
    data = xmalloc(BOUNDS_POLICY_FILE_MAX + 1);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, data + len, BOUNDS_POLICY_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            buf_appendf_best(err, "cannot read: %s", strerror(errno));
            goto out;
        }
        if (n == 0 || (len += (size_t)n) > BOUNDS_POLICY_FILE_MAX) {
            break;
        }
    }
    p = policy_load_parse(slice_make(data, len), err);
out:
    xfree(data);
    close(fd);
    return p;
}

int
policy_load_check_scopes(const struct policy *p, const char *scopes_supported, struct buf *err)
{
    for (size_t i = 0; i < p->step_up_count; i++) {
        if (!scope_has(scopes_supported, slice_from_cstr(p->step_ups[i].scope))) {
            buf_appendf_best(err, "step_up scope \"%s\" is not in MCP_SCOPES_SUPPORTED",
                             p->step_ups[i].scope);
            return -1;
        }
    }
    return 0;
}

struct policy *
policy_load_configured(const char *path, const char *scopes_supported, struct buf *err)
{
    struct policy *p = policy_load_file(path, err);
    if (p != NULL && policy_load_check_scopes(p, scopes_supported, err) != 0) {
        policy_release(p);
        p = NULL;
    }
    return p;
}
