/* SPDX-License-Identifier: MIT */
/* SIMD kernel tests: scalar against hand-computed values, every level against scalar bit for
 * bit, and the choice of the level in use (detection, VOX_SIMD). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "vox/simd.h"

/* The levels this CPU runs, scalar first; every kernel of each is compared with scalar. */
static const struct vox_simd_ops *levels[VOX_SIMD_LEVEL_COUNT];
static size_t level_count;
static const struct vox_simd_ops *scalar;
/* --expect-level NAME: the level VOX_SIMD (set by ctest) must have selected. */
static const char *expect_level;

/* ---- helpers ------------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    return vox_test_splitmix(&rng_state);
}

static void seed(uint64_t s)
{
    rng_state = s;
}

static float bits_to_float(uint32_t u)
{
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

/*
 * Buffers at an offset of `off` elements from a heap block: an input block has exactly the
 * room of its samples after them, so that ASan sees any read past the end; an output block has
 * GUARD elements of canary after them (and the offset's elements before), checked after the
 * kernel ran, so that a stray write shows without ASan too.
 */
#define GUARD  40
#define CANARY 0xA5

struct buf {
    unsigned char *base;
    size_t elem, off, n, guard;
};

static void *buf_in(struct buf *b, size_t elem, size_t n, size_t off, const void *src)
{
    b->elem = elem;
    b->off = off;
    b->n = n;
    b->guard = 0;
    b->base = malloc(elem * (off + n) + (off + n ? 0 : 1));
    assert_non_null(b->base);
    memset(b->base, CANARY, elem * off);
    if (n)
        memcpy(b->base + elem * off, src, elem * n);
    return b->base + elem * off;
}

static void *buf_out(struct buf *b, size_t elem, size_t n, size_t off)
{
    b->elem = elem;
    b->off = off;
    b->n = n;
    b->guard = GUARD;
    b->base = malloc(elem * (off + n + GUARD));
    assert_non_null(b->base);
    memset(b->base, CANARY, elem * (off + n + GUARD));
    return b->base + elem * off;
}

/* Checks the canaries, and for an input that it still holds `src`; frees the block. */
static void buf_done(struct buf *b, const void *src, const char *what)
{
    size_t i, head = b->elem * b->off, body = b->elem * b->n, tail = b->elem * b->guard;

    for (i = 0; i < head; i++)
        if (b->base[i] != CANARY) {
            print_error("%s: byte %zu before the buffer was written\n", what, head - i);
            fail();
        }
    for (i = 0; i < tail; i++)
        if (b->base[head + body + i] != CANARY) {
            print_error("%s: byte %zu after the buffer was written\n", what, i);
            fail();
        }
    if (src && body && memcmp(b->base + head, src, body) != 0) {
        print_error("%s: the input was modified\n", what);
        fail();
    }
    free(b->base);
    b->base = NULL;
}

static void same16(const char *what, const char *level, size_t n, const int16_t *want,
                   const int16_t *got)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (want[i] != got[i]) {
            print_error("%s/%s n=%zu: [%zu] scalar %d, %s %d\n", what, level, n, i, want[i], level,
                        got[i]);
            fail();
        }
}

static void same_f32_bits(const char *what, const char *level, size_t n, const float *want,
                          const float *got)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (memcmp(&want[i], &got[i], sizeof(float)) != 0) {
            print_error("%s/%s n=%zu: [%zu] scalar %a, %s %a\n", what, level, n, i, (double)want[i],
                        level, (double)got[i]);
            fail();
        }
}

/* Input patterns for the int16 kernels. */
enum { PAT_RANDOM, PAT_MAX, PAT_MIN, PAT_SILENCE, PAT_ALTERNATE, PAT_SMALL, PAT_EDGES, PAT_COUNT };

static void fill16(int16_t *x, size_t n, int pattern)
{
    static const int16_t edges[] = {-32768, -32767, -16385, -16384, -2,    -1,   0,
                                    1,      2,      16383,  16384,  32766, 32767};
    size_t i;

    for (i = 0; i < n; i++) {
        switch (pattern) {
        case PAT_RANDOM:
            x[i] = (int16_t)(uint16_t)rnd();
            break;
        case PAT_MAX:
            x[i] = INT16_MAX;
            break;
        case PAT_MIN:
            x[i] = INT16_MIN;
            break;
        case PAT_SILENCE:
            x[i] = 0;
            break;
        case PAT_ALTERNATE:
            x[i] = i & 1 ? INT16_MIN : INT16_MAX;
            break;
        case PAT_SMALL:
            x[i] = (int16_t)((int)(rnd() % 201) - 100);
            break;
        default:
            x[i] = edges[rnd() % (sizeof(edges) / sizeof(edges[0]))];
            break;
        }
    }
}

/* Every length from 0 to 70 (all tail shapes of every vector width), then larger ones around
 * the widths' multiples. */
static const size_t lengths[] = {127, 128, 129, 160, 255, 256, 257, 1000, 4096, 4099};
#define SHORT_LENGTHS 71
#define LENGTH_COUNT  (SHORT_LENGTHS + sizeof(lengths) / sizeof(lengths[0]))
#define MAX_LENGTH    4099

static size_t length_at(size_t k)
{
    return k < SHORT_LENGTHS ? k : lengths[k - SHORT_LENGTHS];
}

/* Offsets (in elements) of the first input, the second input and the output. */
static const size_t offsets[][3] = {{0, 0, 0}, {1, 1, 1}, {1, 0, 1}, {0, 1, 0}, {0, 0, 1}};
#define OFFSET_COUNT (sizeof(offsets) / sizeof(offsets[0]))

/* ---- the levels and their names ------------------------------------------------------------ */

static void levels_and_names(void **st)
{
    enum vox_simd_level l;
    size_t i;

    (void)st;
    assert_non_null(scalar);
    assert_string_equal(scalar->name, "scalar");
    for (i = 0; i < VOX_SIMD_LEVEL_COUNT; i++) {
        const struct vox_simd_ops *o = vox_simd_ops_for((enum vox_simd_level)i);

        if (!o)
            continue;
        assert_int_equal(o->level, i);
        assert_string_equal(o->name, vox_simd_level_name((enum vox_simd_level)i));
        assert_true(o->gain && o->mix && o->sum_squares && o->s16_to_f32 && o->f32_to_s16 &&
                    o->interleave && o->deinterleave);
        assert_ptr_equal(vox_simd_ops_for((enum vox_simd_level)i), o); /* one table per level */
    }
    /* What this CPU has, asked independently of the library. */
#if defined(__x86_64__)
    assert_non_null(vox_simd_ops_for(VOX_SIMD_SSE2));
    assert_int_equal(vox_simd_ops_for(VOX_SIMD_AVX2) != NULL, __builtin_cpu_supports("avx2") != 0);
    assert_null(vox_simd_ops_for(VOX_SIMD_NEON));
#elif defined(__aarch64__)
    assert_non_null(vox_simd_ops_for(VOX_SIMD_NEON));
    assert_null(vox_simd_ops_for(VOX_SIMD_SSE2));
    assert_null(vox_simd_ops_for(VOX_SIMD_AVX2));
#endif
    assert_null(vox_simd_ops_for((enum vox_simd_level)VOX_SIMD_LEVEL_COUNT));
    assert_null(vox_simd_ops_for((enum vox_simd_level) - 1));
    assert_string_equal(vox_simd_level_name(VOX_SIMD_AVX2), "avx2");
    assert_string_equal(vox_simd_level_name((enum vox_simd_level)99), "unknown");
    assert_int_equal(vox_simd_level_parse("SSE2", &l), 0);
    assert_int_equal(l, VOX_SIMD_SSE2);
    assert_int_equal(vox_simd_level_parse("neon", &l), 0);
    assert_int_equal(l, VOX_SIMD_NEON);
    assert_int_equal(vox_simd_level_parse("avx512", &l), VOX_EUNKNOWN_BACKEND);
    assert_int_equal(vox_simd_level_parse("", &l), VOX_EUNKNOWN_BACKEND);
    assert_int_equal(vox_simd_level_parse(NULL, &l), VOX_EUNKNOWN_BACKEND);
    print_message("levels run here:");
    for (i = 0; i < level_count; i++)
        print_message(" %s", levels[i]->name);
    print_message("; in use: %s\n", vox_simd()->name);
}

static void default_level(void **st)
{
    const struct vox_simd_ops *o = vox_simd();
    enum vox_simd_level best = VOX_SIMD_SCALAR;

    (void)st;
    if (vox_simd_ops_for(VOX_SIMD_SSE2))
        best = VOX_SIMD_SSE2;
    if (vox_simd_ops_for(VOX_SIMD_NEON))
        best = VOX_SIMD_NEON;
    if (vox_simd_ops_for(VOX_SIMD_AVX2))
        best = VOX_SIMD_AVX2;
    assert_non_null(o);
    assert_ptr_equal(o, vox_simd_ops_for(o->level));
    if (expect_level)
        assert_string_equal(o->name, expect_level);
    else
        assert_int_equal(o->level, best);
    assert_ptr_equal(vox_simd(), o); /* chosen once */
}

/* ---- scalar against hand-computed values ----------------------------------------------------- */

/* (x * g + 2048) / 4096 rounded down, saturated: written without shifts, in 64 bits. */
static int16_t gain_by_hand(int16_t x, int16_t g)
{
    int64_t p = (int64_t)x * g + 2048;
    int64_t q = p >= 0 ? p / 4096 : -((-p + 4095) / 4096);

    return (int16_t)(q > 32767 ? 32767 : q < -32768 ? -32768 : q);
}

static void scalar_gain_values(void **st)
{
    static const struct {
        int16_t x, g, want;
    } cases[] = {
        {1000, 4096, 1000}, /* unity */
        {-1000, 4096, -1000},
        {1000, 6144, 1500},     /* 1500.0 exactly */
        {1001, 6144, 1502},     /* 1501.5: half rounds up */
        {-1001, 6144, -1501},   /* -1501.5: half rounds up, towards +inf */
        {1, 2048, 1},           /* 0.5 -> 1 */
        {-1, 2048, 0},          /* -0.5 -> 0 */
        {3, 1365, 1},           /* 0.9998 -> 1 */
        {20000, 8192, 32767},   /* 40000 saturates */
        {-20000, 8192, -32768}, /* -40000 saturates */
        {32767, 0, 0},          /* gain 0 */
        {-32768, 4096, -32768},
        {-32768, -4096, 32767}, /* phase inversion of full scale saturates */
        {12345, -4096, -12345},
        {-32768, -32768, 32767}, /* -8.0 x -32768 = 262144 */
        {32767, 32767, 32767},
        {4, 1024, 1},   /* 0.25 * 4 */
        {2, 1024, 1},   /* 0.5 -> 1 */
        {-2, 1024, 0},  /* -0.5 -> 0 */
        {-3, 1024, -1}, /* -0.75 -> -1 */
    };
    static const int16_t gains[] = {0,    1,    -1,   1024, 2048,  4095,
                                    4096, 4097, 6144, 8192, 32767, -32768};
    int16_t in[1], out[1], all[65536], got[65536];
    size_t i, k;

    (void)st;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        in[0] = cases[i].x;
        scalar->gain(in, out, 1, cases[i].g);
        if (out[0] != cases[i].want) {
            print_error("gain(%d, %d) = %d, want %d\n", cases[i].x, cases[i].g, out[0],
                        cases[i].want);
            fail();
        }
    }
    for (i = 0; i < 65536; i++)
        all[i] = (int16_t)(i - 32768);
    for (k = 0; k < sizeof(gains) / sizeof(gains[0]); k++) {
        scalar->gain(all, got, 65536, gains[k]);
        for (i = 0; i < 65536; i++)
            if (got[i] != gain_by_hand(all[i], gains[k])) {
                print_error("gain(%d, %d) = %d, want %d\n", all[i], gains[k], got[i],
                            gain_by_hand(all[i], gains[k]));
                fail();
            }
    }
}

static void scalar_mix_values(void **st)
{
    int16_t a[] = {100, 30000, -30000, 32767, -32768, -32768, 32767, 0, -1};
    int16_t b[] = {-50, 30000, -30000, 1, -1, -32768, -32768, 0, 1};
    int16_t want[] = {50, 32767, -32768, 32767, -32768, -32768, -1, 0, 0};
    int16_t out[9], all[65536], got[65536];
    int32_t s;
    size_t i;
    int k;

    (void)st;
    scalar->mix(a, b, out, 9);
    same16("mix", "hand", 9, want, out);
    for (i = 0; i < 65536; i++)
        all[i] = (int16_t)(i - 32768);
    for (k = -32768; k <= 32767; k += 4369) { /* 16 values of b, both ends included */
        int16_t bb[65536];

        for (i = 0; i < 65536; i++)
            bb[i] = (int16_t)k;
        scalar->mix(all, bb, got, 65536);
        for (i = 0; i < 65536; i++) {
            s = all[i] + k;
            assert_int_equal(got[i], s > 32767 ? 32767 : s < -32768 ? -32768 : s);
        }
    }
}

static void scalar_sum_squares_values(void **st)
{
    int16_t x[] = {-32768, 32767, 3};
    int16_t all[65536], *big;
    const uint64_t m = 32767;
    size_t i;

    (void)st;
    assert_int_equal(scalar->sum_squares(x, 0), 0);
    assert_int_equal(scalar->sum_squares(x, 3), 1073741824ull + 1073676289ull + 9ull);
    for (i = 0; i < 65536; i++)
        all[i] = (int16_t)(i - 32768);
    /* 2 * (1^2 + ... + 32767^2) + 32768^2, by the closed form. */
    assert_int_equal(scalar->sum_squares(all, 65536),
                     2 * (m * (m + 1) * (2 * m + 1) / 6) + (1ull << 30));
    /* 2^20 squares of 2^30: 2^50, far beyond 32 bits. */
    big = malloc(sizeof(*big) << 20);
    assert_non_null(big);
    for (i = 0; i < (1u << 20); i++)
        big[i] = INT16_MIN;
    assert_int_equal(scalar->sum_squares(big, 1u << 20), 1ull << 50);
    free(big);
    /* RMS: one shared formula. */
    assert_true(vox_simd_rms_from_sum(25, 2) == sqrt(12.5));
    assert_true(vox_simd_rms_from_sum(0, 0) == 0.0);
    assert_true(vox_simd_rms_from_sum(123, 0) == 0.0);
    assert_true(vox_simd_rms_from_sum(1ull << 30, 1) == 32768.0);
    x[0] = 3;
    x[1] = 4;
    assert_true(vox_simd_rms(x, 2) == sqrt(12.5));
    assert_true(vox_simd_rms(NULL, 0) == 0.0);
}

static void scalar_conversion_values(void **st)
{
    static const struct {
        float x;
        int16_t want;
    } cases[] = {
        {1.0f, 32767}, /* 32768: one step beyond full scale, saturated */
        {-1.0f, -32768},
        {0.5f, 16384},
        {-0.5f, -16384},
        {0.0f, 0},
        {-0.0f, 0},
        {0x1p-15f, 1},           /* one step */
        {0x1.fffffep-1f, 32767}, /* just below 1.0: 32767.998 */
        {0x1.000002p+0f, 32767}, /* just above 1.0 */
        {-0x1.000002p+0f, -32768},
        {-0x1.fffffep-1f, -32768}, /* -32767.998 */
        {32766.5f / 32768, 32766}, /* ties to even */
        {32767.5f / 32768, 32767}, /* 32768 after rounding, saturated */
        {-32767.5f / 32768, -32768},
        {-32768.5f / 32768, -32768},
        {0.5f / 32768, 0},
        {1.5f / 32768, 2},
        {2.5f / 32768, 2},
        {-0.5f / 32768, 0},
        {-1.5f / 32768, -2},
        {-2.5f / 32768, -2},
        {0.49f / 32768, 0},
        {0.51f / 32768, 1},
        {1e30f, 32767},
        {-1e30f, -32768},
        {FLT_MAX, 32767},
        {-FLT_MAX, -32768},
        {FLT_TRUE_MIN, 0},
        {-FLT_TRUE_MIN, 0},
        {INFINITY, 32767},
        {-INFINITY, -32768},
        {NAN, 0},
        {-NAN, 0},
    };
    int16_t all[65536], back[65536], out[1];
    float f[65536], nan_payload = bits_to_float(0x7f812345u);
    size_t i;
    int k;

    (void)st;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        scalar->f32_to_s16(&cases[i].x, out, 1);
        if (out[0] != cases[i].want) {
            print_error("f32_to_s16(%a) = %d, want %d\n", (double)cases[i].x, out[0],
                        cases[i].want);
            fail();
        }
    }
    scalar->f32_to_s16(&nan_payload, out, 1);
    assert_int_equal(out[0], 0);
    /* Every halfway point (k + 0.5) / 32768 (exact in float): ties go to the even integer. */
    for (k = -32800; k <= 32800; k++) {
        float x = ((float)k + 0.5f) / 32768.0f;
        int want = (k % 2 == 0) ? k : k + 1;

        want = want > 32767 ? 32767 : want < -32768 ? -32768 : want;
        scalar->f32_to_s16(&x, out, 1);
        assert_int_equal(out[0], want);
    }
    /* int16 -> float: every value, exactly x / 2^15, and back again. */
    for (i = 0; i < 65536; i++)
        all[i] = (int16_t)(i - 32768);
    scalar->s16_to_f32(all, f, 65536);
    for (i = 0; i < 65536; i++)
        assert_true(f[i] * 32768.0f == (float)all[i]);
    assert_true(f[0] == -1.0f);
    assert_true(f[32768 + 16384] == 0.5f);
    assert_true(f[32768] == 0.0f && !signbit(f[32768]));
    assert_true(f[65535] == 0x1.fffcp-1f);
    scalar->f32_to_s16(f, back, 65536);
    same16("round trip", "scalar", 65536, all, back);
}

static void scalar_interleave_values(void **st)
{
    const int16_t l[] = {1, 2, 3}, r[] = {-1, -2, -3}, want[] = {1, -1, 2, -2, 3, -3};
    int16_t st_out[6], l2[3], r2[3];

    (void)st;
    scalar->interleave(l, r, st_out, 3);
    same16("interleave", "hand", 6, want, st_out);
    scalar->deinterleave(want, l2, r2, 3);
    same16("deinterleave left", "hand", 3, l, l2);
    same16("deinterleave right", "hand", 3, r, r2);
}

static void gain_helpers(void **st)
{
    (void)st;
    assert_int_equal(vox_simd_gain_q12_from_linear(1.0), 4096);
    assert_int_equal(vox_simd_gain_q12_from_linear(0.5), 2048);
    assert_int_equal(vox_simd_gain_q12_from_linear(1.5), 6144);
    assert_int_equal(vox_simd_gain_q12_from_linear(-1.0), -4096);
    assert_int_equal(vox_simd_gain_q12_from_linear(0.0), 0);
    assert_int_equal(vox_simd_gain_q12_from_linear(0.5 / 4096), 1);   /* tie: away from 0 */
    assert_int_equal(vox_simd_gain_q12_from_linear(-0.5 / 4096), -1); /* tie */
    assert_int_equal(vox_simd_gain_q12_from_linear(0.4 / 4096), 0);
    assert_int_equal(vox_simd_gain_q12_from_linear(32767.0 / 4096), 32767);
    assert_int_equal(vox_simd_gain_q12_from_linear(8.0), 32767);
    assert_int_equal(vox_simd_gain_q12_from_linear(-8.0), -32768);
    assert_int_equal(vox_simd_gain_q12_from_linear(-100.0), -32768);
    assert_int_equal(vox_simd_gain_q12_from_linear(INFINITY), 32767);
    assert_int_equal(vox_simd_gain_q12_from_linear(-INFINITY), -32768);
    assert_int_equal(vox_simd_gain_q12_from_linear(NAN), 0);
    assert_int_equal(vox_simd_gain_q12_from_db(0.0), 4096);
    assert_int_equal(vox_simd_gain_q12_from_db(20.0 * log10(2.0)), 8192);
    assert_int_equal(vox_simd_gain_q12_from_db(-20.0 * log10(2.0)), 2048);
    assert_int_equal(vox_simd_gain_q12_from_db(-6.0), 2053);  /* 0.501187 * 4096 = 2052.86 */
    assert_int_equal(vox_simd_gain_q12_from_db(18.0), 32536); /* 7.943282 * 4096 = 32535.68 */
    assert_int_equal(vox_simd_gain_q12_from_db(20.0), 32767);
    assert_int_equal(vox_simd_gain_q12_from_db(-100.0), 0);
    assert_int_equal(vox_simd_gain_q12_from_db(-INFINITY), 0);
    assert_int_equal(vox_simd_gain_q12_from_db(INFINITY), 32767);
    assert_int_equal(vox_simd_gain_q12_from_db(NAN), 0);
}

/* ---- every level against scalar ------------------------------------------------------------- */

/* One gain call at the given offsets, against scalar, then in place. */
static void cmp_gain(const struct vox_simd_ops *o, const int16_t *src, size_t n, int16_t g,
                     const size_t *off)
{
    static int16_t want[65536];
    struct buf bi, bo;
    const int16_t *in = buf_in(&bi, 2, n, off[0], src);
    int16_t *out = buf_out(&bo, 2, n, off[2]);

    scalar->gain(src, want, n, g);
    o->gain(in, out, n, g);
    same16("gain", o->name, n, want, out);
    buf_done(&bi, src, "gain input");
    buf_done(&bo, NULL, "gain output");
    /* in place */
    out = buf_in(&bo, 2, n, off[2], src);
    o->gain(out, out, n, g);
    same16("gain in place", o->name, n, want, out);
    buf_done(&bo, NULL, "gain in place");
}

static void levels_gain(void **st)
{
    static const int16_t gains[] = {0, 4096, 6144, 2048, 32767, -32768, -4096, 1, -1, 4095};
    static int16_t src[65536];
    size_t l, k, p, g, o;

    (void)st;
    seed(1);
    for (l = 0; l < level_count; l++) {
        for (k = 0; k < LENGTH_COUNT; k++)
            for (p = 0; p < PAT_COUNT; p++)
                for (o = 0; o < OFFSET_COUNT; o++) {
                    fill16(src, length_at(k), (int)p);
                    for (g = 0; g < sizeof(gains) / sizeof(gains[0]); g++)
                        cmp_gain(levels[l], src, length_at(k), gains[g], offsets[o]);
                    cmp_gain(levels[l], src, length_at(k), (int16_t)rnd(), offsets[o]);
                }
        /* every input value, at every gain above */
        for (k = 0; k < 65536; k++)
            src[k] = (int16_t)(k - 32768);
        for (g = 0; g < sizeof(gains) / sizeof(gains[0]); g++)
            cmp_gain(levels[l], src, 65536, gains[g], offsets[1]);
    }
}

static void cmp_mix(const struct vox_simd_ops *o, const int16_t *sa, const int16_t *sb, size_t n,
                    const size_t *off)
{
    static int16_t want[65536];
    struct buf ba, bb, bo;
    const int16_t *a = buf_in(&ba, 2, n, off[0], sa), *b = buf_in(&bb, 2, n, off[1], sb);
    int16_t *out = buf_out(&bo, 2, n, off[2]);

    scalar->mix(sa, sb, want, n);
    o->mix(a, b, out, n);
    same16("mix", o->name, n, want, out);
    buf_done(&bo, NULL, "mix output");
    /* in place, into either input */
    out = buf_in(&bo, 2, n, off[2], sa);
    o->mix(out, b, out, n);
    same16("mix in place (a)", o->name, n, want, out);
    buf_done(&bo, NULL, "mix in place (a)");
    out = buf_in(&bo, 2, n, off[2], sb);
    o->mix(a, out, out, n);
    same16("mix in place (b)", o->name, n, want, out);
    buf_done(&bo, NULL, "mix in place (b)");
    buf_done(&ba, sa, "mix input a");
    buf_done(&bb, sb, "mix input b");
}

static void levels_mix(void **st)
{
    static int16_t sa[65536], sb[65536];
    size_t l, k, p, q, o;

    (void)st;
    seed(2);
    for (l = 0; l < level_count; l++) {
        for (k = 0; k < LENGTH_COUNT; k++)
            for (p = 0; p < PAT_COUNT; p++)
                for (q = 0; q < PAT_COUNT; q++)
                    for (o = 0; o < OFFSET_COUNT; o++) {
                        fill16(sa, length_at(k), (int)p);
                        fill16(sb, length_at(k), (int)q);
                        cmp_mix(levels[l], sa, sb, length_at(k), offsets[o]);
                    }
        for (k = 0; k < 65536; k++) {
            sa[k] = (int16_t)(k - 32768);
            sb[k] = (int16_t)(uint16_t)rnd();
        }
        cmp_mix(levels[l], sa, sb, 65536, offsets[1]);
        cmp_mix(levels[l], sa, sa, 65536, offsets[0]);
    }
}

static void cmp_sum_squares(const struct vox_simd_ops *o, const int16_t *src, size_t n, size_t off)
{
    struct buf bi;
    const int16_t *in = buf_in(&bi, 2, n, off, src);
    uint64_t want = scalar->sum_squares(src, n), got = o->sum_squares(in, n);

    if (want != got) {
        print_error("sum_squares/%s n=%zu off=%zu: scalar %llu, got %llu\n", o->name, n, off,
                    (unsigned long long)want, (unsigned long long)got);
        fail();
    }
    buf_done(&bi, src, "sum_squares input");
}

static void levels_sum_squares(void **st)
{
    static int16_t src[1u << 20];
    size_t l, k, p, i;

    (void)st;
    seed(3);
    for (l = 0; l < level_count; l++) {
        for (k = 0; k < LENGTH_COUNT; k++)
            for (p = 0; p < PAT_COUNT; p++) {
                fill16(src, length_at(k), (int)p);
                cmp_sum_squares(levels[l], src, length_at(k), 0);
                cmp_sum_squares(levels[l], src, length_at(k), 1);
            }
        /* Two squares of -32768 in one pmaddwd lane are 2^31: an int32 overflow, to zero-extend. */
        for (i = 0; i < (1u << 20); i++)
            src[i] = INT16_MIN;
        cmp_sum_squares(levels[l], src, 1u << 20, 0);
        assert_int_equal(levels[l]->sum_squares(src, 1u << 20), 1ull << 50);
        assert_true(vox_simd_rms_from_sum(levels[l]->sum_squares(src + 1, 4099), 4099) == 32768.0);
        for (i = 0; i < 65536; i++)
            src[i] = (int16_t)(i - 32768);
        cmp_sum_squares(levels[l], src, 65536, 1);
    }
}

static void cmp_s16_to_f32(const struct vox_simd_ops *o, const int16_t *src, size_t n,
                           const size_t *off)
{
    static float want[65536];
    struct buf bi, bo;
    const int16_t *in = buf_in(&bi, 2, n, off[0], src);
    float *out = buf_out(&bo, 4, n, off[2]);

    scalar->s16_to_f32(src, want, n);
    o->s16_to_f32(in, out, n);
    same_f32_bits("s16_to_f32", o->name, n, want, out);
    buf_done(&bi, src, "s16_to_f32 input");
    buf_done(&bo, NULL, "s16_to_f32 output");
}

static void levels_s16_to_f32(void **st)
{
    static int16_t src[65536];
    size_t l, k, p, o;

    (void)st;
    seed(4);
    for (l = 0; l < level_count; l++) {
        for (k = 0; k < LENGTH_COUNT; k++)
            for (p = 0; p < PAT_COUNT; p++)
                for (o = 0; o < OFFSET_COUNT; o++) {
                    fill16(src, length_at(k), (int)p);
                    cmp_s16_to_f32(levels[l], src, length_at(k), offsets[o]);
                }
        for (k = 0; k < 65536; k++)
            src[k] = (int16_t)(k - 32768);
        cmp_s16_to_f32(levels[l], src, 65536, offsets[1]);
    }
}

/* Float inputs: the awkward values, mixed into ordinary ones at random places. */
static float special_float(void)
{
    static const float specials[] = {1.0f,
                                     -1.0f,
                                     0x1.fffffep-1f,
                                     0x1.000002p+0f,
                                     -0x1.fffffep-1f,
                                     -0x1.000002p+0f,
                                     0.0f,
                                     -0.0f,
                                     0.5f / 32768,
                                     1.5f / 32768,
                                     -0.5f / 32768,
                                     -2.5f / 32768,
                                     32766.5f / 32768,
                                     32767.5f / 32768,
                                     -32767.5f / 32768,
                                     -32768.5f / 32768,
                                     1e30f,
                                     -1e30f,
                                     FLT_MAX,
                                     -FLT_MAX,
                                     FLT_TRUE_MIN,
                                     -FLT_MIN,
                                     INFINITY,
                                     -INFINITY,
                                     NAN,
                                     -NAN,
                                     65536.0f,
                                     -65536.0f,
                                     2147483648.0f,
                                     -2147483648.0f,
                                     4294967296.0f,
                                     -4294967296.0f};

    switch (rnd() % 4) {
    case 0:
        return specials[rnd() % (sizeof(specials) / sizeof(specials[0]))];
    case 1: /* a halfway point anywhere in range */
        return ((float)((int)(rnd() % 65540) - 32770) + 0.5f) / 32768.0f;
    case 2: /* any bit pattern: NaN payloads, denormals, huge values */
        return bits_to_float((uint32_t)rnd());
    default:
        return (float)((double)(rnd() >> 11) / (double)(1ull << 53) * 3.0 - 1.5); /* ordinary */
    }
}

static void cmp_f32_to_s16(const struct vox_simd_ops *o, const float *src, size_t n,
                           const size_t *off)
{
    static int16_t want[1u << 18];
    struct buf bi, bo;
    const float *in = buf_in(&bi, 4, n, off[0], src);
    int16_t *out = buf_out(&bo, 2, n, off[2]);
    size_t i;

    scalar->f32_to_s16(src, want, n);
    o->f32_to_s16(in, out, n);
    for (i = 0; i < n; i++)
        if (want[i] != out[i]) {
            print_error("f32_to_s16/%s n=%zu: [%zu] %a: scalar %d, %s %d\n", o->name, n, i,
                        (double)src[i], want[i], o->name, out[i]);
            fail();
        }
    buf_done(&bi, src, "f32_to_s16 input");
    buf_done(&bo, NULL, "f32_to_s16 output");
}

static void levels_f32_to_s16(void **st)
{
    static float src[1u << 18];
    size_t l, k, o, i, rep;
    int h;

    (void)st;
    seed(5);
    for (l = 0; l < level_count; l++) {
        for (k = 0; k < LENGTH_COUNT; k++)
            for (o = 0; o < OFFSET_COUNT; o++)
                for (rep = 0; rep < 4; rep++) {
                    for (i = 0; i < length_at(k); i++)
                        src[i] = special_float();
                    cmp_f32_to_s16(levels[l], src, length_at(k), offsets[o]);
                }
        /* every halfway point, then 2^18 mixed values */
        for (h = -32800, i = 0; h <= 32800; h++)
            src[i++] = ((float)h + 0.5f) / 32768.0f;
        cmp_f32_to_s16(levels[l], src, i, offsets[1]);
        for (i = 0; i < (1u << 18); i++)
            src[i] = special_float();
        cmp_f32_to_s16(levels[l], src, 1u << 18, offsets[0]);
    }
}

static void cmp_interleave(const struct vox_simd_ops *o, const int16_t *sl, const int16_t *sr,
                           size_t frames, const size_t *off)
{
    static int16_t want[2 * MAX_LENGTH], wl[MAX_LENGTH], wr[MAX_LENGTH];
    struct buf bl, br, bo, bs, bl2, br2;
    const int16_t *l = buf_in(&bl, 2, frames, off[0], sl), *r = buf_in(&br, 2, frames, off[1], sr);
    int16_t *out = buf_out(&bo, 2, 2 * frames, off[2]), *stereo, *l2, *r2;

    scalar->interleave(sl, sr, want, frames);
    o->interleave(l, r, out, frames);
    same16("interleave", o->name, 2 * frames, want, out);
    buf_done(&bl, sl, "interleave left");
    buf_done(&br, sr, "interleave right");
    buf_done(&bo, NULL, "interleave output");

    stereo = buf_in(&bs, 2, 2 * frames, off[0], want);
    l2 = buf_out(&bl2, 2, frames, off[1]);
    r2 = buf_out(&br2, 2, frames, off[2]);
    scalar->deinterleave(want, wl, wr, frames);
    same16("scalar deinterleave", "scalar", frames, sl, wl); /* a round trip */
    same16("scalar deinterleave", "scalar", frames, sr, wr);
    o->deinterleave(stereo, l2, r2, frames);
    same16("deinterleave left", o->name, frames, wl, l2);
    same16("deinterleave right", o->name, frames, wr, r2);
    buf_done(&bs, want, "deinterleave input");
    buf_done(&bl2, NULL, "deinterleave left");
    buf_done(&br2, NULL, "deinterleave right");
}

static void levels_interleave(void **st)
{
    static int16_t sl[MAX_LENGTH], sr[MAX_LENGTH];
    size_t l, k, p, o;

    (void)st;
    seed(6);
    for (l = 0; l < level_count; l++)
        for (k = 0; k < LENGTH_COUNT; k++)
            for (p = 0; p < PAT_COUNT; p++)
                for (o = 0; o < OFFSET_COUNT; o++) {
                    fill16(sl, length_at(k), PAT_RANDOM);
                    fill16(sr, length_at(k), (int)p);
                    cmp_interleave(levels[l], sl, sr, length_at(k), offsets[o]);
                }
}

/* The plain functions run the table in use and agree with scalar. */
static void wrappers(void **st)
{
    enum { N = 1001 };
    static int16_t a[2 * N], b[N], want[2 * N], got[2 * N], l2[N], r2[N];
    static float f[N], fw[N];
    size_t i;

    (void)st;
    seed(7);
    fill16(a, 2 * N, PAT_RANDOM);
    fill16(b, N, PAT_RANDOM);
    scalar->gain(a, want, N, 6144);
    vox_simd_gain(a, got, N, 6144);
    same16("vox_simd_gain", vox_simd()->name, N, want, got);
    scalar->mix(a, b, want, N);
    vox_simd_mix(a, b, got, N);
    same16("vox_simd_mix", vox_simd()->name, N, want, got);
    assert_int_equal(vox_simd_sum_squares(a, N), scalar->sum_squares(a, N));
    assert_true(vox_simd_rms(a, N) == vox_simd_rms_from_sum(scalar->sum_squares(a, N), N));
    scalar->s16_to_f32(a, fw, N);
    vox_simd_s16_to_f32(a, f, N);
    same_f32_bits("vox_simd_s16_to_f32", vox_simd()->name, N, fw, f);
    for (i = 0; i < N; i++)
        f[i] = special_float();
    scalar->f32_to_s16(f, want, N);
    vox_simd_f32_to_s16(f, got, N);
    same16("vox_simd_f32_to_s16", vox_simd()->name, N, want, got);
    scalar->interleave(a, b, want, N);
    vox_simd_interleave(a, b, got, N);
    same16("vox_simd_interleave", vox_simd()->name, 2 * N, want, got);
    vox_simd_deinterleave(want, l2, r2, N);
    same16("vox_simd_deinterleave", vox_simd()->name, N, a, l2);
    same16("vox_simd_deinterleave", vox_simd()->name, N, b, r2);
    /* n = 0 with NULL pointers */
    vox_simd_gain(NULL, NULL, 0, 4096);
    vox_simd_mix(NULL, NULL, NULL, 0);
    assert_int_equal(vox_simd_sum_squares(NULL, 0), 0);
    vox_simd_s16_to_f32(NULL, NULL, 0);
    vox_simd_f32_to_s16(NULL, NULL, 0);
    vox_simd_interleave(NULL, NULL, NULL, 0);
    vox_simd_deinterleave(NULL, NULL, NULL, 0);
}

/* ---- VOX_SIMD, in fresh processes (the level is chosen once per process) ------------------- */

/* --child-level: several threads race to the first use; print the level all of them got. */
static void *first_use(void *arg)
{
    *(const struct vox_simd_ops **)arg = vox_simd();
    return NULL;
}

static int child_level(void)
{
    const struct vox_simd_ops *got[4];
    pthread_t th[4];
    int16_t x[40] = {1000}, y[40];
    int i;

    for (i = 0; i < 4; i++)
        if (pthread_create(&th[i], NULL, first_use, &got[i]) != 0)
            return 2;
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (i = 1; i < 4; i++)
        if (got[i] != got[0])
            return 3;
    vox_simd_gain(x, y, 40, 8192); /* the wrappers again: no second message */
    if (y[0] != 2000 || vox_simd() != got[0])
        return 4;
    printf("level=%s\n", got[0]->name);
    return 0;
}

struct child_result {
    char out[256], err[1024];
    int status;
};

static void read_all(int fd, char *buf, size_t len)
{
    size_t used = 0;
    ssize_t r;

    while (used + 1 < len && (r = read(fd, buf + used, len - 1 - used)) > 0)
        used += (size_t)r;
    buf[used] = '\0';
    close(fd);
}

/* Runs this program with --child-level, VOX_SIMD set to `value` (NULL: unset). */
static void run_child(const char *value, struct child_result *res)
{
    int out[2], err[2];
    pid_t pid;

    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        if (value)
            setenv("VOX_SIMD", value, 1);
        else
            unsetenv("VOX_SIMD");
        execl("/proc/self/exe", "test_simd", "--child-level", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    /* The child writes a line or two: reading to EOF before waiting cannot block it. */
    read_all(out[0], res->out, sizeof(res->out));
    read_all(err[0], res->err, sizeof(res->err));
    assert_int_equal(waitpid(pid, &res->status, 0), pid);
    if (!WIFEXITED(res->status) || WEXITSTATUS(res->status) != 0) {
        print_error("child with VOX_SIMD=%s: status %d, stderr: %s\n", value ? value : "(unset)",
                    res->status, res->err);
        fail();
    }
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay++;
    }
    return n;
}

static void env_selects_level(void **st)
{
    static const enum vox_simd_level pref[] = {VOX_SIMD_AVX2, VOX_SIMD_NEON, VOX_SIMD_SSE2,
                                               VOX_SIMD_SCALAR};
    const struct vox_simd_ops *best = NULL;
    struct child_result r;
    char want[64];
    size_t i;

    (void)st;
    /* the best level, found the way the header says */
    for (i = 0; i < sizeof(pref) / sizeof(pref[0]) && !best; i++)
        best = vox_simd_ops_for(pref[i]);
    assert_non_null(best);

    /* unset and empty: the best, silently */
    snprintf(want, sizeof(want), "level=%s\n", best->name);
    run_child(NULL, &r);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");
    run_child("", &r);
    assert_string_equal(r.out, want);
    assert_string_equal(r.err, "");

    /* each level this CPU runs, by name (any case), silently */
    for (i = 0; i < level_count; i++) {
        char upper[16];
        size_t j;

        snprintf(want, sizeof(want), "level=%s\n", levels[i]->name);
        run_child(levels[i]->name, &r);
        assert_string_equal(r.out, want);
        assert_string_equal(r.err, "");
        for (j = 0; levels[i]->name[j] && j + 1 < sizeof(upper); j++)
            upper[j] = (char)toupper((unsigned char)levels[i]->name[j]);
        upper[j] = '\0';
        run_child(upper, &r);
        assert_string_equal(r.out, want);
    }

    /* a level this CPU or build lacks: one message, then the best */
    for (i = 0; i < VOX_SIMD_LEVEL_COUNT; i++) {
        const char *name = vox_simd_level_name((enum vox_simd_level)i);

        if (vox_simd_ops_for((enum vox_simd_level)i))
            continue;
        snprintf(want, sizeof(want), "level=%s\n", best->name);
        run_child(name, &r);
        assert_string_equal(r.out, want);
        assert_int_equal(count_of(r.err, "voxbench: VOX_SIMD="), 1);
        assert_non_null(strstr(r.err, name));
        assert_non_null(strstr(r.err, "not available"));
    }

    /* not a level: one message naming the value and the levels, then the best */
    run_child("avx512", &r);
    snprintf(want, sizeof(want), "level=%s\n", best->name);
    assert_string_equal(r.out, want);
    assert_int_equal(count_of(r.err, "voxbench: VOX_SIMD="), 1);
    assert_non_null(strstr(r.err, "VOX_SIMD=avx512 is not a SIMD level"));
    assert_non_null(strstr(r.err, "scalar, sse2, avx2, neon"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(levels_and_names),
        cmocka_unit_test(default_level),
        cmocka_unit_test(scalar_gain_values),
        cmocka_unit_test(scalar_mix_values),
        cmocka_unit_test(scalar_sum_squares_values),
        cmocka_unit_test(scalar_conversion_values),
        cmocka_unit_test(scalar_interleave_values),
        cmocka_unit_test(gain_helpers),
        cmocka_unit_test(levels_gain),
        cmocka_unit_test(levels_mix),
        cmocka_unit_test(levels_sum_squares),
        cmocka_unit_test(levels_s16_to_f32),
        cmocka_unit_test(levels_f32_to_s16),
        cmocka_unit_test(levels_interleave),
        cmocka_unit_test(wrappers),
        cmocka_unit_test(env_selects_level),
    };
    size_t i;

    if (argc == 2 && strcmp(argv[1], "--child-level") == 0)
        return child_level();
    if (argc == 3 && strcmp(argv[1], "--expect-level") == 0)
        expect_level = argv[2];
    else
        unsetenv("VOX_SIMD"); /* the suite checks the default choice: not the caller's */
    scalar = vox_simd_ops_for(VOX_SIMD_SCALAR);
    for (i = 0; i < VOX_SIMD_LEVEL_COUNT; i++)
        if (vox_simd_ops_for((enum vox_simd_level)i))
            levels[level_count++] = vox_simd_ops_for((enum vox_simd_level)i);
    return cmocka_run_group_tests_name("simd", tests, NULL, NULL);
}
