/* Power-on self-tests: known-answer tests of the module's own mechanism code, run at
 * C_Initialize before any service is offered. */
#ifndef CRATON_MECH_SELFTEST_H
#define CRATON_MECH_SELFTEST_H
#include <stddef.h>
#include "pkcs11.h"

/* Runs every known-answer test (fixed keys and inputs, outputs compared with published or
 * independently computed values) through mech_find(...)->family, plus the DRBG KAT and an RNG
 * health check. Needs secmem_init(), ossl_open_mode() and mech_setup() done. CKR_OK, or
 * CKR_GENERAL_ERROR after logging the name of the first test that failed: the caller must
 * then refuse to initialise (the module's error state). Takes a few milliseconds. */
CK_RV selftest_run(void);

/* The tests by name, for reporting and for the unit test. */
size_t selftest_count(void);
const char *selftest_name(size_t i); /* NULL past the end */
/* One test by name; CKR_ARGUMENTS_BAD for an unknown name. */
CK_RV selftest_run_one(const char *name);

/* Test hook: while set, the named test corrupts its own computed result (or, for a verify-only
 * test, the signature it checks) before the comparison, as a broken implementation would; so a
 * test can prove that the comparison is real and that a failure stops C_Initialize. "*" makes
 * every test fail; NULL or "" clears. The name is copied. Not exported from the library (only
 * C_* symbols are); never called by the module itself. */
void selftest_force_fail(const char *which);
#endif
