/* Internal contract between config.c (the table, loading, the cross-field
 * rules) and config_report.c (--check-config's dump, --help, the start-up
 * log lines). Not for the rest of the program: it uses config.h only.
 *
 * The table is plain data: each row names its variable, how its text is
 * loaded (a generic kind, or a loader in config.c) and how its value is
 * shown (by kind, or one of the shapes in config_report.c). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "config.h"

enum config_kind {
    CONFIG_KIND_TEXT = 0,   /* char *, copied as configured */
    CONFIG_KIND_BOOL_TRUE,  /* bool, false only for "false" (any case) */
    CONFIG_KIND_BOOL_FALSE, /* bool, true only for "true" (any case) */
    CONFIG_KIND_NUMBER,     /* unsigned or uint64_t, decimal with optional sign, [min, max] */
    CONFIG_KIND_DURATION,   /* uint64_t in unit_ns, Go duration text, [min, max] ns */
    CONFIG_KIND_CUSTOM,     /* .load, and .show */
    CONFIG_KIND_COUNT,
};

enum config_var_flag {
    CONFIG_VAR_REQUIRED = 1 << 0,       /* missing ones are listed together (SPEC.md 1.6) */
    CONFIG_VAR_SECRET = 1 << 1,         /* never printed: [redacted] in the dump */
    CONFIG_VAR_RELAXATION = 1 << 2,     /* its relaxed value is refused when PROD_MODE=true */
    CONFIG_VAR_EMPTY_IS_VALUE = 1 << 3, /* set-but-empty is a value, not "unset" */
    CONFIG_VAR_ADDITION = 1 << 4,       /* ours; the Go binary did not read it */
    CONFIG_VAR_DEFAULT_CPUS = 1 << 5,   /* a NUMBER whose default is the online CPU count */
    CONFIG_VAR_ENDS_REQUIRED = 1 << 6,  /* report missing required variables after this one */
};

/* How the dump shows a CUSTOM row's value (config_report.c). */
enum config_show {
    CONFIG_SHOW_BY_KIND = 0,   /* the generic kinds */
    CONFIG_SHOW_TEXT,          /* a char * field: (unset) or the escaped text */
    CONFIG_SHOW_LISTEN,        /* struct config_listen */
    CONFIG_SHOW_LOG_LEVEL,     /* enum log_level */
    CONFIG_SHOW_SECRET,        /* TOKEN_SIGNING_SECRET: [redacted] or (unset) */
    CONFIG_SHOW_PREVIOUS,      /* [redacted] (N secrets) */
    CONFIG_SHOW_REVOKE_BEFORE, /* RFC 3339 with milliseconds */
    CONFIG_SHOW_RATE,          /* a double */
    CONFIG_SHOW_GROUPS,        /* ALLOWED_GROUPS, comma-joined */
    CONFIG_SHOW_KEY_PREFIX,    /* REDIS_KEY_PREFIX; empty means "no prefix" */
    CONFIG_SHOW_CIDRS,         /* address/prefix, comma-joined */
    CONFIG_SHOW_PROXY_HEADER,  /* the canonical header name */
    CONFIG_SHOW_CSP,           /* CSP_FORM_ACTION_EXTRA, comma-joined */
    CONFIG_SHOW_ORIGINS,       /* MCP_ALLOWED_ORIGINS, comma-joined */
    CONFIG_SHOW_COUNT,
};

struct config_loader;
struct config_var;
typedef void config_load_fn(struct config_loader *ld, const struct config_var *v, const char *text);

struct config_var {
    const char *name;
    enum config_kind kind;
    const char *def;      /* default, loaded like a configured value; NULL = none */
    const char *def_help; /* default as shown when it is not a literal value */
    size_t offset;        /* the target field in struct config */
    size_t size;          /* its size (NUMBER: unsigned or uint64_t) */
    uint64_t min, max;    /* NUMBER values; DURATION nanoseconds */
    uint64_t unit_ns;     /* DURATION: the field's unit */
    const char *(*check)(struct slice value); /* TEXT: optional validator */
    config_load_fn *load;                     /* CUSTOM */
    enum config_show show;                    /* CUSTOM */
    unsigned flags;                           /* enum config_var_flag */
    const char *help;                         /* one sentence: what it does and why */
};

/* The i-th row, i < config_var_count(); the table's order is SPEC.md
 * 1.6's load order, then our additions. */
const struct config_var *config_var_get(size_t i);
/* The default as shown in hints and --help: "120s", "(unset: disabled)";
 * "" when there is none. */
const char *config_var_default_hint(const struct config_var *v);

/* The row's field in c, typed. */
#define CONFIG_FIELD(c, v, type) ((type *)(void *)((char *)(c) + (v)->offset))
#define CONFIG_CFIELD(c, v, type) ((const type *)(const void *)((const char *)(c) + (v)->offset))
