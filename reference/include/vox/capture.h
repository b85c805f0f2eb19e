/* SPDX-License-Identifier: MIT */
/*
 * vox-capture's engine: reads packets from a pcap/pcapng file or a live interface (libpcap),
 * decodes Ethernet / 802.1Q / Linux cooked / raw IP, IPv4 and IPv6, UDP and TCP, reassembles
 * IP fragments and SIP over TCP, tracks SIP calls by Call-ID, ties RTP streams to calls through
 * their SDP, and keeps RFC 3550 statistics and an E-model MOS per stream. Every packet that is
 * not used is counted under the stage that dropped it (the "drop ledger").
 */
#ifndef VOX_CAPTURE_H
#define VOX_CAPTURE_H

#include <stdint.h>
#include <stdio.h>

#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- profiles (the Go sniffer guide's table) ---------------------------------------------- */

/*
 * A profile sets the engine's sizes at once; any field may then be overridden. Fields: packets
 * per batch, packet buffers (bounded queues of TCP segments and fragments), memory limit of the
 * reassembly and tracking state, stream idle timeout, threads.
 */
struct vox_capture_profile {
    const char *name;
    unsigned batch_packets;
    unsigned buffers;
    uint64_t memory_limit_bytes;
    uint64_t stream_timeout_ms;
    /*
     * 0: one per CPU. The engine has two stages: with 1 (or one CPU, or pcap_dir) the calling
     * thread reads and analyses each batch in turn; with more, it reads and decodes while an
     * analyser task on the `exec` backend classifies and tracks the batches it hands over
     * through a ring of 8. More than 2 is the same as 2.
     */
    unsigned threads;
};

/* The profiles by name: "minimal", "balanced" (the default), "high_performance",
 * "low_latency". Returns NULL for an unknown name. */
const struct vox_capture_profile *vox_capture_profile_find(const char *name);

/* The list, NULL-terminated, for help texts and reports. */
const struct vox_capture_profile *const *vox_capture_profiles(void);

/* ---- configuration ------------------------------------------------------------------------ */

struct vox_capture_config {
    struct vox_capture_profile profile; /* copy of a profile, possibly edited */
    const char *alloc;                  /* allocator of the batches (NULL: "system") */
    const char *exec;                   /* executor of the analyser thread (NULL: "pool") */
    const char *match;                  /* pattern-matching backend (NULL: "auto") */
    const char *filter;                 /* BPF filter expression, NULL or "" for none */
    int promisc;                        /* live: promiscuous mode */
    int snaplen;                        /* live: bytes kept per frame (0: 65535) */
    unsigned buffer_bytes;              /* live: kernel ring size (0: libpcap's default) */
    unsigned timeout_ms;                /* live: read timeout (0: 100) */
    uint64_t max_calls;                 /* calls tracked before new ones are dropped (0: none) */
    uint64_t max_streams;               /* RTP streams, likewise */
    int rtp_heuristic;                  /* 1: also accept RTP that no SDP announced */
    /*
     * NULL, or a folder (created with its parents when missing) where every frame attributed
     * to a call (its SIP messages, fragments and TCP segments included, and its RTP and RTCP)
     * is written as captured to one pcap file per call, named after the Call-ID: the first 64
     * bytes with every byte outside [A-Za-z0-9._@-] replaced by '_', '-', 16 hex digits of a
     * 64-bit hash of the whole Call-ID, ".pcap". docs/capture.md has the details.
     */
    const char *pcap_dir;
    /*
     * NULL, or a file (created or truncated) that receives each finished call as one JSON line,
     * with its streams, the moment it finishes; the call then leaves the tables, so that a
     * capture that runs for days holds only the calls in progress. Finished: ended (BYE, CANCEL,
     * a final failure) and quiet for `linger_ms`, or quiet for the profile's stream timeout
     * whatever its state (a lost BYE); RTP of no call (the heuristic's) likewise. Checked once a
     * second of capture time; live, also when the line is silent. vox_capture_finish_all writes
     * the calls still in progress at the end. With pcap_dir, a call's file is complete on disk
     * (flushed and closed) when its line is written; a later call of the same Call-ID appends
     * to it.
     */
    const char *finished_path;
    uint64_t linger_ms; /* 0: 5000 */
};

/* Fills *cfg with the "balanced" profile and the defaults above. */
void vox_capture_config_init(struct vox_capture_config *cfg);

/* ---- the engine ---------------------------------------------------------------------------- */

struct vox_capture; /* opaque */

/*
 * Opens an offline capture (pcap or pcapng: libpcap reads both). The file is read by
 * vox_capture_run. Returns 0, VOX_ENOENT/VOX_EIO (unreadable file; VOX_EIO also when
 * cfg->pcap_dir cannot be created or written), VOX_EMALFORMED (not a capture file, or a link
 * type the decoder does not know), VOX_EUNKNOWN_BACKEND (a backend name), VOX_EINVAL (a bad
 * filter) or VOX_ENOMEM; `diag` names the file (or the folder) and the reason.
 */
int vox_capture_open_file(const struct vox_capture_config *cfg, const char *path,
                          struct vox_capture **out, struct vox_diag *diag);

/* Opens a live capture on interface `ifname` ("lo", "veth0", "any"). Same errors, plus
 * VOX_EIO when the interface cannot be activated (permissions, no such device). */
int vox_capture_open_live(const struct vox_capture_config *cfg, const char *ifname,
                          struct vox_capture **out, struct vox_diag *diag);

/*
 * Reads and analyses packets until the file ends, `max_packets` were read (0: no limit),
 * `duration_ms` passed (live; 0: no limit) or vox_capture_stop() is called (from a signal
 * handler or another thread). A corrupt or truncated file ends the run with its packets so far
 * analysed: returns VOX_EMALFORMED with a diag naming the file and packet number; the
 * figures gathered stay valid. Returns 0 otherwise.
 */
int vox_capture_run(struct vox_capture *cap, uint64_t max_packets, uint64_t duration_ms,
                    struct vox_diag *diag);

/* Asks a running vox_capture_run to return; async-signal-safe. */
void vox_capture_stop(struct vox_capture *cap);

/*
 * With finished_path: writes every call and stream still tracked to the finished file (reason
 * "end") and empties the tables, so that the file lists each call exactly once. Call it after
 * vox_capture_run, once the other outputs are written (they list what is still tracked).
 * Returns 0, or VOX_EIO when a write failed (the file names it in the diag); a no-op without
 * finished_path.
 */
int vox_capture_finish_all(struct vox_capture *cap, struct vox_diag *diag);

/* Closes the source and every per-call pcap, frees everything. NULL is a no-op. */
void vox_capture_close(struct vox_capture *cap);

/* ---- results ------------------------------------------------------------------------------ */

/*
 * Where every packet went. `read` = sum of the others at the end of a run, except that
 * fragments and TCP segments are counted once on input and their reassembled results again
 * under sip/rtp.
 */
struct vox_capture_stats {
    /* stage 0: the kernel (live only; pcap_stats) */
    uint64_t kernel_received, kernel_dropped, kernel_if_dropped;
    /* stage 1: reading */
    uint64_t read, bytes;
    /* stage 2: decoding */
    uint64_t not_ip, other_proto, bad_link, bad_ip, bad_l4, truncated;
    /* stage 3: reassembly */
    uint64_t fragments, datagrams_reassembled, fragments_dropped;
    uint64_t tcp_segments, tcp_messages, tcp_gaps, tcp_resyncs, tcp_dropped_bytes;
    /* stage 4: classification and tracking */
    uint64_t sip_messages, sip_bad, rtp_packets, rtcp_packets, rtp_bad, other_udp, other_tcp;
    uint64_t rtcp_bad; /* RTCP of a call whose compound packet ran past its datagram */
    uint64_t calls, calls_dropped, streams, streams_dropped;
    uint64_t memory_bytes; /* tracking + reassembly state now (+ frames held for pcap_dir) */
    /* per-call pcap files (cfg.pcap_dir): files created, frames written (a file given up may
     * have lost its last few); reassembled datagrams and TCP-framed SIP messages whose frames
     * had been let go at a holding bound (their call's file lacks some); failed opens and writes
     * (disk full: that file is given up) */
    uint64_t pcap_files, pcap_frames, pcap_incomplete, pcap_write_errors;
    /* finished_path: calls and lone RTP streams written and let go; failed writes */
    uint64_t calls_finished, streams_finished, finished_write_errors;
};

void vox_capture_stats(const struct vox_capture *cap, struct vox_capture_stats *out);

/*
 * How long the analysis took, over every vox_capture_run of `cap`. A batch's latency runs from
 * the moment libpcap returned its first packet to the end of the batch's analysis: the longest
 * that any packet of the batch waited (offline, the previous batch's end stands for that moment,
 * so that one clock read per batch suffices). With a batch of one it is each packet's latency.
 * The percentiles come from a log-linear histogram (8 steps per power of two: within 12.5%).
 */
struct vox_capture_timing {
    uint64_t run_ns;  /* wall time inside vox_capture_run */
    uint64_t cpu_ns;  /* CPU time of the engine's threads inside it */
    uint64_t batches; /* batches analysed */
    unsigned threads; /* 1: the caller's thread; 2: a reader and an analyser (see threads) */
    uint64_t batch_p50_ns, batch_p90_ns, batch_p99_ns, batch_p999_ns, batch_max_ns;
};

void vox_capture_timing(const struct vox_capture *cap, struct vox_capture_timing *out);

/* Writes the calls and their streams as one JSON document (calls, streams, stats, config). */
int vox_capture_write_json(const struct vox_capture *cap, FILE *f);

/* The same document without the calls and streams: source, profile, stats and timing (what a
 * benchmark reads; its size does not grow with the calls). */
int vox_capture_write_summary_json(const struct vox_capture *cap, FILE *f);

/* Writes one CSV table: the calls (one row per call) or the streams (one row per stream). */
int vox_capture_write_calls_csv(const struct vox_capture *cap, FILE *f);
int vox_capture_write_streams_csv(const struct vox_capture *cap, FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* VOX_CAPTURE_H */
