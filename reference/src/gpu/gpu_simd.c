/* SPDX-License-Identifier: MIT */
/* gpu backend "simd": the one-time choice of the SIMD level (AVX2, SSE4.2, else scalar) and the
 * backend's table. The kernels live in one file per level. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* ---- the scalar level: used when the CPU has no SIMD level we have -------------------------- */

static void call_id_scalar(const struct vox_gpu_pkt *pkts, size_t n, struct vox_gpu_call_id *out)
{
    size_t k;

    for (k = 0; k < n; k++)
        vox__gpu_call_id_from(pkts[k].data, pkts[k].len_bytes, 0, &out[k]);
}

static void find_scalar(const struct vox_gpu_pkt *pkts, size_t n, const uint8_t *pat, uint32_t m,
                        int32_t *offs)
{
    size_t k;

    for (k = 0; k < n; k++)
        offs[k] = vox__gpu_find_from(pkts[k].data, pkts[k].len_bytes, 0, pat, m);
}

static const struct vox__gpu_simd_kernels scalar_kernels = {
    .name = "scalar",
    .call_id = call_id_scalar,
    .find = find_scalar,
};

/* ---- detection, once per process ------------------------------------------------------------ */

/* Only gpu.cmake's VOX_GPU_SIMD_X86 (set for this file when it compiles the level files) says
 * the level tables exist. */
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;
static const struct vox__gpu_simd_kernels *have_sse42, *have_avx2, *best;
static char cpu_levels[32]; /* "sse4.2 avx2", for describe */

static void detect(void)
{
#ifdef VOX_GPU_SIMD_X86
    /* libgcc's check of AVX2 includes the OS's saving of the YMM state (XGETBV). */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2"))
        have_sse42 = &vox__gpu_simd_sse42;
    if (__builtin_cpu_supports("avx2"))
        have_avx2 = &vox__gpu_simd_avx2;
#endif
    snprintf(cpu_levels, sizeof(cpu_levels), "%s%s%s", have_sse42 ? "sse4.2" : "",
             have_sse42 && have_avx2 ? " " : "", have_avx2 ? "avx2" : "");
    best = have_avx2 ? have_avx2 : have_sse42;
}

const char *vox__gpu_simd_best(void)
{
    pthread_once(&detect_once, detect);
    return best ? best->name : NULL;
}

/* ---- the backend ---------------------------------------------------------------------------- */

struct simd_state {
    const struct vox__gpu_simd_kernels *k;
};

int vox__gpu_simd_select(struct vox_gpu *g, const char *isa)
{
    struct simd_state *s = vox__gpu_state(g);
    const struct vox__gpu_simd_kernels *k;

    pthread_once(&detect_once, detect);
    if (!g || !isa || strcmp(vox_gpu_name(g), vox__gpu_simd_ops.name) != 0)
        return VOX_EINVAL;
    if (strcmp(isa, "scalar") == 0)
        k = &scalar_kernels;
    else if (strcmp(isa, "sse4.2") == 0)
        k = have_sse42;
    else if (strcmp(isa, "avx2") == 0)
        k = have_avx2;
    else
        return VOX_EUNKNOWN_BACKEND;
    if (!k)
        return VOX_ENOSYS;
    s->k = k;
    vox__gpu_refresh_info(g);
    return 0;
}

static int simd_init(void *state, struct vox_diag *diag)
{
    struct simd_state *s = state;

    pthread_once(&detect_once, detect);
    s->k = best ? best : &scalar_kernels;
    return 0;
}

static void simd_describe(void *state, char *buf, size_t buf_len)
{
    struct simd_state *s = state;

    if (cpu_levels[0])
        snprintf(buf, buf_len, "simd: %s (CPU has %s)", s->k->name, cpu_levels);
    else
        snprintf(buf, buf_len, "simd: %s (CPU has neither SSE4.2 nor AVX2)", s->k->name);
}

static int simd_classify(void *state, const struct vox_gpu_pkt *pkts, size_t n, uint8_t *kinds,
                         struct vox_diag *diag)
{
    size_t i;

    /* The start line is short and its rule branchy: the shared scalar rule on every level. */
    for (i = 0; i < n; i++)
        kinds[i] = vox__gpu_classify_one(pkts[i].data, pkts[i].len_bytes);
    return 0;
}

static int simd_call_id(void *state, const struct vox_gpu_pkt *pkts, size_t n,
                        struct vox_gpu_call_id *out, struct vox_diag *diag)
{
    const struct simd_state *s = state;

    s->k->call_id(pkts, n, out);
    return 0;
}

static int simd_find(void *state, const struct vox_gpu_pkt *pkts, size_t n, const uint8_t *pattern,
                     size_t pattern_len_bytes, int32_t *offs, struct vox_diag *diag)
{
    const struct simd_state *s = state;

    s->k->find(pkts, n, pattern, (uint32_t)pattern_len_bytes, offs);
    return 0;
}

const struct vox_gpu_ops vox__gpu_simd_ops = {
    .name = "simd",
    .abi_version = VOX_GPU_ABI_VERSION,
    .description = "SSE4.2 or AVX2 kernels, the best level the CPU has",
    .state_bytes = sizeof(struct simd_state),
    .init = simd_init,
    .describe = simd_describe,
    .classify = simd_classify,
    .call_id = simd_call_id,
    .find = simd_find,
};
