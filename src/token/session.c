/* Sessions and the session state machine (PKCS#11 3.0 section 5.6 and the state tables). */
#include "token/internal.h"
#include "token/token.h"
#include "base/log.h"
#include "base/ossl.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct session *session_get(CK_SESSION_HANDLE h)
{
    return h ? hmap_get(&g_mod.sessions, h) : NULL;
}

/* ---- the session table (internal.h: struct session_table) ---- */

#define STAB_MASK ((1u << STAB_IDX_BITS) - 1)

static struct session *stab_at(uint32_t idx)
{
    struct session **c = __atomic_load_n(&g_mod.stab.chunk[idx / STAB_CHUNK], __ATOMIC_ACQUIRE);
    return c ? __atomic_load_n(&c[idx % STAB_CHUNK], __ATOMIC_ACQUIRE) : NULL;
}

/* No module lock: called by every cryptographic call. The reference is taken before the
 * handle is checked, so a struct whose handle matches cannot be reused meanwhile (reuse waits
 * for zero references); a closed or reused one shows another handle and is let go. */
struct session *session_acquire(CK_SESSION_HANDLE h)
{
    if (!h || h > 0x7fffffffUL)
        return NULL;
    struct session *se = stab_at((uint32_t)h & STAB_MASK);
    if (!se)
        return NULL;
    __atomic_add_fetch(&se->refs, 1, __ATOMIC_ACQ_REL);
    if (__atomic_load_n(&se->key, __ATOMIC_ACQUIRE) != h) {
        __atomic_sub_fetch(&se->refs, 1, __ATOMIC_ACQ_REL);
        return NULL;
    }
    return se;
}

/* The open session holds one reference of its own, dropped by session_close; a struct with
 * no references left and handle 0 is free for the next C_OpenSession. */
void session_release(struct session *se)
{
    __atomic_sub_fetch(&se->refs, 1, __ATOMIC_ACQ_REL);
}

/* Under the module lock: a free struct and its index, reused or new. */
static struct session *stab_take(uint32_t *idx)
{
    struct session_table *t = &g_mod.stab;
    for (size_t i = t->nfree; i-- > 0;) {
        struct session *se = stab_at(t->free_idx[i]);
        if (se && __atomic_load_n(&se->refs, __ATOMIC_ACQUIRE) == 0) {
            *idx = t->free_idx[i];
            t->free_idx[i] = t->free_idx[--t->nfree];
            return se;
        }
    }
    if (t->used > STAB_MASK)
        return NULL;
    uint32_t n = t->used;
    struct session **c = t->chunk[n / STAB_CHUNK];
    if (!c) {
        if (!(c = calloc(STAB_CHUNK, sizeof(struct session *))))
            return NULL;
        __atomic_store_n(&t->chunk[n / STAB_CHUNK], c, __ATOMIC_RELEASE);
    }
    struct session *se = calloc(1, sizeof *se);
    if (!se)
        return NULL;
    if (!(se->mu = mutex_new())) {
        free(se);
        return NULL;
    }
    __atomic_store_n(&c[n % STAB_CHUNK], se, __ATOMIC_RELEASE);
    t->used++;
    *idx = n;
    return se;
}

/* Under the module lock: idx's struct may be reused once nobody holds it. */
static int stab_put_back(uint32_t idx)
{
    struct session_table *t = &g_mod.stab;
    if (t->nfree == t->capfree) {
        size_t cap = t->capfree ? t->capfree * 2 : 64;
        uint32_t *nf = realloc(t->free_idx, cap * sizeof *nf);
        if (!nf)
            return -1; /* the struct is then simply not reused */
        t->free_idx = nf;
        t->capfree = cap;
    }
    t->free_idx[t->nfree++] = idx;
    return 0;
}

void sessions_table_reset(void)
{
    memset(&g_mod.stab, 0, sizeof g_mod.stab);
}

void sessions_table_free(void)
{
    struct session_table *t = &g_mod.stab;
    for (uint32_t i = 0; i < t->used; i++) {
        struct session *se = stab_at(i);
        mutex_free(se->mu);
        free(se);
    }
    for (size_t c = 0; c < STAB_CHUNKS; c++)
        free(t->chunk[c]);
    free(t->free_idx);
    sessions_table_reset();
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
    uint32_t idx, r = 0;
    struct session *se = stab_take(&idx);
    if (!se)
        return CKR_HOST_MEMORY;
    /* The bits above the index: random for a new struct, then counted on at each reuse
     * (skipping 0), so a closed session's handle comes back only after 2047 more sessions
     * had that index; never a fixed value when the random generator fails. */
    uint32_t prev = (uint32_t)(se->handle >> STAB_IDX_BITS);
    if (prev) {
        r = prev % (0x7fffffffu >> STAB_IDX_BITS) + 1;
    } else {
        if (ossl_random(&r, sizeof r)) {
            stab_put_back(idx);
            return CKR_FUNCTION_FAILED;
        }
        r = r % (0x7fffffffu >> STAB_IDX_BITS) + 1;
    }
    /* Everything after refs starts afresh; key and refs may be read by a lookup that raced
     * the close of the struct's last session, so they are only changed atomically. */
    memset(&se->op, 0, sizeof *se - offsetof(struct session, op));
    se->slot = s;
    se->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    __atomic_add_fetch(&se->refs, 1, __ATOMIC_ACQ_REL); /* the open session's own */
    CK_SESSION_HANDLE handle = (CK_SESSION_HANDLE)r << STAB_IDX_BITS | idx;
    if (hmap_put(&g_mod.sessions, handle, se)) {
        __atomic_sub_fetch(&se->refs, 1, __ATOMIC_ACQ_REL);
        stab_put_back(idx);
        return CKR_HOST_MEMORY;
    }
    se->handle = handle;
    __atomic_store_n(&se->key, handle, __ATOMIC_RELEASE); /* published: found from here on */
    s->sessions++;
    if (flags & CKF_RW_SESSION)
        s->rw_sessions++;
    *h = handle;
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
    uint32_t idx = (uint32_t)se->handle & STAB_MASK;
    __atomic_store_n(&se->key, 0, __ATOMIC_RELEASE);
    stab_put_back(idx);
    session_release(se); /* reusable once the threads still working on it let go */
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
