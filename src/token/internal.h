/* State shared by the token layer's files; nothing outside src/token includes this. */
#ifndef CRATON_TOKEN_INTERNAL_H
#define CRATON_TOKEN_INTERNAL_H
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include "base/config.h"
#include "base/hmap.h"
#include "base/lock.h"
#include "audit/audit.h"
#include "object/attr.h"
#include "store/db.h"
#include "store/seal.h"

enum login_state { LOGIN_NONE, LOGIN_USER, LOGIN_SO };

struct slot {
    CK_SLOT_ID id;
    char path[CONFIG_PATH_MAX + 64];
    store_t *store;            /* NULL: the free slot, whose token is not initialised */
    struct token_record rec;   /* the token row as last read */
    enum login_state login;
    struct seal_keys *keys;    /* present while a user or the SO is logged in */
    unsigned long sessions, rw_sessions;
    uint64_t version;          /* store data version the object caches were read at */
    struct timespec synced;    /* when version was last compared with the store */
    audit_log_t *audit;        /* this token's audit chain (NULL: could not be opened) */
};

enum op_kind { OPK_ENCRYPT, OPK_DECRYPT, OPK_DIGEST, OPK_SIGN, OPK_VERIFY, OPK_SIGNREC,
               OPK_VERIFYREC, OPK_COUNT };

struct mech_ctx;
struct op_state {
    struct mech_ctx *ctx;      /* NULL: no operation of this kind */
    bool need_login;           /* CKA_ALWAYS_AUTHENTICATE: context-specific login pending */
    bool updated;              /* a multi-part update has run */
    CK_MECHANISM_TYPE mech;    /* for the audit record of this use */
    long user;                 /* who was logged in when it started */
    char uid[UID_LEN + 1];     /* the key's unique ID ("" for digests) */
    struct mech_ctx *spare;    /* an ended ctx of a family that parks (kept by op_end) */
};

struct session {
    CK_SESSION_HANDLE handle;  /* set at open, never changed while the session is open */
    CK_SESSION_HANDLE key;     /* the lock-free lookup's copy (atomic): 0 once closed */
    /* Cryptographic work runs under mu, not the module lock, so sessions on other threads
     * proceed in parallel. Lock order: module lock, then mu; never the reverse. refs counts
     * the open session itself plus each thread working on it outside the module lock
     * (atomic); a closed session is freed by the last of them. */
    mutex_t *mu;
    unsigned refs;
    struct op_state op[OPK_COUNT];
    struct slot *slot;
    CK_FLAGS flags;
    bool find_active;
    CK_OBJECT_HANDLE *found;
    size_t nfound, pos;
};

struct objref {
    CK_OBJECT_HANDLE handle;
    struct slot *slot;
    int64_t rowid;             /* > 0 for token objects */
    struct session *owner;     /* session objects: the session that made it */
    attrs_t attrs;             /* session objects: the object; token objects: a cache */
    bool loaded, secret_loaded;
    void *mech_cache;          /* a family's prepared key (mech.h), freed with the cache */
    struct {                   /* AES-GCM invocations reserved from the store (gcm.c) */
        uint64_t next, end;
        uint8_t prefix[4];
    } gcm;
    bool is_private;           /* token objects: as the row says (kept when the cache drops) */
    uint64_t version;          /* slot->version when the cache was last known current */
    uint8_t digest[32];        /* the row's digest when the cache was filled */
    char uid[UID_LEN + 1];
    struct {                   /* what the operation path checks, derived from attrs (crypto.c) */
        uint64_t gen;          /* attrs.gen they were derived from (0: never) */
        CK_OBJECT_CLASS cls;
        CK_KEY_TYPE kt;
        uint8_t usage;         /* bit k: the usage attribute of op_kind k is true */
        bool allowed, dates, always_auth; /* has CKA_ALLOWED_MECHANISMS, any date, and that */
        bool priv;             /* CKA_PRIVATE */
    } facts;
};

/* Session handles are (random << STAB_IDX_BITS) | index into this table, so a crypto call
 * finds its session without the module lock. Session structs are type-stable: a closed one
 * stays here for reuse (never freed before C_Finalize), so a lookup racing a close reads a
 * valid struct and sees its handle changed. Writers hold the module lock. */
#define STAB_IDX_BITS 20                /* max_sessions is at most 1,000,000 */
#define STAB_CHUNK 1024
#define STAB_CHUNKS ((1u << STAB_IDX_BITS) / STAB_CHUNK)
struct session_table {
    struct session **chunk[STAB_CHUNKS]; /* allocated on demand */
    uint32_t used;                       /* indexes handed out so far */
    uint32_t *free_idx;                  /* closed sessions' indexes */
    size_t nfree, capfree;
};

struct module {
    bool initialized;
    volatile bool forked;
    pid_t pid;
    rwlock_t *lock;            /* the module lock: exclusive, or shared on the key-use path */
    struct config cfg;
    struct audit_config audit_cfg;
    struct slot **slots;
    size_t nslots;
    hmap_t sessions;           /* handle -> struct session */
    hmap_t objects;            /* handle -> struct objref */
    hmap_t session_objects;    /* handle -> struct objref, session objects only (for finds) */
    hmap_t rows;               /* row key -> struct objref (token objects only) */
    struct session_table stab; /* the operation path's lock-free session lookup (session.c) */
};

extern struct module g_mod;

/* Random non-zero 31-bit handle unused in map (handles must not be guessable from others). */
CK_ULONG handle_new(const hmap_t *map);

/* slot.c */
struct slot *slot_find(CK_SLOT_ID id);
CK_RV slot_refresh(void);
void slot_free(struct slot *s);
CK_RV slot_reload(struct slot *s);       /* re-reads the token row */
void slot_logout(struct slot *s);        /* wipes keys and caches of private data */
CK_RV slot_write_token(struct slot *s);  /* writes rec inside the caller's transaction */

/* session.c */
struct session *session_get(CK_SESSION_HANDLE h);
/* Outside the module lock: takes a reference (NULL if the handle is invalid) / drops it. */
struct session *session_acquire(CK_SESSION_HANDLE h);
void session_release(struct session *se);
void sessions_table_reset(void); /* C_Initialize (also in a forked child: forgets, frees nothing) */
void sessions_table_free(void);  /* C_Finalize, after every session closed */
void session_free_find(struct session *s);
CK_STATE session_state(const struct session *s);
CK_RV session_close(struct session *s);

/* objects.c */
void objects_drop_session(struct session *s);
void objects_drop_slot_cache(struct slot *s);
void objects_logout(struct slot *s);
void objects_forget_slot(struct slot *s);

/* audit_hook.c: the token layer's side of the audit log. tok_audit returns CKR_OK, or
 * CKR_DEVICE_ERROR when the record could not be written (the caller then fails the call). */
void slot_audit_open(struct slot *s);
CK_RV tok_audit(struct slot *s, const struct session *se, long user, const char *op,
                CK_MECHANISM_TYPE mech, const char *uid, CK_RV result, bool per_use);
void tok_audit_all(const char *op, CK_RV result);
long login_user(const struct slot *s);

/* crypto.c */
void ops_end_all(struct session *s);

/* gcm.c: counts an AES-GCM encryption under key o (and writes the IV when the policy says
 * the token generates them). CKR_KEY_EXHAUSTED past the per-key limit. */
CK_RV gcm_account(struct session *se, struct objref *o, const CK_MECHANISM *m);
/* The same under the shared module lock: the invocation is taken atomically from the
 * reserved block; OP_RETRY_EXCLUSIVE when the block is used up (reserving writes). */
CK_RV gcm_account_shared(struct session *se, struct objref *o, const CK_MECHANISM *m);
/* Internal answer of the shared-lock paths: redo the call under the exclusive lock. */
#define OP_RETRY_EXCLUSIVE (CKR_VENDOR_DEFINED | 0x52455859UL)

/* login.c */
CK_RV pin_len_ok(CK_ULONG len);
CK_RV pin_check_role(struct slot *s, enum pin_role role, const CK_UTF8CHAR *pin, CK_ULONG len,
                     uint8_t tk[32]);
#endif
