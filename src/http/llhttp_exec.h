/* llhttp_execute, run by the fastest build of llhttp this CPU can run.
 *
 * meson.build compiles llhttp's parser a second time with SSE4.2 on x86-64
 * (MAP_LLHTTP_SSE42): there llhttp scans header values sixteen bytes at a
 * time. Both builds come from the same generated source and share the
 * parser state's layout, so a parser set up by llhttp_init runs under
 * either; which one runs is decided per call from the CPU's features. */
#pragma once

#include <stddef.h>

struct llhttp__internal_s; /* llhttp_t */

/* llhttp_execute(ll, data, len): the same llhttp_errno_t, as an int. */
int http_llhttp_execute(struct llhttp__internal_s *ll, const char *data, size_t len);

#if MAP_LLHTTP_SSE42
/* The SSE4.2 build's entry (llhttp__internal_execute renamed); call only
 * where the CPU has SSE4.2. Declared for the differential test. */
int llhttp__internal_execute_sse42(struct llhttp__internal_s *state, const char *p,
                                   const char *endp);
#endif
