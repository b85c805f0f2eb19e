/* SPDX-License-Identifier: MIT */
/* Opus through libopus: voice-tuned encoders and decoders with packet-loss concealment. */
#include <opus.h>
#include <stdlib.h>

#include "vox/opus_codec.h"

struct vox_opus_enc {
    OpusEncoder *enc;
    uint32_t rate_hz;
    uint16_t channels;
};

struct vox_opus_dec {
    OpusDecoder *dec;
    uint32_t rate_hz;
    uint16_t channels;
};

static int map_error(int opus_err)
{
    switch (opus_err) {
    case OPUS_BAD_ARG:
        return VOX_EINVAL;
    case OPUS_BUFFER_TOO_SMALL:
        return VOX_ERANGE;
    case OPUS_INVALID_PACKET:
    case OPUS_INTERNAL_ERROR:
        return VOX_EMALFORMED;
    case OPUS_ALLOC_FAIL:
        return VOX_ENOMEM;
    default:
        return VOX_EIO;
    }
}

static int check_shape(uint32_t rate_hz, uint16_t channels, struct vox_diag *diag)
{
    if (rate_hz != 8000 && rate_hz != 12000 && rate_hz != 16000 && rate_hz != 24000 &&
        rate_hz != 48000) {
        vox_diag_set(diag, "opus: %u Hz is not an Opus rate (8000, 12000, 16000, 24000, 48000)",
                     rate_hz);
        return VOX_EINVAL;
    }
    if (channels != 1 && channels != 2) {
        vox_diag_set(diag, "opus: %u channels (1 or 2)", channels);
        return VOX_EINVAL;
    }
    return 0;
}

int vox_opus_encoder_create(uint32_t rate_hz, uint16_t channels, uint32_t bitrate_bps,
                            struct vox_opus_enc **out, struct vox_diag *diag)
{
    struct vox_opus_enc *e;
    int err, rc = check_shape(rate_hz, channels, diag);

    *out = NULL;
    if (rc)
        return rc;
    /* Codec state is libopus's own allocation, like any library's handle. */
    e = calloc(1, sizeof(*e));
    if (!e)
        return VOX_ENOMEM;
    e->enc = opus_encoder_create((opus_int32)rate_hz, channels, OPUS_APPLICATION_VOIP, &err);
    if (!e->enc) {
        vox_diag_set(diag, "opus: encoder: %s", opus_strerror(err));
        free(e);
        return map_error(err);
    }
    if (bitrate_bps &&
        (err = opus_encoder_ctl(e->enc, OPUS_SET_BITRATE((opus_int32)bitrate_bps))) != OPUS_OK) {
        vox_diag_set(diag, "opus: bitrate %u: %s", bitrate_bps, opus_strerror(err));
        opus_encoder_destroy(e->enc);
        free(e);
        return map_error(err);
    }
    e->rate_hz = rate_hz;
    e->channels = channels;
    *out = e;
    return 0;
}

void vox_opus_encoder_destroy(struct vox_opus_enc *e)
{
    if (!e)
        return;
    opus_encoder_destroy(e->enc);
    free(e);
}

int vox_opus_encode(struct vox_opus_enc *e, const int16_t *pcm, uint32_t samples, uint8_t *out,
                    size_t out_cap)
{
    opus_int32 n;

    if (out_cap > INT32_MAX)
        out_cap = INT32_MAX;
    n = opus_encode(e->enc, pcm, (int)samples, out, (opus_int32)out_cap);
    return n < 0 ? map_error(n) : (int)n;
}

int vox_opus_decoder_create(uint32_t rate_hz, uint16_t channels, struct vox_opus_dec **out,
                            struct vox_diag *diag)
{
    struct vox_opus_dec *d;
    int err, rc = check_shape(rate_hz, channels, diag);

    *out = NULL;
    if (rc)
        return rc;
    d = calloc(1, sizeof(*d));
    if (!d)
        return VOX_ENOMEM;
    d->dec = opus_decoder_create((opus_int32)rate_hz, channels, &err);
    if (!d->dec) {
        vox_diag_set(diag, "opus: decoder: %s", opus_strerror(err));
        free(d);
        return map_error(err);
    }
    d->rate_hz = rate_hz;
    d->channels = channels;
    *out = d;
    return 0;
}

void vox_opus_decoder_destroy(struct vox_opus_dec *d)
{
    if (!d)
        return;
    opus_decoder_destroy(d->dec);
    free(d);
}

int vox_opus_decode(struct vox_opus_dec *d, const uint8_t *pkt, size_t len, int16_t *pcm,
                    uint32_t max_samples)
{
    int n;

    if (len > INT32_MAX || max_samples > INT32_MAX)
        return VOX_EINVAL;
    /* A NULL packet asks libopus to conceal a loss for max_samples per channel (PLC). */
    n = opus_decode(d->dec, len ? pkt : NULL, (opus_int32)len, pcm, (int)max_samples, 0);
    return n < 0 ? map_error(n) : n;
}
