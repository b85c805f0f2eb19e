/* SPDX-License-Identifier: MIT */
/* Swappable allocator backends (system, pool, jemalloc, mimalloc) behind one vtable. */
#ifndef VOX_ALLOC_H
#define VOX_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An allocator instance: a backend (chosen by name at run time) plus its private state and
 * the counters the front end keeps for every backend alike. Opaque; create it with
 * vox_allocator_create().
 */
struct vox_allocator;

/* Every block returned is aligned to at least this many bytes, whatever the backend. */
#define VOX_ALLOC_ALIGN 16

/* The peak in vox_alloc_stats is exact to within this many bytes per thread that allocated. */
#define VOX_ALLOC_PEAK_SLACK_BYTES (64 * 1024)

/*
 * Counters of one allocator instance. The front end keeps the call and byte counters for every
 * backend the same way (per-thread slots, no locked instruction on the fast path); the backend
 * fills the fields it knows (bytes_reserved, pool_*) and leaves the others 0.
 */
struct vox_alloc_stats {
    uint64_t alloc_calls;       /* successful vox_alloc() calls */
    uint64_t free_calls;        /* vox_free() calls with a non-NULL pointer */
    uint64_t failed_calls;      /* vox_alloc() calls that returned NULL */
    uint64_t bytes_in_use;      /* sum of the sizes of live blocks, as requested by callers */
    uint64_t bytes_in_use_peak; /* high-water mark of bytes_in_use (see PEAK_SLACK) */
    uint64_t bytes_reserved;    /* backend: bytes this instance holds from the OS; 0 if unknown */
    uint64_t pool_hits;         /* pool: blocks served by reusing a freed block */
    uint64_t pool_misses;       /* pool: blocks carved from fresh slab memory or too big for it */
};

/* Options for vox_allocator_create(); zero means "the backend's default" for every field. */
struct vox_alloc_config {
    size_t cap_bytes;           /* pool: most slab memory it may reserve (default 1 GiB) */
    size_t slab_bytes;          /* pool: bytes reserved per growth step (default 64 KiB) */
    size_t thread_cache_blocks; /* pool: blocks kept per size class per thread (default 64) */
};

/* Version of struct vox_allocator_ops; methods are only ever appended. */
#define VOX_ALLOCATOR_ABI_VERSION 1

/*
 * A backend. One static const instance per backend file; the front end allocates
 * `state_bytes` of zeroed private state per instance and passes it to every method.
 */
struct vox_allocator_ops {
    const char *name;        /* registry key: "system", "pool", ... */
    unsigned abi_version;    /* VOX_ALLOCATOR_ABI_VERSION the backend was written for */
    const char *description; /* one line for `voxbench list` */
    size_t state_bytes;      /* size of the private state the front end allocates */
    /* Prepares `state`; returns 0 or a negative VOX_E* code and may explain in `diag`. */
    int (*init)(void *state, const struct vox_alloc_config *cfg, struct vox_diag *diag);
    /* Releases everything the backend holds (optional). Live blocks become invalid. */
    void (*fini)(void *state);
    /* Returns `size` (> 0) bytes aligned to VOX_ALLOC_ALIGN, or NULL. Thread-safe. */
    void *(*alloc)(void *state, size_t size);
    /* Frees `p` (never NULL) that was returned for exactly `size` bytes. Thread-safe; must
     * leave errno as it found it. */
    void (*free)(void *state, void *p, size_t size);
    /* Fills the backend-specific fields of `out` (optional). */
    void (*stats)(void *state, struct vox_alloc_stats *out);
};

/*
 * Creates an allocator using the backend registered under `name` ("system", "pool",
 * "jemalloc", "mimalloc"); `cfg` may be NULL for defaults. On success stores the instance in
 * *out (owned by the caller, release with vox_allocator_destroy) and returns 0. Errors:
 * VOX_EUNKNOWN_BACKEND (no such name), VOX_ENOT_COMPILED (a known backend left out of this
 * build), VOX_EBACKEND_LOAD (its shared library failed to load), VOX_ENOMEM, VOX_EINVAL; `diag`
 * (may be NULL) then holds a sentence naming the backend and the available ones.
 * Allocates; thread-safe.
 */
int vox_allocator_create(const char *name, const struct vox_alloc_config *cfg,
                         struct vox_allocator **out, struct vox_diag *diag);

/*
 * Destroys an allocator: every block still allocated from it becomes invalid. NULL is a
 * no-op. Must not race with any other call on the same instance.
 */
void vox_allocator_destroy(struct vox_allocator *a);

/*
 * Returns a block of `size_bytes` aligned to VOX_ALLOC_ALIGN, or NULL when out of memory or
 * over the backend's cap. A size of 0 returns a unique minimal block. The caller owns the
 * block and frees it with vox_free() passing the same size. Thread-safe; never blocks on I/O.
 */
void *vox_alloc(struct vox_allocator *a, size_t size_bytes);

/* Like vox_alloc(a, n * size) but returns NULL when the product overflows. */
void *vox_alloc_array(struct vox_allocator *a, size_t n, size_t size_bytes);

/* Frees a block from vox_alloc() on the same allocator; `size_bytes` must be the size asked
 * for. NULL is a no-op. Thread-safe; errno is preserved. */
void vox_free(struct vox_allocator *a, void *p, size_t size_bytes);

/* Copies the instance's counters into *out. Thread-safe; counters of other threads may lag by
 * the operations they have in flight. */
void vox_allocator_stats(struct vox_allocator *a, struct vox_alloc_stats *out);

/* The backend name of an instance ("pool"). */
const char *vox_allocator_name(const struct vox_allocator *a);

/*
 * The process-wide default allocator (the "system" backend), created on first use and never
 * destroyed. Used by modules that are given no allocator. Thread-safe.
 */
struct vox_allocator *vox_allocator_default(void);

/* Registry. Backends compiled in are registered before main(); the order is stable. */
size_t vox_allocator_backend_count(void);
const struct vox_allocator_ops *vox_allocator_backend_at(size_t i);
/* Returns the backend registered under `name`, or NULL. */
const struct vox_allocator_ops *vox_allocator_backend_find(const char *name);
/*
 * Adds a backend (for example a test's fault-injecting one). `ops` is borrowed and must outlive
 * the process. Returns VOX_EEXIST when the name is taken, VOX_EINVAL on an ABI version newer
 * than this build, VOX_ENOMEM when the table is full.
 */
int vox_allocator_register(const struct vox_allocator_ops *ops);
/* Writes the comma-separated names of the registered backends into buf (truncated to fit). */
void vox_allocator_backend_names(char *buf, size_t buf_len);

#ifdef __cplusplus
}
#endif

#endif /* VOX_ALLOC_H */
