/* SPDX-License-Identifier: MIT */
/* gpu backend "cuda": the batch operations as CUDA kernels, over a batch packed into one pinned
 * host buffer and copied to a device buffer that is kept and grown across calls. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/*
 * The per-packet rules are the shared ones of internal.h, compiled here as device code, so a
 * kernel cannot disagree with the CPU backends on what a result is; it only differs in which
 * thread examines which position:
 *   classify: one thread per packet (it reads one short line);
 *   call_id, find: one warp per packet; in each round the 32 lanes examine 32 consecutive
 *   positions, a ballot finds the lowest lane whose position decides the result, and that
 *   lane writes it. Rounds go in increasing order, so the first decisive position wins, as in
 *   the sequential scan.
 * One buffer holds, at 16-byte aligned offsets: the spans (offset, length) of the packets, the
 * packets' bytes back to back, then room for the results. The same layout is used on the host
 * (pinned) and on the device; one copy up, one kernel, one copy down, one synchronisation.
 */

#define WARP_THREADS  32u
#define BLOCK_THREADS 256u

struct span {
    uint32_t off;
    uint32_t len;
};

/* The pattern travels as a kernel argument (parameter memory, no copy of its own). */
struct pattern_arg {
    uint8_t bytes[VOX_GPU_PATTERN_MAX_BYTES];
    uint32_t len;
};

struct cuda_state {
    cudaStream_t stream;
    uint8_t *host; /* pinned, host_bytes */
    uint8_t *dev;  /* device, dev_bytes */
    size_t host_bytes;
    size_t dev_bytes;
    uint64_t grows;
    char info[256];
};

/* ---- kernels ------------------------------------------------------------------------------- */

static __global__ void classify_kernel(const struct span *spans, const uint8_t *data,
                                       uint8_t *kinds, uint32_t n)
{
    uint32_t k = blockIdx.x * blockDim.x + threadIdx.x;

    if (k < n)
        kinds[k] = vox__gpu_classify_one(data + spans[k].off, spans[k].len);
}

static __global__ void call_id_kernel(const struct span *spans, const uint8_t *data,
                                      struct vox_gpu_call_id *out, uint32_t n)
{
    uint32_t k = (blockIdx.x * blockDim.x + threadIdx.x) / WARP_THREADS;
    uint32_t lane = threadIdx.x % WARP_THREADS;
    const uint8_t *d;
    uint32_t len, base;

    if (k >= n) /* the whole warp leaves together: k is the same for its 32 lanes */
        return;
    d = data + spans[k].off;
    len = spans[k].len;
    for (base = 0; base < len; base += WARP_THREADS) {
        uint32_t p = base + lane;
        struct vox_gpu_call_id mine = {-1, 0, 0};
        int r = VOX__GPU_LINE_NEXT;
        unsigned hit;

        if (p < len && d[p] == '\n')
            r = vox__gpu_line_at(d, len, p, &mine);
        hit = __ballot_sync(0xffffffffu, r != VOX__GPU_LINE_NEXT);
        if (hit) {
            if (lane == (uint32_t)(__ffs((int)hit) - 1)) {
                if (r == VOX__GPU_LINE_FOUND)
                    out[k] = mine;
                else
                    vox__gpu_none(&out[k], 1);
            }
            return;
        }
    }
    if (lane == 0)
        vox__gpu_none(&out[k], 0);
}

static __global__ void find_kernel(const struct span *spans, const uint8_t *data, int32_t *offs,
                                   uint32_t n, struct pattern_arg pat)
{
    uint32_t k = (blockIdx.x * blockDim.x + threadIdx.x) / WARP_THREADS;
    uint32_t lane = threadIdx.x % WARP_THREADS;
    const uint8_t *d;
    uint32_t len, npos, base;

    if (k >= n)
        return;
    d = data + spans[k].off;
    len = spans[k].len;
    npos = pat.len <= len ? len - pat.len + 1 : 0; /* positions a match can start at */
    for (base = 0; base < npos; base += WARP_THREADS) {
        uint32_t p = base + lane;
        int ok = p < npos && d[p] == pat.bytes[0] && vox__gpu_match_at(d, p, pat.bytes, pat.len);
        unsigned hit = __ballot_sync(0xffffffffu, ok);

        if (hit) {
            if (lane == 0)
                offs[k] = (int32_t)(base + (uint32_t)(__ffs((int)hit) - 1));
            return;
        }
    }
    if (lane == 0)
        offs[k] = -1;
}

/* ---- host side ----------------------------------------------------------------------------- */

static int cuda_error(struct vox_diag *diag, const char *what, cudaError_t e)
{
    vox_diag_set(diag, "gpu backend 'cuda': %s failed: %s (%s)", what, cudaGetErrorString(e),
                 cudaGetErrorName(e));
    return VOX_EIO;
}

static size_t align16(size_t x)
{
    return (x + 15) & ~(size_t)15;
}

static void release_buffers(struct cuda_state *s)
{
    if (s->host)
        cudaFreeHost(s->host);
    if (s->dev)
        cudaFree(s->dev);
    s->host = NULL;
    s->dev = NULL;
    s->host_bytes = 0;
    s->dev_bytes = 0;
}

/* The device memory pool: one pinned and one device buffer of the same size, grown (doubling,
 * in MiB) when a batch needs more, never shrunk. Nothing is in flight between calls. */
static int reserve(struct cuda_state *s, size_t bytes, struct vox_diag *diag)
{
    size_t want;
    cudaError_t e;

    if (bytes <= s->host_bytes && bytes <= s->dev_bytes)
        return 0;
    want = s->host_bytes * 2 > bytes ? s->host_bytes * 2 : bytes;
    want = (want + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
    release_buffers(s);
    e = cudaMallocHost((void **)&s->host, want);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&s->dev, want);
    if (e != cudaSuccess) {
        cudaGetLastError(); /* allocation errors are not sticky: clear them */
        release_buffers(s);
        vox_diag_set(diag,
                     "gpu backend 'cuda': cannot reserve %zu bytes of pinned and device "
                     "memory: %s",
                     want, cudaGetErrorString(e));
        return VOX_ENOMEM;
    }
    s->host_bytes = want;
    s->dev_bytes = want;
    s->grows++;
    return 0;
}

/* A packed batch: where the parts are in both buffers. */
struct packed {
    size_t data_off;
    size_t out_off;
    size_t up_bytes;
};

/* Packs the batch into the pinned buffer and starts its copy to the device. */
static int pack(struct cuda_state *s, const struct vox_gpu_pkt *pkts, size_t n, size_t out_elem,
                struct packed *pk, struct vox_diag *diag)
{
    struct span *sp;
    size_t total = 0, pos = 0, i;
    cudaError_t e;
    int rc;

    for (i = 0; i < n; i++)
        total += pkts[i].len_bytes;
    pk->data_off = align16(n * sizeof(struct span));
    pk->out_off = align16(pk->data_off + total);
    pk->up_bytes = pk->data_off + total;
    rc = reserve(s, pk->out_off + n * out_elem, diag);
    if (rc)
        return rc;
    sp = (struct span *)s->host;
    for (i = 0; i < n; i++) {
        sp[i].off = (uint32_t)pos;
        sp[i].len = pkts[i].len_bytes;
        if (pkts[i].len_bytes)
            memcpy(s->host + pk->data_off + pos, pkts[i].data, pkts[i].len_bytes);
        pos += pkts[i].len_bytes;
    }
    e = cudaMemcpyAsync(s->dev, s->host, pk->up_bytes, cudaMemcpyHostToDevice, s->stream);
    return e == cudaSuccess ? 0 : cuda_error(diag, "cudaMemcpyAsync (to the device)", e);
}

/* After a launch: checks it, copies the results back and waits for them. */
static int finish(struct cuda_state *s, const struct packed *pk, size_t out_bytes, void *out,
                  struct vox_diag *diag)
{
    cudaError_t e = cudaGetLastError();

    if (e != cudaSuccess)
        return cuda_error(diag, "the kernel launch", e);
    e = cudaMemcpyAsync(s->host + pk->out_off, s->dev + pk->out_off, out_bytes,
                        cudaMemcpyDeviceToHost, s->stream);
    if (e != cudaSuccess)
        return cuda_error(diag, "cudaMemcpyAsync (to the host)", e);
    e = cudaStreamSynchronize(s->stream);
    if (e != cudaSuccess)
        return cuda_error(diag, "cudaStreamSynchronize", e);
    memcpy(out, s->host + pk->out_off, out_bytes);
    return 0;
}

static unsigned blocks_for(size_t threads)
{
    return (unsigned)((threads + BLOCK_THREADS - 1) / BLOCK_THREADS);
}

static int cuda_classify(void *state, const struct vox_gpu_pkt *pkts, size_t n, uint8_t *kinds,
                         struct vox_diag *diag)
{
    struct cuda_state *s = (struct cuda_state *)state;
    struct packed pk;
    int rc = pack(s, pkts, n, sizeof(uint8_t), &pk, diag);

    if (rc)
        return rc;
    classify_kernel<<<blocks_for(n), BLOCK_THREADS, 0, s->stream>>>(
        (const struct span *)s->dev, s->dev + pk.data_off, s->dev + pk.out_off, (uint32_t)n);
    return finish(s, &pk, n * sizeof(uint8_t), kinds, diag);
}

static int cuda_call_id(void *state, const struct vox_gpu_pkt *pkts, size_t n,
                        struct vox_gpu_call_id *out, struct vox_diag *diag)
{
    struct cuda_state *s = (struct cuda_state *)state;
    struct packed pk;
    int rc = pack(s, pkts, n, sizeof(struct vox_gpu_call_id), &pk, diag);

    if (rc)
        return rc;
    call_id_kernel<<<blocks_for(n * WARP_THREADS), BLOCK_THREADS, 0, s->stream>>>(
        (const struct span *)s->dev, s->dev + pk.data_off,
        (struct vox_gpu_call_id *)(s->dev + pk.out_off), (uint32_t)n);
    return finish(s, &pk, n * sizeof(struct vox_gpu_call_id), out, diag);
}

static int cuda_find(void *state, const struct vox_gpu_pkt *pkts, size_t n, const uint8_t *pattern,
                     size_t pattern_len_bytes, int32_t *offs, struct vox_diag *diag)
{
    struct cuda_state *s = (struct cuda_state *)state;
    struct pattern_arg pat;
    struct packed pk;
    int rc = pack(s, pkts, n, sizeof(int32_t), &pk, diag);

    if (rc)
        return rc;
    memset(&pat, 0, sizeof(pat));
    memcpy(pat.bytes, pattern, pattern_len_bytes);
    pat.len = (uint32_t)pattern_len_bytes;
    find_kernel<<<blocks_for(n * WARP_THREADS), BLOCK_THREADS, 0, s->stream>>>(
        (const struct span *)s->dev, s->dev + pk.data_off, (int32_t *)(s->dev + pk.out_off),
        (uint32_t)n, pat);
    return finish(s, &pk, n * sizeof(int32_t), offs, diag);
}

static int cuda_init(void *state, struct vox_diag *diag)
{
    struct cuda_state *s = (struct cuda_state *)state;
    struct cudaDeviceProp prop;
    int count = 0, driver = 0, runtime = 0;
    cudaError_t e = cudaGetDeviceCount(&count);

    if (e != cudaSuccess || count < 1) {
        if (e != cudaSuccess)
            vox_diag_set(diag, "gpu backend 'cuda': no CUDA device: %s (%s)", cudaGetErrorString(e),
                         cudaGetErrorName(e));
        else
            vox_diag_set(diag, "gpu backend 'cuda': no CUDA device: the driver reports none");
        cudaGetLastError();
        return VOX_EBACKEND_LOAD;
    }
    /* Device 0 of those CUDA_VISIBLE_DEVICES leaves visible. */
    e = cudaSetDevice(0);
    if (e != cudaSuccess)
        return cuda_error(diag, "cudaSetDevice(0)", e);
    e = cudaGetDeviceProperties(&prop, 0);
    if (e != cudaSuccess)
        return cuda_error(diag, "cudaGetDeviceProperties(0)", e);
    e = cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess)
        return cuda_error(diag, "cudaStreamCreateWithFlags", e);
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    snprintf(s->info, sizeof(s->info),
             "cuda: %.128s, sm_%d%d, %d SMs, %.1f GiB, driver %d.%d, runtime %d.%d", prop.name,
             prop.major, prop.minor, prop.multiProcessorCount,
             (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), driver / 1000,
             driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10);
    return 0;
}

static void cuda_fini(void *state)
{
    struct cuda_state *s = (struct cuda_state *)state;

    if (s->stream)
        cudaStreamSynchronize(s->stream);
    release_buffers(s);
    if (s->stream)
        cudaStreamDestroy(s->stream);
    s->stream = NULL;
}

static void cuda_describe(void *state, char *buf, size_t buf_len)
{
    const struct cuda_state *s = (const struct cuda_state *)state;

    snprintf(buf, buf_len, "%s", s->info);
}

static void cuda_stats(void *state, struct vox_gpu_stats *out)
{
    const struct cuda_state *s = (const struct cuda_state *)state;

    out->pool_bytes_reserved = s->host_bytes + s->dev_bytes;
    out->pool_grows = s->grows;
}

/* Positional: designated initialisers are C++20, and this file is C++17. */
const struct vox_gpu_ops vox__gpu_cuda_ops = {
    "cuda",
    VOX_GPU_ABI_VERSION,
    "CUDA kernels on an NVIDIA GPU (a warp per packet), device buffers kept across calls",
    sizeof(struct cuda_state),
    cuda_init,
    cuda_fini,
    cuda_describe,
    cuda_classify,
    cuda_call_id,
    cuda_find,
    cuda_stats,
};
