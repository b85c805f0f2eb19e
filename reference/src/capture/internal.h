/* SPDX-License-Identifier: MIT */
/* The capture engine's internals: the call and stream tracker shared by capture.c and track.c. */
#ifndef VOX_CAPTURE_INTERNAL_H
#define VOX_CAPTURE_INTERNAL_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>

#include "capture/reasm.h"
#include "capture/rtpstats.h"
#include "capture/tuple.h"
#include "vox/capture.h"
#include "vox/gpu.h"
#include "vox/sdp.h"
#include "vox/sip.h"

#define CAP_NONE            UINT32_MAX
#define CAP_CALL_ID_MAX     256 /* Call-ID bytes kept (longer ones are cut, still unique) */
#define CAP_PARTY_MAX       128 /* From / To URI bytes kept */
#define CAP_ENDPOINT_CODECS 8   /* payload types remembered per SDP media line */
#define CAP_CODEC_NAME_MAX  16
#define CAP_LAT_SUB_BITS    3 /* batch latency histogram: 8 buckets per power of two */
#define CAP_LAT_BUCKETS     (64 << CAP_LAT_SUB_BITS)

enum cap_call_state {
    CAP_CALL_SETUP = 0,  /* INVITE seen, no answer */
    CAP_CALL_PROCEEDING, /* a provisional response */
    CAP_CALL_ANSWERED,   /* 2xx to the INVITE */
    CAP_CALL_CONFIRMED,  /* ACK of the 2xx */
    CAP_CALL_ENDED,      /* BYE (answered or not) */
    CAP_CALL_CANCELLED,  /* CANCEL, or 487 */
    CAP_CALL_FAILED,     /* a final 3xx-6xx to the INVITE */
    CAP_CALL_OTHER,      /* a dialog without INVITE (REGISTER, OPTIONS, MESSAGE ...) */
    CAP_CALL_STATE__COUNT,
};

const char *cap_call_state_name(enum cap_call_state s);

/* Counted methods (others go to "other"). */
enum cap_method {
    CAP_M_INVITE = 0,
    CAP_M_ACK,
    CAP_M_BYE,
    CAP_M_CANCEL,
    CAP_M_OTHER,
    CAP_M__COUNT,
};

struct cap_call {
    char call_id[CAP_CALL_ID_MAX + 1];
    uint64_t id_hash; /* of the whole Call-ID (the index's key; names the call's pcap file) */
    char from[CAP_PARTY_MAX + 1];
    char to[CAP_PARTY_MAX + 1];
    enum cap_call_state state;
    uint8_t transports; /* bit 0: UDP, bit 1: TCP */
    int last_status;
    uint32_t messages;
    uint32_t requests[CAP_M__COUNT];
    uint32_t responses[7]; /* [1..6]: by class */
    uint32_t invites_with_sdp, sdp_bad;
    uint64_t first_ns, last_ns, invite_ns, ringing_ns, answer_ns, end_ns;
    uint32_t *streams; /* indices into cap_tracker.streams */
    uint32_t nstreams, cap_streams;
    uint32_t *endpoints; /* indices into cap_tracker.endpoints its SDPs announced */
    uint32_t nendpoints, cap_endpoints;
    bool gone; /* finished and removed: the slot waits for reuse */
    uint32_t next_free;
};

/* What the RTCP reports of a call (RFC 3550 §6.4) say of one of its RTP streams: the sender
 * reports of the stream's source, and the report blocks about it from its receiver. Reports are
 * matched by SSRC and address (an SR comes from the stream's source, a block from its
 * destination), so that a B2BUA relaying the same SSRC on another leg does not mix the two. */
struct cap_rtcp {
    uint32_t sr, rr;                        /* sender reports; report blocks about the stream */
    uint32_t sender_packets, sender_octets; /* as the last SR counted them */
    uint32_t jitter, max_jitter;            /* reported interarrival jitter, timestamp units */
    int32_t cum_lost;                       /* the last block's cumulative loss (signed 24 bits) */
    uint8_t fraction_lost;                  /* the last block's, in 256ths */
    uint8_t nsr;                            /* remembered SRs (below), at most CAP_RTCP_SRS */
    uint32_t rtt_n;                         /* round trips measured */
    uint32_t rtt_us, max_rtt_us;            /* the last and the largest */
    uint32_t sr_ntp[2];                     /* the middle 32 bits of the NTP time of the last SRs */
    uint64_t sr_ns[2];                      /* and when they were captured */
};
#define CAP_RTCP_SRS 2

/* What a packet touches comes first: the key, the call, the byte count and the statistics fill
 * three cache lines; the codec, read when the stream is created and reported, and the RTCP
 * reports follow. A stream starts on a line (the tables are page-aligned, track.c), so those
 * three are the lines cap_stream_candidate asks for; unpadded, at 288 bytes, every other stream
 * would spread them over four. */
struct cap_stream {
    alignas(64) struct vox_cap_tuple tuple;
    uint32_t ssrc;
    uint32_t call; /* CAP_NONE: found by the RTP heuristic */
    uint64_t bytes;
    struct vox_rtpstats st;
    uint8_t pt;
    bool gone; /* finished and removed (its tuple zeroed: no packet matches it) */
    uint32_t next_free;
    char codec[CAP_CODEC_NAME_MAX];
    uint32_t clock_hz;
    enum vox_rtpstats_codec codec_id;
    struct cap_rtcp rtcp;
};
static_assert(offsetof(struct cap_stream, pt) <= 3 * 64, "a packet's stream lines: three");

/* A receive address announced by an SDP media line (c= + m=), and its codecs. */
struct cap_endpoint {
    uint8_t addr[16];
    uint16_t port;
    uint8_t family;
    uint8_t npt;
    uint8_t rtcp; /* 1: the RTCP address of the media line (port + 1, or a=rtcp) */
    bool gone;
    uint32_t next_free;
    uint32_t call;
    uint8_t pt[CAP_ENDPOINT_CODECS];
    uint32_t clock_hz[CAP_ENDPOINT_CODECS];
    char codec[CAP_ENDPOINT_CODECS][CAP_CODEC_NAME_MAX];
};

/* Open addressing, linear probing: a slot holds the key's hash and an index (CAP_NONE: free),
 * side by side, so that a probe costs one cache line. */
struct cap_slot {
    uint64_t hash;
    uint32_t idx;
    uint32_t pad;
};

struct cap_index {
    struct cap_slot *slot;
    size_t mask; /* slots - 1 (a power of two) */
    size_t used;
};

/* Slots of finished entries, reused before the arrays grow: a stack linked through the
 * entries' own `next_free` (nothing to allocate when an entry goes). */
struct cap_free {
    uint32_t head; /* valid when n > 0 */
    size_t n;
};

/*
 * The tracked calls, streams and SDP addresses. ncalls, nstreams and nendpoints are the arrays'
 * high-water marks: with eviction (cap_tracker_evict) some entries below them are `gone`, and
 * their slots are listed in the free stacks.
 */
struct cap_tracker {
    struct cap_call *calls;
    size_t ncalls, cap_calls;
    struct cap_stream *streams;
    size_t nstreams, cap_streams;
    struct cap_endpoint *endpoints;
    size_t nendpoints, cap_endpoints;
    struct cap_free free_calls, free_streams, free_endpoints;
    struct cap_index call_index, stream_index, endpoint_index;
    uint64_t max_calls, max_streams;
    int rtp_heuristic;
    uint64_t origin_ns;     /* the capture's first frame: RTP arrival times are kept from it */
    struct vox_sip_msg msg; /* reused: large */
    struct vox_sdp sdp;     /* reused: large */
    struct vox_capture_stats *stats;
};

int cap_tracker_init(struct cap_tracker *tr, const struct vox_capture_config *cfg,
                     struct vox_capture_stats *stats);
void cap_tracker_free(struct cap_tracker *tr);

/* One SIP message (a UDP payload, a reassembled datagram's, or a TCP-framed message). Returns
 * the index of its call, or CAP_NONE (not SIP, no Call-ID, or over max_calls). */
uint32_t cap_track_sip(struct cap_tracker *tr, const struct vox_cap_tuple *t, const uint8_t *msg,
                       size_t len_bytes, uint64_t ts_ns, int tcp);

/* RFC 3550 §5.1: version 2, and at least the fixed header; RFC 5761 §4: a second octet of
 * 192..223 is RTCP, not RTP. No SIP message is RTP-shaped (ASCII never has the top bits 10). */
static inline int cap_rtp_shaped(const uint8_t *p, size_t len_bytes)
{
    return len_bytes >= 12 && (p[0] >> 6) == 2 && !(p[1] >= 192 && p[1] <= 223);
}

/* The stream index's key of an RTP packet: its tuple and the SSRC of its fixed header. */
uint64_t cap_rtp_hash(const struct vox_cap_tuple *t, const uint8_t hdr[12]);

/*
 * The hot path in two steps, so that the cache misses of a batch's packets overlap instead of
 * adding up. cap_stream_prefetch asks for the index slot of key `h` as the packet arrives;
 * cap_stream_candidate, at the batch's end, reads it and returns the stream whose hash is `h`
 * (CAP_NONE: none yet), asking for that stream's cache lines, or, when there is none, for the
 * index slots of the SDP addresses (tuple `t`'s ends) that a new stream looks up; cap_track_rtp
 * then accounts the packet, in arrival order.
 */
void cap_stream_prefetch(const struct cap_tracker *tr, uint64_t h);
uint32_t cap_stream_candidate(const struct cap_tracker *tr, uint64_t h,
                              const struct vox_cap_tuple *t);

/*
 * The same for the SIP path: cap_call_prefetch returns the call index's key of a Call-ID and
 * asks for its slot; cap_call_candidate, later, reads the slot and asks for the lines of the
 * call found there, which cap_track_sip will read and write. Only hints: cap_track_sip finds
 * the call from its own parse whatever they did.
 */
uint64_t cap_call_prefetch(const struct cap_tracker *tr, const uint8_t *cid, size_t len_bytes);
void cap_call_candidate(const struct cap_tracker *tr, uint64_t h);

/*
 * An RTP-shaped UDP payload (`hdr`: its first 12 bytes; `len_bytes`: its length) with key `h`
 * and `hint` from cap_stream_candidate (any stream index, or CAP_NONE: the hint is checked). It
 * is accounted to its stream, which is created when an SDP announced either end (or, with the
 * heuristic, when the ports are even and the payload type static). Returns 1 when it was used,
 * 0 when it is "other UDP"; *call is set to the stream's call, or CAP_NONE.
 */
int cap_track_rtp(struct cap_tracker *tr, const struct vox_cap_tuple *t, const uint8_t hdr[12],
                  size_t len_bytes, uint64_t ts_ns, uint64_t h, uint32_t hint, uint32_t *call);

/*
 * A UDP payload that is not SIP: RTP (as cap_track_rtp) or RTCP when an SDP announced either
 * end. Returns 1 when it was used, 0 when it is "other UDP"; *call is set to the call it was
 * accounted to, or CAP_NONE.
 */
int cap_track_udp(struct cap_tracker *tr, const struct vox_cap_tuple *t, const uint8_t *payload,
                  size_t len_bytes, uint64_t ts_ns, uint32_t *call);

/* Bytes held by the tracker's tables. */
size_t cap_tracker_bytes(const struct cap_tracker *tr);

/*
 * Finished entries, handed to `done` and then removed (their slots are reused): calls that
 * ended (BYE, CANCEL, a final failure) and have been quiet for `linger_ns`, calls quiet for
 * `idle_ns` whatever their state (a lost BYE), with their streams; and streams of no call quiet
 * for `idle_ns`. Quiet: no SIP message and no RTP packet of the call since. `now_ns` is the
 * capture's clock; UINT64_MAX with 0 and 0 finishes everything ("end"). `done` gets the call
 * (stream CAP_NONE) or the lone stream (call CAP_NONE) and the reason: "ended", "idle" or "end".
 * Returns how many calls and lone streams were finished.
 */
typedef void (*cap_done_fn)(void *user, const struct cap_tracker *tr, uint32_t call,
                            uint32_t stream, const char *reason);
size_t cap_tracker_evict(struct cap_tracker *tr, uint64_t now_ns, uint64_t linger_ns,
                         uint64_t idle_ns, cap_done_fn done, void *user);

/* Calls and streams in the tables now (not gone). */
static inline size_t cap_tracker_calls(const struct cap_tracker *tr)
{
    return tr->ncalls - tr->free_calls.n;
}
static inline size_t cap_tracker_streams(const struct cap_tracker *tr)
{
    return tr->nstreams - tr->free_streams.n;
}

/* ---- the engine (capture.c; read by capture_out.c) ---- */

/* What a pending entry holds. */
enum cap_pend_kind {
    CAP_PEND_UDP = 0, /* a UDP payload, copied, for classification (SIP, RTCP or other) */
    CAP_PEND_RTP,     /* an RTP-shaped UDP payload: its header and key only */
    CAP_PEND_TCP_SIP, /* a SIP message framed by the TCP reassembler, copied */
};

/* One payload kept for the end of the batch: an RTP-shaped one by its header and key (its
 * stream's index slot asked for), any other copied. */
struct cap_pending {
    struct vox_cap_tuple tuple;
    uint64_t ts_ns;
    uint32_t off, len; /* in the batch arena (RTP-shaped: off unused) */
    uint64_t h;        /* RTP-shaped: cap_rtp_hash */
    uint32_t hint;     /* RTP-shaped: cap_stream_candidate; UDP: the position in gpkts */
    uint8_t kind;      /* enum cap_pend_kind */
    uint8_t hdr[12];   /* RTP-shaped: the fixed header */
    /* --pcap-dir: the raw frames (the frame, or a datagram's fragments) copied with their
     * caplen/len into the per-call writer's batch queue, told their call at the batch's end */
    uint32_t pcap_first, pcap_count;
};

/* A batch: filled by the reader, then analysed (at once, or by the analyser thread). */
struct cap_batch {
    struct cap_pending *pend;
    size_t npend;
    uint8_t *arena;
    size_t arena_used, arena_cap;
    uint64_t first_ns; /* batch latency: when its first packet was read (see capture.h) */
    uint64_t now_ns;   /* the capture's clock at its end: its last packet's time (live and
                        * silent: the wall clock), for finishing calls; 0: none */
    bool timed;        /* counts in the batch latencies (a silent live batch does not) */
};

/* A buffer for one line of JSON, reused: it grows to the longest line. */
struct cap_line {
    char *p;
    size_t cap;
};

#define CAP_PIPE_DEPTH 8 /* batches between the reader and the analyser */

struct cap_callpcap; /* callpcap.h */
struct cap_pipe;     /* capture.c */
struct vox_allocator;

struct vox_capture {
    struct vox_capture_config cfg;
    char source[256];
    int live;
    int ts_nano; /* 1: libpcap gives nanoseconds in ts.tv_usec */
    pcap_t *pcap;
    int link;
    atomic_int stop; /* lock-free, so vox_capture_stop may set it from a signal handler */
    /* the reader's counters; the analyser's (the tracker's) are astats, on their own lines */
    alignas(64) struct vox_capture_stats stats;
    alignas(64) struct vox_capture_stats astats;
    alignas(64) struct cap_tracker tr;
    struct vox_defrag *defrag;
    struct vox_tcpreasm *tcp;
    struct vox_gpu *gpu;
    uint64_t last_expire_ns;
    struct cap_callpcap *cp; /* the per-call pcap writer: NULL unless cfg.pcap_dir */
    int pcap_nano;           /* 1: per-call files with nanosecond timestamps */
    /*
     * Threads. With one, the reader analyses each batch itself. With two, an analyser task
     * on the --exec backend takes the batches from a ring of CAP_PIPE_DEPTH: the reader owns
     * libpcap, the decoder and the reassemblers; the analyser owns the matcher and the tracker.
     */
    unsigned threads;
    struct cap_pipe *pipe; /* NULL with one thread */
    struct vox_allocator *alloc;
    struct cap_batch batches[CAP_PIPE_DEPTH];
    unsigned nbatches;
    size_t cap_pend;
    struct cap_batch *fill; /* the reader's */
    uint64_t run_ns, cpu_ns, last_end_ns;
    /* the analyser's: the matcher's batch, the finished calls, the batch latencies */
    alignas(64) struct vox_gpu_pkt *gpkts;
    uint8_t *gclass;
    struct vox_gpu_pkt *gsip;     /* the batch's SIP payloads, for their Call-IDs */
    struct vox_gpu_call_id *gcid; /* and their Call-IDs */
    uint64_t *gcid_h;             /* and the call index keys of those */
    bool call_hints;              /* prefetch_calls runs (not on a device) */
    FILE *finished;               /* cfg.finished_path */
    struct cap_line finished_line;
    uint64_t linger_ns, idle_ns, last_finish_ns;
    uint64_t batches_done, batch_max_ns;
    uint64_t batch_hist[CAP_LAT_BUCKETS];
};

/* The analysis of a batch (capture.c): its payloads classified and tracked in arrival order;
 * the batch is then empty. */
void cap_analyse(struct vox_capture *cap, struct cap_batch *b);

/* Writes a finished call (with its streams) or lone stream as one JSON line (capture_out.c),
 * made in `line`; 0 or -1 (a write error, or no memory for the line). */
int cap_write_finished(const struct cap_tracker *tr, uint32_t call, uint32_t stream,
                       const char *reason, struct cap_line *line, FILE *f);

/* Counts a batch's latency, from `first_ns` to `end_ns` (one thread at a time). */
void cap_batch_done(struct vox_capture *cap, uint64_t first_ns, uint64_t end_ns);

uint64_t cap_thread_cpu_ns(void);

/* The analyser thread (pipe.c). create: the ring and the executor (cfg.exec); start: the
 * analyser task of one run; publish: the reader's batch handed over, cap->fill set to the next
 * free one (waits while the ring is full); finish: the last batch analysed, the analyser's CPU
 * time added; destroy: NULL-safe. */
int cap_pipe_create(struct vox_capture *cap, struct vox_diag *diag);
int cap_pipe_start(struct vox_capture *cap, struct vox_diag *diag);
void cap_pipe_publish(struct vox_capture *cap);
void cap_pipe_finish(struct vox_capture *cap);
void cap_pipe_destroy(struct vox_capture *cap);

/* vox_capture_open_file on an open stream (fmemopen for the fuzzer); takes `f` in all cases. */
int cap_open_stream(const struct vox_capture_config *cfg, FILE *f, const char *name,
                    struct vox_capture **out, struct vox_diag *diag);

#endif /* VOX_CAPTURE_INTERNAL_H */
