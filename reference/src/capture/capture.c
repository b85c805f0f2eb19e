/* SPDX-License-Identifier: MIT */
/*
 * The capture engine: libpcap source (file or interface) → decoder → reassembly (IP fragments,
 * TCP streams) → classification → call and stream tracking, with a counter for every packet
 * that a stage sets aside.
 *
 * Batching. Frames are read `batch_packets` at a time. Each is decoded where libpcap left it;
 * a UDP packet of an RTP stream already known is accounted at once (the bulk of VoIP traffic),
 * and every other UDP payload is copied to the batch and classified at the end of the batch by
 * the pattern-matching backend (SIP or not), then handed to the tracker in arrival order. A
 * stream's first packets are therefore always accounted in order, behind the SIP message that
 * announced them.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/callpcap.h"
#include "capture/decode.h"
#include "capture/internal.h"
#include "vox/core.h"

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

static void on_tcp_msg(void *user, const struct vox_cap_tuple *t, const uint8_t *msg,
                       size_t len_bytes, uint64_t ts_ns)
{
    struct vox_capture *cap = user;
    uint32_t call;

    cap->stats.tcp_messages++;
    call = cap_track_sip(&cap->tr, t, msg, len_bytes, ts_ns, 1);
    if (cap->cp)
        cap_callpcap_tcp_msg(cap->cp, t, msg, len_bytes, call);
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
    rc = cap_tracker_init(&cap->tr, cfg, &cap->stats);
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
    cap->cap_pend = batch;
    cap->arena_cap = (size_t)batch * 2048;
    cap->pend = calloc(batch, sizeof *cap->pend);
    cap->gpkts = calloc(batch, sizeof *cap->gpkts);
    cap->gclass = calloc(batch, sizeof *cap->gclass);
    cap->arena = malloc(cap->arena_cap);
    if (!cap->pend || !cap->gpkts || !cap->gclass || !cap->arena) {
        vox_diag_set(diag, "capture: out of memory for a batch of %u packets", batch);
        return VOX_ENOMEM;
    }
    if (cfg->pcap_dir)
        return callpcap_init(cap, cfg, diag);
    return 0;
}

/* Classifies the batch's pending payloads and hands them to the tracker in arrival order; with
 * pcap_dir, then writes the batch's frames to their calls' files. */
static void flush_pending(struct vox_capture *cap)
{
    if (cap->npend == 0) {
        if (cap->cp)
            cap_callpcap_flush(cap->cp);
        return;
    }
    for (size_t i = 0; i < cap->npend; i++) {
        cap->gpkts[i].data = cap->arena + cap->pend[i].off;
        cap->gpkts[i].len_bytes = cap->pend[i].len;
    }
    /* Should the backend fail (a device error), the tracker sorts the batch by itself: RTP
     * first, then a full SIP parse of what is left. */
    if (vox_gpu_classify(cap->gpu, cap->gpkts, cap->npend, cap->gclass, NULL) != 0)
        memset(cap->gclass, 0xff, cap->npend);
    for (size_t i = 0; i < cap->npend; i++) {
        const struct cap_pending *pd = &cap->pend[i];
        const uint8_t *data = cap->arena + pd->off;
        uint32_t call = CAP_NONE;

        if (cap->gclass[i] == VOX_GPU_SIP_REQUEST || cap->gclass[i] == VOX_GPU_SIP_RESPONSE)
            call = cap_track_sip(&cap->tr, &pd->tuple, data, pd->len, pd->ts_ns, 0);
        else if (!cap_track_udp(&cap->tr, &pd->tuple, data, pd->len, pd->ts_ns, &call)) {
            if (cap->gclass[i] == 0xff)
                call = cap_track_sip(&cap->tr, &pd->tuple, data, pd->len, pd->ts_ns, 0);
            else
                cap->stats.other_udp++;
        }
        if (cap->cp)
            cap_callpcap_resolve(cap->cp, pd->pcap_first, pd->pcap_count, call);
    }
    cap->npend = 0;
    cap->arena_used = 0;
    if (cap->cp)
        cap_callpcap_flush(cap->cp);
}

static void pend_udp(struct vox_capture *cap, const struct vox_cap_pkt *pk, uint64_t ts_ns)
{
    struct cap_pending *pd;
    size_t len = pk->payload_len_bytes;

    if (cap->npend == cap->cap_pend || cap->arena_used + len > cap->arena_cap) {
        flush_pending(cap);
        if (len > cap->arena_cap) { /* a reassembled 64 KB datagram: grow once */
            uint8_t *a = realloc(cap->arena, len);

            if (!a) {
                cap->stats.sip_bad++;
                return;
            }
            cap->arena = a;
            cap->arena_cap = len;
        }
    }
    pd = &cap->pend[cap->npend++];
    pd->tuple = pk->tuple;
    pd->ts_ns = ts_ns;
    pd->off = (uint32_t)cap->arena_used;
    pd->len = (uint32_t)len;
    memcpy(cap->arena + cap->arena_used, pk->payload, len);
    cap->arena_used += len;
    /* libpcap reuses the frame's buffer before the batch ends: the writer keeps a copy */
    if (cap->cp)
        cap_callpcap_defer(cap->cp, &pd->pcap_first, &pd->pcap_count);
}

/* A decoded UDP or TCP packet (from a frame or a reassembled datagram). */
static void handle_l4(struct vox_capture *cap, const struct vox_cap_pkt *pk, uint64_t ts_ns)
{
    if (pk->tuple.proto == 17) {
        uint32_t s;

        if (pk->payload_len_bytes == 0) {
            cap->stats.other_udp++;
            return;
        }
        /* The fast path: a packet of an RTP stream already known. */
        s = cap_track_rtp_known(&cap->tr, &pk->tuple, pk->payload, pk->payload_len_bytes, ts_ns);
        if (s != CAP_NONE) {
            if (cap->cp)
                cap_callpcap_emit(cap->cp, cap->tr.streams[s].call);
            return;
        }
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
    struct vox_capture *cap = calloc(1, sizeof *cap);

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
    cap = calloc(1, sizeof *cap);
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

static void batch_done(struct vox_capture *cap, uint64_t first_ns, uint64_t end_ns)
{
    uint64_t v = end_ns > first_ns ? end_ns - first_ns : 0;

    cap->batches++;
    cap->batch_hist[lat_bucket(v)]++;
    if (v > cap->batch_max_ns)
        cap->batch_max_ns = v;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t lat_percentile(const struct vox_capture *cap, double pct)
{
    uint64_t rank, seen = 0;

    if (!cap->batches)
        return 0;
    rank = (uint64_t)(pct / 100.0 * (double)cap->batches);
    if (rank >= cap->batches)
        rank = cap->batches - 1;
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
    out->batches = cap->batches;
    out->batch_p50_ns = lat_percentile(cap, 50);
    out->batch_p90_ns = lat_percentile(cap, 90);
    out->batch_p99_ns = lat_percentile(cap, 99);
    out->batch_p999_ns = lat_percentile(cap, 99.9);
    out->batch_max_ns = cap->batch_max_ns;
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
    uint64_t cpu0 = thread_cpu_ns(), last_end = start, first = start;
    unsigned batch = cap->cfg.profile.batch_packets, inbatch = 0;
    int ret = 0;

    while (!atomic_load_explicit(&cap->stop, memory_order_relaxed) &&
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
                first = cap->live ? vox_clock_ns() : last_end;
            cap->stats.read++;
            cap->stats.bytes += hdr->caplen;
            handle_frame(cap, hdr, data, ts);
            if (++inbatch >= batch) {
                flush_pending(cap);
                inbatch = 0;
                expire(cap, ts);
                last_end = vox_clock_ns();
                batch_done(cap, first, last_end);
            }
        } else if (rc == 0) { /* live: the read timeout passed with no packet */
            flush_pending(cap);
            if (inbatch) {
                last_end = vox_clock_ns();
                batch_done(cap, first, last_end);
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
    flush_pending(cap);
    if (inbatch)
        batch_done(cap, first, vox_clock_ns());
    if (cap->cp)
        cap_callpcap_sync(cap->cp); /* the per-call files complete on disk */
    cap->run_ns += vox_clock_ns() - start;
    cap->cpu_ns += thread_cpu_ns() - cpu0;
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
    cap_callpcap_destroy(cap->cp); /* every per-call file flushed and closed */
    vox_tcpreasm_destroy(cap->tcp);
    vox_defrag_destroy(cap->defrag);
    vox_gpu_destroy(cap->gpu);
    cap_tracker_free(&cap->tr);
    free(cap->pend);
    free(cap->gpkts);
    free(cap->gclass);
    free(cap->arena);
    free(cap);
}

void vox_capture_stats(const struct vox_capture *cap, struct vox_capture_stats *out)
{
    struct vox_defrag_stats ds;
    struct vox_tcpreasm_stats ts;

    *out = cap->stats;
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
