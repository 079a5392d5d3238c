/* Policy: which mechanisms this configuration allows (FIPS-approved-only mode) and the limits
 * on sessions and objects. Every mechanism lookup of the token layer goes through here, so a
 * mechanism left out of the list can never be started by another path. */
#include "token/internal.h"
#include "token/crypto.h"
#include "mech/mech.h"

const struct mech_def *policy_mech(CK_MECHANISM_TYPE type, CK_FLAGS need)
{
    const struct mech_def *d = mech_find(type);
    if (!d || (need && !(d->flags & need)))
        return NULL;
    if (g_mod.cfg.fips_approved_only && !d->approved)
        return NULL;
    return d;
}

/* RSA keys below the configured minimum are refused for generation and for use. */
CK_RV policy_rsa_bits(CK_ULONG bits)
{
    return bits < g_mod.cfg.rsa_min_bits || bits > 16384 ? CKR_KEY_SIZE_RANGE : CKR_OK;
}

CK_RV tok_mechanism_list(CK_SLOT_ID id, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
    if (!slot_find(id))
        return CKR_SLOT_ID_INVALID;
    size_t n = 0;
    for (size_t i = 0; i < mech_count(); i++)
        n += policy_mech(mech_at(i)->type, 0) != NULL;
    if (!list) {
        *count = n;
        return CKR_OK;
    }
    if (*count < n) {
        *count = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    size_t k = 0;
    for (size_t i = 0; i < mech_count(); i++)
        if (policy_mech(mech_at(i)->type, 0))
            list[k++] = mech_at(i)->type;
    *count = k;
    return CKR_OK;
}

CK_RV tok_mechanism_info(CK_SLOT_ID id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
    if (!slot_find(id))
        return CKR_SLOT_ID_INVALID;
    const struct mech_def *d = policy_mech(type, 0);
    if (!d)
        return CKR_MECHANISM_INVALID;
    info->ulMinKeySize = d->min_key;
    info->ulMaxKeySize = d->max_key;
    if (d->key_type == CKK_RSA && info->ulMinKeySize < g_mod.cfg.rsa_min_bits)
        info->ulMinKeySize = g_mod.cfg.rsa_min_bits;
    info->flags = d->flags;
    return CKR_OK;
}
