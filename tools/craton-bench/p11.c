/* craton-bench: loading a PKCS#11 module, picking and preparing its token, making keys. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct bench G;

const char *rv_name(CK_RV rv)
{
    static const struct { CK_RV rv; const char *name; } names[] = {
        { CKR_OK, "CKR_OK" },
        { CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
        { CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
        { CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
        { CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
        { CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY" },
        { CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
        { CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID" },
        { CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
        { CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
        { CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED" },
        { CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
        { CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE" },
        { CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
        { CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
        { CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
        { CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
        { CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
        { CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE" },
        { CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED" },
        { CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
        { CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE" },
        { CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
        { CKR_SESSION_COUNT, "CKR_SESSION_COUNT" },
        { CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
        { CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY" },
        { CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID" },
        { CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE" },
        { CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT" },
        { CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
        { CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
        { CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED" },
        { CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN" },
        { CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
        { CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED" },
        { CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID" },
        { CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
        { CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID" },
        { CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED" },
        { CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
        { CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED" },
        { CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE" },
        { CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID" },
        { CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID" },
    };
    static __thread char buf[24];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].rv == rv)
            return names[i].name;
    snprintf(buf, sizeof buf, "0x%08lx", (unsigned long)rv);
    return buf;
}

/* What counts as "the module does not do this" rather than a failure. */
int rv_unsupported(CK_RV rv)
{
    return rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID ||
           rv == CKR_DOMAIN_PARAMS_INVALID || rv == CKR_CURVE_NOT_SUPPORTED ||
           rv == CKR_FUNCTION_NOT_SUPPORTED || rv == CKR_KEY_SIZE_RANGE;
}

CK_RV p11_load_only(const char *path, CK_FUNCTION_LIST_PTR *out)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "craton-bench: cannot load %s: %s\n", path, dlerror());
        return CKR_GENERAL_ERROR;
    }
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
    if (!gfl || gfl(out) != CKR_OK) {
        fprintf(stderr, "craton-bench: %s is not a PKCS#11 module\n", path);
        return CKR_GENERAL_ERROR;
    }
    return CKR_OK;
}

CK_RV p11_load(const char *path, const char *init_args, CK_FUNCTION_LIST_PTR *out)
{
    if (p11_load_only(path, out) != CKR_OK)
        return CKR_GENERAL_ERROR;
    CK_C_INITIALIZE_ARGS a;
    memset(&a, 0, sizeof a);
    a.flags = CKF_OS_LOCKING_OK;
    a.pReserved = (CK_VOID_PTR)init_args;
    CK_RV rv = (*out)->C_Initialize(&a);
    if (rv != CKR_OK)
        fprintf(stderr, "craton-bench: C_Initialize: %s\n", rv_name(rv));
    return rv;
}

static void trim32(char dst[33], const CK_UTF8CHAR *src)
{
    memcpy(dst, src, 32);
    dst[32] = 0;
    for (int i = 31; i >= 0 && dst[i] == ' '; i--)
        dst[i] = 0;
}

CK_RV p11_pick_slot(CK_FUNCTION_LIST_PTR p, const char *label, CK_SLOT_ID *slot, int *uninit)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    CK_RV rv = p->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK)
        return rv;
    int best = -1, best_score = -1;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (p->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        char l[33];
        trim32(l, ti.label);
        int score;
        if (label) {
            score = strcmp(l, label) == 0 ? 10 : -1;
        } else {
            /* an initialised token that wants a login (NSS: the key database, not the
             * "generic crypto services" token), then any writable initialised token */
            score = 0;
            if (ti.flags & CKF_TOKEN_INITIALIZED)
                score += 4;
            if (ti.flags & CKF_LOGIN_REQUIRED)
                score += 2;
            if (!(ti.flags & CKF_WRITE_PROTECTED))
                score += 1;
        }
        if (score > best_score) {
            best_score = score;
            best = (int)i;
            *uninit = !(ti.flags & CKF_TOKEN_INITIALIZED);
        }
    }
    if (best < 0)
        return CKR_TOKEN_NOT_PRESENT;
    *slot = slots[best];
    return CKR_OK;
}

CK_RV p11_open(CK_SESSION_HANDLE *s)
{
    return G.p->C_OpenSession(G.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s);
}

#define TRY(call)                                                                        \
    do {                                                                                 \
        CK_RV rv_ = (call);                                                              \
        if (rv_ != CKR_OK) {                                                             \
            fprintf(stderr, "craton-bench: %s: %s\n", #call, rv_name(rv_));              \
            return rv_;                                                                  \
        }                                                                                \
    } while (0)

static CK_RV set_user_pin(void)
{
    CK_SESSION_HANDLE s;
    TRY(p11_open(&s));
    TRY(G.p->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)G.opt.so_pin, strlen(G.opt.so_pin)));
    TRY(G.p->C_InitPIN(s, (CK_UTF8CHAR_PTR)G.opt.pin, strlen(G.opt.pin)));
    G.p->C_Logout(s);
    G.p->C_CloseSession(s);
    return CKR_OK;
}

CK_RV p11_setup_token(void)
{
    CK_INFO info;
    if (G.p->C_GetInfo(&info) == CKR_OK) {
        trim32(G.manufacturer, info.manufacturerID);
        trim32(G.library, info.libraryDescription);
    }
    int uninit = 0;
    TRY(p11_pick_slot(G.p, G.opt.token_label, &G.slot, &uninit));
    if (uninit) {
        CK_UTF8CHAR label[32];
        const char *l = G.opt.token_label ? G.opt.token_label : "craton-bench";
        memset(label, ' ', sizeof label);
        memcpy(label, l, strlen(l) < 32 ? strlen(l) : 32);
        fprintf(stderr, "craton-bench: initialising the token in slot %lu as \"%s\"\n",
                (unsigned long)G.slot, l);
        TRY(G.p->C_InitToken(G.slot, (CK_UTF8CHAR_PTR)G.opt.so_pin, strlen(G.opt.so_pin), label));
        /* find it again: a module may list the new token in another slot */
        TRY(p11_pick_slot(G.p, l, &G.slot, &uninit));
        TRY(set_user_pin());
    }
    CK_TOKEN_INFO ti;
    TRY(G.p->C_GetTokenInfo(G.slot, &ti));
    trim32(G.token_label, ti.label);
    if (!(ti.flags & CKF_USER_PIN_INITIALIZED) && (ti.flags & CKF_LOGIN_REQUIRED))
        TRY(set_user_pin());
    TRY(p11_open(&G.sess));
    CK_RV rv = G.p->C_Login(G.sess, CKU_USER, (CK_UTF8CHAR_PTR)G.opt.pin, strlen(G.opt.pin));
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        G.logged_in = 1;
    } else if (!(ti.flags & CKF_LOGIN_REQUIRED)) {
        fprintf(stderr, "craton-bench: C_Login: %s; the token needs no login, continuing\n",
                rv_name(rv));
    } else {
        fprintf(stderr, "craton-bench: C_Login: %s\n", rv_name(rv));
        return rv;
    }
    return CKR_OK;
}

CK_RV p11_mech(CK_MECHANISM_TYPE m)
{
    CK_MECHANISM_INFO mi;
    return G.p->C_GetMechanismInfo(G.slot, m, &mi);
}

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

CK_RV p11_gen_secret(CK_MECHANISM_TYPE mech, CK_BBOOL token, CK_ULONG len, CK_OBJECT_HANDLE *h)
{
    CK_MECHANISM m = { mech, NULL, 0 };
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = mech == CKM_AES_KEY_GEN ? CKK_AES : CKK_GENERIC_SECRET;
    CK_BBOOL is_aes = mech == CKM_AES_KEY_GEN;
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cls, sizeof cls },
        { CKA_KEY_TYPE, &kt, sizeof kt },
        { CKA_TOKEN, &token, sizeof token },
        { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes },
        { CKA_VALUE_LEN, &len, sizeof len },
        { is_aes ? CKA_ENCRYPT : CKA_SIGN, &yes, sizeof yes },
        { is_aes ? CKA_DECRYPT : CKA_VERIFY, &yes, sizeof yes },
    };
    return G.p->C_GenerateKey(G.sess, &m, t, sizeof t / sizeof t[0], h);
}

static const CK_BYTE oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

CK_RV p11_gen_rsa(CK_SESSION_HANDLE s, CK_BBOOL token, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM m = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_ULONG bits = 2048;
    CK_BYTE e[] = { 1, 0, 1 };
    CK_ATTRIBUTE pt[] = {
        { CKA_TOKEN, &token, sizeof token }, { CKA_MODULUS_BITS, &bits, sizeof bits },
        { CKA_PUBLIC_EXPONENT, e, sizeof e }, { CKA_VERIFY, &yes, sizeof yes },
        { CKA_ENCRYPT, &yes, sizeof yes },
    };
    CK_ATTRIBUTE kt[] = {
        { CKA_TOKEN, &token, sizeof token }, { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes }, { CKA_SIGN, &yes, sizeof yes },
        { CKA_DECRYPT, &yes, sizeof yes },
    };
    return G.p->C_GenerateKeyPair(s, &m, pt, 5, kt, 5, pub, priv);
}

CK_RV p11_gen_ec(CK_SESSION_HANDLE s, CK_BBOOL token, int ed25519, CK_OBJECT_HANDLE *pub,
                 CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM m = { ed25519 ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_ATTRIBUTE pt[] = {
        { CKA_TOKEN, &token, sizeof token },
        { CKA_EC_PARAMS, (void *)(ed25519 ? oid_ed25519 : oid_p256),
          ed25519 ? sizeof oid_ed25519 : sizeof oid_p256 },
        { CKA_VERIFY, &yes, sizeof yes },
    };
    CK_ATTRIBUTE kt[] = {
        { CKA_TOKEN, &token, sizeof token }, { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes }, { CKA_SIGN, &yes, sizeof yes },
        { CKA_DERIVE, ed25519 ? &no : &yes, sizeof yes },
    };
    return G.p->C_GenerateKeyPair(s, &m, pt, 3, kt, 5, pub, priv);
}

CK_RV p11_destroy(CK_OBJECT_HANDLE h)
{
    return G.p->C_DestroyObject(G.sess, h);
}

static struct { int made; CK_RV rv; CK_OBJECT_HANDLE pub, priv; } shared[K_COUNT];

CK_RV p11_shared_key(enum shared_key k, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    if (!shared[k].made) {
        CK_OBJECT_HANDLE a = CK_INVALID_HANDLE, b = CK_INVALID_HANDLE;
        CK_RV rv;
        /* K_EC is the "token key" of ecdsa-p256-sign-token and stays one with --session-keys */
        CK_BBOOL tok = G.opt.session_keys ? CK_FALSE : CK_TRUE;
        switch (k) {
        case K_AES: rv = p11_gen_secret(CKM_AES_KEY_GEN, tok, 32, &b); break;
        case K_HMAC: rv = p11_gen_secret(CKM_GENERIC_SECRET_KEY_GEN, tok, 32, &b); break;
        case K_RSA: rv = p11_gen_rsa(G.sess, tok, &a, &b); break;
        case K_EC: rv = p11_gen_ec(G.sess, CK_TRUE, 0, &a, &b); break;
        case K_EC_SESSION: rv = p11_gen_ec(G.sess, CK_FALSE, 0, &a, &b); break;
        default: rv = p11_gen_ec(G.sess, tok, 1, &a, &b); break;
        }
        shared[k].made = 1;
        shared[k].rv = rv;
        shared[k].pub = a;
        shared[k].priv = b;
    }
    if (pub)
        *pub = shared[k].pub;
    if (priv)
        *priv = shared[k].priv;
    return shared[k].rv;
}

void p11_destroy_shared_keys(void)
{
    for (int k = 0; k < K_COUNT; k++) {
        if (!shared[k].made || shared[k].rv != CKR_OK)
            continue;
        if (shared[k].pub != CK_INVALID_HANDLE)
            p11_destroy(shared[k].pub);
        if (shared[k].priv != CK_INVALID_HANDLE)
            p11_destroy(shared[k].priv);
        shared[k].made = 0;
    }
}

void handles_add(struct handles *l, CK_OBJECT_HANDLE h)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->h = realloc(l->h, l->cap * sizeof *l->h);
        if (!l->h)
            abort();
    }
    l->h[l->n++] = h;
}

void handles_destroy(struct handles *l)
{
    for (size_t i = 0; i < l->n; i++)
        p11_destroy(l->h[i]);
    l->n = 0;
}
