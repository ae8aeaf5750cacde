#include "http/llhttp_exec.h"

#include <llhttp.h>

int
http_llhttp_execute(llhttp_t *ll, const char *data, size_t len)
{
#if MAP_LLHTTP_SSE42
    /* A read of the CPU model libgcc filled in at start-up: cheap enough
     * per call, and no start-up step to forget. */
    if (__builtin_cpu_supports("sse4.2")) {
        return llhttp__internal_execute_sse42(ll, data, data + len);
    }
#endif
    return (int)llhttp_execute(ll, data, len);
}
