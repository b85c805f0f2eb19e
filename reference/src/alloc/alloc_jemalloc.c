/* SPDX-License-Identifier: MIT */
/* Allocator backend "jemalloc": mallocx/sdallocx from libjemalloc, opened at run time. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dl.h"
#include "internal.h"
#include "vox/config.h"

/* Only the API's shape is taken from <jemalloc/jemalloc.h>; the library is never linked. */
#define LG_ALIGN_16 4 /* MALLOCX_LG_ALIGN(4): small classes (8 bytes) are only 8-aligned */

static struct {
    void *handle;
    void *(*mallocx)(size_t size, int flags);
    void (*sdallocx)(void *p, size_t size, int flags);
    int (*mallctl)(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
} je;

static const struct vox__dl_sym je_syms[] = {
    {"mallocx", (void **)&je.mallocx},
    {"sdallocx", (void **)&je.sdallocx},
    {"mallctl", (void **)&je.mallctl},
    {NULL, NULL},
};

static int je_init(void *state, const struct vox_alloc_config *cfg, struct vox_diag *diag)
{
    (void)state;
    (void)cfg;
    return vox__dl_load("jemalloc", VOX_JEMALLOC_SONAME, je_syms, &je.handle, diag);
}

static void *je_alloc(void *state, size_t size)
{
    (void)state;
    return je.mallocx(size, LG_ALIGN_16);
}

static void je_free(void *state, void *p, size_t size)
{
    (void)state;
    /* Sized deallocation skips jemalloc's size lookup: the reason the vtable carries size. */
    je.sdallocx(p, size, LG_ALIGN_16);
}

static void je_stats(void *state, struct vox_alloc_stats *out)
{
    uint64_t epoch = 1;
    size_t resident = 0, len = sizeof(epoch);

    (void)state;
    /* jemalloc caches its statistics until the epoch is advanced. Process-wide figure; only
     * voxbench's jemalloc instances use this copy of the library (RTLD_LOCAL). */
    if (je.mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch)) != 0)
        return;
    len = sizeof(resident);
    if (je.mallctl("stats.resident", &resident, &len, NULL, 0) == 0)
        out->bytes_reserved = resident;
}

const struct vox_allocator_ops vox__alloc_jemalloc_ops = {
    .name = "jemalloc",
    .abi_version = VOX_ALLOCATOR_ABI_VERSION,
    .description = "jemalloc " VOX_JEMALLOC_SONAME " (mallocx/sdallocx, dlopen RTLD_LOCAL)",
    .state_bytes = 0,
    .init = je_init,
    .alloc = je_alloc,
    .free = je_free,
    .stats = je_stats,
};
