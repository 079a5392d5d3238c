/* The attribute table, after the PKCS#11 3.0 base specification's object class tables. */
#include "object/schema.h"

#include <stddef.h>

#define M F_MODIFY
#define CP F_COPY
static const struct attr_rule rules[] = {
    /* Common to all objects */
    { CKA_CLASS, AK_ULONG, C_ALL, K_ANY, F_REQUIRED },
    { CKA_TOKEN, AK_BOOL, C_ALL, K_ANY, CP },
    { CKA_PRIVATE, AK_BOOL, C_ALL, K_ANY, CP },
    { CKA_MODIFIABLE, AK_BOOL, C_ALL, K_ANY, CP },
    { CKA_COPYABLE, AK_BOOL, C_ALL, K_ANY, M | CP | F_TO_FALSE },
    { CKA_DESTROYABLE, AK_BOOL, C_ALL, K_ANY, M | CP },
    { CKA_LABEL, AK_BYTES, C_ALL, K_ANY, M | CP },
    { CKA_UNIQUE_ID, AK_BYTES, C_ALL, K_ANY, F_TOKEN },
    /* Data objects */
    { CKA_APPLICATION, AK_BYTES, C_DATA, K_ANY, M | CP },
    { CKA_OBJECT_ID, AK_BYTES, C_DATA, K_ANY, M | CP },
    { CKA_VALUE, AK_BYTES, C_DATA, K_ANY, M | CP },
    /* Certificates (X.509 public key certificates) */
    { CKA_CERTIFICATE_TYPE, AK_ULONG, C_CERT, K_ANY, F_REQUIRED },
    { CKA_TRUSTED, AK_BOOL, C_CERT | C_PUB | C_SECRET, K_ANY, M | CP | F_SO_TRUE },
    { CKA_CERTIFICATE_CATEGORY, AK_ULONG, C_CERT, K_ANY, M | CP },
    { CKA_CHECK_VALUE, AK_BYTES, C_CERT | C_SECRET, K_ANY, 0 },
    { CKA_SUBJECT, AK_BYTES, C_CERT | C_PUB | C_PRIV, K_ANY, M | CP },
    { CKA_ISSUER, AK_BYTES, C_CERT, K_ANY, M | CP },
    { CKA_SERIAL_NUMBER, AK_BYTES, C_CERT, K_ANY, M | CP },
    { CKA_VALUE, AK_BYTES, C_CERT, K_ANY, F_REQUIRED },
    { CKA_URL, AK_BYTES, C_CERT, K_ANY, 0 },
    { CKA_HASH_OF_SUBJECT_PUBLIC_KEY, AK_BYTES, C_CERT, K_ANY, 0 },
    { CKA_HASH_OF_ISSUER_PUBLIC_KEY, AK_BYTES, C_CERT, K_ANY, 0 },
    { CKA_JAVA_MIDP_SECURITY_DOMAIN, AK_ULONG, C_CERT, K_ANY, 0 },
    { CKA_NAME_HASH_ALGORITHM, AK_ULONG, C_CERT, K_ANY, 0 },
    { CKA_PUBLIC_KEY_INFO, AK_BYTES, C_CERT | C_PUB | C_PRIV, K_ANY, 0 },
    /* Dates apply to certificates and keys */
    { CKA_START_DATE, AK_DATE, C_CERT | C_KEYS, K_ANY, M | CP },
    { CKA_END_DATE, AK_DATE, C_CERT | C_KEYS, K_ANY, M | CP },
    /* Common key attributes */
    { CKA_KEY_TYPE, AK_ULONG, C_KEYS, K_ANY, F_REQUIRED },
    { CKA_ID, AK_BYTES, C_CERT | C_KEYS, K_ANY, M | CP },
    { CKA_DERIVE, AK_BOOL, C_KEYS, K_ANY, M | CP },
    { CKA_LOCAL, AK_BOOL, C_KEYS, K_ANY, F_TOKEN },
    { CKA_KEY_GEN_MECHANISM, AK_ULONG, C_KEYS, K_ANY, F_TOKEN },
    { CKA_ALLOWED_MECHANISMS, AK_MECHS, C_KEYS, K_ANY, CP },
    /* Usage */
    { CKA_ENCRYPT, AK_BOOL, C_PUB | C_SECRET, K_ANY, M | CP },
    { CKA_VERIFY, AK_BOOL, C_PUB | C_SECRET, K_ANY, M | CP },
    { CKA_VERIFY_RECOVER, AK_BOOL, C_PUB, K_ANY, M | CP },
    { CKA_WRAP, AK_BOOL, C_PUB | C_SECRET, K_ANY, M | CP },
    { CKA_WRAP_TEMPLATE, AK_ARRAY, C_PUB | C_SECRET, K_ANY, 0 },
    { CKA_DECRYPT, AK_BOOL, C_PRIV | C_SECRET, K_ANY, M | CP },
    { CKA_SIGN, AK_BOOL, C_PRIV | C_SECRET, K_ANY, M | CP },
    { CKA_SIGN_RECOVER, AK_BOOL, C_PRIV, K_ANY, M | CP },
    { CKA_UNWRAP, AK_BOOL, C_PRIV | C_SECRET, K_ANY, M | CP },
    { CKA_UNWRAP_TEMPLATE, AK_ARRAY, C_PRIV | C_SECRET, K_ANY, 0 },
    { CKA_DERIVE_TEMPLATE, AK_ARRAY, C_PRIV | C_SECRET, K_ANY, 0 },
    /* Protection of private and secret keys */
    { CKA_SENSITIVE, AK_BOOL, C_PRIV | C_SECRET, K_ANY, M | CP | F_TO_TRUE },
    { CKA_EXTRACTABLE, AK_BOOL, C_PRIV | C_SECRET, K_ANY, M | CP | F_TO_FALSE },
    { CKA_ALWAYS_SENSITIVE, AK_BOOL, C_PRIV | C_SECRET, K_ANY, F_TOKEN },
    { CKA_NEVER_EXTRACTABLE, AK_BOOL, C_PRIV | C_SECRET, K_ANY, F_TOKEN },
    { CKA_WRAP_WITH_TRUSTED, AK_BOOL, C_PRIV | C_SECRET, K_ANY, M | CP | F_TO_TRUE },
    { CKA_ALWAYS_AUTHENTICATE, AK_BOOL, C_PRIV, K_ANY, 0 },
    /* RSA */
    { CKA_MODULUS, AK_BYTES, C_PUB | C_PRIV, K_RSA, F_REQUIRED },
    { CKA_MODULUS_BITS, AK_ULONG, C_PUB, K_RSA, F_GENONLY },
    { CKA_PUBLIC_EXPONENT, AK_BYTES, C_PUB | C_PRIV, K_RSA, 0 },
    { CKA_PRIVATE_EXPONENT, AK_BYTES, C_PRIV, K_RSA, F_SECRET | F_REQUIRED },
    { CKA_PRIME_1, AK_BYTES, C_PRIV, K_RSA, F_SECRET },
    { CKA_PRIME_2, AK_BYTES, C_PRIV, K_RSA, F_SECRET },
    { CKA_EXPONENT_1, AK_BYTES, C_PRIV, K_RSA, F_SECRET },
    { CKA_EXPONENT_2, AK_BYTES, C_PRIV, K_RSA, F_SECRET },
    { CKA_COEFFICIENT, AK_BYTES, C_PRIV, K_RSA, F_SECRET },
    /* EC, EdDSA, Montgomery */
    { CKA_EC_PARAMS, AK_BYTES, C_PUB | C_PRIV, K_EC, F_REQUIRED },
    { CKA_EC_POINT, AK_BYTES, C_PUB, K_EC, F_REQUIRED },
    { CKA_VALUE, AK_BYTES, C_PRIV, K_EC, F_SECRET | F_REQUIRED },
    /* Secret keys */
    { CKA_VALUE, AK_BYTES, C_SECRET, K_SYM, F_SECRET | F_REQUIRED },
    { CKA_VALUE_LEN, AK_ULONG, C_SECRET, K_SYM, F_GENONLY },
};
#undef M
#undef CP

unsigned schema_class_bit(CK_OBJECT_CLASS cls)
{
    switch (cls) {
    case CKO_DATA: return C_DATA;
    case CKO_CERTIFICATE: return C_CERT;
    case CKO_PUBLIC_KEY: return C_PUB;
    case CKO_PRIVATE_KEY: return C_PRIV;
    case CKO_SECRET_KEY: return C_SECRET;
    default: return 0;
    }
}

unsigned schema_keytype_bit(CK_KEY_TYPE kt)
{
    switch (kt) {
    case CKK_RSA: return K_RSA;
    case CKK_EC:
    case CKK_EC_EDWARDS:
    case CKK_EC_MONTGOMERY: return K_EC;
    case CKK_GENERIC_SECRET:
    case CKK_AES:
    case CKK_CHACHA20:
    case CKK_SHA_1_HMAC:
    case CKK_SHA224_HMAC:
    case CKK_SHA256_HMAC:
    case CKK_SHA384_HMAC:
    case CKK_SHA512_HMAC:
    case CKK_SHA512_224_HMAC:
    case CKK_SHA512_256_HMAC:
    case CKK_SHA3_224_HMAC:
    case CKK_SHA3_256_HMAC:
    case CKK_SHA3_384_HMAC:
    case CKK_SHA3_512_HMAC:
    case CKK_HKDF: return K_SYM;
    default: return 0;
    }
}

const struct attr_rule *schema_rule(CK_ATTRIBUTE_TYPE type, CK_OBJECT_CLASS cls,
                                    CK_KEY_TYPE kt, bool *known_out)
{
    unsigned cb = schema_class_bit(cls);
    unsigned kb = (cb & C_KEYS) ? schema_keytype_bit(kt) : K_ANY;
    bool known = false;
    const struct attr_rule *hit = NULL;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].type != type)
            continue;
        known = true;
        if ((rules[i].classes & cb) && (rules[i].keytypes & kb)) {
            hit = &rules[i];
            break;
        }
    }
    if (known_out)
        *known_out = known;
    return hit;
}

const struct attr_rule *schema_at(size_t i)
{
    return i < sizeof rules / sizeof rules[0] ? &rules[i] : NULL;
}
