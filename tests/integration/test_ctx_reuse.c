/* Reuse of prepared libcrypto contexts through the PKCS#11 API (src/mech/pool.c and its users
 * hmac.c, aes_aead.c, chacha.c): HMAC contexts, and the contexts of objects that are destroyed
 * or changed. The AEAD (GCM, ChaCha20-Poly1305) and threaded cases are in
 * test_ctx_reuse_aead.c. Every output is compared with plain libcrypto EVP computed in the test
 * process from the key values the test imported.
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
 * - a context keyed with an old value used after the object was destroyed or changed:
 *   test_object_change (new key with another value gives the new MAC / ciphertext, token key
 *   after logout and login).
 * - use after free / double free / leak when an object goes while an operation holds one of its
 *   contexts: test_object_change destroy-mid-operation, C_CopyObject and owner-session-closed
 *   cases, caught by ASan/LSan. */
#include "ctx_reuse_util.h"

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

int main(void)
{
    h_load();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_interleaved),
        cmocka_unit_test(test_hmac_abandoned),
        cmocka_unit_test(test_object_change),
    };
    return cmocka_run_group_tests(tests, iu_grp_setup, iu_grp_teardown);
}
