/* SPDX-License-Identifier: MIT */
/* Driver "sipp": SIPp call load against vox-siprec, RTP from vox-rtpsend, the server measured. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "vox/core.h"
#include "vox/stats.h"

/*
 * One repetition, self-contained, in a work directory of its own:
 *
 *   1. vox-siprec on ephemeral ports (--sip-port 0 --http-port 0 --print-ports FILE) with the
 *      configuration's allocator, executor, cache, shards and workers;
 *   2. vox-rtpsend in daemon mode on an ephemeral control port (it prints "control ADDR");
 *   3. SIPp, in the foreground with stdin closed, running scenarios/sipp/<scenario>: RATE
 *      calls/s up to CONCURRENCY at once, CALLS in all, each CALL_SECONDS long; after the
 *      ACK each call asks the daemon (an <exec> of `vox-rtpsend --send`) to send both legs'
 *      RTP to the ports of the answer;
 *   4. while SIPp runs, every SAMPLE_MS: the server's /proc/PID/stat (CPU), /proc/PID/status
 *      (VmRSS, VmHWM) and /health (sessions now), SIPp's and the daemon's CPU time, and the
 *      machine's (/proc/stat);
 *   5. /metrics and /api/resources, then SIGTERM to the server and the daemon.
 *
 * Every step has a deadline. SIPp past its own (1.5 x the planned length + 30 s) gets SIGUSR1,
 * which makes it count the calls in flight as failed and write its files; whatever still hangs
 * is killed with its process group. A failed call is counted (calls_failed), not fatal; a
 * server that dies or fails at shutdown, a SIPp that cannot start or stop, or a missing
 * statistics file fail the repetition with the tail of the culprit's stderr.
 *
 * SIPp 3.6.1 reads CLOCK_MONOTONIC_COARSE (4 ms steps at HZ=250), so its response times are
 * preloaded with libvox-sipp-clock.so (sipp_clock.c), which makes them exact to the µs.
 */

#define SAMPLE_MS        200
#define START_TIMEOUT_MS 10000 /* server ports file, daemon control line */
#define STOP_TIMEOUT_MS  15000 /* SIGTERM to exit */
#define HTTP_TIMEOUT_MS  3000
#define HTTP_MAX_BYTES   (1u << 20)
#define SIPP_GRACE_S     30 /* added to 1.5x the planned length of a SIPp run */
#define QUICK_MAX_CONC   50
#define QUICK_MAX_CALL_S 2.0
#define RTP_PORT_MIN     20000u

/* ---- parameters ---------------------------------------------------------------------------- */

struct param_spec {
    const char *name;
    const char *what; /* for messages: "a number > 0", "udp or tcp" */
    double min;       /* numeric params: the smallest value allowed (NAN: a word) */
};

static const struct param_spec specs[] = {
    {"alloc", "an allocator name", NAN},
    {"exec", "an executor name", NAN},
    {"transport", "udp or tcp", NAN},
    {"scenario", "a file under scenarios/sipp/", NAN},
    {"rate", "calls per second > 0", 0.001},
    {"concurrency", "calls at once >= 1", 1},
    {"calls", "calls in all >= 1", 1},
    {"call_seconds", "seconds > 0", 0.001},
    {"hold_seconds", "seconds >= 0", 0},
    {"media", "on or off", NAN},
    {"cache_size", "entries >= 1", 1},
    {"cache_ttl", "seconds >= 0", 0},
    {"shards", "a power of two >= 1", 1},
    {"workers", "threads >= 0 (0: one per CPU)", 0},
    {"sip_inline", "0 or 1 (SIP on the loop thread, see docs/siprec.md)", 0},
    {"max_calls", "sessions >= 1", 1},
    {"recording_dir", "a directory (default: the repetition's own)", NAN},
    {"server_cpus", "a CPU list such as 0 or 0-3,6", NAN},
    {"load_cpus", "a CPU list such as 1 or 4-7", NAN},
};

/* The params that take a CPU list for taskset -c. */
static bool is_cpu_param(const char *name)
{
    return strcmp(name, "server_cpus") == 0 || strcmp(name, "load_cpus") == 0;
}

static const struct param_spec *spec_of(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

static int check_value(const struct vox_workload *w, const struct param_spec *p, const char *v,
                       struct vox_diag *diag)
{
    char *end;
    double x;

    if (strcmp(p->name, "transport") == 0) {
        if (strcmp(v, "udp") == 0 || strcmp(v, "tcp") == 0)
            return 0;
    } else if (strcmp(p->name, "media") == 0) {
        if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0)
            return 0;
    } else if (strcmp(p->name, "scenario") == 0) {
        if (v[0] && !strchr(v, '/'))
            return 0;
    } else if (is_cpu_param(p->name)) {
        /* what taskset -c takes: digits, ',' and '-', a number at each end */
        size_t n = strlen(v);

        if (n && strspn(v, "0123456789,-") == n && isdigit((unsigned char)v[0]) &&
            isdigit((unsigned char)v[n - 1]))
            return 0;
    } else if (isnan(p->min)) {
        return v[0] ? 0 : VOX_EINVAL; /* backend names: their registries judge them */
    } else {
        errno = 0;
        x = strtod(v, &end);
        if (end != v && !*end && errno == 0 && isfinite(x) && x >= p->min)
            return 0;
    }
    vox_diag_set(diag, "workload '%s' (sipp): param %s = '%s' is not %s", w->id, p->name, v,
                 p->what);
    return VOX_EINVAL;
}

/* `name` found as an executable in $PATH (or as given, with a '/'). */
/* The SIPp binary: $VOXBENCH_SIPP or sipp on $PATH. */
static const char *sipp_program(void)
{
    const char *s = getenv("VOXBENCH_SIPP");

    return s && s[0] ? s : "sipp";
}

static int sipp_check(const struct vox_workload *w, struct vox_diag *diag)
{
    size_t i, k;
    char path[4096];
    int rc;

    for (i = 0; i < w->nparams; i++) {
        const struct param_spec *p = spec_of(w->params[i].name);

        if (!p) {
            vox_diag_set(
                diag,
                "workload '%s' (sipp): unknown param '%s' (transport, rate, "
                "concurrency, calls, call_seconds, hold_seconds, media, cache_size, "
                "cache_ttl, shards, workers, sip_inline, max_calls, recording_dir, scenario)",
                w->id, w->params[i].name);
            return VOX_EINVAL;
        }
        for (k = 0; k < w->params[i].nvalues; k++)
            if ((rc = check_value(w, p, w->params[i].values[k], diag)) != 0)
                return rc;
    }
    for (i = 0; i < w->nmatrix; i++)
        if (!spec_of(w->matrix[i].name)) {
            vox_diag_set(diag, "workload '%s' (sipp): axis '%s' is not a sipp param", w->id,
                         w->matrix[i].name);
            return VOX_EINVAL;
        }
    for (i = 0; i < w->nparams; i++)
        if (is_cpu_param(w->params[i].name) && !vox_driver_on_path("taskset")) {
            vox_diag_set(diag,
                         "workload '%s' (sipp): param %s needs taskset (Debian package "
                         "util-linux)",
                         w->id, w->params[i].name);
            return VOX_ENOENT;
        }
    if (!vox_driver_on_path(sipp_program())) {
        vox_diag_set(diag,
                     "workload '%s' (sipp): the SIPp program '%s' is not installed (Debian "
                     "package sip-tester: apt-get install sip-tester; or set VOXBENCH_SIPP)",
                     w->id, sipp_program());
        return VOX_ENOENT;
    }
    for (i = 0; i < w->nparams; i++)
        if (strcmp(w->params[i].name, "scenario") == 0)
            break;
    for (k = 0; k < (i < w->nparams ? w->params[i].nvalues : 1); k++) {
        snprintf(path, sizeof(path), "%s/scenarios/sipp/%s", vox_driver_home(),
                 i < w->nparams ? w->params[i].values[k] : "siprec_load.xml");
        if (access(path, R_OK) != 0) {
            vox_diag_set(diag, "workload '%s' (sipp): scenario %s: %s", w->id, path,
                         strerror(errno));
            return VOX_ENOENT;
        }
    }
    return 0;
}

/* What one repetition runs, from the run's params and the defaults. */
struct plan {
    const char *alloc, *exec, *transport, *scenario;
    double rate;          /* calls/s */
    unsigned concurrency; /* -l */
    unsigned calls;       /* -m */
    double call_s;        /* each call's length */
    bool media;
    const char *cache_size, *cache_ttl, *shards, *workers, *sip_inline;
    const char *recording_dir; /* NULL: <work dir>/recordings */
    unsigned max_calls;
    const char *server_cpus, *load_cpus; /* taskset -c lists, NULL: anywhere */
};

/* Starts argv with `taskset -c CPUS` when `cpus` is set, so that the program and every thread
 * it makes stay on those CPUs. Returns the number of words written (0 or 3). */
static size_t pin_prefix(char **argv, const char *cpus)
{
    if (!cpus)
        return 0;
    argv[0] = "taskset";
    argv[1] = "-c";
    argv[2] = (char *)cpus;
    return 3;
}

static double num_param(const struct vox_run *run, const char *key, double def)
{
    const char *v = vox_run_param(run, key);

    return v ? strtod(v, NULL) : def;
}

static void plan_make(const struct vox_driver_env *env, const struct vox_run *run, struct plan *p)
{
    const char *media = vox_run_param(run, "media");
    double hold = num_param(run, "hold_seconds", env->quick ? 1 : 2);

    p->alloc = vox_run_param(run, "alloc");
    p->exec = vox_run_param(run, "exec");
    p->transport = vox_run_param(run, "transport");
    p->transport = p->transport ? p->transport : "udp";
    p->scenario = vox_run_param(run, "scenario");
    p->scenario = p->scenario ? p->scenario : "siprec_load.xml";
    p->rate = num_param(run, "rate", 100);
    p->concurrency = (unsigned)num_param(run, "concurrency", 100);
    if (env->quick && p->concurrency > QUICK_MAX_CONC)
        p->concurrency = QUICK_MAX_CONC;
    p->calls = (unsigned)num_param(run, "calls", p->concurrency);
    if (env->quick && p->calls > p->concurrency)
        p->calls = p->concurrency;
    /* Long enough for the last call to start while the first still runs, then `hold` more
     * seconds at the full level: the steady state where CPU and memory are read. */
    p->call_s = num_param(run, "call_seconds", ceil((double)p->concurrency / p->rate) + hold);
    if (env->quick && p->call_s > QUICK_MAX_CALL_S)
        p->call_s = QUICK_MAX_CALL_S;
    p->media = !media || strcmp(media, "off") != 0;
    p->cache_size = vox_run_param(run, "cache_size");
    p->cache_ttl = vox_run_param(run, "cache_ttl");
    p->shards = vox_run_param(run, "shards");
    p->workers = vox_run_param(run, "workers");
    p->sip_inline = vox_run_param(run, "sip_inline");
    p->recording_dir = vox_run_param(run, "recording_dir");
    p->server_cpus = vox_run_param(run, "server_cpus");
    p->load_cpus = vox_run_param(run, "load_cpus");
    p->max_calls = (unsigned)num_param(run, "max_calls", 0);
    if (!p->max_calls) /* room above the level, so that no call is refused for being one over */
        p->max_calls = p->concurrency * 2 > 100 ? p->concurrency * 2 : 100;
}

/* ---- SIPp's files -------------------------------------------------------------------------- */

/* Splits `line` at `sep` in place; returns the number of fields (at most cap). */
static size_t split(char *line, char sep, char **fields, size_t cap)
{
    size_t n = 0;
    char *p = line;

    line[strcspn(line, "\r\n")] = '\0';
    while (n < cap) {
        char *s = strchr(p, sep);

        fields[n++] = p;
        if (!s)
            break;
        *s = '\0';
        p = s + 1;
    }
    return n;
}

int vox__sipp_parse_stat(const char *path, struct vox__sipp_stat *out, struct vox_diag *diag)
{
    const struct {
        const char *column;
        double *dst; /* several columns may add up into one figure */
    } cols[] = {
        {"TotalCallCreated", &out->created},
        {"SuccessfulCall(C)", &out->successful},
        {"FailedCall(C)", &out->failed},
        {"Retransmissions(C)", &out->retransmissions},
        {"FailedMaxUDPRetrans(C)", &out->failed_timeout},
        {"FailedTimeoutOnRecv(C)", &out->failed_timeout},
        {"FailedTcpConnect(C)", &out->failed_transport},
        {"FailedTcpClosed(C)", &out->failed_transport},
        {"FailedCannotSendMessage(C)", &out->failed_transport},
        {"FailedUnexpectedMessage(C)", &out->failed_unexpected},
        {"FailedCallRejected(C)", &out->failed_unexpected},
        {"FailedRegexpDoesntMatch(C)", &out->failed_unexpected},
        {"FailedRegexpShouldntMatch(C)", &out->failed_unexpected},
        {"FailedRegexpHdrNotFound(C)", &out->failed_unexpected},
    };
    enum { MAX_FIELDS = 512 };
    char *line = NULL, *last = NULL, *header = NULL, **hf = NULL, **df = NULL;
    size_t cap = 0, nh, nd, i, k, rows = 0;
    ssize_t len;
    FILE *f = fopen(path, "r");
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (!f) {
        vox_diag_set(diag, "SIPp statistics %s: %s", path, strerror(errno));
        return VOX_EIO;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len == 0 || line[0] == '\n' || line[0] == '\r')
            continue;
        if (!header) {
            header = strdup(line);
            if (!header)
                goto nomem;
            continue;
        }
        free(last);
        last = strdup(line);
        if (!last)
            goto nomem;
        rows++;
    }
    hf = calloc(MAX_FIELDS, sizeof(*hf));
    df = calloc(MAX_FIELDS, sizeof(*df));
    if (!hf || !df)
        goto nomem;
    if (!header || !rows) {
        vox_diag_set(diag, "SIPp statistics %s: %s", path,
                     header ? "a header and no data row" : "empty");
        rc = VOX_EMALFORMED;
        goto out;
    }
    nh = split(header, ';', hf, MAX_FIELDS);
    nd = split(last, ';', df, MAX_FIELDS);
    for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
        for (i = 0; i < nh && strcmp(hf[i], cols[k].column) != 0; i++)
            ;
        if (i == nh || i >= nd) {
            /* The three every SIPp version writes; the others are optional. */
            if (k < 3) {
                vox_diag_set(diag, "SIPp statistics %s: no column %s", path, cols[k].column);
                rc = VOX_EMALFORMED;
                goto out;
            }
            continue;
        }
        *cols[k].dst += strtod(df[i], NULL);
    }
    out->rows = rows;
    goto out;
nomem:
    rc = VOX_ENOMEM;
    vox_diag_set(diag, "SIPp statistics %s: out of memory", path);
out:
    free(line);
    free(last);
    free(header);
    free(hf);
    free(df);
    fclose(f);
    return rc;
}

int vox__sipp_parse_rtt(const char *path, const char *rtd, struct vox__sipp_rtt *out,
                        struct vox_diag *diag)
{
    char *line = NULL, *fields[4];
    size_t cap = 0, lineno = 0;
    FILE *f = fopen(path, "r");
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (!f) {
        vox_diag_set(diag, "SIPp response times %s: %s", path, strerror(errno));
        return VOX_EIO;
    }
    out->hist = vox_hist_create(60ull * 1000000000ull, 7);
    if (!out->hist) {
        rc = VOX_ENOMEM;
        goto out;
    }
    out->first_ms = out->last_ms = NAN;
    while (getline(&line, &cap, f) >= 0) {
        char *end;
        double date, ms;

        lineno++;
        if (split(line, ';', fields, 4) < 3)
            continue; /* a blank or cut last line */
        date = strtod(fields[0], &end);
        if (end == fields[0]) {
            if (lineno == 1)
                continue; /* Date_ms;response_time_ms;rtd_no */
            vox_diag_set(diag, "SIPp response times %s:%zu: not a number: '%s'", path, lineno,
                         fields[0]);
            rc = VOX_EMALFORMED;
            goto out;
        }
        ms = strtod(fields[1], NULL);
        if (strcmp(fields[2], rtd) != 0 || !(ms >= 0))
            continue;
        /* ns, at least 1: the histogram starts at 1 */
        vox_hist_record(out->hist, ms * 1e6 >= 1 ? (uint64_t)llround(ms * 1e6) : 1);
        if (isnan(out->first_ms) || date < out->first_ms)
            out->first_ms = date;
        if (isnan(out->last_ms) || date > out->last_ms)
            out->last_ms = date;
        out->count++;
    }
out:
    free(line);
    fclose(f);
    if (rc) {
        vox_hist_destroy(out->hist);
        out->hist = NULL;
    }
    return rc;
}

/* ---- processes ----------------------------------------------------------------------------- */

struct proc {
    const char *name; /* for messages: "vox-siprec" */
    pid_t pid;        /* 0: not running */
    bool exited;
    int status;
    struct rusage ru;
    char err_path[600]; /* its stderr */
};

/*
 * Starts argv in directory `cwd`, in a process group of its own, stdin from /dev/null, stdout
 * and stderr to files, with `env_add` ("K=V" or NULL) in its environment. 0 or VOX_EIO.
 */
static int proc_start(struct proc *p, char *const argv[], const char *cwd, const char *out_path,
                      const char *err_path, const char *env_add, struct vox_diag *diag)
{
    char *env[2] = {(char *)env_add, NULL};

    p->exited = false;
    snprintf(p->err_path, sizeof(p->err_path), "%s", err_path);
    return vox_child_spawn(argv, env, cwd, out_path, err_path, &p->pid, diag);
}

static bool proc_done(struct proc *p)
{
    if (!p->pid || p->exited)
        return true;
    if (wait4(p->pid, &p->status, WNOHANG, &p->ru) == p->pid)
        p->exited = true;
    return p->exited;
}

/* Sends `sig` to the process group, then waits up to timeout_ms; SIGKILL after that. True when
 * it exited within the time. */
static bool proc_stop(struct proc *p, int sig, unsigned timeout_ms)
{
    uint64_t deadline = vox_clock_ns() + (uint64_t)timeout_ms * 1000000u;

    if (proc_done(p))
        return true;
    kill(-p->pid, sig);
    while (!proc_done(p)) {
        if (vox_clock_ns() > deadline) {
            kill(-p->pid, SIGKILL);
            while (wait4(p->pid, &p->status, 0, &p->ru) < 0 && errno == EINTR)
                ;
            p->exited = true;
            return false;
        }
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    return true;
}

/* "exit 3", "signal 11 (Segmentation fault)". */
static const char *proc_how(const struct proc *p, char *buf, size_t cap)
{
    if (WIFSIGNALED(p->status))
        snprintf(buf, cap, "signal %d (%s)", WTERMSIG(p->status), strsignal(WTERMSIG(p->status)));
    else
        snprintf(buf, cap, "exit %d", WEXITSTATUS(p->status));
    return buf;
}

/* ---- reading the server -------------------------------------------------------------------- */

/*
 * GET http://127.0.0.1:port/path (HTTP/1.0, connection closed by the server). The body goes to
 * a malloc'ed NUL-terminated *body (the caller frees). 0, VOX_EIO (no answer, not 200).
 */
static int http_get(unsigned port, const char *path, char **body)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = HTTP_TIMEOUT_MS / 1000,
                         .tv_usec = (HTTP_TIMEOUT_MS % 1000) * 1000};
    char req[256], *buf = NULL, *sep;
    size_t len = 0, cap = 0;
    int fd, n, rc = VOX_EIO;

    *body = NULL;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return VOX_EIO;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        goto out;
    for (;;) {
        ssize_t r;

        if (len + 4096 + 1 > cap) {
            char *nb;

            if (cap >= HTTP_MAX_BYTES)
                goto out;
            cap = cap ? cap * 2 : 16384;
            nb = realloc(buf, cap);
            if (!nb)
                goto out;
            buf = nb;
        }
        r = recv(fd, buf + len, cap - len - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (!buf)
        goto out;
    buf[len] = '\0';
    sep = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0 || !sep)
        goto out;
    memmove(buf, sep + 4, len - (size_t)(sep + 4 - buf) + 1);
    *body = buf;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

/*
 * The value of a Prometheus sample `name` (labels: NULL for none, else the inside of the
 * braces as the server writes them) in exposition text; NAN when absent.
 */
double vox__sipp_prom_value(const char *text, const char *name, const char *labels)
{
    size_t nlen = strlen(name), llen = labels ? strlen(labels) : 0;
    const char *p;

    for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        const char *v = p + nlen;

        if (*p == '#' || strncmp(p, name, nlen) != 0)
            continue;
        if (labels) {
            if (v[0] != '{' || strncmp(v + 1, labels, llen) != 0 || v[1 + llen] != '}')
                continue;
            v += llen + 2;
        }
        if (*v != ' ')
            continue;
        return strtod(v + 1, NULL);
    }
    return NAN;
}

/*
 * The q-quantile (0..1) of the Prometheus histogram `name` in exposition text, as Prometheus's
 * histogram_quantile reads it: the bucket where the rank falls, linear within it (from 0 for
 * the first); in the +Inf bucket, the highest finite bound. NAN without buckets or counts.
 */
double vox__sipp_prom_quantile(const char *text, const char *name, double q)
{
    enum { MAX_BUCKETS = 64 };
    double le[MAX_BUCKETS], cum[MAX_BUCKETS], rank, lo = 0, below = 0;
    size_t n = 0, nlen = strlen(name), i, j;
    const char *p;

    for (p = text; p && *p && n < MAX_BUCKETS; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        const char *v = p + nlen;
        char *end;

        if (*p == '#' || strncmp(p, name, nlen) != 0 || strncmp(v, "_bucket{le=\"", 12) != 0)
            continue;
        v += 12;
        le[n] = strncmp(v, "+Inf\"", 5) == 0 ? INFINITY : strtod(v, &end);
        v = strchr(v, '}');
        if (!v || v[1] != ' ')
            continue;
        cum[n++] = strtod(v + 2, NULL);
    }
    /* by bound (the server writes them in order; a scraper's file may not) */
    for (i = 1; i < n; i++)
        for (j = i; j > 0 && le[j] < le[j - 1]; j--) {
            double t = le[j];
            le[j] = le[j - 1];
            le[j - 1] = t;
            t = cum[j];
            cum[j] = cum[j - 1];
            cum[j - 1] = t;
        }
    if (!n || !(cum[n - 1] > 0) || !(q >= 0 && q <= 1))
        return NAN;
    rank = q * cum[n - 1];
    for (i = 0; i < n; i++) {
        if (cum[i] >= rank && cum[i] > below) {
            if (isinf(le[i]))
                return i ? le[i - 1] : NAN;
            return lo + (le[i] - lo) * (rank - below) / (cum[i] - below);
        }
        lo = le[i];
        below = cum[i];
    }
    return NAN;
}

struct sample {
    uint64_t t_ns;
    uint64_t cpu_ticks; /* the server's utime + stime, in clock ticks */
    uint64_t rss_bytes;
    uint64_t hwm_bytes;
    long sessions;         /* -1: /health did not answer */
    uint64_t sipp_ticks;   /* the load generators' CPU time (ticks; 0 when unreadable) */
    uint64_t sender_ticks; /* vox-rtpsend's */
    uint64_t host_busy;    /* the machine's busy and total CPU time (/proc/stat, ticks) */
    uint64_t host_total;
};

/* The machine's CPU time: busy (all but idle and iowait) and total, over all CPUs. 0 or -1. */
static int read_host(uint64_t *busy, uint64_t *total)
{
    char line[512], *p, *end;
    uint64_t v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    size_t i;

    if (!f)
        return -1;
    p = fgets(line, sizeof(line), f);
    fclose(f);
    if (!p || strncmp(line, "cpu ", 4) != 0)
        return -1;
    /* user nice system idle iowait irq softirq steal (guest time is inside user) */
    for (p = line + 4, i = 0; i < 8; i++, p = end)
        v[i] = strtoull(p, &end, 10);
    *total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    *busy = *total - v[3] - v[4];
    return 0;
}

/* utime + stime of a process (ticks); 0 or -1. */
static int read_cpu(pid_t pid, uint64_t *ticks)
{
    char path[64], buf[1024], *p, *end;
    FILE *f;
    size_t n;
    int field;
    uint64_t sum = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold blanks and parentheses: fields count from the last ')'. */
    p = strrchr(buf, ')');
    if (!p)
        return -1;
    p++;
    for (field = 3; field <= 15; field++) {
        while (*p == ' ')
            p++;
        if (field == 14 || field == 15) {
            sum += strtoull(p, &end, 10);
            if (end == p)
                return -1;
            p = end;
        } else {
            p += strcspn(p, " ");
        }
    }
    *ticks = sum;
    return 0;
}

/* VmRSS and VmHWM of a process, bytes; 0 or -1. */
static int read_mem(pid_t pid, uint64_t *rss, uint64_t *hwm)
{
    char path[64], line[256];
    FILE *f;
    int found = 0;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            *rss = strtoull(line + 6, NULL, 10) * 1024u;
            found |= 1;
        } else if (strncmp(line, "VmHWM:", 6) == 0) {
            *hwm = strtoull(line + 6, NULL, 10) * 1024u;
            found |= 2;
        }
    }
    fclose(f);
    return found == 3 ? 0 : -1;
}

static long read_sessions(unsigned http_port)
{
    char *body = NULL;
    json_t *root;
    long n = -1;

    if (http_get(http_port, "/health", &body) != 0)
        return -1;
    root = json_loads(body, 0, NULL);
    if (json_is_integer(json_object_get(root, "sessions")))
        n = (long)json_integer_value(json_object_get(root, "sessions"));
    json_decref(root);
    free(body);
    return n;
}

/*
 * The steady state: the samples from the first to the last at which the server held at least
 * 95% of `target` sessions (else 95% of the most it held). Returns false when fewer than two
 * samples qualify.
 */
bool vox__sipp_steady_window(const long *sessions, size_t n, unsigned target, size_t *first,
                             size_t *last)
{
    long peak = 0;
    size_t i, pass;

    for (i = 0; i < n; i++)
        if (sessions[i] > peak)
            peak = sessions[i];
    for (pass = 0; pass < 2; pass++) {
        double level = 0.95 * (pass == 0 ? (double)target : (double)peak);
        bool any = false;

        if (level < 1)
            level = 1;
        for (i = 0; i < n; i++) {
            if ((double)sessions[i] < level)
                continue;
            if (!any)
                *first = i;
            *last = i;
            any = true;
        }
        if (any && *last > *first)
            return true;
    }
    return false;
}

/* ---- one repetition ------------------------------------------------------------------------ */

struct rep {
    char dir[512];
    struct proc server, daemon, sipp;
    unsigned sip_port, http_port;
    char control[64];    /* the daemon's control address */
    char media_log[600]; /* the file SIPp logs media commands to and the daemon follows */
    bool cut;            /* SIPp ran past its deadline and was told to stop */
    char rec_dir[600];   /* the server's recordings */
    struct sample *samples;
    size_t nsamples, cap;
};

/* Reads a small text file whole (NUL-terminated, malloc'ed) or returns NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;

    if (!f)
        return NULL;
    buf = malloc(4096);
    if (buf) {
        size_t n = fread(buf, 1, 4095, f);

        buf[n] = '\0';
    }
    fclose(f);
    return buf;
}

/* Waits for a line `key` + value in `path` written by `p`; false on timeout or exit. */
static bool wait_for_file(struct proc *p, const char *path, const char *key, char *value,
                          size_t cap)
{
    uint64_t deadline = vox_clock_ns() + (uint64_t)START_TIMEOUT_MS * 1000000u;

    while (vox_clock_ns() < deadline && !vox_driver_cancel) {
        char *text = slurp(path), *at = text ? strstr(text, key) : NULL;

        if (at) {
            at += strlen(key);
            snprintf(value, cap, "%.*s", (int)strcspn(at, " \r\n"), at);
            free(text);
            return true;
        }
        free(text);
        if (proc_done(p))
            return false;
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
    return false;
}

static int fail_proc(struct proc *p, const struct vox_workload *w, const char *what,
                     struct vox_diag *diag)
{
    char tail[200], how[96];

    vox_driver_tail(p->err_path, tail, sizeof(tail));
    if (p->exited)
        proc_how(p, how, sizeof(how));
    else
        snprintf(how, sizeof(how), "still running");
    vox_diag_set(diag, "workload '%s': %s %s (%s): %s", w->id, p->name, what, how,
                 tail[0] ? tail : "(nothing on stderr)");
    return VOX_EIO;
}

static int start_server(struct rep *r, const struct vox_driver_env *env,
                        const struct vox_workload *w, const struct plan *p, struct vox_diag *diag)
{
    char bin[600], ports[600], rec[600], out[600], err[600], maxc[24], pmax[24], pmin[24];
    char value[32], *argv[48];
    size_t n = 0;
    unsigned span;

    snprintf(bin, sizeof(bin), "%s/vox-siprec", env->bin_dir);
    if (access(bin, X_OK) != 0) {
        vox_diag_set(diag, "workload '%s': %s: %s (build the vox-siprec target)", w->id, bin,
                     strerror(errno));
        return VOX_ENOENT;
    }
    snprintf(ports, sizeof(ports), "%s/ports", r->dir);
    /* Under a recording_dir of the suite's choice (a tmpfs, to take the disk out of the
     * measure), still one directory per repetition, deleted with it. */
    if (p->recording_dir)
        snprintf(rec, sizeof(rec), "%s/%s", p->recording_dir, strrchr(r->dir, '/') + 1);
    else
        snprintf(rec, sizeof(rec), "%s/recordings", r->dir);
    snprintf(r->rec_dir, sizeof(r->rec_dir), "%s", rec);
    snprintf(out, sizeof(out), "%s/server.out", r->dir);
    snprintf(err, sizeof(err), "%s/server.err", r->dir);
    snprintf(maxc, sizeof(maxc), "%u", p->max_calls);
    /* Each session takes an even port per leg (the odd one above is left for RTCP): four ports
     * a session, twice that for slack, at least 10000, out of the kernel's ephemeral range where
     * that fits. */
    span = 8u * p->concurrency > 10000 ? 8u * p->concurrency : 10000;
    snprintf(pmin, sizeof(pmin), "%u", RTP_PORT_MIN);
    snprintf(pmax, sizeof(pmax), "%u",
             RTP_PORT_MIN + span < 65535 ? RTP_PORT_MIN + span - 1 : 65535);
    n = pin_prefix(argv, p->server_cpus);
    argv[n++] = bin;
#define ARG(flag, v)                                                                               \
    do {                                                                                           \
        argv[n++] = (char *)(flag);                                                                \
        argv[n++] = (char *)(v);                                                                   \
    } while (0)
    ARG("--sip-host", "127.0.0.1");
    ARG("--sip-port", "0");
    ARG("--http-port", "0");
    ARG("--print-ports", ports);
    ARG("--recording-dir", rec);
    ARG("--max-calls", maxc);
    ARG("--rtp-port-min", pmin);
    ARG("--rtp-port-max", pmax);
    ARG("--log-level", "0");
    if (p->alloc)
        ARG("--alloc", p->alloc);
    if (p->exec)
        ARG("--exec", p->exec);
    if (p->cache_size)
        ARG("--cache-size", p->cache_size);
    if (p->cache_ttl)
        ARG("--cache-ttl", p->cache_ttl);
    if (p->shards)
        ARG("--shards", p->shards);
    if (p->workers)
        ARG("--workers", p->workers);
    if (p->sip_inline)
        ARG("--sip-inline", p->sip_inline);
#undef ARG
    argv[n] = NULL;
    r->server.name = "vox-siprec";
    if (proc_start(&r->server, argv, r->dir, out, err, NULL, diag) != 0)
        return VOX_EIO;
    if (!wait_for_file(&r->server, ports, "sip=", value, sizeof(value)))
        return fail_proc(&r->server, w, "did not start", diag);
    r->sip_port = (unsigned)strtoul(value, NULL, 10);
    if (!wait_for_file(&r->server, ports, "http=", value, sizeof(value)))
        return fail_proc(&r->server, w, "wrote no HTTP port", diag);
    r->http_port = (unsigned)strtoul(value, NULL, 10);
    return 0;
}

static int start_daemon(struct rep *r, const struct vox_driver_env *env,
                        const struct vox_workload *w, const struct plan *p, const char *stats,
                        struct vox_diag *diag)
{
    char bin[600], out[600], err[600], streams[24], secs[24], *argv[16];
    size_t n = 0;

    snprintf(r->media_log, sizeof(r->media_log), "%s/media-commands.log", r->dir);
    snprintf(bin, sizeof(bin), "%s/vox-rtpsend", env->bin_dir);
    if (access(bin, X_OK) != 0) {
        vox_diag_set(diag, "workload '%s': %s: %s (build the vox-rtpsend target)", w->id, bin,
                     strerror(errno));
        return VOX_ENOENT;
    }
    snprintf(out, sizeof(out), "%s/rtpsend.out", r->dir);
    snprintf(err, sizeof(err), "%s/rtpsend.err", r->dir);
    snprintf(streams, sizeof(streams), "%u",
             2 * p->concurrency + 64 > 4000 ? 2 * p->concurrency + 64 : 4000);
    snprintf(secs, sizeof(secs), "%u", env->timeout_s ? env->timeout_s + 60 : 3600);
    n = pin_prefix(argv, p->load_cpus);
    argv[n++] = bin;
    argv[n++] = "--control";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--max-streams";
    argv[n++] = streams;
    argv[n++] = "--max-seconds";
    argv[n++] = secs;
    argv[n++] = "--stats";
    argv[n++] = (char *)stats;
    /* the calls' start and stop commands, as SIPp logs them (see run_sipp) */
    argv[n++] = "--follow";
    argv[n++] = r->media_log;
    argv[n] = NULL;
    r->daemon.name = "vox-rtpsend";
    if (proc_start(&r->daemon, argv, r->dir, out, err, NULL, diag) != 0)
        return VOX_EIO;
    if (!wait_for_file(&r->daemon, out, "control ", r->control, sizeof(r->control)))
        return fail_proc(&r->daemon, w, "did not open its control port", diag);
    return 0;
}

static int sample_push(struct rep *r, const struct sample *s)
{
    if (r->nsamples == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        struct sample *ns = realloc(r->samples, cap * sizeof(*ns));

        if (!ns)
            return VOX_ENOMEM;
        r->samples = ns;
        r->cap = cap;
    }
    r->samples[r->nsamples++] = *s;
    return 0;
}

/* Runs SIPp to its end, sampling the server meanwhile. */
static int run_sipp(struct rep *r, const struct vox_driver_env *env, const struct vox_workload *w,
                    const struct plan *p, struct vox_diag *diag)
{
    char target[64], scen[4096], rate[32], lim[24], calls[24], dur[32], cmd[1024], out[600];
    char err[600], errors[600], clock_lib[600], preload[700], *argv[64];
    uint64_t deadline, next;
    double planned_s, limit_s;
    size_t n = 0;
    bool log_media = false, have_clock;

    snprintf(target, sizeof(target), "127.0.0.1:%u", r->sip_port);
    snprintf(scen, sizeof(scen), "%s/scenarios/sipp/%s", vox_driver_home(), p->scenario);
    if (p->media) {
        /* A scenario that can log its media commands does (the daemon follows the log): an
         * <exec> per command forks SIPp, runs a shell and a client, about a third of a core at
         * 100 calls/s that no process of the run is charged for, and stalls SIPp each time. */
        char *text = slurp(scen);

        log_media = text && strstr(text, "media_log");
        free(text);
    }
    snprintf(rate, sizeof(rate), "%g", p->rate);
    snprintf(lim, sizeof(lim), "%u", p->concurrency);
    snprintf(calls, sizeof(calls), "%u", p->calls);
    snprintf(dur, sizeof(dur), "%g", p->call_s);
    snprintf(cmd, sizeof(cmd), "%s/vox-rtpsend --send %s", env->bin_dir, r->control);
    snprintf(out, sizeof(out), "%s/sipp.out", r->dir);
    snprintf(err, sizeof(err), "%s/sipp.err", r->dir);
    snprintf(errors, sizeof(errors), "%s/sipp-errors.log", r->dir);
    /* The µs clock for SIPp's response times, when built (see sipp_clock.c). Pinned, it goes
     * on env's command line: the shim unsets LD_PRELOAD as it loads, so given to taskset it
     * would never reach SIPp. */
    snprintf(clock_lib, sizeof(clock_lib), "%s/libvox-sipp-clock.so", env->bin_dir);
    snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", clock_lib);
    have_clock = access(clock_lib, R_OK) == 0;
    n = pin_prefix(argv, p->load_cpus);
    if (n && have_clock) {
        argv[n++] = "env";
        argv[n++] = preload;
    }
    argv[n++] = (char *)sipp_program();
    argv[n++] = target;
    argv[n++] = "-sf";
    argv[n++] = scen;
    argv[n++] = "-t";
    argv[n++] = strcmp(p->transport, "tcp") == 0 ? "t1" : "u1";
    argv[n++] = "-i";
    argv[n++] = "127.0.0.1";
    argv[n++] = "-p";
    argv[n++] = "0";
    argv[n++] = "-r";
    argv[n++] = rate;
    argv[n++] = "-l";
    argv[n++] = lim;
    argv[n++] = "-m";
    argv[n++] = calls;
    argv[n++] = "-set";
    argv[n++] = "duration";
    argv[n++] = dur;
    argv[n++] = "-set";
    argv[n++] = "rtpsend_cmd";
    argv[n++] = p->media && !log_media ? cmd : "";
    if (log_media) {
        argv[n++] = "-set";
        argv[n++] = "media_log";
        argv[n++] = "1";
        argv[n++] = "-trace_logs";
        argv[n++] = "-log_file";
        argv[n++] = r->media_log;
    }
    argv[n++] = "-trace_stat";
    argv[n++] = "-stf";
    argv[n++] = "stat.csv";
    argv[n++] = "-fd";
    argv[n++] = "1";
    argv[n++] = "-trace_rtt";
    argv[n++] = "-rtt_freq";
    argv[n++] = "1";
    argv[n++] = "-trace_err";
    argv[n++] = "-error_file";
    argv[n++] = errors;
    /* SIPp's default socket buffers are 64 KiB: a main loop stalled for a fraction of a second
     * (each <exec> forks SIPp) overflows them, a lost 200 to a BYE becomes a retransmitted BYE,
     * and the call fails on whatever answers it. The kernel caps this at net.core.rmem_max. */
    argv[n++] = "-buff_size";
    argv[n++] = "4194304";
    argv[n++] = "-nostdin";
    argv[n] = NULL;
    r->sipp.name = "sipp";
    if (proc_start(&r->sipp, argv, r->dir, out, err, have_clock && !p->load_cpus ? preload : NULL,
                   diag) != 0)
        return VOX_EIO;
    /* An overloaded server stretches a run (retransmissions, then SIPp's timeouts): half the
     * planned length again, and half a minute, before SIPp is told to stop. */
    planned_s = (double)p->calls / p->rate + p->call_s;
    limit_s = planned_s * 1.5 + SIPP_GRACE_S;
    if (env->timeout_s && limit_s > env->timeout_s)
        limit_s = env->timeout_s;
    deadline = vox_clock_ns() + (uint64_t)(limit_s * 1e9);
    for (next = vox_clock_ns(); !proc_done(&r->sipp);) {
        struct sample s = {.t_ns = vox_clock_ns()};

        if (vox_driver_cancel) {
            proc_stop(&r->sipp, SIGKILL, 1000);
            vox_diag_set(diag, "workload '%s': interrupted", w->id);
            return VOX_ECANCELED;
        }
        if (proc_done(&r->server)) {
            proc_stop(&r->sipp, SIGKILL, 1000);
            return fail_proc(&r->server, w, "died during the run", diag);
        }
        if (s.t_ns > deadline && !r->cut) {
            /* SIGUSR1 makes SIPp stop: the calls in flight count as failed, and it writes its
             * files and exits, so an overloaded run still yields its figures. */
            r->cut = true;
            kill(r->sipp.pid, SIGUSR1);
            deadline = s.t_ns + (uint64_t)STOP_TIMEOUT_MS * 1000000u;
        } else if (s.t_ns > deadline) {
            proc_stop(&r->sipp, SIGKILL, 1000);
            vox_diag_set(diag,
                         "workload '%s': sipp did not finish within %.0f s (planned %.0f s), "
                         "nor stop on SIGUSR1",
                         w->id, limit_s, planned_s);
            return VOX_EIO;
        }
        if (s.t_ns >= next) {
            s.sessions = read_sessions(r->http_port);
            if (read_cpu(r->sipp.pid, &s.sipp_ticks) != 0)
                s.sipp_ticks = 0;
            if (!r->daemon.pid || read_cpu(r->daemon.pid, &s.sender_ticks) != 0)
                s.sender_ticks = 0;
            if (read_host(&s.host_busy, &s.host_total) != 0)
                s.host_busy = s.host_total = 0;
            if (read_cpu(r->server.pid, &s.cpu_ticks) == 0 &&
                read_mem(r->server.pid, &s.rss_bytes, &s.hwm_bytes) == 0 && sample_push(r, &s) != 0)
                return VOX_ENOMEM;
            next += SAMPLE_MS * 1000000ull;
        }
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    /* 0: every call passed; 1: some failed (counted, not fatal); else SIPp itself failed. */
    if (!WIFEXITED(r->sipp.status) || WEXITSTATUS(r->sipp.status) > 1) {
        char tail[200], how[96], etail[200];

        vox_driver_tail(err, tail, sizeof(tail));
        vox_driver_tail(errors, etail, sizeof(etail));
        vox_diag_set(diag, "workload '%s': sipp failed (%s): %s", w->id,
                     proc_how(&r->sipp, how, sizeof(how)),
                     tail[0]    ? tail
                     : etail[0] ? etail
                                : "(nothing on stderr)");
        return VOX_EIO;
    }
    return 0;
}

/* The first file in `dir` whose name ends with `suffix`, into path. */
static bool find_file(const char *dir, const char *suffix, char *path, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t sl = strlen(suffix);
    bool found = false;

    if (!d)
        return false;
    while (!found && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len >= sl && strcmp(e->d_name + len - sl, suffix) == 0) {
            snprintf(path, cap, "%s/%s", dir, e->d_name);
            found = true;
        }
    }
    closedir(d);
    return found;
}

static int push(struct vox_run *run, const char *name, const char *unit, enum vox_metric_dir dir,
                double v)
{
    struct vox_metric *m = vox_run_metric(run, name, unit, dir, false);

    return m && vox_metric_push(m, v) == 0 ? 0 : VOX_ENOMEM;
}

static double json_num(json_t *root, const char *obj, const char *key)
{
    json_t *v = json_object_get(json_object_get(root, obj), key);

    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Everything measured, pushed as metrics (the same set every repetition). */
static int push_metrics(struct rep *r, const struct plan *p, struct vox_run *run, unsigned rep,
                        const char *metrics, json_t *res, json_t *sender,
                        const struct vox__sipp_stat *st, const struct vox__sipp_rtt *rtt)
{
    double tck = (double)sysconf(_SC_CLK_TCK), cpu = NAN, rss_steady = NAN, steady_s = 0;
    double sipp_cpu = NAN, sender_cpu = NAN, host_cpu = NAN;
    double setup_sum = vox__sipp_prom_value(metrics, "vox_siprec_setup_seconds_sum", NULL);
    double setup_n = vox__sipp_prom_value(metrics, "vox_siprec_setup_seconds_count", NULL);
    size_t i, first = 0, last = 0;
    long *sessions = calloc(r->nsamples + 1, sizeof(*sessions));
    unsigned target = p->concurrency < p->calls ? p->concurrency : p->calls;
    int rc = 0;

    if (!sessions)
        return VOX_ENOMEM;
    for (i = 0; i < r->nsamples; i++)
        sessions[i] = r->samples[i].sessions;
    if (!vox__sipp_steady_window(sessions, r->nsamples, target, &first, &last) && r->nsamples > 1) {
        first = 0; /* no plateau seen (a very short run): the whole run */
        last = r->nsamples - 1;
    }
    if (last > first) {
        const struct sample *a = &r->samples[first], *b = &r->samples[last];
        double sum = 0;

        steady_s = (double)(b->t_ns - a->t_ns) / 1e9;
        cpu = 100.0 * ((double)(b->cpu_ticks - a->cpu_ticks) / tck) / steady_s;
        /* What else ran meanwhile: the load generators, and the whole machine (a saturated
         * machine explains slow answers the server's own CPU share does not). */
        if (a->sipp_ticks && b->sipp_ticks >= a->sipp_ticks)
            sipp_cpu = 100.0 * ((double)(b->sipp_ticks - a->sipp_ticks) / tck) / steady_s;
        if (a->sender_ticks && b->sender_ticks >= a->sender_ticks)
            sender_cpu = 100.0 * ((double)(b->sender_ticks - a->sender_ticks) / tck) / steady_s;
        if (b->host_total > a->host_total)
            host_cpu = 100.0 * (double)(b->host_busy - a->host_busy) /
                       (double)(b->host_total - a->host_total);
        for (i = first; i <= last; i++)
            sum += (double)r->samples[i].rss_bytes;
        rss_steady = sum / (double)(last - first + 1);
    }
    free(sessions);
#define PUSH(name, unit, dir, v)                                                                   \
    do {                                                                                           \
        if (rc == 0)                                                                               \
            rc = push(run, name, unit, dir, v);                                                    \
    } while (0)
    PUSH("concurrent_sessions", "count", VOX_DIR_HIGHER,
         vox__sipp_prom_value(metrics, "vox_siprec_sessions_peak", NULL));
    PUSH("rss_steady_bytes", "bytes", VOX_DIR_LOWER, rss_steady);
    PUSH("cpu_percent", "%", VOX_DIR_LOWER, cpu);
    PUSH("steady_s", "s", VOX_DIR_HIGHER, steady_s);
    PUSH("sipp_cpu_percent", "%", VOX_DIR_LOWER, sipp_cpu);
    PUSH("rtpsend_cpu_percent", "%", VOX_DIR_LOWER, sender_cpu);
    PUSH("host_busy_percent", "%", VOX_DIR_LOWER, host_cpu);
    PUSH("setup_ms_p50", "ms", VOX_DIR_LOWER,
         rtt->count ? (double)vox_hist_percentile(rtt->hist, 50) / 1e6 : NAN);
    PUSH("setup_ms_p90", "ms", VOX_DIR_LOWER,
         rtt->count ? (double)vox_hist_percentile(rtt->hist, 90) / 1e6 : NAN);
    PUSH("setup_ms_p99", "ms", VOX_DIR_LOWER,
         rtt->count ? (double)vox_hist_percentile(rtt->hist, 99) / 1e6 : NAN);
    PUSH("setup_ms_max", "ms", VOX_DIR_LOWER,
         rtt->count ? (double)vox_hist_max(rtt->hist) / 1e6 : NAN);
    PUSH("setup_ms_mean", "ms", VOX_DIR_LOWER, rtt->count ? vox_hist_mean(rtt->hist) / 1e6 : NAN);
    PUSH("server_setup_ms_mean", "ms", VOX_DIR_LOWER,
         setup_n > 0 ? 1e3 * setup_sum / setup_n : NAN);
    /* the server's own INVITE-to-200 (from the kernel's arrival), read from its histogram:
     * what SIPp's figures hold beyond it is the load generator and the way back */
    PUSH("server_setup_ms_p50", "ms", VOX_DIR_LOWER,
         1e3 * vox__sipp_prom_quantile(metrics, "vox_siprec_setup_seconds", 0.50));
    PUSH("server_setup_ms_p99", "ms", VOX_DIR_LOWER,
         1e3 * vox__sipp_prom_quantile(metrics, "vox_siprec_setup_seconds", 0.99));
    PUSH("server_setup_ms_max", "ms", VOX_DIR_LOWER,
         1e3 * vox__sipp_prom_value(metrics, "vox_siprec_setup_seconds_max", NULL));
    PUSH("calls_successful", "count", VOX_DIR_HIGHER, st->successful);
    /* Every planned call that did not succeed: SIPp's failures, and the calls a run cut short
     * at its deadline never started or never finished. */
    PUSH("calls_failed", "count", VOX_DIR_LOWER,
         (double)p->calls - st->successful > st->failed ? (double)p->calls - st->successful
                                                        : st->failed);
    PUSH("calls_unfinished", "count", VOX_DIR_LOWER,
         (double)p->calls - st->successful - st->failed > 0
             ? (double)p->calls - st->successful - st->failed
             : 0);
    PUSH("calls_failed_timeout", "count", VOX_DIR_LOWER, st->failed_timeout);
    PUSH("calls_failed_unexpected", "count", VOX_DIR_LOWER, st->failed_unexpected);
    PUSH("calls_rejected_busy", "count", VOX_DIR_LOWER,
         vox__sipp_prom_value(metrics, "vox_siprec_rejected_total", "reason=\"busy\""));
    PUSH("sip_retransmissions", "count", VOX_DIR_LOWER, st->retransmissions);
    /* The achieved call rate: answers over the time from the first to the last one. */
    PUSH("calls_per_s", "1/s", VOX_DIR_HIGHER,
         rtt->count > 1 && rtt->last_ms > rtt->first_ms
             ? (double)(rtt->count - 1) / ((rtt->last_ms - rtt->first_ms) / 1e3)
             : NAN);
    PUSH("cache_hit_rate", "%", VOX_DIR_HIGHER, 100.0 * json_num(res, "cache", "hit_rate"));
    PUSH("cache_lookup_ns", "ns", VOX_DIR_LOWER, json_num(res, "cache", "lookup_ns_avg"));
    PUSH("cache_lookups", "count", VOX_DIR_HIGHER, json_num(res, "cache", "lookups"));
    PUSH("cache_bytes", "bytes", VOX_DIR_LOWER, json_num(res, "cache", "bytes"));
    PUSH("cache_evictions", "count", VOX_DIR_LOWER, json_num(res, "cache", "evictions"));
    PUSH("shard_lock_waits", "count", VOX_DIR_LOWER,
         json_num(res, "shards", "read_contended") + json_num(res, "shards", "write_contended"));
    PUSH("rtp_port_peak", "count", VOX_DIR_LOWER, json_num(res, "ports", "peak"));
    PUSH("rtp_packets", "count", VOX_DIR_HIGHER,
         vox__sipp_prom_value(metrics, "vox_siprec_rtp_packets_total", NULL));
    PUSH("rtp_packets_sent", "count", VOX_DIR_HIGHER,
         json_is_number(json_object_get(sender, "packets_sent"))
             ? json_number_value(json_object_get(sender, "packets_sent"))
             : NAN);
    PUSH("recorder_ticks_late", "count", VOX_DIR_LOWER,
         vox__sipp_prom_value(metrics, "vox_siprec_recorder_ticks_late_total", NULL));
    PUSH("media_timeouts", "count", VOX_DIR_LOWER,
         vox__sipp_prom_value(metrics, "vox_siprec_media_timeouts_total", NULL));
#undef PUSH
    /* The INVITE -> 200 spectrum of the first repetition, for the percentile plot. */
    if (rc == 0 && rep == 0 && rtt->count) {
        struct vox_percentile spec[256];
        size_t k = vox_hist_spectrum(rtt->hist, 5, 1000.0, spec, sizeof(spec) / sizeof(spec[0]));

        rc = vox_run_set_percentiles(run, spec, k);
    }
    return rc;
}

/* With VOXBENCH_SIPP_KEEP=DIR, a repetition's files (logs, SIPp's CSVs, the daemon's stats)
 * are moved to DIR/<name> instead of being deleted. */
static void keep_dir(const char *dir)
{
    const char *keep = getenv("VOXBENCH_SIPP_KEEP"), *base = strrchr(dir, '/');
    char dst[1024];

    if (!keep || !keep[0] || !base)
        return;
    mkdir(keep, 0755);
    snprintf(dst, sizeof(dst), "%s%s", keep, base);
    if (rename(dir, dst) != 0)
        fprintf(stderr, "voxbench: VOXBENCH_SIPP_KEEP: cannot move %s to %s: %s\n", dir, dst,
                strerror(errno));
}

/* The server's peak RSS: wait4's, or what the samples saw when that is less (the kernel updates
 * its high-water mark lazily, and the samples read VmHWM and VmRSS directly). */
static double peak_rss(const struct rep *r)
{
    double peak = (double)r->server.ru.ru_maxrss * 1024.0;
    size_t i;

    for (i = 0; i < r->nsamples; i++) {
        if ((double)r->samples[i].hwm_bytes > peak)
            peak = (double)r->samples[i].hwm_bytes;
        if ((double)r->samples[i].rss_bytes > peak)
            peak = (double)r->samples[i].rss_bytes;
    }
    return peak;
}

static int sipp_run_once(const struct vox_driver_env *env, const struct vox_workload *w,
                         struct vox_run *run, unsigned rep, struct vox_diag *diag)
{
    struct rep r;
    struct plan p;
    struct vox__sipp_stat st;
    struct vox__sipp_rtt rtt = {0};
    char stats[600], path[700];
    char *metrics = NULL, *resources = NULL, *sender_text = NULL;
    json_t *res = NULL, *sender = NULL;
    uint64_t t0;
    int rc;

    memset(&r, 0, sizeof(r));
    plan_make(env, run, &p);
    if (snprintf(r.dir, sizeof(r.dir), "%s/sipp-%s-%u-%u", env->work_dir, w->id, (unsigned)getpid(),
                 rep) >= (int)sizeof(r.dir) ||
        (mkdir(r.dir, 0755) != 0 && errno != EEXIST)) {
        vox_diag_set(diag, "workload '%s': cannot create %s: %s", w->id, r.dir, strerror(errno));
        return VOX_EIO;
    }
    snprintf(stats, sizeof(stats), "%s/rtpsend.json", r.dir);
    t0 = vox_clock_ns();
    if ((rc = start_server(&r, env, w, &p, diag)) != 0)
        goto out;
    if (p.media && (rc = start_daemon(&r, env, w, &p, stats, diag)) != 0)
        goto out;
    if ((rc = run_sipp(&r, env, w, &p, diag)) != 0)
        goto out;
    if (http_get(r.http_port, "/metrics", &metrics) != 0 ||
        http_get(r.http_port, "/api/resources", &resources) != 0) {
        rc = proc_done(&r.server) ? fail_proc(&r.server, w, "died at the end of the run", diag)
                                  : VOX_EIO;
        if (!r.server.exited)
            vox_diag_set(diag, "workload '%s': vox-siprec did not answer /metrics", w->id);
        goto out;
    }
    res = json_loads(resources, 0, NULL);
    if (!proc_stop(&r.server, SIGTERM, STOP_TIMEOUT_MS)) {
        rc = fail_proc(&r.server, w, "did not stop within 15 s of SIGTERM", diag);
        goto out;
    }
    if (!WIFEXITED(r.server.status) || WEXITSTATUS(r.server.status) != 0) {
        rc = fail_proc(&r.server, w, "failed at shutdown", diag);
        goto out;
    }
    if (p.media) {
        proc_stop(&r.daemon, SIGTERM, 5000);
        sender_text = slurp(stats);
        sender = sender_text ? json_loads(sender_text, 0, NULL) : NULL;
    }
    if (!find_file(r.dir, "stat.csv", path, sizeof(path))) {
        vox_diag_set(diag, "workload '%s': sipp wrote no statistics file in %s", w->id, r.dir);
        rc = VOX_EIO;
        goto out;
    }
    if ((rc = vox__sipp_parse_stat(path, &st, diag)) != 0)
        goto out;
    if (!find_file(r.dir, "_rtt.csv", path, sizeof(path))) {
        vox_diag_set(diag, "workload '%s': sipp wrote no response-time file in %s", w->id, r.dir);
        rc = VOX_EIO;
        goto out;
    }
    /* The scenario's timer "invite" (INVITE -> 200), or its first unnamed one. */
    if ((rc = vox__sipp_parse_rtt(path, "invite", &rtt, diag)) != 0)
        goto out;
    if (!rtt.count) {
        vox_hist_destroy(rtt.hist);
        if ((rc = vox__sipp_parse_rtt(path, "1", &rtt, diag)) != 0)
            goto out;
    }
    rc = push_metrics(&r, &p, run, rep, metrics, res, sender, &st, &rtt);
    /* The server's own usage (wait4): its peak RSS and CPU time over its life; the names and
     * units of vox_driver_push_usage, pushed one at a time (each vox_run_metric may move the
     * metrics array, so no pointer is held across the next). */
    if (rc == 0)
        rc = push(run, "rss_peak_bytes", "bytes", VOX_DIR_LOWER, peak_rss(&r));
    if (rc == 0)
        rc = push(run, "cpu_user_s", "s", VOX_DIR_LOWER,
                  (double)r.server.ru.ru_utime.tv_sec + (double)r.server.ru.ru_utime.tv_usec / 1e6);
    if (rc == 0)
        rc = push(run, "cpu_sys_s", "s", VOX_DIR_LOWER,
                  (double)r.server.ru.ru_stime.tv_sec + (double)r.server.ru.ru_stime.tv_usec / 1e6);
    if (rc == 0)
        rc = push(run, "wall_s", "s", VOX_DIR_LOWER, (double)(vox_clock_ns() - t0) / 1e9);
out:
    proc_stop(&r.sipp, SIGKILL, 1000);
    proc_stop(&r.daemon, SIGTERM, 2000);
    proc_stop(&r.server, SIGTERM, STOP_TIMEOUT_MS);
    vox_hist_destroy(rtt.hist);
    json_decref(res);
    json_decref(sender);
    free(sender_text);
    free(metrics);
    free(resources);
    free(r.samples);
    /* Recordings of a 1000-call run take a gigabyte: never kept past the repetition. The logs
     * and SIPp's files are, on request, for looking into a failure. */
    if (r.rec_dir[0])
        vox_driver_rm_tree(r.rec_dir);
    keep_dir(r.dir);
    vox_driver_rm_tree(r.dir);
    return rc;
}

const struct vox_driver_ops vox__driver_sipp = {
    .kind = "sipp",
    .description = "SIPp SIPREC calls against vox-siprec (RTP by vox-rtpsend): sessions, memory, "
                   "CPU, setup time, cache",
    .check = sipp_check,
    .run_once = sipp_run_once,
};
