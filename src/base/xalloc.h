/* Allocation that never returns NULL.
 *
 * Out of memory is fatal here (STYLE.md 3.5): every input-driven size is
 * capped before it is allocated, so running out means the machine is in
 * trouble, not that a request was hostile. One line goes to stderr, then
 * abort(). xalloc_install_library_hooks() routes OpenSSL, jansson and cjose
 * through the same functions; call it first thing in main(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t count, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *ptr, size_t size) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
/* Copies len bytes of s (which need not be NUL-terminated) and terminates. */
char *xstrndup(const char *s, size_t len) __attribute__((malloc, returns_nonnull));
void xfree(void *ptr);

/* Installs the allocators above into cjose (which forwards them to jansson
 * and OpenSSL). Must run before anything touches OpenSSL, curl or libevent's
 * TLS. Returns false when OpenSSL refused the switch (it had already
 * allocated); the caller reports that and exits. */
bool xalloc_install_library_hooks(void);
