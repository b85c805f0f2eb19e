/* SPDX-License-Identifier: MIT */
/* Refcounted audio frames, zero-copy clones and views, and the lock-free frame pool. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vox/frame.h"

/*
 * Storage layout: this header, then the samples at the next 32-byte boundary, in one block
 * from the allocator. A storage belongs either to an allocator (freed with the last reference)
 * or to a pool (given back to it).
 */
struct vox_frame_storage {
    _Atomic uint32_t refs;
    uint32_t values_cap;         /* int16 values the data area holds */
    struct vox_allocator *alloc; /* the block came from here */
    struct pool_shared *pool;    /* NULL: not pooled */
    size_t block_bytes;          /* size passed to vox_alloc, for vox_free */
    int16_t *data;               /* 32-byte aligned, inside the block */
};

/* ---- a bounded MPMC queue (Vyukov's design): one CAS per push or pop, no lock --------------- */

struct cell {
    _Atomic size_t seq;
    struct vox_frame_storage *st;
};

struct pool_shared {
    _Atomic size_t push_pos __attribute__((aligned(64)));
    _Atomic size_t pop_pos __attribute__((aligned(64)));
    struct cell *cells;
    size_t mask;
    /* One reference for the pool handle plus one per storage alive, so that frames released
     * after vox_frame_pool_destroy still find the state they return to. */
    _Atomic size_t refs __attribute__((aligned(64)));
    _Atomic int closed;
    struct vox_allocator *alloc;
    uint32_t rate_hz, samples, max;
    uint16_t channels;
    _Atomic uint64_t gets __attribute__((aligned(64)));
    _Atomic uint64_t misses;
    _Atomic uint64_t returns __attribute__((aligned(64)));
    _Atomic uint64_t drops;
    _Atomic uint64_t allocated;
};

struct vox_frame_pool {
    struct pool_shared *sh;
};

static int q_push(struct pool_shared *q, struct vox_frame_storage *st)
{
    size_t pos = atomic_load_explicit(&q->push_pos, memory_order_relaxed);
    struct cell *c;

    for (;;) {
        size_t seq;
        intptr_t diff;

        c = &q->cells[pos & q->mask];
        seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        diff = (intptr_t)seq - (intptr_t)pos;
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->push_pos, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (diff < 0) {
            return -1; /* full */
        } else {
            pos = atomic_load_explicit(&q->push_pos, memory_order_relaxed);
        }
    }
    c->st = st;
    atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
    return 0;
}

static struct vox_frame_storage *q_pop(struct pool_shared *q)
{
    size_t pos = atomic_load_explicit(&q->pop_pos, memory_order_relaxed);
    struct vox_frame_storage *st;
    struct cell *c;

    for (;;) {
        size_t seq;
        intptr_t diff;

        c = &q->cells[pos & q->mask];
        seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        diff = (intptr_t)seq - (intptr_t)(pos + 1);
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&q->pop_pos, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (diff < 0) {
            return NULL; /* empty */
        } else {
            pos = atomic_load_explicit(&q->pop_pos, memory_order_relaxed);
        }
    }
    st = c->st;
    atomic_store_explicit(&c->seq, pos + q->mask + 1, memory_order_release);
    return st;
}

/* ---- storage ------------------------------------------------------------------------------- */

static struct vox_frame_storage *storage_new(struct vox_allocator *a, size_t values)
{
    struct vox_frame_storage *st;
    size_t bytes;

    if (values > UINT32_MAX || values > (SIZE_MAX - sizeof(*st) - 31) / sizeof(int16_t))
        return NULL;
    bytes = sizeof(*st) + 31 + values * sizeof(int16_t);
    st = vox_alloc(a, bytes);
    if (!st)
        return NULL;
    atomic_init(&st->refs, 1);
    st->values_cap = (uint32_t)values;
    st->alloc = a;
    st->pool = NULL;
    st->block_bytes = bytes;
    st->data = (int16_t *)(((uintptr_t)(st + 1) + 31) & ~(uintptr_t)31);
    return st;
}

static void pool_unref(struct pool_shared *sh)
{
    if (atomic_fetch_sub_explicit(&sh->refs, 1, memory_order_acq_rel) == 1) {
        free(sh->cells);
        free(sh);
    }
}

/* Frees a pooled storage for good: it no longer holds the pool's state alive. */
static void storage_discard(struct vox_frame_storage *st)
{
    struct pool_shared *sh = st->pool;

    vox_free(st->alloc, st, st->block_bytes);
    if (sh)
        pool_unref(sh);
}

static void drain(struct pool_shared *sh)
{
    struct vox_frame_storage *st;

    while ((st = q_pop(sh)) != NULL)
        storage_discard(st);
}

/* The last reference went: back to the pool while it is open and has room, else freed. */
static void storage_last_ref(struct vox_frame_storage *st)
{
    struct pool_shared *sh = st->pool;

    if (!sh) {
        vox_free(st->alloc, st, st->block_bytes);
        return;
    }
    /* `max` bounds what the pool keeps (the ring may be larger: a power of two); the count is
     * read without a lock, so it may be off by the pushes in flight, never by more. */
    if (!atomic_load(&sh->closed) &&
        atomic_load_explicit(&sh->push_pos, memory_order_relaxed) -
                atomic_load_explicit(&sh->pop_pos, memory_order_relaxed) <
            sh->max &&
        q_push(sh, st) == 0) {
        atomic_fetch_add_explicit(&sh->returns, 1, memory_order_relaxed);
        /* destroy() may have drained between our check and the push: drain for it. The
         * seq_cst store and load on `closed` order the two, so one of us sees the frame. */
        if (atomic_load(&sh->closed))
            drain(sh);
        return;
    }
    atomic_fetch_add_explicit(&sh->drops, 1, memory_order_relaxed);
    storage_discard(st);
}

/* ---- frames -------------------------------------------------------------------------------- */

int vox_frame_alloc(struct vox_allocator *a, uint32_t rate_hz, uint16_t channels, uint32_t samples,
                    struct vox_frame *out)
{
    struct vox_frame_storage *st;

    memset(out, 0, sizeof(*out));
    if (!rate_hz || !channels || !samples)
        return VOX_EINVAL;
    if (!a)
        a = vox_allocator_default();
    st = a ? storage_new(a, (size_t)samples * channels) : NULL;
    if (!st)
        return VOX_ENOMEM;
    *out = (struct vox_frame){
        .st = st, .data = st->data, .samples = samples, .channels = channels, .rate_hz = rate_hz};
    return 0;
}

void vox_frame_clone(const struct vox_frame *f, struct vox_frame *out)
{
    if (f->st)
        atomic_fetch_add_explicit(&f->st->refs, 1, memory_order_relaxed);
    *out = *f;
}

int vox_frame_view(const struct vox_frame *f, uint32_t first, uint32_t count, struct vox_frame *out)
{
    if (!f->st || first > f->samples || count > f->samples - first || !count)
        return VOX_ERANGE;
    vox_frame_clone(f, out);
    out->data = f->data + (size_t)first * f->channels;
    out->samples = count;
    out->timestamp = f->timestamp + first;
    return 0;
}

void vox_frame_release(struct vox_frame *f)
{
    struct vox_frame_storage *st = f->st;

    if (!st)
        return;
    /* The sole owner needs no read-modify-write: no one else can add a reference. */
    if (atomic_load_explicit(&st->refs, memory_order_acquire) == 1 ||
        atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) == 1)
        storage_last_ref(st);
    memset(f, 0, sizeof(*f));
}

bool vox_frame_is_shared(const struct vox_frame *f)
{
    return f->st && atomic_load_explicit(&f->st->refs, memory_order_acquire) > 1;
}

int vox_frame_copy(struct vox_allocator *a, const struct vox_frame *f, struct vox_frame *out)
{
    int rc = vox_frame_alloc(a, f->rate_hz, f->channels, f->samples, out);

    if (rc)
        return rc;
    memcpy(out->data, f->data, vox_frame_values(f) * sizeof(int16_t));
    out->timestamp = f->timestamp;
    return 0;
}

int vox_frame_make_writable(struct vox_allocator *a, struct vox_frame *f)
{
    struct vox_frame copy;
    int rc;

    if (!vox_frame_is_shared(f))
        return 0;
    rc = vox_frame_copy(a ? a : f->st->alloc, f, &copy);
    if (rc)
        return rc;
    vox_frame_release(f);
    *f = copy;
    return 0;
}

/* ---- pool ---------------------------------------------------------------------------------- */

int vox_frame_pool_create(const struct vox_frame_pool_config *cfg, struct vox_frame_pool **out,
                          struct vox_diag *diag)
{
    struct vox_frame_pool_config c = {
        .rate_hz = 8000, .channels = 1, .samples = 160, .initial = 16, .max = 64};
    struct vox_frame_pool *p = NULL;
    struct pool_shared *sh = NULL;
    size_t cap = 1, i;

    *out = NULL;
    if (cfg) {
        c.rate_hz = cfg->rate_hz ? cfg->rate_hz : c.rate_hz;
        c.channels = cfg->channels ? cfg->channels : c.channels;
        c.samples = cfg->samples ? cfg->samples : c.samples;
        c.initial = cfg->initial;
        c.max = cfg->max ? cfg->max : c.max;
        c.alloc = cfg->alloc;
    }
    if (c.initial > c.max || c.max > (1u << 24)) {
        vox_diag_set(diag, "frame pool: initial %u must not exceed max %u (at most 16777216)",
                     c.initial, c.max);
        return VOX_EINVAL;
    }
    if (!c.alloc)
        c.alloc = vox_allocator_default();
    while (cap < c.max)
        cap <<= 1;
    /* Pool bookkeeping is not frame memory: it comes from libc, like allocator instances. */
    sh = aligned_alloc(64, (sizeof(*sh) + 63) & ~(size_t)63);
    p = malloc(sizeof(*p));
    if (!sh || !p || !c.alloc)
        goto nomem;
    memset(sh, 0, sizeof(*sh));
    sh->cells = malloc(cap * sizeof(*sh->cells));
    if (!sh->cells)
        goto nomem;
    for (i = 0; i < cap; i++)
        atomic_init(&sh->cells[i].seq, i);
    sh->mask = cap - 1;
    atomic_init(&sh->refs, 1);
    sh->alloc = c.alloc;
    sh->rate_hz = c.rate_hz;
    sh->channels = c.channels;
    sh->samples = c.samples;
    sh->max = c.max;
    p->sh = sh;
    for (i = 0; i < c.initial; i++) {
        struct vox_frame_storage *st = storage_new(c.alloc, (size_t)c.samples * c.channels);

        if (!st) {
            vox_frame_pool_destroy(p);
            vox_diag_set(diag, "frame pool: out of memory for %u initial frames", c.initial);
            return VOX_ENOMEM;
        }
        st->pool = sh;
        atomic_fetch_add(&sh->refs, 1);
        atomic_fetch_add(&sh->allocated, 1);
        q_push(sh, st);
    }
    *out = p;
    return 0;
nomem:
    if (sh)
        free(sh->cells);
    free(sh);
    free(p);
    vox_diag_set(diag, "frame pool: out of memory");
    return VOX_ENOMEM;
}

void vox_frame_pool_destroy(struct vox_frame_pool *p)
{
    if (!p)
        return;
    atomic_store(&p->sh->closed, 1);
    drain(p->sh);
    pool_unref(p->sh);
    free(p);
}

int vox_frame_pool_get(struct vox_frame_pool *p, struct vox_frame *out)
{
    struct pool_shared *sh = p->sh;
    struct vox_frame_storage *st = q_pop(sh);

    if (__builtin_expect(!st, 0)) {
        st = storage_new(sh->alloc, (size_t)sh->samples * sh->channels);
        if (!st) {
            memset(out, 0, sizeof(*out));
            return VOX_ENOMEM;
        }
        st->pool = sh;
        atomic_fetch_add_explicit(&sh->refs, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&sh->allocated, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&sh->misses, 1, memory_order_relaxed);
    } else {
        /* Exclusively ours until handed out: no one else holds a reference. */
        atomic_store_explicit(&st->refs, 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&sh->gets, 1, memory_order_relaxed);
    *out = (struct vox_frame){.st = st,
                              .data = st->data,
                              .samples = sh->samples,
                              .channels = sh->channels,
                              .rate_hz = sh->rate_hz};
    return 0;
}

void vox_frame_pool_stats(struct vox_frame_pool *p, struct vox_frame_pool_stats *out)
{
    struct pool_shared *sh = p->sh;

    out->gets = atomic_load_explicit(&sh->gets, memory_order_relaxed);
    out->misses = atomic_load_explicit(&sh->misses, memory_order_relaxed);
    out->hits = out->gets - out->misses;
    out->returns = atomic_load_explicit(&sh->returns, memory_order_relaxed);
    out->drops = atomic_load_explicit(&sh->drops, memory_order_relaxed);
    out->allocated = atomic_load_explicit(&sh->allocated, memory_order_relaxed);
}
