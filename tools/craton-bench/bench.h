/* craton-bench: shared declarations.
 *
 * Every case runs one operation in a loop for --seconds, through the PKCS#11 module ("module
 * side") and through raw libcrypto with an in-process key ("raw side"), alternating module rep,
 * raw rep, module rep, ... --reps times. The table shows the medians and their ratio. */
#ifndef CRATON_BENCH_H
#define CRATON_BENCH_H

#include <stddef.h>
#include <stdio.h>

#include "pkcs11.h"

#define BENCH_MAX_REPS 64
#define BENCH_MAX_THREADS 64

/* ---- options and the module ---------------------------------------------------------- */
struct options {
    const char *module;
    const char *pin, *so_pin, *token_label, *init_args, *json, *only;
    double seconds;
    int threads, reps;
    long max_objects; /* caps the object counts (smoke tests); 0: none */
    int session_keys; /* the keys most cases share are session objects, not token objects */
    unsigned long pbkdf2_iterations; /* for the cold-start PBKDF2 reference */
    int pbkdf2_len;                  /* bytes it derives (64 = two PBKDF2 chains) */
};

struct bench {
    struct options opt;
    CK_FUNCTION_LIST_PTR p;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE sess; /* the main RW session, user logged in */
    int logged_in;
    char token_label[33], manufacturer[33], library[33];
};
extern struct bench G;

/* ---- the runner's view of one side of a case ------------------------------------------- */
struct worker {
    void *shared;           /* the case's state (keys, buffers) */
    void *local;            /* per-worker state from local_new, or NULL */
    CK_SESSION_HANDLE sess; /* module side: the session this worker uses */
    unsigned id;            /* worker number (threads) */
    unsigned long long counter; /* ops done so far by this worker (fresh IVs) */
};

struct side {
    CK_RV (*op)(struct worker *w); /* one operation; CKR_OK (0) on success */
    void *(*local_new)(void *shared);
    void (*local_free)(void *local);
    void (*after_rep)(void *shared); /* untimed clean-up after each rep (keygen: destroy) */
    void *shared;
};

enum unit { U_OPS, U_MBS, U_MS };

/* A case's setup fills this; the runner then times mod and raw. */
struct case_run {
    struct side mod, raw;
    int has_raw;
    char note[160];      /* shown in the table's note column */
    void (*cleanup)(struct case_run *r);
    void *cleanup_arg;
};

/* Results of a case that does its own timing (objects, cold start). */
struct result {
    int status; /* 0 ok, 1 unsupported, 2 error */
    char why[96];
    enum unit unit;
    double mod, raw, ratio;   /* medians; raw < 0: none */
    double mod_reps[BENCH_MAX_REPS], raw_reps[BENCH_MAX_REPS];
    int nreps;
    /* threaded cases */
    double mod1, raw1, mod_scale, raw_scale;
    char note[200];
};

struct case_def {
    const char *name;
    enum unit unit;
    double bytes;    /* bytes per op, for MB/s */
    int flags;
    CK_RV (*setup)(struct case_run *r, const struct case_def *c);
    /* instead of setup: a case that measures itself */
    void (*custom)(const struct case_def *c, struct result *res);
    long param;
};
#define CF_OPT_IN 1   /* run only when named in --only */
#define CF_THREADED 2 /* 1 and T threads, shared key */

/* ---- main.c ---------------------------------------------------------------------------- */
double now_s(void);
double median(double *v, int n);
double rss_mib(void); /* this process's resident set, MiB */
/* Runs one side for `seconds`; returns ops per second or -1 with *err set. */
double run_side(const struct side *s, int threads, int module_side, double seconds, CK_RV *err);

/* ---- p11.c ----------------------------------------------------------------------------- */
const char *rv_name(CK_RV rv);
int rv_unsupported(CK_RV rv);
CK_RV p11_load_only(const char *path, CK_FUNCTION_LIST_PTR *out); /* dlopen + C_GetFunctionList */
CK_RV p11_load(const char *path, const char *init_args, CK_FUNCTION_LIST_PTR *out);
/* Picks the slot (by label, or the best initialised token); *uninit set when none is. */
CK_RV p11_pick_slot(CK_FUNCTION_LIST_PTR p, const char *label, CK_SLOT_ID *slot, int *uninit);
CK_RV p11_setup_token(void);     /* fills G.slot, G.sess, logs in; inits the token if needed */
CK_RV p11_open(CK_SESSION_HANDLE *s);
CK_RV p11_mech(CK_MECHANISM_TYPE m);  /* CKR_OK when the token lists the mechanism */
CK_RV p11_gen_secret(CK_MECHANISM_TYPE mech, CK_BBOOL token, CK_ULONG len, CK_OBJECT_HANDLE *h);
CK_RV p11_gen_rsa(CK_SESSION_HANDLE s, CK_BBOOL token, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);
CK_RV p11_gen_ec(CK_SESSION_HANDLE s, CK_BBOOL token, int ed25519, CK_OBJECT_HANDLE *pub,
                 CK_OBJECT_HANDLE *priv);
CK_RV p11_destroy(CK_OBJECT_HANDLE h);
/* The token keys that several cases share, made on first use and destroyed at exit. */
enum shared_key { K_AES, K_HMAC, K_RSA, K_EC, K_EC_SESSION, K_ED25519, K_COUNT };
CK_RV p11_shared_key(enum shared_key k, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);
void p11_destroy_shared_keys(void);
/* Handle list for keygen cases. */
struct handles {
    CK_OBJECT_HANDLE *h;
    size_t n, cap;
};
void handles_add(struct handles *l, CK_OBJECT_HANDLE h);
void handles_destroy(struct handles *l);

/* ---- cases ------------------------------------------------------------------------------ */
extern const struct case_def cases_sym[], cases_asym[], cases_obj[];
extern const size_t n_cases_sym, n_cases_asym, n_cases_obj;
int cold_start_child(int argc, char **argv); /* case_obj.c: the --cold-start-child process */
void objects_cleanup(void);                  /* destroys the bench objects still present */

#endif
