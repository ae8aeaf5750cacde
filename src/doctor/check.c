#include "doctor/check.h"

#include <stdarg.h>
#include <stdio.h>

void
doctor_check_set(struct doctor_results *r, enum doctor_check_id id, enum doctor_status st,
                 const char *advice, const char *fmt, ...)
{
    struct doctor_check *c = &r->checks[id];
    c->status = st;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);
    (void)snprintf(c->advice, sizeof(c->advice), "%s", advice != NULL ? advice : "");
}
