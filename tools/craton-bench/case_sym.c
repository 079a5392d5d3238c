/* craton-bench: digests, HMAC, AES (GCM, CBC-PAD), random, sessions.
 *
 * Module side: C_xxxInit + the one-shot call per op, on a token key made by the module.
 * Raw side: what a careful libcrypto program does: algorithms fetched once, a context keyed
 * once and re-initialised per op (HMAC: EVP_MAC_init with no key reuses the prepared key;
 * GCM: only the IV is set per op). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>

#include "bench.h"

struct sym {
    CK_MECHANISM_TYPE mech;
    CK_OBJECT_HANDLE key;
    size_t len;
    unsigned char *in;
    unsigned char rawkey[32];
    EVP_MD *md;
    EVP_MAC *mac;
    EVP_MAC_CTX *mac_tmpl;
    EVP_CIPHER *cipher;
};

struct sym_local {
    unsigned char *out;
    unsigned char iv[16];
    EVP_MD_CTX *mdc;
    EVP_MAC_CTX *macc;
    EVP_CIPHER_CTX *cc;
};

static atomic_uint iv_epoch;

static void *sym_local_new(void *shared)
{
    struct sym *s = shared;
    struct sym_local *l = calloc(1, sizeof *l);
    l->out = malloc(s->len + 64);
    /* IV: an epoch unique to this worker and rep, then the op counter */
    unsigned e = atomic_fetch_add(&iv_epoch, 1) + 1;
    memcpy(l->iv, &e, sizeof e);
    if (s->md) {
        l->mdc = EVP_MD_CTX_new();
    }
    if (s->mac_tmpl)
        l->macc = EVP_MAC_CTX_dup(s->mac_tmpl);
    if (s->cipher) {
        l->cc = EVP_CIPHER_CTX_new();
        EVP_EncryptInit_ex2(l->cc, s->cipher, s->rawkey, NULL, NULL);
    }
    return l;
}

static void sym_local_free(void *p)
{
    struct sym_local *l = p;
    if (!l)
        return;
    EVP_MD_CTX_free(l->mdc);
    EVP_MAC_CTX_free(l->macc);
    EVP_CIPHER_CTX_free(l->cc);
    free(l->out);
    free(l);
}

static void next_iv(struct worker *w)
{
    struct sym_local *l = w->local;
    unsigned long long c = w->counter;
    memcpy(l->iv + 4, &c, sizeof c);
}

static void sym_cleanup(struct case_run *r)
{
    struct sym *s = r->mod.shared;
    if (!s)
        return;
    EVP_MD_free(s->md);
    EVP_MAC_CTX_free(s->mac_tmpl);
    EVP_MAC_free(s->mac);
    EVP_CIPHER_free(s->cipher);
    free(s->in);
    free(s);
}

static struct sym *sym_new(struct case_run *r, size_t len)
{
    struct sym *s = calloc(1, sizeof *s);
    s->len = len;
    s->in = malloc(len ? len : 1);
    RAND_bytes(s->in, (int)len);
    RAND_bytes(s->rawkey, sizeof s->rawkey);
    r->mod.shared = r->raw.shared = s;
    r->mod.local_new = r->raw.local_new = sym_local_new;
    r->mod.local_free = r->raw.local_free = sym_local_free;
    r->cleanup = sym_cleanup;
    r->has_raw = 1;
    return s;
}

/* ---- SHA-256 -------------------------------------------------------------------------- */

static CK_RV m_digest(struct worker *w)
{
    struct sym *s = w->shared;
    struct sym_local *l = w->local;
    CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
    CK_ULONG n = 32;
    CK_RV rv = G.p->C_DigestInit(w->sess, &m);
    return rv ? rv : G.p->C_Digest(w->sess, s->in, s->len, l->out, &n);
}

static CK_RV r_digest(struct worker *w)
{
    struct sym *s = w->shared;
    struct sym_local *l = w->local;
    unsigned n;
    return EVP_DigestInit_ex2(l->mdc, s->md, NULL) && EVP_DigestUpdate(l->mdc, s->in, s->len) &&
                   EVP_DigestFinal_ex(l->mdc, l->out, &n)
               ? CKR_OK
               : CKR_FUNCTION_FAILED;
}

static CK_RV setup_sha(struct case_run *r, const struct case_def *c)
{
    CK_RV rv = p11_mech(CKM_SHA256);
    if (rv)
        return rv;
    struct sym *s = sym_new(r, (size_t)c->bytes);
    s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    r->mod.op = m_digest;
    r->raw.op = r_digest;
    return CKR_OK;
}

/* ---- HMAC-SHA256 ---------------------------------------------------------------------- */

static CK_RV m_hmac(struct worker *w)
{
    struct sym *s = w->shared;
    struct sym_local *l = w->local;
    CK_MECHANISM m = { CKM_SHA256_HMAC, NULL, 0 };
    CK_ULONG n = 32;
    CK_RV rv = G.p->C_SignInit(w->sess, &m, s->key);
    return rv ? rv : G.p->C_Sign(w->sess, s->in, s->len, l->out, &n);
}

static CK_RV r_hmac(struct worker *w)
{
    struct sym *s = w->shared;
    struct sym_local *l = w->local;
    size_t n;
    return EVP_MAC_init(l->macc, NULL, 0, NULL) && EVP_MAC_update(l->macc, s->in, s->len) &&
                   EVP_MAC_final(l->macc, l->out, &n, 32)
               ? CKR_OK
               : CKR_FUNCTION_FAILED;
}

static CK_RV setup_hmac(struct case_run *r, const struct case_def *c)
{
    CK_RV rv = p11_mech(CKM_SHA256_HMAC);
    if (!rv)
        rv = p11_mech(CKM_GENERIC_SECRET_KEY_GEN);
    if (rv)
        return rv;
    CK_OBJECT_HANDLE key;
    if ((rv = p11_shared_key(K_HMAC, NULL, &key)))
        return rv;
    struct sym *s = sym_new(r, (size_t)c->bytes);
    s->key = key;
    s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    s->mac_tmpl = EVP_MAC_CTX_new(s->mac);
    OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                       OSSL_PARAM_construct_end() };
    if (!EVP_MAC_init(s->mac_tmpl, s->rawkey, sizeof s->rawkey, p))
        return CKR_GENERAL_ERROR;
    /* check that re-initialising without a key keeps it (the raw loop relies on it) */
    struct worker w = { s, sym_local_new(s), 0, 0, 0 };
    unsigned char ref[32];
    unsigned rl = 32;
    HMAC(EVP_sha256(), s->rawkey, sizeof s->rawkey, s->in, s->len, ref, &rl);
    r_hmac(&w);
    r_hmac(&w);
    int same = !memcmp(ref, ((struct sym_local *)w.local)->out, 32);
    sym_local_free(w.local);
    if (!same)
        return CKR_GENERAL_ERROR;
    r->mod.op = m_hmac;
    r->raw.op = r_hmac;
    return CKR_OK;
}

/* ---- AES-256-GCM and AES-256-CBC-PAD -------------------------------------------------- */

static CK_RV m_aes(struct worker *w)
{
    struct sym *s = w->shared;
    struct sym_local *l = w->local;
    next_iv(w);
    CK_GCM_PARAMS gp = { l->iv, 12, 96, NULL, 0, 128 };
    CK_MECHANISM m = { s->mech, NULL, 0 };
    if (s->mech == CKM_AES_GCM) {
        m.pParameter = &gp;
        m.ulParameterLen = sizeof gp;
    } else {
        m.pParameter = l->iv;
        m.ulParameterLen = 16;
    }
    CK_ULONG n = s->len + 32;
    CK_RV rv = G.p->C_EncryptInit(w->sess, &m, s->key);
    return rv ? rv : G.p->C_Encrypt(w->sess, s->in, s->len, l->out, &n);
}

static CK_RV r_aes(struct worker *w)
{
    struct sym *s = w->shared;
    struct sym_local *l = w->local;
    int n1, n2;
    next_iv(w);
    if (!EVP_EncryptInit_ex2(l->cc, NULL, NULL, l->iv, NULL) ||
        !EVP_EncryptUpdate(l->cc, l->out, &n1, s->in, (int)s->len) ||
        !EVP_EncryptFinal_ex(l->cc, l->out + n1, &n2))
        return CKR_FUNCTION_FAILED;
    if (s->mech == CKM_AES_GCM &&
        EVP_CIPHER_CTX_ctrl(l->cc, EVP_CTRL_AEAD_GET_TAG, 16, l->out + n1 + n2) != 1)
        return CKR_FUNCTION_FAILED;
    return CKR_OK;
}

static CK_RV setup_aes(struct case_run *r, const struct case_def *c)
{
    CK_MECHANISM_TYPE mech = c->param ? CKM_AES_CBC_PAD : CKM_AES_GCM;
    CK_RV rv = p11_mech(mech);
    if (!rv)
        rv = p11_mech(CKM_AES_KEY_GEN);
    if (rv)
        return rv;
    CK_OBJECT_HANDLE key;
    if ((rv = p11_shared_key(K_AES, NULL, &key)))
        return rv;
    struct sym *s = sym_new(r, (size_t)c->bytes);
    s->key = key;
    s->mech = mech;
    s->cipher = EVP_CIPHER_fetch(NULL, c->param ? "AES-256-CBC" : "AES-256-GCM", NULL);
    r->mod.op = m_aes;
    r->raw.op = r_aes;
    return CKR_OK;
}

/* ---- random, sessions ------------------------------------------------------------------- */

static CK_RV m_random(struct worker *w)
{
    struct sym_local *l = w->local;
    return G.p->C_GenerateRandom(w->sess, l->out, 32);
}

static CK_RV r_random(struct worker *w)
{
    struct sym_local *l = w->local;
    return RAND_bytes(l->out, 32) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
}

static CK_RV setup_random(struct case_run *r, const struct case_def *c)
{
    sym_new(r, (size_t)c->bytes);
    r->mod.op = m_random;
    r->raw.op = r_random;
    return CKR_OK;
}

static CK_RV m_session(struct worker *w)
{
    (void)w;
    CK_SESSION_HANDLE s;
    CK_RV rv = p11_open(&s);
    return rv ? rv : G.p->C_CloseSession(s);
}

static CK_RV setup_session(struct case_run *r, const struct case_def *c)
{
    (void)c;
    r->mod.op = m_session;
    r->has_raw = 0;
    snprintf(r->note, sizeof r->note, "C_OpenSession + C_CloseSession; no raw equivalent");
    return CKR_OK;
}

const struct case_def cases_sym[] = {
    { "sha256-64", U_OPS, 64, 0, setup_sha, NULL, 0 },
    { "sha256-1m", U_MBS, 1048576, 0, setup_sha, NULL, 0 },
    { "hmac-sha256-64", U_OPS, 64, 0, setup_hmac, NULL, 0 },
    { "aes-gcm-1k", U_OPS, 1024, 0, setup_aes, NULL, 0 },
    { "aes-gcm-1m", U_MBS, 1048576, 0, setup_aes, NULL, 0 },
    { "aes-cbc-pad-1k", U_OPS, 1024, 0, setup_aes, NULL, 1 },
    { "random-32", U_OPS, 32, 0, setup_random, NULL, 0 },
    { "session-open-close", U_OPS, 0, 0, setup_session, NULL, 0 },
    { "aes-gcm-2t", U_OPS, 1024, CF_THREADED, setup_aes, NULL, 0 },
};
const size_t n_cases_sym = sizeof cases_sym / sizeof cases_sym[0];
