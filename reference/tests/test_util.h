/* SPDX-License-Identifier: MIT */
/* Helpers shared by the reference's cmocka tests (include after <cmocka.h>). */
#ifndef VOX_TEST_UTIL_H
#define VOX_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vox/sip.h"

/* Writes `len` bytes of buf to `path` (created or truncated); fails the test on error. */
static inline void vox_test_write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Reads up to `cap` bytes of `path` into buf. Returns the count, or cap + 1 when the file
 * holds more than cap bytes. Fails the test when the file cannot be opened. */
static inline size_t vox_test_read_file(const char *path, void *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, cap, f);
    if (n == cap && fgetc(f) != EOF)
        n = cap + 1;
    fclose(f);
    return n;
}

/* The next number of a splitmix64 sequence: a fixed seed per test, so a failure reproduces. */
static inline uint64_t vox_test_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Copies `s` into out (capacity cap) with every "\n" turned into CRLF, as SIP and SDP travel;
 * NUL-terminates and returns the length. Fails the test when it does not fit. */
static inline size_t vox_test_crlf(const char *s, char *out, size_t cap)
{
    size_t n = 0;

    for (; *s; s++) {
        assert_true(n + 3 <= cap);
        if (*s == '\n')
            out[n++] = '\r';
        out[n++] = *s;
    }
    out[n] = 0;
    return n;
}

/* Fails the test unless the view equals `want`. */
static inline void vox_test_assert_str(struct vox_str s, const char *want)
{
    if (!vox_str_eq(s, want))
        fail_msg("got '%.*s', wanted '%s'", (int)s.len, s.p ? s.p : "", want);
}

#endif /* VOX_TEST_UTIL_H */
