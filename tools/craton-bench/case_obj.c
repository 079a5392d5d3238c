/* craton-bench: token objects. Create N, find one by label or by CKA_ID among them, cold start
 * (a new process: load + C_Initialize + C_OpenSession + C_Login + first find), destroy.
 *
 * The objects are private, sensitive AES-256 token keys made with C_CreateObject, labelled
 * "craton-bench-obj-NNNNNN" with CKA_ID "cbNNNNNN". "objects-create-N" grows the token to N such
 * objects (the rate is that of the creates it made, in --reps chunks); the find cases create
 * what is missing first, untimed. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bench.h"

#define LABEL_PREFIX "craton-bench-obj-"

static CK_OBJECT_HANDLE *objs;
static long nobj, capobj;
static int scanned;

static void make_label(char *b, size_t n, long i)
{
    snprintf(b, n, LABEL_PREFIX "%06ld", i);
}

static void make_id(char *b, size_t n, long i)
{
    snprintf(b, n, "cb%06ld", i);
}

/* --max-objects M (smoke tests): 10,000 becomes M, the other counts in proportion. */
static long scaled(long n)
{
    long m = G.opt.max_objects;
    if (m <= 0 || m >= 10000)
        return n;
    n = n * m / 10000;
    return n > 0 ? n : 1;
}

/* Objects a crashed or interrupted earlier run left behind would skew the counts. */
static void remove_leftovers(void)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls } };
    CK_OBJECT_HANDLE h[256];
    CK_ULONG n;
    struct handles bad = { NULL, 0, 0 };
    if (G.p->C_FindObjectsInit(G.sess, t, 1) != CKR_OK)
        return;
    while (G.p->C_FindObjects(G.sess, h, 256, &n) == CKR_OK && n > 0) {
        for (CK_ULONG i = 0; i < n; i++) {
            char label[64] = "";
            CK_ATTRIBUTE a = { CKA_LABEL, label, sizeof label - 1 };
            if (G.p->C_GetAttributeValue(G.sess, h[i], &a, 1) == CKR_OK &&
                a.ulValueLen != (CK_ULONG)-1 && !strncmp(label, LABEL_PREFIX, strlen(LABEL_PREFIX)))
                handles_add(&bad, h[i]);
        }
    }
    G.p->C_FindObjectsFinal(G.sess);
    if (bad.n)
        fprintf(stderr, "craton-bench: destroying %zu objects left by an earlier run\n", bad.n);
    handles_destroy(&bad);
    free(bad.h);
}

static CK_RV create_one(void)
{
    char label[40], id[16];
    unsigned char value[32];
    make_label(label, sizeof label, nobj);
    make_id(id, sizeof id, nobj);
    RAND_bytes(value, sizeof value);
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt },
        { CKA_TOKEN, &yes, sizeof yes }, { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes }, { CKA_ENCRYPT, &yes, sizeof yes },
        { CKA_DECRYPT, &yes, sizeof yes }, { CKA_LABEL, label, strlen(label) },
        { CKA_ID, id, strlen(id) }, { CKA_VALUE, value, sizeof value },
    };
    CK_OBJECT_HANDLE h;
    CK_RV rv = G.p->C_CreateObject(G.sess, t, sizeof t / sizeof t[0], &h);
    if (rv == CKR_OK) {
        if (nobj == capobj) {
            capobj = capobj ? capobj * 2 : 1024;
            objs = realloc(objs, (size_t)capobj * sizeof *objs);
            if (!objs)
                abort();
        }
        objs[nobj++] = h;
    }
    return rv;
}

/* Creates objects until there are `target`; with res, timed in res->nreps chunks. */
static CK_RV grow_to(long target, struct result *res)
{
    if (!scanned) {
        remove_leftovers();
        scanned = 1;
    }
    long todo = target - nobj;
    if (todo <= 0)
        return CKR_OK;
    int chunks = res ? G.opt.reps : 1;
    if (chunks > todo)
        chunks = (int)todo;
    if (!res && todo >= 2000)
        fprintf(stderr, "craton-bench: creating %ld objects first (untimed)\n", todo);
    for (int c = 0; c < chunks; c++) {
        long n = todo / chunks + (c < todo % chunks);
        double t0 = now_s();
        for (long i = 0; i < n; i++) {
            CK_RV rv = create_one();
            if (rv != CKR_OK)
                return rv;
        }
        if (res) {
            res->mod_reps[c] = (double)n / (now_s() - t0);
            res->nreps = c + 1;
        }
    }
    return CKR_OK;
}

static void set_error(struct result *res, CK_RV rv, const char *what)
{
    res->status = rv_unsupported(rv) ? 1 : 2;
    snprintf(res->why, sizeof res->why, "%s%s", what, rv_name(rv));
}

static void case_create(const struct case_def *c, struct result *res)
{
    res->unit = U_OPS;
    res->raw = res->ratio = -1;
    long before = nobj, want = scaled(c->param);
    if (before >= want) {
        res->status = 2;
        snprintf(res->why, sizeof res->why, "the token already holds %ld bench objects", before);
        return;
    }
    CK_RV rv = grow_to(want, res);
    if (rv != CKR_OK) {
        set_error(res, rv, "C_CreateObject: ");
        return;
    }
    res->mod = median(res->mod_reps, res->nreps);
    snprintf(res->note, sizeof res->note,
             "C_CreateObject, token AES keys %ld -> %ld; process RSS %.1f MiB", before, nobj,
             rss_mib());
}

/* ---- find ------------------------------------------------------------------------------ */

struct find { int by_id; long n; };

static CK_RV m_find(struct worker *w)
{
    struct find *f = w->shared;
    long i = (long)((w->counter * 7919 + w->id * 104729) % (unsigned long long)f->n);
    char v[40];
    if (f->by_id)
        make_id(v, sizeof v, i);
    else
        make_label(v, sizeof v, i);
    CK_ATTRIBUTE t[] = { { f->by_id ? CKA_ID : CKA_LABEL, v, strlen(v) } };
    CK_OBJECT_HANDLE h[2];
    CK_ULONG n = 0;
    CK_RV rv = G.p->C_FindObjectsInit(w->sess, t, 1);
    if (rv)
        return rv;
    rv = G.p->C_FindObjects(w->sess, h, 2, &n);
    CK_RV rv2 = G.p->C_FindObjectsFinal(w->sess);
    if (rv)
        return rv;
    if (rv2)
        return rv2;
    return n == 1 && h[0] == objs[i] ? CKR_OK : CKR_GENERAL_ERROR;
}

static void find_cleanup(struct case_run *r)
{
    free(r->mod.shared);
}

static CK_RV setup_find(struct case_run *r, const struct case_def *c)
{
    long target = scaled(c->param < 0 ? -c->param : c->param);
    CK_RV rv = grow_to(target, NULL);
    if (rv)
        return rv;
    struct find *f = calloc(1, sizeof *f);
    f->by_id = c->param < 0;
    f->n = nobj;
    r->mod.shared = f;
    r->mod.op = m_find;
    r->has_raw = 0;
    r->cleanup = find_cleanup;
    snprintf(r->note, sizeof r->note, "%ld token objects; FindObjectsInit+FindObjects+Final",
             nobj);
    return CKR_OK;
}

/* ---- cold start ---------------------------------------------------------------------------- */

/* argv: --cold-start-child MODULE INIT_ARGS TOKEN_LABEL PIN LABEL_TO_FIND
 * prints "dlopen init open login find" in milliseconds */
int cold_start_child(int argc, char **argv)
{
    if (argc != 7)
        return 2;
    double t0 = now_s();
    CK_FUNCTION_LIST_PTR p;
    /* p11_load does dlopen + C_GetFunctionList + C_Initialize; time them apart */
    double t_load, t_init;
    {
        /* split: dlopen and C_GetFunctionList, then C_Initialize */
        if (p11_load_only(argv[2], &p) != CKR_OK)
            return 1;
        t_load = now_s();
        CK_C_INITIALIZE_ARGS a;
        memset(&a, 0, sizeof a);
        a.flags = CKF_OS_LOCKING_OK;
        a.pReserved = argv[3][0] ? argv[3] : NULL;
        if (p->C_Initialize(&a) != CKR_OK)
            return 1;
        t_init = now_s();
    }
    CK_SLOT_ID slot;
    int uninit;
    if (p11_pick_slot(p, argv[4][0] ? argv[4] : NULL, &slot, &uninit) != CKR_OK)
        return 1;
    CK_SESSION_HANDLE s;
    if (p->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK)
        return 1;
    double t_open = now_s();
    CK_RV rv = p->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)argv[5], strlen(argv[5]));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        CK_TOKEN_INFO ti;
        if (p->C_GetTokenInfo(slot, &ti) != CKR_OK || (ti.flags & CKF_LOGIN_REQUIRED))
            return 1;
    }
    double t_login = now_s();
    CK_ATTRIBUTE t[] = { { CKA_LABEL, argv[6], strlen(argv[6]) } };
    CK_OBJECT_HANDLE h[2];
    CK_ULONG n = 0;
    if (p->C_FindObjectsInit(s, t, 1) != CKR_OK || p->C_FindObjects(s, h, 2, &n) != CKR_OK ||
        p->C_FindObjectsFinal(s) != CKR_OK || n != 1)
        return 1;
    double t_find = now_s();
    printf("%.4f %.4f %.4f %.4f %.4f\n", (t_load - t0) * 1e3, (t_init - t_load) * 1e3,
           (t_open - t_init) * 1e3, (t_login - t_open) * 1e3, (t_find - t_login) * 1e3);
    fflush(stdout);
    p->C_Finalize(NULL);
    return 0;
}

static int run_child(double v[5])
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    char label[40];
    make_label(label, sizeof label, nobj / 2);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl("/proc/self/exe", "craton-bench", "--cold-start-child", G.opt.module,
              G.opt.init_args ? G.opt.init_args : "", G.token_label, G.opt.pin, label, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[256] = "";
    ssize_t got = 0, k;
    while ((k = read(fd[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0)
        got += k;
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return sscanf(buf, "%lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5 ? 0 : -1;
}

static void case_cold(const struct case_def *c, struct result *res)
{
    res->unit = U_MS;
    res->ratio = -1;
    CK_RV rv = grow_to(scaled(c->param), NULL);
    if (rv != CKR_OK) {
        set_error(res, rv, "C_CreateObject: ");
        return;
    }
    double part[5][BENCH_MAX_REPS];
    for (int i = 0; i < G.opt.reps; i++) {
        double v[5];
        if (run_child(v) != 0) {
            res->status = 2;
            snprintf(res->why, sizeof res->why, "the child process failed");
            return;
        }
        for (int j = 0; j < 5; j++)
            part[j][i] = v[j];
        /* raw: the PBKDF2 a login costs at --pbkdf2-iterations, in this process */
        unsigned char out[256];
        double t0 = now_s();
        PKCS5_PBKDF2_HMAC("123456", 6, (const unsigned char *)"saltsaltsaltsalt", 16,
                          (int)G.opt.pbkdf2_iterations, EVP_sha256(), G.opt.pbkdf2_len, out);
        res->raw_reps[i] = (now_s() - t0) * 1e3;
        double login_extra = v[3] - res->raw_reps[i];
        res->mod_reps[i] = v[0] + v[1] + v[2] + v[4] + (login_extra > 0 ? login_extra : 0);
        res->nreps = i + 1;
    }
    double m[5];
    for (int j = 0; j < 5; j++)
        m[j] = median(part[j], res->nreps);
    res->mod = median(res->mod_reps, res->nreps);
    res->raw = median(res->raw_reps, res->nreps);
    snprintf(res->note, sizeof res->note,
             "%ld objects; load %.1f + C_Initialize %.1f + OpenSession %.1f + C_Login %.1f + "
             "find %.1f ms; minus PBKDF2 x%lu, %d bytes (raw column)",
             nobj, m[0], m[1], m[2], m[3], m[4], G.opt.pbkdf2_iterations, G.opt.pbkdf2_len);
}

/* ---- destroy ----------------------------------------------------------------------------- */

static void case_destroy(const struct case_def *c, struct result *res)
{
    (void)c;
    res->unit = U_OPS;
    res->raw = res->ratio = -1;
    CK_RV rv = grow_to(scaled(1000), NULL);
    if (rv != CKR_OK) {
        set_error(res, rv, "C_CreateObject: ");
        return;
    }
    long total = nobj;
    int chunks = G.opt.reps < nobj ? G.opt.reps : (int)nobj;
    for (int ch = 0; ch < chunks; ch++) {
        long n = total / chunks + (ch < total % chunks);
        double t0 = now_s();
        for (long i = 0; i < n; i++) {
            rv = p11_destroy(objs[nobj - 1]);
            if (rv != CKR_OK) {
                set_error(res, rv, "C_DestroyObject: ");
                return;
            }
            nobj--;
        }
        res->mod_reps[ch] = (double)n / (now_s() - t0);
        res->nreps = ch + 1;
    }
    res->mod = median(res->mod_reps, res->nreps);
    snprintf(res->note, sizeof res->note, "C_DestroyObject, %ld token objects -> 0", total);
}

void objects_cleanup(void)
{
    while (nobj > 0)
        p11_destroy(objs[--nobj]);
}

const struct case_def cases_obj[] = {
    { "objects-create-1000", U_OPS, 0, 0, NULL, case_create, 1000 },
    { "find-by-label-1k", U_OPS, 0, 0, setup_find, NULL, 1000 },
    { "find-by-id-1k", U_OPS, 0, 0, setup_find, NULL, -1000 },
    { "objects-create-10000", U_OPS, 0, 0, NULL, case_create, 10000 },
    { "find-by-label-10k", U_OPS, 0, 0, setup_find, NULL, 10000 },
    { "find-by-id-10k", U_OPS, 0, 0, setup_find, NULL, -10000 },
    { "cold-start", U_MS, 0, 0, NULL, case_cold, 10000 },
    { "objects-create-100000", U_OPS, 0, CF_OPT_IN, NULL, case_create, 100000 },
    { "find-by-label-100k", U_OPS, 0, CF_OPT_IN, setup_find, NULL, 100000 },
    { "find-by-id-100k", U_OPS, 0, CF_OPT_IN, setup_find, NULL, -100000 },
    { "objects-destroy", U_OPS, 0, 0, NULL, case_destroy, 0 },
};
const size_t n_cases_obj = sizeof cases_obj / sizeof cases_obj[0];
