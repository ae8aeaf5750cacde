/* Replays fuzz corpora without libFuzzer: each argument is a file or a
 * directory of files, fed one by one to LLVMFuzzerTestOneInput. Linked with
 * every target so CI exercises every seed with gcc and the sanitizers. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define STANDALONE_INPUT_MAX (64 * 1024 * 1024)

static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "standalone: cannot open %s\n", path);
        return -1;
    }
    struct buf data;
    buf_init(&data, STANDALONE_INPUT_MAX);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&data, chunk, n) != 0) {
            fprintf(stderr, "standalone: %s is too large\n", path);
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc == 0) {
        /* Copy into an exact-size allocation so ASan sees overreads. */
        uint8_t *exact = xmalloc(data.len ? data.len : 1);
        if (data.len > 0) {
            memcpy(exact, data.ptr, data.len);
        }
        LLVMFuzzerTestOneInput(exact, data.len);
        xfree(exact);
    }
    buf_cleanup(&data);
    return rc;
}

static int
run_path(const char *path, unsigned *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "standalone: cannot stat %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "standalone: cannot read %s\n", path);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            struct buf child;
            buf_init(&child, 4096);
            if (buf_appendf(&child, "%s/%s", path, names[i]->d_name) == 0 &&
                run_path(buf_cstr(&child), count) != 0) {
                rc = -1;
            }
            buf_cleanup(&child);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize != NULL) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    unsigned count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (run_path(argv[i], &count) != 0) {
            rc = 1;
        }
    }
    printf("replayed %u inputs\n", count);
    if (count == 0) {
        fprintf(stderr, "standalone: no inputs found\n");
        return 1;
    }
    return rc;
}
