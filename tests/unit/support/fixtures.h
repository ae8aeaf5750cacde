/* Shared unit-test fixtures: fixed secrets and base URLs (SPEC.md 9's
 * fixtures), test data files, and a pinned clock. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define FIXTURE_SECRET "test-secret-that-is-at-least-32-bytes!!"
#define FIXTURE_SECRET_2 "another-test-secret-with-32-plus-bytes#2"
#define FIXTURE_BASE "https://auth.example.com"
#define FIXTURE_OTHER_BASE "https://other.example.com"
#define FIXTURE_NOW 1780000000 /* 2026-05-28T20:26:40Z */
/* RFC 7636 Appendix B. */
#define FIXTURE_PKCE_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define FIXTURE_PKCE_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
/* A browser binding (oauth/binding.h): B and bh are an S256 pair, so the
 * RFC 7636 vector serves; the cookie names carry bh's first 8 characters,
 * with the __Host- prefix of an https FIXTURE_BASE. */
#define FIXTURE_BINDING_SECRET FIXTURE_PKCE_VERIFIER
#define FIXTURE_BINDING_HASH FIXTURE_PKCE_CHALLENGE
#define FIXTURE_CONSENT_COOKIE_NAME "__Host-mcp_consent_E9Melhoa"
#define FIXTURE_CALLBACK_COOKIE_NAME "__Host-mcp_callback_E9Melhoa"

/* Reads tests/data/<name> (TEST_DATA_DIR) into a NUL-terminated heap copy;
 * aborts the test run when missing. */
char *fixture_read_data(const char *name, size_t *out_len);
/* Pins the wall clock at FIXTURE_NOW + offset_s. */
void fixture_pin_clock(int64_t offset_s);
void fixture_unpin_clock(void);
