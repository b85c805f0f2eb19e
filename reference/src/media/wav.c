/* SPDX-License-Identifier: MIT */
/* RIFF/WAVE PCM16 writer (header rewritten after every flush, so always valid) and reader. */
#include "vox/wav.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_BYTES   44
#define MAX_RATE_HZ    1000000u
#define MAX_BUF_BYTES  (16u << 20) /* largest flush interval the writer buffers */
#define MAX_FMT_BYTES  4096u       /* a fmt chunk larger than this is garbage, not a format */
#define RIFF_MAX_BYTES 0xFFFFFFFFu /* RIFF sizes are 32-bit */

struct vox_wav_writer {
    int fd;
    int err; /* sticky: first OS error of a flush */
    unsigned channels;
    unsigned rate_hz;
    int sync;
    size_t interval_frames;
    size_t buf_frames;       /* frames waiting in buf */
    unsigned char *buf;      /* interval_frames frames, little-endian */
    uint64_t flushed_frames; /* frames on disk and counted by the header */
    uint64_t max_frames;     /* most frames a RIFF file can hold */
};

static void put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)(v >> 8);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)((v >> 8) & 0xFF);
    p[2] = (unsigned char)((v >> 16) & 0xFF);
    p[3] = (unsigned char)(v >> 24);
}

static uint16_t get_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Writes all of buf at `off` (or appends when off < 0); returns 0 or a negative errno code. */
static int write_all(int fd, const unsigned char *buf, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = off < 0 ? write(fd, buf, len) : pwrite(fd, buf, len, off);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return VOX__ERR(errno);
        }
        buf += n;
        len -= (size_t)n;
        if (off >= 0)
            off += n;
    }
    return 0;
}

/* Reads up to len bytes at off; returns the count (short only at end of file) or -errno. */
static ssize_t read_at(int fd, uint64_t off, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return VOX__ERR(errno);
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static void build_header(unsigned char h[HEADER_BYTES], unsigned rate_hz, unsigned channels,
                         uint32_t data_bytes)
{
    unsigned block = channels * 2;

    memcpy(h, "RIFF", 4);
    put_le32(h + 4, 36 + data_bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le32(h + 16, 16);
    put_le16(h + 20, 1); /* WAVE_FORMAT_PCM */
    put_le16(h + 22, (uint16_t)channels);
    put_le32(h + 24, rate_hz);
    put_le32(h + 28, rate_hz * block);
    put_le16(h + 32, (uint16_t)block);
    put_le16(h + 34, 16);
    memcpy(h + 36, "data", 4);
    put_le32(h + 40, data_bytes);
}

int vox_wav_writer_open(const char *path, unsigned rate_hz, unsigned channels,
                        const struct vox_wav_writer_config *cfg, struct vox_wav_writer **out,
                        struct vox_diag *diag)
{
    struct vox_wav_writer *w = NULL;
    unsigned char h[HEADER_BYTES];
    size_t interval;
    int rc;

    if (out)
        *out = NULL;
    if (!path || !out || channels < 1 || channels > 2 || rate_hz < 1 || rate_hz > MAX_RATE_HZ) {
        vox_diag_set(diag, "%s: cannot write %u channel(s) at %u Hz (1 or 2 channels, 1..%u Hz)",
                     path ? path : "(null)", channels, rate_hz, MAX_RATE_HZ);
        rc = VOX_EINVAL;
        goto fail;
    }
    interval = cfg && cfg->flush_interval_frames ? cfg->flush_interval_frames : rate_hz;
    if (interval > MAX_BUF_BYTES / (channels * 2)) {
        vox_diag_set(diag, "%s: flush interval of %zu frames exceeds the %u-byte buffer limit",
                     path, interval, MAX_BUF_BYTES);
        rc = VOX_EINVAL;
        goto fail;
    }
    w = calloc(1, sizeof(*w));
    if (!w || !(w->buf = malloc(interval * channels * 2))) {
        rc = VOX_ENOMEM;
        vox_diag_set(diag, "%s: out of memory for the writer", path);
        goto fail;
    }
    w->fd = -1;
    w->channels = channels;
    w->rate_hz = rate_hz;
    w->sync = cfg ? cfg->sync : 0;
    w->interval_frames = interval;
    w->max_frames = (RIFF_MAX_BYTES - 36) / (channels * 2);
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = VOX__ERR(errno);
        vox_diag_set(diag, "%s: cannot create: %s", path, strerror(errno));
        goto fail;
    }
    build_header(h, rate_hz, channels, 0);
    rc = write_all(w->fd, h, sizeof(h), -1);
    if (rc) {
        vox_diag_set(diag, "%s: cannot write the header: %s", path, strerror(-rc));
        goto fail;
    }
    *out = w;
    return 0;
fail:
    if (w) {
        if (w->fd >= 0)
            close(w->fd);
        free(w->buf);
        free(w);
    }
    return rc;
}

int vox_wav_flush(struct vox_wav_writer *w)
{
    unsigned char h[HEADER_BYTES];
    size_t block;
    int rc;

    if (!w)
        return VOX_EINVAL;
    if (w->err)
        return w->err;
    block = w->channels * 2;
    /* data first, then the header that counts it: a kill between the two loses only this
     * flush, never makes the header claim bytes that are not there */
    rc = write_all(w->fd, w->buf, w->buf_frames * block, -1);
    if (rc)
        goto out;
    w->flushed_frames += w->buf_frames;
    w->buf_frames = 0;
    build_header(h, w->rate_hz, w->channels, (uint32_t)(w->flushed_frames * block));
    rc = write_all(w->fd, h, sizeof(h), 0); /* one pwrite: both sizes change together */
    if (rc)
        goto out;
    if (w->sync && fdatasync(w->fd) < 0)
        rc = VOX__ERR(errno);
out:
    w->err = rc;
    return rc;
}

int vox_wav_write(struct vox_wav_writer *w, const int16_t *frames, size_t nframes)
{
    size_t block, i;

    if (!w || (!frames && nframes))
        return VOX_EINVAL;
    if (w->err)
        return w->err;
    if (nframes > w->max_frames - w->flushed_frames - w->buf_frames)
        return VOX_ELIMIT;
    block = w->channels * 2;
    while (nframes > 0) {
        size_t n = w->interval_frames - w->buf_frames;
        unsigned char *dst = w->buf + w->buf_frames * block;

        if (n > nframes)
            n = nframes;
        for (i = 0; i < n * w->channels; i++)
            put_le16(dst + 2 * i, (uint16_t)frames[i]);
        frames += n * w->channels;
        nframes -= n;
        w->buf_frames += n;
        if (w->buf_frames == w->interval_frames) {
            int rc = vox_wav_flush(w);

            if (rc)
                return rc;
        }
    }
    return 0;
}

uint64_t vox_wav_frames_written(const struct vox_wav_writer *w)
{
    return w ? w->flushed_frames + w->buf_frames : 0;
}

uint64_t vox_wav_frames_flushed(const struct vox_wav_writer *w)
{
    return w ? w->flushed_frames : 0;
}

int vox_wav_close(struct vox_wav_writer *w)
{
    int rc;

    if (!w)
        return 0;
    rc = vox_wav_flush(w);
    if (close(w->fd) < 0 && rc == 0)
        rc = VOX__ERR(errno);
    free(w->buf);
    free(w);
    return rc;
}

/* ---- reader ---------------------------------------------------------------------------------- */

/* A chunk id for messages: printable characters as they are, others as '?'. */
static void chunk_name(const unsigned char id[4], char out[5])
{
    int i;

    for (i = 0; i < 4; i++)
        out[i] = id[i] >= 0x20 && id[i] < 0x7F ? (char)id[i] : '?';
    out[4] = '\0';
}

static const char *format_name(unsigned tag)
{
    switch (tag) {
    case 2:
        return " (MS ADPCM)";
    case 3:
        return " (IEEE float)";
    case 6:
        return " (A-law)";
    case 7:
        return " (mu-law)";
    case 0x11:
        return " (IMA ADPCM)";
    case 0x55:
        return " (MP3)";
    case 0xFFFE:
        return " (extensible)";
    default:
        return "";
    }
}

/* Checks a fmt chunk's first 16 bytes; fills rate/channels or explains in diag. */
static int check_fmt(const char *path, const unsigned char f[16], struct vox_wav_info *info,
                     struct vox_diag *diag)
{
    unsigned tag = get_le16(f), channels = get_le16(f + 2), bits = get_le16(f + 14);
    unsigned block = get_le16(f + 12);
    uint32_t rate = get_le32(f + 4), byte_rate = get_le32(f + 8);

    if (tag != 1) {
        vox_diag_set(diag, "%s: fmt chunk: format %u%s not supported, only PCM (1)", path, tag,
                     format_name(tag));
        return VOX_EMALFORMED;
    }
    if (channels < 1 || channels > 2) {
        vox_diag_set(diag, "%s: fmt chunk: %u channels not supported (1 or 2)", path, channels);
        return VOX_EMALFORMED;
    }
    if (bits != 16) {
        vox_diag_set(diag, "%s: fmt chunk: %u-bit samples not supported", path, bits);
        return VOX_EMALFORMED;
    }
    if (rate < 1 || rate > MAX_RATE_HZ) {
        vox_diag_set(diag, "%s: fmt chunk: sample rate %" PRIu32 " Hz out of range (1..%u)", path,
                     rate, MAX_RATE_HZ);
        return VOX_EMALFORMED;
    }
    if (block != channels * 2) {
        vox_diag_set(diag,
                     "%s: fmt chunk: block align %u, expected %u for %u channel(s) of 16 bits",
                     path, block, channels * 2, channels);
        return VOX_EMALFORMED;
    }
    if (byte_rate != rate * block) {
        vox_diag_set(diag,
                     "%s: fmt chunk: byte rate %" PRIu32 ", expected %" PRIu32 " (%" PRIu32
                     " Hz x %u bytes)",
                     path, byte_rate, rate * block, rate, block);
        return VOX_EMALFORMED;
    }
    info->rate_hz = rate;
    info->channels = channels;
    return 0;
}

int vox_wav_read(const char *path, struct vox_wav_info *info, int16_t **samples_out,
                 struct vox_diag *diag)
{
    unsigned char hdr[12], ch[8], fmt[16], *raw = NULL;
    char name[5];
    int16_t *samples = NULL;
    uint64_t file_bytes, off, use_bytes, block, i;
    struct stat st;
    int fd = -1, rc = 0, have_fmt = 0;
    ssize_t n;

    if (samples_out)
        *samples_out = NULL;
    if (!path || !info) {
        vox_diag_set(diag, "vox_wav_read: NULL path or info");
        return VOX_EINVAL;
    }
    memset(info, 0, sizeof(*info));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = VOX__ERR(errno);
        vox_diag_set(diag, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = VOX_EINVAL;
        vox_diag_set(diag, "%s: not a regular file", path);
        goto out;
    }
    file_bytes = (uint64_t)st.st_size;

    n = read_at(fd, 0, hdr, sizeof(hdr));
    if (n < 0) {
        rc = (int)n;
        vox_diag_set(diag, "%s: read: %s", path, strerror((int)-n));
        goto out;
    }
    if (n >= 4 && memcmp(hdr, "RIFF", 4) != 0) {
        rc = VOX_EMALFORMED;
        if (memcmp(hdr, "RF64", 4) == 0 || memcmp(hdr, "RIFX", 4) == 0)
            vox_diag_set(diag, "%s: %.4s files not supported, only little-endian RIFF", path,
                         (const char *)hdr);
        else
            vox_diag_set(diag, "%s: not a RIFF file (no \"RIFF\" magic)", path);
        goto out;
    }
    if (n < (ssize_t)sizeof(hdr)) {
        rc = VOX_EINCOMPLETE;
        vox_diag_set(diag, "%s: RIFF header: file ends after %zd of 12 bytes", path, n);
        goto out;
    }
    if (memcmp(hdr + 8, "WAVE", 4) != 0) {
        chunk_name(hdr + 8, name);
        rc = VOX_EMALFORMED;
        vox_diag_set(diag, "%s: RIFF form type is \"%s\", not \"WAVE\"", path, name);
        goto out;
    }
    /* the RIFF size is ignored: streaming writers leave it 0 or 0xFFFFFFFF */
    for (off = 12;;) {
        uint32_t size;

        n = read_at(fd, off, ch, sizeof(ch));
        if (n < 0) {
            rc = (int)n;
            vox_diag_set(diag, "%s: read: %s", path, strerror((int)-n));
            goto out;
        }
        if (n < (ssize_t)sizeof(ch)) {
            rc = VOX_EINCOMPLETE;
            vox_diag_set(diag, "%s: file ends at offset %" PRIu64 " before %s", path, file_bytes,
                         have_fmt ? "the data chunk" : "the fmt chunk");
            goto out;
        }
        size = get_le32(ch + 4);
        chunk_name(ch, name);
        if (memcmp(ch, "fmt ", 4) == 0) {
            if (have_fmt) {
                rc = VOX_EMALFORMED;
                vox_diag_set(diag, "%s: second fmt chunk at offset %" PRIu64, path, off);
                goto out;
            }
            if (size < 16 || size > MAX_FMT_BYTES) {
                rc = VOX_EMALFORMED;
                vox_diag_set(diag, "%s: fmt chunk: size %" PRIu32 " bytes, expected 16..%u", path,
                             size, MAX_FMT_BYTES);
                goto out;
            }
            n = read_at(fd, off + 8, fmt, sizeof(fmt));
            if (n >= 0 && n < (ssize_t)sizeof(fmt)) {
                rc = VOX_EINCOMPLETE;
                vox_diag_set(diag, "%s: fmt chunk: file ends after %zd of 16 bytes", path, n);
                goto out;
            }
            if (n < 0) {
                rc = (int)n;
                vox_diag_set(diag, "%s: read: %s", path, strerror((int)-n));
                goto out;
            }
            rc = check_fmt(path, fmt, info, diag);
            if (rc)
                goto out;
            have_fmt = 1;
        } else if (memcmp(ch, "data", 4) == 0) {
            if (!have_fmt) {
                rc = VOX_EMALFORMED;
                vox_diag_set(diag, "%s: data chunk at offset %" PRIu64 " before the fmt chunk",
                             path, off);
                goto out;
            }
            info->data_offset = off + 8;
            info->declared_bytes = size;
            break;
        }
        /* RIFF chunks are padded to an even size */
        off += 8 + (uint64_t)size + (size & 1);
        if (off > file_bytes) {
            rc = VOX_EINCOMPLETE;
            vox_diag_set(diag,
                         "%s: \"%s\" chunk claims %" PRIu32
                         " bytes, past the end of the file (%" PRIu64 " bytes) before %s",
                         path, name, size, file_bytes,
                         have_fmt ? "the data chunk" : "the fmt chunk");
            goto out;
        }
    }

    block = info->channels * 2u;
    use_bytes = file_bytes - info->data_offset;
    if ((info->declared_bytes == 0 && use_bytes > 0) || info->declared_bytes == 0xFFFFFFFFu ||
        info->declared_bytes > use_bytes)
        info->truncated = 1;
    else
        use_bytes = info->declared_bytes;
    if (use_bytes % block)
        info->truncated = 1;
    info->frames = use_bytes / block;
    if (info->truncated)
        vox_diag_set(diag,
                     "%s: data chunk declares %" PRIu64 " bytes, the file holds %" PRIu64
                     " after offset %" PRIu64 "; using %" PRIu64 " whole frames",
                     path, info->declared_bytes, file_bytes - info->data_offset, info->data_offset,
                     info->frames);
    if (!samples_out || info->frames == 0)
        goto out;

    if (info->frames * block > SIZE_MAX / 2 ||
        !(samples = malloc((size_t)(info->frames * block)))) {
        rc = VOX_ENOMEM;
        vox_diag_set(diag, "%s: out of memory for %" PRIu64 " frames", path, info->frames);
        goto out;
    }
    raw = (unsigned char *)samples; /* converted in place: same size, each sample read first */
    n = read_at(fd, info->data_offset, raw, (size_t)(info->frames * block));
    if (n < 0 || (uint64_t)n != info->frames * block) {
        rc = n < 0 ? (int)n : VOX_EINCOMPLETE;
        vox_diag_set(diag, "%s: data: %s", path,
                     n < 0 ? strerror((int)-n) : "file shrank while being read");
        goto out;
    }
    for (i = 0; i < info->frames * info->channels; i++)
        samples[i] = (int16_t)get_le16(raw + 2 * i);
    *samples_out = samples;
    samples = NULL;
out:
    free(samples);
    if (fd >= 0)
        close(fd);
    if (rc)
        memset(info, 0, sizeof(*info));
    return rc;
}
