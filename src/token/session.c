/* Sessions and the session state machine (PKCS#11 3.0 section 5.6 and the state tables). */
#include "token/internal.h"
#include "token/token.h"
#include "base/log.h"

#include <stdlib.h>

struct session *session_get(CK_SESSION_HANDLE h)
{
    return h ? hmap_get(&g_mod.sessions, h) : NULL;
}

struct session *session_acquire(CK_SESSION_HANDLE h)
{
    tok_lock();
    struct session *se = session_get(h);
    if (se)
        __atomic_add_fetch(&se->refs, 1, __ATOMIC_RELAXED);
    tok_unlock();
    return se;
}

static void session_free(struct session *se)
{
    mutex_free(se->mu);
    free(se);
}

/* No module lock: the open session holds one reference of its own, dropped by
 * session_close, so the count reaches zero exactly once, after the session left the map. */
void session_release(struct session *se)
{
    if (__atomic_sub_fetch(&se->refs, 1, __ATOMIC_ACQ_REL) == 0)
        session_free(se);
}

CK_STATE session_state(const struct session *s)
{
    bool rw = (s->flags & CKF_RW_SESSION) != 0;
    switch (s->slot->login) {
    case LOGIN_SO: return CKS_RW_SO_FUNCTIONS;
    case LOGIN_USER: return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    default: return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
    }
}

void session_free_find(struct session *s)
{
    free(s->found);
    s->found = NULL;
    s->nfound = s->pos = 0;
    s->find_active = false;
}

CK_RV tok_open_session(CK_SLOT_ID id, CK_FLAGS flags, CK_SESSION_HANDLE *h)
{
    struct slot *s = slot_find(id);
    if (!s)
        return CKR_SLOT_ID_INVALID;
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    if (!s->store)
        return CKR_TOKEN_NOT_RECOGNIZED;
    if (!(flags & CKF_RW_SESSION) && s->login == LOGIN_SO)
        return CKR_SESSION_READ_WRITE_SO_EXISTS;
    if (g_mod.sessions.n >= g_mod.cfg.max_sessions)
        return CKR_SESSION_COUNT;
    hmap_compact(&g_mod.sessions); /* safe points: no iteration runs across these calls */
    hmap_compact(&g_mod.objects);
    struct session *se = calloc(1, sizeof *se);
    if (!se)
        return CKR_HOST_MEMORY;
    se->mu = mutex_new();
    if (!se->mu) {
        free(se);
        return CKR_HOST_MEMORY;
    }
    se->refs = 1; /* the map's: dropped by session_close */
    se->handle = handle_new(&g_mod.sessions);
    se->slot = s;
    se->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    if (!se->handle || hmap_put(&g_mod.sessions, se->handle, se)) {
        session_free(se);
        return CKR_HOST_MEMORY;
    }
    s->sessions++;
    if (flags & CKF_RW_SESSION)
        s->rw_sessions++;
    *h = se->handle;
    return CKR_OK;
}

CK_RV session_close(struct session *se)
{
    struct slot *s = se->slot;
    mutex_lock(se->mu); /* waits for a thread in the middle of an operation on it */
    ops_end_all(se);
    mutex_unlock(se->mu);
    objects_drop_session(se);
    session_free_find(se);
    hmap_del(&g_mod.sessions, se->handle);
    s->sessions--;
    if (se->flags & CKF_RW_SESSION)
        s->rw_sessions--;
    /* When the application's last session with a token closes, its login ends (spec 5.6). */
    if (s->sessions == 0 && s->login != LOGIN_NONE)
        slot_logout(s);
    session_release(se); /* freed now, or by the last thread still working on it */
    return CKR_OK;
}

CK_RV tok_close_session(CK_SESSION_HANDLE h)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    return session_close(se);
}

CK_RV tok_close_all_sessions(CK_SLOT_ID id)
{
    struct slot *s = slot_find(id);
    if (!s)
        return CKR_SLOT_ID_INVALID;
    for (size_t i = hmap_next(&g_mod.sessions, 0); i < g_mod.sessions.cap;
         i = hmap_next(&g_mod.sessions, i + 1)) {
        struct session *se = g_mod.sessions.vals[i];
        if (se->slot == s)
            session_close(se); /* deletion leaves a tombstone: iteration stays valid */
    }
    return CKR_OK;
}

CK_RV tok_session_info(CK_SESSION_HANDLE h, CK_SESSION_INFO *info)
{
    struct session *se = session_get(h);
    if (!se)
        return CKR_SESSION_HANDLE_INVALID;
    info->slotID = se->slot->id;
    info->state = session_state(se);
    info->flags = se->flags;
    info->ulDeviceError = 0;
    return CKR_OK;
}
