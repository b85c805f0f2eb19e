/* SPDX-License-Identifier: MIT */
/* The SIPREC Session Recording Server (RFC 7866): configuration, life cycle and statistics. */
#ifndef VOX_SIPREC_H
#define VOX_SIPREC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every setting of the server. One table (VOX_SRS_CONFIG_MAP) names each setting once: its
 * key in a configuration file and in the environment (the Go SIPREC guide's names where they
 * fit: MAX_CONCURRENT_CALLS, SHARD_COUNT, CACHE_SIZE, CACHE_TTL, WORKER_POOL_SIZE), its
 * command-line flag, its kind, default and allowed range, and one line of help.
 *   X(field, KEY, "flag", kind, "default", min, max, "help")
 * kind: STR (string), UINT (unsigned integer in [min, max]), ADDR (an IPv4/IPv6 literal).
 */
#define VOX_SRS_CONFIG_MAP(X)                                                                      \
    X(sip_host, SIP_HOST, "sip-host", ADDR, "127.0.0.1", 0, 0,                                     \
      "address the SIP UDP and TCP sockets listen on")                                             \
    X(sip_port, SIP_PORT, "sip-port", UINT, "5060", 0, 65535,                                      \
      "SIP port for UDP and TCP (0: pick a free one; printed at start)")                           \
    X(sip_transports, SIP_TRANSPORTS, "transports", STR, "udp,tcp", 0, 0,                          \
      "transports to listen on: udp, tcp or udp,tcp")                                              \
    X(media_host, MEDIA_HOST, "media-host", ADDR, "127.0.0.1", 0, 0,                               \
      "address the RTP sockets bind to and the SDP answers announce")                              \
    X(rtp_port_min, RTP_PORT_MIN, "rtp-port-min", UINT, "10000", 1024, 65534,                      \
      "lowest RTP port (even ports for RTP, the next odd one is left for RTCP)")                   \
    X(rtp_port_max, RTP_PORT_MAX, "rtp-port-max", UINT, "20000", 1025, 65535, "highest RTP port")  \
    X(recording_dir, RECORDING_DIR, "recording-dir", STR, "recordings", 0, 0,                      \
      "where WAV files and the per-session JSON go (created when missing)")                        \
    X(max_concurrent_calls, MAX_CONCURRENT_CALLS, "max-calls", UINT, "500", 1, 1000000,            \
      "recording sessions at once; beyond it INVITEs get 503 with Retry-After")                    \
    X(retry_after_s, RETRY_AFTER, "retry-after", UINT, "5", 0, 3600,                               \
      "Retry-After seconds in 503 responses")                                                      \
    X(shard_count, SHARD_COUNT, "shards", UINT, "64", 1, 65536,                                    \
      "shards of the session map (a power of two)")                                                \
    X(cache_size, CACHE_SIZE, "cache-size", UINT, "1024", 1, 10000000,                             \
      "entries of the LRU cache in front of the session map")                                      \
    X(cache_ttl_s, CACHE_TTL, "cache-ttl", UINT, "300", 0, 86400,                                  \
      "seconds a cache entry lives (0: no expiry)")                                                \
    X(worker_pool_size, WORKER_POOL_SIZE, "workers", UINT, "0", 0, 1024,                           \
      "executor workers for SIP messages and media ticks (0: one per CPU)")                        \
    X(sip_inline, SIP_INLINE, "sip-inline", UINT, "1", 0, 1,                                       \
      "1: the SIP loop thread answers what never waits on the disk (new INVITEs, ACK, BYE, "       \
      "CANCEL, OPTIONS) itself and hands re-INVITEs and UPDATEs to the executor; 0: hand every "   \
      "message to the executor")                                                                   \
    X(background_nice, BACKGROUND_NICE, "background-nice", UINT, "10", 0, 19,                      \
      "nice value of the executor workers, the media ticker and the session closers, so that "     \
      "the SIP loop thread is scheduled first when a message wakes it (0: same as the loop; with " \
      "sip-inline 0 the workers answer SIP and keep the loop's)")                                  \
    X(alloc, ALLOC, "alloc", STR, "system", 0, 0, "allocator backend (voxbench list)")             \
    X(exec, EXEC, "exec", STR, "pool", 0, 0, "executor backend (thread, pool, steal)")             \
    X(media_timeout_s, MEDIA_TIMEOUT, "media-timeout", UINT, "30", 0, 86400,                       \
      "seconds without RTP after which a session ends with BYE (0: never)")                        \
    X(jitter_ms, JITTER_MS, "jitter-ms", UINT, "60", 0, 2000, "playout delay of the recorder")     \
    X(media_tick_ms, MEDIA_TICK_MS, "media-tick-ms", UINT, "20", 1, 1000,                          \
      "how often each session's RTP sockets are read and its audio written (longer: fewer "        \
      "system calls and tasks, packets wait longer in the kernel)")                                \
    X(flush_ms, FLUSH_MS, "flush-ms", UINT, "250", 20, 60000,                                      \
      "WAV flush period: what a crash can lose, and the buffer memory of each session")            \
    X(answer_delay_ms, ANSWER_DELAY_MS, "answer-delay-ms", UINT, "0", 0, 60000,                    \
      "hold INVITEs this long (after 100 Trying) before answering: lets a CANCEL win")             \
    X(require_siprec, REQUIRE_SIPREC, "require-siprec", UINT, "1", 0, 1,                           \
      "1: reject INVITEs with no recording marker (Require/Supported siprec, +sip.src, "           \
      "rs-metadata, Cisco recording headers) with 488; 0: record them too")                        \
    X(http_host, HTTP_HOST, "http-host", ADDR, "127.0.0.1", 0, 0, "address of the HTTP API")       \
    X(http_port, HTTP_PORT, "http-port", UINT, "8080", 0, 65535,                                   \
      "HTTP API port (0: pick a free one; printed at start)")                                      \
    X(http_enable, HTTP_ENABLE, "http", UINT, "1", 0, 1, "1: serve the HTTP API")                  \
    X(log_level, LOG_LEVEL, "log-level", UINT, "1", 0, 3,                                          \
      "0 errors, 1 + session start/end, 2 + every request, 3 + messages")

/* The configuration, one field per line of the map. Strings are owned (see config_free). */
struct vox_srs_config {
#define VOX__SRS_FIELD_STR(field)                                   char *field;
#define VOX__SRS_FIELD_ADDR(field)                                  char *field;
#define VOX__SRS_FIELD_UINT(field)                                  unsigned field;
#define VOX__SRS_FIELD(field, key, flag, kind, def, min, max, help) VOX__SRS_FIELD_##kind(field)
    VOX_SRS_CONFIG_MAP(VOX__SRS_FIELD)
#undef VOX__SRS_FIELD
};

/* Fills every field with its default. Returns 0 or VOX_ENOMEM. */
int vox_srs_config_init(struct vox_srs_config *cfg);
void vox_srs_config_free(struct vox_srs_config *cfg);

/*
 * Sets one setting by KEY (file/environment name) or by flag name (without "--"). `origin`
 * names where the value came from for the error text ("etc/srs.conf:12", "environment",
 * "--max-calls"). Returns 0, VOX_ENOENT (no such setting; diag lists the keys), or VOX_EINVAL
 * (value out of range or not a number/address; diag says what and where).
 */
int vox_srs_config_set(struct vox_srs_config *cfg, const char *key, const char *value,
                       const char *origin, struct vox_diag *diag);

/*
 * Reads "KEY = value" lines ('#' starts a comment, blank lines ignored, values may be quoted)
 * from `path`. Stops at the first bad line: VOX_EIO (cannot read) or the code of
 * vox_srs_config_set, with "path:line" in diag.
 */
int vox_srs_config_load_file(struct vox_srs_config *cfg, const char *path, struct vox_diag *diag);

/* Applies every setting whose KEY is set in the environment. Errors as vox_srs_config_set. */
int vox_srs_config_load_env(struct vox_srs_config *cfg, struct vox_diag *diag);

/* Checks relations between settings (port range, shard count a power of two, transports). */
int vox_srs_config_check(const struct vox_srs_config *cfg, struct vox_diag *diag);

/* Writes "  --flag VALUE   help (KEY, default D)" lines for --help. */
void vox_srs_config_usage(FILE *out);

/* ---- the server -------------------------------------------------------------------------------
 */

struct vox_srs;

/*
 * Creates the server: allocator and executor backends, session map, cache, port allocator,
 * recorder, SIP sockets (bound, so sip_port 0 is resolved here) and the HTTP API. Nothing runs
 * until vox_srs_run. `cfg` is copied. Errors name the part that failed in diag.
 */
int vox_srs_create(const struct vox_srs_config *cfg, struct vox_srs **out, struct vox_diag *diag);

/* The ports actually bound (useful with port 0). */
unsigned vox_srs_sip_port(const struct vox_srs *s);
unsigned vox_srs_http_port(const struct vox_srs *s);

/*
 * Runs the SIP event loop on the calling thread until vox_srs_stop. Then ends every session
 * (BYE sent, files completed, reason "shutdown") and returns 0.
 */
int vox_srs_run(struct vox_srs *s);

/* Asks vox_srs_run to return. Async-signal-safe (writes to an eventfd). */
void vox_srs_stop(struct vox_srs *s);

/* Frees everything; call after vox_srs_run returned (or instead of it). */
void vox_srs_destroy(struct vox_srs *s);

/* Counters of the server, for /metrics and tests. */
/* Upper bounds (seconds) of the INVITE-to-200 histogram of /metrics
 * (vox_siprec_setup_seconds_bucket): fine below 10 ms, where a p99 goal of a few ms is read. */
#define VOX_SRS_SETUP_BUCKETS 20
extern const double vox_srs_setup_bounds_s[VOX_SRS_SETUP_BUCKETS];

struct vox_srs_stats {
    uint64_t sessions_active, sessions_total, sessions_peak;
    uint64_t invites, reinvites, updates, acks, byes, cancels, options, other_requests;
    uint64_t responses_2xx, responses_4xx, responses_5xx;
    uint64_t rejected_busy;       /* 503: MAX_CONCURRENT_CALLS or ports exhausted */
    uint64_t rejected_not_siprec; /* 488: no recording marker */
    uint64_t rejected_malformed;  /* 400 and friends */
    uint64_t dropped_malformed;   /* unparseable, no response possible */
    uint64_t retransmissions_in;  /* requests seen again (answered from the transaction) */
    uint64_t retransmissions_out; /* 2xx / BYE retransmitted over UDP */
    uint64_t ended_bye, ended_timeout, ended_cancel, ended_no_ack, ended_shutdown;
    uint64_t ended_error; /* refused after admission, or unrecordable (files) */
    uint64_t tcp_connections, tcp_active;
    uint64_t messages_on_loop, messages_to_executor; /* where SIP messages were handled */
    uint64_t setup_ns_sum, setup_count; /* INVITE received -> 200 sent, inside the server */
    uint64_t setup_ns_max;
    /* the same times by bucket: [i] counts those up to vox_srs_setup_bounds_s[i] (and above the
     * bound before it), the last one those above every bound */
    uint64_t setup_buckets[VOX_SRS_SETUP_BUCKETS + 1];
};
void vox_srs_stats(struct vox_srs *s, struct vox_srs_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* VOX_SIPREC_H */
