/* Fuzz target: mechanism parameter parsing in every family (the families in src/mech), then one
 * operation with fuzzed data, plus generate/derive/wrap/unwrap and operation-state import.
 *
 * Keys are made once at start-up by the families themselves: AES-256, a generic secret, an
 * HMAC-SHA256 key, ChaCha20, HKDF, RSA-2048, EC P-256, Ed25519 and X25519 (public and
 * private halves). Input:
 *   mech u32 (a type; one not in the table picks by position), action u8, key u8 (0xff-range: the key of the
 *   mechanism's own type; else any key of the pool), parameter (see build_param), then the
 *   action's data (see each action).
 * Parameters are built by fuzz_mech.h. */
#include "fuzz_mech.h"

#include <stddef.h>

#include "base/mem.h"
#include "base/ossl.h"
#include "mech/mech.h"
#include "object/attr.h"
#include "object/template.h"

/* ---- the key pool ----------------------------------------------------------------------- */

enum { K_AES, K_GENERIC, K_HMAC, K_CHACHA, K_HKDF, K_RSA_PUB, K_RSA_PRIV, K_EC_PUB, K_EC_PRIV,
       K_ED_PUB, K_ED_PRIV, K_X_PUB, K_X_PRIV, K_COUNT };
static attrs_t g_key[K_COUNT];
static void *g_cache[K_COUNT];
static bool g_verbose;

static const uint8_t OID_P256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t OID_ED25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t OID_X25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x6e };

static void die(const char *what, CK_RV rv)
{
    fprintf(stderr, "fuzz_mech_params: cannot make the %s key (0x%lx)\n", what, (unsigned long)rv);
    abort();
}

static void head(attrs_t *a, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
    attrs_init(a);
    if (attrs_set_ulong(a, CKA_CLASS, cls) || attrs_set_ulong(a, CKA_KEY_TYPE, kt))
        abort();
}

static void make_secret(int k, CK_MECHANISM_TYPE gen, CK_KEY_TYPE kt, CK_ULONG len)
{
    const struct mech_def *d = mech_find(gen);
    if (!d)
        die("secret (no generator)", 0);
    CK_MECHANISM m = { gen, NULL, 0 };
    head(&g_key[k], CKO_SECRET_KEY, kt);
    attrs_set_ulong(&g_key[k], CKA_VALUE_LEN, len);
    CK_RV rv = d->family->generate(d, &m, &g_key[k]);
    if (rv != CKR_OK)
        die("secret", rv);
}

static void make_pair(int kpub, CK_MECHANISM_TYPE gen, CK_KEY_TYPE kt, const uint8_t *oid,
                      size_t oidlen)
{
    const struct mech_def *d = mech_find(gen);
    if (!d)
        die("pair (no generator)", 0);
    CK_MECHANISM m = { gen, NULL, 0 };
    head(&g_key[kpub], CKO_PUBLIC_KEY, kt);
    head(&g_key[kpub + 1], CKO_PRIVATE_KEY, kt);
    if (oid)
        attrs_set(&g_key[kpub], CKA_EC_PARAMS, oid, oidlen, false);
    else
        attrs_set_ulong(&g_key[kpub], CKA_MODULUS_BITS, 2048);
    CK_RV rv = d->family->generate_pair(d, &m, &g_key[kpub], &g_key[kpub + 1]);
    if (rv != CKR_OK)
        die("key pair", rv);
}

/* The key a mechanism of this type normally takes for function fn. */
static int natural_key(const struct mech_def *d, CK_FLAGS fn)
{
    bool pub = fn & (CKF_ENCRYPT | CKF_VERIFY | CKF_VERIFY_RECOVER | CKF_WRAP);
    switch (d->key_type) {
    case CKK_AES: return K_AES;
    case CKK_CHACHA20: return K_CHACHA;
    case CKK_HKDF: return K_HKDF;
    case CKK_RSA: return pub ? K_RSA_PUB : K_RSA_PRIV;
    case CKK_EC: return pub ? K_EC_PUB : K_EC_PRIV;
    case CKK_EC_EDWARDS: return pub ? K_ED_PUB : K_ED_PRIV;
    case CKK_EC_MONTGOMERY: return pub ? K_X_PUB : K_X_PRIV;
    case CKK_GENERIC_SECRET: return K_GENERIC;
    default:
        if (d->type == CKM_ECDH1_DERIVE || d->type == CKM_ECDH1_COFACTOR_DERIVE)
            return K_EC_PRIV;
        return K_HMAC;
    }
}

/* ---- one operation ----------------------------------------------------------------------- */

/* An output buffer: NULL (length query) or exactly *len bytes. */
static uint8_t *rd_out(struct rd *r, struct arena *ar, CK_ULONG *len)
{
    uint8_t m = rd_u8(r);
    if (m < 0x20) {
        *len = m & 1 ? 0 : (CK_ULONG)rd_u8(r) << 12;
        return NULL;
    }
    size_t n = m < 0xc0 ? rd_u16(r) % 1100 : (size_t)(m - 0xc0);
    *len = n;
    return arena_alloc(ar, n);
}

static const uint8_t *rd_data(struct rd *r, struct arena *ar, size_t *len)
{
    size_t n = rd_u16(r) % 1200;
    uint8_t *p = arena_alloc(ar, n);
    rd_bytes(r, p, n);
    *len = n;
    return p;
}

/* After a length query, a second call with a buffer of exactly the length given. */
static CK_RV with_retry(CK_RV rv, struct arena *ar, uint8_t **out, CK_ULONG *outlen)
{
    if ((rv == MECH_LENGTH_ONLY || rv == CKR_BUFFER_TOO_SMALL) && *outlen <= (1u << 20)) {
        *out = arena_alloc(ar, *outlen);
        return CKR_OK; /* caller calls again */
    }
    return rv;
}

static void crypt_op(const struct mech_def *d, CK_FLAGS fn, const CK_MECHANISM *m,
                     const struct mech_key *key, struct rd *r, struct arena *ar)
{
    const struct mech_family *f = d->family;
    struct mech_ctx *c = NULL;
    if (!f->init)
        return;
    CK_RV rv = f->init(d, fn, m, key, &c);
    if (g_verbose)
        fprintf(stderr, "init 0x%lx fn 0x%lx: 0x%lx\n", (unsigned long)d->type,
                (unsigned long)fn, (unsigned long)rv);
    if (rv != CKR_OK)
        return;
    uint8_t how = rd_u8(r);
    size_t inlen;
    const uint8_t *in = rd_data(r, ar, &inlen);
    if (fn == CKF_VERIFY) {
        size_t siglen;
        const uint8_t *sig = rd_data(r, ar, &siglen);
        if ((how & 1) && f->update && f->verify_final) {
            rv = f->update(c, in, inlen, NULL, NULL);
            if (rv == CKR_OK)
                rv = f->update(c, in, inlen / 2, NULL, NULL);
            if (rv == CKR_OK)
                rv = f->verify_final(c, sig, siglen);
        } else if (f->verify_oneshot) {
            rv = f->verify_oneshot(c, in, inlen, sig, siglen);
        }
    } else if ((how & 1) && f->update && f->final) {
        /* Multi-part: a few updates, a state export/import if offered, then final. */
        int parts = 1 + (how >> 1) % 3;
        size_t off = 0;
        for (int i = 0; i < parts && rv == CKR_OK; i++) {
            size_t n = i == parts - 1 ? inlen - off : (inlen - off) / 2;
            if (fn == CKF_DIGEST || fn == CKF_SIGN) {
                rv = f->update(c, in + off, n, NULL, NULL);
            } else {
                CK_ULONG olen;
                uint8_t *out = rd_out(r, ar, &olen);
                rv = f->update(c, in + off, n, out, &olen);
                if (with_retry(rv, ar, &out, &olen) == CKR_OK && rv != CKR_OK)
                    rv = f->update(c, in + off, n, out, &olen);
            }
            off += n;
        }
        if (rv == CKR_OK && (how & 0x40) && f->get_state) {
            CK_ULONG slen;
            uint8_t *st = rd_out(r, ar, &slen);
            CK_RV srv = f->get_state(c, st, &slen);
            if (with_retry(srv, ar, &st, &slen) == CKR_OK && srv != CKR_OK)
                srv = f->get_state(c, st, &slen);
            if (srv == CKR_OK && f->set_state) {
                struct mech_ctx *c2 = NULL;
                if (f->set_state(d, st, slen, &c2) == CKR_OK && c2)
                    c2->def->family->free(c2);
            }
        }
        if (rv == CKR_OK) {
            CK_ULONG olen;
            uint8_t *out = rd_out(r, ar, &olen);
            rv = f->final(c, out, &olen);
            if (with_retry(rv, ar, &out, &olen) == CKR_OK && rv != CKR_OK)
                rv = f->final(c, out, &olen);
        }
    } else if (f->oneshot) {
        CK_ULONG olen;
        uint8_t *out = rd_out(r, ar, &olen);
        rv = f->oneshot(c, in, inlen, out, &olen);
        if (with_retry(rv, ar, &out, &olen) == CKR_OK && rv != CKR_OK)
            rv = f->oneshot(c, in, inlen, out, &olen);
    }
    if (fn == CKF_DIGEST && f->digest_key && (how & 0x80)) {
        struct mech_key k = { &g_key[K_GENERIC], NULL, NULL };
        (void)f->digest_key(c, &k);
    }
    f->free(c);
}

/* A template for a new key, built as the token layer would (tmpl_parse + tmpl_build). */
static bool new_key(struct rd *r, struct arena *ar, enum tmpl_op op, CK_OBJECT_CLASS cls,
                    CK_KEY_TYPE kt, attrs_t *out)
{
    CK_ATTRIBUTE *t;
    CK_ULONG n;
    rd_template(r, ar, 0, &t, &n);
    attrs_t in;
    if (tmpl_parse(t, n, &in) != CKR_OK)
        return false;
    /* Defaults only where the template is silent (HKDF_DATA makes data objects). */
    if (attrs_get(&in, CKA_CLASS))
        cls = CK_UNAVAILABLE_INFORMATION;
    if (attrs_get(&in, CKA_KEY_TYPE))
        kt = CK_UNAVAILABLE_INFORMATION;
    CK_RV rv = tmpl_build(&in, op, cls, kt, false, out);
    attrs_free(&in);
    if (rv != CKR_OK) {
        attrs_free(out);
        return false;
    }
    /* RSA generation above 1024 bits is too slow to fuzz (seconds under ASan). */
    CK_ULONG bits;
    if (attrs_ulong(out, CKA_MODULUS_BITS, &bits) && bits > 1024) {
        attrs_free(out);
        return false;
    }
    return true;
}

static void keymgmt(const struct mech_def *d, const CK_MECHANISM *m, uint8_t ksel, uint8_t which,
                    struct rd *r, struct arena *ar)
{
    const struct mech_family *f = d->family;
    CK_FLAGS avail[5];
    int n = 0;
    if ((d->flags & CKF_GENERATE) && f->generate)
        avail[n++] = CKF_GENERATE;
    if ((d->flags & CKF_GENERATE_KEY_PAIR) && f->generate_pair)
        avail[n++] = CKF_GENERATE_KEY_PAIR;
    if ((d->flags & CKF_DERIVE) && f->derive)
        avail[n++] = CKF_DERIVE;
    if ((d->flags & CKF_WRAP) && f->wrap)
        avail[n++] = CKF_WRAP;
    if ((d->flags & CKF_UNWRAP) && f->unwrap)
        avail[n++] = CKF_UNWRAP;
    if (!n)
        return;
    CK_FLAGS fn = avail[which % n];
    int keyix = ksel >= 0xf0 ? (int)(ksel % K_COUNT) : natural_key(d, fn);
    struct mech_key key = { &g_key[keyix], &g_cache[keyix], NULL };
    CK_KEY_TYPE kt = d->key_type;
    CK_RV rv = CKR_OK;
    attrs_t a, b;
    switch (fn) {
    case CKF_GENERATE:
        if (!new_key(r, ar, TMPL_GENERATE, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION, &a))
            return;
        rv = f->generate(d, m, &a);
        if (rv == CKR_OK)
            (void)tmpl_finish(&a, TMPL_GENERATE, d->type);
        attrs_free(&a);
        break;
    case CKF_GENERATE_KEY_PAIR:
        if (!new_key(r, ar, TMPL_GENERATE, CKO_PUBLIC_KEY, kt, &a))
            return;
        if (!new_key(r, ar, TMPL_GENERATE, CKO_PRIVATE_KEY, kt, &b)) {
            attrs_free(&a);
            return;
        }
        rv = f->generate_pair(d, m, &a, &b);
        attrs_free(&a);
        attrs_free(&b);
        break;
    case CKF_DERIVE:
        if (!new_key(r, ar, TMPL_DERIVE, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION, &a))
            return;
        rv = f->derive(d, m, &key, &a);
        if (rv == CKR_OK)
            (void)tmpl_finish(&a, TMPL_DERIVE, d->type);
        attrs_free(&a);
        break;
    case CKF_WRAP: {
        static const int targets[] = { K_AES, K_GENERIC, K_HMAC, K_EC_PRIV, K_ED_PRIV, K_X_PRIV,
                                       K_RSA_PRIV, K_CHACHA, K_EC_PUB };
        const attrs_t *target = &g_key[targets[rd_u8(r) % 9]];
        CK_ULONG olen;
        uint8_t *out = rd_out(r, ar, &olen);
        rv = f->wrap(d, m, &key, target, out, &olen);
        if (with_retry(rv, ar, &out, &olen) == CKR_OK && rv != CKR_OK)
            rv = f->wrap(d, m, &key, target, out, &olen);
        break;
    }
    case CKF_UNWRAP: {
        size_t inlen;
        const uint8_t *in = rd_data(r, ar, &inlen);
        if (!new_key(r, ar, TMPL_UNWRAP, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION,
                     &a))
            return;
        rv = f->unwrap(d, m, &key, in, inlen, &a);
        if (rv == CKR_OK)
            (void)tmpl_finish(&a, TMPL_UNWRAP, d->type);
        attrs_free(&a);
        break;
    }
    default:
        break;
    }
    if (g_verbose)
        fprintf(stderr, "keymgmt 0x%lx fn 0x%lx: 0x%lx\n", (unsigned long)d->type,
                (unsigned long)fn, (unsigned long)rv);
}

/* ---- libFuzzer ---------------------------------------------------------------------------- */

static void list_mechs(void)
{
    for (size_t i = 0; i < mech_count(); i++) {
        const struct mech_def *d = mech_at(i);
        printf("%zu 0x%lx 0x%lx 0x%lx %s\n", i, (unsigned long)d->type, (unsigned long)d->flags,
               (unsigned long)d->key_type, d->family->name);
    }
}

static void cleanup(void)
{
    for (int i = 0; i < K_COUNT; i++) {
        mech_cache_free(g_cache[i]);
        attrs_free(&g_key[i]);
    }
    mech_teardown();
    ossl_close();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (secmem_init() || ossl_open() || mech_setup())
        abort();
    if (getenv("FUZZ_LIST_MECHS")) {
        list_mechs();
        exit(0);
    }
    make_secret(K_AES, CKM_AES_KEY_GEN, CKK_AES, 32);
    make_secret(K_GENERIC, CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET, 32);
    make_secret(K_HMAC, CKM_GENERIC_SECRET_KEY_GEN, CKK_SHA256_HMAC, 32);
    make_secret(K_CHACHA, CKM_CHACHA20_KEY_GEN, CKK_CHACHA20, 32);
    make_secret(K_HKDF, CKM_HKDF_KEY_GEN, CKK_HKDF, 32);
    make_pair(K_RSA_PUB, CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, NULL, 0);
    make_pair(K_EC_PUB, CKM_EC_KEY_PAIR_GEN, CKK_EC, OID_P256, sizeof OID_P256);
    make_pair(K_ED_PUB, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS, OID_ED25519,
              sizeof OID_ED25519);
    make_pair(K_X_PUB, CKM_EC_MONTGOMERY_KEY_PAIR_GEN, CKK_EC_MONTGOMERY, OID_X25519,
              sizeof OID_X25519);
    const attr_t *pt = attrs_get(&g_key[K_EC_PUB], CKA_EC_POINT);
    const attr_t *xt = attrs_get(&g_key[K_X_PUB], CKA_EC_POINT);
    if (!pt || !xt)
        abort();
    g_ecdh_point[0] = pt->val;
    g_ecdh_point_len[0] = pt->len;
    g_ecdh_point[1] = xt->val;
    g_ecdh_point_len[1] = xt->len;
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct arena ar;
    struct rd r = { data, size };
    size_t count = mech_count();
    if (!count)
        return 0;
    /* The mechanism by type, or any by position when the type is not in the table. */
    CK_MECHANISM_TYPE t = rd_u32(&r);
    const struct mech_def *d = mech_find(t);
    if (!d)
        d = mech_at(t % count);
    uint8_t action = rd_u8(&r);
    uint8_t ksel = rd_u8(&r);
    CK_MECHANISM m = { d->type, NULL, 0 };
    build_param(&r, &ar, &m);

    static const CK_FLAGS fns[] = { CKF_ENCRYPT, CKF_DECRYPT, CKF_DIGEST, CKF_SIGN, CKF_VERIFY,
                                    CKF_SIGN_RECOVER, CKF_VERIFY_RECOVER };
    CK_FLAGS ops[8];
    int nops = 0;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (d->flags & fns[i])
            ops[nops++] = fns[i];
    bool mgmt = d->flags & (CKF_GENERATE | CKF_GENERATE_KEY_PAIR | CKF_DERIVE | CKF_WRAP |
                            CKF_UNWRAP);
    if (!nops || (mgmt && action >= 0x80)) {
        keymgmt(d, &m, ksel, action, &r, &ar);
    } else {
        CK_FLAGS fn = ops[action % nops];
        int k = ksel >= 0xf0 ? (int)(ksel % K_COUNT) : natural_key(d, fn);
        struct mech_key key = { &g_key[k], &g_cache[k], NULL };
        crypt_op(d, fn, &m, fn == CKF_DIGEST ? NULL : &key, &r, &ar);
    }
    arena_free(&ar);
    return 0;
}
