/* SPDX-License-Identifier: MIT */
/* The capture engine's reports: one JSON document (jansson) and two CSV tables. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "capture/internal.h"

static void addr_text(const uint8_t a[16], uint8_t family, char *out, size_t cap)
{
    if (family == 4)
        inet_ntop(AF_INET, a + 12, out, (socklen_t)cap);
    else
        inet_ntop(AF_INET6, a, out, (socklen_t)cap);
}

/* Seconds since the epoch with microseconds, or null for "never". */
static json_t *jtime(uint64_t ns)
{
    return ns ? json_real((double)(ns / 1000) / 1e6) : json_null();
}

static json_t *jms(uint64_t from_ns, uint64_t to_ns)
{
    return from_ns && to_ns >= from_ns ? json_real((double)((to_ns - from_ns) / 1000) / 1e3)
                                       : json_null();
}

static const char *transport_name(uint8_t t)
{
    return t == 3 ? "udp+tcp" : t == 2 ? "tcp" : "udp";
}

/* A call; its streams as their positions in the document's "streams" (`pos`: the position of
 * each stream slot, NULL when no slot is gone). */
static json_t *call_json(const struct cap_tracker *tr, const struct cap_call *c,
                         const uint32_t *pos)
{
    json_t *o = json_object(), *req = json_object(), *resp = json_object(), *st = json_array();
    static const char *const methods[CAP_M__COUNT] = {"INVITE", "ACK", "BYE", "CANCEL", "other"};
    char cls[4] = "1xx";

    for (int m = 0; m < CAP_M__COUNT; m++)
        if (c->requests[m])
            json_object_set_new(req, methods[m], json_integer(c->requests[m]));
    for (int k = 1; k <= 6; k++)
        if (c->responses[k]) {
            cls[0] = (char)('0' + k);
            json_object_set_new(resp, cls, json_integer(c->responses[k]));
        }
    for (uint32_t i = 0; i < c->nstreams; i++)
        json_array_append_new(st, json_integer(pos ? pos[c->streams[i]] : c->streams[i]));
    (void)tr;
    json_object_set_new(o, "call_id", json_string(c->call_id));
    json_object_set_new(o, "from", json_string(c->from));
    json_object_set_new(o, "to", json_string(c->to));
    json_object_set_new(o, "state", json_string(cap_call_state_name(c->state)));
    json_object_set_new(o, "transport", json_string(transport_name(c->transports)));
    json_object_set_new(o, "messages", json_integer(c->messages));
    json_object_set_new(o, "requests", req);
    json_object_set_new(o, "responses", resp);
    json_object_set_new(o, "last_status",
                        c->last_status ? json_integer(c->last_status) : json_null());
    json_object_set_new(o, "first", jtime(c->first_ns));
    json_object_set_new(o, "last", jtime(c->last_ns));
    json_object_set_new(o, "setup_ms", jms(c->invite_ns, c->answer_ns));
    json_object_set_new(o, "ringing_ms", jms(c->invite_ns, c->ringing_ns));
    json_object_set_new(o, "duration_s",
                        c->answer_ns && c->end_ns >= c->answer_ns
                            ? json_real((double)((c->end_ns - c->answer_ns) / 1000000) / 1e3)
                            : json_null());
    json_object_set_new(o, "sdp_bad", json_integer(c->sdp_bad));
    json_object_set_new(o, "streams", st);
    return o;
}

/* The MOS of a speech stream, or a negative value (events, comfort noise, nothing received). */
static double stream_mos(const struct cap_stream *s, const struct vox_rtpstats_result *r)
{
    struct vox_rtpstats_quality q;

    if (r->packets == 0 || vox_rtpstats_mos(r, s->codec_id, 0, &q) != 0)
        return -1;
    return q.mos;
}

static void figures_json(const struct cap_stream *s, const struct vox_rtpstats_result *r, json_t *o)
{
    double mos = stream_mos(s, r);

    json_object_set_new(o, "packets", json_integer(r->packets));
    json_object_set_new(o, "expected", json_integer(r->expected));
    json_object_set_new(o, "lost", json_integer(r->lost));
    json_object_set_new(o, "lost_pct", json_real(r->lost_pct));
    json_object_set_new(o, "seq_errors", json_integer(r->seq_errors));
    json_object_set_new(o, "duplicates", json_integer(r->duplicates));
    json_object_set_new(o, "late", json_integer(r->late));
    json_object_set_new(o, "markers", json_integer(r->markers));
    json_object_set_new(o, "max_delta_ms", json_real(r->max_delta_ms));
    json_object_set_new(o, "mean_jitter_ms",
                        r->have_jitter ? json_real(r->mean_jitter_ms) : json_null());
    json_object_set_new(o, "max_jitter_ms",
                        r->have_jitter ? json_real(r->max_jitter_ms) : json_null());
    json_object_set_new(o, "max_skew_ms", json_real(r->max_skew_ms));
    json_object_set_new(o, "problem", json_boolean(r->problem));
    json_object_set_new(o, "mos", mos >= 0 ? json_real(mos) : json_null());
    json_object_set_new(o, "first", jtime(r->first_ns));
    json_object_set_new(o, "last", jtime(r->last_ns));
}

/* Reported jitter (RTP timestamp units) in ms at the stream's clock (clock_hz not 0). */
static double rtcp_units_ms(const struct cap_stream *s, uint32_t units)
{
    return units * 1000.0 / s->clock_hz;
}

/* The RTCP reports about a stream (null when none came): what the sender counted, what the
 * receiver reported, and the round trip from this capture point (struct cap_rtcp). */
static json_t *rtcp_json(const struct cap_stream *s)
{
    const struct cap_rtcp *r = &s->rtcp;
    json_t *o;

    if (!r->sr && !r->rr)
        return json_null();
    o = json_object();
    json_object_set_new(o, "sender_reports", json_integer(r->sr));
    json_object_set_new(o, "sender_packets", r->sr ? json_integer(r->sender_packets) : json_null());
    json_object_set_new(o, "sender_octets", r->sr ? json_integer(r->sender_octets) : json_null());
    json_object_set_new(o, "receiver_reports", json_integer(r->rr));
    json_object_set_new(o, "fraction_lost",
                        r->rr ? json_real(r->fraction_lost / 256.0) : json_null());
    json_object_set_new(o, "cumulative_lost", r->rr ? json_integer(r->cum_lost) : json_null());
    json_object_set_new(o, "jitter_ms",
                        r->rr && s->clock_hz ? json_real(rtcp_units_ms(s, r->jitter))
                                             : json_null());
    json_object_set_new(o, "max_jitter_ms",
                        r->rr && s->clock_hz ? json_real(rtcp_units_ms(s, r->max_jitter))
                                             : json_null());
    json_object_set_new(o, "round_trips", json_integer(r->rtt_n));
    json_object_set_new(o, "rtt_ms", r->rtt_n ? json_real(r->rtt_us / 1000.0) : json_null());
    json_object_set_new(o, "max_rtt_ms",
                        r->rtt_n ? json_real(r->max_rtt_us / 1000.0) : json_null());
    return o;
}

static json_t *stream_json(const struct cap_tracker *tr, const struct cap_stream *s)
{
    json_t *o = json_object();
    struct vox_rtpstats_result r;
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], ssrc[11];

    vox_rtpstats_result(&s->st, &r);
    addr_text(s->tuple.src, s->tuple.family, src, sizeof src);
    addr_text(s->tuple.dst, s->tuple.family, dst, sizeof dst);
    snprintf(ssrc, sizeof ssrc, "0x%08" PRIx32, s->ssrc);
    json_object_set_new(
        o, "call_id", s->call == CAP_NONE ? json_null() : json_string(tr->calls[s->call].call_id));
    json_object_set_new(o, "src", json_string(src));
    json_object_set_new(o, "src_port", json_integer(s->tuple.sport));
    json_object_set_new(o, "dst", json_string(dst));
    json_object_set_new(o, "dst_port", json_integer(s->tuple.dport));
    json_object_set_new(o, "ssrc", json_string(ssrc));
    json_object_set_new(o, "payload_type", json_integer(s->pt));
    json_object_set_new(o, "codec", json_string(s->codec));
    json_object_set_new(o, "clock_hz", json_integer(s->clock_hz));
    json_object_set_new(o, "bytes", json_integer((json_int_t)s->bytes));
    figures_json(s, &r, o);
    json_object_set_new(o, "rtcp", rtcp_json(s));
    return o;
}

static json_t *stats_json(const struct vox_capture_stats *s)
{
    json_t *o = json_object();

#define F(name) json_object_set_new(o, #name, json_integer((json_int_t)s->name))
    F(kernel_received);
    F(kernel_dropped);
    F(kernel_if_dropped);
    F(read);
    F(bytes);
    F(not_ip);
    F(other_proto);
    F(bad_link);
    F(bad_ip);
    F(bad_l4);
    F(truncated);
    F(fragments);
    F(datagrams_reassembled);
    F(fragments_dropped);
    F(tcp_segments);
    F(tcp_messages);
    F(tcp_gaps);
    F(tcp_resyncs);
    F(tcp_dropped_bytes);
    F(sip_messages);
    F(sip_bad);
    F(rtp_packets);
    F(rtcp_packets);
    F(rtcp_bad);
    F(rtp_bad);
    F(other_udp);
    F(other_tcp);
    F(calls);
    F(calls_dropped);
    F(streams);
    F(streams_dropped);
    F(memory_bytes);
    F(pcap_files);
    F(pcap_frames);
    F(pcap_incomplete);
    F(pcap_write_errors);
    F(calls_finished);
    F(streams_finished);
    F(finished_write_errors);
#undef F
    return o;
}

/* The run's speed: seconds, packets per second, and the batch latency percentiles in µs. */
static json_t *timing_json(const struct vox_capture *cap, const struct vox_capture_stats *st)
{
    struct vox_capture_timing t;
    json_t *o = json_object();

    vox_capture_timing(cap, &t);
    json_object_set_new(o, "run_s", json_real((double)t.run_ns / 1e9));
    json_object_set_new(o, "cpu_s", json_real((double)t.cpu_ns / 1e9));
    json_object_set_new(o, "threads", json_integer(t.threads));
    json_object_set_new(o, "packets_per_s",
                        t.run_ns ? json_real((double)st->read * 1e9 / (double)t.run_ns)
                                 : json_null());
    json_object_set_new(o, "ns_per_packet",
                        st->read ? json_real((double)t.run_ns / (double)st->read) : json_null());
    json_object_set_new(o, "batches", json_integer((json_int_t)t.batches));
    json_object_set_new(o, "batch_p50_us", json_real((double)t.batch_p50_ns / 1e3));
    json_object_set_new(o, "batch_p90_us", json_real((double)t.batch_p90_ns / 1e3));
    json_object_set_new(o, "batch_p99_us", json_real((double)t.batch_p99_ns / 1e3));
    json_object_set_new(o, "batch_p999_us", json_real((double)t.batch_p999_ns / 1e3));
    json_object_set_new(o, "batch_max_us", json_real((double)t.batch_max_ns / 1e3));
    return o;
}

/* ` "key": value` with the value as jansson writes it (consumed); 0 or -1. */
static int dump_member(FILE *f, const char *key, json_t *v, const char *after)
{
    int rc = fprintf(f, " \"%s\": ", key) < 0 ? -1 : 0;

    if (!rc)
        rc = json_dumpf(
            v, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12));
    json_decref(v);
    return rc || fputs(after, f) == EOF ? -1 : 0;
}

/*
 * `o` in compact form (not consumed), then `after`; 0 or -1 (a write error, or no memory for
 * the line). The line is made in `line`, which grows to the longest, and written at once:
 * json_dumpf hands stdio each token on its own, a fifth of a line's cost (callgrind).
 */
static int dump_line(json_t *o, struct cap_line *line, const char *after, FILE *f)
{
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12);
    size_t n = json_dumpb(o, line->p, line->cap, flags);

    if (n > 0 && n > line->cap) {
        char *p = realloc(line->p, n);

        if (!p)
            return -1;
        line->p = p;
        line->cap = n;
        n = json_dumpb(o, line->p, line->cap, flags);
    }
    if (n == 0 || n > line->cap || fwrite(line->p, 1, n, f) != n)
        return -1;
    return fputs(after, f) == EOF ? -1 : 0;
}

/*
 * The document is written a call and a stream at a time (one per line), never built whole: a
 * capture of 100,000 calls would otherwise hold a tree of some 10 KB per call in memory.
 */
static int write_json(const struct vox_capture *cap, FILE *f, int lists)
{
    const struct cap_tracker *tr = &cap->tr;
    const struct vox_capture_config *cfg = &cap->cfg;
    struct vox_capture_stats st;
    struct cap_line line = {0};
    json_t *prof = json_object();
    uint32_t *pos = NULL;
    int rc, any = 0;

    vox_capture_stats(cap, &st);
    json_object_set_new(prof, "name", json_string(cfg->profile.name));
    json_object_set_new(prof, "batch_packets", json_integer(cfg->profile.batch_packets));
    json_object_set_new(prof, "buffers", json_integer(cfg->profile.buffers));
    json_object_set_new(prof, "memory_limit_bytes",
                        json_integer((json_int_t)cfg->profile.memory_limit_bytes));
    json_object_set_new(prof, "stream_timeout_ms",
                        json_integer((json_int_t)cfg->profile.stream_timeout_ms));
    json_object_set_new(prof, "threads", json_integer(cfg->profile.threads));
    json_object_set_new(prof, "alloc", json_string(cfg->alloc ? cfg->alloc : "system"));
    json_object_set_new(prof, "exec",
                        json_string(cap->threads > 1 ? cfg->exec ? cfg->exec : "pool" : "none"));
    json_object_set_new(prof, "match", json_string(vox_gpu_name(cap->gpu)));
    rc = fputs("{\n", f) == EOF ? -1 : 0;
    rc = rc ? (json_decref(prof), rc) : dump_member(f, "source", json_string(cap->source), ",\n");
    rc = rc ? (json_decref(prof), rc) : dump_member(f, "profile", prof, ",\n");
    rc = rc ? rc : dump_member(f, "stats", stats_json(&st), ",\n");
    rc = rc ? rc : dump_member(f, "timing", timing_json(cap, &st), lists ? ",\n" : "\n}\n");
    if (!lists)
        return rc || ferror(f) ? VOX_EIO : 0;
    /* with finished calls gone, a stream's position in "streams" is not its slot */
    if (tr->free_streams.n) {
        pos = malloc((tr->nstreams ? tr->nstreams : 1) * sizeof *pos);
        if (!pos)
            return VOX_ENOMEM;
        for (size_t i = 0, k = 0; i < tr->nstreams; i++)
            pos[i] = tr->streams[i].gone ? CAP_NONE : (uint32_t)k++;
    }
    rc = rc ? rc : (fputs(" \"calls\": [", f) == EOF ? -1 : 0);
    for (size_t i = 0; i < tr->ncalls && !rc; i++) {
        json_t *o;

        if (tr->calls[i].gone)
            continue;
        o = call_json(tr, &tr->calls[i], pos);
        rc = fputs(any ? ",\n  " : "\n  ", f) == EOF ? -1 : dump_line(o, &line, "", f);
        json_decref(o);
        any = 1;
    }
    rc = rc ? rc
            : (fputs(any ? "\n ],\n \"streams\": [" : "],\n \"streams\": [", f) == EOF ? -1 : 0);
    any = 0;
    for (size_t i = 0; i < tr->nstreams && !rc; i++) {
        json_t *o;

        if (tr->streams[i].gone)
            continue;
        o = stream_json(tr, &tr->streams[i]);
        rc = fputs(any ? ",\n  " : "\n  ", f) == EOF ? -1 : dump_line(o, &line, "", f);
        json_decref(o);
        any = 1;
    }
    rc = rc ? rc : (fputs(any ? "\n ]\n}\n" : "]\n}\n", f) == EOF ? -1 : 0);
    free(line.p);
    free(pos);
    return rc || ferror(f) ? VOX_EIO : 0;
}

/*
 * One finished call (stream CAP_NONE: with its streams inline) or lone stream, as a JSON line
 * with the reason it finished. Returns 0 or -1.
 */
int cap_write_finished(const struct cap_tracker *tr, uint32_t call, uint32_t stream,
                       const char *reason, struct cap_line *line, FILE *f)
{
    json_t *o;
    int rc;

    if (call != CAP_NONE) {
        const struct cap_call *c = &tr->calls[call];
        json_t *st = json_array();

        o = call_json(tr, c, NULL);
        for (uint32_t i = 0; i < c->nstreams; i++)
            json_array_append_new(st, stream_json(tr, &tr->streams[c->streams[i]]));
        json_object_set_new(o, "streams", st);
    } else {
        o = json_object();
        json_object_set_new(o, "stream", stream_json(tr, &tr->streams[stream]));
    }
    json_object_set_new(o, "finished", json_string(reason));
    rc = dump_line(o, line, "\n", f);
    json_decref(o);
    return rc;
}

int vox_capture_write_json(const struct vox_capture *cap, FILE *f)
{
    return write_json(cap, f, 1);
}

int vox_capture_write_summary_json(const struct vox_capture *cap, FILE *f)
{
    return write_json(cap, f, 0);
}

/* RFC 4180: quote a field that holds a comma, a quote or a line break; double the quotes. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int vox_capture_write_calls_csv(const struct vox_capture *cap, FILE *f)
{
    const struct cap_tracker *tr = &cap->tr;

    fputs("call_id,from,to,state,transport,messages,invites,byes,last_status,first,last,"
          "setup_ms,streams\n",
          f);
    for (size_t i = 0; i < tr->ncalls; i++) {
        const struct cap_call *c = &tr->calls[i];

        if (c->gone)
            continue;
        csv_field(f, c->call_id);
        fputc(',', f);
        csv_field(f, c->from);
        fputc(',', f);
        csv_field(f, c->to);
        fprintf(f, ",%s,%s,%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%d,%.6f,%.6f,",
                cap_call_state_name(c->state), transport_name(c->transports), c->messages,
                c->requests[CAP_M_INVITE], c->requests[CAP_M_BYE], c->last_status,
                (double)(c->first_ns / 1000) / 1e6, (double)(c->last_ns / 1000) / 1e6);
        if (c->invite_ns && c->answer_ns >= c->invite_ns)
            fprintf(f, "%.3f", (double)((c->answer_ns - c->invite_ns) / 1000) / 1e3);
        fprintf(f, ",%" PRIu32 "\n", c->nstreams);
    }
    return ferror(f) ? VOX_EIO : 0;
}

int vox_capture_write_streams_csv(const struct vox_capture *cap, FILE *f)
{
    const struct cap_tracker *tr = &cap->tr;

    fputs("call_id,src,src_port,dst,dst_port,ssrc,payload_type,codec,packets,expected,lost,"
          "lost_pct,seq_errors,duplicates,max_delta_ms,mean_jitter_ms,max_jitter_ms,mos,"
          "rtcp_sender_reports,rtcp_receiver_reports,rtcp_fraction_lost,rtcp_cumulative_lost,"
          "rtcp_jitter_ms,rtcp_rtt_ms\n",
          f);
    for (size_t i = 0; i < tr->nstreams; i++) {
        const struct cap_stream *s = &tr->streams[i];
        struct vox_rtpstats_result r;
        char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

        if (s->gone)
            continue;
        vox_rtpstats_result(&s->st, &r);
        addr_text(s->tuple.src, s->tuple.family, src, sizeof src);
        addr_text(s->tuple.dst, s->tuple.family, dst, sizeof dst);
        if (s->call != CAP_NONE)
            csv_field(f, tr->calls[s->call].call_id);
        fprintf(f, ",%s,%u,%s,%u,0x%08" PRIx32 ",%u,", src, s->tuple.sport, dst, s->tuple.dport,
                s->ssrc, s->pt);
        csv_field(f, s->codec);
        fputc(',', f);
        {
            double mos = stream_mos(s, &r);

            fprintf(f, "%" PRIu32 ",%" PRIu32 ",%" PRId32 ",%.2f,%" PRIu32 ",%" PRIu32 ",%.3f,",
                    r.packets, r.expected, r.lost, r.lost_pct, r.seq_errors, r.duplicates,
                    r.max_delta_ms);
            if (r.have_jitter)
                fprintf(f, "%.3f,%.3f", r.mean_jitter_ms, r.max_jitter_ms);
            else
                fputc(',', f);
            if (mos >= 0)
                fprintf(f, ",%.2f", mos);
            else
                fputc(',', f);
        }
        {
            const struct cap_rtcp *rc = &s->rtcp;

            fprintf(f, ",%" PRIu32 ",%" PRIu32 ",", rc->sr, rc->rr);
            if (rc->rr)
                fprintf(f, "%.4f,%" PRId32 ",", rc->fraction_lost / 256.0, rc->cum_lost);
            else
                fputs(",,", f);
            if (rc->rr && s->clock_hz)
                fprintf(f, "%.3f", rtcp_units_ms(s, rc->jitter));
            fputc(',', f);
            if (rc->rtt_n)
                fprintf(f, "%.3f", rc->rtt_us / 1000.0);
            fputc('\n', f);
        }
    }
    return ferror(f) ? VOX_EIO : 0;
}
