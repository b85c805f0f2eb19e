/* SPDX-License-Identifier: MIT */
/* The capture engine's internals: the call and stream tracker shared by capture.c and track.c. */
#ifndef VOX_CAPTURE_INTERNAL_H
#define VOX_CAPTURE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>
#include <signal.h>
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
};

struct cap_stream {
    struct vox_cap_tuple tuple;
    uint32_t ssrc;
    uint32_t call; /* CAP_NONE: found by the RTP heuristic */
    uint8_t pt;
    char codec[CAP_CODEC_NAME_MAX];
    uint32_t clock_hz;
    enum vox_rtpstats_codec codec_id;
    uint64_t bytes;
    struct vox_rtpstats st;
};

/* A receive address announced by an SDP media line (c= + m=), and its codecs. */
struct cap_endpoint {
    uint8_t addr[16];
    uint16_t port;
    uint8_t family;
    uint8_t npt;
    uint8_t rtcp; /* 1: the RTCP address of the media line (port + 1, or a=rtcp) */
    uint32_t call;
    uint8_t pt[CAP_ENDPOINT_CODECS];
    uint32_t clock_hz[CAP_ENDPOINT_CODECS];
    char codec[CAP_ENDPOINT_CODECS][CAP_CODEC_NAME_MAX];
};

/* Open addressing, linear probing: a slot holds the key's hash and an index (CAP_NONE: free). */
struct cap_index {
    uint64_t *hash;
    uint32_t *idx;
    size_t mask; /* slots - 1 (a power of two) */
    size_t used;
};

struct cap_tracker {
    struct cap_call *calls;
    size_t ncalls, cap_calls;
    struct cap_stream *streams;
    size_t nstreams, cap_streams;
    struct cap_endpoint *endpoints;
    size_t nendpoints, cap_endpoints;
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

/* A UDP payload of an RTP stream already known: accounted, returns the stream's index;
 * otherwise CAP_NONE and nothing changes (the hot path: one hash probe). */
uint32_t cap_track_rtp_known(struct cap_tracker *tr, const struct vox_cap_tuple *t,
                             const uint8_t *payload, size_t len_bytes, uint64_t ts_ns);

/*
 * A UDP payload that is not SIP: RTP or RTCP when an SDP announced either end (or, with the
 * heuristic, when it looks like RTP). Returns 1 when it was used, 0 when it is "other UDP";
 * *call is set to the call it was accounted to, or CAP_NONE.
 */
int cap_track_udp(struct cap_tracker *tr, const struct vox_cap_tuple *t, const uint8_t *payload,
                  size_t len_bytes, uint64_t ts_ns, uint32_t *call);

/* Bytes held by the tracker's tables. */
size_t cap_tracker_bytes(const struct cap_tracker *tr);

/* ---- the engine (capture.c; read by capture_out.c) ---- */

/* One UDP payload kept for classification at the end of the batch. */
struct cap_pending {
    struct vox_cap_tuple tuple;
    uint64_t ts_ns;
    uint32_t off, len; /* in the batch arena */
    /* --pcap-dir: the raw frames (the frame, or a datagram's fragments) copied with their
     * caplen/len into the per-call writer's batch queue, told their call at the batch's end */
    uint32_t pcap_first, pcap_count;
};

struct cap_callpcap; /* callpcap.h */

struct vox_capture {
    struct vox_capture_config cfg;
    char source[256];
    int live;
    int ts_nano; /* 1: libpcap gives nanoseconds in ts.tv_usec */
    pcap_t *pcap;
    int link;
    atomic_int stop; /* lock-free, so vox_capture_stop may set it from a signal handler */
    struct vox_capture_stats stats;
    struct cap_tracker tr;
    struct vox_defrag *defrag;
    struct vox_tcpreasm *tcp;
    struct vox_gpu *gpu;
    uint64_t last_expire_ns;
    struct cap_callpcap *cp; /* the per-call pcap writer: NULL unless cfg.pcap_dir */
    int pcap_nano;           /* 1: per-call files with nanosecond timestamps */
    /* the batch */
    struct cap_pending *pend;
    size_t npend, cap_pend;
    uint8_t *arena;
    size_t arena_used, arena_cap;
    struct vox_gpu_pkt *gpkts;
    uint8_t *gclass;
    /* timing (vox_capture_timing) */
    uint64_t run_ns, cpu_ns, batches, batch_max_ns;
    uint64_t batch_hist[CAP_LAT_BUCKETS];
};

/* vox_capture_open_file on an open stream (fmemopen for the fuzzer); takes `f` in all cases. */
int cap_open_stream(const struct vox_capture_config *cfg, FILE *f, const char *name,
                    struct vox_capture **out, struct vox_diag *diag);

#endif /* VOX_CAPTURE_INTERNAL_H */
