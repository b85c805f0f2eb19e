/* SPDX-License-Identifier: MIT */
/* The recorder's files: names that never collide, the WAV writers, S.json written atomically,
 * and what happens when the disk refuses. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "siprec/recorder_internal.h"

void rec_sanitize(const char *in, size_t max_chars, char *out)
{
    size_t n = 0;

    /* '@' is kept: Call-IDs are mostly local@host, and it is safe in file names and URLs */
    for (; *in && n < max_chars; in++) {
        char c = *in;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-' || c == '@';

        out[n++] = ok ? c : '_';
    }
    out[n] = '\0';
}

int rec_path(const struct vox_rec_engine *e, const char *name, const char *suffix, char *out,
             size_t cap)
{
    int n = snprintf(out, cap, "%s/%s%s", e->dir, name, suffix);

    return n < 0 || (size_t)n >= cap ? VOX_ERANGE : 0;
}

static bool exists(const struct vox_rec_engine *e, const char *name, const char *suffix)
{
    char path[4400];
    struct stat st;

    return rec_path(e, name, suffix, path, sizeof(path)) < 0 || lstat(path, &st) == 0 ||
           errno != ENOENT;
}

/* Engine lock held. */
int rec_pick_stem(struct vox_rec_engine *e, const char *id, char *stem, size_t cap)
{
    char base[VOX_REC_ID_MAX + 1];

    rec_sanitize(id, VOX_REC_ID_MAX, base);
    for (unsigned k = 0; k < 10000; k++) {
        const struct vox_rec_session *o;
        bool taken = false;

        if (k == 0)
            snprintf(stem, cap, "%s", base);
        else
            snprintf(stem, cap, "%s-%u", base, k);
        for (o = e->head; o && !taken; o = o->next)
            taken = strcmp(o->stem, stem) == 0;
        /* Another run's files, or another session's stream file ("a" + label "b" vs "a_b"):
         * a recording is never overwritten. */
        if (!taken && !exists(e, stem, ".json") && !exists(e, stem, ".wav"))
            return 0;
    }
    return VOX_EEXIST;
}

/* Session lock held. */
int rec_stream_pick_file(struct vox_rec_session *s, struct rec_stream *st, const char *label)
{
    char lab[64];

    rec_sanitize(label, sizeof(lab) - 1, lab);
    if (!lab[0])
        snprintf(lab, sizeof(lab), "%u", st->index);
    for (unsigned k = 0; k < 10000; k++) {
        bool taken = false;

        if (k == 0)
            snprintf(st->file, sizeof(st->file), "%s_%s.wav", s->stem, lab);
        else if (k == 1)
            snprintf(st->file, sizeof(st->file), "%s_%s-%u.wav", s->stem, lab, st->index);
        else
            snprintf(st->file, sizeof(st->file), "%s_%s-%u-%u.wav", s->stem, lab, st->index, k);
        for (unsigned i = 0; i < s->nstreams && !taken; i++)
            taken = strcmp(s->streams[i]->file, st->file) == 0;
        if (!taken && !exists(s->e, st->file, ""))
            return 0;
    }
    return VOX_EEXIST;
}

int rec_wav_open(struct vox_rec_session *s, const char *file, unsigned channels,
                 struct vox_wav_writer **out, struct vox_diag *diag)
{
    struct vox_wav_writer_config wcfg = {.flush_interval_frames = s->e->flush_frames};
    char path[4400];
    int rc;

    if (file[0])
        rc = rec_path(s->e, file, "", path, sizeof(path));
    else
        rc = rec_path(s->e, s->stem, ".wav", path, sizeof(path));
    if (rc < 0) {
        vox_diag_set(diag, "recorder: file name too long in %s", s->e->dir);
        return rc;
    }
    return vox_wav_writer_open(path, s->e->rate_hz, channels, &wcfg, out, diag);
}

int rec_metadata_check(const char *text, struct vox_diag *diag)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &err);

    if (!j) {
        vox_diag_set(diag, "recorder: metadata is not JSON: %s at line %d column %d", err.text,
                     err.line, err.column);
        return VOX_EMALFORMED;
    }
    json_decref(j);
    return 0;
}

void rec_write_error(struct vox_rec_session *s, const char *what, int err)
{
    s->write_errors++;
    atomic_fetch_add_explicit(&s->e->write_errors, 1, memory_order_relaxed);
    if (s->error_logged)
        return;
    s->error_logged = true;
    fprintf(stderr,
            "vox recorder: session %s: %s/%s: %s (the session goes on; later errors of it are "
            "counted, not logged)\n",
            s->stem, s->e->dir, what, err > -4000 ? strerror(-err) : vox_strerror(err));
}

void rec_session_file_error(struct vox_rec_session *s, const char *suffix, int err)
{
    char name[VOX_REC_ID_MAX + 16];

    snprintf(name, sizeof(name), "%s%s", s->stem, suffix);
    rec_write_error(s, name, err);
}

/* ---- S.json ---------------------------------------------------------------------------------- */

/* ISO 8601 UTC with milliseconds: 2026-11-23T06:10:00.123Z */
static json_t *iso_time(int64_t unix_ms)
{
    time_t sec = (time_t)(unix_ms / 1000);
    struct tm tm;
    char buf[64];

    if (!gmtime_r(&sec, &tm))
        return json_null();
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(unix_ms % 1000));
    return json_string(buf);
}

static json_t *u64(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *stream_json(const struct rec_stream *st)
{
    const struct vox_rec_stream_stats *p = &st->pub;
    json_t *o = json_object();

    json_object_set_new(o, "label", json_string(st->label));
    json_object_set_new(o, "index", json_integer(st->index));
    json_object_set_new(o, "codec", json_string(vox_rec_codec_name(p->codec)));
    json_object_set_new(o, "payload_type", json_integer(p->payload_type));
    json_object_set_new(o, "file", json_string(st->file));
    json_object_set_new(o, "local_port", json_integer(st->local_port));
    json_object_set_new(o, "state",
                        json_string(p->stopped  ? "stopped"
                                    : p->paused ? "paused"
                                                : "recording"));
    json_object_set_new(o, "start_offset_ms", u64(st->first_frame * VOX_REC_FRAME_MS));
    json_object_set_new(o, "packets", u64(p->packets));
    json_object_set_new(o, "bytes", u64(p->bytes));
    json_object_set_new(o, "lost", u64(p->lost));
    json_object_set_new(o, "late", u64(p->late));
    json_object_set_new(o, "duplicates", u64(p->duplicates));
    json_object_set_new(o, "reordered", u64(p->reordered));
    json_object_set_new(o, "ssrc_changes", u64(p->ssrc_changes));
    json_object_set_new(o, "foreign_source", u64(p->foreign_source));
    json_object_set_new(o, "bad_pt", u64(p->bad_pt));
    json_object_set_new(o, "dtmf_events", u64(p->dtmf_events));
    json_object_set_new(o, "discarded", u64(p->discarded));
    json_object_set_new(o, "malformed", u64(p->malformed));
    json_object_set_new(o, "rtcp", u64(p->rtcp));
    json_object_set_new(o, "jitter_ms", json_real(p->jitter_ms));
    json_object_set_new(o, "samples_written", u64(p->samples_written));
    json_object_set_new(o, "paused_ms", u64(p->paused_ms));
    return o;
}

/* The document, under the session's lock (the metadata and the published counters). */
static json_t *session_json(struct vox_rec_session *s, uint64_t now_ns)
{
    uint64_t end_ns = s->closed ? s->end_ns : now_ns;
    uint64_t dur_ms = end_ns > s->start_ns ? (end_ns - s->start_ns) / 1000000u : 0;
    json_t *o = json_object(), *streams = json_array(), *chans = json_array(), *meta = NULL;
    char mix[VOX_REC_ID_MAX + 16];

    json_object_set_new(o, "session_id", json_string(s->id));
    json_object_set_new(o, "call_id", json_string(s->call_id));
    json_object_set_new(o, "file_stem", json_string(s->stem));
    json_object_set_new(o, "state", json_string(s->closed ? "closed" : "recording"));
    json_object_set_new(o, "started", iso_time(s->start_unix_ms));
    json_object_set_new(o, "started_unix_ms", json_integer(s->start_unix_ms));
    /* the end from the monotonic duration: a clock step during the call cannot skew it */
    json_object_set_new(o, "ended",
                        s->closed ? iso_time(s->start_unix_ms + (int64_t)dur_ms) : json_null());
    json_object_set_new(o, "ended_unix_ms",
                        s->closed ? json_integer(s->start_unix_ms + (int64_t)dur_ms) : json_null());
    json_object_set_new(o, "end_reason", s->closed ? json_string(s->end_reason) : json_null());
    json_object_set_new(o, "duration_ms", u64(dur_ms));
    json_object_set_new(o, "rate_hz", json_integer(s->e->rate_hz));
    for (unsigned i = 0; i < s->nstreams; i++)
        json_array_append_new(streams, stream_json(s->streams[i]));
    json_object_set_new(o, "streams", streams);
    snprintf(mix, sizeof(mix), "%s.wav", s->stem);
    json_object_set_new(o, "mix_file", json_string(mix));
    for (unsigned i = 0; i < 2; i++)
        json_array_append_new(chans,
                              i < s->nstreams ? json_string(s->streams[i]->label) : json_null());
    json_object_set_new(o, "mix_channels", chans);
    json_object_set_new(o, "write_errors", u64(s->write_errors));
    if (s->metadata)
        meta = json_loads(s->metadata, JSON_DECODE_ANY, NULL);
    json_object_set_new(o, "metadata", meta ? meta : json_null());
    return o;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return VOX__ERR(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int rec_json_write(struct vox_rec_session *s, uint64_t now_ns, bool durable)
{
    char path[4400], tmp[4400];
    char *text;
    json_t *doc;
    int fd, rc;

    pthread_mutex_lock(&s->mu);
    doc = session_json(s, now_ns);
    text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(doc);
    pthread_mutex_unlock(&s->mu);
    if (!text)
        return VOX_ENOMEM;
    if (rec_path(s->e, s->stem, ".json", path, sizeof(path)) < 0 ||
        snprintf(tmp, sizeof(tmp), "%s/.%s.json.tmp", s->e->dir, s->stem) >= (int)sizeof(tmp)) {
        free(text);
        return VOX_ERANGE;
    }
    /* a reader sees the old document or the new one, never half of one */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = VOX__ERR(errno);
        goto out;
    }
    rc = write_all(fd, text, strlen(text));
    if (!rc)
        rc = write_all(fd, "\n", 1);
    if (!rc && durable && fsync(fd) < 0)
        rc = VOX__ERR(errno);
    if (close(fd) < 0 && !rc)
        rc = VOX__ERR(errno);
    if (!rc && rename(tmp, path) < 0)
        rc = VOX__ERR(errno);
    if (rc)
        unlink(tmp);
out:
    free(text);
    return rc;
}
