/* SPDX-License-Identifier: MIT */
/*
 * The capture engine: libpcap source (file or interface) → decoder → reassembly (IP fragments,
 * TCP streams) → classification → call and stream tracking, with a counter for every packet
 * that a stage sets aside.
 *
 * Batching. Frames are read `batch_packets` at a time. Each is decoded where libpcap left it.
 * An RTP-shaped UDP payload (the bulk of VoIP traffic) keeps its 12-byte header and the key of
 * its stream, whose index slot is asked of memory at once; every other UDP payload is copied
 * and classified at the end of the batch by the pattern-matching backend (SIP or not). At the
 * batch's end the RTP packets find their streams, whose lines are asked for in turn, and then
 * every payload goes to the tracker in arrival order: a stream's first packets are accounted
 * behind the SIP message that announced them, and the batch's cache misses overlap (with
 * 10,000 calls at once the streams no longer fit in the cache).
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/callpcap.h"
#include "capture/decode.h"
#include "capture/internal.h"
#include "vox/alloc.h"
#include "vox/core.h"
#include "vox/exec.h"

/* ---- profiles ----------------------------------------------------------------------------------
 */

/*
 * The four profiles of the Go sniffer's TCP tuning table (lippycat docs/PERFORMANCE.md):
 * memory 25 / 100 / 500 / 200 MB, buffers 500 / 5 K / 20 K / 2 K, batch 8 / 32 / 64 / 1,
 * threads 1 / NumCPU / 2 x NumCPU / NumCPU. The stream timeouts are ours.
 */
static const struct vox_capture_profile profile_minimal = {"minimal",   8,     500,
                                                           25ull << 20, 30000, 1};
static const struct vox_capture_profile profile_balanced = {"balanced",   32,     5000,
                                                            100ull << 20, 120000, 0};
static const struct vox_capture_profile profile_high = {"high_performance", 64,     20000,
                                                        500ull << 20,       300000, 0};
static const struct vox_capture_profile profile_low_latency = {"low_latency", 1,     2000,
                                                               200ull << 20,  60000, 0};
static const struct vox_capture_profile *const profiles[] = {
    &profile_minimal, &profile_balanced, &profile_high, &profile_low_latency, NULL};

const struct vox_capture_profile *vox_capture_profile_find(const char *name)
{
    for (size_t i = 0; name && profiles[i]; i++)
        if (strcmp(profiles[i]->name, name) == 0)
            return profiles[i];
    return NULL;
}

const struct vox_capture_profile *const *vox_capture_profiles(void)
{
    return profiles;
}

void vox_capture_config_init(struct vox_capture_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->profile = profile_balanced;
}

/* ---- the engine ---------------------------------------------------------------------------------
 */

static bool pend_copy(struct vox_capture *cap, enum cap_pend_kind kind,
                      const struct vox_cap_tuple *t, const uint8_t *data, size_t len,
                      uint64_t ts_ns);

/* A SIP message framed by the TCP reassembler. It waits in the batch like a UDP payload, in
 * arrival order; with pcap_dir it is tracked at once, since the per-call writer lets its
 * segments go as soon as it is told the message's call. */
static void on_tcp_msg(void *user, const struct vox_cap_tuple *t, const uint8_t *msg,
                       size_t len_bytes, uint64_t ts_ns)
{
    struct vox_capture *cap = user;

    cap->stats.tcp_messages++;
    if (cap->cp)
        cap_callpcap_tcp_msg(cap->cp, t, msg, len_bytes,
                             cap_track_sip(&cap->tr, t, msg, len_bytes, ts_ns, 1));
    else
        pend_copy(cap, CAP_PEND_TCP_SIP, t, msg, len_bytes, ts_ns);
}

/* The per-call pcap writer (cfg->pcap_dir), sized like the reassemblers it shadows. */
static int callpcap_init(struct vox_capture *cap, const struct vox_capture_config *cfg,
                         struct vox_diag *diag)
{
    struct cap_callpcap_config c = {0};

    c.dir = cfg->pcap_dir;
    c.link = cap->link;
    c.snaplen = pcap_snapshot(cap->pcap);
    c.src_nano = cap->ts_nano;
    c.out_nano = cap->pcap_nano;
    c.max_buf_bytes = cfg->profile.memory_limit_bytes / 4;
    c.max_frag_bytes = cfg->profile.memory_limit_bytes / 4;
    c.max_datagrams = cfg->profile.buffers;
    c.max_tcp_bytes = cfg->profile.memory_limit_bytes / 2;
    c.max_tcp_streams = cfg->profile.buffers;
    c.tcp_timeout_ns = cfg->profile.stream_timeout_ms * 1000000ull;
    c.tr = &cap->tr;
    c.stats = &cap->stats;
    return cap_callpcap_create(&c, &cap->cp, diag);
}

static int engine_init(struct vox_capture *cap, const struct vox_capture_config *cfg,
                       struct vox_diag *diag)
{
    const struct vox_capture_profile *p = &cfg->profile;
    struct vox_defrag_config dcfg = {0};
    struct vox_tcpreasm_config tcfg = {0};
    unsigned batch = p->batch_packets == 0                  ? 1
                     : p->batch_packets > VOX_GPU_BATCH_MAX ? VOX_GPU_BATCH_MAX
                                                            : p->batch_packets;
    int rc;

    cap->cfg = *cfg;
    cap->cfg.profile.batch_packets = batch;
    rc = cap_tracker_init(&cap->tr, cfg, &cap->astats);
    if (rc) {
        vox_diag_set(diag, "capture: out of memory for the call tables");
        return rc;
    }
    /* The memory limit is shared: a quarter for fragments, half for TCP streams; calls and
     * streams are bounded by max_calls / max_streams. */
    dcfg.max_bytes = p->memory_limit_bytes / 4;
    dcfg.max_datagrams = p->buffers;
    dcfg.timeout_ns = 30ull * 1000000000ull; /* RFC 791's upper bound for the reassembly timer */
    rc = vox_defrag_create(&dcfg, &cap->defrag, NULL);
    if (rc) {
        vox_diag_set(diag, "capture: cannot create the IP defragmenter: %s", vox_strerror(rc));
        return rc;
    }
    tcfg.max_streams = p->buffers;
    tcfg.max_bytes = p->memory_limit_bytes / 2;
    tcfg.max_msg_bytes = VOX_SIP_MAX_MSG_BYTES;
    tcfg.timeout_ns = p->stream_timeout_ms * 1000000ull;
    tcfg.on_msg = on_tcp_msg;
    tcfg.user = cap;
    if (tcfg.max_bytes < 2 * (size_t)VOX_SIP_MAX_MSG_BYTES)
        tcfg.max_bytes = 2 * (size_t)VOX_SIP_MAX_MSG_BYTES;
    rc = vox_tcpreasm_create(&tcfg, &cap->tcp, NULL);
    if (rc) {
        vox_diag_set(diag, "capture: cannot create the TCP reassembler: %s", vox_strerror(rc));
        return rc;
    }
    rc = vox_gpu_create(cfg->match ? cfg->match : "auto", &cap->gpu, diag);
    if (rc)
        return rc;
    rc = vox_allocator_create(cfg->alloc ? cfg->alloc : "system", NULL, &cap->alloc, diag);
    if (rc)
        return rc;
    /* A bad executor name is an error even where one thread will run (one CPU). */
    if (cfg->exec && strcmp(cfg->exec, "auto") != 0 && !vox_executor_backend_find(cfg->exec)) {
        char names[256];

        vox_executor_backend_names(names, sizeof names);
        vox_diag_set(diag, "capture: executor '%s' is unknown; available: %s", cfg->exec, names);
        return VOX_EUNKNOWN_BACKEND;
    }
    /* Two threads when the profile asks for more than one (0: one per CPU) and there are two
     * CPUs: the reader and the analyser are the engine's two stages. The per-call writer
     * follows the reader's frames, so it keeps the analysis on the reader's thread; and a
     * batch of one stays on one thread, since handing over each packet costs more than its
     * analysis (measured: low_latency ran at a third of its one-thread rate). */
    {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned want = p->threads ? p->threads : cpus > 0 ? (unsigned)cpus : 1;

        cap->threads = want >= 2 && cpus >= 2 && batch >= 2 && !cfg->pcap_dir ? 2 : 1;
    }
    cap->nbatches = cap->threads == 2 ? CAP_PIPE_DEPTH : 1;
    cap->cap_pend = batch;
    cap->gpkts = calloc(batch, sizeof *cap->gpkts);
    cap->gclass = calloc(batch, sizeof *cap->gclass);
    /* The Call-IDs that hint the calls' lines (prefetch_calls) come from the matcher when it
     * runs on the CPU; a device's round trip per batch would cost more than the hints save. */
    cap->call_hints = strcmp(vox_gpu_name(cap->gpu), "cuda") != 0;
    cap->gsip = calloc(batch, sizeof *cap->gsip);
    cap->gcid = calloc(batch, sizeof *cap->gcid);
    cap->gcid_h = calloc(batch, sizeof *cap->gcid_h);
    if (!cap->gpkts || !cap->gclass || !cap->gsip || !cap->gcid || !cap->gcid_h)
        goto nomem;
    for (unsigned i = 0; i < cap->nbatches; i++) {
        struct cap_batch *b = &cap->batches[i];

        b->arena_cap = (size_t)batch * 2048;
        b->pend = vox_alloc_array(cap->alloc, batch, sizeof *b->pend);
        b->arena = vox_alloc(cap->alloc, b->arena_cap);
        if (!b->pend || !b->arena)
            goto nomem;
    }
    cap->fill = &cap->batches[0];
    if (cfg->finished_path) {
        cap->finished = fopen(cfg->finished_path, "w");
        if (!cap->finished) {
            int e = errno;

            vox_diag_set(diag, "%s: %s", cfg->finished_path, strerror(e));
            return VOX_EIO;
        }
        cap->linger_ns = (cfg->linger_ms ? cfg->linger_ms : 5000) * 1000000ull;
        cap->idle_ns = p->stream_timeout_ms * 1000000ull;
    }
    if (cap->threads == 2) {
        rc = cap_pipe_create(cap, diag);
        if (rc)
            return rc;
    }
    if (cfg->pcap_dir)
        return callpcap_init(cap, cfg, diag);
    return 0;
nomem:
    vox_diag_set(diag, "capture: out of memory for a batch of %u packets", batch);
    return VOX_ENOMEM;
}

/* A call or lone stream is over: its pcap file is completed and its JSON line written before it
 * leaves the tables. */
static void on_finished(void *user, const struct cap_tracker *tr, uint32_t call, uint32_t stream,
                        const char *reason)
{
    struct vox_capture *cap = user;

    if (call != CAP_NONE)
        cap->astats.calls_finished++;
    else
        cap->astats.streams_finished++;
    if (cap->cp && call != CAP_NONE)
        cap_callpcap_retire(cap->cp, call);
    if (cap_write_finished(tr, call, stream, reason, &cap->finished_line, cap->finished) != 0)
        cap->astats.finished_write_errors++;
}

/* The SIP messages of a batch ask for their calls' index slots, then for the calls' lines, so
 * that with many calls at once their cache misses overlap as the RTP packets' do. */
static void prefetch_calls(struct vox_capture *cap, size_t ng)
{
    size_t nsip = 0;

    for (size_t i = 0; i < ng; i++)
        if (cap->gclass[i] == VOX_GPU_SIP_REQUEST || cap->gclass[i] == VOX_GPU_SIP_RESPONSE)
            cap->gsip[nsip++] = cap->gpkts[i];
    if (nsip < 2 || vox_gpu_extract_call_id(cap->gpu, cap->gsip, nsip, cap->gcid, NULL) != 0)
        return; /* one message has nothing to overlap with; a failure only loses hints */
    for (size_t i = 0; i < nsip; i++)
        if (cap->gcid[i].off >= 0)
            cap->gcid_h[i] = cap_call_prefetch(&cap->tr, cap->gsip[i].data + cap->gcid[i].off,
                                               cap->gcid[i].len_bytes);
    for (size_t i = 0; i < nsip; i++)
        if (cap->gcid[i].off >= 0)
            cap_call_candidate(&cap->tr, cap->gcid_h[i]);
}

/*
 * The end of a batch. The RTP-shaped payloads first look up their streams' index slots (asked
 * for as they arrived) and ask for the streams' lines; the UDP payloads are classified by the
 * pattern-matching backend (SIP or not), and the SIP ones ask for their calls'
 * (prefetch_calls); then all go to the tracker in arrival order. With
 * pcap_dir, the batch's frames are then written to their calls' files.
 */
void cap_analyse(struct vox_capture *cap, struct cap_batch *b)
{
    size_t ng = 0;

    if (cap->pipe)
        for (size_t i = 0; i < b->npend; i++)
            if (b->pend[i].kind == CAP_PEND_RTP)
                cap_stream_prefetch(&cap->tr, b->pend[i].h);
    for (size_t i = 0; i < b->npend; i++) {
        struct cap_pending *pd = &b->pend[i];

        if (pd->kind == CAP_PEND_RTP) {
            pd->hint = cap_stream_candidate(&cap->tr, pd->h, &pd->tuple);
        } else if (pd->kind == CAP_PEND_UDP) {
            cap->gpkts[ng].data = b->arena + pd->off;
            cap->gpkts[ng].len_bytes = pd->len;
            pd->hint = (uint32_t)ng++;
        }
    }
    /* Should the backend fail (a device error), the tracker sorts the batch by itself: RTP
     * first, then a full SIP parse of what is left. */
    if (ng && vox_gpu_classify(cap->gpu, cap->gpkts, ng, cap->gclass, NULL) != 0)
        memset(cap->gclass, 0xff, ng);
    if (ng && cap->call_hints)
        prefetch_calls(cap, ng);
    for (size_t i = 0; i < b->npend; i++) {
        const struct cap_pending *pd = &b->pend[i];
        const uint8_t *data = b->arena + pd->off;
        uint32_t call = CAP_NONE;
        uint8_t cls;

        switch (pd->kind) {
        case CAP_PEND_RTP:
            if (!cap_track_rtp(&cap->tr, &pd->tuple, pd->hdr, pd->len, pd->ts_ns, pd->h, pd->hint,
                               &call))
                cap->stats.other_udp++;
            break;
        case CAP_PEND_TCP_SIP:
            cap_track_sip(&cap->tr, &pd->tuple, data, pd->len, pd->ts_ns, 1);
            break;
        default:
            cls = cap->gclass[pd->hint];
            if (cls == VOX_GPU_SIP_REQUEST || cls == VOX_GPU_SIP_RESPONSE)
                call = cap_track_sip(&cap->tr, &pd->tuple, data, pd->len, pd->ts_ns, 0);
            else if (!cap_track_udp(&cap->tr, &pd->tuple, data, pd->len, pd->ts_ns, &call)) {
                if (cls == 0xff)
                    call = cap_track_sip(&cap->tr, &pd->tuple, data, pd->len, pd->ts_ns, 0);
                else
                    cap->astats.other_udp++;
            }
            break;
        }
        if (cap->cp && pd->kind != CAP_PEND_TCP_SIP)
            cap_callpcap_resolve(cap->cp, pd->pcap_first, pd->pcap_count, call);
    }
    b->npend = 0;
    b->arena_used = 0;
    if (cap->cp)
        cap_callpcap_flush(cap->cp);
    /* once a second of capture time, the calls that are over leave the tables */
    if (cap->finished && b->now_ns && b->now_ns - cap->last_finish_ns >= 1000000000ull) {
        cap->last_finish_ns = b->now_ns;
        if (cap_tracker_evict(&cap->tr, b->now_ns, cap->linger_ns, cap->idle_ns, on_finished,
                              cap) &&
            fflush(cap->finished) != 0)
            cap->astats.finished_write_errors++;
    }
    b->now_ns = 0;
    b->timed = false;
}

/* The reader's batch is done: analysed at once, or handed to the analyser (which then counts
 * its latency). Mid-batch (`whole` 0: the batch's room ran out) the next part keeps the
 * batch's start. */
static void end_batch(struct vox_capture *cap, int whole)
{
    uint64_t first = cap->fill->first_ns;
    bool timed = cap->fill->timed;

    if (cap->pipe) {
        cap_pipe_publish(cap);
        cap->last_end_ns = vox_clock_ns();
    } else {
        cap_analyse(cap, cap->fill);
        cap->last_end_ns = vox_clock_ns();
        if (whole && timed)
            cap_batch_done(cap, first, cap->last_end_ns);
    }
    if (!whole)
        cap->fill->first_ns = first;
}

/* Room in the reader's batch for one more entry of `arena_bytes` bytes; false when a
 * datagram is too big for the arena and it cannot grow (counted). */
static bool pend_room(struct vox_capture *cap, size_t arena_bytes)
{
    struct cap_batch *b = cap->fill;

    if (b->npend == cap->cap_pend || b->arena_used + arena_bytes > b->arena_cap) {
        end_batch(cap, 0);
        b = cap->fill;
    }
    if (arena_bytes > b->arena_cap) { /* a reassembled 64 KB datagram: grow once */
        uint8_t *a = vox_alloc(cap->alloc, arena_bytes);

        if (!a) {
            cap->stats.sip_bad++;
            return false;
        }
        vox_free(cap->alloc, b->arena, b->arena_cap);
        b->arena = a;
        b->arena_cap = arena_bytes;
    }
    return true;
}

static bool pend_copy(struct vox_capture *cap, enum cap_pend_kind kind,
                      const struct vox_cap_tuple *t, const uint8_t *data, size_t len,
                      uint64_t ts_ns)
{
    struct cap_pending *pd;
    struct cap_batch *b;

    if (!pend_room(cap, len))
        return false;
    b = cap->fill;
    pd = &b->pend[b->npend++];
    pd->tuple = *t;
    pd->ts_ns = ts_ns;
    pd->len = (uint32_t)len;
    pd->kind = (uint8_t)kind;
    pd->off = (uint32_t)b->arena_used;
    memcpy(b->arena + b->arena_used, data, len);
    b->arena_used += len;
    return true;
}

static void pend_udp(struct vox_capture *cap, const struct vox_cap_pkt *pk, uint64_t ts_ns)
{
    struct cap_pending *pd;
    struct cap_batch *b;
    const uint8_t *p = pk->payload;

    if (!cap_rtp_shaped(p, pk->payload_len_bytes)) {
        if (!pend_copy(cap, CAP_PEND_UDP, &pk->tuple, p, pk->payload_len_bytes, ts_ns))
            return;
    } else {
        if (!pend_room(cap, 0))
            return;
        b = cap->fill;
        pd = &b->pend[b->npend++];
        pd->tuple = pk->tuple;
        pd->ts_ns = ts_ns;
        pd->len = (uint32_t)pk->payload_len_bytes;
        pd->kind = CAP_PEND_RTP;
        pd->off = 0;
        /* the header is all the tracker reads of an RTP packet */
        memcpy(pd->hdr, p, sizeof pd->hdr);
        pd->h = cap_rtp_hash(&pk->tuple, p);
        /* with one thread, the slot is asked for now, a whole batch ahead; the analyser
         * thread asks for it itself (the reader may not read the tracker's tables) */
        if (!cap->pipe)
            cap_stream_prefetch(&cap->tr, pd->h);
    }
    /* libpcap reuses the frame's buffer before the batch ends: the writer keeps a copy */
    if (cap->cp) {
        b = cap->fill;
        pd = &b->pend[b->npend - 1];
        cap_callpcap_defer(cap->cp, &pd->pcap_first, &pd->pcap_count);
    }
}

/* A decoded UDP or TCP packet (from a frame or a reassembled datagram). */
static void handle_l4(struct vox_capture *cap, const struct vox_cap_pkt *pk, uint64_t ts_ns)
{
    if (pk->tuple.proto == 17) {
        if (pk->payload_len_bytes == 0)
            cap->stats.other_udp++;
        else
            pend_udp(cap, pk, ts_ns);
        return;
    }
    cap->stats.tcp_segments++;
    if (pk->truncated) {
        cap->stats.truncated++;
        return;
    }
    if (cap->cp)
        cap_callpcap_tcp_segment(cap->cp, pk);
    vox_tcpreasm_segment(cap->tcp, &pk->tuple, pk->tcp_seq, pk->tcp_flags, pk->payload,
                         pk->payload_len_bytes, ts_ns);
}

static void handle_frame(struct vox_capture *cap, const struct pcap_pkthdr *hdr,
                         const uint8_t *data, uint64_t ts_ns)
{
    struct vox_cap_pkt pk;
    enum vox_cap_verdict v = vox_cap_decode(cap->link, data, hdr->caplen, &pk);

    if (cap->cp)
        cap_callpcap_frame(cap->cp, hdr, data, ts_ns);

    switch (v) {
    case VOX_CAP_OK:
        handle_l4(cap, &pk, ts_ns);
        return;
    case VOX_CAP_FRAGMENT: {
        struct vox_defrag_out dout;
        int rc;

        cap->stats.fragments++;
        if (pk.tuple.family == 4)
            rc = vox_defrag_ipv4(cap->defrag, pk.l3, pk.l3_len_bytes, ts_ns, &dout, NULL);
        else
            rc = vox_defrag_ipv6(cap->defrag, pk.l3, pk.l3_len_bytes, ts_ns, &dout, NULL);
        if (rc == VOX_DEFRAG_COMPLETE) {
            struct vox_cap_pkt whole;

            cap->stats.datagrams_reassembled++;
            /* The per-call writer hands the datagram's held fragments on with the packet. */
            if (cap->cp)
                cap_callpcap_frag_complete(cap->cp, &pk);
            /* The datagram lives in the defragmenter until its next call: handle_l4 copies
             * what it keeps (pend_udp) or hands it to the TCP reassembler, which copies. */
            if (vox_cap_decode_ip(dout.datagram, dout.len_bytes, &whole) == VOX_CAP_OK)
                handle_l4(cap, &whole, ts_ns);
            else
                cap->stats.bad_ip++;
            if (cap->cp)
                cap_callpcap_frag_done(cap->cp);
        } else if (cap->cp) {
            if (rc == VOX_DEFRAG_HELD)
                cap_callpcap_frag_held(cap->cp, &pk);
            else
                cap_callpcap_frag_dropped(cap->cp, &pk);
        }
        return;
    }
    case VOX_CAP_NOT_IP:
        cap->stats.not_ip++;
        return;
    case VOX_CAP_OTHER_PROTO:
        cap->stats.other_proto++;
        return;
    case VOX_CAP_BAD_LINK:
        cap->stats.bad_link++;
        return;
    case VOX_CAP_BAD_IP:
        cap->stats.bad_ip++;
        return;
    case VOX_CAP_BAD_L4:
        cap->stats.bad_l4++;
        return;
    case VOX_CAP_TRUNCATED:
    default:
        cap->stats.truncated++;
        return;
    }
}

/* A zeroed engine, aligned for its per-thread cache lines. */
static struct vox_capture *capture_new(void)
{
    struct vox_capture *cap = aligned_alloc(alignof(struct vox_capture), sizeof *cap);

    if (cap)
        memset(cap, 0, sizeof *cap);
    return cap;
}

static int open_common(struct vox_capture *cap, const struct vox_capture_config *cfg,
                       struct vox_diag *diag)
{
    int rc = 0;

    cap->link = pcap_datalink(cap->pcap);
    if (!vox_cap_link_supported(cap->link)) {
        vox_diag_set(diag,
                     "%s: link type %d (%s) is not supported; supported: Ethernet, "
                     "802.1Q, Linux cooked v1/v2, raw IP, BSD loopback",
                     cap->source, cap->link,
                     pcap_datalink_val_to_name(cap->link) ? pcap_datalink_val_to_name(cap->link)
                                                          : "unknown");
        return VOX_EMALFORMED;
    }
    if (cfg->filter && cfg->filter[0]) {
        struct bpf_program prog;

        if (pcap_compile(cap->pcap, &prog, cfg->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            vox_diag_set(diag, "filter '%s': %s", cfg->filter, pcap_geterr(cap->pcap));
            return VOX_EINVAL;
        }
        if (pcap_setfilter(cap->pcap, &prog) != 0) {
            vox_diag_set(diag, "filter '%s': %s", cfg->filter, pcap_geterr(cap->pcap));
            rc = VOX_EINVAL;
        }
        pcap_freecode(&prog);
    }
    return rc;
}

/* Finishes an offline open once libpcap has the file (pcap_close frees it on failure). */
static int open_offline(struct vox_capture *cap, const struct vox_capture_config *cfg,
                        struct vox_capture **out, struct vox_diag *diag)
{
    int rc;

    cap->ts_nano = 1;
    if (cfg->pcap_dir)
        cap->pcap_nano = cap_callpcap_file_nano(pcap_file(cap->pcap));
    rc = open_common(cap, cfg, diag);
    if (!rc)
        rc = engine_init(cap, cfg, diag);
    if (rc) {
        vox_capture_close(cap);
        return rc;
    }
    *out = cap;
    return 0;
}

int vox_capture_open_file(const struct vox_capture_config *cfg, const char *path,
                          struct vox_capture **out, struct vox_diag *diag)
{
    FILE *f;

    *out = NULL;
    /* fopen first, so that a missing file and a file that is not a capture differ. */
    f = fopen(path, "rb");
    if (!f) {
        int e = errno;

        vox_diag_set(diag, "%s: %s", path, strerror(e));
        return VOX__ERR(e);
    }
    return cap_open_stream(cfg, f, path, out, diag);
}

int cap_open_stream(const struct vox_capture_config *cfg, FILE *f, const char *name,
                    struct vox_capture **out, struct vox_diag *diag)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    struct vox_capture *cap = capture_new();

    *out = NULL;
    if (!cap) {
        fclose(f);
        return VOX_ENOMEM;
    }
    snprintf(cap->source, sizeof cap->source, "%s", name);
    cap->pcap = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
    if (!cap->pcap) {
        vox_diag_set(diag, "%s: not a pcap or pcapng file: %s", name, err);
        fclose(f);
        free(cap);
        return VOX_EMALFORMED;
    }
    return open_offline(cap, cfg, out, diag);
}

int vox_capture_open_live(const struct vox_capture_config *cfg, const char *ifname,
                          struct vox_capture **out, struct vox_diag *diag)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    struct vox_capture *cap;
    int rc;

    *out = NULL;
    cap = capture_new();
    if (!cap)
        return VOX_ENOMEM;
    snprintf(cap->source, sizeof cap->source, "%s", ifname);
    cap->live = 1;
    cap->pcap = pcap_create(ifname, err);
    if (!cap->pcap) {
        vox_diag_set(diag, "interface %s: %s", ifname, err);
        free(cap);
        return VOX_EIO;
    }
    pcap_set_snaplen(cap->pcap, cfg->snaplen > 0 ? cfg->snaplen : 65535);
    pcap_set_promisc(cap->pcap, cfg->promisc ? 1 : 0);
    pcap_set_timeout(cap->pcap, cfg->timeout_ms ? (int)cfg->timeout_ms : 100);
    if (cfg->buffer_bytes)
        pcap_set_buffer_size(cap->pcap, (int)cfg->buffer_bytes);
    /* A batch of one is the low-latency profile: deliver each packet as it arrives. */
    if (cfg->profile.batch_packets <= 1)
        pcap_set_immediate_mode(cap->pcap, 1);
    cap->ts_nano = pcap_set_tstamp_precision(cap->pcap, PCAP_TSTAMP_PRECISION_NANO) == 0;
    cap->pcap_nano = cap->ts_nano;
    rc = pcap_activate(cap->pcap);
    if (rc < 0) {
        vox_diag_set(diag, "interface %s: %s (%s)", ifname, pcap_statustostr(rc),
                     pcap_geterr(cap->pcap));
        pcap_close(cap->pcap);
        free(cap);
        return VOX_EIO;
    }
    rc = open_common(cap, cfg, diag);
    if (!rc)
        rc = engine_init(cap, cfg, diag);
    if (rc) {
        vox_capture_close(cap);
        return rc;
    }
    *out = cap;
    return 0;
}

/* ---- timing ---- */

static unsigned lat_bucket(uint64_t v)
{
    unsigned e;

    if (v < (1u << CAP_LAT_SUB_BITS))
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v);
    return ((e - CAP_LAT_SUB_BITS + 1) << CAP_LAT_SUB_BITS) |
           (unsigned)((v >> (e - CAP_LAT_SUB_BITS)) & ((1u << CAP_LAT_SUB_BITS) - 1));
}

/* The middle of bucket `i`'s range (its value, for the exact ones). */
static uint64_t lat_value(unsigned i)
{
    unsigned e, sub = i & ((1u << CAP_LAT_SUB_BITS) - 1);
    uint64_t low;

    if (i < (1u << CAP_LAT_SUB_BITS))
        return i;
    e = (i >> CAP_LAT_SUB_BITS) + CAP_LAT_SUB_BITS - 1;
    low = (uint64_t)((1u << CAP_LAT_SUB_BITS) | sub) << (e - CAP_LAT_SUB_BITS);
    return low + ((1ull << (e - CAP_LAT_SUB_BITS)) >> 1);
}

void cap_batch_done(struct vox_capture *cap, uint64_t first_ns, uint64_t end_ns)
{
    uint64_t v = end_ns > first_ns ? end_ns - first_ns : 0;

    cap->batches_done++;
    cap->batch_hist[lat_bucket(v)]++;
    if (v > cap->batch_max_ns)
        cap->batch_max_ns = v;
}

uint64_t cap_thread_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t lat_percentile(const struct vox_capture *cap, double pct)
{
    uint64_t rank, seen = 0;

    if (!cap->batches_done)
        return 0;
    rank = (uint64_t)(pct / 100.0 * (double)cap->batches_done);
    if (rank >= cap->batches_done)
        rank = cap->batches_done - 1;
    for (unsigned i = 0; i < CAP_LAT_BUCKETS; i++) {
        seen += cap->batch_hist[i];
        if (seen > rank) {
            uint64_t v = lat_value(i);

            return v < cap->batch_max_ns ? v : cap->batch_max_ns;
        }
    }
    return cap->batch_max_ns;
}

void vox_capture_timing(const struct vox_capture *cap, struct vox_capture_timing *out)
{
    memset(out, 0, sizeof *out);
    out->run_ns = cap->run_ns;
    out->cpu_ns = cap->cpu_ns;
    out->batches = cap->batches_done;
    out->threads = cap->threads;
    out->batch_p50_ns = lat_percentile(cap, 50);
    out->batch_p90_ns = lat_percentile(cap, 90);
    out->batch_p99_ns = lat_percentile(cap, 99);
    out->batch_p999_ns = lat_percentile(cap, 99.9);
    out->batch_max_ns = cap->batch_max_ns;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void expire(struct vox_capture *cap, uint64_t now_ns)
{
    if (now_ns - cap->last_expire_ns < 1000000000ull)
        return;
    cap->last_expire_ns = now_ns;
    vox_defrag_expire(cap->defrag, now_ns);
    vox_tcpreasm_expire(cap->tcp, now_ns);
    if (cap->cp)
        cap_callpcap_expire(cap->cp, now_ns);
}

int vox_capture_run(struct vox_capture *cap, uint64_t max_packets, uint64_t duration_ms,
                    struct vox_diag *diag)
{
    uint64_t start = vox_clock_ns(), deadline = duration_ms ? start + duration_ms * 1000000ull : 0;
    uint64_t cpu0 = cap_thread_cpu_ns();
    unsigned batch = cap->cfg.profile.batch_packets, inbatch = 0;
    int ret = 0;

    cap->last_end_ns = start;
    if (cap->pipe)
        ret = cap_pipe_start(cap, diag);
    while (!ret && !atomic_load_explicit(&cap->stop, memory_order_relaxed) &&
           (!max_packets || cap->stats.read < max_packets)) {
        struct pcap_pkthdr *hdr;
        const u_char *data;
        int rc = pcap_next_ex(cap->pcap, &hdr, &data);

        if (rc == 1) {
            uint64_t ts = (uint64_t)hdr->ts.tv_sec * 1000000000ull +
                          (uint64_t)hdr->ts.tv_usec * (cap->ts_nano ? 1u : 1000u);

            if (cap->stats.read == 0)
                cap->tr.origin_ns = ts;
            if (ts < cap->tr.origin_ns) /* a frame older than the first: clamp, not wrap */
                ts = cap->tr.origin_ns;
            /* A live batch starts when its first packet arrives; offline, when the last ended. */
            if (inbatch == 0)
                cap->fill->first_ns = cap->live ? vox_clock_ns() : cap->last_end_ns;
            cap->stats.read++;
            cap->stats.bytes += hdr->caplen;
            handle_frame(cap, hdr, data, ts);
            cap->fill->now_ns = ts;
            cap->fill->timed = true;
            if (++inbatch >= batch) {
                end_batch(cap, 1);
                inbatch = 0;
                expire(cap, ts);
            }
        } else if (rc == 0) { /* live: the read timeout passed with no packet */
            if (inbatch) {
                end_batch(cap, 1);
            } else if (cap->finished) {
                /* a silent line: calls still finish, by the wall clock */
                cap->fill->now_ns = wall_ns();
                end_batch(cap, 1);
            } else if (cap->cp) {
                cap_callpcap_flush(cap->cp);
            }
            inbatch = 0;
        } else if (rc == PCAP_ERROR_BREAK) {
            break; /* end of the file, or pcap_breakloop */
        } else {
            vox_diag_set(diag, "%s: after packet %llu: %s", cap->source,
                         (unsigned long long)cap->stats.read, pcap_geterr(cap->pcap));
            ret = VOX_EMALFORMED;
            break;
        }
        if (deadline && (cap->stats.read & 63) == 0 && vox_clock_ns() >= deadline)
            break;
        if (deadline && rc == 0 && vox_clock_ns() >= deadline)
            break;
    }
    if (inbatch || cap->fill->npend)
        end_batch(cap, 1);
    else if (cap->cp)
        cap_callpcap_flush(cap->cp);
    if (cap->pipe)
        cap_pipe_finish(cap); /* the analyser has taken every batch */
    if (cap->cp)
        cap_callpcap_sync(cap->cp); /* the per-call files complete on disk */
    cap->run_ns += vox_clock_ns() - start;
    cap->cpu_ns += cap_thread_cpu_ns() - cpu0;
    if (cap->live) {
        struct pcap_stat ps;

        if (pcap_stats(cap->pcap, &ps) == 0) {
            cap->stats.kernel_received = ps.ps_recv;
            cap->stats.kernel_dropped = ps.ps_drop;
            cap->stats.kernel_if_dropped = ps.ps_ifdrop;
        }
    }
    return ret;
}

int vox_capture_finish_all(struct vox_capture *cap, struct vox_diag *diag)
{
    uint64_t errors = cap->astats.finished_write_errors;

    if (!cap->finished)
        return 0;
    cap_tracker_evict(&cap->tr, UINT64_MAX, 0, 0, on_finished, cap);
    if (fflush(cap->finished) != 0)
        cap->astats.finished_write_errors++;
    if (cap->astats.finished_write_errors != errors) {
        vox_diag_set(diag, "%s: writing finished calls failed (disk full?)",
                     cap->cfg.finished_path);
        return VOX_EIO;
    }
    return 0;
}

void vox_capture_stop(struct vox_capture *cap)
{
    atomic_store_explicit(&cap->stop, 1, memory_order_relaxed);
    if (cap->pcap)
        pcap_breakloop(cap->pcap);
}

void vox_capture_close(struct vox_capture *cap)
{
    if (!cap)
        return;
    if (cap->pcap)
        pcap_close(cap->pcap);
    cap_pipe_destroy(cap); /* the analyser's executor shut down */
    if (cap->finished)
        fclose(cap->finished);
    free(cap->finished_line.p);
    cap_callpcap_destroy(cap->cp); /* every per-call file flushed and closed */
    vox_tcpreasm_destroy(cap->tcp);
    vox_defrag_destroy(cap->defrag);
    vox_gpu_destroy(cap->gpu);
    cap_tracker_free(&cap->tr);
    for (unsigned i = 0; i < cap->nbatches && cap->alloc; i++) {
        vox_free(cap->alloc, cap->batches[i].pend, cap->cap_pend * sizeof *cap->batches[i].pend);
        vox_free(cap->alloc, cap->batches[i].arena, cap->batches[i].arena_cap);
    }
    vox_allocator_destroy(cap->alloc);
    free(cap->gpkts);
    free(cap->gclass);
    free(cap->gsip);
    free(cap->gcid);
    free(cap->gcid_h);
    free(cap);
}

void vox_capture_stats(const struct vox_capture *cap, struct vox_capture_stats *out)
{
    struct vox_defrag_stats ds;
    struct vox_tcpreasm_stats ts;
    uint64_t *o = (uint64_t *)out;
    const uint64_t *a = (const uint64_t *)&cap->astats;

    /* The reader's counters and the analyser's are kept apart (each thread writes its own
     * cache lines); each counter is one side's, the other's copy stays 0. */
    *out = cap->stats;
    for (size_t i = 0; i < sizeof *out / sizeof *o; i++)
        o[i] += a[i];
    vox_defrag_stats(cap->defrag, &ds);
    vox_tcpreasm_stats(cap->tcp, &ts);
    out->fragments_dropped = ds.fragments_discarded;
    out->other_tcp = ts.malformed;
    out->tcp_gaps = ts.gaps_skipped;
    out->tcp_resyncs = ts.resyncs;
    out->tcp_dropped_bytes = ts.bytes_discarded;
    out->memory_bytes = cap_tracker_bytes(&cap->tr) + ds.bytes_held + ts.bytes_held;
    if (cap->cp)
        out->memory_bytes += cap_callpcap_bytes(cap->cp);
}
