/* Audit record format (fixed-order JSON line), its chain hash, and rotated file names. */
#include "audit/record.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/ossl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* From pkcs11t.h. */
static const struct { CK_RV rv; const char *name; } ckr_names[] = {
    { CKR_OK, "CKR_OK" },
    { CKR_CANCEL, "CKR_CANCEL" },
    { CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
    { CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID" },
    { CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
    { CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
    { CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
    { CKR_NO_EVENT, "CKR_NO_EVENT" },
    { CKR_NEED_TO_CREATE_THREADS, "CKR_NEED_TO_CREATE_THREADS" },
    { CKR_CANT_LOCK, "CKR_CANT_LOCK" },
    { CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY" },
    { CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
    { CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
    { CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID" },
    { CKR_ACTION_PROHIBITED, "CKR_ACTION_PROHIBITED" },
    { CKR_DATA_INVALID, "CKR_DATA_INVALID" },
    { CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE" },
    { CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
    { CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
    { CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
    { CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID" },
    { CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE" },
    { CKR_AEAD_DECRYPT_FAILED, "CKR_AEAD_DECRYPT_FAILED" },
    { CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED" },
    { CKR_FUNCTION_NOT_PARALLEL, "CKR_FUNCTION_NOT_PARALLEL" },
    { CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED" },
    { CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
    { CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE" },
    { CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
    { CKR_KEY_NOT_NEEDED, "CKR_KEY_NOT_NEEDED" },
    { CKR_KEY_CHANGED, "CKR_KEY_CHANGED" },
    { CKR_KEY_NEEDED, "CKR_KEY_NEEDED" },
    { CKR_KEY_INDIGESTIBLE, "CKR_KEY_INDIGESTIBLE" },
    { CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
    { CKR_KEY_NOT_WRAPPABLE, "CKR_KEY_NOT_WRAPPABLE" },
    { CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE" },
    { CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
    { CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
    { CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
    { CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE" },
    { CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED" },
    { CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
    { CKR_PIN_INVALID, "CKR_PIN_INVALID" },
    { CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE" },
    { CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED" },
    { CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
    { CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED" },
    { CKR_SESSION_COUNT, "CKR_SESSION_COUNT" },
    { CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
    { CKR_SESSION_PARALLEL_NOT_SUPPORTED, "CKR_SESSION_PARALLEL_NOT_SUPPORTED" },
    { CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY" },
    { CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS" },
    { CKR_SESSION_READ_ONLY_EXISTS, "CKR_SESSION_READ_ONLY_EXISTS" },
    { CKR_SESSION_READ_WRITE_SO_EXISTS, "CKR_SESSION_READ_WRITE_SO_EXISTS" },
    { CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID" },
    { CKR_SIGNATURE_LEN_RANGE, "CKR_SIGNATURE_LEN_RANGE" },
    { CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE" },
    { CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT" },
    { CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
    { CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
    { CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED" },
    { CKR_UNWRAPPING_KEY_HANDLE_INVALID, "CKR_UNWRAPPING_KEY_HANDLE_INVALID" },
    { CKR_UNWRAPPING_KEY_SIZE_RANGE, "CKR_UNWRAPPING_KEY_SIZE_RANGE" },
    { CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT" },
    { CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN" },
    { CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
    { CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED" },
    { CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID" },
    { CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN" },
    { CKR_USER_TOO_MANY_TYPES, "CKR_USER_TOO_MANY_TYPES" },
    { CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID" },
    { CKR_WRAPPED_KEY_LEN_RANGE, "CKR_WRAPPED_KEY_LEN_RANGE" },
    { CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID" },
    { CKR_WRAPPING_KEY_SIZE_RANGE, "CKR_WRAPPING_KEY_SIZE_RANGE" },
    { CKR_WRAPPING_KEY_TYPE_INCONSISTENT, "CKR_WRAPPING_KEY_TYPE_INCONSISTENT" },
    { CKR_RANDOM_SEED_NOT_SUPPORTED, "CKR_RANDOM_SEED_NOT_SUPPORTED" },
    { CKR_RANDOM_NO_RNG, "CKR_RANDOM_NO_RNG" },
    { CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID" },
    { CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED" },
    { CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
    { CKR_SAVED_STATE_INVALID, "CKR_SAVED_STATE_INVALID" },
    { CKR_INFORMATION_SENSITIVE, "CKR_INFORMATION_SENSITIVE" },
    { CKR_STATE_UNSAVEABLE, "CKR_STATE_UNSAVEABLE" },
    { CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
    { CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED" },
    { CKR_MUTEX_BAD, "CKR_MUTEX_BAD" },
    { CKR_MUTEX_NOT_LOCKED, "CKR_MUTEX_NOT_LOCKED" },
    { CKR_NEW_PIN_MODE, "CKR_NEW_PIN_MODE" },
    { CKR_NEXT_OTP, "CKR_NEXT_OTP" },
    { CKR_EXCEEDED_MAX_ITERATIONS, "CKR_EXCEEDED_MAX_ITERATIONS" },
    { CKR_FIPS_SELF_TEST_FAILED, "CKR_FIPS_SELF_TEST_FAILED" },
    { CKR_LIBRARY_LOAD_FAILED, "CKR_LIBRARY_LOAD_FAILED" },
    { CKR_PIN_TOO_WEAK, "CKR_PIN_TOO_WEAK" },
    { CKR_PUBLIC_KEY_INVALID, "CKR_PUBLIC_KEY_INVALID" },
    { CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED" },
    { CKR_TOKEN_RESOURCE_EXCEEDED, "CKR_TOKEN_RESOURCE_EXCEEDED" },
    { CKR_OPERATION_CANCEL_FAILED, "CKR_OPERATION_CANCEL_FAILED" },
    { CKR_KEY_EXHAUSTED, "CKR_KEY_EXHAUSTED" },
};

const char *audit_rv_name(CK_RV rv)
{
    for (size_t i = 0; i < sizeof ckr_names / sizeof ckr_names[0]; i++)
        if (ckr_names[i].rv == rv)
            return ckr_names[i].name;
    return NULL;
}

/* Writes v as exactly `digits` decimal digits (zero-padded). */
static void fixed_dec(char *dst, unsigned v, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        dst[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's published
 * algorithm). Avoids gmtime_r, which takes a lock and reads the time zone state. */
static void civil_from_days(long long z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void rec_time_now(struct rec_clock *c, char out[32])
{
    struct rec_clock local = { .sec = -1 };
    struct timespec ts;
    if (!c)
        c = &local;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* The date part changes once a second: format it then, not for every record. */
    if (ts.tv_sec != c->sec) {
        long long days = ts.tv_sec / 86400, rem = ts.tv_sec % 86400;
        if (rem < 0) {
            rem += 86400;
            days--;
        }
        int y;
        unsigned mo, d;
        civil_from_days(days, &y, &mo, &d);
        if (y < 0 || y > 9999)
            y = 0; /* four digits, as %Y gives for every realistic clock */
        fixed_dec(c->date, (unsigned)y, 4);
        c->date[4] = '-';
        fixed_dec(c->date + 5, mo, 2);
        c->date[7] = '-';
        fixed_dec(c->date + 8, d, 2);
        c->date[10] = 'T';
        fixed_dec(c->date + 11, (unsigned)(rem / 3600), 2);
        c->date[13] = ':';
        fixed_dec(c->date + 14, (unsigned)(rem / 60 % 60), 2);
        c->date[16] = ':';
        fixed_dec(c->date + 17, (unsigned)(rem % 60), 2);
        c->sec = ts.tv_sec;
    }
    memcpy(out, c->date, 19);
    out[19] = '.';
    fixed_dec(out + 20, (unsigned)(ts.tv_nsec / 1000) % 1000000u, 6);
    out[26] = 'Z';
    out[27] = 0;
}

/* A tiny appender that remembers overflow instead of checking every call. */
struct out {
    char *p;
    size_t cap, len;
    int over;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->over || n > o->cap - o->len) {
        o->over = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

/* Decimal, as %llu. */
static void put_u64(struct out *o, unsigned long long v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, tmp + i, sizeof tmp - i);
}

/* Decimal, as %ld. */
static void put_i64(struct out *o, long v)
{
    if (v < 0) {
        put(o, "-", 1);
        put_u64(o, 0ULL - (unsigned long long)v);
    } else {
        put_u64(o, (unsigned long long)v);
    }
}

static const char hexd[] = "0123456789abcdef";

/* "0x" and at least 8 lower-case hex digits, as "0x%08lx". */
static void put_hex_ul(struct out *o, unsigned long v)
{
    char tmp[2 + 2 * sizeof v];
    size_t i = sizeof tmp;
    int n = 0;
    do {
        tmp[--i] = hexd[v & 15];
        v >>= 4;
        n++;
    } while (v || n < 8);
    tmp[--i] = 'x';
    tmp[--i] = '0';
    put(o, tmp + i, sizeof tmp - i);
}

/* JSON string whose contents take at most max bytes once escaped (longer input is cut at a
 * whole character escape): '"' and '\' escaped, control bytes as \u00XX. Bytes >= 0x80 pass
 * through (labels are UTF-8). */
static void put_str(struct out *o, const char *s, size_t max)
{
    size_t used = 0;
    put(o, "\"", 1);
    for (size_t i = 0; s[i]; i++) {
        /* Runs of characters that need no escape go in one copy (UIDs, operation names). */
        size_t run = 0;
        while (used + run < max && s[i + run] > 0x1f && s[i + run] != 0x7f &&
               s[i + run] != '"' && s[i + run] != '\\')
            run++;
        if (run) {
            put(o, s + i, run);
            used += run;
            i += run - 1;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        char e[8];
        size_t n;
        if (c == '"' || c == '\\') {
            e[0] = '\\';
            e[1] = (char)c;
            n = 2;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(e, "\\u00", 4);
            e[4] = hexd[c >> 4];
            e[5] = hexd[c & 15];
            n = 6;
        } else {
            e[0] = (char)c;
            n = 1;
        }
        if (used + n > max)
            break;
        put(o, e, n);
        used += n;
    }
    put(o, "\"", 1);
}

static void put_hex(struct out *o, const uint8_t *b, size_t n)
{
    char tmp[64];
    for (size_t i = 0; i < n; i += 32) {
        size_t k = n - i < 32 ? n - i : 32;
        for (size_t j = 0; j < k; j++) {
            tmp[2 * j] = hexd[b[i + j] >> 4];
            tmp[2 * j + 1] = hexd[b[i + j] & 15];
        }
        put(o, tmp, 2 * k);
    }
}

static void put_user(struct out *o, long user)
{
    switch (user) {
    case -1: puts_(o, "\"none\""); break;
    case 0: puts_(o, "\"so\""); break;
    case 1: puts_(o, "\"user\""); break;
    case 2: puts_(o, "\"context\""); break;
    default:
        put(o, "\"", 1);
        put_i64(o, user);
        put(o, "\"", 1);
        break;
    }
}

static int chain_hash(EVP_MD_CTX *md, const uint8_t prev[32], const char *canon, size_t len,
                      const uint8_t *key, size_t keylen, uint8_t out[32])
{
    if (!key)
        return ossl_sha256_with(md, prev, 32, canon, len, out);
    uint8_t buf[32 + AUDIT_LINE_MAX];
    if (len > AUDIT_LINE_MAX)
        return -1;
    memcpy(buf, prev, 32);
    memcpy(buf + 32, canon, len);
    return ossl_hmac_sha256(key, keylen, buf, 32 + len, out);
}

int rec_build(char *line, size_t cap, const struct rec_fields *f, const uint8_t prev[32],
              const uint8_t *key, size_t keylen, uint8_t hash_out[32])
{
    return rec_build_with(NULL, line, cap, f, prev, key, keylen, hash_out);
}

int rec_build_with(EVP_MD_CTX *md, char *line, size_t cap, const struct rec_fields *f,
                   const uint8_t prev[32], const uint8_t *key, size_t keylen,
                   uint8_t hash_out[32])
{
    struct out o = { line, cap, 0, 0 };
    puts_(&o, "{\"seq\":");
    put_u64(&o, f->seq);
    puts_(&o, ",\"time\":\"");
    puts_(&o, f->time);
    puts_(&o, "\",\"pid\":");
    put_i64(&o, f->pid);
    puts_(&o, ",\"slot\":");
    put_u64(&o, f->slot);
    puts_(&o, ",\"session\":");
    put_u64(&o, f->session);
    puts_(&o, ",\"user\":");
    put_user(&o, f->user);
    puts_(&o, ",\"op\":");
    put_str(&o, f->op ? f->op : "", AUDIT_OP_MAX);
    if (f->mech == CK_UNAVAILABLE_INFORMATION)
        puts_(&o, ",\"mech\":null");
    else {
        puts_(&o, ",\"mech\":\"");
        put_hex_ul(&o, f->mech);
        puts_(&o, "\"");
    }
    puts_(&o, ",\"object\":");
    if (f->object)
        put_str(&o, f->object, AUDIT_OBJECT_MAX);
    else
        puts_(&o, "null");
    const char *rn = audit_rv_name(f->result);
    puts_(&o, ",\"result\":\"");
    if (rn)
        puts_(&o, rn);
    else
        put_hex_ul(&o, f->result);
    puts_(&o, "\"");
    puts_(&o, ",\"prev\":\"");
    put_hex(&o, prev, 32);
    puts_(&o, "\"");
    if (o.over)
        return -1;
    size_t canon = o.len;
    if (chain_hash(md, prev, line, canon, key, keylen, hash_out))
        return -1;
    puts_(&o, key ? ",\"mac\":\"" : ",\"hash\":\"");
    put_hex(&o, hash_out, 32);
    puts_(&o, "\"}\n");
    if (o.over || o.len > AUDIT_LINE_MAX)
        return -1;
    return (int)o.len;
}

/* ---- strict reader: accepts exactly what rec_build writes ---- */

struct in {
    const char *p, *end;
};

static int lit(struct in *i, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(i->end - i->p) < n || memcmp(i->p, s, n))
        return -1;
    i->p += n;
    return 0;
}

static int get_u64(struct in *i, unsigned long long *v)
{
    unsigned long long x = 0;
    const char *start = i->p;
    while (i->p < i->end && *i->p >= '0' && *i->p <= '9') {
        unsigned d = (unsigned)(*i->p - '0');
        if (x > (~0ULL - d) / 10)
            return -1;
        x = x * 10 + d;
        i->p++;
    }
    /* no sign, no leading zeros: one spelling per number keeps the bytes canonical */
    if (i->p == start || (i->p - start > 1 && *start == '0'))
        return -1;
    *v = x;
    return 0;
}

static int get_str(struct in *i, char *dst, size_t cap)
{
    size_t n = 0;
    if (lit(i, "\""))
        return -1;
    while (i->p < i->end && *i->p != '"') {
        unsigned char c = (unsigned char)*i->p++;
        if (c == '\\') {
            if (i->p >= i->end)
                return -1;
            char e = *i->p++;
            if (e == '"' || e == '\\') {
                c = (unsigned char)e;
            } else if (e == 'u' && i->end - i->p >= 4 && !memcmp(i->p, "00", 2)) {
                char hx[3] = { i->p[2], i->p[3], 0 }, *hend;
                if (!isxdigit((unsigned char)hx[0]) || !isxdigit((unsigned char)hx[1]))
                    return -1;
                unsigned long v = strtoul(hx, &hend, 16);
                if (*hend)
                    return -1;
                c = (unsigned char)v;
                i->p += 4;
            } else {
                return -1;
            }
        } else if (c < 0x20 || c == 0x7f) {
            return -1;
        }
        if (n + 1 >= cap)
            return -1;
        dst[n++] = (char)c;
    }
    if (lit(i, "\""))
        return -1;
    dst[n] = 0;
    return 0;
}

static int get_hex32(struct in *i, uint8_t out[32])
{
    if (i->end - i->p < 66 || *i->p != '"' || i->p[65] != '"')
        return -1;
    for (int k = 0; k < 32; k++) {
        unsigned v = 0;
        for (int h = 0; h < 2; h++) {
            char c = i->p[1 + 2 * k + h];
            unsigned d;
            if (c >= '0' && c <= '9')
                d = (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                d = (unsigned)(c - 'a' + 10);
            else
                return -1;
            v = v * 16 + d;
        }
        out[k] = (uint8_t)v;
    }
    i->p += 66;
    return 0;
}

int rec_parse(const char *line, size_t len, struct audit_record *r)
{
    struct in i = { line, line + len };
    unsigned long long v;
    memset(r, 0, sizeof *r);
    if (len > AUDIT_LINE_MAX || lit(&i, "{\"seq\":") || get_u64(&i, &r->seq) ||
        lit(&i, ",\"time\":") || get_str(&i, r->time, sizeof r->time) || lit(&i, ",\"pid\":") ||
        get_u64(&i, &v))
        return -1;
    r->pid = (long)v;
    if (lit(&i, ",\"slot\":") || get_u64(&i, &v))
        return -1;
    r->slot = (unsigned long)v;
    if (lit(&i, ",\"session\":") || get_u64(&i, &v))
        return -1;
    r->session = (unsigned long)v;
    if (lit(&i, ",\"user\":") || get_str(&i, r->user, sizeof r->user) || lit(&i, ",\"op\":") ||
        get_str(&i, r->op, sizeof r->op) || lit(&i, ",\"mech\":"))
        return -1;
    if (lit(&i, "null")) {
        char m[16];
        char *e;
        if (get_str(&i, m, sizeof m) || strlen(m) != 10 || strncmp(m, "0x", 2))
            return -1;
        r->mech = strtoul(m + 2, &e, 16);
        if (*e)
            return -1;
        r->has_mech = true;
    }
    if (lit(&i, ",\"object\":"))
        return -1;
    if (lit(&i, "null")) {
        if (get_str(&i, r->object, sizeof r->object))
            return -1;
        r->has_object = true;
    }
    if (lit(&i, ",\"result\":") || get_str(&i, r->result, sizeof r->result) ||
        lit(&i, ",\"prev\":") || get_hex32(&i, r->prev))
        return -1;
    r->canon_len = (size_t)(i.p - line);
    if (!lit(&i, ",\"mac\":"))
        r->keyed = true;
    else if (lit(&i, ",\"hash\":"))
        return -1;
    if (get_hex32(&i, r->hash) || lit(&i, "}") || i.p != i.end)
        return -1;
    return 0;
}

int rec_chain_hash(const char *line, const struct audit_record *r, const uint8_t *key,
                   size_t keylen, uint8_t out[32])
{
    return chain_hash(NULL, r->prev, line, r->canon_len, key, keylen, out);
}

/* ---- rotated files: slot-<id>.audit.<20-digit seq of their last record> ---- */

static int cmp_rot(const void *a, const void *b)
{
    const struct rot_file *x = a, *y = b;
    return x->last_seq < y->last_seq ? -1 : x->last_seq > y->last_seq;
}

int rec_list_rotated(const char *dir, unsigned long slot, struct rot_file **files)
{
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "slot-%lu.audit.", slot);
    DIR *d = opendir(dir);
    *files = NULL;
    if (!d)
        return -1;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (strncmp(s, prefix, (size_t)plen))
            continue;
        const char *num = s + plen;
        size_t k = 0;
        while (num[k] >= '0' && num[k] <= '9')
            k++;
        if (k == 0 || k > 20 || num[k])
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct rot_file *nf = realloc(*files, (size_t)cap * sizeof **files);
            if (!nf)
                goto fail;
            *files = nf;
        }
        size_t plen2 = strlen(dir) + strlen(s) + 2;
        char *path = malloc(plen2);
        if (!path)
            goto fail;
        snprintf(path, plen2, "%s/%s", dir, s);
        (*files)[n].last_seq = strtoull(num, NULL, 10);
        (*files)[n].path = path;
        n++;
    }
    closedir(d);
    if (n)
        qsort(*files, (size_t)n, sizeof **files, cmp_rot);
    return n;
fail:
    closedir(d);
    rec_free_rotated(*files, n);
    *files = NULL;
    return -1;
}

void rec_free_rotated(struct rot_file *files, int n)
{
    for (int i = 0; i < n; i++)
        free(files[i].path);
    free(files);
}
