/* SPDX-License-Identifier: MIT */
/* Batch pattern matching over packets (SIP detection, Call-ID extraction, fixed-pattern search)
 * behind one vtable, with scalar, SIMD (SSE4.2/AVX2) and CUDA backends. */
#ifndef VOX_GPU_H
#define VOX_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every operation takes a batch of packets (views of UDP payloads or reassembled TCP messages;
 * the caller owns the bytes, nothing is kept after the call) and writes one result per packet.
 * The result of every operation is defined below byte for byte, and every backend computes
 * exactly that: a backend changes only the speed (the tests compare them on random batches).
 *
 * Backends (chosen by name at run time):
 *   "scalar"  portable C: the reference.
 *   "simd"    SSE4.2 or AVX2 kernels, the best level the CPU has, chosen once at run time;
 *             on a CPU with neither (or outside x86-64) it runs the scalar kernels.
 *   "cuda"    kernels on an NVIDIA GPU (compiled when nvcc is found); the batch is packed into
 *             one pinned host buffer and copied to device buffers kept across calls (the
 *             device memory pool, grown on demand, never shrunk). Creating it fails when no
 *             device answers.
 *   "auto"    not a backend but a choice at create time: cuda when a device answers, else simd
 *             when the CPU has SSE4.2 or AVX2, else scalar.
 *
 * Threads: an instance is used by one thread at a time (the CUDA backend reuses its buffers on
 * every call); create one instance per thread. Different instances are independent.
 */

#define VOX_GPU_BATCH_MAX            4096  /* packets per call, at most */
#define VOX_GPU_PKT_MAX_BYTES        65535 /* bytes per packet, at most */
#define VOX_GPU_PATTERN_MAX_BYTES    64    /* vox_gpu_find(): pattern length, 1 .. this */
#define VOX_GPU_START_LINE_MAX_BYTES 512   /* vox_gpu_classify() looks at no more than this */

/* One packet of a batch: a view of `len_bytes` bytes (data may be NULL when len_bytes is 0). */
struct vox_gpu_pkt {
    const uint8_t *data;
    uint32_t len_bytes;
};

/*
 * vox_gpu_classify() result, one uint8_t per packet. Only the start line is read (RFC 3261
 * §7.1, §7.2), and it must end (LF or CR LF) within the first VOX_GPU_START_LINE_MAX_BYTES
 * bytes of the packet, at its very start (leading CRLFs are not skipped: stream framing is the
 * caller's):
 *   request:  Method SP Request-URI SP SIP-Version EOL, where Method is 1 or more token
 *             characters (RFC 3261 §25.1: alphanumerics and -.!%*_+`'~), Request-URI is a
 *             scheme (ALPHA *(ALPHA / DIGIT / + - .)) then ':' then 1 or more visible ASCII
 *             characters (0x21..0x7e), SIP-Version is "SIP/2.0" with "SIP" in any case.
 *   response: SIP-Version SP 3DIGIT SP Reason-Phrase EOL, where the status code is 100..699
 *             and the reason phrase (possibly empty) holds no control character but HTAB (bytes
 *             >= 0x80 are allowed: UTF-8).
 * Anything else (RTP, RTCP, STUN, HTTP, keep-alive CRLFs, binary) is VOX_GPU_NOT_SIP.
 */
enum vox_gpu_sip_kind {
    VOX_GPU_NOT_SIP = 0,
    VOX_GPU_SIP_REQUEST = 1,
    VOX_GPU_SIP_RESPONSE = 2,
};

/* vox_gpu_call_id.flags */
#define VOX_GPU_CALL_ID_COMPACT 0x1u /* found under the compact name "i" (RFC 3261 §7.3.3) */
/* Found, but the value runs to the end of the packet with no CR or LF after it (the last
 * header of a message without its line end, or a message cut in the value): it may be cut. */
#define VOX_GPU_CALL_ID_UNTERMINATED 0x2u
/* Not found, and the packet ended before the empty line that ends the headers: a later part
 * of the message (TCP) might still hold the header. Never set together with a value. */
#define VOX_GPU_CALL_ID_HEADERS_INCOMPLETE 0x4u

/*
 * vox_gpu_extract_call_id() result, one per packet: the first Call-ID header's value as a view
 * (offset and length into the packet), or off = -1, len_bytes = 0 when there is none.
 *
 * The definition, which every backend computes:
 *   - A header line starts right after an LF (so LF-only line ends work, and the start line
 *     is never a header). Lines are examined in order; the first line that is empty (it starts
 *     with LF or CR LF) ends the headers: nothing in the body is ever found.
 *   - A Call-ID header line starts with "Call-ID" or "i" in any case (RFC 3261 §7.3.1, §7.3.3),
 *     then optional SP/HTAB, then ':'. So "X-Call-ID", "Call-IDx", a folded continuation line
 *     (it starts with whitespace) and the start line never match.
 *   - The value starts after the colon and any SP/HTAB; a fold there (CR LF or LF followed by
 *     SP/HTAB, RFC 3261 §7.3.1) is skipped as whitespace. It ends at the first CR or LF (or at
 *     the end of the packet), and trailing SP/HTAB are trimmed. A fold after the value's first
 *     character is not joined (callid has no whitespace, RFC 3261 §25.1), so the value stops
 *     at the line end. An empty value gives off >= 0 with len_bytes = 0.
 * The packet need not be SIP (no start line check: combine with vox_gpu_classify()).
 */
struct vox_gpu_call_id {
    int32_t off;        /* offset of the value's first byte in the packet, or -1 */
    uint16_t len_bytes; /* the value's length after trimming; 0 when none */
    uint16_t flags;     /* VOX_GPU_CALL_ID_* */
};

/* Counters of one instance since its creation. */
struct vox_gpu_stats {
    uint64_t batches;             /* successful calls of the three batch operations */
    uint64_t packets;             /* packets in those calls */
    uint64_t payload_bytes;       /* bytes of those packets */
    uint64_t pool_bytes_reserved; /* cuda: device plus pinned host bytes held; else 0 */
    uint64_t pool_grows;          /* cuda: times the buffers were grown; else 0 */
};

/* An instance: a backend plus its private state and counters. Opaque. */
struct vox_gpu;

/* Version of struct vox_gpu_ops; methods are only ever appended. */
#define VOX_GPU_ABI_VERSION 1

/*
 * A backend. One static const instance per backend file; the front end allocates `state_bytes`
 * of zeroed private state per instance and passes it to every method. The front end checks
 * every argument before a batch method runs (counts, lengths, pointers), so the methods get
 * valid input only: 1 <= n <= VOX_GPU_BATCH_MAX, every packet <= VOX_GPU_PKT_MAX_BYTES.
 */
struct vox_gpu_ops {
    const char *name;        /* registry key: "scalar", "simd", "cuda" */
    unsigned abi_version;    /* VOX_GPU_ABI_VERSION the backend was written for */
    const char *description; /* one line for `voxbench list` */
    size_t state_bytes;      /* size of the private state the front end allocates */
    /* Prepares `state`; returns 0 or a negative VOX_E* code and explains in `diag`. */
    int (*init)(void *state, struct vox_diag *diag);
    /* Releases what the backend holds (optional). */
    void (*fini)(void *state);
    /* Writes one line describing the backend and its device into buf (NUL-terminated). */
    void (*describe)(void *state, char *buf, size_t buf_len);
    /* The three batch operations, as vox_gpu_classify() etc. define them. Return 0, or a
     * negative VOX_E* code (a device error) with `diag` filled. */
    int (*classify)(void *state, const struct vox_gpu_pkt *pkts, size_t n, uint8_t *kinds,
                    struct vox_diag *diag);
    int (*call_id)(void *state, const struct vox_gpu_pkt *pkts, size_t n,
                   struct vox_gpu_call_id *out, struct vox_diag *diag);
    int (*find)(void *state, const struct vox_gpu_pkt *pkts, size_t n, const uint8_t *pattern,
                size_t pattern_len_bytes, int32_t *offs, struct vox_diag *diag);
    /* Fills the pool_* fields of `out` (optional). */
    void (*stats)(void *state, struct vox_gpu_stats *out);
};

/*
 * Creates an instance of the backend named `name` ("scalar", "simd", "cuda", or "auto", see
 * above). On success stores it in *out (owned by the caller, release with vox_gpu_destroy())
 * and returns 0. Errors, with a sentence in `diag` (may be NULL):
 *   VOX_EINVAL          name or out is NULL;
 *   VOX_EUNKNOWN_BACKEND no such name (diag lists the available names);
 *   VOX_ENOT_COMPILED   "cuda" in a build without nvcc;
 *   VOX_EBACKEND_LOAD   "cuda" when no device answers: "no CUDA device: <CUDA's error>";
 *   VOX_EIO             a CUDA call failed while setting the device up;
 *   VOX_ENOMEM.
 * "auto" fails only on VOX_ENOMEM. Allocates; thread-safe.
 */
int vox_gpu_create(const char *name, struct vox_gpu **out, struct vox_diag *diag);

/* Destroys an instance and releases its device buffers. NULL is a no-op. */
void vox_gpu_destroy(struct vox_gpu *g);

/* The backend name of an instance ("simd"; "auto" gives the name of the backend it chose). */
const char *vox_gpu_name(const struct vox_gpu *g);

/*
 * One line for reports about the backend and its device, owned by the instance (valid until
 * vox_gpu_destroy()): "scalar: portable C", "simd: avx2 (CPU has sse4.2 avx2)", "cuda: NVIDIA
 * H100 80GB HBM3, sm_90, 132 SMs, 79.1 GiB, driver 13.0, runtime 13.0". An "auto" instance also
 * says why it did not pick cuda.
 */
const char *vox_gpu_device_info(const struct vox_gpu *g);

/*
 * Classifies each of the n packets (n <= VOX_GPU_BATCH_MAX) as not SIP, a SIP request or a SIP
 * response (enum vox_gpu_sip_kind, defined above): kinds[i] is the result for pkts[i]; kinds
 * holds n bytes. n = 0 is a no-op (pkts and kinds may then be NULL).
 * Errors (nothing is then promised about kinds): VOX_EINVAL (a NULL pointer, or a packet with
 * NULL data and a length), VOX_ELIMIT (n or a packet's length over the limits above), VOX_EIO
 * (a device error); `diag` names the packet index or the CUDA call.
 */
int vox_gpu_classify(struct vox_gpu *g, const struct vox_gpu_pkt *pkts, size_t n, uint8_t *kinds,
                     struct vox_diag *diag);

/*
 * Finds the Call-ID header of each of the n packets (definition above struct vox_gpu_call_id):
 * out[i] is the result for pkts[i]. Inputs and errors as for vox_gpu_classify().
 */
int vox_gpu_extract_call_id(struct vox_gpu *g, const struct vox_gpu_pkt *pkts, size_t n,
                            struct vox_gpu_call_id *out, struct vox_diag *diag);

/*
 * Finds in each of the n packets the first occurrence of `pattern` (pattern_len_bytes bytes,
 * 1 .. VOX_GPU_PATTERN_MAX_BYTES, compared byte for byte, case-sensitive, any byte values):
 * offs[i] is the offset of its first byte in pkts[i], or -1. The pattern is read during the
 * call only. Errors as for vox_gpu_classify(), plus VOX_EINVAL for a NULL or empty pattern and
 * VOX_ELIMIT for one longer than VOX_GPU_PATTERN_MAX_BYTES.
 */
int vox_gpu_find(struct vox_gpu *g, const struct vox_gpu_pkt *pkts, size_t n,
                 const uint8_t *pattern, size_t pattern_len_bytes, int32_t *offs,
                 struct vox_diag *diag);

/* Copies the instance's counters into *out. */
void vox_gpu_stats(const struct vox_gpu *g, struct vox_gpu_stats *out);

/* Registry. Backends compiled in are registered before main(); the order is stable
 * (scalar, simd, cuda). "auto" is a choice, not a backend: it is not listed here. */
size_t vox_gpu_backend_count(void);
const struct vox_gpu_ops *vox_gpu_backend_at(size_t i);
/* Returns the backend registered under `name`, or NULL. */
const struct vox_gpu_ops *vox_gpu_backend_find(const char *name);
/*
 * Adds a backend (for example a test's). `ops` is borrowed and must outlive the process.
 * Returns VOX_EEXIST when the name is taken (or is "auto"), VOX_EINVAL on a missing method or
 * an ABI version newer than this build, VOX_ENOMEM when the table is full.
 */
int vox_gpu_register(const struct vox_gpu_ops *ops);
/* Writes the comma-separated names of the registered backends, then "auto", into buf
 * (truncated to fit). */
void vox_gpu_backend_names(char *buf, size_t buf_len);

#ifdef __cplusplus
}
#endif

#endif /* VOX_GPU_H */
