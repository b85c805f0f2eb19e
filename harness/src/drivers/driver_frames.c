/* SPDX-License-Identifier: MIT */
/* Driver "frames": synthetic paced media streams in a voxbench __frames process. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"

/* Params: alloc, exec (backends), streams (concurrent 20 ms streams), seconds, frame_ms. */
static int frames_check(const struct vox_workload *w, struct vox_diag *diag)
{
    static const char *const known[] = {"alloc", "exec", "streams", "seconds", "frame_ms"};
    size_t i, k;

    for (i = 0; i < w->nparams; i++) {
        for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            if (strcmp(w->params[i].name, known[k]) == 0)
                break;
        if (k == sizeof(known) / sizeof(known[0])) {
            vox_diag_set(diag,
                         "workload '%s' (frames): unknown param '%s' (streams, seconds, "
                         "frame_ms)",
                         w->id, w->params[i].name);
            return VOX_EINVAL;
        }
    }
    return 0;
}

struct figure {
    const char *name;
    const char *unit;
    enum vox_metric_dir dir;
};

static const struct figure figures[] = {
    {"frames_per_second", "1/s", VOX_DIR_HIGHER}, {"lat_p50_us", "us", VOX_DIR_LOWER},
    {"lat_p90_us", "us", VOX_DIR_LOWER},          {"lat_p99_us", "us", VOX_DIR_LOWER},
    {"lat_p999_us", "us", VOX_DIR_LOWER},         {"lat_max_us", "us", VOX_DIR_LOWER},
    {"frames_late", "count", VOX_DIR_LOWER},      {"alloc_peak_bytes", "bytes", VOX_DIR_LOWER},
    {"pool_hit_rate", "%", VOX_DIR_HIGHER},
};

static int frames_run_once(const struct vox_driver_env *env, const struct vox_workload *w,
                           struct vox_run *run, unsigned rep, struct vox_diag *diag)
{
    const char *alloc = vox_run_param(run, "alloc"), *exec = vox_run_param(run, "exec");
    const char *streams = vox_run_param(run, "streams"), *seconds = vox_run_param(run, "seconds");
    const char *frame_ms = vox_run_param(run, "frame_ms");
    char out[600], err[600], tail[200], self[512];
    char *argv[16];
    struct vox_child_usage u;
    json_error_t jerr;
    json_t *root;
    struct vox_metric *m;
    size_t n = 0, i;
    int rc;

    snprintf(self, sizeof(self), "%s", env->self);
    argv[n++] = self;
    argv[n++] = "__frames";
    argv[n++] = "--alloc";
    argv[n++] = (char *)(alloc ? alloc : "system");
    argv[n++] = "--exec";
    argv[n++] = (char *)(exec ? exec : "pool");
    argv[n++] = "--streams";
    argv[n++] = (char *)(streams ? streams : "100");
    argv[n++] = "--seconds";
    argv[n++] = (char *)(seconds ? seconds : (env->quick ? "1" : "3"));
    if (frame_ms) {
        argv[n++] = "--frame-ms";
        argv[n++] = (char *)frame_ms;
    }
    argv[n] = NULL;
    snprintf(out, sizeof(out), "%s/%s.json", env->work_dir, w->id);
    snprintf(err, sizeof(err), "%s/%s.err", env->work_dir, w->id);
    rc = vox_child_run(argv, NULL, out, err, env->timeout_s, &u, diag);
    if (rc)
        return rc;
    if (u.timed_out || u.exit_code != 0) {
        vox_driver_tail(err, tail, sizeof(tail));
        vox_diag_set(diag, "workload '%s': frames process %s (exit %d): %s", w->id,
                     u.timed_out ? "timed out" : "failed", u.exit_code, tail);
        return VOX_EIO;
    }
    root = json_load_file(out, 0, &jerr);
    if (!root) {
        vox_diag_set(diag, "workload '%s': frames output is not JSON: %s", w->id, jerr.text);
        return VOX_EMALFORMED;
    }
    for (i = 0; i < sizeof(figures) / sizeof(figures[0]) && rc == 0; i++) {
        json_t *v = json_object_get(root, figures[i].name);

        if (!json_is_number(v))
            continue; /* pool_hit_rate is null for allocators without a pool */
        m = vox_run_metric(run, figures[i].name, figures[i].unit, figures[i].dir, false);
        rc = m ? vox_metric_push(m, json_number_value(v)) : VOX_ENOMEM;
    }
    /* The guides' "CPU Usage": the process's CPU time over its life, less what the load
     * generator (the ticker thread) spent, so that only the backends' work is counted. */
    m = vox_run_metric(run, "cpu_percent", "%", VOX_DIR_LOWER, false);
    if (rc == 0) {
        double gen = json_number_value(json_object_get(root, "generator_cpu_s"));
        double cpu = u.user_s + u.sys_s - gen;

        rc = m ? vox_metric_push(m, u.wall_s > 0 ? 100.0 * (cpu > 0 ? cpu : 0) / u.wall_s : NAN)
               : VOX_ENOMEM;
    }
    /* The spectrum of the first repetition is kept for the percentile plot. */
    if (rc == 0 && rep == 0) {
        json_t *pts = json_object_get(root, "latency_spectrum_us"), *p;
        struct vox_percentile spec[256];
        size_t k = 0;

        json_array_foreach(pts, i, p)
        {
            if (k == sizeof(spec) / sizeof(spec[0]))
                break;
            spec[k].pct = json_number_value(json_array_get(p, 0));
            spec[k].value_us = json_number_value(json_array_get(p, 1));
            k++;
        }
        rc = vox_run_set_percentiles(run, spec, k);
    }
    json_decref(root);
    return rc ? rc : vox_driver_push_usage(run, &u);
}

const struct vox_driver_ops vox__driver_frames = {
    .kind = "frames",
    .description = "paced 20 ms media streams on the allocator and executor under test",
    .check = frames_check,
    .run_once = frames_run_once,
};
