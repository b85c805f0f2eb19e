/* SPDX-License-Identifier: MIT */
/* The voxbench report: guide-shaped and per-workload tables as Markdown and one HTML page. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "vox/report.h"
#include "internal.h"
#include "vox/results.h"
#include "vox/stats.h"

#define LOAD_PARAM VOX__REPORT_LOAD_PARAM
#define NONE       "–"

/* ---- a tiny document model, rendered twice (Markdown and HTML) ----------------------------- */

enum block_kind { BLOCK_HEADING, BLOCK_PARA, BLOCK_TABLE, BLOCK_PLOT };

struct block {
    enum block_kind kind;
    int level;    /* heading: 1..4 */
    char *text;   /* heading, paragraph; plot: file stem under plots/ */
    char *title;  /* plot */
    size_t ncols; /* table: cells[ncells], row 0 is the header */
    bool words;   /* table of words, not figures: every column left-aligned */
    size_t ncells, cells_cap;
    char **cells;
};

struct doc {
    struct block *b;
    size_t n, cap;
    int err; /* sticky: the builders stop at the first failure, checked once at the end */
};

static void doc_free(struct doc *d)
{
    size_t i, k;

    for (i = 0; i < d->n; i++) {
        free(d->b[i].text);
        free(d->b[i].title);
        for (k = 0; k < d->b[i].ncells; k++)
            free(d->b[i].cells[k]);
        free(d->b[i].cells);
    }
    free(d->b);
}

static struct block *doc_add(struct doc *d, enum block_kind kind)
{
    if (d->err)
        return NULL;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        struct block *b = realloc(d->b, cap * sizeof(*b));

        if (!b) {
            d->err = VOX_ENOMEM;
            return NULL;
        }
        d->b = b;
        d->cap = cap;
    }
    memset(&d->b[d->n], 0, sizeof(d->b[0]));
    d->b[d->n].kind = kind;
    return &d->b[d->n++];
}

static char *vfmt(struct doc *d, const char *fmt, va_list ap)
{
    char *s = NULL;

    if (vasprintf(&s, fmt, ap) < 0) {
        d->err = VOX_ENOMEM;
        return NULL;
    }
    return s;
}

static void doc_heading(struct doc *d, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void doc_para(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void doc_cell(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void doc_heading(struct doc *d, int level, const char *fmt, ...)
{
    struct block *b = doc_add(d, BLOCK_HEADING);
    va_list ap;

    if (!b)
        return;
    b->level = level;
    va_start(ap, fmt);
    b->text = vfmt(d, fmt, ap);
    va_end(ap);
}

static void doc_para(struct doc *d, const char *fmt, ...)
{
    struct block *b = doc_add(d, BLOCK_PARA);
    va_list ap;

    if (!b)
        return;
    va_start(ap, fmt);
    b->text = vfmt(d, fmt, ap);
    va_end(ap);
}

static void doc_table(struct doc *d, size_t ncols)
{
    struct block *b = doc_add(d, BLOCK_TABLE);

    if (b)
        b->ncols = ncols;
}

/* Appends a cell to the table begun last; rows fill left to right, header first. */
static void doc_cell(struct doc *d, const char *fmt, ...)
{
    struct block *b = d->n ? &d->b[d->n - 1] : NULL;
    va_list ap;
    char *s;

    if (d->err || !b || b->kind != BLOCK_TABLE)
        return;
    if (b->ncells == b->cells_cap) {
        size_t cap = b->cells_cap ? b->cells_cap * 2 : 32;
        char **c = realloc(b->cells, cap * sizeof(*c));

        if (!c) {
            d->err = VOX_ENOMEM;
            return;
        }
        b->cells = c;
        b->cells_cap = cap;
    }
    va_start(ap, fmt);
    s = vfmt(d, fmt, ap);
    va_end(ap);
    if (s)
        b->cells[b->ncells++] = s;
}

static void doc_plot(struct doc *d, const char *name, const char *title)
{
    struct block *b = doc_add(d, BLOCK_PLOT);

    if (!b)
        return;
    b->text = strdup(name);
    b->title = strdup(title);
    if (!b->text || !b->title)
        d->err = VOX_ENOMEM;
}

/* ---- number formatting --------------------------------------------------------------------- */

/* Four significant figures at most, three decimals at least for small mantissas. */
static const char *mantissa_fmt(double x)
{
    x = fabs(x);
    return x >= 100 ? "%.1f" : x >= 10 ? "%.2f" : "%.3f";
}

/* A value with an SI prefix: 1234567 -> "1.235 M". */
static void fmt_si(char *buf, size_t cap, double v, const char *unit)
{
    static const char *const up[] = {"", "k", "M", "G", "T", "P"};
    size_t k = 0;
    char num[32];

    while (fabs(v) >= 1000 && k + 1 < sizeof(up) / sizeof(up[0])) {
        v /= 1000;
        k++;
    }
    if (v != 0 && fabs(v) < 1 && k == 0)
        snprintf(num, sizeof(num), "%.3g", v);
    else
        snprintf(num, sizeof(num), mantissa_fmt(v), v);
    snprintf(buf, cap, "%s%s%s%s", num, up[k][0] || unit[0] ? " " : "", up[k], unit);
}

static void fmt_seconds(char *buf, size_t cap, double s)
{
    static const struct {
        double scale;
        const char *unit;
    } steps[] = {{1, "s"}, {1e-3, "ms"}, {1e-6, "µs"}, {1e-9, "ns"}};
    size_t i;

    /* Zero has no natural scale: "0 s", not "0.000 ns". */
    if (s == 0) {
        snprintf(buf, cap, "0 s");
        return;
    }
    for (i = 0; i + 1 < sizeof(steps) / sizeof(steps[0]); i++)
        if (fabs(s) >= steps[i].scale)
            break;
    fmt_si(buf, cap, s / steps[i].scale, "");
    /* fmt_si leaves a bare number here (values below 1000 of the chosen unit) */
    snprintf(buf + strlen(buf), cap - strlen(buf), " %s", steps[i].unit);
}

/* A metric value in its unit, scaled for reading: "26.38 µs", "1.235 M/s", "320.0 MB". */
static const char *fmt_value(char *buf, size_t cap, double v, const char *unit)
{
    if (!isfinite(v))
        snprintf(buf, cap, NONE);
    else if (strcmp(unit, "ns") == 0)
        fmt_seconds(buf, cap, v * 1e-9);
    else if (strcmp(unit, "us") == 0)
        fmt_seconds(buf, cap, v * 1e-6);
    else if (strcmp(unit, "ms") == 0)
        fmt_seconds(buf, cap, v * 1e-3);
    else if (strcmp(unit, "s") == 0)
        fmt_seconds(buf, cap, v);
    else if (strcmp(unit, "bytes") == 0)
        fmt_si(buf, cap, v, "B");
    else if (strcmp(unit, "1/s") == 0)
        fmt_si(buf, cap, v, "/s");
    else if (strcmp(unit, "%") == 0)
        snprintf(buf, cap, "%.1f%%", v);
    else if (strcmp(unit, "ratio") == 0)
        snprintf(buf, cap, "%.2fx", v);
    else if (strcmp(unit, "count") == 0 || !unit[0])
        fmt_si(buf, cap, v, "");
    else
        fmt_si(buf, cap, v, unit);
    return buf;
}

/* How much better `with` is than `without`, as the guides print it: "4.67x faster". */
static const char *fmt_improvement(char *buf, size_t cap, double without, double with,
                                   enum vox_metric_dir dir)
{
    double x;

    if (!(without > 0) || !(with > 0) || !isfinite(without) || !isfinite(with)) {
        snprintf(buf, cap, NONE);
        return buf;
    }
    x = dir == VOX_DIR_LOWER ? without / with : with / without;
    snprintf(buf, cap, "%.2fx %s", x >= 1 ? x : 1 / x, x >= 1 ? "faster" : "slower");
    return buf;
}

/* ---- reading the results ------------------------------------------------------------------- */

/* Adds to the set, recording an allocation failure in the document (checked once at the end). */
static void strset_add(struct doc *d, struct vox__strset *s, const char *str)
{
    if (!d->err && vox__strset_add(s, str) != 0)
        d->err = VOX_ENOMEM;
}

static double median_of(const struct vox_run *run, const char *metric)
{
    const struct vox_metric *m = run ? vox_run_find_metric(run, metric) : NULL;

    return m && m->n ? vox_metric_median(m) : NAN;
}

/* A same-run ratio run (ratio_base) repeats another run's measurements: not a backend row. */
static bool is_ratio_run(const struct vox_run *run)
{
    size_t i;

    for (i = 0; i < run->nmetrics; i++)
        if (strcmp(run->metrics[i].unit, "ratio") == 0)
            return true;
    return false;
}

/*
 * The params other than `axis` whose value differs between the workload's runs: the ones a
 * row label must show (threads=2), unlike those every run shares (instructions=true).
 */
static void varying_label(const struct vox_results *r, const struct vox_run *run, const char *axis,
                          char *dst, size_t cap)
{
    size_t i, k, used = 0;

    dst[0] = '\0';
    for (i = 0; i < run->nparams; i++) {
        const struct vox_param *p = &run->params[i];
        bool varies = false;
        int n;

        if (strcmp(p->key, axis) == 0)
            continue;
        for (k = 0; k < r->nruns && !varies; k++) {
            const char *v;

            if (strcmp(r->runs[k].workload, run->workload) != 0 || is_ratio_run(&r->runs[k]))
                continue;
            v = vox_run_param(&r->runs[k], p->key);
            varies = !v || strcmp(v, p->value) != 0;
        }
        if (!varies)
            continue;
        n = snprintf(dst + used, cap - used, "%s%s=%s", used ? " " : "", p->key, p->value);
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
}

static bool workload_has_metric(const struct vox_results *r, const char *w, const char *metric)
{
    size_t i;

    for (i = 0; i < r->nruns; i++)
        if (strcmp(r->runs[i].workload, w) == 0 && vox_run_find_metric(&r->runs[i], metric))
            return true;
    return false;
}

static bool workload_has_param(const struct vox_results *r, const char *w, const char *key)
{
    size_t i;

    for (i = 0; i < r->nruns; i++)
        if (strcmp(r->runs[i].workload, w) == 0 && vox_run_param(&r->runs[i], key))
            return true;
    return false;
}

/*
 * The figure a micro workload is judged by. With several threads, wall time per iteration
 * says nothing about throughput, so the rate leads there; elsewhere the time per iteration,
 * the figure the guides print.
 */
static const char *headline_metric(const struct vox_results *r, const char *w)
{
    static const char *const order[] = {"real_ns", "items_per_second", "frames_per_second"};
    size_t i;

    if (workload_has_param(r, w, "threads") && workload_has_metric(r, w, "items_per_second"))
        return "items_per_second";
    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (workload_has_metric(r, w, order[i]))
            return order[i];
    for (i = 0; i < r->nruns; i++)
        if (strcmp(r->runs[i].workload, w) == 0 && r->runs[i].nmetrics)
            return r->runs[i].metrics[0].name;
    return NULL;
}

static const struct vox_metric *any_metric(const struct vox_results *r, const char *w,
                                           const char *metric)
{
    size_t i;
    const struct vox_metric *m;

    for (i = 0; i < r->nruns; i++)
        if (strcmp(r->runs[i].workload, w) == 0 && (m = vox_run_find_metric(&r->runs[i], metric)))
            return m;
    return NULL;
}

static const char *metric_title(const char *metric)
{
    static const struct {
        const char *name, *title;
    } titles[] = {
        {"real_ns", "time per iteration"},       {"cpu_ns", "CPU time per iteration"},
        {"items_per_second", "items/s"},         {"frames_per_second", "frames/s"},
        {"hi_p50_us", "high-priority wait p50"}, {"hi_p99_us", "high-priority wait p99"},
        {"normal_p50_us", "normal wait p50"},
    };
    size_t i;

    for (i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
        if (strcmp(metric, titles[i].name) == 0)
            return titles[i].title;
    return metric;
}

/* The run of `workload` with axis=value and the other params exactly `rest`. */
static const struct vox_run *find_cell(const struct vox_results *r, const char *workload,
                                       const char *axis, const char *value, const char *rest)
{
    size_t i;

    for (i = 0; i < r->nruns; i++) {
        const struct vox_run *run = &r->runs[i];
        const char *v = vox_run_param(run, axis);
        char other[256];

        if (strcmp(run->workload, workload) != 0 || !v || strcmp(v, value) != 0 ||
            is_ratio_run(run))
            continue;
        vox__report_config_without(run, axis, other, sizeof(other));
        if (strcmp(other, rest) == 0)
            return run;
    }
    return NULL;
}

/* One column of a backend table: a workload, its other params, one metric. */
struct column {
    const char *workload;
    char rest[256];
    char label[330]; /* workload (63) + ", " + a varying_label (255) */
    const char *metric;
    enum vox_metric_dir dir;
    const char *unit;
};

struct backend_matrix {
    struct vox__strset values; /* the axis' values: table rows */
    struct column *cols;
    size_t ncols, cap;
};

static void matrix_free(struct backend_matrix *m)
{
    vox__strset_free(&m->values);
    free(m->cols);
}

/*
 * Collects the columns of a backend table: for every micro workload with param `axis`, each
 * distinct set of other params, and each wanted metric the workload has (wanted == NULL: its
 * headline metric).
 */
static void matrix_build(struct doc *d, const struct vox_results *r, const char *axis,
                         const char *const *wanted, size_t nwanted, const char *const *exclude,
                         struct backend_matrix *mx)
{
    size_t i, k, j;

    for (i = 0; i < r->nruns && !d->err; i++) {
        const struct vox_run *run = &r->runs[i];
        const char *v = vox_run_param(run, axis);
        char rest[256], vary[256];
        bool skip = false;

        for (k = 0; exclude && exclude[k] && !skip; k++)
            skip = vox_run_param(run, exclude[k]) != NULL;
        if (!v || skip || strcmp(run->kind, "micro") != 0 || is_ratio_run(run))
            continue;
        strset_add(d, &mx->values, v);
        vox__report_config_without(run, axis, rest, sizeof(rest));
        for (k = 0; k < (wanted ? nwanted : 1); k++) {
            const char *metric = wanted ? wanted[k] : headline_metric(r, run->workload);
            const struct vox_metric *m = metric ? any_metric(r, run->workload, metric) : NULL;
            struct column *c;

            if (!m)
                continue;
            for (j = 0; j < mx->ncols; j++)
                if (strcmp(mx->cols[j].workload, run->workload) == 0 &&
                    strcmp(mx->cols[j].rest, rest) == 0 && strcmp(mx->cols[j].metric, metric) == 0)
                    break;
            if (j < mx->ncols)
                continue;
            if (mx->ncols == mx->cap) {
                size_t cap = mx->cap ? mx->cap * 2 : 8;
                struct column *cols = realloc(mx->cols, cap * sizeof(*cols));

                if (!cols) {
                    d->err = VOX_ENOMEM;
                    return;
                }
                mx->cols = cols;
                mx->cap = cap;
            }
            c = &mx->cols[mx->ncols++];
            c->workload = run->workload;
            snprintf(c->rest, sizeof(c->rest), "%s", rest);
            c->metric = m->name;
            c->dir = m->dir;
            c->unit = m->unit;
            varying_label(r, run, axis, vary, sizeof(vary));
            snprintf(c->label, sizeof(c->label), "%s%s%s", run->workload, vary[0] ? ", " : "",
                     vary);
        }
    }
    /* Order columns by workload as they first appear, keeping the order within each. */
    for (i = 1; i < mx->ncols; i++)
        for (j = i; j > 0; j--) {
            struct column t;
            size_t a = 0, b = 0;

            for (k = 0; k < r->nruns; k++) {
                if (!a && strcmp(r->runs[k].workload, mx->cols[j - 1].workload) == 0)
                    a = k + 1;
                if (!b && strcmp(r->runs[k].workload, mx->cols[j].workload) == 0)
                    b = k + 1;
            }
            if (a <= b)
                break;
            t = mx->cols[j];
            mx->cols[j] = mx->cols[j - 1];
            mx->cols[j - 1] = t;
        }
}

/* ---- the guide-shaped tables --------------------------------------------------------------- */

/* The Rust media core guide's "Metric | Without Pools | With Pools | Improvement". */
static void table_pools(struct doc *d, const struct vox_results *r)
{
    struct backend_matrix mx = {0};
    size_t i, rows = 0;
    char a[64], b[64], x[64];

    matrix_build(d, r, "alloc", NULL, 0, NULL, &mx);
    if (vox__strset_find(&mx.values, "system") < 0 || vox__strset_find(&mx.values, "pool") < 0)
        goto out;
    doc_heading(d, 3, "Without and with pools");
    doc_table(d, 4);
    doc_cell(d, "Metric");
    doc_cell(d, "Without Pools (system)");
    doc_cell(d, "With Pools (pool)");
    doc_cell(d, "Improvement");
    for (i = 0; i < mx.ncols; i++) {
        const struct column *c = &mx.cols[i];
        double s = median_of(find_cell(r, c->workload, "alloc", "system", c->rest), c->metric);
        double p = median_of(find_cell(r, c->workload, "alloc", "pool", c->rest), c->metric);

        if (!isfinite(s) && !isfinite(p))
            continue;
        doc_cell(d, "%s: %s", c->label, metric_title(c->metric));
        doc_cell(d, "%s", fmt_value(a, sizeof(a), s, c->unit));
        doc_cell(d, "%s", fmt_value(b, sizeof(b), p, c->unit));
        doc_cell(d, "%s", fmt_improvement(x, sizeof(x), s, p, c->dir));
        rows++;
    }
    doc_para(d, "Medians over the repetitions in this file. Improvement is the ratio of the two "
                "medians, oriented so that \"faster\" means the pool is better (lower time, "
                "higher rate).");
    if (!rows)
        doc_para(d, "No workload has both a system and a pool run.");
out:
    matrix_free(&mx);
}

/*
 * The params that name a micro benchmark's variant (its first axis in the suite). A backend
 * table skips runs that have one: "frame-small, approach=pooled" belongs in the approach table,
 * not as a column of the allocator table.
 */
static const char *const variant_axes[] = {"approach", "handover", "source", "law", "level", NULL};

/*
 * Rows = the values of one axis of micro workloads (allocators, frame-handling approaches), one
 * column per workload (and other params) with its headline metric, and a last column with the
 * geometric mean of each row's speed-up over `base` (NULL: the first value seen; "": none, the
 * rows are not alternatives). `exclude`: runs with any of these params are left out. `metric`:
 * the metric of every column (NULL: each workload's headline metric).
 */
static void table_axis(struct doc *d, const struct vox_results *r, const char *axis,
                       const char *title, const char *row_header, const char *base,
                       const char *const *exclude, const char *metric)
{
    struct backend_matrix mx = {0};
    bool has_base;
    size_t i, k;
    char buf[64];

    matrix_build(d, r, axis, metric ? &metric : NULL, metric ? 1 : 0, exclude, &mx);
    if (!mx.ncols || !mx.values.n)
        goto out;
    if (!base)
        base = mx.values.v[0];
    has_base = *base && vox__strset_find(&mx.values, base) >= 0;
    doc_heading(d, 3, "%s", title);
    doc_table(d, 1 + mx.ncols + (has_base ? 1 : 0));
    doc_cell(d, "%s", row_header);
    for (i = 0; i < mx.ncols; i++)
        doc_cell(d, "%s: %s", mx.cols[i].label, metric_title(mx.cols[i].metric));
    if (has_base)
        doc_cell(d, mx.ncols > 1 ? "vs %s (geometric mean)" : "vs %s", base);
    for (k = 0; k < mx.values.n; k++) {
        const char *value = mx.values.v[k];
        double logsum = 0;
        size_t n = 0;

        doc_cell(d, "%s", value);
        for (i = 0; i < mx.ncols; i++) {
            const struct column *c = &mx.cols[i];
            double v = median_of(find_cell(r, c->workload, axis, value, c->rest), c->metric);
            double s = median_of(find_cell(r, c->workload, axis, base, c->rest), c->metric);

            doc_cell(d, "%s", fmt_value(buf, sizeof(buf), v, c->unit));
            if (v > 0 && s > 0) {
                logsum += log(c->dir == VOX_DIR_LOWER ? s / v : v / s);
                n++;
            }
        }
        if (!has_base)
            continue;
        if (strcmp(value, base) == 0)
            doc_cell(d, "baseline");
        else
            doc_cell(
                d, "%s",
                n ? fmt_improvement(buf, sizeof(buf), 1, exp(logsum / (double)n), VOX_DIR_HIGHER)
                  : NONE);
    }
    if (has_base && mx.ncols > 1)
        doc_para(d,
                 "The last column is the geometric mean over the columns of each row's "
                 "speed-up against %s (time: %s / row; rate: row / %s).",
                 base, base, base);
out:
    matrix_free(&mx);
}

/* Rows = executors: dispatch rate, priority waits, and high-priority p50 against pool. */
static void table_executors(struct doc *d, const struct vox_results *r)
{
    static const char *const wanted[] = {"items_per_second", "hi_p50_us", "hi_p99_us",
                                         "normal_p50_us"};
    struct backend_matrix mx = {0};
    long hi = -1;
    bool has_pool;
    size_t i, k, j;
    char buf[64];

    matrix_build(d, r, "exec", wanted, sizeof(wanted) / sizeof(wanted[0]), NULL, &mx);
    if (!mx.ncols || !mx.values.n)
        goto out;
    for (i = 0; i < mx.ncols && hi < 0; i++)
        if (strcmp(mx.cols[i].metric, "hi_p50_us") == 0)
            hi = (long)i;
    has_pool = hi >= 0 && vox__strset_find(&mx.values, "pool") >= 0;
    doc_heading(d, 3, "Executors");
    doc_table(d, 1 + mx.ncols + (has_pool ? 1 : 0));
    doc_cell(d, "Executor");
    for (i = 0; i < mx.ncols; i++) {
        const char *t = strcmp(mx.cols[i].metric, "items_per_second") == 0
                            ? "tasks/s"
                            : metric_title(mx.cols[i].metric);
        bool dup = false;

        for (j = 0; j < mx.ncols; j++)
            dup |= j != i && strcmp(mx.cols[j].metric, mx.cols[i].metric) == 0;
        if (dup || strcmp(t, "tasks/s") == 0)
            doc_cell(d, "%s (%s)", t, mx.cols[i].label);
        else
            doc_cell(d, "%s", t);
    }
    if (has_pool)
        doc_cell(d, "high-priority p50 vs pool");
    for (k = 0; k < mx.values.n; k++) {
        const char *exec = mx.values.v[k];

        doc_cell(d, "%s", exec);
        for (i = 0; i < mx.ncols; i++) {
            const struct column *c = &mx.cols[i];

            doc_cell(
                d, "%s",
                fmt_value(buf, sizeof(buf),
                          median_of(find_cell(r, c->workload, "exec", exec, c->rest), c->metric),
                          c->unit));
        }
        if (has_pool) {
            const struct column *c = &mx.cols[hi];
            double v = median_of(find_cell(r, c->workload, "exec", exec, c->rest), c->metric);
            double p = median_of(find_cell(r, c->workload, "exec", "pool", c->rest), c->metric);
            double pct = (v / p - 1) * 100;

            if (strcmp(exec, "pool") == 0)
                doc_cell(d, "baseline");
            else if (!isfinite(pct) || !(p > 0))
                doc_cell(d, NONE);
            else
                doc_cell(d, "%.1f%% %s", fabs(pct), pct <= 0 ? "lower" : "higher");
        }
    }
    if (has_pool)
        doc_para(d, "The C++ STT backend's guide claims 40-60%% lower high-priority latency from "
                    "priorities and work stealing; the last column is that figure, measured.");
out:
    matrix_free(&mx);
}

/* Load levels in numeric order within one config. */
static int cmp_level(const void *a, const void *b)
{
    const char *lx = vox_run_param(*(const struct vox_run *const *)a, LOAD_PARAM);
    const char *ly = vox_run_param(*(const struct vox_run *const *)b, LOAD_PARAM);
    double vx = lx ? strtod(lx, NULL) : 0, vy = ly ? strtod(ly, NULL) : 0;

    return vx < vy ? -1 : vx > vy;
}

/* The Go SIPREC guide's "Concurrent Sessions | Memory Usage | CPU Usage | Response Time". */
static void table_sessions(struct doc *d, const struct vox_results *r, const char *workload)
{
    const struct vox_run **runs = NULL;
    struct vox__strset configs = {0};
    size_t i, k, n = 0;
    char a[64], b[64], c[64];

    runs = calloc(r->nruns ? r->nruns : 1, sizeof(*runs));
    if (!runs) {
        d->err = VOX_ENOMEM;
        return;
    }
    /* Configs in the order the suite ran them, each one's load levels ascending. */
    for (i = 0; i < r->nruns; i++) {
        const struct vox_run *run = &r->runs[i];
        char cfg[256];

        if (strcmp(run->workload, workload) == 0 && vox_run_param(run, LOAD_PARAM)) {
            vox__report_config_without(run, LOAD_PARAM, cfg, sizeof(cfg));
            strset_add(d, &configs, cfg);
        }
    }
    for (k = 0; k < configs.n; k++) {
        size_t first = n;

        for (i = 0; i < r->nruns; i++) {
            const struct vox_run *run = &r->runs[i];
            char cfg[256];

            if (strcmp(run->workload, workload) != 0 || !vox_run_param(run, LOAD_PARAM))
                continue;
            vox__report_config_without(run, LOAD_PARAM, cfg, sizeof(cfg));
            if (strcmp(cfg, configs.v[k]) == 0)
                runs[n++] = run;
        }
        qsort(runs + first, n - first, sizeof(*runs), cmp_level);
    }
    if (!n)
        goto out;
    doc_heading(d, 3, "Concurrent sessions: %s", workload);
    doc_table(d, 6);
    doc_cell(d, "Config");
    doc_cell(d, "Concurrent Sessions");
    doc_cell(d, "Memory Usage");
    doc_cell(d, "CPU Usage");
    doc_cell(d, "Response Time (p50 / p99)");
    doc_cell(d, "Frames/s");
    for (i = 0; i < n; i++) {
        const struct vox_run *run = runs[i];
        double rss = median_of(run, "rss_peak_bytes"), cpu = median_of(run, "cpu_percent");
        char cfg[256];

        vox__report_config_without(run, LOAD_PARAM, cfg, sizeof(cfg));
        doc_cell(d, "%s", cfg[0] ? cfg : "(default)");
        doc_cell(d, "%s", vox_run_param(run, LOAD_PARAM));
        if (isfinite(rss))
            doc_cell(d, rss >= 10e6 ? "%.0f MB" : "%.1f MB", rss / 1e6);
        else
            doc_cell(d, NONE);
        if (isfinite(cpu))
            doc_cell(d, "%.0f%%", cpu);
        else
            doc_cell(d, NONE);
        doc_cell(d, "%s / %s", fmt_value(a, sizeof(a), median_of(run, "lat_p50_us"), "us"),
                 fmt_value(b, sizeof(b), median_of(run, "lat_p99_us"), "us"));
        doc_cell(d, "%s", fmt_value(c, sizeof(c), median_of(run, "frames_per_second"), "1/s"));
    }
    doc_para(d,
             "Concurrent Sessions is the %s param (concurrent 20 ms frame streams). Memory "
             "is the peak RSS of the process, CPU the share of one core; response time is "
             "the frame latency from its intended send time. Medians over repetitions.",
             LOAD_PARAM);
out:
    vox__strset_free(&configs);
    free(runs);
}

/* ---- the SIPREC tables (sipp workloads) ---------------------------------------------------- */

/* The sipp driver's load axis: the Go SIPREC guide's "Concurrent Sessions". */
#define SIPP_LEVEL "concurrency"

/* How many distinct values `key` takes in the runs of `workload`. */
static size_t param_values(const struct vox_results *r, const char *workload, const char *key)
{
    struct vox__strset seen = {0};
    size_t i, n;

    for (i = 0; i < r->nruns; i++) {
        const char *v = vox_run_param(&r->runs[i], key);

        if (v && strcmp(r->runs[i].workload, workload) == 0 && vox__strset_add(&seen, v) != 0)
            break;
    }
    n = seen.n;
    vox__strset_free(&seen);
    return n;
}

/* A run's numeric param `key`; 0 when it has none. */
static double param_num(const struct vox_run *run, const char *key)
{
    const char *v = vox_run_param(run, key);

    return v ? strtod(v, NULL) : 0;
}

/* Orders the runs by the numeric value of param `key` (0 when absent). Insertion sort: stable,
 * so configurations keep the order the suite ran them in, and a second sort by another key
 * keeps the first order within each of its values. */
static void sort_by_param(const struct vox_run **runs, size_t n, const char *key)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && param_num(runs[j - 1], key) > param_num(runs[j], key); j--) {
            const struct vox_run *t = runs[j];

            runs[j] = runs[j - 1];
            runs[j - 1] = t;
        }
}

/*
 * The sipp runs with param `key`, ordered by its numeric value, then in run order. The session
 * table leaves out the workloads that sweep the cache size (they belong to the cache table);
 * `cache_table` selects those instead.
 */
static size_t sipp_runs(struct doc *d, const struct vox_results *r, const char *key,
                        bool cache_table, const struct vox_run ***out)
{
    const struct vox_run **runs = calloc(r->nruns ? r->nruns : 1, sizeof(*runs));
    size_t i, n = 0;

    *out = runs;
    if (!runs) {
        d->err = VOX_ENOMEM;
        return 0;
    }
    for (i = 0; i < r->nruns; i++) {
        const struct vox_run *run = &r->runs[i];

        if (strcmp(run->kind, "sipp") != 0 || !vox_run_param(run, key) ||
            (param_values(r, run->workload, "cache_size") > 1) != cache_table)
            continue;
        runs[n++] = run;
    }
    sort_by_param(runs, n, key);
    return n;
}

/* A metric summed over the repetitions (failed calls: every one counts); NAN when absent. */
static double sum_of(const struct vox_run *run, const char *metric)
{
    const struct vox_metric *m = vox_run_find_metric(run, metric);
    double s = 0;
    size_t i;

    if (!m || !m->n)
        return NAN;
    for (i = 0; i < m->n; i++)
        s += isfinite(m->values[i]) ? m->values[i] : 0;
    return s;
}

/*
 * "alloc / exec", then the other params that vary within the run's workload (transport=tcp),
 * and the workload's id when another row of the same level would read the same.
 */
static void sipp_config_label(const struct vox_results *r, const struct vox_run *const *rows,
                              size_t nrows, size_t row, const char *level_key, char *dst,
                              size_t cap)
{
    const struct vox_run *run = rows[row];
    const char *alloc = vox_run_param(run, "alloc"), *exec = vox_run_param(run, "exec");
    const char *level = vox_run_param(run, level_key);
    char vary[256], rest[256] = "";
    size_t used = 0, k;
    char *tok, *save = NULL;
    bool twin = false;

    varying_label(r, run, level_key, vary, sizeof(vary));
    /* varying_label gives "k=v k=v": keep the ones that are not the backends. */
    for (tok = strtok_r(vary, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        int n;

        if (strncmp(tok, "alloc=", 6) == 0 || strncmp(tok, "exec=", 5) == 0)
            continue;
        n = snprintf(rest + used, sizeof(rest) - used, "%s%s", used ? ", " : "", tok);
        if (n < 0 || (size_t)n >= sizeof(rest) - used)
            break;
        used += (size_t)n;
    }
    for (k = 0; k < nrows && !twin; k++) {
        const char *a = vox_run_param(rows[k], "alloc"), *e = vox_run_param(rows[k], "exec");

        twin = k != row && strcmp(rows[k]->workload, run->workload) != 0 &&
               strcmp(vox_run_param(rows[k], level_key), level) == 0 &&
               strcmp(a ? a : "", alloc ? alloc : "") == 0 &&
               strcmp(e ? e : "", exec ? exec : "") == 0;
    }
    snprintf(dst, cap, "%s / %s%s%s%s%s%s", alloc ? alloc : "default", exec ? exec : "default",
             rest[0] ? ", " : "", rest, twin ? " (" : "", twin ? run->workload : "",
             twin ? ")" : "");
}

static void cell_mb(struct doc *d, double bytes)
{
    if (!isfinite(bytes))
        doc_cell(d, NONE);
    else
        doc_cell(d, bytes >= 10e6 ? "%.0f MB" : bytes >= 1e6 ? "%.1f MB" : "%.2f MB", bytes / 1e6);
}

/* A time in ms the way the guide prints it: "0.21 ms", "1.4 ms", "12 ms". */
static const char *fmt_ms(char *buf, size_t cap, double ms)
{
    if (!isfinite(ms))
        snprintf(buf, cap, NONE);
    else
        snprintf(buf, cap,
                 ms >= 1e4   ? "%.0f s"
                 : ms >= 1e3 ? "%.1f s"
                 : ms >= 10  ? "%.0f ms"
                 : ms >= 1   ? "%.1f ms"
                             : "%.2f ms",
                 ms >= 1e3 ? ms / 1e3 : ms);
    return buf;
}

/*
 * The Go SIPREC guide's "Concurrent Sessions | Memory Usage | CPU Usage | Response Time": one
 * row per load level and backend pair (and other varying params) of every sipp workload in the
 * file, the guide's own claim as a row above each of its levels, and the calls that failed.
 */
static void table_siprec_sessions(struct doc *d, const struct vox_results *r)
{
    static const struct {
        const char *level, *memory, *cpu, *response;
    } guide[] = {{"100", "50 MB", "15%", "< 1 ms"},
                 {"500", "180 MB", "45%", "< 2 ms"},
                 {"1000", "320 MB", "75%", "< 5 ms"}};
    const struct vox_run **runs = NULL;
    size_t n = sipp_runs(d, r, SIPP_LEVEL, false, &runs), i, g, failed_runs = 0;
    const char *shown = "";
    double failed_total = 0;
    char a[64], b[64], label[320];

    if (!n)
        goto out;
    doc_heading(d, 3, "SIPREC sessions");
    doc_table(d, 10);
    doc_cell(d, "Concurrent Sessions");
    doc_cell(d, "Backends (alloc / exec)");
    doc_cell(d, "Memory Usage");
    doc_cell(d, "CPU Usage");
    doc_cell(d, "Response Time (p50 / p99)");
    doc_cell(d, "In the server (p50 / p99)");
    doc_cell(d, "Memory at level");
    doc_cell(d, "Calls/s");
    doc_cell(d, "Failed calls");
    doc_cell(d, "Machine busy");
    for (i = 0; i < n; i++) {
        const struct vox_run *run = runs[i];
        const char *level = vox_run_param(run, SIPP_LEVEL);
        double peak = median_of(run, "concurrent_sessions"), failed = sum_of(run, "calls_failed");
        double cpu = median_of(run, "cpu_percent"), busy = median_of(run, "host_busy_percent");

        if (strcmp(level, shown) != 0) {
            shown = level;
            for (g = 0; g < sizeof(guide) / sizeof(guide[0]); g++)
                if (strcmp(guide[g].level, level) == 0) {
                    doc_cell(d, "%s", level);
                    doc_cell(d, "Go guide (claimed)");
                    doc_cell(d, "%s", guide[g].memory);
                    doc_cell(d, "%s", guide[g].cpu);
                    doc_cell(d, "%s", guide[g].response);
                    for (size_t k = 0; k < 5; k++)
                        doc_cell(d, NONE);
                }
        }
        /* The level asked for, and what the server held when it fell short. */
        if (isfinite(peak) && peak < 0.95 * strtod(level, NULL))
            doc_cell(d, "%s (held %.0f)", level, peak);
        else
            doc_cell(d, "%s", level);
        sipp_config_label(r, runs, n, i, SIPP_LEVEL, label, sizeof(label));
        doc_cell(d, "%s%s", label, run->ok ? "" : " (failed)");
        cell_mb(d, median_of(run, "rss_peak_bytes"));
        if (isfinite(cpu))
            doc_cell(d, "%.0f%%", cpu);
        else
            doc_cell(d, NONE);
        doc_cell(d, "%s / %s", fmt_ms(a, sizeof(a), median_of(run, "setup_ms_p50")),
                 fmt_ms(b, sizeof(b), median_of(run, "setup_ms_p99")));
        doc_cell(d, "%s / %s", fmt_ms(a, sizeof(a), median_of(run, "server_setup_ms_p50")),
                 fmt_ms(b, sizeof(b), median_of(run, "server_setup_ms_p99")));
        cell_mb(d, median_of(run, "rss_steady_bytes"));
        doc_cell(d, "%s", fmt_value(a, sizeof(a), median_of(run, "calls_per_s"), "1/s"));
        if (isfinite(failed)) {
            doc_cell(d, "%.0f of %.0f", failed, failed + sum_of(run, "calls_successful"));
            failed_total += failed;
            failed_runs += failed > 0;
        } else {
            doc_cell(d, NONE);
        }
        if (isfinite(busy))
            doc_cell(d, "%.0f%%", busy);
        else
            doc_cell(d, NONE);
    }
    doc_para(d, "Memory Usage is the server's peak RSS over the run (the ramp, the level and the "
                "drain); Memory at level is its mean RSS while it held the level. CPU Usage is the "
                "server's share of one core over that steady window, and Machine busy the share "
                "of all CPUs busy meanwhile (the load generators run on the same machine). "
                "Response Time is INVITE to 200 OK as SIPp measured it (-trace_rtt, µs clock), "
                "over every call of the run; In the server is the same from the kernel's arrival "
                "time of the INVITE (UDP; TCP from its read) to the 200's send, from the "
                "server's histogram (vox_siprec_setup_seconds, interpolated within buckets), so "
                "that the difference is the load generator's and the way back. Calls/s is the rate "
                "the answers came at. Failed "
                "calls are summed over the repetitions; the other figures are medians.");
    doc_para(d, "The Go guide's rows are the claims of the deleted loreste/siprec performance "
                "guide (50 / 180 / 320 MB, 15 / 45 / 75%% CPU, under 1 / 2 / 5 ms at 100 / 500 / "
                "1000 sessions), which no published harness reproduces; ours come from this file.");
    if (failed_total > 0)
        doc_para(d,
                 "%.0f calls failed in %zu configuration%s: see calls_failed_timeout, "
                 "calls_failed_unexpected and calls_rejected_busy in the workload tables.",
                 failed_total, failed_runs, failed_runs == 1 ? "" : "s");
out:
    free(runs);
}

/* The Go SIPREC guide's "Cache Size | Hit Rate | Lookup Time | Memory Usage". */
static void table_siprec_cache(struct doc *d, const struct vox_results *r)
{
    static const struct {
        const char *size, *hit, *lookup, *memory;
    } guide[] = {{"1000", "85%", "0.5 ms", "10 MB"},
                 {"5000", "92%", "0.3 ms", "45 MB"},
                 {"10000", "95%", "0.2 ms", "85 MB"}};
    const struct vox_run **runs = NULL;
    size_t n = sipp_runs(d, r, "cache_size", true, &runs), i, g;
    const char *shown = "";
    char a[64], label[320];

    if (!n)
        goto out;
    doc_heading(d, 3, "Session cache");
    doc_table(d, 7);
    doc_cell(d, "Cache Size");
    doc_cell(d, "Config");
    doc_cell(d, "Hit Rate");
    doc_cell(d, "Lookup Time");
    doc_cell(d, "Memory Usage");
    doc_cell(d, "Lookups");
    doc_cell(d, "Evictions");
    for (i = 0; i < n; i++) {
        const struct vox_run *run = runs[i];
        const char *size = vox_run_param(run, "cache_size");
        const char *level = vox_run_param(run, SIPP_LEVEL);
        double hit = median_of(run, "cache_hit_rate");

        if (strcmp(size, shown) != 0) {
            shown = size;
            for (g = 0; g < sizeof(guide) / sizeof(guide[0]); g++)
                if (strcmp(guide[g].size, size) == 0) {
                    doc_cell(d, "%s", size);
                    doc_cell(d, "Go guide (claimed)");
                    doc_cell(d, "%s", guide[g].hit);
                    doc_cell(d, "%s", guide[g].lookup);
                    doc_cell(d, "%s", guide[g].memory);
                    doc_cell(d, NONE);
                    doc_cell(d, NONE);
                }
        }
        doc_cell(d, "%s", size);
        sipp_config_label(r, runs, n, i, "cache_size", label, sizeof(label));
        doc_cell(d, "%s%s%s%s%s", label, level ? ", " : "", level ? level : "",
                 level ? " sessions" : "", run->ok ? "" : " (failed)");
        if (isfinite(hit))
            doc_cell(d, "%.1f%%", hit);
        else
            doc_cell(d, NONE);
        doc_cell(d, "%s", fmt_value(a, sizeof(a), median_of(run, "cache_lookup_ns"), "ns"));
        cell_mb(d, median_of(run, "cache_bytes"));
        doc_cell(d, "%s", fmt_value(a, sizeof(a), median_of(run, "cache_lookups"), "count"));
        doc_cell(d, "%s", fmt_value(a, sizeof(a), median_of(run, "cache_evictions"), "count"));
    }
    doc_para(d, "The server's LRU cache in front of its session map, read from /api/resources at "
                "the end of each run: hits per lookup (a lookup by Call-ID for every request of a "
                "call: INVITE, ACK, BYE), the mean time of a lookup, and the cache's own memory. "
                "A session is cached when it starts, so with more cache entries than sessions at "
                "once every in-dialog request hits; smaller caches evict sessions before their "
                "BYE. The Go guide's rows are its claims (85 / 92 / 95%%, 0.5 / 0.3 / 0.2 ms, "
                "10 / 45 / 85 MB), made without saying how many sessions were live.");
out:
    free(runs);
}

/* ---- the capture tables (pcap workloads, match micro benchmarks) -------------------------- */

/* The pcap runs of vox-capture (no `tool`, or tool=vox-capture). */
static bool is_engine_run(const struct vox_run *run)
{
    const char *tool = vox_run_param(run, "tool");

    return strcmp(run->kind, "pcap") == 0 && (!tool || strcmp(tool, "vox-capture") == 0);
}

/* "2 (asks 2 x NumCPU)": the threads the engine used (a reader and an analyser at most), and
 * what the profile asks for. Results from before the engine had two threads lack `threads`. */
static void cell_threads(struct doc *d, const struct vox_run *run, const char *profile)
{
    double used = median_of(run, "threads");
    const char *asks = strcmp(profile, "minimal") == 0            ? "1"
                       : strcmp(profile, "high_performance") == 0 ? "2 x NumCPU"
                                                                  : "NumCPU";

    if (isnan(used))
        used = 1;
    if (strcmp(asks, "1") == 0 && used == 1)
        doc_cell(d, "1");
    else
        doc_cell(d, "%.0f (asks %s)", used, asks);
}

/*
 * The Go sniffer guide's TCP profile table (lippycat docs/PERFORMANCE.md: memory, buffers,
 * batch, IO threads; a configuration, no measurement) with what each profile measured here:
 * one row per profile and backend of every pcap workload whose runs vary the profile.
 */
static void table_capture_profiles(struct doc *d, const struct vox_results *r)
{
    static const struct {
        const char *profile, *memory, *buffers, *batch, *threads;
    } guide[] = {{"minimal", "25 MB", "500", "8", "1"},
                 {"balanced", "100 MB", "5,000", "32", "NumCPU"},
                 {"high_performance", "500 MB", "20,000", "64", "2 x NumCPU"},
                 {"low_latency", "200 MB", "2,000", "1", "NumCPU"}};
    char a[64], b[64];
    bool any = false;

    for (size_t g = 0; g < sizeof(guide) / sizeof(guide[0]); g++) {
        bool shown = false;

        for (size_t i = 0; i < r->nruns; i++) {
            const struct vox_run *run = &r->runs[i];
            const char *profile = vox_run_param(run, "profile");
            const char *match = vox_run_param(run, "match");

            if (!is_engine_run(run) || !profile || strcmp(profile, guide[g].profile) != 0 ||
                param_values(r, run->workload, "profile") < 2)
                continue;
            if (!any) {
                doc_heading(d, 3, "Capture profiles");
                doc_table(d, 11);
                doc_cell(d, "Profile");
                doc_cell(d, "Matching");
                doc_cell(d, "Memory");
                doc_cell(d, "Buffers");
                doc_cell(d, "Batch");
                doc_cell(d, "Threads");
                doc_cell(d, "Packets/s");
                doc_cell(d, "Calls/s");
                doc_cell(d, "Per packet");
                doc_cell(d, "Batch latency (p50 / p99)");
                doc_cell(d, "Peak RSS");
                any = true;
            }
            if (!shown) {
                doc_cell(d, "%s", guide[g].profile);
                doc_cell(d, "Go sniffer guide");
                doc_cell(d, "%s", guide[g].memory);
                doc_cell(d, "%s", guide[g].buffers);
                doc_cell(d, "%s", guide[g].batch);
                doc_cell(d, "%s", guide[g].threads);
                for (size_t k = 0; k < 5; k++)
                    doc_cell(d, NONE);
                shown = true;
            }
            doc_cell(d, "%s", profile);
            doc_cell(d, "%s%s", match ? match : "auto", run->ok ? "" : " (failed)");
            cell_mb(d, median_of(run, "profile_memory_bytes"));
            doc_cell(d, "%.0f", median_of(run, "profile_buffers"));
            doc_cell(d, "%.0f", median_of(run, "profile_batch"));
            cell_threads(d, run, profile);
            doc_cell(d, "%s", fmt_value(a, sizeof(a), median_of(run, "packets_per_s"), "1/s"));
            doc_cell(d, "%s", fmt_value(a, sizeof(a), median_of(run, "calls_per_s"), "1/s"));
            doc_cell(d, "%s", fmt_value(a, sizeof(a), median_of(run, "ns_per_packet"), "ns"));
            doc_cell(d, "%s / %s", fmt_value(a, sizeof(a), median_of(run, "batch_p50_us"), "us"),
                     fmt_value(b, sizeof(b), median_of(run, "batch_p99_us"), "us"));
            cell_mb(d, median_of(run, "rss_peak_bytes"));
        }
    }
    if (!any)
        return;
    doc_para(d, "The guide's rows are its profile settings (memory, buffers, batch, IO threads); "
                "it publishes no figure measured with them. Ours: the same capture replayed "
                "offline through vox-capture with each profile; packets/s and the time per "
                "packet are the engine's own clock over the analysis (not the start or the "
                "output), calls/s the calls in the file over that time. A batch's latency runs "
                "from libpcap returning its first packet to the end of the batch's analysis: "
                "the longest wait of any packet in it (with a batch of 1, each packet's). "
                "Threads: the engine has two stages, a reader (libpcap, decoding, reassembly) and "
                "an analyser (matching, tracking, statistics); with more than one thread asked "
                "and two CPUs each runs on its own thread, so 2 is the most it uses. Peak RSS "
                "is the whole process's. Medians over the repetitions.");
}

/* The reference tools on the same capture: one row per tool of every workload with `tool`. */
static void table_capture_tools(struct doc *d, const struct vox_results *r)
{
    static const struct {
        const char *tool, *what;
    } tools[] = {
        {"vox-capture", "calls, SIP dialogs, RTP statistics and MOS per stream"},
        {"tshark", "RTP statistics per stream (-z rtp,streams)"},
        {"sngrep", "SIP dialogs (headless, no RTP figures)"},
        {"tcpdump", "nothing: libpcap reads, BPF rejects every packet (the floor)"},
    };
    char a[64], b[64], c[64];
    bool any = false;

    for (size_t i = 0; i < r->nruns; i++) {
        const struct vox_run *run = &r->runs[i], *ours = NULL;
        const char *tool = vox_run_param(run, "tool"), *what = "";

        if (strcmp(run->kind, "pcap") != 0 || !tool)
            continue;
        for (size_t k = 0; k < r->nruns && !ours; k++) {
            const char *t = vox_run_param(&r->runs[k], "tool");

            if (strcmp(r->runs[k].workload, run->workload) == 0 && t &&
                strcmp(t, "vox-capture") == 0)
                ours = &r->runs[k];
        }
        for (size_t k = 0; k < sizeof(tools) / sizeof(tools[0]); k++)
            if (strcmp(tools[k].tool, tool) == 0)
                what = tools[k].what;
        if (!any) {
            doc_heading(d, 3, "Capture analysis against the reference tools");
            doc_table(d, 8);
            doc_cell(d, "Tool");
            doc_cell(d, "Computes");
            doc_cell(d, "Packets/s");
            doc_cell(d, "Per packet");
            doc_cell(d, "vox-capture is");
            doc_cell(d, "Whole process (with start-up)");
            doc_cell(d, "Start-up");
            doc_cell(d, "Peak RSS");
            any = true;
        }
        doc_cell(d, "%s%s", tool, run->ok ? "" : " (failed)");
        doc_cell(d, "%s", what);
        doc_cell(d, "%s", fmt_value(a, sizeof(a), median_of(run, "packets_per_s"), "1/s"));
        doc_cell(d, "%s", fmt_value(b, sizeof(b), median_of(run, "ns_per_packet"), "ns"));
        if (ours && ours != run)
            doc_cell(d, "%s",
                     fmt_improvement(c, sizeof(c), median_of(run, "packets_per_s"),
                                     median_of(ours, "packets_per_s"), VOX_DIR_HIGHER));
        else
            doc_cell(d, NONE);
        doc_cell(d, "%s", fmt_value(a, sizeof(a), median_of(run, "process_packets_per_s"), "1/s"));
        doc_cell(d, "%s", fmt_value(b, sizeof(b), median_of(run, "startup_s"), "s"));
        cell_mb(d, median_of(run, "rss_peak_bytes"));
    }
    if (any)
        doc_para(d, "The same generated capture, in the same run. A tool's packets/s is the "
                    "packets over its wall time less its start-up (the same command on a capture "
                    "with no packets); vox-capture's is its engine clock. The whole-process "
                    "column counts everything, start-up and output included.");
}

/* Packets/s against the calls live at once: the pcap runs of workloads that sweep
 * `concurrency` (the same calls and packets in each file, only the overlap changes); with a
 * `threads` axis too, each thread count against its own fewest calls. */
static void table_capture_scaling(struct doc *d, const struct vox_results *r)
{
    const struct vox_run **runs = NULL;
    size_t n = 0, i;
    double first = NAN;
    char a[64], b[64], c[64];

    runs = calloc(r->nruns ? r->nruns : 1, sizeof(*runs));
    if (!runs) {
        d->err = VOX_ENOMEM;
        return;
    }
    for (i = 0; i < r->nruns; i++)
        if (is_engine_run(&r->runs[i]) && vox_run_param(&r->runs[i], "concurrency") &&
            param_values(r, r->runs[i].workload, "concurrency") > 1)
            runs[n++] = &r->runs[i];
    sort_by_param(runs, n, "concurrency");
    sort_by_param(runs, n, "threads");
    if (n) {
        doc_heading(d, 3, "Capture throughput by concurrent calls");
        doc_table(d, 8);
        doc_cell(d, "Concurrent calls");
        doc_cell(d, "Config");
        doc_cell(d, "Calls / packets in the file");
        doc_cell(d, "Packets/s");
        doc_cell(d, "Per packet");
        doc_cell(d, "vs the fewest calls");
        doc_cell(d, "Batch latency p99");
        doc_cell(d, "Peak RSS");
    }
    for (i = 0; i < n; i++) {
        const struct vox_run *run = runs[i];
        const char *profile = vox_run_param(run, "profile"), *match = vox_run_param(run, "match");
        double ns = median_of(run, "ns_per_packet");

        if (i == 0 || param_num(run, "threads") != param_num(runs[i - 1], "threads"))
            first = ns;
        doc_cell(d, "%s%s", vox_run_param(run, "concurrency"), run->ok ? "" : " (failed)");
        if (isfinite(median_of(run, "threads")))
            doc_cell(d, "%s, %s, %.0f thread%s", profile ? profile : "balanced",
                     match ? match : "auto", median_of(run, "threads"),
                     median_of(run, "threads") == 1 ? "" : "s");
        else
            doc_cell(d, "%s, %s", profile ? profile : "balanced", match ? match : "auto");
        doc_cell(d, "%s / %s", fmt_value(a, sizeof(a), median_of(run, "calls"), "count"),
                 fmt_value(b, sizeof(b), median_of(run, "packets"), "count"));
        doc_cell(d, "%s", fmt_value(c, sizeof(c), median_of(run, "packets_per_s"), "1/s"));
        doc_cell(d, "%s", fmt_value(a, sizeof(a), ns, "ns"));
        if (isfinite(ns) && isfinite(first) && first > 0)
            doc_cell(d, "%.2fx the time", ns / first);
        else
            doc_cell(d, NONE);
        doc_cell(d, "%s", fmt_value(b, sizeof(b), median_of(run, "batch_p99_us"), "us"));
        cell_mb(d, median_of(run, "rss_peak_bytes"));
    }
    if (n)
        doc_para(d, "Each level replays a capture with the same calls, the same packets per call "
                    "and the same share of SIP; only how many calls overlap changes, so a flat "
                    "time per packet means the tables (calls, streams, SDP addresses) do not "
                    "slow down as they fill.");
    free(runs);
}

/*
 * The Go sniffer guide's GPU/SIMD table ("29.7 K packets/s, 33.6 µs per batch", which are
 * batches: 64 packets each) against the match/<op>/<backend>/<payload> micro benchmarks.
 */
static void table_match_backends(struct doc *d, const struct vox_results *r)
{
    static const struct {
        const char *op, *label, *guide;
        double guide_batch_us;
    } ops[] = {
        {"find", "Pattern match (\"Call-ID:\")", "GPU 33.6 µs, SIMD 33.4 µs", 33.6},
        {"callid", "Call-ID extraction", "GPU 51.5 µs, SIMD 52.7 µs", 51.5},
        {"classify", "SIP detection (start line)", NULL, NAN},
    };
    char a[64], b[64], c[64];
    bool any = false;

    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
        for (int pass = 0; pass < 2; pass++) /* the guide's 60-byte batch, then 1 KB */
            for (size_t i = 0; i < r->nruns; i++) {
                const struct vox_run *run = &r->runs[i];
                const char *backend = vox_run_param(run, "backend");
                const char *arg = vox_run_param(run, "arg");
                double batch_ns = median_of(run, "real_ns");
                char want[64];

                snprintf(want, sizeof(want), "match/%s", ops[o].op);
                if (strcmp(run->kind, "micro") != 0 || strcmp(run->benchmark, want) != 0 ||
                    !backend || !arg || (strcmp(arg, "60") == 0) != (pass == 0))
                    continue;
                if (!any) {
                    doc_heading(d, 3, "Pattern-matching backends, 64-packet batches");
                    doc_table(d, 8);
                    doc_cell(d, "Operation");
                    doc_cell(d, "Packets");
                    doc_cell(d, "Backend");
                    doc_cell(d, "Per batch of 64");
                    doc_cell(d, "Per packet");
                    doc_cell(d, "Packets/s");
                    doc_cell(d, "Go sniffer guide, per batch");
                    doc_cell(d, "vs the guide");
                    any = true;
                }
                doc_cell(d, "%s", ops[o].label);
                doc_cell(d, "%s", pass == 0 ? "the guide's 60 B INVITE line" : "SIP, 500-1500 B");
                doc_cell(d, "%s%s", backend, run->ok ? "" : " (failed)");
                doc_cell(d, "%s", fmt_value(a, sizeof(a), batch_ns, "ns"));
                doc_cell(d, "%s", fmt_value(b, sizeof(b), batch_ns / 64, "ns"));
                doc_cell(d, "%s",
                         fmt_value(c, sizeof(c), median_of(run, "items_per_second"), "1/s"));
                doc_cell(d, "%s", pass == 0 && ops[o].guide ? ops[o].guide : NONE);
                if (pass == 0 && isfinite(ops[o].guide_batch_us) && batch_ns > 0)
                    doc_cell(d, "%.0fx faster", ops[o].guide_batch_us * 1e3 / batch_ns);
                else
                    doc_cell(d, NONE);
            }
    if (any)
        doc_para(d, "The guide's \"29.7 K packets/s\" GPU pattern match is 29.7 K batches of 64 "
                    "identical 60-byte strings a second (33.6 µs a batch: 525 ns a packet, 1.9 M "
                    "packets/s; Call-ID extraction 805 ns a packet), on an i9-13900HX with an RTX "
                    "4090, and its GPU row is within 1%% of its SIMD row. Ours run the same batch, "
                    "and a batch of real SIP messages; every result is checked before timing. The "
                    "cuda backend appears where a device answers.");
}

/* ---- the generic tables -------------------------------------------------------------------- */

static void table_workload(struct doc *d, const struct vox_results *r, const char *workload)
{
    struct vox__strset metrics = {0}, stable = {0};
    const char *kind = "";
    size_t i, k, nstable_names;
    char buf[64], list[512];

    for (i = 0; i < r->nruns; i++) {
        const struct vox_run *run = &r->runs[i];

        if (strcmp(run->workload, workload) != 0)
            continue;
        kind = run->kind;
        for (k = 0; k < run->nmetrics; k++) {
            strset_add(d, &metrics, run->metrics[k].name);
            if (run->metrics[k].stable)
                strset_add(d, &stable, run->metrics[k].name);
        }
    }
    doc_heading(d, 4, "%s (%s)", workload, kind[0] ? kind : "?");
    doc_table(d, 2 + metrics.n);
    doc_cell(d, "Config");
    doc_cell(d, "Reps");
    for (k = 0; k < metrics.n; k++)
        doc_cell(d, "%s%s", metrics.v[k],
                 vox__strset_find(&stable, metrics.v[k]) >= 0 ? " (stable)" : "");
    for (i = 0; i < r->nruns; i++) {
        const struct vox_run *run = &r->runs[i];

        if (strcmp(run->workload, workload) != 0)
            continue;
        doc_cell(d, "%s%s", run->config_id[0] ? run->config_id : "(default)",
                 run->ok ? "" : " (failed)");
        doc_cell(d, "%u", run->repetitions);
        for (k = 0; k < metrics.n; k++) {
            const struct vox_metric *m = vox_run_find_metric(run, metrics.v[k]);
            struct vox_summary s;

            if (!m || !m->n) {
                doc_cell(d, NONE);
                continue;
            }
            vox_stats_summarize(m->values, m->n, &s);
            fmt_value(buf, sizeof(buf), s.median, m->unit);
            if (m->n > 1 && isfinite(s.cv))
                doc_cell(d, "%s (%.1f%%)", buf, s.cv * 100);
            else
                doc_cell(d, "%s", buf);
        }
    }
    for (i = 0; i < r->nruns; i++)
        if (strcmp(r->runs[i].workload, workload) == 0 && !r->runs[i].ok)
            doc_para(d, "%s failed: %s", r->runs[i].config_id,
                     r->runs[i].error[0] ? r->runs[i].error : "no reason recorded");
    list[0] = '\0';
    for (k = 0, nstable_names = 0; k < stable.n; k++) {
        size_t used = strlen(list);

        snprintf(list + used, sizeof(list) - used, "%s%s", k ? ", " : "", stable.v[k]);
        nstable_names++;
    }
    if (nstable_names)
        doc_para(d,
                 "Stable: %s (deterministic counts or same-run ratios; the CI gate compares "
                 "these).",
                 list);
    vox__strset_free(&metrics);
    vox__strset_free(&stable);
}

/* ---- the page ------------------------------------------------------------------------------ */

static void machine_table(struct doc *d, const struct vox_results *r)
{
    const struct vox_machine *m = &r->machine;

    doc_heading(d, 3, "Machine");
    doc_table(d, 2);
    if (!d->err)
        d->b[d->n - 1].words = true;
    doc_cell(d, "Field");
    doc_cell(d, "Value");
    doc_cell(d, "Suite");
    doc_cell(d, "%s%s%s%s", r->suite[0] ? r->suite : "?", r->suite_file[0] ? " (" : "",
             r->suite_file, r->suite_file[0] ? ")" : "");
    doc_cell(d, "Date");
    doc_cell(d, "%s", r->created[0] ? r->created : "?");
    doc_cell(d, "Host");
    doc_cell(d, "%s", m->hostname[0] ? m->hostname : "?");
    doc_cell(d, "CPU");
    doc_cell(d, "%s", m->cpu_model[0] ? m->cpu_model : "?");
    doc_cell(d, "CPUs");
    /* hwloc's counts are 0 where it did not answer: say only what is known. */
    if (m->cores || m->pus)
        doc_cell(d, "%u available; %u package(s), %u cores, %u PUs, %u NUMA node(s)",
                 m->cpus_available, m->packages, m->cores, m->pus, m->numa_nodes);
    else
        doc_cell(d, "%u available", m->cpus_available);
    doc_cell(d, "Memory");
    if (m->memory_bytes)
        doc_cell(d, "%.1f GiB", (double)m->memory_bytes / (1024.0 * 1024 * 1024));
    else
        doc_cell(d, "?");
    doc_cell(d, "OS / kernel");
    doc_cell(d, "%s / %s", m->os[0] ? m->os : "?", m->kernel[0] ? m->kernel : "?");
    doc_cell(d, "Compiler");
    doc_cell(d, "%s", m->compiler[0] ? m->compiler : "?");
    doc_cell(d, "Build type");
    doc_cell(d, "%s%s%s", m->build_type[0] ? m->build_type : "?", m->c_flags[0] ? "; flags " : "",
             m->c_flags);
    doc_cell(d, "Features");
    doc_cell(d, "%s", m->features[0] ? m->features : "(none)");
    doc_cell(d, "voxbench");
    doc_cell(d, "%s", m->voxbench_version[0] ? m->voxbench_version : "?");
    doc_cell(d, "Git commit");
    doc_cell(d, "%s%s", m->git_commit[0] ? m->git_commit : "unknown",
             m->git_dirty ? " (dirty: uncommitted changes)" : "");
    if (m->cuda_device[0]) {
        doc_cell(d, "GPU");
        doc_cell(d, "%s", m->cuda_device);
    }
}

static void file_section(struct doc *d, const struct vox_results *r, const char *label)
{
    struct vox__strset workloads = {0};
    size_t i;

    doc_heading(d, 2, "%s", label);
    machine_table(d, r);
    table_pools(d, r);
    table_axis(d, r, "alloc", "Allocator backends", "Allocator", "system", variant_axes, NULL);
    table_executors(d, r);
    /* The Rust media core's tables: small/large frames by approach (traditional copy,
     * zero-copy, pooled), 1000 frames fresh vs pooled, the 3-stage pipeline copy vs zero-copy;
     * then the kernels: SIMD levels against scalar, G.711 per law. */
    table_axis(d, r, "approach", "Frame handling by approach", "Approach", NULL, NULL, NULL);
    table_axis(d, r, "source", "Pool vs fresh allocation, 1000 frames", "Frame source", "fresh",
               NULL, NULL);
    table_axis(d, r, "handover", "3-stage pipeline (decode, gain, mix), 500 frames", "Hand-over",
               "copy", NULL, NULL);
    table_axis(d, r, "level", "SIMD kernels by instruction set", "Level", "scalar", NULL,
               "items_per_second");
    table_axis(d, r, "law", "G.711, samples per second", "Law", "", NULL, "items_per_second");
    for (i = 0; i < r->nruns; i++)
        strset_add(d, &workloads, r->runs[i].workload);
    for (i = 0; i < workloads.n; i++)
        table_sessions(d, r, workloads.v[i]);
    table_siprec_sessions(d, r);
    table_siprec_cache(d, r);
    table_capture_profiles(d, r);
    table_capture_scaling(d, r);
    table_capture_tools(d, r);
    table_match_backends(d, r);
    doc_heading(d, 3, "All workloads");
    doc_para(d, "Median over repetitions, with the coefficient of variation in parentheses.");
    for (i = 0; i < workloads.n; i++)
        table_workload(d, r, workloads.v[i]);
    if (!workloads.n)
        doc_para(d, "No runs.");
    vox__strset_free(&workloads);
}

/* ---- rendering ----------------------------------------------------------------------------- */

/* Markdown: the characters that would start a table cell, HTML, code or emphasis. */
static void md_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (strchr("\\|<>`*[]", *s))
            fputc('\\', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
}

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static void render_md(FILE *f, const struct doc *d)
{
    size_t i, k;

    for (i = 0; i < d->n; i++) {
        const struct block *b = &d->b[i];

        switch (b->kind) {
        case BLOCK_HEADING:
            fprintf(f, "%.*s ", b->level, "######");
            md_text(f, b->text);
            fputs("\n\n", f);
            break;
        case BLOCK_PARA:
            md_text(f, b->text);
            fputs("\n\n", f);
            break;
        case BLOCK_TABLE:
            for (k = 0; k < b->ncells; k++) {
                fputs(k % b->ncols ? " | " : "| ", f);
                md_text(f, b->cells[k]);
                if (k % b->ncols == b->ncols - 1) {
                    fputs(" |\n", f);
                    if (k + 1 == b->ncols) {
                        size_t c;

                        for (c = 0; c < b->ncols; c++)
                            fputs(!c ? "|---|" : b->words ? "---|" : "---:|", f);
                        fputc('\n', f);
                    }
                }
            }
            fputc('\n', f);
            break;
        case BLOCK_PLOT:
            fputs("[![", f);
            md_text(f, b->title);
            fprintf(f, "](plots/%s.png)](plots/%s.svg)\n\n", b->text, b->text);
            fprintf(f,
                    "SVG: [plots/%s.svg](plots/%s.svg); script and data: plots/%s.gp, "
                    "plots/%s.tsv\n\n",
                    b->text, b->text, b->text, b->text);
            break;
        }
    }
}

static const char *const html_css =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
    "max-width:1320px;padding:0 1em;color:#1b1b1b;line-height:1.45}"
    "h1{border-bottom:2px solid #333}h2{margin-top:2.2em;border-bottom:1px solid #aaa}"
    "h3{margin-top:1.6em}h4{margin:1.2em 0 .4em;font-family:monospace;font-size:1.05em}"
    ".scroll{overflow-x:auto}"
    "table{border-collapse:collapse;margin:.4em 0 1em;font-size:.92em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;white-space:nowrap}"
    "th{background:#f0f0f0;text-align:left}table:not(.text) td:not(:first-child){text-align:right;"
    "font-variant-numeric:tabular-nums}tr:nth-child(even) td{background:#fafafa}"
    "figure{margin:1em 0 2em}figure img{max-width:100%;height:auto;border:1px solid #ddd}"
    "figcaption{font-size:.9em;color:#555}p{max-width:60em}";

static void render_html(FILE *f, const struct doc *d, const char *title)
{
    size_t i, k;

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    html_text(f, title);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", html_css);
    for (i = 0; i < d->n; i++) {
        const struct block *b = &d->b[i];

        switch (b->kind) {
        case BLOCK_HEADING:
            fprintf(f, "<h%d>", b->level);
            html_text(f, b->text);
            fprintf(f, "</h%d>\n", b->level);
            break;
        case BLOCK_PARA:
            fputs("<p>", f);
            html_text(f, b->text);
            fputs("</p>\n", f);
            break;
        case BLOCK_TABLE:
            fputs(b->words ? "<div class=\"scroll\"><table class=\"text\">\n"
                           : "<div class=\"scroll\"><table>\n",
                  f);
            for (k = 0; k < b->ncells; k++) {
                bool head = k < b->ncols;

                if (k % b->ncols == 0)
                    fputs(k == 0 ? "<thead><tr>" : "<tr>", f);
                fputs(head ? "<th>" : "<td>", f);
                html_text(f, b->cells[k]);
                fputs(head ? "</th>" : "</td>", f);
                if (k % b->ncols == b->ncols - 1)
                    fputs(k + 1 == b->ncols ? "</tr></thead>\n<tbody>\n" : "</tr>\n", f);
            }
            fputs(b->ncells >= b->ncols ? "</tbody>\n" : "", f);
            fputs("</table></div>\n", f);
            break;
        case BLOCK_PLOT:
            /* Plot names are sanitised to [a-z0-9_-] by plot.c: safe in a URL as they are. */
            fprintf(f, "<figure><a href=\"plots/%s.svg\"><img src=\"plots/%s.png\" alt=\"", b->text,
                    b->text);
            html_text(f, b->title);
            fprintf(f, "\" width=\"1280\" height=\"720\" loading=\"lazy\"></a><figcaption>");
            html_text(f, b->title);
            fprintf(f,
                    " (<a href=\"plots/%s.svg\">SVG</a>, <a href=\"plots/%s.gp\">gnuplot "
                    "script</a>, <a href=\"plots/%s.tsv\">data</a>)</figcaption></figure>\n",
                    b->text, b->text, b->text);
            break;
        }
    }
    fputs("</body>\n</html>\n", f);
}

/* ---- files --------------------------------------------------------------------------------- */

/* mkdir -p; the path must end up a directory. */
static int make_dirs(const char *path, struct vox_diag *diag)
{
    char buf[4096];
    struct stat st;
    size_t i, len = strlen(path);

    if (len == 0 || len >= sizeof(buf)) {
        vox_diag_set(diag, "output directory path is empty or too long: '%s'", path);
        return VOX_EINVAL;
    }
    memcpy(buf, path, len + 1);
    for (i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            vox_diag_set(diag, "cannot create directory %s: %s", buf, strerror(errno));
            return VOX_EIO;
        }
        buf[i] = i < len ? '/' : '\0';
    }
    if (stat(path, &st) != 0) {
        vox_diag_set(diag, "cannot create directory %s: %s", path, strerror(errno));
        return VOX_EIO;
    }
    if (!S_ISDIR(st.st_mode)) {
        vox_diag_set(diag, "cannot create directory %s: it exists and is not a directory", path);
        return VOX_EIO;
    }
    return 0;
}

static int write_file(const char *dir, const char *name, const struct doc *d, const char *title,
                      bool html, struct vox_diag *diag)
{
    char path[4200], tmp[4300];
    FILE *f;
    bool bad;
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    int m = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

    if (n < 0 || (size_t)n >= sizeof(path) || m < 0 || (size_t)m >= sizeof(tmp)) {
        vox_diag_set(diag, "output path too long: %s/%s", dir, name);
        return VOX_EINVAL;
    }
    f = fopen(tmp, "w");
    if (!f) {
        vox_diag_set(diag, "cannot write %s: %s", tmp, strerror(errno));
        return VOX_EIO;
    }
    if (html)
        render_html(f, d, title);
    else
        render_md(f, d);
    bad = ferror(f) != 0;
    /* Written aside and renamed, so a reader never sees half a report. */
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        vox_diag_set(diag, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
        unlink(tmp);
        return VOX_EIO;
    }
    return 0;
}

struct plot_sink {
    struct doc *d;
    size_t count;
};

static void on_plot(void *cb_ctx, const char *name, const char *title)
{
    struct plot_sink *s = cb_ctx;

    doc_heading(s->d, 3, "%s", title);
    doc_plot(s->d, name, title);
    s->count++;
}

int vox_report_write(const struct vox_results *const *files, size_t nfiles,
                     const struct vox_report_opts *opts, struct vox_diag *diag)
{
    struct doc d = {0};
    char **labels = NULL, plots_dir[4200], why[1024] = "", title[256];
    struct plot_sink sink = {.d = &d};
    size_t i, k;
    int rc = 0;

    if (!files || !nfiles || !opts || !opts->out_dir) {
        vox_diag_set(diag, "report: no results or no output directory given");
        return VOX_EINVAL;
    }
    for (i = 0; i < nfiles; i++)
        if (!files[i]) {
            vox_diag_set(diag, "report: results file %zu is NULL", i);
            return VOX_EINVAL;
        }
    rc = snprintf(plots_dir, sizeof(plots_dir), "%s/plots", opts->out_dir);
    if (rc < 0 || (size_t)rc >= sizeof(plots_dir)) {
        vox_diag_set(diag, "output directory path too long: %s", opts->out_dir);
        return VOX_EINVAL;
    }
    rc = make_dirs(opts->out_dir, diag);
    rc = rc ? rc : make_dirs(plots_dir, diag);
    if (rc)
        return rc;

    labels = calloc(nfiles, sizeof(*labels));
    if (!labels) {
        rc = VOX_ENOMEM;
        goto fail;
    }
    for (i = 0; i < nfiles; i++) {
        const struct vox_results *r = files[i];
        char nth[32] = "";
        size_t same = 0;

        for (k = 0; k < i; k++)
            same += strcmp(files[k]->suite, r->suite) == 0 &&
                    strcmp(files[k]->machine.git_commit, r->machine.git_commit) == 0 &&
                    strcmp(files[k]->machine.hostname, r->machine.hostname) == 0;
        /* Labels name plot series too, so two files of one commit and host need telling apart. */
        if (same)
            snprintf(nth, sizeof(nth), " #%zu", same + 1);
        if (asprintf(&labels[i], "%s @ %.7s%s (%s)%s", r->suite[0] ? r->suite : "results",
                     r->machine.git_commit[0] ? r->machine.git_commit : "unknown",
                     r->machine.git_dirty ? "+dirty" : "",
                     r->machine.hostname[0] ? r->machine.hostname : "?", nth) < 0) {
            labels[i] = NULL;
            rc = VOX_ENOMEM;
            goto fail;
        }
    }

    snprintf(title, sizeof(title), "voxbench report: %s", files[0]->suite);
    doc_heading(&d, 1, "%s", title);
    doc_para(&d,
             "%zu results file%s. Tables give medians over repetitions; the regression gate "
             "compares the metrics marked stable.",
             nfiles, nfiles > 1 ? "s, each under its own heading; the plots overlay them" : "");
    for (i = 0; i < nfiles; i++)
        file_section(&d, files[i], labels[i]);

    doc_heading(&d, 2, "Plots");
    if (opts->plots) {
        rc = vox__report_plots_write(files, (const char *const *)labels, nfiles, plots_dir,
                                     opts->gnuplot, on_plot, &sink, why, sizeof(why), diag);
        if (rc)
            goto fail;
        if (why[0])
            doc_para(&d, "plots unavailable: %s%s", why,
                     sink.count ? "" : ". The gnuplot scripts and their data are in plots/.");
        else if (!sink.count)
            doc_para(&d, "No plots: no workload has percentiles, throughput or memory data.");
    } else {
        doc_para(&d, "Plots were not requested.");
    }
    if (d.err) {
        rc = d.err;
        goto fail;
    }
    rc = write_file(opts->out_dir, "report.md", &d, title, false, diag);
    rc = rc ? rc : write_file(opts->out_dir, "report.html", &d, title, true, diag);
    goto out;
fail:
    if (rc == VOX_ENOMEM)
        vox_diag_set(diag, "out of memory while writing the report in %s", opts->out_dir);
out:
    for (i = 0; labels && i < nfiles; i++)
        free(labels[i]);
    free(labels);
    doc_free(&d);
    return rc;
}
