/* Mutex abstraction over pthreads or the application's CK_C_INITIALIZE_ARGS callbacks. */
#include "base/lock.h"

#include <pthread.h>
#include <stdlib.h>

struct mutex {
    pthread_mutex_t pm;
    void *app; /* the application's mutex when callbacks are in use */
};

static struct {
    CK_CREATEMUTEX create;
    CK_DESTROYMUTEX destroy;
    CK_LOCKMUTEX lock;
    CK_UNLOCKMUTEX unlock;
} g_cb;

CK_RV lock_configure(const CK_C_INITIALIZE_ARGS *args)
{
    g_cb.create = NULL;
    g_cb.destroy = NULL;
    g_cb.lock = NULL;
    g_cb.unlock = NULL;
    if (!args)
        return CKR_OK;
    int given = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) +
                (args->LockMutex != NULL) + (args->UnlockMutex != NULL);
    if (given != 0 && given != 4)
        return CKR_ARGUMENTS_BAD; /* spec: all four or none */
    if (given == 4 && !(args->flags & CKF_OS_LOCKING_OK)) {
        /* Only the application's primitives may be used. */
        g_cb.create = args->CreateMutex;
        g_cb.destroy = args->DestroyMutex;
        g_cb.lock = args->LockMutex;
        g_cb.unlock = args->UnlockMutex;
    }
    /* Otherwise OS locking is allowed (flag set) or the application is single-threaded
     * (neither given): pthreads are right in both cases. */
    return CKR_OK;
}

mutex_t *mutex_new(void)
{
    mutex_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (g_cb.create) {
        if (g_cb.create(&m->app) != CKR_OK) {
            free(m);
            return NULL;
        }
    } else {
        /* Adaptive: a waiter spins briefly before sleeping. The sections these mutexes
         * guard (a session's operation state) are a few hundred nanoseconds, far shorter
         * than a futex sleep and wake-up, so a hand-over need not enter the kernel. */
        pthread_mutexattr_t at;
        int r = pthread_mutexattr_init(&at);
        if (r == 0) {
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
            pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
            r = pthread_mutex_init(&m->pm, &at);
            pthread_mutexattr_destroy(&at);
        }
        if (r) {
            free(m);
            return NULL;
        }
    }
    return m;
}

void mutex_free(mutex_t *m)
{
    if (!m)
        return;
    if (m->app && g_cb.destroy)
        g_cb.destroy(m->app);
    else if (!m->app)
        pthread_mutex_destroy(&m->pm);
    free(m);
}

void mutex_lock(mutex_t *m)
{
    if (m->app)
        g_cb.lock(m->app);
    else
        pthread_mutex_lock(&m->pm);
}

void mutex_unlock(mutex_t *m)
{
    if (m->app)
        g_cb.unlock(m->app);
    else
        pthread_mutex_unlock(&m->pm);
}

struct rwlock {
    pthread_rwlock_t rw;
    mutex_t *app; /* the application's mutex when callbacks are in use */
};

rwlock_t *rwlock_new(void)
{
    rwlock_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    if (g_cb.create) {
        if (!(l->app = mutex_new())) {
            free(l);
            return NULL;
        }
        return l;
    }
    pthread_rwlockattr_t at;
    int r = pthread_rwlockattr_init(&at);
    if (r == 0) {
        pthread_rwlockattr_setkind_np(&at, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        r = pthread_rwlock_init(&l->rw, &at);
        pthread_rwlockattr_destroy(&at);
    }
    if (r) {
        free(l);
        return NULL;
    }
    return l;
}

void rwlock_free(rwlock_t *l)
{
    if (!l)
        return;
    if (l->app)
        mutex_free(l->app);
    else
        pthread_rwlock_destroy(&l->rw);
    free(l);
}

void rwlock_wrlock(rwlock_t *l)
{
    if (l->app)
        mutex_lock(l->app);
    else
        pthread_rwlock_wrlock(&l->rw);
}

void rwlock_rdlock(rwlock_t *l)
{
    if (l->app)
        mutex_lock(l->app);
    else
        pthread_rwlock_rdlock(&l->rw);
}

void rwlock_unlock(rwlock_t *l)
{
    if (l->app)
        mutex_unlock(l->app);
    else
        pthread_rwlock_unlock(&l->rw);
}
