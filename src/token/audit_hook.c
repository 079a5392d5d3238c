/* The token layer's side of the audit log: one chain per token, opened with its store, and
 * the rule that a call whose record cannot be written fails. */
#include "token/internal.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>

long login_user(const struct slot *s)
{
    return s->login == LOGIN_SO ? (long)CKU_SO : s->login == LOGIN_USER ? (long)CKU_USER : -1;
}

void slot_audit_open(struct slot *s)
{
    if (!g_mod.audit_cfg.enabled || s->audit || !s->store)
        return;
    /* The genesis record names the token by label and serial number. */
    char name[80];
    int ll = 32;
    while (ll > 0 && s->rec.label[ll - 1] == ' ')
        ll--;
    snprintf(name, sizeof name, "%.*s serial %.16s", ll, s->rec.label, s->rec.serial);
    if (audit_open(g_mod.cfg.token_dir, s->id, name, &g_mod.audit_cfg, &s->audit) != CKR_OK) {
        s->audit = NULL;
        LOG_ERR("cannot open the audit log of slot %lu; audited calls on it will fail",
                (unsigned long)s->id);
    }
}

CK_RV tok_audit(struct slot *s, const struct session *se, long user, const char *op,
                CK_MECHANISM_TYPE mech, const char *uid, CK_RV result, bool per_use)
{
    if (!g_mod.audit_cfg.enabled || !s || !s->store)
        return CKR_OK;
    if (per_use && g_mod.audit_cfg.level == AUDIT_LEVEL_AUTH_ADMIN)
        return CKR_OK;
    struct audit_event ev = {
        .slot = s->id, .session = se ? se->handle : 0, .user = user, .op = op, .mech = mech,
        .object = uid && uid[0] ? uid : NULL, .result = result, .per_use = per_use,
    };
    if (!s->audit) {
        bool non_key = !per_use && !ev.object;
        return non_key && !g_mod.audit_cfg.required_for_non_key ? CKR_OK : CKR_DEVICE_ERROR;
    }
    CK_RV rv = audit_append(s->audit, &ev);
    if (rv != CKR_OK)
        LOG_ERR("audit record for %s on slot %lu could not be written", op, (unsigned long)s->id);
    return rv;
}

void tok_audit_all(const char *op, CK_RV result)
{
    for (size_t i = 0; i < g_mod.nslots; i++)
        tok_audit(g_mod.slots[i], NULL, -1, op, CK_UNAVAILABLE_INFORMATION, NULL, result, false);
}
