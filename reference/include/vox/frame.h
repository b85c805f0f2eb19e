/* SPDX-License-Identifier: MIT */
/* Refcounted audio frames with zero-copy clones and views, and a lock-free frame pool. */
#ifndef VOX_FRAME_H
#define VOX_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vox/alloc.h"
#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A frame is a small value (copy it by assignment) that points into refcounted storage of
 * interleaved PCM16 samples. vox_frame_clone() and vox_frame_view() share the storage (one
 * atomic increment, no copy); every frame obtained from alloc, clone, view or a pool must be
 * given back exactly once with vox_frame_release(), and the storage returns to its allocator
 * or pool when the last reference goes. Storage data is 32-byte aligned for SIMD kernels.
 *
 * Writing: a frame whose storage is shared (vox_frame_is_shared) must not be written through;
 * vox_frame_make_writable() gives it private storage first (copy on write).
 */
struct vox_frame_storage; /* opaque: refcount, owner, capacity, then the samples */
struct vox_frame_pool;

struct vox_frame {
    struct vox_frame_storage *st;
    int16_t *data;     /* first sample of this frame (or view), interleaved */
    uint32_t samples;  /* samples per channel */
    uint16_t channels; /* 1 or 2 (any value >= 1 is accepted) */
    uint32_t rate_hz;
    uint64_t timestamp; /* in samples at rate_hz, RTP style; views advance it */
};

/* Number of int16 values in a frame (samples x channels). */
static inline size_t vox_frame_values(const struct vox_frame *f)
{
    return (size_t)f->samples * f->channels;
}

/*
 * Allocates storage for `samples` x `channels` from `a` (NULL: the default allocator) and
 * fills *out (samples not initialised). Returns 0, VOX_EINVAL (zero size or rate), VOX_ENOMEM.
 * Thread-safe.
 */
int vox_frame_alloc(struct vox_allocator *a, uint32_t rate_hz, uint16_t channels, uint32_t samples,
                    struct vox_frame *out);

/* Another reference to the same storage and range (zero-copy). Never fails. */
void vox_frame_clone(const struct vox_frame *f, struct vox_frame *out);

/*
 * A reference to samples [first, first + count) of `f` (per channel), sharing its storage;
 * its timestamp is f->timestamp + first. Returns 0 or VOX_ERANGE (out of f's range).
 */
int vox_frame_view(const struct vox_frame *f, uint32_t first, uint32_t count,
                   struct vox_frame *out);

/* Gives back one reference; the storage is freed (or pooled) with the last. Zeroes *f. A
 * zeroed frame is a no-op. Thread-safe with respect to other references. */
void vox_frame_release(struct vox_frame *f);

/* True when another reference to the storage exists (writes would be seen by it). */
bool vox_frame_is_shared(const struct vox_frame *f);

/* Deep copy into new storage from `a` (NULL: default): the traditional, copying path. */
int vox_frame_copy(struct vox_allocator *a, const struct vox_frame *f, struct vox_frame *out);

/* Ensures *f has storage of its own (copying from `a` when shared). 0 or VOX_ENOMEM. */
int vox_frame_make_writable(struct vox_allocator *a, struct vox_frame *f);

/* ---- frame pool ------------------------------------------------------------------------------ */

/* Pool shape and limits; the defaults follow the Rust media core's PoolConfig. */
struct vox_frame_pool_config {
    uint32_t rate_hz;            /* default 8000 */
    uint16_t channels;           /* default 1 */
    uint32_t samples;            /* per channel, default 160 (20 ms at 8 kHz) */
    uint32_t initial;            /* frames allocated at create, default 16 */
    uint32_t max;                /* frames the pool keeps, default 64 (>= initial) */
    struct vox_allocator *alloc; /* storage comes from here; NULL: default allocator */
};

struct vox_frame_pool_stats {
    uint64_t gets;      /* vox_frame_pool_get calls that returned a frame */
    uint64_t hits;      /* served from a pooled frame */
    uint64_t misses;    /* newly allocated because the pool was empty */
    uint64_t returns;   /* storages that came back into the pool */
    uint64_t drops;     /* storages freed on return because the pool was full */
    uint64_t allocated; /* storages this pool has allocated in all */
};

/* Creates a pool and allocates `initial` frames. Returns 0, VOX_EINVAL, VOX_ENOMEM (with
 * `diag`). Thread-safe. */
int vox_frame_pool_create(const struct vox_frame_pool_config *cfg, struct vox_frame_pool **out,
                          struct vox_diag *diag);

/*
 * Destroys the pool and the frames it holds. Frames still out keep working and are freed to
 * the allocator when released (they hold a reference to the pool's shared state). NULL is a
 * no-op.
 */
void vox_frame_pool_destroy(struct vox_frame_pool *p);

/* A frame of the pool's shape (samples not cleared), timestamp 0. Lock-free when a pooled
 * frame is available; allocates otherwise. Returns 0 or VOX_ENOMEM. Thread-safe. */
int vox_frame_pool_get(struct vox_frame_pool *p, struct vox_frame *out);

void vox_frame_pool_stats(struct vox_frame_pool *p, struct vox_frame_pool_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* VOX_FRAME_H */
