/* The continuous test on the module's random source (base/rng.c; ossl_random in base/ossl.h
 * is the source itself). */
#ifndef CRATON_BASE_RNG_H
#define CRATON_BASE_RNG_H
#include <stdbool.h>

/* How many times the continuous test has failed since load (for self-test reporting). */
unsigned long rng_health_failures(void);

/* Test hook: while true, the DRBG output is replaced by a constant (a stuck source), so a
 * unit test can prove that the continuous test fails closed. Never set outside tests. */
void rng_test_force_stuck(bool stuck);
#endif
