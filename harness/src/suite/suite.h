/* SPDX-License-Identifier: MIT */
/* Suites: declarative YAML files of workloads and a backend matrix, and their expansion. */
#ifndef VOX_SUITE_H
#define VOX_SUITE_H

#include <stddef.h>

#include "vox/err.h"
#include "vox/results.h"

#define VOX_SUITE_MAX_VALUES    16
#define VOX_SUITE_MAX_AXES      8
#define VOX_SUITE_MAX_PARAMS    12
#define VOX_SUITE_MAX_WORKLOADS 64

/* A named list of values: a matrix axis ("alloc": system, pool) or a workload parameter. */
struct vox_axis {
    char name[32];
    size_t nvalues;
    char values[VOX_SUITE_MAX_VALUES][64];
};

struct vox_workload {
    char id[64];        /* unique in the suite: "alloc-frames" */
    char kind[16];      /* driver: "micro", "frames" */
    char benchmark[96]; /* micro: the Google Benchmark family, "alloc/frames1000" */
    size_t naxes;       /* matrix axes this workload varies over ("alloc") */
    char axes[VOX_SUITE_MAX_AXES][32];
    size_t nmatrix; /* per-workload values for some axes (override the suite's) */
    struct vox_axis matrix[VOX_SUITE_MAX_AXES];
    size_t nparams; /* knobs: a list multiplies the runs, a scalar is passed */
    struct vox_axis params[VOX_SUITE_MAX_PARAMS];
    int line; /* where it starts in the file, for messages */
};

struct vox_suite {
    char name[64];
    char description[256];
    char file[256];
    unsigned repetitions; /* default for --repeat (default 3) */
    size_t naxes;
    struct vox_axis axes[VOX_SUITE_MAX_AXES]; /* the suite's matrix */
    size_t nworkloads;
    struct vox_workload workloads[VOX_SUITE_MAX_WORKLOADS];
};

/*
 * Loads a suite from `path` (a file), or from scenarios/suites/<name>.yaml under `suites_dir`
 * when `name_or_path` has no '/' and does not end in .yaml. Returns 0, VOX_EIO (cannot open),
 * or VOX_EMALFORMED with "file:line:column: what" in `diag` (bad YAML, unknown key, wrong
 * type, duplicate workload id, a workload axis with no values, too many values).
 */
int vox_suite_load(const char *name_or_path, const char *suites_dir, struct vox_suite *out,
                   struct vox_diag *diag);

/*
 * Applies a command-line override "axis=v1,v2" to the suite matrix and to every workload's own
 * matrix for that axis (so --matrix always wins). Returns 0 or VOX_EINVAL with `diag`.
 */
int vox_suite_override(struct vox_suite *s, const char *spec, struct vox_diag *diag);

/*
 * Calls `fn` once per configuration of workload `w`: the product of its axes' values (its own
 * matrix, else the suite's) and of its list-valued params; scalar params are included as is.
 * The run passed has workload, kind and params set. Stops at the first non-zero return of fn
 * and returns it; returns VOX_EINVAL when an axis has no values anywhere.
 */
int vox_suite_expand(const struct vox_suite *s, const struct vox_workload *w,
                     int (*fn)(const struct vox_run *run, void *ctx), void *ctx,
                     struct vox_diag *diag);

#endif /* VOX_SUITE_H */
