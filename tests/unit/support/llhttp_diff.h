/* Both builds of llhttp (http/llhttp_exec.h) on the same bytes: every
 * callback with its bytes, the final errno and where the error stopped,
 * recorded for each and compared. Shared by the unit test and the fuzz
 * target of the SSE4.2 build. */
#pragma once

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>

/* Can this build and CPU run the SSE4.2 build at all? */
bool llhttp_diff_available(void);

/* Parses data as a request or a response (type), fed in two pieces split
 * at `split` (clamped to len), with each build. True when both recorded
 * the same; else false with a reason in why. *out_errno: the baseline's
 * final errno (HPE_OK when it parsed all). */
bool llhttp_diff_agree(const char *data, size_t len, llhttp_type_t type, size_t split,
                       llhttp_errno_t *out_errno, char *why, size_t why_cap);
