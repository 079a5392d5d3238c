/* PKCS#8 PrivateKeyInfo for wrapping private keys under the AES mechanisms. */
#include "mech/aes_internal.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <openssl/decoder.h>
#include <openssl/encoder.h>

CK_RV sym_pkcs8_encode(const attrs_t *key, uint8_t **der, size_t *derlen)
{
    EVP_PKEY *pk = NULL;
    CK_RV rv = mech_pkey_from_attrs(key, true, &pk);
    if (rv != CKR_OK)
        return rv == CKR_HOST_MEMORY ? rv : CKR_KEY_NOT_WRAPPABLE;
    OSSL_ENCODER_CTX *ec = OSSL_ENCODER_CTX_new_for_pkey(pk, EVP_PKEY_KEYPAIR, "DER",
                                                         "PrivateKeyInfo", NULL);
    unsigned char *buf = NULL;
    size_t len = 0;
    rv = CKR_FUNCTION_FAILED;
    if (ec && OSSL_ENCODER_CTX_get_num_encoders(ec) > 0 && OSSL_ENCODER_to_data(ec, &buf, &len)) {
        *der = secmem_dup(buf, len);
        *derlen = len;
        rv = *der ? CKR_OK : CKR_HOST_MEMORY;
    }
    OPENSSL_clear_free(buf, len);
    OSSL_ENCODER_CTX_free(ec);
    EVP_PKEY_free(pk);
    return rv;
}

static CK_KEY_TYPE pkey_type(const EVP_PKEY *k)
{
    if (EVP_PKEY_is_a(k, "RSA"))
        return CKK_RSA;
    if (EVP_PKEY_is_a(k, "EC"))
        return CKK_EC;
    if (EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448"))
        return CKK_EC_EDWARDS;
    if (EVP_PKEY_is_a(k, "X25519") || EVP_PKEY_is_a(k, "X448"))
        return CKK_EC_MONTGOMERY;
    return CK_UNAVAILABLE_INFORMATION;
}

CK_RV sym_pkcs8_decode(const uint8_t *der, size_t derlen, attrs_t *key)
{
    EVP_PKEY *pk = NULL;
    OSSL_DECODER_CTX *dc = OSSL_DECODER_CTX_new_for_pkey(&pk, "DER", "PrivateKeyInfo", NULL,
                                                         EVP_PKEY_KEYPAIR, ossl_libctx(), NULL);
    const unsigned char *p = der;
    size_t left = derlen;
    CK_RV rv = CKR_WRAPPED_KEY_INVALID;
    CK_KEY_TYPE want;
    if (!dc) {
        rv = CKR_HOST_MEMORY;
    } else if (OSSL_DECODER_from_data(dc, &p, &left) && pk && left == 0) {
        CK_KEY_TYPE got = pkey_type(pk);
        if (got == CK_UNAVAILABLE_INFORMATION)
            rv = CKR_WRAPPED_KEY_INVALID;
        else if (attrs_ulong(key, CKA_KEY_TYPE, &want) && want != got)
            rv = CKR_TEMPLATE_INCONSISTENT;
        else
            rv = mech_pkey_to_attrs(pk, CKO_PRIVATE_KEY, key);
    }
    OSSL_DECODER_CTX_free(dc);
    EVP_PKEY_free(pk);
    return rv;
}
