/* SPDX-License-Identifier: MIT */
/*
 * vox-rtpsend tests: the binary (VOX_RTPSEND_BIN) runs against UDP sockets bound here on
 * 127.0.0.1. Everything asserted is a count, a header field or a payload byte, never a time:
 * packet counts (50 per second of stream), sequence numbers, timestamps, payload types, SSRCs,
 * the G.711 payload byte for byte (the test resamples the speech file with speexdsp exactly as
 * the sender documents, and an 8 kHz file needs no resampling at all), the exact packets that
 * --loss drops for a seed (the test replays the sender's documented draw()), RFC 4733 events,
 * DTX and SSRC changes, daemon pause/resume/stop and the exit status of bad command lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <speex/speex_resampler.h>

#include "vox/g711.h"
#include "vox/rtp.h"
#include "vox/wav.h"

#define SPEECH                                                                                     \
    "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav"
#define MAX_PKTS 1024
#define PKT_MAX  256

extern char **environ;

static char tmpdir[256];

/* ---- what the sender documents, replayed ---------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

enum { SALT_SSRC = 1, SALT_SEQ, SALT_TS, SALT_LOSS, SALT_REORDER, SALT_JITTER };

static uint64_t draw(uint64_t seed, uint64_t stream, unsigned salt, uint64_t n)
{
    return mix64(mix64(mix64(seed) ^ (stream << 8 | salt)) ^ n);
}

/* The sender's resample_to_8k: speex quality DEFAULT, skip_zeros, zero-flushed tail. */
static int16_t *resample_8k(const int16_t *in, size_t n, unsigned rate, size_t *out_n)
{
    static const int16_t zeros[1024];
    size_t want = (size_t)((uint64_t)n * 8000 / rate), done = 0, pos = 0;
    int16_t *o = malloc((want + 1) * sizeof(*o));
    SpeexResamplerState *st;
    int err = 0;

    assert_non_null(o);
    st = speex_resampler_init(1, rate, 8000, SPEEX_RESAMPLER_QUALITY_DEFAULT, &err);
    assert_non_null(st);
    speex_resampler_skip_zeros(st);
    while (done < want) {
        spx_uint32_t in_len, out_len = (spx_uint32_t)(want - done > 65536 ? 65536 : want - done);
        const int16_t *src = zeros;

        in_len = 1024;
        if (pos < n) {
            src = in + pos;
            in_len = (spx_uint32_t)(n - pos > 65536 ? 65536 : n - pos);
        }
        speex_resampler_process_int(st, 0, src, &in_len, o + done, &out_len);
        if (src != zeros)
            pos += in_len;
        done += out_len;
        assert_true(in_len || out_len);
    }
    speex_resampler_destroy(st);
    *out_n = want;
    return o;
}

/* Pads 8 kHz samples to whole packets and encodes them; returns the packet count. */
static size_t encode_padded(const int16_t *pcm, size_t n, bool alaw, uint8_t **out)
{
    size_t pkts = (n + 159) / 160;
    int16_t *padded;

    assert_true(pkts > 0);
    padded = calloc(pkts * 160, sizeof(*padded));
    assert_non_null(padded);
    memcpy(padded, pcm, n * sizeof(*pcm));
    *out = malloc(pkts * 160);
    assert_non_null(*out);
    if (alaw)
        vox_g711_alaw_encode(padded, *out, pkts * 160);
    else
        vox_g711_ulaw_encode(padded, *out, pkts * 160);
    free(padded);
    return pkts;
}

/* ---- sockets and processes ------------------------------------------------------------------ */

struct rx {
    int fd;
    unsigned port;
    size_t n;
    uint8_t buf[MAX_PKTS][PKT_MAX];
    size_t len[MAX_PKTS];
};

static struct rx *rx_open(void)
{
    struct rx *r = calloc(1, sizeof(*r));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int sz = 1 << 20;

    assert_non_null(r);
    r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(r->fd >= 0);
    setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(r->fd, (struct sockaddr *)&a, &al), 0);
    r->port = ntohs(a.sin_port);
    return r;
}

static void rx_close(struct rx *r)
{
    close(r->fd);
    free(r);
}

/* Reads every datagram waiting on r; returns how many were read. */
static size_t rx_drain(struct rx *r)
{
    size_t got = 0;

    for (;;) {
        uint8_t tmp[PKT_MAX];
        ssize_t n = recv(r->fd, r->n < MAX_PKTS ? r->buf[r->n] : tmp, PKT_MAX, 0);

        if (n < 0)
            return got;
        if (r->n < MAX_PKTS)
            r->len[r->n++] = (size_t)n;
        got++;
    }
}

static void rx_clear(struct rx *r)
{
    rx_drain(r);
    r->n = 0;
}

static void parse(const struct rx *r, size_t i, struct vox_rtp_view *v)
{
    struct vox_diag d = {{0}};

    if (vox_rtp_parse(r->buf[i], r->len[i], v, &d) != 0)
        fail_msg("packet %zu on port %u: %s", i, r->port, d.text);
}

/* Starts the sender with argv (NULL-terminated, argv[0] is set here); stdout goes to `out_fd`
 * when not -1, stderr to tmpdir/stderr.txt. */
static pid_t spawn_sender(const char **argv, int out_fd)
{
    posix_spawn_file_actions_t fa;
    char errpath[300];
    pid_t pid;

    snprintf(errpath, sizeof(errpath), "%s/stderr.txt", tmpdir);
    argv[0] = VOX_RTPSEND_BIN;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    assert_int_equal(posix_spawn(&pid, VOX_RTPSEND_BIN, &fa, NULL, (char **)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static int exit_status(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs the sender to completion while collecting what the sockets receive; returns its exit
 * status. */
static int run_collect(const char **argv, struct rx **rx, size_t nrx)
{
    pid_t pid = spawn_sender(argv, -1);
    int status = 0;
    size_t i;

    for (;;) {
        struct pollfd p[8];
        pid_t w;

        for (i = 0; i < nrx; i++)
            p[i] = (struct pollfd){.fd = rx[i]->fd, .events = POLLIN};
        poll(p, (nfds_t)nrx, 50);
        for (i = 0; i < nrx; i++)
            rx_drain(rx[i]);
        w = waitpid(pid, &status, WNOHANG);
        assert_true(w >= 0);
        if (w == pid)
            break;
    }
    for (i = 0; i < nrx; i++)
        rx_drain(rx[i]);
    return exit_status(status);
}

static size_t read_text(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return n;
}

static void stderr_text(char *buf, size_t cap)
{
    char path[300];

    snprintf(path, sizeof(path), "%s/stderr.txt", tmpdir);
    read_text(path, buf, cap);
}

/* Checks that r holds one stream: version 2, payload type pt, consecutive sequence numbers,
 * timestamps + 160, one SSRC, the marker only on the first packet. Returns the SSRC. */
static uint32_t check_plain_stream(const struct rx *r, uint8_t pt)
{
    struct vox_rtp_view first, v;
    size_t i;

    assert_true(r->n > 0);
    parse(r, 0, &first);
    assert_true(first.marker);
    for (i = 0; i < r->n; i++) {
        parse(r, i, &v);
        assert_int_equal(v.version, 2);
        assert_int_equal(v.payload_type, pt);
        assert_int_equal(v.ssrc, first.ssrc);
        assert_int_equal(v.payload_len_bytes, 160);
        assert_int_equal((uint16_t)(v.seq - first.seq), i);
        assert_int_equal((uint32_t)(v.timestamp - first.timestamp), (uint32_t)(160 * i));
        assert_int_equal(v.marker, i == 0);
    }
    return first.ssrc;
}

/* The payload of packet i must be packet (offset + i) mod pkts of the encoded audio. */
static void check_payloads(const struct rx *r, const uint8_t *enc, size_t pkts, size_t offset)
{
    struct vox_rtp_view v;
    size_t i;

    for (i = 0; i < r->n; i++) {
        parse(r, i, &v);
        if (memcmp(v.payload, enc + ((offset + i) % pkts) * 160, 160) != 0)
            fail_msg("port %u packet %zu: payload differs from audio packet %zu", r->port, i,
                     (offset + i) % pkts);
    }
}

static char *port_arg(char *buf, size_t len, unsigned port)
{
    snprintf(buf, len, "127.0.0.1:%u", port);
    return buf;
}

/* ---- one-shot ---------------------------------------------------------------------------- */

/* Two streams of the default speech file: counts, headers, SSRCs, and each payload equal to
 * the speexdsp resampling (done here) of the file, µ-law encoded, from each stream's offset. */
static void test_two_streams_speech(void **state)
{
    struct rx *rx[2] = {rx_open(), rx_open()};
    char d0[64], d1[64];
    const char *argv[] = {NULL,
                          "--dest",
                          port_arg(d0, sizeof(d0), rx[0]->port),
                          "--dest",
                          port_arg(d1, sizeof(d1), rx[1]->port),
                          "--seconds",
                          "2",
                          "--seed",
                          "7",
                          NULL};
    struct vox_wav_info info;
    int16_t *pcm = NULL, *pcm8;
    uint8_t *enc;
    size_t n8, pkts;
    uint32_t s0, s1;

    (void)state;
    if (access(SPEECH, R_OK) != 0)
        skip();
    assert_int_equal(run_collect(argv, rx, 2), 0);
    /* 2 s at 50 packets/s, +-1 per second */
    assert_in_range(rx[0]->n, 98, 102);
    assert_in_range(rx[1]->n, 98, 102);
    s0 = check_plain_stream(rx[0], 0);
    s1 = check_plain_stream(rx[1], 0);
    assert_int_not_equal(s0, s1);
    assert_int_equal(s0, (uint32_t)draw(7, 0, SALT_SSRC, 0));

    assert_int_equal(vox_wav_read(SPEECH, &info, &pcm, NULL), 0);
    assert_int_equal(info.channels, 1);
    pcm8 = resample_8k(pcm, (size_t)info.frames, info.rate_hz, &n8);
    pkts = encode_padded(pcm8, n8, false, &enc);
    /* one file, two streams: stream 1 starts half-way through it */
    check_payloads(rx[0], enc, pkts, 0);
    check_payloads(rx[1], enc, pkts, pkts / 2);
    free(enc);
    free(pcm8);
    free(pcm);
    rx_close(rx[0]);
    rx_close(rx[1]);
}

static void write_wav(const char *path, unsigned rate, unsigned ch, const int16_t *s, size_t frames)
{
    struct vox_wav_writer *w = NULL;

    assert_int_equal(vox_wav_writer_open(path, rate, ch, NULL, &w, NULL), 0);
    assert_int_equal(vox_wav_write(w, s, frames), 0);
    assert_int_equal(vox_wav_close(w), 0);
}

/* --audio twice, PCMA, 8 kHz files (no resampling: the payload is the A-law of the samples
 * themselves), the second one stereo (mixed as (L + R) / 2), both shorter than the stream so
 * that the loop wraps; stream i plays file i from its start. */
static void test_pcma_two_files_exact(void **state)
{
    struct rx *rx[2] = {rx_open(), rx_open()};
    char d0[64], d1[64], f0[300], f1[300];
    const size_t n0 = 8000 + 37, n1 = 5000; /* not whole packets: the pad is silence */
    int16_t *a = malloc(n0 * sizeof(*a)), *b = malloc(2 * n1 * sizeof(*b)), *mono;
    const char *argv[] = {NULL,
                          "--dest",
                          port_arg(d0, sizeof(d0), rx[0]->port),
                          "--dest",
                          port_arg(d1, sizeof(d1), rx[1]->port),
                          "--seconds",
                          "1.5",
                          "--codec",
                          "pcma",
                          "--audio",
                          f0,
                          "--audio",
                          f1,
                          NULL};
    uint8_t *e0, *e1;
    size_t i, p0, p1;

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    mono = malloc(n1 * sizeof(*mono));
    assert_non_null(mono);
    for (i = 0; i < n0; i++)
        a[i] = (int16_t)(uint16_t)((i * 2654435761u) >> 13);
    for (i = 0; i < n1; i++) {
        b[2 * i] = (int16_t)(12000 * ((i / 20) % 2 ? 1 : -1) + (int)(i % 77));
        b[2 * i + 1] = (int16_t)(-7 * (int)i % 30000);
        mono[i] = (int16_t)(((int)b[2 * i] + b[2 * i + 1]) / 2);
    }
    snprintf(f0, sizeof(f0), "%s/a.wav", tmpdir);
    snprintf(f1, sizeof(f1), "%s/b.wav", tmpdir);
    write_wav(f0, 8000, 1, a, n0);
    write_wav(f1, 8000, 2, b, n1);
    assert_int_equal(run_collect(argv, rx, 2), 0);
    assert_in_range(rx[0]->n, 74, 76);
    assert_in_range(rx[1]->n, 74, 76);
    check_plain_stream(rx[0], 8);
    check_plain_stream(rx[1], 8);
    p0 = encode_padded(a, n0, true, &e0);
    p1 = encode_padded(mono, n1, true, &e1);
    assert_true(rx[0]->n > p0 && rx[1]->n > p1); /* both wrapped */
    check_payloads(rx[0], e0, p0, 0);
    check_payloads(rx[1], e1, p1, 0);
    free(e0);
    free(e1);
    free(a);
    free(b);
    free(mono);
    rx_close(rx[0]);
    rx_close(rx[1]);
}

/* --loss with a seed drops exactly the packets n with draw(seed, s, LOSS, n) % 1e6 < pct x 1e4;
 * the sequence numbers of the survivors are seq0 + n (seq0 and the SSRC from the seed too). */
static void test_loss_seeded(void **state)
{
    struct rx *rx[2] = {rx_open(), rx_open()};
    char d0[64], d1[64], stats[300], text[4096], want[64];
    const char *argv[] = {NULL,
                          "--dest",
                          port_arg(d0, sizeof(d0), rx[0]->port),
                          "--dest",
                          port_arg(d1, sizeof(d1), rx[1]->port),
                          "--seconds",
                          "2",
                          "--loss",
                          "20",
                          "--seed",
                          "42",
                          "--stats",
                          stats,
                          NULL};
    size_t s, n, lost_total = 0;

    (void)state;
    snprintf(stats, sizeof(stats), "%s/loss.json", tmpdir);
    assert_int_equal(run_collect(argv, rx, 2), 0);
    for (s = 0; s < 2; s++) {
        uint16_t seq0 = (uint16_t)draw(42, s, SALT_SEQ, 0);
        uint32_t ts0 = (uint32_t)draw(42, s, SALT_TS, 0);
        size_t k = 0, lost = 0;

        for (n = 0; n < 100; n++) {
            struct vox_rtp_view v;

            if (draw(42, s, SALT_LOSS, n) % 1000000 < 200000) {
                lost++;
                continue;
            }
            assert_true(k < rx[s]->n);
            parse(rx[s], k++, &v);
            assert_int_equal(v.ssrc, (uint32_t)draw(42, s, SALT_SSRC, 0));
            assert_int_equal(v.seq, (uint16_t)(seq0 + n));
            assert_int_equal(v.timestamp, ts0 + 160 * (uint32_t)n);
        }
        assert_int_equal(k, rx[s]->n);
        assert_in_range(lost, 5, 40); /* 20 % of 100, loosely: the draw is uniform */
        lost_total += lost;
    }
    read_text(stats, text, sizeof(text));
    snprintf(want, sizeof(want), "\"packets_lost\": %zu,", lost_total);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "\"packets_sent\": "));
    rx_close(rx[0]);
    rx_close(rx[1]);
}

/* --dtmf-at 0.5: at tick 25, seven RFC 4733 packets replace the audio: one timestamp (the
 * event start), the marker on the first, durations 160..800 then 800 twice, E on the last 3. */
static void test_dtmf(void **state)
{
    struct rx *rx[1] = {rx_open()};
    char d0[64];
    const char *argv[] = {NULL,
                          "--dest",
                          port_arg(d0, sizeof(d0), rx[0]->port),
                          "--seconds",
                          "1",
                          "--dtmf-at",
                          "0.5",
                          "--dtmf-digit",
                          "#",
                          "--seed",
                          "5",
                          NULL};
    struct vox_rtp_view first, v;
    size_t i, events = 0;

    (void)state;
    assert_int_equal(run_collect(argv, rx, 1), 0);
    assert_int_equal(rx[0]->n, 50);
    parse(rx[0], 0, &first);
    for (i = 0; i < rx[0]->n; i++) {
        parse(rx[0], i, &v);
        assert_int_equal((uint16_t)(v.seq - first.seq), i);
        assert_int_equal(v.ssrc, first.ssrc);
        if (i >= 25 && i < 32) {
            struct vox_rtp_event e;
            unsigned k = (unsigned)(i - 25);

            assert_int_equal(v.payload_type, 101);
            assert_int_equal(vox_rtp_event_from_packet(&v, 101, &e, NULL), 1);
            assert_int_equal(e.event, 11); /* '#' */
            assert_int_equal(v.timestamp, first.timestamp + 25 * 160);
            assert_int_equal(e.duration, 160 * (k < 5 ? k + 1 : 5));
            assert_int_equal(e.end, k >= 4);
            assert_int_equal(v.marker, k == 0);
            events++;
        } else {
            assert_int_equal(v.payload_type, 0);
            assert_int_equal(v.timestamp, first.timestamp + 160 * (uint32_t)i);
            assert_int_equal(v.marker, i == 0);
        }
    }
    assert_int_equal(events, 7);
    rx_close(rx[0]);
}

/* DTX between 0.4 s and 0.8 s (nothing sent, sequence unbroken, timestamp jumps, marker on the
 * talkspurt), then a new SSRC at 1.2 s (new sequence and timestamp origins, marker). */
static void test_dtx_and_ssrc_change(void **state)
{
    struct rx *rx[1] = {rx_open()};
    char d0[64];
    const char *argv[] = {NULL,
                          "--dest",
                          port_arg(d0, sizeof(d0), rx[0]->port),
                          "--seconds",
                          "1.6",
                          "--silence-from",
                          "0.4",
                          "--silence-to",
                          "0.8",
                          "--ssrc-change-at",
                          "1.2",
                          "--ssrc",
                          "0x1000",
                          NULL};
    struct vox_rtp_view first, v, second;
    size_t i;

    (void)state;
    assert_int_equal(run_collect(argv, rx, 1), 0);
    /* 80 ticks, 20 of them silent */
    assert_int_equal(rx[0]->n, 60);
    parse(rx[0], 0, &first);
    assert_int_equal(first.ssrc, 0x1000);
    for (i = 0; i < 40; i++) {
        size_t tick = i < 20 ? i : i + 20;

        parse(rx[0], i, &v);
        assert_int_equal(v.ssrc, first.ssrc);
        assert_int_equal((uint16_t)(v.seq - first.seq), i);
        assert_int_equal(v.timestamp, first.timestamp + 160 * (uint32_t)tick);
        assert_int_equal(v.marker, i == 0 || i == 20);
    }
    parse(rx[0], 40, &second);
    assert_int_not_equal(second.ssrc, first.ssrc);
    assert_true(second.marker);
    for (i = 40; i < 60; i++) {
        parse(rx[0], i, &v);
        assert_int_equal(v.ssrc, second.ssrc);
        assert_int_equal((uint16_t)(v.seq - second.seq), i - 40);
        assert_int_equal(v.timestamp, second.timestamp + 160 * (uint32_t)(i - 40));
        assert_int_equal(v.marker, i == 40);
    }
    rx_close(rx[0]);
}

/* --reorder and --jitter-ms change the order, never the set: every sequence number arrives
 * once, and some arrive after a later one. */
static void check_complete_reordered(const char *flag, const char *value)
{
    struct rx *rx[1] = {rx_open()};
    char d0[64];
    const char *argv[] = {NULL,        "--dest", port_arg(d0, sizeof(d0), rx[0]->port),
                          "--seconds", "1",      flag,
                          value,       "--seed", "3",
                          NULL};
    struct vox_rtp_view first, v;
    bool seen[50] = {false};
    size_t i, late = 0;
    uint16_t max_rel = 0;

    assert_int_equal(run_collect(argv, rx, 1), 0);
    assert_int_equal(rx[0]->n, 50);
    first.seq = (uint16_t)draw(3, 0, SALT_SEQ, 0);
    first.timestamp = (uint32_t)draw(3, 0, SALT_TS, 0);
    for (i = 0; i < rx[0]->n; i++) {
        uint16_t rel;

        parse(rx[0], i, &v);
        rel = (uint16_t)(v.seq - first.seq);
        assert_true(rel < 50);
        assert_false(seen[rel]);
        seen[rel] = true;
        assert_int_equal(v.timestamp, first.timestamp + 160 * (uint32_t)rel);
        if (i && rel < max_rel)
            late++;
        if (rel > max_rel)
            max_rel = rel;
    }
    assert_true(late > 0);
    rx_close(rx[0]);
}

static void test_reorder(void **state)
{
    (void)state;
    check_complete_reordered("--reorder", "20");
}

static void test_jitter(void **state)
{
    (void)state;
    check_complete_reordered("--jitter-ms", "60");
}

/* ---- daemon ------------------------------------------------------------------------------- */

/* Runs the client: --send ADDR --wait 5000 WORDS; returns the exit status. */
static int client(const char *ctl, const char *w1, const char *w2, const char *w3, const char *w4)
{
    const char *argv[] = {NULL, "--send", ctl, "--wait", "5000", w1, w2, w3, w4, NULL};
    int status, devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    pid_t pid;

    assert_true(devnull >= 0);
    pid = spawn_sender(argv, devnull); /* the answer printed on stdout */
    close(devnull);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return exit_status(status);
}

/* Waits (bounded) until every socket of rx[0..n) has received at least `want` packets. */
static void wait_packets(struct rx **rx, size_t n, size_t want)
{
    int rounds;
    size_t i;

    for (rounds = 0; rounds < 200; rounds++) {
        bool all = true;

        for (i = 0; i < n; i++) {
            rx_drain(rx[i]);
            all = all && rx[i]->n >= want;
        }
        if (all)
            return;
        usleep(20000);
    }
    fail_msg("fewer than %zu packets after 4 s", want);
}

/* Starts a daemon; returns its pid, its stdout in *out and the control address it printed
 * once it listens in ctl (64 bytes). */
static pid_t daemon_start(const char **argv, FILE **out, char *ctl)
{
    char line[128];
    int pipefd[2];
    pid_t pid;

    assert_int_equal(pipe(pipefd), 0);
    pid = spawn_sender(argv, pipefd[1]);
    close(pipefd[1]);
    *out = fdopen(pipefd[0], "r");
    assert_non_null(*out);
    assert_non_null(fgets(line, sizeof(line), *out));
    assert_int_equal(sscanf(line, "control %63s", ctl), 1);
    return pid;
}

/* Waits for the daemon to exit (after a quit), checks its status and reads its --stats. */
static void daemon_exit(pid_t pid, FILE *out, const char *stats, char *text, size_t cap)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(exit_status(status), 0);
    fclose(out);
    read_text(stats, text, cap);
}

static void test_daemon(void **state)
{
    struct rx *rx[4] = {rx_open(), rx_open(), rx_open(), rx_open()};
    char ctl[64], dests_a[64], dests_b[64], stats[300], text[4096];
    const char *argv[] = {NULL, "--control", "127.0.0.1:0", "--stats", stats, NULL};
    struct vox_rtp_view last, v;
    size_t i, got = 0;
    pid_t pid;
    FILE *out;

    (void)state;
    snprintf(stats, sizeof(stats), "%s/daemon.json", tmpdir);
    pid = daemon_start(argv, &out, ctl);
    snprintf(dests_a, sizeof(dests_a), "127.0.0.1:%u,127.0.0.1:%u", rx[0]->port, rx[1]->port);
    snprintf(dests_b, sizeof(dests_b), "127.0.0.1:%u,127.0.0.1:%u", rx[2]->port, rx[3]->port);

    assert_int_equal(client(ctl, "ping", NULL, NULL, NULL), 0);
    assert_int_equal(client(ctl, "start", "callA", "60", dests_a), 0);
    assert_int_equal(client(ctl, "start", "callB", "60", dests_b), 0);
    /* a second start of a running key, bad commands: "error" answers, exit 1 */
    assert_int_equal(client(ctl, "start", "callA", "60", dests_a), 1);
    assert_int_equal(client(ctl, "pause", "nosuchcall", NULL, NULL), 1);
    assert_int_equal(client(ctl, "start", "callC", "abc", dests_a), 1);
    assert_int_equal(client(ctl, "frobnicate", NULL, NULL, NULL), 1);
    wait_packets(rx, 4, 5);
    for (i = 0; i < 4; i++)
        check_plain_stream(rx[i], 0);
    parse(rx[0], 0, &v);
    parse(rx[1], 0, &last);
    assert_int_not_equal(v.ssrc, last.ssrc);

    /* pause A: once the answer is back, everything A sent before is in the socket buffers
     * (loopback delivers within sendmmsg), and nothing more comes while B goes on */
    assert_int_equal(client(ctl, "pause", "callA", NULL, NULL), 0);
    rx_drain(rx[0]);
    parse(rx[0], rx[0]->n - 1, &last);
    rx_clear(rx[1]);
    rx_clear(rx[2]);
    wait_packets(rx + 2, 1, 10);
    usleep(100000);
    assert_int_equal(rx_drain(rx[0]), 0);
    assert_int_equal(rx_drain(rx[1]), 0);

    /* resume A: the sequence goes on from the last packet, the timestamp kept the clock
     * running, and the talkspurt starts with the marker */
    assert_int_equal(client(ctl, "resume", "callA", NULL, NULL), 0);
    got = rx[0]->n;
    for (i = 0; i < 200 && rx[0]->n == got; i++) {
        usleep(20000);
        rx_drain(rx[0]);
    }
    assert_true(rx[0]->n > got);
    parse(rx[0], got, &v);
    assert_int_equal((uint16_t)(v.seq - last.seq), 1);
    assert_true(v.marker);
    assert_int_equal((v.timestamp - last.timestamp) % 160, 0);
    assert_true(v.timestamp - last.timestamp > 10 * 160);

    /* stop A: no more packets on A; B goes on */
    assert_int_equal(client(ctl, "stop", "callA", NULL, NULL), 0);
    rx_clear(rx[0]);
    rx_clear(rx[1]);
    rx_clear(rx[3]);
    wait_packets(rx + 3, 1, 10);
    usleep(100000);
    assert_int_equal(rx_drain(rx[0]), 0);
    assert_int_equal(rx_drain(rx[1]), 0);
    assert_int_equal(client(ctl, "stop", "callA", NULL, NULL), 1);

    /* stop one leg of B: its second stream ends, the first goes on */
    assert_int_equal(client(ctl, "stop", "callB", "3", NULL), 1);
    assert_int_equal(client(ctl, "stop", "callB", "2", NULL), 0);
    rx_clear(rx[2]);
    rx_clear(rx[3]);
    wait_packets(rx + 2, 1, 10);
    usleep(100000);
    assert_int_equal(rx_drain(rx[3]), 0);

    assert_int_equal(client(ctl, "quit", NULL, NULL, NULL), 0);
    daemon_exit(pid, out, stats, text, sizeof(text));
    assert_non_null(strstr(text, "\"mode\": \"daemon\""));
    assert_non_null(strstr(text, "\"sessions_started\": 2,"));
    assert_non_null(strstr(text, "\"streams_started\": 4,"));
    assert_non_null(strstr(text, "\"commands_rejected\": 6, "));
    assert_non_null(strstr(text, "\"late_ticks\": "));
    for (i = 0; i < 4; i++)
        rx_close(rx[i]);
}

/* Appends `text` to the file at `path` (created if missing), as SIPp's log does. */
static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* --follow: commands appended to a file, a line each, run like datagrams; the file appears
 * after the start, a line waits for its newline, bad and overlong lines are counted. */
static void test_daemon_follow(void **state)
{
    struct rx *rx[2] = {rx_open(), rx_open()};
    char ctl[64], cmds[300], stats[300], text[4096], cmd[160], big[3000];
    const char *argv[] = {NULL, "--control", "127.0.0.1:0", "--follow",
                          cmds, "--stats",   stats,         NULL};
    pid_t pid;
    FILE *out;

    (void)state;
    snprintf(cmds, sizeof(cmds), "%s/follow-commands.log", tmpdir);
    snprintf(stats, sizeof(stats), "%s/follow.json", tmpdir);
    unlink(cmds);
    pid = daemon_start(argv, &out, ctl);
    assert_int_equal(client(ctl, "ping", NULL, NULL, NULL), 0); /* no file yet: still running */

    /* half a line: nothing starts until its newline */
    snprintf(cmd, sizeof(cmd), "start callF 60 127.0.0.1:%u,127.0.0.1:%u", rx[0]->port,
             rx[1]->port);
    append(cmds, cmd);
    usleep(200000);
    assert_int_equal(rx_drain(rx[0]), 0);
    append(cmds, " pcma\n\nfrobnicate\n");
    wait_packets(rx, 2, 5);
    check_plain_stream(rx[0], 8);
    check_plain_stream(rx[1], 8);

    /* a line longer than any command is rejected whole; the next one still runs */
    memset(big, 'x', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = 0;
    append(cmds, big);
    append(cmds, "stop callF 2\n");
    rx_clear(rx[0]);
    rx_clear(rx[1]);
    wait_packets(rx, 1, 10);
    usleep(100000);
    rx_drain(rx[1]);
    rx_clear(rx[1]);
    usleep(100000);
    assert_int_equal(rx_drain(rx[1]), 0);

    append(cmds, "quit\n");
    daemon_exit(pid, out, stats, text, sizeof(text));
    assert_non_null(strstr(text, "\"sessions_started\": 1,"));
    assert_non_null(strstr(text, "\"streams_started\": 2,"));
    /* frobnicate and the long line; the blank line is no command */
    assert_non_null(strstr(text, "\"commands_rejected\": 2, "));
    rx_close(rx[0]);
    rx_close(rx[1]);
}

/* A fire-and-forget --send to nobody still exits 0 at once (SIPp's <exec> must not wait). */
static void test_client_fire_and_forget(void **state)
{
    struct rx *r = rx_open();
    char ctl[64], buf[256];
    const char *argv[] = {NULL,          "--send", port_arg(ctl, sizeof(ctl), r->port),
                          "start",       "k",      "1",
                          "127.0.0.1:9", NULL};
    int status;
    pid_t pid;
    ssize_t n;
    struct pollfd p = {.fd = r->fd, .events = POLLIN};

    (void)state;
    pid = spawn_sender(argv, -1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(exit_status(status), 0);
    assert_int_equal(poll(&p, 1, 5000), 1);
    n = recv(r->fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = 0;
    assert_string_equal(buf, "start k 1 127.0.0.1:9");
    rx_close(r);
}

/* ---- command line errors ------------------------------------------------------------------ */

static void expect_usage_error(const char **args, const char *flag)
{
    const char *argv[24] = {NULL};
    char text[2048];
    int status;
    size_t i;
    pid_t pid;

    for (i = 0; args[i]; i++)
        argv[i + 1] = args[i];
    pid = spawn_sender(argv, -1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    stderr_text(text, sizeof(text));
    if (exit_status(status) != 2 || !strstr(text, flag))
        fail_msg("%s: exit %d, stderr '%s' (wanted 2 and a message naming %s)", args[0],
                 exit_status(status), text, flag);
}

static void test_bad_args(void **state)
{
    const char *seconds[] = {"--dest", "127.0.0.1:5000", "--seconds", "abc", NULL};
    const char *zero[] = {"--dest", "127.0.0.1:5000", "--seconds", "0", NULL};
    const char *loss[] = {"--dest", "127.0.0.1:5000", "--seconds", "1", "--loss", "150", NULL};
    const char *dest[] = {"--dest", "nohostport", "--seconds", "1", NULL};
    const char *port[] = {"--dest", "127.0.0.1:70000", "--seconds", "1", NULL};
    const char *codec[] = {"--dest", "127.0.0.1:5000", "--seconds", "1", "--codec", "g729", NULL};
    const char *unknown[] = {"--dest", "127.0.0.1:5000", "--seconds", "1", "--frob", "1", NULL};
    const char *missing[] = {"--seconds", "1", NULL};
    const char *noval[] = {"--dest", "127.0.0.1:5000", "--seconds", NULL};
    const char *silence[] = {"--dest", "127.0.0.1:5000", "--seconds", "1", "--silence-from", "0.2",
                             NULL};
    const char *both[] = {"--control", "127.0.0.1:0", "--dest", "127.0.0.1:5000", NULL};
    const char *digit[] = {"--dest", "127.0.0.1:5000", "--seconds", "1", "--dtmf-digit", "x", NULL};
    const char *wait[] = {"--send", "127.0.0.1:5000", "--wait", "soon", "ping", NULL};
    const char *nocmd[] = {"--send", "127.0.0.1:5000", NULL};
    const char *follow[] = {"--dest", "127.0.0.1:5000", "--seconds", "1", "--follow", "f", NULL};
    char path[300];
    const char *audio[] = {"--dest", "127.0.0.1:5000", "--seconds", "1", "--audio", path, NULL};
    int status;
    pid_t pid;

    (void)state;
    expect_usage_error(seconds, "--seconds");
    expect_usage_error(zero, "--seconds");
    expect_usage_error(loss, "--loss");
    expect_usage_error(dest, "--dest");
    expect_usage_error(port, "--dest");
    expect_usage_error(codec, "--codec");
    expect_usage_error(unknown, "--frob");
    expect_usage_error(missing, "--dest");
    expect_usage_error(noval, "--seconds");
    expect_usage_error(silence, "--silence-to");
    expect_usage_error(both, "--dest");
    expect_usage_error(digit, "--dtmf-digit");
    expect_usage_error(wait, "--wait");
    expect_usage_error(nocmd, "--send");
    expect_usage_error(follow, "--follow");

    /* a missing audio file is a run-time failure (1) naming the file */
    snprintf(path, sizeof(path), "%s/does-not-exist.wav", tmpdir);
    {
        const char *argv[8] = {NULL};
        char text[2048];
        size_t i;

        for (i = 0; audio[i]; i++)
            argv[i + 1] = audio[i];
        pid = spawn_sender(argv, -1);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(exit_status(status), 1);
        stderr_text(text, sizeof(text));
        assert_non_null(strstr(text, "does-not-exist.wav"));
    }
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vox-rtpsend-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_streams_speech),
        cmocka_unit_test(test_pcma_two_files_exact),
        cmocka_unit_test(test_loss_seeded),
        cmocka_unit_test(test_dtmf),
        cmocka_unit_test(test_dtx_and_ssrc_change),
        cmocka_unit_test(test_reorder),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_daemon),
        cmocka_unit_test(test_daemon_follow),
        cmocka_unit_test(test_client_fire_and_forget),
        cmocka_unit_test(test_bad_args),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
