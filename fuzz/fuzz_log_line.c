/* Fuzz target: the JSON log line builder (src/log.c) and the escaper under
 * it (buf_append_json_escaped), which take untrusted text -- paths, ids,
 * JSON-RPC methods and tool names -- into every access-log line.
 *
 * Property: the same bytes as the builder before issue 13, kept in
 * tests/unit/support/log_reference.c, on every input; and the per-second
 * time cache gives rfc3339_format_ms's text.
 *
 * Input: 8 bytes of Unix milliseconds, 1 flag byte (bit 0: build the line
 * while another line of the thread is open, so it gets its own buffer;
 * bit 1: the thread is attached and reuses its buffer; bits 2-7: the cap
 * of a separate escaper check), 1 byte msg length + msg, then fields, each
 * an op byte, a key (1 length byte + bytes) and a value: 2 length bytes +
 * bytes for text, 8 bytes for numbers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/rfc3339.h"
#include "log.h"
#include "log_reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    const uint8_t *p;
    size_t left;
};

static bool
take(struct input *in, size_t n, const uint8_t **out)
{
    if (in->left < n) {
        return false;
    }
    *out = in->p;
    in->p += n;
    in->left -= n;
    return true;
}

static uint64_t
take_u64(struct input *in)
{
    const uint8_t *b;
    uint64_t v = 0;
    if (take(in, 8, &b)) {
        memcpy(&v, b, 8);
    }
    return v;
}

/* A length-prefixed piece of text: 1 or 2 length bytes. */
static struct slice
take_text(struct input *in, bool wide)
{
    const uint8_t *b;
    size_t n = 0;
    if (wide && take(in, 2, &b)) {
        n = (size_t)b[0] << 8 | b[1];
    } else if (!wide && take(in, 1, &b)) {
        n = b[0];
    }
    if (n > in->left) {
        n = in->left;
    }
    const uint8_t *t = in->p;
    in->p += n;
    in->left -= n;
    return slice_make((const char *)t, n);
}

/* Keys and msg are C strings: cut at the first NUL. */
static void
to_cstr(struct slice s, char *out, size_t cap)
{
    size_t n = strnlen(s.ptr, s.len < cap - 1 ? s.len : cap - 1);
    memcpy(out, s.ptr, n);
    out[n] = '\0';
}

static void
check_time(int64_t ms)
{
    char want[RFC3339_MS_LEN + 1];
    char got[RFC3339_MS_LEN + 1];
    /* The years the formatter is made for, and a little either side. */
    ms %= 400000000000000LL;
    for (int i = 0; i < 3; i++) {
        int64_t t = ms + (int64_t[]){0, 1, 1000}[i];
        rfc3339_format_ms(t, want);
        log_format_time(t, got);
        if (memcmp(want, got, sizeof(want)) != 0) {
            abort();
        }
    }
}

static void
check_escaper(struct slice s, size_t cap)
{
    struct buf want;
    struct buf got;
    buf_init(&want, cap);
    buf_init(&got, cap);
    if (buf_append(&want, "ab", cap >= 2 ? 2 : 0) != 0 ||
        buf_append(&got, "ab", cap >= 2 ? 2 : 0) != 0) {
        abort();
    }
    int rw = log_reference_json_escaped(&want, s);
    int rg = buf_append_json_escaped(&got, s);
    if (rw != rg || want.len != got.len ||
        (want.len > 0 && memcmp(want.ptr, got.ptr, want.len) != 0)) {
        abort();
    }
    buf_cleanup(&want);
    buf_cleanup(&got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char got[LOG_LINE_MAX + 64];
    struct input in = {data, size};
    int64_t ms = (int64_t)take_u64(&in);
    const uint8_t *flags_p;
    uint8_t flags = take(&in, 1, &flags_p) ? *flags_p : 0;
    check_time(ms);
    if (flags & 2) {
        log_thread_attach();
    } else {
        log_thread_detach();
    }
    log_set_level(LOG_DEBUG);

    char msg[256];
    to_cstr(take_text(&in, false), msg, sizeof(msg));
    struct log_line outer;
    if (flags & 1) {
        log_begin(&outer, LOG_INFO, "outer");
    }
    struct log_line l;
    log_begin(&l, LOG_WARN, msg);
    struct log_reference_line r;
    /* The reference gets the time the line was given: compared above. */
    char time[RFC3339_MS_LEN + 1];
    memcpy(time, l.b.ptr + 9, RFC3339_MS_LEN);
    time[RFC3339_MS_LEN] = '\0';
    log_reference_begin(&r, time, "warn", msg);

    const uint8_t *op;
    while (take(&in, 1, &op)) {
        char key[256];
        to_cstr(take_text(&in, false), key, sizeof(key));
        switch (*op % 8) {
        case 0: {
            struct slice v = take_text(&in, true);
            log_slice(&l, key, v);
            log_reference_slice(&r, key, v);
            check_escaper(v, (size_t)(flags >> 2) * 8);
            break;
        }
        case 1: {
            struct slice v = take_text(&in, true);
            log_sample(&l, key, v);
            log_reference_sample(&r, key, v);
            break;
        }
        case 2: {
            int64_t v = (int64_t)take_u64(&in);
            log_int(&l, key, v);
            log_reference_int(&r, key, v);
            break;
        }
        case 3: {
            uint64_t v = take_u64(&in);
            log_uint(&l, key, v);
            log_reference_uint(&r, key, v);
            break;
        }
        case 4: {
            uint64_t bits = take_u64(&in);
            double v;
            memcpy(&v, &bits, sizeof(v));
            log_double(&l, key, v);
            log_reference_double(&r, key, v);
            break;
        }
        case 5: {
            /* A duration as write_access_log computes it. */
            uint64_t ns = take_u64(&in) % 4000000000000000ULL;
            double v = (double)ns / 1e9;
            log_double(&l, key, v);
            log_reference_double(&r, key, v);
            break;
        }
        case 6: {
            struct slice v = take_text(&in, true);
            log_raw_json(&l, key, v);
            log_reference_raw_json(&r, key, v);
            break;
        }
        default: {
            bool v = (*op & 8) != 0;
            log_bool(&l, key, v);
            log_reference_bool(&r, key, v);
            break;
        }
        }
    }
    size_t n = log_end_copy(&l, got, sizeof(got));
    struct slice want = log_reference_close(&r);
    if (n != want.len || (n > 0 && memcmp(got, want.ptr, n) != 0)) {
        abort();
    }
    log_reference_cleanup(&r);
    if (flags & 1) {
        char scratch[256];
        (void)log_end_copy(&outer, scratch, sizeof(scratch));
    }
    return 0;
}
