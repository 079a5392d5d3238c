/* AES mechanisms: standard known-answer vectors, the length rules, streaming and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "mech/mech.h"
#include "mech_util.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* A direct reference: the family lands in the test binary from the static archive. */
extern const struct mech_table mech_aes_table;
/* Private-key wrapping (aes_pkcs8.c); referenced here so the archive member is linked. */
CK_RV sym_pkcs8_encode(const attrs_t *key, uint8_t **der, size_t *derlen);

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        while (*h == ' ')
            h++;
        unsigned v;
        assert_int_equal(sscanf(h, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void key_hex(struct mu_key *k, const char *hex)
{
    uint8_t v[64];
    mu_key_make(k, CKK_AES, v, unhex(hex, v));
}

static CK_RV op_init(CK_MECHANISM_TYPE t, CK_FLAGS fn, const void *param, CK_ULONG plen,
                     struct mu_key *k, struct mech_ctx **c)
{
    const struct mech_def *d = mech_find(t);
    assert_non_null(d);
    CK_MECHANISM m = { t, (void *)param, plen };
    return d->family->init(d, fn, &m, &k->k, c);
}

static void op_free(struct mech_ctx *c)
{
    c->def->family->free(c);
}

/* Single-part with a length query first. */
static CK_RV crypt1(CK_MECHANISM_TYPE t, CK_FLAGS fn, const void *param, CK_ULONG plen,
                    struct mu_key *k, const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen)
{
    struct mech_ctx *c;
    CK_RV rv = op_init(t, fn, param, plen, k, &c);
    if (rv != CKR_OK)
        return rv;
    CK_ULONG l = 0;
    rv = c->def->family->oneshot(c, in, inlen, NULL, &l);
    if (rv == MECH_LENGTH_ONLY) {
        assert_true(l >= *outlen || l <= 4096);
        l = 4096;
        rv = c->def->family->oneshot(c, in, inlen, out, &l);
        *outlen = l;
    }
    op_free(c);
    return rv;
}

/* Multi-part in chunks of `chunk`; each update's output is appended. */
static CK_RV cryptN(CK_MECHANISM_TYPE t, CK_FLAGS fn, const void *param, CK_ULONG plen,
                    struct mu_key *k, const uint8_t *in, size_t inlen, size_t chunk, uint8_t *out,
                    size_t *outlen)
{
    struct mech_ctx *c;
    CK_RV rv = op_init(t, fn, param, plen, k, &c);
    if (rv != CKR_OK)
        return rv;
    size_t done = 0;
    for (size_t off = 0; off < inlen && rv == CKR_OK; off += chunk) {
        size_t n = inlen - off < chunk ? inlen - off : chunk;
        CK_ULONG l = 0;
        rv = c->def->family->update(c, in + off, n, NULL, &l);
        if (rv != MECH_LENGTH_ONLY)
            break;
        CK_ULONG need = l;
        rv = c->def->family->update(c, in + off, n, out + done, &l);
        assert_true(rv != CKR_OK || l == need);
        done += l;
    }
    if (rv == CKR_OK || rv == MECH_LENGTH_ONLY) {
        CK_ULONG l = 0;
        rv = c->def->family->final(c, NULL, &l);
        if (rv == MECH_LENGTH_ONLY) {
            l = 4096;
            rv = c->def->family->final(c, out + done, &l);
        }
        done += l;
    }
    *outlen = done;
    op_free(c);
    return rv;
}

/* Encrypt and decrypt, single-part and in several chunkings, against a vector. */
static void kat(CK_MECHANISM_TYPE t, const void *param, CK_ULONG plen, const char *keyhex,
                const char *pthex, const char *cthex)
{
    static const size_t chunks[] = { 1, 5, 16, 17, 33, 4096 };
    uint8_t pt[512], ct[512], out[4096];
    size_t ptlen = unhex(pthex, pt), ctlen = unhex(cthex, ct), outlen;
    struct mu_key k;
    key_hex(&k, keyhex);
    outlen = ctlen;
    assert_int_equal(crypt1(t, CKF_ENCRYPT, param, plen, &k, pt, ptlen, out, &outlen), CKR_OK);
    assert_int_equal(outlen, ctlen);
    assert_memory_equal(out, ct, ctlen);
    outlen = ptlen;
    assert_int_equal(crypt1(t, CKF_DECRYPT, param, plen, &k, ct, ctlen, out, &outlen), CKR_OK);
    assert_int_equal(outlen, ptlen);
    if (ptlen)
        assert_memory_equal(out, pt, ptlen);
    if (!mech_find(t)->family->update)
        goto done;
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        assert_int_equal(cryptN(t, CKF_ENCRYPT, param, plen, &k, pt, ptlen, chunks[i], out,
                                &outlen), CKR_OK);
        assert_int_equal(outlen, ctlen);
        assert_memory_equal(out, ct, ctlen);
        assert_int_equal(cryptN(t, CKF_DECRYPT, param, plen, &k, ct, ctlen, chunks[i], out,
                                &outlen), CKR_OK);
        assert_int_equal(outlen, ptlen);
        if (ptlen)
            assert_memory_equal(out, pt, ptlen);
    }
done:
    attrs_free(&k.a);
}

/* NIST SP 800-38A, F.1-F.5 */
#define K128 "2b7e151628aed2a6abf7158809cf4f3c"
#define K256 "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
#define P4 "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" \
           "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
static const uint8_t iv0f[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

static void test_ecb_cbc_ctr_sp800_38a(void **st)
{
    (void)st;
    kat(CKM_AES_ECB, NULL, 0, K128, P4,
        "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
        "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4");
    kat(CKM_AES_ECB, NULL, 0, K256, P4,
        "f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870"
        "b6ed21b99ca6f4f9f153e7b1beafed1d23304b7a39f9f3ff067d8d8f9e24ecc7");
    kat(CKM_AES_CBC, iv0f, 16, K128, P4,
        "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
        "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7");
    kat(CKM_AES_CBC, iv0f, 16, K256, P4,
        "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
        "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b");
    CK_AES_CTR_PARAMS ctr = { 128, { 0 } };
    unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", ctr.cb);
    kat(CKM_AES_CTR, &ctr, sizeof ctr, K128, P4,
        "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
        "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee");
    kat(CKM_AES_CTR, &ctr, sizeof ctr, K256, P4,
        "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
        "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6");
    /* CTR on a partial last block (first 20 bytes of F.5.1). */
    kat(CKM_AES_CTR, &ctr, sizeof ctr, K128, "6bc1bee22e409f96e93d7e117393172aae2d8a57",
        "874d6191b620e3261bef6864990db6ce9806f66b");
}

static void test_cbc_pad(void **st)
{
    (void)st;
    /* SP 800-38A F.2.1 plus the PKCS#7 block, whose encryption follows the chain. */
    kat(CKM_AES_CBC_PAD, iv0f, 16, K128, P4,
        "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
        "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"
        "8cb82807230e1321d3fae00d18cc2012");
    /* Partial and empty input (expected values from an independent implementation, the
     * Python "cryptography" package). */
    kat(CKM_AES_CBC_PAD, iv0f, 16, K128, "6bc1bee22e409f96e93d7e117393172aae",
        "7649abac8119b246cee98e9b12e9197d34d2d260173113008c28112c77668c86");
    kat(CKM_AES_CBC_PAD, iv0f, 16, K128, "", "c84af0b613435d5d9182801a9bd9320b");
}

/* RFC 3962 Appendix B: CTS (CS3) with AES-128, IV zero. */
static void test_cts_rfc3962(void **st)
{
    (void)st;
    static const uint8_t iv[16] = { 0 };
    const char *k = "636869636b656e207465726979616b69";
    kat(CKM_AES_CTS, iv, 16, k, "4920776f756c64206c696b652074686520",
        "c6353568f2bf8cb4d8a580362da7ff7f97");
    kat(CKM_AES_CTS, iv, 16, k, "4920776f756c64206c696b65207468652047656e6572616c20476175277320",
        "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5");
    kat(CKM_AES_CTS, iv, 16, k,
        "4920776f756c64206c696b65207468652047656e6572616c2047617527732043",
        "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584");
    kat(CKM_AES_CTS, iv, 16, k,
        "4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c"
        "656173652c",
        "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7f"
        "cbcc98ebf5");
    kat(CKM_AES_CTS, iv, 16, k,
        "4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c"
        "656173652c20",
        "97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7f"
        "cbcc98ebf5a8");
    kat(CKM_AES_CTS, iv, 16, k,
        "4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c"
        "656173652c20616e6420776f6e746f6e20736f75702e",
        "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a52673"
        "0dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8");
    /* Under one block is refused. */
    struct mu_key kk;
    key_hex(&kk, k);
    uint8_t in[15] = { 0 }, out[64];
    size_t ol = sizeof out;
    assert_int_equal(crypt1(CKM_AES_CTS, CKF_ENCRYPT, iv, 16, &kk, in, 15, out, &ol),
                     CKR_DATA_LEN_RANGE);
    attrs_free(&kk.a);
}

/* McGrew & Viega test cases 2, 4 and 6 (the GCM specification's appendix B). */
static void test_gcm(void **st)
{
    (void)st;
    uint8_t iv[64], aad[32];
    CK_GCM_PARAMS p = { iv, 12, 96, NULL, 0, 128 };
    unhex("000000000000000000000000", iv);
    kat(CKM_AES_GCM, &p, sizeof p, "00000000000000000000000000000000",
        "00000000000000000000000000000000",
        "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
    const char *k4 = "feffe9928665731c6d6a8f9467308308";
    const char *p4 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    unhex("cafebabefacedbaddecaf888", iv);
    p.pAAD = aad;
    p.ulAADLen = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad);
    kat(CKM_AES_GCM, &p, sizeof p, k4, p4,
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
        "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
        "5bc94fbc3221a5db94fae95ae7121a47");
    /* Truncated tag: the leading 96 bits. */
    p.ulTagBits = 96;
    kat(CKM_AES_GCM, &p, sizeof p, k4, p4,
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
        "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
        "5bc94fbc3221a5db94fae95a");
    /* A 60-byte IV (test case 6); given by ulIvBits only. */
    p.ulTagBits = 128;
    p.ulIvLen = 0;
    p.ulIvBits = 8 * unhex("9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728"
                           "c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b", iv);
    kat(CKM_AES_GCM, &p, sizeof p, k4, p4,
        "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca7"
        "01e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5"
        "619cc5aefffe0bfa462af43c1699d050");
}

static void test_gcm_errors(void **st)
{
    (void)st;
    uint8_t iv[300] = { 0 }, buf[128], out[128];
    struct mu_key k;
    key_hex(&k, K128);
    struct mech_ctx *c;
    CK_GCM_PARAMS p = { iv, 12, 96, NULL, 0, 128 };
    static const CK_ULONG badtags[] = { 0, 8, 16, 100, 127, 129 };
    for (size_t i = 0; i < sizeof badtags / sizeof badtags[0]; i++) {
        p.ulTagBits = badtags[i];
        assert_int_equal(op_init(CKM_AES_GCM, CKF_ENCRYPT, &p, sizeof p, &k, &c),
                         CKR_MECHANISM_PARAM_INVALID);
    }
    p.ulTagBits = 128;
    p.ulIvLen = 0;
    p.ulIvBits = 0;
    assert_int_equal(op_init(CKM_AES_GCM, CKF_ENCRYPT, &p, sizeof p, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    p.ulIvLen = 257;
    assert_int_equal(op_init(CKM_AES_GCM, CKF_ENCRYPT, &p, sizeof p, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    p.ulIvLen = 12;
    p.ulAADLen = 5; /* with pAAD NULL */
    assert_int_equal(op_init(CKM_AES_GCM, CKF_ENCRYPT, &p, sizeof p, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    p.ulAADLen = 0;
    assert_int_equal(op_init(CKM_AES_GCM, CKF_ENCRYPT, &p, sizeof p - 1, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(op_init(CKM_AES_GCM, CKF_ENCRYPT, NULL, sizeof p, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    /* Tag failure, single- and multi-part; the too-short input. */
    memset(buf, 0x5a, 40);
    size_t ol = sizeof out;
    assert_int_equal(crypt1(CKM_AES_GCM, CKF_ENCRYPT, &p, sizeof p, &k, buf, 40, out, &ol), CKR_OK);
    assert_int_equal(ol, 56);
    out[55] ^= 1;
    size_t pl = sizeof buf;
    assert_int_equal(crypt1(CKM_AES_GCM, CKF_DECRYPT, &p, sizeof p, &k, out, 56, buf, &pl),
                     CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(cryptN(CKM_AES_GCM, CKF_DECRYPT, &p, sizeof p, &k, out, 56, 7, buf, &pl),
                     CKR_ENCRYPTED_DATA_INVALID);
    out[55] ^= 1;
    out[3] ^= 1;
    assert_int_equal(crypt1(CKM_AES_GCM, CKF_DECRYPT, &p, sizeof p, &k, out, 56, buf, &pl),
                     CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(crypt1(CKM_AES_GCM, CKF_DECRYPT, &p, sizeof p, &k, out, 15, buf, &pl),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    /* Empty plaintext round trip. */
    ol = sizeof out;
    assert_int_equal(crypt1(CKM_AES_GCM, CKF_ENCRYPT, &p, sizeof p, &k, buf, 0, out, &ol), CKR_OK);
    assert_int_equal(ol, 16);
    pl = sizeof buf;
    assert_int_equal(crypt1(CKM_AES_GCM, CKF_DECRYPT, &p, sizeof p, &k, out, 16, buf, &pl), CKR_OK);
    assert_int_equal(pl, 0);
    attrs_free(&k.a);
}

/* RFC 3610 packet vector #1 and NIST SP 800-38C example 1. */
static void test_ccm(void **st)
{
    (void)st;
    uint8_t nonce[16], aad[16];
    CK_CCM_PARAMS p = { 23, nonce, 0, aad, 0, 8 };
    p.ulNonceLen = unhex("00000003020100a0a1a2a3a4a5", nonce);
    p.ulAADLen = unhex("0001020304050607", aad);
    kat(CKM_AES_CCM, &p, sizeof p, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf",
        "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
        "588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0");
    CK_CCM_PARAMS q = { 4, nonce, 0, aad, 0, 4 };
    q.ulNonceLen = unhex("10111213141516", nonce);
    q.ulAADLen = unhex("0001020304050607", aad);
    kat(CKM_AES_CCM, &q, sizeof q, "404142434445464748494a4b4c4d4e4f", "20212223",
        "7162015b4dac255d");

    struct mu_key k;
    key_hex(&k, K128);
    struct mech_ctx *c;
    CK_CCM_PARAMS b = q;
    b.ulNonceLen = 6;
    assert_int_equal(op_init(CKM_AES_CCM, CKF_ENCRYPT, &b, sizeof b, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    b.ulNonceLen = 14;
    assert_int_equal(op_init(CKM_AES_CCM, CKF_ENCRYPT, &b, sizeof b, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    b = q;
    b.ulMACLen = 5;
    assert_int_equal(op_init(CKM_AES_CCM, CKF_ENCRYPT, &b, sizeof b, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    b.ulMACLen = 18;
    assert_int_equal(op_init(CKM_AES_CCM, CKF_ENCRYPT, &b, sizeof b, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    b = q;
    b.ulNonceLen = 13; /* two-byte length field */
    b.ulDataLen = 70000;
    assert_int_equal(op_init(CKM_AES_CCM, CKF_ENCRYPT, &b, sizeof b, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    uint8_t in[8] = { 0 }, out[32];
    size_t ol = sizeof out;
    assert_int_equal(crypt1(CKM_AES_CCM, CKF_ENCRYPT, &q, sizeof q, &k, in, 5, out, &ol),
                     CKR_DATA_LEN_RANGE);
    assert_int_equal(cryptN(CKM_AES_CCM, CKF_ENCRYPT, &q, sizeof q, &k, in, 3, 1, out, &ol),
                     CKR_DATA_LEN_RANGE);
    ol = sizeof out;
    assert_int_equal(crypt1(CKM_AES_CCM, CKF_ENCRYPT, &q, sizeof q, &k, in, 4, out, &ol), CKR_OK);
    out[7] ^= 0x80;
    size_t pl = sizeof in;
    assert_int_equal(crypt1(CKM_AES_CCM, CKF_DECRYPT, &q, sizeof q, &k, out, 8, in, &pl),
                     CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(crypt1(CKM_AES_CCM, CKF_DECRYPT, &q, sizeof q, &k, out, 9, in, &pl),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    attrs_free(&k.a);
}

/* NIST SP 800-38B appendix D.1 and D.3 (AES-128 and AES-256). */
static void mac_kat(CK_MECHANISM_TYPE t, const void *param, CK_ULONG plen, const char *keyhex,
                    const char *msghex, const char *machex)
{
    uint8_t msg[128], mac[16], out[16];
    size_t mlen = unhex(msghex, msg), maclen = unhex(machex, mac);
    struct mu_key k;
    key_hex(&k, keyhex);
    struct mech_ctx *c;
    /* single-part sign with a length query and a short buffer first */
    assert_int_equal(op_init(t, CKF_SIGN, param, plen, &k, &c), CKR_OK);
    CK_ULONG l = 0;
    assert_int_equal(c->def->family->oneshot(c, msg, mlen, NULL, &l), MECH_LENGTH_ONLY);
    assert_int_equal(l, maclen);
    l = maclen - 1;
    assert_int_equal(c->def->family->oneshot(c, msg, mlen, out, &l), CKR_BUFFER_TOO_SMALL);
    l = sizeof out;
    assert_int_equal(c->def->family->oneshot(c, msg, mlen, out, &l), CKR_OK);
    assert_int_equal(l, maclen);
    assert_memory_equal(out, mac, maclen);
    op_free(c);
    /* multi-part sign in 7-byte pieces */
    assert_int_equal(op_init(t, CKF_SIGN, param, plen, &k, &c), CKR_OK);
    for (size_t off = 0; off < mlen; off += 7)
        assert_int_equal(c->def->family->update(c, msg + off, mlen - off < 7 ? mlen - off : 7,
                                                NULL, NULL), CKR_OK);
    l = 0;
    assert_int_equal(c->def->family->final(c, NULL, &l), MECH_LENGTH_ONLY);
    l = sizeof out;
    assert_int_equal(c->def->family->final(c, out, &l), CKR_OK);
    assert_memory_equal(out, mac, maclen);
    op_free(c);
    /* verify: good, wrong, wrong length; single- and multi-part */
    assert_int_equal(op_init(t, CKF_VERIFY, param, plen, &k, &c), CKR_OK);
    assert_int_equal(c->def->family->verify_oneshot(c, msg, mlen, mac, maclen), CKR_OK);
    op_free(c);
    mac[0] ^= 1;
    assert_int_equal(op_init(t, CKF_VERIFY, param, plen, &k, &c), CKR_OK);
    assert_int_equal(c->def->family->verify_oneshot(c, msg, mlen, mac, maclen),
                     CKR_SIGNATURE_INVALID);
    op_free(c);
    assert_int_equal(op_init(t, CKF_VERIFY, param, plen, &k, &c), CKR_OK);
    assert_int_equal(c->def->family->update(c, msg, mlen, NULL, NULL), CKR_OK);
    assert_int_equal(c->def->family->verify_final(c, mac, maclen), CKR_SIGNATURE_INVALID);
    op_free(c);
    mac[0] ^= 1;
    assert_int_equal(op_init(t, CKF_VERIFY, param, plen, &k, &c), CKR_OK);
    assert_int_equal(c->def->family->verify_oneshot(c, msg, mlen, mac, maclen - 1),
                     CKR_SIGNATURE_LEN_RANGE);
    op_free(c);
    assert_int_equal(op_init(t, CKF_VERIFY, param, plen, &k, &c), CKR_OK);
    assert_int_equal(c->def->family->update(c, msg, mlen, NULL, NULL), CKR_OK);
    assert_int_equal(c->def->family->verify_final(c, mac, maclen), CKR_OK);
    op_free(c);
    attrs_free(&k.a);
}

static void test_cmac_sp800_38b(void **st)
{
    (void)st;
    mac_kat(CKM_AES_CMAC, NULL, 0, K128, "", "bb1d6929e95937287fa37d129b756746");
    mac_kat(CKM_AES_CMAC, NULL, 0, K128, "6bc1bee22e409f96e93d7e117393172a",
            "070a16b46b4d4144f79bdd9dd04a287c");
    mac_kat(CKM_AES_CMAC, NULL, 0, K128,
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411",
            "dfa66747de9ae63030ca32611497c827");
    mac_kat(CKM_AES_CMAC, NULL, 0, K128, P4, "51f0bebf7e3b9d92fc49741779363cfe");
    mac_kat(CKM_AES_CMAC, NULL, 0, K256, P4, "e1992190549f6ed5696a2c056c315410");
    CK_MAC_GENERAL_PARAMS four = 4;
    mac_kat(CKM_AES_CMAC_GENERAL, &four, sizeof four, K128, P4, "51f0bebf");
    struct mu_key k;
    key_hex(&k, K128);
    struct mech_ctx *c;
    CK_MAC_GENERAL_PARAMS bad[] = { 0, 17 };
    for (int i = 0; i < 2; i++)
        assert_int_equal(op_init(CKM_AES_CMAC_GENERAL, CKF_SIGN, &bad[i], sizeof bad[i], &k, &c),
                         CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(op_init(CKM_AES_CMAC_GENERAL, CKF_SIGN, NULL, 0, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    attrs_free(&k.a);
}

/* RFC 3394 section 4.1 and 4.6; RFC 5649 section 6. */
static void test_key_wrap_vectors(void **st)
{
    (void)st;
    kat(CKM_AES_KEY_WRAP, NULL, 0, "000102030405060708090a0b0c0d0e0f",
        "00112233445566778899aabbccddeeff", "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5");
    kat(CKM_AES_KEY_WRAP, NULL, 0,
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f",
        "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21");
    /* The default IV given explicitly gives the same. */
    static const uint8_t a6[8] = { 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6 };
    kat(CKM_AES_KEY_WRAP, a6, 8, "000102030405060708090a0b0c0d0e0f",
        "00112233445566778899aabbccddeeff", "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5");
    const char *kek = "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8";
    kat(CKM_AES_KEY_WRAP_KWP, NULL, 0, kek, "c37b7e6492584340bed12207808941155068f738",
        "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
    kat(CKM_AES_KEY_WRAP_KWP, NULL, 0, kek, "466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f");
    static const uint8_t a65[4] = { 0xa6, 0x59, 0x59, 0xa6 };
    kat(CKM_AES_KEY_WRAP_KWP, a65, 4, kek, "466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f");

    struct mu_key k;
    key_hex(&k, "000102030405060708090a0b0c0d0e0f");
    struct mech_ctx *c;
    assert_int_equal(op_init(CKM_AES_KEY_WRAP, CKF_ENCRYPT, a6, 4, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(op_init(CKM_AES_KEY_WRAP_KWP, CKF_ENCRYPT, a6, 8, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    uint8_t buf[64] = { 0 }, out[64];
    size_t ol = sizeof out;
    assert_int_equal(crypt1(CKM_AES_KEY_WRAP, CKF_ENCRYPT, NULL, 0, &k, buf, 12, out, &ol),
                     CKR_DATA_LEN_RANGE);
    assert_int_equal(crypt1(CKM_AES_KEY_WRAP, CKF_ENCRYPT, NULL, 0, &k, buf, 8, out, &ol),
                     CKR_DATA_LEN_RANGE);
    assert_int_equal(crypt1(CKM_AES_KEY_WRAP, CKF_DECRYPT, NULL, 0, &k, buf, 16, out, &ol),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    assert_int_equal(crypt1(CKM_AES_KEY_WRAP, CKF_DECRYPT, NULL, 0, &k, buf, 24, out, &ol),
                     CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(crypt1(CKM_AES_KEY_WRAP_KWP, CKF_DECRYPT, NULL, 0, &k, buf, 16, out, &ol),
                     CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(crypt1(CKM_AES_KEY_WRAP_KWP, CKF_ENCRYPT, NULL, 0, &k, buf, 0, out, &ol),
                     CKR_DATA_LEN_RANGE);
    /* KWP decrypt into an exact-size buffer: a too-short one first keeps the operation. */
    uint8_t w[16];
    unhex("afbeb0f07dfbf5419200f2ccb50bb24f", w);
    attrs_free(&k.a);
    key_hex(&k, kek);
    assert_int_equal(op_init(CKM_AES_KEY_WRAP_KWP, CKF_DECRYPT, NULL, 0, &k, &c), CKR_OK);
    CK_ULONG l = 6;
    assert_int_equal(c->def->family->oneshot(c, w, 16, out, &l), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(l, 7);
    assert_int_equal(c->def->family->oneshot(c, w, 16, out, &l), CKR_OK);
    assert_int_equal(l, 7);
    assert_memory_equal(out, "ForPasi", 7);
    op_free(c);
    attrs_free(&k.a);
}

static void secret_attrs(attrs_t *a, CK_KEY_TYPE kt, const uint8_t *v, size_t len)
{
    attrs_init(a);
    assert_int_equal(attrs_set_ulong(a, CKA_CLASS, CKO_SECRET_KEY), CKR_OK);
    assert_int_equal(attrs_set_ulong(a, CKA_KEY_TYPE, kt), CKR_OK);
    if (v)
        assert_int_equal(attrs_set(a, CKA_VALUE, v, len, true), CKR_OK);
}

static void wrap_roundtrip(CK_MECHANISM_TYPE t, const void *param, CK_ULONG plen,
                           CK_KEY_TYPE kt, const char *keyhex, const char *expect)
{
    const struct mech_def *d = mech_find(t);
    CK_MECHANISM m = { t, (void *)param, plen };
    struct mu_key kek;
    key_hex(&kek, "000102030405060708090a0b0c0d0e0f");
    uint8_t kv[64], w[128], e[128];
    size_t kl = unhex(keyhex, kv);
    attrs_t target, un;
    secret_attrs(&target, kt, kv, kl);
    CK_ULONG wl = 0;
    assert_int_equal(d->family->wrap(d, &m, &kek.k, &target, NULL, &wl), MECH_LENGTH_ONLY);
    CK_ULONG bound = wl;
    wl = 1;
    assert_int_equal(d->family->wrap(d, &m, &kek.k, &target, w, &wl), CKR_BUFFER_TOO_SMALL);
    wl = sizeof w;
    assert_int_equal(d->family->wrap(d, &m, &kek.k, &target, w, &wl), CKR_OK);
    assert_true(wl <= bound);
    if (expect) {
        assert_int_equal(wl, unhex(expect, e));
        assert_memory_equal(w, e, wl);
    }
    secret_attrs(&un, kt, NULL, 0);
    if (t == CKM_AES_ECB || t == CKM_AES_CBC)
        assert_int_equal(attrs_set_ulong(&un, CKA_VALUE_LEN, kl), CKR_OK);
    assert_int_equal(d->family->unwrap(d, &m, &kek.k, w, wl, &un), CKR_OK);
    const attr_t *v = attrs_get(&un, CKA_VALUE);
    assert_non_null(v);
    assert_true(v->secret);
    assert_int_equal(v->len, kl);
    assert_memory_equal(v->val, kv, kl);
    attrs_free(&un);
    /* A corrupted blob is refused with the unwrap error code. */
    secret_attrs(&un, kt, NULL, 0);
    if (t == CKM_AES_ECB || t == CKM_AES_CBC)
        assert_int_equal(attrs_set_ulong(&un, CKA_VALUE_LEN, kl), CKR_OK);
    w[wl - 1] ^= 1;
    CK_RV rv = d->family->unwrap(d, &m, &kek.k, w, wl, &un);
    if (t != CKM_AES_ECB && t != CKM_AES_CBC)
        assert_true(rv == CKR_WRAPPED_KEY_INVALID);
    attrs_free(&un);
    attrs_free(&target);
    attrs_free(&kek.a);
}

static void test_wrap_unwrap(void **st)
{
    (void)st;
    wrap_roundtrip(CKM_AES_KEY_WRAP, NULL, 0, CKK_AES, "00112233445566778899aabbccddeeff",
                   "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5");
    wrap_roundtrip(CKM_AES_KEY_WRAP_KWP, NULL, 0, CKK_GENERIC_SECRET, "466f7250617369", NULL);
    wrap_roundtrip(CKM_AES_KEY_WRAP_KWP, NULL, 0, CKK_AES,
                   "000102030405060708090a0b0c0d0e0f1011121314151617", NULL);
    wrap_roundtrip(CKM_AES_CBC_PAD, iv0f, 16, CKK_AES, "00112233445566778899aabbccddeeff", NULL);
    wrap_roundtrip(CKM_AES_CBC, iv0f, 16, CKK_GENERIC_SECRET, "0011223344556677889900", NULL);
    wrap_roundtrip(CKM_AES_ECB, NULL, 0, CKK_AES, "00112233445566778899aabbccddeeff",
                   "69c4e0d86a7b0430d8cdb78070b4c55a");
    uint8_t iv[12] = { 1 };
    CK_GCM_PARAMS g = { iv, 12, 96, NULL, 0, 128 };
    wrap_roundtrip(CKM_AES_GCM, &g, sizeof g, CKK_AES,
                   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", NULL);

    /* Unwrapping 7 bytes as an AES key is a wrapped-key length error. */
    const struct mech_def *d = mech_find(CKM_AES_KEY_WRAP_KWP);
    CK_MECHANISM m = { CKM_AES_KEY_WRAP_KWP, NULL, 0 };
    struct mu_key kek;
    key_hex(&kek, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
    uint8_t w[16];
    unhex("afbeb0f07dfbf5419200f2ccb50bb24f", w);
    attrs_t un;
    secret_attrs(&un, CKK_AES, NULL, 0);
    assert_int_equal(d->family->unwrap(d, &m, &kek.k, w, 16, &un), CKR_WRAPPED_KEY_LEN_RANGE);
    attrs_free(&un);
    /* Wrong wrapping key type. */
    attrs_t tgt;
    secret_attrs(&tgt, CKK_AES, w, 16);
    assert_int_equal(attrs_set_ulong(&kek.a, CKA_KEY_TYPE, CKK_GENERIC_SECRET), CKR_OK);
    CK_ULONG wl = 64;
    uint8_t out[64];
    assert_int_equal(d->family->wrap(d, &m, &kek.k, &tgt, out, &wl),
                     CKR_WRAPPING_KEY_TYPE_INCONSISTENT);
    attrs_free(&tgt);
    attrs_free(&kek.a);
}

/* Output sizes, streaming, and that a length query or a short buffer consumes nothing. */
static void test_length_rules_and_streaming(void **st)
{
    (void)st;
    uint8_t pt[64], ct[80], out[96];
    size_t n = unhex(P4, pt);
    struct mu_key k;
    key_hex(&k, K128);
    struct mech_ctx *c;
    CK_ULONG l;
    /* CBC_PAD encrypt: update emits whole blocks at once. */
    assert_int_equal(op_init(CKM_AES_CBC_PAD, CKF_ENCRYPT, iv0f, 16, &k, &c), CKR_OK);
    l = 0;
    assert_int_equal(c->def->family->update(c, pt, 20, NULL, &l), MECH_LENGTH_ONLY);
    assert_int_equal(l, 16);
    l = 15;
    assert_int_equal(c->def->family->update(c, pt, 20, ct, &l), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(l, 16);
    l = sizeof ct;
    assert_int_equal(c->def->family->update(c, pt, 20, ct, &l), CKR_OK);
    assert_int_equal(l, 16);
    l = sizeof ct - 16;
    assert_int_equal(c->def->family->update(c, pt + 20, n - 20, ct + 16, &l), CKR_OK);
    assert_int_equal(l, 48);
    l = 3;
    assert_int_equal(c->def->family->final(c, ct + 64, &l), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(l, 16);
    assert_int_equal(c->def->family->final(c, ct + 64, &l), CKR_OK);
    op_free(c);
    /* CBC_PAD decrypt holds the last block back until final; final knows the exact size. */
    assert_int_equal(op_init(CKM_AES_CBC_PAD, CKF_DECRYPT, iv0f, 16, &k, &c), CKR_OK);
    l = sizeof out;
    assert_int_equal(c->def->family->update(c, ct, 32, out, &l), CKR_OK);
    assert_int_equal(l, 16);
    l = sizeof out;
    assert_int_equal(c->def->family->update(c, ct + 32, 48, out + 16, &l), CKR_OK);
    assert_int_equal(l, 48);
    l = 0;
    assert_int_equal(c->def->family->final(c, NULL, &l), MECH_LENGTH_ONLY);
    assert_int_equal(l, 0);
    assert_int_equal(c->def->family->final(c, out + 64, &l), CKR_OK);
    assert_int_equal(l, 0);
    assert_memory_equal(out, pt, 64);
    op_free(c);
    /* Single-part CBC_PAD decrypt into an exact buffer after a short one. */
    assert_int_equal(op_init(CKM_AES_CBC_PAD, CKF_DECRYPT, iv0f, 16, &k, &c), CKR_OK);
    l = 0;
    assert_int_equal(c->def->family->oneshot(c, ct, 80, NULL, &l), MECH_LENGTH_ONLY);
    assert_true(l >= 64);
    l = 63;
    assert_int_equal(c->def->family->oneshot(c, ct, 80, out, &l), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(l, 64);
    assert_int_equal(c->def->family->oneshot(c, ct, 80, out, &l), CKR_OK);
    assert_int_equal(l, 64);
    assert_memory_equal(out, pt, 64);
    op_free(c);
    /* CTR and GCM encrypt stream byte for byte; GCM decrypt releases nothing before final. */
    CK_AES_CTR_PARAMS ctr = { 128, { 0 } };
    assert_int_equal(op_init(CKM_AES_CTR, CKF_ENCRYPT, &ctr, sizeof ctr, &k, &c), CKR_OK);
    l = sizeof out;
    assert_int_equal(c->def->family->update(c, pt, 5, out, &l), CKR_OK);
    assert_int_equal(l, 5);
    op_free(c);
    uint8_t iv[12] = { 0 };
    CK_GCM_PARAMS g = { iv, 12, 96, NULL, 0, 128 };
    assert_int_equal(op_init(CKM_AES_GCM, CKF_ENCRYPT, &g, sizeof g, &k, &c), CKR_OK);
    l = sizeof out;
    assert_int_equal(c->def->family->update(c, pt, 21, out, &l), CKR_OK);
    assert_int_equal(l, 21);
    l = 0;
    assert_int_equal(c->def->family->final(c, NULL, &l), MECH_LENGTH_ONLY);
    assert_int_equal(l, 16);
    l = 15;
    assert_int_equal(c->def->family->final(c, out + 21, &l), CKR_BUFFER_TOO_SMALL);
    l = 16;
    assert_int_equal(c->def->family->final(c, out + 21, &l), CKR_OK);
    op_free(c);
    assert_int_equal(op_init(CKM_AES_GCM, CKF_DECRYPT, &g, sizeof g, &k, &c), CKR_OK);
    l = sizeof ct;
    assert_int_equal(c->def->family->update(c, out, 37, ct, &l), CKR_OK);
    assert_int_equal(l, 0);
    l = 20;
    assert_int_equal(c->def->family->final(c, ct, &l), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(l, 21);
    assert_int_equal(c->def->family->final(c, ct, &l), CKR_OK);
    assert_memory_equal(ct, pt, 21);
    op_free(c);
    /* CTS: update holds back 17..32 bytes. */
    assert_int_equal(op_init(CKM_AES_CTS, CKF_ENCRYPT, iv0f, 16, &k, &c), CKR_OK);
    l = sizeof out;
    assert_int_equal(c->def->family->update(c, pt, 32, out, &l), CKR_OK);
    assert_int_equal(l, 0);
    l = sizeof out;
    assert_int_equal(c->def->family->update(c, pt + 32, 1, out, &l), CKR_OK);
    assert_int_equal(l, 16);
    op_free(c);
    attrs_free(&k.a);
}

static void test_block_errors(void **st)
{
    (void)st;
    uint8_t buf[64] = { 0 }, out[96];
    size_t ol = sizeof out;
    struct mu_key k;
    key_hex(&k, K128);
    struct mech_ctx *c;
    assert_int_equal(op_init(CKM_AES_CBC, CKF_ENCRYPT, iv0f, 8, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(op_init(CKM_AES_CBC, CKF_ENCRYPT, NULL, 16, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(op_init(CKM_AES_ECB, CKF_ENCRYPT, iv0f, 16, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    CK_AES_CTR_PARAMS ctr = { 0, { 0 } };
    assert_int_equal(op_init(CKM_AES_CTR, CKF_ENCRYPT, &ctr, sizeof ctr, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    ctr.ulCounterBits = 129;
    assert_int_equal(op_init(CKM_AES_CTR, CKF_ENCRYPT, &ctr, sizeof ctr, &k, &c),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(crypt1(CKM_AES_ECB, CKF_ENCRYPT, NULL, 0, &k, buf, 15, out, &ol),
                     CKR_DATA_LEN_RANGE);
    assert_int_equal(crypt1(CKM_AES_CBC, CKF_DECRYPT, iv0f, 16, &k, buf, 17, out, &ol),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    assert_int_equal(cryptN(CKM_AES_CBC, CKF_ENCRYPT, iv0f, 16, &k, buf, 17, 5, out, &ol),
                     CKR_DATA_LEN_RANGE);
    assert_int_equal(cryptN(CKM_AES_CBC_PAD, CKF_DECRYPT, iv0f, 16, &k, buf, 20, 5, out, &ol),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    assert_int_equal(crypt1(CKM_AES_CBC_PAD, CKF_DECRYPT, iv0f, 16, &k, buf, 0, out, &ol),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
    /* Bad padding: a block whose plaintext ends in 0x00 (ECB-encrypt zeros under CBC IV 0). */
    static const uint8_t iv0[16] = { 0 };
    ol = sizeof out;
    assert_int_equal(crypt1(CKM_AES_CBC, CKF_ENCRYPT, iv0, 16, &k, buf, 16, out, &ol), CKR_OK);
    size_t pl = sizeof buf;
    assert_int_equal(crypt1(CKM_AES_CBC_PAD, CKF_DECRYPT, iv0, 16, &k, out, 16, buf, &pl),
                     CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(cryptN(CKM_AES_CBC_PAD, CKF_DECRYPT, iv0, 16, &k, out, 16, 3, buf, &pl),
                     CKR_ENCRYPTED_DATA_INVALID);
    /* Counter limit: 8 counter bits at 0xfe leave two blocks. */
    ctr.ulCounterBits = 8;
    ctr.cb[15] = 0xfe;
    ol = sizeof out;
    assert_int_equal(crypt1(CKM_AES_CTR, CKF_ENCRYPT, &ctr, sizeof ctr, &k, buf, 32, out, &ol),
                     CKR_OK);
    assert_int_equal(crypt1(CKM_AES_CTR, CKF_ENCRYPT, &ctr, sizeof ctr, &k, buf, 33, out, &ol),
                     CKR_DATA_LEN_RANGE);
    assert_int_equal(cryptN(CKM_AES_CTR, CKF_DECRYPT, &ctr, sizeof ctr, &k, buf, 33, 16, out,
                            &ol), CKR_ENCRYPTED_DATA_LEN_RANGE);
    attrs_free(&k.a);
    /* Key type and size. */
    uint8_t v[32] = { 0 };
    mu_key_make(&k, CKK_GENERIC_SECRET, v, 16);
    assert_int_equal(op_init(CKM_AES_ECB, CKF_ENCRYPT, NULL, 0, &k, &c), CKR_KEY_TYPE_INCONSISTENT);
    attrs_free(&k.a);
    mu_key_make(&k, CKK_AES, v, 20);
    assert_int_equal(op_init(CKM_AES_ECB, CKF_ENCRYPT, NULL, 0, &k, &c), CKR_KEY_SIZE_RANGE);
    assert_int_equal(op_init(CKM_AES_CMAC, CKF_SIGN, NULL, 0, &k, &c), CKR_KEY_SIZE_RANGE);
    attrs_free(&k.a);
}

static void test_keygen(void **st)
{
    (void)st;
    const struct mech_def *d = mech_find(CKM_AES_KEY_GEN);
    CK_MECHANISM m = { CKM_AES_KEY_GEN, NULL, 0 };
    static const CK_ULONG lens[] = { 16, 24, 32 };
    for (int i = 0; i < 3; i++) {
        attrs_t a;
        secret_attrs(&a, CKK_AES, NULL, 0);
        assert_int_equal(attrs_set_ulong(&a, CKA_VALUE_LEN, lens[i]), CKR_OK);
        assert_int_equal(d->family->generate(d, &m, &a), CKR_OK);
        const attr_t *v = attrs_get(&a, CKA_VALUE);
        assert_non_null(v);
        assert_int_equal(v->len, lens[i]);
        assert_true(v->secret);
        attrs_free(&a);
    }
    attrs_t a;
    secret_attrs(&a, CKK_AES, NULL, 0);
    assert_int_equal(d->family->generate(d, &m, &a), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(attrs_set_ulong(&a, CKA_VALUE_LEN, 20), CKR_OK);
    assert_int_equal(d->family->generate(d, &m, &a), CKR_KEY_SIZE_RANGE);
    attrs_free(&a);
}

static void test_derive(void **st)
{
    (void)st;
    struct mu_key k;
    key_hex(&k, K128);
    uint8_t data[64];
    unhex(P4, data);
    const struct mech_def *d = mech_find(CKM_AES_ECB_ENCRYPT_DATA);
    CK_KEY_DERIVATION_STRING_DATA sd = { data, 32 };
    CK_MECHANISM m = { CKM_AES_ECB_ENCRYPT_DATA, &sd, sizeof sd };
    attrs_t a;
    uint8_t e[32];
    secret_attrs(&a, CKK_AES, NULL, 0);
    assert_int_equal(d->family->derive(d, &m, &k.k, &a), CKR_OK);
    const attr_t *v = attrs_get(&a, CKA_VALUE);
    unhex("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf", e);
    assert_non_null(v);
    assert_int_equal(v->len, 32);
    assert_memory_equal(v->val, e, 32);
    attrs_free(&a);
    sd.ulLen = 15;
    secret_attrs(&a, CKK_AES, NULL, 0);
    assert_int_equal(d->family->derive(d, &m, &k.k, &a), CKR_MECHANISM_PARAM_INVALID);
    attrs_free(&a);

    d = mech_find(CKM_AES_CBC_ENCRYPT_DATA);
    CK_AES_CBC_ENCRYPT_DATA_PARAMS cp = { { 0 }, data, 32 };
    memcpy(cp.iv, iv0f, 16);
    CK_MECHANISM m2 = { CKM_AES_CBC_ENCRYPT_DATA, &cp, sizeof cp };
    secret_attrs(&a, CKK_AES, NULL, 0);
    assert_int_equal(attrs_set_ulong(&a, CKA_VALUE_LEN, 16), CKR_OK);
    assert_int_equal(d->family->derive(d, &m2, &k.k, &a), CKR_OK);
    v = attrs_get(&a, CKA_VALUE);
    unhex("7649abac8119b246cee98e9b12e9197d", e);
    assert_int_equal(v->len, 16);
    assert_memory_equal(v->val, e, 16);
    attrs_free(&a);
    m2.ulParameterLen = sizeof cp - 1;
    secret_attrs(&a, CKK_AES, NULL, 0);
    assert_int_equal(d->family->derive(d, &m2, &k.k, &a), CKR_MECHANISM_PARAM_INVALID);
    attrs_free(&a);
    attrs_free(&k.a);
}

/* Private keys travel as PKCS#8 PrivateKeyInfo: wrap, check the blob, unwrap, compare. */
static void pkcs8_roundtrip(EVP_PKEY *pk, CK_KEY_TYPE kt, CK_MECHANISM_TYPE t, const void *param,
                            CK_ULONG plen)
{
    attrs_t priv, un;
    attrs_init(&priv);
    assert_int_equal(attrs_set_ulong(&priv, CKA_CLASS, CKO_PRIVATE_KEY), CKR_OK);
    assert_int_equal(mech_pkey_to_attrs(pk, CKO_PRIVATE_KEY, &priv), CKR_OK);
    /* the encoding is a PrivateKeyInfo that libcrypto reads back */
    uint8_t *der;
    size_t derlen;
    assert_int_equal(sym_pkcs8_encode(&priv, &der, &derlen), CKR_OK);
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)derlen);
    assert_non_null(p8);
    assert_ptr_equal(p, der + derlen);
    PKCS8_PRIV_KEY_INFO_free(p8);
    secmem_free(der);

    const struct mech_def *d = mech_find(t);
    CK_MECHANISM m = { t, (void *)param, plen };
    struct mu_key kek;
    key_hex(&kek, K256);
    uint8_t w[4096];
    CK_ULONG wl = 0;
    assert_int_equal(d->family->wrap(d, &m, &kek.k, &priv, NULL, &wl), MECH_LENGTH_ONLY);
    assert_true(wl <= sizeof w);
    assert_int_equal(d->family->wrap(d, &m, &kek.k, &priv, w, &wl), CKR_OK);
    attrs_init(&un);
    assert_int_equal(attrs_set_ulong(&un, CKA_CLASS, CKO_PRIVATE_KEY), CKR_OK);
    assert_int_equal(attrs_set_ulong(&un, CKA_KEY_TYPE, kt), CKR_OK);
    assert_int_equal(d->family->unwrap(d, &m, &kek.k, w, wl, &un), CKR_OK);
    static const CK_ATTRIBUTE_TYPE check[] = { CKA_VALUE, CKA_EC_PARAMS, CKA_MODULUS,
                                               CKA_PRIVATE_EXPONENT, CKA_PRIME_1 };
    for (size_t i = 0; i < sizeof check / sizeof check[0]; i++) {
        const attr_t *x = attrs_get(&priv, check[i]), *y = attrs_get(&un, check[i]);
        assert_true(!x == !y);
        if (x) {
            assert_int_equal(x->len, y->len);
            assert_memory_equal(x->val, y->val, x->len);
            assert_int_equal(x->secret, y->secret);
        }
    }
    attrs_free(&un);
    /* A template of another key type is inconsistent with the blob. */
    attrs_init(&un);
    assert_int_equal(attrs_set_ulong(&un, CKA_CLASS, CKO_PRIVATE_KEY), CKR_OK);
    assert_int_equal(attrs_set_ulong(&un, CKA_KEY_TYPE, kt == CKK_RSA ? CKK_EC : CKK_RSA),
                     CKR_OK);
    assert_int_equal(d->family->unwrap(d, &m, &kek.k, w, wl, &un), CKR_TEMPLATE_INCONSISTENT);
    attrs_free(&un);
    attrs_free(&priv);
    attrs_free(&kek.a);
}

static void test_wrap_private_pkcs8(void **st)
{
    (void)st;
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(ossl_libctx(), NULL, "EC", "P-256");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(ossl_libctx(), NULL, "ED25519");
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(ossl_libctx(), NULL, "RSA", (size_t)2048);
    assert_non_null(ec);
    assert_non_null(ed);
    assert_non_null(rsa);
    pkcs8_roundtrip(ec, CKK_EC, CKM_AES_KEY_WRAP_KWP, NULL, 0);
    pkcs8_roundtrip(ed, CKK_EC_EDWARDS, CKM_AES_KEY_WRAP_KWP, NULL, 0);
    pkcs8_roundtrip(rsa, CKK_RSA, CKM_AES_KEY_WRAP_KWP, NULL, 0);
    pkcs8_roundtrip(ec, CKK_EC, CKM_AES_CBC_PAD, iv0f, 16);
    uint8_t iv[12] = { 9 };
    CK_GCM_PARAMS g = { iv, 12, 96, NULL, 0, 128 };
    pkcs8_roundtrip(rsa, CKK_RSA, CKM_AES_GCM, &g, sizeof g);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(rsa);
    /* Garbage that unwraps correctly but is no PKCS#8 is an invalid wrapped key. */
    const struct mech_def *d = mech_find(CKM_AES_KEY_WRAP_KWP);
    CK_MECHANISM m = { CKM_AES_KEY_WRAP_KWP, NULL, 0 };
    struct mu_key kek;
    key_hex(&kek, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
    uint8_t w[16];
    unhex("afbeb0f07dfbf5419200f2ccb50bb24f", w);
    attrs_t un;
    attrs_init(&un);
    assert_int_equal(attrs_set_ulong(&un, CKA_CLASS, CKO_PRIVATE_KEY), CKR_OK);
    assert_int_equal(attrs_set_ulong(&un, CKA_KEY_TYPE, CKK_EC), CKR_OK);
    assert_int_equal(d->family->unwrap(d, &m, &kek.k, w, 16, &un), CKR_WRAPPED_KEY_INVALID);
    attrs_free(&un);
    attrs_free(&kek.a);
}

static void test_table(void **st)
{
    (void)st;
    assert_true(mech_aes_table.n >= 14);
    static const CK_MECHANISM_TYPE all[] = {
        CKM_AES_KEY_GEN, CKM_AES_ECB, CKM_AES_CBC, CKM_AES_CBC_PAD, CKM_AES_CTR, CKM_AES_GCM,
        CKM_AES_CCM, CKM_AES_CTS, CKM_AES_CMAC, CKM_AES_CMAC_GENERAL, CKM_AES_KEY_WRAP,
        CKM_AES_KEY_WRAP_KWP, CKM_AES_ECB_ENCRYPT_DATA, CKM_AES_CBC_ENCRYPT_DATA,
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const struct mech_def *d = mech_find(all[i]);
        assert_non_null(d);
        assert_int_equal(d->min_key, 16);
        assert_int_equal(d->max_key, 32);
        assert_int_equal(d->key_type, CKK_AES);
    }
    assert_true(mech_find(CKM_AES_GCM)->flags & CKF_ENCRYPT);
    assert_true(mech_find(CKM_AES_KEY_WRAP_KWP)->flags & CKF_UNWRAP);
    assert_true(mech_find(CKM_AES_CMAC)->flags & CKF_VERIFY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_ecb_cbc_ctr_sp800_38a),
        cmocka_unit_test(test_cbc_pad),
        cmocka_unit_test(test_cts_rfc3962),
        cmocka_unit_test(test_gcm),
        cmocka_unit_test(test_gcm_errors),
        cmocka_unit_test(test_ccm),
        cmocka_unit_test(test_cmac_sp800_38b),
        cmocka_unit_test(test_key_wrap_vectors),
        cmocka_unit_test(test_wrap_unwrap),
        cmocka_unit_test(test_wrap_private_pkcs8),
        cmocka_unit_test(test_length_rules_and_streaming),
        cmocka_unit_test(test_block_errors),
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_derive),
    };
    return cmocka_run_group_tests(tests, mu_group_setup, mu_group_teardown);
}
