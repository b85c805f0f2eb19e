/* SPDX-License-Identifier: MIT */
/* The "frames" workload process: N paced media streams on an allocator and an executor. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "frames.h"
#include "vox/alloc.h"
#include "vox/core.h"
#include "vox/exec.h"
#include "vox/stats.h"

/*
 * What a media server does per session, stripped to what the backends feel: every stream owns
 * a jitter buffer (10 frames, held for the whole run) and emits one 20 ms frame of 8 kHz PCM16
 * (160 samples) per period, phases spread evenly over the period. Each frame becomes one task:
 * it allocates the frame from the allocator under test, synthesises and processes it (gain
 * with saturation, RMS), folds it into the stream's buffer, and frees it. The task records its
 * latency from the frame's *intended* time, not from when the ticker got round to submitting
 * it (wrk2's open-loop measurement), so an overloaded configuration shows its queueing instead
 * of hiding it (coordinated omission). The media module will replace the stand-in processing
 * with real G.711/Opus work.
 */

#define FRAME_SAMPLES 160
#define JITTER_FRAMES 10

struct stream {
    int16_t *jitter; /* JITTER_FRAMES frames, held for the whole run */
    uint64_t phase_ns;
    _Atomic uint32_t energy; /* folded results, so the work cannot be optimised away */
};

struct frames {
    struct vox_allocator *alloc;
    struct vox_executor *exec;
    struct stream *streams;
    unsigned nstreams;
    uint64_t period_ns;
    pthread_mutex_t lock; /* guards hist */
    struct vox_hist *hist;
    _Atomic uint64_t done;
    _Atomic uint64_t late; /* finished after the stream's next frame was due */
    _Atomic uint64_t failed;
};

struct job {
    struct frames *f;
    unsigned stream;
    uint32_t seq;
    uint64_t intended_ns;
};

static void process_frame(void *arg)
{
    struct job *j = arg;
    struct frames *f = j->f;
    struct stream *s = &f->streams[j->stream];
    int16_t *pcm = vox_alloc(f->alloc, FRAME_SAMPLES * sizeof(int16_t));
    int16_t *slot = s->jitter + (j->seq % JITTER_FRAMES) * FRAME_SAMPLES;
    uint64_t now, lat, sum = 0;
    unsigned i;

    if (!pcm) {
        atomic_fetch_add_explicit(&f->failed, 1, memory_order_relaxed);
        goto out;
    }
    for (i = 0; i < FRAME_SAMPLES; i++) {
        /* A triangle wave per stream, then a 1.5x gain with saturation (Q15 arithmetic). */
        int32_t x =
            (int32_t)((((j->seq * FRAME_SAMPLES + i) * (j->stream + 3)) & 0x3ff) - 512) * 40;
        int32_t y = (x * 49152) >> 15;

        pcm[i] = (int16_t)(y > 32767 ? 32767 : y < -32768 ? -32768 : y);
        sum += (uint64_t)((int64_t)pcm[i] * pcm[i]);
    }
    memcpy(slot, pcm, FRAME_SAMPLES * sizeof(int16_t));
    atomic_fetch_add_explicit(&s->energy, (uint32_t)sqrt((double)sum / FRAME_SAMPLES),
                              memory_order_relaxed);
    vox_free(f->alloc, pcm, FRAME_SAMPLES * sizeof(int16_t));
    now = vox_clock_ns();
    lat = now > j->intended_ns ? now - j->intended_ns : 0;
    if (lat > f->period_ns)
        atomic_fetch_add_explicit(&f->late, 1, memory_order_relaxed);
    pthread_mutex_lock(&f->lock);
    vox_hist_record(f->hist, lat ? lat : 1);
    pthread_mutex_unlock(&f->lock);
    atomic_fetch_add_explicit(&f->done, 1, memory_order_relaxed);
out:
    vox_free(f->alloc, j, sizeof(*j));
}

static void sleep_until(uint64_t t_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000u),
                          .tv_nsec = (long)(t_ns % 1000000000u)};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* When the next frame (of stream *next_stream in period *next_period) is due. */
static uint64_t next_due(const struct frames *f, uint64_t start, uint64_t next_period,
                         unsigned next_stream)
{
    return start + next_period * f->period_ns + f->streams[next_stream].phase_ns;
}

/* Emits every frame due up to `until` for all streams, in time order. Returns frames sent. */
static uint64_t tick(struct frames *f, uint64_t start, uint64_t until, uint64_t *next_period,
                     unsigned *next_stream, uint64_t end)
{
    uint64_t sent = 0;

    for (;;) {
        uint64_t due = next_due(f, start, *next_period, *next_stream);
        struct vox_task t = {.run = process_frame, .prio = VOX_PRIO_HIGH};
        struct job *j;

        if (due > until || due >= end)
            return sent;
        j = vox_alloc(f->alloc, sizeof(*j));
        if (j) {
            *j = (struct job){
                .f = f, .stream = *next_stream, .seq = (uint32_t)*next_period, .intended_ns = due};
            t.arg = j;
            if (vox_executor_submit(f->exec, &t) != 0) {
                vox_free(f->alloc, j, sizeof(*j));
                atomic_fetch_add_explicit(&f->failed, 1, memory_order_relaxed);
            }
        } else {
            atomic_fetch_add_explicit(&f->failed, 1, memory_order_relaxed);
        }
        sent++;
        if (++*next_stream == f->nstreams) {
            *next_stream = 0;
            ++*next_period;
        }
    }
}

int vox_frames_main(int argc, char **argv)
{
    const char *alloc_name = "system", *exec_name = "pool";
    unsigned streams = 100, seconds = 2, frame_ms = 20, i;
    struct frames f = {0};
    struct vox_diag diag = {{0}};
    struct vox_alloc_stats as;
    struct vox_percentile spectrum[256];
    uint64_t start, end, now, next_period = 0, sent = 0;
    unsigned next_stream = 0;
    struct timespec gen_cpu = {0};
    size_t npts;
    json_t *out, *pts;
    int rc = 1;

    for (i = 1; i + 1 < (unsigned)argc; i += 2) {
        if (strcmp(argv[i], "--alloc") == 0)
            alloc_name = argv[i + 1];
        else if (strcmp(argv[i], "--exec") == 0)
            exec_name = argv[i + 1];
        else if (strcmp(argv[i], "--streams") == 0 && !parse_uint(argv[i + 1], 1, 100000, &streams))
            continue;
        else if (strcmp(argv[i], "--seconds") == 0 && !parse_uint(argv[i + 1], 1, 3600, &seconds))
            continue;
        else if (strcmp(argv[i], "--frame-ms") == 0 && !parse_uint(argv[i + 1], 5, 200, &frame_ms))
            continue;
        else {
            fprintf(stderr, "voxbench frames: bad option or value: %s %s\n", argv[i], argv[i + 1]);
            return 2;
        }
    }
    if (i != (unsigned)argc) {
        fprintf(stderr, "voxbench frames: option %s needs a value\n", argv[argc - 1]);
        return 2;
    }
    f.nstreams = streams;
    f.period_ns = (uint64_t)frame_ms * 1000000u;
    pthread_mutex_init(&f.lock, NULL);
    /* Latencies in ns, up to 60 s, to 1/128 relative precision. */
    f.hist = vox_hist_create(60ull * 1000000000ull, 7);
    if (!f.hist || vox_allocator_create(alloc_name, NULL, &f.alloc, &diag) ||
        vox_executor_create(exec_name, &(struct vox_exec_config){.alloc = f.alloc}, &f.exec,
                            &diag)) {
        fprintf(stderr, "voxbench frames: %s\n", diag.text[0] ? diag.text : "out of memory");
        goto out;
    }
    f.streams = calloc(streams, sizeof(*f.streams));
    if (!f.streams)
        goto out;
    for (i = 0; i < streams; i++) {
        f.streams[i].phase_ns = f.period_ns * i / streams;
        f.streams[i].jitter =
            vox_alloc_array(f.alloc, JITTER_FRAMES * FRAME_SAMPLES, sizeof(int16_t));
        if (!f.streams[i].jitter) {
            fprintf(stderr, "voxbench frames: out of memory for stream %u\n", i);
            goto out;
        }
        memset(f.streams[i].jitter, 0, JITTER_FRAMES * FRAME_SAMPLES * sizeof(int16_t));
    }
    /* The ticker sleeps until exactly the next frame's due time; the default 50 us timer
     * slack would otherwise add up to 50 us of generator lag to every measured latency. When
     * frames come faster than it can wake (1000 streams: one per 20 us) it finds several due
     * at once and sends them together, each still timed from its own due time. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    start = vox_clock_ns() + 1000000u;
    end = start + (uint64_t)seconds * 1000000000u;
    for (now = start; now < end;) {
        sleep_until(now);
        sent += tick(&f, start, vox_clock_ns(), &next_period, &next_stream, end);
        now = next_due(&f, start, next_period, next_stream);
    }
    vox_executor_drain(f.exec);
    vox_allocator_stats(f.alloc, &as);
    /* The ticker is this thread: its CPU time is the load generator's, not the backends'. */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &gen_cpu);

    npts = vox_hist_spectrum(f.hist, 5, 1000.0, spectrum, sizeof(spectrum) / sizeof(spectrum[0]));
    pts = json_array();
    for (i = 0; i < npts; i++)
        json_array_append_new(pts, json_pack("[f, f]", spectrum[i].pct, spectrum[i].value_us));
    out = json_pack(
        "{s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:o, s:o}",
        "frames_sent", (json_int_t)sent, "frames_done", (json_int_t)atomic_load(&f.done),
        "frames_late", (json_int_t)atomic_load(&f.late), "frames_failed",
        (json_int_t)atomic_load(&f.failed), "frames_per_second",
        (double)atomic_load(&f.done) / seconds, "lat_p50_us",
        (double)vox_hist_percentile(f.hist, 50) / 1e3, "lat_p90_us",
        (double)vox_hist_percentile(f.hist, 90) / 1e3, "lat_p99_us",
        (double)vox_hist_percentile(f.hist, 99) / 1e3, "lat_p999_us",
        (double)vox_hist_percentile(f.hist, 99.9) / 1e3, "lat_max_us",
        (double)vox_hist_max(f.hist) / 1e3, "lat_mean_us", vox_hist_mean(f.hist) / 1e3,
        "generator_cpu_s", (double)gen_cpu.tv_sec + (double)gen_cpu.tv_nsec / 1e9,
        "alloc_peak_bytes", (json_int_t)as.bytes_in_use_peak, "pool_hit_rate",
        /* Only pools count hits; JSON has no NaN, so the others say null. */
        as.pool_hits + as.pool_misses
            ? json_real(100.0 * (double)as.pool_hits / (double)(as.pool_hits + as.pool_misses))
            : json_null(),
        "latency_spectrum_us", pts);
    if (!out || json_dumpf(out, stdout, JSON_COMPACT) != 0) {
        fprintf(stderr, "voxbench frames: cannot write results\n");
        json_decref(out);
        goto out;
    }
    json_decref(out);
    printf("\n");
    rc = atomic_load(&f.failed) ? 1 : 0;
    if (rc)
        fprintf(stderr, "voxbench frames: %llu frames failed (allocation or submit)\n",
                (unsigned long long)atomic_load(&f.failed));
out:
    vox_executor_destroy(f.exec);
    if (f.streams) {
        for (i = 0; i < streams; i++)
            vox_free(f.alloc, f.streams[i].jitter, JITTER_FRAMES * FRAME_SAMPLES * sizeof(int16_t));
        free(f.streams);
    }
    vox_allocator_destroy(f.alloc);
    vox_hist_destroy(f.hist);
    pthread_mutex_destroy(&f.lock);
    return rc;
}
