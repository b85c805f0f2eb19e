/* SPDX-License-Identifier: MIT */
/* Tests of suite files (parsing, errors, overrides, expansion) and of results JSON I/O. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suite/suite.h"
#include "tmp_file.h"
#include "vox/results.h"

static char tmpdir[64];

static const char *write_file(const char *name, const char *text)
{
    return tmp_file(tmpdir, name, text);
}

static const char *good_suite = "name: t\n"
                                "description: test suite\n"
                                "repetitions: 4\n"
                                "matrix:\n"
                                "  alloc: [system, pool, mimalloc]\n"
                                "  exec: [pool, steal]\n"
                                "workloads:\n"
                                "  - id: a\n"
                                "    kind: micro\n"
                                "    benchmark: alloc/pair\n"
                                "    axes: [alloc]\n"
                                "  - id: f\n"
                                "    kind: frames\n"
                                "    axes: [alloc, exec]\n"
                                "    matrix:\n"
                                "      alloc: [pool]\n"
                                "    params:\n"
                                "      streams: [100, 500, 1000]\n"
                                "      seconds: 2\n";

struct collect {
    size_t n;
    char ids[32][256];
};

static int collect_run(const struct vox_run *run, void *ctx)
{
    struct collect *c = ctx;

    if (c->n < 32)
        snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s", run->config_id);
    c->n++;
    return 0;
}

static void parses_and_expands(void **st)
{
    struct vox_suite *s = calloc(1, sizeof(*s));
    struct vox_diag d = {{0}};
    struct collect c = {0};

    (void)st;
    assert_int_equal(vox_suite_load(write_file("good.yaml", good_suite), "", s, &d), 0);
    assert_string_equal(s->name, "t");
    assert_int_equal(s->repetitions, 4);
    assert_int_equal(s->nworkloads, 2);
    assert_string_equal(s->workloads[0].benchmark, "alloc/pair");
    /* a: the suite's three allocators. */
    assert_int_equal(vox_suite_expand(s, &s->workloads[0], collect_run, &c, &d), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.ids[0], "alloc=system");
    assert_string_equal(c.ids[2], "alloc=mimalloc");
    /* f: its own alloc list (1) x the suite's exec (2) x streams (3); seconds is a scalar. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(vox_suite_expand(s, &s->workloads[1], collect_run, &c, &d), 0);
    assert_int_equal(c.n, 6);
    assert_string_equal(c.ids[0], "alloc=pool exec=pool seconds=2 streams=100");
    assert_string_equal(c.ids[5], "alloc=pool exec=steal seconds=2 streams=1000");
    /* --matrix wins over the suite's and the workload's own values, and over params. */
    assert_int_equal(vox_suite_override(s, "alloc=jemalloc", &d), 0);
    assert_int_equal(vox_suite_override(s, "streams=7,8", &d), 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(vox_suite_expand(s, &s->workloads[1], collect_run, &c, &d), 0);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.ids[0], "alloc=jemalloc exec=pool seconds=2 streams=7");
    assert_int_equal(vox_suite_override(s, "alloc", &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "axis=value"));
    assert_int_equal(vox_suite_override(s, "alloc=a b", &d), VOX_EINVAL);
    free(s);
}

/* Each bad file must fail with file:line:column and say what is wrong. */
static void rejects_bad_suites(void **st)
{
    static const struct {
        const char *text;
        const char *expect; /* substring of the message */
    } cases[] = {
        {"name: t\nworkloads: [\n", "not valid YAML"},
        {"name: t\nbogus: 1\nworkloads:\n  - {id: a, kind: micro}\n", "unknown suite key 'bogus'"},
        {"name: t\nworkloads:\n  - {id: a, kind: micro, axes: [alloc], colour: red}\n",
         "unknown workload key 'colour'"},
        {"name: t\nworkloads:\n  - {id: a, kind: micro}\n  - {id: a, kind: micro}\n",
         "workload id 'a' appears twice"},
        {"name: t\nworkloads:\n  - {kind: micro}\n", "has no 'id'"},
        {"name: t\nworkloads:\n  - {id: a}\n", "has no 'kind'"},
        {"name: t\nrepetitions: 0\nworkloads:\n  - {id: a, kind: micro}\n", "repetitions must"},
        {"name: t\nmatrix:\n  alloc: [\"sys tem\"]\nworkloads:\n  - {id: a, kind: micro}\n",
         "bad value for 'alloc'"},
        {"name: t\nmatrix:\n  alloc: []\nworkloads:\n  - {id: a, kind: micro}\n", "no values"},
        {"workloads:\n  - {id: a, kind: micro}\n", "has no 'name'"},
        {"name: t\n", "no workloads"},
        {"- just\n- a list\n", "must be a mapping"},
        {"", "empty suite file"},
        {"name: t\nworkloads:\n  - {id: a, kind: micro, axes: "
         "[an_axis_name_longer_than_31_chars]}\n",
         "is too long"},
    };
    struct vox_suite *s = calloc(1, sizeof(*s));
    size_t i;

    (void)st;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vox_diag d = {{0}};
        const char *path = write_file("bad.yaml", cases[i].text);
        int rc = vox_suite_load(path, "", s, &d);

        if (rc != VOX_EMALFORMED || !strstr(d.text, cases[i].expect) || !strstr(d.text, path))
            fail_msg("case %zu: rc %d, message '%s', expected '%s'", i, rc, d.text,
                     cases[i].expect);
    }
    {
        struct vox_diag d = {{0}};

        assert_int_equal(vox_suite_load("no-such-suite", tmpdir, s, &d), VOX_EIO);
        assert_non_null(strstr(d.text, "no-such-suite.yaml"));
    }
    free(s);
}

static void missing_axis_is_an_error_at_expansion(void **st)
{
    struct vox_suite *s = calloc(1, sizeof(*s));
    struct vox_diag d = {{0}};
    struct collect c = {0};

    (void)st;
    assert_int_equal(vox_suite_load(write_file("noaxis.yaml", "name: t\nworkloads:\n"
                                                              "  - {id: a, kind: micro, "
                                                              "axes: [gpu]}\n"),
                                    "", s, &d),
                     0);
    assert_int_equal(vox_suite_expand(s, &s->workloads[0], collect_run, &c, &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "axis 'gpu' has no values"));
    free(s);
}

static void results_round_trip(void **st)
{
    struct vox_results r, back;
    struct vox_diag d = {{0}};
    struct vox_percentile pts[3] = {{50, 10.5}, {99, 40.25}, {100, 90}};
    struct vox_run *run;
    struct vox_metric *m;
    const struct vox_run *br;
    const struct vox_metric *bm;
    char path[160];

    (void)st;
    vox_results_init(&r);
    snprintf(r.suite, sizeof(r.suite), "t");
    vox_machine_detect(&r.machine);
    assert_true(r.machine.cpus_available >= 1);
    assert_true(r.machine.kernel[0] != '\0');
    run = vox_results_add_run(&r);
    snprintf(run->workload, sizeof(run->workload), "alloc-pair");
    snprintf(run->kind, sizeof(run->kind), "micro");
    assert_int_equal(vox_run_set_param(run, "exec", "steal"), 0);
    assert_int_equal(vox_run_set_param(run, "alloc", "pool"), 0);
    assert_int_equal(vox_run_set_param(run, "alloc", "mimalloc"), 0);
    assert_int_equal(vox_run_set_param(run, "bad key", "x"), VOX_EINVAL);
    assert_string_equal(run->config_id, "alloc=mimalloc exec=steal");
    m = vox_run_metric(run, "real_ns", "ns", VOX_DIR_LOWER, false);
    vox_metric_push(m, 10);
    vox_metric_push(m, 12);
    vox_metric_push(m, NAN); /* a failed measurement: written as null, read as NaN */
    m = vox_run_metric(run, "instructions", "count", VOX_DIR_LOWER, true);
    vox_metric_push(m, 1234567);
    assert_int_equal(vox_run_set_percentiles(run, pts, 3), 0);
    run = vox_results_add_run(&r);
    snprintf(run->workload, sizeof(run->workload), "broken");
    run->ok = false;
    snprintf(run->error, sizeof(run->error), "repetition 1: exploded");
    snprintf(path, sizeof(path), "%s/r.json", tmpdir);
    assert_int_equal(vox_results_write(&r, path, &d), 0);

    assert_int_equal(vox_results_read(path, &back, &d), 0);
    assert_int_equal(back.nruns, 2);
    assert_string_equal(back.machine.kernel, r.machine.kernel);
    br = vox_results_find_run(&back, "alloc-pair", "alloc=mimalloc exec=steal");
    assert_non_null(br);
    assert_string_equal(vox_run_param(br, "exec"), "steal");
    bm = vox_run_find_metric(br, "real_ns");
    assert_int_equal(bm->n, 3);
    assert_true(bm->values[1] == 12.0);
    assert_true(isnan(bm->values[2]));
    assert_int_equal(bm->dir, VOX_DIR_LOWER);
    bm = vox_run_find_metric(br, "instructions");
    assert_true(bm->stable);
    assert_true(vox_metric_median(bm) == 1234567.0);
    assert_int_equal(br->npercentiles, 3);
    assert_true(br->percentiles[1].value_us == 40.25);
    assert_false(back.runs[1].ok);
    assert_string_equal(back.runs[1].error, "repetition 1: exploded");
    vox_results_free(&back);
    vox_results_free(&r);
}

static void results_reader_names_what_is_wrong(void **st)
{
    static const struct {
        const char *text;
        int rc;
        const char *expect;
    } cases[] = {
        {"{", VOX_EMALFORMED, "not valid JSON"},
        {"{\"schema\": \"other\"}", VOX_EMALFORMED, "not a voxbench results file"},
        {"{\"schema\": \"voxbench-results\", \"schema_version\": 99, \"runs\": []}", VOX_ERANGE,
         "newer"},
        {"{\"schema\": \"voxbench-results\", \"schema_version\": 1, \"runs\": {}}", VOX_EMALFORMED,
         "runs: must be an array"},
        {"{\"schema\": \"voxbench-results\", \"schema_version\": 1, \"runs\": [{\"workload\": "
         "\"w\", \"metrics\": {\"x\": {\"values\": [\"a\"]}}}]}",
         VOX_EMALFORMED, "runs[0].metrics.x"},
        {"{\"schema\": \"voxbench-results\", \"schema_version\": 1, \"runs\": [{\"workload\": "
         "\"w\", \"repetitions\": -1}]}",
         VOX_EMALFORMED, "non-negative"},
    };
    struct vox_results r;
    size_t i;

    (void)st;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vox_diag d = {{0}};
        const char *path = write_file("bad.json", cases[i].text);
        int rc = vox_results_read(path, &r, &d);

        if (rc != cases[i].rc || !strstr(d.text, cases[i].expect) || !strstr(d.text, path))
            fail_msg("case %zu: rc %d, message '%s'", i, rc, d.text);
        vox_results_free(&r);
    }
    {
        struct vox_diag d = {{0}};

        assert_int_equal(vox_results_read("/nonexistent/x.json", &r, &d), VOX_EIO);
        vox_results_free(&r);
    }
    /* A file from an older voxbench with fewer fields and unknown extra keys still reads. */
    assert_int_equal(
        vox_results_read(write_file("old.json", "{\"schema\": \"voxbench-results\", "
                                                "\"schema_version\": 1, \"future\": 1, "
                                                "\"runs\": [{\"workload\": \"w\"}]}"),
                         &r, NULL),
        0);
    assert_int_equal(r.nruns, 1);
    assert_true(r.runs[0].ok);
    vox_results_free(&r);
}

static int setup(void **st)
{
    (void)st;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vox_suite_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **st)
{
    char cmd[128];

    (void)st;
    /* Only files this test wrote are in it. */
    snprintf(cmd, sizeof(cmd), "%s/good.yaml", tmpdir);
    unlink(cmd);
    snprintf(cmd, sizeof(cmd), "%s/bad.yaml", tmpdir);
    unlink(cmd);
    snprintf(cmd, sizeof(cmd), "%s/noaxis.yaml", tmpdir);
    unlink(cmd);
    snprintf(cmd, sizeof(cmd), "%s/r.json", tmpdir);
    unlink(cmd);
    snprintf(cmd, sizeof(cmd), "%s/bad.json", tmpdir);
    unlink(cmd);
    snprintf(cmd, sizeof(cmd), "%s/old.json", tmpdir);
    unlink(cmd);
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_and_expands),
        cmocka_unit_test(rejects_bad_suites),
        cmocka_unit_test(missing_axis_is_an_error_at_expansion),
        cmocka_unit_test(results_round_trip),
        cmocka_unit_test(results_reader_names_what_is_wrong),
    };

    return cmocka_run_group_tests_name("suites and results", tests, setup, teardown);
}
