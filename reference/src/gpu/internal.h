/* SPDX-License-Identifier: MIT */
/* Internal: the per-packet rules every gpu backend shares (compiled as C for the CPU backends and
 * as CUDA device code for the GPU one, so the definitions cannot drift), and the backend tables. */
#ifndef VOX_GPU_INTERNAL_H
#define VOX_GPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vox/gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __CUDACC__
#define VOX__GPU_FN static __host__ __device__ __forceinline__
#else
#define VOX__GPU_FN static inline
#endif

extern const struct vox_gpu_ops vox__gpu_scalar_ops;
extern const struct vox_gpu_ops vox__gpu_simd_ops;
extern const struct vox_gpu_ops vox__gpu_cuda_ops;

/* The private state of an instance (for tests that reach into a backend). */
void *vox__gpu_state(struct vox_gpu *g);

/* The best SIMD level this build has and this CPU runs ("avx2", "sse4.2"), or NULL. */
const char *vox__gpu_simd_best(void);

/* Rewrites the instance's device_info line from its backend's describe(). */
void vox__gpu_refresh_info(struct vox_gpu *g);

/*
 * Test hook: makes an instance of the "simd" backend use the level `isa` ("sse4.2", "avx2", or
 * "scalar") from now on. Returns VOX_ENOSYS when this build or CPU lacks it, VOX_EINVAL for an
 * instance of another backend, VOX_EUNKNOWN_BACKEND for another level name.
 */
int vox__gpu_simd_select(struct vox_gpu *g, const char *isa);

/*
 * A SIMD level's kernels (gpu_simd_sse42.c, gpu_simd_avx2.c), each over a whole batch so that
 * the per-packet code inlines. Classification is the shared scalar rule (it reads one short
 * line) on every level.
 */
struct vox__gpu_simd_kernels {
    const char *name; /* "sse4.2", "avx2", "scalar" */
    void (*call_id)(const struct vox_gpu_pkt *pkts, size_t n, struct vox_gpu_call_id *out);
    void (*find)(const struct vox_gpu_pkt *pkts, size_t n, const uint8_t *pat, uint32_t m,
                 int32_t *offs);
};
extern const struct vox__gpu_simd_kernels vox__gpu_simd_sse42;
extern const struct vox__gpu_simd_kernels vox__gpu_simd_avx2;

/*
 * The scalar Call-ID scan of one packet from the LF search position `from` on, as if every
 * earlier LF had been examined and matched nothing (the SIMD kernels finish their tails with
 * it).
 */
void vox__gpu_call_id_from(const uint8_t *d, uint32_t len, uint32_t from,
                           struct vox_gpu_call_id *out);

/* The scalar first-occurrence search of one packet, from position `from` on. */
int32_t vox__gpu_find_from(const uint8_t *d, uint32_t len, uint32_t from, const uint8_t *pat,
                           uint32_t m);

/* ---- character classes -------------------------------------------------------------------- */

/* RFC 3261 §25.1 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~",
 * as two 64-bit sets (bit c of the first for c < 64, bit c - 64 of the second): no table in
 * memory, so the same code serves the CPU and the GPU. */
VOX__GPU_FN int vox__gpu_is_token(uint8_t c)
{
    const uint64_t lo = 0x03ff6ca200000000ull, hi = 0x47ffffff87fffffeull;

    return c < 128 && (((c < 64 ? lo : hi) >> (c & 63)) & 1);
}

VOX__GPU_FN int vox__gpu_is_alpha(uint8_t c)
{
    return (uint8_t)((c | 0x20) - 'a') < 26;
}

VOX__GPU_FN int vox__gpu_is_digit(uint8_t c)
{
    return (uint8_t)(c - '0') < 10;
}

VOX__GPU_FN int vox__gpu_is_wsp(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* ---- classify ----------------------------------------------------------------------------- */

/* "SIP/2.0" at d[i], "SIP" in any case (RFC 3261 §7.1; §25: literals are case-insensitive). */
VOX__GPU_FN int vox__gpu_is_version(const uint8_t *d, uint32_t i, uint32_t end)
{
    return end - i >= 7 && (d[i] | 0x20) == 's' && (d[i + 1] | 0x20) == 'i' &&
           (d[i + 2] | 0x20) == 'p' && d[i + 3] == '/' && d[i + 4] == '2' && d[i + 5] == '.' &&
           d[i + 6] == '0';
}

/* A line end (LF, or CR LF) at d[i] before `end`. */
VOX__GPU_FN int vox__gpu_is_eol(const uint8_t *d, uint32_t i, uint32_t end)
{
    return i < end && (d[i] == '\n' || (d[i] == '\r' && i + 1 < end && d[i + 1] == '\n'));
}

/* The start-line rules of enum vox_gpu_sip_kind (vox/gpu.h). */
VOX__GPU_FN uint8_t vox__gpu_classify_one(const uint8_t *d, uint32_t len)
{
    uint32_t end = len < VOX_GPU_START_LINE_MAX_BYTES ? len : VOX_GPU_START_LINE_MAX_BYTES;
    uint32_t i = 0, s;

    if (end == 0)
        return VOX_GPU_NOT_SIP;
    /* Status-Line (RFC 3261 §7.2). "SIP/2.0" holds a '/', which no Method has: the two forms
     * exclude each other from the first line on. */
    if (vox__gpu_is_version(d, 0, end)) {
        if (end < 12 || d[7] != ' ' || (uint8_t)(d[8] - '1') > 5 || !vox__gpu_is_digit(d[9]) ||
            !vox__gpu_is_digit(d[10]) || d[11] != ' ')
            return VOX_GPU_NOT_SIP;
        for (i = 12; i < end; i++) {
            uint8_t c = d[i];

            if (c == '\n')
                return VOX_GPU_SIP_RESPONSE;
            if (c == '\r')
                return i + 1 < end && d[i + 1] == '\n' ? VOX_GPU_SIP_RESPONSE : VOX_GPU_NOT_SIP;
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return VOX_GPU_NOT_SIP;
        }
        return VOX_GPU_NOT_SIP;
    }
    /* Request-Line (RFC 3261 §7.1): Method SP Request-URI SP SIP-Version CRLF. */
    while (i < end && vox__gpu_is_token(d[i]))
        i++;
    if (i == 0 || i >= end || d[i] != ' ')
        return VOX_GPU_NOT_SIP;
    i++;
    /* absoluteURI's scheme (RFC 3986 §3.1), which sip:, sips: and tel: URIs all have. */
    if (i >= end || !vox__gpu_is_alpha(d[i]))
        return VOX_GPU_NOT_SIP;
    for (i++; i < end; i++) {
        uint8_t c = d[i];

        if (!vox__gpu_is_alpha(c) && !vox__gpu_is_digit(c) && c != '+' && c != '-' && c != '.')
            break;
    }
    if (i >= end || d[i] != ':')
        return VOX_GPU_NOT_SIP;
    s = ++i;
    while (i < end && d[i] > 0x20 && d[i] < 0x7f)
        i++;
    if (i == s || i >= end || d[i] != ' ')
        return VOX_GPU_NOT_SIP;
    i++;
    if (!vox__gpu_is_version(d, i, end))
        return VOX_GPU_NOT_SIP;
    return vox__gpu_is_eol(d, i + 7, end) ? VOX_GPU_SIP_REQUEST : VOX_GPU_NOT_SIP;
}

/* ---- Call-ID ------------------------------------------------------------------------------ */

/* What the line after an LF is (vox__gpu_header_at). */
#define VOX__GPU_LINE_NEXT  0 /* not a Call-ID header: go on with the next LF */
#define VOX__GPU_LINE_FOUND 1 /* a Call-ID header: its value starts at *value_off */
#define VOX__GPU_LINE_END   2 /* the empty line: the headers end here */

/* "Call-ID" in any case at p (avail bytes there). OR 0x20 folds only the letters: the '-' is
 * compared exactly, since CR | 0x20 is '-'. */
VOX__GPU_FN int vox__gpu_is_call_id_name(const uint8_t *p, uint32_t avail)
{
#if !defined(__CUDA_ARCH__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (avail >= 8) {
        uint64_t x;

        /* One 8-byte compare: "call-id" is 0x0064692d6c6c6163 read little-endian, byte 7
         * masked off. */
        memcpy(&x, p, 8);
        return ((x | 0x0020200020202020ull) & 0x00ffffffffffffffull) == 0x0064692d6c6c6163ull;
    }
#endif
    return avail >= 7 && (p[0] | 0x20) == 'c' && (p[1] | 0x20) == 'a' && (p[2] | 0x20) == 'l' &&
           (p[3] | 0x20) == 'l' && p[4] == '-' && (p[5] | 0x20) == 'i' && (p[6] | 0x20) == 'd';
}

/*
 * Examines the line that starts after the LF at d[lf] (see struct vox_gpu_call_id). On FOUND
 * sets *value_off past the colon and the leading whitespace (folds included) and *flags.
 * The SIMD kernels call it only where the LF is followed by CR, LF, "ca" or "i" in any case:
 * every other line gives NEXT here, which keeps them exact.
 */
VOX__GPU_FN int vox__gpu_header_at(const uint8_t *d, uint32_t len, uint32_t lf, uint32_t *value_off,
                                   uint16_t *flags)
{
    uint32_t i = lf + 1;
    uint8_t c;

    if (i >= len)
        return VOX__GPU_LINE_NEXT;
    c = d[i];
    if ((c | 0x20) == 'c') {
        if (!vox__gpu_is_call_id_name(d + i, len - i))
            return VOX__GPU_LINE_NEXT;
        i += 7;
        *flags = 0;
    } else if ((c | 0x20) == 'i') {
        i += 1;
        *flags = VOX_GPU_CALL_ID_COMPACT;
    } else {
        if (c == '\n' || (c == '\r' && i + 1 < len && d[i + 1] == '\n'))
            return VOX__GPU_LINE_END;
        return VOX__GPU_LINE_NEXT;
    }
    /* The usual ": value" (a byte above SP is neither whitespace nor a line end): what the
     * general path below gives, in one test. */
    if (len - i >= 3 && d[i] == ':' && d[i + 1] == ' ' && d[i + 2] > ' ') {
        *value_off = i + 2;
        return VOX__GPU_LINE_FOUND;
    }
    /* HCOLON = *( SP / HTAB ) ":" SWS (RFC 3261 §25.1) */
    while (i < len && vox__gpu_is_wsp(d[i]))
        i++;
    if (i >= len || d[i] != ':')
        return VOX__GPU_LINE_NEXT;
    i++;
    for (;;) {
        while (i < len && vox__gpu_is_wsp(d[i]))
            i++;
        if (len - i >= 3 && d[i] == '\r' && d[i + 1] == '\n' && vox__gpu_is_wsp(d[i + 2]))
            i += 3;
        else if (len - i >= 2 && d[i] == '\n' && vox__gpu_is_wsp(d[i + 1]))
            i += 2;
        else
            break;
    }
    *value_off = i;
    return VOX__GPU_LINE_FOUND;
}

/* The result for a value from v to e (e: the first CR or LF at or after v, or len). */
VOX__GPU_FN void vox__gpu_value_set(const uint8_t *d, uint32_t len, uint32_t v, uint32_t e,
                                    uint16_t flags, struct vox_gpu_call_id *out)
{
    uint32_t t = e;

    while (t > v && vox__gpu_is_wsp(d[t - 1]))
        t--;
    out->off = (int32_t)v;
    out->len_bytes = (uint16_t)(t - v);
    out->flags = (uint16_t)(flags | (e == len ? VOX_GPU_CALL_ID_UNTERMINATED : 0u));
}

VOX__GPU_FN void vox__gpu_none(struct vox_gpu_call_id *out, int headers_ended)
{
    out->off = -1;
    out->len_bytes = 0;
    out->flags = (uint16_t)(headers_ended ? 0u : VOX_GPU_CALL_ID_HEADERS_INCOMPLETE);
}

/* vox__gpu_header_at() and the value, scanned byte by byte; returns the line's NEXT/FOUND/END
 * and on FOUND fills *out. */
VOX__GPU_FN int vox__gpu_line_at(const uint8_t *d, uint32_t len, uint32_t lf,
                                 struct vox_gpu_call_id *out)
{
    uint32_t v = 0, e;
    uint16_t flags = 0;
    int r = vox__gpu_header_at(d, len, lf, &v, &flags);

    if (r != VOX__GPU_LINE_FOUND)
        return r;
    for (e = v; e < len && d[e] != '\r' && d[e] != '\n'; e++)
        ;
    vox__gpu_value_set(d, len, v, e, flags, out);
    return r;
}

/* ---- find --------------------------------------------------------------------------------- */

/* The pattern (m bytes) at d[p], p + m <= len. */
VOX__GPU_FN int vox__gpu_match_at(const uint8_t *d, uint32_t p, const uint8_t *pat, uint32_t m)
{
    uint32_t k;

    for (k = 0; k < m; k++)
        if (d[p + k] != pat[k])
            return 0;
    return 1;
}

#ifdef __cplusplus
}
#endif

#endif /* VOX_GPU_INTERNAL_H */
