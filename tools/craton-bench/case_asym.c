/* craton-bench: RSA, ECDSA, Ed25519, ECDH and key generation.
 *
 * Module side: C_SignInit + C_Sign (and so on) per op with a key generated on the token
 * (sensitive; a token key unless the case says "session"). Raw side: an in-process EVP_PKEY of
 * the same type and size, EVP_DigestSignInit_ex + EVP_DigestSign per op on a reused
 * EVP_MD_CTX, as an application would. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "bench.h"

enum {
    A_RSA_PKCS1, A_RSA_PSS, A_RSA_VERIFY, A_RSA_OAEP, A_ECDSA_SESSION, A_ECDSA_TOKEN,
    A_ECDSA_VERIFY, A_ED25519, A_ECDH,
    G_RSA_S, G_RSA_T, G_EC_S, G_EC_T, G_AES_S, G_AES_T,
};

struct asym {
    long kind;
    CK_MECHANISM mech;
    CK_RSA_PKCS_PSS_PARAMS pss;
    CK_RSA_PKCS_OAEP_PARAMS oaep;
    CK_ECDH1_DERIVE_PARAMS ecdh;
    CK_OBJECT_HANDLE priv, pub;
    int prehash;                  /* CKM_ECDSA: the tool hashes */
    unsigned char msg[64];
    size_t msglen;
    unsigned char sig[512];       /* module signature or ciphertext */
    CK_ULONG siglen;
    unsigned char rsig[512];      /* raw signature or ciphertext */
    size_t rsiglen;
    unsigned char point[65];
    EVP_PKEY *pk, *peer;
    const char *mdname;           /* raw digest; NULL for Ed25519 */
    int pad;                      /* raw RSA padding */
    const char *oaep_md;
    struct handles made;          /* keygen: objects to destroy after each rep */
};

struct asym_local {
    EVP_MD_CTX *mdc;
    EVP_PKEY_CTX *pctx;
    unsigned char out[1024];
};

static void *asym_local_new(void *shared)
{
    struct asym *s = shared;
    struct asym_local *l = calloc(1, sizeof *l);
    l->mdc = EVP_MD_CTX_new();
    if (s->kind >= G_RSA_S) {
        if (s->kind <= G_EC_T) {
            int rsa = s->kind <= G_RSA_T;
            l->pctx = EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC", NULL);
            EVP_PKEY_keygen_init(l->pctx);
            if (rsa)
                EVP_PKEY_CTX_set_rsa_keygen_bits(l->pctx, 2048);
            else
                EVP_PKEY_CTX_set_group_name(l->pctx, "P-256");
        }
    } else if (s->pk) {
        l->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->pk, NULL);
    }
    return l;
}

static void asym_local_free(void *p)
{
    struct asym_local *l = p;
    if (!l)
        return;
    EVP_MD_CTX_free(l->mdc);
    EVP_PKEY_CTX_free(l->pctx);
    free(l);
}

static void asym_cleanup(struct case_run *r)
{
    struct asym *s = r->mod.shared;
    if (!s)
        return;
    handles_destroy(&s->made);
    free(s->made.h);
    EVP_PKEY_free(s->pk);
    EVP_PKEY_free(s->peer);
    free(s);
}

static void after_keygen(void *shared)
{
    struct asym *s = shared;
    handles_destroy(&s->made);
}

/* ---- module ops ---------------------------------------------------------------------- */

static CK_RV m_sign(struct worker *w)
{
    struct asym *s = w->shared;
    struct asym_local *l = w->local;
    CK_MECHANISM m = s->mech;
    CK_ULONG n = sizeof l->out;
    unsigned char h[32];
    const unsigned char *data = s->msg;
    CK_ULONG dlen = s->msglen;
    if (s->prehash) {
        unsigned hl;
        EVP_Digest(s->msg, s->msglen, h, &hl, EVP_sha256(), NULL);
        data = h;
        dlen = 32;
    }
    CK_RV rv = G.p->C_SignInit(w->sess, &m, s->priv);
    return rv ? rv : G.p->C_Sign(w->sess, (CK_BYTE_PTR)data, dlen, l->out, &n);
}

static CK_RV m_verify(struct worker *w)
{
    struct asym *s = w->shared;
    CK_MECHANISM m = s->mech;
    unsigned char h[32];
    const unsigned char *data = s->msg;
    CK_ULONG dlen = s->msglen;
    if (s->prehash) {
        unsigned hl;
        EVP_Digest(s->msg, s->msglen, h, &hl, EVP_sha256(), NULL);
        data = h;
        dlen = 32;
    }
    CK_RV rv = G.p->C_VerifyInit(w->sess, &m, s->pub);
    return rv ? rv : G.p->C_Verify(w->sess, (CK_BYTE_PTR)data, dlen, s->sig, s->siglen);
}

static CK_RV m_decrypt(struct worker *w)
{
    struct asym *s = w->shared;
    struct asym_local *l = w->local;
    CK_MECHANISM m = s->mech;
    CK_ULONG n = sizeof l->out;
    CK_RV rv = G.p->C_DecryptInit(w->sess, &m, s->priv);
    return rv ? rv : G.p->C_Decrypt(w->sess, s->sig, s->siglen, l->out, &n);
}

static CK_RV m_derive(struct worker *w)
{
    struct asym *s = w->shared;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_ULONG len = 32;
    CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt },
        { CKA_VALUE_LEN, &len, sizeof len }, { CKA_TOKEN, &no, sizeof no },
        { CKA_SENSITIVE, &no, sizeof no }, { CKA_EXTRACTABLE, &yes, sizeof yes },
    };
    CK_MECHANISM m = s->mech;
    CK_OBJECT_HANDLE h;
    CK_RV rv = G.p->C_DeriveKey(w->sess, &m, s->priv, t, 6, &h);
    return rv ? rv : G.p->C_DestroyObject(w->sess, h);
}

static CK_RV m_keygen(struct worker *w)
{
    struct asym *s = w->shared;
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
    CK_BBOOL token = (s->kind - G_RSA_S) % 2 ? CK_TRUE : CK_FALSE;
    CK_RV rv;
    if (s->kind <= G_RSA_T)
        rv = p11_gen_rsa(w->sess, token, &pub, &priv);
    else if (s->kind <= G_EC_T)
        rv = p11_gen_ec(w->sess, token, 0, &pub, &priv);
    else
        rv = p11_gen_secret(CKM_AES_KEY_GEN, token, 32, &priv);
    if (pub != CK_INVALID_HANDLE)
        handles_add(&s->made, pub);
    if (priv != CK_INVALID_HANDLE)
        handles_add(&s->made, priv);
    return rv;
}

/* ---- raw ops ------------------------------------------------------------------------- */

static int raw_sign_init(struct asym *s, EVP_MD_CTX *c, int verify)
{
    EVP_PKEY_CTX *pc = NULL;
    EVP_MD_CTX_reset(c);
    int ok = verify ? EVP_DigestVerifyInit_ex(c, &pc, s->mdname, NULL, NULL, s->pk, NULL)
                    : EVP_DigestSignInit_ex(c, &pc, s->mdname, NULL, NULL, s->pk, NULL);
    if (ok && s->pad == RSA_PKCS1_PSS_PADDING)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32) > 0;
    return ok;
}

static CK_RV r_sign(struct worker *w)
{
    struct asym *s = w->shared;
    struct asym_local *l = w->local;
    size_t n = sizeof l->out;
    return raw_sign_init(s, l->mdc, 0) && EVP_DigestSign(l->mdc, l->out, &n, s->msg, s->msglen)
               ? CKR_OK
               : CKR_FUNCTION_FAILED;
}

static CK_RV r_verify(struct worker *w)
{
    struct asym *s = w->shared;
    struct asym_local *l = w->local;
    return raw_sign_init(s, l->mdc, 1) &&
                   EVP_DigestVerify(l->mdc, s->rsig, s->rsiglen, s->msg, s->msglen) == 1
               ? CKR_OK
               : CKR_FUNCTION_FAILED;
}

static CK_RV r_decrypt(struct worker *w)
{
    struct asym *s = w->shared;
    struct asym_local *l = w->local;
    size_t n = sizeof l->out;
    return EVP_PKEY_decrypt_init(l->pctx) > 0 &&
                   EVP_PKEY_CTX_set_rsa_padding(l->pctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
                   EVP_PKEY_CTX_set_rsa_oaep_md_name(l->pctx, s->oaep_md, NULL) > 0 &&
                   EVP_PKEY_CTX_set_rsa_mgf1_md_name(l->pctx, s->oaep_md, NULL) > 0 &&
                   EVP_PKEY_decrypt(l->pctx, l->out, &n, s->rsig, s->rsiglen) > 0
               ? CKR_OK
               : CKR_FUNCTION_FAILED;
}

static CK_RV r_derive(struct worker *w)
{
    struct asym *s = w->shared;
    struct asym_local *l = w->local;
    size_t n = sizeof l->out;
    return EVP_PKEY_derive_init(l->pctx) > 0 && EVP_PKEY_derive_set_peer(l->pctx, s->peer) > 0 &&
                   EVP_PKEY_derive(l->pctx, l->out, &n) > 0
               ? CKR_OK
               : CKR_FUNCTION_FAILED;
}

static CK_RV r_keygen(struct worker *w)
{
    struct asym *s = w->shared;
    struct asym_local *l = w->local;
    if (s->kind >= G_AES_S)
        return RAND_bytes(l->out, 32) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
    EVP_PKEY *k = NULL;
    if (EVP_PKEY_generate(l->pctx, &k) <= 0)
        return CKR_FUNCTION_FAILED;
    EVP_PKEY_free(k);
    return CKR_OK;
}

/* ---- setup --------------------------------------------------------------------------- */

static struct asym *asym_new(struct case_run *r, long kind)
{
    struct asym *s = calloc(1, sizeof *s);
    s->kind = kind;
    s->msglen = 32;
    RAND_bytes(s->msg, sizeof s->msg);
    r->mod.shared = r->raw.shared = s;
    r->mod.local_new = r->raw.local_new = asym_local_new;
    r->mod.local_free = r->raw.local_free = asym_local_free;
    r->cleanup = asym_cleanup;
    r->has_raw = 1;
    return s;
}

/* One module signature (for verify) and one raw one. */
static CK_RV sign_once(struct asym *s, struct case_run *r)
{
    struct worker w = { s, asym_local_new(s), G.sess, 0, 0 };
    CK_RV rv = m_sign(&w);
    if (!rv) {
        /* C_Sign wrote into l->out; its length: sign again with a length query */
        CK_MECHANISM m = s->mech;
        unsigned char h[32];
        const unsigned char *data = s->msg;
        CK_ULONG dlen = s->msglen, n = sizeof s->sig;
        if (s->prehash) {
            unsigned hl;
            EVP_Digest(s->msg, s->msglen, h, &hl, EVP_sha256(), NULL);
            data = h;
            dlen = 32;
        }
        rv = G.p->C_SignInit(G.sess, &m, s->priv);
        if (!rv)
            rv = G.p->C_Sign(G.sess, (CK_BYTE_PTR)data, dlen, s->sig, &n);
        s->siglen = n;
    }
    s->rsiglen = sizeof s->rsig;
    struct asym_local *l = w.local;
    if (!rv && !(raw_sign_init(s, l->mdc, 0) &&
                 EVP_DigestSign(l->mdc, s->rsig, &s->rsiglen, s->msg, s->msglen)))
        rv = CKR_GENERAL_ERROR;
    asym_local_free(w.local);
    (void)r;
    return rv;
}

static CK_RV setup_rsa(struct case_run *r, const struct case_def *c)
{
    long kind = c->param;
    CK_MECHANISM_TYPE mt = kind == A_RSA_PSS ? CKM_SHA256_RSA_PKCS_PSS
                           : kind == A_RSA_OAEP ? CKM_RSA_PKCS_OAEP : CKM_SHA256_RSA_PKCS;
    CK_RV rv = p11_mech(mt);
    if (!rv)
        rv = p11_mech(CKM_RSA_PKCS_KEY_PAIR_GEN);
    CK_OBJECT_HANDLE pub, priv;
    if (!rv)
        rv = p11_shared_key(K_RSA, &pub, &priv);
    if (rv)
        return rv;
    struct asym *s = asym_new(r, kind);
    s->pub = pub;
    s->priv = priv;
    s->mech.mechanism = mt;
    s->mdname = "SHA256";
    s->pad = RSA_PKCS1_PADDING;
    s->pk = EVP_RSA_gen(2048);
    if (kind == A_RSA_PSS) {
        s->pss = (CK_RSA_PKCS_PSS_PARAMS){ CKM_SHA256, CKG_MGF1_SHA256, 32 };
        s->mech.pParameter = &s->pss;
        s->mech.ulParameterLen = sizeof s->pss;
        s->pad = RSA_PKCS1_PSS_PADDING;
    }
    if (kind == A_RSA_OAEP) {
        /* SHA-256 OAEP; a module that takes only SHA-1 (SoftHSMv2) is measured with SHA-1 */
        static const struct { CK_MECHANISM_TYPE h; CK_RSA_PKCS_MGF_TYPE mgf; const char *md; } v[] = {
            { CKM_SHA256, CKG_MGF1_SHA256, "SHA256" }, { CKM_SHA_1, CKG_MGF1_SHA1, "SHA1" } };
        for (int i = 0; i < 2; i++) {
            s->oaep = (CK_RSA_PKCS_OAEP_PARAMS){ v[i].h, v[i].mgf, CKZ_DATA_SPECIFIED, NULL, 0 };
            s->mech.pParameter = &s->oaep;
            s->mech.ulParameterLen = sizeof s->oaep;
            s->oaep_md = v[i].md;
            CK_MECHANISM m = s->mech;
            s->siglen = sizeof s->sig;
            rv = G.p->C_EncryptInit(G.sess, &m, pub);
            if (!rv)
                rv = G.p->C_Encrypt(G.sess, s->msg, s->msglen, s->sig, &s->siglen);
            if (rv != CKR_MECHANISM_PARAM_INVALID && rv != CKR_ARGUMENTS_BAD)
                break;
        }
        if (rv)
            return rv;
        if (strcmp(s->oaep_md, "SHA256"))
            snprintf(r->note, sizeof r->note, "OAEP with %s (SHA-256 refused)", s->oaep_md);
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, s->pk, NULL);
        s->rsiglen = sizeof s->rsig;
        int ok = EVP_PKEY_encrypt_init(pc) > 0 &&
                 EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) > 0 &&
                 EVP_PKEY_CTX_set_rsa_oaep_md_name(pc, s->oaep_md, NULL) > 0 &&
                 EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, s->oaep_md, NULL) > 0 &&
                 EVP_PKEY_encrypt(pc, s->rsig, &s->rsiglen, s->msg, s->msglen) > 0;
        EVP_PKEY_CTX_free(pc);
        if (!ok)
            return CKR_GENERAL_ERROR;
        r->mod.op = m_decrypt;
        r->raw.op = r_decrypt;
        return CKR_OK;
    }
    if (kind == A_RSA_VERIFY) {
        if ((rv = sign_once(s, r)))
            return rv;
        r->mod.op = m_verify;
        r->raw.op = r_verify;
        return CKR_OK;
    }
    r->mod.op = m_sign;
    r->raw.op = r_sign;
    return CKR_OK;
}

static CK_RV setup_ec(struct case_run *r, const struct case_def *c)
{
    long kind = c->param;
    int ed = kind == A_ED25519;
    CK_RV rv = p11_mech(ed ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN);
    CK_MECHANISM_TYPE mt = ed ? CKM_EDDSA : kind == A_ECDH ? CKM_ECDH1_DERIVE : CKM_ECDSA_SHA256;
    int prehash = 0;
    if (!rv && (rv = p11_mech(mt)) == CKR_MECHANISM_INVALID && mt == CKM_ECDSA_SHA256) {
        mt = CKM_ECDSA; /* the module signs a hash the tool computes */
        prehash = 1;
        rv = p11_mech(mt);
    }
    CK_OBJECT_HANDLE pub, priv;
    if (!rv)
        rv = p11_shared_key(ed ? K_ED25519 : kind == A_ECDSA_SESSION ? K_EC_SESSION : K_EC, &pub, &priv);
    if (rv)
        return rv;
    struct asym *s = asym_new(r, kind);
    s->pub = pub;
    s->priv = priv;
    s->prehash = prehash;
    s->mech.mechanism = mt;
    s->mdname = ed ? NULL : "SHA256";
    s->pk = ed ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") : EVP_EC_gen("P-256");
    if (prehash)
        snprintf(r->note, sizeof r->note, "CKM_ECDSA, SHA-256 hashed by the tool");
    if (ed)
        s->msglen = 64;
    if (kind == A_ECDH) {
        s->peer = EVP_EC_gen("P-256");
        size_t pl = 0;
        if (!EVP_PKEY_get_octet_string_param(s->peer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                             s->point, sizeof s->point, &pl))
            return CKR_GENERAL_ERROR;
        s->ecdh = (CK_ECDH1_DERIVE_PARAMS){ CKD_NULL, 0, NULL, (CK_ULONG)pl, s->point };
        s->mech.pParameter = &s->ecdh;
        s->mech.ulParameterLen = sizeof s->ecdh;
        snprintf(r->note, sizeof r->note, "module: C_DeriveKey + C_DestroyObject of the session key");
        r->mod.op = m_derive;
        r->raw.op = r_derive;
        return CKR_OK;
    }
    if (kind == A_ECDSA_VERIFY) {
        if ((rv = sign_once(s, r)))
            return rv;
        r->mod.op = m_verify;
        r->raw.op = r_verify;
        return CKR_OK;
    }
    r->mod.op = m_sign;
    r->raw.op = r_sign;
    return CKR_OK;
}

static CK_RV setup_keygen(struct case_run *r, const struct case_def *c)
{
    long kind = c->param;
    CK_RV rv = p11_mech(kind <= G_RSA_T ? CKM_RSA_PKCS_KEY_PAIR_GEN
                        : kind <= G_EC_T ? CKM_EC_KEY_PAIR_GEN : CKM_AES_KEY_GEN);
    if (rv)
        return rv;
    struct asym *s = asym_new(r, kind);
    r->mod.op = m_keygen;
    r->raw.op = r_keygen;
    r->mod.after_rep = after_keygen;
    if (kind >= G_AES_S)
        snprintf(r->note, sizeof r->note, "raw: RAND_bytes(32)");
    (void)s;
    return CKR_OK;
}

const struct case_def cases_asym[] = {
    { "rsa2048-sign-pkcs1", U_OPS, 0, 0, setup_rsa, NULL, A_RSA_PKCS1 },
    { "rsa2048-sign-pss", U_OPS, 0, 0, setup_rsa, NULL, A_RSA_PSS },
    { "rsa2048-verify", U_OPS, 0, 0, setup_rsa, NULL, A_RSA_VERIFY },
    { "rsa2048-oaep-decrypt", U_OPS, 0, 0, setup_rsa, NULL, A_RSA_OAEP },
    { "ecdsa-p256-sign-session", U_OPS, 0, 0, setup_ec, NULL, A_ECDSA_SESSION },
    { "ecdsa-p256-sign-token", U_OPS, 0, 0, setup_ec, NULL, A_ECDSA_TOKEN },
    { "ecdsa-p256-verify", U_OPS, 0, 0, setup_ec, NULL, A_ECDSA_VERIFY },
    { "ed25519-sign", U_OPS, 0, 0, setup_ec, NULL, A_ED25519 },
    { "ecdh-p256-derive", U_OPS, 0, 0, setup_ec, NULL, A_ECDH },
    { "keygen-rsa2048-session", U_OPS, 0, 0, setup_keygen, NULL, G_RSA_S },
    { "keygen-rsa2048-token", U_OPS, 0, 0, setup_keygen, NULL, G_RSA_T },
    { "keygen-ec-p256-session", U_OPS, 0, 0, setup_keygen, NULL, G_EC_S },
    { "keygen-ec-p256-token", U_OPS, 0, 0, setup_keygen, NULL, G_EC_T },
    { "keygen-aes256-session", U_OPS, 0, 0, setup_keygen, NULL, G_AES_S },
    { "keygen-aes256-token", U_OPS, 0, 0, setup_keygen, NULL, G_AES_T },
    { "ecdsa-sign-2t", U_OPS, 0, CF_THREADED, setup_ec, NULL, A_ECDSA_TOKEN },
};
const size_t n_cases_asym = sizeof cases_asym / sizeof cases_asym[0];
