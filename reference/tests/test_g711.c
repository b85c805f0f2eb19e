/* SPDX-License-Identifier: MIT */
/* G.711 tests: all 65536 inputs and all 256 codes against sox, a reference encoder, round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "vox/core.h"
#include "vox/g711.h"

enum law { ULAW, ALAW };

static char tmpdir[256]; /* per-process scratch directory, removed at the end */

/* ---- helpers --------------------------------------------------------------------------------- */

/* Runs argv (PATH lookup, no shell) with stdout/stderr to /dev/null. Returns the exit status,
 * 127 when the program could not be executed, or -1 when it died from a signal. */
static int run(char *const argv[])
{
    pid_t pid = fork();
    int status = 0;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);

        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int have_sox(void)
{
    static int cached = -1;
    char *argv[] = {"sox", "--version", NULL};

    if (cached < 0)
        cached = run(argv) == 0;
    return cached;
}

static void put_le16(unsigned char *p, int16_t v)
{
    p[0] = (unsigned char)((uint16_t)v & 0xFF);
    p[1] = (unsigned char)((uint16_t)v >> 8);
}

static int16_t get_le16(const unsigned char *p)
{
    return (int16_t)(uint16_t)(p[0] | (p[1] << 8));
}

static uint8_t encode1(enum law law, int16_t x)
{
    return law == ULAW ? vox_g711_ulaw_encode_sample(x) : vox_g711_alaw_encode_sample(x);
}

static int16_t decode1(enum law law, uint8_t c)
{
    return law == ULAW ? vox_g711_ulaw_decode_sample(c) : vox_g711_alaw_decode_sample(c);
}

/* The segment (0..7) of a code. */
static unsigned segment(enum law law, uint8_t c)
{
    return law == ULAW ? (unsigned)((~c >> 4) & 7) : (unsigned)(((c ^ 0x55) >> 4) & 7);
}

/*
 * Independent reference encoders written from the textbook descriptions, not from the library:
 * µ-law is the classic 16-bit "bias 0x84, clip 32635" encoder with a table-free exponent
 * search; A-law is ITU-T STL alaw_compress(). Both take the input already rounded to 14 (13)
 * bits, the reduction SoX applies (see vox/g711.h).
 */
static uint8_t ref_ulaw(int16_t x16)
{
    int x = ((int)x16 + 2) >> 2, sign = 0, exponent = 7, mantissa;

    x = (x > 8191 ? 8191 : x) * 4;
    if (x < 0) {
        sign = 0x80;
        x = -x;
    }
    if (x > 32635)
        x = 32635;
    x += 0x84;
    while (exponent > 0 && !(x & (0x4000 >> (7 - exponent))))
        exponent--;
    mantissa = (x >> (exponent + 3)) & 0x0F;
    return (uint8_t) ~(sign | (exponent << 4) | mantissa);
}

static uint8_t ref_alaw(int16_t x16)
{
    int x = ((int)x16 + 4) >> 3, lin, ix, iexp;

    lin = (x > 4095 ? 4095 : x) * 8; /* STL takes the 13 bits left-justified in 16 */
    ix = lin < 0 ? (~lin) >> 4 : lin >> 4;
    if (ix > 15) {
        iexp = 1;
        while (ix > 16 + 15) {
            ix >>= 1;
            iexp++;
        }
        ix -= 16;
        ix += iexp << 4;
    }
    if (lin >= 0)
        ix |= 0x80;
    return (uint8_t)(ix ^ 0x55);
}

/* ---- tests ----------------------------------------------------------------------------------- */

/* Encodes all 65536 inputs with sox -D and with the library; every byte must match. */
static void all_inputs_vs_sox(enum law law)
{
    char in_path[300], out_path[300];
    unsigned char *raw = malloc(65536 * 2);
    uint8_t *ours = malloc(65536), *theirs = malloc(65536);
    int16_t *pcm = malloc(65536 * sizeof(*pcm));
    char *argv[] = {"sox",
                    "-D",
                    "-t",
                    "raw",
                    "-r",
                    "8000",
                    "-e",
                    "signed",
                    "-b",
                    "16",
                    "-c",
                    "1",
                    in_path,
                    "-t",
                    "raw",
                    "-e",
                    law == ULAW ? "u-law" : "a-law",
                    out_path,
                    NULL};
    size_t i, mismatches = 0, first = 0;

    if (!have_sox()) {
        free(raw), free(ours), free(theirs), free(pcm);
        skip();
    }
    assert_non_null(raw), assert_non_null(ours), assert_non_null(theirs), assert_non_null(pcm);
    for (i = 0; i < 65536; i++) {
        pcm[i] = (int16_t)((int)i - 32768);
        put_le16(raw + 2 * i, pcm[i]);
    }
    snprintf(in_path, sizeof(in_path), "%s/all.raw", tmpdir);
    snprintf(out_path, sizeof(out_path), "%s/all.%s", tmpdir, law == ULAW ? "ul" : "al");
    vox_test_write_file(in_path, raw, 65536 * 2);
    assert_int_equal(run(argv), 0);
    assert_int_equal(vox_test_read_file(out_path, theirs, 65536), 65536);
    if (law == ULAW)
        vox_g711_ulaw_encode(pcm, ours, 65536);
    else
        vox_g711_alaw_encode(pcm, ours, 65536);
    for (i = 0; i < 65536; i++)
        if (ours[i] != theirs[i] && mismatches++ == 0)
            first = i;
    print_message("%s: %zu of 65536 inputs equal to sox -D\n", law == ULAW ? "u-law" : "A-law",
                  65536 - mismatches);
    if (mismatches)
        fail_msg("%zu mismatches; first at input %d: ours 0x%02x, sox 0x%02x", mismatches,
                 (int)first - 32768, ours[first], theirs[first]);
    free(raw), free(ours), free(theirs), free(pcm);
}

static void ulaw_all_inputs_vs_sox(void **st)
{
    (void)st;
    all_inputs_vs_sox(ULAW);
}

static void alaw_all_inputs_vs_sox(void **st)
{
    (void)st;
    all_inputs_vs_sox(ALAW);
}

/* Decodes all 256 codes with sox and with the library. */
static void all_codes_vs_sox(enum law law)
{
    char in_path[300], out_path[300];
    uint8_t codes[256];
    unsigned char theirs[512];
    int16_t ours[256];
    char *argv[] = {"sox", "-t",     "raw", "-r", "8000",   "-e", law == ULAW ? "u-law" : "a-law",
                    "-b",  "8",      "-c",  "1",  in_path,  "-t", "raw",
                    "-e",  "signed", "-b",  "16", out_path, NULL};
    int i;

    if (!have_sox())
        skip();
    for (i = 0; i < 256; i++)
        codes[i] = (uint8_t)i;
    snprintf(in_path, sizeof(in_path), "%s/codes.%s", tmpdir, law == ULAW ? "ul" : "al");
    snprintf(out_path, sizeof(out_path), "%s/codes.raw", tmpdir);
    vox_test_write_file(in_path, codes, sizeof(codes));
    assert_int_equal(run(argv), 0);
    assert_int_equal(vox_test_read_file(out_path, theirs, sizeof(theirs)), sizeof(theirs));
    if (law == ULAW)
        vox_g711_ulaw_decode(codes, ours, 256);
    else
        vox_g711_alaw_decode(codes, ours, 256);
    for (i = 0; i < 256; i++)
        if (ours[i] != get_le16(theirs + 2 * i))
            fail_msg("code 0x%02x: ours %d, sox %d", i, ours[i], get_le16(theirs + 2 * i));
}

static void ulaw_all_codes_vs_sox(void **st)
{
    (void)st;
    all_codes_vs_sox(ULAW);
}

static void alaw_all_codes_vs_sox(void **st)
{
    (void)st;
    all_codes_vs_sox(ALAW);
}

/* The library agrees with the independent reference encoders on every input (no sox needed). */
static void all_inputs_vs_reference(void **st)
{
    int x;

    (void)st;
    for (x = -32768; x <= 32767; x++) {
        uint8_t u = vox_g711_ulaw_encode_sample((int16_t)x), a;

        if (u != ref_ulaw((int16_t)x))
            fail_msg("u-law %d: ours 0x%02x, reference 0x%02x", x, u, ref_ulaw((int16_t)x));
        a = vox_g711_alaw_encode_sample((int16_t)x);
        if (a != ref_alaw((int16_t)x))
            fail_msg("A-law %d: ours 0x%02x, reference 0x%02x", x, a, ref_alaw((int16_t)x));
    }
}

/*
 * decode(encode(x)) is within half a quantisation step of x, plus the rounding to 14 (13)
 * bits: µ-law segment s has step 8 << s, so |error| <= (4 << s) + 2; A-law segments 0 and 1
 * have step 16 and segment s >= 1 has 8 << s, so |error| <= 12 and (4 << s) + 4. Beyond the
 * largest level (32124 / 32256) the error is the clipping.
 */
static void round_trip_error_bounds(enum law law)
{
    static const int16_t max_level[2] = {32124, 32256};
    int worst[8] = {0}, x;
    unsigned s;

    for (x = -32768; x <= 32767; x++) {
        uint8_t c = encode1(law, (int16_t)x);
        int y = decode1(law, c), err = abs(x - y), bound;

        s = segment(law, c);
        if (law == ULAW)
            bound = (4 << s) + 2;
        else
            bound = s == 0 ? 12 : (4 << s) + 4;
        if (abs(x) > max_level[law] && abs(x) - max_level[law] > bound)
            bound = abs(x) - max_level[law];
        if (err > bound)
            fail_msg("%s %d -> 0x%02x -> %d: error %d > %d (segment %u)",
                     law == ULAW ? "u-law" : "A-law", x, c, y, err, bound, s);
        if (err > worst[s])
            worst[s] = err;
        /* monotone: a larger input never gets a smaller decoded value */
        if (x > -32768 && y < decode1(law, encode1(law, (int16_t)(x - 1))))
            fail_msg("%s not monotone at %d", law == ULAW ? "u-law" : "A-law", x);
    }
    for (s = 0; s < 8; s++)
        assert_true(worst[s] > 0);
}

static void ulaw_round_trip_error_bounds(void **st)
{
    (void)st;
    round_trip_error_bounds(ULAW);
}

static void alaw_round_trip_error_bounds(void **st)
{
    (void)st;
    round_trip_error_bounds(ALAW);
}

/* Every code is a fixed point of encode(decode(.)), except µ-law's negative zero 0x7F. */
static void codes_are_fixed_points(void **st)
{
    int c;

    (void)st;
    for (c = 0; c < 256; c++) {
        if (c != 0x7F)
            assert_int_equal(vox_g711_ulaw_encode_sample(vox_g711_ulaw_to_pcm[c]), c);
        assert_int_equal(vox_g711_alaw_encode_sample(vox_g711_alaw_to_pcm[c]), c);
    }
    assert_int_equal(vox_g711_ulaw_to_pcm[0x7F], 0);
    assert_int_equal(vox_g711_ulaw_encode_sample(0), 0xFF);
    assert_int_equal(vox_g711_ulaw_to_pcm[0x00], -32124);
    assert_int_equal(vox_g711_ulaw_to_pcm[0x80], 32124);
    assert_int_equal(vox_g711_alaw_to_pcm[0xD5], 8);
    assert_int_equal(vox_g711_alaw_to_pcm[0x55], -8);
    assert_int_equal(vox_g711_alaw_to_pcm[0xAA], 32256);
    assert_int_equal(vox_g711_alaw_to_pcm[0x2A], -32256);
}

/* The block functions equal the per-sample ones, at any alignment and length (0 included). */
static void block_equals_sample_forms(void **st)
{
    int16_t pcm[1001];
    uint8_t u[1001], a[1001];
    int16_t back[1001];
    size_t i, off;

    (void)st;
    for (i = 0; i < 1001; i++)
        pcm[i] = (int16_t)(uint16_t)(i * 2654435761u >> 16);
    vox_g711_ulaw_encode(NULL, NULL, 0);
    vox_g711_alaw_decode(NULL, NULL, 0);
    for (off = 0; off < 3; off++) {
        vox_g711_ulaw_encode(pcm + off, u + off, 1001 - off);
        vox_g711_alaw_encode(pcm + off, a + off, 1001 - off);
        for (i = off; i < 1001; i++) {
            assert_int_equal(u[i], vox_g711_ulaw_encode_sample(pcm[i]));
            assert_int_equal(a[i], vox_g711_alaw_encode_sample(pcm[i]));
        }
        vox_g711_ulaw_decode(u + off, back + off, 1001 - off);
        for (i = off; i < 1001; i++)
            assert_int_equal(back[i], vox_g711_ulaw_to_pcm[u[i]]);
        vox_g711_alaw_decode(a + off, back + off, 1001 - off);
        for (i = off; i < 1001; i++)
            assert_int_equal(back[i], vox_g711_alaw_to_pcm[a[i]]);
    }
}

static int make_tmpdir(void **st)
{
    const char *base = getenv("TMPDIR");

    (void)st;
    snprintf(tmpdir, sizeof(tmpdir), "%s/vox-g711-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **st)
{
    static const char *const names[] = {"all.raw",  "all.ul",   "all.al",
                                        "codes.ul", "codes.al", "codes.raw"};
    char path[300];
    size_t i;

    (void)st;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    return rmdir(tmpdir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ulaw_all_inputs_vs_sox),
        cmocka_unit_test(alaw_all_inputs_vs_sox),
        cmocka_unit_test(ulaw_all_codes_vs_sox),
        cmocka_unit_test(alaw_all_codes_vs_sox),
        cmocka_unit_test(all_inputs_vs_reference),
        cmocka_unit_test(ulaw_round_trip_error_bounds),
        cmocka_unit_test(alaw_round_trip_error_bounds),
        cmocka_unit_test(codes_are_fixed_points),
        cmocka_unit_test(block_equals_sample_forms),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("media g711", tests, make_tmpdir, remove_tmpdir);
}
