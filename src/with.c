/*
 * The guards behind CT_WITH and CT_GUARD: each acquires with the waiting
 * form (which cannot fail) and records how to release; the cleanup
 * attribute calls ct__guard_exit on every way out of the scope.
 */
#include <cthreading.h>

static int release_lock(void *l) { return ct_lock_release(l); }
static int release_rlock(void *r) { return ct_rlock_release(r); }
static int release_cond(void *c) { return ct_cond_release(c); }
static int release_sem(void *s) { return ct_sem_release(s, 1); }

struct ct__guard ct__guard_lock(ct_lock_t *l)
{
    ct_lock_acquire(l);
    return (struct ct__guard){ l, release_lock, 1 };
}

struct ct__guard ct__guard_rlock(ct_rlock_t *r)
{
    ct_rlock_acquire(r);
    return (struct ct__guard){ r, release_rlock, 1 };
}

struct ct__guard ct__guard_cond(ct_cond_t *c)
{
    ct_cond_acquire(c);
    return (struct ct__guard){ c, release_cond, 1 };
}

struct ct__guard ct__guard_sem(ct_sem_t *s)
{
    ct_sem_acquire(s);
    return (struct ct__guard){ s, release_sem, 1 };
}

void ct__guard_exit(struct ct__guard *g)
{
    g->release(g->object);
}
