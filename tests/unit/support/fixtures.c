#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"

char *
fixture_read_data(const char *name, size_t *out_len)
{
    const char *dir = getenv("TEST_DATA_DIR");
    struct buf path;
    buf_init(&path, 4096);
    if (buf_appendf(&path, "%s/%s", dir ? dir : "tests/data", name) != 0) {
        abort();
    }
    FILE *f = fopen(buf_cstr(&path), "rb");
    if (f == NULL) {
        fprintf(stderr, "fixture: cannot open %s\n", buf_cstr(&path));
        abort();
    }
    struct buf data;
    buf_init(&data, 64 * 1024 * 1024);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&data, chunk, n) != 0) {
            abort();
        }
    }
    fclose(f);
    buf_cleanup(&path);
    if (out_len != NULL) {
        *out_len = data.len;
    }
    return buf_take(&data);
}

void
fixture_pin_clock(int64_t offset_s)
{
    clock_set_fixed_unix(FIXTURE_NOW + offset_s);
}

void
fixture_unpin_clock(void)
{
    clock_set_fixed_unix(0);
}
