/* SPDX-License-Identifier: MIT */
/*
 * Internal to the capture engine: the per-call pcap writer (vox_capture_config.pcap_dir). Every
 * frame that the engine attributes to a call is written, with its captured bytes and its
 * timestamp, to one pcap file per call. capture.c tells it which frame is being handled and,
 * once known, the frame's call; frames whose call is known only later (IP fragments, TCP
 * segments) are held here as copies. The scheme: docs/capture.md, "Per-call pcap files".
 */
#ifndef VOX_CAPTURE_CALLPCAP_H
#define VOX_CAPTURE_CALLPCAP_H

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/decode.h"
#include "vox/capture.h"
#include "vox/err.h"

#define CAP_CALLPCAP_MAX_OPEN  64 /* per-call files open at once (least recently used closed) */
#define CAP_CALLPCAP_NAME_KEEP 64 /* Call-ID characters kept in a file name */

struct cap_tracker;
struct cap_callpcap;

struct cap_callpcap_config {
    const char *dir;                 /* created with its parents when missing */
    int link;                        /* the source's DLT_ link type */
    int snaplen;                     /* the source's snap length */
    int src_nano;                    /* 1: the source's ts.tv_usec holds nanoseconds */
    int out_nano;                    /* 1: write nanosecond files (else microseconds) */
    unsigned max_open;               /* files open at once; 0: CAP_CALLPCAP_MAX_OPEN */
    size_t max_buf_bytes;            /* frames buffered for the files in all; 0: 32 MiB */
    size_t max_frag_bytes;           /* frames held for IP datagrams in reassembly; 0: 16 MiB */
    uint32_t max_datagrams;          /* datagrams held for; 0: 1024 */
    size_t max_tcp_bytes;            /* frames held for SIP messages framed from TCP; 0: 32 MiB */
    uint32_t max_tcp_streams;        /* TCP directions held for; 0: 4096 */
    uint64_t tcp_timeout_ns;         /* a direction idle this long lets its frames go; 0: 120 s */
    const struct cap_tracker *tr;    /* the calls (their Call-IDs name the files) */
    struct vox_capture_stats *stats; /* pcap_* counters */
};

/*
 * Creates the writer into *out (freed with cap_callpcap_destroy). Creates cfg->dir (and its
 * parents) when it does not exist. Returns 0, VOX_EIO (the folder cannot be created, is not a
 * folder or is not writable; `diag` names it and the reason) or VOX_ENOMEM.
 */
int cap_callpcap_create(const struct cap_callpcap_config *cfg, struct cap_callpcap **out,
                        struct vox_diag *diag);

/* Writes nothing more; flushes and closes every file, frees what is held. NULL: no-op. */
void cap_callpcap_destroy(struct cap_callpcap *cp);

/* Tests: the bound on files open at once, the bytes buffered per call before its file is
 * written and in all (writes what is buffered and closes the files first). 0: the default. */
void cap_callpcap_set_limits(struct cap_callpcap *cp, unsigned max_open, size_t call_buf_bytes,
                             size_t max_buf_bytes);

/* Tests: files opened so far (first opens and reopens). */
uint64_t cap_callpcap_opens(const struct cap_callpcap *cp);

/*
 * The file name of a call: the Call-ID's first CAP_CALLPCAP_NAME_KEEP bytes with every byte
 * outside [A-Za-z0-9._@-] replaced by '_' (and a leading '.' too), '-', the 16 hex digits of
 * `id_hash` (the tracker's 64-bit hash of the whole Call-ID), ".pcap". Returns snprintf's.
 */
int cap_callpcap_name(const char *call_id, uint64_t id_hash, char *out, size_t cap);

/* 1 when the capture file open as `f` should give nanosecond files: all but a pcap file with
 * the microsecond magic. Reads the file's first 4 bytes and seeks back to where `f` was (libpcap
 * may have read on: it reads records in sequence); 1 when `f` cannot seek (a pipe). */
int cap_callpcap_file_nano(FILE *f);

/* The frame being handled now; hdr and data are used until the next call, never kept. */
void cap_callpcap_frame(struct cap_callpcap *cp, const struct pcap_pkthdr *hdr, const uint8_t *data,
                        uint64_t ts_ns);

/*
 * IP fragments (pk as vox_cap_decode gave it, VOX_CAP_FRAGMENT), after the defragmenter's
 * verdict on the frame: held (a copy is kept), dropped (what is held for its datagram goes),
 * or complete: the held fragments join the frame, and the datagram's packet is then handled
 * as one "frame group" by the calls below; cap_callpcap_frag_done ends it.
 */
void cap_callpcap_frag_held(struct cap_callpcap *cp, const struct vox_cap_pkt *pk);
void cap_callpcap_frag_dropped(struct cap_callpcap *cp, const struct vox_cap_pkt *pk);
void cap_callpcap_frag_complete(struct cap_callpcap *cp, const struct vox_cap_pkt *pk);
void cap_callpcap_frag_done(struct cap_callpcap *cp);

/* The frame group (the frame, or a datagram's fragments) is queued; its call is told at the
 * end of the batch: its entries are returned (first, count) for cap_callpcap_resolve, which
 * must come before cap_callpcap_flush. */
void cap_callpcap_defer(struct cap_callpcap *cp, uint32_t *first, uint32_t *count);
void cap_callpcap_resolve(struct cap_callpcap *cp, uint32_t first, uint32_t count, uint32_t call);

/* A TCP segment about to be given to the reassembler (pk->tuple.proto 6): its frame group is
 * held until the messages its bytes belong to are framed. */
void cap_callpcap_tcp_segment(struct cap_callpcap *cp, const struct vox_cap_pkt *pk);

/* A SIP message the reassembler framed from direction t, of `call` (CAP_NONE: none): the held
 * segments that carried its bytes are queued for the call. */
void cap_callpcap_tcp_msg(struct cap_callpcap *cp, const struct vox_cap_tuple *t,
                          const uint8_t *msg, size_t len_bytes, uint32_t call);

/* The end of a batch: writes the queue to the files, in arrival order. */
void cap_callpcap_flush(struct cap_callpcap *cp);

/* Flushes every open file (the end of a run), so that the files are complete on disk. */
void cap_callpcap_sync(struct cap_callpcap *cp);

/* Call n has finished (vox_capture_config.finished_path) and its tracker slot is about to be
 * reused: what is buffered for it is written, its file flushed and closed (complete on disk),
 * and the slot starts afresh. A later call of the same Call-ID appends to the same file. Frames
 * held for TCP messages of the old call no longer go to the slot. Between batches. */
void cap_callpcap_retire(struct cap_callpcap *cp, uint32_t n);

/* Lets go of frames held for datagrams older than 30 s and TCP directions idle too long. */
void cap_callpcap_expire(struct cap_callpcap *cp, uint64_t now_ns);

/* Bytes held now (frame copies, the queue, the tables). */
size_t cap_callpcap_bytes(const struct cap_callpcap *cp);

#endif /* VOX_CAPTURE_CALLPCAP_H */
