/* SPDX-License-Identifier: MIT */
/*
 * vox-rtpsend: the RTP sender of the SIPREC benchmarks. SIPp sends RTP only to the first
 * m=audio port of an answer, so the harness sends both legs of a recorded call with this.
 *
 * Three modes (see usage()):
 * - one-shot: one G.711 stream per --dest for --seconds, then exit;
 * - daemon (--control): streams started, paused, resumed and stopped by text commands on a UDP
 *   control socket, thousands at a time, for load runs;
 * - client (--send): sends one command to a daemon and exits (what a SIPp <exec> runs per call);
 * - daemon with --follow FILE: also reads the same commands, a line each, as another program
 *   appends them to FILE (SIPp's <log> actions: no process per command, see run_loop).
 *
 * Media. The audio (WAV of any rate, mono or stereo, or raw s16le) is read once, mixed to mono,
 * resampled to 8 kHz with speexdsp (resample_to_8k), padded with silence to whole 20 ms packets
 * and encoded to both µ-law and A-law. A stream plays it in a loop from its own offset.
 *
 * Timing. ONE thread paces every stream on absolute 20 ms ticks (clock_nanosleep with
 * TIMER_ABSTIME on CLOCK_MONOTONIC): tick k is due at t0 + k x 20 ms whatever the previous
 * ticks cost, so there is no drift. Each tick's packets leave in sendmmsg batches. A tick that
 * starts late is still served (its packets go out at once). In daemon mode, more than
 * CATCHUP_TICKS behind, the schedule jumps to the present and the skipped ticks are counted, not
 * sent; a one-shot run always catches up, so its packet count is exact.
 *
 * RTP (RFC 3550 §5.1). A stream's packet for tick t (t counted from its start) carries
 * timestamp ts_base + 160 t, so gaps (pause, DTX, loss) keep the timestamp on the clock;
 * the sequence number grows by one per packet generated (loss leaves a gap, as on a network;
 * DTX and pause do not). The marker is set on the first packet of the stream, the first after
 * a pause or DTX gap (RFC 3551 §4.1, talkspurt) and after an SSRC change.
 *
 * Impairments are deterministic given --seed: decision x of packet n of stream s is
 * draw(seed, s, salt, n) (draw() below; tests replicate it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <speex/speex_resampler.h>

#include "args.h"
#include "draw.h"
#include "vox/core.h"
#include "vox/err.h"
#include "vox/g711.h"
#include "vox/rtp.h"
#include "vox/wav.h"

#define PROG "vox-rtpsend"

enum { EXIT_RUN_ERROR = 1, EXIT_USAGE = 2 };

#define RATE_HZ            8000
#define PKT_SAMPLES        160 /* 20 ms at 8 kHz */
#define TICK_NS            20000000ull
#define TICKS_PER_S        50
#define PKT_CAP            (VOX_RTP_HEADER_BYTES + PKT_SAMPLES)
#define MAX_AUDIO          8
#define MAX_LEGS_PER_START 16
#define MAX_KEY_BYTES      127
#define MAX_SECONDS        86400.0
#define BATCH              256        /* messages per sendmmsg call (the kernel caps at 1024) */
#define CATCHUP_TICKS      10         /* later than this, skip ticks rather than burst them */
#define LATE_NS            1000000ull /* a tick served 1 ms or more after its due time is late */
#define MAX_CMDS_PER_TICK  512        /* control datagrams read per tick (the rest wait a tick) */
#define CTL_MAX_BYTES      2048
#define FOLLOW_MAX_READS   32 /* reads of CTL_MAX_BYTES from a --follow file per tick */
#define RESAMPLE_QUALITY   SPEEX_RESAMPLER_QUALITY_DEFAULT
#define DEFAULT_AUDIO                                                                              \
    "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav"

/* RFC 4733: an event of DTMF_UPDATES packets (duration growing by 160 each), the last one with
 * the E bit, then that end packet twice more (RFC 4733 sends the final packet 3 times). */
#define DTMF_UPDATES  5
#define DTMF_REPEATS  2
#define DTMF_TICKS    (DTMF_UPDATES + DTMF_REPEATS)
#define DTMF_VOLUME   10
#define DTMF_PT_DEF   101
#define DTMF_DIGITDEF 5

/* Salts of draw() (draw.h): one independent sequence per decision. */
enum { SALT_SSRC = 1, SALT_SEQ, SALT_TS, SALT_LOSS, SALT_REORDER, SALT_JITTER };

/* ---- configuration -------------------------------------------------------------------------- */

union addr {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
};

struct dest {
    union addr addr;
    socklen_t len;
};

struct config {
    const char *audio_paths[MAX_AUDIO];
    size_t n_audio;
    unsigned raw_rate_hz;
    struct dest *dests; /* one-shot streams */
    size_t n_dests;
    double seconds;
    uint8_t pt; /* 0 PCMU, 8 PCMA */
    bool have_ssrc;
    uint32_t ssrc;
    uint64_t seed;
    uint32_t loss_ppm, reorder_ppm;
    unsigned jitter_ms;
    long ssrc_change_tick, dtmf_tick, silence_from_tick, silence_to_tick; /* -1: none */
    uint8_t dtmf_event, dtmf_pt;
    const char *control;
    struct dest control_dest;
    const char *follow; /* a file of commands, a line each, appended by another program */
    size_t max_streams;
    double max_seconds;
    const char *stats_path;
    bool verbose;
};

/* ---- audio ---------------------------------------------------------------------------------- */

struct audio {
    uint8_t *enc[2]; /* [0] µ-law, [1] A-law: pkts x 160 bytes each */
    size_t pkts;
};

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/*
 * Resamples `n` mono samples at `in_rate` Hz to 8 kHz into a malloc'd *out of *out_n =
 * n x 8000 / in_rate (floor) samples. speexdsp at RESAMPLE_QUALITY; its filter delay is skipped
 * (speex_resampler_skip_zeros) and the tail flushed with zeros, so that output sample k is the
 * input at time k / 8000. 8 kHz input is copied unchanged. Returns 0 or a VOX_E* code.
 */
static int resample_to_8k(const int16_t *in, size_t n, unsigned in_rate, int16_t **out,
                          size_t *out_n)
{
    static const int16_t zeros[1024];
    size_t want = (size_t)((uint64_t)n * RATE_HZ / in_rate), done = 0, pos = 0;
    SpeexResamplerState *st = NULL;
    int16_t *o = malloc((want + 1) * sizeof(*o));
    int err = 0, rc = VOX_ENOMEM;

    if (!o)
        goto fail;
    if (in_rate == RATE_HZ) {
        memcpy(o, in, n * sizeof(*o));
        *out = o;
        *out_n = n;
        return 0;
    }
    st = speex_resampler_init(1, in_rate, RATE_HZ, RESAMPLE_QUALITY, &err);
    rc = VOX_EINVAL;
    if (!st || err != RESAMPLER_ERR_SUCCESS)
        goto fail;
    speex_resampler_skip_zeros(st);
    while (done < want) {
        spx_uint32_t in_len, out_len = (spx_uint32_t)(want - done > 65536 ? 65536 : want - done);
        const int16_t *src = zeros;

        in_len = (spx_uint32_t)(sizeof(zeros) / sizeof(zeros[0]));
        if (pos < n) {
            src = in + pos;
            in_len = (spx_uint32_t)(n - pos > 65536 ? 65536 : n - pos);
        }
        speex_resampler_process_int(st, 0, src, &in_len, o + done, &out_len);
        if (src != zeros)
            pos += in_len;
        done += out_len;
        if (in_len == 0 && out_len == 0)
            goto fail;
    }
    speex_resampler_destroy(st);
    *out = o;
    *out_n = want;
    return 0;
fail:
    if (st)
        speex_resampler_destroy(st);
    free(o);
    return rc;
}

/* Reads all of a raw s16le file. Returns 0 or a VOX_E* code with `why` set. */
static int read_raw(const char *path, int16_t **out, size_t *n, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;
    size_t i;
    int rc = VOX__ERR(errno);

    if (!f) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return rc;
    }
    rc = VOX_EIO;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(why, why_len, "%s: cannot size the file", path);
        goto out;
    }
    rc = VOX_ENOMEM;
    buf = malloc((size_t)len + 2);
    if (!buf) {
        snprintf(why, why_len, "%s: out of memory", path);
        goto out;
    }
    rc = VOX_EIO;
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        snprintf(why, why_len, "%s: read error", path);
        goto out;
    }
    /* Decode little-endian in place: sample i reads bytes 2i, 2i+1, written to bytes 2i, 2i+1. */
    *n = (size_t)len / 2;
    for (i = 0; i < *n; i++) {
        uint16_t v = (uint16_t)(buf[2 * i] | buf[2 * i + 1] << 8);
        int16_t s = (int16_t)v;

        memcpy(buf + 2 * i, &s, 2);
    }
    *out = (int16_t *)(void *)buf;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

/* Loads, mixes, resamples and encodes one audio file. Returns 0 or a VOX_E* code with `why`. */
static int audio_load(const char *path, unsigned raw_rate_hz, struct audio *a, char *why,
                      size_t why_len)
{
    struct vox_diag diag = {{0}};
    struct vox_wav_info info;
    int16_t *pcm = NULL, *pcm8 = NULL;
    size_t n = 0, n8 = 0, i;
    unsigned rate = raw_rate_hz;
    int rc;

    if (ends_with_ci(path, ".raw")) {
        rc = read_raw(path, &pcm, &n, why, why_len);
        if (rc != 0)
            goto out;
    } else {
        rc = vox_wav_read(path, &info, &pcm, &diag);
        if (rc != 0) {
            snprintf(why, why_len, "%s", diag.text);
            goto out;
        }
        rate = info.rate_hz;
        n = (size_t)info.frames;
        if (info.channels == 2) /* mix to mono in place: sample i only reads 2i and 2i + 1 */
            for (i = 0; i < n; i++)
                pcm[i] = (int16_t)(((int)pcm[2 * i] + pcm[2 * i + 1]) / 2);
    }
    rc = VOX_EMALFORMED;
    if (n == 0) {
        snprintf(why, why_len, "%s: no samples", path);
        goto out;
    }
    rc = resample_to_8k(pcm, n, rate, &pcm8, &n8);
    if (rc != 0 || n8 == 0) {
        snprintf(why, why_len, "%s: cannot resample %u Hz to 8000 Hz", path, rate);
        rc = rc ? rc : VOX_EMALFORMED;
        goto out;
    }
    a->pkts = (n8 + PKT_SAMPLES - 1) / PKT_SAMPLES;
    rc = VOX_ENOMEM;
    free(pcm);
    pcm = calloc(a->pkts * PKT_SAMPLES, sizeof(*pcm)); /* padded with silence */
    a->enc[0] = malloc(a->pkts * PKT_SAMPLES);
    a->enc[1] = malloc(a->pkts * PKT_SAMPLES);
    if (!pcm || !a->enc[0] || !a->enc[1]) {
        snprintf(why, why_len, "%s: out of memory", path);
        goto out;
    }
    memcpy(pcm, pcm8, n8 * sizeof(*pcm));
    vox_g711_ulaw_encode(pcm, a->enc[0], a->pkts * PKT_SAMPLES);
    vox_g711_alaw_encode(pcm, a->enc[1], a->pkts * PKT_SAMPLES);
    rc = 0;
out:
    free(pcm);
    free(pcm8);
    return rc;
}

static void audio_free(struct audio *a)
{
    free(a->enc[0]);
    free(a->enc[1]);
    a->enc[0] = a->enc[1] = NULL;
}

/* ---- addresses ---------------------------------------------------------------------------- */

/*
 * Parses HOST:PORT ("127.0.0.1:4000", "[::1]:4000", with `names` also "host:4000") into *d.
 * Port 0 is accepted only when `port0` is set (a control socket the kernel numbers).
 * Returns 0, or -1 with `why` set.
 */
static int parse_hostport(const char *s, bool names, bool port0, struct dest *d, char *why,
                          size_t why_len)
{
    struct addrinfo hints = {0}, *res = NULL;
    char host[256];
    const char *port, *colon;
    size_t hlen;
    char *end;
    unsigned long p;
    int rc;

    if (s[0] == '[') {
        colon = strchr(s, ']');
        if (!colon || colon[1] != ':') {
            snprintf(why, why_len, "'%s' is not [IPV6]:PORT", s);
            return -1;
        }
        hlen = (size_t)(colon - s - 1);
        port = colon + 2;
        s++;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s) {
            snprintf(why, why_len, "'%s' is not HOST:PORT", s);
            return -1;
        }
        hlen = (size_t)(colon - s);
        port = colon + 1;
    }
    if (hlen == 0 || hlen >= sizeof(host)) {
        snprintf(why, why_len, "'%s': bad host", s);
        return -1;
    }
    memcpy(host, s, hlen);
    host[hlen] = 0;
    errno = 0;
    p = strtoul(port, &end, 10);
    if (!*port || *end || errno || p > 65535 || (p == 0 && !port0)) {
        snprintf(why, why_len, "'%s': port must be 1..65535", port);
        return -1;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV | (names ? 0 : AI_NUMERICHOST);
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(why, why_len, "'%.100s': %s", host,
                 names ? gai_strerror(rc) : "not a numeric IPv4/IPv6 address");
        if (res)
            freeaddrinfo(res);
        return -1;
    }
    memset(d, 0, sizeof(*d));
    memcpy(&d->addr, res->ai_addr, res->ai_addrlen);
    d->len = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void format_addr(const union addr *a, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (a->sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, ntohs(a->in6.sin6_port));
    } else {
        inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, ntohs(a->in4.sin_port));
    }
}

/* ---- the sender ------------------------------------------------------------------------------ */

struct leg {
    struct dest dst;
    uint64_t stream_id; /* index of this stream for draw() */
    const struct audio *audio;
    size_t offset_pkts; /* where in the audio tick 0 starts */
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts_base;
    uint64_t generated; /* packets generated, lost ones included: n of draw() */
    bool marker_next;
    bool paused;  /* 'pause': nothing sent, the clock runs on */
    bool stopped; /* 'stop KEY LEG': this leg is over, the others go on */
    bool held;    /* a packet kept back by --reorder, sent after the next one */
    uint64_t held_n;
    uint16_t held_len;
    uint8_t held_buf[PKT_CAP];
    uint64_t sent, lost;
};

struct session {
    char key[MAX_KEY_BYTES + 1];
    uint64_t start_tick, ticks; /* runs for ticks [start_tick, start_tick + ticks) */
    uint8_t pt;
    size_t nlegs, nlegs_running; /* nlegs_running: not stopped */
    struct leg *legs;
    size_t active_pos;
};

/* One sendmmsg batch: the packets of a tick for one address family. */
struct tx {
    struct dest dst;
    uint16_t len;
    uint8_t buf[PKT_CAP];
};

struct batch {
    int fd;
    size_t n;
    struct mmsghdr msg[BATCH];
    struct iovec iov[BATCH];
    struct tx tx[BATCH];
};

/* A packet delayed by --jitter-ms, in a min-heap on due_ns. */
struct pending {
    uint64_t due_ns;
    struct tx tx;
};

struct stats {
    uint64_t sessions_started, streams_started, packets_sent, packets_lost, packets_discarded;
    uint64_t send_errors, ticks, late_ticks, skipped_ticks, max_lateness_ns;
    uint64_t commands, commands_rejected;
};

struct sender {
    struct config cfg;
    struct audio audio[MAX_AUDIO];
    size_t n_audio;
    int ctl_fd;
    int follow_fd;                      /* -1 until the --follow file exists */
    bool follow_failed;                 /* it cannot be read: reported once, then ignored */
    bool follow_skip;                   /* inside a line too long to be a command */
    size_t follow_len;                  /* bytes of a line not yet ended */
    char follow_buf[CTL_MAX_BYTES + 1]; /* that line */
    struct batch b4, b6;
    struct session *sessions; /* max_streams slots */
    uint32_t *free_ids;
    size_t n_free;
    uint32_t *active; /* session ids in use, dense */
    size_t n_active;
    uint32_t *index; /* open addressing by key hash: session id + 1, 0 empty */
    size_t index_mask;
    size_t legs_active;
    struct pending *heap;
    size_t heap_n, heap_cap;
    uint64_t t0_ns, tick;
    uint64_t next_stream_id;
    bool quit;
    struct stats st;
    struct leg *oneshot_legs; /* one-shot: the session's legs, kept for the stats */
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int batch_fd(struct sender *S, int family)
{
    struct batch *b = family == AF_INET6 ? &S->b6 : &S->b4;

    if (b->fd < 0) {
        b->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (b->fd >= 0) {
            int sz = 4 << 20;

            setsockopt(b->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        }
    }
    return b->fd;
}

static void batch_flush(struct sender *S, struct batch *b)
{
    size_t i, done = 0;

    for (i = 0; i < b->n; i++) {
        b->iov[i].iov_base = b->tx[i].buf;
        b->iov[i].iov_len = b->tx[i].len;
        memset(&b->msg[i], 0, sizeof(b->msg[i]));
        b->msg[i].msg_hdr.msg_name = &b->tx[i].dst.addr;
        b->msg[i].msg_hdr.msg_namelen = b->tx[i].dst.len;
        b->msg[i].msg_hdr.msg_iov = &b->iov[i];
        b->msg[i].msg_hdr.msg_iovlen = 1;
    }
    while (done < b->n) {
        int r = sendmmsg(b->fd, b->msg + done, (unsigned)(b->n - done), 0);

        if (r > 0) {
            done += (size_t)r;
            S->st.packets_sent += (uint64_t)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else {
            /* The message at `done` failed (unreachable, no buffer): count it, go on. */
            S->st.send_errors++;
            done++;
        }
    }
    b->n = 0;
}

static void batch_add(struct sender *S, const struct dest *dst, const uint8_t *pkt, size_t len)
{
    struct batch *b = dst->addr.sa.sa_family == AF_INET6 ? &S->b6 : &S->b4;
    struct tx *t;

    if (b->fd < 0) {
        S->st.send_errors++;
        return;
    }
    if (b->n == BATCH)
        batch_flush(S, b);
    t = &b->tx[b->n++];
    t->dst = *dst;
    t->len = (uint16_t)len;
    memcpy(t->buf, pkt, len);
}

static void flush_all(struct sender *S)
{
    if (S->b4.n)
        batch_flush(S, &S->b4);
    if (S->b6.n)
        batch_flush(S, &S->b6);
}

/* ---- jitter heap ---- */

static void heap_swap(struct pending *a, struct pending *b)
{
    struct pending t = *a;

    *a = *b;
    *b = t;
}

static void heap_push(struct sender *S, uint64_t due_ns, const struct dest *dst, const uint8_t *pkt,
                      size_t len)
{
    size_t i;

    if (S->heap_n == S->heap_cap) {
        /* Bounded: every stream holds at most jitter / 20 ms + 2 packets in flight. */
        size_t bound = S->cfg.max_streams * (S->cfg.jitter_ms / 20 + 2);
        size_t cap = S->heap_cap ? S->heap_cap * 2 : 64;
        struct pending *h;

        if (cap > bound)
            cap = bound;
        h = cap > S->heap_cap ? realloc(S->heap, cap * sizeof(*h)) : NULL;
        if (!h) {
            S->st.packets_discarded++;
            return;
        }
        S->heap = h;
        S->heap_cap = cap;
    }
    i = S->heap_n++;
    S->heap[i].due_ns = due_ns;
    S->heap[i].tx.dst = *dst;
    S->heap[i].tx.len = (uint16_t)len;
    memcpy(S->heap[i].tx.buf, pkt, len);
    while (i > 0 && S->heap[(i - 1) / 2].due_ns > S->heap[i].due_ns) {
        heap_swap(&S->heap[(i - 1) / 2], &S->heap[i]);
        i = (i - 1) / 2;
    }
}

static void heap_pop(struct sender *S)
{
    size_t i = 0;

    S->heap[0] = S->heap[--S->heap_n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < S->heap_n && S->heap[l].due_ns < S->heap[m].due_ns)
            m = l;
        if (r < S->heap_n && S->heap[r].due_ns < S->heap[m].due_ns)
            m = r;
        if (m == i)
            break;
        heap_swap(&S->heap[i], &S->heap[m]);
        i = m;
    }
}

/* Moves every delayed packet due by `now_ns` into the batches and sends them. */
static void heap_release(struct sender *S, uint64_t now_ns)
{
    bool any = false;

    while (S->heap_n && S->heap[0].due_ns <= now_ns) {
        batch_add(S, &S->heap[0].tx.dst, S->heap[0].tx.buf, S->heap[0].tx.len);
        heap_pop(S);
        any = true;
    }
    if (any)
        flush_all(S);
}

/* ---- packets ---- */

/* Sends (or delays, with --jitter-ms) packet n of leg l. */
static void emit(struct sender *S, struct leg *l, uint64_t n, uint64_t due_ns, const uint8_t *pkt,
                 size_t len)
{
    l->sent++;
    if (S->cfg.jitter_ms) {
        uint64_t d = draw(S->cfg.seed, l->stream_id, SALT_JITTER, n) %
                     ((uint64_t)S->cfg.jitter_ms * 1000 + 1);

        heap_push(S, due_ns + d * 1000, &l->dst, pkt, len);
    } else {
        batch_add(S, &l->dst, pkt, len);
    }
}

/* Applies loss and reordering to a freshly built packet of leg l. */
static void impair_and_emit(struct sender *S, struct leg *l, uint64_t due_ns, const uint8_t *pkt,
                            size_t len)
{
    const struct config *c = &S->cfg;
    uint64_t n = l->generated++;

    if (c->loss_ppm && draw(c->seed, l->stream_id, SALT_LOSS, n) % 1000000 < c->loss_ppm) {
        l->lost++;
        S->st.packets_lost++;
        return;
    }
    if (l->held) {
        /* the packet kept back last time goes right after this one */
        emit(S, l, n, due_ns, pkt, len);
        emit(S, l, l->held_n, due_ns, l->held_buf, l->held_len);
        l->held = false;
        return;
    }
    if (c->reorder_ppm && draw(c->seed, l->stream_id, SALT_REORDER, n) % 1000000 < c->reorder_ppm) {
        l->held = true;
        l->held_n = n;
        l->held_len = (uint16_t)len;
        memcpy(l->held_buf, pkt, len);
        return;
    }
    emit(S, l, n, due_ns, pkt, len);
}

static void release_held(struct sender *S, struct leg *l, uint64_t due_ns)
{
    if (l->held) {
        emit(S, l, l->held_n, due_ns, l->held_buf, l->held_len);
        l->held = false;
    }
}

static void discard_held(struct sender *S, struct leg *l)
{
    if (l->held) {
        S->st.packets_discarded++;
        l->held = false;
    }
}

/* New SSRC, sequence and timestamp origin for leg l (generation g: 0 at start, 1 after
 * --ssrc-change-at), such that tick t still maps to ts_base + 160 t. */
static void leg_identity(struct sender *S, struct leg *l, unsigned g)
{
    const struct config *c = &S->cfg;

    if (c->have_ssrc)
        l->ssrc = c->ssrc + (uint32_t)l->stream_id + (g ? 0x80000000u : 0);
    else
        l->ssrc = (uint32_t)draw(c->seed, l->stream_id, SALT_SSRC, g);
    l->seq = (uint16_t)draw(c->seed, l->stream_id, SALT_SEQ, g);
    l->ts_base = (uint32_t)draw(c->seed, l->stream_id, SALT_TS, g);
    l->marker_next = true;
}

/* Builds and sends leg l's packet for tick t of its session (due at due_ns), if it has one. */
static void leg_tick(struct sender *S, struct session *s, struct leg *l, uint64_t t,
                     uint64_t due_ns)
{
    const struct config *c = &S->cfg;
    struct vox_rtp_view v = {.version = VOX_RTP_VERSION};
    uint8_t pkt[PKT_CAP], ev[VOX_RTP_EVENT_BYTES];
    int len;

    if (l->stopped)
        return;
    if (c->ssrc_change_tick >= 0 && t == (uint64_t)c->ssrc_change_tick && t > 0)
        leg_identity(S, l, 1);
    if (l->paused) {
        l->marker_next = true;
        return;
    }
    v.ssrc = l->ssrc;
    v.seq = l->seq;
    if (c->dtmf_tick >= 0 && t >= (uint64_t)c->dtmf_tick &&
        t < (uint64_t)c->dtmf_tick + DTMF_TICKS) {
        /* RFC 4733: one timestamp (the event start) for all packets of the event */
        unsigned k = (unsigned)(t - (uint64_t)c->dtmf_tick);
        struct vox_rtp_event e = {
            .event = c->dtmf_event,
            .end = k + 1 >= DTMF_UPDATES,
            .volume = DTMF_VOLUME,
            .duration = (uint16_t)(PKT_SAMPLES * (k < DTMF_UPDATES ? k + 1 : DTMF_UPDATES)),
        };

        vox_rtp_event_build(&e, ev, sizeof(ev));
        v.payload_type = c->dtmf_pt;
        v.marker = k == 0; /* RFC 4733: the marker starts an event */
        v.timestamp = l->ts_base + (uint32_t)((uint64_t)c->dtmf_tick * PKT_SAMPLES);
        v.payload = ev;
        v.payload_len_bytes = sizeof(ev);
    } else if (c->silence_from_tick >= 0 && t >= (uint64_t)c->silence_from_tick &&
               t < (uint64_t)c->silence_to_tick) {
        /* DTX: nothing on the wire; the next packet starts a talkspurt */
        l->marker_next = true;
        release_held(S, l, due_ns);
        return;
    } else {
        v.payload_type = s->pt;
        v.marker = l->marker_next;
        v.timestamp = l->ts_base + (uint32_t)(t * PKT_SAMPLES);
        v.payload =
            l->audio->enc[s->pt == 8] + ((l->offset_pkts + t) % l->audio->pkts) * PKT_SAMPLES;
        v.payload_len_bytes = PKT_SAMPLES;
        l->marker_next = false;
    }
    len = vox_rtp_build(&v, pkt, sizeof(pkt), NULL);
    if (len < 0) {
        S->st.send_errors++;
        return;
    }
    l->seq++;
    impair_and_emit(S, l, due_ns, pkt, (size_t)len);
}

/* ---- sessions ---- */

static uint64_t hash_key(const char *k)
{
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a */

    while (*k)
        h = (h ^ (uint8_t)*k++) * 0x100000001B3ull;
    return h;
}

/* The slot of `key` in the index, or of the empty slot where it would go. */
static size_t index_slot(const struct sender *S, const char *key)
{
    size_t i = (size_t)hash_key(key) & S->index_mask;

    while (S->index[i] && strcmp(S->sessions[S->index[i] - 1].key, key) != 0)
        i = (i + 1) & S->index_mask;
    return i;
}

static struct session *session_find(struct sender *S, const char *key)
{
    uint32_t id = S->index[index_slot(S, key)];

    return id ? &S->sessions[id - 1] : NULL;
}

/* Linear probing deletion with backward shift (no tombstones). */
static void index_remove(struct sender *S, size_t i)
{
    size_t j = i;

    S->index[i] = 0;
    for (;;) {
        size_t home;

        j = (j + 1) & S->index_mask;
        if (!S->index[j])
            return;
        home = (size_t)hash_key(S->sessions[S->index[j] - 1].key) & S->index_mask;
        /* move j back to i unless its home lies cyclically in (i, j] */
        if ((i < j && (home <= i || home > j)) || (i > j && home <= i && home > j)) {
            S->index[i] = S->index[j];
            S->index[j] = 0;
            i = j;
        }
    }
}

static void session_end(struct sender *S, struct session *s, bool discard, uint64_t due_ns)
{
    uint32_t id = (uint32_t)(s - S->sessions);
    size_t i;

    for (i = 0; i < s->nlegs; i++) {
        if (discard)
            discard_held(S, &s->legs[i]);
        else
            release_held(S, &s->legs[i], due_ns);
    }
    S->legs_active -= s->nlegs_running;
    if (s->legs != S->oneshot_legs)
        free(s->legs);
    s->legs = NULL;
    index_remove(S, index_slot(S, s->key));
    S->active[s->active_pos] = S->active[--S->n_active];
    S->sessions[S->active[s->active_pos]].active_pos = s->active_pos;
    S->free_ids[S->n_free++] = id;
}

/* Starts session `key` with one stream per dest. Returns NULL with `why` set on failure. */
static struct session *session_start(struct sender *S, const char *key, double seconds,
                                     const struct dest *dests, size_t n, uint8_t pt, char *why,
                                     size_t why_len)
{
    struct session *s;
    size_t slot, i, per_audio;
    uint32_t id;

    if (strlen(key) > MAX_KEY_BYTES) {
        snprintf(why, why_len, "key longer than %d bytes", MAX_KEY_BYTES);
        return NULL;
    }
    slot = index_slot(S, key);
    if (S->index[slot]) {
        snprintf(why, why_len, "'%s' is already running", key);
        return NULL;
    }
    if (!S->n_free || S->legs_active + n > S->cfg.max_streams) {
        snprintf(why, why_len, "--max-streams %zu reached (%zu running)", S->cfg.max_streams,
                 S->legs_active);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (batch_fd(S, dests[i].addr.sa.sa_family) < 0) {
            snprintf(why, why_len, "cannot open a UDP socket: %s", strerror(errno));
            return NULL;
        }
    }
    id = S->free_ids[S->n_free - 1];
    s = &S->sessions[id];
    memset(s, 0, sizeof(*s));
    s->legs = S->oneshot_legs ? S->oneshot_legs : calloc(n, sizeof(*s->legs));
    if (!s->legs) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    S->n_free--;
    snprintf(s->key, sizeof(s->key), "%s", key);
    s->start_tick = S->tick;
    s->ticks = (uint64_t)llround(seconds * TICKS_PER_S);
    if (s->ticks == 0)
        s->ticks = 1;
    s->pt = pt;
    s->nlegs = s->nlegs_running = n;
    /* Leg j plays audio j mod n_audio; the legs sharing a file start evenly spread over it. */
    per_audio = (n + S->n_audio - 1) / S->n_audio;
    for (i = 0; i < n; i++) {
        struct leg *l = &s->legs[i];

        l->dst = dests[i];
        l->stream_id = S->next_stream_id++;
        l->audio = &S->audio[i % S->n_audio];
        l->offset_pkts = (i / S->n_audio) * l->audio->pkts / per_audio;
        leg_identity(S, l, 0);
    }
    S->index[slot] = id + 1;
    s->active_pos = S->n_active;
    S->active[S->n_active++] = id;
    S->legs_active += n;
    S->st.sessions_started++;
    S->st.streams_started += n;
    return s;
}

/* ---- control protocol (daemon) ------------------------------------------------------------ */

/*
 * One command per datagram, words separated by blanks, a trailing newline ignored:
 *   start KEY SECONDS HOST:PORT[,HOST:PORT...] [pcmu|pcma]
 *   pause KEY [LEG] | resume KEY [LEG] | stop KEY [LEG] | quit | ping | stats
 * LEG is 1-based in the order of the start command's destinations (the SDP's m= order).
 * Every command is answered to its sender with one datagram: "ok ...", "pong", a JSON object
 * (stats) or "error: ...". Commands take effect at the next tick.
 */
static void stats_json(const struct sender *S, char *buf, size_t len, const char *mode);

static void control_command(struct sender *S, char *cmd, char *reply, size_t reply_len)
{
    char *save = NULL, *verb, *key, *w;
    struct session *s;
    char why[256];

    S->st.commands++;
    verb = strtok_r(cmd, " \t\r\n", &save);
    key = verb ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    if (!verb) {
        snprintf(reply, reply_len, "error: empty command");
    } else if (strcmp(verb, "ping") == 0) {
        snprintf(reply, reply_len, "pong");
        return;
    } else if (strcmp(verb, "stats") == 0) {
        stats_json(S, reply, reply_len, "daemon");
        return;
    } else if (strcmp(verb, "quit") == 0) {
        S->quit = true;
        snprintf(reply, reply_len, "ok quit");
        return;
    } else if (strcmp(verb, "start") == 0) {
        struct dest dests[MAX_LEGS_PER_START];
        char *secs = key ? strtok_r(NULL, " \t\r\n", &save) : NULL;
        char *list = secs ? strtok_r(NULL, " \t\r\n", &save) : NULL;
        char *codec = list ? strtok_r(NULL, " \t\r\n", &save) : NULL;
        char *end, *save2 = NULL;
        uint8_t pt = S->cfg.pt;
        double seconds;
        size_t n = 0;

        if (!list || strtok_r(NULL, " \t\r\n", &save)) {
            snprintf(reply, reply_len,
                     "error: usage: start KEY SECONDS HOST:PORT[,HOST:PORT...] [pcmu|pcma]");
            goto rejected;
        }
        seconds = strtod(secs, &end);
        if (*end || !(seconds > 0) || seconds > MAX_SECONDS) {
            snprintf(reply, reply_len, "error: start %s: SECONDS '%s' is not in (0, %.0f]", key,
                     secs, MAX_SECONDS);
            goto rejected;
        }
        if (codec && strcasecmp(codec, "pcmu") != 0 && strcasecmp(codec, "pcma") != 0) {
            snprintf(reply, reply_len, "error: start %s: codec '%s' is not pcmu or pcma", key,
                     codec);
            goto rejected;
        }
        if (codec)
            pt = strcasecmp(codec, "pcma") == 0 ? 8 : 0;
        for (w = strtok_r(list, ",", &save2); w; w = strtok_r(NULL, ",", &save2)) {
            if (n == MAX_LEGS_PER_START) {
                snprintf(reply, reply_len, "error: start %s: more than %d destinations", key,
                         MAX_LEGS_PER_START);
                goto rejected;
            }
            /* numeric only: a name lookup would stall every stream's tick */
            if (parse_hostport(w, false, false, &dests[n], why, sizeof(why)) != 0) {
                snprintf(reply, reply_len, "error: start %s: destination %s", key, why);
                goto rejected;
            }
            n++;
        }
        if (!session_start(S, key, seconds, dests, n, pt, why, sizeof(why))) {
            snprintf(reply, reply_len, "error: start %s: %s", key, why);
            goto rejected;
        }
        snprintf(reply, reply_len, "ok start %s", key);
        return;
    } else if (strcmp(verb, "pause") == 0 || strcmp(verb, "resume") == 0 ||
               strcmp(verb, "stop") == 0) {
        char *leg = key ? strtok_r(NULL, " \t\r\n", &save) : NULL, *end = NULL;
        unsigned long n = 0, i;

        if (!key || strtok_r(NULL, " \t\r\n", &save)) {
            snprintf(reply, reply_len, "error: usage: %s KEY [LEG]", verb);
            goto rejected;
        }
        s = session_find(S, key);
        if (!s) {
            snprintf(reply, reply_len, "error: %s %s: no such stream", verb, key);
            goto rejected;
        }
        if (leg) {
            n = strtoul(leg, &end, 10);
            if (*end || n == 0 || n > s->nlegs) {
                snprintf(reply, reply_len, "error: %s %s: LEG '%s' is not in 1..%zu", verb, key,
                         leg, s->nlegs);
                goto rejected;
            }
        }
        for (i = leg ? n - 1 : 0; i < (leg ? n : s->nlegs); i++) {
            struct leg *l = &s->legs[i];

            if (verb[0] == 's' && !l->stopped) {
                l->stopped = true;
                discard_held(S, l);
                s->nlegs_running--;
                S->legs_active--;
            } else if (verb[0] == 'p') {
                l->paused = true;
                discard_held(S, l);
            } else if (verb[0] == 'r') {
                l->paused = false;
            }
        }
        snprintf(reply, reply_len, "ok %s %s%s%s", verb, key, leg ? " " : "", leg ? leg : "");
        if (s->nlegs_running == 0)
            session_end(S, s, true, 0);
        return;
    } else {
        snprintf(reply, reply_len,
                 "error: unknown command '%s' (start, pause, resume, stop, "
                 "quit, ping, stats)",
                 verb);
    }
rejected:
    S->st.commands_rejected++;
    if (S->cfg.verbose)
        fprintf(stderr, PROG ": %s\n", reply);
}

static void control_drain(struct sender *S)
{
    int i;

    for (i = 0; i < MAX_CMDS_PER_TICK && !S->quit; i++) {
        char buf[CTL_MAX_BYTES + 1], reply[1024];
        union addr from;
        socklen_t from_len = sizeof(from);
        ssize_t r = recvfrom(S->ctl_fd, buf, CTL_MAX_BYTES, MSG_DONTWAIT, &from.sa, &from_len);

        if (r < 0)
            break; /* EAGAIN: nothing more this tick */
        buf[r] = 0;
        if (memchr(buf, 0, (size_t)r)) {
            snprintf(reply, sizeof(reply), "error: NUL byte in command");
            S->st.commands++;
            S->st.commands_rejected++;
        } else {
            control_command(S, buf, reply, sizeof(reply));
        }
        sendto(S->ctl_fd, reply, strlen(reply), MSG_DONTWAIT, &from.sa, from_len);
    }
}

/*
 * --follow: the commands that another program appended to the file since the last tick, one a
 * line, carried out like datagrams but answered nowhere (a rejected one is counted, and printed
 * with --verbose). The file may appear after the daemon starts; a line still being written
 * waits for its newline. It is read where the last tick stopped, so a load generator writing a
 * line per call costs a write, not the fork and exec of a client per command.
 */
static void follow_line(struct sender *S, char *line)
{
    char reply[1024];

    if (S->follow_skip) {
        S->follow_skip = false; /* the end of a line that was too long: already counted */
        return;
    }
    if (!line[strspn(line, " \t\r")])
        return; /* blank */
    control_command(S, line, reply, sizeof(reply));
}

static void follow_drain(struct sender *S)
{
    if (!S->cfg.follow || S->follow_failed || S->quit)
        return;
    if (S->follow_fd < 0) {
        S->follow_fd = open(S->cfg.follow, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (S->follow_fd < 0) {
            if (errno != ENOENT) {
                fprintf(stderr, PROG ": --follow %s: %s (no more commands from it)\n",
                        S->cfg.follow, strerror(errno));
                S->follow_failed = true;
            }
            return;
        }
    }
    for (int k = 0; k < FOLLOW_MAX_READS && !S->quit; k++) {
        size_t room = CTL_MAX_BYTES - S->follow_len, start = 0, i;
        ssize_t r = read(S->follow_fd, S->follow_buf + S->follow_len, room);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0 && errno != EAGAIN) {
                fprintf(stderr, PROG ": --follow %s: %s (no more commands from it)\n",
                        S->cfg.follow, strerror(errno));
                S->follow_failed = true;
            }
            return; /* the end for now: the writer may append more */
        }
        S->follow_len += (size_t)r;
        for (i = 0; i < S->follow_len && !S->quit; i++) {
            if (S->follow_buf[i] != '\n' && S->follow_buf[i] != '\0')
                continue;
            S->follow_buf[i] = 0; /* a NUL ends a line too: it cannot be inside a command */
            follow_line(S, S->follow_buf + start);
            start = i + 1;
        }
        S->follow_len -= start;
        memmove(S->follow_buf, S->follow_buf + start, S->follow_len);
        if (S->follow_len == CTL_MAX_BYTES) {
            /* no newline in a command's worth of bytes: reject it, skip to the next line */
            S->st.commands++;
            S->st.commands_rejected++;
            if (S->cfg.verbose)
                fprintf(stderr, PROG ": --follow %s: a line longer than %d bytes\n", S->cfg.follow,
                        CTL_MAX_BYTES);
            S->follow_skip = true;
            S->follow_len = 0;
        }
    }
}

/* ---- the loop ---------------------------------------------------------------------------- */

/* Sleeps until `due_ns`, sending delayed packets as they fall due. False when signalled. */
static bool wait_until(struct sender *S, uint64_t due_ns)
{
    for (;;) {
        uint64_t next = due_ns, now;
        struct timespec ts;

        if (g_stop)
            return false;
        if (S->heap_n && S->heap[0].due_ns < next)
            next = S->heap[0].due_ns;
        ts.tv_sec = (time_t)(next / 1000000000ull);
        ts.tv_nsec = (long)(next % 1000000000ull);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL); /* EINTR: loop checks */
        now = vox_clock_ns();
        heap_release(S, now);
        if (now >= due_ns)
            return !g_stop;
    }
}

/* Runs ticks until the one-shot session ended, `quit`, a signal or --max-seconds. */
static void run_loop(struct sender *S, bool daemon)
{
    uint64_t max_ticks = (uint64_t)llround(S->cfg.max_seconds * TICKS_PER_S);

    S->t0_ns = vox_clock_ns();
    S->tick = 0;
    for (;;) {
        uint64_t due = S->t0_ns + S->tick * TICK_NS, now, late;
        size_t i, j;

        if (!wait_until(S, due))
            break;
        now = vox_clock_ns();
        late = now - due;
        S->st.ticks++;
        S->st.late_ticks += late >= LATE_NS;
        if (late > S->st.max_lateness_ns)
            S->st.max_lateness_ns = late;
        if (daemon && late > CATCHUP_TICKS * TICK_NS) {
            /* far behind (a stall): jump to the present instead of bursting thousands of
             * streams' backlog at once; a one-shot run catches up instead, so that its packet
             * count stays exact */
            uint64_t skip = late / TICK_NS;

            S->st.skipped_ticks += skip;
            S->tick += skip;
            due += skip * TICK_NS;
        }
        if (daemon) {
            control_drain(S);
            follow_drain(S);
        }
        for (i = 0; i < S->n_active;) {
            struct session *s = &S->sessions[S->active[i]];
            uint64_t t = S->tick - s->start_tick;

            if (t < s->ticks)
                for (j = 0; j < s->nlegs; j++)
                    leg_tick(S, s, &s->legs[j], t, due);
            if (t + 1 >= s->ticks) {
                session_end(S, s, false, due); /* swaps the last session into i */
                continue;
            }
            i++;
        }
        flush_all(S);
        if (S->quit || (!daemon && S->n_active == 0) || (daemon && S->tick >= max_ticks))
            break;
        S->tick++;
    }
    /* one-shot: let the packets still delayed by --jitter-ms go out */
    while (!daemon && S->heap_n && wait_until(S, S->heap[0].due_ns))
        ;
    S->st.packets_discarded += S->heap_n;
    S->heap_n = 0;
}

static void stats_json(const struct sender *S, char *buf, size_t len, const char *mode)
{
    snprintf(buf, len,
             "{\"mode\": \"%s\", \"sessions_started\": %llu, \"sessions_active\": %zu, "
             "\"streams_started\": %llu, \"streams_active\": %zu, \"packets_sent\": %llu, "
             "\"packets_lost\": %llu, \"packets_discarded\": %llu, \"send_errors\": %llu, "
             "\"ticks\": %llu, \"late_ticks\": %llu, \"skipped_ticks\": %llu, "
             "\"max_lateness_us\": %llu, \"commands\": %llu, \"commands_rejected\": %llu, "
             "\"signalled\": %s}",
             mode, (unsigned long long)S->st.sessions_started, S->n_active,
             (unsigned long long)S->st.streams_started, S->legs_active,
             (unsigned long long)S->st.packets_sent, (unsigned long long)S->st.packets_lost,
             (unsigned long long)S->st.packets_discarded, (unsigned long long)S->st.send_errors,
             (unsigned long long)S->st.ticks, (unsigned long long)S->st.late_ticks,
             (unsigned long long)S->st.skipped_ticks,
             (unsigned long long)(S->st.max_lateness_ns / 1000), (unsigned long long)S->st.commands,
             (unsigned long long)S->st.commands_rejected, g_stop ? "true" : "false");
}

/* Writes --stats: the summary object, plus the streams of a one-shot run. */
static int write_stats(const struct sender *S, const char *path, bool daemon,
                       const struct leg *legs, size_t nlegs)
{
    char buf[2048], addr[INET6_ADDRSTRLEN + 16];
    FILE *f = fopen(path, "w");
    size_t i;
    int ok;

    if (!f) {
        fprintf(stderr, PROG ": --stats: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    stats_json(S, buf, sizeof(buf), daemon ? "daemon" : "oneshot");
    buf[strlen(buf) - 1] = 0; /* reopen the object for the stream list */
    fputs(buf, f);
    if (legs) {
        fputs(", \"streams\": [", f);
        for (i = 0; i < nlegs; i++) {
            format_addr(&legs[i].dst.addr, addr, sizeof(addr));
            fprintf(f, "%s\n  {\"dest\": \"%s\", \"ssrc\": %u, \"sent\": %llu, \"lost\": %llu}",
                    i ? "," : "", addr, legs[i].ssrc, (unsigned long long)legs[i].sent,
                    (unsigned long long)legs[i].lost);
        }
        fputs("]", f);
    }
    fputs("}\n", f);
    ok = !ferror(f);
    if (fclose(f) != 0 || !ok) {
        fprintf(stderr, PROG ": --stats: error writing '%s'\n", path);
        return -1;
    }
    return 0;
}

/* ---- client mode ------------------------------------------------------------------------- */

/*
 * --send HOST:PORT [--wait MS] WORD...: sends the words joined by blanks as one command.
 * Without --wait it returns as soon as the datagram left (what SIPp's <exec> wants); with it,
 * it resends every 200 ms until the daemon answers, prints the answer, and fails on "error".
 */
static int run_client(const char *target, long wait_ms, char **words, int nwords)
{
    char cmd[CTL_MAX_BYTES + 1], reply[CTL_MAX_BYTES + 1], why[256];
    struct dest d;
    size_t len = 0;
    uint64_t deadline, next_send = 0;
    int fd, i, rc = EXIT_RUN_ERROR;

    if (parse_hostport(target, true, false, &d, why, sizeof(why)) != 0) {
        fprintf(stderr, PROG ": --send: %s\n", why);
        return EXIT_USAGE;
    }
    for (i = 0; i < nwords; i++) {
        size_t w = strlen(words[i]);

        if (len + w + 1 > CTL_MAX_BYTES) {
            fprintf(stderr, PROG ": --send: command longer than %d bytes\n", CTL_MAX_BYTES);
            return EXIT_USAGE;
        }
        if (i)
            cmd[len++] = ' ';
        memcpy(cmd + len, words[i], w);
        len += w;
    }
    cmd[len] = 0;
    fd = socket(d.addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, &d.addr.sa, d.len) != 0) {
        fprintf(stderr, PROG ": --send %s: %s\n", target, strerror(errno));
        goto out;
    }
    if (wait_ms == 0) {
        if (send(fd, cmd, len, 0) != (ssize_t)len) {
            fprintf(stderr, PROG ": --send %s: %s\n", target, strerror(errno));
            goto out;
        }
        rc = 0;
        goto out;
    }
    deadline = vox_clock_ns() + (uint64_t)wait_ms * 1000000ull;
    for (;;) {
        uint64_t now = vox_clock_ns(), wake;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;

        if (now >= deadline) {
            fprintf(stderr, PROG ": --send %s: no answer within %ld ms\n", target, wait_ms);
            goto out;
        }
        if (now >= next_send) {
            send(fd, cmd, len, 0); /* refused (daemon not up yet): try again */
            next_send = now + 200000000ull;
        }
        wake = next_send < deadline ? next_send : deadline;
        now = vox_clock_ns();
        if (poll(&p, 1, wake > now ? (int)((wake - now) / 1000000) + 1 : 0) <= 0)
            continue;
        r = recv(fd, reply, CTL_MAX_BYTES, 0);
        if (r < 0)
            continue; /* ECONNREFUSED from an earlier send */
        reply[r] = 0;
        printf("%s\n", reply);
        rc = strncmp(reply, "error", 5) == 0 ? EXIT_RUN_ERROR : 0;
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- command line ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage:\n"
        "  " PROG " --dest HOST:PORT [--dest HOST:PORT ...] --seconds N [options]\n"
        "  " PROG " --control HOST:PORT [--max-streams N] [--max-seconds N] [options]\n"
        "  " PROG " --send HOST:PORT [--wait MS] COMMAND WORDS...\n"
        "\n"
        "Sends G.711 RTP (20 ms packets) of a speech file, paced by one thread on absolute\n"
        "20 ms ticks and sent with sendmmsg.\n"
        "\n"
        "one-shot mode: one stream per --dest for --seconds, then exit\n"
        "  --dest HOST:PORT       a receiver (IPv4, [IPv6] or a host name), repeatable\n"
        "  --seconds N            stream length (0.02 .. 86400, fractions allowed)\n"
        "\n"
        "daemon mode: streams driven by commands on a UDP control socket\n"
        "  --control HOST:PORT    numeric address to listen on (port 0: any; the address is\n"
        "                         printed on stdout as 'control HOST:PORT')\n"
        "  --max-streams N        most streams running at once (default 4000)\n"
        "  --max-seconds N        exit after N seconds even without 'quit' (default 86400)\n"
        "  --follow FILE          also carry out the commands appended to FILE, a line each,\n"
        "                         unanswered (e.g. SIPp's <log> actions with -trace_logs\n"
        "                         -log_file FILE); FILE may appear later\n"
        "  commands, one per datagram, each answered with 'ok ...'/'error: ...':\n"
        "    start KEY SECONDS HOST:PORT[,HOST:PORT...] [pcmu|pcma]   (numeric addresses)\n"
        "    pause KEY [LEG] | resume KEY [LEG] | stop KEY [LEG] | quit | ping | stats\n"
        "  LEG (1-based, in the order of 'start') acts on one stream of the session, else on\n"
        "  all. A session's clock runs while it is paused: it ends SECONDS after 'start'.\n"
        "\n"
        "client mode: send one command to a daemon and exit (no audio is loaded)\n"
        "  --send HOST:PORT       the daemon's control address; the remaining words are the\n"
        "                         command, e.g. --send 127.0.0.1:7000 start call1 30 "
        "10.0.0.2:20000\n"
        "  --wait MS              wait up to MS ms for the answer (resend every 200 ms), print\n"
        "                         it, exit 1 on 'error' or no answer; default 0: fire and forget\n"
        "\n"
        "media (one-shot and daemon):\n"
        "  --audio FILE           WAV (PCM16 mono/stereo, any rate) or raw s16le '.raw'; twice\n"
        "                         or more: stream i plays file i mod count. Default:\n"
        "                         " DEFAULT_AUDIO "\n"
        "                         Streams sharing a file start at evenly spread offsets in it.\n"
        "  --raw-rate HZ          sample rate of '.raw' files (default 16000)\n"
        "  --codec pcmu|pcma      payload type 0 or 8 (default pcmu)\n"
        "  --ssrc X               SSRC of stream 0 (stream i: X + i); default drawn from --seed\n"
        "  --seed S               makes SSRCs, sequence/timestamp origins and impairments\n"
        "                         reproducible (default: random)\n"
        "  --loss PCT             drop PCT %% of the packets (sequence numbers keep counting)\n"
        "  --jitter-ms J          delay each packet by 0..J ms (uniform)\n"
        "  --reorder PCT          send PCT %% of the packets after their successor\n"
        "  --ssrc-change-at SEC   new SSRC, sequence and timestamp origin SEC into each stream\n"
        "  --dtmf-at SEC          an RFC 4733 event SEC into each stream: 5 updates + 2 end\n"
        "                         repeats (140 ms) replacing the audio packets\n"
        "  --dtmf-digit D         0-9 * # A-D (default 5)\n"
        "  --dtmf-pt PT           telephone-event payload type, 96..127 (default 101)\n"
        "  --silence-from SEC --silence-to SEC\n"
        "                         DTX: send nothing in [from, to) of each stream\n"
        "  --stats FILE           write a JSON summary at exit\n"
        "  --verbose              report rejected commands and the summary on stderr\n"
        "  --help, --version\n"
        "\n"
        "exit status: 0 done (also when stopped by SIGINT/SIGTERM or 'quit'); 1 run-time\n"
        "failure (audio unreadable, socket error, --send got 'error' or no answer);\n"
        "2 bad command line (the message names the flag).\n");
}

static long to_tick(double sec)
{
    return (long)llround(sec * TICKS_PER_S);
}

/* Parses one-shot/daemon flags into *c. Returns 0 or -1 (message printed). */
static int parse_args(int argc, char **argv, struct config *c)
{
    double silence_from = -1, silence_to = -1, v;
    uint64_t u;
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--verbose") == 0) {
            c->verbose = true;
            continue;
        }
        if (a[0] != '-' || a[1] != '-')
            return vox_arg_bad(PROG, a, "%sunexpected argument", "");
        if (!val)
            return vox_arg_bad(PROG, a, "%smissing value", "");
        if (strcmp(a, "--dest") == 0) {
            char why[256];
            struct dest *d = realloc(c->dests, (c->n_dests + 1) * sizeof(*d));

            if (!d)
                return vox_arg_bad(PROG, a, "%sout of memory", "");
            c->dests = d;
            if (parse_hostport(val, true, false, &c->dests[c->n_dests], why, sizeof(why)) != 0)
                return vox_arg_bad(PROG, a, "%s", why);
            c->n_dests++;
        } else if (strcmp(a, "--seconds") == 0) {
            if (vox_arg_double(PROG, a, val, 0.02, MAX_SECONDS, &c->seconds) != 0)
                return -1;
        } else if (strcmp(a, "--audio") == 0) {
            if (c->n_audio == MAX_AUDIO)
                return vox_arg_bad(PROG, a, "%sat most 8 files", "");
            c->audio_paths[c->n_audio++] = val;
        } else if (strcmp(a, "--raw-rate") == 0) {
            if (vox_arg_u64(PROG, a, val, 0, 384000, &u) != 0)
                return -1;
            if (u < 1000)
                return vox_arg_bad(PROG, a, "'%s' is not in 1000..384000", val);
            c->raw_rate_hz = (unsigned)u;
        } else if (strcmp(a, "--codec") == 0) {
            if (strcasecmp(val, "pcmu") != 0 && strcasecmp(val, "pcma") != 0)
                return vox_arg_bad(PROG, a, "'%s' is not pcmu or pcma", val);
            c->pt = strcasecmp(val, "pcma") == 0 ? 8 : 0;
        } else if (strcmp(a, "--ssrc") == 0) {
            if (vox_arg_u64(PROG, a, val, 0, UINT32_MAX, &u) != 0)
                return -1;
            c->have_ssrc = true;
            c->ssrc = (uint32_t)u;
        } else if (strcmp(a, "--seed") == 0) {
            if (vox_arg_u64(PROG, a, val, 0, UINT64_MAX, &c->seed) != 0)
                return -1;
        } else if (strcmp(a, "--loss") == 0 || strcmp(a, "--reorder") == 0) {
            if (vox_arg_double(PROG, a, val, 0, 100, &v) != 0)
                return -1;
            *(a[2] == 'l' ? &c->loss_ppm : &c->reorder_ppm) = (uint32_t)llround(v * 10000);
        } else if (strcmp(a, "--jitter-ms") == 0) {
            if (vox_arg_u64(PROG, a, val, 0, 1000, &u) != 0)
                return -1;
            c->jitter_ms = (unsigned)u;
        } else if (strcmp(a, "--ssrc-change-at") == 0) {
            if (vox_arg_double(PROG, a, val, 0.02, MAX_SECONDS, &v) != 0)
                return -1;
            c->ssrc_change_tick = to_tick(v);
        } else if (strcmp(a, "--dtmf-at") == 0) {
            if (vox_arg_double(PROG, a, val, 0, MAX_SECONDS, &v) != 0)
                return -1;
            c->dtmf_tick = to_tick(v);
        } else if (strcmp(a, "--dtmf-digit") == 0) {
            static const char digits[] = "0123456789*#ABCD";
            const char *p = strchr(digits, val[0] >= 'a' && val[0] <= 'd' ? val[0] - 32 : val[0]);

            if (!val[0] || val[1] || !p)
                return vox_arg_bad(PROG, a, "'%s' is not one of 0-9 * # A-D", val);
            c->dtmf_event = (uint8_t)(p - digits);
        } else if (strcmp(a, "--dtmf-pt") == 0) {
            if (vox_arg_u64(PROG, a, val, 0, 127, &u) != 0)
                return -1;
            if (u < 96)
                return vox_arg_bad(PROG, a, "'%s' is not a dynamic payload type 96..127", val);
            c->dtmf_pt = (uint8_t)u;
        } else if (strcmp(a, "--silence-from") == 0) {
            if (vox_arg_double(PROG, a, val, 0, MAX_SECONDS, &silence_from) != 0)
                return -1;
        } else if (strcmp(a, "--silence-to") == 0) {
            if (vox_arg_double(PROG, a, val, 0, MAX_SECONDS, &silence_to) != 0)
                return -1;
        } else if (strcmp(a, "--control") == 0) {
            char why[256];

            /* numeric: the address the harness and SIPp's <exec> send to */
            if (parse_hostport(val, false, true, &c->control_dest, why, sizeof(why)) != 0)
                return vox_arg_bad(PROG, a, "%s", why);
            c->control = val;
        } else if (strcmp(a, "--follow") == 0) {
            if (!*val)
                return vox_arg_bad(PROG, a, "%sempty file name", "");
            c->follow = val;
        } else if (strcmp(a, "--max-streams") == 0) {
            if (vox_arg_u64(PROG, a, val, 0, 1000000, &u) != 0)
                return -1;
            if (u == 0)
                return vox_arg_bad(PROG, a, "'%s' is not in 1..1000000", val);
            c->max_streams = (size_t)u;
        } else if (strcmp(a, "--max-seconds") == 0) {
            if (vox_arg_double(PROG, a, val, 0.02, 1e7, &c->max_seconds) != 0)
                return -1;
        } else if (strcmp(a, "--stats") == 0) {
            c->stats_path = val;
        } else {
            return vox_arg_bad(PROG, a, "%sunknown option", "");
        }
        i++; /* every option but --verbose takes a value */
    }
    if ((silence_from >= 0) != (silence_to >= 0))
        return vox_arg_bad(PROG, silence_from >= 0 ? "--silence-to" : "--silence-from",
                           "%smissing (--silence-from and --silence-to go together)", "");
    if (silence_from >= 0) {
        if (!(silence_to > silence_from))
            return vox_arg_bad(PROG, "--silence-to", "%smust be later than --silence-from", "");
        c->silence_from_tick = to_tick(silence_from);
        c->silence_to_tick = to_tick(silence_to);
    }
    if (c->control) {
        if (c->n_dests)
            return vox_arg_bad(PROG, "--dest",
                               "%snot with --control (daemon streams come from 'start')", "");
        if (c->seconds > 0)
            return vox_arg_bad(PROG, "--seconds",
                               "%snot with --control (each 'start' gives its length)", "");
    } else {
        if (c->follow)
            return vox_arg_bad(PROG, "--follow", "%sonly with --control (daemon mode)", "");
        if (!c->n_dests)
            return vox_arg_bad(PROG, "--dest", "%smissing (or --control for daemon mode)", "");
        if (!(c->seconds > 0))
            return vox_arg_bad(PROG, "--seconds", "%smissing", "");
        if (c->n_dests > c->max_streams)
            return vox_arg_bad(PROG, "--dest", "%smore streams than --max-streams", "");
    }
    return 0;
}

static int open_control(struct sender *S, char *why, size_t why_len)
{
    const struct dest *d = &S->cfg.control_dest;
    union addr bound = {.sa = {.sa_family = AF_UNSPEC}};
    socklen_t bl = sizeof(bound);
    char addr[INET6_ADDRSTRLEN + 16];
    int sz = 1 << 20;

    S->ctl_fd = socket(d->addr.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (S->ctl_fd < 0 || bind(S->ctl_fd, &d->addr.sa, d->len) != 0 ||
        getsockname(S->ctl_fd, &bound.sa, &bl) != 0) {
        snprintf(why, why_len, "cannot listen on %s: %s", S->cfg.control, strerror(errno));
        return -1;
    }
    setsockopt(S->ctl_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    format_addr(&bound, addr, sizeof(addr));
    printf("control %s\n", addr);
    fflush(stdout);
    return 0;
}

static int sender_init(struct sender *S, char *why, size_t why_len)
{
    size_t i, cap = 16, n = S->cfg.max_streams;

    S->ctl_fd = S->follow_fd = S->b4.fd = S->b6.fd = -1;
    while (cap < 2 * n)
        cap *= 2;
    S->sessions = calloc(n, sizeof(*S->sessions));
    S->free_ids = calloc(n, sizeof(*S->free_ids));
    S->active = calloc(n, sizeof(*S->active));
    S->index = calloc(cap, sizeof(*S->index));
    if (!S->sessions || !S->free_ids || !S->active || !S->index) {
        snprintf(why, why_len, "out of memory for --max-streams %zu", n);
        return -1;
    }
    S->index_mask = cap - 1;
    for (i = 0; i < n; i++)
        S->free_ids[i] = (uint32_t)(n - 1 - i);
    S->n_free = n;
    return 0;
}

static void sender_free(struct sender *S)
{
    size_t i;

    while (S->n_active)
        session_end(S, &S->sessions[S->active[0]], true, 0);
    for (i = 0; i < S->n_audio; i++)
        audio_free(&S->audio[i]);
    if (S->ctl_fd >= 0)
        close(S->ctl_fd);
    if (S->follow_fd >= 0)
        close(S->follow_fd);
    if (S->b4.fd >= 0)
        close(S->b4.fd);
    if (S->b6.fd >= 0)
        close(S->b6.fd);
    free(S->sessions);
    free(S->free_ids);
    free(S->active);
    free(S->index);
    free(S->heap);
    free(S->oneshot_legs);
    free(S->cfg.dests);
}

static int client_main(int argc, char **argv)
{
    const char *target = NULL;
    long wait_ms = 0;
    int i, first = -1;

    for (i = 1; i < argc && first < 0; i++) {
        if ((strcmp(argv[i], "--send") == 0 || strcmp(argv[i], "--wait") == 0) && i + 1 == argc) {
            vox_arg_bad(PROG, argv[i], "%smissing value", "");
            return EXIT_USAGE;
        }
        if (strcmp(argv[i], "--send") == 0) {
            target = argv[++i];
        } else if (strcmp(argv[i], "--wait") == 0) {
            char *end;

            errno = 0;
            wait_ms = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || errno || wait_ms < 0 || wait_ms > 600000) {
                vox_arg_bad(PROG, "--wait", "'%s' is not a number of ms in 0..600000", argv[i]);
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--") == 0) {
            first = i + 1;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            vox_arg_bad(PROG, argv[i], "%snot valid with --send", "");
            return EXIT_USAGE;
        } else {
            first = i;
        }
    }
    if (!target) {
        vox_arg_bad(PROG, "--send", "%smissing value", "");
        return EXIT_USAGE;
    }
    if (first < 0 || first >= argc) {
        vox_arg_bad(PROG, "--send",
                    "%sno command given (e.g. 'start KEY SECONDS HOST:PORT,HOST:PORT')", "");
        return EXIT_USAGE;
    }
    return run_client(target, wait_ms, argv + first, argc - first);
}

int main(int argc, char **argv)
{
    struct sender *S = NULL;
    struct sigaction sa;
    char why[512], stats[1024];
    bool daemon;
    size_t i;
    int rc = EXIT_RUN_ERROR;

    for (i = 1; i < (size_t)argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf(PROG " %s\n", vox_version());
            return 0;
        }
        if (strcmp(argv[i], "--send") == 0)
            return client_main(argc, argv); /* fast path: no audio, no allocation */
    }
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    S = calloc(1, sizeof(*S));
    if (!S) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_RUN_ERROR;
    }
    S->cfg = (struct config){.raw_rate_hz = 16000,
                             .ssrc_change_tick = -1,
                             .dtmf_tick = -1,
                             .silence_from_tick = -1,
                             .silence_to_tick = -1,
                             .dtmf_event = DTMF_DIGITDEF,
                             .dtmf_pt = DTMF_PT_DEF,
                             .max_streams = 4000,
                             .max_seconds = MAX_SECONDS};
    if (getrandom(&S->cfg.seed, sizeof(S->cfg.seed), 0) != sizeof(S->cfg.seed))
        S->cfg.seed = vox_clock_ns() ^ ((uint64_t)getpid() << 32);
    if (parse_args(argc, argv, &S->cfg) != 0) {
        free(S->cfg.dests);
        free(S);
        return EXIT_USAGE;
    }
    daemon = S->cfg.control != NULL;
    if (sender_init(S, why, sizeof(why)) != 0) {
        fprintf(stderr, PROG ": %s\n", why);
        goto out;
    }
    if (!S->cfg.n_audio)
        S->cfg.audio_paths[S->cfg.n_audio++] = DEFAULT_AUDIO;
    for (i = 0; i < S->cfg.n_audio; i++, S->n_audio++) {
        if (audio_load(S->cfg.audio_paths[i], S->cfg.raw_rate_hz, &S->audio[i], why, sizeof(why)) !=
            0) {
            fprintf(stderr, PROG ": --audio: %s\n", why);
            goto out;
        }
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: the sleep returns early */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (daemon) {
        if (open_control(S, why, sizeof(why)) != 0) {
            fprintf(stderr, PROG ": --control: %s\n", why);
            goto out;
        }
    } else {
        S->oneshot_legs = calloc(S->cfg.n_dests, sizeof(*S->oneshot_legs));
        if (!S->oneshot_legs || !session_start(S, "oneshot", S->cfg.seconds, S->cfg.dests,
                                               S->cfg.n_dests, S->cfg.pt, why, sizeof(why))) {
            fprintf(stderr, PROG ": --dest: %s\n", S->oneshot_legs ? why : "out of memory");
            goto out;
        }
    }
    run_loop(S, daemon);
    rc = 0;
    if (S->cfg.verbose) {
        stats_json(S, stats, sizeof(stats), daemon ? "daemon" : "oneshot");
        fprintf(stderr, PROG ": %s\n", stats);
    }
    if (S->cfg.stats_path &&
        write_stats(S, S->cfg.stats_path, daemon, daemon ? NULL : S->oneshot_legs,
                    daemon ? 0 : S->cfg.n_dests) != 0)
        rc = EXIT_RUN_ERROR;
out:
    sender_free(S);
    free(S);
    return rc;
}
