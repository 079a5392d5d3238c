/* Fuzz target: the C_* entry points called directly (linked from craton_obj, nothing is
 * dlopened), in sequences decoded from the input, with fuzzed handles, lengths, NULL and
 * non-NULL pointers, templates and mechanisms.
 *
 * Once per process: a token directory under /dev/shm (or /tmp), a config with
 * pbkdf2_iterations = 1000 and audit off, C_Initialize, one token with a user PIN, and a set of
 * public, non-destroyable token keys (AES, generic secret, RSA-2048, P-256, Ed25519, X25519)
 * and a data object. Per input:
 *   byte 0: >= 0xe0 logs the user in at the start (PBKDF2: kept rare);
 *   then calls, each an opcode byte and its arguments (see run_call), at most MAX_CALLS.
 * At the end every session is closed and the token objects the input made are destroyed.
 * Every pointer handed to the library points at exactly as much memory as the length claimed;
 * templates may carry absurd lengths, which the library must refuse (template.h's limits). */
#include "fuzz_mech.h"


#define MAX_CALLS 48
#define MAX_SESS 8
#define MAX_OBJS 64
#define USER_PIN "123456"
#define SO_PIN "87654321"

static CK_SLOT_ID g_slot;
static char g_dir[256];
static CK_MECHANISM_TYPE g_mechs[256];
static CK_ULONG g_nmechs;
static bool g_verbose;

enum { B_AES, B_GENERIC, B_RSA_PUB, B_RSA_PRIV, B_EC_PUB, B_EC_PRIV, B_ED_PUB, B_ED_PRIV,
       B_X_PUB, B_X_PRIV, B_DATA, B_COUNT };
static CK_OBJECT_HANDLE g_base[B_COUNT];
static uint8_t g_points[2][128];

/* Per input. */
static CK_SESSION_HANDLE g_sess[MAX_SESS];
static size_t g_nsess;
static CK_OBJECT_HANDLE g_made[MAX_OBJS];
static size_t g_nmade;

#define CHECK(call)                                                                        \
    do {                                                                                   \
        CK_RV rv_ = (call);                                                                \
        if (rv_ != CKR_OK) {                                                               \
            fprintf(stderr, "fuzz_api setup: %s = 0x%lx\n", #call, (unsigned long)rv_);    \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* ---- setup --------------------------------------------------------------------------------- */

static CK_BBOOL T = CK_TRUE, F = CK_FALSE;

static void make_base(void)
{
    CK_SESSION_HANDLE h;
    CHECK(C_OpenSession(g_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h));
    CHECK(C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, 6));
    CK_ULONG len32 = 32, bits = 2048;
    CK_ATTRIBUTE sec[] = {
        { CKA_TOKEN, &T, 1 }, { CKA_PRIVATE, &F, 1 }, { CKA_DESTROYABLE, &F, 1 },
        { CKA_SENSITIVE, &F, 1 }, { CKA_EXTRACTABLE, &T, 1 }, { CKA_ENCRYPT, &T, 1 },
        { CKA_DECRYPT, &T, 1 }, { CKA_WRAP, &T, 1 }, { CKA_UNWRAP, &T, 1 }, { CKA_SIGN, &T, 1 },
        { CKA_VERIFY, &T, 1 }, { CKA_DERIVE, &T, 1 }, { CKA_VALUE_LEN, &len32, sizeof len32 },
    };
    CK_MECHANISM aes = { CKM_AES_KEY_GEN, NULL, 0 }, gen = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
    CHECK(C_GenerateKey(h, &aes, sec, 13, &g_base[B_AES]));
    CHECK(C_GenerateKey(h, &gen, sec, 13, &g_base[B_GENERIC]));
    CK_ATTRIBUTE pub[] = {
        { CKA_TOKEN, &T, 1 }, { CKA_PRIVATE, &F, 1 }, { CKA_DESTROYABLE, &F, 1 },
        { CKA_VERIFY, &T, 1 }, { CKA_ENCRYPT, &T, 1 }, { CKA_WRAP, &T, 1 },
        { CKA_MODULUS_BITS, &bits, sizeof bits }, /* or CKA_EC_PARAMS */
    };
    CK_ATTRIBUTE priv[] = {
        { CKA_TOKEN, &T, 1 }, { CKA_PRIVATE, &F, 1 }, { CKA_DESTROYABLE, &F, 1 },
        { CKA_SENSITIVE, &F, 1 }, { CKA_EXTRACTABLE, &T, 1 }, { CKA_SIGN, &T, 1 },
        { CKA_DECRYPT, &T, 1 }, { CKA_UNWRAP, &T, 1 }, { CKA_DERIVE, &T, 1 },
    };
    static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
    static const uint8_t ed[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
    static const uint8_t x[] = { 0x06, 0x03, 0x2b, 0x65, 0x6e };
    CK_MECHANISM rsa = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CHECK(C_GenerateKeyPair(h, &rsa, pub, 7, priv, 9, &g_base[B_RSA_PUB], &g_base[B_RSA_PRIV]));
    const struct { CK_MECHANISM_TYPE m; const uint8_t *oid; size_t len; int ix; } ec[] = {
        { CKM_EC_KEY_PAIR_GEN, p256, sizeof p256, B_EC_PUB },
        { CKM_EC_EDWARDS_KEY_PAIR_GEN, ed, sizeof ed, B_ED_PUB },
        { CKM_EC_MONTGOMERY_KEY_PAIR_GEN, x, sizeof x, B_X_PUB },
    };
    for (size_t i = 0; i < 3; i++) {
        CK_MECHANISM m = { ec[i].m, NULL, 0 };
        pub[6] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)ec[i].oid, ec[i].len };
        /* Montgomery keys neither sign nor verify. */
        CK_ULONG np = ec[i].ix == B_X_PUB ? 3 : 7, nv = ec[i].ix == B_X_PUB ? 4 : 9;
        CK_ATTRIBUTE xpub[] = { pub[0], pub[1], pub[2], pub[6] };
        CK_ATTRIBUTE xpriv[] = { priv[0], priv[1], priv[2], priv[8] };
        if (ec[i].ix == B_X_PUB)
            CHECK(C_GenerateKeyPair(h, &m, xpub, np + 1, xpriv, nv, &g_base[ec[i].ix],
                                    &g_base[ec[i].ix + 1]));
        else
            CHECK(C_GenerateKeyPair(h, &m, pub, np, priv, nv, &g_base[ec[i].ix],
                                    &g_base[ec[i].ix + 1]));
    }
    CK_OBJECT_CLASS dc = CKO_DATA;
    CK_ATTRIBUTE data[] = { { CKA_CLASS, &dc, sizeof dc }, { CKA_TOKEN, &T, 1 },
                            { CKA_DESTROYABLE, &F, 1 }, { CKA_VALUE, "value", 5 },
                            { CKA_LABEL, "data", 4 } };
    CHECK(C_CreateObject(h, data, 5, &g_base[B_DATA]));
    /* Public points for ECDH parameters. */
    for (int i = 0; i < 2; i++) {
        CK_ATTRIBUTE a = { CKA_EC_POINT, g_points[i], sizeof g_points[i] };
        CHECK(C_GetAttributeValue(h, g_base[i ? B_X_PUB : B_EC_PUB], &a, 1));
        g_ecdh_point[i] = g_points[i];
        g_ecdh_point_len[i] = a.ulValueLen;
    }
    CHECK(C_CloseSession(h));
}

/* With too many leftover token objects (a fuzzed template made one undestroyable), start the
 * token again. Rare: costs PBKDF2 and an RSA key generation. */
static void reinit_token(void)
{
    CK_UTF8CHAR label[32];
    memset(label, ' ', 32);
    memcpy(label, "fuzz", 4);
    CHECK(C_CloseAllSessions(g_slot));
    CHECK(C_InitToken(g_slot, (CK_UTF8CHAR_PTR)SO_PIN, 8, label));
    CK_SESSION_HANDLE h;
    CHECK(C_OpenSession(g_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h));
    CHECK(C_Login(h, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, 8));
    CHECK(C_InitPIN(h, (CK_UTF8CHAR_PTR)USER_PIN, 6));
    CHECK(C_CloseSession(h));
    make_base();
}

static void cleanup(void)
{
    C_Finalize(NULL);
    nftw(g_dir, fz_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_verbose = getenv("FUZZ_VERBOSE") != NULL;
    fuzz_tmpdir("api", g_dir, sizeof g_dir);
    char path[512], tokens[512];
    snprintf(path, sizeof path, "%s/craton.conf", g_dir);
    snprintf(tokens, sizeof tokens, "%s/tokens", g_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fprintf(f, "[pin]\npbkdf2_iterations = 1000\nmax_failures = 1000\nmin_length = 4\n"
               "max_length = 64\n[log]\nlevel = none\n[audit]\nenabled = false\n");
    fclose(f);
    setenv("CRATON_CONFIG", path, 1);
    setenv("CRATON_TOKEN_DIR", tokens, 1);
    unsetenv("CRATON_LOG");
    CHECK(C_Initialize(NULL));
    atexit(cleanup);
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    CHECK(C_GetSlotList(CK_FALSE, slots, &n));
    if (!n)
        abort();
    g_slot = slots[n - 1]; /* the free slot is listed last */
    CK_UTF8CHAR label[32];
    memset(label, ' ', 32);
    memcpy(label, "fuzz", 4);
    CHECK(C_InitToken(g_slot, (CK_UTF8CHAR_PTR)SO_PIN, 8, label));
    CK_SESSION_HANDLE h;
    CHECK(C_OpenSession(g_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h));
    CHECK(C_Login(h, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, 8));
    CHECK(C_InitPIN(h, (CK_UTF8CHAR_PTR)USER_PIN, 6));
    CHECK(C_CloseSession(h));
    make_base();
    g_nmechs = sizeof g_mechs / sizeof g_mechs[0];
    CHECK(C_GetMechanismList(g_slot, g_mechs, &g_nmechs));
    return 0;
}

/* ---- argument decoding ---------------------------------------------------------------------- */

static CK_SESSION_HANDLE rd_session(struct rd *r)
{
    uint8_t s = rd_u8(r);
    if (s < 0xf0 && g_nsess)
        return g_sess[s % g_nsess];
    switch (s & 3) {
    case 0: return CK_INVALID_HANDLE;
    case 1: return rd_u32(r);
    case 2: return g_nsess ? g_sess[0] + 1 : 1;
    default: return ~(CK_SESSION_HANDLE)0;
    }
}

static CK_OBJECT_HANDLE rd_object(struct rd *r)
{
    uint8_t s = rd_u8(r);
    if (s < 0xc0)
        return g_base[s % B_COUNT];
    if (s < 0xf0 && g_nmade)
        return g_made[s % g_nmade];
    switch (s & 3) {
    case 0: return CK_INVALID_HANDLE;
    case 1: return rd_u32(r);
    case 2: return g_base[0] + 1;
    default: return ~(CK_OBJECT_HANDLE)0;
    }
}

static CK_SLOT_ID rd_slot(struct rd *r)
{
    uint8_t s = rd_u8(r);
    if (s < 0xe0)
        return g_slot;
    return s < 0xf0 ? (CK_SLOT_ID)(s & 15) : (CK_SLOT_ID)rd_u64(r);
}

/* A CK_ULONG output the library writes to: a real one, or NULL. */
static CK_ULONG *rd_ulong_out(struct rd *r, struct arena *ar, CK_ULONG init)
{
    if (rd_u8(r) >= 0xf8)
        return NULL;
    CK_ULONG *p = arena_alloc(ar, sizeof *p);
    *p = init;
    return p;
}

/* An output buffer and its length: NULL (length query, the length fuzzed) or a buffer of
 * exactly the length claimed; or no length pointer at all. */
static void rd_outbuf(struct rd *r, struct arena *ar, CK_BYTE_PTR *out, CK_ULONG_PTR *len)
{
    uint8_t m = rd_u8(r);
    *len = arena_alloc(ar, sizeof **len);
    if (m < 0x30) {
        *out = NULL;
        **len = m & 1 ? 0 : (CK_ULONG)rd_u8(r) << (m & 0x38);
        return;
    }
    if (m >= 0xfc) {
        *out = arena_alloc(ar, 16);
        *len = NULL;
        return;
    }
    size_t n = m < 0xc0 ? rd_u16(r) % 2100 : (size_t)(m - 0xc0) * 3;
    *out = arena_alloc(ar, n);
    **len = n;
}

/* Input data: a buffer of exactly its length, or NULL with a length. */
static CK_BYTE_PTR rd_in(struct rd *r, struct arena *ar, CK_ULONG *len)
{
    uint8_t m = rd_u8(r);
    if (m >= 0xf8) {
        *len = m & 1 ? rd_u8(r) + 1 : 0;
        return NULL;
    }
    size_t n = m < 0x80 ? m : rd_u16(r) % 2100;
    CK_BYTE_PTR p = arena_alloc(ar, n);
    rd_bytes(r, p, n);
    *len = n;
    return p;
}

static CK_MECHANISM *rd_mech(struct rd *r, struct arena *ar)
{
    uint8_t s = rd_u8(r);
    if (s >= 0xfc)
        return NULL;
    CK_MECHANISM *m = arena_alloc(ar, sizeof *m);
    if (s < 0xf0 && g_nmechs)
        m->mechanism = g_mechs[rd_u8(r) % g_nmechs];
    else
        m->mechanism = s & 1 ? rd_u32(r) : CKM_VENDOR_DEFINED | rd_u8(r);
    build_param(r, ar, m);
    return m;
}

static CK_ATTRIBUTE *rd_tmpl(struct rd *r, struct arena *ar, CK_ULONG *n)
{
    CK_ATTRIBUTE *t;
    rd_template(r, ar, 0, &t, n);
    uint8_t s = rd_u8(r);
    if (s >= 0xf8) { /* NULL with a count, or a count larger than... never: only smaller */
        if (s & 1)
            t = NULL;
        else if (*n)
            *n -= 1;
    }
    return t;
}

static CK_UTF8CHAR_PTR rd_pin(struct rd *r, struct arena *ar, CK_ULONG *len, bool so)
{
    uint8_t s = rd_u8(r) % 8;
    const char *pin = so ? SO_PIN : USER_PIN;
    switch (s) {
    case 0:
    case 1:
    case 2: { /* the right PIN */
        *len = strlen(pin);
        CK_UTF8CHAR_PTR p = arena_alloc(ar, *len);
        memcpy(p, pin, *len);
        return p;
    }
    case 3: /* NULL */
        *len = rd_u8(r) & 1 ? 6 : 0;
        return NULL;
    case 4: { /* too short / too long: refused before any key derivation */
        *len = rd_u8(r) & 1 ? 2 : 300;
        CK_UTF8CHAR_PTR p = arena_alloc(ar, *len);
        memset(p, '1', *len);
        return p;
    }
    case 5:
        *len = 0;
        return arena_alloc(ar, 0);
    default: { /* the other role's PIN (right length, wrong PIN: one PBKDF2) */
        const char *o = so ? USER_PIN : SO_PIN;
        *len = strlen(o);
        CK_UTF8CHAR_PTR p = arena_alloc(ar, *len);
        memcpy(p, o, *len);
        return p;
    }
    }
}

static void track(CK_RV rv, const CK_OBJECT_HANDLE *h)
{
    if (rv == CKR_OK && h && *h && g_nmade < MAX_OBJS)
        g_made[g_nmade++] = *h;
}

/* ---- one call ------------------------------------------------------------------------------- */

typedef CK_RV (*init_fn)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE);
typedef CK_RV (*oneshot_fn)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
typedef CK_RV (*final_fn)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR);

static const init_fn g_inits[] = { C_EncryptInit, C_DecryptInit, C_SignInit, C_VerifyInit,
                                   C_SignRecoverInit, C_VerifyRecoverInit };
static const oneshot_fn g_oneshots[] = { C_Encrypt, C_Decrypt, C_Digest, C_SignRecover,
                                         C_VerifyRecover, C_EncryptUpdate, C_DecryptUpdate,
                                         C_DigestEncryptUpdate, C_DecryptDigestUpdate,
                                         C_SignEncryptUpdate, C_DecryptVerifyUpdate };
static const final_fn g_finals[] = { C_EncryptFinal, C_DecryptFinal, C_DigestFinal, C_SignFinal };

static CK_RV run_call(uint8_t op, struct rd *r, struct arena *ar)
{
    CK_RV rv = CKR_OK;
    switch (op % 40) {
    case 0: { /* C_OpenSession */
        static const CK_FLAGS fl[] = { CKF_SERIAL_SESSION | CKF_RW_SESSION, CKF_SERIAL_SESSION,
                                       CKF_RW_SESSION, 0, ~(CK_FLAGS)0 };
        CK_SLOT_ID slot = rd_slot(r);
        CK_FLAGS flags = fl[rd_u8(r) % 5];
        CK_ULONG *h = rd_ulong_out(r, ar, 0);
        rv = C_OpenSession(slot, flags, NULL, NULL, h);
        if (rv == CKR_OK && h && g_nsess < MAX_SESS)
            g_sess[g_nsess++] = *h;
        else if (rv == CKR_OK && h)
            C_CloseSession(*h);
        break;
    }
    case 1: rv = C_CloseSession(rd_session(r)); break;
    case 2: {
        CK_SESSION_INFO *si = rd_u8(r) < 0xf0 ? arena_alloc(ar, sizeof *si) : NULL;
        rv = C_GetSessionInfo(rd_session(r), si);
        break;
    }
    case 3: { /* C_Login / C_LoginUser */
        static const CK_USER_TYPE ut[] = { CKU_USER, CKU_SO, CKU_CONTEXT_SPECIFIC, 7 };
        CK_SESSION_HANDLE h = rd_session(r);
        CK_USER_TYPE u = ut[rd_u8(r) % 4];
        CK_ULONG len;
        CK_UTF8CHAR_PTR pin = rd_pin(r, ar, &len, u == CKU_SO);
        if (rd_u8(r) < 0xf0) {
            rv = C_Login(h, u, pin, len);
        } else {
            CK_ULONG ulen;
            CK_BYTE_PTR name = rd_in(r, ar, &ulen);
            rv = C_LoginUser(h, u, pin, len, name, ulen);
        }
        break;
    }
    case 4: rv = C_Logout(rd_session(r)); break;
    case 5: { /* C_CreateObject */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_ULONG n;
        CK_ATTRIBUTE *t = rd_tmpl(r, ar, &n);
        CK_ULONG *o = rd_ulong_out(r, ar, 0);
        rv = C_CreateObject(h, t, n, o);
        track(rv, o);
        break;
    }
    case 6: { /* C_CopyObject */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_OBJECT_HANDLE src = rd_object(r);
        CK_ULONG n;
        CK_ATTRIBUTE *t = rd_tmpl(r, ar, &n);
        CK_ULONG *o = rd_ulong_out(r, ar, 0);
        rv = C_CopyObject(h, src, t, n, o);
        track(rv, o);
        break;
    }
    case 7: rv = C_DestroyObject(rd_session(r), rd_object(r)); break;
    case 8: {
        CK_SESSION_HANDLE h = rd_session(r);
        CK_OBJECT_HANDLE o = rd_object(r);
        rv = C_GetObjectSize(h, o, rd_ulong_out(r, ar, 0));
        break;
    }
    case 9: { /* C_GetAttributeValue */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_OBJECT_HANDLE o = rd_object(r);
        CK_ATTRIBUTE *t;
        CK_ULONG n;
        rd_read_template(r, ar, 0, &t, &n);
        rv = C_GetAttributeValue(h, o, rd_u8(r) < 0xf8 ? t : NULL, n);
        break;
    }
    case 10: { /* C_SetAttributeValue */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_OBJECT_HANDLE o = rd_object(r);
        CK_ULONG n;
        CK_ATTRIBUTE *t = rd_tmpl(r, ar, &n);
        rv = C_SetAttributeValue(h, o, t, n);
        break;
    }
    case 11: {
        CK_SESSION_HANDLE h = rd_session(r);
        CK_ULONG n;
        CK_ATTRIBUTE *t = rd_tmpl(r, ar, &n);
        rv = C_FindObjectsInit(h, t, n);
        break;
    }
    case 12: { /* C_FindObjects */
        CK_SESSION_HANDLE h = rd_session(r);
        uint8_t m = rd_u8(r);
        CK_ULONG max = m % 20;
        CK_OBJECT_HANDLE *out = m < 0xf0 ? arena_alloc(ar, (max ? max : 1) * sizeof *out) : NULL;
        rv = C_FindObjects(h, out, out ? max : m & 7, rd_ulong_out(r, ar, 0));
        break;
    }
    case 13: rv = C_FindObjectsFinal(rd_session(r)); break;
    case 14: case 15: { /* *Init with a key */
        CK_SESSION_HANDLE h = rd_session(r);
        init_fn f = g_inits[rd_u8(r) % 6];
        CK_MECHANISM *m = rd_mech(r, ar);
        rv = f(h, m, rd_object(r));
        break;
    }
    case 16: { /* C_DigestInit */
        CK_SESSION_HANDLE h = rd_session(r);
        rv = C_DigestInit(h, rd_mech(r, ar));
        break;
    }
    case 17: case 18: case 19: { /* single-part and update calls with output */
        CK_SESSION_HANDLE h = rd_session(r);
        oneshot_fn f = g_oneshots[rd_u8(r) % 11];
        CK_ULONG inlen;
        CK_BYTE_PTR in = rd_in(r, ar, &inlen);
        CK_BYTE_PTR out;
        CK_ULONG_PTR outlen;
        rd_outbuf(r, ar, &out, &outlen);
        rv = f(h, in, inlen, out, outlen);
        /* The usual second call, with a buffer of the length given. */
        if (rv == CKR_OK && !out && outlen && *outlen <= (1u << 20) && (rd_u8(r) & 1)) {
            out = arena_alloc(ar, *outlen);
            rv = f(h, in, inlen, out, outlen);
        }
        break;
    }
    case 20: { /* C_Sign (its own signature shape) */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_ULONG inlen;
        CK_BYTE_PTR in = rd_in(r, ar, &inlen);
        CK_BYTE_PTR out;
        CK_ULONG_PTR outlen;
        rd_outbuf(r, ar, &out, &outlen);
        rv = C_Sign(h, in, inlen, out, outlen);
        break;
    }
    case 21: { /* updates without output */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_ULONG inlen;
        CK_BYTE_PTR in = rd_in(r, ar, &inlen);
        uint8_t w = rd_u8(r) % 3;
        rv = w == 0 ? C_DigestUpdate(h, in, inlen)
             : w == 1 ? C_SignUpdate(h, in, inlen) : C_VerifyUpdate(h, in, inlen);
        break;
    }
    case 22: { /* finals */
        CK_SESSION_HANDLE h = rd_session(r);
        final_fn f = g_finals[rd_u8(r) % 4];
        CK_BYTE_PTR out;
        CK_ULONG_PTR outlen;
        rd_outbuf(r, ar, &out, &outlen);
        rv = f(h, out, outlen);
        break;
    }
    case 23: { /* C_Verify / C_VerifyFinal */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_ULONG inlen, siglen;
        CK_BYTE_PTR in = rd_in(r, ar, &inlen);
        CK_BYTE_PTR sig = rd_in(r, ar, &siglen);
        rv = rd_u8(r) & 1 ? C_VerifyFinal(h, sig, siglen) : C_Verify(h, in, inlen, sig, siglen);
        break;
    }
    case 24: { /* C_GenerateKey */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_MECHANISM *m = rd_mech(r, ar);
        CK_ULONG n;
        CK_ATTRIBUTE *t = rd_tmpl(r, ar, &n);
        CK_ULONG *o = rd_ulong_out(r, ar, 0);
        rv = C_GenerateKey(h, m, t, n, o);
        track(rv, o);
        break;
    }
    case 25: { /* C_GenerateKeyPair: RSA above 1024 bits is too slow, so never RSA here */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_MECHANISM *m = rd_mech(r, ar);
        if (m && m->mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN)
            m->mechanism = CKM_EC_KEY_PAIR_GEN;
        CK_ULONG n1, n2;
        CK_ATTRIBUTE *t1 = rd_tmpl(r, ar, &n1);
        CK_ATTRIBUTE *t2 = rd_tmpl(r, ar, &n2);
        CK_ULONG *o1 = rd_ulong_out(r, ar, 0), *o2 = rd_ulong_out(r, ar, 0);
        rv = C_GenerateKeyPair(h, m, t1, n1, t2, n2, o1, o2);
        track(rv, o1);
        track(rv, o2);
        break;
    }
    case 26: { /* C_WrapKey */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_MECHANISM *m = rd_mech(r, ar);
        CK_OBJECT_HANDLE w = rd_object(r), k = rd_object(r);
        CK_BYTE_PTR out;
        CK_ULONG_PTR outlen;
        rd_outbuf(r, ar, &out, &outlen);
        rv = C_WrapKey(h, m, w, k, out, outlen);
        break;
    }
    case 27: { /* C_UnwrapKey */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_MECHANISM *m = rd_mech(r, ar);
        CK_OBJECT_HANDLE u = rd_object(r);
        CK_ULONG inlen, n;
        CK_BYTE_PTR in = rd_in(r, ar, &inlen);
        CK_ATTRIBUTE *t = rd_tmpl(r, ar, &n);
        CK_ULONG *o = rd_ulong_out(r, ar, 0);
        rv = C_UnwrapKey(h, m, u, in, inlen, t, n, o);
        track(rv, o);
        break;
    }
    case 28: { /* C_DeriveKey */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_MECHANISM *m = rd_mech(r, ar);
        CK_OBJECT_HANDLE b = rd_object(r);
        CK_ULONG n;
        CK_ATTRIBUTE *t = rd_tmpl(r, ar, &n);
        CK_ULONG *o = rd_ulong_out(r, ar, 0);
        rv = C_DeriveKey(h, m, b, t, n, o);
        track(rv, o);
        break;
    }
    case 29: { /* C_GenerateRandom / C_SeedRandom */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_ULONG len;
        CK_BYTE_PTR p = rd_in(r, ar, &len);
        rv = rd_u8(r) & 1 ? C_SeedRandom(h, p, len) : C_GenerateRandom(h, p, len);
        break;
    }
    case 30: { /* operation state: export, and import of fuzzed or exported bytes */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_BYTE_PTR out;
        CK_ULONG_PTR outlen;
        rd_outbuf(r, ar, &out, &outlen);
        rv = C_GetOperationState(h, out, outlen);
        CK_ULONG inlen;
        CK_BYTE_PTR in = rd_in(r, ar, &inlen);
        if (rv == CKR_OK && out && outlen && (rd_u8(r) & 1)) {
            in = out;
            inlen = *outlen;
            if (inlen && (rd_u8(r) & 1))
                in[rd_u8(r) % inlen] ^= 1;
        }
        rv = C_SetOperationState(rd_session(r), in, inlen, rd_object(r), rd_object(r));
        break;
    }
    case 31: rv = C_DigestKey(rd_session(r), rd_object(r)); break;
    case 32: { /* slot and token queries */
        CK_SLOT_ID slot = rd_slot(r);
        uint8_t w = rd_u8(r);
        switch (w % 5) {
        case 0: {
            CK_ULONG n = w >> 4;
            CK_SLOT_ID *list = (w & 8) ? NULL : arena_alloc(ar, (n ? n : 1) * sizeof *list);
            CK_ULONG *cnt = rd_ulong_out(r, ar, n);
            rv = C_GetSlotList(w & 4 ? CK_TRUE : CK_FALSE, list, cnt);
            break;
        }
        case 1:
            rv = C_GetSlotInfo(slot, w & 8 ? NULL : arena_alloc(ar, sizeof(CK_SLOT_INFO)));
            break;
        case 2:
            rv = C_GetTokenInfo(slot, w & 8 ? NULL : arena_alloc(ar, sizeof(CK_TOKEN_INFO)));
            break;
        case 3: {
            CK_ULONG n = rd_u8(r);
            CK_MECHANISM_TYPE *list = (w & 8) ? NULL : arena_alloc(ar, (n ? n : 1) * sizeof *list);
            CK_ULONG *cnt = rd_ulong_out(r, ar, n);
            rv = C_GetMechanismList(slot, list, cnt);
            break;
        }
        default: {
            CK_MECHANISM_TYPE t = g_nmechs && rd_u8(r) < 0xf0 ? g_mechs[rd_u8(r) % g_nmechs]
                                                             : rd_u32(r);
            rv = C_GetMechanismInfo(slot, t,
                                    w & 8 ? NULL : arena_alloc(ar, sizeof(CK_MECHANISM_INFO)));
            break;
        }
        }
        break;
    }
    case 33: { /* PIN management that leaves the PINs as they are */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_ULONG l1, l2;
        uint8_t w = rd_u8(r);
        CK_UTF8CHAR_PTR p1 = rd_pin(r, ar, &l1, w & 2);
        if (w & 1) {
            rv = C_InitPIN(h, p1, l1);
        } else {
            /* The new PIN is the old one, or one refused for its length or pointer. */
            CK_UTF8CHAR_PTR p2 = p1;
            l2 = l1;
            if (w & 4) {
                l2 = (w & 8) ? 2 : 0;
                p2 = (w & 8) ? arena_alloc(ar, 2) : NULL;
                if (p2)
                    memset(p2, '7', 2);
            }
            rv = C_SetPIN(h, p1, l1, p2, l2);
        }
        /* A C_InitPIN with the SO's PIN as the user's would change it: put it back. */
        if (rv == CKR_OK && (w & 1) && !(l1 == 6 && p1 && !memcmp(p1, USER_PIN, 6)))
            CHECK(C_InitPIN(h, (CK_UTF8CHAR_PTR)USER_PIN, 6));
        break;
    }
    case 34: {
        CK_SLOT_ID slot = rd_slot(r);
        rv = C_CloseAllSessions(slot);
        if (rv == CKR_OK && slot == g_slot)
            g_nsess = 0;
        break;
    }
    case 35: { /* general calls */
        uint8_t w = rd_u8(r);
        switch (w % 8) {
        case 0: rv = C_GetInfo(w & 8 ? NULL : arena_alloc(ar, sizeof(CK_INFO))); break;
        case 1: {
            CK_FUNCTION_LIST_PTR fl;
            rv = C_GetFunctionList(w & 8 ? NULL : &fl);
            break;
        }
        case 2: {
            CK_ULONG n = w >> 5;
            CK_INTERFACE *l = (w & 8) ? NULL : arena_alloc(ar, (n ? n : 1) * sizeof *l);
            rv = C_GetInterfaceList(l, rd_ulong_out(r, ar, n));
            break;
        }
        case 3: {
            CK_INTERFACE_PTR ip;
            CK_VERSION v = { rd_u8(r) % 4, rd_u8(r) % 50 };
            static const char *const names[] = { "PKCS 11", "Vendor", "" };
            CK_UTF8CHAR_PTR name = (w & 8) ? NULL : (CK_UTF8CHAR_PTR)names[rd_u8(r) % 3];
            rv = C_GetInterface(name, (w & 16) ? &v : NULL, (w & 32) ? NULL : &ip,
                                rd_u8(r) & 1 ? CKF_INTERFACE_FORK_SAFE : 0);
            break;
        }
        case 4: rv = C_GetFunctionStatus(rd_session(r)); break;
        case 5: rv = C_CancelFunction(rd_session(r)); break;
        case 6: {
            CK_SLOT_ID s;
            rv = C_WaitForSlotEvent(CKF_DONT_BLOCK, w & 8 ? NULL : &s, NULL);
            break;
        }
        default: {
            /* Already initialized: arguments are still checked. */
            CK_C_INITIALIZE_ARGS a = { 0 };
            a.flags = rd_u8(r) & 3;
            a.pReserved = (w & 8) ? &a : NULL;
            rv = C_Initialize(w & 16 ? NULL : &a);
            break;
        }
        }
        break;
    }
    case 36: { /* C_SessionCancel */
        CK_SESSION_HANDLE h = rd_session(r);
        rv = C_SessionCancel(h, (CK_FLAGS)rd_u32(r));
        break;
    }
    case 37: { /* message-based API (3.0): whatever is offered must check its arguments */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_MECHANISM *m = rd_mech(r, ar);
        CK_OBJECT_HANDLE k = rd_object(r);
        uint8_t w = rd_u8(r) % 4;
        rv = w == 0 ? C_MessageEncryptInit(h, m, k)
             : w == 1 ? C_MessageDecryptInit(h, m, k)
             : w == 2 ? C_MessageSignInit(h, m, k) : C_MessageVerifyInit(h, m, k);
        break;
    }
    case 38: { /* C_InitToken, only in ways that must fail before anything is wiped */
        CK_SLOT_ID slot = rd_slot(r);
        uint8_t w = rd_u8(r);
        CK_UTF8CHAR label[32];
        memset(label, 'L', 32);
        CK_ULONG len;
        CK_UTF8CHAR_PTR pin = rd_pin(r, ar, &len, true);
        if (w & 1)
            pin = NULL;
        /* With a PIN and a label it could succeed (on the free slot, or wipe ours): never
         * a real slot then. */
        if (pin && !(w & 2))
            slot = 0x7fff0000UL | (slot & 0xff);
        rv = C_InitToken(slot, pin, len, (w & 2) ? NULL : label);
        break;
    }
    default: { /* a signature check with the multi-part shape */
        CK_SESSION_HANDLE h = rd_session(r);
        CK_ULONG inlen;
        CK_BYTE_PTR in = rd_in(r, ar, &inlen);
        rv = C_VerifyUpdate(h, in, inlen);
        break;
    }
    }
    return rv;
}

/* ---- per input ------------------------------------------------------------------------------ */

static void end_input(void)
{
    /* Sessions first (session objects go with them), then the token objects made here. */
    C_CloseAllSessions(g_slot);
    g_nsess = 0;
    if (!g_nmade)
        return;
    CK_SESSION_HANDLE h;
    CHECK(C_OpenSession(g_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h));
    bool logged_in = false;
    for (size_t i = 0; i < g_nmade; i++) {
        CK_RV rv = C_DestroyObject(h, g_made[i]);
        if (rv == CKR_USER_NOT_LOGGED_IN && !logged_in) {
            CHECK(C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, 6));
            logged_in = true;
            C_DestroyObject(h, g_made[i]);
        }
    }
    g_nmade = 0;
    /* Leftovers (made undestroyable by a fuzzed template): start over when there are many. */
    CK_ULONG count = 0;
    CK_OBJECT_HANDLE found[512];
    CHECK(C_FindObjectsInit(h, NULL, 0));
    CHECK(C_FindObjects(h, found, 512, &count));
    C_FindObjectsFinal(h);
    C_CloseSession(h);
    if (count > 300)
        reinit_token();
    /* The base objects must still be there (a fuzzed template may have made one destroyable
     * and destroyed it). */
    CHECK(C_OpenSession(g_slot, CKF_SERIAL_SESSION, NULL, NULL, &h));
    for (int i = 0; i < B_COUNT; i++) {
        CK_OBJECT_CLASS c;
        CK_ATTRIBUTE a = { CKA_CLASS, &c, sizeof c };
        if (C_GetAttributeValue(h, g_base[i], &a, 1) != CKR_OK) {
            C_CloseSession(h);
            reinit_token();
            return;
        }
    }
    C_CloseSession(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct arena ar;
    struct rd r = { data, size };
    g_nsess = 0;
    g_nmade = 0;
    uint8_t first = rd_u8(&r);
    CK_SESSION_HANDLE h;
    CHECK(C_OpenSession(g_slot, CKF_SERIAL_SESSION | ((first & 1) ? CKF_RW_SESSION : 0), NULL,
                        NULL, &h));
    g_sess[g_nsess++] = h;
    if (first >= 0xe0) {
        bool so = (first & 3) == 3; /* the SO only in a R/W session */
        CHECK(C_Login(h, so ? CKU_SO : CKU_USER, (CK_UTF8CHAR_PTR)(so ? SO_PIN : USER_PIN),
                      so ? 8 : 6));
    }
    for (int i = 0; i < MAX_CALLS && r.n; i++) {
        uint8_t op = rd_u8(&r);
        CK_RV rv = run_call(op, &r, &ar);
        if (g_verbose)
            fprintf(stderr, "call %d: op %d -> 0x%lx\n", i, op % 40, (unsigned long)rv);
    }
    end_input();
    arena_free(&ar);
    return 0;
}
