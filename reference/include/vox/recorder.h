/* SPDX-License-Identifier: MIT */
/* The SIPREC server's recorder: RTP from the sockets of a session's streams to WAV files (one
 * per stream plus a stereo mix) and a JSON description, paced by a media clock. */
#ifndef VOX_RECORDER_H
#define VOX_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vox/alloc.h"
#include "vox/err.h"
#include "vox/exec.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Model.
 *
 * An *engine* owns a media clock: one ticker thread wakes every `tick_ms` (absolute sleeps on
 * CLOCK_MONOTONIC) and, for every open *session*, submits one task to the executor (or runs it
 * on the ticker when there is none). A session's task never runs twice at once: when the
 * previous one has not finished, the tick is skipped for that session (ticks_skipped). With
 * `manual_clock` there is no thread: the caller drives the clock with vox_rec_engine_tick().
 *
 * A session has up to VOX_REC_MAX_STREAMS *streams*, each a UDP socket the caller bound. A task
 * drains every socket (recvmmsg, until EAGAIN), parses RTP, checks the payload type against the
 * stream's map and feeds the stream's jitter buffer; then it plays out every 20 ms frame that
 * wall time says is due. Output runs `jitter_ms` behind the clock: a packet is written at the
 * position of its arrival (a talk spurt starts where its first packet arrived), and what comes
 * in up to `jitter_ms` late or out of order still lands in place. A late tick catches up, so
 * the length of every file follows the clock: anything missing (loss, DTX, hold, the time
 * before the first packet) is written as silence, or concealed by Opus PLC for an Opus packet
 * lost inside a talk spurt. A recording is therefore as long as the session (the stream's part
 * of it), to the 20 ms frame.
 *
 * Files, for a session whose id sanitises to S (characters outside [A-Za-z0-9._@-] become '_',
 * at most VOX_REC_ID_MAX of them; "-1", "-2", ... is appended when S is open already or its
 * files exist, so nothing recorded is ever overwritten):
 *   <dir>/S_<label>.wav  one per stream: mono PCM16 at the engine's rate, from the moment the
 *                        stream was added to the moment it was stopped or the session closed;
 *   <dir>/S.wav          the mix: stereo PCM16, left = stream 0, right = stream 1, silence for
 *                        a channel whose stream does not exist (yet, or any more). A session
 *                        with one stream has a silent right channel: a channel always means
 *                        the same stream, even when a second one is added later. Streams 2 and
 *                        up are only in their own files;
 *   <dir>/S.json         the session described (see vox_rec_session_open), replaced atomically
 *                        (temporary file, fsync, rename) at open, after each change (metadata,
 *                        streams added or stopped) and at close.
 * The WAV writers flush every `flush_ms`: data first, then the header that counts it, so a
 * process killed at any moment leaves valid files missing at most the last flush_ms of audio.
 *
 * Threads. Every function may be called from any thread. Functions that change a session
 * (stream add/set/stop, metadata) only record the change under a short lock and never wait for
 * the session's task: the task applies them when it next runs (within one tick). A caller may
 * therefore hold its own locks across these calls even when on_timeout takes the same locks.
 * vox_rec_session_close() waits for the session's task only while it runs (never for one still
 * queued in the executor), and the ticker never waits for a session: a busy one gets the next
 * tick, which catches up.
 *
 * Memory per session: the structures (0.6 KiB, plus 1.6 KiB per stream), one jitter buffer per
 * stream (about (jitter_ms / 20 + 8) x 500 bytes for G.711, x 1500 with Opus; the window
 * doubles, up to 128 packets, when a task that ran late finds it full), and the WAV
 * writers' buffers, 2 bytes x rate_hz x flush_ms / 1000 per channel, (streams + 2) channels: at
 * 8000 Hz and the default flush_ms of 1000 the WAV buffers are 64 000 bytes of a two-stream
 * session's 80 KB; flush_ms = 250 brings them to 16 000. Packet and decoding buffers (80 KiB)
 * belong to the tasks running at one moment, not to the sessions.
 */
struct vox_rec_engine;
struct vox_rec_session;

#define VOX_REC_MAX_STREAMS 16  /* streams per session */
#define VOX_REC_MAX_PTS     16  /* payload types per stream */
#define VOX_REC_ID_MAX      120 /* characters of the sanitised session id in file names */
#define VOX_REC_FRAME_MS    20  /* playout frame */

/* What a payload type carries. */
enum vox_rec_codec {
    VOX_REC_CODEC_NONE = 0, /* known, not recorded (comfort noise, ...): written as silence */
    VOX_REC_CODEC_PCMU,     /* G.711 µ-law, 8000 Hz */
    VOX_REC_CODEC_PCMA,     /* G.711 A-law, 8000 Hz */
    VOX_REC_CODEC_OPUS,     /* Opus (RFC 7587: clock 48000), decoded mono at the engine's rate */
    VOX_REC_CODEC_EVENT,    /* telephone-event (RFC 4733): counted, written as silence */
};

/* One a=rtpmap of a stream: payload type -> codec. */
struct vox_rec_pt {
    uint8_t pt; /* 0..127 */
    enum vox_rec_codec codec;
    unsigned clock_hz; /* RTP clock: 8000 for G.711 (0 means 8000), 48000 for Opus */
    unsigned channels; /* as negotiated; audio is recorded mono whatever it says */
};

/* The lower-case name of a codec ("pcmu", "pcma", "opus", "telephone-event", "none"). */
const char *vox_rec_codec_name(enum vox_rec_codec codec);

/* Engine settings; zero means the default for every field but media_timeout_ms. */
struct vox_rec_engine_config {
    const char *dir;             /* where the files go; created (with parents) when missing */
    unsigned rate_hz;            /* rate of every file: 8000 (default), 16000, 24000 or 48000 */
    unsigned tick_ms;            /* media clock period, 1..1000 ms (0: 20) */
    unsigned jitter_ms;          /* playout delay, 1..2000 ms (0: 60); see the model */
    unsigned media_timeout_ms;   /* no RTP on any active stream this long: on_timeout (0: never;
                                    30000 is the usual value) */
    struct vox_executor *exec;   /* runs the session tasks (borrowed; must outlive the engine);
                                    NULL: the ticker thread runs them itself */
    struct vox_allocator *alloc; /* sessions, streams, jitter buffers (NULL: the default) */
    /*
     * Called once per session, from the session's task (an executor thread or the ticker), when
     * no RTP arrived on any non-paused stream for media_timeout_ms (a session whose streams are
     * all paused or stopped never times out). The session stays open and recording: the caller
     * usually queues the work of sending BYE and closing to its own thread. It may also call
     * vox_rec_session_close() on this very session from inside the callback (the files are then
     * finished when the callback returns), but must not close or wait for another session there.
     */
    void (*on_timeout)(void *user, struct vox_rec_session *s);
    unsigned flush_ms; /* WAV flush period, 20..60000 ms (0: 1000); bounds what a kill loses
                          and sets the writers' buffer memory (see the model) */
    bool manual_clock; /* no ticker thread: vox_rec_engine_tick() drives the clock (tests) */
    unsigned nice;     /* the ticker thread's nice value, 0..19 (0: the creator's) */
};

/*
 * Creates an engine: checks the configuration, creates `dir` when missing (mkdir -p), checks
 * that a file can be created in it, and starts the ticker thread (unless manual_clock). Stores
 * the engine in *out (owned by the caller; release with vox_rec_engine_destroy). Errors:
 * VOX_EINVAL (a setting out of range), OS errors as VOX__ERR(errno) when the directory cannot be
 * created or written, VOX_ENOMEM, VOX_EAGAIN (no thread); `diag` (may be NULL) says which.
 */
int vox_rec_engine_create(const struct vox_rec_engine_config *cfg, struct vox_rec_engine **out,
                          struct vox_diag *diag);

/*
 * Stops the ticker, then closes every session still open with reason "shutdown" (their files
 * complete) and frees the engine. NULL is a no-op. Must not race with any other call on the
 * engine or its sessions; session pointers are invalid afterwards.
 */
void vox_rec_engine_destroy(struct vox_rec_engine *e);

/*
 * manual_clock only: one tick at `now_ns` (any origin, never decreasing; the engine's clock
 * reads 0 until the first tick). Runs every session's task, through the executor when there is
 * one, and returns when they have all finished. Returns 0, or VOX_EINVAL when the engine has a
 * ticker thread or the clock went backwards.
 */
int vox_rec_engine_tick(struct vox_rec_engine *e, uint64_t now_ns);

/* Engine-wide counters since create. */
struct vox_rec_engine_stats {
    uint64_t sessions_open, sessions_total;
    uint64_t packets, bytes; /* datagrams and their bytes read from the sockets */
    uint64_t decode_errors;  /* Opus packets libopus refused (concealed instead) */
    uint64_t ticks;
    uint64_t ticks_late;    /* a tick that started more than tick_ms after its time */
    uint64_t ticks_skipped; /* a session's task still in flight at a tick */
    uint64_t write_errors;  /* failed WAV writes/closes and JSON rewrites */
    uint64_t timeouts;      /* on_timeout calls */
};

/* Copies the counters. Thread-safe. */
void vox_rec_engine_stats(const struct vox_rec_engine *e, struct vox_rec_engine_stats *out);

/* ---- sessions -------------------------------------------------------------------------------- */

struct vox_rec_session_config {
    const char *id;            /* names the files (sanitised, see the model); required */
    const char *call_id;       /* for the JSON (may be NULL) */
    const char *metadata_json; /* any JSON value, embedded as-is as "metadata" (may be NULL) */
    void *user;                /* handed back to on_timeout and vox_rec_session_user */
};

/*
 * Opens a session: picks the file stem, creates the mix WAV and writes S.json (synchronously,
 * with fsync). Its time starts now (the engine's clock). Stores the session in *out; it belongs
 * to the engine until vox_rec_session_close(). Errors: VOX_EINVAL (no id, empty id),
 * VOX_EMALFORMED (metadata_json is not JSON), VOX_EEXIST (no free file stem), VOX_ESHUTDOWN
 * (engine being destroyed), VOX_ENOMEM, OS errors creating the files; `diag` says which.
 *
 * S.json: {"session_id", "call_id", "file_stem", "state": "recording"|"closed",
 * "started"/"ended" (ISO 8601 UTC with milliseconds, "ended" null while recording),
 * "started_unix_ms"/"ended_unix_ms", "end_reason" (null while recording), "duration_ms",
 * "rate_hz", "streams": [{"label", "index", "codec", "payload_type", "file", "local_port",
 * "state": "recording"|"paused"|"stopped", "start_offset_ms", "packets", "bytes", "lost", "late",
 * "duplicates", "reordered", "ssrc_changes", "foreign_source", "bad_pt", "dtmf_events",
 * "jitter_ms", "samples_written", "paused_ms"}], "mix_file", "mix_channels": [label or null,
 * label or null], "write_errors", "metadata"}. File names are relative to the JSON's directory.
 */
int vox_rec_session_open(struct vox_rec_engine *e, const struct vox_rec_session_config *cfg,
                         struct vox_rec_session **out, struct vox_diag *diag);

/*
 * Ends a session with `reason` ("bye", "timeout", "cancel", "shutdown", "error"; NULL means
 * "bye"): waits for its task if one is running (one still queued in the executor is left behind
 * and will do nothing), reads what is left on the sockets, plays out what the jitter buffers
 * hold, pads every file to the session's length, finishes the WAV files, closes the sockets,
 * writes the final S.json and frees the session. Returns when all of that is done (except from
 * inside on_timeout for the same session: see there), with 0, or VOX_EIO when a file could not
 * be completed (counted and logged; the session is freed anyway). Must not be called twice, nor
 * race with other calls on the same session.
 */
int vox_rec_session_close(struct vox_rec_session *s, const char *reason);

/*
 * Replaces the metadata (any JSON value; NULL clears it). S.json is rewritten by the session's
 * next task. Returns 0, VOX_EMALFORMED (not JSON; the old metadata stays) or VOX_ENOMEM.
 */
int vox_rec_session_set_metadata(struct vox_rec_session *s, const char *metadata_json);

/* The config's `user`, its id as given, and the file stem in use (S above). Never fail. */
void *vox_rec_session_user(const struct vox_rec_session *s);
const char *vox_rec_session_id(const struct vox_rec_session *s);
const char *vox_rec_session_stem(const struct vox_rec_session *s);

/* ---- streams --------------------------------------------------------------------------------- */

/*
 * Adds a stream: `fd` is a bound, non-blocking UDP socket (any family) and `local_port` its
 * port (for the JSON); `pts`/`npts` its payload map (at most VOX_REC_MAX_PTS entries; may be
 * empty, then every packet counts as bad_pt). Creates S_<label>.wav at once (a label made of
 * other characters is sanitised; an empty one becomes the index; a file name already used by
 * the session gets "-<index>"). The stream's file starts now. Stores the stream's index (0, 1,
 * ... in order of addition, never reused) in *index (may be NULL).
 *
 * On success the recorder owns `fd` and closes it when the stream is stopped or the session
 * closed; on failure the caller keeps it. Errors: VOX_EINVAL (bad fd, pt > 127, a G.711 clock
 * other than 8000, too many pts), VOX_ELIMIT (VOX_REC_MAX_STREAMS already), VOX_ESHUTDOWN
 * (session closing), VOX_ENOMEM, OS errors creating the file.
 */
int vox_rec_stream_add(struct vox_rec_session *s, const char *label, int fd, unsigned local_port,
                       const struct vox_rec_pt *pts, size_t npts, unsigned *index);

/*
 * Replaces a stream's payload map (a codec change in a re-INVITE), from the next task on.
 * Returns 0, VOX_ENOENT (no such stream) or VOX_EINVAL (as for vox_rec_stream_add).
 */
int vox_rec_stream_set_pts(struct vox_rec_session *s, unsigned index, const struct vox_rec_pt *pts,
                           size_t npts);

/*
 * Pauses (a=inactive, hold, a SIPREC pause) or resumes a stream. While paused, packets that
 * arrive are read and dropped (counted in `discarded`), what the jitter buffer already held is
 * still played, then the file gets silence; the stream does not count for the media timeout.
 * What arrived before the next task after the call is still recorded (pause) or already
 * recorded (resume): a change never loses more than that tick's packets. paused_ms counts the
 * time between the calls. Returns 0 or VOX_ENOENT. Pausing a paused stream is a no-op.
 */
int vox_rec_stream_set_paused(struct vox_rec_session *s, unsigned index, int paused);

/*
 * Ends a stream (port 0 in a re-INVITE): the next task reads what its socket holds and closes
 * it; the file ends at the time of this call, once the playout delay has passed, and keeps what
 * the jitter buffer held. The mix keeps silence for it from then on. Returns 0, VOX_ENOENT, or
 * VOX_EBUSY when it was stopped already.
 */
int vox_rec_stream_stop(struct vox_rec_session *s, unsigned index);

/* A stream's counters, as published by the session's last task. */
struct vox_rec_stream_stats {
    char label[64];
    unsigned index;
    unsigned local_port;
    uint64_t packets, bytes; /* datagrams read and their bytes, whatever became of them */
    uint64_t lost;           /* sequence numbers never received (jitter buffer positions) */
    uint64_t late;           /* arrived after their place was played */
    uint64_t duplicates, reordered;
    uint64_t ssrc_changes;    /* the sender's SSRC changed (the new one took over) */
    uint64_t foreign_source;  /* packets of another SSRC that did not take over (dropped) */
    uint64_t bad_pt;          /* payload type not in the map (written as silence) */
    uint64_t dtmf_events;     /* RFC 4733 events (not packets) */
    uint64_t samples_written; /* samples in the stream's file */
    uint64_t paused_ms;
    uint64_t discarded;       /* packets dropped because the stream was paused */
    uint64_t malformed;       /* datagrams that are not RTP (RTCP excluded) */
    uint64_t rtcp;            /* RTCP datagrams (rtcp-mux), ignored */
    double jitter_ms;         /* RFC 3550 A.8 interarrival jitter of the current source */
    enum vox_rec_codec codec; /* of the last audio packet (before any: the map's first audio) */
    uint8_t payload_type;
    bool paused, stopped;
};

/*
 * Copies the counters of the session's streams into out[0..cap), stream index i at out[i].
 * Returns how many were written: min(streams, cap). Thread-safe; never waits for the task.
 */
size_t vox_rec_session_stats(const struct vox_rec_session *s, struct vox_rec_stream_stats *out,
                             size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* VOX_RECORDER_H */
