/* SPDX-License-Identifier: MIT */
/* A log-linear latency histogram in the manner of HdrHistogram, with its .hgrm text output. */
#include "vox/stats.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "vox/err.h"

/*
 * Bucket scheme, with s = sub_bits and S = 2^s:
 *   - values 0 .. S-1 each have a bucket of their own (index = value);
 *   - every power-of-two range [2^k, 2^(k+1)) with k >= s is split into S equal sub-buckets of
 *     width 2^(k-s); its index is (k - s + 1) * S + (v >> (k - s)) - S.
 * The indices are contiguous, and a bucket of width 2^(k-s) holds values >= 2^k, so the gap
 * between a value and the bucket's highest value is below 2^-s of the value: the bound the
 * header states. Only buckets up to the one holding `highest` are allocated.
 *
 * In HdrHistogram's terms this is sub_bucket_count = 2S with a bucket per power of two above
 * it (its first bucket is our two lowest groups), which is what the .hgrm trailer reports.
 */
struct vox_hist {
    uint64_t highest;
    unsigned sub_bits;
    size_t nbuckets;
    uint64_t total;
    uint64_t overflows;
    uint64_t min, max;
    double sum; /* double: a uint64_t sum of ns values overflows after ~18e9 seconds' worth */
    uint64_t counts[];
};

static unsigned floor_log2(uint64_t v)
{
    return 63u - (unsigned)__builtin_clzll(v);
}

static size_t bucket_index(unsigned sub_bits, uint64_t v)
{
    unsigned k, shift;

    if (v < (UINT64_C(1) << sub_bits))
        return (size_t)v;
    k = floor_log2(v);
    shift = k - sub_bits;
    return ((size_t)(shift + 1) << sub_bits) + (size_t)(v >> shift) - ((size_t)1 << sub_bits);
}

static uint64_t bucket_lowest(unsigned sub_bits, size_t i)
{
    size_t group = i >> sub_bits;
    uint64_t sub = i & (((size_t)1 << sub_bits) - 1);

    if (group == 0)
        return (uint64_t)i;
    return ((UINT64_C(1) << sub_bits) + sub) << (group - 1);
}

/* The largest value that lands in bucket i; for the top bucket of 2^63 this is UINT64_MAX,
 * computed without overflow because width - 1 is added to the lowest value. */
static uint64_t bucket_highest(unsigned sub_bits, size_t i)
{
    size_t group = i >> sub_bits;

    if (group == 0)
        return (uint64_t)i;
    return bucket_lowest(sub_bits, i) + ((UINT64_C(1) << (group - 1)) - 1);
}

/* The bucket's highest value, but never past the exact extremes: a percentile then never
 * reports a latency that was not reached (p100 is the exact max). */
static uint64_t reported_value(const struct vox_hist *h, size_t i)
{
    uint64_t v = bucket_highest(h->sub_bits, i);

    if (v > h->max)
        v = h->max;
    if (v < h->min)
        v = h->min;
    return v;
}

struct vox_hist *vox_hist_create(uint64_t highest, unsigned sub_bits)
{
    struct vox_hist *h;
    size_t nbuckets;

    if (highest < 2 || sub_bits < 1 || sub_bits > 12)
        return NULL;
    nbuckets = bucket_index(sub_bits, highest) + 1;
    h = calloc(1, sizeof(*h) + nbuckets * sizeof(h->counts[0]));
    if (h == NULL)
        return NULL;
    h->highest = highest;
    h->sub_bits = sub_bits;
    h->nbuckets = nbuckets;
    vox_hist_reset(h);
    return h;
}

void vox_hist_destroy(struct vox_hist *h)
{
    free(h);
}

void vox_hist_reset(struct vox_hist *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->nbuckets; i++)
        h->counts[i] = 0;
    h->total = 0;
    h->overflows = 0;
    h->min = UINT64_MAX;
    h->max = 0;
    h->sum = 0.0;
}

void vox_hist_record_n(struct vox_hist *h, uint64_t value, uint64_t count)
{
    if (h == NULL || count == 0)
        return;
    if (value > h->highest) {
        /* Clamped values count as `highest` everywhere (min, max, mean, percentiles), so the
         * histogram stays self-consistent; `overflows` says how many were cut. */
        value = h->highest;
        h->overflows += count;
    }
    h->counts[bucket_index(h->sub_bits, value)] += count;
    h->total += count;
    h->sum += (double)value * (double)count;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

void vox_hist_record(struct vox_hist *h, uint64_t value)
{
    vox_hist_record_n(h, value, 1);
}

int vox_hist_merge(struct vox_hist *dst, const struct vox_hist *src)
{
    if (dst == NULL || src == NULL || dst->highest != src->highest ||
        dst->sub_bits != src->sub_bits)
        return VOX_EINVAL;
    if (src->total == 0)
        return 0;
    for (size_t i = 0; i < dst->nbuckets; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->overflows += src->overflows;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    return 0;
}

uint64_t vox_hist_count(const struct vox_hist *h)
{
    return h ? h->total : 0;
}

uint64_t vox_hist_overflows(const struct vox_hist *h)
{
    return h ? h->overflows : 0;
}

uint64_t vox_hist_min(const struct vox_hist *h)
{
    return (h && h->total) ? h->min : 0;
}

uint64_t vox_hist_max(const struct vox_hist *h)
{
    return (h && h->total) ? h->max : 0;
}

double vox_hist_mean(const struct vox_hist *h)
{
    return (h && h->total) ? h->sum / (double)h->total : 0.0;
}

uint64_t vox_hist_percentile(const struct vox_hist *h, double pct)
{
    uint64_t rank, seen = 0;
    double want;

    if (h == NULL || h->total == 0)
        return 0;
    if (!(pct > 0.0)) /* also NaN */
        pct = 0.0;
    if (pct > 100.0)
        pct = 100.0;
    /* Multiply before dividing so whole percentages of round counts stay exact (1% of 100000
     * is rank 1000, not 1001 from 0.01 * 100000 rounding up). */
    want = ceil(pct * (double)h->total / 100.0);
    rank = (want < 1.0) ? 1 : (want >= (double)h->total) ? h->total : (uint64_t)want;
    for (size_t i = 0; i < h->nbuckets; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            return reported_value(h, i);
    }
    return h->max;
}

/* ---- percentile iteration, after HdrHistogram's PercentileIterator ---------------------- */

struct pct_point {
    double level; /* percentile, 0..100 */
    uint64_t value;
    uint64_t cumulative;
    bool last; /* the closing 100% row */
};

typedef int (*point_fn)(void *ctx, const struct pct_point *p);

/*
 * Calls fn for each point of the spectrum. Levels step by 100 / (ticks * 2^(halvings + 1)),
 * so each halving of the distance to 100% gets `ticks` rows (0, 10, .. 50, 55, .. 75, 77.5 for
 * ticks 5). A bucket emits rows while the cumulative percentile is at or past the level; once
 * the last bucket is reached a single row is emitted there and then the closing 100% row, as
 * HdrHistogram does. Stops early and returns fn's value when it is non-zero.
 */
static int iterate_percentiles(const struct vox_hist *h, unsigned ticks_per_half, point_fn fn,
                               void *ctx)
{
    double level = 0.0;
    uint64_t cumulative = 0;
    size_t last_i = 0;
    int rc;

    if (h->total == 0)
        return 0;
    if (ticks_per_half == 0)
        ticks_per_half = 1;
    for (size_t i = 0; i < h->nbuckets && cumulative < h->total; i++) {
        if (h->counts[i] == 0)
            continue;
        cumulative += h->counts[i];
        last_i = i;
        while (level < 100.0 && 100.0 * (double)cumulative / (double)h->total >= level) {
            struct pct_point p = {level, reported_value(h, i), cumulative, false};
            double halvings = floor(log2(100.0 / (100.0 - level)));
            double ticks = (double)ticks_per_half * exp2(halvings + 1.0);

            rc = fn(ctx, &p);
            if (rc != 0)
                return rc;
            level += 100.0 / ticks;
            if (cumulative == h->total)
                break;
        }
    }
    return fn(ctx, &(struct pct_point){100.0, reported_value(h, last_i), h->total, true});
}

struct hgrm_ctx {
    FILE *out;
    double scale;
};

static int hgrm_row(void *ctx, const struct pct_point *p)
{
    const struct hgrm_ctx *c = ctx;
    double frac = p->level / 100.0;
    int n;

    /* HdrHistogram (Java) prints the closing row without 1/(1-p), which would be infinite. */
    if (p->last)
        n = fprintf(c->out, "%12.3f %2.12f %10" PRIu64 "\n", (double)p->value / c->scale, frac,
                    p->cumulative);
    else
        n = fprintf(c->out, "%12.3f %2.12f %10" PRIu64 " %14.2f\n", (double)p->value / c->scale,
                    frac, p->cumulative, 1.0 / (1.0 - frac));
    return n < 0 ? VOX_EIO : 0;
}

/* Standard deviation over bucket midpoints (HdrHistogram does the same): exact while values
 * sit in width-1 buckets, within the bucket precision otherwise. */
static double hist_stddev(const struct vox_hist *h)
{
    double mean = vox_hist_mean(h), acc = 0.0;

    if (h->total == 0)
        return 0.0;
    for (size_t i = 0; i < h->nbuckets; i++) {
        double lo, hi, d;

        if (h->counts[i] == 0)
            continue;
        /* Clamped to the exact extremes, so a lone value has no spread. */
        lo = fmax((double)bucket_lowest(h->sub_bits, i), (double)h->min);
        hi = fmin((double)bucket_highest(h->sub_bits, i), (double)h->max);
        d = (lo + hi) / 2.0 - mean;
        acc += d * d * (double)h->counts[i];
    }
    return sqrt(acc / (double)h->total);
}

/* HdrHistogram's bucket count for our layout: its first bucket spans our two lowest groups. */
static size_t hdr_bucket_count(const struct vox_hist *h)
{
    size_t top_group = (h->nbuckets - 1) >> h->sub_bits;

    return top_group > 1 ? top_group : 1;
}

int vox_hist_write_hgrm(const struct vox_hist *h, FILE *out, unsigned ticks_per_half,
                        double unit_scale)
{
    struct hgrm_ctx c = {out, unit_scale};
    int rc;

    if (h == NULL || out == NULL)
        return VOX_EIO;
    if (!(unit_scale > 0.0))
        c.scale = 1.0;
    if (fprintf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
                "1/(1-Percentile)") < 0)
        return VOX_EIO;
    rc = iterate_percentiles(h, ticks_per_half, hgrm_row, &c);
    if (rc != 0)
        return rc;
    if (fprintf(out, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", vox_hist_mean(h) / c.scale,
                hist_stddev(h) / c.scale) < 0 ||
        fprintf(out, "#[Max     = %12.3f, Total count    = %12" PRIu64 "]\n",
                (double)vox_hist_max(h) / c.scale, h->total) < 0 ||
        fprintf(out, "#[Buckets = %12zu, SubBuckets     = %12zu]\n", hdr_bucket_count(h),
                (size_t)2 << h->sub_bits) < 0)
        return VOX_EIO;
    return ferror(out) ? VOX_EIO : 0;
}

struct spectrum_ctx {
    struct vox_percentile *out;
    size_t cap, n;
    double scale;
};

static int spectrum_point(void *ctx, const struct pct_point *p)
{
    struct spectrum_ctx *c = ctx;

    if (c->n >= c->cap)
        return 1; /* full: stop the iteration */
    c->out[c->n].pct = p->level;
    c->out[c->n].value_us = (double)p->value / c->scale;
    c->n++;
    return 0;
}

size_t vox_hist_spectrum(const struct vox_hist *h, unsigned ticks_per_half, double unit_scale,
                         struct vox_percentile *out, size_t cap)
{
    struct spectrum_ctx c = {out, cap, 0, unit_scale > 0.0 ? unit_scale : 1.0};

    if (h == NULL || out == NULL || cap == 0)
        return 0;
    iterate_percentiles(h, ticks_per_half, spectrum_point, &c);
    return c.n;
}
