/* The audit unit tests' shared fixture: a temporary token directory per test, removed after,
 * a configuration that never waits for the disk, and a key-use event. Define SLOT (the slot
 * the tests write) and FX_DIR (mkdtemp template) before including. */
#ifndef CRATON_TEST_AUDIT_FIXTURE_H
#define CRATON_TEST_AUDIT_FIXTURE_H
#include "audit/audit.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static inline int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

struct fx {
    char dir[64];
    char log[128];
};

static inline int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s", FX_DIR);
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->log, sizeof f->log, "%s/slot-%lu.audit", f->dir, SLOT);
    *state = f;
    return 0;
}

static inline int fx_teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Defaults, but authentication, admin and key-use records are never fsynced. */
static inline struct audit_config cfg_fast(void)
{
    struct audit_config c;
    audit_config_defaults(&c);
    c.sync = AUDIT_SYNC_NONE;
    c.sync_per_use = AUDIT_SYNC_NONE;
    return c;
}

static inline struct audit_event sign_event(const char *uid)
{
    struct audit_event ev = { SLOT, 7, 1, "C_Sign", 0x1041, uid, CKR_OK, true };
    return ev;
}
#endif
