/* Interoperability of the symmetric ciphers with plain OpenSSL EVP in the test process: AES
 * 128/192/256 in ECB, CBC, CBC_PAD, CTR, GCM, CCM and CTS, AES-CMAC(_GENERAL), AES key wrap
 * (RFC 3394 / 5649) and ChaCha20-Poly1305. Keys are generated on the token as extractable,
 * non-sensitive keys and their value read back. Each case encrypts on the token (single-part and
 * in several C_EncryptUpdate calls) and decrypts with EVP, then encrypts with EVP and decrypts on
 * the token (both ways); the ciphertexts must be byte-identical, and a flipped tag must fail. A
 * failing case is reported with its mechanism and the other cases still run. */
#include "interop_util.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

/* ---- token helpers ----------------------------------------------------------------------- */

/* A generated secret key (extractable, not sensitive) and its value. */
static CK_RV tok_keygen(CK_MECHANISM_TYPE mech, CK_ULONG len, CK_OBJECT_HANDLE *k, uint8_t *val)
{
    CK_MECHANISM m = {mech, NULL, 0};
    CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &len, sizeof len},
                        {CKA_TOKEN, &no, 1},
                        {CKA_ENCRYPT, &yes, 1},
                        {CKA_DECRYPT, &yes, 1},
                        {CKA_SIGN, &yes, 1},
                        {CKA_VERIFY, &yes, 1},
                        {CKA_WRAP, &yes, 1},
                        {CKA_UNWRAP, &yes, 1},
                        {CKA_EXTRACTABLE, &yes, 1},
                        {CKA_SENSITIVE, &no, 1}};
    CK_RV rv = F->C_GenerateKey(S, &m, t, 10, k);
    if (rv == CKR_OK && get_attr(*k, CKA_VALUE, val, 64) != len)
        rv = CKR_GENERAL_ERROR;
    return rv;
}

/* Encrypt/decrypt on the token: single-part when chunk is 0, else C_*Update in chunk-byte
 * pieces (output collected from every Update) and C_*Final. */
static CK_RV tok_cipher(int enc, CK_MECHANISM *m, CK_OBJECT_HANDLE k, const uint8_t *in, size_t il,
                        size_t chunk, uint8_t *out, size_t *ol)
{
    return iu_cipher_on(S, enc, m, k, in, il, chunk, 0, out, ol);
}

/* ---- EVP ------------------------------------------------------------------------------------ */

enum { M_PLAIN, M_NOPAD, M_GCM, M_CCM, M_CTS, M_WRAP };

struct evp_case {
    const char *cipher; /* EVP name */
    int kind;
    const uint8_t *iv;
    size_t ivl;
    const uint8_t *aad;
    size_t aadl;
    size_t tagl;
};

/* EVP encrypt (out = ciphertext || tag for AEAD) or decrypt (in = ciphertext || tag). */
static int evp_crypt(const struct evp_case *e, int enc, const uint8_t *key, const uint8_t *in,
                     size_t il, uint8_t *out, size_t *ol)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, e->cipher, NULL);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int aead = e->kind == M_GCM || e->kind == M_CCM, l = 0, l2 = 0, ok = c && x;
    size_t dl = il;
    if (aead && !enc) {
        if (il < e->tagl)
            ok = 0;
        dl = il - e->tagl;
    }
    OSSL_PARAM cts[] = {OSSL_PARAM_construct_utf8_string(OSSL_CIPHER_PARAM_CTS_MODE, "CS3", 0),
                        OSSL_PARAM_construct_end()};
    if (e->kind == M_WRAP)
        EVP_CIPHER_CTX_set_flags(x, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    ok = ok && EVP_CipherInit_ex2(x, c, NULL, NULL, enc, e->kind == M_CTS ? cts : NULL) == 1;
    if (ok && aead) {
        ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, (int)e->ivl, NULL) == 1;
        if (ok && (e->kind == M_CCM || !enc))
            ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)e->tagl,
                                     enc ? NULL : (void *)(in + dl)) == 1;
    }
    ok = ok && EVP_CipherInit_ex2(x, NULL, key, e->iv, enc, NULL) == 1;
    if (ok && e->kind == M_NOPAD)
        EVP_CIPHER_CTX_set_padding(x, 0);
    if (ok && e->kind == M_CCM)
        ok = EVP_CipherUpdate(x, NULL, &l, NULL, (int)dl) == 1;
    if (ok && aead && e->aadl)
        ok = EVP_CipherUpdate(x, NULL, &l, e->aad, (int)e->aadl) == 1;
    l = 0;
    ok = ok && EVP_CipherUpdate(x, out, &l, in, (int)dl) == 1;
    if (ok && e->kind != M_CCM)
        ok = EVP_CipherFinal_ex(x, out + l, &l2) == 1;
    *ol = (size_t)(l + l2);
    if (ok && aead && enc) {
        ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, (int)e->tagl, out + *ol) == 1;
        *ol += e->tagl;
    }
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(c);
    ERR_clear_error();
    return ok;
}

/* ---- one cipher case, both ways -------------------------------------------------------------- */

static void sym_case(const char *what, CK_MECHANISM *m, CK_OBJECT_HANDLE k, const uint8_t *kv,
                     const struct evp_case *e, const uint8_t *pt, size_t pl, size_t chunk)
{
    uint8_t tct[1200], ect[1200], out[1200];
    size_t tl = sizeof tct, el = sizeof ect, ol = sizeof out;
    int aead = e->kind == M_GCM || e->kind == M_CCM;
    g_what = what;
    EXPECT_RV(tok_cipher(1, m, k, pt, pl, 0, tct, &tl), CKR_OK);
    EXPECT(evp_crypt(e, 0, kv, tct, tl, out, &ol), "EVP cannot decrypt the token's ciphertext");
    EXPECT(ol == pl && memcmp(out, pt, pl) == 0, "EVP decrypts to other bytes (%zu vs %zu)", ol,
           pl);
    EXPECT(evp_crypt(e, 1, kv, pt, pl, ect, &el), "EVP cannot encrypt");
    EXPECT(el == tl && memcmp(ect, tct, el) == 0,
           "token and EVP ciphertexts differ (%zu vs %zu bytes)", tl, el);
    ol = sizeof out;
    EXPECT_RV(tok_cipher(0, m, k, ect, el, 0, out, &ol), CKR_OK);
    EXPECT(ol == pl && memcmp(out, pt, pl) == 0, "C_Decrypt gives other bytes");
    if (chunk) { /* the same through C_EncryptUpdate / C_DecryptUpdate */
        tl = sizeof tct;
        EXPECT_RV(tok_cipher(1, m, k, pt, pl, chunk, tct, &tl), CKR_OK);
        EXPECT(el == tl && memcmp(ect, tct, el) == 0, "multi-part ciphertext differs from EVP's");
        ol = sizeof out;
        EXPECT_RV(tok_cipher(0, m, k, ect, el, chunk, out, &ol), CKR_OK);
        EXPECT(ol == pl && memcmp(out, pt, pl) == 0, "multi-part C_Decrypt gives other bytes");
    }
    if (aead) { /* a flipped tag (or ciphertext byte) is refused */
        ect[el - 1] ^= 0x01;
        ol = sizeof out;
        EXPECT_RV(tok_cipher(0, m, k, ect, el, 0, out, &ol), CKR_ENCRYPTED_DATA_INVALID);
        ect[el - 1] ^= 0x01;
        ect[0] ^= 0x80;
        ol = sizeof out;
        EXPECT_RV(tok_cipher(0, m, k, ect, el, chunk, out, &ol), CKR_ENCRYPTED_DATA_INVALID);
    }
out:
    g_what = "";
}

static const char *aes_name(size_t klen, const char *mode, char *buf, size_t n)
{
    snprintf(buf, n, "AES-%zu-%s", klen * 8, mode);
    return buf;
}

static void test_aes_modes(void **state)
{
    (void)state;
    g_fail = 0;
    uint8_t pt[333], iv[16], iv12[12], aad[41], kv[64];
    RAND_bytes(pt, sizeof pt);
    RAND_bytes(iv, sizeof iv);
    RAND_bytes(iv12, sizeof iv12);
    RAND_bytes(aad, sizeof aad);
    for (size_t kl = 16; kl <= 32; kl += 8) {
        CK_OBJECT_HANDLE k;
        char what[128], cn[32];
        assert_ok(tok_keygen(CKM_AES_KEY_GEN, kl, &k, kv));
#define CASE(desc, mech, par, plen, chunk, ...)                                                    \
    do {                                                                                           \
        CK_MECHANISM m_ = {mech, par, sizeof *(par)};                                              \
        struct evp_case e_ = {__VA_ARGS__};                                                        \
        snprintf(what, sizeof what, "AES-%zu %s", kl * 8, desc);                                   \
        sym_case(what, &m_, k, kv, &e_, pt, plen, chunk);                                          \
    } while (0)
        CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0};
        struct evp_case eecb = {aes_name(kl, "ECB", cn, sizeof cn), M_NOPAD, NULL, 0, NULL, 0, 0};
        snprintf(what, sizeof what, "AES-%zu CKM_AES_ECB 320 bytes", kl * 8);
        sym_case(what, &ecb, k, kv, &eecb, pt, 320, 7);
        char cbc[32], ctr[32], gcm[32], ccm[32], cts[32];
        aes_name(kl, "CBC", cbc, sizeof cbc);
        aes_name(kl, "CTR", ctr, sizeof ctr);
        aes_name(kl, "GCM", gcm, sizeof gcm);
        aes_name(kl, "CCM", ccm, sizeof ccm);
        snprintf(cts, sizeof cts, "AES-%zu-CBC-CTS", kl * 8);
        CK_MECHANISM mcbc = {CKM_AES_CBC, iv, 16};
        struct evp_case ecbc = {cbc, M_NOPAD, iv, 16, NULL, 0, 0};
        snprintf(what, sizeof what, "AES-%zu CKM_AES_CBC 320 bytes", kl * 8);
        sym_case(what, &mcbc, k, kv, &ecbc, pt, 320, 33);
        CK_MECHANISM mpad = {CKM_AES_CBC_PAD, iv, 16};
        struct evp_case epad = {cbc, M_PLAIN, iv, 16, NULL, 0, 0};
        static const size_t padlens[] = {333, 320, 0, 15, 16};
        for (size_t i = 0; i < 5; i++) {
            snprintf(what, sizeof what, "AES-%zu CKM_AES_CBC_PAD %zu bytes", kl * 8, padlens[i]);
            sym_case(what, &mpad, k, kv, &epad, pt, padlens[i], padlens[i] ? 13 : 0);
        }
        CK_AES_CTR_PARAMS cp = {128, {0}};
        memcpy(cp.cb, iv, 16);
        cp.cb[15] = 0xfe; /* the counter carries over bytes within the run */
        cp.cb[14] = 0xff;
        CASE("CKM_AES_CTR 333 bytes (128-bit counter)", CKM_AES_CTR, &cp, 333, 5, ctr, M_PLAIN,
             cp.cb, 16, NULL, 0, 0);
        CK_AES_CTR_PARAMS cp32 = cp;
        cp32.ulCounterBits = 32;
        CASE("CKM_AES_CTR 100 bytes (32-bit counter)", CKM_AES_CTR, &cp32, 100, 16, ctr, M_PLAIN,
             cp32.cb, 16, NULL, 0, 0);
        CK_GCM_PARAMS g1 = {iv12, 12, 96, aad, sizeof aad, 128};
        CASE("CKM_AES_GCM IV 12, AAD 41, tag 128", CKM_AES_GCM, &g1, 333, 50, gcm, M_GCM, iv12, 12,
             aad, sizeof aad, 16);
        CK_GCM_PARAMS g2 = {iv, 16, 128, aad, 20, 96};
        CASE("CKM_AES_GCM IV 16, AAD 20, tag 96", CKM_AES_GCM, &g2, 100, 17, gcm, M_GCM, iv, 16,
             aad, 20, 12);
        CK_GCM_PARAMS g3 = {iv12, 12, 96, NULL, 0, 128};
        CASE("CKM_AES_GCM IV 12, no AAD, tag 128, empty text", CKM_AES_GCM, &g3, 0, 0, gcm, M_GCM,
             iv12, 12, NULL, 0, 16);
        CK_GCM_PARAMS g4 = {iv12, 12, 96, aad, 7, 128};
        CASE("CKM_AES_GCM IV 12, AAD 7, tag 128, 64 bytes", CKM_AES_GCM, &g4, 64, 16, gcm, M_GCM,
             iv12, 12, aad, 7, 16);
        CK_CCM_PARAMS c1 = {200, iv, 13, aad, sizeof aad, 16};
        CASE("CKM_AES_CCM nonce 13, AAD 41, MAC 16", CKM_AES_CCM, &c1, 200, 64, ccm, M_CCM, iv, 13,
             aad, sizeof aad, 16);
        CK_CCM_PARAMS c2 = {33, iv, 7, NULL, 0, 8};
        CASE("CKM_AES_CCM nonce 7, no AAD, MAC 8", CKM_AES_CCM, &c2, 33, 10, ccm, M_CCM, iv, 7,
             NULL, 0, 8);
        CK_MECHANISM mcts = {CKM_AES_CTS, iv, 16};
        struct evp_case ects = {cts, M_CTS, iv, 16, NULL, 0, 0};
        static const size_t ctslens[] = {37, 48, 17, 16, 333};
        for (size_t i = 0; i < 5; i++) {
            snprintf(what, sizeof what, "AES-%zu CKM_AES_CTS (CS3) %zu bytes", kl * 8, ctslens[i]);
            sym_case(what, &mcts, k, kv, &ects, pt, ctslens[i], 11);
        }
#undef CASE
    }
    assert_int_equal(g_fail, 0);
}

static void test_chacha20_poly1305(void **state)
{
    (void)state;
    g_fail = 0;
    uint8_t pt[300], nonce[12], aad[33], kv[64];
    CK_OBJECT_HANDLE k;
    RAND_bytes(pt, sizeof pt);
    RAND_bytes(nonce, sizeof nonce);
    RAND_bytes(aad, sizeof aad);
    assert_ok(tok_keygen(CKM_CHACHA20_KEY_GEN, 32, &k, kv));
    CK_SALSA20_CHACHA20_POLY1305_PARAMS p = {nonce, 12, aad, sizeof aad};
    CK_MECHANISM m = {CKM_CHACHA20_POLY1305, &p, sizeof p};
    struct evp_case e = {"ChaCha20-Poly1305", M_GCM, nonce, 12, aad, sizeof aad, 16};
    sym_case("CKM_CHACHA20_POLY1305 AAD 33, 300 bytes", &m, k, kv, &e, pt, 300, 64);
    CK_SALSA20_CHACHA20_POLY1305_PARAMS p2 = {nonce, 12, NULL, 0};
    CK_MECHANISM m2 = {CKM_CHACHA20_POLY1305, &p2, sizeof p2};
    struct evp_case e2 = {"ChaCha20-Poly1305", M_GCM, nonce, 12, NULL, 0, 16};
    sym_case("CKM_CHACHA20_POLY1305 no AAD, 17 bytes", &m2, k, kv, &e2, pt, 17, 5);
    assert_int_equal(g_fail, 0);
}

/* ---- CMAC ---------------------------------------------------------------------------------- */

static int evp_cmac(const uint8_t *key, size_t kl, const uint8_t *in, size_t il, uint8_t *out)
{
    char cn[32];
    size_t ol = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(
                          OSSL_MAC_PARAM_CIPHER, (char *)aes_name(kl, "CBC", cn, sizeof cn), 0),
                      OSSL_PARAM_construct_end()};
    int ok = c && EVP_MAC_init(c, key, kl, p) == 1 && EVP_MAC_update(c, in, il) == 1 &&
             EVP_MAC_final(c, out, &ol, 16) == 1 && ol == 16;
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(mac);
    return ok;
}

static void test_cmac(void **state)
{
    (void)state;
    g_fail = 0;
    uint8_t msg[100], kv[64], want[16], got[64];
    RAND_bytes(msg, sizeof msg);
    static const size_t lens[] = {0, 16, 100, 37};
    for (size_t kl = 16; kl <= 32; kl += 8) {
        CK_OBJECT_HANDLE k;
        char what[96];
        assert_ok(tok_keygen(CKM_AES_KEY_GEN, kl, &k, kv));
        for (size_t i = 0; i < 4; i++) {
            for (int gen = 0; gen < 2; gen++) {
                CK_MAC_GENERAL_PARAMS ml = 10;
                CK_MECHANISM m = {gen ? CKM_AES_CMAC_GENERAL : CKM_AES_CMAC, gen ? &ml : NULL,
                                  gen ? sizeof ml : 0};
                size_t tl = gen ? 10 : 16;
                CK_ULONG gl = sizeof got;
                snprintf(what, sizeof what, "AES-%zu %s over %zu bytes", kl * 8,
                         gen ? "CKM_AES_CMAC_GENERAL(10)" : "CKM_AES_CMAC", lens[i]);
                g_what = what;
                EXPECT(evp_cmac(kv, kl, msg, lens[i], want), "EVP CMAC fails");
                EXPECT_RV(F->C_SignInit(S, &m, k), CKR_OK);
                if (i & 1) {
                    EXPECT_RV(F->C_SignUpdate(S, msg, lens[i] / 2), CKR_OK);
                    EXPECT_RV(F->C_SignUpdate(S, msg + lens[i] / 2, lens[i] - lens[i] / 2), CKR_OK);
                    EXPECT_RV(F->C_SignFinal(S, got, &gl), CKR_OK);
                } else {
                    EXPECT_RV(F->C_Sign(S, msg, lens[i], got, &gl), CKR_OK);
                }
                EXPECT(gl == tl && memcmp(got, want, tl) == 0, "C_Sign differs from EVP's CMAC");
                EXPECT_RV(F->C_VerifyInit(S, &m, k), CKR_OK);
                EXPECT_RV(F->C_Verify(S, msg, lens[i], want, tl), CKR_OK);
                want[tl - 1] ^= 1;
                EXPECT_RV(F->C_VerifyInit(S, &m, k), CKR_OK);
                EXPECT_RV(F->C_Verify(S, msg, lens[i], want, tl), CKR_SIGNATURE_INVALID);
            out:
                g_what = "";
            }
        }
    }
    assert_int_equal(g_fail, 0);
}

/* ---- key wrap ------------------------------------------------------------------------------- */

static CK_RV tok_import_secret(CK_KEY_TYPE kt, const uint8_t *v, size_t vl, CK_OBJECT_HANDLE *k)
{
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &c, sizeof c},  {CKA_KEY_TYPE, &kt, sizeof kt},
                        {CKA_VALUE, (void *)v, vl}, {CKA_TOKEN, &no, 1},
                        {CKA_EXTRACTABLE, &yes, 1}, {CKA_SENSITIVE, &no, 1}};
    return F->C_CreateObject(S, t, 6, k);
}

/* The token wraps a key (value tv) under kek; EVP unwraps it; EVP wraps a value and C_UnwrapKey
 * makes a key of it; C_Encrypt with the wrap mechanism equals EVP as well. */
static void wrap_case(const char *what, CK_MECHANISM_TYPE mech, const char *cipher,
                      CK_OBJECT_HANDLE kek, const uint8_t *kekv, CK_KEY_TYPE kt, size_t vlen)
{
    uint8_t tv[64], w[128], ew[128], out[128], v[64];
    CK_OBJECT_HANDLE tk, uk;
    CK_ULONG wl = sizeof w;
    size_t ol = sizeof out, ewl = sizeof ew, cl = sizeof out;
    CK_MECHANISM m = {mech, NULL, 0};
    struct evp_case e = {cipher, M_WRAP, NULL, 0, NULL, 0, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                        {CKA_KEY_TYPE, &kt, sizeof kt},
                        {CKA_TOKEN, &no, 1},
                        {CKA_SENSITIVE, &no, 1},
                        {CKA_EXTRACTABLE, &yes, 1}};
    g_what = what;
    RAND_bytes(tv, sizeof tv);
    EXPECT_RV(tok_import_secret(kt, tv, vlen, &tk), CKR_OK);
    EXPECT_RV(F->C_WrapKey(S, &m, kek, tk, w, &wl), CKR_OK);
    EXPECT(evp_crypt(&e, 0, kekv, w, wl, out, &ol), "EVP cannot unwrap the token's wrapping");
    EXPECT(ol == vlen && memcmp(out, tv, vlen) == 0, "EVP unwraps other bytes");
    EXPECT(evp_crypt(&e, 1, kekv, tv, vlen, ew, &ewl), "EVP cannot wrap");
    EXPECT(ewl == wl && memcmp(ew, w, wl) == 0, "token and EVP wrappings differ");
    ew[3] ^= 1;
    EXPECT_RV(F->C_UnwrapKey(S, &m, kek, ew, ewl, t, 5, &uk), CKR_WRAPPED_KEY_INVALID);
    ew[3] ^= 1;
    EXPECT_RV(F->C_UnwrapKey(S, &m, kek, ew, ewl, t, 5, &uk), CKR_OK);
    EXPECT(get_attr(uk, CKA_VALUE, v, sizeof v) == vlen && memcmp(v, tv, vlen) == 0,
           "C_UnwrapKey gives another value");
    EXPECT_RV(tok_cipher(1, &m, kek, tv, vlen, 0, out, &cl), CKR_OK);
    EXPECT(cl == ewl && memcmp(out, ew, cl) == 0, "C_Encrypt with the wrap mechanism differs");
out:
    g_what = "";
}

static void test_key_wrap(void **state)
{
    (void)state;
    g_fail = 0;
    for (size_t kl = 16; kl <= 32; kl += 8) {
        CK_OBJECT_HANDLE kek;
        uint8_t kekv[64];
        char what[96], kw[32], kwp[32];
        assert_ok(tok_keygen(CKM_AES_KEY_GEN, kl, &kek, kekv));
        aes_name(kl, "WRAP", kw, sizeof kw);
        aes_name(kl, "WRAP-PAD", kwp, sizeof kwp);
        for (size_t tl = 16; tl <= 32; tl += 8) {
            snprintf(what, sizeof what, "KEK AES-%zu CKM_AES_KEY_WRAP of an AES-%zu key", kl * 8,
                     tl * 8);
            wrap_case(what, CKM_AES_KEY_WRAP, kw, kek, kekv, CKK_AES, tl);
            snprintf(what, sizeof what, "KEK AES-%zu CKM_AES_KEY_WRAP_KWP of an AES-%zu key",
                     kl * 8, tl * 8);
            wrap_case(what, CKM_AES_KEY_WRAP_KWP, kwp, kek, kekv, CKK_AES, tl);
        }
        static const size_t glens[] = {1, 7, 20, 41};
        for (size_t i = 0; i < 4; i++) {
            snprintf(what, sizeof what, "KEK AES-%zu CKM_AES_KEY_WRAP_KWP of a %zu-byte secret",
                     kl * 8, glens[i]);
            wrap_case(what, CKM_AES_KEY_WRAP_KWP, kwp, kek, kekv, CKK_GENERIC_SECRET, glens[i]);
        }
        snprintf(what, sizeof what, "KEK AES-%zu CKM_AES_KEY_WRAP of a 40-byte secret", kl * 8);
        wrap_case(what, CKM_AES_KEY_WRAP, kw, kek, kekv, CKK_GENERIC_SECRET, 40);
    }
    assert_int_equal(g_fail, 0);
}

int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aes_modes),
        cmocka_unit_test(test_chacha20_poly1305),
        cmocka_unit_test(test_cmac),
        cmocka_unit_test(test_key_wrap),
    };
    return cmocka_run_group_tests(tests, iu_grp_setup, iu_grp_teardown);
}
