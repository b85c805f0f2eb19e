/* SPDX-License-Identifier: MIT */
/* The recorder's media path: sockets to jitter buffers (sources, payload types, events), and
 * jitter buffers to 20 ms frames on the session's clock (talk spurts, loss, decoding, PLC). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "siprec/recorder_internal.h"
#include "vox/core.h"
#include "vox/g711.h"

/* ---- payload map ----------------------------------------------------------------------------- */

int rec_pts_check(const struct vox_rec_pt *pts, size_t npts)
{
    if (npts > VOX_REC_MAX_PTS)
        return VOX_EINVAL;
    for (size_t i = 0; i < npts; i++) {
        const struct vox_rec_pt *p = &pts[i];

        if (p->pt > VOX_RTP_MAX_PT || p->codec > VOX_REC_CODEC_EVENT)
            return VOX_EINVAL;
        if ((p->codec == VOX_REC_CODEC_PCMU || p->codec == VOX_REC_CODEC_PCMA) &&
            p->clock_hz != 0 && p->clock_hz != 8000)
            return VOX_EINVAL;
    }
    return 0;
}

static bool is_audio(enum vox_rec_codec c)
{
    return c == VOX_REC_CODEC_PCMU || c == VOX_REC_CODEC_PCMA || c == VOX_REC_CODEC_OPUS;
}

static unsigned rtp_clock(const struct vox_rec_pt *p)
{
    if (p->codec == VOX_REC_CODEC_OPUS)
        return 48000; /* RFC 7587 §4.1: always 48000, whatever the SDP says */
    return p->clock_hz ? p->clock_hz : 8000;
}

void rec_stream_set_map(struct rec_stream *st, const struct vox_rec_pt *pts, size_t npts)
{
    size_t i;

    st->npts = (uint8_t)npts;
    if (npts)
        memcpy(st->pts, pts, npts * sizeof(*pts));
    memset(st->pt_index, REC_NO_PT, sizeof(st->pt_index));
    for (i = npts; i-- > 0;)
        st->pt_index[pts[i].pt] = (uint8_t)i; /* the first entry of a payload type wins */
    /* before any audio: the codec the map offers first */
    if (!st->st.packets) {
        for (i = 0; i < npts; i++) {
            if (is_audio(pts[i].codec)) {
                st->codec = pts[i].codec;
                st->codec_pt = pts[i].pt;
                break;
            }
        }
    }
}

static bool map_has_opus(const struct rec_stream *st)
{
    for (unsigned i = 0; i < st->npts; i++)
        if (st->pts[i].codec == VOX_REC_CODEC_OPUS)
            return true;
    return false;
}

/* ---- jitter buffers -------------------------------------------------------------------------- */

static uint32_t held(const struct vox_jitter *jb)
{
    struct vox_jitter_stats js;

    if (!jb)
        return 0;
    vox_jitter_stats(jb, &js);
    return js.depth;
}

static struct vox_jitter *jb_create(struct vox_rec_session *s, uint32_t payload, uint32_t depth)
{
    struct vox_jitter_config cfg = {
        .depth_packets = depth, .max_payload_bytes = payload, .alloc = s->e->alloc};
    struct vox_jitter *jb = NULL;

    vox_jitter_create(&cfg, &jb, NULL);
    return jb;
}

/* Destroys a jitter buffer, keeping its counters in the stream's totals. */
static void jb_retire(struct rec_stream *st, struct vox_jitter *jb)
{
    struct vox_jitter_stats js;

    if (!jb)
        return;
    vox_jitter_stats(jb, &js);
    st->jt.lost += js.lost;
    st->jt.late += js.late;
    st->jt.duplicates += js.duplicates;
    st->jt.reordered += js.reordered;
    vox_jitter_destroy(jb);
}

int rec_stream_init_media(struct vox_rec_session *s, struct rec_stream *st, struct vox_diag *diag)
{
    st->jb_payload = map_has_opus(st) ? REC_BIG_PAYLOAD : REC_SMALL_PAYLOAD;
    st->jb_depth = s->e->jb_depth;
    st->jb = jb_create(s, st->jb_payload, st->jb_depth);
    if (!st->jb) {
        vox_diag_set(diag, "recorder: out of memory for a jitter buffer");
        return VOX_ENOMEM;
    }
    st->last_dur = s->e->frame_samples;
    return 0;
}

/*
 * Moves what the stream's jitter buffer holds into a larger one: for larger payloads (a G.711
 * packet over 60 ms, or Opus mapped in a re-INVITE), or a deeper window (a task that ran late
 * finds more packets than the window holds). Gaps between held packets come back as gaps: the
 * old buffer counted them lost already, so the new one's count of them is taken off.
 */
static void jb_regrow(struct vox_rec_session *s, struct rec_stream *st, uint32_t payload,
                      uint32_t depth)
{
    struct vox_jitter *nj = jb_create(s, payload, depth);
    struct vox_jitter_packet p;
    bool seen_packet = false;
    int r;

    if (!nj)
        return; /* keep the small one: large packets stay refused */
    while ((r = vox_jitter_pop(st->jb, VOX_JITTER_DRAIN, &p)) != VOX_JITTER_NONE) {
        struct vox_rtp_view v = {.version = 2};

        if (r == VOX_JITTER_LOST) {
            if (seen_packet)
                st->regrow_lost++;
            continue;
        }
        seen_packet = true;
        v.seq = p.seq;
        v.timestamp = p.timestamp;
        v.marker = p.marker;
        v.payload_type = p.payload_type;
        v.payload = p.payload;
        v.payload_len_bytes = p.payload_len_bytes;
        vox_jitter_push(nj, &v);
    }
    jb_retire(st, st->jb);
    st->jb = nj;
    st->jb_payload = payload;
    st->jb_depth = depth;
}

/* ---- from the socket to the jitter buffer ---------------------------------------------------- */

static void push(struct vox_rec_session *s, struct rec_stream *st, const struct vox_rtp_view *v,
                 uint64_t arrival_ns)
{
    uint32_t before;
    int r;

    if (!st->jb)
        return;
    before = held(st->jb);
    /* The window is full of held packets because this task runs late, not because the sender
     * runs ahead: had the task come in time, those packets would have been played already.
     * A deeper window keeps them; a sender that drifts ahead still slides the window. */
    if (before + 1 >= st->jb_depth && s->behind && st->jb_depth < REC_MAX_DEPTH) {
        jb_regrow(s, st, st->jb_payload,
                  st->jb_depth * 2 < REC_MAX_DEPTH ? st->jb_depth * 2 : REC_MAX_DEPTH);
        before = held(st->jb);
    }
    r = vox_jitter_push(st->jb, v);
    if (r == VOX_ERANGE && v->payload_len_bytes <= REC_BIG_PAYLOAD &&
        st->jb_payload < REC_BIG_PAYLOAD) {
        jb_regrow(s, st, REC_BIG_PAYLOAD, st->jb_depth);
        before = held(st->jb);
        r = vox_jitter_push(st->jb, v);
    }
    /* the first packet of a talk spurt decides where the spurt lands in the file */
    if (r == VOX_JITTER_QUEUED && !st->playing && before == 0)
        st->spurt_frame = rec_frame_of(s, arrival_ns);
}

/* A packet that keeps its place in the sequence but carries no audio to decode. */
static void push_marker(struct vox_rec_session *s, struct rec_stream *st,
                        const struct vox_rtp_view *v, uint64_t arrival_ns)
{
    struct vox_rtp_view m = *v;

    m.payload = NULL;
    m.payload_len_bytes = 0;
    push(s, st, &m, arrival_ns);
}

/* Takes packets of the payload map's kinds; every packet of the current source lands in the
 * jitter buffer, so that the sequence stays whole and only real gaps count as lost. */
static void classify_and_push(struct vox_rec_session *s, struct rec_stream *st,
                              const struct vox_rtp_view *v, uint64_t arrival_ns)
{
    uint8_t i = st->pt_index[v->payload_type];
    const struct vox_rec_pt *p;
    uint64_t since;

    if (i == REC_NO_PT) {
        st->st.bad_pt++;
        push_marker(s, st, v, arrival_ns);
        return;
    }
    p = &st->pts[i];
    if (p->codec == VOX_REC_CODEC_EVENT) {
        struct vox_rtp_event ev;

        /* RFC 4733 §2.5.1: every packet of one event, its end repeated, has the same
         * timestamp: a new timestamp is a new event */
        if (vox_rtp_event_parse(v->payload, v->payload_len_bytes, &ev, NULL) == 0 &&
            (!st->have_event || v->timestamp != st->event_ts)) {
            st->st.dtmf_events++;
            st->have_event = true;
            st->event_ts = v->timestamp;
        }
        push_marker(s, st, v, arrival_ns);
        return;
    }
    if (!is_audio(p->codec)) {
        push_marker(s, st, v, arrival_ns);
        return;
    }
    if (!st->src_valid || st->src_clock != rtp_clock(p)) {
        vox_rtp_source_init(&st->src, v->seq);
        st->src_valid = true;
        st->src_clock = rtp_clock(p);
    }
    vox_rtp_source_update(&st->src, v->seq);
    /* arrival in RTP clock units, from the session's start (any origin will do, A.8) */
    since = arrival_ns > s->start_ns ? arrival_ns - s->start_ns : 0;
    vox_rtp_source_jitter(&st->src, v->timestamp,
                          (uint32_t)(since / 1000u * st->src_clock / 1000000u));
    push(s, st, v, arrival_ns);
}

/* A new source takes over: what the old one left in the jitter buffer is played first. */
static void switch_source(struct vox_rec_session *s, struct rec_stream *st, uint32_t ssrc,
                          uint64_t arrival_ns)
{
    if (held(st->jb)) {
        jb_retire(st, st->old_jb);
        st->old_jb = st->jb;
    } else {
        jb_retire(st, st->jb);
    }
    st->jb_depth = s->e->jb_depth;
    st->jb = jb_create(s, st->jb_payload, st->jb_depth);
    st->playing = st->resuming = false;
    st->ssrc = ssrc;
    st->ssrc_pkts = 0;
    st->ssrc_last_ns = arrival_ns;
    st->st.ssrc_changes++;
    st->src_valid = false;
    st->have_event = false;
    if (st->stash && st->stash->valid && st->stash->ssrc == ssrc) {
        struct rec_stash *k = st->stash;
        struct vox_rtp_view v = {.version = 2,
                                 .marker = k->marker,
                                 .payload_type = k->pt,
                                 .seq = k->seq,
                                 .timestamp = k->ts,
                                 .ssrc = k->ssrc,
                                 .payload = k->data,
                                 .payload_len_bytes = k->len};

        k->valid = false;
        st->ssrc_pkts++;
        classify_and_push(s, st, &v, k->arrival_ns);
    }
}

static void stash_store(struct vox_rec_session *s, struct rec_stream *st,
                        const struct vox_rtp_view *v, uint64_t arrival_ns)
{
    struct rec_stash *k = st->stash;

    if (!k && !(k = st->stash = rec_alloc(s->e, sizeof(*k)))) {
        st->st.foreign_source++;
        return;
    }
    if (v->payload_len_bytes > sizeof(k->data)) {
        st->st.foreign_source++;
        k->valid = false;
        return;
    }
    k->valid = true;
    k->marker = v->marker;
    k->pt = v->payload_type;
    k->seq = v->seq;
    k->ts = v->timestamp;
    k->ssrc = v->ssrc;
    k->len = (uint16_t)v->payload_len_bytes;
    k->arrival_ns = arrival_ns;
    memcpy(k->data, v->payload, v->payload_len_bytes);
}

/*
 * Which source the stream records. The first SSRC is adopted. Another SSRC takes over at once
 * when the current source has been silent for REC_TAKEOVER_NS (or has sent nothing since a
 * resume); otherwise it must send two packets in sequence with none of the current source in
 * between (a switch), and until then its packets are held back (one) or dropped as a second
 * source (foreign_source). Returns true when `v` belongs to the recorded source.
 */
static bool source_accept(struct vox_rec_session *s, struct rec_stream *st,
                          const struct vox_rtp_view *v, uint64_t arrival_ns)
{
    struct rec_stash *k = st->stash;

    if (!st->have_ssrc) {
        st->have_ssrc = true;
        st->ssrc = v->ssrc;
    } else if (v->ssrc != st->ssrc) {
        if (st->ssrc_pkts == 0 || arrival_ns >= st->ssrc_last_ns + REC_TAKEOVER_NS ||
            (k && k->valid && k->ssrc == v->ssrc && v->seq == (uint16_t)(k->seq + 1))) {
            switch_source(s, st, v->ssrc, arrival_ns);
        } else {
            if (k && k->valid)
                st->st.foreign_source++;
            stash_store(s, st, v, arrival_ns);
            return false;
        }
    } else if (k && k->valid) {
        /* the current source goes on: the other one was a stray */
        st->st.foreign_source++;
        k->valid = false;
    }
    st->ssrc_pkts++;
    if (arrival_ns > st->ssrc_last_ns)
        st->ssrc_last_ns = arrival_ns;
    return true;
}

static void handle_datagram(struct vox_rec_session *s, struct rec_stream *st, const uint8_t *buf,
                            size_t len, bool truncated, uint64_t arrival_ns)
{
    struct vox_rtp_view v;

    st->st.packets++;
    st->st.bytes += len;
    if (truncated) {
        st->st.malformed++;
        return;
    }
    if (len >= 2 && vox_rtp_is_rtcp(buf, len)) {
        st->st.rtcp++;
        return;
    }
    if (vox_rtp_parse(buf, len, &v, NULL) < 0) {
        st->st.malformed++;
        return;
    }
    if (st->paused) {
        st->st.discarded++;
        return;
    }
    if (arrival_ns > s->last_rx_ns)
        s->last_rx_ns = arrival_ns;
    if (source_accept(s, st, &v, arrival_ns))
        classify_and_push(s, st, &v, arrival_ns);
}

/* The arrival of a datagram on the engine's clock: the kernel's receive time when there is one. */
static uint64_t arrival_of(const struct rec_clock *clk, struct msghdr *mh)
{
    return clk->kernel_ts ? vox_socket_arrival_ns(mh, clk->now_ns, clk->real_ns) : clk->now_ns;
}

/* Reads the stream's socket until it is empty (or REC_MAX_BATCHES batches were read). */
static void receive(struct vox_rec_session *s, struct rec_stream *st, struct rec_scratch *sc,
                    const struct rec_clock *clk)
{
    uint64_t packets = st->st.packets, bytes = st->st.bytes;

    if (st->fd < 0)
        return;
    for (int b = 0; b < REC_MAX_BATCHES; b++) {
        int n, i;

        for (i = 0; i < REC_BATCH; i++) {
            sc->iov[i].iov_base = sc->dgram[i];
            sc->iov[i].iov_len = REC_DGRAM_BYTES;
            memset(&sc->msgs[i].msg_hdr, 0, sizeof(sc->msgs[i].msg_hdr));
            sc->msgs[i].msg_hdr.msg_iov = &sc->iov[i];
            sc->msgs[i].msg_hdr.msg_iovlen = 1;
            if (clk->kernel_ts) {
                sc->msgs[i].msg_hdr.msg_control = sc->ctl[i].bytes;
                sc->msgs[i].msg_hdr.msg_controllen = sizeof(sc->ctl[i].bytes);
            }
        }
        n = recvmmsg(st->fd, sc->msgs, REC_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* EAGAIN: empty; anything else: try again next tick */
        }
        for (i = 0; i < n; i++) {
            struct msghdr *mh = &sc->msgs[i].msg_hdr;

            handle_datagram(s, st, sc->dgram[i], sc->msgs[i].msg_len,
                            (mh->msg_flags & MSG_TRUNC) != 0, arrival_of(clk, mh));
        }
        if (n < REC_BATCH)
            break;
    }
    atomic_fetch_add_explicit(&s->e->packets, st->st.packets - packets, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->e->bytes, st->st.bytes - bytes, memory_order_relaxed);
}

/* ---- from the jitter buffer to samples ------------------------------------------------------- */

static uint32_t silence(const struct rec_stream *st, int16_t *dec)
{
    memset(dec, 0, st->last_dur * sizeof(*dec));
    return st->last_dur;
}

/* A packet that never came: Opus conceals it, anything else is silence of the last length. */
static uint32_t conceal(struct rec_stream *st, int16_t *dec)
{
    if (st->codec == VOX_REC_CODEC_OPUS && st->opus) {
        int r = vox_opus_decode(st->opus, NULL, 0, dec, st->last_dur);

        if (r > 0)
            return (uint32_t)r;
    }
    return silence(st, dec);
}

static uint32_t decode_g711(struct vox_rec_session *s, struct rec_stream *st, bool alaw,
                            const uint8_t *in, size_t len, int16_t *dec)
{
    unsigned up = s->e->rate_hz / 8000, k;
    size_t n = len, j;
    int16_t prev = st->last_sample;

    if (n * up > s->e->pkt_samples)
        n = s->e->pkt_samples / up;
    if (up == 1) {
        if (alaw)
            vox_g711_alaw_decode(in, dec, n);
        else
            vox_g711_ulaw_decode(in, dec, n);
        if (n)
            st->last_sample = dec[n - 1];
        return (uint32_t)n;
    }
    /* a higher file rate: linear interpolation from the previous sample */
    for (j = 0; j < n; j++) {
        int16_t cur =
            alaw ? vox_g711_alaw_decode_sample(in[j]) : vox_g711_ulaw_decode_sample(in[j]);

        for (k = 1; k <= up; k++)
            dec[j * up + k - 1] = (int16_t)(prev + ((int)cur - prev) * (int)k / (int)up);
        prev = cur;
    }
    st->last_sample = prev;
    return (uint32_t)(n * up);
}

/* Samples of one packet popped from the jitter buffer, at the file's rate, into dec. */
static uint32_t render(struct vox_rec_session *s, struct rec_stream *st,
                       const struct vox_jitter_packet *p, int16_t *dec)
{
    uint8_t i = st->pt_index[p->payload_type];
    enum vox_rec_codec c = i == REC_NO_PT ? VOX_REC_CODEC_NONE : st->pts[i].codec;
    uint32_t n;
    int r;

    if (!is_audio(c))
        return silence(st, dec); /* an event, comfort noise, an unknown type: its time passes */
    if (!p->payload_len_bytes)
        return conceal(st, dec);
    if (c == VOX_REC_CODEC_OPUS) {
        if (!st->opus && vox_opus_decoder_create(s->e->rate_hz, 1, &st->opus, NULL) < 0)
            return silence(st, dec);
        r = vox_opus_decode(st->opus, p->payload, p->payload_len_bytes, dec, s->e->pkt_samples);
        if (r <= 0) {
            atomic_fetch_add_explicit(&s->e->decode_errors, 1, memory_order_relaxed);
            st->codec = c;
            return conceal(st, dec);
        }
        n = (uint32_t)r;
    } else {
        n = decode_g711(s, st, c == VOX_REC_CODEC_PCMA, p->payload, p->payload_len_bytes, dec);
    }
    st->codec = c;
    st->codec_pt = p->payload_type;
    st->last_dur = n;
    return n;
}

/*
 * The next item of the stream's playout for session frame f, decoded into dec (*n samples).
 * Returns false when there is nothing to play now: before a talk spurt's place (its first
 * packet's arrival), or when the buffer ran dry (loss at the end of a spurt, DTX, hold). At
 * the close (`final`) the spurt's place is not waited for and the buffer is drained.
 */
static bool next_item(struct vox_rec_session *s, struct rec_stream *st, uint64_t f, bool final,
                      int16_t *dec, uint32_t *n)
{
    struct vox_jitter_packet p;
    int r;

    for (;;) {
        if (st->old_jb) {
            r = vox_jitter_pop(st->old_jb, VOX_JITTER_DRAIN, &p);
            if (r == VOX_JITTER_NONE) {
                jb_retire(st, st->old_jb);
                st->old_jb = NULL;
                continue;
            }
            *n = r == VOX_JITTER_LOST ? conceal(st, dec) : render(s, st, &p, dec);
            return true;
        }
        if (!st->jb)
            return false;
        if (!st->playing) {
            if (!held(st->jb) || (!final && st->spurt_frame > f))
                return false;
            st->playing = true;
            st->resuming = true;
        }
        if (!held(st->jb)) {
            st->playing = false; /* underrun: silence until the next spurt's place */
            return false;
        }
        r = vox_jitter_pop(st->jb, final ? VOX_JITTER_DRAIN : VOX_JITTER_DEADLINE, &p);
        if (r == VOX_JITTER_NONE) {
            st->playing = false;
            return false;
        }
        if (r == VOX_JITTER_LOST) {
            /* lost before the spurt's first packet: the underrun already wrote their time */
            if (st->resuming)
                continue;
            *n = conceal(st, dec);
            return true;
        }
        st->resuming = false;
        *n = render(s, st, &p, dec);
        return true;
    }
}

/* One frame of the stream's file into out. */
static void stream_frame(struct vox_rec_session *s, struct rec_stream *st, struct rec_scratch *sc,
                         uint64_t f, bool final, int16_t *out)
{
    uint32_t need = s->e->frame_samples, got = 0, n, take;

    if (st->carry_len) {
        take = st->carry_len < need ? st->carry_len : need;
        memcpy(out, st->carry + st->carry_off, take * sizeof(*out));
        st->carry_off += take;
        st->carry_len -= take;
        got = take;
    }
    while (got < need && next_item(s, st, f, final, sc->dec, &n)) {
        take = n < need - got ? n : need - got;
        memcpy(out + got, sc->dec, take * sizeof(*out));
        got += take;
        if (take < n) {
            /* a packet longer than the rest of the frame: keep the tail for the next one */
            if (!st->carry)
                st->carry = vox_alloc(s->e->alloc, s->e->pkt_samples * sizeof(*st->carry));
            if (st->carry) {
                memcpy(st->carry, sc->dec + take, (n - take) * sizeof(*out));
                st->carry_off = 0;
                st->carry_len = n - take;
            }
        }
    }
    if (got < need)
        memset(out + got, 0, (need - got) * sizeof(*out));
}

static void stream_write(struct vox_rec_session *s, struct rec_stream *st, const int16_t *pcm)
{
    int rc;

    if (!st->wav || st->wav_failed)
        return;
    rc = vox_wav_write(st->wav, pcm, s->e->frame_samples);
    if (rc < 0) {
        st->wav_failed = true;
        rec_write_error(s, st->file, rc);
        return;
    }
    st->st.samples_written += s->e->frame_samples;
}

/* Ends the stream's file (stopped, or the session closing) and releases its media. */
static void stream_end(struct vox_rec_session *s, struct rec_stream *st)
{
    int rc;

    if (st->finished)
        return;
    st->finished = true;
    if (st->wav) {
        rc = vox_wav_close(st->wav);
        st->wav = NULL;
        if (rc < 0 && !st->wav_failed)
            rec_write_error(s, st->file, rc);
    }
    if (st->fd >= 0) {
        close(st->fd);
        st->fd = -1;
    }
    jb_retire(st, st->old_jb);
    jb_retire(st, st->jb);
    st->old_jb = st->jb = NULL;
    if (st->opus) {
        vox_opus_decoder_destroy(st->opus);
        st->opus = NULL;
    }
    if (st->carry) {
        vox_free(s->e->alloc, st->carry, s->e->pkt_samples * sizeof(*st->carry));
        st->carry = NULL;
        st->carry_len = 0;
    }
    if (st->stash) {
        if (st->stash->valid)
            st->st.foreign_source++;
        rec_free(s->e, st->stash, sizeof(*st->stash));
        st->stash = NULL;
    }
}

void rec_stream_free(struct vox_rec_session *s, struct rec_stream *st)
{
    if (!st)
        return;
    stream_end(s, st);
    rec_free(s->e, st, sizeof(*st));
}

/* Plays session frame f: every stream's file, then the mix. */
static void play_frame(struct vox_rec_session *s, struct rec_scratch *sc, uint64_t f, bool final)
{
    unsigned fs = s->e->frame_samples;
    const int16_t *ch[2] = {NULL, NULL};

    for (unsigned i = 0; i < s->ntask; i++) {
        struct rec_stream *st = s->streams[i];
        int16_t *out = i < 2 ? sc->frame[i] : sc->other;

        if (st->finished || f < st->first_frame)
            continue;
        if (st->stopping && f >= st->stop_frame) {
            stream_end(s, st);
            continue;
        }
        stream_frame(s, st, sc, f, final, out);
        stream_write(s, st, out);
        if (i < 2)
            ch[i] = out;
    }
    for (unsigned j = 0; j < fs; j++) {
        sc->mix[2 * (size_t)j] = ch[0] ? ch[0][j] : 0;
        sc->mix[2 * (size_t)j + 1] = ch[1] ? ch[1][j] : 0;
    }
    if (s->mix && !s->mix_failed) {
        int rc = vox_wav_write(s->mix, sc->mix, fs);

        if (rc < 0) {
            s->mix_failed = true;
            rec_session_file_error(s, ".wav", rc);
        }
    }
    s->frames_done = f + 1;
}

/* True when a stream still holds audio to play. */
static bool stream_pending(const struct rec_stream *st)
{
    return !st->finished && (st->carry_len || held(st->jb) || held(st->old_jb));
}

/* ---- the session's task ---------------------------------------------------------------------- */

/* Publishes the counters for vox_rec_session_stats and the JSON. Session lock held. */
static void publish(struct vox_rec_session *s, uint64_t now_ns)
{
    for (unsigned i = 0; i < s->ntask; i++) {
        struct rec_stream *st = s->streams[i];
        struct vox_rec_stream_stats *p = &st->pub;
        struct rec_jtotals t = st->jt;
        uint64_t paused = st->ctl.paused_ns;

        for (int k = 0; k < 2; k++) {
            const struct vox_jitter *jb = k ? st->old_jb : st->jb;
            struct vox_jitter_stats js;

            if (!jb)
                continue;
            vox_jitter_stats(jb, &js);
            t.lost += js.lost;
            t.late += js.late;
            t.duplicates += js.duplicates;
            t.reordered += js.reordered;
        }
        *p = st->st;
        p->lost = t.lost > st->regrow_lost ? t.lost - st->regrow_lost : 0;
        p->late = t.late;
        p->duplicates = t.duplicates;
        p->reordered = t.reordered;
        if (st->ctl.paused && now_ns > st->ctl.pause_since_ns)
            paused += now_ns - st->ctl.pause_since_ns;
        p->paused_ms = paused / 1000000u;
        p->jitter_ms = st->src_valid && st->src_clock
                           ? (double)st->src.jitter_q4 / 16.0 * 1000.0 / st->src_clock
                           : 0.0;
        p->codec = st->codec;
        p->payload_type = st->codec_pt;
        p->paused = st->ctl.paused;
        p->stopped = st->ctl.stop;
    }
}

/* The changes asked for since the last task, copied under the lock. */
struct pending {
    unsigned nstreams;
    bool json;
    struct rec_ctl ctl[VOX_REC_MAX_STREAMS];
};

static void take_changes(struct vox_rec_session *s, struct pending *pd)
{
    pthread_mutex_lock(&s->mu);
    pd->nstreams = s->nstreams;
    pd->json = s->json_dirty;
    s->json_dirty = false;
    for (unsigned i = 0; i < pd->nstreams; i++) {
        struct rec_ctl *c = &s->streams[i]->ctl;

        pd->ctl[i].pts_dirty = c->pts_dirty;
        pd->ctl[i].paused = c->paused;
        pd->ctl[i].stop = c->stop;
        pd->ctl[i].stop_ns = c->stop_ns;
        if (c->pts_dirty) {
            pd->ctl[i].npts = c->npts;
            memcpy(pd->ctl[i].pts, c->pts, c->npts * sizeof(c->pts[0]));
            c->pts_dirty = false;
        }
    }
    pthread_mutex_unlock(&s->mu);
    s->ntask = pd->nstreams;
}

/* Changes that let more in (new payload map, resume) apply before the sockets are read. */
static void apply_before(struct vox_rec_session *s, const struct pending *pd, uint64_t now_ns)
{
    for (unsigned i = 0; i < pd->nstreams; i++) {
        struct rec_stream *st = s->streams[i];
        const struct rec_ctl *c = &pd->ctl[i];

        if (st->finished)
            continue;
        if (c->pts_dirty) {
            rec_stream_set_map(st, c->pts, c->npts);
            if (map_has_opus(st) && st->jb && st->jb_payload < REC_BIG_PAYLOAD)
                jb_regrow(s, st, REC_BIG_PAYLOAD, st->jb_depth);
        }
        if (st->paused && !c->paused) {
            st->paused = false;
            st->ssrc_pkts = 0; /* after a hold, a new SSRC needs no probation */
            st->playing = false;
            if (!held(st->jb)) {
                /* a fresh buffer: the sender's numbering may have moved on during the hold */
                jb_retire(st, st->jb);
                st->jb_depth = s->e->jb_depth;
                st->jb = jb_create(s, st->jb_payload, st->jb_depth);
            }
            if (now_ns > s->last_rx_ns)
                s->last_rx_ns = now_ns;
        }
    }
}

/* Changes that let less in (pause, stop) apply after: what arrived before is recorded. */
static void apply_after(struct vox_rec_session *s, const struct pending *pd)
{
    for (unsigned i = 0; i < pd->nstreams; i++) {
        struct rec_stream *st = s->streams[i];
        const struct rec_ctl *c = &pd->ctl[i];

        if (st->finished)
            continue;
        if (c->paused && !st->paused)
            st->paused = true;
        if (c->stop && !st->stopping) {
            st->stopping = true;
            st->stop_frame = rec_frame_of(s, c->stop_ns);
            if (st->fd >= 0) {
                close(st->fd); /* the port may be handed out again */
                st->fd = -1;
            }
        }
    }
}

static void read_all(struct vox_rec_session *s, struct rec_scratch *sc, const struct rec_clock *clk)
{
    for (unsigned i = 0; i < s->ntask; i++)
        if (!s->streams[i]->finished && !s->streams[i]->stopping)
            receive(s, s->streams[i], sc, clk);
}

static void check_timeout(struct vox_rec_session *s, uint64_t now_ns)
{
    struct vox_rec_engine *e = s->e;
    unsigned active = 0;

    for (unsigned i = 0; i < s->ntask; i++) {
        const struct rec_stream *st = s->streams[i];

        active += !st->finished && !st->stopping && !st->paused;
    }
    if (!active) {
        s->last_rx_ns = now_ns; /* on hold: the clock restarts when a stream is back */
        return;
    }
    if (!e->timeout_ns || s->timed_out || now_ns < s->last_rx_ns + e->timeout_ns)
        return;
    s->timed_out = true;
    atomic_fetch_add_explicit(&e->timeouts, 1, memory_order_relaxed);
    if (e->on_timeout)
        e->on_timeout(s->user, s);
}

void rec_session_step(struct vox_rec_session *s, struct rec_scratch *sc,
                      const struct rec_clock *clk)
{
    struct vox_rec_engine *e = s->e;
    struct pending pd;
    uint64_t now = clk->now_ns, due = 0;

    /* output runs the playout delay behind the clock */
    if (now > s->start_ns + e->delay_ns)
        due = (now - s->start_ns - e->delay_ns) / REC_FRAME_NS;
    s->behind = due > s->frames_done + e->tick_frames;
    take_changes(s, &pd);
    apply_before(s, &pd, now);
    read_all(s, sc, clk);
    apply_after(s, &pd);
    while (s->frames_done < due)
        play_frame(s, sc, s->frames_done, false);
    pthread_mutex_lock(&s->mu);
    publish(s, now);
    pthread_mutex_unlock(&s->mu);
    /* a failed rewrite is tried again once a second, and counted once until it succeeds */
    if (pd.json || (s->json_failed && now >= s->json_retry_ns)) {
        int rc = rec_json_write(s, now, true);

        if (rc < 0 && !s->json_failed)
            rec_session_file_error(s, ".json", rc);
        s->json_failed = rc < 0;
        s->json_retry_ns = now + 1000000000u;
    }
    check_timeout(s, now);
}

int rec_session_finish(struct vox_rec_session *s, struct rec_scratch *sc,
                       const struct rec_clock *clk, const char *reason)
{
    uint64_t now = clk->now_ns, end;
    uint64_t errors = s->write_errors;
    struct pending pd;
    int rc;

    take_changes(s, &pd);
    apply_before(s, &pd, now);
    if (sc) {
        s->behind = true; /* everything still to play is due */
        read_all(s, sc, clk);
        apply_after(s, &pd);
        /* the files end at the session's end, to the nearest frame; what arrived before it
         * and is still held is played after that, up to REC_EXTRA_FRAMES */
        end = now > s->start_ns ? (now - s->start_ns + REC_FRAME_NS / 2) / REC_FRAME_NS : 0;
        while (s->frames_done < end)
            play_frame(s, sc, s->frames_done, false);
        for (int k = 0; k < REC_EXTRA_FRAMES; k++) {
            bool pending = false;

            for (unsigned i = 0; i < s->ntask && !pending; i++)
                pending = stream_pending(s->streams[i]) &&
                          !(s->streams[i]->stopping && s->frames_done >= s->streams[i]->stop_frame);
            if (!pending)
                break;
            play_frame(s, sc, s->frames_done, true);
        }
    }
    for (unsigned i = 0; i < s->ntask; i++)
        stream_end(s, s->streams[i]);
    if (s->mix) {
        rc = vox_wav_close(s->mix);
        s->mix = NULL;
        if (rc < 0 && !s->mix_failed)
            rec_session_file_error(s, ".wav", rc);
    }
    s->closed = true;
    s->end_ns = now > s->start_ns ? now : s->start_ns;
    if (reason != s->end_reason)
        snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
    pthread_mutex_lock(&s->mu);
    publish(s, now);
    pthread_mutex_unlock(&s->mu);
    rc = rec_json_write(s, now, true);
    if (rc < 0)
        rec_session_file_error(s, ".json", rc);
    return s->write_errors > errors ? VOX_EIO : 0;
}
