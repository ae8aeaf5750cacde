/* Fuzz target: what `mcp-auth-proxy doctor` reads from a deployment
 * (doctor/parse.h): a WWW-Authenticate value, protected-resource and
 * authorization-server metadata, a /register answer, a CORS comma list and
 * an OAuth error body. The same bytes go to every reader. Invariants: a
 * success leaves only NUL-terminated, control-free text in the fields
 * (they are printed to a terminal and into JSON); a failure leaves the
 * challenge zeroed; nothing reads past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slice in = slice_make((const char *)data, size);
    struct doctor_challenge c;
    const char *why = doctor_parse_challenge(in, &c);
    if (why != NULL && (c.bearer || c.resource_metadata[0] != '\0' || c.scope[0] != '\0')) {
        abort();
    }
    check_text(c.resource_metadata, sizeof(c.resource_metadata));
    check_text(c.scope, sizeof(c.scope));
    check_text(c.error, sizeof(c.error));

    struct doctor_prm p;
    for (int root = 0; root < 2; root++) {
        why = doctor_parse_prm(in, "https://mcp.example.com/mcp", root == 1, &p);
        check_text(p.resource, sizeof(p.resource));
        check_text(p.authorization_server, sizeof(p.authorization_server));
        if (why == NULL && root == 0 && strcmp(p.resource, "https://mcp.example.com/mcp") != 0) {
            abort();
        }
    }
    struct doctor_as as;
    why = doctor_parse_as(in, "https://mcp.example.com", &as);
    check_text(as.issuer, sizeof(as.issuer));
    check_text(as.registration_endpoint, sizeof(as.registration_endpoint));
    if (why == NULL && strcmp(as.issuer, "https://mcp.example.com") != 0) {
        abort();
    }
    (void)doctor_parse_registration(in, 2);
    (void)doctor_parse_list_has(in, "WWW-Authenticate", true);
    char err[256];
    doctor_parse_oauth_error(in, err, sizeof(err));
    check_text(err, sizeof(err));
    return 0;
}
