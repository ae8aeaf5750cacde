#include "base/rand.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"

void
rand_bytes(uint8_t *out, size_t n)
{
    while (n > 0) {
        int chunk = n > 1 << 20 ? 1 << 20 : (int)n;
        if (RAND_bytes(out, chunk) != 1) {
            fprintf(stderr, "fatal: the system random number generator failed\n");
            abort();
        }
        out += chunk;
        n -= (size_t)chunk;
    }
}

void
rand_uuid(char out[RAND_UUID_LEN + 1])
{
    uint8_t b[16];
    rand_bytes(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char hex[33];
    hex_encode(b, sizeof(b), hex);
    /* 8-4-4-4-12 */
    size_t o = 0;
    for (size_t i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            out[o++] = '-';
        }
        out[o++] = hex[i];
    }
    out[o] = '\0';
}

void
rand_hex32(char out[RAND_HEX32_LEN + 1])
{
    uint8_t b[16];
    rand_bytes(b, sizeof(b));
    hex_encode(b, sizeof(b), out);
}

/* The pool. Bytes are wiped as they are handed out, so what stays in
 * memory is only what is still to come. fork_epoch counts forks: a thread
 * whose pool was filled in another epoch (a child's copy of its parent's
 * pool) throws it away, without a getpid per call. */
static _Thread_local uint8_t pool[RAND_POOL_BYTES];
static _Thread_local size_t pool_left;
static _Thread_local unsigned pool_epoch;
static atomic_uint fork_epoch;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
on_fork_child(void)
{
    atomic_fetch_add(&fork_epoch, 1);
}

static void
register_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

void
rand_pool_bytes(uint8_t *out, size_t n)
{
    unsigned epoch = atomic_load_explicit(&fork_epoch, memory_order_relaxed);
    if (epoch != pool_epoch) {
        pool_left = 0;
        pool_epoch = epoch;
    }
    while (n > 0) {
        if (pool_left == 0) {
            pthread_once(&atfork_once, register_atfork);
            rand_bytes(pool, sizeof(pool));
            pool_left = sizeof(pool);
            pool_epoch = atomic_load(&fork_epoch);
        }
        size_t take = n < pool_left ? n : pool_left;
        uint8_t *from = pool + sizeof(pool) - pool_left;
        memcpy(out, from, take);
        memset(from, 0, take);
        pool_left -= take;
        out += take;
        n -= take;
    }
}
