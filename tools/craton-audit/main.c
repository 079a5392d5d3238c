/* craton-audit: verifies a token's audit chain, shows its records, and times appends. */
#include "audit/audit.h"
#include "base/config.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fputs("usage:\n"
          "  craton-audit verify [DIR] [--slot N] [--key-file PATH]\n"
          "      Checks the whole chain of each slot's audit log (or only slot N) across rotated\n"
          "      files and against the tail anchored in slot-N.db. Prints 'OK: N records' or the\n"
          "      first bad record's sequence number and why; exit status 1 on any failure.\n"
          "  craton-audit show [DIR] [--slot N] [--since TIME] [--until TIME] [--op NAME]\n"
          "                    [--object UID] [--result CKR_X] [--hashes]\n"
          "      Prints records readably. TIME is UTC, any prefix of 2024-05-01T12:34:56.123456Z\n"
          "      (e.g. 2024-05-01 or 2024-05-01T12:30); --until includes the whole prefix.\n"
          "  craton-audit bench DIR [--sync always|interval|none] [--count N] [--threads T]\n"
          "      Times audit appends (microseconds per record) into a scratch DIR.\n"
          "DIR defaults to the token directory of the configuration (CRATON_TOKEN_DIR, then\n"
          "store.token_dir, then the built-in default). A keyed chain needs --key-file, else\n"
          "audit.key_file of the configuration is used.\n",
          f);
}

struct opts {
    const char *dir, *key_file, *since, *until, *op, *object, *result, *sync;
    bool have_slot, hashes;
    unsigned long slot, count, threads;
};

static int parse_ulong(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--hashes")) {
            o->hashes = true;
            continue;
        } else if (a[0] != '-') {
            if (o->dir) {
                fprintf(stderr, "craton-audit: more than one DIR\n");
                return -1;
            }
            o->dir = a;
            continue;
        }
        if (!v) {
            fprintf(stderr, "craton-audit: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--slot")) {
            if (parse_ulong(v, &o->slot))
                goto bad;
            o->have_slot = true;
        } else if (!strcmp(a, "--key-file")) {
            o->key_file = v;
        } else if (!strcmp(a, "--since")) {
            o->since = v;
        } else if (!strcmp(a, "--until")) {
            o->until = v;
        } else if (!strcmp(a, "--op")) {
            o->op = v;
        } else if (!strcmp(a, "--object")) {
            o->object = v;
        } else if (!strcmp(a, "--result")) {
            o->result = v;
        } else if (!strcmp(a, "--sync")) {
            o->sync = v;
        } else if (!strcmp(a, "--count")) {
            if (parse_ulong(v, &o->count) || !o->count)
                goto bad;
        } else if (!strcmp(a, "--threads")) {
            if (parse_ulong(v, &o->threads) || !o->threads || o->threads > 64)
                goto bad;
        } else {
            fprintf(stderr, "craton-audit: unknown option %s\n", a);
            return -1;
        }
        continue;
bad:
        fprintf(stderr, "craton-audit: bad value for %s: %s\n", a, v);
        return -1;
    }
    return 0;
}

/* Slots that have an audit log in dir, ascending; count or -1. */
static int find_slots(const char *dir, unsigned long *slots, int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long s;
        int end = 0;
        if (sscanf(e->d_name, "slot-%lu.audit%n", &s, &end) != 1 || !end)
            continue;
        if (e->d_name[end] && e->d_name[end] != '.')
            continue;
        bool dup = false;
        for (int i = 0; i < n; i++)
            dup |= slots[i] == s;
        if (!dup && n < max)
            slots[n++] = s;
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && slots[j - 1] > slots[j]; j--) {
            unsigned long t = slots[j];
            slots[j] = slots[j - 1];
            slots[j - 1] = t;
        }
    return n;
}

static int cmd_verify(const struct opts *o, const char *dir, const char *key_file)
{
    uint8_t *key = NULL;
    size_t keylen = 0;
    if (key_file && *key_file) {
        char err[256];
        if (audit_key_load(key_file, &key, &keylen, err, sizeof err) != CKR_OK) {
            fprintf(stderr, "craton-audit: %s\n", err);
            return 2;
        }
    }
    unsigned long slots[256];
    int n;
    if (o->have_slot) {
        slots[0] = o->slot;
        n = 1;
    } else {
        n = find_slots(dir, slots, 256);
        if (n < 0) {
            fprintf(stderr, "craton-audit: cannot read %s: %s\n", dir, strerror(errno));
            audit_key_free(key);
            return 2;
        }
        if (n == 0) {
            fprintf(stderr, "craton-audit: no audit log in %s\n", dir);
            audit_key_free(key);
            return 1;
        }
    }
    int status = 0;
    for (int i = 0; i < n; i++) {
        struct audit_verify_result r;
        const char *pre = "";
        char prefix[48];
        if (n > 1 || !o->have_slot) {
            snprintf(prefix, sizeof prefix, "slot %lu: ", slots[i]);
            pre = prefix;
        }
        if (audit_verify_keyed(dir, slots[i], key, keylen, &r) != CKR_OK) {
            fprintf(stderr, "craton-audit: %sverification could not run\n", pre);
            status = 2;
            continue;
        }
        if (r.ok) {
            printf("%sOK: %llu records%s%s%s\n", pre, r.records, r.why[0] ? " (" : "", r.why,
                   r.why[0] ? ")" : "");
        } else {
            printf("%sFAILED at seq %llu: %s (%llu records verified before it)\n", pre,
                   r.bad_seq, r.why, r.records);
            status = 1;
        }
    }
    audit_key_free(key);
    return status;
}

static int show_one(const struct audit_record *r, void *arg)
{
    const struct opts *o = arg;
    if (o->since && strcmp(r->time, o->since) < 0)
        return 0;
    if (o->until && strncmp(r->time, o->until, strlen(o->until)) > 0)
        return 0;
    if (o->op && strcmp(r->op, o->op))
        return 0;
    if (o->object && (!r->has_object || strcmp(r->object, o->object)))
        return 0;
    if (o->result && strcmp(r->result, o->result))
        return 0;
    char mech[16] = "-";
    if (r->has_mech)
        snprintf(mech, sizeof mech, "0x%08lx", r->mech);
    printf("%8llu  %s  pid %-7ld slot %-3lu sess %-5lu %-7s %-18s %-10s %-24s %s", r->seq,
           r->time, r->pid, r->slot, r->session, r->user, r->op, mech,
           r->result, r->has_object ? r->object : "-");
    if (o->hashes) {
        printf("  %s ", r->keyed ? "mac" : "hash");
        for (int i = 0; i < 32; i++)
            printf("%02x", r->hash[i]);
    }
    putchar('\n');
    return 0;
}

static int cmd_show(const struct opts *o, const char *dir)
{
    unsigned long slots[256];
    int n;
    if (o->have_slot) {
        slots[0] = o->slot;
        n = 1;
    } else if ((n = find_slots(dir, slots, 256)) <= 0) {
        fprintf(stderr, "craton-audit: no audit log in %s\n", dir);
        return 1;
    }
    int status = 0;
    for (int i = 0; i < n; i++) {
        if (n > 1)
            printf("== slot %lu\n", slots[i]);
        if (audit_foreach(dir, slots[i], show_one, (void *)o) != CKR_OK) {
            fprintf(stderr, "craton-audit: cannot read the audit log of slot %lu\n", slots[i]);
            status = 1;
        }
    }
    return status;
}

struct bench_arg {
    audit_log_t *log;
    unsigned long slot, count;
    unsigned long fails;
};

static void *bench_thread(void *p)
{
    struct bench_arg *a = p;
    struct audit_event ev = { a->slot, 1, 1, "C_Sign", 0x1041, "bench-key-uid", CKR_OK, true };
    for (unsigned long i = 0; i < a->count; i++)
        if (audit_append(a->log, &ev) != CKR_OK)
            a->fails++;
    return NULL;
}

static int cmd_bench(const struct opts *o, const char *dir)
{
    struct audit_config cfg;
    audit_config_defaults(&cfg);
    if (o->sync && !strcmp(o->sync, "none"))
        cfg.sync = AUDIT_SYNC_NONE;
    else if (o->sync && !strcmp(o->sync, "interval"))
        cfg.sync = AUDIT_SYNC_INTERVAL;
    else if (o->sync && strcmp(o->sync, "always")) {
        fprintf(stderr, "craton-audit: --sync always|interval|none\n");
        return 2;
    }
    unsigned long count = o->count ? o->count : 10000, threads = o->threads ? o->threads : 1;
    audit_log_t *log;
    if (audit_open(dir, o->have_slot ? o->slot : 999, "bench", &cfg, &log) != CKR_OK) {
        fprintf(stderr, "craton-audit: cannot open an audit log in %s\n", dir);
        return 1;
    }
    pthread_t tid[64];
    struct bench_arg args[64];
    struct timespec t0, t1;
    unsigned long long f0 = audit_fsync_count(log);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long i = 0; i < threads; i++) {
        args[i] = (struct bench_arg){ log, o->have_slot ? o->slot : 999, count / threads, 0 };
        pthread_create(&tid[i], NULL, bench_thread, &args[i]);
    }
    unsigned long fails = 0, done = 0;
    for (unsigned long i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        fails += args[i].fails;
        done += args[i].count;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    printf("sync=%s threads=%lu records=%lu: %.2f us/record (wall), %llu fsyncs, %lu failures\n",
           o->sync ? o->sync : "always", threads, done, us / (double)done,
           audit_fsync_count(log) - f0, fails);
    audit_close(log);
    return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "verify") && strcmp(cmd, "show") && strcmp(cmd, "bench")) {
        fprintf(stderr, "craton-audit: unknown command %s\n", cmd);
        usage(stderr);
        return 2;
    }
    struct opts o = { 0 };
    if (parse_args(argc, argv, &o))
        return 2;
    if (secmem_init() || ossl_open()) {
        fprintf(stderr, "craton-audit: cannot initialise libcrypto\n");
        return 2;
    }
    log_open(LOG_LVL_ERROR, NULL);
    struct config cfg;
    char err[512] = "";
    const char *dir = o.dir;
    const char *key_file = o.key_file;
    struct audit_config acfg;
    audit_config_defaults(&acfg);
    if (!dir || (!key_file && !strcmp(cmd, "verify"))) {
        if (config_load(&cfg, err, sizeof err)) {
            fprintf(stderr, "craton-audit: %s\n", err);
            ossl_close();
            return 2;
        }
        if (!dir)
            dir = cfg.token_dir;
        if (!key_file && audit_config_load(cfg.source, &acfg, err, sizeof err) != CKR_OK) {
            fprintf(stderr, "craton-audit: %s\n", err);
            ossl_close();
            return 2;
        }
        if (!key_file)
            key_file = acfg.key_file;
    }
    int rc;
    if (!strcmp(cmd, "verify"))
        rc = cmd_verify(&o, dir, key_file);
    else if (!strcmp(cmd, "show"))
        rc = cmd_show(&o, dir);
    else
        rc = o.dir ? cmd_bench(&o, dir) : (fprintf(stderr, "craton-audit: bench needs DIR\n"), 2);
    ossl_close();
    return rc;
}
