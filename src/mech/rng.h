/* The module's random number source for the mechanism layer: mech_random (mech/mech.h) over
 * ossl_random, whose continuous test lives in base/rng.c with its hooks. */
#ifndef CRATON_MECH_RNG_H
#define CRATON_MECH_RNG_H
#include "base/rng.h"
#endif
