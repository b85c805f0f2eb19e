/* SPDX-License-Identifier: MIT */
/*
 * Driver "pcap": a capture replayed offline through vox-capture (each profile and pattern-
 * matching backend), or through a reference tool on the same file in the same run.
 *
 * The capture. Unless `pcap` names a file, the driver writes one with vox-pcapgen: `calls`
 * calls (default 1000), `concurrency` of them at once (default: all), each with `duration_ms`
 * of G.711 both ways (default 1000: 50 packets a second each way, and 7 SIP messages), SIP over
 * `transport`, `seed`. A sweep over `concurrency` at a fixed `calls` keeps the file and the
 * share of SIP the same and changes only how many calls are live at once. A file is generated
 * when a run first asks for it and kept for the repetitions and workloads that follow, until
 * another is generated (one at a time on disk); generating is not measured.
 *
 * The tools (`tool`):
 *   vox-capture  the reference engine with `profile` and `match`; its figures come from the
 *                engine's own clock (the analysis only, not the start or the JSON), and its
 *                calls and RTP packets must equal the truth file's, or the run fails;
 *   tshark       `tshark -n -q -r FILE -z rtp,streams`: RTP statistics of every stream, the same
 *                figures vox-capture computes (tshark 4.0 of Debian 12);
 *   sngrep       `sngrep -N -q -I FILE`: headless, SIP dialogs only (sngrep keeps no RTP
 *                figures unless told to store RTP);
 *   tcpdump      `tcpdump -n -r FILE 'ip proto 253'`: a filter that matches nothing, so libpcap
 *                reads every record and the BPF program rejects it: the reading floor.
 * A tool's time is its process's wall time less that of the same command on a capture with
 * no packets (measured in the same repetition), so that start-up (tshark loads its dissectors
 * for ~0.3 s) is not charged to the packets; `process_packets_per_s` keeps the whole process.
 */
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"

static const char *const known_params[] = {"tool",        "profile", "match",     "threads",
                                           "exec",        "alloc",   "calls",     "concurrency",
                                           "duration_ms", "seed",    "transport", "pcap"};
static const char *const tools[] = {"vox-capture", "tshark", "sngrep", "tcpdump"};
static const char *const tool_packages[] = {"(built here)", "tshark", "sngrep", "tcpdump"};

#define NKNOWN (sizeof(known_params) / sizeof(known_params[0]))
#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

static int tool_index(const char *name)
{
    for (size_t i = 0; i < NTOOLS; i++)
        if (strcmp(tools[i], name) == 0)
            return (int)i;
    return -1;
}

static bool is_uint(const char *s, unsigned long long lo, unsigned long long hi)
{
    char *end;
    unsigned long long v;

    if (!s || !*s || *s == '-')
        return false;
    v = strtoull(s, &end, 10);
    return *end == 0 && v >= lo && v <= hi;
}

static int pcap_check(const struct vox_workload *w, struct vox_diag *diag)
{
    const struct vox_axis *sets[2] = {w->params, w->matrix};
    const size_t counts[2] = {w->nparams, w->nmatrix};

    for (size_t s = 0; s < 2; s++)
        for (size_t i = 0; i < counts[s]; i++) {
            const struct vox_axis *a = &sets[s][i];
            size_t k;

            for (k = 0; k < NKNOWN; k++)
                if (strcmp(a->name, known_params[k]) == 0)
                    break;
            if (k == NKNOWN) {
                vox_diag_set(diag,
                             "workload '%s' (pcap): unknown param '%s' (tool, profile, match, "
                             "calls, concurrency, duration_ms, seed, transport, pcap)",
                             w->id, a->name);
                return VOX_EINVAL;
            }
            for (k = 0; k < a->nvalues; k++) {
                const char *v = a->values[k];
                int t;

                if (strcmp(a->name, "tool") == 0) {
                    t = tool_index(v);
                    if (t < 0) {
                        vox_diag_set(diag,
                                     "workload '%s' (pcap): unknown tool '%s' (vox-capture, "
                                     "tshark, sngrep, tcpdump)",
                                     w->id, v);
                        return VOX_EINVAL;
                    }
                    if (t > 0 && !vox_driver_on_path(v)) {
                        vox_diag_set(diag,
                                     "workload '%s' (pcap): the tool '%s' is not installed "
                                     "(Debian package %s)",
                                     w->id, v, tool_packages[t]);
                        return VOX_ENOENT;
                    }
                } else if ((strcmp(a->name, "calls") == 0 || strcmp(a->name, "concurrency") == 0) &&
                           !is_uint(v, 1, 10000000)) {
                    vox_diag_set(diag, "workload '%s' (pcap): %s '%s' is not a count of 1 or more",
                                 w->id, a->name, v);
                    return VOX_EINVAL;
                } else if ((strcmp(a->name, "duration_ms") == 0 || strcmp(a->name, "seed") == 0) &&
                           !is_uint(v, 0, 1ull << 40)) {
                    vox_diag_set(diag, "workload '%s' (pcap): %s '%s' is not a number", w->id,
                                 a->name, v);
                    return VOX_EINVAL;
                } else if (strcmp(a->name, "transport") == 0 && strcmp(v, "udp") != 0 &&
                           strcmp(v, "tcp") != 0) {
                    vox_diag_set(diag, "workload '%s' (pcap): transport '%s' (udp or tcp)", w->id,
                                 v);
                    return VOX_EINVAL;
                }
            }
        }
    return 0;
}

/* ---- the capture ---------------------------------------------------------------------------- */

struct capture_file {
    char path[1024];
    char truth[1040]; /* "" for a given file */
    double packets, calls, rtp_packets, sip_messages;
};

static int fail_child(const struct vox_workload *w, const char *what, const char *err,
                      const struct vox_child_usage *u, struct vox_diag *diag)
{
    char tail[240];

    vox_driver_tail(err, tail, sizeof(tail));
    vox_diag_set(diag, "workload '%s': %s %s (exit %d): %s", w->id, what,
                 u->timed_out ? "timed out" : "failed", u->exit_code, tail);
    return VOX_EIO;
}

static int read_truth(const struct vox_workload *w, struct capture_file *cf, struct vox_diag *diag)
{
    json_error_t jerr;
    json_t *root = json_load_file(cf->truth, 0, &jerr), *tot;

    if (!root) {
        vox_diag_set(diag, "workload '%s': truth file %s: %s (line %d)", w->id, cf->truth,
                     jerr.text, jerr.line);
        return VOX_EMALFORMED;
    }
    tot = json_object_get(root, "totals");
    cf->packets = json_number_value(json_object_get(tot, "packets"));
    cf->calls = json_number_value(json_object_get(tot, "calls"));
    cf->rtp_packets = json_number_value(json_object_get(tot, "rtp_packets"));
    cf->sip_messages = json_number_value(json_object_get(tot, "sip_messages"));
    json_decref(root);
    /* The truth of 10,000 calls is a tree of some 100 MB: give it back before the next fork,
     * or the measured child's peak RSS starts there (Linux copies the parent's resident size
     * into a forked child's high-water mark, and keeps it across exec). */
    malloc_trim(0);
    if (!(cf->packets > 0)) {
        vox_diag_set(diag, "workload '%s': truth file %s has no totals.packets", w->id, cf->truth);
        return VOX_EMALFORMED;
    }
    return 0;
}

static double jnum(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(o, a), b);

    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Runs vox-capture (argv; its JSON goes to `out`, its stderr to `err`) and loads the JSON into
 * *root; `what` names the run in errors. */
static int run_capture_json(const struct vox_driver_env *env, const struct vox_workload *w,
                            char *const *argv, const char *out, const char *err, const char *what,
                            struct vox_child_usage *u, json_t **root, struct vox_diag *diag)
{
    json_error_t jerr;
    int rc = vox_child_run(argv, NULL, NULL, err, env->timeout_s, u, diag);

    if (rc)
        return rc;
    if (u->timed_out || u->exit_code != 0)
        return fail_child(w, what, err, u, diag);
    *root = json_load_file(out, 0, &jerr);
    if (!*root) {
        vox_diag_set(diag, "workload '%s': vox-capture output is not JSON: %s", w->id, jerr.text);
        return VOX_EMALFORMED;
    }
    return 0;
}

/* The packets and calls of a given capture, as vox-capture counts them (no truth file). */
static int count_packets(const struct vox_driver_env *env, const struct vox_workload *w,
                         struct capture_file *cf, struct vox_diag *diag)
{
    char bin[600], out[600], err[600];
    char *argv[] = {bin, "-r", cf->path, "--match", "scalar", "--summary-only", "-o", out, NULL};
    struct vox_child_usage u;
    json_t *root;
    int rc;

    snprintf(bin, sizeof(bin), "%s/vox-capture", env->bin_dir);
    snprintf(out, sizeof(out), "%s/%s.count.json", env->work_dir, w->id);
    snprintf(err, sizeof(err), "%s/%s.count.err", env->work_dir, w->id);
    rc = run_capture_json(env, w, argv, out, err, "vox-capture (counting the packets)", &u, &root,
                          diag);
    if (rc)
        return rc;
    cf->packets = json_number_value(json_object_get(json_object_get(root, "stats"), "read"));
    cf->calls = json_number_value(json_object_get(json_object_get(root, "stats"), "calls"));
    json_decref(root);
    return 0;
}

static char last_generated[1024];

/* The capture of this run: a given file, or one generated (once) into the work directory. */
static int capture_for(const struct vox_driver_env *env, const struct vox_workload *w,
                       const struct vox_run *run, struct capture_file *cf, struct vox_diag *diag)
{
    const char *given = vox_run_param(run, "pcap"), *p;
    unsigned long long calls = 1000, conc, dur = 1000, seed = 1;
    const char *transport = vox_run_param(run, "transport");
    char bin[600], ncalls[24], nconc[24], ndur[24], nseed[24], err[1100];
    char *argv[24];
    struct vox_child_usage u;
    size_t n = 0;
    int rc;

    memset(cf, 0, sizeof(*cf));
    if (given) {
        snprintf(cf->path, sizeof(cf->path), "%s%s%s", given[0] == '/' ? "" : vox_driver_home(),
                 given[0] == '/' ? "" : "/", given);
        if (access(cf->path, R_OK) != 0) {
            vox_diag_set(diag, "workload '%s': pcap '%s' cannot be read", w->id, cf->path);
            return VOX_ENOENT;
        }
        return count_packets(env, w, cf, diag);
    }
    if ((p = vox_run_param(run, "calls")))
        calls = strtoull(p, NULL, 10);
    conc = (p = vox_run_param(run, "concurrency")) ? strtoull(p, NULL, 10) : calls;
    if ((p = vox_run_param(run, "seed")))
        seed = strtoull(p, NULL, 10);
    if ((p = vox_run_param(run, "duration_ms")))
        dur = strtoull(p, NULL, 10);
    if (!transport)
        transport = "udp";
    snprintf(cf->path, sizeof(cf->path), "%s/gen-c%llu-k%llu-d%llu-s%llu-%s.pcap", env->work_dir,
             calls, conc, dur, seed, transport);
    snprintf(cf->truth, sizeof(cf->truth), "%s.json", cf->path);
    if (access(cf->truth, R_OK) == 0) /* written last: the pair is complete */
        return read_truth(w, cf, diag);
    /* One generated capture on disk at a time (a sweep's files reach gigabytes): the runs of
     * one configuration are consecutive, so a file dropped here is rarely needed again, and
     * then it is written again (seconds). */
    if (last_generated[0]) {
        unlink(last_generated);
        snprintf(err, sizeof(err), "%s.json", last_generated);
        unlink(err);
    }
    snprintf(last_generated, sizeof(last_generated), "%s", cf->path);
    snprintf(bin, sizeof(bin), "%s/vox-pcapgen", env->bin_dir);
    snprintf(ncalls, sizeof(ncalls), "%llu", calls);
    snprintf(nconc, sizeof(nconc), "%llu", conc);
    snprintf(ndur, sizeof(ndur), "%llu", dur);
    snprintf(nseed, sizeof(nseed), "%llu", seed);
    snprintf(err, sizeof(err), "%s.err", cf->path);
    argv[n++] = bin;
    argv[n++] = "--out";
    argv[n++] = cf->path;
    argv[n++] = "--truth";
    argv[n++] = cf->truth;
    argv[n++] = "--calls";
    argv[n++] = ncalls;
    argv[n++] = "--concurrency";
    argv[n++] = nconc;
    argv[n++] = "--duration-ms";
    argv[n++] = ndur;
    argv[n++] = "--seed";
    argv[n++] = nseed;
    argv[n++] = "--sip-transport";
    argv[n++] = (char *)transport;
    argv[n] = NULL;
    rc = vox_child_run(argv, NULL, NULL, err, env->timeout_s, &u, diag);
    if (rc)
        return rc;
    if (u.timed_out || u.exit_code != 0) {
        unlink(cf->truth);
        return fail_child(w, "vox-pcapgen", err, &u, diag);
    }
    return read_truth(w, cf, diag);
}

/* A capture file with no packets (Ethernet), for the tools' start-up time. */
static int empty_capture(const struct vox_driver_env *env, char *path, size_t cap,
                         struct vox_diag *diag)
{
    static const unsigned char hdr[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2,    0,    4, 0, 0, 0, 0, 0,
                                          0,    0,    0,    0,    0xff, 0xff, 0, 0, 1, 0, 0, 0};
    FILE *f;

    snprintf(path, cap, "%s/empty.pcap", env->work_dir);
    if (access(path, R_OK) == 0)
        return 0;
    f = fopen(path, "wb");
    if (!f || fwrite(hdr, 1, sizeof(hdr), f) != sizeof(hdr) || fclose(f) != 0) {
        vox_diag_set(diag, "cannot write %s", path);
        return VOX_EIO;
    }
    return 0;
}

/* ---- measuring ------------------------------------------------------------------------------ */

static int push(struct vox_run *run, const char *name, const char *unit, enum vox_metric_dir dir,
                double v)
{
    struct vox_metric *m = vox_run_metric(run, name, unit, dir, false);

    return m && vox_metric_push(m, v) == 0 ? 0 : VOX_ENOMEM;
}

static int run_vox_capture(const struct vox_driver_env *env, const struct vox_workload *w,
                           struct vox_run *run, const struct capture_file *cf,
                           struct vox_diag *diag)
{
    const char *profile = vox_run_param(run, "profile"), *match = vox_run_param(run, "match");
    const char *threads = vox_run_param(run, "threads"), *exec = vox_run_param(run, "exec");
    const char *alloc = vox_run_param(run, "alloc");
    char bin[600], out[600], err[600];
    char *argv[24];
    struct vox_child_usage u;
    json_t *root;
    double read, calls, rtp, run_s;
    size_t n = 0;
    int rc;

    snprintf(bin, sizeof(bin), "%s/vox-capture", env->bin_dir);
    snprintf(out, sizeof(out), "%s/%s.capture.json", env->work_dir, w->id);
    snprintf(err, sizeof(err), "%s/%s.capture.err", env->work_dir, w->id);
    argv[n++] = bin;
    argv[n++] = "-r";
    argv[n++] = (char *)cf->path;
    argv[n++] = "--profile";
    argv[n++] = (char *)(profile ? profile : "balanced");
    argv[n++] = "--match";
    argv[n++] = (char *)(match ? match : "auto");
    if (threads) {
        argv[n++] = "--threads";
        argv[n++] = (char *)threads;
    }
    if (exec) {
        argv[n++] = "--exec";
        argv[n++] = (char *)exec;
    }
    if (alloc) {
        argv[n++] = "--alloc";
        argv[n++] = (char *)alloc;
    }
    /* The summary only: voxbench stays small, and a child's peak RSS starts from its
     * parent's at the fork (Linux keeps the high-water mark across exec). */
    argv[n++] = "--summary-only";
    argv[n++] = "-o";
    argv[n++] = out;
    argv[n] = NULL;
    rc = run_capture_json(env, w, argv, out, err, "vox-capture", &u, &root, diag);
    if (rc)
        return rc;
    read = jnum(root, "stats", "read");
    calls = jnum(root, "stats", "calls");
    rtp = jnum(root, "stats", "rtp_packets");
    run_s = jnum(root, "timing", "run_s");
    /* The engine must have found what the generator wrote: a faster wrong answer is no row. */
    if (cf->truth[0] && (read != cf->packets || calls != cf->calls || rtp != cf->rtp_packets)) {
        vox_diag_set(diag,
                     "workload '%s': vox-capture disagrees with the truth of %s: %.0f packets, "
                     "%.0f calls, %.0f RTP (truth %.0f, %.0f, %.0f)",
                     w->id, cf->path, read, calls, rtp, cf->packets, cf->calls, cf->rtp_packets);
        json_decref(root);
        return VOX_EINVAL;
    }
    rc = push(run, "packets_per_s", "1/s", VOX_DIR_HIGHER, jnum(root, "timing", "packets_per_s"));
    rc = rc ? rc : push(run, "calls_per_s", "1/s", VOX_DIR_HIGHER, run_s > 0 ? calls / run_s : NAN);
    rc =
        rc ? rc
           : push(run, "ns_per_packet", "ns", VOX_DIR_LOWER, jnum(root, "timing", "ns_per_packet"));
    rc = rc ? rc
            : push(run, "process_packets_per_s", "1/s", VOX_DIR_HIGHER,
                   u.wall_s > 0 ? read / u.wall_s : NAN);
    rc = rc ? rc
            : push(run, "batch_p50_us", "us", VOX_DIR_LOWER, jnum(root, "timing", "batch_p50_us"));
    rc = rc ? rc
            : push(run, "batch_p99_us", "us", VOX_DIR_LOWER, jnum(root, "timing", "batch_p99_us"));
    rc =
        rc ? rc
           : push(run, "batch_p999_us", "us", VOX_DIR_LOWER, jnum(root, "timing", "batch_p999_us"));
    rc = rc ? rc : push(run, "packets", "count", VOX_DIR_HIGHER, read);
    rc = rc ? rc : push(run, "calls", "count", VOX_DIR_HIGHER, calls);
    rc = rc ? rc
            : push(run, "tracked_bytes", "bytes", VOX_DIR_LOWER,
                   jnum(root, "stats", "memory_bytes"));
    rc = rc ? rc
            : push(run, "dropped", "count", VOX_DIR_LOWER,
                   jnum(root, "stats", "calls_dropped") + jnum(root, "stats", "streams_dropped") +
                       jnum(root, "stats", "fragments_dropped") + jnum(root, "stats", "tcp_gaps"));
    /* The profile's settings, for the profile table. */
    rc = rc ? rc
            : push(run, "profile_batch", "count", VOX_DIR_LOWER,
                   jnum(root, "profile", "batch_packets"));
    rc =
        rc ? rc
           : push(run, "profile_buffers", "count", VOX_DIR_LOWER, jnum(root, "profile", "buffers"));
    rc = rc ? rc
            : push(run, "profile_memory_bytes", "bytes", VOX_DIR_LOWER,
                   jnum(root, "profile", "memory_limit_bytes"));
    rc =
        rc ? rc
           : push(run, "profile_threads", "count", VOX_DIR_LOWER, jnum(root, "profile", "threads"));
    rc = rc ? rc : push(run, "threads", "count", VOX_DIR_LOWER, jnum(root, "timing", "threads"));
    rc = rc ? rc : push(run, "cpu_s", "s", VOX_DIR_LOWER, jnum(root, "timing", "cpu_s"));
    json_decref(root);
    return rc ? rc : vox_driver_push_usage(run, &u);
}

/* argv of reference tool t on `file` (static strings and `file`). */
static void tool_argv(int t, const char *file, char **argv)
{
    size_t n = 0;

    argv[n++] = (char *)tools[t];
    switch (t) {
    case 1:
        argv[n++] = "-n";
        argv[n++] = "-q";
        argv[n++] = "-r";
        argv[n++] = (char *)file;
        argv[n++] = "-z";
        argv[n++] = "rtp,streams";
        break;
    case 2:
        argv[n++] = "-N";
        argv[n++] = "-q";
        argv[n++] = "-I";
        argv[n++] = (char *)file;
        break;
    default:
        argv[n++] = "-n";
        argv[n++] = "-r";
        argv[n++] = (char *)file;
        argv[n++] = "ip proto 253";
        break;
    }
    argv[n] = NULL;
}

static int run_tool(const struct vox_driver_env *env, const struct vox_workload *w,
                    struct vox_run *run, int t, const struct capture_file *cf,
                    struct vox_diag *diag)
{
    char empty[600], out[600], err[600];
    char *argv[16];
    struct vox_child_usage u0, u;
    double packets = cf->packets, busy;
    int rc;

    if (!(packets > 0)) {
        vox_diag_set(diag,
                     "workload '%s': tool %s needs the packet count of %s (generate the "
                     "capture, or run vox-capture on it in the same workload)",
                     w->id, tools[t], cf->path);
        return VOX_EINVAL;
    }
    rc = empty_capture(env, empty, sizeof(empty), diag);
    if (rc)
        return rc;
    snprintf(out, sizeof(out), "%s/%s.%s.out", env->work_dir, w->id, tools[t]);
    snprintf(err, sizeof(err), "%s/%s.%s.err", env->work_dir, w->id, tools[t]);
    tool_argv(t, empty, argv);
    rc = vox_child_run(argv, NULL, out, err, env->timeout_s, &u0, diag);
    if (rc)
        return rc;
    if (u0.timed_out || u0.exit_code != 0)
        return fail_child(w, tools[t], err, &u0, diag);
    tool_argv(t, cf->path, argv);
    rc = vox_child_run(argv, NULL, out, err, env->timeout_s, &u, diag);
    if (rc)
        return rc;
    if (u.timed_out || u.exit_code != 0)
        return fail_child(w, tools[t], err, &u, diag);
    busy = u.wall_s - u0.wall_s;
    rc = push(run, "packets_per_s", "1/s", VOX_DIR_HIGHER, busy > 0 ? packets / busy : NAN);
    rc =
        rc ? rc
           : push(run, "ns_per_packet", "ns", VOX_DIR_LOWER, busy > 0 ? busy * 1e9 / packets : NAN);
    rc = rc ? rc
            : push(run, "calls_per_s", "1/s", VOX_DIR_HIGHER,
                   busy > 0 && cf->calls > 0 ? cf->calls / busy : NAN);
    rc = rc ? rc
            : push(run, "process_packets_per_s", "1/s", VOX_DIR_HIGHER,
                   u.wall_s > 0 ? packets / u.wall_s : NAN);
    rc = rc ? rc : push(run, "startup_s", "s", VOX_DIR_LOWER, u0.wall_s);
    rc = rc ? rc : push(run, "packets", "count", VOX_DIR_HIGHER, packets);
    return rc ? rc : vox_driver_push_usage(run, &u);
}

static int pcap_run_once(const struct vox_driver_env *env, const struct vox_workload *w,
                         struct vox_run *run, unsigned rep, struct vox_diag *diag)
{
    const char *tool = vox_run_param(run, "tool");
    int t = tool ? tool_index(tool) : 0;
    struct capture_file cf;
    int rc;

    (void)rep;
    if (t < 0) {
        vox_diag_set(diag, "workload '%s': unknown tool '%s'", w->id, tool);
        return VOX_EINVAL;
    }
    rc = capture_for(env, w, run, &cf, diag);
    if (rc)
        return rc;
    return t == 0 ? run_vox_capture(env, w, run, &cf, diag) : run_tool(env, w, run, t, &cf, diag);
}

const struct vox_driver_ops vox__driver_pcap = {
    .kind = "pcap",
    .description = "a capture replayed offline through vox-capture (per profile and matching "
                   "backend) or a reference tool (tshark, sngrep, tcpdump)",
    .check = pcap_check,
    .run_once = pcap_run_once,
};
