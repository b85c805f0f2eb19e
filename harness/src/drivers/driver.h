/* SPDX-License-Identifier: MIT */
/* Workload drivers: one per workload kind (micro, frames, sipp, pcap; later stt). */
#ifndef VOX_DRIVER_H
#define VOX_DRIVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "suite/suite.h"
#include "vox/err.h"
#include "vox/results.h"

/* What every driver is given. */
struct vox_driver_env {
    const char *bin_dir;  /* where voxbench, voxbench-micro, vox-* binaries live */
    const char *self;     /* path of the running voxbench, for its hidden workload commands */
    const char *work_dir; /* a private temporary directory for this run's files */
    bool quick;           /* shorter measurements, for CI smoke runs */
    unsigned timeout_s;   /* per child process */
};

/*
 * A driver. `run_once` performs one repetition of workload `w` under the configuration in
 * `run->params`, in processes of its own, and appends one value to each metric it measures
 * (vox_run_metric + vox_metric_push); on failure it returns a negative VOX_E* code and explains
 * in `diag`. Drivers that start servers (sipp) do so inside run_once and stop them before it
 * returns: every repetition is self-contained. `check` (optional) validates a workload when
 * the suite is loaded, so a typo fails before anything runs.
 */
struct vox_driver_ops {
    const char *kind;
    const char *description;
    int (*check)(const struct vox_workload *w, struct vox_diag *diag);
    int (*run_once)(const struct vox_driver_env *env, const struct vox_workload *w,
                    struct vox_run *run, unsigned rep, struct vox_diag *diag);
};

/* The driver for `kind`, or NULL. */
const struct vox_driver_ops *vox_driver_find(const char *kind);
size_t vox_driver_count(void);
const struct vox_driver_ops *vox_driver_at(size_t i);

extern const struct vox_driver_ops vox__driver_micro;
extern const struct vox_driver_ops vox__driver_frames;
extern const struct vox_driver_ops vox__driver_sipp;
extern const struct vox_driver_ops vox__driver_pcap;

/* ---- running child processes ---------------------------------------------------------------- */

/* Set from a signal handler to stop: a running child is killed and vox_child_run returns. */
extern volatile sig_atomic_t vox_driver_cancel;

struct vox_child_usage {
    int exit_code;  /* exit status, or 128 + signal */
    bool timed_out; /* killed after the timeout */
    double wall_s;
    double user_s; /* CPU seconds of the child and its waited-for children */
    double sys_s;
    uint64_t max_rss_bytes; /* peak resident set of the child (getrusage ru_maxrss) */
};

/*
 * Runs argv (no shell; argv[0] looked up on PATH when it has no '/') with stdout to
 * `stdout_path` and stderr to `stderr_path` (either NULL: /dev/null), and `env_add` (NULL or a
 * NULL-terminated list of "K=V") added to the environment. Kills the child's process group
 * after `timeout_s`. Returns 0 when the child could be run (whatever its exit status, which is
 * in usage), or VOX_EIO with `diag` when it could not be started.
 */
int vox_child_run(char *const argv[], char *const env_add[], const char *stdout_path,
                  const char *stderr_path, unsigned timeout_s, struct vox_child_usage *usage,
                  struct vox_diag *diag);

/*
 * The start of vox_child_run, for children that run beside the driver (servers, load
 * generators): the same redirections, environment and process group, in directory `cwd` (NULL:
 * ours). 0 with *pid (the caller reaps it), or VOX_EIO with `diag` (an exec failure included).
 */
int vox_child_spawn(char *const argv[], char *const env_add[], const char *cwd,
                    const char *stdout_path, const char *stderr_path, pid_t *pid,
                    struct vox_diag *diag);

/* Records the usage of one repetition's measured process as metrics (rss_peak_bytes,
 * cpu_user_s, cpu_sys_s, wall_s). 0 or VOX_ENOMEM. */
int vox_driver_push_usage(struct vox_run *run, const struct vox_child_usage *u);

/* The last `max` bytes of a file (a child's stderr) for error messages, into buf. */
void vox_driver_tail(const char *path, char *buf, size_t len);

/* Whether `name` is an executable file (a path) or a program on $PATH. */
bool vox_driver_on_path(const char *name);

/* Where scenarios/ lives: $VOXBENCH_HOME, else the source tree (as `voxbench` itself looks). */
const char *vox_driver_home(void);

/* Removes a directory and all it holds (a work directory), as `rm -rf` does; errors ignored. */
void vox_driver_rm_tree(const char *path);

/* ---- the sipp driver's readers (driver_sipp.c), declared for its tests -------------------- */

struct vox_hist;

/* The cumulative counters of the last row of a SIPp -trace_stat file (';'-separated). */
struct vox__sipp_stat {
    double created;           /* TotalCallCreated */
    double successful;        /* SuccessfulCall(C) */
    double failed;            /* FailedCall(C) */
    double retransmissions;   /* Retransmissions(C) */
    double failed_timeout;    /* FailedMaxUDPRetrans(C) + FailedTimeoutOnRecv(C) */
    double failed_transport;  /* FailedTcpConnect, FailedTcpClosed, FailedCannotSendMessage (C) */
    double failed_unexpected; /* FailedUnexpectedMessage, FailedCallRejected, FailedRegexp* (C) */
    size_t rows;              /* data rows in the file */
};

/* Reads `path`. 0, VOX_EIO (cannot open), VOX_EMALFORMED (no data row, or no
 * TotalCallCreated/SuccessfulCall(C)/FailedCall(C) column), VOX_ENOMEM; `diag` says which. */
int vox__sipp_parse_stat(const char *path, struct vox__sipp_stat *out, struct vox_diag *diag);

/* The samples of one timer of a SIPp -trace_rtt file ("Date_ms;response_time_ms;rtd_no"). */
struct vox__sipp_rtt {
    struct vox_hist *hist; /* response times in ns (owned: vox_hist_destroy) */
    size_t count;          /* samples of that timer */
    double first_ms;       /* Date_ms of the first and last sample (NAN when none) */
    double last_ms;
};

/* Reads the samples of timer `rtd` from `path`: its name in the scenario (rtd="invite": SIPp
 * writes the name), or its number for unnamed timers ("1"). 0, VOX_EIO, VOX_EMALFORMED (a line
 * whose date is not a number, with its line number in `diag`), VOX_ENOMEM. */
int vox__sipp_parse_rtt(const char *path, const char *rtd, struct vox__sipp_rtt *out,
                        struct vox_diag *diag);

/* The value of the Prometheus sample `name` ({labels} as written, or NULL) in exposition text,
 * or NAN when it is absent. */
double vox__sipp_prom_value(const char *text, const char *name, const char *labels);

/* The q-quantile (0..1) of Prometheus histogram `name` (its name_bucket{le="..."} samples),
 * interpolated within the bucket as Prometheus's histogram_quantile does; NAN without data. */
double vox__sipp_prom_quantile(const char *text, const char *name, double q);

/* The steady state of a run: first..last sample at which `sessions` (one per sample, -1 for
 * unknown) reached 95% of `target`, else 95% of its peak. False when no two samples qualify. */
bool vox__sipp_steady_window(const long *sessions, size_t n, unsigned target, size_t *first,
                             size_t *last);

#endif /* VOX_DRIVER_H */
