/* SPDX-License-Identifier: MIT */
/* RIFF/WAVE PCM16 files (mono/stereo): a writer that stays valid when killed, a strict reader. */
#ifndef VOX_WAV_H
#define VOX_WAV_H

#include <stddef.h>
#include <stdint.h>

#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Writer. Opaque; one per file. Not thread-safe: calls on one writer must not race (distinct
 * writers are independent).
 *
 * Flush policy (what survives a kill). The 44-byte canonical header is written at open with
 * data size 0. Samples are appended to an in-memory buffer; a *flush* writes the buffer to the
 * file and then rewrites the whole header (RIFF and data chunk sizes) with one pwrite(). A
 * flush happens at every vox_wav_flush(), whenever the buffer reaches `flush_interval_frames`
 * (default: one second of audio, rate_hz frames) and at vox_wav_close(). Since data is always
 * written before the header that counts it, the file on disk is at every instant a valid WAV
 * whose header covers exactly the data flushed so far (any bytes past it belong to an
 * interrupted flush and are ignored by readers). A process killed at any point therefore
 * leaves a valid file with every frame of the last completed flush: at most
 * flush_interval_frames are lost. Without `sync` the file is safe against process death but
 * not against power loss; with it each flush also calls fdatasync().
 */
struct vox_wav_writer;

/* Options for vox_wav_writer_open(); zero fields mean the default. */
struct vox_wav_writer_config {
    size_t flush_interval_frames; /* flush after this many buffered frames (default rate_hz) */
    int sync;                     /* non-zero: fdatasync() after each flush (default off) */
};

/*
 * Creates (or truncates) `path` and writes a header for an empty PCM16 stream of `channels`
 * (1 or 2) interleaved channels at `rate_hz` (1..1000000). `cfg` may be NULL. On success
 * stores the writer in *out (owned by the caller, released by vox_wav_close) and returns 0.
 * Errors: VOX_EINVAL (bad rate/channels/arguments), VOX_ENOMEM, OS errors as VOX__ERR(errno)
 * (VOX_ENOENT, ...); `diag` (may be NULL) then names the file and the problem.
 */
int vox_wav_writer_open(const char *path, unsigned rate_hz, unsigned channels,
                        const struct vox_wav_writer_config *cfg, struct vox_wav_writer **out,
                        struct vox_diag *diag);

/*
 * Appends `nframes` frames (nframes * channels interleaved host-endian samples, read from
 * `frames`, which the caller keeps) and flushes when the interval is reached. Returns 0, or
 * VOX_ELIMIT when the data would pass the 4 GiB RIFF limit (nothing of this call is written),
 * or an OS error from the flush. After an OS error the writer only accepts vox_wav_close().
 */
int vox_wav_write(struct vox_wav_writer *w, const int16_t *frames, size_t nframes);

/* Writes buffered frames and rewrites the header sizes (see the flush policy). Returns 0 or an
 * OS error. */
int vox_wav_flush(struct vox_wav_writer *w);

/* Frames accepted by vox_wav_write so far, and those already flushed to the file. */
uint64_t vox_wav_frames_written(const struct vox_wav_writer *w);
uint64_t vox_wav_frames_flushed(const struct vox_wav_writer *w);

/*
 * Flushes, closes the file and frees the writer (always, even on error). NULL is a no-op.
 * Returns 0 or the first error of the final flush/close (or an earlier sticky write error).
 */
int vox_wav_close(struct vox_wav_writer *w);

/* What vox_wav_read() found. */
struct vox_wav_info {
    unsigned rate_hz;        /* frames per second */
    unsigned channels;       /* 1 or 2 */
    uint64_t frames;         /* frames returned (usable), each channels * 2 bytes */
    uint64_t data_offset;    /* byte offset of the first sample in the file */
    uint64_t declared_bytes; /* the data chunk's size field as written (may be 0/0xFFFFFFFF) */
    int truncated;           /* 1: the data chunk's size disagrees with the file (still being
                                written, killed, or cut short); `frames` is what is there */
};

/*
 * Reads and validates a PCM16 WAV file: RIFF/WAVE magic; a fmt chunk (format 1, 1 or 2
 * channels, 16 bits, rate > 0, block align and byte rate consistent) before the data chunk;
 * unknown chunks (LIST, fact, ...) are skipped. A data size of 0 or 0xFFFFFFFF, larger than the
 * file, or not a whole number of frames is tolerated: the whole frames present are used,
 * info->truncated is set and `diag` explains (the call still returns 0).
 *
 * On success fills *info and, when `samples_out` is not NULL, stores in it a malloc'd array of
 * info->frames * info->channels interleaved host-endian samples that the caller frees with
 * free() (NULL when there are no frames). Returns 0, or: VOX_EINCOMPLETE (the file ends before
 * the header, the fmt chunk or the data chunk header is complete), VOX_EMALFORMED (bad magic,
 * unsupported or inconsistent format, data before fmt, duplicate fmt, ...), VOX_ENOMEM, or an
 * OS error (VOX_ENOENT, VOX_EIO, ...); `diag` (may be NULL) then reads "PATH: what: why", e.g.
 * "x.wav: fmt chunk: 24-bit samples not supported". On error *samples_out is NULL.
 * Thread-safe (no shared state).
 */
int vox_wav_read(const char *path, struct vox_wav_info *info, int16_t **samples_out,
                 struct vox_diag *diag);

#ifdef __cplusplus
}
#endif

#endif /* VOX_WAV_H */
