/* SPDX-License-Identifier: MIT */
/* Opus tests: encode/decode round trips at 8/16/48 kHz, loss concealment, bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vox/opus_codec.h"

#define FRAMES 50

/* A voice-band test signal: two tones, 440 and 1250 Hz, at about -12 dBFS. */
static int16_t tone(uint32_t rate_hz, size_t n)
{
    double t = (double)n / rate_hz;

    return (int16_t)(4000.0 * sin(2 * M_PI * 440 * t) + 2500.0 * sin(2 * M_PI * 1250 * t));
}

/* The best normalised cross-correlation of y against x over codec delays 0..max_lag. */
static double best_correlation(const int16_t *x, const int16_t *y, size_t n, size_t max_lag)
{
    double best = -1;
    size_t lag, i;

    for (lag = 0; lag <= max_lag; lag++) {
        double xy = 0, xx = 0, yy = 0;

        for (i = 0; i + lag < n; i++) {
            xy += (double)x[i] * y[i + lag];
            xx += (double)x[i] * x[i];
            yy += (double)y[i + lag] * y[i + lag];
        }
        if (xx > 0 && yy > 0 && xy / sqrt(xx * yy) > best)
            best = xy / sqrt(xx * yy);
    }
    return best;
}

static double energy(const int16_t *x, size_t n)
{
    double e = 0;
    size_t i;

    for (i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return e / (double)n;
}

static void round_trip(uint32_t rate)
{
    uint32_t frame = rate / 50; /* 20 ms */
    size_t total = (size_t)frame * FRAMES, i, f;
    int16_t *in = malloc(total * sizeof(*in)), *out = calloc(total, sizeof(*out));
    struct vox_opus_enc *enc;
    struct vox_opus_dec *dec;
    uint8_t pkt[1500];
    double corr;

    assert_non_null(in);
    assert_non_null(out);
    for (i = 0; i < total; i++)
        in[i] = tone(rate, i);
    assert_int_equal(vox_opus_encoder_create(rate, 1, 24000, &enc, NULL), 0);
    assert_int_equal(vox_opus_decoder_create(rate, 1, &dec, NULL), 0);
    for (f = 0; f < FRAMES; f++) {
        int n = vox_opus_encode(enc, in + f * frame, frame, pkt, sizeof(pkt));

        assert_true(n > 0);
        assert_true(n < 200); /* 24 kb/s over 20 ms is 60 bytes; VBR stays near */
        assert_int_equal(vox_opus_decode(dec, pkt, (size_t)n, out + f * frame, frame), (int)frame);
    }
    /* Skip the first 5 frames (encoder start-up); allow up to 10 ms of codec delay. */
    corr = best_correlation(in + 5 * frame, out + 5 * frame, total - 5 * frame, frame / 2);
    if (corr < 0.9)
        fail_msg("%u Hz: correlation %.3f after the round trip", rate, corr);
    vox_opus_encoder_destroy(enc);
    vox_opus_decoder_destroy(dec);
    free(in);
    free(out);
}

static void round_trips(void **st)
{
    (void)st;
    round_trip(8000);
    round_trip(16000);
    round_trip(48000);
}

static void conceals_a_lost_packet(void **st)
{
    const uint32_t rate = 16000, frame = 320;
    struct vox_opus_enc *enc;
    struct vox_opus_dec *dec;
    int16_t in[320], out[320], plc[320];
    uint8_t pkt[1500];
    size_t i, f;
    double e_last, e_plc;

    (void)st;
    assert_int_equal(vox_opus_encoder_create(rate, 1, 0, &enc, NULL), 0);
    assert_int_equal(vox_opus_decoder_create(rate, 1, &dec, NULL), 0);
    for (f = 0; f < 20; f++) {
        int n;

        for (i = 0; i < frame; i++)
            in[i] = tone(rate, f * frame + i);
        n = vox_opus_encode(enc, in, frame, pkt, sizeof(pkt));
        assert_true(n > 0);
        assert_int_equal(vox_opus_decode(dec, pkt, (size_t)n, out, frame), (int)frame);
    }
    e_last = energy(out, frame);
    /* The next packet is lost: concealment continues the signal instead of silence. */
    assert_int_equal(vox_opus_decode(dec, NULL, 0, plc, frame), (int)frame);
    e_plc = energy(plc, frame);
    assert_true(e_plc > e_last * 0.05);
    assert_true(e_plc < e_last * 4);
    vox_opus_encoder_destroy(enc);
    vox_opus_decoder_destroy(dec);
}

static void rejects_bad_arguments_and_input(void **st)
{
    struct vox_opus_enc *enc;
    struct vox_opus_dec *dec;
    struct vox_diag d = {{0}};
    int16_t pcm[960] = {0};
    uint8_t junk[64], pkt[1500];
    unsigned seed = 1, k, i;

    (void)st;
    assert_int_equal(vox_opus_encoder_create(11025, 1, 0, &enc, &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "11025 Hz"));
    assert_null(enc);
    assert_int_equal(vox_opus_decoder_create(8000, 3, &dec, &d), VOX_EINVAL);
    assert_int_equal(vox_opus_encoder_create(8000, 1, 0, &enc, NULL), 0);
    assert_int_equal(vox_opus_encode(enc, pcm, 100, pkt, sizeof(pkt)), VOX_EINVAL); /* 12.5 ms */
    /* libopus squeezes any frame into a 1-byte packet (it degrades rather than fail), so only
     * an empty buffer is refused. */
    {
        int n = vox_opus_encode(enc, pcm, 160, pkt, 0);

        assert_true(n == VOX_EINVAL || n == VOX_ERANGE);
        assert_int_equal(vox_opus_encode(enc, pcm, 160, pkt, 1), 1);
    }
    vox_opus_encoder_destroy(enc);
    assert_int_equal(vox_opus_decoder_create(48000, 1, &dec, NULL), 0);
    /* Random bytes: decoded or refused as malformed, never a crash or an overrun. */
    for (k = 0; k < 2000; k++) {
        int n;

        for (i = 0; i < sizeof(junk); i++) {
            seed = seed * 1103515245u + 12345u;
            junk[i] = (uint8_t)(seed >> 16);
        }
        n = vox_opus_decode(dec, junk, 1 + k % sizeof(junk), pcm, 960);
        assert_true(n == VOX_EMALFORMED || n == VOX_ERANGE || (n > 0 && n <= 960));
    }
    vox_opus_decoder_destroy(dec);
    vox_opus_encoder_destroy(NULL);
    vox_opus_decoder_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips),
        cmocka_unit_test(conceals_a_lost_packet),
        cmocka_unit_test(rejects_bad_arguments_and_input),
    };

    return cmocka_run_group_tests_name("opus", tests, NULL, NULL);
}
