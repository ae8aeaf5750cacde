/* HTTP/1 header fields (RFC 9110 5): their syntax, and a capped
 * accumulator that collects them as a parser reports them. The one field
 * layer of both directions: the request parser (http/parser), the upstream
 * response parser (proxy/response), the response writer (http/output), the
 * fields the proxy adds upstream (proxy/headers) and the configured header
 * values (config_check) all use it, so a byte refused in one place cannot
 * slip through another (curl's dynhds).
 *
 * The validators are predicates: each caller words its own refusal. The
 * accumulator takes names and values in pieces (llhttp reports a span in
 * as many pieces as the reads split it), keeps offsets into one capped byte
 * store (the store moves as it grows), and hands out borrowed slices once
 * the head is complete:
 *
 *   field_list_init(&l, head_max, count_max, name_max);
 *   on each name piece:  rc = field_list_add_name(&l, at, len);
 *   on each value piece: rc = field_list_add_value(&l, at, len);
 *   at a value's end:    rc = field_list_end_value(&l);
 *   at the head's end:   fields = field_list_build(&l, &n);
 *   next message:        field_list_clear(&l, true);
 *
 * Pure: no I/O. It knows HTTP's field syntax and nothing of this project:
 * every cap comes from the caller (bounds.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

/* One field as parsed or to be sent: the name as written (compare it
 * case-insensitively) and the value without surrounding whitespace.
 * Borrowed: valid as long as whatever it points into. */
struct field {
    struct slice name;
    struct slice value;
};

/* RFC 9110 5.1: field-name = token (one or more tchar). No length cap:
 * callers that need one check it beside (the parsers cap names as they
 * arrive). */
bool field_name_is_token(struct slice name);
/* RFC 9110 5.5: a field value is VCHAR, obs-text (0x80-0xFF), SP and HTAB.
 * Any other control byte -- CR and LF above all -- or DEL is refused: a
 * value that could end its line would start another header (response
 * splitting, request smuggling). */
bool field_value_is_valid(struct slice value);
/* The narrower check of a value llhttp's strict mode has already read: no
 * NUL, CR or LF, the bytes that would end or truncate the line for a later
 * reader. Every other byte passes (llhttp refused the other controls). */
bool field_value_is_line_safe(struct slice value);

enum field_list_rc {
    FIELD_LIST_OK = 0,
    FIELD_LIST_ERR_COUNT,    /* a field past count_max */
    FIELD_LIST_ERR_NAME_LEN, /* a name past name_max bytes */
    FIELD_LIST_ERR_BYTES,    /* the byte store is full */
    FIELD_LIST_ERR_NO_NAME,  /* a value before any name */
    FIELD_LIST_RC_COUNT,
};

/* A store that grew past this many bytes is given back by
 * field_list_clear(l, true); a smaller one is kept for the next head. */
#define FIELD_LIST_KEEP_BYTES 8192
/* What the first field reserves: a typical head's names and values. */
#define FIELD_LIST_FIRST_BYTES 512

/* Where a field's bytes are in the store (offsets: the store may move). */
struct field_ref {
    uint32_t name_off;
    uint32_t name_len;
    uint32_t value_off;
    uint32_t value_len;
};

/* Read `bytes` freely; change everything only through the functions below,
 * except that the owner may append other bytes of the same head to `bytes`
 * between fields (the request parser keeps the request target there, so
 * one cap covers both). */
struct field_list {
    struct buf bytes;
    size_t count_max;
    size_t name_max;
    struct field_ref *refs;
    size_t count;
    size_t refs_cap;
    struct field *fields; /* built by field_list_build */
    size_t fields_cap;
    int cur; /* which part of the last field the last piece went to */
};

/* An empty list: at most count_max fields, names of at most name_max
 * bytes, bytes_max bytes in the store (names, values and whatever the
 * owner appends). */
void field_list_init(struct field_list *l, size_t bytes_max, size_t count_max, size_t name_max);
/* Frees the memory; the list is then empty (init it again to reuse). */
void field_list_cleanup(struct field_list *l);
/* Forgets every field and byte, for the next head. shrink: a store that
 * grew past FIELD_LIST_KEEP_BYTES is freed (one big head does not pin its
 * memory for the connection's life). */
void field_list_clear(struct field_list *l, bool shrink);
/* Empties the list and frees its memory; it stays usable with the same
 * limits (the next field allocates again). For a holder that lives long
 * after its head was used, such as a stream. */
void field_list_release(struct field_list *l);

/* Appends a piece of a name; the first piece after a value (or of the
 * first field) starts a new field. On an error nothing is added and the
 * list should be abandoned with the head. */
enum field_list_rc field_list_add_name(struct field_list *l, const char *at, size_t len)
    __attribute__((warn_unused_result));
/* Appends a piece of the current field's value. */
enum field_list_rc field_list_add_value(struct field_list *l, const char *at, size_t len)
    __attribute__((warn_unused_result));
/* The current field's value is complete (it may be empty). */
enum field_list_rc field_list_end_value(struct field_list *l) __attribute__((warn_unused_result));

/* How many fields were started. */
size_t field_list_count(const struct field_list *l);
/* The fields as slices into the store, values trimmed of optional
 * whitespace (RFC 9110 5.5), in order; *out_count of them. Borrowed: valid
 * until the next change to the list. Nothing is validated here: the caller
 * checks names and values with the predicates above, in its own order. */
const struct field *field_list_build(struct field_list *l, size_t *out_count);
