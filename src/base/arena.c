#include "base/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/xalloc.h"

/* Blocks are chained; a request that needs more than one block gets a new
 * one, and large allocations get a block of their own. */
#define ARENA_BLOCK_SIZE 4096

struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t size;
    alignas(max_align_t) unsigned char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    arena_cleanup_fn fn;
    void *ptr;
};

struct arena {
    struct arena_block *blocks;
    struct arena_cleanup *cleanups;
    size_t used;
    size_t max_bytes;
};

struct arena *
arena_new(size_t max_bytes)
{
    struct arena *a = xcalloc(1, sizeof(*a));
    a->max_bytes = max_bytes;
    return a;
}

void
arena_free(struct arena *a)
{
    if (a == NULL) {
        return;
    }
    for (struct arena_cleanup *c = a->cleanups, *next; c != NULL; c = next) {
        next = c->next;
        c->fn(c->ptr);
        xfree(c);
    }
    for (struct arena_block *b = a->blocks, *next; b != NULL; b = next) {
        next = b->next;
        xfree(b);
    }
    xfree(a);
}

void *
arena_alloc(struct arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    size_t rounded = (size + align - 1) & ~(align - 1);
    if (rounded < size || rounded > a->max_bytes - a->used || a->used > a->max_bytes) {
        return NULL;
    }
    struct arena_block *b = a->blocks;
    if (b == NULL || b->size - b->used < rounded) {
        size_t block_size = rounded > ARENA_BLOCK_SIZE / 2 ? rounded : ARENA_BLOCK_SIZE;
        struct arena_block *nb = xmalloc(sizeof(*nb) + block_size);
        nb->used = 0;
        nb->size = block_size;
        if (b != NULL && rounded > ARENA_BLOCK_SIZE / 2) {
            /* Keep the partly used current block in front for small allocations. */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->blocks = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += rounded;
    a->used += rounded;
    return p;
}

void *
arena_zalloc(struct arena *a, size_t size)
{
    void *p = arena_alloc(a, size);
    if (p != NULL) {
        memset(p, 0, size);
    }
    return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX) {
        return NULL;
    }
    char *p = arena_alloc(a, len + 1);
    if (p == NULL) {
        return NULL;
    }
    if (len > 0) {
        memcpy(p, s, len);
    }
    p[len] = '\0';
    return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *
arena_slicedup(struct arena *a, struct slice s)
{
    return arena_strndup(a, s.ptr, s.len);
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    char *p = arena_alloc(a, (size_t)n + 1);
    if (p == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void
arena_on_free(struct arena *a, arena_cleanup_fn fn, void *ptr)
{
    struct arena_cleanup *c = xmalloc(sizeof(*c));
    c->fn = fn;
    c->ptr = ptr;
    c->next = a->cleanups;
    a->cleanups = c;
}

size_t
arena_used(const struct arena *a)
{
    return a->used;
}
