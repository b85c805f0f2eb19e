/* SPDX-License-Identifier: MIT */
/* The micro suites of voxbench-micro: what each registers and the tables it prints. */
#ifndef VOX_MICRO_H
#define VOX_MICRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vox/gbench.h"

/* Backend names a suite runs over (each must create successfully). */
struct vox_micro_set {
    const char *names[16];
    size_t count;
};

/* Shared options. `quick` shortens every benchmark for CI smoke runs. */
struct vox_micro_opts {
    bool quick;
    int64_t iterations; /* > 0: run every benchmark exactly this many iterations (callgrind) */
    struct vox_micro_set allocs;
    struct vox_micro_set execs;
};

/* Register the allocator benchmarks for every backend in opts->allocs. Returns 0 or a
 * negative VOX_E* code after printing why to stderr. */
int vox_micro_alloc_register(const struct vox_micro_opts *opts);
/* Print the allocator tables (Markdown) from the results. */
void vox_micro_alloc_tables(FILE *out, const struct vox_micro_opts *opts,
                            const struct vox_gb_results *res);
/* Release what registration created (call after the run). */
void vox_micro_alloc_cleanup(void);

int vox_micro_exec_register(const struct vox_micro_opts *opts);
void vox_micro_exec_tables(FILE *out, const struct vox_micro_opts *opts,
                           const struct vox_gb_results *res);
void vox_micro_exec_cleanup(void);

/* Media: frame approaches, frame pool vs fresh, Opus per 20 ms frame (frames come from the
 * first allocator in opts->allocs). */
int vox_micro_media_register(const struct vox_micro_opts *opts);
void vox_micro_media_cleanup(void);

/* SIMD kernels: "simd/<kernel>/<level>/<samples>" for every level this CPU runs (samples/s). */
int vox_micro_simd_register(const struct vox_micro_opts *opts);

/* Pattern matching (micro_match.c): "match/<find|callid|classify>/<backend>/<60|1000>", one
 * 64-packet batch per iteration, on every gpu backend that can be created here. */
int vox_micro_match_register(const struct vox_micro_opts *opts);
void vox_micro_match_cleanup(void);

/* Session containers (micro_store.c): map lookups, LRU hits, RTP port get+put. */
int vox_micro_store_register(const struct vox_micro_opts *opts);
void vox_micro_simd_cleanup(void);

/* Applies the shared timing options (quick, fixed iterations) to a registered benchmark. */
struct vox_gb_bench *vox_micro_timing(struct vox_gb_bench *b, const struct vox_micro_opts *opts);

/* Formats `v` with an SI suffix ("12.3 M") into buf. */
const char *vox_micro_si(char *buf, size_t len, double v);

#endif /* VOX_MICRO_H */
