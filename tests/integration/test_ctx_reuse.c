/* Reuse of prepared libcrypto contexts through the PKCS#11 API (src/mech/pool.c and its users
 * hmac.c, aes_aead.c, chacha.c). Every output is compared with plain libcrypto EVP computed in
 * the test process from the key values the test imported.
 *
 * Which assertion catches which bug:
 * - a reused HMAC context not restarted (old data or a finalised state carried over):
 *   test_hmac_abandoned (one-shot after an op closed mid-stream, after a verify that ended on a
 *   length error, after a too-small C_SignFinal) and every MAC compare in test_hmac_interleaved.
 * - pool variant ignored (SHA-384 done with a SHA-256 context, or the other way round):
 *   test_hmac_interleaved SHA-384 cases on a key whose pool is SHA-256 (and on K2, same).
 * - _GENERAL length kept from the previous user of a context: test_hmac_interleaved alternating
 *   full and truncated MACs (length and bytes checked).
 * - cross-talk between keys (a context of K1 used for K2): test_hmac_interleaved K2 cases and
 *   the overlapping two-session case.
 * - GCM/ChaCha context reused without a new nonce, with the old direction, the old tag length,
 *   AAD or held ciphertext of a previous message: test_gcm_reuse_* / test_chacha_reuse compares
 *   (alternating directions, tag lengths, AAD lengths, multi-part decrypts, a failed tag check
 *   then a good decrypt and encrypt, sessions closed mid-operation).
 * - the 16-byte-IV (unpooled) path or other AES modes disturbing the pooled one:
 *   test_gcm_reuse_* 16-byte IV, CBC_PAD and CTR cases between GCM ones.
 * - a context keyed with an old value used after the object was destroyed or changed:
 *   test_object_change (new key with another value gives the new MAC / ciphertext, token key
 *   after logout and login).
 * - use after free / double free / leak when an object goes while an operation holds one of its
 *   contexts: test_object_change destroy-mid-operation, C_CopyObject and owner-session-closed
 *   cases, and test_threads_hammer (labels changed meanwhile, which frees the key's cache
 *   while items are out), caught by ASan/LSan.
 * - races between sessions on one key (one item in two hands): test_threads_hammer compares. */
#include "interop_util.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define BUF 1200

static char g_whatbuf[160];
#define WHAT(...) (snprintf(g_whatbuf, sizeof g_whatbuf, __VA_ARGS__), g_what = g_whatbuf)

/* ---- EVP ------------------------------------------------------------------------------------- */

static int evp_hmac(const char *md, const uint8_t *k, size_t kl, const uint8_t *m, size_t ml,
                    uint8_t *out, size_t *ol)
{
    int ok = EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, k, kl, m, ml, out, 64, ol) != NULL;
    ERR_clear_error();
    return ok;
}

/* AEAD (GCM, ChaCha20-Poly1305): encrypt gives ct || tag; decrypt takes ct || tag and fails on a
 * bad tag. */
static int evp_aead(const char *name, int enc, const uint8_t *key, const uint8_t *iv, size_t ivl,
                    const uint8_t *aad, size_t aadl, size_t tagl, const uint8_t *in, size_t il,
                    uint8_t *out, size_t *ol)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int ok = c && x, l = 0, l2 = 0;
    size_t dl = il;
    if (!enc) {
        if (il < tagl)
            ok = 0;
        else
            dl = il - tagl;
    }
    ok = ok && EVP_CipherInit_ex2(x, c, NULL, NULL, enc, NULL) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, (int)ivl, NULL) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)tagl, (void *)(in + dl)) == 1;
    ok = ok && EVP_CipherInit_ex2(x, NULL, key, iv, enc, NULL) == 1;
    if (ok && aadl)
        ok = EVP_CipherUpdate(x, NULL, &l, aad, (int)aadl) == 1;
    l = 0;
    if (ok && dl)
        ok = EVP_CipherUpdate(x, out, &l, in, (int)dl) == 1;
    ok = ok && EVP_CipherFinal_ex(x, out + l, &l2) == 1;
    *ol = (size_t)(l + l2);
    if (ok && enc) {
        ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, (int)tagl, out + *ol) == 1;
        *ol += tagl;
    }
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(c);
    ERR_clear_error();
    return ok;
}

/* CBC with PKCS#7 padding, CTR. */
static int evp_plain(const char *name, int enc, const uint8_t *key, const uint8_t *iv,
                     const uint8_t *in, size_t il, uint8_t *out, size_t *ol)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int ok = c && x, l = 0, l2 = 0;
    ok = ok && EVP_CipherInit_ex2(x, c, key, iv, enc, NULL) == 1;
    if (ok && il)
        ok = EVP_CipherUpdate(x, out, &l, in, (int)il) == 1;
    ok = ok && EVP_CipherFinal_ex(x, out + l, &l2) == 1;
    *ol = (size_t)(l + l2);
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(c);
    ERR_clear_error();
    return ok;
}

static const char *aes_name(size_t klen, const char *mode, char *buf, size_t n)
{
    snprintf(buf, n, "AES-%zu-%s", klen * 8, mode);
    return buf;
}

/* ---- token helpers (any session) ---------------------------------------------------------- */

/* A session secret key with a known value: MAC usages for HMAC keys, cipher usages otherwise. */
static CK_RV import_key(CK_SESSION_HANDLE s, CK_KEY_TYPE kt, const uint8_t *v, size_t vl,
                        CK_BBOOL token, const char *label, CK_OBJECT_HANDLE *k)
{
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    int mac = kt == CKK_GENERIC_SECRET || kt == CKK_SHA256_HMAC;
    CK_ATTRIBUTE t[11] = {{CKA_CLASS, &c, sizeof c},
                          {CKA_KEY_TYPE, &kt, sizeof kt},
                          {CKA_VALUE, (void *)v, vl},
                          {CKA_TOKEN, &token, 1},
                          {CKA_SENSITIVE, &no, 1},
                          {CKA_EXTRACTABLE, &yes, 1}};
    CK_ULONG n = 6;
    if (mac) {
        t[n++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, 1};
        t[n++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, 1};
    } else {
        t[n++] = (CK_ATTRIBUTE){CKA_ENCRYPT, &yes, 1};
        t[n++] = (CK_ATTRIBUTE){CKA_DECRYPT, &yes, 1};
        t[n++] = (CK_ATTRIBUTE){CKA_WRAP, &yes, 1};
    }
    if (label)
        t[n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)label, strlen(label)};
    return F->C_CreateObject(s, t, n, k);
}

/* MAC on session s: single-part, or in three C_SignUpdate pieces when multi. general is the
 * CK_MAC_GENERAL_PARAMS for a _GENERAL mechanism, 0 otherwise. */
static CK_RV t_mac(CK_SESSION_HANDLE s, CK_MECHANISM_TYPE mt, CK_ULONG general,
                   CK_OBJECT_HANDLE k, const uint8_t *d, size_t dl, int multi, uint8_t *sig,
                   CK_ULONG *sl)
{
    CK_MECHANISM m = {mt, general ? &general : NULL, general ? sizeof general : 0};
    CK_RV rv = F->C_SignInit(s, &m, k);
    if (rv != CKR_OK)
        return rv;
    if (!multi)
        return F->C_Sign(s, (CK_BYTE_PTR)d, dl, sig, sl);
    size_t a = dl / 3, b = dl / 3 * 2;
    if ((rv = F->C_SignUpdate(s, (CK_BYTE_PTR)d, a)) == CKR_OK &&
        (rv = F->C_SignUpdate(s, (CK_BYTE_PTR)d + a, b - a)) == CKR_OK &&
        (rv = F->C_SignUpdate(s, (CK_BYTE_PTR)d + b, dl - b)) == CKR_OK)
        return F->C_SignFinal(s, sig, sl);
    return rv;
}

/* Encrypt/decrypt on session s: single-part (with a length query first) when chunk is 0, else
 * C_*Update in chunk-byte pieces and C_*Final. */
static CK_RV t_crypt(CK_SESSION_HANDLE s, int enc, CK_MECHANISM *m, CK_OBJECT_HANDLE k,
                     const uint8_t *in, size_t il, size_t chunk, uint8_t *out, size_t *ol)
{
    CK_RV rv = enc ? F->C_EncryptInit(s, m, k) : F->C_DecryptInit(s, m, k);
    size_t cap = *ol, done = 0;
    CK_ULONG l = cap;
    if (rv != CKR_OK)
        return rv;
    if (!chunk) {
        CK_ULONG need = 0;
        rv = enc ? F->C_Encrypt(s, (CK_BYTE_PTR)in, il, NULL, &need)
                 : F->C_Decrypt(s, (CK_BYTE_PTR)in, il, NULL, &need);
        if (rv != CKR_OK)
            return rv;
        if (need > cap)
            return CKR_GENERAL_ERROR;
        rv = enc ? F->C_Encrypt(s, (CK_BYTE_PTR)in, il, out, &l)
                 : F->C_Decrypt(s, (CK_BYTE_PTR)in, il, out, &l);
        *ol = l;
        return rv;
    }
    for (size_t off = 0; off < il; off += chunk) {
        size_t n = il - off < chunk ? il - off : chunk;
        l = cap - done;
        rv = enc ? F->C_EncryptUpdate(s, (CK_BYTE_PTR)in + off, n, out + done, &l)
                 : F->C_DecryptUpdate(s, (CK_BYTE_PTR)in + off, n, out + done, &l);
        if (rv != CKR_OK)
            return rv;
        done += l;
    }
    l = cap - done;
    rv = enc ? F->C_EncryptFinal(s, out + done, &l) : F->C_DecryptFinal(s, out + done, &l);
    *ol = done + l;
    return rv;
}

/* ---- HMAC ------------------------------------------------------------------------------------ */

/* One MAC on the token, compared with EVP. Returns 1 when they agree. */
static int mac_case(CK_SESSION_HANDLE s, CK_MECHANISM_TYPE mt, CK_ULONG general, const char *md,
                    CK_OBJECT_HANDLE k, const uint8_t *kv, size_t kl, const uint8_t *msg,
                    size_t ml, int multi)
{
    uint8_t t[64], e[64];
    CK_ULONG tl = sizeof t;
    size_t el = 0;
    EXPECT_RV(t_mac(s, mt, general, k, msg, ml, multi, t, &tl), CKR_OK);
    EXPECT(evp_hmac(md, kv, kl, msg, ml, e, &el), "EVP HMAC failed");
    if (general)
        el = general;
    EXPECT(tl == el, "MAC length %lu, expected %zu", (unsigned long)tl, el);
    EXPECT(memcmp(t, e, el) == 0, "MAC differs from EVP's");
    return 1;
out:
    return 0;
}

static void test_hmac_interleaved(void **state)
{
    (void)state;
    g_fail = 0;
    uint8_t k1v[32], k2v[131], msg[400], msg2[200];
    CK_OBJECT_HANDLE k1, k2;
    CK_SESSION_HANDLE s2 = CK_INVALID_HANDLE;
    RAND_bytes(k1v, sizeof k1v);
    RAND_bytes(k2v, sizeof k2v);
    assert_ok(import_key(S, CKK_GENERIC_SECRET, k1v, sizeof k1v, CK_FALSE, NULL, &k1));
    assert_ok(import_key(S, CKK_GENERIC_SECRET, k2v, sizeof k2v, CK_FALSE, NULL, &k2));
    assert_ok(h_open(slot, 1, &s2));
    for (int i = 0; i < 240 && !g_fail; i++) {
        size_t ml = (size_t)(i * 37) % 300;
        RAND_bytes(msg, sizeof msg);
        switch (i % 9) {
        case 0:
            WHAT("#%d SHA256_HMAC K1 single, %zu bytes", i, ml);
            mac_case(S, CKM_SHA256_HMAC, 0, "SHA256", k1, k1v, sizeof k1v, msg, ml, 0);
            break;
        case 1:
            WHAT("#%d SHA256_HMAC K1 multi, %zu bytes", i, ml);
            mac_case(S, CKM_SHA256_HMAC, 0, "SHA256", k1, k1v, sizeof k1v, msg, ml, 1);
            break;
        case 2:
            WHAT("#%d SHA384_HMAC K1 (not K1's pool variant), %zu bytes", i, ml);
            mac_case(S, CKM_SHA384_HMAC, 0, "SHA384", k1, k1v, sizeof k1v, msg, ml, i & 1);
            break;
        case 3:
            WHAT("#%d SHA256_HMAC_GENERAL %d K1, %zu bytes", i, 1 + i % 32, ml);
            mac_case(S, CKM_SHA256_HMAC_GENERAL, (CK_ULONG)(1 + i % 32), "SHA256", k1, k1v,
                     sizeof k1v, msg, ml, i & 1);
            break;
        case 4:
            WHAT("#%d SHA256_HMAC K2, %zu bytes", i, ml);
            mac_case(S, CKM_SHA256_HMAC, 0, "SHA256", k2, k2v, sizeof k2v, msg, ml, i & 1);
            break;
        case 5:
            WHAT("#%d SHA384_HMAC K2, %zu bytes", i, ml);
            mac_case(S, CKM_SHA384_HMAC, 0, "SHA384", k2, k2v, sizeof k2v, msg, ml, i & 1);
            break;
        case 6: {
            /* Verify with EVP's MAC, then a flipped one, then the good one again. */
            uint8_t e[64];
            size_t el;
            CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
            WHAT("#%d SHA256_HMAC verify K1, %zu bytes", i, ml);
            EXPECT(evp_hmac("SHA256", k1v, sizeof k1v, msg, ml, e, &el), "EVP HMAC failed");
            EXPECT_RV(tok_verify(&m, k1, msg, ml, i & 1, e, el), CKR_OK);
            e[i % el] ^= 0x40;
            EXPECT_RV(tok_verify(&m, k1, msg, ml, !(i & 1), e, el), CKR_SIGNATURE_INVALID);
            e[i % el] ^= 0x40;
            EXPECT_RV(tok_verify(&m, k1, msg, ml, 0, e, el), CKR_OK);
            break;
        }
        case 7: {
            /* Two operations on K1 at once (two items out of one pool), finished crosswise. */
            uint8_t t1[64], t2[64], e1[64], e2[64];
            CK_ULONG l1 = sizeof t1, l2 = sizeof t2;
            size_t el1, el2;
            CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
            size_t m2l = (size_t)i % sizeof msg2;
            RAND_bytes(msg2, sizeof msg2);
            WHAT("#%d SHA256_HMAC K1 in two sessions at once", i);
            EXPECT_RV(F->C_SignInit(S, &m, k1), CKR_OK);
            EXPECT_RV(F->C_SignUpdate(S, msg, ml / 2), CKR_OK);
            EXPECT_RV(F->C_SignInit(s2, &m, k1), CKR_OK);
            EXPECT_RV(F->C_SignUpdate(s2, msg2, m2l), CKR_OK);
            EXPECT_RV(F->C_SignUpdate(S, msg + ml / 2, ml - ml / 2), CKR_OK);
            EXPECT_RV(F->C_SignFinal(S, t1, &l1), CKR_OK);
            EXPECT_RV(F->C_SignFinal(s2, t2, &l2), CKR_OK);
            EXPECT(evp_hmac("SHA256", k1v, sizeof k1v, msg, ml, e1, &el1) &&
                       evp_hmac("SHA256", k1v, sizeof k1v, msg2, m2l, e2, &el2),
                   "EVP HMAC failed");
            EXPECT(l1 == el1 && memcmp(t1, e1, el1) == 0, "first session's MAC differs");
            EXPECT(l2 == el2 && memcmp(t2, e2, el2) == 0, "second session's MAC differs");
            break;
        }
        case 8:
            /* K1 and K2 right after each other in two sessions. */
            WHAT("#%d K2 in session 2 then K1 in session 1", i);
            if (mac_case(s2, CKM_SHA256_HMAC, 0, "SHA256", k2, k2v, sizeof k2v, msg, ml, 0))
                mac_case(S, CKM_SHA256_HMAC, 0, "SHA256", k1, k1v, sizeof k1v, msg, ml, 0);
            break;
        }
    }
out:
    g_what = "";
    F->C_CloseSession(s2);
    F->C_DestroyObject(S, k1);
    F->C_DestroyObject(S, k2);
    assert_int_equal(g_fail, 0);
}

static void test_hmac_abandoned(void **state)
{
    (void)state;
    g_fail = 0;
    uint8_t kv[40], junk[333], msg[97], t[64], e[64];
    CK_OBJECT_HANDLE k;
    CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
    CK_ULONG tl;
    size_t el;
    CK_SESSION_HANDLE s2 = CK_INVALID_HANDLE;
    RAND_bytes(kv, sizeof kv);
    RAND_bytes(junk, sizeof junk);
    RAND_bytes(msg, sizeof msg);
    assert_ok(import_key(S, CKK_GENERIC_SECRET, kv, sizeof kv, CK_FALSE, NULL, &k));
    assert_true(evp_hmac("SHA256", kv, sizeof kv, msg, sizeof msg, e, &el));
    /* Prime the pool. */
    WHAT("first MAC");
    mac_case(S, CKM_SHA256_HMAC, 0, "SHA256", k, kv, sizeof kv, msg, sizeof msg, 0);

    /* Multi-part with a length query and a too-small buffer before the real final. */
    for (int round = 0; round < 3; round++) {
        uint8_t ej[64];
        size_t ejl;
        WHAT("round %d: C_SignFinal length query and too-small buffer", round);
        EXPECT_RV(F->C_SignInit(S, &m, k), CKR_OK);
        EXPECT_RV(F->C_SignUpdate(S, junk, sizeof junk - (size_t)round), CKR_OK);
        tl = 0;
        EXPECT_RV(F->C_SignFinal(S, NULL, &tl), CKR_OK);
        EXPECT(tl == 32, "length query gives %lu", (unsigned long)tl);
        tl = 8;
        EXPECT_RV(F->C_SignFinal(S, t, &tl), CKR_BUFFER_TOO_SMALL);
        tl = sizeof t;
        EXPECT_RV(F->C_SignFinal(S, t, &tl), CKR_OK);
        EXPECT(evp_hmac("SHA256", kv, sizeof kv, junk, sizeof junk - (size_t)round, ej, &ejl),
               "EVP HMAC failed");
        EXPECT(tl == ejl && memcmp(t, ej, ejl) == 0, "MAC after a too-small final differs");
        WHAT("round %d: one-shot after it", round);
        tl = sizeof t;
        EXPECT_RV(F->C_SignInit(S, &m, k), CKR_OK);
        tl = 0;
        EXPECT_RV(F->C_Sign(S, msg, sizeof msg, NULL, &tl), CKR_OK);
        tl = sizeof t;
        EXPECT_RV(F->C_Sign(S, msg, sizeof msg, t, &tl), CKR_OK);
        EXPECT(tl == el && memcmp(t, e, el) == 0, "one-shot MAC carries old data");
    }

    /* Closed mid-stream: the context goes back to the pool with junk absorbed. */
    for (int round = 0; round < 3; round++) {
        WHAT("round %d: session closed in the middle of a MAC", round);
        EXPECT_RV(h_open(slot, 1, &s2), CKR_OK);
        EXPECT_RV(F->C_SignInit(s2, &m, k), CKR_OK);
        EXPECT_RV(F->C_SignUpdate(s2, junk, 100 + (size_t)round), CKR_OK);
        EXPECT_RV(F->C_CloseSession(s2), CKR_OK);
        s2 = CK_INVALID_HANDLE;
        tl = sizeof t;
        EXPECT_RV(tok_sign(&m, k, msg, sizeof msg, round & 1, t, &tl), CKR_OK);
        EXPECT(tl == el && memcmp(t, e, el) == 0, "MAC after an abandoned one differs");
    }

    /* A verify ended by a length error, then by a bad MAC, each followed by good operations. */
    WHAT("verify ended by CKR_SIGNATURE_LEN_RANGE");
    EXPECT_RV(F->C_VerifyInit(S, &m, k), CKR_OK);
    EXPECT_RV(F->C_VerifyUpdate(S, junk, sizeof junk), CKR_OK);
    EXPECT_RV(F->C_VerifyFinal(S, e, 31), CKR_SIGNATURE_LEN_RANGE);
    tl = sizeof t;
    EXPECT_RV(tok_sign(&m, k, msg, sizeof msg, 0, t, &tl), CKR_OK);
    EXPECT(tl == el && memcmp(t, e, el) == 0, "MAC after a failed verify differs");
    WHAT("C_Verify wrong MAC then right MAC");
    e[5] ^= 1;
    EXPECT_RV(tok_verify(&m, k, msg, sizeof msg, 0, e, el), CKR_SIGNATURE_INVALID);
    e[5] ^= 1;
    EXPECT_RV(tok_verify(&m, k, msg, sizeof msg, 0, e, el), CKR_OK);
    WHAT("C_VerifyFinal wrong MAC then right MAC");
    e[31] ^= 0x80;
    EXPECT_RV(tok_verify(&m, k, msg, sizeof msg, 1, e, el), CKR_SIGNATURE_INVALID);
    e[31] ^= 0x80;
    EXPECT_RV(tok_verify(&m, k, msg, sizeof msg, 1, e, el), CKR_OK);
    WHAT("C_Verify right MAC for junk after all that");
    {
        uint8_t ej[64];
        size_t ejl;
        EXPECT(evp_hmac("SHA256", kv, sizeof kv, junk, sizeof junk, ej, &ejl), "EVP failed");
        EXPECT_RV(tok_verify(&m, k, junk, sizeof junk, 0, ej, ejl), CKR_OK);
    }
    /* The truncated MAC's length does not stick to the context. */
    WHAT("_GENERAL 10 then full");
    mac_case(S, CKM_SHA256_HMAC_GENERAL, 10, "SHA256", k, kv, sizeof kv, msg, sizeof msg, 0);
    mac_case(S, CKM_SHA256_HMAC, 0, "SHA256", k, kv, sizeof kv, msg, sizeof msg, 0);
    {
        CK_ULONG g = 10;
        CK_MECHANISM mg = {CKM_SHA256_HMAC_GENERAL, &g, sizeof g};
        WHAT("verify with a full MAC under _GENERAL 10 is a length error, then full verify");
        EXPECT_RV(tok_verify(&mg, k, msg, sizeof msg, 0, e, el), CKR_SIGNATURE_LEN_RANGE);
        EXPECT_RV(tok_verify(&m, k, msg, sizeof msg, 0, e, el), CKR_OK);
    }
out:
    g_what = "";
    if (s2 != CK_INVALID_HANDLE)
        F->C_CloseSession(s2);
    F->C_DestroyObject(S, k);
    assert_int_equal(g_fail, 0);
}

/* ---- AES-GCM ------------------------------------------------------------------------------- */

/* One GCM (or ChaCha20-Poly1305 when cipher names it) message both ways: the token's ciphertext
 * equals EVP's, the token decrypts EVP's (single-part or in chunks). */
struct aead {
    CK_MECHANISM_TYPE mech;
    const char *cipher;
    CK_OBJECT_HANDLE k;
    const uint8_t *kv;
};

static void aead_mech(const struct aead *a, CK_MECHANISM *m, CK_GCM_PARAMS *gp,
                      CK_SALSA20_CHACHA20_POLY1305_PARAMS *cp, uint8_t *iv, size_t ivl,
                      uint8_t *aad, size_t aadl, size_t tagl)
{
    if (a->mech == CKM_AES_GCM) {
        *gp = (CK_GCM_PARAMS){iv, ivl, ivl * 8, aadl ? aad : NULL, aadl, tagl * 8};
        *m = (CK_MECHANISM){CKM_AES_GCM, gp, sizeof *gp};
    } else {
        *cp = (CK_SALSA20_CHACHA20_POLY1305_PARAMS){iv, ivl, aadl ? aad : NULL, aadl};
        *m = (CK_MECHANISM){a->mech, cp, sizeof *cp};
    }
}

static int aead_case(CK_SESSION_HANDLE s, const struct aead *a, int i, size_t ivl, size_t aadl,
                     size_t tagl, size_t pl, int mode)
{
    uint8_t iv[16], aad[64], pt[BUF], tct[BUF], ect[BUF], out[BUF];
    size_t tl = sizeof tct, el = sizeof ect, ol = sizeof out;
    CK_MECHANISM m;
    CK_GCM_PARAMS gp;
    CK_SALSA20_CHACHA20_POLY1305_PARAMS cp;
    RAND_bytes(iv, sizeof iv);
    RAND_bytes(aad, sizeof aad);
    RAND_bytes(pt, (int)pl + 1);
    aead_mech(a, &m, &gp, &cp, iv, ivl, aad, aadl, tagl);
    EXPECT(evp_aead(a->cipher, 1, a->kv, iv, ivl, aad, aadl, tagl, pt, pl, ect, &el),
           "EVP cannot encrypt");
    switch (mode) {
    case 0: /* token encrypts (single-part), token decrypts its own, in chunks */
        EXPECT_RV(t_crypt(s, 1, &m, a->k, pt, pl, 0, tct, &tl), CKR_OK);
        EXPECT(tl == el && memcmp(tct, ect, el) == 0, "ciphertext differs from EVP's");
        EXPECT_RV(t_crypt(s, 0, &m, a->k, tct, tl, 1 + (size_t)i % 19, out, &ol), CKR_OK);
        EXPECT(ol == pl && memcmp(out, pt, pl) == 0, "decrypts to other bytes");
        break;
    case 1: /* token decrypts EVP's (single-part), then encrypts in chunks */
        EXPECT_RV(t_crypt(s, 0, &m, a->k, ect, el, 0, out, &ol), CKR_OK);
        EXPECT(ol == pl && memcmp(out, pt, pl) == 0, "decrypts EVP's to other bytes");
        EXPECT_RV(t_crypt(s, 1, &m, a->k, pt, pl, 1 + (size_t)i % 23, tct, &tl), CKR_OK);
        EXPECT(tl == el && memcmp(tct, ect, el) == 0, "multi-part ciphertext differs");
        break;
    case 2: /* a bad tag, then the good message, then an encryption */
        ect[el - 1 - (size_t)i % tagl] ^= 0x10;
        EXPECT_RV(t_crypt(s, 0, &m, a->k, ect, el, (size_t)(i & 1) * 5, out, &ol),
                  CKR_ENCRYPTED_DATA_INVALID);
        ect[el - 1 - (size_t)i % tagl] ^= 0x10;
        ol = sizeof out;
        EXPECT_RV(t_crypt(s, 0, &m, a->k, ect, el, 0, out, &ol), CKR_OK);
        EXPECT(ol == pl && memcmp(out, pt, pl) == 0, "decrypt after a bad tag differs");
        EXPECT_RV(t_crypt(s, 1, &m, a->k, pt, pl, 0, tct, &tl), CKR_OK);
        EXPECT(tl == el && memcmp(tct, ect, el) == 0, "encrypt after a bad tag differs");
        break;
    case 3: { /* a bad ciphertext byte (not the tag) fails too; then a good decrypt */
        if (pl == 0)
            break;
        ect[(size_t)i % pl] ^= 0x01;
        EXPECT_RV(t_crypt(s, 0, &m, a->k, ect, el, 0, out, &ol), CKR_ENCRYPTED_DATA_INVALID);
        ect[(size_t)i % pl] ^= 0x01;
        ol = sizeof out;
        EXPECT_RV(t_crypt(s, 0, &m, a->k, ect, el, 3, out, &ol), CKR_OK);
        EXPECT(ol == pl && memcmp(out, pt, pl) == 0, "decrypt after a bad ciphertext differs");
        break;
    }
    }
    return 1;
out:
    return 0;
}

/* CBC_PAD and CTR on the same key: another family between the pooled operations. */
static int aes_other_modes(const struct aead *a, size_t klen, int i)
{
    uint8_t iv[16], pt[300], tct[BUF], ect[BUF], out[BUF];
    size_t pl = (size_t)(i * 11) % 200, tl = sizeof tct, el = sizeof ect, ol = sizeof out;
    char name[32];
    RAND_bytes(iv, sizeof iv);
    RAND_bytes(pt, sizeof pt);
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, iv, 16};
    EXPECT(evp_plain(aes_name(klen, "CBC", name, sizeof name), 1, a->kv, iv, pt, pl, ect, &el),
           "EVP CBC failed");
    EXPECT_RV(t_crypt(S, 1, &cbc, a->k, pt, pl, (size_t)(i & 1) * 7, tct, &tl), CKR_OK);
    EXPECT(tl == el && memcmp(tct, ect, el) == 0, "CBC_PAD ciphertext differs");
    EXPECT_RV(t_crypt(S, 0, &cbc, a->k, tct, tl, 0, out, &ol), CKR_OK);
    EXPECT(ol == pl && memcmp(out, pt, pl) == 0, "CBC_PAD decrypts to other bytes");
    CK_AES_CTR_PARAMS cp = {128, {0}};
    memcpy(cp.cb, iv, 16);
    cp.cb[0] &= 0x7f; /* no counter wrap within the message */
    CK_MECHANISM ctr = {CKM_AES_CTR, &cp, sizeof cp};
    tl = sizeof tct;
    el = sizeof ect;
    EXPECT(evp_plain(aes_name(klen, "CTR", name, sizeof name), 1, a->kv, cp.cb, pt, pl, ect, &el),
           "EVP CTR failed");
    EXPECT_RV(t_crypt(S, 1, &ctr, a->k, pt, pl, 0, tct, &tl), CKR_OK);
    EXPECT(tl == el && memcmp(tct, ect, el) == 0, "CTR ciphertext differs");
    return 1;
out:
    return 0;
}

/* A GCM key wraps a generic secret (C_WrapKey goes through the same pooled init). */
static int gcm_wrap_case(const struct aead *a, int i)
{
    uint8_t v[24], iv[12], w[128], ew[128];
    CK_ULONG wl = sizeof w;
    size_t ewl = sizeof ew;
    CK_OBJECT_HANDLE t = CK_INVALID_HANDLE;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    RAND_bytes(v, sizeof v);
    RAND_bytes(iv, sizeof iv);
    CK_ATTRIBUTE tt[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt},
                         {CKA_VALUE, v, sizeof v},      {CKA_TOKEN, &no, 1},
                         {CKA_SENSITIVE, &no, 1},       {CKA_EXTRACTABLE, &yes, 1}};
    CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, i & 1 ? 96 : 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof gp};
    int ok = 0;
    EXPECT_RV(F->C_CreateObject(S, tt, 6, &t), CKR_OK);
    EXPECT_RV(F->C_WrapKey(S, &m, a->k, t, w, &wl), CKR_OK);
    EXPECT(evp_aead(a->cipher, 1, a->kv, iv, 12, NULL, 0, gp.ulTagBits / 8, v, sizeof v, ew, &ewl),
           "EVP cannot encrypt");
    EXPECT(wl == ewl && memcmp(w, ew, ewl) == 0, "GCM wrapping differs from EVP's");
    ok = 1;
out:
    if (t != CK_INVALID_HANDLE)
        F->C_DestroyObject(S, t);
    return ok;
}

/* An operation left in the middle by closing its session: its context goes back unfinished. */
static int aead_abandon(const struct aead *a, int enc, int i)
{
    uint8_t iv[12], aad[20], buf[256], out[BUF];
    CK_ULONG ol = sizeof out;
    CK_MECHANISM m;
    CK_GCM_PARAMS gp;
    CK_SALSA20_CHACHA20_POLY1305_PARAMS cp;
    CK_SESSION_HANDLE s2 = CK_INVALID_HANDLE;
    RAND_bytes(iv, sizeof iv);
    RAND_bytes(aad, sizeof aad);
    RAND_bytes(buf, sizeof buf);
    aead_mech(a, &m, &gp, &cp, iv, 12, aad, (size_t)i % 20, 16);
    EXPECT_RV(h_open(slot, 1, &s2), CKR_OK);
    EXPECT_RV(enc ? F->C_EncryptInit(s2, &m, a->k) : F->C_DecryptInit(s2, &m, a->k), CKR_OK);
    EXPECT_RV(enc ? F->C_EncryptUpdate(s2, buf, 100, out, &ol)
                  : F->C_DecryptUpdate(s2, buf, 100, out, &ol),
              CKR_OK);
    EXPECT_RV(F->C_CloseSession(s2), CKR_OK);
    return 1;
out:
    if (s2 != CK_INVALID_HANDLE)
        F->C_CloseSession(s2);
    return 0;
}

static void gcm_run(size_t klen)
{
    g_fail = 0;
    uint8_t kv[32];
    char name[32];
    CK_MECHANISM_INFO mi;
    RAND_bytes(kv, sizeof kv);
    struct aead a = {CKM_AES_GCM, aes_name(klen, "GCM", name, sizeof name), 0, kv};
    assert_ok(import_key(S, CKK_AES, kv, klen, CK_FALSE, NULL, &a.k));
    int can_wrap = F->C_GetMechanismInfo(slot, CKM_AES_GCM, &mi) == CKR_OK &&
                   (mi.flags & CKF_WRAP);
    static const size_t tags[] = {16, 12, 16, 12, 8, 13, 4};
    for (int i = 0; i < 140 && !g_fail; i++) {
        size_t ivl = i % 6 == 5 ? 16 : 12; /* 16: not the pooled path */
        size_t aadl = (size_t)(i * 13) % 41;
        size_t tagl = tags[i % 7];
        size_t pl = (size_t)(i * 29) % 257;
        int mode = (i / 2) % 4;
        WHAT("AES-%zu GCM #%d iv %zu aad %zu tag %zu pt %zu mode %d", klen * 8, i, ivl, aadl,
             tagl, pl, mode);
        if (!aead_case(S, &a, i, ivl, aadl, tagl, pl, mode))
            break;
        if (i % 3 == 2) {
            WHAT("AES-%zu CBC_PAD/CTR #%d on the GCM key", klen * 8, i);
            if (!aes_other_modes(&a, klen, i))
                break;
        }
        if (i % 7 == 3) {
            WHAT("AES-%zu GCM #%d %s abandoned", klen * 8, i, i & 1 ? "decrypt" : "encrypt");
            if (!aead_abandon(&a, !(i & 1), i))
                break;
        }
        if (can_wrap && i % 10 == 4) {
            WHAT("AES-%zu GCM #%d C_WrapKey", klen * 8, i);
            if (!gcm_wrap_case(&a, i))
                break;
        }
    }
    g_what = "";
    F->C_DestroyObject(S, a.k);
    assert_int_equal(g_fail, 0);
}

static void test_gcm_reuse_aes256(void **state)
{
    (void)state;
    gcm_run(32);
}

static void test_gcm_reuse_aes128(void **state)
{
    (void)state;
    gcm_run(16);
}

static void test_chacha_reuse(void **state)
{
    (void)state;
    CK_MECHANISM_INFO mi;
    if (F->C_GetMechanismInfo(slot, CKM_CHACHA20_POLY1305, &mi) != CKR_OK) {
        skip();
        return;
    }
    g_fail = 0;
    uint8_t kv[32];
    RAND_bytes(kv, sizeof kv);
    struct aead a = {CKM_CHACHA20_POLY1305, "ChaCha20-Poly1305", 0, kv};
    assert_ok(import_key(S, CKK_CHACHA20, kv, sizeof kv, CK_FALSE, NULL, &a.k));
    for (int i = 0; i < 100 && !g_fail; i++) {
        size_t aadl = (size_t)(i * 13) % 41;
        size_t pl = (size_t)(i * 29) % 257;
        int mode = (i / 2) % 4;
        WHAT("ChaCha20-Poly1305 #%d aad %zu pt %zu mode %d", i, aadl, pl, mode);
        if (!aead_case(S, &a, i, 12, aadl, 16, pl, mode))
            break;
        if (i % 7 == 3) {
            WHAT("ChaCha20-Poly1305 #%d %s abandoned", i, i & 1 ? "decrypt" : "encrypt");
            if (!aead_abandon(&a, !(i & 1), i))
                break;
        }
    }
    g_what = "";
    F->C_DestroyObject(S, a.k);
    assert_int_equal(g_fail, 0);
}

/* ---- object changes ------------------------------------------------------------------------- */

static void test_object_change(void **state)
{
    (void)state;
    g_fail = 0;
    uint8_t v1[32], v2[32], msg[64], t[64], e1[64], e2[64];
    size_t e1l, e2l;
    CK_ULONG tl;
    CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
    CK_OBJECT_HANDLE k3 = CK_INVALID_HANDLE, k4 = CK_INVALID_HANDLE, tk = CK_INVALID_HANDLE;
    RAND_bytes(msg, sizeof msg);

    /* Destroy and re-create with another value, many times (the new object may well sit where
     * the old one was). */
    for (int round = 0; round < 30; round++) {
        RAND_bytes(v1, sizeof v1);
        RAND_bytes(v2, sizeof v2);
        assert_true(evp_hmac("SHA256", v1, sizeof v1, msg, sizeof msg, e1, &e1l));
        assert_true(evp_hmac("SHA256", v2, sizeof v2, msg, sizeof msg, e2, &e2l));
        WHAT("round %d: K3 (value 1)", round);
        EXPECT_RV(import_key(S, CKK_GENERIC_SECRET, v1, sizeof v1, CK_FALSE, NULL, &k3), CKR_OK);
        for (int j = 0; j < 2; j++) {
            tl = sizeof t;
            EXPECT_RV(tok_sign(&m, k3, msg, sizeof msg, j, t, &tl), CKR_OK);
            EXPECT(tl == e1l && memcmp(t, e1, e1l) == 0, "K3's MAC differs");
        }
        EXPECT_RV(F->C_DestroyObject(S, k3), CKR_OK);
        k3 = CK_INVALID_HANDLE;
        WHAT("round %d: K4 (value 2) after K3 went", round);
        EXPECT_RV(import_key(S, CKK_GENERIC_SECRET, v2, sizeof v2, CK_FALSE, NULL, &k4), CKR_OK);
        for (int j = 0; j < 2; j++) {
            tl = sizeof t;
            EXPECT_RV(tok_sign(&m, k4, msg, sizeof msg, j, t, &tl), CKR_OK);
            EXPECT(tl == e2l && memcmp(t, e2, e2l) == 0, "K4 gives %s MAC",
                   memcmp(t, e1, e1l) == 0 ? "K3's" : "a wrong");
        }
        EXPECT_RV(F->C_DestroyObject(S, k4), CKR_OK);
        k4 = CK_INVALID_HANDLE;
    }

    /* Same for GCM keys. */
    for (int round = 0; round < 10; round++) {
        uint8_t iv[12], ct[128], ect[128];
        size_t ctl = sizeof ct, ectl = sizeof ect;
        CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 128};
        CK_MECHANISM gm = {CKM_AES_GCM, &gp, sizeof gp};
        RAND_bytes(iv, sizeof iv);
        RAND_bytes(v1, sizeof v1);
        RAND_bytes(v2, sizeof v2);
        WHAT("round %d: GCM key replaced", round);
        EXPECT_RV(import_key(S, CKK_AES, v1, 32, CK_FALSE, NULL, &k3), CKR_OK);
        EXPECT_RV(t_crypt(S, 1, &gm, k3, msg, sizeof msg, 0, ct, &ctl), CKR_OK);
        EXPECT_RV(F->C_DestroyObject(S, k3), CKR_OK);
        k3 = CK_INVALID_HANDLE;
        EXPECT_RV(import_key(S, CKK_AES, v2, 32, CK_FALSE, NULL, &k4), CKR_OK);
        ctl = sizeof ct;
        EXPECT_RV(t_crypt(S, 1, &gm, k4, msg, sizeof msg, 0, ct, &ctl), CKR_OK);
        EXPECT(evp_aead("AES-256-GCM", 1, v2, iv, 12, NULL, 0, 16, msg, sizeof msg, ect, &ectl),
               "EVP failed");
        EXPECT(ctl == ectl && memcmp(ct, ect, ectl) == 0, "new GCM key encrypts as the old");
        EXPECT_RV(F->C_DestroyObject(S, k4), CKR_OK);
        k4 = CK_INVALID_HANDLE;
    }

    /* CKA_VALUE changed in place, if the token lets it be (then the new value must be used);
     * a label change in any case (it drops the key's cache). */
    RAND_bytes(v1, sizeof v1);
    RAND_bytes(v2, sizeof v2);
    assert_true(evp_hmac("SHA256", v1, sizeof v1, msg, sizeof msg, e1, &e1l));
    assert_true(evp_hmac("SHA256", v2, sizeof v2, msg, sizeof msg, e2, &e2l));
    WHAT("attribute changes");
    EXPECT_RV(import_key(S, CKK_GENERIC_SECRET, v1, sizeof v1, CK_FALSE, NULL, &k3), CKR_OK);
    tl = sizeof t;
    EXPECT_RV(tok_sign(&m, k3, msg, sizeof msg, 0, t, &tl), CKR_OK);
    {
        CK_ATTRIBUTE va = {CKA_VALUE, v2, sizeof v2};
        CK_RV rv = F->C_SetAttributeValue(S, k3, &va, 1);
        const uint8_t *want = rv == CKR_OK ? e2 : e1;
        CK_ATTRIBUTE la = {CKA_LABEL, "relabelled", 10};
        EXPECT_RV(F->C_SetAttributeValue(S, k3, &la, 1), CKR_OK);
        tl = sizeof t;
        EXPECT_RV(tok_sign(&m, k3, msg, sizeof msg, 0, t, &tl), CKR_OK);
        EXPECT(tl == 32 && memcmp(t, want, 32) == 0, "MAC after C_SetAttributeValue (%s) differs",
               h_rv(rv));
    }
    EXPECT_RV(F->C_DestroyObject(S, k3), CKR_OK);
    k3 = CK_INVALID_HANDLE;

    /* The key goes while an operation holds one of its contexts. */
    for (int round = 0; round < 4; round++) {
        RAND_bytes(v1, sizeof v1);
        assert_true(evp_hmac("SHA256", v1, sizeof v1, msg, sizeof msg, e1, &e1l));
        WHAT("round %d: C_DestroyObject between C_SignInit and C_Sign", round);
        EXPECT_RV(import_key(S, CKK_GENERIC_SECRET, v1, sizeof v1, CK_FALSE, NULL, &k3), CKR_OK);
        tl = sizeof t;
        if (round & 1) /* with an idle context in the pool as well */
            EXPECT_RV(tok_sign(&m, k3, msg, sizeof msg, 0, t, &tl), CKR_OK);
        EXPECT_RV(F->C_SignInit(S, &m, k3), CKR_OK);
        if (round & 2)
            EXPECT_RV(F->C_SignUpdate(S, msg, 10), CKR_OK);
        EXPECT_RV(F->C_DestroyObject(S, k3), CKR_OK);
        k3 = CK_INVALID_HANDLE;
        /* A new key (perhaps where the old was) works meanwhile. */
        EXPECT_RV(import_key(S, CKK_GENERIC_SECRET, v2, sizeof v2, CK_FALSE, NULL, &k4), CKR_OK);
        {
            CK_SESSION_HANDLE s2;
            uint8_t t2[64];
            CK_ULONG t2l = sizeof t2;
            EXPECT_RV(h_open(slot, 1, &s2), CKR_OK);
            CK_RV r2 = t_mac(s2, CKM_SHA256_HMAC, 0, k4, msg, sizeof msg, 0, t2, &t2l);
            F->C_CloseSession(s2);
            EXPECT_RV(r2, CKR_OK);
            EXPECT(t2l == e2l && memcmp(t2, e2, e2l) == 0, "new key's MAC differs");
        }
        tl = sizeof t;
        CK_RV rv = round & 2 ? F->C_SignUpdate(S, msg + 10, sizeof msg - 10) : CKR_OK;
        if (rv == CKR_OK)
            rv = round & 2 ? F->C_SignFinal(S, t, &tl) : F->C_Sign(S, msg, sizeof msg, t, &tl);
        /* Either result is acceptable; a MAC, if any, is the old key's. */
        if (rv == CKR_OK)
            EXPECT(tl == e1l && memcmp(t, e1, e1l) == 0, "MAC of the destroyed key is wrong");
        else if (rv == CKR_BUFFER_TOO_SMALL)
            NOTE_FAIL("unexpected CKR_BUFFER_TOO_SMALL");
        EXPECT_RV(F->C_SignInit(S, &m, k4), CKR_OK); /* the operation is over either way */
        tl = sizeof t;
        EXPECT_RV(F->C_Sign(S, msg, sizeof msg, t, &tl), CKR_OK);
        EXPECT(tl == e2l && memcmp(t, e2, e2l) == 0, "MAC after the destroyed key's differs");
        EXPECT_RV(F->C_DestroyObject(S, k4), CKR_OK);
        k4 = CK_INVALID_HANDLE;
    }
    /* Same for GCM. */
    {
        uint8_t iv[12], ct[128], ect[128];
        CK_ULONG ctl = sizeof ct;
        size_t ectl = sizeof ect;
        CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 128};
        CK_MECHANISM gm = {CKM_AES_GCM, &gp, sizeof gp};
        RAND_bytes(iv, sizeof iv);
        RAND_bytes(v1, sizeof v1);
        WHAT("C_DestroyObject between C_EncryptInit and C_Encrypt (GCM)");
        EXPECT_RV(import_key(S, CKK_AES, v1, 32, CK_FALSE, NULL, &k3), CKR_OK);
        size_t dummy = sizeof ct;
        EXPECT_RV(t_crypt(S, 1, &gm, k3, msg, sizeof msg, 0, ct, &dummy), CKR_OK);
        EXPECT_RV(F->C_EncryptInit(S, &gm, k3), CKR_OK);
        EXPECT_RV(F->C_DestroyObject(S, k3), CKR_OK);
        k3 = CK_INVALID_HANDLE;
        CK_RV rv = F->C_Encrypt(S, msg, sizeof msg, ct, &ctl);
        EXPECT(evp_aead("AES-256-GCM", 1, v1, iv, 12, NULL, 0, 16, msg, sizeof msg, ect, &ectl),
               "EVP failed");
        if (rv == CKR_OK)
            EXPECT(ctl == ectl && memcmp(ct, ect, ectl) == 0, "GCM of the destroyed key wrong");
    }

    /* A copy has its own contexts; the original going does not disturb it. */
    {
        CK_OBJECT_HANDLE cp = CK_INVALID_HANDLE;
        RAND_bytes(v1, sizeof v1);
        assert_true(evp_hmac("SHA256", v1, sizeof v1, msg, sizeof msg, e1, &e1l));
        WHAT("C_CopyObject of a key in use");
        EXPECT_RV(import_key(S, CKK_GENERIC_SECRET, v1, sizeof v1, CK_FALSE, NULL, &k3), CKR_OK);
        tl = sizeof t;
        EXPECT_RV(tok_sign(&m, k3, msg, sizeof msg, 0, t, &tl), CKR_OK);
        EXPECT_RV(F->C_CopyObject(S, k3, NULL, 0, &cp), CKR_OK);
        k4 = cp;
        EXPECT_RV(F->C_SignInit(S, &m, k3), CKR_OK); /* the original's context is out */
        EXPECT_RV(F->C_DestroyObject(S, k3), CKR_OK);
        k3 = CK_INVALID_HANDLE;
        tl = sizeof t;
        CK_RV rv = F->C_Sign(S, msg, sizeof msg, t, &tl);
        if (rv == CKR_OK)
            EXPECT(tl == e1l && memcmp(t, e1, e1l) == 0, "MAC of the destroyed original");
        for (int j = 0; j < 2; j++) {
            tl = sizeof t;
            EXPECT_RV(tok_sign(&m, cp, msg, sizeof msg, j, t, &tl), CKR_OK);
            EXPECT(tl == e1l && memcmp(t, e1, e1l) == 0, "the copy's MAC differs");
        }
        EXPECT_RV(F->C_DestroyObject(S, cp), CKR_OK);
        k4 = CK_INVALID_HANDLE;
    }

    /* A session key goes with the session that made it, while another session's operation holds
     * one of its contexts. */
    {
        CK_SESSION_HANDLE s2 = CK_INVALID_HANDLE;
        RAND_bytes(v1, sizeof v1);
        assert_true(evp_hmac("SHA256", v1, sizeof v1, msg, sizeof msg, e1, &e1l));
        WHAT("owner session closed while another session MACs with its key");
        EXPECT_RV(h_open(slot, 1, &s2), CKR_OK);
        CK_RV rv = import_key(s2, CKK_GENERIC_SECRET, v1, sizeof v1, CK_FALSE, NULL, &k3);
        if (rv == CKR_OK) {
            uint8_t t2[64];
            CK_ULONG t2l = sizeof t2;
            rv = t_mac(s2, CKM_SHA256_HMAC, 0, k3, msg, sizeof msg, 0, t2, &t2l);
            if (rv == CKR_OK && (t2l != e1l || memcmp(t2, e1, e1l)))
                rv = CKR_GENERAL_ERROR;
        }
        if (rv == CKR_OK)
            rv = F->C_SignInit(S, &m, k3);
        if (rv == CKR_OK)
            rv = F->C_SignUpdate(S, msg, 20);
        F->C_CloseSession(s2);
        EXPECT_RV(rv, CKR_OK);
        k3 = CK_INVALID_HANDLE; /* gone with s2 */
        rv = F->C_SignUpdate(S, msg + 20, sizeof msg - 20);
        tl = sizeof t;
        if (rv == CKR_OK)
            rv = F->C_SignFinal(S, t, &tl);
        if (rv == CKR_OK)
            EXPECT(tl == e1l && memcmp(t, e1, e1l) == 0, "MAC of the key gone with s2");
    }

    /* A token key across logout and login: the cache is dropped both times, and an operation
     * started before the logout holds a context of an object that goes (private) meanwhile. */
    {
        static const char label[] = "ctx-reuse-token-key";
        CK_ATTRIBUTE lt = {CKA_LABEL, (void *)label, sizeof label - 1};
        CK_ULONG n = 0;
        RAND_bytes(v1, sizeof v1);
        assert_true(evp_hmac("SHA256", v1, sizeof v1, msg, sizeof msg, e1, &e1l));
        WHAT("token key across logout/login");
        EXPECT_RV(import_key(S, CKK_GENERIC_SECRET, v1, sizeof v1, CK_TRUE, label, &tk), CKR_OK);
        tl = sizeof t;
        EXPECT_RV(tok_sign(&m, tk, msg, sizeof msg, 0, t, &tl), CKR_OK);
        EXPECT(tl == e1l && memcmp(t, e1, e1l) == 0, "token key's MAC differs");
        EXPECT_RV(F->C_SignInit(S, &m, tk), CKR_OK);
        EXPECT_RV(F->C_Logout(S), CKR_OK);
        tl = sizeof t;
        CK_RV rv = F->C_Sign(S, msg, sizeof msg, t, &tl);
        if (rv == CKR_OK)
            EXPECT(tl == e1l && memcmp(t, e1, e1l) == 0, "MAC after logout is wrong");
        EXPECT_RV(F->C_Login(S, CKU_USER, H_PIN(H_USER_PIN)), CKR_OK);
        if (rv == CKR_USER_NOT_LOGGED_IN) {
            /* the operation may have stayed: finish it now */
            tl = sizeof t;
            rv = F->C_Sign(S, msg, sizeof msg, t, &tl);
            if (rv == CKR_OK)
                EXPECT(tl == e1l && memcmp(t, e1, e1l) == 0, "MAC after relogin is wrong");
        }
        EXPECT_RV(h_find(S, &lt, 1, &tk, 1, &n), CKR_OK);
        EXPECT(n == 1, "token key found %lu times", (unsigned long)n);
        for (int j = 0; j < 3; j++) {
            tl = sizeof t;
            EXPECT_RV(tok_sign(&m, tk, msg, sizeof msg, j & 1, t, &tl), CKR_OK);
            EXPECT(tl == e1l && memcmp(t, e1, e1l) == 0, "token key's MAC after relogin");
        }
        EXPECT_RV(F->C_DestroyObject(S, tk), CKR_OK);
        tk = CK_INVALID_HANDLE;
    }
out:
    g_what = "";
    if (k3 != CK_INVALID_HANDLE)
        F->C_DestroyObject(S, k3);
    if (k4 != CK_INVALID_HANDLE)
        F->C_DestroyObject(S, k4);
    if (tk != CK_INVALID_HANDLE)
        F->C_DestroyObject(S, tk);
    assert_int_equal(g_fail, 0);
}

/* ---- threads -------------------------------------------------------------------------------- */

static CK_OBJECT_HANDLE g_taes, g_tmac;
static uint8_t g_taesv[32], g_tmacv[48];
static atomic_int g_terr, g_tops;

#define TFAIL(...)                                                                                 \
    do {                                                                                           \
        if (atomic_fetch_add(&g_terr, 1) < 5)                                                      \
            fprintf(stderr, __VA_ARGS__);                                                          \
        goto next;                                                                                 \
    } while (0)

static void *hammer(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    CK_SESSION_HANDLE s;
    if (h_open(slot, 0, &s) != CKR_OK) {
        atomic_fetch_add(&g_terr, 1);
        return NULL;
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint32_t n = 0;; n++) {
        uint8_t msg[300], aad[24], iv[12], ct[BUF], ect[BUF], pt[BUF], mac[64], emac[64];
        size_t ml = n % 300, aadl = n % 25 ? n % 24 : 0, tagl = n & 1 ? 12 : 16;
        size_t ctl = sizeof ct, ectl = sizeof ect, ptl = sizeof pt, emacl;
        CK_ULONG macl = sizeof mac;
        CK_RV rv;
        RAND_bytes(msg, sizeof msg);
        RAND_bytes(aad, sizeof aad);
        RAND_bytes(iv, sizeof iv);
        iv[0] = (uint8_t)id;
        CK_GCM_PARAMS gp = {iv, 12, 96, aadl ? aad : NULL, aadl, tagl * 8};
        CK_MECHANISM gm = {CKM_AES_GCM, &gp, sizeof gp};
        if (!evp_aead("AES-256-GCM", 1, g_taesv, iv, 12, aad, aadl, tagl, msg, ml, ect, &ectl))
            TFAIL("thread %u: EVP GCM failed\n", id);
        if ((rv = t_crypt(s, 1, &gm, g_taes, msg, ml, n % 3 ? 0 : 32, ct, &ctl)) != CKR_OK)
            TFAIL("thread %u #%u: GCM encrypt: %s\n", id, n, h_rv(rv));
        if (ctl != ectl || memcmp(ct, ect, ectl))
            TFAIL("thread %u #%u: GCM ciphertext differs from EVP's\n", id, n);
        if ((rv = t_crypt(s, 0, &gm, g_taes, ect, ectl, n % 4 ? 0 : 50, pt, &ptl)) != CKR_OK)
            TFAIL("thread %u #%u: GCM decrypt: %s\n", id, n, h_rv(rv));
        if (ptl != ml || memcmp(pt, msg, ml))
            TFAIL("thread %u #%u: GCM decrypts to other bytes\n", id, n);
        if ((rv = t_mac(s, CKM_SHA256_HMAC, 0, g_tmac, msg, ml, n & 1, mac, &macl)) != CKR_OK)
            TFAIL("thread %u #%u: HMAC: %s\n", id, n, h_rv(rv));
        if (!evp_hmac("SHA256", g_tmacv, sizeof g_tmacv, msg, ml, emac, &emacl))
            TFAIL("thread %u: EVP HMAC failed\n", id);
        if (macl != emacl || memcmp(mac, emac, emacl))
            TFAIL("thread %u #%u: HMAC differs from EVP's\n", id, n);
        atomic_fetch_add(&g_tops, 1);
    next:
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) > 500000000L ||
            atomic_load(&g_terr) > 0)
            break;
    }
    F->C_CloseSession(s);
    return NULL;
}

/* Two sessions on two threads, GCM and HMAC on the same two keys for half a second, while this
 * thread relabels the keys (each C_SetAttributeValue frees their cache, with items out). */
static void test_threads_hammer(void **state)
{
    (void)state;
    RAND_bytes(g_taesv, sizeof g_taesv);
    RAND_bytes(g_tmacv, sizeof g_tmacv);
    assert_ok(import_key(S, CKK_AES, g_taesv, sizeof g_taesv, CK_FALSE, NULL, &g_taes));
    assert_ok(import_key(S, CKK_GENERIC_SECRET, g_tmacv, sizeof g_tmacv, CK_FALSE, NULL, &g_tmac));
    atomic_store(&g_terr, 0);
    atomic_store(&g_tops, 0);
    pthread_t t[2];
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)(i + 1)), 0);
    int relabels = 0, relabel_err = 0;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        char l[32];
        int ll = snprintf(l, sizeof l, "relabel-%d", relabels);
        CK_ATTRIBUTE la = {CKA_LABEL, l, (CK_ULONG)ll};
        if (F->C_SetAttributeValue(S, relabels & 1 ? g_tmac : g_taes, &la, 1) != CKR_OK)
            relabel_err++;
        relabels++;
        struct timespec nap = {0, 2 * 1000 * 1000};
        nanosleep(&nap, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) < 450000000L);
    for (unsigned i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    F->C_DestroyObject(S, g_taes);
    F->C_DestroyObject(S, g_tmac);
    assert_int_equal(relabel_err, 0);
    assert_int_equal(atomic_load(&g_terr), 0);
    assert_true(atomic_load(&g_tops) > 10);
}

int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_interleaved),
        cmocka_unit_test(test_hmac_abandoned),
        cmocka_unit_test(test_gcm_reuse_aes256),
        cmocka_unit_test(test_gcm_reuse_aes128),
        cmocka_unit_test(test_chacha_reuse),
        cmocka_unit_test(test_object_change),
        cmocka_unit_test(test_threads_hammer),
    };
    return cmocka_run_group_tests(tests, iu_grp_setup, iu_grp_teardown);
}
