/* SPDX-License-Identifier: MIT */
/* Recorder tests over real UDP sockets on 127.0.0.1. Most drive the engine with a fake clock
 * (manual_clock) so that the files can be compared sample for sample: two G.711 streams from a
 * speech file, loss, reordering, duplicates, Opus with PLC, hold, media timeout, SSRC change and
 * a second source, DTMF, stopping a stream, JSON and names. Others run the ticker thread under
 * every executor backend, SIGKILL a recording process, inject write errors, and measure the
 * memory a session costs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vox/core.h"
#include "vox/exec.h"
#include "vox/g711.h"
#include "vox/opus_codec.h"
#include "vox/recorder.h"
#include "vox/rtp.h"
#include "vox/wav.h"

#define FS          160 /* samples per 20 ms frame at 8000 Hz */
#define MS(x)       ((uint64_t)(x)*1000000u)
#define SPEECH_PATH "/usr/share/pocketsphinx/test/data/goforward.raw"
#define PT_EVENT    101
#define PT_OPUS     111

/* ---- speech ---------------------------------------------------------------------------------- */

static int16_t *g_speech;  /* 8000 Hz, whole frames */
static size_t g_frames;    /* frames of FS samples */
static int16_t *g_reverse; /* the same, reversed: the second stream's audio */

/* goforward.raw is 16 kHz s16le mono: averaging pairs is downsampling enough for a test. */
static int load_speech(void **state)
{
    FILE *f = fopen(SPEECH_PATH, "rb");
    static int16_t raw[64000];
    size_t n, i;

    (void)state;
    if (!f)
        return -1;
    n = fread(raw, 2, sizeof(raw) / 2, f);
    fclose(f);
    g_frames = n / 2 / FS;
    g_speech = calloc(g_frames * FS, sizeof(int16_t));
    g_reverse = calloc(g_frames * FS, sizeof(int16_t));
    if (!g_speech || !g_reverse || g_frames < 50)
        return -1;
    for (i = 0; i < g_frames * FS; i++)
        g_speech[i] = (int16_t)(((int)raw[2 * i] + raw[2 * i + 1]) / 2);
    for (i = 0; i < g_frames * FS; i++)
        g_reverse[i] = g_speech[g_frames * FS - 1 - i];
    return 0;
}

static int free_speech(void **state)
{
    (void)state;
    free(g_speech);
    free(g_reverse);
    return 0;
}

/* Frame k of a source (wraps around, so that any number of frames can be sent). */
static const int16_t *frame_of(const int16_t *src, size_t k)
{
    return src + (k % g_frames) * FS;
}

/* ---- sockets and RTP ------------------------------------------------------------------------- */

/* A bound, non-blocking UDP socket on 127.0.0.1 and an ephemeral port. */
static int udp_bound(unsigned *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Datagrams waiting to go out together with one sendmmsg. */
#define QCAP 64
struct outq {
    int fd;
    unsigned n;
    struct mmsghdr m[QCAP];
    struct iovec iov[QCAP];
    struct sockaddr_in to[QCAP];
    uint8_t buf[QCAP][1500];
};

static struct outq *outq_new(void)
{
    struct outq *q = calloc(1, sizeof(*q));

    assert_non_null(q);
    q->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(q->fd >= 0);
    return q;
}

static void outq_free(struct outq *q)
{
    close(q->fd);
    free(q);
}

static void outq_add(struct outq *q, unsigned port, const void *data, size_t len)
{
    assert_true(q->n < QCAP && len <= sizeof(q->buf[0]));
    memcpy(q->buf[q->n], data, len);
    q->iov[q->n] = (struct iovec){q->buf[q->n], len};
    q->to[q->n] = (struct sockaddr_in){.sin_family = AF_INET,
                                       .sin_port = htons((uint16_t)port),
                                       .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    memset(&q->m[q->n], 0, sizeof(q->m[0]));
    q->m[q->n].msg_hdr.msg_iov = &q->iov[q->n];
    q->m[q->n].msg_hdr.msg_iovlen = 1;
    q->m[q->n].msg_hdr.msg_name = &q->to[q->n];
    q->m[q->n].msg_hdr.msg_namelen = sizeof(q->to[0]);
    q->n++;
}

/* Sends what is queued; over loopback the datagrams are in the receiver's queue on return. */
static void outq_flush(struct outq *q)
{
    unsigned done = 0;

    while (done < q->n) {
        int r = sendmmsg(q->fd, q->m + done, q->n - done, 0);

        assert_true(r > 0);
        done += (unsigned)r;
    }
    q->n = 0;
}

/* One RTP sender. */
struct src {
    unsigned port;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
};

static void q_rtp(struct outq *q, struct src *s, uint8_t pt, uint32_t ts, bool marker,
                  const void *payload, size_t len)
{
    struct vox_rtp_view v = {.version = 2,
                             .marker = marker,
                             .payload_type = pt,
                             .seq = s->seq,
                             .timestamp = ts,
                             .ssrc = s->ssrc,
                             .payload = payload,
                             .payload_len_bytes = len};
    uint8_t pkt[1500];
    int n = vox_rtp_build(&v, pkt, sizeof(pkt), NULL);

    assert_true(n > 0);
    outq_add(q, s->port, pkt, (size_t)n);
}

/* Queues the G.711 packet of one 20 ms frame and advances the sender. */
static void q_g711(struct outq *q, struct src *s, const int16_t *pcm)
{
    uint8_t code[FS];

    if (s->pt == 8)
        vox_g711_alaw_encode(pcm, code, FS);
    else
        vox_g711_ulaw_encode(pcm, code, FS);
    q_rtp(q, s, s->pt, s->ts, false, code, FS);
    s->seq++;
    s->ts += FS;
}

static int16_t round_trip(const struct src *s, int16_t x)
{
    return s->pt == 8 ? vox_g711_alaw_decode_sample(vox_g711_alaw_encode_sample(x))
                      : vox_g711_ulaw_decode_sample(vox_g711_ulaw_encode_sample(x));
}

/* Puts the G.711 round trip of pcm at frame f of an expected file. */
static void expect_g711(int16_t *want, size_t nframes, const struct src *s, size_t f,
                        const int16_t *pcm)
{
    assert_true(f < nframes);
    for (size_t i = 0; i < FS; i++)
        want[f * FS + i] = round_trip(s, pcm[i]);
}

/* ---- the rig: a manual-clock engine, one session --------------------------------------------- */

struct rig {
    char dir[64];
    struct vox_rec_engine *e;
    struct vox_rec_session *s;
    struct vox_executor *exec;
    struct outq *q;
    uint64_t now;
    /* on_timeout */
    int timeouts;
    bool close_in_callback;
    struct vox_rec_session *timed_out;
};

static void on_timeout(void *user, struct vox_rec_session *s)
{
    struct rig *r = user;

    r->timeouts++;
    r->timed_out = s;
    if (r->close_in_callback)
        assert_int_equal(vox_rec_session_close(s, "timeout"), 0);
}

static void rig_start(struct rig *r, const struct vox_rec_engine_config *base)
{
    struct vox_rec_engine_config cfg = {0};
    struct vox_diag diag = {{0}};

    memset(r, 0, sizeof(*r));
    if (base)
        cfg = *base;
    snprintf(r->dir, sizeof(r->dir), "/tmp/vox-rec-test-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    cfg.dir = r->dir;
    cfg.manual_clock = true;
    cfg.on_timeout = on_timeout;
    if (vox_rec_engine_create(&cfg, &r->e, &diag) < 0)
        fail_msg("engine: %s", diag.text);
    r->exec = cfg.exec;
    r->q = outq_new();
}

static void rig_open(struct rig *r, const char *id, const char *meta)
{
    struct vox_rec_session_config sc = {.id = id, .call_id = id, .metadata_json = meta, .user = r};
    struct vox_diag diag = {{0}};

    if (vox_rec_session_open(r->e, &sc, &r->s, &diag) < 0)
        fail_msg("session: %s", diag.text);
}

static unsigned rig_stream(struct rig *r, const char *label, const struct vox_rec_pt *pts,
                           size_t npts, unsigned *port)
{
    unsigned index = 99;
    int fd = udp_bound(port);

    assert_int_equal(vox_rec_stream_add(r->s, label, fd, *port, pts, npts, &index), 0);
    return index;
}

/* Sends what is queued, then one tick 20 ms later. */
static void rig_tick(struct rig *r)
{
    outq_flush(r->q);
    r->now += MS(20);
    assert_int_equal(vox_rec_engine_tick(r->e, r->now), 0);
}

static void rig_ticks(struct rig *r, unsigned n)
{
    while (n--)
        rig_tick(r);
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[512];

    if (!d)
        return;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void rig_stop(struct rig *r)
{
    vox_rec_engine_destroy(r->e);
    if (r->exec)
        vox_executor_destroy(r->exec);
    outq_free(r->q);
    rm_dir(r->dir);
}

/* Reads <dir>/<name>; fails the test unless it is a valid WAV of `channels` at 8000 Hz. */
static int16_t *read_wav_at(const char *dir, const char *name, unsigned channels, unsigned rate_hz,
                            size_t *frames)
{
    char path[512];
    struct vox_wav_info info;
    struct vox_diag diag = {{0}};
    int16_t *pcm = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (vox_wav_read(path, &info, &pcm, &diag) < 0)
        fail_msg("%s", diag.text);
    assert_int_equal(info.channels, channels);
    assert_int_equal(info.rate_hz, rate_hz);
    assert_false(info.truncated);
    *frames = (size_t)info.frames;
    if (!pcm)
        pcm = calloc(1, sizeof(int16_t)); /* an empty file */
    return pcm;
}

static int16_t *read_wav(const char *dir, const char *name, unsigned channels, size_t *frames)
{
    return read_wav_at(dir, name, channels, 8000, frames);
}

static json_t *read_json(const char *dir, const char *stem)
{
    char path[512];
    json_error_t err;
    json_t *j;

    snprintf(path, sizeof(path), "%s/%s.json", dir, stem);
    j = json_load_file(path, 0, &err);
    if (!j)
        fail_msg("%s: %s (line %d)", path, err.text, err.line);
    return j;
}

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        fail_msg("JSON field %s is not an integer", key);
    return json_integer_value(v);
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        fail_msg("JSON field %s is not a string", key);
    return json_string_value(v);
}

/* Fails with the first difference between a file and what it should hold. */
static void assert_samples(const char *what, const int16_t *got, size_t ngot, const int16_t *want,
                           size_t nwant)
{
    for (size_t i = 0; i < ngot && i < nwant; i++)
        if (got[i] != want[i])
            fail_msg("%s: sample %zu (frame %zu) is %d, expected %d", what, i, i / FS, got[i],
                     want[i]);
    if (ngot != nwant)
        fail_msg("%s: %zu samples, expected %zu", what, ngot, nwant);
}

/* Checks a stream file against want[nframes * FS]. */
static void check_mono(struct rig *r, const char *name, const int16_t *want, size_t nframes)
{
    size_t frames;
    int16_t *got = read_wav(r->dir, name, 1, &frames);

    assert_samples(name, got, frames, want, nframes * FS);
    free(got);
}

/* Checks the mix: left = wl, right = wr (NULL: silence). */
static void check_mix(struct rig *r, const char *name, const int16_t *wl, const int16_t *wr,
                      size_t nframes)
{
    size_t frames;
    int16_t *got = read_wav(r->dir, name, 2, &frames);

    assert_int_equal(frames, nframes * FS);
    for (size_t i = 0; i < frames; i++) {
        int16_t l = wl ? wl[i] : 0, rr = wr ? wr[i] : 0;

        if (got[2 * i] != l || got[2 * i + 1] != rr)
            fail_msg("%s: frame %zu sample %zu is (%d, %d), expected (%d, %d)", name, i / FS, i,
                     got[2 * i], got[2 * i + 1], l, rr);
    }
    free(got);
}

static void close_session(struct rig *r, const char *reason)
{
    assert_int_equal(vox_rec_session_close(r->s, reason), 0);
    r->s = NULL;
}

static const struct vox_rec_pt PCMU[] = {{0, VOX_REC_CODEC_PCMU, 8000, 1},
                                         {PT_EVENT, VOX_REC_CODEC_EVENT, 8000, 1}};
static const struct vox_rec_pt PCMA[] = {{8, VOX_REC_CODEC_PCMA, 8000, 1}};
static const struct vox_rec_pt OPUS[] = {{PT_OPUS, VOX_REC_CODEC_OPUS, 48000, 2}};

/*
 * Timeline of the manual-clock tests: the session opens at 0; packet k of a stream is sent just
 * before the tick at (k + 1) x 20 ms, so it arrives in frame k + 1 and, a talk spurt landing
 * where its first packet arrived, is played as frame k + 1 of the file (the playout delay only
 * decides when that frame is written). The files end at the close, in frames of 20 ms.
 */

/* ---- G.711: two streams, exact files, mix, JSON ---------------------------------------------- */

static void run_two_streams(struct vox_executor *exec)
{
    struct vox_rec_engine_config cfg = {.exec = exec, .flush_ms = 200};
    struct rig r;
    struct src a = {.pt = 0, .seq = 65530, .ts = 0xFFFFFF00u, .ssrc = 0x1111};
    struct src b = {.pt = 8, .seq = 100, .ts = 5000, .ssrc = 0x2222};
    size_t n = g_frames, total = n + 10;
    int16_t *wa = calloc(total * FS, 2), *wb = calloc(total * FS, 2);
    const char *meta = "{\"participants\":[{\"name\":\"Alice\"},{\"name\":\"Bob\"}],\"n\":1}";
    char name[256];
    struct vox_rec_stream_stats st[4];
    struct vox_rec_engine_stats es;
    json_t *j, *streams, *s0, *s1, *want_meta;

    rig_start(&r, &cfg);
    rig_open(&r, "call-1@example.com", meta);
    assert_string_equal(vox_rec_session_stem(r.s), "call-1@example.com");
    assert_int_equal(rig_stream(&r, "caller", PCMU, 2, &a.port), 0);
    assert_int_equal(rig_stream(&r, "callee", PCMA, 1, &b.port), 1);
    for (size_t k = 0; k < n; k++) {
        q_g711(r.q, &a, frame_of(g_speech, k));
        /* every packet of the second stream twice: duplicates change nothing */
        q_g711(r.q, &b, frame_of(g_reverse, k));
        b.seq--;
        b.ts -= FS;
        q_g711(r.q, &b, frame_of(g_reverse, k));
        expect_g711(wa, total, &a, k + 1, frame_of(g_speech, k));
        expect_g711(wb, total, &b, k + 1, frame_of(g_reverse, k));
        rig_tick(&r);
    }
    rig_ticks(&r, 10);
    assert_int_equal(r.now, MS(20) * total);

    assert_int_equal(vox_rec_session_stats(r.s, st, 4), 2);
    assert_string_equal(st[0].label, "caller");
    assert_int_equal(st[0].packets, n);
    assert_int_equal(st[1].packets, 2 * n);
    assert_int_equal(st[1].duplicates, n);
    assert_int_equal(st[0].lost + st[1].lost, 0);
    assert_int_equal(st[0].codec, VOX_REC_CODEC_PCMU);
    assert_int_equal(st[1].codec, VOX_REC_CODEC_PCMA);
    assert_int_equal(vox_rec_session_stats(r.s, st, 1), 1);
    close_session(&r, "bye");

    check_mono(&r, "call-1@example.com_caller.wav", wa, total);
    check_mono(&r, "call-1@example.com_callee.wav", wb, total);
    check_mix(&r, "call-1@example.com.wav", wa, wb, total);

    j = read_json(r.dir, "call-1@example.com");
    assert_string_equal(jstr(j, "session_id"), "call-1@example.com");
    assert_string_equal(jstr(j, "call_id"), "call-1@example.com");
    assert_string_equal(jstr(j, "state"), "closed");
    assert_string_equal(jstr(j, "end_reason"), "bye");
    assert_int_equal(jint(j, "duration_ms"), 20 * total);
    assert_int_equal(jint(j, "ended_unix_ms") - jint(j, "started_unix_ms"), 20 * total);
    assert_true(strlen(jstr(j, "started")) == 24 && jstr(j, "started")[23] == 'Z');
    assert_true(strlen(jstr(j, "ended")) == 24);
    assert_int_equal(jint(j, "rate_hz"), 8000);
    assert_string_equal(jstr(j, "mix_file"), "call-1@example.com.wav");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "mix_channels"), 1)),
                        "callee");
    streams = json_object_get(j, "streams");
    assert_int_equal(json_array_size(streams), 2);
    s0 = json_array_get(streams, 0);
    s1 = json_array_get(streams, 1);
    assert_string_equal(jstr(s0, "label"), "caller");
    assert_int_equal(jint(s0, "index"), 0);
    assert_string_equal(jstr(s0, "codec"), "pcmu");
    assert_string_equal(jstr(s1, "codec"), "pcma");
    assert_int_equal(jint(s1, "payload_type"), 8);
    assert_string_equal(jstr(s0, "file"), "call-1@example.com_caller.wav");
    assert_int_equal(jint(s0, "local_port"), a.port);
    assert_int_equal(jint(s0, "packets"), n);
    assert_int_equal(jint(s0, "bytes"), n * (12 + FS));
    assert_int_equal(jint(s1, "duplicates"), n);
    assert_int_equal(jint(s0, "lost") + jint(s0, "late") + jint(s0, "reordered"), 0);
    assert_int_equal(jint(s0, "ssrc_changes") + jint(s0, "dtmf_events"), 0);
    assert_int_equal(jint(s0, "samples_written"), total * FS);
    assert_int_equal(jint(s1, "samples_written"), total * FS);
    assert_int_equal(jint(s0, "paused_ms"), 0);
    assert_true(json_is_real(json_object_get(s0, "jitter_ms")));
    /* a perfectly paced sender on a fake clock has no jitter */
    assert_true(json_real_value(json_object_get(s0, "jitter_ms")) == 0.0);
    want_meta = json_loads(meta, 0, NULL);
    assert_true(json_equal(json_object_get(j, "metadata"), want_meta));
    json_decref(want_meta);
    json_decref(j);

    vox_rec_engine_stats(r.e, &es);
    assert_int_equal(es.sessions_total, 1);
    assert_int_equal(es.sessions_open, 0);
    assert_int_equal(es.packets, 3 * n);
    assert_int_equal(es.write_errors + es.timeouts + es.decode_errors, 0);
    assert_int_equal(es.ticks, total);
    snprintf(name, sizeof(name), "%s/.call-1@example.com.json.tmp", r.dir);
    assert_int_not_equal(access(name, F_OK), 0); /* no temporary left */
    rig_stop(&r);
    free(wa);
    free(wb);
}

static void two_streams_inline(void **state)
{
    (void)state;
    run_two_streams(NULL);
}

/* The same through executors: the manual tick waits for the tasks it submitted. */
static void two_streams_executors(void **state)
{
    const char *names[] = {"thread", "pool", "steal"};

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct vox_exec_config ec = {.workers = 2};
        struct vox_executor *ex = NULL;

        assert_int_equal(vox_executor_create(names[i], &ec, &ex, NULL), 0);
        run_two_streams(ex); /* destroys ex */
    }
}

/* ---- loss, reordering ------------------------------------------------------------------------ */

/* Queues packet `idx` of a sender that started at `first` (its numbering and clock). */
static void q_g711_idx(struct outq *q, const struct src *first, size_t idx, const int16_t *pcm)
{
    struct src s = *first;

    s.seq = (uint16_t)(first->seq + idx);
    s.ts = first->ts + (uint32_t)(idx * FS);
    q_g711(q, &s, pcm);
}

static void loss_and_reorder(void **state)
{
    struct rig r;
    struct src a = {.pt = 0, .seq = 7, .ts = 1, .ssrc = 0xA};
    struct src b = {.pt = 0, .seq = 65000, .ts = 77, .ssrc = 0xB};
    size_t n = 60, total = n + 8;
    int16_t *wa = calloc(total * FS, 2), *wb = calloc(total * FS, 2);
    struct vox_rec_stream_stats st[2];

    (void)state;
    rig_start(&r, NULL);
    rig_open(&r, "loss", NULL);
    rig_stream(&r, "a", PCMU, 1, &a.port);
    rig_stream(&r, "b", PCMU, 1, &b.port);
    for (size_t k = 0; k < n; k++) {
        /* a: packets 10-14 and 30 are lost: silence of exactly their length */
        if ((k < 10 || k > 14) && k != 30) {
            q_g711_idx(r.q, &a, k, frame_of(g_speech, k));
            expect_g711(wa, total, &a, k + 1, frame_of(g_speech, k));
        }
        /* b: from packet 20 to 39 pairs come swapped (the second one a tick early), and
         * packet 41 comes a tick late, after 42: all in place in the file */
        expect_g711(wb, total, &b, k + 1, frame_of(g_reverse, k));
        if (k >= 20 && k < 40 && k % 2 == 0) {
            q_g711_idx(r.q, &b, k + 1, frame_of(g_reverse, k + 1));
            q_g711_idx(r.q, &b, k, frame_of(g_reverse, k));
        } else if (k == 42) {
            q_g711_idx(r.q, &b, k, frame_of(g_reverse, k));
            q_g711_idx(r.q, &b, k - 1, frame_of(g_reverse, k - 1));
        } else if ((k < 20 || k >= 40) && k != 41) {
            q_g711_idx(r.q, &b, k, frame_of(g_reverse, k));
        }
        rig_tick(&r);
    }
    rig_ticks(&r, 8);
    assert_int_equal(vox_rec_session_stats(r.s, st, 2), 2);
    close_session(&r, "bye");
    check_mono(&r, "loss_a.wav", wa, total);
    check_mono(&r, "loss_b.wav", wb, total);
    assert_int_equal(st[0].lost, 6);
    assert_int_equal(st[0].packets, n - 6);
    assert_int_equal(st[1].packets, n);
    assert_int_equal(st[1].lost, 0);
    assert_int_equal(st[1].late, 0);
    assert_int_equal(st[1].reordered, 11);
    rig_stop(&r);
    free(wa);
    free(wb);
}

/* Ticks 100 ms apart (a starved clock): every tick catches up, the file stays whole. */
static void late_ticks_catch_up(void **state)
{
    struct rig r;
    struct src a = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 1};
    size_t n = 50, total = 60;
    int16_t *wa = calloc(total * FS, 2);

    (void)state;
    rig_start(&r, NULL);
    rig_open(&r, "late", NULL);
    rig_stream(&r, "a", PCMU, 1, &a.port);
    for (size_t k = 0; k < n; k++) {
        q_g711(r.q, &a, frame_of(g_speech, k));
        /* the first five arrive together at 100 ms: the talk spurt starts in frame 5 */
        expect_g711(wa, total, &a, 5 + k, frame_of(g_speech, k));
        if (k % 5 == 4) {
            outq_flush(r.q);
            r.now += MS(100);
            assert_int_equal(vox_rec_engine_tick(r.e, r.now), 0);
        }
    }
    r.now += MS(200);
    assert_int_equal(vox_rec_engine_tick(r.e, r.now), 0);
    close_session(&r, "bye");
    check_mono(&r, "late_a.wav", wa, total);
    rig_stop(&r);
    free(wa);
}

/* ---- Opus ------------------------------------------------------------------------------------ */

static void opus_stream(void **state)
{
    struct rig r;
    struct src o = {.pt = PT_OPUS, .seq = 1, .ts = 960 * 1000, .ssrc = 0x0505};
    struct vox_opus_enc *enc = NULL;
    struct vox_opus_dec *dec = NULL;
    size_t n = g_frames, total = n + 6;
    int16_t *want = calloc(total * FS, 2);
    struct vox_rec_stream_stats st;

    (void)state;
    assert_int_equal(vox_opus_encoder_create(8000, 1, 16000, &enc, NULL), 0);
    assert_int_equal(vox_opus_decoder_create(8000, 1, &dec, NULL), 0);
    rig_start(&r, NULL);
    rig_open(&r, "opus", NULL);
    rig_stream(&r, "o", OPUS, 1, &o.port);
    for (size_t k = 0; k < n; k++) {
        uint8_t pkt[400];
        int len = vox_opus_encode(enc, frame_of(g_speech, k), FS, pkt, sizeof(pkt));

        assert_true(len > 0);
        /* packets 20 and 21 are lost: Opus conceals them inside the talk spurt (PLC) */
        if (k == 20 || k == 21) {
            assert_int_equal(vox_opus_decode(dec, NULL, 0, want + (k + 1) * FS, FS), FS);
            o.seq++;
            o.ts += 960;
        } else {
            q_rtp(r.q, &o, PT_OPUS, o.ts, false, pkt, (size_t)len);
            o.seq++;
            o.ts += 960;
            assert_int_equal(vox_opus_decode(dec, pkt, (size_t)len, want + (k + 1) * FS, FS), FS);
        }
        rig_tick(&r);
    }
    rig_ticks(&r, 6);
    vox_rec_session_stats(r.s, &st, 1);
    assert_int_equal(st.codec, VOX_REC_CODEC_OPUS);
    assert_int_equal(st.lost, 2);
    close_session(&r, "bye");
    check_mono(&r, "opus_o.wav", want, total);
    vox_opus_encoder_destroy(enc);
    vox_opus_decoder_destroy(dec);
    rig_stop(&r);
    free(want);
}

/* ---- another rate ---------------------------------------------------------------------------- */

/* Files at 16 kHz: G.711 is interpolated (every second sample is the decoded one), Opus is
 * decoded at the file's rate; the lengths follow the clock as at 8 kHz. */
static void files_at_16khz(void **state)
{
    struct vox_rec_engine_config cfg = {.rate_hz = 16000};
    struct rig r;
    struct src a = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 1};
    struct src o = {.pt = PT_OPUS, .seq = 1, .ts = 1, .ssrc = 2};
    struct vox_opus_enc *enc = NULL;
    size_t n = 30, total = n + 5, frames;
    int16_t *pcm;
    json_t *j;

    (void)state;
    assert_int_equal(vox_opus_encoder_create(16000, 1, 24000, &enc, NULL), 0);
    rig_start(&r, &cfg);
    rig_open(&r, "wide", NULL);
    rig_stream(&r, "a", PCMU, 1, &a.port);
    rig_stream(&r, "o", OPUS, 1, &o.port);
    for (size_t k = 0; k < n; k++) {
        int16_t wide[2 * FS];
        uint8_t pkt[400];
        int len;

        q_g711(r.q, &a, frame_of(g_speech, k));
        for (size_t i = 0; i < 2 * FS; i++)
            wide[i] = frame_of(g_speech, k)[i / 2];
        len = vox_opus_encode(enc, wide, 2 * FS, pkt, sizeof(pkt));
        assert_true(len > 0);
        q_rtp(r.q, &o, PT_OPUS, o.ts, false, pkt, (size_t)len);
        o.seq++;
        o.ts += 960;
        rig_tick(&r);
    }
    rig_ticks(&r, 5);
    close_session(&r, "bye");
    pcm = read_wav_at(r.dir, "wide_a.wav", 1, 16000, &frames);
    assert_int_equal(frames, total * 2 * FS);
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < FS; i++)
            assert_int_equal(pcm[(k + 1) * 2 * FS + 2 * i + 1],
                             round_trip(&a, frame_of(g_speech, k)[i]));
    free(pcm);
    pcm = read_wav_at(r.dir, "wide_o.wav", 1, 16000, &frames);
    assert_int_equal(frames, total * 2 * FS);
    free(pcm);
    pcm = read_wav_at(r.dir, "wide.wav", 2, 16000, &frames);
    assert_int_equal(frames, total * 2 * FS);
    free(pcm);
    j = read_json(r.dir, "wide");
    assert_int_equal(jint(j, "rate_hz"), 16000);
    assert_int_equal(jint(json_array_get(json_object_get(j, "streams"), 1), "samples_written"),
                     total * 2 * FS);
    json_decref(j);
    vox_opus_encoder_destroy(enc);
    rig_stop(&r);
}

/* ---- hold ------------------------------------------------------------------------------------ */

static void hold_pads_and_never_times_out(void **state)
{
    struct vox_rec_engine_config cfg = {.media_timeout_ms = 1000};
    struct rig r;
    struct src a = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 1};
    struct src b = {.pt = 8, .seq = 1, .ts = 1, .ssrc = 2};
    size_t total = 25 + 100 + 25 + 5;
    int16_t *wa = calloc(total * FS, 2), *wb = calloc(total * FS, 2);
    struct vox_rec_stream_stats st[2];
    size_t k, f;
    json_t *j;

    (void)state;
    rig_start(&r, &cfg);
    rig_open(&r, "hold", NULL);
    rig_stream(&r, "a", PCMU, 1, &a.port);
    rig_stream(&r, "b", PCMA, 1, &b.port);
    for (k = 0; k < 25; k++) {
        q_g711(r.q, &a, frame_of(g_speech, k));
        q_g711(r.q, &b, frame_of(g_reverse, k));
        expect_g711(wa, total, &a, k + 1, frame_of(g_speech, k));
        expect_g711(wb, total, &b, k + 1, frame_of(g_reverse, k));
        rig_tick(&r);
    }
    /* a=inactive at 500 ms for two seconds of the fake clock */
    assert_int_equal(vox_rec_stream_set_paused(r.s, 0, 1), 0);
    assert_int_equal(vox_rec_stream_set_paused(r.s, 1, 1), 0);
    assert_int_equal(vox_rec_stream_set_paused(r.s, 1, 1), 0); /* no-op */
    for (k = 0; k < 100; k++) {
        if (k % 10 == 9) {
            /* a sender that does not stop: read and dropped */
            q_g711(r.q, &a, frame_of(g_speech, 0));
            q_g711(r.q, &b, frame_of(g_speech, 0));
        }
        rig_tick(&r);
    }
    vox_rec_session_stats(r.s, st, 2);
    assert_true(st[0].paused);
    assert_int_equal(st[0].paused_ms, 2000); /* as published by the last tick */
    assert_int_equal(vox_rec_stream_set_paused(r.s, 0, 0), 0);
    assert_int_equal(vox_rec_stream_set_paused(r.s, 1, 0), 0);
    /* resumed at 2500 ms: the next packet arrives in frame 126 */
    for (k = 0; k < 25; k++) {
        f = 126 + k;
        q_g711(r.q, &a, frame_of(g_speech, 40 + k));
        q_g711(r.q, &b, frame_of(g_reverse, 40 + k));
        expect_g711(wa, total, &a, f, frame_of(g_speech, 40 + k));
        expect_g711(wb, total, &b, f, frame_of(g_reverse, 40 + k));
        rig_tick(&r);
    }
    rig_ticks(&r, 5);
    assert_int_equal(r.now, MS(20) * total);
    assert_int_equal(r.timeouts, 0);
    vox_rec_session_stats(r.s, st, 2);
    close_session(&r, "bye");
    check_mono(&r, "hold_a.wav", wa, total);
    check_mono(&r, "hold_b.wav", wb, total);
    check_mix(&r, "hold.wav", wa, wb, total);
    assert_int_equal(st[0].discarded, 10);
    assert_int_equal(st[1].discarded, 10);
    assert_int_equal(st[0].lost + st[1].lost, 0);
    j = read_json(r.dir, "hold");
    assert_int_equal(jint(json_array_get(json_object_get(j, "streams"), 0), "paused_ms"), 2000);
    assert_int_equal(jint(json_array_get(json_object_get(j, "streams"), 1), "samples_written"),
                     total * FS);
    assert_int_equal(jint(j, "duration_ms"), 20 * total);
    json_decref(j);
    rig_stop(&r);
    free(wa);
    free(wb);
}

/* ---- media timeout --------------------------------------------------------------------------- */

static void media_timeout_once(void **state)
{
    struct vox_rec_engine_config cfg = {.media_timeout_ms = 500};
    struct vox_rec_engine_stats es;
    struct rig r;
    struct src a = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 1};
    size_t frames;
    int16_t *pcm;
    json_t *j;

    (void)state;
    rig_start(&r, &cfg);
    rig_open(&r, "silent", NULL);
    rig_stream(&r, "a", PCMU, 1, &a.port);
    for (int k = 0; k < 10; k++) {
        q_g711(r.q, &a, frame_of(g_speech, (size_t)k));
        rig_tick(&r);
    }
    /* the last packet arrived at 200 ms: the timeout is due at 700 ms, and only once */
    rig_ticks(&r, 24);
    assert_int_equal(r.timeouts, 0);
    rig_tick(&r);
    assert_int_equal(r.timeouts, 1);
    assert_ptr_equal(r.timed_out, r.s);
    rig_ticks(&r, 100);
    assert_int_equal(r.timeouts, 1);
    vox_rec_engine_stats(r.e, &es);
    assert_int_equal(es.timeouts, 1);
    close_session(&r, "timeout");

    /* closing from inside on_timeout: the task finishes the files when the callback returns */
    r.close_in_callback = true;
    r.timeouts = 0;
    rig_open(&r, "silent2", NULL);
    rig_stream(&r, "a", PCMU, 1, &a.port);
    q_g711(r.q, &a, frame_of(g_speech, 0));
    rig_ticks(&r, 40);
    assert_int_equal(r.timeouts, 1);
    vox_rec_engine_stats(r.e, &es);
    assert_int_equal(es.sessions_open, 0);
    j = read_json(r.dir, "silent2");
    assert_string_equal(jstr(j, "end_reason"), "timeout");
    assert_int_equal(jint(j, "duration_ms"), 26 * 20); /* due at 520 ms from its open */
    json_decref(j);
    pcm = read_wav(r.dir, "silent2_a.wav", 1, &frames);
    assert_int_equal(frames, 26 * FS);
    free(pcm);
    r.s = NULL;
    rig_stop(&r);
}

/* ---- sources --------------------------------------------------------------------------------- */

static void ssrc_change_and_second_source(void **state)
{
    struct rig r;
    struct src a = {.pt = 0, .seq = 1000, .ts = 1, .ssrc = 0xAAAA};
    struct src c = {.pt = 0, .seq = 3000, .ts = 9, .ssrc = 0xCCCC};
    struct src d = {.pt = 0, .seq = 40000, .ts = 12345, .ssrc = 0xDDDD};
    size_t n = 60, total = n + 8;
    int16_t *wa = calloc(total * FS, 2), *wc = calloc(total * FS, 2);
    struct vox_rec_stream_stats st[2];

    (void)state;
    rig_start(&r, NULL);
    rig_open(&r, "ssrc", NULL);
    rig_stream(&r, "a", PCMU, 1, &a.port);
    rig_stream(&r, "c", PCMU, 1, &c.port);
    d.port = c.port;
    for (size_t k = 0; k < n; k++) {
        if (k == 30) {
            /* the sender restarts: new SSRC, numbering and timestamps (a transfer) */
            a.ssrc = 0xBBBB;
            a.seq = 20000;
            a.ts = 777777;
        }
        q_g711(r.q, &a, frame_of(g_speech, k));
        expect_g711(wa, total, &a, k + 1, frame_of(g_speech, k));
        /* a second source on c's port, now and then: dropped, counted */
        if (k % 10 == 5)
            q_g711(r.q, &d, frame_of(g_speech, 3));
        q_g711(r.q, &c, frame_of(g_reverse, k));
        expect_g711(wc, total, &c, k + 1, frame_of(g_reverse, k));
        rig_tick(&r);
    }
    rig_ticks(&r, 8);
    vox_rec_session_stats(r.s, st, 2);
    close_session(&r, "bye");
    check_mono(&r, "ssrc_a.wav", wa, total);
    check_mono(&r, "ssrc_c.wav", wc, total);
    assert_int_equal(st[0].ssrc_changes, 1);
    assert_int_equal(st[0].lost + st[0].foreign_source, 0);
    assert_int_equal(st[1].ssrc_changes, 0);
    assert_int_equal(st[1].foreign_source, 6);
    assert_int_equal(st[1].lost, 0);
    rig_stop(&r);
    free(wa);
    free(wc);
}

/* ---- RFC 4733 events ------------------------------------------------------------------------- */

static void q_event(struct outq *q, struct src *s, uint32_t ts, uint8_t event, bool end,
                    uint16_t duration)
{
    struct vox_rtp_event ev = {.event = event, .end = end, .volume = 10, .duration = duration};
    uint8_t payload[4];

    assert_int_equal(vox_rtp_event_build(&ev, payload, sizeof(payload)), 4);
    q_rtp(q, s, PT_EVENT, ts, duration == FS, payload, sizeof(payload));
    s->seq++;
}

static void dtmf_counted_not_decoded(void **state)
{
    struct rig r;
    struct src a = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 1};
    size_t n = 60, total = n + 6;
    int16_t *wa = calloc(total * FS, 2);
    struct vox_rec_stream_stats st;
    uint32_t ev_ts = 0;

    (void)state;
    rig_start(&r, NULL);
    rig_open(&r, "dtmf", NULL);
    rig_stream(&r, "a", PCMU, 2, &a.port);
    for (size_t k = 0; k < n; k++) {
        /* '5' from packet 20 to 29 (its end sent three times), '#' from 40 to 44: the audio
         * stops meanwhile, the events' time is silence */
        if ((k >= 20 && k <= 29) || (k >= 40 && k <= 44)) {
            bool first = k == 20 || k == 40;
            bool end = (k >= 27 && k <= 29) || (k >= 42 && k <= 44);
            size_t start = k < 40 ? 20 : 40;
            size_t len = (end ? (k < 40 ? 27 : 42) : k) - start + 1;

            if (first)
                ev_ts = a.ts;
            q_event(r.q, &a, ev_ts, k < 40 ? 5 : 11, end, (uint16_t)(len * FS));
            a.ts += FS;
        } else {
            q_g711(r.q, &a, frame_of(g_speech, k));
            expect_g711(wa, total, &a, k + 1, frame_of(g_speech, k));
        }
        rig_tick(&r);
    }
    rig_ticks(&r, 6);
    vox_rec_session_stats(r.s, &st, 1);
    close_session(&r, "bye");
    check_mono(&r, "dtmf_a.wav", wa, total);
    assert_int_equal(st.dtmf_events, 2);
    assert_int_equal(st.lost, 0);
    assert_int_equal(st.bad_pt, 0);
    assert_int_equal(st.codec, VOX_REC_CODEC_PCMU);
    rig_stop(&r);
    free(wa);
}

/* ---- stopping a stream ----------------------------------------------------------------------- */

static void stop_one_stream(void **state)
{
    struct rig r;
    struct src a = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 1};
    struct src b = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 2};
    size_t n = 60, total = n + 5;
    int16_t *wa = calloc(total * FS, 2), *wb = calloc(total * FS, 2);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd;
    json_t *j, *s1;

    (void)state;
    rig_start(&r, NULL);
    rig_open(&r, "stop", NULL);
    rig_stream(&r, "a", PCMU, 1, &a.port);
    rig_stream(&r, "b", PCMU, 1, &b.port);
    for (size_t k = 0; k < n; k++) {
        q_g711(r.q, &a, frame_of(g_speech, k));
        expect_g711(wa, total, &a, k + 1, frame_of(g_speech, k));
        if (k < 30) {
            q_g711(r.q, &b, frame_of(g_reverse, k));
            if (k + 1 < 30)
                expect_g711(wb, total, &b, k + 1, frame_of(g_reverse, k));
        }
        rig_tick(&r);
        if (k == 29) {
            /* port 0 in a re-INVITE at 600 ms: b's file ends there */
            assert_int_equal(vox_rec_stream_stop(r.s, 1), 0);
            assert_int_equal(vox_rec_stream_stop(r.s, 1), VOX_EBUSY);
        }
        if (k == 30) {
            /* the next tick closed its socket: the port can be bound again */
            fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            addr.sin_port = htons((uint16_t)b.port);
            assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
            close(fd);
        }
    }
    rig_ticks(&r, 5);
    assert_int_equal(vox_rec_stream_stop(r.s, 7), VOX_ENOENT);
    assert_int_equal(vox_rec_stream_set_paused(r.s, 7, 1), VOX_ENOENT);
    close_session(&r, "bye");
    check_mono(&r, "stop_a.wav", wa, total);
    check_mono(&r, "stop_b.wav", wb, 30);
    check_mix(&r, "stop.wav", wa, wb, total); /* wb is zero past frame 30 */
    j = read_json(r.dir, "stop");
    s1 = json_array_get(json_object_get(j, "streams"), 1);
    assert_string_equal(jstr(s1, "state"), "stopped");
    assert_int_equal(jint(s1, "samples_written"), 30 * FS);
    json_decref(j);
    rig_stop(&r);
    free(wa);
    free(wb);
}

/* ---- names, metadata, JSON rewrites, a stream added later ------------------------------------ */

static void names_metadata_and_late_stream(void **state)
{
    struct rig r;
    struct vox_rec_session *s2 = NULL, *s3 = NULL;
    struct vox_rec_session_config sc = {.id = "a/b c"};
    struct src a = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 1};
    struct src b = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 2};
    struct vox_diag diag = {{0}};
    unsigned port, idx;
    int fd;
    json_t *j, *m;
    size_t frames;
    int16_t *pcm;

    (void)state;
    rig_start(&r, NULL);
    rig_open(&r, "a/b c", "{\"v\":1}");
    /* outside [A-Za-z0-9._@-] becomes '_'; the same id again gets a suffix */
    assert_string_equal(vox_rec_session_stem(r.s), "a_b_c");
    assert_string_equal(vox_rec_session_id(r.s), "a/b c");
    assert_ptr_equal(vox_rec_session_user(r.s), &r);
    assert_int_equal(vox_rec_session_open(r.e, &sc, &s2, NULL), 0);
    assert_string_equal(vox_rec_session_stem(s2), "a_b_c-1");
    /* two streams with the same label, and one with none */
    rig_stream(&r, "x/y", PCMU, 1, &a.port);
    assert_int_equal(rig_stream(&r, "x/y", PCMU, 1, &b.port), 1);
    fd = udp_bound(&port);
    assert_int_equal(vox_rec_stream_add(r.s, "", fd, port, PCMU, 1, &idx), 0);
    assert_int_equal(idx, 2);
    /* bad payload maps are refused and the caller keeps its socket */
    {
        struct vox_rec_pt bad[] = {{0, VOX_REC_CODEC_PCMU, 16000, 1}};
        struct vox_rec_pt big[VOX_REC_MAX_PTS + 1] = {{0}};

        fd = udp_bound(&port);
        assert_int_equal(vox_rec_stream_add(r.s, "z", fd, port, bad, 1, NULL), VOX_EINVAL);
        assert_int_equal(vox_rec_stream_add(r.s, "z", fd, port, big, VOX_REC_MAX_PTS + 1, NULL),
                         VOX_EINVAL);
        assert_int_equal(vox_rec_stream_set_pts(r.s, 0, bad, 1), VOX_EINVAL);
        assert_true(fcntl(fd, F_GETFD) >= 0);
        close(fd);
    }
    assert_int_equal(vox_rec_session_set_metadata(r.s, "{not json"), VOX_EMALFORMED);
    assert_int_equal(vox_rec_session_set_metadata(r.s, "{\"v\":2,\"who\":[\"A\",\"B\"]}"), 0);
    rig_tick(&r);
    j = read_json(r.dir, "a_b_c");
    assert_string_equal(jstr(j, "state"), "recording");
    assert_true(json_is_null(json_object_get(j, "end_reason")));
    m = json_object_get(j, "metadata");
    assert_int_equal(jint(m, "v"), 2);
    assert_int_equal(json_array_size(json_object_get(m, "who")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "streams")), 3);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "streams"), 0), "file"),
                        "a_b_c_x_y.wav");
    assert_string_equal(jstr(json_array_get(json_object_get(j, "streams"), 1), "file"),
                        "a_b_c_x_y-1.wav");
    assert_string_equal(jstr(json_array_get(json_object_get(j, "streams"), 2), "file"),
                        "a_b_c_2.wav");
    json_decref(j);

    /* a stream added at 1 s (a re-INVITE adding an m= line): its file starts there */
    rig_ticks(&r, 49);
    {
        struct src c = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 3};

        rig_open(&r, "late", NULL); /* r.s is now "late"; the first one is closed below */
        s3 = r.s;
        rig_ticks(&r, 50);
        rig_stream(&r, "c", PCMU, 1, &c.port);
        for (int k = 0; k < 10; k++) {
            q_g711(r.q, &c, frame_of(g_speech, (size_t)k));
            rig_tick(&r);
        }
        rig_ticks(&r, 10);
        close_session(&r, "bye");
        pcm = read_wav(r.dir, "late_c.wav", 1, &frames);
        assert_int_equal(frames, 20 * FS);
        free(pcm);
        pcm = read_wav(r.dir, "late.wav", 2, &frames);
        assert_int_equal(frames, 70 * FS);
        for (size_t i = 0; i < 50 * FS; i++)
            assert_int_equal(pcm[2 * i], 0); /* before the stream existed */
        free(pcm);
        j = read_json(r.dir, "late");
        assert_int_equal(jint(json_array_get(json_object_get(j, "streams"), 0), "start_offset_ms"),
                         1000);
        assert_true(json_is_null(json_array_get(json_object_get(j, "mix_channels"), 1)));
        json_decref(j);
    }
    (void)s3;
    assert_int_equal(vox_rec_session_close(s2, "cancel"), 0);
    /* the first session is left open: destroy closes it with "shutdown" */
    vox_rec_engine_destroy(r.e);
    r.e = NULL;
    j = read_json(r.dir, "a_b_c");
    assert_string_equal(jstr(j, "end_reason"), "shutdown");
    json_decref(j);
    j = read_json(r.dir, "a_b_c-1");
    assert_string_equal(jstr(j, "end_reason"), "cancel");
    assert_int_equal(json_array_size(json_object_get(j, "streams")), 0);
    json_decref(j);
    /* a new engine on the same directory never overwrites: the stem moves on */
    {
        struct vox_rec_engine_config cfg = {.dir = r.dir, .manual_clock = true};

        assert_int_equal(vox_rec_engine_create(&cfg, &r.e, &diag), 0);
        sc.id = "a_b_c";
        assert_int_equal(vox_rec_session_open(r.e, &sc, &s2, NULL), 0);
        assert_string_equal(vox_rec_session_stem(s2), "a_b_c-2");
        assert_int_equal(vox_rec_session_close(s2, NULL), 0);
    }
    rig_stop(&r);
}

/* ---- configuration errors -------------------------------------------------------------------- */

static void config_errors(void **state)
{
    struct vox_rec_engine_config cfg = {.dir = "/tmp", .manual_clock = true};
    struct vox_rec_engine *e = NULL;
    struct vox_diag diag = {{0}};
    struct vox_rec_session_config sc = {.id = ""};
    struct vox_rec_session *s = NULL;

    (void)state;
    cfg.rate_hz = 11025;
    assert_int_equal(vox_rec_engine_create(&cfg, &e, &diag), VOX_EINVAL);
    assert_non_null(strstr(diag.text, "11025"));
    cfg.rate_hz = 0;
    cfg.flush_ms = 5;
    assert_int_equal(vox_rec_engine_create(&cfg, &e, &diag), VOX_EINVAL);
    cfg.flush_ms = 0;
    cfg.dir = "/proc/vox-recorder-test/x";
    assert_true(vox_rec_engine_create(&cfg, &e, &diag) < 0);
    assert_non_null(strstr(diag.text, "/proc/vox-recorder-test"));
    assert_null(e);
    cfg.dir = NULL;
    assert_int_equal(vox_rec_engine_create(&cfg, &e, &diag), VOX_EINVAL);

    /* a directory that does not exist yet is created, parents included */
    {
        char dir[128], sub[200];

        snprintf(dir, sizeof(dir), "/tmp/vox-rec-cfg-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(sub, sizeof(sub), "%s/one/two/", dir);
        cfg.dir = sub;
        assert_int_equal(vox_rec_engine_create(&cfg, &e, &diag), 0);
        assert_int_equal(vox_rec_session_open(e, &sc, &s, &diag), VOX_EINVAL);
        sc.id = "x";
        sc.metadata_json = "[1,2";
        assert_int_equal(vox_rec_session_open(e, &sc, &s, &diag), VOX_EMALFORMED);
        assert_null(s);
        vox_rec_engine_destroy(e);
        snprintf(sub, sizeof(sub), "%s/one/two", dir);
        rmdir(sub);
        snprintf(sub, sizeof(sub), "%s/one", dir);
        rmdir(sub);
        rmdir(dir);
    }
    /* a ticker engine takes no manual ticks */
    cfg.dir = "/tmp";
    cfg.manual_clock = false;
    assert_int_equal(vox_rec_engine_create(&cfg, &e, &diag), 0);
    assert_int_equal(vox_rec_engine_tick(e, 1), VOX_EINVAL);
    vox_rec_engine_destroy(e);
}

/* ---- the ticker thread, every executor ------------------------------------------------------- */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void ticker_with_executors(void **state)
{
    const char *names[] = {NULL, "thread", "pool", "steal"};

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        struct vox_rec_engine_config cfg = {.flush_ms = 100};
        struct vox_exec_config ec = {.workers = 2};
        struct vox_rec_engine *e = NULL;
        struct vox_rec_session *s = NULL;
        struct vox_rec_session_config sc = {.id = names[i] ? names[i] : "inline"};
        struct vox_rec_engine_stats es;
        struct vox_rec_stream_stats st[2];
        struct outq *q = outq_new();
        struct src a = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 1};
        struct src b = {.pt = 8, .seq = 1, .ts = 1, .ssrc = 2};
        char dir[64], name[128];
        uint64_t t0;
        double seconds;
        size_t frames;
        int16_t *pcm;

        snprintf(dir, sizeof(dir), "/tmp/vox-rec-tick-XXXXXX");
        assert_non_null(mkdtemp(dir));
        cfg.dir = dir;
        if (names[i])
            assert_int_equal(vox_executor_create(names[i], &ec, &cfg.exec, NULL), 0);
        assert_int_equal(vox_rec_engine_create(&cfg, &e, NULL), 0);
        assert_int_equal(vox_rec_session_open(e, &sc, &s, NULL), 0);
        t0 = vox_clock_ns();
        assert_int_equal(vox_rec_stream_add(s, "a", udp_bound(&a.port), a.port, PCMU, 1, NULL), 0);
        assert_int_equal(vox_rec_stream_add(s, "b", udp_bound(&b.port), b.port, PCMA, 1, NULL), 0);
        for (size_t k = 0; k < 25; k++) {
            q_g711(q, &a, frame_of(g_speech, k));
            q_g711(q, &b, frame_of(g_reverse, k));
            outq_flush(q);
            sleep_ms(20);
        }
        sleep_ms(100);
        assert_int_equal(vox_rec_session_stats(s, st, 2), 2);
        assert_int_equal(vox_rec_session_close(s, "bye"), 0);
        seconds = (double)(vox_clock_ns() - t0) / 1e9;
        vox_rec_engine_stats(e, &es);
        assert_true(es.ticks > 10);
        assert_int_equal(es.packets, 50);
        vox_rec_engine_destroy(e);
        if (cfg.exec)
            vox_executor_destroy(cfg.exec);
        assert_int_equal(st[0].packets, 25);
        assert_int_equal(st[1].packets, 25);
        /* kernel receive times: the jitter of a sender pacing with nanosleep, reported */
        print_message("executor %s: jitter %.2f ms, %llu ticks late, %llu skipped\n",
                      names[i] ? names[i] : "none", st[0].jitter_ms,
                      (unsigned long long)es.ticks_late, (unsigned long long)es.ticks_skipped);
        /* as long as the session, to the frame (plus the time the close took) */
        snprintf(name, sizeof(name), "%s_a.wav", sc.id);
        pcm = read_wav(dir, name, 1, &frames);
        assert_true(frames >= 25 * FS && (double)frames / 8000 <= seconds + 0.05);
        free(pcm);
        snprintf(name, sizeof(name), "%s.wav", sc.id);
        pcm = read_wav(dir, name, 2, &frames);
        assert_true(frames >= 25 * FS);
        free(pcm);
        outq_free(q);
        rm_dir(dir);
    }
}

/* ---- the caller's threads against the tasks -------------------------------------------------- */

#define RACE_SESSIONS 8

struct race {
    unsigned ports[RACE_SESSIONS][2];
    atomic_bool stop;
    atomic_int timeouts[RACE_SESSIONS]; /* the session's user is &timeouts[i] */
};

static void *race_sender(void *arg)
{
    struct race *rc = arg;
    struct outq *q = outq_new();
    struct src s[RACE_SESSIONS][2];

    memset(s, 0, sizeof(s));
    for (size_t k = 0; !atomic_load(&rc->stop); k++) {
        for (int i = 0; i < RACE_SESSIONS; i++) {
            for (int j = 0; j < 2; j++) {
                s[i][j].port = rc->ports[i][j];
                s[i][j].ssrc = (uint32_t)(k / 40 + 1); /* a new source now and then */
                /* session 0 goes silent after a while: its timeout fires during the rest */
                if (i != 0 || k < 10)
                    q_g711(q, &s[i][j], frame_of(g_speech, k));
            }
        }
        outq_flush(q);
        sleep_ms(10);
    }
    outq_free(q);
    return NULL;
}

static void race_timeout(void *user, struct vox_rec_session *s)
{
    struct vox_rec_stream_stats st[2];

    assert_ptr_equal(user, vox_rec_session_user(s));
    atomic_fetch_add((atomic_int *)user, 1);
    /* what a caller may do from the task */
    assert_int_equal(vox_rec_session_stats(s, st, 2), 2);
    assert_int_equal(vox_rec_session_set_metadata(s, "{\"timed_out\":true}"), 0);
}

/*
 * Sessions recording on the ticker (5 ms ticks, a pool executor) while the test thread pauses,
 * resumes, changes codecs, rewrites metadata, reads counters, stops streams and closes sessions
 * as fast as it can: for ThreadSanitizer and AddressSanitizer to judge.
 */
static void control_calls_race_tasks(void **state)
{
    struct vox_rec_engine_config cfg = {.tick_ms = 5, .media_timeout_ms = 300, .flush_ms = 40};
    struct vox_exec_config ec = {.workers = 2};
    struct vox_rec_session *ss[RACE_SESSIONS];
    struct vox_rec_engine_stats es;
    struct race rc;
    struct vox_rec_engine *e = NULL;
    pthread_t sender;
    char dir[64];
    uint64_t t0;
    unsigned seed = 1;

    (void)state;
    memset(&rc, 0, sizeof(rc));
    snprintf(dir, sizeof(dir), "/tmp/vox-rec-race-XXXXXX");
    assert_non_null(mkdtemp(dir));
    cfg.dir = dir;
    cfg.on_timeout = race_timeout;
    assert_int_equal(vox_executor_create("pool", &ec, &cfg.exec, NULL), 0);
    assert_int_equal(vox_rec_engine_create(&cfg, &e, NULL), 0);
    for (int i = 0; i < RACE_SESSIONS; i++) {
        char id[32];
        struct vox_rec_session_config sc = {.id = id, .user = &rc.timeouts[i]};

        snprintf(id, sizeof(id), "race-%d", i);
        assert_int_equal(vox_rec_session_open(e, &sc, &ss[i], NULL), 0);
        for (int j = 0; j < 2; j++) {
            int fd = udp_bound(&rc.ports[i][j]);

            assert_int_equal(
                vox_rec_stream_add(ss[i], j ? "b" : "a", fd, rc.ports[i][j], PCMU, 2, NULL), 0);
        }
    }
    assert_int_equal(pthread_create(&sender, NULL, race_sender, &rc), 0);
    t0 = vox_clock_ns();
    while (vox_clock_ns() - t0 < MS(1200)) {
        int i = (int)(rand_r(&seed) % RACE_SESSIONS);
        unsigned j = rand_r(&seed) % 2;
        struct vox_rec_stream_stats st[2];

        if (!ss[i])
            continue;
        switch (rand_r(&seed) % 8) {
        case 0:
        case 1:
            vox_rec_stream_set_paused(ss[i], j, (int)(rand_r(&seed) % 2));
            break;
        case 2:
            vox_rec_stream_set_pts(ss[i], j, rand_r(&seed) % 2 ? PCMA : OPUS, 1);
            break;
        case 3:
            vox_rec_stream_set_pts(ss[i], j, PCMU, 2);
            break;
        case 4:
            assert_int_equal(vox_rec_session_set_metadata(ss[i], "{\"n\":[1,2,3]}"), 0);
            break;
        case 5:
            assert_int_equal(vox_rec_session_stats(ss[i], st, 2), 2);
            break;
        case 6:
            if (i != 0 && rand_r(&seed) % 50 == 0)
                vox_rec_stream_stop(ss[i], j);
            break;
        default:
            /* sessions 0 and 1 live on (0 must time out) */
            if (i >= 2 && rand_r(&seed) % 200 == 0) {
                assert_int_equal(vox_rec_session_close(ss[i], "bye"), 0);
                ss[i] = NULL;
            }
            break;
        }
        sched_yield();
    }
    vox_rec_stream_set_paused(ss[0], 0, 0);
    vox_rec_stream_set_paused(ss[0], 1, 0);
    sleep_ms(400); /* session 0 silent for longer than the timeout */
    atomic_store(&rc.stop, true);
    pthread_join(sender, NULL);
    vox_rec_engine_stats(e, &es);
    assert_true(es.packets > 0);
    /* session 0 timed out, once; a starved sender may let others time out too, never twice */
    assert_int_equal(atomic_load(&rc.timeouts[0]), 1);
    for (int i = 1; i < RACE_SESSIONS; i++)
        assert_true(atomic_load(&rc.timeouts[i]) <= 1);
    assert_true(es.timeouts >= 1);
    assert_int_equal(es.write_errors, 0);
    vox_rec_engine_destroy(e); /* closes what is still open */
    vox_executor_destroy(cfg.exec);
    for (int i = 0; i < RACE_SESSIONS; i++) {
        char name[64];
        size_t frames;
        int16_t *pcm;
        json_t *j;

        snprintf(name, sizeof(name), "race-%d", i);
        j = read_json(dir, name);
        assert_string_equal(jstr(j, "state"), "closed");
        snprintf(name, sizeof(name), "race-%d.wav", i);
        pcm = read_wav(dir, name, 2, &frames);
        /* as long as the session (a session closed in its first 10 ms has no frame at all) */
        assert_true(frames / FS * 20 + 20 >= (size_t)jint(j, "duration_ms"));
        free(pcm);
        json_decref(j);
    }
    rm_dir(dir);
}

/* A task that holds the executor's only worker until the test lets it go. */
static void blocker(void *arg)
{
    atomic_int *gate = arg;

    while (!atomic_load(gate))
        sleep_ms(1);
}

/*
 * A close while the session's task sits in the executor's queue (here behind a task holding
 * the only worker) must not wait for it: a caller running on that worker would deadlock. The
 * queued task later finds the session closed and only drops its reference.
 */
static void close_while_task_queued(void **state)
{
    struct vox_rec_engine_config cfg = {0};
    struct vox_exec_config ec = {.workers = 1};
    struct vox_rec_session_config sc = {.id = "queued"};
    struct vox_rec_engine *e = NULL;
    struct vox_rec_session *s = NULL;
    struct vox_rec_engine_stats es;
    atomic_int gate = 0;
    struct vox_task t = {.run = blocker, .arg = &gate, .prio = VOX_PRIO_CRITICAL};
    struct src a = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 1};
    struct outq *q = outq_new();
    char dir[64];
    size_t frames;
    int16_t *pcm;
    json_t *j;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vox-rec-queue-XXXXXX");
    assert_non_null(mkdtemp(dir));
    cfg.dir = dir;
    assert_int_equal(vox_executor_create("pool", &ec, &cfg.exec, NULL), 0);
    assert_int_equal(vox_rec_engine_create(&cfg, &e, NULL), 0);
    assert_int_equal(vox_rec_session_open(e, &sc, &s, NULL), 0);
    assert_int_equal(vox_rec_stream_add(s, "a", udp_bound(&a.port), a.port, PCMU, 1, NULL), 0);
    for (size_t k = 0; k < 10; k++) {
        q_g711(q, &a, frame_of(g_speech, k));
        outq_flush(q);
        sleep_ms(20);
    }
    assert_int_equal(vox_executor_submit(cfg.exec, &t), 0);
    /* ticks meanwhile: one task queued, the next ticks skipped */
    for (int i = 0; i < 200; i++) {
        vox_rec_engine_stats(e, &es);
        if (es.ticks_skipped > 0)
            break;
        sleep_ms(10);
    }
    assert_true(es.ticks_skipped > 0);
    assert_int_equal(vox_rec_session_close(s, "bye"), 0);
    atomic_store(&gate, 1);
    vox_rec_engine_destroy(e); /* waits for the orphaned task */
    vox_executor_destroy(cfg.exec);
    j = read_json(dir, "queued");
    assert_string_equal(jstr(j, "end_reason"), "bye");
    assert_int_equal(jint(json_array_get(json_object_get(j, "streams"), 0), "packets"), 10);
    json_decref(j);
    pcm = read_wav(dir, "queued_a.wav", 1, &frames);
    assert_true(frames >= 10 * FS);
    free(pcm);
    outq_free(q);
    rm_dir(dir);
}

/* ---- a recording process killed -------------------------------------------------------------- */

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void sigkill_leaves_valid_files(void **state)
{
    char dir[64], path[256];
    pid_t pid;
    int status;
    size_t frames;
    int16_t *pcm;
    json_t *j;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vox-rec-kill-XXXXXX");
    assert_non_null(mkdtemp(dir));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct vox_rec_engine_config cfg = {.dir = dir, .flush_ms = 100};
        struct vox_rec_session_config sc = {.id = "killed", .metadata_json = "{\"k\":1}"};
        struct vox_rec_engine *e = NULL;
        struct vox_rec_session *s = NULL;
        struct src a = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 1};
        struct src b = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 2};
        struct outq *q = outq_new();
        int fa, fb;

        if (vox_rec_engine_create(&cfg, &e, NULL) || vox_rec_session_open(e, &sc, &s, NULL))
            _exit(2);
        fa = udp_bound(&a.port);
        fb = udp_bound(&b.port);
        if (vox_rec_stream_add(s, "a", fa, a.port, PCMU, 1, NULL) ||
            vox_rec_stream_add(s, "b", fb, b.port, PCMU, 1, NULL))
            _exit(3);
        for (size_t k = 0; k < 1000; k++) { /* 20 s: killed long before */
            q_g711(q, &a, frame_of(g_speech, k));
            q_g711(q, &b, frame_of(g_reverse, k));
            outq_flush(q);
            sleep_ms(20);
        }
        _exit(4);
    }
    /* wait until a few flushes reached the files, then kill mid-recording */
    /* the mix is written last in every frame: when it holds half a second, so do the others */
    snprintf(path, sizeof(path), "%s/killed.wav", dir);
    for (int i = 0; i < 500 && file_size(path) < 44 + 4 * 4000; i++)
        sleep_ms(10);
    sleep_ms(30);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));

    pcm = read_wav(dir, "killed_a.wav", 1, &frames);
    assert_true(frames >= 4000);
    free(pcm);
    pcm = read_wav(dir, "killed_b.wav", 1, &frames);
    assert_true(frames >= 4000);
    free(pcm);
    pcm = read_wav(dir, "killed.wav", 2, &frames);
    assert_true(frames >= 4000);
    free(pcm);
    j = read_json(dir, "killed");
    assert_string_equal(jstr(j, "state"), "recording");
    assert_int_equal(jint(json_object_get(j, "metadata"), "k"), 1);
    assert_int_equal(json_array_size(json_object_get(j, "streams")), 2);
    json_decref(j);
    rm_dir(dir);
}

/* ---- write errors ---------------------------------------------------------------------------- */

/* Points the descriptor that has `path` open at /dev/full: every later write fails, ENOSPC. */
static bool make_disk_full(const char *path)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    char link[300], target[PATH_MAX];
    bool done = false;
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);

    assert_true(full >= 0);
    assert_non_null(d);
    while ((de = readdir(d)) && !done) {
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, path) == 0) {
            assert_true(dup2(full, atoi(de->d_name)) >= 0);
            done = true;
        }
    }
    closedir(d);
    close(full);
    return done;
}

static void write_errors_counted(void **state)
{
    struct vox_rec_engine_config cfg = {.flush_ms = 100};
    struct vox_rec_engine_stats es;
    struct rig r;
    struct src a = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 1};
    struct src b = {.pt = 0, .seq = 1, .ts = 1, .ssrc = 2};
    struct vox_rec_stream_stats st[2];
    char path[256], moved[256];
    size_t frames;
    int16_t *pcm;
    json_t *j;

    (void)state;
    rig_start(&r, &cfg);
    rig_open(&r, "full", NULL);
    rig_stream(&r, "a", PCMU, 1, &a.port);
    rig_stream(&r, "b", PCMU, 1, &b.port);
    snprintf(path, sizeof(path), "%s/full_a.wav", r.dir);
    assert_true(make_disk_full(path));
    for (size_t k = 0; k < 30; k++) {
        q_g711(r.q, &a, frame_of(g_speech, k));
        q_g711(r.q, &b, frame_of(g_reverse, k));
        rig_tick(&r);
    }
    vox_rec_engine_stats(r.e, &es);
    assert_int_equal(es.write_errors, 1); /* counted once for the writer, logged once */
    vox_rec_session_stats(r.s, st, 2);
    assert_int_equal(st[0].packets, 30); /* the session goes on */
    assert_int_equal(st[1].samples_written, 27 * FS);

    /* the directory vanishes: the JSON rewrite fails, counted; the WAVs go on (open files) */
    snprintf(moved, sizeof(moved), "%s.moved", r.dir);
    assert_int_equal(rename(r.dir, moved), 0);
    assert_int_equal(vox_rec_session_set_metadata(r.s, "{\"x\":1}"), 0);
    rig_ticks(&r, 2);
    vox_rec_engine_stats(r.e, &es);
    assert_int_equal(es.write_errors, 2);
    assert_int_equal(rename(moved, r.dir), 0);
    rig_ticks(&r, 3);
    close_session(&r, "bye");
    pcm = read_wav(r.dir, "full_b.wav", 1, &frames);
    assert_int_equal(frames, 35 * FS);
    free(pcm);
    j = read_json(r.dir, "full");
    assert_int_equal(jint(j, "write_errors"), 2);
    assert_int_equal(jint(json_object_get(j, "metadata"), "x"), 1);
    json_decref(j);
    rig_stop(&r);
}

/* ---- memory per session ---------------------------------------------------------------------- */

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * 200 two-stream G.711 sessions, each with 1.2 s of audio (so that every buffer has been touched):
 * what the recorder allocates per session (its allocator's count) and what the process grew by.
 * Reported on stdout; the allocation is checked against the figure the header gives.
 */
static void memory_per_session(void **state)
{
    enum { N = 200 };
    struct vox_allocator *alloc = NULL;
    struct vox_alloc_stats before, after;
    struct vox_rec_engine_config cfg = {.flush_ms = 1000};
    struct vox_rec_session **ss = calloc(N, sizeof(*ss));
    struct src *srcs = calloc(2 * N, sizeof(*srcs));
    struct rig r;
    long rss0, rss1;
    double per_alloc, wav_bytes;

    (void)state;
    assert_int_equal(vox_allocator_create("system", NULL, &alloc, NULL), 0);
    cfg.alloc = alloc;
    rig_start(&r, &cfg);
    rig_tick(&r); /* the task buffers exist before the count starts */
    vox_allocator_stats(alloc, &before);
    rss0 = rss_kib();
    for (int i = 0; i < N; i++) {
        char id[32];

        snprintf(id, sizeof(id), "mem-%d", i);
        rig_open(&r, id, "{\"participants\":[\"a\",\"b\"]}");
        ss[i] = r.s;
        for (int k = 0; k < 2; k++) {
            struct src *s = &srcs[2 * i + k];

            s->pt = 0;
            s->ssrc = (uint32_t)(2 * i + k + 1);
            rig_stream(&r, k ? "b" : "a", PCMU, 1, &s->port);
        }
    }
    for (int t = 0; t < 60; t++) {
        for (int i = 0; i < 2 * N; i++) {
            q_g711(r.q, &srcs[i], frame_of(g_speech, (size_t)t));
            if (r.q->n == QCAP)
                outq_flush(r.q);
        }
        rig_tick(&r);
    }
    vox_allocator_stats(alloc, &after);
    rss1 = rss_kib();
    per_alloc = (double)(after.bytes_in_use - before.bytes_in_use) / N;
    wav_bytes = 2.0 * 8000 * 1.0 * (2 + 2); /* 2 B x rate x flush_s x (streams + 2 channels) */
    printf("recorder memory per two-stream G.711 session: %.0f bytes allocated by the recorder "
           "(structures and jitter buffers) + WAV writer buffers of %.0f bytes at flush_ms=1000 "
           "(%.0f at 250); the process grew by %.1f KiB per session\n",
           per_alloc, wav_bytes, wav_bytes / 4, (double)(rss1 - rss0) / N);
    assert_true(per_alloc < 24 * 1024);
    for (int i = 0; i < N; i++)
        assert_int_equal(vox_rec_session_close(ss[i], "bye"), 0);
    r.s = NULL;
    rig_stop(&r);
    vox_allocator_destroy(alloc);
    free(ss);
    free(srcs);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_streams_inline),
        cmocka_unit_test(two_streams_executors),
        cmocka_unit_test(loss_and_reorder),
        cmocka_unit_test(late_ticks_catch_up),
        cmocka_unit_test(opus_stream),
        cmocka_unit_test(files_at_16khz),
        cmocka_unit_test(hold_pads_and_never_times_out),
        cmocka_unit_test(media_timeout_once),
        cmocka_unit_test(ssrc_change_and_second_source),
        cmocka_unit_test(dtmf_counted_not_decoded),
        cmocka_unit_test(stop_one_stream),
        cmocka_unit_test(names_metadata_and_late_stream),
        cmocka_unit_test(config_errors),
        cmocka_unit_test(ticker_with_executors),
        cmocka_unit_test(control_calls_race_tasks),
        cmocka_unit_test(close_while_task_queued),
        cmocka_unit_test(sigkill_leaves_valid_files),
        cmocka_unit_test(write_errors_counted),
        cmocka_unit_test(memory_per_session),
    };

    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("recorder", tests, load_speech, free_speech);
}
