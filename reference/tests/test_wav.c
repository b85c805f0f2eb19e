/* SPDX-License-Identifier: MIT */
/* WAV tests: round trips, sox as an independent reader, kill safety, every bad header. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "vox/core.h"
#include "vox/wav.h"

static char tmpdir[256];

static void path_of(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)(v >> 8);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    put_le16(p, (uint16_t)(v & 0xFFFF));
    put_le16(p + 2, (uint16_t)(v >> 16));
}

/* The sample value written at interleaved index i: covers the full range, both extremes. */
static int16_t pattern(uint64_t i)
{
    if (i % 997 == 0)
        return -32768;
    if (i % 991 == 0)
        return 32767;
    return (int16_t)(uint16_t)((i * 2654435761u) >> 13);
}

static void fill(int16_t *buf, size_t n, uint64_t first)
{
    size_t i;

    for (i = 0; i < n; i++)
        buf[i] = pattern(first + i);
}

/* Writes `frames` frames of the pattern in uneven chunks, closes, returns the path in buf. */
static void write_pattern(const char *path, unsigned rate, unsigned ch, size_t frames,
                          size_t interval)
{
    struct vox_wav_writer_config cfg = {.flush_interval_frames = interval};
    struct vox_wav_writer *w = NULL;
    struct vox_diag d = {{0}};
    int16_t chunk[3 * 170 * 2];
    size_t done = 0, step = 1;

    assert_int_equal(vox_wav_writer_open(path, rate, ch, &cfg, &w, &d), 0);
    while (done < frames) {
        size_t n = frames - done < step ? frames - done : step;

        fill(chunk, n * ch, done * ch);
        assert_int_equal(vox_wav_write(w, chunk, n), 0);
        done += n;
        step = step * 3 % 509 + 1; /* 1, 4, 13, 40, ...: crosses flush boundaries oddly */
        if (step > 3 * 170)
            step = 170;
    }
    assert_int_equal(vox_wav_frames_written(w), frames);
    assert_int_equal(vox_wav_close(w), 0);
}

static void check_pattern(const char *path, unsigned rate, unsigned ch, size_t frames)
{
    struct vox_wav_info info;
    struct vox_diag d = {{0}};
    int16_t *s = NULL;
    size_t i;

    assert_int_equal(vox_wav_read(path, &info, &s, &d), 0);
    assert_int_equal(info.rate_hz, rate);
    assert_int_equal(info.channels, ch);
    assert_int_equal(info.frames, frames);
    assert_int_equal(info.truncated, 0);
    assert_int_equal(info.declared_bytes, frames * ch * 2);
    for (i = 0; i < frames * ch; i++)
        if (s[i] != pattern(i))
            fail_msg("%s: sample %zu is %d, wrote %d", path, i, s[i], pattern(i));
    free(s);
}

static void round_trip_mono_stereo(void **st)
{
    char path[300];

    (void)st;
    path_of(path, sizeof(path), "mono.wav");
    write_pattern(path, 8000, 1, 12345, 160);
    check_pattern(path, 8000, 1, 12345);
    path_of(path, sizeof(path), "stereo.wav");
    write_pattern(path, 48000, 2, 48000 * 2 + 7, 0); /* default interval: one second */
    check_pattern(path, 48000, 2, 48000 * 2 + 7);
    path_of(path, sizeof(path), "empty.wav");
    write_pattern(path, 16000, 1, 0, 0);
    check_pattern(path, 16000, 1, 0);
}

/* The canonical 44-byte header, byte for byte (written here by hand from the RIFF spec). */
static void header_bytes(void **st)
{
    static const unsigned char want[44] = {'R', 'I',  'F',  'F', 36 + 12, 0,   0,    0,    'W',
                                           'A', 'V',  'E',  'f', 'm',     't', ' ',  16,   0,
                                           0,   0,    1,    0,   2,       0,   0x40, 0x1F, 0,
                                           0,   0x00, 0x7D, 0,   0, /* 8000, 32000 */
                                           4,   0,    16,   0,   'd',     'a', 't',  'a',  12,
                                           0,   0,    0};
    unsigned char got[64];
    char path[300];
    int16_t s[6] = {1, -1, 256, -256, 32767, -32768};
    struct vox_wav_writer *w = NULL;

    (void)st;
    path_of(path, sizeof(path), "hdr.wav");
    assert_int_equal(vox_wav_writer_open(path, 8000, 2, NULL, &w, NULL), 0);
    assert_int_equal(vox_wav_write(w, s, 3), 0);
    assert_int_equal(vox_wav_close(w), 0);
    assert_int_equal(vox_test_read_file(path, got, sizeof(got)), 56);
    assert_memory_equal(got, want, 44);
    assert_int_equal(got[44], 1);    /* little-endian samples */
    assert_int_equal(got[47], 0xFF); /* -1 */
    assert_int_equal(got[49], 1);    /* 256 */
    assert_int_equal(got[54], 0x00); /* -32768 = 0x8000 */
    assert_int_equal(got[55], 0x80);
}

/* sox, an independent implementation, reads our files and gets the same samples. */
static void sox_reads_our_files(void **st)
{
    char path[300], raw[300], cmd[800];
    unsigned char buf[2 * 2 * 4000];
    size_t i, n;
    int rc;

    (void)st;
    if (system("sox --version >/dev/null 2>&1") != 0)
        skip();
    path_of(path, sizeof(path), "sox.wav");
    path_of(raw, sizeof(raw), "sox.raw");
    write_pattern(path, 16000, 2, 4000, 333);
    snprintf(cmd, sizeof(cmd), "sox '%s' -t raw -e signed -b 16 -L '%s' 2>/dev/null", path, raw);
    rc = system(cmd);
    assert_int_equal(rc, 0);
    n = vox_test_read_file(raw, buf, sizeof(buf));
    assert_int_equal(n, sizeof(buf));
    for (i = 0; i < n / 2; i++)
        assert_int_equal((int16_t)(uint16_t)(buf[2 * i] | (buf[2 * i + 1] << 8)), pattern(i));
    snprintf(cmd, sizeof(cmd), "test \"$(soxi -r '%s')\" = 16000 && test \"$(soxi -c '%s')\" = 2",
             path, path);
    assert_int_equal(system(cmd), 0);
    unlink(raw);
}

/*
 * A child writes forever (flushing every 160 frames) and reports each completed flush on a
 * pipe; the parent SIGKILLs it at some point. The file must read as valid, with at least every
 * frame the child saw flushed, and exactly the samples written.
 */
static void valid_after_kill(void **st)
{
    int kill_after[] = {0, 1, 7, 50};
    size_t k;

    (void)st;
    for (k = 0; k < sizeof(kill_after) / sizeof(kill_after[0]); k++) {
        char path[300];
        int fds[2], status;
        uint64_t flushed = 0, got;
        pid_t pid;
        struct vox_wav_info info;
        int16_t *s = NULL;
        size_t i;

        snprintf(path, sizeof(path), "%s/kill%zu.wav", tmpdir, k);
        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct vox_wav_writer_config cfg = {.flush_interval_frames = 160};
            struct vox_wav_writer *w = NULL;
            int16_t chunk[2 * 50];
            uint64_t done = 0, last = 0;

            close(fds[0]);
            if (vox_wav_writer_open(path, 8000, 2, &cfg, &w, NULL))
                _exit(2);
            if (write(fds[1], &last, sizeof(last)) != sizeof(last)) /* "opened" */
                _exit(4);
            /* bounded: the parent kills long before; 10 M frames is a safety stop */
            while (done < 10000000) {
                fill(chunk, 2 * 50, done * 2);
                if (vox_wav_write(w, chunk, 50))
                    _exit(3);
                done += 50;
                if (vox_wav_frames_flushed(w) != last) {
                    last = vox_wav_frames_flushed(w);
                    if (write(fds[1], &last, sizeof(last)) != sizeof(last))
                        _exit(4);
                }
            }
            _exit(5);
        }
        close(fds[1]);
        assert_int_equal(read(fds[0], &flushed, sizeof(flushed)), sizeof(flushed));
        for (i = 0; i < (size_t)kill_after[k]; i++)
            assert_int_equal(read(fds[0], &flushed, sizeof(flushed)), sizeof(flushed));
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        /* flushes the child reported before dying count too */
        while (read(fds[0], &got, sizeof(got)) == sizeof(got))
            flushed = got;
        close(fds[0]);

        assert_int_equal(vox_wav_read(path, &info, &s, NULL), 0);
        assert_int_equal(info.channels, 2);
        assert_int_equal(info.rate_hz, 8000);
        assert_true(info.frames >= flushed);
        assert_int_equal(info.frames % 160, 0); /* only whole flushes are counted */
        for (i = 0; i < info.frames * 2; i++)
            if (s[i] != pattern(i))
                fail_msg("kill %zu: sample %zu is %d, wrote %d", k, i, s[i], pattern(i));
        free(s);
    }
}

/* Builds a WAV image: fmt fields given, optional extra chunk before data. */
static size_t make_wav(unsigned char *b, uint16_t tag, uint16_t ch, uint32_t rate, uint16_t bits,
                       uint32_t data_bytes, size_t data_present)
{
    size_t i;

    memcpy(b, "RIFF", 4);
    put_le32(b + 4, (uint32_t)(36 + data_present));
    memcpy(b + 8, "WAVEfmt ", 8);
    put_le32(b + 16, 16);
    put_le16(b + 20, tag);
    put_le16(b + 22, ch);
    put_le32(b + 24, rate);
    put_le32(b + 28, rate * ch * (bits / 8u));
    put_le16(b + 32, (uint16_t)(ch * (bits / 8u)));
    put_le16(b + 34, bits);
    memcpy(b + 36, "data", 4);
    put_le32(b + 40, data_bytes);
    for (i = 0; i < data_present; i++)
        b[44 + i] = (unsigned char)i;
    return 44 + data_present;
}

static void expect_error(const char *name, const unsigned char *img, size_t len, int want_rc,
                         const char *want_text)
{
    char path[300];
    struct vox_wav_info info;
    struct vox_diag d = {{0}};
    int16_t *s = (int16_t *)&info; /* must be reset to NULL on error */
    int rc;

    path_of(path, sizeof(path), name);
    vox_test_write_file(path, img, len);
    rc = vox_wav_read(path, &info, &s, &d);
    if (rc != want_rc || !strstr(d.text, want_text) || !strstr(d.text, name))
        fail_msg("%s: rc %s, diag \"%s\"; wanted %s and \"%s\"", name, vox_err_name(rc), d.text,
                 vox_err_name(want_rc), want_text);
    assert_null(s);
    assert_int_equal(info.frames, 0);
}

static void bad_headers(void **st)
{
    unsigned char b[256];
    size_t n;

    (void)st;
    n = make_wav(b, 1, 1, 8000, 16, 8, 8);
    memcpy(b, "RIFX", 4);
    expect_error("rifx.wav", b, n, VOX_EMALFORMED, "RIFX files not supported");
    memcpy(b, "JUNK", 4);
    expect_error("junk.wav", b, n, VOX_EMALFORMED, "not a RIFF file");
    memcpy(b, "RIFF", 4);
    memcpy(b + 8, "AVI ", 4);
    expect_error("avi.wav", b, n, VOX_EMALFORMED, "not \"WAVE\"");

    n = make_wav(b, 3, 1, 8000, 32, 8, 8);
    expect_error("float.wav", b, n, VOX_EMALFORMED, "format 3 (IEEE float) not supported");
    n = make_wav(b, 1, 1, 8000, 24, 9, 9);
    expect_error("pcm24.wav", b, n, VOX_EMALFORMED, "24-bit samples not supported");
    n = make_wav(b, 1, 3, 8000, 16, 12, 12);
    expect_error("three.wav", b, n, VOX_EMALFORMED, "3 channels not supported");
    n = make_wav(b, 1, 1, 0, 16, 8, 8);
    expect_error("rate0.wav", b, n, VOX_EMALFORMED, "sample rate 0 Hz");
    n = make_wav(b, 1, 2, 8000, 16, 8, 8);
    put_le16(b + 32, 2);
    expect_error("align.wav", b, n, VOX_EMALFORMED, "block align 2, expected 4");
    n = make_wav(b, 1, 2, 8000, 16, 8, 8);
    put_le32(b + 28, 16000);
    expect_error("byterate.wav", b, n, VOX_EMALFORMED, "byte rate 16000, expected 32000");
    n = make_wav(b, 1, 1, 8000, 16, 8, 8);
    put_le32(b + 16, 12);
    expect_error("fmtsize.wav", b, n, VOX_EMALFORMED, "size 12 bytes");

    /* data before fmt */
    memcpy(b, "RIFF\0\0\0\0WAVEdata\4\0\0\0abcd", 24);
    expect_error("order.wav", b, 24, VOX_EMALFORMED, "data chunk at offset 12 before the fmt");
    /* two fmt chunks */
    n = make_wav(b, 1, 1, 8000, 16, 0, 0);
    memmove(b + 36 + 24, b + 36, 8);
    memcpy(b + 36, b + 12, 24);
    expect_error("twofmt.wav", b, n + 24, VOX_EMALFORMED, "second fmt chunk at offset 36");
    /* an unknown chunk claiming more than the file */
    n = make_wav(b, 1, 1, 8000, 16, 0, 0);
    memcpy(b + 36, "LIST\xff\xff\0\0", 8);
    expect_error("bigchunk.wav", b, 44, VOX_EINCOMPLETE, "\"LIST\" chunk claims 65535 bytes");
    /* the file ends inside the header */
    n = make_wav(b, 1, 1, 8000, 16, 0, 0);
    expect_error("short8.wav", b, 8, VOX_EINCOMPLETE, "file ends after 8 of 12 bytes");
    expect_error("short30.wav", b, 30, VOX_EINCOMPLETE, "fmt chunk: file ends after 10 of 16");
    expect_error("short40.wav", b, 40, VOX_EINCOMPLETE, "before the data chunk");
}

/* Odd-sized unknown chunks are skipped with their pad byte; data follows. */
static void skips_unknown_chunks(void **st)
{
    unsigned char b[256];
    char path[300];
    struct vox_wav_info info;
    int16_t *s = NULL;

    (void)st;
    make_wav(b, 1, 1, 8000, 16, 4, 0);
    memcpy(b + 52, b + 36, 8); /* data header moves behind a 7-byte LIST chunk (+1 pad) */
    memcpy(b + 36, "LIST\7\0\0\0INFOabc\0", 16);
    put_le16(b + 60, 1000);
    put_le16(b + 62, (uint16_t)-1000);
    path_of(path, sizeof(path), "list.wav");
    vox_test_write_file(path, b, 64);
    assert_int_equal(vox_wav_read(path, &info, &s, NULL), 0);
    assert_int_equal(info.data_offset, 60);
    assert_int_equal(info.frames, 2);
    assert_int_equal(s[0], 1000);
    assert_int_equal(s[1], -1000);
    free(s);
}

/* Sizes that disagree with the file are tolerated and flagged; whole frames are used. */
static void truncated_data(void **st)
{
    unsigned char b[256];
    char path[300];
    struct vox_wav_info info;
    struct vox_diag d = {{0}};
    int16_t *s = NULL;
    struct {
        uint32_t declared;
        size_t present;
        uint64_t frames;
        int truncated;
    } cases[] = {
        {0, 8, 2, 1},           /* killed before the first header update */
        {0xFFFFFFFFu, 8, 2, 1}, /* streaming writer's "unknown" */
        {100, 10, 2, 1},        /* cut short; 10 bytes = 2 stereo frames + 2 bytes */
        {8, 12, 2, 0},          /* bytes past the declared size: ignored */
        {6, 6, 1, 1},           /* not a whole number of frames */
        {0, 0, 0, 0},           /* empty */
    };
    size_t i;

    (void)st;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = make_wav(b, 1, 2, 8000, 16, cases[i].declared, cases[i].present);

        path_of(path, sizeof(path), "trunc.wav");
        vox_test_write_file(path, b, n);
        d.text[0] = '\0';
        assert_int_equal(vox_wav_read(path, &info, &s, &d), 0);
        assert_int_equal(info.frames, cases[i].frames);
        assert_int_equal(info.truncated, cases[i].truncated);
        if (cases[i].truncated)
            assert_non_null(strstr(d.text, "whole frames"));
        if (cases[i].frames)
            assert_int_equal((uint16_t)s[0], 0x0100); /* bytes 0, 1 little-endian */
        else
            assert_null(s);
        free(s);
        s = NULL;
    }
}

/* Every prefix of a valid file reads as an error or as a (truncated) valid file. */
static void every_prefix(void **st)
{
    char path[300], cut[300];
    unsigned char full[44 + 2 * 2 * 40];
    size_t len, n;

    (void)st;
    path_of(path, sizeof(path), "full.wav");
    path_of(cut, sizeof(cut), "cut.wav");
    write_pattern(path, 8000, 2, 40, 16);
    n = vox_test_read_file(path, full, sizeof(full));
    assert_int_equal(n, sizeof(full));
    for (len = 0; len <= n; len++) {
        struct vox_wav_info info;
        int16_t *s = NULL;
        int rc;

        vox_test_write_file(cut, full, len);
        rc = vox_wav_read(cut, &info, &s, NULL);
        if (len < 44) {
            assert_true(rc == VOX_EINCOMPLETE || (len == 0 && rc == VOX_EINCOMPLETE));
            assert_null(s);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(info.frames, (len - 44) / 4);
            assert_int_equal(info.truncated, len < n);
            if (info.frames)
                assert_int_equal(s[2 * info.frames - 1], pattern(2 * info.frames - 1));
            free(s);
        }
    }
}

static void writer_errors(void **st)
{
    struct vox_wav_writer *w = (struct vox_wav_writer *)st;
    struct vox_diag d = {{0}};
    char path[300];
    int16_t s[4] = {0};
    struct vox_wav_info info;

    assert_int_equal(vox_wav_writer_open("/nonexistent-dir/x.wav", 8000, 1, NULL, &w, &d),
                     VOX_ENOENT);
    assert_null(w);
    assert_non_null(strstr(d.text, "/nonexistent-dir/x.wav: cannot create"));
    path_of(path, sizeof(path), "bad.wav");
    assert_int_equal(vox_wav_writer_open(path, 8000, 3, NULL, &w, &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "3 channel(s)"));
    assert_int_equal(vox_wav_writer_open(path, 0, 1, NULL, &w, &d), VOX_EINVAL);
    assert_int_equal(vox_wav_read("/nonexistent-dir/x.wav", &info, NULL, &d), VOX_ENOENT);
    assert_int_equal(vox_wav_read(tmpdir, &info, NULL, &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "not a regular file"));

    /* /dev/full: the header cannot be written, and open says so */
    if (access("/dev/full", W_OK) == 0) {
        assert_int_equal(vox_wav_writer_open("/dev/full", 8000, 1, NULL, &w, &d), -ENOSPC);
        assert_non_null(strstr(d.text, "cannot write the header"));
    }

    /* a write that would pass the 4 GiB RIFF limit writes nothing */
    assert_int_equal(vox_wav_writer_open(path, 8000, 1, NULL, &w, NULL), 0);
    assert_int_equal(vox_wav_write(w, s, 4), 0);
    assert_int_equal(vox_wav_write(w, s, (size_t)1 << 31), VOX_ELIMIT);
    assert_int_equal(vox_wav_frames_written(w), 4);
    assert_int_equal(vox_wav_write(w, NULL, 1), VOX_EINVAL);
    assert_int_equal(vox_wav_close(w), 0);
    assert_int_equal(vox_wav_close(NULL), 0);
    assert_int_equal(vox_wav_read(path, &info, NULL, NULL), 0);
    assert_int_equal(info.frames, 4);
}

static int make_tmpdir(void **st)
{
    const char *base = getenv("TMPDIR");

    (void)st;
    snprintf(tmpdir, sizeof(tmpdir), "%s/vox-wav-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **st)
{
    char cmd[400];

    (void)st;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_mono_stereo),
        cmocka_unit_test(header_bytes),
        cmocka_unit_test(sox_reads_our_files),
        cmocka_unit_test(valid_after_kill),
        cmocka_unit_test(bad_headers),
        cmocka_unit_test(skips_unknown_chunks),
        cmocka_unit_test(truncated_data),
        cmocka_unit_test(every_prefix),
        cmocka_unit_test(writer_errors),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("media wav", tests, make_tmpdir, remove_tmpdir);
}
