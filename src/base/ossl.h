/* The module-private OpenSSL library context and the algorithms fetched once from it. */
#ifndef CRATON_BASE_OSSL_H
#define CRATON_BASE_OSSL_H
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ossl {
    OSSL_LIB_CTX *libctx;
    EVP_MD *sha256;
    EVP_MAC *hmac;
    EVP_CIPHER *aes256gcm;
    EVP_KDF *hkdf;
    EVP_KDF *pbkdf2;
};

/* Creates the context (never from the global config): with fips, OpenSSL's FIPS provider when
 * it is installed, else the default provider under the same policy. 0 or -1. */
int ossl_open_mode(bool fips);
int ossl_open(void); /* ossl_open_mode(false) */
/* Whether the FIPS provider is what runs the cryptography. */
bool ossl_fips_provider(void);
void ossl_close(void);
const struct ossl *ossl_get(void);
OSSL_LIB_CTX *ossl_libctx(void);

/* Small primitives the lower layers need; each returns 0 on success, -1 on failure. */
/* Random bytes from the module context's DRBG under the continuous test (base/rng.c): 0, or -1
 * with buf wiped (a failed draw or a stuck source). */
int ossl_random(void *buf, size_t len);
int ossl_sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32]);
/* The same on a context the caller keeps (and reuses: no allocation per digest); c NULL
 * behaves as ossl_sha256. */
int ossl_sha256_with(EVP_MD_CTX *c, const void *a, size_t alen, const void *b, size_t blen,
                     uint8_t out[32]);
int ossl_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t len,
                     uint8_t out[32]);
int ossl_hkdf_sha256(const uint8_t *key, size_t keylen, const char *info, uint8_t *out,
                     size_t outlen);
int ossl_pbkdf2_sha256(const char *pin, size_t pinlen, const uint8_t *salt, size_t saltlen,
                       unsigned long iterations, uint8_t *out, size_t outlen);
/* AES-256-GCM with a 12-byte nonce and 16-byte tag. seal writes nonce||ct||tag
 * (len + 28 bytes); open returns -1 when authentication fails. */
int ossl_gcm_seal(const uint8_t key[32], const void *aad, size_t aadlen, const uint8_t *pt,
                  size_t len, uint8_t *out);
int ossl_gcm_open(const uint8_t key[32], const void *aad, size_t aadlen, const uint8_t *in,
                  size_t inlen, uint8_t *pt);
#define OSSL_GCM_OVERHEAD 28
#endif
