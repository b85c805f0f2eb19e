/* SPDX-License-Identifier: MIT */
/* gpu backend "scalar": portable C, the reference every other backend must equal. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

void vox__gpu_call_id_from(const uint8_t *d, uint32_t len, uint32_t from,
                           struct vox_gpu_call_id *out)
{
    uint32_t p = from;

    /* Header lines start after an LF: memchr finds them, vox__gpu_line_at judges each. */
    while (p < len) {
        const uint8_t *q = memchr(d + p, '\n', len - p);
        uint32_t lf;
        int r;

        if (!q)
            break;
        lf = (uint32_t)(q - d);
        r = vox__gpu_line_at(d, len, lf, out);
        if (r == VOX__GPU_LINE_FOUND)
            return;
        if (r == VOX__GPU_LINE_END) {
            vox__gpu_none(out, 1);
            return;
        }
        p = lf + 1;
    }
    vox__gpu_none(out, 0);
}

int32_t vox__gpu_find_from(const uint8_t *d, uint32_t len, uint32_t from, const uint8_t *pat,
                           uint32_t m)
{
    uint32_t p = from, last;

    if (m > len)
        return -1;
    last = len - m; /* the last position a match can start at */
    while (p <= last) {
        const uint8_t *q = memchr(d + p, pat[0], last - p + 1);

        if (!q)
            return -1;
        p = (uint32_t)(q - d);
        if (memcmp(d + p + 1, pat + 1, m - 1) == 0)
            return (int32_t)p;
        p++;
    }
    return -1;
}

static int scalar_classify(void *state, const struct vox_gpu_pkt *pkts, size_t n, uint8_t *kinds,
                           struct vox_diag *diag)
{
    size_t i;

    for (i = 0; i < n; i++)
        kinds[i] = vox__gpu_classify_one(pkts[i].data, pkts[i].len_bytes);
    return 0;
}

static int scalar_call_id(void *state, const struct vox_gpu_pkt *pkts, size_t n,
                          struct vox_gpu_call_id *out, struct vox_diag *diag)
{
    size_t i;

    for (i = 0; i < n; i++)
        vox__gpu_call_id_from(pkts[i].data, pkts[i].len_bytes, 0, &out[i]);
    return 0;
}

static int scalar_find(void *state, const struct vox_gpu_pkt *pkts, size_t n,
                       const uint8_t *pattern, size_t pattern_len_bytes, int32_t *offs,
                       struct vox_diag *diag)
{
    size_t i;

    for (i = 0; i < n; i++)
        offs[i] = vox__gpu_find_from(pkts[i].data, pkts[i].len_bytes, 0, pattern,
                                     (uint32_t)pattern_len_bytes);
    return 0;
}

static void scalar_describe(void *state, char *buf, size_t buf_len)
{
    snprintf(buf, buf_len, "scalar: portable C");
}

const struct vox_gpu_ops vox__gpu_scalar_ops = {
    .name = "scalar",
    .abi_version = VOX_GPU_ABI_VERSION,
    .description = "portable C, the reference result",
    .state_bytes = 0,
    .describe = scalar_describe,
    .classify = scalar_classify,
    .call_id = scalar_call_id,
    .find = scalar_find,
};
