/* The module's random bytes, from the module context's DRBG, checked by a continuous test.
 * Everything that draws random bytes goes through here: key material and caller requests
 * (mech_random) as well as salts, nonces, token keys and handles (ossl_random).
 *
 * Continuous random number generator test (FIPS 140-2 4.9.2 style): the output is produced in
 * 16-byte blocks and every block is compared with the one before it; a repeat means a stuck
 * generator, so the call fails and hands out nothing (the caller's buffer is wiped). OpenSSL 3
 * keeps one public DRBG per thread under a shared primary, so the "previous block" is kept per
 * thread too: each thread's test watches the DRBG instance that thread draws from, and no lock
 * is needed. The first block a thread draws is compared after one extra block is drawn and
 * discarded, so every block handed out has a predecessor. */
#include "base/rng.h"
#include "base/log.h"
#include "base/ossl.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define RNG_BLOCK 16
#define RNG_CHUNK 1024 /* bytes drawn per RAND_bytes_ex call; a multiple of RNG_BLOCK */
#define RNG_STRENGTH 256

static _Thread_local struct {
    uint8_t last[RNG_BLOCK];
    bool have;
} t_rng;

static atomic_bool g_forced_stuck;
static atomic_bool g_logged;
static atomic_ulong g_failures;

void rng_test_force_stuck(bool stuck)
{
    atomic_store(&g_forced_stuck, stuck);
}

unsigned long rng_health_failures(void)
{
    return atomic_load(&g_failures);
}

static int draw(uint8_t *buf, size_t len)
{
    if (atomic_load(&g_forced_stuck)) {
        memset(buf, 0x5a, len);
        return 1;
    }
    return RAND_bytes_ex(ossl_libctx(), buf, len, RNG_STRENGTH);
}

static int health_fail(void)
{
    atomic_fetch_add(&g_failures, 1);
    if (!atomic_exchange(&g_logged, true))
        LOG_ERR("continuous RNG test failed: repeated output block");
    return -1;
}

int ossl_random(void *outp, size_t len)
{
    uint8_t *out = outp;
    uint8_t buf[RNG_CHUNK];
    int rv = 0;
    size_t done = 0;

    if (!len)
        return 0;
    if (!out)
        return -1;
    if (!t_rng.have) {
        if (draw(t_rng.last, RNG_BLOCK) != 1)
            return -1;
        t_rng.have = true;
    }
    while (done < len) {
        size_t want = len - done;
        size_t n = want >= RNG_CHUNK ? RNG_CHUNK : (want + RNG_BLOCK - 1) / RNG_BLOCK * RNG_BLOCK;
        if (draw(buf, n) != 1) {
            rv = -1;
            break;
        }
        for (size_t off = 0; off < n; off += RNG_BLOCK) {
            if (CRYPTO_memcmp(buf + off, t_rng.last, RNG_BLOCK) == 0) {
                rv = health_fail();
                break;
            }
            memcpy(t_rng.last, buf + off, RNG_BLOCK);
        }
        if (rv != 0)
            break;
        size_t take = want < n ? want : n;
        memcpy(out + done, buf, take);
        done += take;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (rv != 0)
        OPENSSL_cleanse(out, len);
    return rv;
}
