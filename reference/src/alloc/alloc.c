/* SPDX-License-Identifier: MIT */
/* Allocator front end: the backend registry, instances, and the counters every backend shares. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/registry.h"
#include "internal.h"
#include "vox/config.h"

/* ---- registry -------------------------------------------------------------------------------- */

static const void *const builtin[] = {
    &vox__alloc_system_ops,
    &vox__alloc_pool_ops,
#if VOX_HAVE_JEMALLOC
    &vox__alloc_jemalloc_ops,
#endif
#if VOX_HAVE_MIMALLOC
    &vox__alloc_mimalloc_ops,
#endif
    NULL,
};

static const struct vox__registry_optional optional[] = {
    {"jemalloc", "install libjemalloc-dev and configure with -DVOX_WITH_JEMALLOC=AUTO or ON"},
    {"mimalloc", "install libmimalloc-dev and configure with -DVOX_WITH_MIMALLOC=AUTO or ON"},
    {NULL, NULL},
};

static struct vox__registry reg = VOX__REGISTRY_INIT("allocator", builtin, optional);

size_t vox_allocator_backend_count(void)
{
    return vox__registry_count(&reg);
}

const struct vox_allocator_ops *vox_allocator_backend_at(size_t i)
{
    return vox__registry_at(&reg, i);
}

const struct vox_allocator_ops *vox_allocator_backend_find(const char *name)
{
    return vox__registry_find(&reg, name);
}

int vox_allocator_register(const struct vox_allocator_ops *ops)
{
    if (!ops || ops->abi_version > VOX_ALLOCATOR_ABI_VERSION || !ops->alloc || !ops->free)
        return VOX_EINVAL;
    return vox__registry_add(&reg, ops);
}

void vox_allocator_backend_names(char *buf, size_t buf_len)
{
    vox__registry_names(&reg, buf, buf_len);
}

/* ---- per-thread slots ------------------------------------------------------------------------ */

/*
 * Slot indexes are process-wide: a thread takes the lowest free index on its first allocation
 * and gives it back when it exits (pthread key destructor), so executors that start a thread
 * per task do not run out. A slot's counters are cumulative and survive their owner: the next
 * owner adds to them, and the mutex hand-over orders the two owners' plain stores.
 */
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t slot_used; /* bit i set: index i is owned (bit 63, the overflow, never set) */
static pthread_key_t slot_key;
static pthread_once_t slot_key_once = PTHREAD_ONCE_INIT;
static _Thread_local int tls_slot = -1;

static void slot_release(void *v)
{
    unsigned idx = (unsigned)((uintptr_t)v - 1);

    pthread_mutex_lock(&slot_lock);
    slot_used &= ~(UINT64_C(1) << idx);
    pthread_mutex_unlock(&slot_lock);
}

static void slot_key_create(void)
{
    /* Without the key a thread's index is simply never returned; allocation still works. */
    if (pthread_key_create(&slot_key, slot_release) != 0)
        slot_key = (pthread_key_t)-1;
}

__attribute__((noinline)) static unsigned slot_acquire(void)
{
    unsigned idx = VOX__ALLOC_SLOTS - 1;
    unsigned i;

    pthread_once(&slot_key_once, slot_key_create);
    pthread_mutex_lock(&slot_lock);
    for (i = 0; i < VOX__ALLOC_SLOTS - 1; i++) {
        if (!(slot_used & (UINT64_C(1) << i))) {
            slot_used |= UINT64_C(1) << i;
            idx = i;
            break;
        }
    }
    pthread_mutex_unlock(&slot_lock);
    if (idx != VOX__ALLOC_SLOTS - 1 && slot_key != (pthread_key_t)-1)
        pthread_setspecific(slot_key, (void *)(uintptr_t)(idx + 1));
    tls_slot = (int)idx;
    return idx;
}

unsigned vox__thread_slot(void)
{
    int idx = tls_slot;

    if (__builtin_expect(idx >= 0, 1))
        return (unsigned)idx;
    return slot_acquire();
}

/* ---- instances ------------------------------------------------------------------------------- */

struct counters {
    _Atomic uint64_t allocs;
    _Atomic uint64_t frees;
    _Atomic uint64_t failed;
    _Atomic uint64_t bytes_alloc;
    _Atomic uint64_t bytes_freed;
    _Atomic int64_t unflushed; /* net bytes not yet added to in_use_global */
} __attribute__((aligned(64)));

struct vox_allocator {
    const struct vox_allocator_ops *ops;
    void *state;                   /* ops->state_bytes, zeroed, follows the slots */
    _Atomic int64_t in_use_global; /* flushed part of bytes in use, for the peak */
    _Atomic uint64_t peak;
    struct counters slots[VOX__ALLOC_SLOTS];
};

__attribute__((noinline)) static void peak_raise(struct vox_allocator *a, int64_t delta)
{
    int64_t now = atomic_fetch_add_explicit(&a->in_use_global, delta, memory_order_relaxed) + delta;
    uint64_t seen = atomic_load_explicit(&a->peak, memory_order_relaxed);

    while (now > 0 && (uint64_t)now > seen &&
           !atomic_compare_exchange_weak_explicit(&a->peak, &seen, (uint64_t)now,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

/* The owner of a slot updates it with plain loads and stores (relaxed atomics, so readers in
 * vox_allocator_stats see whole values); no locked instruction is needed. */
#define OWN_ADD(field, by)                                                                         \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) + (by),   \
                          memory_order_relaxed)

/* Counting for threads without a slot of their own (the 64th and later): atomic adds on the
 * shared overflow slot, and the peak kept exactly. */
__attribute__((noinline)) static void count_shared(struct vox_allocator *a, struct counters *c,
                                                   int64_t delta)
{
    atomic_fetch_add_explicit(delta > 0 ? &c->allocs : &c->frees, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(delta > 0 ? &c->bytes_alloc : &c->bytes_freed,
                              (uint64_t)(delta > 0 ? delta : -delta), memory_order_relaxed);
    peak_raise(a, delta);
}

/*
 * Counts one allocation (+n) or free (-n) on the calling thread's slot. Net bytes are batched
 * per slot and flushed to the shared in-use counter past PEAK_SLACK, which keeps a shared
 * cache line off the fast path while bounding the peak's error.
 */
static inline __attribute__((always_inline)) void count(struct vox_allocator *a, int64_t delta)
{
    int idx = tls_slot;
    struct counters *c;
    int64_t u;

    if (__builtin_expect(idx < 0, 0))
        idx = (int)slot_acquire();
    c = &a->slots[idx];
    if (__builtin_expect(idx == VOX__ALLOC_SLOTS - 1, 0)) {
        count_shared(a, c, delta);
        return;
    }
    if (delta > 0) {
        OWN_ADD(c->allocs, 1);
        OWN_ADD(c->bytes_alloc, (uint64_t)delta);
    } else {
        OWN_ADD(c->frees, 1);
        OWN_ADD(c->bytes_freed, (uint64_t)-delta);
    }
    u = atomic_load_explicit(&c->unflushed, memory_order_relaxed) + delta;
    if (__builtin_expect(u > VOX_ALLOC_PEAK_SLACK_BYTES || u < -VOX_ALLOC_PEAK_SLACK_BYTES, 0)) {
        peak_raise(a, u);
        u = 0;
    }
    atomic_store_explicit(&c->unflushed, u, memory_order_relaxed);
}

static void count_failure(struct vox_allocator *a)
{
    struct counters *c = &a->slots[vox__thread_slot()];

    atomic_fetch_add_explicit(&c->failed, 1, memory_order_relaxed);
}

int vox_allocator_create(const char *name, const struct vox_alloc_config *cfg,
                         struct vox_allocator **out, struct vox_diag *diag)
{
    static const struct vox_alloc_config defaults;
    const struct vox_allocator_ops *ops;
    struct vox_allocator *a = NULL;
    size_t state_bytes;
    int rc;

    if (!out)
        return VOX_EINVAL;
    *out = NULL;
    rc = vox__registry_lookup(&reg, name, (const void **)&ops, diag);
    if (rc)
        return rc;
    state_bytes = (ops->state_bytes + 63) & ~(size_t)63;
    /* The front end's own memory comes from libc: it is the root every backend hangs from. */
    if (posix_memalign((void **)&a, 64, sizeof(*a) + state_bytes) != 0) {
        vox_diag_set(diag, "allocator '%s': out of memory creating the instance", name);
        return VOX_ENOMEM;
    }
    memset(a, 0, sizeof(*a) + state_bytes);
    a->ops = ops;
    a->state = state_bytes ? (char *)a + sizeof(*a) : NULL;
    rc = ops->init ? ops->init(a->state, cfg ? cfg : &defaults, diag) : 0;
    if (rc) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void vox_allocator_destroy(struct vox_allocator *a)
{
    if (!a)
        return;
    if (a->ops->fini)
        a->ops->fini(a->state);
    free(a);
}

void *vox_alloc(struct vox_allocator *a, size_t size_bytes)
{
    size_t n = size_bytes + (size_bytes == 0); /* jemalloc's mallocx(0) is undefined */
    void *p = a->ops->alloc(a->state, n);

    if (__builtin_expect(!p, 0)) {
        count_failure(a);
        return NULL;
    }
    count(a, (int64_t)n);
    return p;
}

void *vox_alloc_array(struct vox_allocator *a, size_t n, size_t size_bytes)
{
    size_t total;

    if (__builtin_mul_overflow(n, size_bytes, &total))
        return NULL;
    return vox_alloc(a, total);
}

void vox_free(struct vox_allocator *a, void *p, size_t size_bytes)
{
    size_t n = size_bytes + (size_bytes == 0);

    if (!p)
        return;
    /* Backends keep errno as it was (the contract suite checks it), so the front end does
     * not pay for saving it on every free. */
    a->ops->free(a->state, p, n);
    count(a, -(int64_t)n);
}

void vox_allocator_stats(struct vox_allocator *a, struct vox_alloc_stats *out)
{
    uint64_t balloc = 0, bfreed = 0;
    unsigned i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < VOX__ALLOC_SLOTS; i++) {
        struct counters *c = &a->slots[i];

        out->alloc_calls += atomic_load_explicit(&c->allocs, memory_order_relaxed);
        out->free_calls += atomic_load_explicit(&c->frees, memory_order_relaxed);
        out->failed_calls += atomic_load_explicit(&c->failed, memory_order_relaxed);
        balloc += atomic_load_explicit(&c->bytes_alloc, memory_order_relaxed);
        bfreed += atomic_load_explicit(&c->bytes_freed, memory_order_relaxed);
    }
    /* Another thread's free can be seen before its alloc; never report a negative. */
    out->bytes_in_use = balloc > bfreed ? balloc - bfreed : 0;
    out->bytes_in_use_peak = atomic_load_explicit(&a->peak, memory_order_relaxed);
    /* What this read sees is a peak candidate too: keep it, so the peak never falls. */
    while (out->bytes_in_use > out->bytes_in_use_peak &&
           !atomic_compare_exchange_weak_explicit(&a->peak, &out->bytes_in_use_peak,
                                                  out->bytes_in_use, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
    if (out->bytes_in_use > out->bytes_in_use_peak)
        out->bytes_in_use_peak = out->bytes_in_use;
    if (a->ops->stats)
        a->ops->stats(a->state, out);
}

const char *vox_allocator_name(const struct vox_allocator *a)
{
    return a->ops->name;
}

static struct vox_allocator *default_alloc;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_create(void)
{
    /* The system backend cannot fail to initialise short of the 4 KiB front struct. */
    if (vox_allocator_create("system", NULL, &default_alloc, NULL) != 0)
        default_alloc = NULL;
}

struct vox_allocator *vox_allocator_default(void)
{
    pthread_once(&default_once, default_create);
    return default_alloc;
}
