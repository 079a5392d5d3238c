/* craton-hmac: writes (or checks) the integrity sidecar of a built libcraton.so: the
 * HMAC-SHA256 of the file under the public key of src/base/integrity.h, as 64 hex digits and a
 * newline, in FILE.hmac. Run by the build after every link and by `cmake --install` on the
 * installed file; a packager who strips or otherwise changes the library afterwards runs it
 * again on the final file (the sidecar must describe the released binary).
 *
 *   craton-hmac FILE            write FILE.hmac
 *   craton-hmac --check FILE    exit 0 when FILE.hmac matches FILE, 1 otherwise */
#include "base/integrity.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mac_file(const char *path, unsigned char mac[32])
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                        (char *)"SHA2-256", 0),
                       OSSL_PARAM_construct_end() };
    int ok = c && EVP_MAC_init(c, (const unsigned char *)INTEGRITY_KEY, INTEGRITY_KEY_LEN, p);
    unsigned char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
        ok = EVP_MAC_update(c, buf, n);
    ok = ok && !ferror(f);
    size_t outl = 0;
    ok = ok && EVP_MAC_final(c, mac, &outl, 32) && outl == 32;
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
    fclose(f);
    if (!ok)
        fprintf(stderr, "craton-hmac: cannot compute the HMAC of %s\n", path);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    int check = argc == 3 && strcmp(argv[1], "--check") == 0;
    if (argc != 2 + check || argv[argc - 1][0] == '-') {
        fprintf(stderr, "usage: craton-hmac [--check] LIBRARY\n");
        return 2;
    }
    const char *lib = argv[argc - 1];
    size_t len = strlen(lib) + sizeof INTEGRITY_SUFFIX;
    char *side = malloc(len);
    unsigned char mac[32];
    char hex[66];
    if (!side || mac_file(lib, mac))
        return 1;
    snprintf(side, len, "%s%s", lib, INTEGRITY_SUFFIX);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    hex[64] = '\n';
    hex[65] = '\0';
    if (check) {
        char have[66] = { 0 };
        FILE *f = fopen(side, "r");
        size_t n = f ? fread(have, 1, 65, f) : 0;
        if (f)
            fclose(f);
        int ok = n >= 64 && CRYPTO_memcmp(have, hex, 64) == 0;
        printf("%s: %s\n", lib, ok ? "OK" : "MISMATCH");
        free(side);
        return ok ? 0 : 1;
    }
    FILE *f = fopen(side, "w");
    if (!f || fputs(hex, f) == EOF || fclose(f) == EOF) {
        perror(side);
        free(side);
        return 1;
    }
    free(side);
    return 0;
}
