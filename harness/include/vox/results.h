/* SPDX-License-Identifier: MIT */
/* The results model of voxbench: runs, metrics with every repetition, machine context; JSON I/O. */
#ifndef VOX_RESULTS_H
#define VOX_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One results file = one `voxbench run` of one suite. The JSON layout is documented in
 * docs/results-schema.md; readers accept every older schema_version and ignore unknown keys,
 * so files stay readable as the schema grows.
 */
#define VOX_RESULTS_SCHEMA_VERSION 1

/* Which way is better for a metric. */
enum vox_metric_dir {
    VOX_DIR_LOWER = 0,  /* time, instructions, bytes: lower is better */
    VOX_DIR_HIGHER = 1, /* throughput, hit rate, speed-up ratio: higher is better */
};

/* One measured quantity of a run, with one value per repetition. */
struct vox_metric {
    char name[64]; /* "real_ns", "instructions", "rss_peak_bytes", "items_per_second" */
    char unit[16]; /* "ns", "us", "count", "bytes", "1/s", "ratio", "%" */
    enum vox_metric_dir dir;
    bool stable;    /* deterministic or same-run ratio: the CI gate compares these */
    size_t n;       /* values recorded */
    size_t cap;     /* capacity of values */
    double *values; /* one per repetition, in run order (owned) */
};

/* A point of a latency percentile spectrum (HdrHistogram's .hgrm shape). */
struct vox_percentile {
    double pct;      /* 0..100 */
    double value_us; /* latency at that percentile, microseconds */
};

/* A parameter of a run's configuration: a backend axis (alloc, exec, gpu) or a workload knob. */
struct vox_param {
    char key[32];
    char value[64];
};

#define VOX_RUN_MAX_PARAMS 16

/* One workload under one configuration, repeated `repetitions` times. */
struct vox_run {
    char workload[64];   /* the suite's workload id: "alloc-frames" */
    char kind[16];       /* driver: "micro", "frames", "sipp", "pcap" (later: "stt") */
    char benchmark[96];  /* micro: the benchmark family ("match/callid"); else "" */
    char config_id[256]; /* canonical "alloc=pool exec=steal streams=100", params sorted by key */
    size_t nparams;
    struct vox_param params[VOX_RUN_MAX_PARAMS];
    unsigned repetitions;
    bool ok; /* false: `error` says why; metrics may be partial */
    char error[256];
    size_t nmetrics;
    size_t metrics_cap;
    struct vox_metric *metrics; /* owned */
    size_t npercentiles;
    struct vox_percentile *percentiles; /* merged latency spectrum, may be empty (owned) */
};

struct vox_cache_info {
    unsigned level;      /* 1, 2, 3 */
    char type[16];       /* "data", "instruction", "unified" */
    uint64_t size_bytes; /* per cache */
    unsigned count;      /* caches of this kind in the machine */
};

/* Where the results were measured. Unknown strings are "". */
struct vox_machine {
    char hostname[64];
    char cpu_model[128];
    char os[128];
    char kernel[64];
    char compiler[64];
    char build_type[32];
    char c_flags[256];
    char features[128]; /* vox_build_features(): "jemalloc mimalloc cuda" */
    char voxbench_version[16];
    char git_commit[48];
    bool git_dirty;
    unsigned cpus_available; /* the affinity mask */
    unsigned packages, cores, pus, numa_nodes;
    uint64_t memory_bytes;
    size_t ncaches;
    struct vox_cache_info caches[8];
    char cuda_device[128]; /* "" when none answered */
};

struct vox_results {
    int schema_version;
    char created[32]; /* UTC, ISO 8601 */
    char suite[64];   /* suite name */
    char suite_file[256];
    struct vox_machine machine;
    size_t nruns;
    size_t runs_cap;
    struct vox_run *runs; /* owned */
};

/* Zero-initialised results with the current schema version; free with vox_results_free. */
void vox_results_init(struct vox_results *r);
void vox_results_free(struct vox_results *r);

/* Appends a zeroed run and returns it (valid until the next add), or NULL on ENOMEM. */
struct vox_run *vox_results_add_run(struct vox_results *r);

/* Sets a parameter (replacing an existing key) and keeps config_id canonical. 0 or VOX_E*. */
int vox_run_set_param(struct vox_run *run, const char *key, const char *value);
/* A parameter's value, or NULL. */
const char *vox_run_param(const struct vox_run *run, const char *key);

/* Finds the metric `name` or adds it with these properties; NULL on ENOMEM. */
struct vox_metric *vox_run_metric(struct vox_run *run, const char *name, const char *unit,
                                  enum vox_metric_dir dir, bool stable);
const struct vox_metric *vox_run_find_metric(const struct vox_run *run, const char *name);
/* Appends one repetition's value. 0 or VOX_ENOMEM. */
int vox_metric_push(struct vox_metric *m, double value);
/* Median of a metric's values (NAN when it has none). */
double vox_metric_median(const struct vox_metric *m);

/* Replaces the run's latency spectrum with a copy of `p[n]`. 0 or VOX_ENOMEM. */
int vox_run_set_percentiles(struct vox_run *run, const struct vox_percentile *p, size_t n);

/* The run of `workload` under `config_id`, or NULL. */
const struct vox_run *vox_results_find_run(const struct vox_results *r, const char *workload,
                                           const char *config_id);

/*
 * Writes `r` as JSON to `path` (atomically: a temporary file renamed over it), with each
 * metric's summary (median, mean, stddev, min, max, cv) beside its values. Returns 0, or a
 * negative VOX_E* code with the path and cause in `diag`.
 */
int vox_results_write(const struct vox_results *r, const char *path, struct vox_diag *diag);

/*
 * Reads a results file into `out` (initialised here; free with vox_results_free even on
 * failure). Returns 0, VOX_EIO (cannot open), VOX_EMALFORMED (not JSON, not a voxbench
 * results file, or a field of the wrong type: `diag` names the file and the JSON path), or
 * VOX_ERANGE (a schema_version newer than this build understands).
 */
int vox_results_read(const char *path, struct vox_results *out, struct vox_diag *diag);

/* Fills the machine context of this process's host (hwloc, uname, /proc, build info, git). */
void vox_machine_detect(struct vox_machine *m);

#ifdef __cplusplus
}
#endif

#endif /* VOX_RESULTS_H */
