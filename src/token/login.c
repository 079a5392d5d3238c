/* PINs and login: verification with persistent lockout, the token key's life, C_SetPIN/InitPIN. */
#include "token/internal.h"
#include "token/token.h"
#include "token/crypto.h"
#include "base/log.h"
#include "base/mem.h"

#include <string.h>

CK_RV pin_len_ok(CK_ULONG len)
{
    return len < g_mod.cfg.pin_min_length || len > g_mod.cfg.pin_max_length ? CKR_PIN_LEN_RANGE
                                                                            : CKR_OK;
}

/* Records a failure or a success in the store, in its own transaction, so that a crash or a
 * new process never forgets a failed try. */
static CK_RV record_attempt(struct slot *s, enum pin_role role, bool ok)
{
    CK_RV rv = store_begin(s->store);
    if (rv != CKR_OK)
        return rv;
    rv = store_token_get(s->store, &s->rec);
    if (rv == CKR_OK) {
        unsigned long *f = &s->rec.pin[role].failures;
        if (ok && *f == 0) {
            store_rollback(s->store);
            return CKR_OK;
        }
        *f = ok ? 0 : *f + 1;
        rv = slot_write_token(s);
    }
    if (rv == CKR_OK)
        rv = store_commit(s->store);
    else
        store_rollback(s->store);
    return rv;
}

/* Checks a PIN for a role, counting failures. tk receives the token key on success. */
CK_RV pin_check_role(struct slot *s, enum pin_role role, const CK_UTF8CHAR *pin, CK_ULONG len,
                     uint8_t tk[32])
{
    CK_RV rv = slot_reload(s);
    if (rv != CKR_OK)
        return rv;
    const struct pin_record *p = &s->rec.pin[role];
    if (!p->set)
        return role == ROLE_USER ? CKR_USER_PIN_NOT_INITIALIZED : CKR_GENERAL_ERROR;
    if (p->failures >= g_mod.cfg.max_failures)
        return CKR_PIN_LOCKED;
    /* The try is counted before the PIN is checked and cleared after a success: if the store
     * cannot record it, nothing is checked, so an unwritable token never grants free guesses. */
    rv = record_attempt(s, role, false);
    if (rv != CKR_OK)
        return rv;
    rv = seal_pin_check(&s->rec.pin[role], s->rec.uuid, role, pin, len, tk);
    if (rv == CKR_PIN_INCORRECT)
        LOG_WARN("wrong %s PIN for slot %lu (%lu of %lu tries used)", role ? "user" : "SO",
                 (unsigned long)s->id, s->rec.pin[role].failures, g_mod.cfg.max_failures);
    if (rv == CKR_OK && record_attempt(s, role, true) != CKR_OK)
        LOG_WARN("could not clear the failure count of slot %lu", (unsigned long)s->id);
    return rv;
}

/* Whole-token check at login: the XOR of every row's tag must equal the MAC'd accumulator,
 * so a deleted row, a row put back from an older copy, or an added row is noticed. */
static CK_RV verify_accumulator(struct slot *s, const struct seal_keys *k)
{
    uint8_t acc[32], mac[32];
    uint64_t count = 0;
    CK_RV rv = store_begin_read(s->store);
    if (rv != CKR_OK)
        return rv;
    rv = store_token_get(s->store, &s->rec);
    if (rv == CKR_OK)
        rv = store_object_terms(s->store, acc, &count);
    store_rollback(s->store);
    if (rv == CKR_OK)
        rv = seal_acc_mac(k, s->rec.acc, s->rec.objects, mac);
    if (rv != CKR_OK)
        return rv;
    if (!secmem_equal(mac, s->rec.acc_mac, 32) || !secmem_equal(acc, s->rec.acc, 32) ||
        count != s->rec.objects) {
        LOG_ERR("token in slot %lu failed its integrity check: objects were added, removed or "
                "rolled back outside the module", (unsigned long)s->id);
        tok_audit(s, NULL, -1, "tamper", CK_UNAVAILABLE_INFORMATION, NULL, CKR_DEVICE_ERROR, false);
        return CKR_DEVICE_ERROR;
    }
    return CKR_OK;
}

static CK_RV login_impl(struct session *se, CK_USER_TYPE type, const CK_UTF8CHAR *pin,
                        CK_ULONG len)
{
    struct slot *s = se->slot;
    if (type == CKU_CONTEXT_SPECIFIC) {
        /* Re-authentication for a CKA_ALWAYS_AUTHENTICATE key's pending operation (4.9). */
        bool pending = false;
        for (int k = 0; k < OPK_COUNT; k++)
            pending |= se->op[k].ctx && se->op[k].need_login;
        if (!pending)
            return CKR_OPERATION_NOT_INITIALIZED;
        if (s->login != LOGIN_USER)
            return CKR_USER_NOT_LOGGED_IN;
        uint8_t *tk = secmem_alloc(32);
        if (!tk)
            return CKR_HOST_MEMORY;
        CK_RV rv = pin_check_role(s, ROLE_USER, pin, len, tk);
        secmem_free(tk);
        return rv == CKR_OK ? tok_context_login(se) : rv;
    }
    if (type != CKU_SO && type != CKU_USER)
        return CKR_USER_TYPE_INVALID;
    enum login_state want = type == CKU_SO ? LOGIN_SO : LOGIN_USER;
    if (s->login == want)
        return CKR_USER_ALREADY_LOGGED_IN;
    if (s->login != LOGIN_NONE)
        return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    if (want == LOGIN_SO && s->sessions != s->rw_sessions)
        return CKR_SESSION_READ_ONLY_EXISTS;
    uint8_t *tk = secmem_alloc(32);
    if (!tk)
        return CKR_HOST_MEMORY;
    CK_RV rv = pin_check_role(s, want == LOGIN_SO ? ROLE_SO : ROLE_USER, pin, len, tk);
    struct seal_keys *k = NULL;
    if (rv == CKR_OK && !(k = seal_keys_new(tk)))
        rv = CKR_HOST_MEMORY;
    secmem_free(tk);
    if (rv == CKR_OK)
        rv = verify_accumulator(s, k);
    if (rv != CKR_OK) {
        seal_keys_free(k);
        return rv;
    }
    s->keys = k;
    s->login = want;
    /* Public objects cached before login were checked without the key: check them again. */
    objects_drop_slot_cache(s);
    LOG_INFO("%s logged in to slot %lu", want == LOGIN_SO ? "SO" : "user", (unsigned long)s->id);
    return CKR_OK;
}

/* Every login attempt is audited (never the PIN); a lockout gets its own record. A login whose
 * record cannot be written is undone: nobody is logged in without a trace. */
CK_RV tok_login(CK_SESSION_HANDLE h, CK_USER_TYPE type, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    struct slot *s = se->slot;
    bool was_locked = false;
    enum pin_role role = type == CKU_SO ? ROLE_SO : ROLE_USER;
    if (type == CKU_SO || type == CKU_USER || type == CKU_CONTEXT_SPECIFIC)
        was_locked = s->rec.pin[role].failures >= g_mod.cfg.max_failures;
    CK_RV rv = login_impl(se, type, pin, len);
    CK_RV arv = tok_audit(s, se, (long)type, "C_Login", CK_UNAVAILABLE_INFORMATION, NULL, rv, false);
    if (rv == CKR_PIN_INCORRECT && !was_locked &&
        s->rec.pin[role].failures >= g_mod.cfg.max_failures) {
        CK_RV lrv = tok_audit(s, se, (long)type, "lockout", CK_UNAVAILABLE_INFORMATION, NULL,
                              CKR_PIN_LOCKED, false);
        if (arv == CKR_OK)
            arv = lrv;
    }
    if (arv != CKR_OK && rv == CKR_OK && type != CKU_CONTEXT_SPECIFIC)
        slot_logout(s);
    return rv == CKR_OK ? arv : rv;
}

CK_RV tok_logout(CK_SESSION_HANDLE h)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    if (se->slot->login == LOGIN_NONE)
        return CKR_USER_NOT_LOGGED_IN;
    long user = login_user(se->slot);
    slot_logout(se->slot);
    return tok_audit(se->slot, se, user, "C_Logout", CK_UNAVAILABLE_INFORMATION, NULL, CKR_OK,
                     false);
}

CK_RV tok_init_pin(CK_SESSION_HANDLE h, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    struct slot *s = se->slot;
    if (!(se->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    if (s->login != LOGIN_SO)
        return CKR_USER_NOT_LOGGED_IN;
    if (pin_len_ok(len) != CKR_OK)
        return CKR_PIN_LEN_RANGE;
    CK_RV rv = store_begin(s->store);
    if (rv != CKR_OK)
        return rv;
    rv = store_token_get(s->store, &s->rec);
    if (rv == CKR_OK)
        rv = seal_pin_set(&s->rec.pin[ROLE_USER], s->rec.uuid, ROLE_USER, pin, len,
                          g_mod.cfg.pbkdf2_iterations, s->keys->tk);
    if (rv == CKR_OK)
        rv = slot_write_token(s);
    if (rv == CKR_OK)
        rv = store_commit(s->store);
    else
        store_rollback(s->store);
    if (rv == CKR_OK)
        LOG_INFO("user PIN initialised on slot %lu", (unsigned long)s->id);
    CK_RV arv = tok_audit(s, se, CKU_SO, "C_InitPIN", CK_UNAVAILABLE_INFORMATION, NULL, rv, false);
    return rv == CKR_OK ? arv : rv;
}

CK_RV tok_set_pin(CK_SESSION_HANDLE h, const CK_UTF8CHAR *old, CK_ULONG oldlen,
                  const CK_UTF8CHAR *pin, CK_ULONG len)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    struct slot *s = se->slot;
    if (!(se->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    /* The SO's PIN when the SO is logged in, otherwise the user's (spec 5.6, C_SetPIN). */
    enum pin_role role = s->login == LOGIN_SO ? ROLE_SO : ROLE_USER;
    if (pin_len_ok(len) != CKR_OK)
        return CKR_PIN_LEN_RANGE;
    uint8_t *tk = secmem_alloc(32);
    if (!tk)
        return CKR_HOST_MEMORY;
    CK_RV rv = pin_check_role(s, role, old, oldlen, tk);
    if (rv == CKR_OK && (rv = store_begin(s->store)) == CKR_OK) {
        rv = store_token_get(s->store, &s->rec);
        if (rv == CKR_OK)
            rv = seal_pin_set(&s->rec.pin[role], s->rec.uuid, role, pin, len,
                              g_mod.cfg.pbkdf2_iterations, tk);
        if (rv == CKR_OK)
            rv = slot_write_token(s);
        if (rv == CKR_OK)
            rv = store_commit(s->store);
        else
            store_rollback(s->store);
    }
    secmem_free(tk);
    CK_RV arv = tok_audit(s, se, role == ROLE_SO ? (long)CKU_SO : (long)CKU_USER, "C_SetPIN",
                          CK_UNAVAILABLE_INFORMATION, NULL, rv, false);
    return rv == CKR_OK ? arv : rv;
}
