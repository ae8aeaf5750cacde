/* The one set of minting helpers for the OAuth unit tests: each seals a
 * grant the test built with the ring the handlers under test open it with,
 * into out (initialised here with the sealed-token cap; the caller cleans
 * it up or takes it), and fails the test if sealing does not succeed.
 * Header-only (static inline), like oauth_flow_app.h. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/buf.h"
#include "bounds.h"
#include "grants.h"
#include "seal.h"

static inline void
mint_client(const struct seal_ring *ring, const struct grant_client *g, struct buf *out)
{
    buf_init(out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(grants_seal_client(ring, g, out), SEAL_OK);
}

static inline void
mint_consent(const struct seal_ring *ring, const struct grant_consent *g, struct buf *out)
{
    buf_init(out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(grants_seal_consent(ring, g, out), SEAL_OK);
}

static inline void
mint_session(const struct seal_ring *ring, const struct grant_session *g, struct buf *out)
{
    buf_init(out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(grants_seal_session(ring, g, out), SEAL_OK);
}

static inline void
mint_code(const struct seal_ring *ring, const struct grant_code *g, struct buf *out)
{
    buf_init(out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(grants_seal_code(ring, g, out), SEAL_OK);
}

static inline void
mint_refresh(const struct seal_ring *ring, const struct grant_refresh *g, struct buf *out)
{
    buf_init(out, BOUNDS_SEALED_MAX_CHARS);
    assert_int_equal(grants_seal_refresh(ring, g, out), SEAL_OK);
}
