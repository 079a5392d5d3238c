/* Mutexes: the application's callbacks when C_Initialize gave only those, pthreads otherwise. */
#ifndef CRATON_BASE_LOCK_H
#define CRATON_BASE_LOCK_H
#include "pkcs11.h"

typedef struct mutex mutex_t;

/* Validates the C_Initialize argument rules for mutexes and picks the implementation.
 * Returns CKR_OK, CKR_ARGUMENTS_BAD or CKR_CANT_LOCK. */
CK_RV lock_configure(const CK_C_INITIALIZE_ARGS *args);
mutex_t *mutex_new(void);
void mutex_free(mutex_t *m);
void mutex_lock(mutex_t *m);
void mutex_unlock(mutex_t *m);

/* A readers-writer lock: shared holders run side by side, an exclusive holder alone. With
 * the application's callbacks (mutexes only) both modes take the one mutex. Writers are
 * preferred, so a steady stream of readers cannot hold one off. Not recursive. */
typedef struct rwlock rwlock_t;
rwlock_t *rwlock_new(void);
void rwlock_free(rwlock_t *l);
void rwlock_wrlock(rwlock_t *l);
void rwlock_rdlock(rwlock_t *l);
void rwlock_unlock(rwlock_t *l);
#endif
