#include "base/xalloc.h"

#include <cjose/util.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__((noreturn)) out_of_memory(size_t size)
{
    /* fputs, not the logger: the logger may itself need memory. */
    fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", size);
    abort();
}

void *
xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL) {
        out_of_memory(size);
    }
    return p;
}

void *
xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL) {
        out_of_memory(count * size);
    }
    return p;
}

void *
xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL) {
        out_of_memory(size);
    }
    return p;
}

char *
xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t len)
{
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void
xfree(void *ptr)
{
    free(ptr);
}

/* OpenSSL's allocator signature carries the call site; ours does not need it. */
static void *
ossl_malloc(size_t size, const char *file, int line)
{
    (void)file;
    (void)line;
    return xmalloc(size);
}

static void *
ossl_realloc(void *ptr, size_t size, const char *file, int line)
{
    (void)file;
    (void)line;
    return xrealloc(ptr, size);
}

static void
ossl_free(void *ptr, const char *file, int line)
{
    (void)file;
    (void)line;
    free(ptr);
}

bool
xalloc_install_library_hooks(void)
{
    /* cjose installs its functions into jansson too, and tries OpenSSL but
     * discards OpenSSL's answer (it only accepts a switch before its first
     * allocation). So we hand OpenSSL its own adapters and check the answer. */
    cjose_set_alloc_funcs(xmalloc, xrealloc, xfree);
    if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) == 0) {
        CRYPTO_malloc_fn m;
        CRYPTO_realloc_fn r;
        CRYPTO_free_fn f;
        CRYPTO_get_mem_functions(&m, &r, &f);
        return m == ossl_malloc;
    }
    return true;
}
