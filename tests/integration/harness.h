/*
 * Craton integration test harness.
 *
 * Loads the module the way an application does (dlopen + C_GetInterface),
 * never links it.  Each test gets a fresh temp directory holding a config
 * file and a token directory; CRATON_CONFIG and CRATON_TOKEN_DIR point at it
 * before C_Initialize.
 */
#ifndef CRATON_ITEST_HARNESS_H
#define CRATON_ITEST_HARNESS_H

#include <stddef.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <sys/types.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

#include "pkcs11.h"

#define H_SO_PIN "87654321"
#define H_USER_PIN "123456"
#define H_LABEL "craton-itest"

#define H_PIN(s) ((CK_UTF8CHAR_PTR)(s)), ((CK_ULONG)(sizeof(s) - 1))

/* Loaded function tables (valid after h_load()). */
extern CK_FUNCTION_LIST_3_0_PTR F;  /* "PKCS 11" 3.0 interface */
extern CK_FUNCTION_LIST_PTR F2;     /* from C_GetFunctionList */
extern CK_C_GetInterfaceList h_GetInterfaceList;
extern CK_C_GetInterface h_GetInterface;
extern CK_C_GetFunctionList h_GetFunctionList;

typedef struct h_env {
    char dir[PATH_MAX / 2];   /* temp root */
    char token_dir[PATH_MAX]; /* root/tokens */
    char config[PATH_MAX];    /* root/craton.conf */
} h_env;

/* Load the module from $CRATON_MODULE (aborts the process with a message
 * when it cannot: a missing module is a test failure, not a skip). */
void h_load(void);

/* Create a fresh temp dir + config (pbkdf2_iterations=1000, given
 * max_failures, min 4 / max 255 PIN length), export CRATON_CONFIG and
 * CRATON_TOKEN_DIR.  Returns 0 on success. */
int h_env_create(h_env *env, int max_failures);
/* Rewrite the config file with the given [pin] max_failures. */
int h_env_write_config(const h_env *env, int max_failures);
/* Export the env vars for env again (e.g. in a child). */
void h_env_export(const h_env *env);
/* Recursively remove env->dir. */
void h_env_destroy(h_env *env);

/* Slot helpers (need C_Initialize done). */
CK_RV h_slots(CK_SLOT_ID **slots, CK_ULONG *count); /* all slots, malloc'd */
CK_RV h_free_slot(CK_SLOT_ID *slot);                 /* the last slot */
/* C_InitToken on the free slot with H_SO_PIN and the given label. */
CK_RV h_init_token(const char *label, CK_SLOT_ID *slot);
/* Open R/W, login SO, C_InitPIN(H_USER_PIN), logout, close. */
CK_RV h_init_user_pin(CK_SLOT_ID slot);
/* Open a session (serial always added; rw selects CKF_RW_SESSION). */
CK_RV h_open(CK_SLOT_ID slot, int rw, CK_SESSION_HANDLE *h);
/* Open a session and log in as user with H_USER_PIN. */
CK_RV h_open_login(CK_SLOT_ID slot, int rw, CK_USER_TYPE who, CK_SESSION_HANDLE *h);
/* C_Initialize(NULL) + token + user PIN; returns the token's slot. */
CK_RV h_setup_token(CK_SLOT_ID *slot);
/* Blank-padded field helper. */
void h_pad(CK_UTF8CHAR *dst, size_t n, const char *s);
/* Session state of a session (or (CK_STATE)-1 on error). */
CK_STATE h_state(CK_SESSION_HANDLE h);
/* Token flags of a slot (0 on error). */
CK_FLAGS h_token_flags(CK_SLOT_ID slot);

/* Objects */
CK_RV h_create_data(CK_SESSION_HANDLE h, CK_BBOOL token, CK_BBOOL priv,
                    const char *label, const void *value, size_t vlen,
                    CK_OBJECT_HANDLE *obj);
/* Find all objects matching tmpl (max out_max), returns count in *n. */
CK_RV h_find(CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG count,
             CK_OBJECT_HANDLE *out, CK_ULONG out_max, CK_ULONG *n);
/* Count objects with a given CKA_LABEL. */
CK_ULONG h_count_label(CK_SESSION_HANDLE h, const char *label);

/* Processes.  h_run_self() fork+execs /proc/self/exe with the given
 * arguments (NULL terminated) and returns the pid (or -1).
 * h_wait() returns the exit status (or 128+signal, or -1). */
pid_t h_run_self(const char *arg0, ...);
int h_wait(pid_t pid);

/* Name of a CKR value for messages. */
const char *h_rv(CK_RV rv);

/* Assertion for CK_RV with readable names (cmocka). */
#define assert_rv(expr, expected)                                              \
    do {                                                                       \
        CK_RV h__got = (expr);                                                 \
        CK_RV h__exp = (expected);                                             \
        if (h__got != h__exp) {                                                \
            print_error("%s:%d: %s returned %s (0x%lx), expected %s (0x%lx)\n", \
                        __FILE__, __LINE__, #expr, h_rv(h__got),               \
                        (unsigned long)h__got, h_rv(h__exp),                   \
                        (unsigned long)h__exp);                                \
            fail();                                                            \
        }                                                                      \
    } while (0)

#define assert_ok(expr) assert_rv((expr), CKR_OK)

/* For child processes (no cmocka): report and return 1 from function. */
#define CHILD_RV(expr, expected)                                               \
    do {                                                                       \
        CK_RV c__got = (expr);                                                 \
        CK_RV c__exp = (expected);                                             \
        if (c__got != c__exp) {                                                \
            fprintf(stderr, "child %d %s:%d: %s returned %s, expected %s\n",   \
                    (int)getpid(), __FILE__, __LINE__, #expr, h_rv(c__got),    \
                    h_rv(c__exp));                                             \
            return 1;                                                          \
        }                                                                      \
    } while (0)

#define CHILD_TRUE(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "child %d %s:%d: check failed: %s\n",              \
                    (int)getpid(), __FILE__, __LINE__, #cond);                 \
            return 1;                                                          \
        }                                                                      \
    } while (0)

/* Common cmocka fixtures: fresh env + C_Initialize + token + user PIN.
 * state points to a struct h_fixture. */
typedef struct h_fixture {
    h_env env;
    CK_SLOT_ID slot;
} h_fixture;

int h_fixture_setup(void **state);        /* env + init + token + user PIN */
int h_fixture_setup_bare(void **state);   /* env only (no C_Initialize) */
int h_fixture_setup_init(void **state);   /* env + C_Initialize, no token */
int h_fixture_teardown(void **state);     /* C_Finalize (ignored) + rm env */

#endif
