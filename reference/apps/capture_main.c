/* SPDX-License-Identifier: MIT */
/* vox-capture: SIP calls and RTP stream quality from a pcap/pcapng file or a live interface. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "vox/capture.h"
#include "vox/core.h"

#define PROG "vox-capture"

static struct vox_capture *g_cap;

static void on_signal(int sig)
{
    (void)sig;
    if (g_cap)
        vox_capture_stop(g_cap);
}

static void usage(FILE *out)
{
    const struct vox_capture_profile *const *p = vox_capture_profiles();

    fprintf(out,
            "usage: vox-capture (-r FILE | -i INTERFACE) [options]\n"
            "Tracks SIP calls (UDP, TCP, IP fragments) and the quality of their RTP streams.\n\n"
            "Source:\n"
            "  -r, --read FILE            a pcap or pcapng file\n"
            "  -i, --interface NAME       capture live (lo, eth0, any ...)\n"
            "  -f, --filter EXPR          BPF filter (tcpdump syntax)\n"
            "      --promisc              live: promiscuous mode\n"
            "      --snaplen BYTES        live: bytes kept per frame (65535)\n"
            "      --buffer-size BYTES    live: kernel buffer\n"
            "  -c, --count N              stop after N packets\n"
            "  -d, --duration SECONDS     live: stop after this long\n"
            "Engine:\n"
            "      --profile NAME         sizes at once (balanced); one of:");
    for (size_t i = 0; p[i]; i++)
        fprintf(out, " %s", p[i]->name);
    fprintf(out,
            "\n"
            "      --batch N              packets per batch (profile)\n"
            "      --buffers N            TCP streams / IP datagrams in reassembly (profile)\n"
            "      --memory-limit MB      reassembly memory (profile)\n"
            "      --stream-timeout SEC   idle TCP stream timeout (profile)\n"
            "      --threads N            1: read and analyse on one thread; 2 or more: a\n"
            "                             reader and an analyser; 0: one per CPU (profile)\n"
            "      --alloc NAME           allocator of the batches (system)\n"
            "      --exec NAME            executor of the analyser: thread, pool, steal (pool)\n"
            "      --match NAME           SIP pattern matching: auto, scalar, simd, cuda\n"
            "      --max-calls N          calls tracked before new ones are dropped (0: no "
            "limit)\n"
            "      --max-streams N        RTP streams likewise\n"
            "      --rtp-heuristic        also analyse RTP that no SDP announced\n"
            "Output:\n"
            "  -o, --json FILE            calls, streams and counters as JSON (- for stdout)\n"
            "      --summary-only         with -o: the counters, profile and timing only\n"
            "      --calls-csv FILE       one row per call\n"
            "      --streams-csv FILE     one row per RTP stream\n"
            "      --pcap-dir DIR         one pcap per call in DIR (created if missing):\n"
            "                             its SIP, RTP and RTCP frames as captured, in\n"
            "                             CALLID-HASH.pcap (Call-ID cut to 64 bytes, all\n"
            "                             but [A-Za-z0-9._@-] made '_'; 16 hex digits)\n"
            "      --finished FILE        each call as one JSON line once it is over, then\n"
            "                             let go (long captures: memory holds the calls in\n"
            "                             progress); with --pcap-dir its file is complete\n"
            "                             when its line is written\n"
            "      --linger SECONDS       after a BYE, CANCEL or failure, quiet this long\n"
            "                             before the call is over (5)\n"
            "  -q, --quiet                no summary on stderr\n"
            "      --version\n\n"
            "Exit status: 0; 1 when the source cannot be read (the figures gathered before a\n"
            "corrupt or truncated file's fault are still written) or an output could not be\n"
            "written (JSON, CSV, per-call pcaps); 2 for bad arguments.\n");
}

static int write_to(const char *path, int (*fn)(const struct vox_capture *, FILE *),
                    const struct vox_capture *cap)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    int rc;

    if (!f) {
        fprintf(stderr, "vox-capture: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    rc = fn(cap, f);
    if (f != stdout) {
        if (fclose(f) != 0)
            rc = -1;
    } else if (fflush(f) != 0) {
        rc = -1;
    }
    if (rc)
        fprintf(stderr, "vox-capture: writing %s failed\n", path);
    return rc;
}

static void summary(const struct vox_capture *cap)
{
    struct vox_capture_stats s;
    struct vox_capture_timing t;

    vox_capture_stats(cap, &s);
    fprintf(stderr,
            "vox-capture: %" PRIu64 " packets: %" PRIu64 " SIP messages (%" PRIu64 " bad), %" PRIu64
            " RTP, %" PRIu64 " RTCP (%" PRIu64 " bad); %" PRIu64 " calls, %" PRIu64 " streams\n"
            "  set aside: not IP %" PRIu64 ", other protocols %" PRIu64 ", other UDP %" PRIu64
            ", other TCP %" PRIu64 ", bad link %" PRIu64 ", bad IP %" PRIu64 ", bad UDP/TCP "
            "%" PRIu64 ", truncated %" PRIu64 "\n"
            "  reassembly: %" PRIu64 " fragments -> %" PRIu64 " datagrams (%" PRIu64
            " dropped); %" PRIu64 " TCP segments -> %" PRIu64 " messages (%" PRIu64
            " gaps, %" PRIu64 " resyncs)\n"
            "  limits: %" PRIu64 " calls and %" PRIu64 " streams dropped\n",
            s.read, s.sip_messages, s.sip_bad, s.rtp_packets, s.rtcp_packets, s.rtcp_bad, s.calls,
            s.streams, s.not_ip, s.other_proto, s.other_udp, s.other_tcp, s.bad_link, s.bad_ip,
            s.bad_l4, s.truncated, s.fragments, s.datagrams_reassembled, s.fragments_dropped,
            s.tcp_segments, s.tcp_messages, s.tcp_gaps, s.tcp_resyncs, s.calls_dropped,
            s.streams_dropped);
    if (s.pcap_files || s.pcap_write_errors)
        fprintf(stderr,
                "  per-call pcaps: %" PRIu64 " files, %" PRIu64 " frames (%" PRIu64
                " messages incomplete, %" PRIu64 " write errors)\n",
                s.pcap_files, s.pcap_frames, s.pcap_incomplete, s.pcap_write_errors);
    if (s.calls_finished || s.streams_finished || s.finished_write_errors)
        fprintf(stderr,
                "  finished: %" PRIu64 " calls and %" PRIu64 " lone streams written (%" PRIu64
                " write errors)\n",
                s.calls_finished, s.streams_finished, s.finished_write_errors);
    if (s.kernel_received || s.kernel_dropped || s.kernel_if_dropped)
        fprintf(stderr,
                "  kernel: %" PRIu64 " received, %" PRIu64 " dropped, %" PRIu64
                " dropped by the interface\n",
                s.kernel_received, s.kernel_dropped, s.kernel_if_dropped);
    vox_capture_timing(cap, &t);
    if (t.run_ns)
        fprintf(stderr,
                "  time: %.3f s (%.2f M packets/s, %.0f ns a packet) on %u thread%s; batch "
                "latency p50 %.1f us, p99 %.1f us\n",
                (double)t.run_ns / 1e9, (double)s.read * 1e3 / (double)t.run_ns,
                s.read ? (double)t.run_ns / (double)s.read : 0.0, t.threads,
                t.threads == 1 ? "" : "s", (double)t.batch_p50_ns / 1e3,
                (double)t.batch_p99_ns / 1e3);
}

enum {
    OPT_PROMISC = 256,
    OPT_SNAPLEN,
    OPT_BUFFER_SIZE,
    OPT_PROFILE,
    OPT_BATCH,
    OPT_BUFFERS,
    OPT_MEMORY,
    OPT_TIMEOUT,
    OPT_THREADS,
    OPT_ALLOC,
    OPT_EXEC,
    OPT_MATCH,
    OPT_MAX_CALLS,
    OPT_MAX_STREAMS,
    OPT_HEURISTIC,
    OPT_CALLS_CSV,
    OPT_STREAMS_CSV,
    OPT_PCAP_DIR,
    OPT_FINISHED,
    OPT_LINGER,
    OPT_SUMMARY,
    OPT_VERSION,
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"read", required_argument, NULL, 'r'},
        {"interface", required_argument, NULL, 'i'},
        {"filter", required_argument, NULL, 'f'},
        {"count", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},
        {"json", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"promisc", no_argument, NULL, OPT_PROMISC},
        {"snaplen", required_argument, NULL, OPT_SNAPLEN},
        {"buffer-size", required_argument, NULL, OPT_BUFFER_SIZE},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"buffers", required_argument, NULL, OPT_BUFFERS},
        {"memory-limit", required_argument, NULL, OPT_MEMORY},
        {"stream-timeout", required_argument, NULL, OPT_TIMEOUT},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"alloc", required_argument, NULL, OPT_ALLOC},
        {"exec", required_argument, NULL, OPT_EXEC},
        {"match", required_argument, NULL, OPT_MATCH},
        {"max-calls", required_argument, NULL, OPT_MAX_CALLS},
        {"max-streams", required_argument, NULL, OPT_MAX_STREAMS},
        {"rtp-heuristic", no_argument, NULL, OPT_HEURISTIC},
        {"calls-csv", required_argument, NULL, OPT_CALLS_CSV},
        {"streams-csv", required_argument, NULL, OPT_STREAMS_CSV},
        {"pcap-dir", required_argument, NULL, OPT_PCAP_DIR},
        {"finished", required_argument, NULL, OPT_FINISHED},
        {"linger", required_argument, NULL, OPT_LINGER},
        {"summary-only", no_argument, NULL, OPT_SUMMARY},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    struct vox_capture_config cfg;
    struct vox_diag diag = {{0}};
    const char *file = NULL, *iface = NULL, *json = NULL, *calls_csv = NULL, *streams_csv = NULL;
    uint64_t count = 0, duration_s = 0, v;
    /* Flags that override the profile wait until the profile is known. */
    int64_t batch = -1, buffers = -1, memory_mb = -1, timeout_s = -1, threads = -1;
    int quiet = 0, summary_only = 0, c, rc, status = 0;

    vox_process_prepare(argv);
    vox_capture_config_init(&cfg);
    while ((c = getopt_long(argc, argv, "r:i:f:c:d:o:qh", opts, NULL)) != -1) {
        const char *name = NULL;

        for (size_t k = 0; opts[k].name; k++)
            if (opts[k].val == c)
                name = opts[k].name;
        switch (c) {
        case 'r':
            file = optarg;
            break;
        case 'i':
            iface = optarg;
            break;
        case 'f':
            cfg.filter = optarg;
            break;
        case 'c':
            if (vox_arg_u64(PROG, "--count", optarg, 0, UINT64_MAX, &count))
                return 2;
            break;
        case 'd':
            if (vox_arg_u64(PROG, "--duration", optarg, 0, 86400 * 365, &duration_s))
                return 2;
            break;
        case 'o':
            json = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case OPT_PROMISC:
            cfg.promisc = 1;
            break;
        case OPT_SNAPLEN:
            if (vox_arg_u64(PROG, "--snaplen", optarg, 0, 262144, &v))
                return 2;
            cfg.snaplen = (int)v;
            break;
        case OPT_BUFFER_SIZE:
            if (vox_arg_u64(PROG, "--buffer-size", optarg, 0, 1u << 30, &v))
                return 2;
            cfg.buffer_bytes = (unsigned)v;
            break;
        case OPT_PROFILE: {
            const struct vox_capture_profile *p = vox_capture_profile_find(optarg);

            if (!p) {
                fprintf(stderr, "vox-capture: --profile: unknown profile '%s'; one of:", optarg);
                for (const struct vox_capture_profile *const *q = vox_capture_profiles(); *q; q++)
                    fprintf(stderr, " %s", (*q)->name);
                fprintf(stderr, "\n");
                return 2;
            }
            cfg.profile = *p;
            break;
        }
        case OPT_BATCH:
        case OPT_BUFFERS:
        case OPT_MEMORY:
        case OPT_TIMEOUT:
            if (vox_arg_u64(PROG, name, optarg, 0, c == OPT_BATCH ? 65536 : 1u << 30, &v))
                return 2;
            if ((c == OPT_BATCH || c == OPT_BUFFERS) && v == 0) {
                fprintf(stderr, "vox-capture: --%s must be at least 1\n", name);
                return 2;
            }
            *(c == OPT_BATCH     ? &batch
              : c == OPT_BUFFERS ? &buffers
              : c == OPT_MEMORY  ? &memory_mb
                                 : &timeout_s) = (int64_t)v;
            break;
        case OPT_THREADS:
            if (vox_arg_u64(PROG, "--threads", optarg, 0, 1024, &v))
                return 2;
            threads = (int64_t)v;
            break;
        case OPT_ALLOC:
            cfg.alloc = optarg;
            break;
        case OPT_EXEC:
            cfg.exec = optarg;
            break;
        case OPT_MATCH:
            cfg.match = optarg;
            break;
        case OPT_MAX_CALLS:
            if (vox_arg_u64(PROG, "--max-calls", optarg, 0, UINT32_MAX - 2, &cfg.max_calls))
                return 2;
            break;
        case OPT_MAX_STREAMS:
            if (vox_arg_u64(PROG, "--max-streams", optarg, 0, UINT32_MAX - 2, &cfg.max_streams))
                return 2;
            break;
        case OPT_HEURISTIC:
            cfg.rtp_heuristic = 1;
            break;
        case OPT_CALLS_CSV:
            calls_csv = optarg;
            break;
        case OPT_STREAMS_CSV:
            streams_csv = optarg;
            break;
        case OPT_PCAP_DIR:
            cfg.pcap_dir = optarg;
            break;
        case OPT_FINISHED:
            cfg.finished_path = optarg;
            break;
        case OPT_LINGER:
            if (vox_arg_u64(PROG, "--linger", optarg, 1, 86400, &v))
                return 2;
            cfg.linger_ms = v * 1000;
            break;
        case OPT_SUMMARY:
            summary_only = 1;
            break;
        case OPT_VERSION:
            printf("vox-capture %s (%s)\n", vox_version(), vox_build_features());
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vox-capture: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!file == !iface) {
        fprintf(stderr, "vox-capture: give exactly one of -r FILE or -i INTERFACE\n");
        usage(stderr);
        return 2;
    }
    if (batch >= 0)
        cfg.profile.batch_packets = (unsigned)batch;
    if (buffers >= 0)
        cfg.profile.buffers = (unsigned)buffers;
    if (memory_mb >= 0)
        cfg.profile.memory_limit_bytes = (uint64_t)memory_mb << 20;
    if (timeout_s >= 0)
        cfg.profile.stream_timeout_ms = (uint64_t)timeout_s * 1000;
    if (threads >= 0)
        cfg.profile.threads = (unsigned)threads;

    rc = file ? vox_capture_open_file(&cfg, file, &g_cap, &diag)
              : vox_capture_open_live(&cfg, iface, &g_cap, &diag);
    if (rc) {
        fprintf(stderr, "vox-capture: %s\n", diag.text[0] ? diag.text : vox_strerror(rc));
        return rc == VOX_EUNKNOWN_BACKEND || rc == VOX_ENOT_COMPILED || rc == VOX_EINVAL ? 2 : 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    /* A per-call file over the file size limit fails its write (counted) instead of killing. */
    signal(SIGXFSZ, SIG_IGN);
    rc = vox_capture_run(g_cap, count, duration_s * 1000, &diag);
    if (rc) {
        /* What was read before the fault is still reported below. */
        fprintf(stderr, "vox-capture: %s\n", diag.text[0] ? diag.text : vox_strerror(rc));
        status = 1;
    }
    if (cfg.pcap_dir) {
        struct vox_capture_stats st;

        vox_capture_stats(g_cap, &st);
        if (st.pcap_write_errors) {
            fprintf(stderr,
                    "vox-capture: %s: writing per-call pcap files failed %" PRIu64
                    " time(s) (disk full?): those files are incomplete, the figures are not "
                    "affected\n",
                    cfg.pcap_dir, st.pcap_write_errors);
            status = 1;
        }
    }
    if (json &&
        write_to(json, summary_only ? vox_capture_write_summary_json : vox_capture_write_json,
                 g_cap))
        status = 1;
    if (calls_csv && write_to(calls_csv, vox_capture_write_calls_csv, g_cap))
        status = 1;
    if (streams_csv && write_to(streams_csv, vox_capture_write_streams_csv, g_cap))
        status = 1;
    /* Last: the other outputs list the calls in progress; the file gets every call once. */
    if (vox_capture_finish_all(g_cap, &diag) != 0) {
        fprintf(stderr, "vox-capture: %s\n", diag.text);
        status = 1;
    }
    if (!quiet)
        summary(g_cap);
    vox_capture_close(g_cap);
    g_cap = NULL;
    return status;
}
