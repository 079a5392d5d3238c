/* Shared by the fuzz targets: a byte reader over the fuzzer's input, a per-input arena of
 * exactly sized allocations (so ASan sees any over-read), and a CK_ATTRIBUTE decoder. */
#ifndef CRATON_FUZZ_UTIL_H
#define CRATON_FUZZ_UTIL_H
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "pkcs11.h"

/* ---- reading the input ----------------------------------------------------------------- */

struct rd {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t rd_u8(struct rd *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static inline uint16_t rd_u16(struct rd *r)
{
    uint16_t v = rd_u8(r);
    return (uint16_t)(v | (uint16_t)rd_u8(r) << 8);
}

static inline uint32_t rd_u32(struct rd *r)
{
    uint32_t v = rd_u16(r);
    return v | (uint32_t)rd_u16(r) << 16;
}

static inline uint64_t rd_u64(struct rd *r)
{
    uint64_t v = rd_u32(r);
    return v | (uint64_t)rd_u32(r) << 32;
}

/* Copies up to len bytes of input into out; the rest of out is zero. */
static inline void rd_bytes(struct rd *r, void *out, size_t len)
{
    size_t k = len < r->n ? len : r->n;
    if (k)
        memcpy(out, r->p, k);
    if (len > k)
        memset((uint8_t *)out + k, 0, len - k);
    r->p += k;
    r->n -= k;
}

/* ---- the arena: everything allocated for one input, freed at its end --------------------- */

struct arena {
    void **ptr;
    size_t n, cap;
};

static inline void *arena_alloc(struct arena *a, size_t len)
{
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 1024;
        void **np = realloc(a->ptr, ncap * sizeof *np);
        if (!np) {
            fprintf(stderr, "fuzz: out of memory\n");
            abort();
        }
        a->ptr = np;
        a->cap = ncap;
    }
    /* Exactly len bytes (ASan's redzone starts right after); malloc(0) may give NULL. */
    void *p = malloc(len ? len : 1);
    if (!p) {
        fprintf(stderr, "fuzz: out of memory\n");
        abort();
    }
    a->ptr[a->n++] = p;
    return p;
}

/* Frees every allocation; keeps the pointer array for the next input. */
static inline void arena_free(struct arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->ptr[i]);
    a->n = 0;
}

/* ---- a private directory per process ------------------------------------------------------ */

static inline int fz_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Makes <base>/craton-fuzz-<tag>-<pid>-XXXXXX under /dev/shm (no disk I/O) or /tmp, after
 * removing the directories of earlier runs whose process is gone (libFuzzer often ends a
 * process with _Exit, so atexit handlers cannot be relied on). Aborts on failure. */
static inline void fuzz_tmpdir(const char *tag, char *out, size_t len)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char prefix[64];
    snprintf(prefix, sizeof prefix, "craton-fuzz-%s-", tag);
    DIR *d = opendir(base);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        long pid = strtol(e->d_name + strlen(prefix), NULL, 10);
        if (pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", base, e->d_name);
        nftw(path, fz_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (d)
        closedir(d);
    snprintf(out, len, "%s/%s%ld-XXXXXX", base, prefix, (long)getpid());
    if (!mkdtemp(out)) {
        fprintf(stderr, "fuzz: cannot make %s\n", out);
        abort();
    }
}

/* ---- values from small tables, so that decoded templates often make sense ----------------- */

static const CK_ULONG g_ulongs[] = {
    CKO_DATA, CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY,
    CKO_HW_FEATURE, CKO_DOMAIN_PARAMETERS, CKO_MECHANISM, CKO_OTP_KEY, CKO_PROFILE,
    CKK_RSA, CKK_EC, CKK_GENERIC_SECRET, CKK_AES, CKK_EC_EDWARDS, CKK_EC_MONTGOMERY,
    CKK_CHACHA20, CKK_SHA256_HMAC, CKK_SHA512_HMAC, CKK_SHA3_256_HMAC, CKK_HKDF, CKK_DES3,
    CKC_X_509, CKC_WTLS, 16, 24, 32, 64, 256, 1024, 2048, 0, 1, 2, 3,
    CK_UNAVAILABLE_INFORMATION, CKK_VENDOR_DEFINED, (CK_ULONG)1 << 31, (CK_ULONG)1 << 32,
};
#define N_ULONGS (sizeof g_ulongs / sizeof g_ulongs[0])

static const CK_ATTRIBUTE_TYPE g_types[] = {
    CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_UNIQUE_ID, CKA_APPLICATION, CKA_VALUE,
    CKA_OBJECT_ID, CKA_CERTIFICATE_TYPE, CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_TRUSTED,
    CKA_CERTIFICATE_CATEGORY, CKA_CHECK_VALUE, CKA_SUBJECT, CKA_URL, CKA_KEY_TYPE, CKA_ID,
    CKA_SENSITIVE, CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_SIGN_RECOVER,
    CKA_VERIFY, CKA_VERIFY_RECOVER, CKA_DERIVE, CKA_START_DATE, CKA_END_DATE, CKA_MODULUS,
    CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
    CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT, CKA_PUBLIC_KEY_INFO, CKA_VALUE_LEN,
    CKA_EXTRACTABLE, CKA_LOCAL, CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE,
    CKA_KEY_GEN_MECHANISM, CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE, CKA_EC_PARAMS,
    CKA_EC_POINT, CKA_ALWAYS_AUTHENTICATE, CKA_WRAP_WITH_TRUSTED, CKA_WRAP_TEMPLATE,
    CKA_UNWRAP_TEMPLATE, CKA_DERIVE_TEMPLATE, CKA_ALLOWED_MECHANISMS, CKA_NAME_HASH_ALGORITHM,
    CKA_JAVA_MIDP_SECURITY_DOMAIN, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, CKA_HASH_OF_ISSUER_PUBLIC_KEY,
    CKA_URL, CKA_HW_FEATURE_TYPE, CKA_VENDOR_DEFINED, CKA_PRIME_BITS, CKA_BASE, CKA_PRIME,
};
#define N_TYPES (sizeof g_types / sizeof g_types[0])

static inline CK_ATTRIBUTE_TYPE rd_type(struct rd *r)
{
    uint8_t s = rd_u8(r);
    if (s < 0xf0)
        return g_types[s % N_TYPES];
    switch (s) {
    case 0xf0: return (CK_ATTRIBUTE_TYPE)rd_u32(r);
    case 0xf1: return (CK_ATTRIBUTE_TYPE)rd_u64(r);
    case 0xf2: return CKA_VENDOR_DEFINED | rd_u8(r);
    case 0xf3: return ~(CK_ATTRIBUTE_TYPE)0;
    default: return CKF_ARRAY_ATTRIBUTE | rd_u8(r);
    }
}

static inline CK_ULONG rd_ulong_value(struct rd *r)
{
    uint8_t s = rd_u8(r);
    if (s < 0xc0)
        return g_ulongs[s % N_ULONGS];
    if (s < 0xe0)
        return rd_u8(r);
    return (CK_ULONG)rd_u64(r);
}

/* ---- templates ------------------------------------------------------------------------- */

/* Never more than this many attributes per level, so that an input stays cheap. */
#define FZ_MAX_ATTRS 40

/* A 1-byte object that absurd lengths point at: the library must refuse the length before it
 * reads; if it does read, ASan reports the overflow (a real finding: the limit was skipped). */
static uint8_t g_tiny[1];

/* Decodes one attribute's value into *a (type already set). depth > 0 inside a nested
 * template. Layout per value: mode byte, then what the mode needs:
 *  0 raw: len u8, bytes          1 bool: u8          2 ulong from table     3 ulong: 8 bytes
 *  4 NULL pointer, len u8        5 absurd length     6 nested template      7 date: 8 bytes
 *  8 raw: len u16, bytes         9 empty (non-NULL, 0) */
static void rd_template(struct rd *r, struct arena *ar, int depth, CK_ATTRIBUTE **out,
                        CK_ULONG *count);

static inline void rd_value(struct rd *r, struct arena *ar, int depth, CK_ATTRIBUTE *a)
{
    uint8_t mode = rd_u8(r) % 10;
    /* An attribute with CKF_ARRAY_ATTRIBUTE holds a CK_ATTRIBUTE array (the library must
     * follow its pointers): give it one, NULL, an empty value or an absurd length, never
     * plain bytes, which would be the caller breaking the API rather than bad input. */
    bool array = (a->type & CKF_ARRAY_ATTRIBUTE) != 0;
    if (array && mode != 4 && mode != 5 && mode != 6 && mode != 9)
        mode = 6;
    switch (mode) {
    case 0:
    case 8: {
        size_t len = mode == 0 ? rd_u8(r) : rd_u16(r);
        a->pValue = arena_alloc(ar, len);
        rd_bytes(r, a->pValue, len);
        a->ulValueLen = len;
        break;
    }
    case 1: {
        uint8_t v = rd_u8(r);
        CK_BBOOL *b = arena_alloc(ar, 1);
        *b = v < 0x80 ? (v & 1) : v;
        a->pValue = b;
        a->ulValueLen = 1;
        break;
    }
    case 2:
    case 3: {
        CK_ULONG *u = arena_alloc(ar, sizeof *u);
        *u = mode == 2 ? rd_ulong_value(r) : (CK_ULONG)rd_u64(r);
        a->pValue = u;
        a->ulValueLen = sizeof *u;
        break;
    }
    case 4:
        a->pValue = NULL;
        a->ulValueLen = rd_u8(r) & 3 ? rd_u8(r) : 0;
        break;
    case 5: {
        static const CK_ULONG absurd[] = { (1u << 20) + 1, (CK_ULONG)1 << 32, ~(CK_ULONG)0,
                                           (CK_ULONG)1 << 63, CK_UNAVAILABLE_INFORMATION - 1,
                                           (CK_ULONG)1 << 40 };
        uint8_t s = rd_u8(r);
        if (s % 8 == 7 && !array) {
            /* Exactly the largest permitted value, really allocated. */
            a->ulValueLen = 1u << 20;
            a->pValue = arena_alloc(ar, a->ulValueLen);
            memset(a->pValue, s, a->ulValueLen);
        } else {
            a->ulValueLen = absurd[s % (sizeof absurd / sizeof absurd[0])];
            a->pValue = g_tiny;
        }
        break;
    }
    case 6: {
        if (depth >= 2) {
            a->pValue = NULL;
            a->ulValueLen = 0;
            break;
        }
        CK_ATTRIBUTE *inner = NULL;
        CK_ULONG n = 0;
        rd_template(r, ar, depth + 1, &inner, &n);
        a->pValue = inner;
        a->ulValueLen = n * sizeof(CK_ATTRIBUTE);
        /* Sometimes a length that is not a whole number of attributes (the array was
         * allocated with one spare element, so the memory is there). */
        uint8_t d = rd_u8(r);
        if (d >= 0xf0 && inner)
            a->ulValueLen += 1 + d % (sizeof(CK_ATTRIBUTE) - 1);
        break;
    }
    case 7: {
        CK_DATE *dt = arena_alloc(ar, sizeof *dt);
        uint8_t s = rd_u8(r);
        if (s & 1)
            memcpy(dt, s & 2 ? "20240131" : "29991231", 8);
        else
            rd_bytes(r, dt, sizeof *dt);
        a->pValue = dt;
        a->ulValueLen = sizeof *dt;
        break;
    }
    default:
        a->pValue = arena_alloc(ar, 0);
        a->ulValueLen = 0;
        break;
    }
}

/* count u8, then per attribute: type (rd_type), value (rd_value). */
static void rd_template(struct rd *r, struct arena *ar, int depth, CK_ATTRIBUTE **out,
                        CK_ULONG *count)
{
    CK_ULONG n = rd_u8(r) % (FZ_MAX_ATTRS + 1);
    /* One spare element: see mode 6 above. */
    CK_ATTRIBUTE *t = arena_alloc(ar, (n + 1) * sizeof *t);
    memset(t, 0, (n + 1) * sizeof *t);
    for (CK_ULONG i = 0; i < n; i++) {
        t[i].type = rd_type(r);
        rd_value(r, ar, depth, &t[i]);
    }
    *out = n ? t : NULL;
    *count = n;
}

/* An output template for C_GetAttributeValue-style reads: per attribute a type and a buffer
 * of a chosen size (or NULL), nested arrays for array attributes. */
static inline void rd_read_template(struct rd *r, struct arena *ar, int depth, CK_ATTRIBUTE **out,
                                    CK_ULONG *count)
{
    CK_ULONG n = rd_u8(r) % 24;
    CK_ATTRIBUTE *t = arena_alloc(ar, (n ? n : 1) * sizeof *t);
    memset(t, 0, (n ? n : 1) * sizeof *t);
    for (CK_ULONG i = 0; i < n; i++) {
        t[i].type = rd_type(r);
        uint8_t m = rd_u8(r);
        /* As in rd_value: an array attribute gets an array (or NULL), never plain bytes. */
        if ((t[i].type & CKF_ARRAY_ATTRIBUTE) && m % 5 != 0)
            m = (uint8_t)(m - m % 5 + 4);
        switch (m % 5) {
        case 0: /* ask for the length */
            t[i].pValue = NULL;
            t[i].ulValueLen = (CK_ULONG)rd_u8(r) << (m & 0x38);
            break;
        case 1:
        case 2: { /* a buffer of a given size */
            size_t len = m % 5 == 1 ? rd_u8(r) : rd_u16(r) % 4096;
            t[i].pValue = arena_alloc(ar, len);
            memset(t[i].pValue, 0xa5, len);
            t[i].ulValueLen = len;
            break;
        }
        case 3: /* a buffer of exactly one CK_ULONG */
            t[i].pValue = arena_alloc(ar, sizeof(CK_ULONG));
            t[i].ulValueLen = sizeof(CK_ULONG);
            break;
        default: /* a nested array of output attributes */
            if (depth > 0) {
                t[i].pValue = NULL;
                t[i].ulValueLen = 0;
            } else {
                CK_ATTRIBUTE *inner;
                CK_ULONG k;
                rd_read_template(r, ar, depth + 1, &inner, &k);
                t[i].pValue = inner;
                t[i].ulValueLen = k * sizeof(CK_ATTRIBUTE);
            }
            break;
        }
    }
    *out = t;
    *count = n;
}
#endif
