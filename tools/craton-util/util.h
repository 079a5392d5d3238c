/* craton-util: shared declarations. The tool drives libcraton.so through PKCS#11 (dlopen) for
 * everything PKCS#11 can do; it reaches into the library's internals (linked statically) only
 * for what PKCS#11 cannot do: the configuration, the token directory, backup/restore and the
 * audit log. */
#ifndef CRATON_UTIL_H
#define CRATON_UTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pkcs11.h"

/* Exit statuses (docs/craton-util.md). */
enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_PIN = 3 };

#define PIN_MAX 256

struct opts {
    const char *module, *token, *label, *id, *uid, *slot, *pin_file, *new_pin_file, *out, *in,
        *aes, *type, *softhsm_conf, *softhsm_module, *softhsm_token, *softhsm_pin_file,
        *pass_file, *key_file, *since, *until, *op, *result;
    bool so, json, force, pub, cert, all, login, hashes;
    const char *args[64];
    int nargs;
};

struct command {
    const char *name;
    const char *options; /* space-separated long option names this command accepts */
    const char *usage;   /* usage lines after "craton-util " */
    const char *help;    /* what it does, printed by --help */
    int (*run)(struct opts *o);
};

/* ---- main.c / common.c ---- */
extern const char *g_cmd; /* the running command, for messages */
void errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *rv_name(CK_RV rv);

/* The module: --module, else the build tree's library, else the installed one. */
int p11_load(const char *path, void **dl, CK_FUNCTION_LIST_PTR *f);
void p11_unload(void *dl, CK_FUNCTION_LIST_PTR f);
const char *p11_default_module(void);

/* Blank-padded PKCS#11 text to a C string (trailing blanks cut). */
void p11_str(char *dst, size_t cap, const CK_UTF8CHAR *src, size_t len);
/* The slot holding an initialised token labelled label, or with label NULL the only one;
 * with slot_str set, that slot. Errors are reported. */
int p11_find_token(CK_FUNCTION_LIST_PTR f, const char *label, const char *slot_str,
                   CK_SLOT_ID *slot, CK_TOKEN_INFO *ti);
/* All slots (length in *n, malloc'd). */
int p11_slots(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID **slots, CK_ULONG *n);
int p11_session(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, bool rw, CK_SESSION_HANDLE *s);
/* Logs in as user (CKU_USER) or SO with the PIN from --pin-file, the environment (CRATON_PIN /
 * CRATON_SO_PIN) or a prompt. */
int p11_login(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_USER_TYPE who,
              const struct opts *o, const char *token_label);

/* PINs: the file, else the environment variable env, else a prompt on the terminal without
 * echo. buf gets a NUL-terminated PIN; *len its length. */
int pin_get(const char *file, const char *env, const char *prompt, char *buf, size_t *len);
/* A new PIN: the file, else env, else prompted twice. */
int pin_get_new(const char *file, const char *env, const char *prompt, char *buf, size_t *len);
bool pin_available(const char *file, const char *env);
void pin_wipe(char *buf);

/* Attributes */
int attr_get(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
             CK_ATTRIBUTE_TYPE t, uint8_t **val, CK_ULONG *len); /* 0, 1 unavailable, -1 */
bool attr_ulong(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                CK_ATTRIBUTE_TYPE t, CK_ULONG *v);
bool attr_bool(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
               CK_ATTRIBUTE_TYPE t, bool *v);
/* Finds objects by template (malloc'd handles). */
int p11_find(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n,
             CK_OBJECT_HANDLE **out, CK_ULONG *count);

/* Hex */
int hex_decode(const char *hex, uint8_t **out, size_t *len);
void hex_print(FILE *fp, const uint8_t *p, size_t n);

/* Files */
int file_read(const char *path, uint8_t **buf, size_t *len, size_t max);
/* Writes data to path through a temporary file and rename(); mode for the new file. */
int file_write_atomic(const char *path, const uint8_t *data, size_t len, unsigned mode,
                      bool overwrite);

/* Progress bar on stderr when it is a terminal. */
struct progress {
    const char *what;
    uint64_t total, done;
    int last;
    bool on;
};
void progress_start(struct progress *p, const char *what, uint64_t total);
void progress_set(struct progress *p, uint64_t done);
void progress_end(struct progress *p);
/* Clears the bar before a line is printed; the next progress_set draws it again. */
void progress_clear(struct progress *p);

/* Token directory (internals): the effective token_dir, and slot/label of its tokens. */
int util_config(char *token_dir, size_t cap, char *source, size_t scap);
struct tokdir_entry {
    unsigned long slot;
    char label[33];
    uint8_t uuid[16];
};
/* Every slot-N.db in dir whose token row reads (malloc'd). */
int tokdir_list(const char *dir, struct tokdir_entry **out, size_t *n);
/* The slot of the token labelled label (or slot_str); -1 with an error printed. */
int tokdir_find(const char *dir, const char *label, const char *slot_str, unsigned long *slot);

/* ---- commands ---- */
int cmd_init_token(struct opts *o);
int cmd_delete_token(struct opts *o);
int cmd_show_slots(struct opts *o);
int cmd_change_pin(struct opts *o);
int cmd_init_pin(struct opts *o);
int cmd_list_objects(struct opts *o);
int cmd_export(struct opts *o);
int cmd_delete_object(struct opts *o);
int cmd_import(struct opts *o);
int cmd_backup(struct opts *o);
int cmd_restore(struct opts *o);
int cmd_migrate_softhsm(struct opts *o);
int cmd_audit(struct opts *o);
int cmd_config(struct opts *o);

/* Helpers shared by objects.c, import.c and migrate.c */
const char *class_name(CK_OBJECT_CLASS c);
const char *key_type_name(CK_KEY_TYPE k);
/* Key size in bits from the object's attributes, 0 when unknown. */
unsigned long key_bits(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                       CK_OBJECT_CLASS cls, CK_KEY_TYPE kt);
#endif
