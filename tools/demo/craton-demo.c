/* craton-demo: the quick start's demo. A temporary token, driven through PKCS#11 exactly as an
 * application would (dlopen), in several processes so that persistence shows:
 *   1. initialise a token, set the PINs, store a data object and a certificate (and, where the
 *      library offers it, generate an EC key pair and sign);
 *   2. in a new process: log in, find the objects, read them back (and verify the signature);
 *   3. in another process: destroy them;
 *   4. in a last process: show that they are gone. */
#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pkcs11.h"

static const char *const embedded_config =
    "# The demo's configuration: the library's defaults, written out.\n"
    "[store]\nexclusive = false\nsynchronous = normal\n"
    "[pin]\npbkdf2_iterations = 600000\nmax_failures = 10\nmin_length = 4\nmax_length = 255\n"
    "[log]\nlevel = warning\n";

static const char SO_PIN[] = "so-secret-1234", USER_PIN[] = "123456";
static const char DATA_LABEL[] = "demo data", CERT_LABEL[] = "demo certificate",
                  KEY_LABEL[] = "demo key";
static const char MESSAGE[] = "Craton keeps this key on the token.";

static CK_FUNCTION_LIST_PTR p11;

#define CHECK(call)                                                                  \
    do {                                                                             \
        CK_RV rv_ = (call);                                                          \
        if (rv_ != CKR_OK) {                                                         \
            fprintf(stderr, "demo: %s failed: 0x%08lx\n", #call, (unsigned long)rv_); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static void load(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "demo: cannot load %s: %s\n", path, dlerror());
        exit(1);
    }
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
    if (!gfl || gfl(&p11) != CKR_OK) {
        fprintf(stderr, "demo: %s is not a PKCS#11 module\n", path);
        exit(1);
    }
    CHECK(p11->C_Initialize(NULL));
}

static CK_SLOT_ID first_slot(void)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    CHECK(p11->C_GetSlotList(CK_TRUE, slots, &n));
    return slots[0];
}

static CK_SESSION_HANDLE user_session(void)
{
    CK_SESSION_HANDLE s;
    CHECK(p11->C_OpenSession(first_slot(), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
    CHECK(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)));
    return s;
}

static int find(CK_SESSION_HANDLE s, const char *label, CK_OBJECT_HANDLE *out, CK_ULONG max)
{
    CK_ATTRIBUTE t[] = { { CKA_LABEL, (void *)label, strlen(label) } };
    CK_ULONG n = 0;
    CHECK(p11->C_FindObjectsInit(s, t, 1));
    CHECK(p11->C_FindObjects(s, out, max, &n));
    CHECK(p11->C_FindObjectsFinal(s));
    return (int)n;
}

static int has_mechanism(CK_MECHANISM_TYPE m)
{
    CK_MECHANISM_INFO info;
    return p11->C_GetMechanismInfo(first_slot(), m, &info) == CKR_OK;
}

/* A self-signed certificate made with libcrypto, to store as a certificate object. */
static unsigned char *make_cert(int *len, unsigned char **subject, int *sublen)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"Craton demo", -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    unsigned char *der = NULL;
    *len = i2d_X509(x, &der);
    *subject = NULL;
    *sublen = i2d_X509_NAME(name, subject);
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(k);
    return der;
}

static void phase_setup(void)
{
    CK_SLOT_ID slot = first_slot();
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof label);
    memcpy(label, "craton demo", 11);
    printf("[1] pid %ld: initialising a token in slot %lu\n", (long)getpid(), (unsigned long)slot);
    CHECK(p11->C_InitToken(slot, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN), label));
    CK_SESSION_HANDLE s;
    CHECK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
    CHECK(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN)));
    CHECK(p11->C_InitPIN(s, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)));
    CHECK(p11->C_Logout(s));
    CHECK(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)));
    printf("    SO and user PINs set; user logged in\n");

    CK_OBJECT_CLASS data = CKO_DATA, certc = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE x509 = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    const char secret[] = "a private note, sealed with AES-256-GCM at rest";
    CK_ATTRIBUTE dt[] = {
        { CKA_CLASS, &data, sizeof data }, { CKA_TOKEN, &yes, sizeof yes },
        { CKA_PRIVATE, &yes, sizeof yes }, { CKA_LABEL, (void *)DATA_LABEL, strlen(DATA_LABEL) },
        { CKA_VALUE, (void *)secret, strlen(secret) },
    };
    CK_OBJECT_HANDLE h;
    CHECK(p11->C_CreateObject(s, dt, 5, &h));
    int clen, slen;
    unsigned char *subject, *cert = make_cert(&clen, &subject, &slen);
    CK_ATTRIBUTE ct[] = {
        { CKA_CLASS, &certc, sizeof certc }, { CKA_CERTIFICATE_TYPE, &x509, sizeof x509 },
        { CKA_TOKEN, &yes, sizeof yes }, { CKA_LABEL, (void *)CERT_LABEL, strlen(CERT_LABEL) },
        { CKA_SUBJECT, subject, (CK_ULONG)slen }, { CKA_VALUE, cert, (CK_ULONG)clen },
    };
    CHECK(p11->C_CreateObject(s, ct, 6, &h));
    printf("    stored a private data object and a %d-byte X.509 certificate\n", clen);
    OPENSSL_free(cert);
    OPENSSL_free(subject);

    if (has_mechanism(CKM_EC_KEY_PAIR_GEN) && has_mechanism(CKM_ECDSA_SHA256)) {
        static const CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
        CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 }, sig = { CKM_ECDSA_SHA256, NULL, 0 };
        CK_ATTRIBUTE pub[] = { { CKA_TOKEN, &yes, 1 }, { CKA_EC_PARAMS, (void *)p256, sizeof p256 },
                               { CKA_LABEL, (void *)KEY_LABEL, strlen(KEY_LABEL) }, { CKA_VERIFY, &yes, 1 } };
        CK_ATTRIBUTE priv[] = { { CKA_TOKEN, &yes, 1 }, { CKA_SIGN, &yes, 1 },
                                { CKA_LABEL, (void *)KEY_LABEL, strlen(KEY_LABEL) } };
        CK_OBJECT_HANDLE hp, hk;
        CHECK(p11->C_GenerateKeyPair(s, &gen, pub, 4, priv, 3, &hp, &hk));
        CK_BYTE signature[64];
        CK_ULONG siglen = sizeof signature;
        CHECK(p11->C_SignInit(s, &sig, hk));
        CHECK(p11->C_Sign(s, (CK_BYTE_PTR)MESSAGE, strlen(MESSAGE), signature, &siglen));
        FILE *f = fopen("signature.bin", "wb");
        if (f) {
            fwrite(signature, 1, siglen, f);
            fclose(f);
        }
        printf("    generated an EC P-256 key pair on the token and signed a message (%lu bytes)\n",
               (unsigned long)siglen);
    }
    CHECK(p11->C_CloseSession(s));
}

static void phase_read(void)
{
    printf("[2] pid %ld: a new process logs in and reads the objects back\n", (long)getpid());
    CK_SESSION_HANDLE s = user_session();
    CK_OBJECT_HANDLE h[4];
    if (find(s, DATA_LABEL, h, 4) != 1 || find(s, CERT_LABEL, h + 1, 3) != 1) {
        fprintf(stderr, "demo: the objects did not survive the process\n");
        exit(1);
    }
    char value[256];
    CK_BYTE uid[64];
    CK_ATTRIBUTE rt[] = { { CKA_VALUE, value, sizeof value - 1 }, { CKA_UNIQUE_ID, uid, sizeof uid } };
    CHECK(p11->C_GetAttributeValue(s, h[0], rt, 2));
    value[rt[0].ulValueLen] = 0;
    printf("    data object %.*s: \"%s\"\n", (int)rt[1].ulValueLen, (char *)uid, value);
    CK_BYTE der[4096];
    CK_ATTRIBUTE ct[] = { { CKA_VALUE, der, sizeof der } };
    CHECK(p11->C_GetAttributeValue(s, h[1], ct, 1));
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)ct[0].ulValueLen);
    char subj[256] = "?";
    if (x)
        X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof subj);
    printf("    certificate: subject %s, %lu bytes, parses as X.509: %s\n", subj,
           (unsigned long)ct[0].ulValueLen, x ? "yes" : "NO");
    X509_free(x);
    if (!x)
        exit(1);
    CK_OBJECT_HANDLE keys[2];
    CK_OBJECT_CLASS pubc = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE kt[] = { { CKA_CLASS, &pubc, sizeof pubc }, { CKA_LABEL, (void *)KEY_LABEL, strlen(KEY_LABEL) } };
    CK_ULONG nk = 0;
    CHECK(p11->C_FindObjectsInit(s, kt, 2));
    CHECK(p11->C_FindObjects(s, keys, 2, &nk));
    CHECK(p11->C_FindObjectsFinal(s));
    FILE *f = fopen("signature.bin", "rb");
    if (nk == 1 && f) {
        CK_BYTE sig[128];
        size_t sl = fread(sig, 1, sizeof sig, f);
        CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
        CHECK(p11->C_VerifyInit(s, &m, keys[0]));
        CK_RV rv = p11->C_Verify(s, (CK_BYTE_PTR)MESSAGE, strlen(MESSAGE), sig, (CK_ULONG)sl);
        printf("    the token's public key verifies the signature: %s\n", rv == CKR_OK ? "yes" : "NO");
        if (rv != CKR_OK)
            exit(1);
    }
    if (f)
        fclose(f);
    CHECK(p11->C_CloseSession(s));
}

static void phase_destroy(void)
{
    printf("[3] pid %ld: another process destroys them\n", (long)getpid());
    CK_SESSION_HANDLE s = user_session();
    const char *labels[] = { DATA_LABEL, CERT_LABEL, KEY_LABEL };
    int total = 0;
    for (int i = 0; i < 3; i++) {
        CK_OBJECT_HANDLE h[4];
        int n = find(s, labels[i], h, 4);
        for (int j = 0; j < n; j++)
            CHECK(p11->C_DestroyObject(s, h[j]));
        total += n;
    }
    printf("    destroyed %d objects\n", total);
    CHECK(p11->C_CloseSession(s));
}

static void phase_check(void)
{
    printf("[4] pid %ld: a last process looks for them\n", (long)getpid());
    CK_SESSION_HANDLE s = user_session();
    CK_OBJECT_HANDLE h[16];
    CK_ULONG n = 0;
    CHECK(p11->C_FindObjectsInit(s, NULL, 0));
    CHECK(p11->C_FindObjects(s, h, 16, &n));
    CHECK(p11->C_FindObjectsFinal(s));
    printf("    objects left on the token: %lu\n", (unsigned long)n);
    CHECK(p11->C_CloseSession(s));
    if (n != 0)
        exit(1);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/TO/libcraton.so\n", argv[0]);
        return 2;
    }
    if (argc == 3) { /* a child phase: the environment already points at the temp token */
        load(argv[1]);
        if (!strcmp(argv[2], "setup"))
            phase_setup();
        else if (!strcmp(argv[2], "read"))
            phase_read();
        else if (!strcmp(argv[2], "destroy"))
            phase_destroy();
        else
            phase_check();
        CHECK(p11->C_Finalize(NULL));
        return 0;
    }
    char module[4096];
    if (!realpath(argv[1], module)) {
        fprintf(stderr, "demo: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    char dir[] = "/tmp/craton-demo.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char cfg[sizeof dir + 32], tokens[sizeof dir + 32];
    snprintf(cfg, sizeof cfg, "%s/craton.conf", dir);
    snprintf(tokens, sizeof tokens, "%s/tokens", dir);
    FILE *f = fopen(cfg, "w");
    if (!f)
        return 1;
    fprintf(f, "%s[store]\ntoken_dir = %s\n", embedded_config, tokens);
    fclose(f);
    setenv("CRATON_CONFIG", cfg, 1);
    unsetenv("CRATON_TOKEN_DIR");
    printf("Craton demo: a temporary token in %s\n", tokens);
    const char *phases[] = { "setup", "read", "destroy", "check" };
    int status = 0;
    if (chdir(dir) != 0)
        return 1;
    for (int i = 0; i < 4 && status == 0; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            execl("/proc/self/exe", argv[0], module, phases[i], (char *)NULL);
            _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
        status = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    }
    if (chdir("/") == 0)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf(status == 0 ? "demo finished: every step worked\n" : "demo FAILED\n");
    return status;
}
