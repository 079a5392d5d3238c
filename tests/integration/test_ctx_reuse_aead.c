/* Reuse of prepared libcrypto contexts through the PKCS#11 API (src/mech/pool.c and its users
 * aes_aead.c, chacha.c, hmac.c): AEAD contexts (AES-GCM, ChaCha20-Poly1305) with other AES
 * modes between the pooled operations, and two sessions on threads sharing keys. The HMAC and
 * object-change cases are in test_ctx_reuse.c. Every output is compared with plain libcrypto
 * EVP computed in the test process from the key values the test imported.
 *
 * Which assertion catches which bug:
 * - GCM/ChaCha context reused without a new nonce, with the old direction, the old tag length,
 *   AAD or held ciphertext of a previous message: test_gcm_reuse_* / test_chacha_reuse compares
 *   (alternating directions, tag lengths, AAD lengths, multi-part decrypts, a failed tag check
 *   then a good decrypt and encrypt, sessions closed mid-operation).
 * - the 16-byte-IV (unpooled) path or other AES modes disturbing the pooled one:
 *   test_gcm_reuse_* 16-byte IV, CBC_PAD and CTR cases between GCM ones.
 * - use after free / double free / leak when a key's cache goes while operations hold its
 *   contexts: test_threads_hammer (labels changed meanwhile, which frees the key's cache while
 *   items are out), caught by ASan/LSan.
 * - races between sessions on one key (one item in two hands): test_threads_hammer compares. */
#include "ctx_reuse_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define BUF 1200

/* ---- EVP (other AES modes) ------------------------------------------------------------------ */

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
        cmocka_unit_test(test_gcm_reuse_aes256),
        cmocka_unit_test(test_gcm_reuse_aes128),
        cmocka_unit_test(test_chacha_reuse),
        cmocka_unit_test(test_threads_hammer),
    };
    return cmocka_run_group_tests(tests, iu_grp_setup, iu_grp_teardown);
}
