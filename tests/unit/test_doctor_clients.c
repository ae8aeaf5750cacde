/* doctor/clients: the verdict table -- which findings fail which client,
 * which are notes, and the metadata-document route around /register. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "doctor/clients.h"

static void
all_pass(struct doctor_results *r)
{
    memset(r, 0, sizeof(*r));
    for (int id = 0; id < DOCTOR_CHECK_COUNT; id++) {
        r->checks[id].status = DOCTOR_PASS;
    }
}

static bool
client_ok(const struct doctor_results *r, enum doctor_client c, struct doctor_verdict *v)
{
    doctor_clients_verdict(c, r, v);
    return v->ok;
}

static void
test_all_pass(void **state)
{
    (void)state;
    struct doctor_results r;
    all_pass(&r);
    for (int c = 0; c < DOCTOR_CLIENT_COUNT; c++) {
        struct doctor_verdict v;
        assert_true(client_ok(&r, (enum doctor_client)c, &v));
        assert_int_equal(v.problem_count, 0);
    }
    /* SKIP (not applicable, e.g. TLS on http) never fails anyone. */
    r.checks[DOCTOR_CHECK_TLS].status = DOCTOR_SKIP;
    r.checks[DOCTOR_CHECK_SSE_BUFFERING].status = DOCTOR_SKIP;
    struct doctor_verdict v;
    assert_true(client_ok(&r, DOCTOR_CLIENT_CURSOR, &v));
}

/* Each common requirement fails every client, and names itself first. */
static void
test_common_requirements(void **state)
{
    (void)state;
    static const enum doctor_check_id common[] = {
        DOCTOR_CHECK_TLS,         DOCTOR_CHECK_CHALLENGE,    DOCTOR_CHECK_DISCOVERY,
        DOCTOR_CHECK_AS_METADATA, DOCTOR_CHECK_AS_PKCE,      DOCTOR_CHECK_AS_NONE,
        DOCTOR_CHECK_SSE,         DOCTOR_CHECK_SSE_BUFFERING};
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        struct doctor_results r;
        all_pass(&r);
        r.checks[common[i]].status = DOCTOR_FAIL;
        for (int c = 0; c < DOCTOR_CLIENT_COUNT; c++) {
            struct doctor_verdict v;
            assert_false(client_ok(&r, (enum doctor_client)c, &v));
            assert_int_equal(v.failing, 1);
            assert_int_equal(v.problems[0], common[i]);
        }
    }
}

static void
test_notes_do_not_fail(void **state)
{
    (void)state;
    struct doctor_results r;
    all_pass(&r);
    r.checks[DOCTOR_CHECK_PRM_ROOT].status = DOCTOR_FAIL;
    r.checks[DOCTOR_CHECK_AS_ISS].status = DOCTOR_WARN;
    r.checks[DOCTOR_CHECK_CORS_PREFLIGHT].status = DOCTOR_WARN;
    struct doctor_verdict v;
    assert_true(client_ok(&r, DOCTOR_CLIENT_CLAUDEAI, &v));
    assert_int_equal(v.failing, 0);
    assert_int_equal(v.problem_count, 2); /* root PRM, iss; CORS is not Claude.ai's */
    assert_true(client_ok(&r, DOCTOR_CLIENT_INSPECTOR, &v));
    assert_int_equal(v.problem_count, 3);
    assert_int_equal(v.problems[2], DOCTOR_CHECK_CORS_PREFLIGHT);
}

/* /register failing: fatal for clients without metadata documents, a note
 * for those that use them when the server advertises them. */
static void
test_registration_and_cimd(void **state)
{
    (void)state;
    struct doctor_results r;
    all_pass(&r);
    r.checks[DOCTOR_CHECK_DCR_CURSOR].status = DOCTOR_FAIL;
    r.checks[DOCTOR_CHECK_DCR_CLAUDEAI].status = DOCTOR_FAIL;
    struct doctor_verdict v;
    assert_false(client_ok(&r, DOCTOR_CLIENT_CURSOR, &v));
    assert_int_equal(v.problems[0], DOCTOR_CHECK_DCR_CURSOR);
    assert_true(client_ok(&r, DOCTOR_CLIENT_CLAUDEAI, &v));
    assert_int_equal(v.problem_count, 1);
    assert_true(client_ok(&r, DOCTOR_CLIENT_CHATGPT, &v)); /* another client's body */
    r.checks[DOCTOR_CHECK_CIMD].status = DOCTOR_SKIP;      /* not advertised */
    assert_false(client_ok(&r, DOCTOR_CLIENT_CLAUDEAI, &v));
    /* Rate limited: a note, not a verdict. */
    all_pass(&r);
    r.checks[DOCTOR_CHECK_DCR_GEMINI].status = DOCTOR_WARN;
    assert_true(client_ok(&r, DOCTOR_CLIENT_GEMINI, &v));
    assert_int_equal(v.problem_count, 1);
}

/* --server-side: a document the proxy cannot fetch fails its client even
 * when /register works (the advertised flag sends it down the document
 * route), and no longer makes up for a failing /register; another
 * client's document is not this client's problem. */
static void
test_document_fetch(void **state)
{
    (void)state;
    struct doctor_results r;
    struct doctor_verdict v;
    all_pass(&r);
    r.checks[DOCTOR_CHECK_CIMD_FETCH_VSCODE].status = DOCTOR_FAIL;
    assert_false(client_ok(&r, DOCTOR_CLIENT_VSCODE, &v));
    assert_int_equal(v.failing, 1);
    assert_int_equal(v.problems[0], DOCTOR_CHECK_CIMD_FETCH_VSCODE);
    assert_true(client_ok(&r, DOCTOR_CLIENT_CLAUDEAI, &v));
    assert_true(client_ok(&r, DOCTOR_CLIENT_CURSOR, &v));
    r.checks[DOCTOR_CHECK_DCR_VSCODE].status = DOCTOR_FAIL;
    assert_false(client_ok(&r, DOCTOR_CLIENT_VSCODE, &v));
    assert_int_equal(v.failing, 2);
    /* Fetched fine (or not run): the document route covers /register. */
    r.checks[DOCTOR_CHECK_CIMD_FETCH_VSCODE].status = DOCTOR_PASS;
    assert_true(client_ok(&r, DOCTOR_CLIENT_VSCODE, &v));
    r.checks[DOCTOR_CHECK_CIMD_FETCH_VSCODE].status = DOCTOR_SKIP;
    assert_true(client_ok(&r, DOCTOR_CLIENT_VSCODE, &v));
    /* Each document client has its own fetch check and a known URL. */
    for (int c = 0; c < DOCTOR_CLIENT_COUNT; c++) {
        const struct doctor_client_def *d = doctor_clients_get((enum doctor_client)c);
        assert_true(d->cimd == (d->cimd_url != NULL));
        assert_true(d->cimd == (d->cimd_fetch != DOCTOR_CHECK_COUNT));
    }
}

static void
test_names(void **state)
{
    (void)state;
    for (int id = 0; id < DOCTOR_CHECK_COUNT; id++) {
        assert_non_null(doctor_clients_check_name((enum doctor_check_id)id));
        assert_string_not_equal(doctor_clients_check_name((enum doctor_check_id)id), "?");
    }
    for (int c = 0; c < DOCTOR_CLIENT_COUNT; c++) {
        const struct doctor_client_def *d = doctor_clients_get((enum doctor_client)c);
        assert_non_null(d);
        assert_non_null(d->body);
        assert_true(d->redirect_count > 0);
    }
    assert_null(doctor_clients_get(DOCTOR_CLIENT_COUNT));
    assert_string_equal(doctor_clients_status_str(DOCTOR_FAIL), "FAIL");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_pass),          cmocka_unit_test(test_common_requirements),
        cmocka_unit_test(test_notes_do_not_fail), cmocka_unit_test(test_registration_and_cimd),
        cmocka_unit_test(test_document_fetch),    cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
