/* SPDX-License-Identifier: MIT */
/* gpu front end: the backend registry, "auto", instances, argument checks and counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/registry.h"
#include "internal.h"
#include "vox/config.h"

/* ---- registry -------------------------------------------------------------------------------- */

static const void *const builtin[] = {
    &vox__gpu_scalar_ops,
    &vox__gpu_simd_ops,
#if VOX_HAVE_CUDA
    &vox__gpu_cuda_ops,
#endif
    NULL,
};

static const struct vox__registry_optional optional[] = {
    {"cuda", "install the CUDA toolkit (nvcc) and configure with -DVOX_WITH_CUDA=AUTO or ON"},
    {NULL, NULL},
};

static struct vox__registry reg = VOX__REGISTRY_INIT("gpu backend", builtin, optional);

size_t vox_gpu_backend_count(void)
{
    return vox__registry_count(&reg);
}

const struct vox_gpu_ops *vox_gpu_backend_at(size_t i)
{
    return vox__registry_at(&reg, i);
}

const struct vox_gpu_ops *vox_gpu_backend_find(const char *name)
{
    return vox__registry_find(&reg, name);
}

int vox_gpu_register(const struct vox_gpu_ops *ops)
{
    if (!ops || ops->abi_version > VOX_GPU_ABI_VERSION || !ops->describe || !ops->classify ||
        !ops->call_id || !ops->find)
        return VOX_EINVAL;
    if (ops->name && strcmp(ops->name, "auto") == 0)
        return VOX_EEXIST;
    return vox__registry_add(&reg, ops);
}

void vox_gpu_backend_names(char *buf, size_t buf_len)
{
    size_t used;

    vox__registry_names(&reg, buf, buf_len);
    if (!buf || buf_len == 0)
        return;
    used = strlen(buf);
    snprintf(buf + used, buf_len - used, "%sauto", used ? ", " : "");
}

/* ---- instances ------------------------------------------------------------------------------- */

struct vox_gpu {
    const struct vox_gpu_ops *ops;
    void *state; /* ops->state_bytes, zeroed, follows the struct */
    struct vox_gpu_stats stats;
    char info[384];
};

void *vox__gpu_state(struct vox_gpu *g)
{
    return g ? g->state : NULL;
}

void vox__gpu_refresh_info(struct vox_gpu *g)
{
    g->ops->describe(g->state, g->info, sizeof(g->info));
}

static int create_with(const struct vox_gpu_ops *ops, const char *auto_note, struct vox_gpu **out,
                       struct vox_diag *diag)
{
    size_t state_bytes = (ops->state_bytes + 63) & ~(size_t)63;
    struct vox_gpu *g = NULL;
    size_t used;
    int rc;

    if (posix_memalign((void **)&g, 64, sizeof(*g) + state_bytes) != 0) {
        vox_diag_set(diag, "gpu backend '%s': out of memory creating the instance", ops->name);
        return VOX_ENOMEM;
    }
    memset(g, 0, sizeof(*g) + state_bytes);
    g->ops = ops;
    g->state = state_bytes ? (char *)g + sizeof(*g) : NULL;
    rc = ops->init ? ops->init(g->state, diag) : 0;
    if (rc) {
        free(g);
        return rc;
    }
    ops->describe(g->state, g->info, sizeof(g->info));
    used = strlen(g->info);
    if (auto_note && used < sizeof(g->info))
        snprintf(g->info + used, sizeof(g->info) - used, " [auto: %s]", auto_note);
    *out = g;
    return 0;
}

/* "auto": cuda when a device answers, else simd when the CPU has a level, else scalar. */
static int create_auto(struct vox_gpu **out, struct vox_diag *diag)
{
    struct vox_diag why = {{0}};
    const struct vox_gpu_ops *cpu;

#if VOX_HAVE_CUDA
    if (create_with(&vox__gpu_cuda_ops, NULL, out, &why) == 0)
        return 0;
#else
    snprintf(why.text, sizeof(why.text), "cuda is not compiled into this build");
#endif
    cpu = vox__gpu_simd_best() ? &vox__gpu_simd_ops : &vox__gpu_scalar_ops;
    return create_with(cpu, why.text, out, diag);
}

int vox_gpu_create(const char *name, struct vox_gpu **out, struct vox_diag *diag)
{
    const struct vox_gpu_ops *ops;
    struct vox_diag why = {{0}};
    int rc;

    if (!out || !name) {
        vox_diag_set(diag, "vox_gpu_create: %s is NULL", out ? "the backend name" : "out");
        return VOX_EINVAL;
    }
    *out = NULL;
    if (strcmp(name, "auto") == 0)
        return create_auto(out, diag);
    rc = vox__registry_lookup(&reg, name, (const void **)&ops, &why);
    if (rc) {
        /* The registry lists the backends; "auto" is a name too. */
        vox_diag_set(diag, "%s, auto", why.text);
        return rc;
    }
    return create_with(ops, NULL, out, diag);
}

void vox_gpu_destroy(struct vox_gpu *g)
{
    if (!g)
        return;
    if (g->ops->fini)
        g->ops->fini(g->state);
    free(g);
}

const char *vox_gpu_name(const struct vox_gpu *g)
{
    return g->ops->name;
}

const char *vox_gpu_device_info(const struct vox_gpu *g)
{
    return g->info;
}

void vox_gpu_stats(const struct vox_gpu *g, struct vox_gpu_stats *out)
{
    *out = g->stats;
    if (g->ops->stats)
        g->ops->stats(g->state, out);
}

/* ---- batch operations ------------------------------------------------------------------------ */

/* Checks a batch once for every backend; sums its bytes into *bytes. */
static int check_batch(const struct vox_gpu *g, const char *op, const struct vox_gpu_pkt *pkts,
                       size_t n, const void *out, uint64_t *bytes, struct vox_diag *diag)
{
    uint64_t sum = 0;
    size_t i;

    if (!g) {
        vox_diag_set(diag, "vox_gpu_%s: the instance is NULL", op);
        return VOX_EINVAL;
    }
    if (n > VOX_GPU_BATCH_MAX) {
        vox_diag_set(diag, "vox_gpu_%s: a batch of %zu packets is over the limit of %d", op, n,
                     VOX_GPU_BATCH_MAX);
        return VOX_ELIMIT;
    }
    if (n && (!pkts || !out)) {
        vox_diag_set(diag, "vox_gpu_%s: %s is NULL for a batch of %zu packets", op,
                     pkts ? "the output array" : "the packet array", n);
        return VOX_EINVAL;
    }
    for (i = 0; i < n; i++) {
        uint32_t len = pkts[i].len_bytes;

        if (len > VOX_GPU_PKT_MAX_BYTES) {
            vox_diag_set(diag, "vox_gpu_%s: packet %zu of %zu is %u bytes, over the limit of %d",
                         op, i, n, len, VOX_GPU_PKT_MAX_BYTES);
            return VOX_ELIMIT;
        }
        if (len && !pkts[i].data) {
            vox_diag_set(diag, "vox_gpu_%s: packet %zu of %zu has NULL data and %u bytes", op, i, n,
                         len);
            return VOX_EINVAL;
        }
        sum += len;
    }
    *bytes = sum;
    return 0;
}

static void count(struct vox_gpu *g, size_t n, uint64_t bytes)
{
    g->stats.batches++;
    g->stats.packets += n;
    g->stats.payload_bytes += bytes;
}

int vox_gpu_classify(struct vox_gpu *g, const struct vox_gpu_pkt *pkts, size_t n, uint8_t *kinds,
                     struct vox_diag *diag)
{
    uint64_t bytes = 0;
    int rc = check_batch(g, "classify", pkts, n, kinds, &bytes, diag);

    if (rc == 0 && n)
        rc = g->ops->classify(g->state, pkts, n, kinds, diag);
    if (rc == 0)
        count(g, n, bytes);
    return rc;
}

int vox_gpu_extract_call_id(struct vox_gpu *g, const struct vox_gpu_pkt *pkts, size_t n,
                            struct vox_gpu_call_id *out, struct vox_diag *diag)
{
    uint64_t bytes = 0;
    int rc = check_batch(g, "extract_call_id", pkts, n, out, &bytes, diag);

    if (rc == 0 && n)
        rc = g->ops->call_id(g->state, pkts, n, out, diag);
    if (rc == 0)
        count(g, n, bytes);
    return rc;
}

int vox_gpu_find(struct vox_gpu *g, const struct vox_gpu_pkt *pkts, size_t n,
                 const uint8_t *pattern, size_t pattern_len_bytes, int32_t *offs,
                 struct vox_diag *diag)
{
    uint64_t bytes = 0;
    int rc = check_batch(g, "find", pkts, n, offs, &bytes, diag);

    if (rc)
        return rc;
    if (!pattern || pattern_len_bytes == 0) {
        vox_diag_set(diag, "vox_gpu_find: the pattern is %s", pattern ? "empty" : "NULL");
        return VOX_EINVAL;
    }
    if (pattern_len_bytes > VOX_GPU_PATTERN_MAX_BYTES) {
        vox_diag_set(diag, "vox_gpu_find: the pattern is %zu bytes, over the limit of %d",
                     pattern_len_bytes, VOX_GPU_PATTERN_MAX_BYTES);
        return VOX_ELIMIT;
    }
    if (n)
        rc = g->ops->find(g->state, pkts, n, pattern, pattern_len_bytes, offs, diag);
    if (rc == 0)
        count(g, n, bytes);
    return rc;
}
