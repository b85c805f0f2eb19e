/* SPDX-License-Identifier: MIT */
/* Statistics for the harness: summaries, a log-linear latency histogram, and A/B comparison. */
#ifndef VOX_STATS_H
#define VOX_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vox/results.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- summaries --------------------------------------------------------------------------- */

struct vox_summary {
    size_t n;
    double median, mean, stddev, min, max;
    double cv; /* stddev / mean, 0 when mean is 0 */
};

/* Summarises v[n] (not modified). With n == 0 every field is NAN and n is 0. */
void vox_stats_summarize(const double *v, size_t n, struct vox_summary *out);
/* Median of v[n] (not modified); NAN when n == 0. Allocates a scratch copy when n > 64. */
double vox_stats_median(const double *v, size_t n);

/* ---- log-linear latency histogram (HdrHistogram-style; Debian packages none for C) ------- */

/*
 * Values are recorded in integer units (the caller picks: ns for latency). Buckets are
 * log-linear: 2^sub_bits linear sub-buckets per power of two, so every recorded value is kept
 * to within a relative error of 2^-sub_bits (sub_bits 7: < 0.8%), from 1 up to `highest`.
 * Values above `highest` are clamped and counted in `overflows`. Recording is O(1) with no
 * allocation; not thread-safe (use one per thread and vox_hist_merge).
 */
struct vox_hist;

/* Creates a histogram for values 1..highest (>= 2) at the given precision (sub_bits 1..12).
 * Returns NULL on a bad argument or ENOMEM. */
struct vox_hist *vox_hist_create(uint64_t highest, unsigned sub_bits);
void vox_hist_destroy(struct vox_hist *h);
void vox_hist_reset(struct vox_hist *h);
void vox_hist_record(struct vox_hist *h, uint64_t value);
void vox_hist_record_n(struct vox_hist *h, uint64_t value, uint64_t count);
/* Adds every count of `src` to `dst`; both must have the same highest and sub_bits (else
 * VOX_EINVAL). */
int vox_hist_merge(struct vox_hist *dst, const struct vox_hist *src);

uint64_t vox_hist_count(const struct vox_hist *h);
uint64_t vox_hist_overflows(const struct vox_hist *h);
uint64_t vox_hist_min(const struct vox_hist *h);
uint64_t vox_hist_max(const struct vox_hist *h); /* exact, not bucketed */
double vox_hist_mean(const struct vox_hist *h);
/* The smallest recorded value v (to bucket precision) such that at least pct% of recorded
 * values are <= v; pct in 0..100. 0 when empty. pct 100 gives the exact max. */
uint64_t vox_hist_percentile(const struct vox_hist *h, double pct);

/*
 * Writes the percentile spectrum in HdrHistogram's CLASSIC .hgrm text (the format wrk2 and
 * HdrHistogram's plotter read): header line, "Value Percentile TotalCount 1/(1-Percentile)"
 * rows at `ticks_per_half` ticks per halving of the remaining distance to 100%, then the
 * #[Mean ...] / #[Max ...] / #[Buckets ...] trailer. Values are divided by `unit_scale`
 * (1000 turns ns into µs). Returns 0 or VOX_EIO.
 */
int vox_hist_write_hgrm(const struct vox_hist *h, FILE *out, unsigned ticks_per_half,
                        double unit_scale);

/* The same spectrum as points for a results file (pct, value / unit_scale). Returns the
 * number of points written to out[cap] (at most cap). */
size_t vox_hist_spectrum(const struct vox_hist *h, unsigned ticks_per_half, double unit_scale,
                         struct vox_percentile *out, size_t cap);

/* ---- A/B comparison ------------------------------------------------------------------------ */

enum vox_verdict {
    VOX_VERDICT_UNCHANGED = 0, /* within the threshold, or a significant change smaller than it */
    VOX_VERDICT_IMPROVED,      /* better by more than the threshold, with confidence */
    VOX_VERDICT_REGRESSED,     /* worse by more than the threshold, with confidence */
    VOX_VERDICT_NOISY,         /* the estimate crosses the threshold but the data cannot tell */
};

/* Text for a verdict: "unchanged", "improved", "REGRESSED", "too noisy to tell". */
const char *vox_verdict_name(enum vox_verdict v);

struct vox_comparison {
    double base_median;
    double new_median;
    double change; /* new_median / base_median - 1 (signed; +0.10 = 10% larger) */
    double ci_low; /* 95% bootstrap interval of the median ratio, minus 1 */
    double ci_high;
    double p_value; /* two-sided Mann-Whitney U; 1 when it cannot be computed */
    enum vox_verdict verdict;
};

/*
 * Compares repetitions `base[nb]` and `cur[nc]` of one metric. `threshold` is the smallest
 * relative change that matters (0.05 = 5%). `deterministic` metrics (instruction counts:
 * repetitions are identical) are judged on the medians alone. Otherwise a change is called a
 * regression or an improvement only when all three hold: the median ratio moves past the
 * threshold in that direction, Mann-Whitney U gives p < 0.05, and the whole 95% bootstrap
 * interval of the median ratio lies on that side of 1 (criterion.rs and asv combine an effect
 * floor with significance the same way). When the point estimate crosses the threshold but
 * the test or the interval disagree, or either side has fewer than 3 values, the verdict is
 * NOISY. The bootstrap uses a fixed seed, so a comparison is reproducible. Returns 0, or
 * VOX_EINVAL when a side is empty.
 */
int vox_compare_samples(const double *base, size_t nb, const double *cur, size_t nc,
                        enum vox_metric_dir dir, double threshold, bool deterministic,
                        struct vox_comparison *out);

#ifdef __cplusplus
}
#endif

#endif /* VOX_STATS_H */
