/* craton-util: tokens and PINs (init-token, delete-token, show-slots, change-pin, init-pin). */
#include "util.h"
#include "base/config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_label(const char *label)
{
    if (!label || !*label) {
        errf("--label is required");
        return -1;
    }
    if (strlen(label) > 32) {
        errf("a token label has at most 32 bytes");
        return -1;
    }
    return 0;
}

int cmd_init_token(struct opts *o)
{
    if (check_label(o->label))
        return EX_USAGE;
    if (o->nargs) {
        errf("unexpected argument '%s'", o->args[0]);
        return EX_USAGE;
    }
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    if (p11_load(o->module, &dl, &f))
        return EX_FAIL;
    int rc = EX_FAIL;
    CK_SLOT_ID *slots = NULL, free_slot = 0;
    CK_ULONG n = 0;
    bool have_free = false;
    if (p11_slots(f, &slots, &n))
        goto out;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        if (!(ti.flags & CKF_TOKEN_INITIALIZED)) {
            if (!have_free)
                free_slot = slots[i];
            have_free = true;
            continue;
        }
        char l[33];
        p11_str(l, sizeof l, ti.label, sizeof ti.label);
        if (!strcmp(l, o->label)) {
            errf("slot %lu already holds a token labelled '%s'", (unsigned long)slots[i], l);
            goto out;
        }
    }
    if (!have_free) {
        errf("no free slot (is the module a Craton module?)");
        goto out;
    }
    char pin[PIN_MAX];
    size_t len;
    if (pin_get_new(o->pin_file, "CRATON_SO_PIN", "New SO PIN: ", pin, &len)) {
        rc = EX_PIN;
        goto out;
    }
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof label);
    memcpy(label, o->label, strlen(o->label));
    CK_RV rv = f->C_InitToken(free_slot, (CK_UTF8CHAR_PTR)pin, len, label);
    pin_wipe(pin);
    if (rv != CKR_OK) {
        errf("C_InitToken on slot %lu: %s", (unsigned long)free_slot, rv_name(rv));
        rc = rv == CKR_PIN_LEN_RANGE ? EX_PIN : EX_FAIL;
        goto out;
    }
    printf("%lu\n", (unsigned long)free_slot);
    fprintf(stderr, "Token '%s' initialised in slot %lu; set its user PIN with "
                    "'craton-util init-pin --token %s'.\n",
            o->label, (unsigned long)free_slot, o->label);
    rc = EX_OK;
out:
    free(slots);
    p11_unload(dl, f);
    return rc;
}

/* Removes path; missing is fine. */
static int remove_file(const char *path, int *count)
{
    if (unlink(path) == 0) {
        (*count)++;
        return 0;
    }
    if (errno == ENOENT)
        return 0;
    errf("cannot remove %s: %s", path, strerror(errno));
    return -1;
}

/* Removes the token's database with its side files and its audit files. */
static int remove_token_files(const char *dir, unsigned long slot, int *count)
{
    static const char *const db_side[] = { "", "-wal", "-shm", ".lock", "-journal" };
    char path[CONFIG_PATH_MAX + 300];
    int rc = 0;
    for (size_t i = 0; i < sizeof db_side / sizeof db_side[0]; i++) {
        snprintf(path, sizeof path, "%s/slot-%lu.db%s", dir, slot, db_side[i]);
        rc |= remove_file(path, count);
    }
    DIR *d = opendir(dir);
    if (!d) {
        errf("cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    char prefix[64];
    int pl = snprintf(prefix, sizeof prefix, "slot-%lu.audit", slot);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strncmp(nm, prefix, (size_t)pl))
            continue;
        const char *rest = nm + pl;
        bool ours = !*rest || !strcmp(rest, "-lock");
        if (!ours && rest[0] == '.' && rest[1]) {
            ours = true;
            for (const char *p = rest + 1; *p; p++)
                ours &= *p >= '0' && *p <= '9';
        }
        if (!ours)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        rc |= remove_file(path, count);
    }
    closedir(d);
    return rc;
}

int cmd_delete_token(struct opts *o)
{
    if (!o->label && !o->slot) {
        errf("--label is required");
        return EX_USAGE;
    }
    if (o->nargs) {
        errf("unexpected argument '%s'", o->args[0]);
        return EX_USAGE;
    }
    char dir[CONFIG_PATH_MAX];
    if (util_config(dir, sizeof dir, NULL, 0))
        return EX_FAIL;
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    if (p11_load(o->module, &dl, &f))
        return EX_FAIL;
    CK_SLOT_ID slot;
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE s;
    char label[33];
    if (p11_find_token(f, o->label, o->slot, &slot, &ti) || p11_session(f, slot, true, &s)) {
        p11_unload(dl, f);
        return EX_FAIL;
    }
    p11_str(label, sizeof label, ti.label, sizeof ti.label);
    int rc = p11_login(f, s, CKU_SO, o, label);
    if (rc) {
        p11_unload(dl, f);
        return rc;
    }
    f->C_Logout(s);
    f->C_CloseAllSessions(slot);
    p11_unload(dl, f);

    /* The file must be the token PKCS#11 showed: same slot, same label. */
    struct tokdir_entry *v;
    size_t n;
    bool match = false;
    if (tokdir_list(dir, &v, &n))
        return EX_FAIL;
    for (size_t i = 0; i < n; i++)
        match |= v[i].slot == slot && !strcmp(v[i].label, label);
    free(v);
    if (!match) {
        errf("slot %lu of %s does not hold token '%s' (another token directory?)",
             (unsigned long)slot, dir, label);
        return EX_FAIL;
    }
    int count = 0;
    if (remove_token_files(dir, slot, &count))
        return EX_FAIL;
    printf("Token '%s' in slot %lu deleted (%d files removed).\n", label, (unsigned long)slot,
           count);
    return EX_OK;
}

int cmd_show_slots(struct opts *o)
{
    if (o->nargs) {
        errf("unexpected argument '%s'", o->args[0]);
        return EX_USAGE;
    }
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    if (p11_load(o->module, &dl, &f))
        return EX_FAIL;
    CK_SLOT_ID *slots;
    CK_ULONG n;
    if (p11_slots(f, &slots, &n)) {
        p11_unload(dl, f);
        return EX_FAIL;
    }
    CK_INFO info;
    if (f->C_GetInfo(&info) == CKR_OK) {
        char man[33], desc[33];
        p11_str(man, sizeof man, info.manufacturerID, sizeof info.manufacturerID);
        p11_str(desc, sizeof desc, info.libraryDescription, sizeof info.libraryDescription);
        printf("Module: %s (%s) %u.%u, PKCS#11 %u.%u\n", desc, man, info.libraryVersion.major,
               info.libraryVersion.minor, info.cryptokiVersion.major, info.cryptokiVersion.minor);
    }
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        CK_RV rv = f->C_GetTokenInfo(slots[i], &ti);
        if (rv != CKR_OK) {
            printf("Slot %lu: no token information (%s)\n", (unsigned long)slots[i],
                   rv_name(rv));
            continue;
        }
        if (!(ti.flags & CKF_TOKEN_INITIALIZED)) {
            printf("Slot %lu: free (uninitialised token; 'craton-util init-token' uses it)\n",
                   (unsigned long)slots[i]);
            continue;
        }
        char label[33], serial[17], model[17];
        p11_str(label, sizeof label, ti.label, sizeof ti.label);
        p11_str(serial, sizeof serial, ti.serialNumber, sizeof ti.serialNumber);
        p11_str(model, sizeof model, ti.model, sizeof ti.model);
        printf("Slot %lu: token '%s'\n", (unsigned long)slots[i], label);
        printf("  serial: %s  model: %s\n", serial, model);
        printf("  flags:");
        static const struct { CK_FLAGS f; const char *n; } fl[] = {
            { CKF_TOKEN_INITIALIZED, "initialized" },
            { CKF_USER_PIN_INITIALIZED, "user-pin-set" },
            { CKF_LOGIN_REQUIRED, "login-required" },
            { CKF_WRITE_PROTECTED, "write-protected" },
            { CKF_USER_PIN_COUNT_LOW, "user-pin-count-low" },
            { CKF_USER_PIN_FINAL_TRY, "user-pin-final-try" },
            { CKF_USER_PIN_LOCKED, "user-pin-locked" },
            { CKF_SO_PIN_COUNT_LOW, "so-pin-count-low" },
            { CKF_SO_PIN_FINAL_TRY, "so-pin-final-try" },
            { CKF_SO_PIN_LOCKED, "so-pin-locked" },
            { CKF_RNG, "rng" },
        };
        for (size_t k = 0; k < sizeof fl / sizeof fl[0]; k++)
            if (ti.flags & fl[k].f)
                printf(" %s", fl[k].n);
        printf("\n  PIN length: %lu..%lu  sessions: %lu\n", (unsigned long)ti.ulMinPinLen,
               (unsigned long)ti.ulMaxPinLen, (unsigned long)ti.ulSessionCount);
    }
    free(slots);
    p11_unload(dl, f);
    return EX_OK;
}

/* Opens a R/W session on --token/--slot (or the only token). */
static int open_token(struct opts *o, void **dl, CK_FUNCTION_LIST_PTR *f, CK_SESSION_HANDLE *s,
                      char label[33])
{
    if (o->nargs) {
        errf("unexpected argument '%s'", o->args[0]);
        return EX_USAGE;
    }
    if (p11_load(o->module, dl, f))
        return EX_FAIL;
    CK_SLOT_ID slot;
    CK_TOKEN_INFO ti;
    if (p11_find_token(*f, o->token, o->slot, &slot, &ti) || p11_session(*f, slot, true, s)) {
        p11_unload(*dl, *f);
        return EX_FAIL;
    }
    p11_str(label, 33, ti.label, sizeof ti.label);
    return EX_OK;
}

int cmd_change_pin(struct opts *o)
{
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE s;
    char label[33];
    int rc = open_token(o, &dl, &f, &s, label);
    if (rc)
        return rc;
    char old[PIN_MAX], nw[PIN_MAX], prompt[96];
    size_t ol = 0, nl = 0;
    const char *role = o->so ? "SO" : "user";
    snprintf(prompt, sizeof prompt, "Current %s PIN for token '%s': ", role, label);
    rc = EX_PIN;
    if (pin_get(o->pin_file, o->so ? "CRATON_SO_PIN" : "CRATON_PIN", prompt, old, &ol))
        goto out;
    CK_RV rv = f->C_Login(s, o->so ? CKU_SO : CKU_USER, (CK_UTF8CHAR_PTR)old, ol);
    if (rv != CKR_OK) {
        errf("C_Login as %s: %s", role, rv_name(rv));
        rc = rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED ? EX_PIN : EX_FAIL;
        goto out;
    }
    snprintf(prompt, sizeof prompt, "New %s PIN: ", role);
    if (pin_get_new(o->new_pin_file, "CRATON_NEW_PIN", prompt, nw, &nl))
        goto out;
    rv = f->C_SetPIN(s, (CK_UTF8CHAR_PTR)old, ol, (CK_UTF8CHAR_PTR)nw, nl);
    if (rv != CKR_OK) {
        errf("C_SetPIN: %s", rv_name(rv));
        rc = rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID ? EX_PIN : EX_FAIL;
        goto out;
    }
    printf("The %s PIN of token '%s' is changed.\n", role, label);
    rc = EX_OK;
out:
    pin_wipe(old);
    pin_wipe(nw);
    p11_unload(dl, f);
    return rc;
}

int cmd_init_pin(struct opts *o)
{
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE s;
    char label[33];
    int rc = open_token(o, &dl, &f, &s, label);
    if (rc)
        return rc;
    if ((rc = p11_login(f, s, CKU_SO, o, label)) != 0) {
        p11_unload(dl, f);
        return rc;
    }
    char nw[PIN_MAX];
    size_t nl;
    rc = EX_PIN;
    if (pin_get_new(o->new_pin_file, "CRATON_NEW_PIN", "New user PIN: ", nw, &nl) == 0) {
        CK_RV rv = f->C_InitPIN(s, (CK_UTF8CHAR_PTR)nw, nl);
        if (rv == CKR_OK) {
            printf("The user PIN of token '%s' is set.\n", label);
            rc = EX_OK;
        } else {
            errf("C_InitPIN: %s", rv_name(rv));
            rc = rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_INVALID ? EX_PIN : EX_FAIL;
        }
    }
    pin_wipe(nw);
    p11_unload(dl, f);
    return rc;
}
