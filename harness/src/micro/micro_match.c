/* SPDX-License-Identifier: MIT */
/*
 * Pattern-matching micro benchmarks (the capture engine's `gpu` backends), in 64-packet batches
 * as the Go sniffer's guide measures them:
 *
 *   "match/<op>/<backend>/<payload>"
 *     op       find (one 8-byte pattern, "Call-ID:", per packet: the guide's "pattern
 *              matching"), callid (Call-ID extraction), classify (SIP request / response / not);
 *     backend  every backend that can be created here: scalar, simd, cuda (with a device);
 *     payload  60: the guide's exact batch, 64 copies of the 60-byte string
 *              "INVITE sip:bob@example.com SIP/2.0\r\nCall-ID: test123@host\r\n" (lippycat's
 *              gpu_accel_test.go); 1000: 64 different SIP messages of 500 to 1500 bytes (INVITE
 *              and 200 OK with SDP, 180, ACK, BYE and its 200, with the headers real user agents
 *              send, the Call-ID among them where they put it), about 1 KB on average.
 *
 * One iteration is one batch: the real time per iteration is the latency of a 64-packet batch,
 * items/s counts packets. The batch's results are checked once before timing (every Call-ID
 * found, every message classified SIP), so that a backend that computes nothing fails the run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "micro.h"
#include "vox/gpu.h"

#define MATCH_BATCH 64

enum op { OP_FIND, OP_CALLID, OP_CLASSIFY, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"find", "callid", "classify"};
static const char *const backend_names[] = {"scalar", "simd", "cuda"};
#define NBACKENDS (sizeof(backend_names) / sizeof(backend_names[0]))

struct match_ctx {
    struct vox_gpu *gpu;
    enum op op;
};

static struct match_ctx mctx[NBACKENDS][OP_COUNT];
static struct vox_gpu *gpus[NBACKENDS];
static struct vox_gpu_pkt guide_batch[MATCH_BATCH], real_batch[MATCH_BATCH];
static char *real_bytes[MATCH_BATCH];
static const char guide_packet[] =
    "INVITE sip:bob@example.com SIP/2.0\r\nCall-ID: test123@host\r\n";
static const uint8_t pattern[] = "Call-ID:";

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Appends printf output to buf at *used (the buffers are sized so that nothing is cut). */
static void put(char *buf, size_t cap, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf + *used, cap - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n < cap - *used ? (size_t)n : cap - *used - 1;
}

/*
 * Message k of a call (0 INVITE, 1 180, 2 200 OK, 3 ACK, 4 BYE, 5 200 to BYE), with
 * `extra` optional headers (0..7), padded to about `target` bytes of headers by a tracing
 * header after the Call-ID, and an SDP body on the INVITE and its 200.
 */
static char *real_message(unsigned call, unsigned k, unsigned extra, size_t target, size_t *len)
{
    static const char *const starts[] = {
        "INVITE sip:+14155550%03u@pbx.example.net:5060;transport=udp SIP/2.0",
        "SIP/2.0 180 Ringing",
        "SIP/2.0 200 OK",
        "ACK sip:+14155550%03u@10.20.30.40:5060;transport=udp SIP/2.0",
        "BYE sip:+14155550%03u@10.20.30.40:5060;transport=udp SIP/2.0",
        "SIP/2.0 200 OK"};
    static const char *const cseq[] = {"1 INVITE", "1 INVITE", "1 INVITE",
                                       "1 ACK",    "2 BYE",    "2 BYE"};
    static const char *const extras[] = {
        "Record-Route: <sip:10.1.1.1;lr;ftag=a1b2c3d4;did=8f2.c731>",
        "User-Agent: Polycom/6.4.3.4003 PolycomVVX-VVX_450-UA/6.4.3.4003",
        "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, MESSAGE, SUBSCRIBE, NOTIFY, PRACK, "
        "UPDATE, REFER",
        "Supported: 100rel, replaces, norefersub, timer",
        "P-Asserted-Identity: \"Alice Example\" <sip:+14155550100@example.com;user=phone>",
        "Session-Expires: 1800;refresher=uac",
        "X-Account-Tag: tenant-0042/site-7/queue-support-en",
    };
    size_t cap = 2048, used = 0;
    char *b = malloc(cap);
    unsigned e;

    if (!b)
        return NULL;
    put(b, cap, &used, starts[k], call);
    put(b, cap, &used,
        "\r\nVia: SIP/2.0/UDP 10.20.30.40:5060;branch=z9hG4bK-%u-%u-%08llx;rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: \"Alice Example\" <sip:+14155550100@example.com>;tag=%08llx\r\n"
        "To: <sip:+14155550%03u@pbx.example.net>%s\r\n",
        call, k, (unsigned long long)(rnd() & 0xffffffffu),
        (unsigned long long)(rnd() & 0xffffffffu), call, k ? ";tag=as5f3e1b2c" : "");
    for (e = 0; e < extra && e < sizeof(extras) / sizeof(extras[0]); e++)
        put(b, cap, &used, "%s\r\n", extras[e]);
    put(b, cap, &used,
        "Call-ID: %016llx%08llx@10.20.30.40\r\n"
        "CSeq: %s\r\n"
        "Contact: <sip:alice@10.20.30.40:5060;transport=udp>\r\n",
        (unsigned long long)rnd(), (unsigned long long)(rnd() & 0xffffffffu), cseq[k]);
    /* Carriers' tracing headers make up the rest, to a size drawn from 500..1500 bytes. */
    if (used + 40 < target) {
        size_t n = target - used - 40;

        put(b, cap, &used, "X-Trace-Context: ");
        for (size_t i = 0; i < n && used + 1 < cap; i++)
            b[used++] = "0123456789abcdef"[rnd() & 15];
        b[used] = 0;
        put(b, cap, &used, "\r\n");
    }
    if (k == 0 || k == 2) {
        char sdp[600];
        size_t sl = 0;

        put(sdp, sizeof(sdp), &sl,
            "v=0\r\no=- %llu %llu IN IP4 10.20.30.40\r\ns=call\r\nc=IN IP4 10.20.30.40\r\n"
            "t=0 0\r\nm=audio %u RTP/AVP 0 8 9 101\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n"
            "a=sendrecv\r\n",
            (unsigned long long)(rnd() % 1000000000u), (unsigned long long)(rnd() % 1000u),
            (unsigned)(10000 + 2 * (rnd() % 10000)));
        put(b, cap, &used, "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s", sl,
            sdp);
    } else {
        put(b, cap, &used, "Content-Length: 0\r\n\r\n");
    }
    *len = used;
    return b;
}

static int build_batches(void)
{
    size_t i;

    for (i = 0; i < MATCH_BATCH; i++) {
        unsigned k = (unsigned)(i % 6), extra = (unsigned)(rnd() % 8);
        size_t len = 0, target = 500 + (size_t)(rnd() % 1001);

        /* The SDP body (about 330 bytes) comes after the padding: aim lower for those. */
        if (k == 0 || k == 2)
            target = target > 830 ? target - 330 : 500;
        guide_batch[i].data = (const uint8_t *)guide_packet;
        guide_batch[i].len_bytes = (uint32_t)strlen(guide_packet);
        real_bytes[i] = real_message((unsigned)i, k, extra, target, &len);
        if (!real_bytes[i])
            return VOX_ENOMEM;
        real_batch[i].data = (const uint8_t *)real_bytes[i];
        real_batch[i].len_bytes = (uint32_t)len;
    }
    return 0;
}

/* Runs op once on the batch; 0, or a VOX_E* code. `found` counts the packets with a result
 * (a pattern, a Call-ID, a SIP start line). */
static int run_op(struct vox_gpu *g, enum op op, const struct vox_gpu_pkt *pkts, size_t *found)
{
    struct vox_gpu_call_id ids[MATCH_BATCH];
    int32_t offs[MATCH_BATCH];
    uint8_t kinds[MATCH_BATCH];
    size_t i, n = 0;
    int rc;

    switch (op) {
    case OP_FIND:
        rc = vox_gpu_find(g, pkts, MATCH_BATCH, pattern, sizeof(pattern) - 1, offs, NULL);
        for (i = 0; i < MATCH_BATCH; i++)
            n += offs[i] >= 0;
        vox_gb_do_not_optimize(offs);
        break;
    case OP_CALLID:
        rc = vox_gpu_extract_call_id(g, pkts, MATCH_BATCH, ids, NULL);
        for (i = 0; i < MATCH_BATCH; i++)
            n += ids[i].off >= 0 && ids[i].len_bytes > 0;
        vox_gb_do_not_optimize(ids);
        break;
    default:
        rc = vox_gpu_classify(g, pkts, MATCH_BATCH, kinds, NULL);
        for (i = 0; i < MATCH_BATCH; i++)
            n += kinds[i] != VOX_GPU_NOT_SIP;
        vox_gb_do_not_optimize(kinds);
        break;
    }
    if (found)
        *found = n;
    return rc;
}

static void bm_match(struct vox_gb_state *st, void *v)
{
    const struct match_ctx *c = v;
    const struct vox_gpu_pkt *pkts = vox_gb_range_arg(st, 0) == 60 ? guide_batch : real_batch;
    size_t found = 0, bytes = 0, i;

    /* Every packet of both batches holds the pattern, a Call-ID and a SIP start line. */
    if (run_op(c->gpu, c->op, pkts, &found) != 0 || found != MATCH_BATCH) {
        char msg[128];

        snprintf(msg, sizeof(msg), "%s on %s: %zu of %d packets gave a result", op_names[c->op],
                 vox_gpu_name(c->gpu), found, MATCH_BATCH);
        vox_gb_skip_with_error(st, msg);
        return;
    }
    for (i = 0; i < MATCH_BATCH; i++)
        bytes += pkts[i].len_bytes;
    while (vox_gb_keep_running(st))
        run_op(c->gpu, c->op, pkts, NULL);
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * MATCH_BATCH);
    vox_gb_set_bytes_processed(st, vox_gb_max_iterations(st) * (int64_t)bytes);
    vox_gb_counter(st, "packet_bytes", (double)bytes / MATCH_BATCH, VOX_GB_COUNTER_DEFAULT);
}

int vox_micro_match_register(const struct vox_micro_opts *opts)
{
    char name[96];
    size_t b;
    int op, rc = build_batches();

    if (rc) {
        fprintf(stderr, "voxbench-micro: match: out of memory\n");
        return rc;
    }
    for (b = 0; b < NBACKENDS; b++) {
        if (vox_gpu_create(backend_names[b], &gpus[b], NULL) != 0)
            continue; /* cuda without a device or without nvcc: not registered */
        for (op = 0; op < OP_COUNT; op++) {
            struct vox_gb_bench *bench;

            mctx[b][op].gpu = gpus[b];
            mctx[b][op].op = (enum op)op;
            snprintf(name, sizeof(name), "match/%s/%s", op_names[op], backend_names[b]);
            bench = vox_gb_register(name, bm_match, &mctx[b][op]);
            vox_gb_arg(bench, 60);
            vox_gb_arg(bench, 1000);
            vox_micro_timing(bench, opts);
        }
    }
    return 0;
}

void vox_micro_match_cleanup(void)
{
    size_t i;

    for (i = 0; i < NBACKENDS; i++) {
        vox_gpu_destroy(gpus[i]);
        gpus[i] = NULL;
    }
    for (i = 0; i < MATCH_BATCH; i++) {
        free(real_bytes[i]);
        real_bytes[i] = NULL;
    }
}
