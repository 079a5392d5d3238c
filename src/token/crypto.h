/* The token layer's cryptographic entry points (operations and key management). Same
 * conventions as token.h: the module lock is held, pointers were checked by the API layer. */
#ifndef CRATON_TOKEN_CRYPTO_H
#define CRATON_TOKEN_CRYPTO_H
#include <stdbool.h>
#include <stdint.h>
#include "token/internal.h"

/* oneshot, update, final, verify, verify_final and tok_random take their own locks: call them
 * WITHOUT the module lock. The others expect it held, as in token.h. */
CK_RV tok_op_init(CK_SESSION_HANDLE h, enum op_kind k, const CK_MECHANISM *m, CK_OBJECT_HANDLE key);
CK_RV tok_op_oneshot(CK_SESSION_HANDLE h, enum op_kind k, const uint8_t *in, CK_ULONG inlen,
                     uint8_t *out, CK_ULONG *outlen);
CK_RV tok_op_update(CK_SESSION_HANDLE h, enum op_kind k, const uint8_t *in, CK_ULONG inlen,
                    uint8_t *out, CK_ULONG *outlen);
CK_RV tok_op_final(CK_SESSION_HANDLE h, enum op_kind k, uint8_t *out, CK_ULONG *outlen);
CK_RV tok_op_verify(CK_SESSION_HANDLE h, const uint8_t *in, CK_ULONG inlen, const uint8_t *sig,
                    CK_ULONG siglen);
CK_RV tok_op_verify_final(CK_SESSION_HANDLE h, const uint8_t *sig, CK_ULONG siglen);
CK_RV tok_digest_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key);
/* C_SessionCancel: ends the session's operations whose CKF_ENCRYPT.. CKF_VERIFY_RECOVER flag is in
 * flags (no key was used to the end, so nothing is audited). */
CK_RV tok_op_cancel(CK_SESSION_HANDLE h, CK_FLAGS flags);
CK_RV tok_op_state_get(CK_SESSION_HANDLE h, uint8_t *out, CK_ULONG *outlen);
CK_RV tok_op_state_set(CK_SESSION_HANDLE h, const uint8_t *in, CK_ULONG inlen);
CK_RV tok_context_login(struct session *se);

/* Policy (policy.c): NULL when the mechanism is unknown, lacks `need`, or is not allowed. */
const struct mech_def *policy_mech(CK_MECHANISM_TYPE type, CK_FLAGS need);
CK_RV policy_rsa_bits(CK_ULONG bits);
CK_RV rsa_bits(const attrs_t *a, CK_ULONG *bits);
CK_RV key_policy_ok(const attrs_t *a);

/* Shared key checks. */
CK_RV key_allows_mech(const attrs_t *a, CK_MECHANISM_TYPE m);
CK_RV key_for_use(struct session *se, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE usage,
                  CK_MECHANISM_TYPE mech, struct objref **out);
/* SP 800-57 lifecycle from CKA_START_DATE/CKA_END_DATE: nothing before the start; after the
 * end only processing (verify, decrypt, unwrap), never protecting (protect = true). */
CK_RV key_lifecycle_ok(const attrs_t *a, bool protect);

/* Key management (keys.c). */
CK_RV tok_generate_key(CK_SESSION_HANDLE h, const CK_MECHANISM *m, const CK_ATTRIBUTE *t,
                       CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV tok_generate_key_pair(CK_SESSION_HANDLE h, const CK_MECHANISM *m,
                            const CK_ATTRIBUTE *pt, CK_ULONG pn, const CK_ATTRIBUTE *st,
                            CK_ULONG sn, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);
CK_RV tok_wrap_key(CK_SESSION_HANDLE h, const CK_MECHANISM *m, CK_OBJECT_HANDLE wrapping,
                   CK_OBJECT_HANDLE key, uint8_t *out, CK_ULONG *outlen);
CK_RV tok_unwrap_key(CK_SESSION_HANDLE h, const CK_MECHANISM *m, CK_OBJECT_HANDLE unwrapping,
                     const uint8_t *in, CK_ULONG inlen, const CK_ATTRIBUTE *t, CK_ULONG n,
                     CK_OBJECT_HANDLE *out);
CK_RV tok_derive_key(CK_SESSION_HANDLE h, const CK_MECHANISM *m, CK_OBJECT_HANDLE base,
                     const CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out);
CK_RV tok_random(CK_SESSION_HANDLE h, uint8_t *out, CK_ULONG len);
CK_RV tok_mechanism_list(CK_SLOT_ID id, CK_MECHANISM_TYPE *list, CK_ULONG *count);
CK_RV tok_mechanism_info(CK_SLOT_ID id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);
#endif
