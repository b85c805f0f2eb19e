/* SPDX-License-Identifier: MIT */
/* Opus encode/decode (libopus) for 20 ms voice frames, with packet-loss concealment. */
#ifndef VOX_OPUS_CODEC_H
#define VOX_OPUS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vox_opus_enc;
struct vox_opus_dec;

/*
 * An encoder for `rate_hz` (8000, 12000, 16000, 24000 or 48000) and 1 or 2 channels, tuned for
 * voice (OPUS_APPLICATION_VOIP) at `bitrate_bps` (0: libopus's default for the rate). Returns
 * 0, VOX_EINVAL (with `diag` naming the bad value) or VOX_ENOMEM. Not thread-safe per
 * instance; use one per stream.
 */
int vox_opus_encoder_create(uint32_t rate_hz, uint16_t channels, uint32_t bitrate_bps,
                            struct vox_opus_enc **out, struct vox_diag *diag);
void vox_opus_encoder_destroy(struct vox_opus_enc *e);

/*
 * Encodes one frame of `samples` per channel (2.5, 5, 10, 20, 40 or 60 ms at the rate;
 * interleaved) into out[out_cap]. Returns the packet length in bytes, or VOX_EINVAL (bad frame
 * size), VOX_ERANGE (out_cap too small).
 */
int vox_opus_encode(struct vox_opus_enc *e, const int16_t *pcm, uint32_t samples, uint8_t *out,
                    size_t out_cap);

int vox_opus_decoder_create(uint32_t rate_hz, uint16_t channels, struct vox_opus_dec **out,
                            struct vox_diag *diag);
void vox_opus_decoder_destroy(struct vox_opus_dec *d);

/*
 * Decodes a packet into pcm[max_samples * channels]. `pkt` NULL (or len 0) means the packet
 * was lost: libopus conceals it (PLC), producing `max_samples` per channel of plausible audio
 * continuing the last frames. Returns samples per channel decoded, or VOX_EMALFORMED (corrupt
 * packet), VOX_ERANGE (pcm too small for the packet), VOX_EINVAL.
 */
int vox_opus_decode(struct vox_opus_dec *d, const uint8_t *pkt, size_t len, int16_t *pcm,
                    uint32_t max_samples);

#ifdef __cplusplus
}
#endif

#endif /* VOX_OPUS_CODEC_H */
