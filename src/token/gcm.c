/* AES-GCM invocation limits (SP 800-38D): every GCM encryption under a key is counted, in
 * blocks reserved from the store so the count survives restarts and is shared by processes
 * without a write per operation. Past the limit the key encrypts no more (CKR_KEY_EXHAUSTED);
 * crossing 50/75/90/95/99% is logged and audited. With policy gcm_iv = generate the token
 * writes each IV into the caller's 12-byte pIv: a random 4-byte prefix per reserved block,
 * then the 8-byte invocation number, so IVs never repeat for a key, even if the stored count
 * were rolled back (a new block gets a new random prefix). */
#include "token/internal.h"
#include "base/log.h"
#include "mech/mech.h"

#include <stdio.h>

/* A process that stops forfeits the rest of its block, so a block is at most 1/1024 of the
 * limit (0.1% lost per process start) and at most 4096 (one store write per 4096 uses). */
static uint64_t block_size(void)
{
    uint64_t b = g_mod.cfg.gcm_limit / 1024;
    return b < 1 ? 1 : b > 4096 ? 4096 : b;
}

static const unsigned thresholds[] = { 50, 75, 90, 95, 99 };

static CK_RV reserve(struct objref *o)
{
    uint64_t limit = g_mod.cfg.gcm_limit, start = 0;
    if (o->rowid > 0) {
        if (!o->slot->keys)
            return CKR_USER_NOT_LOGGED_IN;
        CK_RV rv = store_usage_reserve(o->slot->store, o->uid, block_size(), o->slot->keys->integ,
                                       &start);
        if (rv != CKR_OK)
            return rv;
    } else if (o->gcm.end) {
        start = o->gcm.end; /* session keys: counted in memory only */
    }
    if (start >= limit)
        return CKR_KEY_EXHAUSTED;
    o->gcm.next = start;
    o->gcm.end = start + block_size() < limit ? start + block_size() : limit;
    return mech_random(o->gcm.prefix, sizeof o->gcm.prefix);
}

static void warn_thresholds(struct session *se, struct objref *o, uint64_t n)
{
    uint64_t limit = g_mod.cfg.gcm_limit;
    for (size_t i = 0; i < sizeof thresholds / sizeof thresholds[0]; i++) {
        /* Invocation n (0-based) is the first at or past the threshold. */
        uint64_t mark = (limit * thresholds[i] + 99) / 100;
        if (n + 1 == mark) {
            char op[32];
            snprintf(op, sizeof op, "gcm-usage-%u%%", thresholds[i]);
            LOG_WARN("AES-GCM key %s has used %u%% of its %llu encryptions", o->uid,
                     thresholds[i], (unsigned long long)limit);
            tok_audit(se->slot, se, login_user(se->slot), op, CKM_AES_GCM, o->uid, CKR_OK, false);
        }
    }
}

/* The caller's CK_GCM_PARAMS when the token generates IVs (checked before an invocation is
 * spent on it), NULL otherwise. */
static CK_RV iv_param(const CK_MECHANISM *m, CK_GCM_PARAMS **p)
{
    *p = NULL;
    if (!g_mod.cfg.gcm_generate_iv)
        return CKR_OK;
    if (!m->pParameter || m->ulParameterLen != sizeof(CK_GCM_PARAMS))
        return CKR_MECHANISM_PARAM_INVALID;
    *p = m->pParameter;
    if (!(*p)->pIv || (*p)->ulIvLen != 12)
        return CKR_MECHANISM_PARAM_INVALID;
    return CKR_OK;
}

/* Invocation n is this operation's: thresholds, and the IV when the token makes it. */
static void use_invocation(struct session *se, struct objref *o, CK_GCM_PARAMS *p, uint64_t n)
{
    warn_thresholds(se, o, n);
    if (p) {
        CK_BYTE *iv = p->pIv;
        for (int i = 0; i < 4; i++)
            iv[i] = o->gcm.prefix[i];
        for (int i = 0; i < 8; i++)
            iv[4 + i] = (CK_BYTE)(n >> (56 - 8 * i));
    }
}

CK_RV gcm_account(struct session *se, struct objref *o, const CK_MECHANISM *m)
{
    CK_GCM_PARAMS *p;
    CK_RV rv = iv_param(m, &p);
    if (rv != CKR_OK)
        return rv;
    if (o->gcm.next >= o->gcm.end && (rv = reserve(o)) != CKR_OK)
        return rv;
    use_invocation(se, o, p, o->gcm.next++);
    return CKR_OK;
}

CK_RV gcm_account_shared(struct session *se, struct objref *o, const CK_MECHANISM *m)
{
    CK_GCM_PARAMS *p;
    CK_RV rv = iv_param(m, &p);
    if (rv != CKR_OK)
        return rv;
    /* Threads sharing the lock each take a distinct number; one past the block is left
     * unused (the exclusive path reserves a new block and starts it afresh). */
    uint64_t n = __atomic_fetch_add(&o->gcm.next, 1, __ATOMIC_RELAXED);
    if (n >= o->gcm.end)
        return OP_RETRY_EXCLUSIVE;
    use_invocation(se, o, p, n);
    return CKR_OK;
}
