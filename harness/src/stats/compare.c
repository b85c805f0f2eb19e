/* SPDX-License-Identifier: MIT */
/* A/B comparison of repetitions: effect size, Mann-Whitney U, bootstrap interval, verdict. */
#include "vox/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vox/err.h"

enum {
    BOOT_RESAMPLES = 2000,
    EXACT_MAX_N = 10, /* exact Mann-Whitney distribution when both sides are this small */
};

static const double ALPHA = 0.05;
/* Any fixed value makes the bootstrap reproducible; this one is splitmix64's golden gamma. */
static const uint64_t BOOT_SEED = UINT64_C(0x9E3779B97F4A7C15);

const char *vox_verdict_name(enum vox_verdict v)
{
    switch (v) {
    case VOX_VERDICT_UNCHANGED:
        return "unchanged";
    case VOX_VERDICT_IMPROVED:
        return "improved";
    case VOX_VERDICT_REGRESSED:
        return "REGRESSED";
    case VOX_VERDICT_NOISY:
        return "too noisy to tell";
    }
    return "unknown";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

/*
 * Relative change of `now` against `ref`. Dividing by |ref| keeps the sign meaning "larger"
 * for negative metrics too (it equals now/ref - 1 whenever ref > 0). A zero reference gives 0
 * when both are zero and +/-inf otherwise: any move away from zero is an unbounded change.
 */
static double rel_change(double ref, double now)
{
    if (ref == 0.0) {
        if (now == 0.0)
            return 0.0;
        return now > 0.0 ? INFINITY : -INFINITY;
    }
    return (now - ref) / fabs(ref);
}

static double sorted_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return (n % 2) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Both medians from scratch copies; unlike vox_stats_median this can report ENOMEM. */
static int medians(const double *base, size_t nb, const double *cur, size_t nc, double *mb,
                   double *mc)
{
    double *tmp = malloc((nb > nc ? nb : nc) * sizeof(*tmp));

    if (tmp == NULL)
        return VOX_ENOMEM;
    memcpy(tmp, base, nb * sizeof(*tmp));
    *mb = sorted_median(tmp, nb);
    memcpy(tmp, cur, nc * sizeof(*tmp));
    *mc = sorted_median(tmp, nc);
    free(tmp);
    return 0;
}

/* splitmix64 (Steele, Lea, Flood 2014): tiny state, good enough for resampling indices. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform index in [0, n); the modulo bias is below n / 2^64, far under resampling noise. */
static size_t rand_index(uint64_t *state, size_t n)
{
    return (size_t)(splitmix64(state) % n);
}

/* Percentile q (0..1) of sorted v[n] with linear interpolation (Hyndman-Fan type 7). */
static double quantile_sorted(const double *v, size_t n, double q)
{
    double h = q * (double)(n - 1);
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double frac = h - (double)lo;

    /* Interpolating between two equal infinities would give NaN. */
    if (v[lo] == v[hi])
        return v[lo];
    return v[lo] + frac * (v[hi] - v[lo]);
}

/* 95% percentile bootstrap interval of the median change; each side is resampled on its own. */
static int bootstrap_ci(const double *base, size_t nb, const double *cur, size_t nc, double *lo,
                        double *hi)
{
    double *rb = malloc(nb * sizeof(*rb));
    double *rc = malloc(nc * sizeof(*rc));
    double *stat = malloc(BOOT_RESAMPLES * sizeof(*stat));
    uint64_t state = BOOT_SEED;
    int err = VOX_ENOMEM;

    if (rb == NULL || rc == NULL || stat == NULL)
        goto out;
    for (size_t r = 0; r < BOOT_RESAMPLES; r++) {
        for (size_t i = 0; i < nb; i++)
            rb[i] = base[rand_index(&state, nb)];
        for (size_t i = 0; i < nc; i++)
            rc[i] = cur[rand_index(&state, nc)];
        stat[r] = rel_change(sorted_median(rb, nb), sorted_median(rc, nc));
    }
    qsort(stat, BOOT_RESAMPLES, sizeof(*stat), cmp_double);
    *lo = quantile_sorted(stat, BOOT_RESAMPLES, 0.025);
    *hi = quantile_sorted(stat, BOOT_RESAMPLES, 0.975);
    err = 0;
out:
    free(rb);
    free(rc);
    free(stat);
    return err;
}

struct ranked {
    double v;
    bool from_base;
};

static int cmp_ranked(const void *a, const void *b)
{
    return cmp_double(&((const struct ranked *)a)->v, &((const struct ranked *)b)->v);
}

/*
 * Exact two-sided p of the rank-sum statistic under H0, where every choice of nb of the n
 * pooled (mid)ranks for `base` is equally likely. Ranks are doubled so midranks of ties are
 * integers; count[k][s] = ways to pick k of the ranks seen so far with doubled sum s. This is
 * the permutation distribution, so it stays exact with ties.
 */
static double exact_p(const unsigned *rank2, size_t nb, size_t n, unsigned stat2)
{
    enum { MAXN = 2 * EXACT_MAX_N, MAXSUM = EXACT_MAX_N * 2 * MAXN };
    const size_t cols = MAXSUM + 1;
    double count[EXACT_MAX_N + 1][MAXSUM + 1];
    double expect2 = (double)nb * (double)(n + 1), dev = fabs((double)stat2 - expect2);
    double hit = 0.0, all = 0.0;

    memset(count, 0, sizeof(count));
    count[0][0] = 1.0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = (i + 1 < nb ? i + 1 : nb); k >= 1; k--)
            for (size_t s = cols - 1; s >= rank2[i]; s--) {
                count[k][s] += count[k - 1][s - rank2[i]];
                if (s == rank2[i])
                    break;
            }
    for (size_t s = 0; s < cols; s++) {
        all += count[nb][s];
        /* The tolerance keeps the observed value itself in the tail despite rounding. */
        if (fabs((double)s - expect2) >= dev - 1e-9)
            hit += count[nb][s];
    }
    return all > 0.0 ? fmin(1.0, hit / all) : 1.0;
}

/*
 * Two-sided Mann-Whitney U p-value. Exact (see exact_p) when both sides have at most
 * EXACT_MAX_N values; otherwise the normal approximation with the tie-corrected variance
 * and a continuity correction of 1/2. 1 when it cannot be computed (all values tied).
 */
static int mann_whitney_p(const double *base, size_t nb, const double *cur, size_t nc, double *p)
{
    size_t n = nb + nc;
    struct ranked *all = malloc(n * sizeof(*all));
    unsigned rank2_small[2 * EXACT_MAX_N];
    double rank_sum = 0.0, tie_term = 0.0;
    unsigned stat2 = 0;
    bool exact = nb <= EXACT_MAX_N && nc <= EXACT_MAX_N;

    if (all == NULL)
        return VOX_ENOMEM;
    for (size_t i = 0; i < nb; i++)
        all[i] = (struct ranked){base[i], true};
    for (size_t i = 0; i < nc; i++)
        all[nb + i] = (struct ranked){cur[i], false};
    qsort(all, n, sizeof(*all), cmp_ranked);
    for (size_t i = 0; i < n;) {
        size_t j = i;

        while (j < n && cmp_double(&all[j].v, &all[i].v) == 0)
            j++;
        /* Ranks i+1 .. j share the midrank (i+1+j)/2; doubled it is the integer i+1+j. */
        for (size_t k = i; k < j; k++) {
            if (exact)
                rank2_small[k] = (unsigned)(i + 1 + j);
            if (all[k].from_base) {
                rank_sum += (double)(i + 1 + j) / 2.0;
                if (exact)
                    stat2 += (unsigned)(i + 1 + j);
            }
        }
        tie_term += pow((double)(j - i), 3) - (double)(j - i);
        i = j;
    }
    free(all);

    if (exact) {
        *p = exact_p(rank2_small, nb, n, stat2);
    } else {
        double u = rank_sum - (double)nb * (double)(nb + 1) / 2.0;
        double mu = (double)nb * (double)nc / 2.0;
        double var = (double)nb * (double)nc / 12.0 *
                     ((double)(n + 1) - tie_term / ((double)n * (double)(n - 1)));
        double z;

        if (!(var > 0.0)) {
            *p = 1.0;
            return 0;
        }
        z = fmax(0.0, fabs(u - mu) - 0.5) / sqrt(var);
        *p = fmin(1.0, erfc(z / sqrt(2.0)));
    }
    return 0;
}

int vox_compare_samples(const double *base, size_t nb, const double *cur, size_t nc,
                        enum vox_metric_dir dir, double threshold, bool deterministic,
                        struct vox_comparison *out)
{
    double worse; /* change in the bad direction: > 0 is worse */
    bool crosses_bad, crosses_good;
    int err;

    if (base == NULL || cur == NULL || out == NULL || nb == 0 || nc == 0 || !(threshold >= 0.0))
        return VOX_EINVAL;

    *out = (struct vox_comparison){.p_value = 1.0, .verdict = VOX_VERDICT_UNCHANGED};
    err = medians(base, nb, cur, nc, &out->base_median, &out->new_median);
    if (err != 0)
        return err;
    out->change = rel_change(out->base_median, out->new_median);

    err = bootstrap_ci(base, nb, cur, nc, &out->ci_low, &out->ci_high);
    if (err == 0)
        err = mann_whitney_p(base, nb, cur, nc, &out->p_value);
    if (err != 0)
        return err;

    worse = (dir == VOX_DIR_HIGHER) ? -out->change : out->change;
    crosses_bad = worse > threshold;
    crosses_good = worse < -threshold;

    if (!crosses_bad && !crosses_good) {
        out->verdict = VOX_VERDICT_UNCHANGED;
    } else if (deterministic) {
        out->verdict = crosses_bad ? VOX_VERDICT_REGRESSED : VOX_VERDICT_IMPROVED;
    } else if (nb < 3 || nc < 3) {
        out->verdict = VOX_VERDICT_NOISY;
    } else {
        /* The interval must exclude "no change" on the side the point estimate took. */
        bool larger = out->change > 0.0;
        bool ci_agrees = larger ? out->ci_low > 0.0 : out->ci_high < 0.0;

        if (out->p_value < ALPHA && ci_agrees)
            out->verdict = crosses_bad ? VOX_VERDICT_REGRESSED : VOX_VERDICT_IMPROVED;
        else
            out->verdict = VOX_VERDICT_NOISY;
    }
    return 0;
}
