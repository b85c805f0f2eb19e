/* SPDX-License-Identifier: MIT */
/* Summaries of repeated measurements: median, mean, sample standard deviation, extremes, CV. */
#include "vox/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Up to this many values the scratch copy lives on the stack (the header promises no
 * allocation below it). */
enum { STACK_VALUES = 64 };

/* A total order even with NaN in the data (NaN sorts last), so qsort stays well defined. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

double vox_stats_median(const double *v, size_t n)
{
    double stack[STACK_VALUES];
    double *tmp = stack;
    double m;

    if (n == 0 || v == NULL)
        return NAN;
    if (n > STACK_VALUES) {
        tmp = malloc(n * sizeof(*tmp));
        /* The signature has no error path; NAN tells the caller there is no answer. */
        if (tmp == NULL)
            return NAN;
    }
    memcpy(tmp, v, n * sizeof(*tmp));
    qsort(tmp, n, sizeof(*tmp), cmp_double);
    m = (n % 2) ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2.0;
    if (tmp != stack)
        free(tmp);
    return m;
}

void vox_stats_summarize(const double *v, size_t n, struct vox_summary *out)
{
    double sum = 0.0, sq = 0.0, mean;

    if (out == NULL)
        return;
    if (n == 0 || v == NULL) {
        *out = (struct vox_summary){
            .n = 0, .median = NAN, .mean = NAN, .stddev = NAN, .min = NAN, .max = NAN, .cv = NAN};
        return;
    }
    out->n = n;
    out->min = v[0];
    out->max = v[0];
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        out->min = fmin(out->min, v[i]);
        out->max = fmax(out->max, v[i]);
    }
    mean = sum / (double)n;
    /* Two passes: summing squared deviations from the mean avoids the cancellation of
     * sum(x^2) - n*mean^2 when the spread is tiny next to the values (ns timings). */
    for (size_t i = 0; i < n; i++)
        sq += (v[i] - mean) * (v[i] - mean);
    out->mean = mean;
    out->stddev = (n > 1) ? sqrt(sq / (double)(n - 1)) : 0.0;
    out->median = vox_stats_median(v, n);
    out->cv = (mean != 0.0) ? out->stddev / mean : 0.0;
}
