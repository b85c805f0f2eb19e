/* SPDX-License-Identifier: MIT */
/*
 * The reference apps' deterministic draws, shared by vox-pcapgen and vox-rtpsend so that both
 * impair a stream from the same formula: the n-th draw of sequence `salt` of stream (or call)
 * `id` under `seed`. Hand-written: a few lines of splitmix64, which no Debian package offers as
 * a header. test_rtpsend.c keeps its own copy on purpose, as the oracle of the documented
 * formula.
 */
#ifndef VOX_APPS_DRAW_H
#define VOX_APPS_DRAW_H

#include <stdint.h>

/* splitmix64's finaliser: a bijective 64-bit mix. */
static inline uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The n-th draw of sequence `salt` of stream (or call) `id` under `seed`: loss drops packet n
 * of stream s when draw(seed, s, SALT_LOSS, n) % 1000000 < loss x 10000 (loss in percent). */
static inline uint64_t draw(uint64_t seed, uint64_t id, unsigned salt, uint64_t n)
{
    return mix64(mix64(mix64(seed) ^ (id << 8 | salt)) ^ n);
}

#endif /* VOX_APPS_DRAW_H */
