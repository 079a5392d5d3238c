/* The [audit] section of the configuration file and the keyed chain's key file. */
#include "audit/record.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- [audit] configuration ---- */

void audit_config_defaults(struct audit_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->level = AUDIT_LEVEL_ALL;
    cfg->sync = AUDIT_SYNC_ALWAYS;
    cfg->interval_ms = 1000;
    cfg->sync_per_use = AUDIT_SYNC_INTERVAL;
    cfg->sync_objects = AUDIT_SYNC_INTERVAL;
    cfg->rotate_bytes = 16UL << 20;
    cfg->required_for_non_key = true;
    cfg->enabled = true;
    cfg->tail_every = 4096;
}

struct cfg_state {
    struct audit_config *cfg;
    char *err;
    size_t errlen;
    int failed;
};

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") || !strcasecmp(v, "on"))
        *out = true;
    else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0") ||
             !strcasecmp(v, "off"))
        *out = false;
    else
        return -1;
    return 0;
}

/* A whole number with an optional k/m/g (binary) suffix. */
static int parse_size(const char *v, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    if (!*v || *v == '-')
        return -1;
    unsigned long x = strtoul(v, &end, 10);
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift)
        end++;
    if (errno || end == v || *end || x > (max >> shift))
        return -1;
    *out = x << shift;
    return 0;
}

static int on_audit_entry(void *user, const char *section, const char *name, const char *value)
{
    struct cfg_state *st = user;
    struct audit_config *c = st->cfg;
    if (st->failed || strcasecmp(section, "audit"))
        return 1;
    int bad = 0;
    if (!strcasecmp(name, "enabled")) {
        bad = parse_bool(value, &c->enabled);
    } else if (!strcasecmp(name, "level")) {
        if (!strcasecmp(value, "all"))
            c->level = AUDIT_LEVEL_ALL;
        else if (!strcasecmp(value, "auth+admin"))
            c->level = AUDIT_LEVEL_AUTH_ADMIN;
        else
            bad = 1;
    } else if (!strcasecmp(name, "sync") || !strcasecmp(name, "sync_per_use") ||
               !strcasecmp(name, "sync_objects")) {
        enum audit_sync *dst = !strcasecmp(name, "sync")           ? &c->sync
                               : !strcasecmp(name, "sync_per_use") ? &c->sync_per_use
                                                                   : &c->sync_objects;
        if (!strcasecmp(value, "always"))
            *dst = AUDIT_SYNC_ALWAYS;
        else if (!strcasecmp(value, "interval"))
            *dst = AUDIT_SYNC_INTERVAL;
        else if (!strcasecmp(value, "none"))
            *dst = AUDIT_SYNC_NONE;
        else
            bad = 1;
    } else if (!strcasecmp(name, "interval_ms")) {
        bad = parse_size(value, 3600000UL, &c->interval_ms) || c->interval_ms == 0;
    } else if (!strcasecmp(name, "rotate_bytes")) {
        bad = parse_size(value, 1UL << 40, &c->rotate_bytes) ||
              (c->rotate_bytes && c->rotate_bytes < 4096);
    } else if (!strcasecmp(name, "fail_open_non_key")) {
        bool open_ = false;
        bad = parse_bool(value, &open_);
        c->required_for_non_key = !open_;
    } else if (!strcasecmp(name, "key_file")) {
        bad = strlen(value) >= sizeof c->key_file || (value[0] && value[0] != '/');
        if (!bad)
            snprintf(c->key_file, sizeof c->key_file, "%s", value);
    } else if (!strcasecmp(name, "tail_every")) {
        bad = parse_size(value, 1UL << 30, &c->tail_every) || c->tail_every == 0;
    } else {
        snprintf(st->err, st->errlen, "unknown key audit.%s", name);
        st->failed = 1;
        return 0;
    }
    if (bad) {
        snprintf(st->err, st->errlen, "audit.%s: invalid value", name);
        st->failed = 1;
        return 0;
    }
    return 1;
}

CK_RV audit_config_load(const char *ini_path, struct audit_config *cfg, char *err, size_t errlen)
{
    audit_config_defaults(cfg);
    if (!ini_path || !ini_path[0])
        return CKR_OK;
    struct cfg_state st = { cfg, err, errlen, 0 };
    int line = ini_parse(ini_path, on_audit_entry, &st);
    if (st.failed)
        return CKR_ARGUMENTS_BAD;
    if (line < 0) {
        snprintf(err, errlen, "cannot read config file %s", ini_path);
        return CKR_ARGUMENTS_BAD;
    }
    if (line > 0) {
        snprintf(err, errlen, "config file %s: syntax error on line %d", ini_path, line);
        return CKR_ARGUMENTS_BAD;
    }
    return CKR_OK;
}

/* ---- key files ---- */

CK_RV audit_key_load(const char *path, uint8_t **key, size_t *len, char *err, size_t errlen)
{
    CK_RV rv = CKR_ARGUMENTS_BAD;
    uint8_t *raw = secmem_alloc(129), *k = secmem_alloc(32);
    int fd = -1;
    *key = NULL;
    *len = 0;
    if (!raw || !k) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb)) {
        snprintf(err, errlen, "audit key file %s: %s", path, strerror(errno));
        goto out;
    }
    /* A key others can read is no key: whoever reads it can rebuild the chain. */
    if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
        snprintf(err, errlen, "audit key file %s: must be a regular file of mode 0600 or 0400",
                 path);
        goto out;
    }
    ssize_t n = read(fd, raw, 129);
    if (n == 32) {
        memcpy(k, raw, 32);
    } else {
        while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
            n--;
        if (n != 64) {
            snprintf(err, errlen, "audit key file %s: expected 32 bytes or 64 hex digits", path);
            goto out;
        }
        for (int i = 0; i < 32; i++) {
            int hi = hex_digit(raw[2 * i]), lo = hex_digit(raw[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                snprintf(err, errlen, "audit key file %s: expected 64 hex digits", path);
                goto out;
            }
            k[i] = (uint8_t)(hi * 16 + lo);
        }
    }
    *key = k;
    *len = 32;
    k = NULL;
    rv = CKR_OK;
out:
    if (fd >= 0)
        close(fd);
    secmem_free(raw);
    secmem_free(k);
    return rv;
}

void audit_key_free(uint8_t *key)
{
    secmem_free(key);
}
