/* Module configuration: an INI file (CRATON_CONFIG, else $XDG_CONFIG_HOME/craton/craton.conf,
 * else /etc/craton/craton.conf), then environment overrides, then built-in defaults. */
#ifndef CRATON_BASE_CONFIG_H
#define CRATON_BASE_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

#define CONFIG_PATH_MAX 4096

struct config {
    char token_dir[CONFIG_PATH_MAX];
    bool exclusive;
    bool sync_full;             /* store.synchronous: "normal" (WAL default) or "full" */
    unsigned long pbkdf2_iterations;
    unsigned long max_failures;
    unsigned long pin_min_length;
    unsigned long pin_max_length;
    int log_level;              /* enum log_level */
    char log_file[CONFIG_PATH_MAX];
    bool fips_approved_only;    /* policy: only approved mechanisms and key sizes */
    unsigned long rsa_min_bits; /* policy: smallest RSA modulus generated or used */
    unsigned long max_sessions; /* per process */
    unsigned long max_objects;  /* token objects per token */
    bool gcm_generate_iv;       /* policy gcm_iv = generate: the token writes every GCM IV */
    unsigned long gcm_limit;    /* AES-GCM encryptions allowed per key (2^31) */
    char source[CONFIG_PATH_MAX]; /* the file read, or "" when only defaults apply */
};

/* Fills cfg. On a bad file or value: returns -1 and writes a one-line reason to err. */
int config_load(struct config *cfg, char *err, size_t errlen);
/* Defaults alone, without reading anything. */
void config_defaults(struct config *cfg);
#endif
