/* Config loading: one table of keys drives parsing, defaults and validation. */
#include "base/config.h"
#include "base/log.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum kind { K_PATH, K_BOOL, K_ULONG, K_LEVEL, K_SYNC, K_GCMIV };

struct key {
    const char *section, *name;
    enum kind kind;
    size_t offset;
    unsigned long min, max; /* K_ULONG bounds */
};

#define OFF(f) offsetof(struct config, f)
static const struct key keys[] = {
    { "store", "token_dir", K_PATH, OFF(token_dir), 0, 0 },
    { "store", "exclusive", K_BOOL, OFF(exclusive), 0, 0 },
    { "store", "synchronous", K_SYNC, OFF(sync_full), 0, 0 },
    { "pin", "pbkdf2_iterations", K_ULONG, OFF(pbkdf2_iterations), 1000, 100000000 },
    { "pin", "max_failures", K_ULONG, OFF(max_failures), 1, 1000 },
    { "pin", "min_length", K_ULONG, OFF(pin_min_length), 1, 255 },
    { "pin", "max_length", K_ULONG, OFF(pin_max_length), 1, 255 },
    { "policy", "fips_approved_only", K_BOOL, OFF(fips_approved_only), 0, 0 },
    { "policy", "rsa_min_bits", K_ULONG, OFF(rsa_min_bits), 1024, 16384 },
    { "policy", "max_sessions", K_ULONG, OFF(max_sessions), 1, 1000000 },
    { "policy", "max_objects", K_ULONG, OFF(max_objects), 1, 100000000 },
    { "policy", "gcm_iv", K_GCMIV, OFF(gcm_generate_iv), 0, 0 },
    { "policy", "gcm_limit", K_ULONG, OFF(gcm_limit), 1, 2147483648UL },
    { "log", "level", K_LEVEL, OFF(log_level), 0, 0 },
    { "log", "file", K_PATH, OFF(log_file), 0, 0 },
};

struct parse_state {
    struct config *cfg;
    char *err;
    size_t errlen;
    int failed;
};

static int set_value(struct config *cfg, const struct key *k, const char *value, char *err,
                     size_t errlen)
{
    char *field = (char *)cfg + k->offset;
    switch (k->kind) {
    case K_PATH:
        if (strlen(value) >= CONFIG_PATH_MAX) {
            snprintf(err, errlen, "%s.%s: path too long", k->section, k->name);
            return -1;
        }
        strcpy(field, value);
        return 0;
    case K_BOOL:
        if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcmp(value, "1") ||
            !strcasecmp(value, "on"))
            *(bool *)field = true;
        else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") ||
                 !strcmp(value, "0") || !strcasecmp(value, "off"))
            *(bool *)field = false;
        else {
            snprintf(err, errlen, "%s.%s: expected true or false", k->section, k->name);
            return -1;
        }
        return 0;
    case K_SYNC:
        if (!strcasecmp(value, "normal"))
            *(bool *)field = false;
        else if (!strcasecmp(value, "full"))
            *(bool *)field = true;
        else {
            snprintf(err, errlen, "%s.%s: expected normal or full", k->section, k->name);
            return -1;
        }
        return 0;
    case K_GCMIV:
        if (!strcasecmp(value, "caller"))
            *(bool *)field = false;
        else if (!strcasecmp(value, "generate"))
            *(bool *)field = true;
        else {
            snprintf(err, errlen, "%s.%s: expected caller or generate", k->section, k->name);
            return -1;
        }
        return 0;
    case K_ULONG: {
        char *end;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (errno || end == value || *end || value[0] == '-' || v < k->min || v > k->max) {
            snprintf(err, errlen, "%s.%s: expected a whole number from %lu to %lu", k->section,
                     k->name, k->min, k->max);
            return -1;
        }
        *(unsigned long *)field = v;
        return 0;
    }
    case K_LEVEL: {
        enum log_level lvl;
        if (log_level_parse(value, &lvl)) {
            snprintf(err, errlen, "%s.%s: expected none, error, warning, info or debug",
                     k->section, k->name);
            return -1;
        }
        *(int *)field = (int)lvl;
        return 0;
    }
    }
    return -1;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *st = user;
    if (st->failed)
        return 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!strcasecmp(section, keys[i].section) && !strcasecmp(name, keys[i].name)) {
            if (set_value(st->cfg, &keys[i], value, st->err, st->errlen)) {
                st->failed = 1;
                return 0;
            }
            return 1;
        }
    }
    /* Unknown sections belong to later versions or other parts (audit, policy) of the file
     * and are ignored there; an unknown key in a known section is a typo worth stopping for. */
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!strcasecmp(section, keys[i].section)) {
            snprintf(st->err, st->errlen, "unknown key %s.%s", section, name);
            st->failed = 1;
            return 0;
        }
    }
    return 1;
}

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->pbkdf2_iterations = 600000;
    cfg->max_failures = 10;
    cfg->pin_min_length = 4;
    cfg->pin_max_length = 255;
    cfg->log_level = LOG_LVL_WARNING;
    cfg->rsa_min_bits = 2048;
    cfg->max_sessions = 65536;
    cfg->max_objects = 1000000;
    cfg->gcm_limit = 2147483648UL; /* 2^31: half the SP 800-38D bound for random IVs */
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(cfg->token_dir, sizeof cfg->token_dir, "%s/craton/tokens", xdg);
    else if (home && *home)
        snprintf(cfg->token_dir, sizeof cfg->token_dir, "%s/.local/share/craton/tokens", home);
    else
        snprintf(cfg->token_dir, sizeof cfg->token_dir, "/tmp/craton-%ld/tokens", (long)getuid());
}

static int pick_file(char *out, size_t outlen)
{
    const char *env = getenv("CRATON_CONFIG");
    if (env && *env) {
        snprintf(out, outlen, "%s", env);
        return 1; /* named explicitly: it must exist */
    }
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(out, outlen, "%s/craton/craton.conf", xdg);
    else if (home && *home)
        snprintf(out, outlen, "%s/.config/craton/craton.conf", home);
    else
        out[0] = 0;
    if (out[0] && access(out, F_OK) == 0)
        return 0;
    snprintf(out, outlen, "/etc/craton/craton.conf");
    if (access(out, F_OK) == 0)
        return 0;
    out[0] = 0;
    return 0;
}

int config_load(struct config *cfg, char *err, size_t errlen)
{
    config_defaults(cfg);
    char path[CONFIG_PATH_MAX];
    int must_exist = pick_file(path, sizeof path);
    if (path[0]) {
        FILE *f = fopen(path, "re");
        if (!f) {
            if (must_exist) {
                snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
                return -1;
            }
        } else {
            struct parse_state st = { cfg, err, errlen, 0 };
            int line = ini_parse_file(f, on_entry, &st);
            fclose(f);
            if (st.failed) {
                char reason[256];
                snprintf(reason, sizeof reason, "%s", err);
                snprintf(err, errlen, "config file %s: %s", path, reason);
                return -1;
            }
            if (line != 0) {
                snprintf(err, errlen, "config file %s: syntax error on line %d", path, line);
                return -1;
            }
            snprintf(cfg->source, sizeof cfg->source, "%s", path);
        }
    }
    const char *dir = getenv("CRATON_TOKEN_DIR");
    if (dir && *dir) {
        if (strlen(dir) >= sizeof cfg->token_dir) {
            snprintf(err, errlen, "CRATON_TOKEN_DIR is too long");
            return -1;
        }
        strcpy(cfg->token_dir, dir);
    }
    const char *lvl = getenv("CRATON_LOG");
    if (lvl && *lvl) {
        enum log_level l;
        if (log_level_parse(lvl, &l)) {
            snprintf(err, errlen, "CRATON_LOG: expected none, error, warning, info or debug");
            return -1;
        }
        cfg->log_level = (int)l;
    }
    const char *lf = getenv("CRATON_LOG_FILE");
    if (lf && *lf)
        snprintf(cfg->log_file, sizeof cfg->log_file, "%s", lf);
    if (cfg->pin_min_length > cfg->pin_max_length) {
        snprintf(err, errlen, "pin.min_length is larger than pin.max_length");
        return -1;
    }
    if (cfg->fips_approved_only && cfg->rsa_min_bits < 2048) {
        snprintf(err, errlen, "policy.rsa_min_bits below 2048 contradicts fips_approved_only");
        return -1;
    }
    if (cfg->token_dir[0] != '/') {
        snprintf(err, errlen, "store.token_dir must be an absolute path");
        return -1;
    }
    return 0;
}
