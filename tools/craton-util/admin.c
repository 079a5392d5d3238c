/* craton-util audit verify|show and config check: the library's own code, linked in. */
#include "util.h"
#include "audit/audit.h"
#include "base/config.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <stdlib.h>
#include <string.h>

/* ---- audit ---- */

static int show_one(const struct audit_record *r, void *arg)
{
    const struct opts *o = arg;
    if (o->since && strcmp(r->time, o->since) < 0)
        return 0;
    if (o->until && strncmp(r->time, o->until, strlen(o->until)) > 0)
        return 0;
    if (o->op && strcmp(r->op, o->op))
        return 0;
    if (o->result && strcmp(r->result, o->result))
        return 0;
    char mech[16] = "-";
    if (r->has_mech)
        snprintf(mech, sizeof mech, "0x%08lx", r->mech);
    printf("%8llu  %s  pid %-7ld slot %-3lu sess %-5lu %-7s %-18s %-10s %-24s %s", r->seq,
           r->time, r->pid, r->slot, r->session, r->user, r->op, mech, r->result,
           r->has_object ? r->object : "-");
    if (o->hashes) {
        printf("  %s ", r->keyed ? "mac" : "hash");
        hex_print(stdout, r->hash, 32);
    }
    putchar('\n');
    return 0;
}

int cmd_audit(struct opts *o)
{
    if (o->nargs != 1 || (strcmp(o->args[0], "verify") && strcmp(o->args[0], "show"))) {
        errf("say 'audit verify' or 'audit show' (see craton-util audit --help)");
        return EX_USAGE;
    }
    bool verify = !strcmp(o->args[0], "verify");
    if (secmem_init() || ossl_open()) {
        errf("cannot initialise libcrypto");
        return EX_FAIL;
    }
    log_open(LOG_LVL_ERROR, NULL);
    int rc = EX_FAIL;
    struct config cfg;
    char err[512] = "";
    uint8_t *key = NULL;
    size_t keylen = 0;
    struct tokdir_entry *tv = NULL;
    size_t tn = 0;
    if (config_load(&cfg, err, sizeof err)) {
        errf("configuration: %s", err);
        goto out;
    }
    const char *key_file = o->key_file;
    struct audit_config acfg;
    if (audit_config_load(cfg.source, &acfg, err, sizeof err) != CKR_OK) {
        errf("configuration: %s", err);
        goto out;
    }
    if (!key_file && acfg.key_file[0])
        key_file = acfg.key_file;
    if (verify && key_file && audit_key_load(key_file, &key, &keylen, err, sizeof err) != CKR_OK) {
        errf("%s", err);
        goto out;
    }
    unsigned long one;
    if (o->token || o->slot) {
        if (tokdir_find(cfg.token_dir, o->token, o->slot, &one))
            goto out;
        tv = calloc(1, sizeof *tv);
        if (!tv)
            goto out;
        tv[0].slot = one;
        tn = 1;
    } else if (tokdir_list(cfg.token_dir, &tv, &tn)) {
        goto out;
    }
    if (tn == 0) {
        errf("no token in %s", cfg.token_dir);
        goto out;
    }
    rc = EX_OK;
    for (size_t i = 0; i < tn; i++) {
        char pre[64] = "";
        if (tn > 1 || !(o->token || o->slot))
            snprintf(pre, sizeof pre, "slot %lu: ", tv[i].slot);
        if (!verify) {
            if (tn > 1)
                printf("== slot %lu\n", tv[i].slot);
            if (audit_foreach(cfg.token_dir, tv[i].slot, show_one, o) != CKR_OK) {
                errf("cannot read the audit log of slot %lu", tv[i].slot);
                rc = EX_FAIL;
            }
            continue;
        }
        struct audit_verify_result r;
        if (audit_verify_keyed(cfg.token_dir, tv[i].slot, key, keylen, &r) != CKR_OK) {
            errf("%sverification could not run", pre);
            rc = EX_FAIL;
        } else if (r.ok) {
            printf("%sOK: %llu records%s%s%s\n", pre, r.records, r.why[0] ? " (" : "", r.why,
                   r.why[0] ? ")" : "");
        } else {
            printf("%sFAILED at seq %llu: %s (%llu records verified before it)\n", pre,
                   r.bad_seq, r.why, r.records);
            rc = EX_FAIL;
        }
    }
out:
    free(tv);
    audit_key_free(key);
    ossl_close();
    return rc;
}

/* ---- config check ---- */

static const char *level_name(int l)
{
    static const char *const n[] = { "none", "error", "warning", "info", "debug" };
    return l >= 0 && l <= 4 ? n[l] : "?";
}

int cmd_config(struct opts *o)
{
    if (o->nargs != 1 || strcmp(o->args[0], "check")) {
        errf("say 'config check'");
        return EX_USAGE;
    }
    struct config c;
    struct audit_config a;
    char err[512] = "";
    if (config_load(&c, err, sizeof err)) {
        fprintf(stderr, "craton-util config: %s\n", err);
        printf("configuration: INVALID\n");
        return EX_FAIL;
    }
    if (audit_config_load(c.source, &a, err, sizeof err) != CKR_OK) {
        fprintf(stderr, "craton-util config: %s\n", err);
        printf("configuration: INVALID\n");
        return EX_FAIL;
    }
    printf("# configuration file: %s\n", c.source[0] ? c.source : "(none: built-in defaults)");
    const char *env[] = { "CRATON_CONFIG", "CRATON_TOKEN_DIR", "CRATON_LOG", "CRATON_LOG_FILE" };
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
        const char *v = getenv(env[i]);
        if (v && *v)
            printf("# environment: %s=%s\n", env[i], v);
    }
    printf("[store]\ntoken_dir = %s\nexclusive = %s\nsynchronous = %s\n", c.token_dir,
           c.exclusive ? "true" : "false", c.sync_full ? "full" : "normal");
    printf("[pin]\npbkdf2_iterations = %lu\nmax_failures = %lu\nmin_length = %lu\n"
           "max_length = %lu\n",
           c.pbkdf2_iterations, c.max_failures, c.pin_min_length, c.pin_max_length);
    printf("[policy]\nfips_approved_only = %s\nrsa_min_bits = %lu\nmax_sessions = %lu\n"
           "max_objects = %lu\n",
           c.fips_approved_only ? "true" : "false", c.rsa_min_bits, c.max_sessions,
           c.max_objects);
    printf("[log]\nlevel = %s\nfile = %s\n", level_name(c.log_level),
           c.log_file[0] ? c.log_file : "(stderr)");
    static const char *const sync[] = { "always", "interval", "none" };
    printf("[audit]\nenabled = %s\nlevel = %s\nsync = %s\ninterval_ms = %lu\n"
           "rotate_bytes = %lu\nfail_open_non_key = %s\nkey_file = %s\ntail_every = %lu\n",
           a.enabled ? "true" : "false", a.level == AUDIT_LEVEL_ALL ? "all" : "auth+admin",
           sync[a.sync], a.interval_ms, a.rotate_bytes, a.required_for_non_key ? "false" : "true",
           a.key_file[0] ? a.key_file : "(none: plain SHA-256 chain)", a.tail_every);
    printf("configuration: OK\n");
    return EX_OK;
}
