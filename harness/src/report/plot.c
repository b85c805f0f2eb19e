/* SPDX-License-Identifier: MIT */
/* The report's gnuplot plots: one .gp script and .tsv data per plot, rendered to PNG and SVG. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vox/report.h"
#include "internal.h"
#include "vox/results.h"
#include "vox/stats.h"

#define LOAD_PARAM VOX__REPORT_LOAD_PARAM
#define TITLE_MAX  384

struct plot_ctx {
    const struct vox_results *const *files;
    const char *const *labels;
    size_t nfiles;
    const char *dir;
    char gnuplot[4096];
    bool gnuplot_dead; /* could not be started once: the rest would fail the same way */
    char *why;
    size_t why_len;
    void (*on_plot)(void *cb_ctx, const char *name, const char *title);
    void *cb_ctx;
    struct vox_diag *diag;
};

/* A set of distinct strings in order of first appearance. */
struct xy_series {
    char title[TITLE_MAX];
    size_t n, cap;
    double *x, *y;
};

/* ---- small helpers ------------------------------------------------------------------------- */

static int cmp_numeric(const void *a, const void *b)
{
    double x = strtod(*(char *const *)a, NULL), y = strtod(*(char *const *)b, NULL);

    return x < y ? -1 : x > y;
}

static int series_push(struct xy_series *s, double x, double y)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        double *nx = realloc(s->x, cap * sizeof(*nx)), *ny;

        if (!nx)
            return VOX_ENOMEM;
        s->x = nx;
        ny = realloc(s->y, cap * sizeof(*ny));
        if (!ny)
            return VOX_ENOMEM;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
    return 0;
}

static void series_free(struct xy_series *s, size_t n)
{
    size_t i;

    for (i = 0; s && i < n; i++) {
        free(s[i].x);
        free(s[i].y);
    }
    free(s);
}

static void why_add(struct plot_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Collects the reasons plots are missing; the first ones matter most, so truncation is fine. */
static void why_add(struct plot_ctx *c, const char *fmt, ...)
{
    size_t used = strlen(c->why);
    va_list ap;

    if (used + 3 >= c->why_len)
        return;
    if (used) {
        memcpy(c->why + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(c->why + used, c->why_len - used, fmt, ap);
    va_end(ap);
}

/* File names: lower-case [a-z0-9_-] only, whatever the workload and config ids contain. */
static void sanitize(char *dst, size_t cap, const char *src)
{
    size_t n = 0;

    for (; *src && n + 1 < cap; src++) {
        char ch = *src;

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            ch = '-';
        if (ch == '-' && n > 0 && dst[n - 1] == '-')
            continue;
        dst[n++] = ch;
    }
    dst[n] = '\0';
}

/* A gnuplot double-quoted string literal (terminals run noenhanced, so only \ and " matter). */
static void gp_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s == '\n' || *s == '\t' ? ' ' : *s, f);
    }
    fputc('"', f);
}

/* A TSV field: tabs and newlines would split it. */
static void tsv_str(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static void tsv_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("?", f); /* `set datafile missing "?"` */
}

static FILE *open_out(struct plot_ctx *c, const char *name, const char *ext, char *path, size_t cap)
{
    FILE *f;
    int n = snprintf(path, cap, "%s/%s.%s", c->dir, name, ext);

    if (n < 0 || (size_t)n >= cap) {
        vox_diag_set(c->diag, "plot path too long: %s/%s.%s", c->dir, name, ext);
        return NULL;
    }
    f = fopen(path, "w");
    if (!f)
        vox_diag_set(c->diag, "cannot write %s: %s", path, strerror(errno));
    return f;
}

static int close_out(struct plot_ctx *c, FILE *f, const char *path)
{
    bool bad = ferror(f) != 0;

    if (fclose(f) != 0 || bad) {
        vox_diag_set(c->diag, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
        return VOX_EIO;
    }
    return 0;
}

static const char *label_prefix(const struct plot_ctx *c, size_t file)
{
    return c->nfiles > 1 ? c->labels[file] : "";
}

static void series_title(const struct plot_ctx *c, size_t file, const char *what, char *dst,
                         size_t cap)
{
    snprintf(dst, cap, "%s%s%s", label_prefix(c, file), c->nfiles > 1 ? ": " : "",
             what && what[0] ? what : "(default config)");
}

/* ---- scripts ------------------------------------------------------------------------------- */

/* Twelve colours that stay apart on white, then the same dashed: a matrix of 4 allocators x 3
 * executors is 12 lines. */
static void gp_preamble(FILE *f, const char *name, const char *title)
{
    static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                          "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                          "#bcbd22", "#17becf", "#000000", "#aec7e8"};
    size_t i;

    fprintf(f, "# Generated by voxbench; run `gnuplot %s.gp` in this directory.\n", name);
    fprintf(f, "set encoding utf8\n");
    fprintf(f, "set terminal pngcairo size 1280,720 noenhanced font \"DejaVu Sans,11\"\n");
    fprintf(f, "set output \"%s.png\"\n", name);
    fprintf(f, "set datafile separator \"\\t\"\nset datafile missing \"?\"\n");
    for (i = 0; i < 24; i++)
        fprintf(f, "set linetype %zu lc rgb \"%s\" lw 2 dt %d pt %zu ps 1.2\n", i + 1,
                colours[i % 12], i < 12 ? 1 : 2, i % 12 + 1);
    fprintf(f, "set linetype cycle 24\nset grid xtics ytics lt 1 lc rgb \"#dddddd\" lw 1\n"
               "set border 3\n"
               "set tics nomirror\n");
    fputs("set title ", f);
    gp_str(f, title);
    fputs(" font \",14\"\n", f);
}

/* The SVG copy of the same plot, then flush it: svg writes its closing tags at unset output. */
static void gp_finish(FILE *f, const char *name)
{
    fprintf(f, "set terminal svg size 1280,720 dynamic noenhanced font \"DejaVu Sans,11\" "
               "background \"#ffffff\"\n");
    fprintf(f, "set output \"%s.svg\"\nreplot\nunset output\n", name);
}

/*
 * Runs gnuplot on <dir>/<name>.gp in <dir>. Its output goes to <name>.log, which is removed
 * when empty. Returns true when the PNG and SVG were made; otherwise adds the reason to `why`.
 */
static bool run_gnuplot(struct plot_ctx *c, const char *name)
{
    char script[320], log[4200];
    char *argv[3];
    int pipefd[2] = {-1, -1}, logfd = -1, nullfd = -1, status = 0, child_errno = 0;
    bool ok = false;
    ssize_t got;
    pid_t pid;
    int n1 = snprintf(script, sizeof(script), "%s.gp", name);
    int n2 = snprintf(log, sizeof(log), "%s/%s.log", c->dir, name);

    if (c->gnuplot_dead)
        return false;
    if (n1 < 0 || (size_t)n1 >= sizeof(script) || n2 < 0 || (size_t)n2 >= sizeof(log)) {
        why_add(c, "plot name too long: %s", name);
        return false;
    }
    logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || nullfd < 0 || pipe2(pipefd, O_CLOEXEC) != 0) {
        why_add(c, "cannot prepare to run gnuplot: %s", strerror(errno));
        goto out;
    }
    argv[0] = c->gnuplot;
    argv[1] = script;
    argv[2] = NULL;
    pid = fork();
    if (pid < 0) {
        why_add(c, "cannot fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls here; the exec error travels back through the pipe,
         * which closes by itself (O_CLOEXEC) when the exec succeeds. */
        int e;

        if (dup2(nullfd, 0) >= 0 && dup2(logfd, 1) >= 0 && dup2(logfd, 2) >= 0 &&
            chdir(c->dir) == 0)
            execvp(argv[0], argv);
        e = errno;
        if (write(pipefd[1], &e, sizeof(e)) < 0)
            _exit(126);
        _exit(127);
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    do
        got = read(pipefd[0], &child_errno, sizeof(child_errno));
    while (got < 0 && errno == EINTR);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            why_add(c, "waiting for gnuplot: %s", strerror(errno));
            goto out;
        }
    }
    if (got == (ssize_t)sizeof(child_errno)) {
        why_add(c, "cannot run %s: %s", c->gnuplot, strerror(child_errno));
        c->gnuplot_dead = true;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char first[200] = "";
        FILE *lf = fopen(log, "r");

        if (lf) {
            if (!fgets(first, sizeof(first), lf))
                first[0] = '\0';
            first[strcspn(first, "\r\n")] = '\0';
            fclose(lf);
        }
        if (WIFEXITED(status))
            why_add(c, "gnuplot exited with status %d on plots/%s.gp%s%s (see plots/%s.log)",
                    WEXITSTATUS(status), name, first[0] ? ": " : "", first, name);
        else
            why_add(c, "gnuplot was killed by signal %d on plots/%s.gp", WTERMSIG(status), name);
    } else {
        ok = true;
    }
out:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (nullfd >= 0)
        close(nullfd);
    if (logfd >= 0) {
        off_t end = lseek(logfd, 0, SEEK_END);

        close(logfd);
        if (ok && end == 0)
            unlink(log);
    }
    return ok;
}

/* Writes nothing but the callback when gnuplot made the files. */
static void render(struct plot_ctx *c, const char *name, const char *title)
{
    if (run_gnuplot(c, name) && c->on_plot)
        c->on_plot(c->cb_ctx, name, title);
}

/* The keys of a config id ("alloc=pool exec=steal" -> "alloc exec"), into dst. */
static void config_keys(const char *config, char *dst, size_t cap)
{
    size_t n = 0;
    bool in_value = false;

    for (; *config && n + 1 < cap; config++) {
        if (*config == ' ')
            in_value = false;
        else if (*config == '=')
            in_value = true;
        if (!in_value)
            dst[n++] = *config;
    }
    dst[n] = '\0';
}

/* A tic label character: tic labels are format strings (% doubled) in a gnuplot string. */
static void gp_tic_char(FILE *f, char ch)
{
    if (ch == '%')
        fputs("%%", f);
    else if (ch == '"' || ch == '\\')
        fprintf(f, "\\%c", ch);
    else
        fputc(ch == '\n' || ch == '\t' ? ' ' : ch, f);
}

/*
 * Cluster labels, placed by hand because gnuplot 5.4 cannot split a data string. When every
 * config has the same keys, the labels are the values one per line and the keys go in the
 * axis label ("alloc / exec"), which keeps a dozen clusters apart; beyond a dozen, or with
 * mixed keys, the whole config id runs upright.
 */
static void gp_xtics(FILE *f, const struct vox__strset *rows)
{
    char keys[256], other[256];
    size_t r, lines = 1, longest = 0;
    bool values_only = rows->n > 0 && rows->n <= 12;
    const char *p;

    if (rows->n)
        config_keys(rows->v[0], keys, sizeof(keys));
    for (r = 0; r < rows->n; r++) {
        size_t n = 1;

        for (p = rows->v[r]; *p; p++)
            n += *p == ' ';
        lines = n > lines ? n : lines;
        longest = strlen(rows->v[r]) > longest ? strlen(rows->v[r]) : longest;
        config_keys(rows->v[r], other, sizeof(other));
        values_only = values_only && strchr(rows->v[r], '=') && strcmp(keys, other) == 0;
    }
    if (rows->n > 12)
        fprintf(f, "set xtics rotate by 90 right scale 0 font \",10\"\nset bmargin %zu\n",
                longest * 2 / 3 + 3);
    else
        fprintf(f, "set xtics scale 0 font \",10\"\nset bmargin %zu\n", lines + 4);
    if (values_only) {
        size_t n = 0;

        for (p = keys; *p && n + 4 < sizeof(other); p++) {
            if (*p == ' ') {
                memcpy(other + n, " / ", 3);
                n += 3;
            } else {
                other[n++] = *p;
            }
        }
        other[n] = '\0';
        /* gnuplot spaces the axis label for one line of tic labels */
        fputs("set xlabel ", f);
        gp_str(f, other);
        fprintf(f, " offset 0,-%zu\n", lines - 1);
    }
    fputs("set xtics (", f);
    for (r = 0; r < rows->n; r++) {
        fputs(r ? ", \"" : "\"", f);
        if (values_only) {
            /* "alloc=pool exec=steal" -> "pool\nsteal" */
            for (p = rows->v[r]; *p;) {
                const char *end = strchr(p, ' '), *eq = strchr(p, '=');

                if (!end)
                    end = p + strlen(p);
                if (eq && eq < end)
                    p = eq + 1;
                for (; p < end; p++)
                    gp_tic_char(f, *p);
                if (*p == ' ') {
                    fputs("\\n", f);
                    p++;
                }
            }
        } else {
            for (p = rows->v[r]; *p; p++) {
                if (*p == ' ' && rows->n <= 12)
                    fputs("\\n", f);
                else
                    gp_tic_char(f, *p);
            }
        }
        fprintf(f, "\" %zu", r);
    }
    fputs(")\n", f);
}

/*
 * A clustered bar chart: one cluster per row label, one bar per series, with error bars when
 * err is given (NAN = none). values/errs are [nseries][nrows] row-major by series.
 */
static int bar_plot(struct plot_ctx *c, const char *name, const char *title, const char *ylabel,
                    bool logy, const struct vox__strset *rows, const struct vox__strset *series,
                    const double *values, const double *errs)
{
    char path[4200];
    double lo = INFINITY, hi = 0;
    size_t r, s;
    FILE *f = open_out(c, name, "tsv", path, sizeof(path));
    int rc;

    if (!f)
        return VOX_EIO;
    fputs("# config", f);
    for (s = 0; s < series->n; s++) {
        fputc('\t', f);
        tsv_str(f, series->v[s]);
        fputs("\terror", f);
    }
    fputc('\n', f);
    for (r = 0; r < rows->n; r++) {
        tsv_str(f, rows->v[r]);
        for (s = 0; s < series->n; s++) {
            double v = values[s * rows->n + r], e = errs ? errs[s * rows->n + r] : NAN;

            fputc('\t', f);
            tsv_num(f, v);
            fputc('\t', f);
            tsv_num(f, isfinite(e) ? e : 0.0);
            if (isfinite(v) && v > 0) {
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
        }
        fputc('\n', f);
    }
    rc = close_out(c, f, path);
    if (rc)
        return rc;

    f = open_out(c, name, "gp", path, sizeof(path));
    if (!f)
        return VOX_EIO;
    gp_preamble(f, name, title);
    fprintf(f, "set style data histograms\nset style histogram errorbars gap 1.5 lw 1\n"
               "set style fill solid 0.85 border rgb \"#404040\"\nset boxwidth 0.9\n"
               "set bars 0.6\nset grid noxtics\nset key tmargin center horizontal\n");
    if (series->n < 2)
        fputs("set key off\n", f);
    gp_xtics(f, rows);
    /* Clusters sit at x = 0, 1, ...; gnuplot's own range leaves a wide empty border. */
    fprintf(f, "set xrange [-0.6:%g]\n", (double)rows->n - 0.4);
    fputs("set ylabel ", f);
    gp_str(f, ylabel);
    fputc('\n', f);
    /* A log axis when bars differ by orders of magnitude, else small ones vanish. */
    if (logy || (isfinite(lo) && hi / lo >= 50))
        fprintf(f, "set logscale y 10\nset format y \"%s\"\nset yrange [%.9g:*]\n",
                hi < 1e6 ? "%.10g" : "%.0s%c", pow(10, floor(log10(lo))));
    else
        fprintf(f, "set format y \"%%.1s%%c\"\nset yrange [0:*]\n");
    fputs("plot ", f);
    for (s = 0; s < series->n; s++) {
        fprintf(f, "%s\"%s.tsv\" using %zu:%zu title ", s ? ", \\\n     " : "", name, 2 * s + 2,
                2 * s + 3);
        gp_str(f, series->v[s]);
    }
    fputc('\n', f);
    gp_finish(f, name);
    rc = close_out(c, f, path);
    if (rc)
        return rc;
    render(c, name, title);
    return 0;
}

/* Lines: one block per series in the TSV (gnuplot's `index`), x then y. */
static int line_plot(struct plot_ctx *c, const char *name, const char *title, const char *xlabel,
                     const char *ylabel, bool percentile_x, const struct xy_series *sv, size_t ns)
{
    char path[4200];
    double xmax = 1, ylo = INFINITY, yhi = 0;
    size_t s, i, k;
    FILE *f = open_out(c, name, "tsv", path, sizeof(path));
    int rc;

    if (!f)
        return VOX_EIO;
    for (s = 0; s < ns; s++) {
        fprintf(f, "%s# ", s ? "\n\n" : "");
        tsv_str(f, sv[s].title);
        fprintf(f, "\n# %s\t%s\n", percentile_x ? "1/(1-p)" : "x", "y");
        for (i = 0; i < sv[s].n; i++) {
            tsv_num(f, sv[s].x[i]);
            fputc('\t', f);
            tsv_num(f, sv[s].y[i]);
            fputc('\n', f);
            xmax = fmax(xmax, sv[s].x[i]);
            if (sv[s].y[i] > 0) {
                ylo = fmin(ylo, sv[s].y[i]);
                yhi = fmax(yhi, sv[s].y[i]);
            }
        }
    }
    rc = close_out(c, f, path);
    if (rc)
        return rc;

    f = open_out(c, name, "gp", path, sizeof(path));
    if (!f)
        return VOX_EIO;
    gp_preamble(f, name, title);
    /* Latency and memory curves rise to the right, so the top left is free for the key; an
     * outside key would take half the width from long config labels. */
    fputs("set key inside top left Left reverse opaque box lc rgb \"#bbbbbb\" samplen 2\n", f);
    fputs("set xlabel ", f);
    gp_str(f, xlabel);
    fputs("\nset ylabel ", f);
    gp_str(f, ylabel);
    fputc('\n', f);
    if (percentile_x) {
        /* HdrHistogram's layout: x = 1/(1-p), so each extra nine gets the same width. */
        /* Tic labels are gnuplot format strings, hence %%. */
        static const char *const nines[] = {"0%%",     "90%%",     "99%%",      "99.9%%",
                                            "99.99%%", "99.999%%", "99.9999%%", "99.99999%%"};
        unsigned decades = (unsigned)ceil(log10(xmax) - 1e-9);

        if (decades < 2)
            decades = 2;
        if (decades > 7)
            decades = 7;
        fprintf(f, "set logscale x 10\nset xrange [1:%g]\nset xtics (", pow(10, decades));
        for (k = 0; k <= decades; k++)
            fprintf(f, "%s\"%s\" %g", k ? ", " : "", nines[k], pow(10, k));
        fputs(")\nset mxtics 10\n", f);
    } else {
        fputs("set xrange [0:*]\nset offsets 0, graph 0.03, 0, 0\n", f);
    }
    if (isfinite(ylo) && yhi / ylo >= 100)
        fputs("set logscale y 10\nset format y \"%.10g\"\n", f);
    else
        fputs("set yrange [0:*]\nset format y \"%g\"\n", f);
    fputs("plot ", f);
    for (s = 0; s < ns; s++) {
        fprintf(f, "%s\"%s.tsv\" index %zu using 1:2 with %s title ", s ? ", \\\n     " : "", name,
                s, percentile_x ? "lines" : "linespoints");
        gp_str(f, sv[s].title);
    }
    fputc('\n', f);
    gp_finish(f, name);
    rc = close_out(c, f, path);
    if (rc)
        return rc;
    render(c, name, title);
    return 0;
}

/* ---- the plot set -------------------------------------------------------------------------- */

static bool runs_of(const struct vox_run *run, const char *workload)
{
    return strcmp(run->workload, workload) == 0;
}

/* A run's load axis: frames' `streams`, or the sipp driver's `concurrency` (both the Go guide's
 * "Concurrent Sessions"). */
static const char *load_key(const struct vox_run *run)
{
    return !vox_run_param(run, LOAD_PARAM) && vox_run_param(run, "concurrency") ? "concurrency"
                                                                                : LOAD_PARAM;
}

/* Latency by percentile, one plot per workload and load level, one line per config and file. */
static int plot_latency(struct plot_ctx *c, const char *workload)
{
    struct vox__strset levels = {0};
    struct xy_series *sv = NULL;
    size_t f, i, l, k, ns = 0, total = 0;
    const char *key = LOAD_PARAM;
    double ymax;
    int rc = 0;

    for (f = 0; f < c->nfiles; f++)
        for (i = 0; i < c->files[f]->nruns; i++) {
            const struct vox_run *run = &c->files[f]->runs[i];
            const char *lv;

            if (!runs_of(run, workload) || !run->npercentiles)
                continue;
            key = load_key(run);
            lv = vox_run_param(run, key);
            if ((rc = vox__strset_add(&levels, lv ? lv : "")))
                goto out;
        }
    if (levels.n > 1)
        qsort(levels.v, levels.n, sizeof(*levels.v), cmp_numeric);
    for (l = 0; l < levels.n; l++) {
        char name[256], base[200], title[512];

        total = 0;
        for (f = 0; f < c->nfiles; f++)
            total += c->files[f]->nruns;
        sv = calloc(total ? total : 1, sizeof(*sv));
        if (!sv) {
            rc = VOX_ENOMEM;
            goto out;
        }
        ns = 0;
        for (f = 0; f < c->nfiles; f++)
            for (i = 0; i < c->files[f]->nruns; i++) {
                const struct vox_run *run = &c->files[f]->runs[i];
                const char *lv = vox_run_param(run, key);
                char cfg[256];

                if (!runs_of(run, workload) || !run->npercentiles ||
                    strcmp(lv ? lv : "", levels.v[l]) != 0)
                    continue;
                vox__report_config_without(run, key, cfg, sizeof(cfg));
                series_title(c, f, cfg, sv[ns].title, sizeof(sv[ns].title));
                for (k = 0; k < run->npercentiles; k++) {
                    double p = run->percentiles[k].pct;

                    /* 100% would sit at x = infinity; the max is in the tables. */
                    if (p < 0 || p >= 100)
                        continue;
                    rc =
                        series_push(&sv[ns], 1.0 / (1.0 - p / 100.0), run->percentiles[k].value_us);
                    if (rc)
                        goto out;
                }
                ns++;
            }
        if (levels.v[l][0]) {
            snprintf(base, sizeof(base), "latency-%s-%s-%s", workload, key, levels.v[l]);
            snprintf(title, sizeof(title), "%s by percentile: %s, %s=%s",
                     strcmp(key, "concurrency") == 0 ? "Call setup (INVITE to 200)" : "Latency",
                     workload, key, levels.v[l]);
        } else {
            snprintf(base, sizeof(base), "latency-%s", workload);
            snprintf(title, sizeof(title), "Latency by percentile: %s", workload);
        }
        sanitize(name, sizeof(name), base);
        /* Tens of thousands of µs read better as ms. */
        for (i = 0, ymax = 0; i < ns; i++)
            for (k = 0; k < sv[i].n; k++)
                ymax = fmax(ymax, sv[i].y[k]);
        for (i = 0; ymax >= 1e4 && i < ns; i++)
            for (k = 0; k < sv[i].n; k++)
                sv[i].y[k] /= 1e3;
        rc = line_plot(c, name, title, "percentile", ymax >= 1e4 ? "latency (ms)" : "latency (µs)",
                       true, sv, ns);
        series_free(sv, total);
        sv = NULL;
        if (rc)
            goto out;
    }
out:
    series_free(sv, total);
    vox__strset_free(&levels);
    return rc;
}

/* Median and standard deviation of a metric (NAN when absent). */
static void metric_stats(const struct vox_run *run, const char *metric, double *median, double *sd)
{
    const struct vox_metric *m = vox_run_find_metric(run, metric);
    struct vox_summary s;

    *median = *sd = NAN;
    if (!m || !m->n)
        return;
    vox_stats_summarize(m->values, m->n, &s);
    *median = s.median;
    *sd = m->n > 1 ? s.stddev : NAN;
}

/* Appends ", part" (or part, first) to dst; empty parts are skipped. */
static void join(char *dst, size_t cap, const char *part)
{
    size_t used = strlen(dst);

    if (part[0] && used + 1 < cap)
        snprintf(dst + used, cap - used, "%s%s", used ? ", " : "", part);
}

/* A bar chart's cluster: the config without its load level, which becomes a series. */
static void bar_row(const struct vox_run *run, char *dst, size_t cap)
{
    vox__report_config_without(run, load_key(run), dst, cap);
    if (!dst[0])
        snprintf(dst, cap, "(default config)");
}

/* A bar chart's series: file (when several), metric (when several), load level (if any). */
static void bar_series(const struct plot_ctx *c, size_t file, const char *mtitle, bool several,
                       const struct vox_run *run, char *dst, size_t cap)
{
    const char *lv = vox_run_param(run, load_key(run));
    char level[128] = "";

    dst[0] = '\0';
    if (lv)
        snprintf(level, sizeof(level), "%s=%s", load_key(run), lv);
    join(dst, cap, label_prefix(c, file));
    join(dst, cap, several ? mtitle : "");
    join(dst, cap, level);
    if (!dst[0])
        snprintf(dst, cap, "%s", mtitle);
}

/*
 * Bars of `metrics` for every config of a workload: one cluster per config (without its load
 * level), one bar per file, metric and load level; median with a 1-sd error bar.
 */
static int plot_bars(struct plot_ctx *c, const char *workload, const char *const *metrics,
                     const char *const *metric_titles, size_t nmetrics, const char *name_base,
                     const char *title, const char *ylabel, bool logy)
{
    struct vox__strset rows = {0}, series = {0};
    double *values = NULL, *errs = NULL;
    char name[256], key[TITLE_MAX];
    size_t f, i, m;
    int pass, rc = 0;

    /* Pass 0 collects the clusters and series, pass 1 fills the matrix. */
    for (pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            values = malloc((series.n * rows.n + 1) * sizeof(*values));
            errs = malloc((series.n * rows.n + 1) * sizeof(*errs));
            if (!values || !errs) {
                rc = VOX_ENOMEM;
                goto out;
            }
            for (i = 0; i < series.n * rows.n; i++)
                values[i] = errs[i] = NAN;
        }
        for (f = 0; f < c->nfiles; f++)
            for (i = 0; i < c->files[f]->nruns; i++) {
                const struct vox_run *run = &c->files[f]->runs[i];
                size_t r;

                if (!runs_of(run, workload))
                    continue;
                bar_row(run, key, sizeof(key));
                if (pass == 0 && (rc = vox__strset_add(&rows, key)))
                    goto out;
                r = (size_t)vox__strset_find(&rows, key);
                for (m = 0; m < nmetrics; m++) {
                    size_t s;

                    if (!vox_run_find_metric(run, metrics[m]))
                        continue;
                    bar_series(c, f, metric_titles[m], nmetrics > 1, run, key, sizeof(key));
                    if (pass == 0) {
                        if ((rc = vox__strset_add(&series, key)))
                            goto out;
                        continue;
                    }
                    s = (size_t)vox__strset_find(&series, key);
                    metric_stats(run, metrics[m], &values[s * rows.n + r], &errs[s * rows.n + r]);
                }
            }
    }
    sanitize(name, sizeof(name), name_base);
    rc = bar_plot(c, name, title, ylabel, logy, &rows, &series, values, errs);
out:
    free(values);
    free(errs);
    vox__strset_free(&rows);
    vox__strset_free(&series);
    return rc;
}

/* RSS against load level, one line per remaining config and file. */
static int plot_memory(struct plot_ctx *c, const char *workload)
{
    struct vox__strset keys = {0};
    struct xy_series *sv = NULL;
    char name[256], base[200], title[300], xlabel[64];
    const char *load = LOAD_PARAM;
    size_t f, i, k, j;
    int rc = 0;

    for (f = 0; f < c->nfiles; f++)
        for (i = 0; i < c->files[f]->nruns; i++) {
            const struct vox_run *run = &c->files[f]->runs[i];
            char cfg[256], key[TITLE_MAX];

            if (!runs_of(run, workload) || !vox_run_param(run, load_key(run)) ||
                !vox_run_find_metric(run, "rss_peak_bytes"))
                continue;
            load = load_key(run);
            vox__report_config_without(run, load, cfg, sizeof(cfg));
            series_title(c, f, cfg, key, sizeof(key));
            if ((rc = vox__strset_add(&keys, key)))
                goto out;
        }
    if (!keys.n)
        goto out;
    sv = calloc(keys.n, sizeof(*sv));
    if (!sv) {
        rc = VOX_ENOMEM;
        goto out;
    }
    for (f = 0; f < c->nfiles; f++)
        for (i = 0; i < c->files[f]->nruns; i++) {
            const struct vox_run *run = &c->files[f]->runs[i];
            const char *lv = vox_run_param(run, load);
            const struct vox_metric *m = vox_run_find_metric(run, "rss_peak_bytes");
            char cfg[256], key[TITLE_MAX];
            long s;

            if (!runs_of(run, workload) || !lv || !m || !m->n)
                continue;
            vox__report_config_without(run, load, cfg, sizeof(cfg));
            series_title(c, f, cfg, key, sizeof(key));
            s = vox__strset_find(&keys, key);
            snprintf(sv[s].title, sizeof(sv[s].title), "%s", key);
            if ((rc = series_push(&sv[s], strtod(lv, NULL), vox_metric_median(m) / 1e6)))
                goto out;
        }
    /* Load levels may come in any order; a line must go left to right. */
    for (k = 0; k < keys.n; k++)
        for (i = 1; i < sv[k].n; i++)
            for (j = i; j > 0 && sv[k].x[j - 1] > sv[k].x[j]; j--) {
                double tx = sv[k].x[j], ty = sv[k].y[j];

                sv[k].x[j] = sv[k].x[j - 1];
                sv[k].y[j] = sv[k].y[j - 1];
                sv[k].x[j - 1] = tx;
                sv[k].y[j - 1] = ty;
            }
    snprintf(base, sizeof(base), "memory-%s", workload);
    sanitize(name, sizeof(name), base);
    snprintf(title, sizeof(title), "Peak RSS by load: %s", workload);
    snprintf(xlabel, sizeof(xlabel), "%s %s", strcmp(load, "concurrency") ? "concurrent" : "call",
             load);
    rc = line_plot(c, name, title, xlabel, "peak RSS (MB)", false, sv, keys.n);
out:
    series_free(sv, keys.n);
    vox__strset_free(&keys);
    return rc;
}

static bool workload_has(const struct plot_ctx *c, const char *workload, const char *metric)
{
    size_t f, i;

    for (f = 0; f < c->nfiles; f++)
        for (i = 0; i < c->files[f]->nruns; i++)
            if (runs_of(&c->files[f]->runs[i], workload) &&
                vox_run_find_metric(&c->files[f]->runs[i], metric))
                return true;
    return false;
}

static bool workload_has_percentiles(const struct plot_ctx *c, const char *workload)
{
    size_t f, i;

    for (f = 0; f < c->nfiles; f++)
        for (i = 0; i < c->files[f]->nruns; i++)
            if (runs_of(&c->files[f]->runs[i], workload) && c->files[f]->runs[i].npercentiles)
                return true;
    return false;
}

static int plot_workload(struct plot_ctx *c, const char *w)
{
    static const char *const prio[] = {"hi_p50_us", "hi_p99_us", "normal_p50_us"};
    static const char *const prio_titles[] = {"high-priority p50", "high-priority p99",
                                              "normal p50"};
    const char *tput = workload_has(c, w, "items_per_second")    ? "items_per_second"
                       : workload_has(c, w, "frames_per_second") ? "frames_per_second"
                                                                 : NULL;
    char base[200], title[300];
    int rc = 0;

    if (workload_has_percentiles(c, w) && (rc = plot_latency(c, w)))
        return rc;
    if (tput) {
        const char *ylabel = strcmp(tput, "frames_per_second") == 0 ? "frames/s (median, ±1 sd)"
                                                                    : "items/s (median, ±1 sd)";

        snprintf(base, sizeof(base), "throughput-%s", w);
        snprintf(title, sizeof(title), "Throughput by config: %s (%s)", w, tput);
        if ((rc = plot_bars(c, w, &tput, &tput, 1, base, title, ylabel, false)))
            return rc;
    }
    if (workload_has(c, w, "rss_peak_bytes") && (rc = plot_memory(c, w)))
        return rc;
    if (workload_has(c, w, "hi_p50_us")) {
        const char *ms[3], *ts[3];
        size_t n = 0, k;

        for (k = 0; k < 3; k++)
            if (workload_has(c, w, prio[k])) {
                ms[n] = prio[k];
                ts[n++] = prio_titles[k];
            }
        snprintf(base, sizeof(base), "priority-%s", w);
        snprintf(title, sizeof(title), "Wait from submit to start by executor: %s", w);
        rc = plot_bars(c, w, ms, ts, n, base, title, "wait (µs, log scale)", true);
    }
    return rc;
}

int vox__report_plots_write(const struct vox_results *const *files, const char *const *labels,
                            size_t nfiles, const char *plots_dir, const char *gnuplot,
                            void (*on_plot)(void *cb_ctx, const char *name, const char *title),
                            void *cb_ctx, char *why, size_t why_len, struct vox_diag *diag)
{
    struct plot_ctx c = {.files = files,
                         .labels = labels,
                         .nfiles = nfiles,
                         .dir = plots_dir,
                         .why = why,
                         .why_len = why_len,
                         .on_plot = on_plot,
                         .cb_ctx = cb_ctx,
                         .diag = diag};
    struct vox__strset workloads = {0};
    size_t f, i;
    int rc = 0, n;

    why[0] = '\0';
    if (!gnuplot || !gnuplot[0])
        gnuplot = "gnuplot";
    /* The child runs in plots_dir, where a relative path would no longer point at gnuplot. */
    if (strchr(gnuplot, '/') && gnuplot[0] != '/') {
        char cwd[2048];

        n = getcwd(cwd, sizeof(cwd)) ? snprintf(c.gnuplot, sizeof(c.gnuplot), "%s/%s", cwd, gnuplot)
                                     : -1;
    } else {
        n = snprintf(c.gnuplot, sizeof(c.gnuplot), "%s", gnuplot);
    }
    if (n < 0 || (size_t)n >= sizeof(c.gnuplot)) {
        why_add(&c, "gnuplot path too long: %s", gnuplot);
        c.gnuplot_dead = true;
    }
    for (f = 0; f < nfiles; f++)
        for (i = 0; i < files[f]->nruns; i++)
            if ((rc = vox__strset_add(&workloads, files[f]->runs[i].workload)))
                goto out;
    for (i = 0; i < workloads.n; i++)
        if ((rc = plot_workload(&c, workloads.v[i])))
            goto out;
out:
    if (rc == VOX_ENOMEM)
        vox_diag_set(diag, "out of memory while drawing plots in %s", plots_dir);
    vox__strset_free(&workloads);
    return rc;
}
