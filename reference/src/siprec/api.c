/* SPDX-License-Identifier: MIT */
/* The SIPREC server's HTTP API: /health, /metrics (Prometheus), /api/sessions, /api/resources. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "siprec/internal.h"
#include "vox/core.h"

static const char *state_name(enum srs_state st)
{
    switch (st) {
    case SRS_PROCEEDING:
        return "proceeding";
    case SRS_ANSWERED:
        return "answered";
    case SRS_CONFIRMED:
        return "confirmed";
    default:
        return "ended";
    }
}

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0, resident = 0;

    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Sessions started in the last 10 whole seconds, per second. */
static double calls_per_second(struct vox_srs *s)
{
    uint64_t now_s = vox_clock_ns() / 1000000000u, sum = 0;

    /* the ring holds 16 seconds; clear the slots that the next seconds will reuse */
    for (uint64_t k = 1; k <= 4; k++)
        atomic_store(&s->calls_window[(now_s + k) % 16], 0);
    for (uint64_t k = 1; k <= 10; k++)
        sum += atomic_load(&s->calls_window[(now_s - k) % 16]);
    return (double)sum / 10.0;
}

static void health(struct vox_srs *s, struct vox_http_response *r)
{
    vox_buf_printf(&r->body,
                   "{\"status\":\"ok\",\"sessions\":%d,\"uptime_s\":%.1f,\"sip_port\":%u,"
                   "\"version\":",
                   atomic_load(&s->active), (double)(vox_clock_ns() - s->start_ns) / 1e9,
                   s->sip_port);
    vox_buf_json_str(&r->body, vox_version());
    vox_buf_printf(&r->body, "}\n");
}

static void metrics(struct vox_srs *s, struct vox_http_response *r)
{
    struct vox_srs_stats st;
    struct vox_rec_engine_stats rec;
    struct vox_portalloc_stats ps;
    struct vox_lru_stats ls;
    struct vox_shardmap_stats ms;
    struct vox_alloc_stats as;
    struct vox_exec_stats es;
    struct vox_buf *b = &r->body;
    char labels[96];

    vox_srs_stats(s, &st);
    vox_rec_engine_stats(s->rec, &rec);
    vox_portalloc_stats(s->ports, &ps);
    vox_lru_stats(s->cache, &ls);
    vox_shardmap_stats(s->sessions, &ms);
    vox_allocator_stats(s->alloc, &as);
    vox_executor_stats(s->exec, &es);
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";

    vox_prom_metric(b, "vox_siprec_sessions_active", "gauge", "Recording sessions now", NULL,
                    (double)st.sessions_active);
    vox_prom_metric(b, "vox_siprec_sessions_total", "counter", "Recording sessions started", NULL,
                    (double)st.sessions_total);
    vox_prom_metric(b, "vox_siprec_sessions_peak", "gauge", "Most sessions at once", NULL,
                    (double)st.sessions_peak);
    vox_prom_metric(b, "vox_siprec_calls_per_second", "gauge",
                    "Sessions started per second over the last 10 s", NULL, calls_per_second(s));
    static const char *const methods[] = {"INVITE", "reINVITE", "UPDATE",  "ACK",
                                          "BYE",    "CANCEL",   "OPTIONS", "other"};
    const uint64_t counts[] = {st.invites, st.reinvites, st.updates, st.acks,
                               st.byes,    st.cancels,   st.options, st.other_requests};
    for (size_t i = 0; i < 8; i++) {
        snprintf(labels, sizeof(labels), "method=\"%s\"", methods[i]);
        vox_prom_metric(b, "vox_siprec_requests_total", "counter", "SIP requests received", labels,
                        (double)counts[i]);
    }
    vox_prom_metric(b, "vox_siprec_responses_total", "counter", "SIP responses sent",
                    "class=\"2xx\"", (double)st.responses_2xx);
    vox_prom_metric(b, "vox_siprec_responses_total", "counter", "SIP responses sent",
                    "class=\"4xx\"", (double)st.responses_4xx);
    vox_prom_metric(b, "vox_siprec_responses_total", "counter", "SIP responses sent",
                    "class=\"5xx\"", (double)st.responses_5xx);
    vox_prom_metric(b, "vox_siprec_rejected_total", "counter", "INVITEs refused", "reason=\"busy\"",
                    (double)st.rejected_busy);
    vox_prom_metric(b, "vox_siprec_rejected_total", "counter", "INVITEs refused",
                    "reason=\"not_siprec\"", (double)st.rejected_not_siprec);
    vox_prom_metric(b, "vox_siprec_rejected_total", "counter", "INVITEs refused",
                    "reason=\"malformed\"", (double)st.rejected_malformed);
    vox_prom_metric(b, "vox_siprec_dropped_malformed_total", "counter",
                    "Messages dropped with no response possible", NULL,
                    (double)st.dropped_malformed);
    vox_prom_metric(b, "vox_siprec_retransmissions_total", "counter", "Retransmissions",
                    "direction=\"in\"", (double)st.retransmissions_in);
    vox_prom_metric(b, "vox_siprec_retransmissions_total", "counter", "Retransmissions",
                    "direction=\"out\"", (double)st.retransmissions_out);
    static const char *const reasons[] = {"bye",    "timeout",  "cancel",
                                          "no_ack", "shutdown", "error"};
    const uint64_t ended[] = {st.ended_bye,    st.ended_timeout,  st.ended_cancel,
                              st.ended_no_ack, st.ended_shutdown, st.ended_error};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        snprintf(labels, sizeof(labels), "reason=\"%s\"", reasons[i]);
        vox_prom_metric(b, "vox_siprec_sessions_ended_total", "counter", "Sessions ended", labels,
                        (double)ended[i]);
    }
    vox_prom_histogram(b, "vox_siprec_setup_seconds",
                       "INVITE received (the kernel's timestamp over UDP) to 200 sent",
                       vox_srs_setup_bounds_s, st.setup_buckets, VOX_SRS_SETUP_BUCKETS,
                       (double)st.setup_ns_sum / 1e9);
    vox_prom_metric(b, "vox_siprec_setup_seconds_max", "gauge", "Slowest INVITE to 200", NULL,
                    (double)st.setup_ns_max / 1e9);
    vox_prom_metric(b, "vox_siprec_messages_handled_total", "counter",
                    "SIP messages by the thread that handled them (SIP_INLINE)", "on=\"loop\"",
                    (double)st.messages_on_loop);
    vox_prom_metric(b, "vox_siprec_messages_handled_total", "counter",
                    "SIP messages by the thread that handled them (SIP_INLINE)", "on=\"executor\"",
                    (double)st.messages_to_executor);
    vox_prom_metric(b, "vox_siprec_tcp_connections", "gauge", "Open SIP TCP connections", NULL,
                    (double)st.tcp_active);
    vox_prom_metric(b, "vox_siprec_rtp_packets_total", "counter", "RTP packets received", NULL,
                    (double)rec.packets);
    vox_prom_metric(b, "vox_siprec_rtp_bytes_total", "counter", "RTP bytes received", NULL,
                    (double)rec.bytes);
    vox_prom_metric(b, "vox_siprec_rtp_decode_errors_total", "counter", "Undecodable payloads",
                    NULL, (double)rec.decode_errors);
    vox_prom_metric(b, "vox_siprec_recorder_ticks_late_total", "counter",
                    "Media ticks that started late", NULL, (double)rec.ticks_late);
    vox_prom_metric(b, "vox_siprec_recorder_ticks_skipped_total", "counter",
                    "Media ticks skipped (previous still running)", NULL,
                    (double)rec.ticks_skipped);
    vox_prom_metric(b, "vox_siprec_recorder_write_errors_total", "counter", "Disk write errors",
                    NULL, (double)rec.write_errors);
    vox_prom_metric(b, "vox_siprec_media_timeouts_total", "counter", "Sessions silent too long",
                    NULL, (double)rec.timeouts);
    vox_prom_metric(b, "vox_siprec_rtp_ports_in_use", "gauge", "RTP port pairs allocated", NULL,
                    (double)ps.in_use);
    vox_prom_metric(b, "vox_siprec_rtp_ports_total", "gauge", "RTP port pairs in the range", NULL,
                    (double)ps.total_pairs);
    vox_prom_metric(b, "vox_siprec_rtp_ports_exhausted_total", "counter",
                    "Allocations refused: range exhausted", NULL, (double)ps.exhausted);
    vox_prom_metric(b, "vox_siprec_cache_lookups_total", "counter", "Session cache lookups", NULL,
                    (double)ls.lookups);
    vox_prom_metric(b, "vox_siprec_cache_hits_total", "counter", "Session cache hits", NULL,
                    (double)ls.hits);
    vox_prom_metric(b, "vox_siprec_cache_hit_ratio", "gauge", "Hits per lookup", NULL,
                    ls.lookups ? (double)ls.hits / (double)ls.lookups : 0.0);
    vox_prom_metric(b, "vox_siprec_cache_lookup_seconds_sum", "counter", "Time in cache lookups",
                    NULL, (double)ls.lookup_ns_sum / 1e9);
    vox_prom_metric(b, "vox_siprec_cache_entries", "gauge", "Session cache entries", NULL,
                    (double)ls.entries);
    vox_prom_metric(b, "vox_siprec_cache_bytes", "gauge", "Memory of the session cache", NULL,
                    (double)ls.bytes);
    vox_prom_metric(b, "vox_siprec_cache_evictions_total", "counter", "LRU evictions", NULL,
                    (double)ls.evictions);
    vox_prom_metric(b, "vox_siprec_cache_expired_total", "counter", "Entries past CACHE_TTL", NULL,
                    (double)ls.expired);
    vox_prom_metric(b, "vox_siprec_shard_contended_total", "counter", "Session map lock waits",
                    "lock=\"read\"", (double)ms.read_contended);
    vox_prom_metric(b, "vox_siprec_shard_contended_total", "counter", "Session map lock waits",
                    "lock=\"write\"", (double)ms.write_contended);
    vox_prom_metric(b, "vox_siprec_shard_max_entries", "gauge", "Entries of the fullest shard",
                    NULL, (double)ms.max_shard_entries);
    snprintf(labels, sizeof(labels), "backend=\"%s\"", vox_allocator_name(s->alloc));
    vox_prom_metric(b, "vox_siprec_alloc_bytes_in_use", "gauge", "Allocator bytes in use", labels,
                    (double)as.bytes_in_use);
    snprintf(labels, sizeof(labels), "backend=\"%s\"", vox_executor_name(s->exec));
    vox_prom_metric(b, "vox_siprec_exec_tasks_total", "counter", "Executor tasks completed", labels,
                    (double)es.completed);
    vox_prom_metric(b, "vox_siprec_process_resident_bytes", "gauge", "Resident set size", NULL,
                    (double)rss_bytes());
}

static void sessions(struct vox_srs *s, struct vox_http_response *r)
{
    void *list[1024];
    size_t n = vox_shardmap_collect(s->sessions, list, 1024);
    struct vox_buf *b = &r->body;
    struct vox_rec_stream_stats rs[SRS_MAX_STREAMS];

    vox_buf_printf(b, "{\"count\":%d,\"listed\":%zu,\"sessions\":[", atomic_load(&s->active), n);
    for (size_t i = 0; i < n; i++) {
        struct srs_session *ss = list[i];
        pthread_mutex_lock(&ss->lock);
        /* while its files are being made, the recording is the maker's (open_pending) */
        size_t nst = ss->opening ? 0 : ss->nstreams;
        size_t nrs = nst && ss->rec ? vox_rec_session_stats(ss->rec, rs, SRS_MAX_STREAMS) : 0;
        vox_buf_printf(b, "%s{\"call_id\":", i ? "," : "");
        vox_buf_json_str(b, ss->call_id);
        vox_buf_printf(b, ",\"state\":\"%s\",\"started_unix_ms\":%llu,\"age_s\":%.1f,\"streams\":[",
                       state_name(ss->state), (unsigned long long)ss->created_unix_ms,
                       (double)(vox_clock_ns() - ss->created_ns) / 1e9);
        for (size_t k = 0; k < nst; k++) {
            const struct srs_stream *st = &ss->streams[k];
            vox_buf_printf(b, "%s{\"label\":", k ? "," : "");
            vox_buf_json_str(b, st->label);
            vox_buf_printf(b, ",\"port\":%u,\"recording\":%s,\"paused\":%s", st->port,
                           st->recording ? "true" : "false", st->paused ? "true" : "false");
            if (st->recording && st->rec_index < nrs)
                vox_buf_printf(b, ",\"packets\":%llu,\"lost\":%llu",
                               (unsigned long long)rs[st->rec_index].packets,
                               (unsigned long long)rs[st->rec_index].lost);
            vox_buf_printf(b, "}");
        }
        vox_buf_printf(b, "],\"metadata\":");
        if (ss->meta) {
            char *json = vox_rsmeta_json(ss->meta);
            vox_buf_printf(b, "%s", json ? json : "null");
            free(json);
        } else {
            vox_buf_printf(b, "null");
        }
        vox_buf_printf(b, "}");
        pthread_mutex_unlock(&ss->lock);
        srs_session_unref(ss);
    }
    vox_buf_printf(b, "]}\n");
}

static void resources(struct vox_srs *s, struct vox_http_response *r)
{
    struct vox_portalloc_stats ps;
    struct vox_lru_stats ls;
    struct vox_shardmap_stats ms;
    struct vox_alloc_stats as;
    struct vox_exec_stats es;

    vox_portalloc_stats(s->ports, &ps);
    vox_lru_stats(s->cache, &ls);
    vox_shardmap_stats(s->sessions, &ms);
    vox_allocator_stats(s->alloc, &as);
    vox_executor_stats(s->exec, &es);
    vox_buf_printf(
        &r->body,
        "{\"memory\":{\"rss_bytes\":%llu,\"allocator\":\"%s\",\"bytes_in_use\":%llu},"
        "\"sessions\":{\"active\":%d,\"max\":%u},"
        "\"ports\":{\"min\":%u,\"max\":%u,\"pairs\":%u,\"in_use\":%u,\"peak\":%u,"
        "\"allocations\":%llu,\"exhausted\":%llu,\"reused_within_quarantine\":%llu,"
        "\"bind_rejects\":%llu},"
        "\"cache\":{\"capacity\":%zu,\"entries\":%zu,\"bytes\":%zu,\"lookups\":%llu,"
        "\"hits\":%llu,\"hit_rate\":%.4f,\"lookup_ns_avg\":%.1f,\"evictions\":%llu,"
        "\"expired\":%llu,\"ttl_s\":%u},"
        "\"shards\":{\"count\":%zu,\"entries\":%zu,\"max_shard_entries\":%zu,"
        "\"read_contended\":%llu,\"write_contended\":%llu},"
        "\"executor\":{\"backend\":\"%s\",\"submitted\":%llu,\"completed\":%llu,"
        "\"steals\":%llu,\"queue_depth_max\":%llu}}\n",
        (unsigned long long)rss_bytes(), vox_allocator_name(s->alloc),
        (unsigned long long)as.bytes_in_use, atomic_load(&s->active), s->cfg.max_concurrent_calls,
        s->cfg.rtp_port_min, s->cfg.rtp_port_max, ps.total_pairs, ps.in_use, ps.peak_in_use,
        (unsigned long long)ps.allocations, (unsigned long long)ps.exhausted,
        (unsigned long long)ps.reused_within_quarantine, (unsigned long long)ps.bind_rejects,
        ls.capacity, ls.entries, ls.bytes, (unsigned long long)ls.lookups,
        (unsigned long long)ls.hits, ls.lookups ? (double)ls.hits / (double)ls.lookups : 0.0,
        ls.lookups ? (double)ls.lookup_ns_sum / (double)ls.lookups : 0.0,
        (unsigned long long)ls.evictions, (unsigned long long)ls.expired, s->cfg.cache_ttl_s,
        ms.shards, ms.entries, ms.max_shard_entries, (unsigned long long)ms.read_contended,
        (unsigned long long)ms.write_contended, vox_executor_name(s->exec),
        (unsigned long long)es.submitted, (unsigned long long)es.completed,
        (unsigned long long)es.steals, (unsigned long long)es.queue_depth_max);
}

void srs_http_handler(void *ctx, const struct vox_http_request *req, struct vox_http_response *resp)
{
    struct vox_srs *s = ctx;

    if (!strcmp(req->path, "/health") || !strcmp(req->path, "/health/live")) {
        health(s, resp);
    } else if (!strcmp(req->path, "/metrics")) {
        metrics(s, resp);
    } else if (!strcmp(req->path, "/api/sessions")) {
        sessions(s, resp);
    } else if (!strcmp(req->path, "/api/resources")) {
        resources(s, resp);
    } else {
        resp->status = 404;
        vox_buf_printf(&resp->body,
                       "{\"error\":\"no such resource\",\"resources\":[\"/health\",\"/metrics\","
                       "\"/api/sessions\",\"/api/resources\"]}\n");
    }
}
