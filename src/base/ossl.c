/* Module-private OpenSSL context: our calls never route through the host's openssl.cnf, so
 * loading Craton from inside OpenSSL (pkcs11-provider) cannot recurse into itself. */
#include "base/ossl.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <string.h>

static struct ossl g_ossl;
static OSSL_PROVIDER *g_default, *g_base;
static bool g_fips;

bool ossl_fips_provider(void)
{
    return g_fips;
}

int ossl_open(void)
{
    return ossl_open_mode(false);
}

int ossl_open_mode(bool fips)
{
    if (g_ossl.libctx)
        return 0;
    g_ossl.libctx = OSSL_LIB_CTX_new();
    if (!g_ossl.libctx)
        return -1;
    g_fips = false;
    if (fips && OSSL_PROVIDER_available(g_ossl.libctx, "fips")) {
        g_default = OSSL_PROVIDER_load(g_ossl.libctx, "fips");
        g_base = g_default ? OSSL_PROVIDER_load(g_ossl.libctx, "base") : NULL;
        g_fips = g_default && g_base;
    }
    if (!g_fips) {
        if (g_default)
            OSSL_PROVIDER_unload(g_default);
        g_default = OSSL_PROVIDER_load(g_ossl.libctx, "default");
    }
    if (!g_default)
        goto fail;
    g_ossl.sha256 = EVP_MD_fetch(g_ossl.libctx, "SHA2-256", NULL);
    g_ossl.hmac = EVP_MAC_fetch(g_ossl.libctx, "HMAC", NULL);
    g_ossl.aes256gcm = EVP_CIPHER_fetch(g_ossl.libctx, "AES-256-GCM", NULL);
    g_ossl.hkdf = EVP_KDF_fetch(g_ossl.libctx, "HKDF", NULL);
    g_ossl.pbkdf2 = EVP_KDF_fetch(g_ossl.libctx, "PBKDF2", NULL);
    if (!g_ossl.sha256 || !g_ossl.hmac || !g_ossl.aes256gcm || !g_ossl.hkdf || !g_ossl.pbkdf2)
        goto fail;
    return 0;
fail:
    ossl_close();
    return -1;
}

void ossl_close(void)
{
    EVP_MD_free(g_ossl.sha256);
    EVP_MAC_free(g_ossl.hmac);
    EVP_CIPHER_free(g_ossl.aes256gcm);
    EVP_KDF_free(g_ossl.hkdf);
    EVP_KDF_free(g_ossl.pbkdf2);
    if (g_base)
        OSSL_PROVIDER_unload(g_base);
    if (g_default)
        OSSL_PROVIDER_unload(g_default);
    g_default = g_base = NULL;
    g_fips = false;
    OSSL_LIB_CTX_free(g_ossl.libctx);
    memset(&g_ossl, 0, sizeof g_ossl);
}

const struct ossl *ossl_get(void)
{
    return &g_ossl;
}

OSSL_LIB_CTX *ossl_libctx(void)
{
    return g_ossl.libctx;
}

int ossl_sha256_with(EVP_MD_CTX *c, const void *a, size_t alen, const void *b, size_t blen,
                     uint8_t out[32])
{
    if (!c)
        return ossl_sha256(a, alen, b, blen, out);
    int ok = EVP_DigestInit_ex2(c, g_ossl.sha256, NULL) && EVP_DigestUpdate(c, a, alen) &&
             (!blen || EVP_DigestUpdate(c, b, blen)) && EVP_DigestFinal_ex(c, out, NULL);
    return ok ? 0 : -1;
}

int ossl_sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int rc = c ? ossl_sha256_with(c, a, alen, b, blen, out) : -1;
    EVP_MD_CTX_free(c);
    return rc;
}

int ossl_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t len,
                     uint8_t out[32])
{
    OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA2-256", 0),
                       OSSL_PARAM_construct_end() };
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(g_ossl.hmac);
    size_t outl = 0;
    int ok = c && EVP_MAC_init(c, key, keylen, p) && EVP_MAC_update(c, data, len) &&
             EVP_MAC_final(c, out, &outl, 32) && outl == 32;
    EVP_MAC_CTX_free(c);
    return ok ? 0 : -1;
}

int ossl_hkdf_sha256(const uint8_t *key, size_t keylen, const char *info, uint8_t *out,
                     size_t outlen)
{
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA2-256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, keylen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
        OSSL_PARAM_construct_end()
    };
    EVP_KDF_CTX *c = EVP_KDF_CTX_new(g_ossl.hkdf);
    int ok = c && EVP_KDF_derive(c, out, outlen, p) == 1;
    EVP_KDF_CTX_free(c);
    return ok ? 0 : -1;
}

int ossl_pbkdf2_sha256(const char *pin, size_t pinlen, const uint8_t *salt, size_t saltlen,
                       unsigned long iterations, uint8_t *out, size_t outlen)
{
    unsigned int iter = (unsigned int)iterations;
    /* PKCS5=1 turns off the SP 800-132 minimum lengths: a 4-digit PIN is legal here and the
     * 600,000 iterations, not the PIN length, are what slows guessing. */
    int no_check = 1;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA2-256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pin, pinlen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen),
        OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &no_check),
        OSSL_PARAM_construct_end()
    };
    EVP_KDF_CTX *c = EVP_KDF_CTX_new(g_ossl.pbkdf2);
    int ok = c && EVP_KDF_derive(c, out, outlen, p) == 1;
    EVP_KDF_CTX_free(c);
    return ok ? 0 : -1;
}

static int gcm_run(int enc, const uint8_t key[32], const uint8_t nonce[12], const void *aad,
                   size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, ok = 0;
    if (!c || len > 0x7fffffff || aadlen > 0x7fffffff)
        goto done;
    if (!EVP_CipherInit_ex2(c, g_ossl.aes256gcm, key, nonce, enc, NULL))
        goto done;
    if (aadlen && !EVP_CipherUpdate(c, NULL, &outl, aad, (int)aadlen))
        goto done;
    if (len && !EVP_CipherUpdate(c, out, &outl, in, (int)len))
        goto done;
    if (!enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag))
        goto done;
    if (!EVP_CipherFinal_ex(c, out + outl, &outl))
        goto done;
    if (enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag))
        goto done;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

int ossl_gcm_seal(const uint8_t key[32], const void *aad, size_t aadlen, const uint8_t *pt,
                  size_t len, uint8_t *out)
{
    if (ossl_random(out, 12))
        return -1;
    return gcm_run(1, key, out, aad, aadlen, pt, len, out + 12, out + 12 + len);
}

int ossl_gcm_open(const uint8_t key[32], const void *aad, size_t aadlen, const uint8_t *in,
                  size_t inlen, uint8_t *pt)
{
    if (inlen < OSSL_GCM_OVERHEAD)
        return -1;
    size_t len = inlen - OSSL_GCM_OVERHEAD;
    uint8_t tag[16];
    memcpy(tag, in + 12 + len, 16);
    return gcm_run(0, key, in, aad, aadlen, in + 12, len, pt, tag);
}
