/* Shared internals of the symmetric families (aes*.c, chacha.c); not part of the mech API. */
#ifndef CRATON_MECH_AES_INTERNAL_H
#define CRATON_MECH_AES_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "mech/mech.h"

#define AES_BLOCK 16

enum aes_mode {
    AES_M_ECB, AES_M_CBC, AES_M_CTR, AES_M_CTS, AES_M_GCM, AES_M_CCM, AES_M_KW, AES_M_KWP,
    AES_M_COUNT
};

/* Ciphers fetched once in setup(); NULL for a key length other than 16/24/32. */
const EVP_CIPHER *aes_cipher(enum aes_mode m, size_t keylen);
EVP_MAC *aes_cmac_mac(void);

/* The key's value after checking type (CKR_KEY_TYPE_INCONSISTENT) and size
 * (CKR_KEY_SIZE_RANGE). want_type is CKK_AES or CKK_CHACHA20. */
CK_RV sym_key_value(const struct mech_key *key, CK_KEY_TYPE want_type, const uint8_t **val,
                    size_t *len);

/* A growable buffer in secure memory (held plaintext or ciphertext awaiting verification). */
struct sym_buf {
    uint8_t *p;
    size_t len, cap;
};
CK_RV sym_buf_append(struct sym_buf *b, const uint8_t *in, size_t n);
void sym_buf_free(struct sym_buf *b);

/* AEAD engine shared by GCM, CCM and ChaCha20-Poly1305. Decryption never releases
 * plaintext before the tag is verified: input is held until final. */
enum aead_kind { AEAD_GCM, AEAD_CCM, AEAD_CHACHA };
struct aead_setup {
    enum aead_kind kind;
    const EVP_CIPHER *cipher;
    const uint8_t *key, *iv, *aad;
    size_t keylen, ivlen, aadlen, taglen;
    CK_ULONG ccm_datalen;
    const struct mech_key *mk; /* the key object, for its pool of keyed contexts; may be NULL */
};
CK_RV sym_aead_start(const struct mech_def *d, CK_FLAGS fn, const struct aead_setup *s,
                 struct mech_ctx **out);
CK_RV sym_aead_update(struct mech_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                  CK_ULONG *outlen);
CK_RV sym_aead_final(struct mech_ctx *c, uint8_t *out, CK_ULONG *outlen);
CK_RV sym_aead_oneshot(struct mech_ctx *c, const uint8_t *in, size_t inlen, uint8_t *out,
                   CK_ULONG *outlen);
void sym_aead_free(struct mech_ctx *c);

/* Generic wrap/unwrap over a family's encrypt/decrypt (secret keys as CKA_VALUE, private
 * keys as PKCS#8), used by every AES family that offers CKF_WRAP. */
CK_RV sym_wrap(const struct mech_def *d, const CK_MECHANISM *m, const struct mech_key *wrapping,
               const attrs_t *key, uint8_t *out, CK_ULONG *outlen);
CK_RV sym_unwrap(const struct mech_def *d, const CK_MECHANISM *m,
                 const struct mech_key *unwrapping, const uint8_t *in, size_t inlen,
                 attrs_t *key);

/* PKCS#8 PrivateKeyInfo for private-key wrapping (aes_pkcs8.c). Weak: absent until the
 * shared key conversions (pkey.c) are linked, in which case private keys are not wrappable.
 * encode returns the DER in secure memory (secmem_free). */
CK_RV sym_pkcs8_encode(const attrs_t *key, uint8_t **der, size_t *derlen)
    __attribute__((weak));
CK_RV sym_pkcs8_decode(const uint8_t *der, size_t derlen, attrs_t *key) __attribute__((weak));

extern const struct mech_family aes_aead_family;
extern const struct mech_family aes_wrap_family;
extern const struct mech_family aes_cmac_family;
#endif
