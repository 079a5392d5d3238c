/* craton-bench: PKCS#11 module against raw libcrypto, case by case, in one run.
 *
 *   craton-bench --module PATH [--pin P] [--so-pin P] [--token-label L] [--init-args S]
 *                [--seconds S] [--threads T] [--reps N] [--only CASES] [--json FILE]
 *
 * Each case alternates module rep, raw rep, module rep, ... (--reps of each, --seconds each) and
 * reports the medians and module/raw. See docs/performance.md. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/opensslv.h>

#include "bench.h"

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double median(double *v, int n)
{
    if (n <= 0)
        return -1;
    double t[BENCH_MAX_REPS];
    memcpy(t, v, (size_t)n * sizeof *v);
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

double rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = atof(line + 6);
    fclose(f);
    return kib / 1024.0;
}

/* ---- the timing loop ------------------------------------------------------------------ */

/* Runs s->op until `seconds` have passed. The clock is read after batches that grow while
 * a batch takes under a millisecond, so fast operations are not dominated by clock reads. */
static CK_RV timed_loop(const struct side *s, struct worker *w, double seconds,
                        unsigned long long *ops, double *elapsed)
{
    double t0 = now_s(), last = t0, t = t0;
    unsigned long long n = 0;
    unsigned batch = 1;
    for (;;) {
        for (unsigned i = 0; i < batch; i++) {
            CK_RV rv = s->op(w);
            w->counter++;
            if (rv != CKR_OK) {
                *ops = n;
                *elapsed = now_s() - t0;
                return rv;
            }
        }
        n += batch;
        t = now_s();
        if (t - t0 >= seconds)
            break;
        if (t - last < 0.001 && batch < (1u << 20))
            batch *= 2;
        last = t;
    }
    *ops = n;
    *elapsed = t - t0;
    return CKR_OK;
}

struct thr {
    const struct side *s;
    int module_side;
    double seconds;
    pthread_barrier_t *bar;
    unsigned id;
    unsigned long long ops;
    double elapsed;
    CK_RV err;
};

static void *thr_main(void *p)
{
    struct thr *a = p;
    struct worker w;
    memset(&w, 0, sizeof w);
    w.shared = a->s->shared;
    w.id = a->id;
    CK_RV rv = CKR_OK;
    if (a->module_side)
        rv = p11_open(&w.sess);
    if (a->s->local_new)
        w.local = a->s->local_new(w.shared);
    pthread_barrier_wait(a->bar);
    if (rv == CKR_OK)
        rv = timed_loop(a->s, &w, a->seconds, &a->ops, &a->elapsed);
    a->err = rv;
    if (a->s->local_free)
        a->s->local_free(w.local);
    if (a->module_side && w.sess)
        G.p->C_CloseSession(w.sess);
    return NULL;
}

/* threads == 0: in this thread, on the main session. Otherwise that many threads, each on its
 * own session (module side) and its own local state, all started together. */
double run_side(const struct side *s, int threads, int module_side, double seconds, CK_RV *err)
{
    unsigned long long total = 0;
    double elapsed = 0;
    *err = CKR_OK;
    if (threads == 0) {
        struct worker w;
        memset(&w, 0, sizeof w);
        w.shared = s->shared;
        w.sess = G.sess;
        if (s->local_new)
            w.local = s->local_new(w.shared);
        *err = timed_loop(s, &w, seconds, &total, &elapsed);
        if (s->local_free)
            s->local_free(w.local);
    } else {
        pthread_t tid[BENCH_MAX_THREADS];
        struct thr a[BENCH_MAX_THREADS];
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)threads);
        for (int i = 0; i < threads; i++) {
            a[i] = (struct thr){ s, module_side, seconds, &bar, (unsigned)i, 0, 0, CKR_OK };
            if (pthread_create(&tid[i], NULL, thr_main, &a[i]) != 0) {
                fprintf(stderr, "craton-bench: pthread_create failed\n");
                exit(1);
            }
        }
        for (int i = 0; i < threads; i++) {
            pthread_join(tid[i], NULL);
            total += a[i].ops;
            if (a[i].elapsed > elapsed)
                elapsed = a[i].elapsed;
            if (a[i].err != CKR_OK)
                *err = a[i].err;
        }
        pthread_barrier_destroy(&bar);
    }
    if (s->after_rep)
        s->after_rep(s->shared);
    if (*err != CKR_OK)
        return -1;
    return elapsed > 0 ? (double)total / elapsed : 0;
}

/* ---- one case ---------------------------------------------------------------------------- */

static void run_standard(const struct case_def *c, struct result *res)
{
    struct case_run r;
    memset(&r, 0, sizeof r);
    CK_RV rv = c->setup(&r, c);
    res->unit = c->unit;
    res->raw = res->ratio = -1;
    if (rv != CKR_OK) {
        res->status = rv_unsupported(rv) ? 1 : 2;
        snprintf(res->why, sizeof res->why, "%s", rv_name(rv));
        goto out;
    }
    int threaded = c->flags & CF_THREADED;
    int T = threaded ? G.opt.threads : 0;
    double warm = G.opt.seconds < 0.05 ? G.opt.seconds : 0.05;
    /* warm-up and a first check of both sides */
    if (run_side(&r.mod, threaded ? 1 : 0, 1, warm, &rv) < 0) {
        res->status = rv_unsupported(rv) ? 1 : 2;
        snprintf(res->why, sizeof res->why, "%s", rv_name(rv));
        goto out;
    }
    if (r.has_raw && run_side(&r.raw, threaded ? 1 : 0, 0, warm, &rv) < 0) {
        res->status = 2;
        snprintf(res->why, sizeof res->why, "raw side failed");
        goto out;
    }
    double m1[BENCH_MAX_REPS], r1[BENCH_MAX_REPS];
    double scale = c->unit == U_MBS ? c->bytes / 1e6 : 1;
    for (int i = 0; i < G.opt.reps; i++) {
        if (threaded) {
            m1[i] = run_side(&r.mod, 1, 1, G.opt.seconds, &rv) * scale;
            if (rv == CKR_OK)
                res->mod_reps[i] = run_side(&r.mod, T, 1, G.opt.seconds, &rv) * scale;
        } else {
            res->mod_reps[i] = run_side(&r.mod, 0, 1, G.opt.seconds, &rv) * scale;
        }
        if (rv != CKR_OK) {
            res->status = 2;
            snprintf(res->why, sizeof res->why, "%s in rep %d", rv_name(rv), i + 1);
            goto out;
        }
        if (r.has_raw) {
            if (threaded) {
                r1[i] = run_side(&r.raw, 1, 0, G.opt.seconds, &rv) * scale;
                res->raw_reps[i] = run_side(&r.raw, T, 0, G.opt.seconds, &rv) * scale;
            } else {
                res->raw_reps[i] = run_side(&r.raw, 0, 0, G.opt.seconds, &rv) * scale;
            }
        }
        res->nreps = i + 1;
    }
    res->mod = median(res->mod_reps, res->nreps);
    if (r.has_raw) {
        res->raw = median(res->raw_reps, res->nreps);
        res->ratio = res->raw > 0 ? res->mod / res->raw : -1;
    }
    if (threaded) {
        res->mod1 = median(m1, res->nreps);
        res->mod_scale = res->mod / res->mod1;
        if (r.has_raw) {
            res->raw1 = median(r1, res->nreps);
            res->raw_scale = res->raw / res->raw1;
        }
        snprintf(res->note, sizeof res->note, "%d threads vs 1: module %.2fx, raw %.2fx", T,
                 res->mod_scale, r.has_raw ? res->raw_scale : 0);
    } else if (c->unit == U_OPS && res->mod > 0) {
        snprintf(res->note, sizeof res->note, "%.1f us/op", 1e6 / res->mod);
    }
    if (r.note[0]) {
        size_t l = strlen(res->note);
        snprintf(res->note + l, sizeof res->note - l, "%s%s", l ? "; " : "", r.note);
    }
out:
    if (r.cleanup)
        r.cleanup(&r);
}

/* ---- output ------------------------------------------------------------------------------- */

static const char *unit_name(enum unit u)
{
    return u == U_MBS ? "MB/s" : u == U_MS ? "ms" : "ops/s";
}

static void fmt_val(char *b, size_t n, double v)
{
    if (v < 0)
        snprintf(b, n, "-");
    else if (v >= 100)
        snprintf(b, n, "%.0f", v);
    else if (v >= 1)
        snprintf(b, n, "%.2f", v);
    else
        snprintf(b, n, "%.4f", v);
}

static void print_row(const struct case_def *c, const struct result *res)
{
    char m[32], r[32], q[32];
    if (res->status) {
        printf("%-24s %s (%s)\n", c->name, res->status == 1 ? "unsupported" : "error", res->why);
    } else {
        fmt_val(m, sizeof m, res->mod);
        fmt_val(r, sizeof r, res->raw);
        if (res->ratio < 0)
            snprintf(q, sizeof q, "-");
        else
            snprintf(q, sizeof q, "%.3f", res->ratio);
        printf("%-24s %-6s %12s %12s %8s  %s\n", c->name, unit_name(res->unit), m, r, q, res->note);
    }
    fflush(stdout);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (v < 0)
        fprintf(f, "null");
    else
        fprintf(f, "%.6g", v);
}

static void write_json(const char *path, const struct case_def **cs, const struct result *rs, int n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "craton-bench: %s: %s\n", path, strerror(errno));
        return;
    }
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    time_t t = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    fprintf(f, "{\"module\":");
    json_str(f, G.opt.module);
    fprintf(f, ",\"library\":");
    json_str(f, G.library);
    fprintf(f, ",\"manufacturer\":");
    json_str(f, G.manufacturer);
    fprintf(f, ",\"token\":");
    json_str(f, G.token_label);
    fprintf(f, ",\"openssl\":");
    json_str(f, OPENSSL_VERSION_TEXT);
    fprintf(f, ",\"date\":\"%s\",\"host\":", date);
    json_str(f, host);
    fprintf(f, ",\"nproc\":%ld,\"seconds\":%g,\"reps\":%d,\"threads\":%d,\"cases\":[",
            sysconf(_SC_NPROCESSORS_ONLN), G.opt.seconds, G.opt.reps, G.opt.threads);
    for (int i = 0; i < n; i++) {
        const struct result *r = &rs[i];
        fprintf(f, "%s\n{\"name\":\"%s\",\"status\":\"%s\"", i ? "," : "", cs[i]->name,
                r->status == 0 ? "ok" : r->status == 1 ? "unsupported" : "error");
        if (r->status) {
            fprintf(f, ",\"why\":");
            json_str(f, r->why);
            fprintf(f, "}");
            continue;
        }
        fprintf(f, ",\"unit\":\"%s\",\"module\":", unit_name(r->unit));
        json_num(f, r->mod);
        fprintf(f, ",\"raw\":");
        json_num(f, r->raw);
        fprintf(f, ",\"ratio\":");
        json_num(f, r->ratio);
        fprintf(f, ",\"module_reps\":[");
        for (int j = 0; j < r->nreps; j++) {
            fprintf(f, j ? "," : "");
            json_num(f, r->mod_reps[j]);
        }
        fprintf(f, "],\"raw_reps\":[");
        for (int j = 0; j < r->nreps && r->raw >= 0; j++) {
            fprintf(f, j ? "," : "");
            json_num(f, r->raw_reps[j]);
        }
        fprintf(f, "]");
        if (cs[i]->flags & CF_THREADED) {
            fprintf(f, ",\"threads\":%d,\"module_1t\":", G.opt.threads);
            json_num(f, r->mod1);
            fprintf(f, ",\"raw_1t\":");
            json_num(f, r->raw1);
            fprintf(f, ",\"module_scale\":");
            json_num(f, r->mod_scale);
            fprintf(f, ",\"raw_scale\":");
            json_num(f, r->raw_scale);
        }
        fprintf(f, ",\"note\":");
        json_str(f, r->note);
        fprintf(f, "}");
    }
    fprintf(f, "\n]}\n");
    fclose(f);
}

/* ---- options ------------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: craton-bench --module PATH [--pin P] [--so-pin P] [--token-label L]\n"
            "                    [--init-args S] [--seconds S] [--threads T] [--reps N]\n"
            "                    [--only CASE,...] [--json FILE] [--pbkdf2-iterations N]\n"
            "                    [--pbkdf2-len BYTES] [--session-keys] [--max-objects N] [--list]\n"
            "--pbkdf2-iterations/--pbkdf2-len: the PBKDF2-HMAC-SHA256 a login of the module costs\n"
            "  (Craton: 600000 and 64), subtracted in cold-start.\n"
            "--session-keys: the shared keys (AES, HMAC, RSA, Ed25519) are session objects;\n"
            "  ecdsa-p256-sign-token still uses a token key.\n"
            "--max-objects N: the object cases use N instead of 10,000 (others scaled; smoke tests).\n"
            "--only takes case names or prefixes (\"aes-gcm\", \"keygen\", \"find\");\n"
            "opt-in cases (100,000 objects) run only when named.\n");
}

static int selected(const struct case_def *c, const char *only)
{
    if (!only)
        return !(c->flags & CF_OPT_IN);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", only);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t l = strlen(tok);
        if (!strcmp(c->name, tok))
            return 1;
        if (!(c->flags & CF_OPT_IN) && !strncmp(c->name, tok, l) && c->name[l] == '-')
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--cold-start-child"))
        return cold_start_child(argc, argv);
    struct options *o = &G.opt;
    o->pin = "123456";
    o->so_pin = "12345678";
    o->seconds = 1;
    o->threads = 2;
    o->reps = 5;
    o->pbkdf2_iterations = 600000;
    o->pbkdf2_len = 32;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && v && (++i, 1))
        if (OPT("--module")) o->module = v;
        else if (OPT("--pin")) o->pin = v;
        else if (OPT("--so-pin")) o->so_pin = v;
        else if (OPT("--token-label")) o->token_label = v;
        else if (OPT("--init-args")) o->init_args = v;
        else if (OPT("--seconds")) o->seconds = atof(v);
        else if (OPT("--threads")) o->threads = atoi(v);
        else if (OPT("--reps")) o->reps = atoi(v);
        else if (OPT("--only")) o->only = v;
        else if (OPT("--json")) o->json = v;
        else if (OPT("--pbkdf2-iterations")) o->pbkdf2_iterations = strtoul(v, NULL, 10);
        else if (OPT("--pbkdf2-len")) o->pbkdf2_len = atoi(v);
        else if (OPT("--max-objects")) o->max_objects = atol(v);
        else if (!strcmp(a, "--session-keys")) o->session_keys = 1;
        else if (!strcmp(a, "--list")) list = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else { usage(stderr); return 2; }
#undef OPT
    }
    const struct case_def *all[128];
    int nall = 0;
    for (size_t i = 0; i < n_cases_sym; i++) all[nall++] = &cases_sym[i];
    for (size_t i = 0; i < n_cases_asym; i++) all[nall++] = &cases_asym[i];
    for (size_t i = 0; i < n_cases_obj; i++) all[nall++] = &cases_obj[i];
    if (list) {
        for (int i = 0; i < nall; i++)
            printf("%s%s\n", all[i]->name, all[i]->flags & CF_OPT_IN ? " (opt-in)" : "");
        return 0;
    }
    if (!o->module || o->seconds <= 0 || o->threads < 1 || o->threads > BENCH_MAX_THREADS ||
        o->reps < 1 || o->reps > BENCH_MAX_REPS || o->pbkdf2_len < 1 || o->pbkdf2_len > 256) {
        usage(stderr);
        return 2;
    }
    const struct case_def *run[128];
    int nrun = 0;
    for (int i = 0; i < nall; i++)
        if (selected(all[i], o->only))
            run[nrun++] = all[i];
    if (!nrun) {
        fprintf(stderr, "craton-bench: --only %s matches no case (see --list)\n", o->only);
        return 2;
    }
    if (p11_load(o->module, o->init_args, &G.p) != CKR_OK || p11_setup_token() != CKR_OK)
        return 1;
    printf("module  %s (%s, %s)\ntoken   \"%s\" in slot %lu%s\n", o->module, G.library,
           G.manufacturer, G.token_label, (unsigned long)G.slot, G.logged_in ? ", user logged in" : "");
    printf("keys    %s\n", o->session_keys ? "session objects (--session-keys), except the *-token cases"
                                            : "token objects, except the *-session cases");
    printf("raw     %s, keys in process\nrun     %d reps x %g s per side, interleaved; medians; "
           "%d threads for the threaded cases\n\n",
           OPENSSL_VERSION_TEXT, o->reps, o->seconds, o->threads);
    printf("%-24s %-6s %12s %12s %8s  %s\n", "case", "unit", "module", "raw", "mod/raw", "note");
    fflush(stdout);
    static struct result res[128];
    int failed = 0;
    for (int i = 0; i < nrun; i++) {
        memset(&res[i], 0, sizeof res[i]);
        if (run[i]->custom)
            run[i]->custom(run[i], &res[i]);
        else
            run_standard(run[i], &res[i]);
        print_row(run[i], &res[i]);
        failed |= res[i].status == 2;
    }
    objects_cleanup();
    p11_destroy_shared_keys();
    if (o->json)
        write_json(o->json, run, res, nrun);
    G.p->C_CloseSession(G.sess);
    G.p->C_Finalize(NULL);
    return failed ? 3 : 0;
}
