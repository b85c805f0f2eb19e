/* SPDX-License-Identifier: MIT */
/*
 * vox-pcapgen: writes capture files of SIP calls with G.711 RTP whose content is known exactly,
 * and a JSON "truth" file saying what is in them. The capture engine's tests compare what it
 * finds with the truth; the harness replays big files (up to 100,000 concurrent calls) to
 * measure packets per second. Everything is a function of the command line: the same options
 * and --seed give the same bytes.
 *
 * A call (see usage()): INVITE with an SDP offer (or, with --big-invite/--fragment, a SIPREC
 * multipart body: SDP + RFC 7865 metadata, about 3.5 KB), 100 Trying, 180 Ringing, 200 OK with
 * the SDP answer, ACK, RTP both ways for --duration-ms (20 ms packets of 160 bytes: a 400 Hz
 * tone from the caller, 1 kHz from the callee, G.711 through vox/g711.h), BYE, 200 OK. Over TCP
 * each call has its own connection: 3-way handshake, data segments with the peer's pure ACK
 * after each message, FIN both ways at the end.
 *
 * Schedule. Call i starts at i x interval, interval = call length / --concurrency (at least
 * 1 us), so --concurrency calls overlap. Inside a call (times from its start, see
 * make_steps()): INVITE at 0 (1 ms after the handshake over TCP), each later SIP message
 * GAP_US after the previous one except the 200 OK (--ring-ms after the 180), RTP from ACK +
 * GAP_US (the callee's stream half a packet later), BYE GAP_US + --jitter-ms after the last
 * RTP slot. The frames of one message (fragments, segments, the ACK) are BURST_US apart; a
 * message whose frames run past the next one's schedule delays it (they never overlap).
 * Timestamps are microseconds from EPOCH_S (2026-01-01T00:00:00Z); frames are written in
 * non-decreasing timestamp order. Deliberate reordering (--reorder, --tcp-reorder,
 * --frag-reorder) changes which packet fills which slot of the file, never the timestamps:
 * the packet written at a slot's time is the one that "arrived" then.
 *
 * Addresses. Call i uses group g = i / CALLS_PER_GROUP: caller 10.1.x.y, callee 10.2.x.y with
 * x.y = g + 1 (IPv6: 2001:db8:1::g+1 and 2001:db8:2::g+1); SIP on 5060 both sides (over TCP
 * the caller's source port is TCP_PORT_BASE + i mod CALLS_PER_GROUP), RTP on RTP_PORT_BASE +
 * 2 (i mod CALLS_PER_GROUP) both sides: every call has its own RTP ports.
 *
 * Identifiers. Call-IDs, tags and branches are hex of draw() and carry the call index, so they
 * are unique. SSRCs are fmix32(stream + key): a bijection, so unique for every stream of the
 * file (stream = 2 x call + direction, 0 caller to callee). Sequence and timestamp origins are
 * drawn unless --seq-start.
 *
 * RTP impairments, per stream, decided by packet index k (0-based, in sending order):
 * - --loss LIST drops the listed k; --loss-rate P drops k when draw(seed, stream, SALT_LOSS,
 *   k) % 1000000 < P x 10000, except the first and last packet (so lost == dropped);
 * - --jitter-ms J: slot time of k = nominal + draw(.., SALT_JITTER, k) % (J x 1000 + 1) us,
 *   kept at least MIN_SLOT_US after the previous slot: jitter never reorders;
 * - --reorder N: the slot of every N-th kept packet (the N-th, 2N-th... kept) holds the next
 *   kept packet and the following slot this one (one late packet per swap); never the last;
 * - --duplicate N: every N-th packet (k + 1 multiple of N) is written a second time
 *   DUP_AFTER_US after the first copy.
 * Truth figures follow RFC 3550 A.3: expected = last - first kept sequence + 1, lost =
 * expected - distinct packets written.
 *
 * Truth (--truth, JSON, written as calls end so that memory does not grow with --calls; one
 * line per call, in the order the calls end; "index" gives each its number):
 *   {"config": {generator, version, args, seed, epoch, format, link, ip_version, sip_transport,
 *               calls, concurrency, duration_ms, payload_type, mtu, call_length_us,
 *               call_interval_us},
 *    "calls": [{index, call_id, from, from_tag, to, to_tag, caller, callee, sip_transport,
 *               sip_src, sip_dst, "sip": [{"message": "INVITE"|"100"|..., "count"}] in order of
 *               first appearance, sip_messages, start_us, end_us (first/last frame, µs since
 *               1970), start, end (ISO 8601 UTC, µs), packets, fragments,
 *               "tcp": {segments, data_segments, retransmissions, reordered} (TCP only),
 *               "rtp": [{direction, src, dst, src_ip, src_port, dst_ip, dst_port, ssrc,
 *                        ssrc_hex, payload_type, generated, packets (in the file, duplicates
 *                        included), distinct, expected, lost (expected - distinct),
 *                        lost_rfc3550 (expected - packets: what RTCP and tshark report),
 *                        dropped, duplicates, reordered, first_seq, last_seq, seq_wraps,
 *                        first_timestamp}]}],
 *    "totals": {calls, packets, bytes, sip_messages, rtp_streams, rtp_packets, rtp_lost,
 *               rtp_duplicates, rtp_reordered, fragments, fragmented_datagrams, tcp_segments
 *               (every TCP frame), tcp_retransmissions, first_us, last_us}}
 * A SIP message is counted once however many frames carry it (TCP retransmissions included).
 *
 * Checksums: IPv4 header, UDP (IPv4 and IPv6) and TCP checksums are all correct (a UDP sum of
 * 0 is sent as 0xFFFF, RFC 768). UDP datagrams larger than --mtu are fragmented (IPv4, or the
 * IPv6 Fragment header, RFC 8200 §4.5); IP IDs come from one counter per file.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <pcap/pcap.h>

#include "args.h"
#include "draw.h"
#include "vox/core.h"
#include "vox/err.h"
#include "vox/g711.h"
#include "vox/rtp.h"

#define PROG "vox-pcapgen"

enum { EXIT_RUN_ERROR = 1, EXIT_USAGE = 2 };

#define EPOCH_S         1767225600LL /* 2026-01-01T00:00:00Z */
#define PKT_US          20000        /* one RTP packet per 20 ms */
#define PKT_SAMPLES     160          /* 20 ms at 8 kHz */
#define SIP_PORT        5060
#define RTP_PORT_BASE   20000
#define TCP_PORT_BASE   50000
#define CALLS_PER_GROUP 15000u /* calls sharing one caller/callee address pair */
#define MAX_GROUPS      65000u
#define GAP_US          20000 /* between the SIP messages of a call */
#define BURST_US        10    /* between the frames of one message (fragments, segments) */
#define ACK_DELAY_US    200   /* a TCP peer's pure ACK after the data it acknowledges */
#define MIN_SLOT_US     10    /* smallest gap between two RTP slots of a stream */
#define DUP_AFTER_US    5     /* a duplicate after its original (< MIN_SLOT_US) */
#define FRAME_CAP       (65536 + 256)
#define MSG_CAP         16384
#define SNAPLEN         65535
#define TCP_WINDOW      64240
#define DEF_VLAN        100
#define DTMF_PT         101
#define MAX_SIP_KINDS   8

/* Salts of draw(): one independent sequence per decision. */
enum {
    SALT_SSRC = 1,
    SALT_SEQ,
    SALT_TS,
    SALT_LOSS,
    SALT_JITTER,
    SALT_CALLID,
    SALT_TAG,
    SALT_BRANCH,
    SALT_ISN,
    SALT_SESS,
};

enum link { LINK_EN10MB, LINK_VLAN, LINK_SLL, LINK_SLL2, LINK_RAW };

static const char *const link_names[] = {"en10mb", "vlan", "sll", "sll2", "raw"};

/* ---- deterministic draws (draw.h), and fmix32 ------------------------------------------- */

/* murmur3's fmix32: a bijection of 32-bit integers (distinct streams, distinct SSRCs). */
static uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* ---- configuration ------------------------------------------------------------------------ */

struct config {
    const char *out_path, *truth_path;
    uint64_t calls, seed;
    uint32_t concurrency, duration_ms, ring_ms;
    uint8_t pt; /* 0 PCMU, 8 PCMA */
    bool ipv6, tcp, big_invite, fragment, frag_reorder, tcp_coalesce, pcapng;
    bool rtp_only, sip_only;
    uint32_t mtu, frag_tail, tcp_segment, tcp_reorder, tcp_retransmit;
    uint32_t *loss_list; /* sorted, unique */
    size_t n_loss;
    uint32_t loss_ppm, jitter_us, duplicate, reorder;
    int32_t seq_start; /* -1: drawn */
    enum link link;
    uint16_t vlan_id;
};

/* ---- output: pcap through libpcap, pcapng written here (libpcap 1.10 cannot) -------------- */

struct sink;

struct sink_ops {
    const char *name;
    int (*open)(struct sink *s, const char *path, int dlt, char *why, size_t why_len);
    int (*write)(struct sink *s, int64_t t_us, const uint8_t *frame, size_t len);
    int (*close)(struct sink *s); /* 0 or VOX_EIO when a write failed */
};

struct sink {
    const struct sink_ops *ops;
    FILE *f;
    pcap_t *dead;
    pcap_dumper_t *dumper;
};

static FILE *open_buffered(const char *path, char *why, size_t why_len)
{
    FILE *f = fopen(path, "wb");

    if (!f) {
        snprintf(why, why_len, "cannot create '%s': %s", path, strerror(errno));
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    return f;
}

static int pcap_sink_open(struct sink *s, const char *path, int dlt, char *why, size_t why_len)
{
    s->f = open_buffered(path, why, why_len);
    if (!s->f)
        return VOX_EIO;
    s->dead = pcap_open_dead(dlt, SNAPLEN);
    s->dumper = s->dead ? pcap_dump_fopen(s->dead, s->f) : NULL;
    if (!s->dumper) {
        snprintf(why, why_len, "cannot write a pcap header to '%s': %s", path,
                 s->dead ? pcap_geterr(s->dead) : "pcap_open_dead failed");
        fclose(s->f);
        s->f = NULL;
        return VOX_EIO;
    }
    return 0;
}

static int pcap_sink_write(struct sink *s, int64_t t_us, const uint8_t *frame, size_t len)
{
    struct pcap_pkthdr h;

    h.ts.tv_sec = (time_t)(EPOCH_S + t_us / 1000000);
    h.ts.tv_usec = (suseconds_t)(t_us % 1000000);
    h.caplen = h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)s->dumper, &h, frame);
    return 0;
}

static int pcap_sink_close(struct sink *s)
{
    int rc = 0;

    if (s->dumper) {
        if (pcap_dump_flush(s->dumper) != 0 || ferror(s->f))
            rc = VOX_EIO;
        pcap_dump_close(s->dumper); /* closes s->f */
    }
    if (s->dead)
        pcap_close(s->dead);
    return rc;
}

static const struct sink_ops pcap_sink = {"pcap", pcap_sink_open, pcap_sink_write, pcap_sink_close};

/* pcapng (draft-ietf-opsawg-pcapng): a Section Header Block, one Interface Description Block
 * (default microsecond resolution), an Enhanced Packet Block per frame, host byte order. */
static int ng_block(FILE *f, uint32_t type, const void *body, size_t len)
{
    static const uint8_t zeros[4];
    uint32_t total = (uint32_t)(12 + ((len + 3) & ~(size_t)3));

    if (fwrite(&type, 4, 1, f) != 1 || fwrite(&total, 4, 1, f) != 1 ||
        fwrite(body, 1, len, f) != len ||
        fwrite(zeros, 1, (4 - len % 4) % 4, f) != (4 - len % 4) % 4 || fwrite(&total, 4, 1, f) != 1)
        return VOX_EIO;
    return 0;
}

static int linktype_of(int dlt)
{
    return dlt == DLT_RAW ? 101 : dlt; /* LINKTYPE_RAW; the others share their DLT number */
}

static int ng_sink_open(struct sink *s, const char *path, int dlt, char *why, size_t why_len)
{
    uint8_t shb[16], idb[8];
    uint32_t bom = 0x1A2B3C4Du, snap = SNAPLEN;
    uint16_t major = 1, minor = 0, lt = (uint16_t)linktype_of(dlt), zero = 0;
    int64_t section_len = -1;

    s->f = open_buffered(path, why, why_len);
    if (!s->f)
        return VOX_EIO;
    memcpy(shb, &bom, 4);
    memcpy(shb + 4, &major, 2);
    memcpy(shb + 6, &minor, 2);
    memcpy(shb + 8, &section_len, 8);
    memcpy(idb, &lt, 2);
    memcpy(idb + 2, &zero, 2);
    memcpy(idb + 4, &snap, 4);
    if (ng_block(s->f, 0x0A0D0D0Au, shb, sizeof(shb)) != 0 ||
        ng_block(s->f, 1, idb, sizeof(idb)) != 0) {
        snprintf(why, why_len, "cannot write to '%s': %s", path, strerror(errno));
        return VOX_EIO;
    }
    return 0;
}

static int ng_sink_write(struct sink *s, int64_t t_us, const uint8_t *frame, size_t len)
{
    static const uint8_t zeros[4];
    uint64_t ts = (uint64_t)(EPOCH_S * 1000000 + t_us);
    size_t pad = (4 - len % 4) % 4;
    uint32_t hdr[7] = {6,
                       (uint32_t)(32 + len + pad),
                       0,
                       (uint32_t)(ts >> 32),
                       (uint32_t)ts,
                       (uint32_t)len,
                       (uint32_t)len};

    if (fwrite(hdr, sizeof(hdr), 1, s->f) != 1 || fwrite(frame, 1, len, s->f) != len ||
        fwrite(zeros, 1, pad, s->f) != pad || fwrite(&hdr[1], 4, 1, s->f) != 1)
        return VOX_EIO;
    return 0;
}

static int ng_sink_close(struct sink *s)
{
    int rc = 0;

    if (s->f && (fflush(s->f) != 0 || ferror(s->f)))
        rc = VOX_EIO;
    if (s->f && fclose(s->f) != 0)
        rc = VOX_EIO;
    s->f = NULL;
    return rc;
}

static const struct sink_ops pcapng_sink = {"pcapng", ng_sink_open, ng_sink_write, ng_sink_close};

/* ---- state -------------------------------------------------------------------------------- */

/* One frame of a burst: its time and its bytes in the burst's data. */
struct bframe {
    int64_t t_us;
    uint32_t off, len;
};

/* The frames of one SIP step (message, handshake, close), built at once, written one by one. */
struct burst {
    uint8_t *data;
    size_t len, cap;
    struct bframe *f;
    size_t n, cap_f, head;
};

struct host {
    uint8_t ip[16]; /* 4 bytes used for IPv4 */
    uint8_t mac[6];
    char text[48]; /* address as written in SDP */
    char uri[52];  /* as written in a SIP URI or Via ([v6]) */
};

/*
 * One RTP stream. The cursor walks the packets k in sending order; `next_*` is the lookahead:
 * the next entry of the file (a slot or a duplicate), so that its time can be peeked.
 */
struct rtp_stream {
    uint64_t id; /* draw() stream: 2 x call + direction */
    uint32_t ssrc, ts0;
    uint16_t seq0;
    uint32_t n;      /* packets generated (before loss) */
    int64_t base_us; /* nominal time of packet 0 */
    uint32_t k;      /* next packet to consider */
    uint32_t j;      /* slots filled */
    int64_t last_slot_us;
    int64_t held; /* packet that fills the next slot (a swap), -1: none */
    bool have_next, next_dup, dup_pending;
    int64_t next_us, dup_us;
    uint32_t next_pkt, dup_pkt;
    /* truth */
    uint64_t written, kept, dropped, dups, reordered;
    bool any_kept;
    uint32_t first_kept, last_kept;
};

struct sip_kind {
    char name[8];
    uint32_t count;
};

struct call {
    uint64_t index;
    int64_t start_us;
    struct host h[2]; /* [0] caller, [1] callee */
    uint16_t sip_port[2], rtp_port[2];
    char call_id[64], tag[2][32], branch[3][48];
    unsigned step;
    struct burst b;
    int64_t sig_last_us; /* time of the last SIP/TCP frame built */
    uint64_t sig_frames;
    struct rtp_stream rtp[2];
    uint32_t tcp_next[2];
    uint64_t tcp_data_segs, tcp_multi;
    /* truth */
    struct sip_kind sip[MAX_SIP_KINDS];
    unsigned n_sip;
    uint64_t sip_msgs, frames, fragments, tcp_segments, tcp_retrans, tcp_reordered;
    int64_t first_us, last_us;
    /* scheduling */
    int64_t next_us;
};

enum step_kind {
    ST_TCP_OPEN,
    ST_INVITE,
    ST_100,
    ST_180,
    ST_200,
    ST_ACK,
    ST_BYE,
    ST_BYE_OK,
    ST_TCP_CLOSE
};

struct step {
    enum step_kind kind;
    int64_t at_us; /* from the call's start */
};

struct totals {
    uint64_t calls, frames, bytes, sip_msgs, rtp_pkts, rtp_streams, rtp_lost, rtp_dups;
    uint64_t rtp_reordered, fragments, frag_datagrams, tcp_segments, tcp_retrans;
    int64_t first_us, last_us;
};

struct gen {
    struct config cfg;
    int argc;
    char **argv;
    struct sink sink;
    FILE *truth;
    uint64_t truth_calls;
    uint8_t tone[2][PKT_SAMPLES];
    struct step steps[12];
    unsigned n_steps;
    int64_t rtp_at_us, call_len_us, interval_us;
    uint32_t n_pkts;
    struct call **heap;
    size_t heap_n, heap_cap;
    uint64_t next_call;
    uint32_t ip_id;
    struct totals tot;
    uint8_t frame[FRAME_CAP];
    uint8_t l4[FRAME_CAP];
    char msg[MSG_CAP];
    char why[512];
};

/* ---- bursts --------------------------------------------------------------------------------- */

static int burst_push(struct burst *b, int64_t t_us, const uint8_t *p, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        uint8_t *d;

        while (cap < b->len + len)
            cap *= 2;
        d = realloc(b->data, cap);
        if (!d)
            return VOX_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    if (b->n == b->cap_f) {
        size_t cap = b->cap_f ? 2 * b->cap_f : 16;
        struct bframe *f = realloc(b->f, cap * sizeof(*f));

        if (!f)
            return VOX_ENOMEM;
        b->f = f;
        b->cap_f = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->f[b->n++] = (struct bframe){t_us, (uint32_t)b->len, (uint32_t)len};
    b->len += len;
    return 0;
}

/* Releases a drained burst's memory: thousands of calls wait between messages. */
static void burst_free(struct burst *b)
{
    free(b->data);
    free(b->f);
    memset(b, 0, sizeof(*b));
}

/* Swaps the contents of frames a and b, keeping each slot's time. */
static void burst_swap(struct burst *b, size_t x, size_t y)
{
    struct bframe t = b->f[x];

    b->f[x].off = b->f[y].off;
    b->f[x].len = b->f[y].len;
    b->f[y].off = t.off;
    b->f[y].len = t.len;
}

/* ---- frames: link, IP, UDP, TCP ------------------------------------------------------------ */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

static uint64_t sum16(uint64_t acc, const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t fold(uint64_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xFFFF) + (acc >> 16);
    return (uint16_t)~acc;
}

static int link_dlt(const struct config *c)
{
    static const int dlt[] = {DLT_EN10MB, DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW};

    return dlt[c->link];
}

/* Writes the link-layer header of a frame from src to dst; returns its length. Cooked
 * captures read as taken on the caller: its frames are "outgoing" (4), the callee's "to us"
 * (0). */
static size_t put_link(const struct config *c, uint8_t *p, const struct host *src,
                       const struct host *dst, bool from_caller)
{
    uint16_t ethertype = c->ipv6 ? 0x86DD : 0x0800;

    switch (c->link) {
    case LINK_EN10MB:
    case LINK_VLAN:
        memcpy(p, dst->mac, 6);
        memcpy(p + 6, src->mac, 6);
        if (c->link == LINK_EN10MB) {
            put16(p + 12, ethertype);
            return 14;
        }
        put16(p + 12, 0x8100); /* IEEE 802.1Q: TPID, then PCP 0 DEI 0 and the VLAN id */
        put16(p + 14, c->vlan_id);
        put16(p + 16, ethertype);
        return 18;
    case LINK_SLL:
        put16(p, from_caller ? 4 : 0);
        put16(p + 2, 1); /* ARPHRD_ETHER */
        put16(p + 4, 6);
        memcpy(p + 6, src->mac, 6);
        memset(p + 12, 0, 2);
        put16(p + 14, ethertype);
        return 16;
    case LINK_SLL2:
        put16(p, ethertype);
        memset(p + 2, 0, 2);
        put32(p + 4, 2); /* interface index */
        put16(p + 8, 1); /* ARPHRD_ETHER */
        p[10] = from_caller ? 4 : 0;
        p[11] = 6;
        memcpy(p + 12, src->mac, 6);
        memset(p + 18, 0, 2);
        return 20;
    case LINK_RAW:
        break;
    }
    return 0;
}

/* IPv4 header (RFC 791) with its checksum; frag = flags << 13 | offset / 8. */
static void put_ipv4(uint8_t *p, const struct host *s, const struct host *d, uint8_t proto,
                     size_t payload_len, uint16_t id, uint16_t frag)
{
    p[0] = 0x45;
    p[1] = 0;
    put16(p + 2, (uint32_t)(20 + payload_len));
    put16(p + 4, id);
    put16(p + 6, frag);
    p[8] = 64;
    p[9] = proto;
    put16(p + 10, 0);
    memcpy(p + 12, s->ip, 4);
    memcpy(p + 16, d->ip, 4);
    put16(p + 10, fold(sum16(0, p, 20)));
}

static void put_ipv6(uint8_t *p, const struct host *s, const struct host *d, uint8_t next,
                     size_t payload_len)
{
    put32(p, 0x60000000u);
    put16(p + 4, (uint32_t)payload_len);
    p[6] = next;
    p[7] = 64;
    memcpy(p + 8, s->ip, 16);
    memcpy(p + 24, d->ip, 16);
}

/* The UDP/TCP checksum over the pseudo-header (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1). */
static uint16_t l4_sum(bool v6, const struct host *s, const struct host *d, uint8_t proto,
                       const uint8_t *l4, size_t len)
{
    size_t alen = v6 ? 16 : 4;
    uint64_t acc = sum16(sum16(0, s->ip, alen), d->ip, alen);
    uint16_t r;

    acc += proto + (len >> 16) + (len & 0xFFFF);
    r = fold(sum16(acc, l4, len));
    return proto == 17 && r == 0 ? 0xFFFF : r;
}

/* ---- writing ---------------------------------------------------------------------------- */

static int sink_write(struct gen *g, struct call *c, int64_t t_us, const uint8_t *f, size_t len)
{
    int rc = g->sink.ops->write(&g->sink, t_us, f, len);

    if (rc != 0) {
        snprintf(g->why, sizeof(g->why), "cannot write to '%s': %s", g->cfg.out_path,
                 strerror(errno));
        return rc;
    }
    if (!g->tot.frames)
        g->tot.first_us = t_us;
    g->tot.last_us = t_us;
    g->tot.frames++;
    g->tot.bytes += len;
    if (!c->frames)
        c->first_us = t_us;
    c->last_us = t_us;
    c->frames++;
    return 0;
}

/*
 * Frames the IP datagram whose transport part (l4_len bytes) is in g->l4, sent by side `dir`
 * of call c: one frame, or fragments when it exceeds --mtu (then into the burst, reversed with
 * --frag-reorder). Frames go to burst b at *t_us (advanced by BURST_US per frame), or straight
 * to the file when b is NULL (RTP, which always fits).
 */
static int put_datagram(struct gen *g, struct call *c, struct burst *b, int dir, uint8_t proto,
                        size_t l4_len, int64_t *t_us)
{
    const struct config *cfg = &g->cfg;
    const struct host *s = &c->h[dir], *d = &c->h[!dir];
    size_t iph = cfg->ipv6 ? 40 : 20, per, off, first;
    uint8_t *f = g->frame;
    uint32_t id = g->ip_id++;
    int rc = 0;

    if (iph + l4_len <= cfg->mtu) {
        size_t n = put_link(cfg, f, s, d, dir == 0);

        if (cfg->ipv6)
            put_ipv6(f + n, s, d, proto, l4_len);
        else /* TCP with DF, as Linux sends it; UDP may be fragmented on the way */
            put_ipv4(f + n, s, d, proto, l4_len, (uint16_t)id, proto == 6 ? 0x4000 : 0);
        memcpy(f + n + iph, g->l4, l4_len);
        rc = b ? burst_push(b, *t_us, f, n + iph + l4_len)
               : sink_write(g, c, *t_us, f, n + iph + l4_len);
        *t_us += BURST_US;
        return rc;
    }
    if (!b) { /* RTP: 200 bytes at most, --mtu is at least 256 */
        snprintf(g->why, sizeof(g->why), "call %" PRIu64 ": a %zu-byte RTP packet exceeds --mtu",
                 c->index, l4_len);
        return VOX_ERANGE;
    }
    /* fragments carry multiples of 8 bytes but the last */
    per = (cfg->mtu - iph - (cfg->ipv6 ? 8 : 0)) / 8 * 8;
    first = b->n;
    for (off = 0; off < l4_len && rc == 0; off += per) {
        size_t chunk = l4_len - off < per ? l4_len - off : per,
               n = put_link(cfg, f, s, d, dir == 0);
        bool more = off + chunk < l4_len;

        if (cfg->ipv6) {
            uint8_t *fh = f + n + 40;

            put_ipv6(f + n, s, d, 44, 8 + chunk);
            fh[0] = proto; /* RFC 8200 §4.5 Fragment header */
            fh[1] = 0;
            put16(fh + 2, (uint32_t)(off | (more ? 1 : 0)));
            put32(fh + 4, id);
            n += 48;
        } else {
            put_ipv4(f + n, s, d, proto, chunk, (uint16_t)id,
                     (uint16_t)((more ? 0x2000 : 0) | off / 8));
            n += 20;
        }
        memcpy(f + n, g->l4 + off, chunk);
        rc = burst_push(b, *t_us, f, n + chunk);
        *t_us += BURST_US;
        c->fragments++;
        g->tot.fragments++;
    }
    g->tot.frag_datagrams++;
    if (cfg->frag_reorder) {
        size_t lo = first, hi = b->n - 1;

        for (; lo < hi; lo++, hi--)
            burst_swap(b, lo, hi);
    }
    return rc;
}

/* A UDP datagram from side dir of c with `len` payload bytes already at g->l4 + 8. */
static int put_udp(struct gen *g, struct call *c, struct burst *b, int dir, uint16_t sport,
                   uint16_t dport, size_t len, int64_t *t_us)
{
    uint8_t *u = g->l4;

    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, (uint32_t)(8 + len));
    put16(u + 6, 0);
    put16(u + 6, l4_sum(g->cfg.ipv6, &c->h[dir], &c->h[!dir], 17, u, 8 + len));
    return put_datagram(g, c, b, dir, 17, 8 + len, t_us);
}

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_PSH = 0x08, TCP_ACK = 0x10 };

/* One TCP segment (RFC 9293 §3.1, no options) from side dir into the call's burst. */
static int put_tcp(struct gen *g, struct call *c, int dir, uint32_t seq, uint32_t ack,
                   uint8_t flags, const void *data, size_t len, int64_t *t_us)
{
    uint8_t *t = g->l4;

    put16(t, c->sip_port[dir]);
    put16(t + 2, c->sip_port[!dir]);
    put32(t + 4, seq);
    put32(t + 8, flags & TCP_ACK ? ack : 0);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, TCP_WINDOW);
    put16(t + 16, 0);
    put16(t + 18, 0);
    if (len)
        memcpy(t + 20, data, len);
    put16(t + 16, l4_sum(g->cfg.ipv6, &c->h[dir], &c->h[!dir], 6, t, 20 + len));
    c->tcp_segments++;
    g->tot.tcp_segments++;
    return put_datagram(g, c, &c->b, dir, 6, 20 + len, t_us);
}

/*
 * Sends `len` bytes of SIP over the call's connection from side dir: segments of --tcp-segment
 * bytes (default: what the MTU allows); the first two swapped in the file for every
 * --tcp-reorder-th message of two segments or more; every --tcp-retransmit-th data segment of
 * the call sent again after the message; then the peer's pure ACK.
 */
static int tcp_send(struct gen *g, struct call *c, int dir, const char *data, size_t len,
                    int64_t *t_us)
{
    const struct config *cfg = &g->cfg;
    size_t mss = cfg->mtu - (cfg->ipv6 ? 40 : 20) - 20, off, first = c->b.n, nseg = 0;
    uint64_t seg0 = c->tcp_data_segs;
    int rc = 0;

    if (cfg->tcp_segment && cfg->tcp_segment < mss)
        mss = cfg->tcp_segment;
    for (off = 0; off < len && rc == 0; off += mss, nseg++) {
        size_t chunk = len - off < mss ? len - off : mss;

        rc = put_tcp(g, c, dir, c->tcp_next[dir] + (uint32_t)off, c->tcp_next[!dir],
                     (uint8_t)(TCP_ACK | (off + chunk == len ? TCP_PSH : 0)), data + off, chunk,
                     t_us);
        c->tcp_data_segs++;
    }
    if (rc == 0 && nseg >= 2 && cfg->tcp_reorder && ++c->tcp_multi % cfg->tcp_reorder == 0) {
        burst_swap(&c->b, first, first + 1);
        c->tcp_reordered++;
    }
    for (off = 0; off < len && rc == 0 && cfg->tcp_retransmit; off += mss, seg0++) {
        size_t chunk = len - off < mss ? len - off : mss;

        if ((seg0 + 1) % cfg->tcp_retransmit)
            continue;
        rc = put_tcp(g, c, dir, c->tcp_next[dir] + (uint32_t)off, c->tcp_next[!dir],
                     (uint8_t)(TCP_ACK | (off + chunk == len ? TCP_PSH : 0)), data + off, chunk,
                     t_us);
        c->tcp_retrans++;
        g->tot.tcp_retrans++;
    }
    c->tcp_next[dir] += (uint32_t)len;
    *t_us += ACK_DELAY_US - BURST_US;
    if (rc == 0)
        rc = put_tcp(g, c, !dir, c->tcp_next[!dir], c->tcp_next[dir], TCP_ACK, NULL, 0, t_us);
    return rc;
}

/* ---- SIP ------------------------------------------------------------------------------------ */

struct text {
    char *p;
    size_t len, cap;
    bool overflow;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->cap - t->len) {
        t->overflow = true;
        return;
    }
    t->len += (size_t)n;
}

static char ipv(const struct gen *g)
{
    return g->cfg.ipv6 ? '6' : '4';
}

/* The SDP offer (side 0) or answer (side 1) of call c. */
static void sdp_body(const struct gen *g, const struct call *c, int side, struct text *t)
{
    const struct host *h = &c->h[side];

    text_add(t, "v=0\r\no=%s %" PRIu64 " 1 IN IP%c %s\r\ns=voxbench\r\nc=IN IP%c %s\r\nt=0 0\r\n",
             side ? "bob" : "alice", draw(g->cfg.seed, c->index, SALT_SESS, (uint64_t)side) >> 12,
             ipv(g), h->text, ipv(g), h->text);
    if (side == 0)
        text_add(t, "m=audio %u RTP/AVP 0 8 %d\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n",
                 c->rtp_port[0], DTMF_PT);
    else
        text_add(t, "m=audio %u RTP/AVP %u %d\r\na=rtpmap:%u %s/8000\r\n", c->rtp_port[1],
                 g->cfg.pt, DTMF_PT, g->cfg.pt, g->cfg.pt == 8 ? "PCMA" : "PCMU");
    text_add(t, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\na=ptime:20\r\n", DTMF_PT,
             DTMF_PT);
    if (side == 0 && g->cfg.big_invite)
        text_add(t, "a=label:1\r\n");
    text_add(t, "a=sendrecv\r\n");
}

/* RFC 7865 recording metadata for call c (the big INVITE's second part). */
static void metadata_body(const struct gen *g, const struct call *c, struct text *t)
{
    const char *ts = "2026-01-01T00:00:00Z";
    uint64_t i = c->index;
    int p;

    text_add(t,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
             "<recording xmlns=\"urn:ietf:params:xml:ns:recording:1\">\r\n"
             "  <datamode>complete</datamode>\r\n"
             "  <group group_id=\"grp-%s\">\r\n"
             "    <associate-time>%s</associate-time>\r\n"
             "  </group>\r\n"
             "  <session session_id=\"sess-%s\">\r\n"
             "    <group-ref>grp-%s</group-ref>\r\n"
             "    <sipSessionID>%s;remote=%s</sipSessionID>\r\n"
             "    <start-time>%s</start-time>\r\n"
             "  </session>\r\n",
             c->tag[0], ts, c->tag[0], c->tag[0], c->tag[0], c->tag[1], ts);
    for (p = 0; p < 2; p++)
        text_add(t,
                 "  <participant participant_id=\"part-%s-%d\">\r\n"
                 "    <nameID aor=\"sip:%s-%" PRIu64 "@%s\">\r\n"
                 "      <name xml:lang=\"en\">%s %" PRIu64 "</name>\r\n"
                 "    </nameID>\r\n"
                 "    <nameID aor=\"tel:+1555%07" PRIu64 "\"/>\r\n"
                 "    <nameID aor=\"sip:+1555%07" PRIu64 "@carrier-%d.example.net\"/>\r\n"
                 "    <nameID aor=\"sip:%s-%" PRIu64 "@pbx-%d.example.com;user=phone\">\r\n"
                 "      <name xml:lang=\"en\">%s %" PRIu64 " (PBX)</name>\r\n"
                 "    </nameID>\r\n"
                 "  </participant>\r\n",
                 c->tag[0], p, p ? "bob" : "alice", i, c->h[p].uri, p ? "Bob" : "Alice", i,
                 (2 * i + (uint64_t)p) % 10000000, (2 * i + (uint64_t)p) % 10000000, p,
                 p ? "bob" : "alice", i, p, p ? "Bob" : "Alice", i);
    /* the recording client itself, as SBCs list it */
    text_add(t,
             "  <participant participant_id=\"part-%s-src\">\r\n"
             "    <nameID aor=\"sip:recorder@src.voxbench.example.com\">\r\n"
             "      <name xml:lang=\"en\">voxbench session recording client</name>\r\n"
             "    </nameID>\r\n"
             "  </participant>\r\n"
             "  <participantsessionassoc participant_id=\"part-%s-src\" "
             "session_id=\"sess-%s\">\r\n"
             "    <associate-time>%s</associate-time>\r\n"
             "  </participantsessionassoc>\r\n",
             c->tag[0], c->tag[0], c->tag[0], ts);
    for (p = 0; p < 2; p++)
        text_add(t,
                 "  <stream stream_id=\"str-%s-%d\" session_id=\"sess-%s\">\r\n"
                 "    <label>%d</label>\r\n"
                 "  </stream>\r\n",
                 c->tag[0], p, c->tag[0], p + 1);
    text_add(t,
             "  <sessionrecordingassoc session_id=\"sess-%s\">\r\n"
             "    <associate-time>%s</associate-time>\r\n"
             "  </sessionrecordingassoc>\r\n",
             c->tag[0], ts);
    for (p = 0; p < 2; p++)
        text_add(t,
                 "  <participantsessionassoc participant_id=\"part-%s-%d\" "
                 "session_id=\"sess-%s\">\r\n"
                 "    <associate-time>%s</associate-time>\r\n"
                 "  </participantsessionassoc>\r\n",
                 c->tag[0], p, c->tag[0], ts);
    for (p = 0; p < 2; p++)
        text_add(t,
                 "  <participantstreamassoc participant_id=\"part-%s-%d\">\r\n"
                 "    <send>str-%s-%d</send>\r\n"
                 "    <recv>str-%s-%d</recv>\r\n"
                 "  </participantstreamassoc>\r\n",
                 c->tag[0], p, c->tag[0], p, c->tag[0], !p);
    text_add(t, "</recording>\r\n");
}

static const char *transport_name(const struct gen *g, bool upper)
{
    return g->cfg.tcp ? (upper ? "TCP" : "tcp") : (upper ? "UDP" : "udp");
}

/* Headers common to a request from the caller and its responses. */
static void dialog_headers(const struct gen *g, const struct call *c, struct text *t,
                           unsigned branch, bool to_tag, unsigned cseq, const char *method)
{
    text_add(t,
             "Via: SIP/2.0/%s %s:%u;branch=%s\r\n"
             "From: \"Alice %" PRIu64 "\" <sip:alice-%" PRIu64 "@%s>;tag=%s\r\n"
             "To: <sip:bob-%" PRIu64 "@%s>%s%s\r\n"
             "Call-ID: %s\r\n"
             "CSeq: %u %s\r\n",
             transport_name(g, true), c->h[0].uri, SIP_PORT, c->branch[branch], c->index, c->index,
             c->h[0].uri, c->tag[0], c->index, c->h[1].uri, to_tag ? ";tag=" : "",
             to_tag ? c->tag[1] : "", c->call_id, cseq, method);
}

/* The INVITE, padded with an X-Pad header of `pad` bytes when pad >= 10. */
static void invite_text(const struct gen *g, const struct call *c, struct text *t, size_t pad)
{
    char body[8192], boundary[48];
    struct text bt = {body, 0, sizeof(body), false};

    if (g->cfg.big_invite) {
        snprintf(boundary, sizeof(boundary), "vox-boundary-%s", c->tag[0]);
        text_add(&bt, "--%s\r\nContent-Type: application/sdp\r\n\r\n", boundary);
        sdp_body(g, c, 0, &bt);
        text_add(&bt,
                 "\r\n--%s\r\nContent-Type: application/rs-metadata+xml\r\n"
                 "Content-Disposition: recording-session\r\n\r\n",
                 boundary);
        metadata_body(g, c, &bt);
        text_add(&bt, "\r\n--%s--\r\n", boundary);
    } else {
        sdp_body(g, c, 0, &bt);
    }
    t->overflow |= bt.overflow;
    text_add(t, "INVITE sip:bob-%" PRIu64 "@%s SIP/2.0\r\n", c->index, c->h[1].uri);
    dialog_headers(g, c, t, 0, false, 1, "INVITE");
    text_add(t,
             "Max-Forwards: 70\r\n"
             "Contact: <sip:alice-%" PRIu64 "@%s:%u;transport=%s>%s\r\n"
             "User-Agent: " PROG "\r\n"
             "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n",
             c->index, c->h[0].uri, SIP_PORT, transport_name(g, false),
             g->cfg.big_invite ? ";+sip.src" : "");
    if (g->cfg.big_invite)
        text_add(t, "Require: siprec\r\nContent-Type: multipart/mixed;boundary=%s\r\n", boundary);
    else
        text_add(t, "Content-Type: application/sdp\r\n");
    if (pad >= 10) { /* "X-Pad: " + pad - 9 'x' + CRLF */
        text_add(t, "X-Pad: ");
        if (t->len + pad - 9 < t->cap) {
            memset(t->p + t->len, 'x', pad - 9);
            t->len += pad - 9;
        } else {
            t->overflow = true;
        }
        text_add(t, "\r\n");
    }
    text_add(t, "Content-Length: %zu\r\n\r\n%s", bt.len, body);
}

/* A response of the callee: 100/180/200 to the INVITE (cseq 1) or 200 to the BYE (cseq 2). */
static void response_text(const struct gen *g, const struct call *c, struct text *t, unsigned code,
                          unsigned cseq)
{
    const char *reason = code == 100 ? "Trying" : code == 180 ? "Ringing" : "OK";
    char body[2048];
    struct text bt = {body, 0, sizeof(body), false};

    body[0] = 0;
    if (code == 200 && cseq == 1)
        sdp_body(g, c, 1, &bt);
    t->overflow |= bt.overflow;
    text_add(t, "SIP/2.0 %u %s\r\n", code, reason);
    dialog_headers(g, c, t, cseq == 1 ? 0 : 2, code != 100, cseq, cseq == 1 ? "INVITE" : "BYE");
    if (code != 100 && cseq == 1)
        text_add(t, "Contact: <sip:bob-%" PRIu64 "@%s:%u;transport=%s>\r\n", c->index, c->h[1].uri,
                 SIP_PORT, transport_name(g, false));
    if (bt.len)
        text_add(t, "Content-Type: application/sdp\r\n");
    text_add(t, "Content-Length: %zu\r\n\r\n%s", bt.len, body);
}

/* ACK (cseq 1, branch 1) or BYE (cseq 2, branch 2) from the caller. */
static void request_text(const struct gen *g, const struct call *c, struct text *t, bool bye)
{
    text_add(t, "%s sip:bob-%" PRIu64 "@%s:%u;transport=%s SIP/2.0\r\n", bye ? "BYE" : "ACK",
             c->index, c->h[1].uri, SIP_PORT, transport_name(g, false));
    dialog_headers(g, c, t, bye ? 2 : 1, true, bye ? 2 : 1, bye ? "BYE" : "ACK");
    text_add(t, "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
}

static void sip_note(struct gen *g, struct call *c, const char *name)
{
    unsigned i;

    g->tot.sip_msgs++;
    c->sip_msgs++;
    for (i = 0; i < c->n_sip; i++) {
        if (strcmp(c->sip[i].name, name) == 0) {
            c->sip[i].count++;
            return;
        }
    }
    if (c->n_sip < MAX_SIP_KINDS) {
        snprintf(c->sip[c->n_sip].name, sizeof(c->sip[0].name), "%s", name);
        c->sip[c->n_sip++].count = 1;
    }
}

/* The X-Pad length that leaves --frag-tail bytes in the INVITE's last fragment. */
static size_t frag_pad(const struct gen *g, size_t base_len)
{
    const struct config *cfg = &g->cfg;
    size_t iph = cfg->ipv6 ? 40 : 20, per = (cfg->mtu - iph - (cfg->ipv6 ? 8 : 0)) / 8 * 8;
    size_t want = cfg->frag_tail, dgram = 8 + base_len + 10;
    size_t pad = 10 + (want + per - dgram % per) % per;

    if (8 + base_len + pad + iph <= cfg->mtu) /* it must be fragmented at all */
        pad += per;
    return pad;
}

/* Sends the SIP text in g->msg (len bytes) from side dir. */
static int sip_send(struct gen *g, struct call *c, int dir, size_t len, int64_t *t_us)
{
    if (g->cfg.tcp)
        return tcp_send(g, c, dir, g->msg, len, t_us);
    memcpy(g->l4 + 8, g->msg, len);
    return put_udp(g, c, &c->b, dir, SIP_PORT, SIP_PORT, len, t_us);
}

/* When the call's next SIP step starts: its schedule, or after the previous step's last frame
 * when that one ran late (many small segments), so that time never goes back in the file. */
static int64_t step_time(const struct gen *g, const struct call *c)
{
    int64_t t = c->start_us + g->steps[c->step].at_us;

    return c->sig_frames && t <= c->sig_last_us ? c->sig_last_us + BURST_US : t;
}

/* Builds the frames of the call's next SIP step into its burst. */
static int build_step(struct gen *g, struct call *c)
{
    int64_t t = step_time(g, c);
    const struct step *st = &g->steps[c->step++];
    struct text m = {g->msg, 0, MSG_CAP, false};
    int dir = 0, rc = 0;

    switch (st->kind) {
    case ST_TCP_OPEN: {
        uint32_t isn0 = (uint32_t)draw(g->cfg.seed, c->index, SALT_ISN, 0);
        uint32_t isn1 = (uint32_t)draw(g->cfg.seed, c->index, SALT_ISN, 1);

        rc = put_tcp(g, c, 0, isn0, 0, TCP_SYN, NULL, 0, &t);
        if (rc == 0)
            rc = put_tcp(g, c, 1, isn1, isn0 + 1, TCP_SYN | TCP_ACK, NULL, 0, &t);
        if (rc == 0)
            rc = put_tcp(g, c, 0, isn0 + 1, isn1 + 1, TCP_ACK, NULL, 0, &t);
        c->tcp_next[0] = isn0 + 1;
        c->tcp_next[1] = isn1 + 1;
        goto out;
    }
    case ST_TCP_CLOSE:
        rc = put_tcp(g, c, 0, c->tcp_next[0], c->tcp_next[1], TCP_FIN | TCP_ACK, NULL, 0, &t);
        c->tcp_next[0]++;
        if (rc == 0)
            rc = put_tcp(g, c, 1, c->tcp_next[1], c->tcp_next[0], TCP_FIN | TCP_ACK, NULL, 0, &t);
        c->tcp_next[1]++;
        if (rc == 0)
            rc = put_tcp(g, c, 0, c->tcp_next[0], c->tcp_next[1], TCP_ACK, NULL, 0, &t);
        goto out;
    case ST_INVITE:
        invite_text(g, c, &m, 0);
        if (g->cfg.frag_tail && !m.overflow) {
            size_t pad = frag_pad(g, m.len);

            m.len = 0;
            invite_text(g, c, &m, pad);
        }
        sip_note(g, c, "INVITE");
        break;
    case ST_100:
        dir = 1;
        response_text(g, c, &m, 100, 1);
        sip_note(g, c, "100");
        if (g->cfg.tcp_coalesce) { /* 100 and 180 in one write: one segment holds both */
            response_text(g, c, &m, 180, 1);
            sip_note(g, c, "180");
        }
        break;
    case ST_180:
        dir = 1;
        response_text(g, c, &m, 180, 1);
        sip_note(g, c, "180");
        break;
    case ST_200:
    case ST_BYE_OK:
        dir = 1;
        response_text(g, c, &m, 200, st->kind == ST_200 ? 1 : 2);
        sip_note(g, c, "200");
        break;
    case ST_ACK:
    case ST_BYE:
        request_text(g, c, &m, st->kind == ST_BYE);
        sip_note(g, c, st->kind == ST_BYE ? "BYE" : "ACK");
        break;
    }
    if (m.overflow) {
        snprintf(g->why, sizeof(g->why), "call %" PRIu64 ": a SIP message exceeds %d bytes",
                 c->index, MSG_CAP);
        return VOX_ERANGE;
    }
    rc = sip_send(g, c, dir, m.len, &t);
out:
    if (rc == VOX_ENOMEM)
        snprintf(g->why, sizeof(g->why), "out of memory");
    if (c->b.n) {
        c->sig_last_us = c->b.f[c->b.n - 1].t_us;
        c->sig_frames += c->b.n;
    }
    return rc;
}

/* ---- RTP ------------------------------------------------------------------------------------ */

static bool in_loss_list(const struct config *cfg, uint32_t k)
{
    size_t lo = 0, hi = cfg->n_loss;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (cfg->loss_list[mid] == k)
            return true;
        if (cfg->loss_list[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static bool dropped(const struct gen *g, const struct rtp_stream *s, uint32_t k)
{
    const struct config *cfg = &g->cfg;

    if (cfg->n_loss && in_loss_list(cfg, k))
        return true;
    return cfg->loss_ppm && k != 0 && k + 1 != s->n &&
           draw(cfg->seed, s->id, SALT_LOSS, k) % 1000000 < cfg->loss_ppm;
}

static int64_t slot_time(const struct gen *g, const struct rtp_stream *s, uint32_t k)
{
    int64_t t = s->base_us + (int64_t)k * PKT_US;

    if (g->cfg.jitter_us)
        t += (int64_t)(draw(g->cfg.seed, s->id, SALT_JITTER, k) % (g->cfg.jitter_us + 1));
    return t;
}

/* Moves the stream's lookahead to its next file entry (see the header comment). */
static void rtp_advance(const struct gen *g, struct rtp_stream *s)
{
    const struct config *cfg = &g->cfg;
    uint32_t content;
    int64_t t;

    if (s->dup_pending) {
        s->dup_pending = false;
        s->next_us = s->dup_us;
        s->next_pkt = s->dup_pkt;
        s->next_dup = true;
        return;
    }
    while (s->k < s->n && dropped(g, s, s->k)) {
        s->dropped++;
        s->k++;
    }
    if (s->k >= s->n) {
        s->have_next = false;
        return;
    }
    t = slot_time(g, s, s->k);
    if (s->j && t < s->last_slot_us + MIN_SLOT_US)
        t = s->last_slot_us + MIN_SLOT_US;
    content = s->k;
    if (s->held >= 0) {
        content = (uint32_t)s->held;
        s->held = -1;
    } else if (cfg->reorder && (s->j + 1) % cfg->reorder == 0) {
        uint32_t k2 = s->k + 1;

        while (k2 < s->n && dropped(g, s, k2))
            k2++;
        if (k2 + 1 < s->n) { /* never the last packet: it stays last in the file */
            content = k2;
            s->held = s->k;
            s->reordered++;
        }
    }
    if (!s->any_kept)
        s->first_kept = s->k;
    s->any_kept = true;
    s->last_kept = s->k;
    s->kept++;
    s->k++;
    s->j++;
    s->last_slot_us = t;
    s->have_next = true;
    s->next_us = t;
    s->next_pkt = content;
    s->next_dup = false;
    if (cfg->duplicate && (content + 1) % cfg->duplicate == 0) {
        s->dup_pending = true;
        s->dup_us = t + DUP_AFTER_US;
        s->dup_pkt = content;
    }
}

static int rtp_emit(struct gen *g, struct call *c, int dir)
{
    struct rtp_stream *s = &c->rtp[dir];
    uint32_t k = s->next_pkt;
    struct vox_rtp_view v = {.version = VOX_RTP_VERSION,
                             .marker = k == 0,
                             .payload_type = g->cfg.pt,
                             .seq = (uint16_t)(s->seq0 + k),
                             .timestamp = s->ts0 + (uint32_t)k * PKT_SAMPLES,
                             .ssrc = s->ssrc,
                             .payload = g->tone[dir],
                             .payload_len_bytes = PKT_SAMPLES};
    struct vox_diag d = {{0}};
    int64_t t = s->next_us;
    int n = vox_rtp_build(&v, g->l4 + 8, FRAME_CAP - 8, &d), rc;

    if (n < 0) {
        snprintf(g->why, sizeof(g->why), "call %" PRIu64 ": %.400s", c->index, d.text);
        return n;
    }
    if (s->next_dup)
        s->dups++;
    rc = put_udp(g, c, NULL, dir, c->rtp_port[dir], c->rtp_port[!dir], (size_t)n, &t);
    s->written++;
    g->tot.rtp_pkts++;
    rtp_advance(g, s);
    return rc;
}

/* ---- calls ---------------------------------------------------------------------------------- */

static void host_make(struct host *h, bool v6, int side, uint32_t group)
{
    uint32_t x = group + 1;

    memset(h, 0, sizeof(*h));
    h->mac[0] = 0x02; /* locally administered */
    h->mac[1] = 0x00;
    h->mac[2] = (uint8_t)(side + 1);
    h->mac[3] = 0;
    h->mac[4] = (uint8_t)(x >> 8);
    h->mac[5] = (uint8_t)x;
    if (v6) {
        static const uint8_t pfx[4] = {0x20, 0x01, 0x0d, 0xb8};

        memcpy(h->ip, pfx, 4);
        h->ip[5] = (uint8_t)(side + 1);
        h->ip[14] = (uint8_t)(x >> 8);
        h->ip[15] = (uint8_t)x;
        snprintf(h->text, sizeof(h->text), "2001:db8:%d::%x", side + 1, x);
        snprintf(h->uri, sizeof(h->uri), "[%s]", h->text);
    } else {
        h->ip[0] = 10;
        h->ip[1] = (uint8_t)(side + 1);
        h->ip[2] = (uint8_t)(x >> 8);
        h->ip[3] = (uint8_t)x;
        snprintf(h->text, sizeof(h->text), "10.%d.%u.%u", side + 1, x >> 8, x & 0xFF);
        snprintf(h->uri, sizeof(h->uri), "%s", h->text);
    }
}

static struct call *call_new(struct gen *g, uint64_t i)
{
    const struct config *cfg = &g->cfg;
    struct call *c = calloc(1, sizeof(*c));
    uint32_t group = (uint32_t)(i / CALLS_PER_GROUP), slot = (uint32_t)(i % CALLS_PER_GROUP);
    uint32_t key = (uint32_t)mix64(cfg->seed ^ SALT_SSRC);
    int d;

    if (!c)
        return NULL;
    c->index = i;
    c->start_us = (int64_t)i * g->interval_us;
    host_make(&c->h[0], cfg->ipv6, 0, group);
    host_make(&c->h[1], cfg->ipv6, 1, group);
    c->sip_port[0] = (uint16_t)(cfg->tcp ? TCP_PORT_BASE + slot : SIP_PORT);
    c->sip_port[1] = SIP_PORT;
    c->rtp_port[0] = c->rtp_port[1] = (uint16_t)(RTP_PORT_BASE + 2 * slot);
    snprintf(c->call_id, sizeof(c->call_id), "%016" PRIx64 "-%" PRIu64 "@voxbench",
             draw(cfg->seed, i, SALT_CALLID, 0), i);
    for (d = 0; d < 2; d++)
        snprintf(c->tag[d], sizeof(c->tag[d]), "%08" PRIx32 "-%" PRIu64,
                 (uint32_t)draw(cfg->seed, i, SALT_TAG, (uint64_t)d), i);
    for (d = 0; d < 3; d++)
        snprintf(c->branch[d], sizeof(c->branch[d]), "z9hG4bK%012" PRIx64 "%" PRIu64,
                 draw(cfg->seed, i, SALT_BRANCH, (uint64_t)d) >> 16, i);
    c->step = cfg->rtp_only ? g->n_steps : 0;
    for (d = 0; d < 2; d++) {
        struct rtp_stream *s = &c->rtp[d];

        s->id = 2 * i + (uint64_t)d;
        s->ssrc = fmix32((uint32_t)s->id + key);
        s->seq0 = (uint16_t)(cfg->seq_start >= 0 ? (uint32_t)cfg->seq_start
                                                 : (uint32_t)draw(cfg->seed, s->id, SALT_SEQ, 0));
        s->ts0 = (uint32_t)draw(cfg->seed, s->id, SALT_TS, 0);
        s->n = cfg->sip_only ? 0 : g->n_pkts;
        s->base_us = c->start_us + g->rtp_at_us + d * (PKT_US / 2);
        s->held = -1;
        rtp_advance(g, s);
    }
    return c;
}

enum { SRC_NONE = -1, SRC_BURST, SRC_STEP, SRC_RTP0, SRC_RTP1 };

/* The time of the call's next event and which source it comes from. */
static int64_t call_peek(const struct gen *g, const struct call *c, int *src)
{
    int64_t best = INT64_MAX, t;
    int d;

    *src = SRC_NONE;
    if (c->b.head < c->b.n) {
        best = c->b.f[c->b.head].t_us;
        *src = SRC_BURST;
    } else if (c->step < g->n_steps) {
        best = step_time(g, c);
        *src = SRC_STEP;
    }
    for (d = 0; d < 2; d++) {
        if (!c->rtp[d].have_next)
            continue;
        t = c->rtp[d].next_us;
        if (t < best) {
            best = t;
            *src = SRC_RTP0 + d;
        }
    }
    return best;
}

/* Makes the call's next event happen: writes one frame, or builds the next SIP step. */
static int call_event(struct gen *g, struct call *c)
{
    int src, rc = 0;

    call_peek(g, c, &src);
    switch (src) {
    case SRC_BURST: {
        const struct bframe *f = &c->b.f[c->b.head++];

        rc = sink_write(g, c, f->t_us, c->b.data + f->off, f->len);
        if (c->b.head == c->b.n)
            burst_free(&c->b);
        break;
    }
    case SRC_STEP:
        rc = build_step(g, c);
        break;
    case SRC_RTP0:
    case SRC_RTP1:
        rc = rtp_emit(g, c, src - SRC_RTP0);
        break;
    default:
        break;
    }
    return rc;
}

/* ---- truth ------------------------------------------------------------------------------- */

static json_t *iso_time(int64_t t_us)
{
    time_t sec = (time_t)(EPOCH_S + t_us / 1000000);
    struct tm tm;
    char buf[64];

    gmtime_r(&sec, &tm);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(t_us % 1000000));
    return json_string(buf);
}

static json_t *u64j(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *endpoint(const struct host *h, unsigned port)
{
    char buf[80];

    snprintf(buf, sizeof(buf), "%s:%u", h->uri, port);
    return json_string(buf);
}

static json_t *stream_json(const struct gen *g, const struct call *c, int dir)
{
    const struct rtp_stream *s = &c->rtp[dir];
    json_t *o = json_object();
    uint64_t expected = s->any_kept ? (uint64_t)s->last_kept - s->first_kept + 1 : 0;
    char hex[16];

    snprintf(hex, sizeof(hex), "0x%08" PRIX32, s->ssrc);
    json_object_set_new(o, "direction", json_string(dir ? "callee->caller" : "caller->callee"));
    json_object_set_new(o, "src", endpoint(&c->h[dir], c->rtp_port[dir]));
    json_object_set_new(o, "dst", endpoint(&c->h[!dir], c->rtp_port[!dir]));
    json_object_set_new(o, "src_ip", json_string(c->h[dir].text));
    json_object_set_new(o, "src_port", json_integer(c->rtp_port[dir]));
    json_object_set_new(o, "dst_ip", json_string(c->h[!dir].text));
    json_object_set_new(o, "dst_port", json_integer(c->rtp_port[!dir]));
    json_object_set_new(o, "ssrc", u64j(s->ssrc));
    json_object_set_new(o, "ssrc_hex", json_string(hex));
    json_object_set_new(o, "payload_type", json_integer(g->cfg.pt));
    json_object_set_new(o, "generated", u64j(s->n));
    json_object_set_new(o, "packets", u64j(s->written));
    json_object_set_new(o, "distinct", u64j(s->kept));
    json_object_set_new(o, "expected", u64j(expected));
    json_object_set_new(o, "lost", u64j(expected - s->kept));
    json_object_set_new(o, "lost_rfc3550",
                        json_integer((json_int_t)expected - (json_int_t)s->written));
    json_object_set_new(o, "dropped", u64j(s->dropped));
    json_object_set_new(o, "duplicates", u64j(s->dups));
    json_object_set_new(o, "reordered", u64j(s->reordered));
    json_object_set_new(o, "first_seq", json_integer((uint16_t)(s->seq0 + s->first_kept)));
    json_object_set_new(o, "last_seq", json_integer((uint16_t)(s->seq0 + s->last_kept)));
    json_object_set_new(o, "seq_wraps",
                        json_boolean(s->any_kept && (uint32_t)s->seq0 + s->last_kept > 0xFFFF));
    json_object_set_new(o, "first_timestamp", u64j(s->ts0 + s->first_kept * PKT_SAMPLES));
    return o;
}

static json_t *call_json(const struct gen *g, const struct call *c)
{
    json_t *o = json_object(), *sip = json_array(), *rtp = json_array();
    char buf[128];
    unsigned i;
    int d;

    json_object_set_new(o, "index", u64j(c->index));
    json_object_set_new(o, "call_id", json_string(c->call_id));
    snprintf(buf, sizeof(buf), "sip:alice-%" PRIu64 "@%s", c->index, c->h[0].uri);
    json_object_set_new(o, "from", json_string(buf));
    json_object_set_new(o, "from_tag", json_string(c->tag[0]));
    snprintf(buf, sizeof(buf), "sip:bob-%" PRIu64 "@%s", c->index, c->h[1].uri);
    json_object_set_new(o, "to", json_string(buf));
    json_object_set_new(o, "to_tag", json_string(c->tag[1]));
    json_object_set_new(o, "caller", json_string(c->h[0].text));
    json_object_set_new(o, "callee", json_string(c->h[1].text));
    json_object_set_new(o, "sip_transport", json_string(transport_name(g, false)));
    json_object_set_new(o, "sip_src", endpoint(&c->h[0], c->sip_port[0]));
    json_object_set_new(o, "sip_dst", endpoint(&c->h[1], c->sip_port[1]));
    for (i = 0; i < c->n_sip; i++) {
        json_t *m = json_object();

        json_object_set_new(m, "message", json_string(c->sip[i].name));
        json_object_set_new(m, "count", json_integer(c->sip[i].count));
        json_array_append_new(sip, m);
    }
    json_object_set_new(o, "sip", sip);
    json_object_set_new(o, "sip_messages", u64j(c->sip_msgs));
    json_object_set_new(o, "start_us", json_integer((json_int_t)(EPOCH_S * 1000000 + c->first_us)));
    json_object_set_new(o, "end_us", json_integer((json_int_t)(EPOCH_S * 1000000 + c->last_us)));
    json_object_set_new(o, "start", iso_time(c->first_us));
    json_object_set_new(o, "end", iso_time(c->last_us));
    json_object_set_new(o, "packets", u64j(c->frames));
    json_object_set_new(o, "fragments", u64j(c->fragments));
    if (g->cfg.tcp) {
        json_t *t = json_object();

        json_object_set_new(t, "segments", u64j(c->tcp_segments));
        json_object_set_new(t, "data_segments", u64j(c->tcp_data_segs));
        json_object_set_new(t, "retransmissions", u64j(c->tcp_retrans));
        json_object_set_new(t, "reordered", u64j(c->tcp_reordered));
        json_object_set_new(o, "tcp", t);
    }
    for (d = 0; d < 2 && !g->cfg.sip_only; d++)
        json_array_append_new(rtp, stream_json(g, c, d));
    json_object_set_new(o, "rtp", rtp);
    return o;
}

/* Writes o (and takes it) then `after`; one line when `compact` (a call: grep-able, small). */
static int truth_dump(struct gen *g, json_t *o, bool compact, const char *after)
{
    size_t fl = JSON_PRESERVE_ORDER | (compact ? JSON_COMPACT : JSON_INDENT(2));
    int rc = o ? json_dumpf(o, g->truth, fl) : -1;

    json_decref(o);
    if (rc != 0 || fputs(after, g->truth) == EOF) {
        snprintf(g->why, sizeof(g->why), "cannot write the truth file '%s': %s", g->cfg.truth_path,
                 strerror(errno));
        return VOX_EIO;
    }
    return 0;
}

static void call_free(struct call *c)
{
    burst_free(&c->b);
    free(c);
}

static int call_finish(struct gen *g, struct call *c)
{
    int d, rc = 0;

    g->tot.calls++;
    for (d = 0; d < 2 && !g->cfg.sip_only; d++) {
        const struct rtp_stream *s = &c->rtp[d];

        g->tot.rtp_streams++;
        g->tot.rtp_lost += s->any_kept ? (uint64_t)s->last_kept - s->first_kept + 1 - s->kept : 0;
        g->tot.rtp_dups += s->dups;
        g->tot.rtp_reordered += s->reordered;
    }
    if (g->truth) {
        if (g->truth_calls++ && fputs(",\n", g->truth) == EOF)
            rc = VOX_EIO;
        if (rc == 0)
            rc = truth_dump(g, call_json(g, c), true, "");
    }
    call_free(c);
    return rc;
}

static json_t *config_json(const struct gen *g)
{
    const struct config *c = &g->cfg;
    json_t *o = json_object(), *args = json_array();
    int i;

    for (i = 1; i < g->argc; i++)
        json_array_append_new(args, json_string(g->argv[i]));
    json_object_set_new(o, "generator", json_string(PROG));
    json_object_set_new(o, "version", json_string(vox_version()));
    json_object_set_new(o, "args", args);
    json_object_set_new(o, "seed", u64j(c->seed));
    json_object_set_new(o, "epoch", json_string("2026-01-01T00:00:00Z"));
    json_object_set_new(o, "format", json_string(c->pcapng ? "pcapng" : "pcap"));
    json_object_set_new(o, "link", json_string(link_names[c->link]));
    json_object_set_new(o, "ip_version", json_integer(c->ipv6 ? 6 : 4));
    json_object_set_new(o, "sip_transport", json_string(transport_name(g, false)));
    json_object_set_new(o, "calls", u64j(c->calls));
    json_object_set_new(o, "concurrency", json_integer(c->concurrency));
    json_object_set_new(o, "duration_ms", json_integer(c->duration_ms));
    json_object_set_new(o, "payload_type", json_integer(c->pt));
    json_object_set_new(o, "mtu", json_integer(c->mtu));
    json_object_set_new(o, "call_length_us", json_integer((json_int_t)g->call_len_us));
    json_object_set_new(o, "call_interval_us", json_integer((json_int_t)g->interval_us));
    return o;
}

static json_t *totals_json(const struct gen *g)
{
    const struct totals *t = &g->tot;
    json_t *o = json_object();

    json_object_set_new(o, "calls", u64j(t->calls));
    json_object_set_new(o, "packets", u64j(t->frames));
    json_object_set_new(o, "bytes", u64j(t->bytes));
    json_object_set_new(o, "sip_messages", u64j(t->sip_msgs));
    json_object_set_new(o, "rtp_streams", u64j(t->rtp_streams));
    json_object_set_new(o, "rtp_packets", u64j(t->rtp_pkts));
    json_object_set_new(o, "rtp_lost", u64j(t->rtp_lost));
    json_object_set_new(o, "rtp_duplicates", u64j(t->rtp_dups));
    json_object_set_new(o, "rtp_reordered", u64j(t->rtp_reordered));
    json_object_set_new(o, "fragments", u64j(t->fragments));
    json_object_set_new(o, "fragmented_datagrams", u64j(t->frag_datagrams));
    json_object_set_new(o, "tcp_segments", u64j(t->tcp_segments));
    json_object_set_new(o, "tcp_retransmissions", u64j(t->tcp_retrans));
    json_object_set_new(o, "first_us", json_integer((json_int_t)(EPOCH_S * 1000000 + t->first_us)));
    json_object_set_new(o, "last_us", json_integer((json_int_t)(EPOCH_S * 1000000 + t->last_us)));
    return o;
}

/* ---- the schedule and the main loop ------------------------------------------------------ */

static void make_steps(struct gen *g)
{
    const struct config *c = &g->cfg;
    int64_t t = c->tcp ? 1000 : 0, bye;
    unsigned n = 0;

    if (c->tcp)
        g->steps[n++] = (struct step){ST_TCP_OPEN, 0};
    g->steps[n++] = (struct step){ST_INVITE, t};
    g->steps[n++] = (struct step){ST_100, t += GAP_US};
    if (!c->tcp_coalesce)
        g->steps[n++] = (struct step){ST_180, t += GAP_US};
    else
        t += GAP_US;
    g->steps[n++] = (struct step){ST_200, t += (int64_t)c->ring_ms * 1000};
    g->steps[n++] = (struct step){ST_ACK, t += GAP_US};
    g->rtp_at_us = t + GAP_US;
    g->n_pkts = c->duration_ms / 20;
    bye = g->rtp_at_us + (int64_t)g->n_pkts * PKT_US + PKT_US / 2 + c->jitter_us + GAP_US;
    g->steps[n++] = (struct step){ST_BYE, bye};
    g->steps[n++] = (struct step){ST_BYE_OK, bye + GAP_US};
    if (c->tcp)
        g->steps[n++] = (struct step){ST_TCP_CLOSE, bye + 2 * GAP_US};
    g->n_steps = n;
    g->call_len_us = bye + 3 * GAP_US;
    g->interval_us = g->call_len_us / c->concurrency;
    if (g->interval_us < 1)
        g->interval_us = 1;
}

static bool call_before(const struct call *a, const struct call *b)
{
    return a->next_us < b->next_us || (a->next_us == b->next_us && a->index < b->index);
}

static void heap_down(struct gen *g, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct call *t;

        if (l < g->heap_n && call_before(g->heap[l], g->heap[m]))
            m = l;
        if (r < g->heap_n && call_before(g->heap[r], g->heap[m]))
            m = r;
        if (m == i)
            return;
        t = g->heap[i];
        g->heap[i] = g->heap[m];
        g->heap[m] = t;
        i = m;
    }
}

static int heap_push(struct gen *g, struct call *c)
{
    size_t i;

    if (g->heap_n == g->heap_cap) {
        size_t cap = g->heap_cap ? 2 * g->heap_cap : 64;
        struct call **h = realloc(g->heap, cap * sizeof(*h));

        if (!h)
            return VOX_ENOMEM;
        g->heap = h;
        g->heap_cap = cap;
    }
    i = g->heap_n++;
    g->heap[i] = c;
    while (i && call_before(g->heap[i], g->heap[(i - 1) / 2])) {
        struct call *t = g->heap[i];

        g->heap[i] = g->heap[(i - 1) / 2];
        g->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    return 0;
}

/*
 * Merges the calls in time order: a heap of the calls under way keyed by their next event;
 * call i joins before any event later than its start. Memory grows with --concurrency, not
 * with --calls.
 */
static int run(struct gen *g)
{
    int src, rc = 0;

    while (rc == 0) {
        int64_t start =
            g->next_call < g->cfg.calls ? (int64_t)g->next_call * g->interval_us : INT64_MAX;
        struct call *c;

        if (!g->heap_n && start == INT64_MAX)
            break;
        if (start != INT64_MAX && (!g->heap_n || start <= g->heap[0]->next_us)) {
            c = call_new(g, g->next_call++);
            if (!c) {
                snprintf(g->why, sizeof(g->why), "out of memory");
                return VOX_ENOMEM;
            }
            c->next_us = call_peek(g, c, &src);
            rc = heap_push(g, c);
            if (rc != 0) {
                snprintf(g->why, sizeof(g->why), "out of memory");
                free(c);
            }
            continue;
        }
        c = g->heap[0];
        rc = call_event(g, c);
        c->next_us = call_peek(g, c, &src);
        if (src == SRC_NONE) {
            g->heap[0] = g->heap[--g->heap_n];
            if (rc == 0)
                rc = call_finish(g, c);
            else
                call_free(c);
        }
        if (g->heap_n)
            heap_down(g, 0);
    }
    return rc;
}

/* One packet of tone per direction, whole periods in 160 samples so every packet is the same:
 * 400 Hz from the caller, 1 kHz from the callee, amplitude 8000, in the file's G.711 law. */
static void make_tones(struct gen *g)
{
    static const double hz[2] = {400, 1000}, two_pi = 6.283185307179586;
    int16_t pcm[PKT_SAMPLES];
    int d, i;

    for (d = 0; d < 2; d++) {
        for (i = 0; i < PKT_SAMPLES; i++)
            pcm[i] = (int16_t)lrint(8000 * sin(two_pi * hz[d] * i / 8000));
        if (g->cfg.pt == 8)
            vox_g711_alaw_encode(pcm, g->tone[d], PKT_SAMPLES);
        else
            vox_g711_ulaw_encode(pcm, g->tone[d], PKT_SAMPLES);
    }
}

/* ---- command line ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: " PROG " --out FILE [--truth FILE.json] [options]\n"
        "\n"
        "Writes a capture of SIP calls with G.711 RTP whose content is known exactly, and a\n"
        "JSON truth file describing it. The same options and --seed give the same bytes.\n"
        "\n"
        "calls:\n"
        "  --calls N              calls in the file (default 1)\n"
        "  --concurrency C        calls overlapping in time; calls start at a fixed rate\n"
        "                         (one per call length / C; default 1)\n"
        "  --duration-ms MS       RTP per call, both ways, in 20 ms packets (default 1000)\n"
        "  --ring-ms MS           180 Ringing to 200 OK (default 100)\n"
        "  --codec pcmu|pcma      payload type 0 or 8 (default pcmu)\n"
        "  --seed S               call ids, tags, SSRCs, origins, impairments (default 1)\n"
        "  --ipv6                 addresses from 2001:db8::/32 instead of 10.0.0.0/8\n"
        "  --rtp-only, --sip-only only the media, or only the signalling\n"
        "SIP transport:\n"
        "  --sip-transport udp|tcp  (default udp); over TCP one connection per call\n"
        "  --tcp-segment BYTES    largest data segment (default: what --mtu allows)\n"
        "  --tcp-coalesce         100 Trying and 180 Ringing in one write (one segment)\n"
        "  --tcp-reorder N        swap the first two segments of every N-th message of two\n"
        "                         segments or more, in file order\n"
        "  --tcp-retransmit N     send every N-th data segment of a call twice\n"
        "  --big-invite           INVITE with a SIPREC multipart body (SDP + RFC 7865 XML)\n"
        "  --fragment             --big-invite over UDP: the INVITE is IP-fragmented\n"
        "  --mtu BYTES            largest IP packet (default 1500, at least 256)\n"
        "  --frag-tail BYTES      1..7: pad the INVITE so that its last fragment carries\n"
        "                         that many bytes (implies fragmentation)\n"
        "  --frag-reorder         write the fragments of a datagram last first\n"
        "RTP impairments (each stream; k = 0-based packet index):\n"
        "  --loss LIST            drop these k, e.g. 3,10,11\n"
        "  --loss-rate P          drop P %% of the packets (seeded; never the first or last)\n"
        "  --jitter-ms J          delay each packet by 0..J ms (seeded; never reorders)\n"
        "  --reorder N            every N-th packet (N >= 2) arrives after its successor\n"
        "  --duplicate N          every N-th packet is written twice\n"
        "  --seq-start S          first sequence number of every stream (e.g. 65500 to wrap)\n"
        "file:\n"
        "  --out FILE, -w FILE    the capture to write\n"
        "  --truth FILE           the JSON truth: per call Call-ID, from/to, SIP messages,\n"
        "                         start/end, per RTP stream the figures; and totals\n"
        "  --link en10mb|vlan|sll|sll2|raw   link type (default en10mb)\n"
        "  --vlan-id ID           802.1Q VLAN id of --link vlan (default 100)\n"
        "  --pcapng               write pcapng instead of pcap\n"
        "  --help, --version\n"
        "\n"
        "Timestamps start at 2026-01-01T00:00:00Z, in microseconds, never decreasing; deliberate\n"
        "reordering changes which packet fills a slot, not the slots' times. All IP, UDP and TCP\n"
        "checksums are correct.\n"
        "exit status: 0 written; 1 run-time failure (file not writable); 2 bad command line.\n");
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static int parse_loss_list(struct config *c, const char *s)
{
    const char *p = s;
    size_t i, n = 0;

    while (*p) {
        char *end;
        unsigned long v;
        uint32_t *l;

        errno = 0;
        v = strtoul(p, &end, 10);
        if (end == p || errno || v > 0xFFFFFFFEul || (*end && *end != ',') || *p == '-')
            return vox_arg_bad(PROG, "--loss",
                               "'%s' is not a comma-separated list of packet indices", s);
        l = realloc(c->loss_list, (n + 1) * sizeof(*l));
        if (!l)
            return vox_arg_bad(PROG, "--loss", "%sout of memory", "");
        c->loss_list = l;
        c->loss_list[n++] = (uint32_t)v;
        p = *end ? end + 1 : end;
    }
    if (!n)
        return vox_arg_bad(PROG, "--loss", "'%s' is empty", s);
    qsort(c->loss_list, n, sizeof(*c->loss_list), cmp_u32);
    for (i = 1, c->n_loss = 1; i < n; i++)
        if (c->loss_list[i] != c->loss_list[c->n_loss - 1])
            c->loss_list[c->n_loss++] = c->loss_list[i];
    return 0;
}

static const char *const flags[] = {"--ipv6",     "--tcp-coalesce", "--big-invite",
                                    "--fragment", "--frag-reorder", "--pcapng",
                                    "--rtp-only", "--sip-only",     NULL};

static bool *flag_ptr(struct config *c, size_t i)
{
    bool *p[] = {&c->ipv6,         &c->tcp_coalesce, &c->big_invite, &c->fragment,
                 &c->frag_reorder, &c->pcapng,       &c->rtp_only,   &c->sip_only};

    return p[i];
}

/* Parses the command line into *c. Returns 0 or -1 (message printed). */
static int parse_args(int argc, char **argv, struct config *c)
{
    uint64_t u;
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        size_t f;

        for (f = 0; flags[f] && strcmp(a, flags[f]) != 0; f++)
            ;
        if (flags[f]) {
            *flag_ptr(c, f) = true;
            continue;
        }
        if (strcmp(a, "-w") != 0 && (a[0] != '-' || a[1] != '-'))
            return vox_arg_bad(PROG, a, "%sunexpected argument", "");
        if (!val)
            return vox_arg_bad(PROG, a, "%smissing value", "");
        if (strcmp(a, "--out") == 0 || strcmp(a, "-w") == 0) {
            c->out_path = val;
        } else if (strcmp(a, "--truth") == 0) {
            c->truth_path = val;
        } else if (strcmp(a, "--calls") == 0) {
            if (vox_arg_u64(PROG, a, val, 1, (uint64_t)CALLS_PER_GROUP * MAX_GROUPS, &c->calls) !=
                0)
                return -1;
        } else if (strcmp(a, "--concurrency") == 0) {
            if (vox_arg_u64(PROG, a, val, 1, 10000000, &u) != 0)
                return -1;
            c->concurrency = (uint32_t)u;
        } else if (strcmp(a, "--duration-ms") == 0) {
            if (vox_arg_u64(PROG, a, val, 20, 86400000, &u) != 0)
                return -1;
            c->duration_ms = (uint32_t)u;
        } else if (strcmp(a, "--ring-ms") == 0) {
            if (vox_arg_u64(PROG, a, val, 0, 600000, &u) != 0)
                return -1;
            c->ring_ms = (uint32_t)u;
        } else if (strcmp(a, "--codec") == 0) {
            if (strcasecmp(val, "pcmu") != 0 && strcasecmp(val, "pcma") != 0)
                return vox_arg_bad(PROG, a, "'%s' is not pcmu or pcma", val);
            c->pt = strcasecmp(val, "pcma") == 0 ? 8 : 0;
        } else if (strcmp(a, "--seed") == 0) {
            if (vox_arg_u64(PROG, a, val, 0, UINT64_MAX, &c->seed) != 0)
                return -1;
        } else if (strcmp(a, "--sip-transport") == 0) {
            if (strcmp(val, "udp") != 0 && strcmp(val, "tcp") != 0)
                return vox_arg_bad(PROG, a, "'%s' is not udp or tcp", val);
            c->tcp = val[0] == 't';
        } else if (strcmp(a, "--tcp-segment") == 0) {
            if (vox_arg_u64(PROG, a, val, 8, 65535, &u) != 0)
                return -1;
            c->tcp_segment = (uint32_t)u;
        } else if (strcmp(a, "--tcp-reorder") == 0 || strcmp(a, "--tcp-retransmit") == 0) {
            if (vox_arg_u64(PROG, a, val, 1, 1000000, &u) != 0)
                return -1;
            *(strcmp(a, "--tcp-reorder") == 0 ? &c->tcp_reorder : &c->tcp_retransmit) = (uint32_t)u;
        } else if (strcmp(a, "--mtu") == 0) {
            if (vox_arg_u64(PROG, a, val, 256, 65535, &u) != 0)
                return -1;
            c->mtu = (uint32_t)u;
        } else if (strcmp(a, "--frag-tail") == 0) {
            if (vox_arg_u64(PROG, a, val, 1, 7, &u) != 0)
                return -1;
            c->frag_tail = (uint32_t)u;
        } else if (strcmp(a, "--loss") == 0) {
            if (parse_loss_list(c, val) != 0)
                return -1;
        } else if (strcmp(a, "--loss-rate") == 0) {
            char *end;
            double v;

            errno = 0;
            v = strtod(val, &end);
            if (!*val || *end || errno || !(v >= 0 && v <= 100))
                return vox_arg_bad(PROG, a, "'%s' is not a percentage in [0, 100]", val);
            c->loss_ppm = (uint32_t)(v * 10000 + 0.5);
        } else if (strcmp(a, "--jitter-ms") == 0) {
            if (vox_arg_u64(PROG, a, val, 0, 1000, &u) != 0)
                return -1;
            c->jitter_us = (uint32_t)u * 1000;
        } else if (strcmp(a, "--reorder") == 0) {
            if (vox_arg_u64(PROG, a, val, 2, 1000000, &u) != 0)
                return -1;
            c->reorder = (uint32_t)u;
        } else if (strcmp(a, "--duplicate") == 0) {
            if (vox_arg_u64(PROG, a, val, 1, 1000000, &u) != 0)
                return -1;
            c->duplicate = (uint32_t)u;
        } else if (strcmp(a, "--seq-start") == 0) {
            if (vox_arg_u64(PROG, a, val, 0, 65535, &u) != 0)
                return -1;
            c->seq_start = (int32_t)u;
        } else if (strcmp(a, "--link") == 0) {
            size_t l;

            for (l = 0; l < sizeof(link_names) / sizeof(link_names[0]); l++)
                if (strcmp(val, link_names[l]) == 0)
                    break;
            if (l == sizeof(link_names) / sizeof(link_names[0]))
                return vox_arg_bad(PROG, a, "'%s' is not en10mb, vlan, sll, sll2 or raw", val);
            c->link = (enum link)l;
        } else if (strcmp(a, "--vlan-id") == 0) {
            if (vox_arg_u64(PROG, a, val, 1, 4094, &u) != 0)
                return -1;
            c->vlan_id = (uint16_t)u;
        } else {
            return vox_arg_bad(PROG, a, "%sunknown option", "");
        }
        i++;
    }
    if (!c->out_path)
        return vox_arg_bad(PROG, "--out", "%smissing", "");
    if (c->rtp_only && c->sip_only)
        return vox_arg_bad(PROG, "--rtp-only", "%snot with --sip-only", "");
    if (c->fragment) {
        if (c->tcp)
            return vox_arg_bad(PROG, "--fragment", "%sneeds --sip-transport udp", "");
        c->big_invite = true;
    }
    if (c->frag_tail && c->tcp)
        return vox_arg_bad(PROG, "--frag-tail", "%sneeds --sip-transport udp", "");
    if (!c->tcp && (c->tcp_segment || c->tcp_coalesce || c->tcp_reorder || c->tcp_retransmit))
        return vox_arg_bad(PROG,
                           c->tcp_segment    ? "--tcp-segment"
                           : c->tcp_coalesce ? "--tcp-coalesce"
                           : c->tcp_reorder  ? "--tcp-reorder"
                                             : "--tcp-retransmit",
                           "%sneeds --sip-transport tcp", "");
    return 0;
}

int main(int argc, char **argv)
{
    struct gen *g;
    bool opened = false;
    int rc = EXIT_RUN_ERROR;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf(PROG " %s\n", vox_version());
            return 0;
        }
    }
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    g = calloc(1, sizeof(*g));
    if (!g) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_RUN_ERROR;
    }
    g->argc = argc;
    g->argv = argv;
    g->cfg = (struct config){.calls = 1,
                             .seed = 1,
                             .concurrency = 1,
                             .duration_ms = 1000,
                             .ring_ms = 100,
                             .mtu = 1500,
                             .seq_start = -1,
                             .vlan_id = DEF_VLAN};
    if (parse_args(argc, argv, &g->cfg) != 0) {
        rc = EXIT_USAGE;
        goto out;
    }
    make_steps(g);
    make_tones(g);
    g->ip_id = (uint32_t)draw(g->cfg.seed, 0, SALT_ISN, 99);
    g->sink.ops = g->cfg.pcapng ? &pcapng_sink : &pcap_sink;
    if (g->sink.ops->open(&g->sink, g->cfg.out_path, link_dlt(&g->cfg), g->why, sizeof(g->why)) !=
        0) {
        fprintf(stderr, PROG ": --out: %s\n", g->why);
        goto out;
    }
    opened = true;
    if (g->cfg.truth_path) {
        g->truth = fopen(g->cfg.truth_path, "w");
        if (!g->truth) {
            fprintf(stderr, PROG ": --truth: cannot create '%s': %s\n", g->cfg.truth_path,
                    strerror(errno));
            goto out;
        }
        if (fputs("{\n\"config\": ", g->truth) == EOF ||
            truth_dump(g, config_json(g), false, ",\n\"calls\": [\n") != 0) {
            fprintf(stderr, PROG ": --truth: %s\n", g->why);
            goto out;
        }
    }
    if (run(g) != 0) {
        fprintf(stderr, PROG ": %s\n", g->why);
        goto out;
    }
    opened = false;
    if (g->sink.ops->close(&g->sink) != 0) {
        fprintf(stderr, PROG ": --out: cannot write '%s': %s\n", g->cfg.out_path, strerror(errno));
        goto out;
    }
    if (g->truth) {
        int trc = fputs("\n],\n\"totals\": ", g->truth) == EOF
                      ? VOX_EIO
                      : truth_dump(g, totals_json(g), false, "\n}\n");

        if (fclose(g->truth) != 0)
            trc = VOX_EIO;
        g->truth = NULL;
        if (trc != 0) {
            fprintf(stderr, PROG ": --truth: cannot write '%s': %s\n", g->cfg.truth_path,
                    strerror(errno));
            goto out;
        }
    }
    rc = 0;
out:
    if (opened)
        g->sink.ops->close(&g->sink);
    if (g->truth)
        fclose(g->truth);
    while (g->heap_n)
        call_free(g->heap[--g->heap_n]);
    free(g->heap);
    free(g->cfg.loss_list);
    free(g);
    return rc;
}
