#include "doctor/report.h"

#include "base/buf.h"
#include "doctor/clients.h"

bool
doctor_report_text(const char *mount, const struct doctor_results *r, FILE *out)
{
    bool all = true;
    (void)fprintf(out, "mcp-auth-proxy doctor %s\n\nclients:\n", mount);
    for (int c = 0; c < DOCTOR_CLIENT_COUNT; c++) {
        const struct doctor_client_def *d = doctor_clients_get((enum doctor_client)c);
        struct doctor_verdict v;
        doctor_clients_verdict((enum doctor_client)c, r, &v);
        all = all && v.ok;
        (void)fprintf(out, "  %-14s %s", d->name, v.ok ? "PASS" : "FAIL");
        for (size_t i = 0; i < v.problem_count; i++) {
            const struct doctor_check *k = &r->checks[v.problems[i]];
            const char *text = k->advice[0] != '\0' ? k->advice : k->detail;
            (void)fprintf(out, "%s%s%s (%s)\n", i == 0 ? "  " : "",
                          i < v.failing ? "" : "note: ", text,
                          doctor_clients_check_name(v.problems[i]));
            if (i + 1 < v.problem_count) {
                (void)fprintf(out, "  %-14s      ", "");
            }
        }
        if (v.problem_count == 0) {
            (void)fputc('\n', out);
        }
    }
    (void)fputs("\nchecks:\n", out);
    for (int id = 0; id < DOCTOR_CHECK_COUNT; id++) {
        const struct doctor_check *k = &r->checks[id];
        (void)fprintf(out, "  %s  %-28s %s\n", doctor_clients_status_str(k->status),
                      doctor_clients_check_name((enum doctor_check_id)id), k->detail);
        if (k->advice[0] != '\0' && k->status != DOCTOR_PASS && k->status != DOCTOR_SKIP) {
            (void)fprintf(out, "        %-28s fix: %s\n", "", k->advice);
        }
    }
    (void)fprintf(out, "\n%s\n", all ? "every client can connect" : "some clients cannot connect");
    return all;
}

/* Appends "key":"value" (value JSON-escaped); errors only at the cap,
 * which BOUNDS-sized texts never reach. */
static void
json_str(struct buf *b, const char *key, const char *value, bool comma)
{
    buf_appendf_best(b, "%s\"%s\":\"", comma ? "," : "", key);
    if (buf_append_json_escaped(b, slice_from_cstr(value)) != 0) {
        buf_appendf_best(b, "...");
    }
    buf_appendf_best(b, "\"");
}

bool
doctor_report_json(const char *mount, const struct doctor_results *r, FILE *out)
{
    struct buf b;
    buf_init(&b, 256 * 1024);
    bool all = true;
    buf_appendf_best(&b, "{");
    json_str(&b, "url", mount, false);
    buf_appendf_best(&b, ",\"clients\":[");
    for (int c = 0; c < DOCTOR_CLIENT_COUNT; c++) {
        const struct doctor_client_def *d = doctor_clients_get((enum doctor_client)c);
        struct doctor_verdict v;
        doctor_clients_verdict((enum doctor_client)c, r, &v);
        all = all && v.ok;
        buf_appendf_best(&b, "%s{", c > 0 ? "," : "");
        json_str(&b, "name", d->name, false);
        json_str(&b, "key", d->key, true);
        buf_appendf_best(&b, ",\"ok\":%s,\"problems\":[", v.ok ? "true" : "false");
        for (size_t i = 0; i < v.problem_count; i++) {
            const struct doctor_check *k = &r->checks[v.problems[i]];
            buf_appendf_best(&b, "%s{", i > 0 ? "," : "");
            json_str(&b, "check", doctor_clients_check_name(v.problems[i]), false);
            buf_appendf_best(&b, ",\"blocking\":%s", i < v.failing ? "true" : "false");
            json_str(&b, "detail", k->detail, true);
            json_str(&b, "fix", k->advice, true);
            buf_appendf_best(&b, "}");
        }
        buf_appendf_best(&b, "]}");
    }
    buf_appendf_best(&b, "],\"checks\":[");
    for (int id = 0; id < DOCTOR_CHECK_COUNT; id++) {
        const struct doctor_check *k = &r->checks[id];
        buf_appendf_best(&b, "%s{", id > 0 ? "," : "");
        json_str(&b, "check", doctor_clients_check_name((enum doctor_check_id)id), false);
        json_str(&b, "status", doctor_clients_status_str(k->status), true);
        json_str(&b, "detail", k->detail, true);
        json_str(&b, "fix", k->advice, true);
        buf_appendf_best(&b, "}");
    }
    buf_appendf_best(&b, "],\"ok\":%s}\n", all ? "true" : "false");
    (void)fputs(buf_cstr(&b), out);
    buf_cleanup(&b);
    return all;
}
