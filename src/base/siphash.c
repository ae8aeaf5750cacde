#include "base/siphash.h"

#include "base/rand.h"

static uint64_t
load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

static uint64_t
rotl(uint64_t x, unsigned b)
{
    return x << b | x >> (64 - b);
}

struct sip_state {
    uint64_t v0, v1, v2, v3;
};

static void
sip_round(struct sip_state *s)
{
    s->v0 += s->v1;
    s->v1 = rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl(s->v2, 32);
}

/* Two compression rounds per message word. */
static void
sip_absorb(struct sip_state *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    sip_round(s);
    s->v0 ^= m;
}

struct siphash_key
siphash_key_from_bytes(const uint8_t bytes[16])
{
    return (struct siphash_key){.k0 = load_le64(bytes), .k1 = load_le64(bytes + 8)};
}

struct siphash_key
siphash_key_random(void)
{
    uint8_t bytes[16];
    rand_bytes(bytes, sizeof(bytes));
    return siphash_key_from_bytes(bytes);
}

uint64_t
siphash24(const struct siphash_key *key, const void *data, size_t len)
{
    /* Initialisation constants: "somepseudorandomlygeneratedbytes". */
    struct sip_state s = {
        .v0 = key->k0 ^ 0x736f6d6570736575ull,
        .v1 = key->k1 ^ 0x646f72616e646f6dull,
        .v2 = key->k0 ^ 0x6c7967656e657261ull,
        .v3 = key->k1 ^ 0x7465646279746573ull,
    };
    const uint8_t *p = data;
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        sip_absorb(&s, load_le64(p + i));
    }
    /* Last word: the remaining 0-7 bytes, and the length's low byte on top. */
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < len % 8; i++) {
        last |= (uint64_t)p[whole + i] << (8 * i);
    }
    sip_absorb(&s, last);
    /* Four finalisation rounds. */
    s.v2 ^= 0xff;
    sip_round(&s);
    sip_round(&s);
    sip_round(&s);
    sip_round(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
