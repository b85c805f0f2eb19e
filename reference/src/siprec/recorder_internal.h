/* SPDX-License-Identifier: MIT */
/* Internals of the recorder shared by its files: recorder.c (engine, clock, sessions, the public
 * calls), recorder_media.c (sockets, jitter buffers, decoding, playout) and recorder_files.c
 * (names, WAV files, the JSON description). */
#ifndef VOX_SIPREC_RECORDER_INTERNAL_H
#define VOX_SIPREC_RECORDER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "vox/jitter.h"
#include "vox/opus_codec.h"
#include "vox/recorder.h"
#include "vox/rtp.h"
#include "vox/wav.h"

#define REC_FRAME_NS      ((uint64_t)VOX_REC_FRAME_MS * 1000000u)
#define REC_BATCH         32   /* datagrams per recvmmsg */
#define REC_MAX_BATCHES   16   /* recvmmsg calls per stream and task: a flood waits its turn */
#define REC_DGRAM_BYTES   1536 /* larger datagrams are truncated and counted malformed */
#define REC_MAX_RATE_HZ   48000
#define REC_MAX_FRAME     (REC_MAX_RATE_HZ / 1000 * VOX_REC_FRAME_MS)
#define REC_MAX_PKT_MS    200 /* longest packet decoded (Opus: 120 ms; G.711: 1500 bytes) */
#define REC_MAX_PKT       (REC_MAX_RATE_HZ / 1000 * REC_MAX_PKT_MS)
#define REC_SMALL_PAYLOAD 480  /* G.711 up to 60 ms; the buffer grows on a larger packet */
#define REC_BIG_PAYLOAD   1500 /* Opus, or G.711 after a large packet */
#define REC_NO_PT         0xFF
#define REC_TAKEOVER_NS   (200ull * 1000000u) /* a source silent this long yields at once */
#define REC_EXTRA_FRAMES  64  /* at close: most frames played past the end for held audio */
#define REC_MAX_DEPTH     128 /* packets a jitter window may grow to when tasks run late */
#define REC_TS_CMSG_BYTES CMSG_SPACE(sizeof(struct timespec))

/* Buffers of one running task, reused through the engine's free list: none per session. */
struct rec_scratch {
    struct rec_scratch *next;
    struct mmsghdr msgs[REC_BATCH];
    struct iovec iov[REC_BATCH];
    union {
        struct cmsghdr align;
        unsigned char bytes[REC_TS_CMSG_BYTES];
    } ctl[REC_BATCH];
    uint8_t dgram[REC_BATCH][REC_DGRAM_BYTES];
    int16_t dec[REC_MAX_PKT];
    int16_t frame[2][REC_MAX_FRAME]; /* the mix's two channels */
    int16_t other[REC_MAX_FRAME];    /* streams 2 and up */
    int16_t mix[2 * REC_MAX_FRAME];
};

/* Time on the task's clocks, for kernel receive timestamps (CLOCK_REALTIME). */
struct rec_clock {
    uint64_t now_ns; /* the engine's clock */
    int64_t real_ns; /* CLOCK_REALTIME at the same moment */
    bool kernel_ts;  /* use SO_TIMESTAMPNS (not with a manual clock) */
};

/* The first packet of a would-be new source, kept until the next one confirms it. */
struct rec_stash {
    bool valid;
    bool marker;
    uint8_t pt;
    uint16_t seq;
    uint16_t len;
    uint32_t ssrc;
    uint32_t ts;
    uint64_t arrival_ns;
    uint8_t data[REC_BIG_PAYLOAD];
};

/* Changes asked for by the caller's threads, under the session's lock. */
struct rec_ctl {
    bool pts_dirty;
    bool paused; /* as asked */
    bool stop;   /* asked */
    uint8_t npts;
    uint64_t pause_since_ns; /* when the current pause began */
    uint64_t paused_ns;      /* finished pauses */
    uint64_t stop_ns;
    struct vox_rec_pt pts[VOX_REC_MAX_PTS];
};

/* Jitter buffer counters of buffers already destroyed (regrowth, new source, pause). */
struct rec_jtotals {
    uint64_t lost, late, duplicates, reordered;
};

struct rec_stream {
    /* Set by vox_rec_stream_add, then read-only. */
    unsigned index;
    unsigned local_port;
    uint64_t first_frame; /* the session frame the stream's file starts at */
    char label[64];
    char file[208]; /* file name inside the engine's dir */

    /* Under the session's lock. */
    struct rec_ctl ctl;
    struct vox_rec_stream_stats pub;

    /* The session's task's (one at a time). */
    int fd; /* -1 once closed */
    uint8_t npts;
    struct vox_rec_pt pts[VOX_REC_MAX_PTS];
    uint8_t pt_index[128];
    struct vox_jitter *jb;
    struct vox_jitter *old_jb; /* the previous source's packets, played out first */
    uint32_t jb_payload;
    uint32_t jb_depth; /* the engine's, or more after a late task */
    struct rec_jtotals jt;
    uint64_t regrow_lost; /* losses a regrowth counted twice */
    struct vox_opus_dec *opus;
    struct vox_wav_writer *wav;
    bool wav_failed;
    bool paused;
    bool stopping;
    bool finished;
    uint64_t stop_frame;
    /* source */
    bool have_ssrc;
    uint32_t ssrc;
    uint64_t ssrc_pkts; /* packets of the current source since it was adopted (or a resume) */
    uint64_t ssrc_last_ns;
    struct rec_stash *stash;
    bool src_valid;
    unsigned src_clock;
    struct vox_rtp_source src;
    bool have_event;
    uint32_t event_ts;
    /* playout */
    bool playing;  /* a talk spurt is being played */
    bool resuming; /* its first packet not yet: losses before it were already silence */
    uint64_t spurt_frame;
    uint32_t last_dur; /* samples of the last item played */
    int16_t last_sample;
    int16_t *carry; /* decoded samples past the frame: pkt_samples, allocated when needed */
    uint32_t carry_len, carry_off;
    enum vox_rec_codec codec;
    uint8_t codec_pt;
    struct vox_rec_stream_stats st; /* counters kept by the task */
};

enum rec_state {
    REC_OPENING = 0, /* files being created: the ticker leaves it alone */
    REC_IDLE,        /* no task queued or running */
    REC_QUEUED,      /* a task submitted, not started */
    REC_RUNNING,     /* a task running */
    REC_CLOSED,      /* being finished by vox_rec_session_close */
    REC_ORPHANED,    /* closed while a task was queued: the last of the two frees it */
};

struct vox_rec_session {
    struct vox_rec_engine *e;
    struct vox_rec_session *prev, *next; /* the engine's list, under its lock */
    char *id;
    char *call_id;
    void *user;
    uint64_t start_ns; /* engine clock */
    int64_t start_unix_ms;
    char stem[VOX_REC_ID_MAX + 8];

    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Under mu. */
    enum rec_state state;
    unsigned refs; /* 1; 2 while an orphaned task and the close both hold it */
    bool closing;
    bool json_dirty;
    unsigned nstreams;
    struct rec_stream *streams[VOX_REC_MAX_STREAMS]; /* entries never move */
    char *metadata;                                  /* JSON text, validated */
    size_t metadata_bytes;

    /* The task's (or the closing thread's). */
    unsigned ntask; /* streams the task has taken in */
    uint64_t frames_done;
    bool behind; /* this task started more than a frame late: its packets may overfill */
    struct vox_wav_writer *mix;
    bool mix_failed;
    uint64_t last_rx_ns;
    bool timed_out;
    bool error_logged;
    bool json_failed; /* the last rewrite of S.json failed */
    uint64_t json_retry_ns;
    uint64_t write_errors;
    bool closed;
    uint64_t end_ns;
    char end_reason[32];
    bool close_in_task; /* closed from on_timeout: the task finishes it */
};

struct vox_rec_engine {
    char *dir;
    size_t dir_bytes;
    unsigned rate_hz;
    unsigned frame_samples; /* per 20 ms frame */
    unsigned pkt_samples;   /* the longest packet decoded, REC_MAX_PKT_MS */
    uint64_t tick_ns;
    uint64_t tick_frames; /* frames one tick plays, rounded up */
    uint64_t delay_ns;
    uint64_t timeout_ns; /* 0: never */
    size_t flush_frames;
    uint32_t jb_depth;
    bool manual;
    unsigned nice; /* the ticker's */
    struct vox_executor *exec;
    struct vox_allocator *alloc;
    void (*on_timeout)(void *user, struct vox_rec_session *s);

    pthread_mutex_t mu;
    struct vox_rec_session *head; /* open sessions, under mu */
    size_t nsessions;
    bool closing;
    struct vox_rec_session **batch; /* the ticker's */
    size_t batch_cap;

    pthread_t ticker;
    bool ticker_started;
    atomic_bool stop;
    _Atomic uint64_t manual_now;

    pthread_mutex_t done_mu; /* tasks submitted and not yet finished */
    pthread_cond_t done_cv;
    size_t inflight;

    pthread_mutex_t scratch_mu;
    struct rec_scratch *scratch_free;

    _Atomic uint64_t sessions_open, sessions_total, packets, bytes, decode_errors, ticks,
        ticks_late, ticks_skipped, write_errors, timeouts;
};

/* recorder.c */
uint64_t rec_now(const struct vox_rec_engine *e);
void rec_clock_read(const struct vox_rec_engine *e, struct rec_clock *clk);
uint64_t rec_frame_of(const struct vox_rec_session *s, uint64_t t_ns);
void *rec_alloc(struct vox_rec_engine *e, size_t bytes);
void rec_free(struct vox_rec_engine *e, void *p, size_t bytes);

/* recorder_media.c */
int rec_stream_init_media(struct vox_rec_session *s, struct rec_stream *st, struct vox_diag *diag);
int rec_pts_check(const struct vox_rec_pt *pts, size_t npts);
void rec_stream_set_map(struct rec_stream *st, const struct vox_rec_pt *pts, size_t npts);
/* One task: take in changes and new streams, read the sockets, play out what is due, publish the
 * counters, rewrite the JSON when asked, call on_timeout when due. */
void rec_session_step(struct vox_rec_session *s, struct rec_scratch *sc,
                      const struct rec_clock *clk);
/* The close: the same, then everything held is played, the files are padded to the session's
 * end and finished. Returns the first write error of the finishing. */
int rec_session_finish(struct vox_rec_session *s, struct rec_scratch *sc,
                       const struct rec_clock *clk, const char *reason);
/* Frees a stream's resources (closes its fd) and the stream; task context or close. */
void rec_stream_free(struct vox_rec_session *s, struct rec_stream *st);

/* recorder_files.c */
void rec_sanitize(const char *in, size_t max_chars, char *out);
int rec_pick_stem(struct vox_rec_engine *e, const char *id, char *stem, size_t cap);
int rec_stream_pick_file(struct vox_rec_session *s, struct rec_stream *st, const char *label);
int rec_path(const struct vox_rec_engine *e, const char *name, const char *suffix, char *out,
             size_t cap);
int rec_wav_open(struct vox_rec_session *s, const char *file, unsigned channels,
                 struct vox_wav_writer **out, struct vox_diag *diag);
int rec_metadata_check(const char *json, struct vox_diag *diag);
/*
 * Rewrites S.json from the published counters (takes the session's lock), atomically (a
 * temporary file renamed over it). `durable` also fsyncs it first: the updates and the final
 * document do; the first one, written while the INVITE waits for its answer, does not (an
 * fsync there cost 1.7 ms of a 2.4 ms median call setup on the VM's disk, and the document it
 * would protect says only that a session began).
 */
int rec_json_write(struct vox_rec_session *s, uint64_t now_ns, bool durable);
/* Counts a write error; logs the first of the session on stderr. */
void rec_write_error(struct vox_rec_session *s, const char *what, int err);
/* The same for the session's own files: S.json, S.wav (`suffix`). */
void rec_session_file_error(struct vox_rec_session *s, const char *suffix, int err);

#endif /* VOX_SIPREC_RECORDER_INTERNAL_H */
