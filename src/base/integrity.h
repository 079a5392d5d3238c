/* The library's integrity self-test: an HMAC-SHA256 of its own file, compared with the sidecar
 * the build wrote next to it (FIPS 140-3 software integrity test). */
#ifndef CRATON_BASE_INTEGRITY_H
#define CRATON_BASE_INTEGRITY_H
#include <stdbool.h>
#include "pkcs11.h"

/* The HMAC key. It is public on purpose: the check detects accidental or casual modification
 * of the installed file (a flipped bit, a truncated copy, a patched binary without the matching
 * sidecar), as FIPS 140-3 asks; it gives no protection against someone who can rewrite both
 * files, which signed packages and file permissions must provide. Shared with the build tool
 * tools/craton-hmac, so the two can never disagree. */
#define INTEGRITY_KEY "Craton integrity v1: not secret."
#define INTEGRITY_KEY_LEN 32
/* The sidecar is the library's resolved path plus this suffix. Its content: the MAC as 64 hex
 * digits (optionally followed by whitespace and anything else, as `openssl dgst -r` writes),
 * or the 32 raw bytes. */
#define INTEGRITY_SUFFIX ".hmac"

/* Finds the file this code was loaded from (resolving symlinks), computes its HMAC-SHA256 and
 * compares it in constant time with the sidecar. Needs ossl_open_mode() done. Returns CKR_OK
 * when they match; when the sidecar is missing and !required; and when the code is not in a
 * shared object at all (linked into a program, as the unit tests are: there is no module file
 * to check). CKR_GENERAL_ERROR, logged, on a mismatch, an unreadable or malformed sidecar, a
 * library file that cannot be read or was replaced since it was loaded, or a missing sidecar
 * when required (FIPS-approved-only mode). */
CK_RV integrity_check(bool required);
#endif
