/* Slots and tokens: one SQLite file per initialised token, plus one free slot for a new one. */
#include "token/internal.h"
#include "token/token.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MANUFACTURER "Craton project"
#define MODEL "Craton soft HSM"

static void pad(CK_UTF8CHAR *dst, size_t len, const char *src)
{
    memset(dst, ' ', len);
    size_t n = strlen(src);
    memcpy(dst, src, n < len ? n : len);
}

static void slot_path(char *out, size_t len, CK_SLOT_ID id)
{
    snprintf(out, len, "%s/slot-%lu.db", g_mod.cfg.token_dir, (unsigned long)id);
}

struct slot *slot_find(CK_SLOT_ID id)
{
    for (size_t i = 0; i < g_mod.nslots; i++)
        if (g_mod.slots[i]->id == id)
            return g_mod.slots[i];
    return NULL;
}

void slot_free(struct slot *s)
{
    if (!s)
        return;
    seal_keys_free(s->keys);
    audit_close(s->audit);
    store_close(s->store);
    free(s);
}

CK_RV slot_reload(struct slot *s)
{
    if (!s->store)
        return CKR_OK;
    return store_token_get(s->store, &s->rec);
}

CK_RV slot_write_token(struct slot *s)
{
    return store_token_put(s->store, &s->rec);
}

void slot_logout(struct slot *s)
{
    seal_keys_free(s->keys);
    s->keys = NULL;
    s->login = LOGIN_NONE;
    objects_logout(s);
}

static CK_RV slot_add(CK_SLOT_ID id, store_t *st)
{
    struct slot *s = calloc(1, sizeof *s);
    struct slot **nv = realloc(g_mod.slots, (g_mod.nslots + 1) * sizeof(struct slot *));
    if (!s || !nv) {
        free(s);
        if (nv)
            g_mod.slots = nv;
        return CKR_HOST_MEMORY;
    }
    g_mod.slots = nv;
    s->id = id;
    s->store = st;
    slot_path(s->path, sizeof s->path, id);
    g_mod.slots[g_mod.nslots++] = s;
    return CKR_OK;
}

static int by_id(const void *a, const void *b)
{
    const struct slot *x = *(struct slot *const *)a, *y = *(struct slot *const *)b;
    /* Initialised tokens first, the free slot last: tools take "the first slot with a token". */
    if (!x->store != !y->store)
        return x->store ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

CK_RV slot_refresh(void)
{
    DIR *d = opendir(g_mod.cfg.token_dir);
    CK_SLOT_ID max_id = 0;
    bool any = false;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            /* Exactly slot-<id>.db: the audit files beside it share the prefix. */
            if (strncmp(e->d_name, "slot-", 5) != 0 || e->d_name[5] < '0' || e->d_name[5] > '9')
                continue;
            char *end;
            errno = 0;
            unsigned long id = strtoul(e->d_name + 5, &end, 10);
            if (errno == ERANGE || strcmp(end, ".db") != 0)
                continue;
            struct slot *s = slot_find(id);
            if (s && s->store) {
                any = true;
                max_id = id > max_id ? id : max_id;
                continue;
            }
            char path[CONFIG_PATH_MAX + 64];
            slot_path(path, sizeof path, id);
            store_t *st = NULL;
            CK_RV rv = store_open(path, false, g_mod.cfg.exclusive, g_mod.cfg.sync_full, &st);
            struct token_record rec;
            if (rv == CKR_OK)
                rv = store_token_get(st, &rec);
            if (rv != CKR_OK) {
                LOG_WARN("skipping token file %s (error 0x%lx)", e->d_name, (unsigned long)rv);
                store_close(st);
                continue;
            }
            if (!s) {
                if (slot_add(id, st) != CKR_OK) {
                    store_close(st);
                    closedir(d);
                    return CKR_HOST_MEMORY;
                }
                s = g_mod.slots[g_mod.nslots - 1];
            }
            /* (an existing slot here is the free one, initialised by another process) */
            s->store = st;
            s->rec = rec;
            slot_audit_open(s);
            any = true;
            max_id = id > max_id ? id : max_id;
        }
        closedir(d);
    }
    /* Exactly one free slot, with an ID no initialised token uses. */
    struct slot *free_slot = NULL;
    for (size_t i = 0; i < g_mod.nslots; i++)
        if (!g_mod.slots[i]->store)
            free_slot = g_mod.slots[i];
    CK_SLOT_ID want = any ? max_id + 1 : 0;
    if (!free_slot) {
        CK_RV rv = slot_add(want, NULL);
        if (rv != CKR_OK)
            return rv;
    } else if (free_slot->id < want && free_slot->sessions == 0) {
        free_slot->id = want;
        slot_path(free_slot->path, sizeof free_slot->path, want);
    }
    qsort(g_mod.slots, g_mod.nslots, sizeof(struct slot *), by_id);
    return CKR_OK;
}

CK_RV tok_slot_list(bool present_only, CK_SLOT_ID *list, CK_ULONG *count)
{
    (void)present_only; /* every slot has a token present; the free one is uninitialised */
    if (!list) {
        /* The list may change only when asked for its length (hot-plug rule of 5.5). */
        CK_RV rv = slot_refresh();
        if (rv != CKR_OK)
            return rv;
        *count = g_mod.nslots;
        return CKR_OK;
    }
    if (*count < g_mod.nslots) {
        *count = g_mod.nslots;
        return CKR_BUFFER_TOO_SMALL;
    }
    for (size_t i = 0; i < g_mod.nslots; i++)
        list[i] = g_mod.slots[i]->id;
    *count = g_mod.nslots;
    return CKR_OK;
}

CK_RV tok_slot_info(CK_SLOT_ID id, CK_SLOT_INFO *info)
{
    struct slot *s = slot_find(id);
    if (!s)
        return CKR_SLOT_ID_INVALID;
    memset(info, 0, sizeof *info);
    char desc[65];
    snprintf(desc, sizeof desc, "Craton slot %lu", (unsigned long)id);
    pad(info->slotDescription, sizeof info->slotDescription, desc);
    pad(info->manufacturerID, sizeof info->manufacturerID, MANUFACTURER);
    info->flags = CKF_TOKEN_PRESENT;
    info->hardwareVersion.major = CRATON_VERSION_MAJOR;
    info->hardwareVersion.minor = CRATON_VERSION_MINOR;
    info->firmwareVersion = info->hardwareVersion;
    return CKR_OK;
}

static CK_FLAGS pin_flags(const struct pin_record *p, bool so)
{
    unsigned long max = g_mod.cfg.max_failures;
    CK_FLAGS f = 0;
    if (p->failures >= max)
        f |= so ? CKF_SO_PIN_LOCKED : CKF_USER_PIN_LOCKED;
    else if (p->failures + 1 == max)
        f |= so ? CKF_SO_PIN_FINAL_TRY : CKF_USER_PIN_FINAL_TRY;
    if (p->failures > 0 && p->failures < max)
        f |= so ? CKF_SO_PIN_COUNT_LOW : CKF_USER_PIN_COUNT_LOW;
    return f;
}

CK_RV tok_token_info(CK_SLOT_ID id, CK_TOKEN_INFO *info)
{
    struct slot *s = slot_find(id);
    if (!s)
        return CKR_SLOT_ID_INVALID;
    CK_RV rv = slot_reload(s); /* another process may have logged a failure or set a PIN */
    if (rv != CKR_OK)
        return rv;
    memset(info, 0, sizeof *info);
    pad(info->manufacturerID, sizeof info->manufacturerID, MANUFACTURER);
    pad(info->model, sizeof info->model, MODEL);
    info->flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_CLOCK_ON_TOKEN | CKF_DUAL_CRYPTO_OPERATIONS;
    if (s->store) {
        memcpy(info->label, s->rec.label, sizeof info->label);
        memcpy(info->serialNumber, s->rec.serial, sizeof info->serialNumber);
        info->flags |= CKF_TOKEN_INITIALIZED;
        if (s->rec.pin[ROLE_USER].set)
            info->flags |= CKF_USER_PIN_INITIALIZED;
        info->flags |= pin_flags(&s->rec.pin[ROLE_USER], false);
        info->flags |= pin_flags(&s->rec.pin[ROLE_SO], true);
    } else {
        pad(info->label, sizeof info->label, "");
        pad(info->serialNumber, sizeof info->serialNumber, "");
    }
    info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulSessionCount = s->sessions;
    info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulRwSessionCount = s->rw_sessions;
    info->ulMaxPinLen = g_mod.cfg.pin_max_length;
    info->ulMinPinLen = g_mod.cfg.pin_min_length;
    info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->hardwareVersion.major = CRATON_VERSION_MAJOR;
    info->hardwareVersion.minor = CRATON_VERSION_MINOR;
    info->firmwareVersion = info->hardwareVersion;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char t[32];
    strftime(t, sizeof t, "%Y%m%d%H%M%S00", &tm);
    memcpy(info->utcTime, t, 16);
    return CKR_OK;
}

/* A new token record with a fresh token key, protected by the SO PIN. */
static CK_RV new_token_record(struct token_record *rec, CK_SLOT_ID id, const CK_UTF8CHAR *pin,
                              CK_ULONG len, const CK_UTF8CHAR *label, const char *serial,
                              struct seal_keys **keys_out)
{
    uint8_t *tk = secmem_alloc(32);
    if (!tk)
        return CKR_HOST_MEMORY;
    memset(rec, 0, sizeof *rec);
    rec->slot_id = id;
    memcpy(rec->label, label, 32);
    CK_RV rv = CKR_OK;
    if (ossl_random(tk, 32) || ossl_random(rec->uuid, sizeof rec->uuid))
        rv = CKR_GENERAL_ERROR;
    if (rv == CKR_OK && serial) {
        memcpy(rec->serial, serial, 16);
    } else if (rv == CKR_OK) {
        uint8_t r[8];
        if (ossl_random(r, sizeof r))
            rv = CKR_GENERAL_ERROR;
        static const char hex[] = "0123456789ABCDEF";
        for (int i = 0; i < 8; i++) {
            rec->serial[2 * i] = hex[r[i] >> 4];
            rec->serial[2 * i + 1] = hex[r[i] & 15];
        }
    }
    if (rv == CKR_OK)
        rv = seal_pin_set(&rec->pin[ROLE_SO], rec->uuid, ROLE_SO, pin, len,
                          g_mod.cfg.pbkdf2_iterations, tk);
    struct seal_keys *k = NULL;
    if (rv == CKR_OK && !(k = seal_keys_new(tk)))
        rv = CKR_HOST_MEMORY;
    if (rv == CKR_OK)
        rv = seal_acc_mac(k, rec->acc, 0, rec->acc_mac);
    secmem_free(tk);
    if (rv == CKR_OK && keys_out)
        *keys_out = k;
    else
        seal_keys_free(k);
    return rv;
}

static CK_RV create_token(struct slot *s, const CK_UTF8CHAR *pin, CK_ULONG len,
                          const CK_UTF8CHAR *label)
{
    /* Built under a temporary name and linked into place: a token file either exists whole
     * or not at all, and link() refuses if another process took the slot meanwhile. */
    char tmp[CONFIG_PATH_MAX + 64];
    uint32_t r = 0;
    ossl_random(&r, sizeof r);
    snprintf(tmp, sizeof tmp, "%s/.new-%ld-%08x.db", g_mod.cfg.token_dir, (long)getpid(), r);
    struct token_record rec;
    CK_RV rv = new_token_record(&rec, s->id, pin, len, label, NULL, NULL);
    store_t *st = NULL;
    if (rv == CKR_OK)
        rv = store_open(tmp, true, false, true, &st);
    if (rv == CKR_OK && (rv = store_begin(st)) == CKR_OK) {
        rv = store_create_schema(st);
        if (rv == CKR_OK)
            rv = store_token_put(st, &rec);
        if (rv == CKR_OK)
            rv = store_commit(st);
        else
            store_rollback(st);
    }
    store_close(st);
    if (rv == CKR_OK && link(tmp, s->path) != 0) {
        LOG_ERR("cannot create token file: %s", strerror(errno));
        rv = errno == EEXIST ? CKR_FUNCTION_FAILED : CKR_DEVICE_ERROR;
    }
    unlink(tmp);
    char side[CONFIG_PATH_MAX + 80];
    snprintf(side, sizeof side, "%s-wal", tmp);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", tmp);
    unlink(side);
    if (rv != CKR_OK)
        return rv;
    rv = store_open(s->path, false, g_mod.cfg.exclusive, g_mod.cfg.sync_full, &s->store);
    if (rv == CKR_OK)
        rv = slot_reload(s);
    if (rv != CKR_OK) {
        store_close(s->store);
        s->store = NULL;
        return rv;
    }
    slot_audit_open(s);
    LOG_INFO("token created in slot %lu", (unsigned long)s->id);
    return slot_refresh(); /* a new free slot */
}

static CK_RV reinit_token(struct slot *s, const CK_UTF8CHAR *pin, CK_ULONG len,
                          const CK_UTF8CHAR *label)
{
    uint8_t *tk = secmem_alloc(32);
    if (!tk)
        return CKR_HOST_MEMORY;
    CK_RV rv = pin_check_role(s, ROLE_SO, pin, len, tk);
    secmem_free(tk);
    if (rv != CKR_OK)
        return rv;
    struct token_record rec;
    char serial[16];
    memcpy(serial, s->rec.serial, 16);
    rv = new_token_record(&rec, s->id, pin, len, label, serial, NULL);
    if (rv != CKR_OK)
        return rv;
    if ((rv = store_begin(s->store)) != CKR_OK)
        return rv;
    rv = store_object_delete_all(s->store);
    if (rv == CKR_OK)
        rv = store_token_put(s->store, &rec);
    if (rv == CKR_OK)
        rv = store_commit(s->store);
    else
        store_rollback(s->store);
    if (rv == CKR_OK) {
        objects_forget_slot(s);
        slot_logout(s);
        s->rec = rec;
        LOG_INFO("token in slot %lu re-initialised", (unsigned long)s->id);
    }
    return rv;
}

CK_RV tok_init_token(CK_SLOT_ID id, const CK_UTF8CHAR *pin, CK_ULONG len, const CK_UTF8CHAR *label)
{
    struct slot *s = slot_find(id);
    if (!s)
        return CKR_SLOT_ID_INVALID;
    if (s->sessions)
        return CKR_SESSION_EXISTS;
    if (pin_len_ok(len) != CKR_OK)
        return CKR_PIN_LEN_RANGE;
    CK_RV rv = s->store ? reinit_token(s, pin, len, label) : create_token(s, pin, len, label);
    CK_RV arv = tok_audit(s, NULL, CKU_SO, "C_InitToken", CK_UNAVAILABLE_INFORMATION, NULL, rv,
                          false);
    return rv == CKR_OK ? arv : rv;
}
