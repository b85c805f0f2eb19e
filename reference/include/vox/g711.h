/* SPDX-License-Identifier: MIT */
/* ITU-T G.711 µ-law and A-law: 16-bit linear PCM to 8-bit codes and back, sample-exact. */
#ifndef VOX_G711_H
#define VOX_G711_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What "exact" means here. G.711 itself maps 14-bit (µ-law) and 13-bit (A-law) linear samples
 * to codes; the encoder below is the ITU/Sun one (µ-law: bias 0x84, clip; A-law: segments with
 * the one's-complement negative side). A 16-bit sample is first reduced to 14 (13) bits by
 * rounding to nearest, halves up, saturating at the top: (x + 2) >> 2 (resp. (x + 4) >> 3).
 * That is exactly what SoX does (`sox -D ... -e u-law`): the output equals sox byte for byte on
 * all 65536 inputs for both laws. The classic "bias 0x84, clip 32635" 16-bit encoder truncates
 * instead, and differs from this one (and from sox) on 383 µ-law inputs, all at decision
 * thresholds; truncating A-law differs on 1020.
 *
 * Decoding is the standard table (µ-law: ±32124 at most, A-law: ±32256), equal to sox's.
 * µ-law code 0x7F (negative zero) decodes to 0 and re-encodes as 0xFF; every other code of
 * both laws satisfies encode(decode(c)) == c.
 *
 * All functions are pure and thread-safe; none allocates.
 */

/* Decode tables: the 16-bit linear value of each code. */
extern const int16_t vox_g711_ulaw_to_pcm[256];
extern const int16_t vox_g711_alaw_to_pcm[256];

/* Encodes one 16-bit sample to a µ-law code. */
static inline uint8_t vox_g711_ulaw_encode_sample(int16_t pcm)
{
    int v = ((int)pcm + 2) >> 2; /* round to 14 bits: -8192..8192 */
    unsigned mask = 0xFF, mag, seg;

    if (v < 0) {
        v = -v;
        mask = 0x7F;
    }
    /* 8158 + 33 = 0x1FFF is the top of segment 7 and gives the same code as the ITU clip */
    mag = (unsigned)(v > 8158 ? 8158 : v) + 33; /* 33..0x1FFF, so bit 5..12 is the top bit */
    seg = (unsigned)(31 - __builtin_clz(mag)) - 5;
    return (uint8_t)(((seg << 4) | ((mag >> (seg + 1)) & 0xF)) ^ mask);
}

/* Encodes one 16-bit sample to an A-law code. */
static inline uint8_t vox_g711_alaw_encode_sample(int16_t pcm)
{
    int v = ((int)pcm + 4) >> 3; /* round to 13 bits: -4096..4096 */
    unsigned mask = 0xD5, mag, seg;

    if (v > 4095)
        v = 4095;
    if (v < 0) {
        v = ~v; /* 0..4095: negative side is one's complement */
        mask = 0x55;
    }
    mag = (unsigned)v;
    if (mag < 32)
        return (uint8_t)((mag >> 1) ^ mask);
    seg = (unsigned)(31 - __builtin_clz(mag)) - 4; /* 1..7 */
    return (uint8_t)(((seg << 4) | ((mag >> seg) & 0xF)) ^ mask);
}

/* Decodes one µ-law code to a 16-bit sample. */
static inline int16_t vox_g711_ulaw_decode_sample(uint8_t code)
{
    return vox_g711_ulaw_to_pcm[code];
}

/* Decodes one A-law code to a 16-bit sample. */
static inline int16_t vox_g711_alaw_decode_sample(uint8_t code)
{
    return vox_g711_alaw_to_pcm[code];
}

/*
 * Encodes `samples` 16-bit samples from `pcm` into `samples` bytes at `out`. The buffers must
 * not overlap. samples == 0 is a no-op (pointers may then be NULL). Cannot fail.
 */
void vox_g711_ulaw_encode(const int16_t *pcm, uint8_t *out, size_t samples);
void vox_g711_alaw_encode(const int16_t *pcm, uint8_t *out, size_t samples);

/*
 * Decodes `samples` codes from `in` into `samples` 16-bit samples at `pcm`. The buffers must
 * not overlap. samples == 0 is a no-op. Cannot fail.
 */
void vox_g711_ulaw_decode(const uint8_t *in, int16_t *pcm, size_t samples);
void vox_g711_alaw_decode(const uint8_t *in, int16_t *pcm, size_t samples);

#ifdef __cplusplus
}
#endif

#endif /* VOX_G711_H */
