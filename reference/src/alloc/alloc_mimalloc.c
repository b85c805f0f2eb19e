/* SPDX-License-Identifier: MIT */
/* Allocator backend "mimalloc": mi_malloc/mi_free_size from libmimalloc, opened at run time. */
#include <stddef.h>

#include "dl.h"
#include "internal.h"
#include "vox/config.h"

static struct {
    void *handle;
    void *(*malloc)(size_t size);
    void (*free_size)(void *p, size_t size);
    void (*process_info)(size_t *elapsed_msecs, size_t *user_msecs, size_t *system_msecs,
                         size_t *current_rss, size_t *peak_rss, size_t *current_commit,
                         size_t *peak_commit, size_t *page_faults);
} mi;

static const struct vox__dl_sym mi_syms[] = {
    {"mi_malloc", (void **)&mi.malloc},
    {"mi_free_size", (void **)&mi.free_size},
    {"mi_process_info", (void **)&mi.process_info},
    {NULL, NULL},
};

static int mi_init(void *state, const struct vox_alloc_config *cfg, struct vox_diag *diag)
{
    (void)state;
    (void)cfg;
    return vox__dl_load("mimalloc", VOX_MIMALLOC_SONAME, mi_syms, &mi.handle, diag);
}

/* mimalloc has word-sized bins (24, 40, 56 bytes) that are only 8-aligned; rounding up to 16
 * keeps every block 16-aligned at the cost of at most 8 bytes. */
static inline size_t round16(size_t size)
{
    return (size + 15) & ~(size_t)15;
}

static void *mi_alloc(void *state, size_t size)
{
    (void)state;
    return mi.malloc(round16(size));
}

static void mi_free(void *state, void *p, size_t size)
{
    (void)state;
    mi.free_size(p, round16(size));
}

static void mi_stats(void *state, struct vox_alloc_stats *out)
{
    size_t elapsed, user, sys, rss, peak_rss, commit = 0, peak_commit, faults;

    (void)state;
    /* Memory mimalloc has committed, process-wide (only voxbench's instances use this copy). */
    mi.process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
    out->bytes_reserved = commit;
}

const struct vox_allocator_ops vox__alloc_mimalloc_ops = {
    .name = "mimalloc",
    .abi_version = VOX_ALLOCATOR_ABI_VERSION,
    .description = "mimalloc " VOX_MIMALLOC_SONAME " (mi_malloc/mi_free_size, dlopen RTLD_LOCAL)",
    .state_bytes = 0,
    .init = mi_init,
    .alloc = mi_alloc,
    .free = mi_free,
    .stats = mi_stats,
};
