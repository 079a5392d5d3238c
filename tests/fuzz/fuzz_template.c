/* Fuzz target: the template layer (object/template.c) on decoded CK_ATTRIBUTE arrays.
 *
 * Input: a flags byte, a default-class byte, a default-key-type byte, then three templates in
 * fuzz_util.h's layout: T1 (the object's template), T2 (changes for C_SetAttributeValue /
 * C_CopyObject), R (an output template for C_GetAttributeValue). T1 is parsed, built for every
 * operation and two default classes, finished, read back through R, changed by T2 and read
 * again. Invariant checked besides crash-freedom: serialize/parse round-trips an object. */
#include "fuzz_util.h"

#include "base/mem.h"
#include "object/attr.h"
#include "object/template.h"

/* Output arrays decoded for R and a pristine copy of each, so every read starts from the
 * same template (tmpl_read writes lengths and types into them). */
#define MAX_SAVED 64
static struct saved {
    CK_ATTRIBUTE *arr;
    CK_ATTRIBUTE copy[24];
    CK_ULONG n;
} g_saved[MAX_SAVED];
static size_t g_nsaved;

static void save_reads(CK_ATTRIBUTE *t, CK_ULONG n)
{
    if (g_nsaved == MAX_SAVED || n > 24)
        abort(); /* cannot happen: rd_read_template makes at most 24 per level, 25 arrays */
    struct saved *s = &g_saved[g_nsaved++];
    s->arr = t;
    s->n = n;
    memcpy(s->copy, t, n * sizeof *t);
    for (CK_ULONG i = 0; i < n; i++)
        if (t[i].pValue && t[i].ulValueLen && t[i].ulValueLen % sizeof(CK_ATTRIBUTE) == 0 &&
            t[i].ulValueLen / sizeof(CK_ATTRIBUTE) <= 24) {
            /* Possibly a nested array (harmless to save a plain buffer the same way). */
            CK_ULONG k = t[i].ulValueLen / sizeof(CK_ATTRIBUTE);
            if (g_nsaved < MAX_SAVED) {
                struct saved *in = &g_saved[g_nsaved++];
                in->arr = t[i].pValue;
                in->n = k;
                memcpy(in->copy, t[i].pValue, k * sizeof *t);
            }
        }
}

static void restore_reads(void)
{
    for (size_t i = 0; i < g_nsaved; i++)
        memcpy(g_saved[i].arr, g_saved[i].copy, g_saved[i].n * sizeof(CK_ATTRIBUTE));
}

static void check_roundtrip(const attrs_t *obj)
{
    attrs_t back;
    attrs_init(&back);
    for (int secret = 0; secret < 2; secret++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (attrs_serialize(obj, secret, &buf, &len) != CKR_OK)
            return;
        CK_RV rv = attrs_parse(&back, buf, len, secret);
        attrs_serialized_free(buf, len, secret);
        if (rv != CKR_OK) {
            fprintf(stderr, "fuzz_template: attrs_parse refused attrs_serialize's output\n");
            abort();
        }
    }
    if (back.n != obj->n)
        abort();
    for (size_t i = 0; i < obj->n; i++) {
        const attr_t *a = &obj->v[i];
        const attr_t *b = attrs_get(&back, a->type);
        if (!b || b->len != a->len || b->secret != a->secret ||
            (a->len && memcmp(a->val, b->val, a->len))) {
            fprintf(stderr, "fuzz_template: attribute 0x%lx changed in a round trip\n",
                    (unsigned long)a->type);
            abort();
        }
    }
    attrs_free(&back);
}

static void read_back(const attrs_t *obj, CK_ATTRIBUTE *r, CK_ULONG rn)
{
    restore_reads();
    (void)tmpl_read(obj, r, rn);
    (void)obj_class(obj);
    (void)obj_keytype(obj);
}

/* FUZZ_VERBOSE=1: print what each step returned (for checking seeds). */
static bool g_verbose;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (secmem_init())
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const CK_OBJECT_CLASS classes[] = { CKO_DATA, CKO_CERTIFICATE, CKO_PUBLIC_KEY,
                                               CKO_PRIVATE_KEY, CKO_SECRET_KEY, CKO_OTP_KEY };
    static const CK_KEY_TYPE keytypes[] = { CKK_RSA, CKK_EC, CKK_EC_EDWARDS, CKK_EC_MONTGOMERY,
                                            CKK_AES, CKK_GENERIC_SECRET, CKK_SHA256_HMAC,
                                            CKK_CHACHA20, CKK_HKDF, CKK_DES3 };
    static struct arena ar;
    struct rd r = { data, size };
    uint8_t flags = rd_u8(&r);
    uint8_t cs = rd_u8(&r), ks = rd_u8(&r);
    bool is_so = flags & 1;
    CK_OBJECT_CLASS cls = cs < 0xf0 ? classes[cs % 6] : CK_UNAVAILABLE_INFORMATION;
    CK_KEY_TYPE kt = ks < 0xf0 ? keytypes[ks % 10] : CK_UNAVAILABLE_INFORMATION;

    CK_ATTRIBUTE *t1, *t2, *rt;
    CK_ULONG n1, n2, rn;
    g_nsaved = 0;
    rd_template(&r, &ar, 0, &t1, &n1);
    rd_template(&r, &ar, 0, &t2, &n2);
    rd_read_template(&r, &ar, 0, &rt, &rn);
    save_reads(rt, rn);

    attrs_t in, changes;
    CK_RV rv1 = tmpl_parse(t1, n1, &in);
    CK_RV rv2 = tmpl_parse(t2, n2, &changes);
    if (g_verbose)
        fprintf(stderr, "parse T1 (%lu attrs): 0x%lx, T2 (%lu attrs): 0x%lx\n",
                (unsigned long)n1, (unsigned long)rv1, (unsigned long)n2, (unsigned long)rv2);
    /* A NULL template with a count must be refused, never read. */
    if (n1 && tmpl_parse(NULL, n1, &(attrs_t){ 0 }) == CKR_OK)
        abort();
    if (rv1 == CKR_OK) {
        check_roundtrip(&in);
        (void)attrs_match(&in, t1, n1);
        read_back(&in, rt, rn);
        for (int op = TMPL_CREATE; op <= TMPL_DERIVE; op++) {
            for (int d = 0; d < 2; d++) {
                attrs_t obj;
                CK_OBJECT_CLASS dc = d ? cls : CK_UNAVAILABLE_INFORMATION;
                CK_KEY_TYPE dk = d ? kt : CK_UNAVAILABLE_INFORMATION;
                CK_RV rb = tmpl_build(&in, (enum tmpl_op)op, dc, dk, is_so, &obj);
                if (g_verbose)
                    fprintf(stderr, "build op %d default %d: 0x%lx\n", op, d, (unsigned long)rb);
                if (rb != CKR_OK) {
                    attrs_free(&obj);
                    continue;
                }
                CK_MECHANISM_TYPE mech = op == TMPL_CREATE ? CK_UNAVAILABLE_INFORMATION
                                                           : CKM_AES_KEY_GEN;
                (void)tmpl_finish(&obj, (enum tmpl_op)op, mech);
                check_roundtrip(&obj);
                (void)attrs_match(&obj, t1, n1);
                read_back(&obj, rt, rn);
                if (rv2 == CKR_OK) {
                    for (int copy = 0; copy < 2; copy++) {
                        attrs_t c;
                        if (attrs_copy(&c, &obj) != CKR_OK)
                            continue;
                        CK_RV ra = tmpl_apply(&c, &changes, copy, is_so);
                        if (g_verbose)
                            fprintf(stderr, "  apply copy=%d: 0x%lx\n", copy, (unsigned long)ra);
                        if (ra == CKR_OK) {
                            check_roundtrip(&c);
                            read_back(&c, rt, rn);
                        }
                        attrs_free(&c);
                    }
                }
                attrs_free(&obj);
            }
        }
        attrs_free(&in);
    }
    if (rv2 == CKR_OK)
        attrs_free(&changes);
    arena_free(&ar);
    return 0;
}
