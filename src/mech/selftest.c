/* Power-on self-tests (FIPS 140-3 style CASTs): every test feeds fixed inputs through the
 * module's own mechanism families (mech_find(...)->family), never straight to libcrypto, and
 * compares the output with a known answer, so a broken family, parameter parser or provider
 * fails C_Initialize.
 *
 * Sources of the known answers: FIPS 180-4 / FIPS 202 examples ("abc"), RFC 4231 test case 2,
 * NIST CAVP gcmEncryptExtIV256 (the vector OpenSSL's FIPS provider uses), SP 800-38A F.2.5,
 * RFC 3394 4.6, RFC 6979 A.2.5, RFC 8032 7.1 test 2, RFC 5869 A.1, RFC 6070 test 5 parameters
 * with HMAC-SHA256 (OpenSSL's FIPS PBKDF2 vector) and NIST CAVP CTR_DRBG.rsp [AES-128 use df,
 * PredictionResistance = True] COUNT 0. The RSA-2048 key was generated once for this file; its
 * PKCS#1 v1.5 signature was computed outside libcrypto (RFC 8017 9.2 encoding and modular
 * exponentiation in Python) and agrees with `openssl dgst -sha256 -sign`.
 *
 * Verify-only tests also check that a damaged signature or tag is refused, so a verifier that
 * accepts everything fails too. The DRBG KAT has no mechanism family to go through: it runs the
 * provider's CTR-DRBG in the module's own library context, instantiated from OpenSSL's
 * deterministic TEST-RAND source, which is what OpenSSL's FIPS provider does in its own POST. */
#include "mech/selftest.h"
#include "base/hex.h"
#include "mech/mech.h"
#include "mech/rng.h"
#include "base/log.h"
#include "base/ossl.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <string.h>

#define ST_MAX 256 /* largest fixed input or output (an RSA-2048 signature) */

static char g_force[32];

void selftest_force_fail(const char *which)
{
    if (!which)
        which = "";
    size_t n = strlen(which);
    if (n >= sizeof g_force)
        n = sizeof g_force - 1;
    memcpy(g_force, which, n);
    g_force[n] = '\0';
}

/* --- helpers ----------------------------------------------------------------------------- */

/* Decodes a fixed hex constant; 0 (a failed test) if it does not fit or is malformed. */
static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > max)
        return 0;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return n / 2;
}

/* A hex constant as an attribute. */
static CK_RV set_hex(attrs_t *a, CK_ATTRIBUTE_TYPE t, const char *hex, bool secret)
{
    uint8_t buf[ST_MAX];
    size_t n = unhex(hex, buf, sizeof buf);
    CK_RV rv = n ? attrs_set(a, t, buf, (CK_ULONG)n, secret) : CKR_GENERAL_ERROR;
    OPENSSL_cleanse(buf, sizeof buf);
    return rv;
}

static CK_RV key_head(attrs_t *a, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
    CK_RV rv = attrs_set_ulong(a, CKA_CLASS, cls);
    if (rv == CKR_OK && kt != CK_UNAVAILABLE_INFORMATION)
        rv = attrs_set_ulong(a, CKA_KEY_TYPE, kt);
    return rv;
}

/* A secret key object of type kt with the given hex value. */
static CK_RV secret_key(attrs_t *a, CK_KEY_TYPE kt, const char *hex)
{
    CK_RV rv = key_head(a, CKO_SECRET_KEY, kt);
    return rv == CKR_OK ? set_hex(a, CKA_VALUE, hex, true) : rv;
}

static const struct mech_def *find(CK_MECHANISM_TYPE t)
{
    const struct mech_def *d = mech_find(t);
    if (!d || !d->family)
        LOG_ERR("self-test: mechanism 0x%lx is not available", (unsigned long)t);
    return d && d->family ? d : NULL;
}

/* One single-part operation (encrypt, decrypt, digest or sign) through the family. */
static CK_RV once(CK_MECHANISM_TYPE t, void *param, CK_ULONG plen, CK_FLAGS fn,
                  const attrs_t *key, const uint8_t *in, size_t inlen, uint8_t *out,
                  size_t *outlen)
{
    const struct mech_def *d = find(t);
    if (!d || !d->family->init || !d->family->oneshot || !d->family->free)
        return CKR_MECHANISM_INVALID;
    CK_MECHANISM m = { t, param, plen };
    struct mech_key k = { key, NULL, NULL };
    struct mech_ctx *c = NULL;
    CK_RV rv = d->family->init(d, fn, &m, key ? &k : NULL, &c);
    if (rv != CKR_OK)
        return rv;
    CK_ULONG n = (CK_ULONG)*outlen;
    rv = d->family->oneshot(c, in, inlen, out, &n);
    d->family->free(c);
    *outlen = n;
    return rv;
}

static CK_RV verify(CK_MECHANISM_TYPE t, const attrs_t *key, const uint8_t *in, size_t inlen,
                    const uint8_t *sig, size_t siglen)
{
    const struct mech_def *d = find(t);
    if (!d || !d->family->init || !d->family->verify_oneshot || !d->family->free)
        return CKR_MECHANISM_INVALID;
    CK_MECHANISM m = { t, NULL, 0 };
    struct mech_key k = { key, NULL, NULL };
    struct mech_ctx *c = NULL;
    CK_RV rv = d->family->init(d, CKF_VERIFY, &m, &k, &c);
    if (rv != CKR_OK)
        return rv;
    rv = d->family->verify_oneshot(c, in, inlen, sig, siglen);
    d->family->free(c);
    return rv;
}

/* The comparison every KAT ends with. corrupt damages the computed value first, as a faulty
 * implementation would (the test hook). */
static bool matches(uint8_t *got, size_t gotlen, const char *want_hex, bool corrupt)
{
    uint8_t want[ST_MAX];
    size_t wl = unhex(want_hex, want, sizeof want);
    if (corrupt && gotlen)
        got[0] ^= 0x01;
    return wl && gotlen == wl && CRYPTO_memcmp(got, want, wl) == 0;
}

/* A signature or tag that must verify, and must not once one bit is flipped. */
static bool verifies(CK_MECHANISM_TYPE t, const attrs_t *key, const uint8_t *msg, size_t mlen,
                     const char *sig_hex, bool corrupt)
{
    uint8_t sig[ST_MAX] = { 0 };
    size_t sl = unhex(sig_hex, sig, sizeof sig);
    if (!sl)
        return false;
    if (corrupt)
        sig[sl - 1] ^= 0x01;
    if (verify(t, key, msg, mlen, sig, sl) != CKR_OK)
        return false;
    sig[sl / 2] ^= 0x80;
    return verify(t, key, msg, mlen, sig, sl) == CKR_SIGNATURE_INVALID;
}

#define MSG(s) (const uint8_t *)(s), (sizeof(s) - 1)

/* --- digests ------------------------------------------------------------------------------ */

static bool digest_kat(CK_MECHANISM_TYPE t, const char *want, bool corrupt)
{
    uint8_t out[64];
    size_t n = sizeof out;
    return once(t, NULL, 0, CKF_DIGEST, NULL, MSG("abc"), out, &n) == CKR_OK &&
           matches(out, n, want, corrupt);
}

static bool kat_sha256(bool corrupt)
{
    return digest_kat(CKM_SHA256,
                      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", corrupt);
}

static bool kat_sha512(bool corrupt)
{
    return digest_kat(CKM_SHA512,
                      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
                      corrupt);
}

static bool kat_sha3_256(bool corrupt)
{
    return digest_kat(CKM_SHA3_256,
                      "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532", corrupt);
}

/* --- HMAC --------------------------------------------------------------------------------- */

static bool kat_hmac_sha256(bool corrupt)
{
    static const char tag[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    attrs_t key;
    uint8_t out[32];
    size_t n = sizeof out;
    attrs_init(&key);
    bool ok = secret_key(&key, CKK_GENERIC_SECRET, "4a656665" /* "Jefe" */) == CKR_OK &&
              once(CKM_SHA256_HMAC, NULL, 0, CKF_SIGN, &key,
                   MSG("what do ya want for nothing?"), out, &n) == CKR_OK &&
              matches(out, n, tag, corrupt) &&
              verifies(CKM_SHA256_HMAC, &key, MSG("what do ya want for nothing?"), tag, false);
    attrs_free(&key);
    return ok;
}

/* --- AES ---------------------------------------------------------------------------------- */

static bool kat_aes_gcm(bool corrupt)
{
    static const char ct_tag[] = "8995ae2e6df3dbf96fac7b7137bae67f"
                                 "eca5aa77d51d4a0a14d9c51e1da474ab";
    static const char pt_hex[] = "2d71bcfa914e4ac045b2aa60955fad24";
    uint8_t iv[12] = { 0 }, aad[16] = { 0 }, pt[16] = { 0 }, in[32] = { 0 }, out[48];
    attrs_t key;
    attrs_init(&key);
    if (unhex("ac93a1a6145299bde902f21a", iv, sizeof iv) != sizeof iv ||
        unhex("1e0889016f67601c8ebea4943bc23ad6", aad, sizeof aad) != sizeof aad ||
        unhex(pt_hex, pt, sizeof pt) != sizeof pt ||
        unhex(ct_tag, in, sizeof in) != sizeof in ||
        secret_key(&key, CKK_AES, "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b")
            != CKR_OK) {
        attrs_free(&key);
        return false;
    }
    CK_GCM_PARAMS p = { iv, sizeof iv, 96, aad, sizeof aad, 128 };
    size_t n = sizeof out;
    bool ok = once(CKM_AES_GCM, &p, sizeof p, CKF_ENCRYPT, &key, pt, sizeof pt, out, &n) ==
                  CKR_OK &&
              matches(out, n, ct_tag, corrupt);
    n = sizeof out;
    ok = ok && once(CKM_AES_GCM, &p, sizeof p, CKF_DECRYPT, &key, in, sizeof in, out, &n) ==
                   CKR_OK &&
         matches(out, n, pt_hex, false);
    /* a damaged tag is refused */
    in[sizeof in - 1] ^= 0x01;
    n = sizeof out;
    ok = ok && once(CKM_AES_GCM, &p, sizeof p, CKF_DECRYPT, &key, in, sizeof in, out, &n) ==
                   CKR_ENCRYPTED_DATA_INVALID;
    attrs_free(&key);
    return ok;
}

static bool kat_aes_cbc(bool corrupt)
{
    static const char pt_hex[] = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                                 "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
    static const char ct_hex[] = "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
                                 "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b";
    uint8_t iv[16] = { 0 }, pt[64] = { 0 }, ct[64] = { 0 }, out[80];
    attrs_t key;
    attrs_init(&key);
    bool ok = unhex("000102030405060708090a0b0c0d0e0f", iv, sizeof iv) == sizeof iv &&
              unhex(pt_hex, pt, sizeof pt) == sizeof pt &&
              unhex(ct_hex, ct, sizeof ct) == sizeof ct &&
              secret_key(&key, CKK_AES,
                         "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4") ==
                  CKR_OK;
    size_t n = sizeof out;
    ok = ok && once(CKM_AES_CBC, iv, sizeof iv, CKF_ENCRYPT, &key, pt, sizeof pt, out, &n) ==
                   CKR_OK &&
         matches(out, n, ct_hex, corrupt);
    n = sizeof out;
    ok = ok && once(CKM_AES_CBC, iv, sizeof iv, CKF_DECRYPT, &key, ct, sizeof ct, out, &n) ==
                   CKR_OK &&
         matches(out, n, pt_hex, false);
    attrs_free(&key);
    return ok;
}

static bool kat_aes_kw(bool corrupt)
{
    static const char data_hex[] = "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f";
    static const char wrapped_hex[] = "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326"
                                      "cbc7f0e71a99f43bfb988b9b7a02dd21";
    uint8_t data[32] = { 0 }, wrapped[40] = { 0 }, out[56];
    attrs_t key;
    attrs_init(&key);
    bool ok = unhex(data_hex, data, sizeof data) == sizeof data &&
              unhex(wrapped_hex, wrapped, sizeof wrapped) == sizeof wrapped &&
              secret_key(&key, CKK_AES,
                         "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f") ==
                  CKR_OK;
    size_t n = sizeof out;
    ok = ok && once(CKM_AES_KEY_WRAP, NULL, 0, CKF_ENCRYPT, &key, data, sizeof data, out, &n) ==
                   CKR_OK &&
         matches(out, n, wrapped_hex, corrupt);
    n = sizeof out;
    ok = ok && once(CKM_AES_KEY_WRAP, NULL, 0, CKF_DECRYPT, &key, wrapped, sizeof wrapped, out,
                    &n) == CKR_OK &&
         matches(out, n, data_hex, false);
    /* a damaged wrapping fails its integrity check */
    wrapped[0] ^= 0x01;
    n = sizeof out;
    ok = ok && once(CKM_AES_KEY_WRAP, NULL, 0, CKF_DECRYPT, &key, wrapped, sizeof wrapped, out,
                    &n) != CKR_OK;
    attrs_free(&key);
    return ok;
}

/* --- RSA ---------------------------------------------------------------------------------- */

/* RSA-2048, e = 65537, generated for this file (see the header comment). */
static const char RSA_N[] =
    "df5dfea0d680532c57b134ee44ff5f18360ee3ca3897927ff847a8628263e593"
    "976a92580d63ff4717671e847efc254f2c8d906eb72b15651bf680abf1734447"
    "1d5d35838da457fc6604b1acd520572f45a732e61613c6de0155f364cfc12f08"
    "6577c2d864ca4fba890550df857c06c1ed3deadddbbe373f3e64db90d8982a62"
    "0633267df3dcf0c7e2e0fcbc5561d49ecb6c5dd84363047b02d4a2cdbfe4fa68"
    "07fb030216d6269e7164016da67afccd65f360ee5ff61e830e868a26208432d4"
    "ab85a8f77c256d71472688e20b14a4b7d85c6c50be07793a4b581638b2afb70c"
    "c115412ceccf3050b05475b031d6ec8a6c1fde0a5a695a8ac3465f6f40d54b1d";
static const char RSA_D[] =
    "0de9e550e5810182a89a66e954ae47a1281f8dfc41c1874efb609352423c5b72"
    "47234ca70ed124ccabde30de20a984e01aaeb2c982c011f41b657927121793b0"
    "39045e59ff250bea07fcd0ddd58f79d4285592ebc1824d329fb357ec4c035a47"
    "a947bd810c938c45daaa7f1ad2a378299fa53f65147ebe7842630bf39e2fa9ac"
    "15adf087671baaa0ddfcd03d5a37b33619d53366f6357a2a90fa4e28d21cc2df"
    "2abf20ed3326c2d708da8defba868836fc06a2e5afa2e0fa2e354d8b7dbc7054"
    "0b60da842ecf37d84c474be3ec1120554714e44bf0585833f1503f67c7093df8"
    "bec9541947b3511bda80dcb6c03adf678f2a64aa09b2e2f773ef64e3900c9fc1";
static const char RSA_P[] =
    "f5e18864338fc36fb4906e2c291ec2251ebcd9ebb68995a0d19ef94283a2e0e5"
    "c98c6ebf7824a5768b168a95d04fd70137e6c5e60aa5053fa83be2022e52ee0a"
    "e820a842813f1edc1fafe90da1ff47e77b3994e0b895748bb85972950713c9e3"
    "a9223a8e62ca157ea08e049a9680582b20da1ca9c4e0fd76b4fd2b6d8b8fcbcd";
static const char RSA_Q[] =
    "e88f44c2a106b00497ba5ffb103fa3589a65bbcf048349ef4b98ec2218c5245c"
    "a9c589192a0926d35850171c33d6fcbb8149c5d7bdf16dba9923b02367e6eeee"
    "07106f7db120e0cf21ad8156de88e91c67739bb50b77f6530c8e1801548bea06"
    "9e5f54f7b9695e2e34afda505914015ace511dcdf7d2dcbba9b0644ba56a4c91";
static const char RSA_DP[] =
    "e00e8c83029956b64c0bf0d93cff525b110f76655d0932d8412c6467401d0463"
    "60ae1f9d4a95da51939d0edc45defb4598f32a12de5051e01825b965d360ae9a"
    "31bcd09709bfc31743a8c0ee3358b4e5335cdd5589de673d8ad7b79a25c0da90"
    "2267968479713cf50ec95b58a31c813b8bcc35a25e4dc7aa8c72c748238cfd61";
static const char RSA_DQ[] =
    "bfff180b7f19a0540a57ea49c25e67a30cc514ca92b53963000c9e568010b236"
    "764b0926e7576ae06d36a1fdbca6af3cb63e8bc1d3a4f0ac6f25d1934982949b"
    "9ae56cc65e680071c1221777fa7d19c7437964819198569ab5f0d1ccb75a53b9"
    "6722d969337fd42b5d801942e067edbe643affda3dd1ae3e9897721629d89aa1";
static const char RSA_QINV[] =
    "27847d9084b3684b5fc67c1184fac5dcec09eb28a4ba8cbb54153b734fe097d0"
    "0347d449d2692fd547b712d8649226d0fd40754e48eeb8e0beacb8f89add46c7"
    "ac3d89c4dec6d6647dda47645162e4e65b64ad8a56132cb7f7c1d881d9166f29"
    "185248a8827cb23ee73742b31e10b5803cbe366245b89a47fd3b3025192a20ea";
static const char RSA_SIG[] =
    "9ee028623e03c64cd83191f06252b487785eae6b1b0ae09e7c7a0dc56cb91cc6"
    "deafd2bd2b34c0c814cf1092d1771c041b1f62ef46bcaecd6c1ab3dacdfdf6d3"
    "f68e391c2ba024dc0d6f40d008d4117b8e17059682d0202df27d020baf084878"
    "c6e1e9bdc18ef5799705187adc2115e17d81573452ffff084035187dc212e455"
    "db69b427f48842f18b6e678b381f6407811c44b9a79990768fb88090955537e6"
    "6774b493b5f359ccecec0b9db1a07f2b3d687047c3d4ba80d2928c245dbfc489"
    "573c7e822add595fe290b6020ac26cdd2b1df7e2eb2ccfa988c6b0d7be703d3a"
    "0b86ed573d5f4ef067ab6182c0fed79220e84f9579eb12243675b9e3dbaa8287";

static const uint8_t RSA_MSG[] = "Craton POST RSA-2048 PKCS#1 v1.5 SHA-256";

static CK_RV rsa_key(attrs_t *a, bool priv)
{
    CK_RV rv = key_head(a, priv ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY, CKK_RSA);
    if (rv == CKR_OK)
        rv = set_hex(a, CKA_MODULUS, RSA_N, false);
    if (rv == CKR_OK)
        rv = set_hex(a, CKA_PUBLIC_EXPONENT, "010001", false);
    if (!priv || rv != CKR_OK)
        return rv;
    static const struct {
        CK_ATTRIBUTE_TYPE t;
        const char *hex;
    } parts[] = { { CKA_PRIVATE_EXPONENT, RSA_D }, { CKA_PRIME_1, RSA_P },
                  { CKA_PRIME_2, RSA_Q },          { CKA_EXPONENT_1, RSA_DP },
                  { CKA_EXPONENT_2, RSA_DQ },      { CKA_COEFFICIENT, RSA_QINV } };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0] && rv == CKR_OK; i++)
        rv = set_hex(a, parts[i].t, parts[i].hex, true);
    return rv;
}

static bool kat_rsa(bool corrupt)
{
    attrs_t priv, pub;
    uint8_t sig[256];
    size_t n = sizeof sig;
    attrs_init(&priv);
    attrs_init(&pub);
    bool ok = rsa_key(&priv, true) == CKR_OK && rsa_key(&pub, false) == CKR_OK &&
              once(CKM_SHA256_RSA_PKCS, NULL, 0, CKF_SIGN, &priv, RSA_MSG, sizeof RSA_MSG - 1,
                   sig, &n) == CKR_OK &&
              matches(sig, n, RSA_SIG, corrupt) &&
              verifies(CKM_SHA256_RSA_PKCS, &pub, RSA_MSG, sizeof RSA_MSG - 1, RSA_SIG, false);
    attrs_free(&priv);
    attrs_free(&pub);
    return ok;
}

/* --- ECDSA (verify only: signing is randomised) -------------------------------------------- */

static bool kat_ecdsa_p256(bool corrupt)
{
    attrs_t pub;
    attrs_init(&pub);
    bool ok = key_head(&pub, CKO_PUBLIC_KEY, CKK_EC) == CKR_OK &&
              set_hex(&pub, CKA_EC_PARAMS, "06082a8648ce3d030107", false) == CKR_OK &&
              set_hex(&pub, CKA_EC_POINT,
                      "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
                      "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299",
                      false) == CKR_OK &&
              verifies(CKM_ECDSA_SHA256, &pub, MSG("sample"),
                       "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
                       "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
                       corrupt);
    attrs_free(&pub);
    return ok;
}

/* --- Ed25519 (deterministic: the exact signature) ------------------------------------------ */

static bool kat_ed25519(bool corrupt)
{
    static const char sig_hex[] =
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";
    static const uint8_t msg[] = { 0x72 };
    attrs_t priv, pub;
    uint8_t sig[64];
    size_t n = sizeof sig;
    attrs_init(&priv);
    attrs_init(&pub);
    bool ok = key_head(&priv, CKO_PRIVATE_KEY, CKK_EC_EDWARDS) == CKR_OK &&
              set_hex(&priv, CKA_EC_PARAMS, "06032b6570", false) == CKR_OK &&
              set_hex(&priv, CKA_VALUE,
                      "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                      true) == CKR_OK &&
              key_head(&pub, CKO_PUBLIC_KEY, CKK_EC_EDWARDS) == CKR_OK &&
              set_hex(&pub, CKA_EC_PARAMS, "06032b6570", false) == CKR_OK &&
              set_hex(&pub, CKA_EC_POINT,
                      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                      false) == CKR_OK &&
              once(CKM_EDDSA, NULL, 0, CKF_SIGN, &priv, msg, sizeof msg, sig, &n) == CKR_OK &&
              matches(sig, n, sig_hex, corrupt) &&
              verifies(CKM_EDDSA, &pub, msg, sizeof msg, sig_hex, false);
    attrs_free(&priv);
    attrs_free(&pub);
    return ok;
}

/* --- KDFs --------------------------------------------------------------------------------- */

/* The derived CKA_VALUE of key against the known answer. */
static bool value_matches(const attrs_t *key, const char *want, bool corrupt)
{
    uint8_t got[ST_MAX];
    const attr_t *v = attrs_get(key, CKA_VALUE);
    if (!v || !v->val || v->len > sizeof got)
        return false;
    memcpy(got, v->val, v->len);
    bool ok = matches(got, v->len, want, corrupt);
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}

static bool kat_hkdf(bool corrupt)
{
    uint8_t salt[13] = { 0 }, info[10] = { 0 };
    attrs_t base, out;
    attrs_init(&base);
    attrs_init(&out);
    bool ok = unhex("000102030405060708090a0b0c", salt, sizeof salt) == sizeof salt &&
              unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof info) == sizeof info &&
              secret_key(&base, CKK_GENERIC_SECRET,
                         "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b") == CKR_OK &&
              key_head(&out, CKO_SECRET_KEY, CKK_GENERIC_SECRET) == CKR_OK &&
              attrs_set_ulong(&out, CKA_VALUE_LEN, 42) == CKR_OK;
    const struct mech_def *d = ok ? find(CKM_HKDF_DERIVE) : NULL;
    if (d && d->family->derive) {
        CK_HKDF_PARAMS p = { CK_TRUE, CK_TRUE, CKM_SHA256, CKF_HKDF_SALT_DATA, salt, sizeof salt,
                             CK_INVALID_HANDLE, info, sizeof info };
        CK_MECHANISM m = { CKM_HKDF_DERIVE, &p, sizeof p };
        struct mech_key k = { &base, NULL, NULL };
        ok = d->family->derive(d, &m, &k, &out) == CKR_OK &&
             value_matches(&out,
                           "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                           "34007208d5b887185865",
                           corrupt);
    } else {
        ok = false;
    }
    attrs_free(&base);
    attrs_free(&out);
    return ok;
}

static bool kat_pbkdf2(bool corrupt)
{
    static const char pw[] = "passwordPASSWORDpassword";
    static const char salt[] = "saltSALTsaltSALTsaltSALTsaltSALTsalt";
    attrs_t out;
    attrs_init(&out);
    bool ok = key_head(&out, CKO_SECRET_KEY, CKK_GENERIC_SECRET) == CKR_OK &&
              attrs_set_ulong(&out, CKA_VALUE_LEN, 25) == CKR_OK;
    const struct mech_def *d = ok ? find(CKM_PKCS5_PBKD2) : NULL;
    if (d && d->family->generate) {
        CK_PKCS5_PBKD2_PARAMS2 p = { CKZ_SALT_SPECIFIED, (void *)salt, sizeof salt - 1, 4096,
                                     CKP_PKCS5_PBKD2_HMAC_SHA256, NULL, 0,
                                     (CK_UTF8CHAR_PTR)pw, sizeof pw - 1 };
        CK_MECHANISM m = { CKM_PKCS5_PBKD2, &p, sizeof p };
        ok = d->family->generate(d, &m, &out) == CKR_OK &&
             value_matches(&out, "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c", corrupt);
    } else {
        ok = false;
    }
    attrs_free(&out);
    return ok;
}

/* --- DRBG --------------------------------------------------------------------------------- */

/* CTR_DRBG.rsp [AES-128 use df] [PredictionResistance = True], COUNT 0: instantiate with
 * entropy, nonce and personalisation string; two generates with prediction resistance (each
 * reseeds from fresh entropy) and additional input; the second output is the answer. */
static bool kat_ctr_drbg(bool corrupt)
{
    uint8_t entropy[16], nonce[8], pers[16], epr0[16], epr1[16], add0[16], add1[16], out[64];
    if (unhex("92898f31fa1cff6d182f260643dff818", entropy, 16) != 16 ||
        unhex("c2a4d972c3b9b697", nonce, 8) != 8 ||
        unhex("ea65ee60264e7eb60e8268c4373c5c0b", pers, 16) != 16 ||
        unhex("20728a06f86f8dd441e272b7c42ce810", epr0, 16) != 16 ||
        unhex("3db0f094f305503317863e2208f7a501", epr1, 16) != 16 ||
        unhex("1a40fae3cc6c7ca0f8daba59236dad1d", add0, 16) != 16 ||
        unhex("9f72766cc746e5ed2e532012bc59318c", add1, 16) != 16)
        return false;
    bool ok = false;
    unsigned int strength = 256;
    EVP_RAND_CTX *test = NULL, *drbg = NULL;
    EVP_RAND *r = EVP_RAND_fetch(ossl_libctx(), "TEST-RAND", NULL);
    if (r)
        test = EVP_RAND_CTX_new(r, NULL);
    EVP_RAND_free(r);
    r = test ? EVP_RAND_fetch(ossl_libctx(), "CTR-DRBG", NULL) : NULL;
    if (r)
        drbg = EVP_RAND_CTX_new(r, test);
    EVP_RAND_free(r);
    if (!drbg)
        goto done;
    OSSL_PARAM p[3];
    p[0] = OSSL_PARAM_construct_uint(OSSL_RAND_PARAM_STRENGTH, &strength);
    p[1] = OSSL_PARAM_construct_end();
    if (!EVP_RAND_CTX_set_params(test, p))
        goto done;
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER, (char *)"AES-128-CTR", 0);
    p[1] = OSSL_PARAM_construct_end();
    if (!EVP_RAND_CTX_set_params(drbg, p))
        goto done;
    strength = EVP_RAND_get_strength(drbg);
    p[0] = OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_ENTROPY, entropy, sizeof entropy);
    p[1] = OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_NONCE, nonce, sizeof nonce);
    p[2] = OSSL_PARAM_construct_end();
    if (!EVP_RAND_instantiate(test, strength, 0, NULL, 0, p) ||
        !EVP_RAND_instantiate(drbg, strength, 0, pers, sizeof pers, NULL))
        goto done;
    p[0] = OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_ENTROPY, epr0, sizeof epr0);
    p[1] = OSSL_PARAM_construct_end();
    if (!EVP_RAND_CTX_set_params(test, p) ||
        !EVP_RAND_generate(drbg, out, sizeof out, strength, 1, add0, sizeof add0))
        goto done;
    p[0] = OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_ENTROPY, epr1, sizeof epr1);
    if (!EVP_RAND_CTX_set_params(test, p) ||
        !EVP_RAND_generate(drbg, out, sizeof out, strength, 1, add1, sizeof add1))
        goto done;
    ok = matches(out, sizeof out,
                 "5a3539870f4d22a40924ee71c96fac720ad6f08882d0832873ec3f93d8ab4523"
                 "f07eac45145e939fb1d676433db6e80888f6da89087742fe1af43fc423c51f68",
                 corrupt) &&
         EVP_RAND_uninstantiate(drbg) && EVP_RAND_verify_zeroization(drbg);
done:
    EVP_RAND_CTX_free(drbg);
    EVP_RAND_CTX_free(test);
    OPENSSL_cleanse(out, sizeof out);
    return ok;
}

/* The module's own generator: it is the CTR-DRBG the KAT above covers, it instantiates from
 * the operating system, and its output passes the continuous test of rng.c. Forcing this test
 * makes the source stuck (rng_test_force_stuck), so the continuous test itself must catch it. */
static bool rng_health(bool corrupt)
{
    EVP_RAND_CTX *primary = RAND_get0_primary(ossl_libctx());
    const EVP_RAND *r = primary ? EVP_RAND_CTX_get0_rand(primary) : NULL;
    if (!r || !EVP_RAND_is_a(r, "CTR-DRBG")) {
        LOG_ERR("self-test: the module's DRBG is not the CTR-DRBG its known-answer test covers");
        return false;
    }
    uint8_t buf[64];
    if (corrupt)
        rng_test_force_stuck(true);
    CK_RV rv = mech_random(buf, sizeof buf);
    if (corrupt)
        rng_test_force_stuck(false);
    OPENSSL_cleanse(buf, sizeof buf);
    return rv == CKR_OK;
}

/* --- the list ----------------------------------------------------------------------------- */

static const struct {
    const char *name;
    bool (*run)(bool corrupt);
} g_tests[] = {
    { "SHA-256", kat_sha256 },
    { "SHA-512", kat_sha512 },
    { "SHA3-256", kat_sha3_256 },
    { "HMAC-SHA256", kat_hmac_sha256 },
    { "AES-256-GCM", kat_aes_gcm },
    { "AES-256-CBC", kat_aes_cbc },
    { "AES-256-KW", kat_aes_kw },
    { "RSA-2048-PKCS1-SHA256", kat_rsa },
    { "ECDSA-P256-SHA256", kat_ecdsa_p256 },
    { "Ed25519", kat_ed25519 },
    { "HKDF-SHA256", kat_hkdf },
    { "PBKDF2-SHA256", kat_pbkdf2 },
    { "CTR-DRBG", kat_ctr_drbg },
    { "RNG-health", rng_health },
};
#define NTESTS (sizeof g_tests / sizeof g_tests[0])

size_t selftest_count(void)
{
    return NTESTS;
}

const char *selftest_name(size_t i)
{
    return i < NTESTS ? g_tests[i].name : NULL;
}

static bool forced(const char *name)
{
    return g_force[0] && (strcmp(g_force, "*") == 0 || strcmp(g_force, name) == 0);
}

static CK_RV run(size_t i)
{
    if (g_tests[i].run(forced(g_tests[i].name)))
        return CKR_OK;
    LOG_ERR("power-on self-test %s failed", g_tests[i].name);
    return CKR_GENERAL_ERROR;
}

CK_RV selftest_run_one(const char *name)
{
    for (size_t i = 0; name && i < NTESTS; i++)
        if (strcmp(g_tests[i].name, name) == 0)
            return run(i);
    return CKR_ARGUMENTS_BAD;
}

CK_RV selftest_run(void)
{
    for (size_t i = 0; i < NTESTS; i++)
        if (run(i) != CKR_OK)
            return CKR_GENERAL_ERROR;
    LOG_DEBUG("power-on self-tests passed (%zu tests)", NTESTS);
    return CKR_OK;
}
