/* SPDX-License-Identifier: MIT */
/* voxbench compare: per run and metric, the change between two results files and a verdict. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vox/results.h"
#include "vox/stats.h"

/*
 * Runs are paired by workload and config_id, metrics by name. Instruction counts (stable
 * metrics counted in "count") are deterministic and judged on their medians alone; every other
 * metric goes through vox_compare_samples (Mann-Whitney U + bootstrap interval + an effect
 * floor; see stats.h and docs/harness.md). --threshold-measured sets a separate floor for
 * those measured metrics: a timing ratio taken on a shared VM moves more between sessions than
 * between the repetitions of one, so a gate comparing against an old baseline needs a wider
 * one than the exact counts. The exit status is 2 when any compared metric
 * regressed, 0 otherwise; metrics too noisy to judge are listed but do not fail.
 */

static const char *fmt_value(char *buf, size_t len, double v, const char *unit)
{
    static const char *const si[] = {"", "k", "M", "G", "T"};
    double a = fabs(v);
    int k = 0;

    if (!isfinite(v)) {
        snprintf(buf, len, "n/a");
        return buf;
    }
    while (a >= 10000.0 && k < 4) {
        a /= 1000.0;
        v /= 1000.0;
        k++;
    }
    snprintf(buf, len, "%.4g%s%s%s", v, k ? si[k] : "", unit[0] ? " " : "", unit);
    return buf;
}

int vox_cmd_compare(int argc, char **argv)
{
    const char *base_path = NULL, *new_path = NULL;
    struct vox_results base, cur;
    struct vox_diag diag = {{0}};
    double threshold = 0.05, measured = -1.0;
    bool stable_only = false, all = false;
    size_t i, j, regressions = 0, improvements = 0, noisy = 0, compared = 0, missing = 0;
    int a, rc = VOX_EXIT_ERROR;

    for (a = 1; a < argc; a++) {
        if ((strcmp(argv[a], "--threshold") == 0 || strcmp(argv[a], "--threshold-measured") == 0) &&
            a + 1 < argc) {
            double *t = strcmp(argv[a], "--threshold") == 0 ? &threshold : &measured;
            char *end;

            *t = strtod(argv[a + 1], &end) / 100.0;
            if (*end || !(*t > 0) || *t >= 10) {
                fprintf(stderr, "voxbench compare: %s takes a percentage, e.g. 5\n", argv[a]);
                return VOX_EXIT_ERROR;
            }
            a++;
        } else if (strcmp(argv[a], "--stable-only") == 0) {
            stable_only = true;
        } else if (strcmp(argv[a], "--all") == 0) {
            all = true;
        } else if (argv[a][0] == '-' || (base_path && new_path)) {
            fprintf(stderr, "voxbench compare: unexpected argument '%s'\n", argv[a]);
            return VOX_EXIT_ERROR;
        } else if (!base_path) {
            base_path = argv[a];
        } else {
            new_path = argv[a];
        }
    }
    if (!base_path || !new_path) {
        fprintf(stderr, "usage: voxbench compare BASE.json NEW.json [--threshold PCT] "
                        "[--threshold-measured PCT] [--stable-only] [--all]\n");
        return VOX_EXIT_ERROR;
    }
    if (measured < 0)
        measured = threshold;
    if (vox_results_read(base_path, &base, &diag) != 0) {
        fprintf(stderr, "voxbench compare: %s\n", diag.text);
        vox_results_free(&base);
        return VOX_EXIT_ERROR;
    }
    if (vox_results_read(new_path, &cur, &diag) != 0) {
        fprintf(stderr, "voxbench compare: %s\n", diag.text);
        goto out_base;
    }
    printf("base: %s (%s, %.12s%s, %s)\nnew:  %s (%s, %.12s%s, %s)\n"
           "threshold %.1f%% (counts), %.1f%% (measured)%s\n\n",
           base_path, base.created, base.machine.git_commit, base.machine.git_dirty ? "+" : "",
           base.machine.hostname, new_path, cur.created, cur.machine.git_commit,
           cur.machine.git_dirty ? "+" : "", cur.machine.hostname, threshold * 100, measured * 100,
           stable_only ? ", stable metrics only" : "");
    printf("%-18s %-44s %-18s %12s %12s %8s %19s %7s  %s\n", "workload", "config", "metric", "base",
           "new", "change", "95% interval", "p", "verdict");
    for (i = 0; i < cur.nruns; i++) {
        const struct vox_run *nr = &cur.runs[i];
        const struct vox_run *br = vox_results_find_run(&base, nr->workload, nr->config_id);

        if (!br) {
            missing++;
            printf("%-18s %-44s (not in base)\n", nr->workload, nr->config_id);
            continue;
        }
        for (j = 0; j < nr->nmetrics; j++) {
            const struct vox_metric *nm = &nr->metrics[j];
            const struct vox_metric *bm = vox_run_find_metric(br, nm->name);
            struct vox_comparison c;
            char b1[32], b2[32];
            bool det;

            if (!bm || !bm->n || !nm->n || (stable_only && !(nm->stable && bm->stable)))
                continue;
            det = nm->stable && strcmp(nm->unit, "count") == 0;
            if (vox_compare_samples(bm->values, bm->n, nm->values, nm->n, nm->dir,
                                    det ? threshold : measured, det, &c) != 0)
                continue;
            compared++;
            regressions += c.verdict == VOX_VERDICT_REGRESSED;
            improvements += c.verdict == VOX_VERDICT_IMPROVED;
            noisy += c.verdict == VOX_VERDICT_NOISY;
            if (!all && c.verdict == VOX_VERDICT_UNCHANGED)
                continue;
            printf("%-18s %-44.44s %-18s %12s %12s %+7.1f%% ", nr->workload, nr->config_id,
                   nm->name, fmt_value(b1, sizeof(b1), c.base_median, nm->unit),
                   fmt_value(b2, sizeof(b2), c.new_median, nm->unit), 100 * c.change);
            if (det)
                printf("%19s %7s", "(deterministic)", "");
            else
                printf("[%+6.1f%%, %+6.1f%%] %7.4f", 100 * c.ci_low, 100 * c.ci_high, c.p_value);
            printf("  %s%s\n", vox_verdict_name(c.verdict), nm->stable ? " (stable)" : "");
        }
    }
    printf("\n%zu metrics compared: %zu regressed, %zu improved, %zu too noisy to tell, %zu "
           "unchanged%s; %zu runs missing from base\n",
           compared, regressions, improvements, noisy,
           compared - regressions - improvements - noisy, all ? "" : " (not listed: --all)",
           missing);
    if (!compared) {
        fprintf(stderr, "voxbench compare: no metric in common between the two files\n");
        goto out;
    }
    rc = regressions ? VOX_EXIT_REGRESSION : VOX_EXIT_OK;
out:
    vox_results_free(&cur);
out_base:
    vox_results_free(&base);
    return rc;
}
