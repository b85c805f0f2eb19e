/* SPDX-License-Identifier: MIT */
/* Internal: the seam between the report's tables (report.c) and its plots (plot.c). */
#ifndef VOX_REPORT_INTERNAL_H
#define VOX_REPORT_INTERNAL_H

#include <stddef.h>

#include "vox/err.h"
#include "vox/results.h"

/* The load axis of session workloads (the Go SIPREC guide's "Concurrent Sessions"): tables
 * and the latency and memory plots are split per level of it. */
#define VOX__REPORT_LOAD_PARAM "streams"

/*
 * Writes every plot the data allows into plots_dir (a .gp script and .tsv data each, rendered
 * to PNG and SVG by `gnuplot`), calling on_plot(cb_ctx, name, title) for each one rendered.
 * When gnuplot cannot be run, or a plot fails, the reason goes to why[why_len] and the call
 * still succeeds; it returns a negative VOX_E* code (with `diag`) only when plots_dir cannot be
 * written.
 */
int vox__report_plots_write(const struct vox_results *const *files, const char *const *labels,
                            size_t nfiles, const char *plots_dir, const char *gnuplot,
                            void (*on_plot)(void *cb_ctx, const char *name, const char *title),
                            void *cb_ctx, char *why, size_t why_len, struct vox_diag *diag);

/* A small set of distinct strings in insertion order (configs, load levels, labels). */
struct vox__strset {
    char **v; /* owned copies */
    size_t n, cap;
};

void vox__strset_free(struct vox__strset *s);
/* Index of `str`, or -1. */
long vox__strset_find(const struct vox__strset *s, const char *str);
/* Adds a copy of `str` unless present. 0 or VOX_ENOMEM. */
int vox__strset_add(struct vox__strset *s, const char *str);

/* The run's config_id without `key` (e.g. the series a load level sweeps over), into dst. */
void vox__report_config_without(const struct vox_run *run, const char *key, char *dst, size_t cap);

#endif /* VOX_REPORT_INTERNAL_H */
