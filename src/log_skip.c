#include "log_skip.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "bounds.h"

struct log_skip {
    pcre2_code *re;
    pcre2_match_context *mctx; /* the match limits */
};

/* One PCRE2 error message; the longest is well under this. */
#define LOG_SKIP_MESSAGE_MAX 160

struct log_skip *
log_skip_new(const char *pattern, struct buf *err)
{
    int code = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, strlen(pattern), 0, &code, &offset, NULL);
    if (re == NULL) {
        PCRE2_UCHAR message[LOG_SKIP_MESSAGE_MAX];
        if (pcre2_get_error_message(code, message, sizeof(message)) < 0) {
            memcpy(message, "syntax error", sizeof("syntax error"));
        }
        if (err != NULL) {
            buf_appendf_best(err, "%s at offset %zu", (const char *)message, (size_t)offset);
        }
        return NULL;
    }
    pcre2_match_context *mctx = pcre2_match_context_create(NULL);
    if (mctx == NULL) {
        abort(); /* out of memory is fatal (STYLE.md 3.5) */
    }
    (void)pcre2_set_match_limit(mctx, BOUNDS_ACCESS_LOG_SKIP_MATCH_LIMIT);
    (void)pcre2_set_depth_limit(mctx, BOUNDS_ACCESS_LOG_SKIP_DEPTH_LIMIT);
    struct log_skip *s = xcalloc(1, sizeof(*s));
    s->re = re;
    s->mctx = mctx;
    return s;
}

void
log_skip_free(struct log_skip *s)
{
    if (s == NULL) {
        return;
    }
    pcre2_code_free(s->re);
    pcre2_match_context_free(s->mctx);
    xfree(s);
}

bool
log_skip_match(const struct log_skip *s, const char *path, size_t path_len)
{
    if (s == NULL) {
        return false;
    }
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (md == NULL) {
        abort(); /* out of memory is fatal (STYLE.md 3.5) */
    }
    /* Unanchored, like Go's MatchString; a limit error is "no match". */
    int rc = pcre2_match(s->re, (PCRE2_SPTR)(path ? path : ""), path_len, 0, 0, md, s->mctx);
    pcre2_match_data_free(md);
    return rc >= 0;
}
