/* SPDX-License-Identifier: MIT */
/*
 * The body of the "simd" backend's kernels, included by gpu_simd_sse42.c and gpu_simd_avx2.c
 * (no include guard: each includes it once), after they define the vector width and
 * operations for their instruction set: W (bytes per vector), VEC, LOAD, SET1, EQ, AND, OR and
 * MASK (a byte mask in the low W bits of a uint32_t), and SIMD_KERNELS and SIMD_NAME, the
 * kernel table this defines and its level's name. Each file is built with its own -m flag, so
 * the same source becomes one set of kernels per level.
 *
 * Loads are unaligned and always inside the packet: the last block of a packet is loaded
 * ending at the packet's end, overlapping the previous block, and the positions already
 * examined are masked off. Packets too short for one block go to the scalar code. Results
 * equal the scalar backend's because every candidate the vectors find is judged by the same
 * shared rule (internal.h), and the vectors never skip a position that the rule could accept.
 */
/*
 * Bit k set: an LF at q[k] starts a line vox__gpu_header_at() may not call NEXT: one that
 * starts with CR or LF (the empty line), "ca" or "i" in any case. A superset of the lines that
 * matter, kept cheap: the rule itself judges each candidate. Reads q[0 .. W + 1].
 */
static inline __attribute__((always_inline)) uint32_t line_candidates(const uint8_t *q)
{
    const VEC x20 = SET1(0x20);
    VEC v0 = LOAD(q), v1 = LOAD(q + 1), v2 = LOAD(q + 2);
    VEC l1 = OR(v1, x20);
    VEC empty = OR(EQ(v1, SET1('\r')), EQ(v1, SET1('\n')));
    VEC call = AND(EQ(l1, SET1('c')), EQ(OR(v2, x20), SET1('a')));
    VEC compact = EQ(l1, SET1('i'));

    return MASK(AND(EQ(v0, SET1('\n')), OR(empty, OR(call, compact))));
}

/* The first CR or LF at or after v, or len. */
static inline __attribute__((always_inline)) uint32_t value_end(const uint8_t *d, uint32_t len,
                                                                uint32_t v)
{
    const VEC nl = SET1('\n'), cr = SET1('\r');
    uint32_t i = v, m;

    for (; i + W <= len; i += W) {
        VEC x = LOAD(d + i);

        m = MASK(OR(EQ(x, cr), EQ(x, nl)));
        if (m)
            return i + (uint32_t)__builtin_ctz(m);
    }
    if (i >= len)
        return len;
    if (len >= W) {
        uint32_t j = len - W; /* j < i < j + W */
        VEC x = LOAD(d + j);

        m = MASK(OR(EQ(x, cr), EQ(x, nl))) & (~0u << (i - j));
        return m ? j + (uint32_t)__builtin_ctz(m) : len;
    }
    while (i < len && d[i] != '\r' && d[i] != '\n')
        i++;
    return i;
}

/* Judges the candidate LFs of one block in order; returns 1 when the packet is decided. */
static inline __attribute__((always_inline)) int
judge(const uint8_t *d, uint32_t len, uint32_t base, uint32_t mask, struct vox_gpu_call_id *out)
{
    while (mask) {
        uint32_t lf = base + (uint32_t)__builtin_ctz(mask), v = 0;
        uint16_t flags = 0;
        int r = vox__gpu_header_at(d, len, lf, &v, &flags);

        if (r == VOX__GPU_LINE_FOUND) {
            vox__gpu_value_set(d, len, v, value_end(d, len, v), flags, out);
            return 1;
        }
        if (r == VOX__GPU_LINE_END) {
            vox__gpu_none(out, 1);
            return 1;
        }
        mask &= mask - 1;
    }
    return 0;
}

static inline void call_id_one(const uint8_t *d, uint32_t len, struct vox_gpu_call_id *out)
{
    uint32_t i = 0;

    if (len < W + 2) {
        vox__gpu_call_id_from(d, len, 0, out);
        return;
    }
    for (; i + W + 2 <= len; i += W)
        if (judge(d, len, i, line_candidates(d + i), out))
            return;
    if (i < len - 2) {
        uint32_t j = len - W - 2; /* j < i < j + W */

        if (judge(d, len, j, line_candidates(d + j) & (~0u << (i - j)), out))
            return;
    }
    /* An LF in the last two bytes: line_candidates would read past the packet. */
    vox__gpu_call_id_from(d, len, i > len - 2 ? i : len - 2, out);
}

static void call_id_batch(const struct vox_gpu_pkt *pkts, size_t n, struct vox_gpu_call_id *out)
{
    size_t k;

    for (k = 0; k < n; k++)
        call_id_one(pkts[k].data, pkts[k].len_bytes, &out[k]);
}

/* Bit k set: d[i + k] is the pattern's first byte and d[i + k + m - 1] its last. */
static inline uint32_t find_candidates(const uint8_t *d, uint32_t i, uint32_t m, VEC first,
                                       VEC last)
{
    return MASK(AND(EQ(LOAD(d + i), first), EQ(LOAD(d + i + m - 1), last)));
}

static inline int verify(const uint8_t *d, uint32_t base, uint32_t mask, const uint8_t *pat,
                         uint32_t m, int32_t *found)
{
    while (mask) {
        uint32_t p = base + (uint32_t)__builtin_ctz(mask);

        if (m <= 2 || memcmp(d + p + 1, pat + 1, m - 2) == 0) {
            *found = (int32_t)p;
            return 1;
        }
        mask &= mask - 1;
    }
    return 0;
}

static inline int32_t find_one(const uint8_t *d, uint32_t len, const uint8_t *pat, uint32_t m,
                               VEC first, VEC last)
{
    uint32_t npos, i = 0; /* npos: how many positions a match can start at */
    int32_t found;

    if (m > len)
        return -1;
    npos = len - m + 1;
    if (npos < W)
        return vox__gpu_find_from(d, len, 0, pat, m);
    /* Loads end at d[i + W - 1 + m - 1] <= d[len - 1] while i + W <= npos. */
    for (; i + W <= npos; i += W)
        if (verify(d, i, find_candidates(d, i, m, first, last), pat, m, &found))
            return found;
    if (i < npos) {
        uint32_t j = npos - W; /* j < i < j + W */

        if (verify(d, j, find_candidates(d, j, m, first, last) & (~0u << (i - j)), pat, m, &found))
            return found;
    }
    return -1;
}

static void find_batch(const struct vox_gpu_pkt *pkts, size_t n, const uint8_t *pat, uint32_t m,
                       int32_t *offs)
{
    const VEC first = SET1(pat[0]), last = SET1(pat[m - 1]);
    size_t k;

    for (k = 0; k < n; k++)
        offs[k] = find_one(pkts[k].data, pkts[k].len_bytes, pat, m, first, last);
}

const struct vox__gpu_simd_kernels SIMD_KERNELS = {
    .name = SIMD_NAME,
    .call_id = call_id_batch,
    .find = find_batch,
};
