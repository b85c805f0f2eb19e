/* SPDX-License-Identifier: MIT */
/* Internal declarations shared by the allocator front end and its backend files. */
#ifndef VOX_ALLOC_INTERNAL_H
#define VOX_ALLOC_INTERNAL_H

#include <stddef.h>

#include "vox/alloc.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VOX__ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define VOX__ASAN 1
#endif

#ifdef VOX__ASAN
#include <sanitizer/asan_interface.h>
/* Pool backends poison the blocks they keep, so that a use after vox_free() is reported
 * even though the memory never goes back to malloc (mimalloc's track.h does the same). */
#define VOX__POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define VOX__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define VOX__POISON(p, n)   ((void)(p), (void)(n))
#define VOX__UNPOISON(p, n) ((void)(p), (void)(n))
#endif

extern const struct vox_allocator_ops vox__alloc_system_ops;
extern const struct vox_allocator_ops vox__alloc_pool_ops;
extern const struct vox_allocator_ops vox__alloc_jemalloc_ops;
extern const struct vox_allocator_ops vox__alloc_mimalloc_ops;

/*
 * A small index (0 .. VOX__ALLOC_SLOTS-2) owned by the calling thread until it exits, or
 * VOX__ALLOC_SLOTS-1, the shared overflow slot, when every other slot is taken. Counters kept
 * per slot need no locked instruction while a thread owns its slot. Thread-safe.
 */
#define VOX__ALLOC_SLOTS 64
unsigned vox__thread_slot(void);

#endif /* VOX_ALLOC_INTERNAL_H */
