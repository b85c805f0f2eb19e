/* SPDX-License-Identifier: MIT */
/* The results model: runs, metrics and machine context, and their JSON form (jansson). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vox/results.h"
#include "vox/stats.h"

/* Copies src into a fixed field, always NUL-terminated; NULL copies as "". */
static void set_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;

    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}
#define SET(field, src) set_str((field), sizeof(field), (src))

/* ---- building ------------------------------------------------------------------------------ */

void vox_results_init(struct vox_results *r)
{
    memset(r, 0, sizeof(*r));
    r->schema_version = VOX_RESULTS_SCHEMA_VERSION;
}

static void run_free(struct vox_run *run)
{
    size_t i;

    for (i = 0; i < run->nmetrics; i++)
        free(run->metrics[i].values);
    free(run->metrics);
    free(run->percentiles);
}

void vox_results_free(struct vox_results *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->nruns; i++)
        run_free(&r->runs[i]);
    free(r->runs);
    r->runs = NULL;
    r->nruns = r->runs_cap = 0;
}

/* Grows an array of `elem` bytes to hold one more; 0 or VOX_ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 8;
    p = realloc(*arr, ncap * elem);
    if (!p)
        return VOX_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

struct vox_run *vox_results_add_run(struct vox_results *r)
{
    struct vox_run *run;

    if (grow((void **)&r->runs, &r->runs_cap, r->nruns, sizeof(*r->runs)))
        return NULL;
    run = &r->runs[r->nruns++];
    memset(run, 0, sizeof(*run));
    run->ok = true;
    return run;
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const struct vox_param *)a)->key, ((const struct vox_param *)b)->key);
}

/* config_id is the params sorted by key, "k=v" joined by spaces: one canonical spelling that
 * compare uses to pair runs across files. */
static void rebuild_config_id(struct vox_run *run)
{
    size_t i, used = 0;

    qsort(run->params, run->nparams, sizeof(run->params[0]), cmp_param);
    run->config_id[0] = '\0';
    for (i = 0; i < run->nparams; i++) {
        int n = snprintf(run->config_id + used, sizeof(run->config_id) - used, "%s%s=%s",
                         i ? " " : "", run->params[i].key, run->params[i].value);

        if (n < 0 || (size_t)n >= sizeof(run->config_id) - used)
            break;
        used += (size_t)n;
    }
}

int vox_run_set_param(struct vox_run *run, const char *key, const char *value)
{
    size_t i;

    if (!key || !key[0] || !value || strlen(key) >= sizeof(run->params[0].key) ||
        strlen(value) >= sizeof(run->params[0].value) || strpbrk(key, " ="))
        return VOX_EINVAL;
    for (i = 0; i < run->nparams; i++)
        if (strcmp(run->params[i].key, key) == 0)
            break;
    if (i == run->nparams) {
        if (run->nparams == VOX_RUN_MAX_PARAMS)
            return VOX_ENOMEM;
        run->nparams++;
    }
    SET(run->params[i].key, key);
    SET(run->params[i].value, value);
    rebuild_config_id(run);
    return 0;
}

const char *vox_run_param(const struct vox_run *run, const char *key)
{
    size_t i;

    for (i = 0; i < run->nparams; i++)
        if (strcmp(run->params[i].key, key) == 0)
            return run->params[i].value;
    return NULL;
}

struct vox_metric *vox_run_metric(struct vox_run *run, const char *name, const char *unit,
                                  enum vox_metric_dir dir, bool stable)
{
    struct vox_metric *m;
    size_t i;

    for (i = 0; i < run->nmetrics; i++)
        if (strcmp(run->metrics[i].name, name) == 0)
            return &run->metrics[i];
    if (grow((void **)&run->metrics, &run->metrics_cap, run->nmetrics, sizeof(*run->metrics)))
        return NULL;
    m = &run->metrics[run->nmetrics++];
    memset(m, 0, sizeof(*m));
    SET(m->name, name);
    SET(m->unit, unit);
    m->dir = dir;
    m->stable = stable;
    return m;
}

const struct vox_metric *vox_run_find_metric(const struct vox_run *run, const char *name)
{
    size_t i;

    for (i = 0; i < run->nmetrics; i++)
        if (strcmp(run->metrics[i].name, name) == 0)
            return &run->metrics[i];
    return NULL;
}

int vox_metric_push(struct vox_metric *m, double value)
{
    if (grow((void **)&m->values, &m->cap, m->n, sizeof(*m->values)))
        return VOX_ENOMEM;
    m->values[m->n++] = value;
    return 0;
}

double vox_metric_median(const struct vox_metric *m)
{
    return vox_stats_median(m->values, m->n);
}

int vox_run_set_percentiles(struct vox_run *run, const struct vox_percentile *p, size_t n)
{
    struct vox_percentile *copy = NULL;

    if (n) {
        copy = malloc(n * sizeof(*copy));
        if (!copy)
            return VOX_ENOMEM;
        memcpy(copy, p, n * sizeof(*copy));
    }
    free(run->percentiles);
    run->percentiles = copy;
    run->npercentiles = n;
    return 0;
}

const struct vox_run *vox_results_find_run(const struct vox_results *r, const char *workload,
                                           const char *config_id)
{
    size_t i;

    for (i = 0; i < r->nruns; i++)
        if (strcmp(r->runs[i].workload, workload) == 0 &&
            strcmp(r->runs[i].config_id, config_id) == 0)
            return &r->runs[i];
    return NULL;
}

/* ---- writing --------------------------------------------------------------------------------- */

/* JSON has no NaN or infinity: such a value is written as null and read back as NAN. */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *machine_to_json(const struct vox_machine *m)
{
    json_t *caches = json_array(), *o;
    size_t i;

    for (i = 0; i < m->ncaches; i++)
        json_array_append_new(caches, json_pack("{s:i, s:s, s:I, s:i}", "level", m->caches[i].level,
                                                "type", m->caches[i].type, "size_bytes",
                                                (json_int_t)m->caches[i].size_bytes, "count",
                                                m->caches[i].count));
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:i, s:i, s:i, "
                  "s:i, s:I, s:o, s:s}",
                  "hostname", m->hostname, "cpu_model", m->cpu_model, "os", m->os, "kernel",
                  m->kernel, "compiler", m->compiler, "build_type", m->build_type, "c_flags",
                  m->c_flags, "features", m->features, "voxbench_version", m->voxbench_version,
                  "git_commit", m->git_commit, "git_dirty", m->git_dirty, "cpus_available",
                  m->cpus_available, "packages", m->packages, "cores", m->cores, "pus", m->pus,
                  "numa_nodes", m->numa_nodes, "memory_bytes", (json_int_t)m->memory_bytes,
                  "caches", caches, "cuda_device", m->cuda_device);
    return o;
}

static json_t *metric_to_json(const struct vox_metric *m)
{
    struct vox_summary s;
    json_t *values = json_array();
    size_t i;

    for (i = 0; i < m->n; i++)
        json_array_append_new(values, num(m->values[i]));
    vox_stats_summarize(m->values, m->n, &s);
    return json_pack("{s:s, s:s, s:b, s:o, s:{s:i, s:o, s:o, s:o, s:o, s:o, s:o}}", "unit", m->unit,
                     "direction", m->dir == VOX_DIR_HIGHER ? "higher" : "lower", "stable",
                     m->stable, "values", values, "summary", "n", (int)s.n, "median", num(s.median),
                     "mean", num(s.mean), "stddev", num(s.stddev), "min", num(s.min), "max",
                     num(s.max), "cv", num(s.cv));
}

static json_t *run_to_json(const struct vox_run *run)
{
    json_t *params = json_object(), *metrics = json_object(), *pcts = json_array(), *o;
    size_t i;

    for (i = 0; i < run->nparams; i++)
        json_object_set_new(params, run->params[i].key, json_string(run->params[i].value));
    for (i = 0; i < run->nmetrics; i++)
        json_object_set_new(metrics, run->metrics[i].name, metric_to_json(&run->metrics[i]));
    for (i = 0; i < run->npercentiles; i++)
        json_array_append_new(pcts, json_pack("[o, o]", num(run->percentiles[i].pct),
                                              num(run->percentiles[i].value_us)));
    o = json_pack("{s:s, s:s, s:s, s:o, s:i, s:b, s:o, s:o}", "workload", run->workload, "kind",
                  run->kind, "config_id", run->config_id, "params", params, "repetitions",
                  (int)run->repetitions, "ok", run->ok, "metrics", metrics, "latency_spectrum_us",
                  pcts);
    if (o && run->benchmark[0])
        json_object_set_new(o, "benchmark", json_string(run->benchmark));
    if (o && !run->ok)
        json_object_set_new(o, "error", json_string(run->error));
    return o;
}

int vox_results_write(const struct vox_results *r, const char *path, struct vox_diag *diag)
{
    char tmp[4096];
    json_t *root, *runs = json_array();
    size_t i;
    int rc = 0;

    for (i = 0; i < r->nruns; i++)
        json_array_append_new(runs, run_to_json(&r->runs[i]));
    root = json_pack("{s:s, s:i, s:s, s:{s:s, s:s}, s:o, s:o}", "schema", "voxbench-results",
                     "schema_version", VOX_RESULTS_SCHEMA_VERSION, "created", r->created, "suite",
                     "name", r->suite, "file", r->suite_file, "machine",
                     machine_to_json(&r->machine), "runs", runs);
    if (!root) {
        vox_diag_set(diag, "%s: could not build the JSON document (out of memory?)", path);
        return VOX_ENOMEM;
    }
    /* Written to a temporary name and renamed: a reader never sees half a file, and an
     * interrupted run leaves the previous results intact. */
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
        vox_diag_set(diag, "%s: path too long", path);
        rc = VOX_EINVAL;
        goto out;
    }
    if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))) {
        vox_diag_set(diag, "%s: cannot write: %s", tmp, strerror(errno));
        unlink(tmp);
        rc = VOX_EIO;
        goto out;
    }
    if (rename(tmp, path) != 0) {
        vox_diag_set(diag, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
        unlink(tmp);
        rc = VOX_EIO;
    }
out:
    json_decref(root);
    return rc;
}

/* ---- reading -----------------------------------------------------------------------------------
 */

/* Context for error messages: the file and the JSON path being read. */
struct reader {
    const char *file;
    struct vox_diag *diag;
};

static int bad(struct reader *rd, const char *where, const char *what)
{
    vox_diag_set(rd->diag, "%s: %s: %s", rd->file, where, what);
    return VOX_EMALFORMED;
}

/* Optional string member: absent or null leaves dst ""; another type is an error. */
static int get_str(struct reader *rd, json_t *obj, const char *key, char *dst, size_t cap,
                   const char *where)
{
    json_t *v = json_object_get(obj, key);
    char msg[128];

    dst[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(msg, sizeof(msg), "\"%s\" must be a string", key);
        return bad(rd, where, msg);
    }
    set_str(dst, cap, json_string_value(v));
    return 0;
}

static int get_uint(struct reader *rd, json_t *obj, const char *key, uint64_t *dst,
                    const char *where)
{
    json_t *v = json_object_get(obj, key);
    char msg[128];

    *dst = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(msg, sizeof(msg), "\"%s\" must be a non-negative integer", key);
        return bad(rd, where, msg);
    }
    *dst = (uint64_t)json_integer_value(v);
    return 0;
}

static double get_num(json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static int read_machine(struct reader *rd, json_t *o, struct vox_machine *m)
{
    uint64_t u = 0;
    json_t *caches, *c;
    size_t i;
    int rc = 0;

    memset(m, 0, sizeof(*m));
    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return bad(rd, "machine", "must be an object");
#define STR(k) rc = rc ? rc : get_str(rd, o, #k, m->k, sizeof(m->k), "machine")
    STR(hostname);
    STR(cpu_model);
    STR(os);
    STR(kernel);
    STR(compiler);
    STR(build_type);
    STR(c_flags);
    STR(features);
    STR(voxbench_version);
    STR(git_commit);
    STR(cuda_device);
#undef STR
#define UINT(k)                                                                                    \
    do {                                                                                           \
        rc = rc ? rc : get_uint(rd, o, #k, &u, "machine");                                         \
        m->k = (unsigned)u;                                                                        \
    } while (0)
    UINT(cpus_available);
    UINT(packages);
    UINT(cores);
    UINT(pus);
    UINT(numa_nodes);
#undef UINT
    rc = rc ? rc : get_uint(rd, o, "memory_bytes", &m->memory_bytes, "machine");
    m->git_dirty = json_is_true(json_object_get(o, "git_dirty"));
    caches = json_object_get(o, "caches");
    json_array_foreach(caches, i, c)
    {
        struct vox_cache_info *ci;

        if (m->ncaches == sizeof(m->caches) / sizeof(m->caches[0]) || !json_is_object(c))
            break;
        ci = &m->caches[m->ncaches++];
        rc = rc ? rc : get_uint(rd, c, "level", &u, "machine.caches[]");
        ci->level = (unsigned)u;
        rc = rc ? rc : get_str(rd, c, "type", ci->type, sizeof(ci->type), "machine.caches[]");
        rc = rc ? rc : get_uint(rd, c, "size_bytes", &ci->size_bytes, "machine.caches[]");
        rc = rc ? rc : get_uint(rd, c, "count", &u, "machine.caches[]");
        ci->count = (unsigned)u;
    }
    return rc;
}

static int read_metric(struct reader *rd, struct vox_run *run, const char *name, json_t *o,
                       const char *where)
{
    json_t *values = json_object_get(o, "values"), *v;
    const char *dir = json_string_value(json_object_get(o, "direction"));
    struct vox_metric *m;
    char unit[16];
    size_t i;
    int rc;

    if (!json_is_object(o))
        return bad(rd, where, "a metric must be an object");
    if ((rc = get_str(rd, o, "unit", unit, sizeof(unit), where)))
        return rc;
    if (dir && strcmp(dir, "higher") != 0 && strcmp(dir, "lower") != 0)
        return bad(rd, where, "\"direction\" must be \"higher\" or \"lower\"");
    if (!json_is_array(values))
        return bad(rd, where, "\"values\" must be an array");
    m = vox_run_metric(run, name, unit,
                       dir && strcmp(dir, "higher") == 0 ? VOX_DIR_HIGHER : VOX_DIR_LOWER,
                       json_is_true(json_object_get(o, "stable")));
    if (!m)
        return VOX_ENOMEM;
    json_array_foreach(values, i, v)
    {
        if (!json_is_number(v) && !json_is_null(v))
            return bad(rd, where, "\"values\" must hold numbers");
        if (vox_metric_push(m, get_num(v)))
            return VOX_ENOMEM;
    }
    return 0;
}

static int read_run(struct reader *rd, struct vox_results *r, json_t *o, size_t idx)
{
    char where[160];
    json_t *params, *metrics, *pcts, *v;
    const char *key;
    struct vox_run *run;
    uint64_t reps;
    size_t i;
    int rc;

    snprintf(where, sizeof(where), "runs[%zu]", idx);
    if (!json_is_object(o))
        return bad(rd, where, "must be an object");
    run = vox_results_add_run(r);
    if (!run)
        return VOX_ENOMEM;
    if ((rc = get_str(rd, o, "workload", run->workload, sizeof(run->workload), where)) ||
        (rc = get_str(rd, o, "kind", run->kind, sizeof(run->kind), where)) ||
        (rc = get_str(rd, o, "benchmark", run->benchmark, sizeof(run->benchmark), where)) ||
        (rc = get_str(rd, o, "error", run->error, sizeof(run->error), where)) ||
        (rc = get_uint(rd, o, "repetitions", &reps, where)))
        return rc;
    if (!run->workload[0])
        return bad(rd, where, "\"workload\" is missing");
    run->repetitions = (unsigned)reps;
    run->ok = !json_is_false(json_object_get(o, "ok"));
    params = json_object_get(o, "params");
    if (params && !json_is_object(params))
        return bad(rd, where, "\"params\" must be an object");
    json_object_foreach(params, key, v)
    {
        if (!json_is_string(v) || vox_run_set_param(run, key, json_string_value(v)))
            return bad(rd, where, "\"params\" values must be short strings");
    }
    metrics = json_object_get(o, "metrics");
    if (metrics && !json_is_object(metrics))
        return bad(rd, where, "\"metrics\" must be an object");
    json_object_foreach(metrics, key, v)
    {
        char mwhere[256];

        snprintf(mwhere, sizeof(mwhere), "%s.metrics.%s", where, key);
        if ((rc = read_metric(rd, run, key, v, mwhere)))
            return rc;
    }
    pcts = json_object_get(o, "latency_spectrum_us");
    if (json_is_array(pcts) && json_array_size(pcts)) {
        struct vox_percentile *p = calloc(json_array_size(pcts), sizeof(*p));

        if (!p)
            return VOX_ENOMEM;
        json_array_foreach(pcts, i, v)
        {
            p[i].pct = get_num(json_array_get(v, 0));
            p[i].value_us = get_num(json_array_get(v, 1));
        }
        rc = vox_run_set_percentiles(run, p, json_array_size(pcts));
        free(p);
    }
    return rc;
}

int vox_results_read(const char *path, struct vox_results *out, struct vox_diag *diag)
{
    struct reader rd = {.file = path, .diag = diag};
    json_error_t jerr;
    json_t *root, *runs, *v, *suite;
    const char *schema;
    size_t i;
    int rc = 0;

    vox_results_init(out);
    root = json_load_file(path, 0, &jerr);
    if (!root) {
        if (jerr.line < 0 || strstr(jerr.text, "unable to open")) {
            vox_diag_set(diag, "%s: cannot read: %s", path, jerr.text);
            return VOX_EIO;
        }
        vox_diag_set(diag, "%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column, jerr.text);
        return VOX_EMALFORMED;
    }
    schema = json_string_value(json_object_get(root, "schema"));
    if (!json_is_object(root) || !schema || strcmp(schema, "voxbench-results") != 0) {
        rc = bad(&rd, "top level",
                 "not a voxbench results file (\"schema\" is not "
                 "\"voxbench-results\")");
        goto out;
    }
    v = json_object_get(root, "schema_version");
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        rc = bad(&rd, "schema_version", "must be a positive integer");
        goto out;
    }
    if (json_integer_value(v) > VOX_RESULTS_SCHEMA_VERSION) {
        vox_diag_set(diag, "%s: schema_version %lld is newer than this voxbench reads (%d)", path,
                     (long long)json_integer_value(v), VOX_RESULTS_SCHEMA_VERSION);
        rc = VOX_ERANGE;
        goto out;
    }
    out->schema_version = (int)json_integer_value(v);
    if ((rc = get_str(&rd, root, "created", out->created, sizeof(out->created), "top level")))
        goto out;
    suite = json_object_get(root, "suite");
    if (json_is_object(suite) &&
        ((rc = get_str(&rd, suite, "name", out->suite, sizeof(out->suite), "suite")) ||
         (rc = get_str(&rd, suite, "file", out->suite_file, sizeof(out->suite_file), "suite"))))
        goto out;
    if ((rc = read_machine(&rd, json_object_get(root, "machine"), &out->machine)))
        goto out;
    runs = json_object_get(root, "runs");
    if (!json_is_array(runs)) {
        rc = bad(&rd, "runs", "must be an array");
        goto out;
    }
    json_array_foreach(runs, i, v)
    {
        if ((rc = read_run(&rd, out, v, i)))
            goto out;
    }
out:
    json_decref(root);
    return rc;
}
