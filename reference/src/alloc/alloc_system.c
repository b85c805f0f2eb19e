/* SPDX-License-Identifier: MIT */
/* Allocator backend "system": the C library's malloc/free (glibc ptmalloc on Debian). */
#include <stdlib.h>

#include "internal.h"

static void *system_alloc(void *state, size_t size)
{
    (void)state;
    /* glibc's malloc aligns to 16 bytes on 64-bit targets, which is VOX_ALLOC_ALIGN. */
    return malloc(size);
}

static void system_free(void *state, void *p, size_t size)
{
    (void)state;
    (void)size;
    free(p);
}

const struct vox_allocator_ops vox__alloc_system_ops = {
    .name = "system",
    .abi_version = VOX_ALLOCATOR_ABI_VERSION,
    .description = "C library malloc/free (reference backend)",
    .state_bytes = 0,
    .alloc = system_alloc,
    .free = system_free,
};
