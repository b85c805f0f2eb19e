/* SPDX-License-Identifier: MIT */
/* Tests of the Google Benchmark C shim: registration, arguments, counters, errors, results. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vox/gbench.h"

static int calls_sum;

static void bm_sum(struct vox_gb_state *st, void *ctx)
{
    int64_t n = vox_gb_range_arg(st, 0), i, acc = 0;

    calls_sum++;
    while (vox_gb_keep_running(st)) {
        for (i = 0; i < n; i++)
            acc += i;
        vox_gb_do_not_optimize(&acc);
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st) * n);
    vox_gb_counter(st, "n_echo", (double)n, VOX_GB_COUNTER_DEFAULT);
    vox_gb_counter(st, "ctx_value", (double)*(int *)ctx, VOX_GB_COUNTER_DEFAULT);
    vox_gb_set_label(st, "summing");
}

static void bm_batch(struct vox_gb_state *st, void *ctx)
{
    volatile int x = 0;

    (void)ctx;
    while (vox_gb_keep_running_batch(st, 100)) {
        int i;

        for (i = 0; i < 100; i++)
            x += i;
    }
    vox_gb_counter(st, "threads_seen", vox_gb_thread_count(st), VOX_GB_COUNTER_AVG_THREADS);
}

static void bm_fails(struct vox_gb_state *st, void *ctx)
{
    (void)ctx;
    vox_gb_skip_with_error(st, "planned failure");
    while (vox_gb_keep_running(st))
        ;
}

static void bm_never(struct vox_gb_state *st, void *ctx)
{
    (void)ctx;
    while (vox_gb_keep_running(st))
        ;
    fail_msg("filtered out benchmark ran");
}

static char json_path[64];

static void runs_registered_c_benchmarks(void **state)
{
    static int ctx_value = 42;
    static const char *const names[] = {"n"};
    char out_flag[96];
    char *argv[] = {
        "test_gbench", "--benchmark_min_time=0.01",   "--benchmark_filter=^c/(sum|batch|fails)",
        out_flag,      "--benchmark_out_format=json", NULL};
    int argc = 5;
    struct vox_gb_results res;
    const struct vox_gb_result *r;
    FILE *f;
    char buf[8192];
    size_t n;
    int run;

    (void)state;
    snprintf(json_path, sizeof(json_path), "/tmp/vox_gbench_%d.json", (int)getpid());
    snprintf(out_flag, sizeof(out_flag), "--benchmark_out=%s", json_path);
    vox_gb_arg_names(vox_gb_arg(vox_gb_arg(vox_gb_register("c/sum", bm_sum, &ctx_value), 10), 1000),
                     names, 1);
    vox_gb_threads(vox_gb_register("c/batch", bm_batch, NULL), 2);
    vox_gb_register("c/fails", bm_fails, NULL);
    vox_gb_register("c/never", bm_never, NULL);

    run = vox_gb_run(&argc, argv, &res);
    assert_int_equal(run, 4);
    /* GB consumed its own flags. */
    assert_int_equal(argc, 1);

    r = vox_gb_results_find(&res, "c/sum/n:1000");
    assert_non_null(r);
    assert_true(r->iterations > 0);
    assert_true(r->real_ns > 0);
    assert_false(r->error);
    assert_true(vox_gb_result_counter(r, "n_echo", -1) == 1000.0);
    assert_true(vox_gb_result_counter(r, "ctx_value", -1) == 42.0);
    assert_true(vox_gb_result_counter(r, "items_per_second", 0) > 0);
    assert_true(vox_gb_result_counter(r, "absent", -7) == -7.0);
    assert_non_null(vox_gb_results_find(&res, "c/sum/n:10"));
    assert_string_equal(r->family, "c/sum/n:1000");
    assert_ptr_equal(vox_gb_results_find_family(&res, "c/sum/n:1000", 0), r);
    assert_null(vox_gb_results_find(&res, "c/never"));
    assert_true(calls_sum >= 2);

    r = vox_gb_results_find(&res, "c/batch/threads:2");
    assert_non_null(r);
    assert_string_equal(r->family, "c/batch");
    assert_ptr_equal(vox_gb_results_find_family(&res, "c/batch", 2), r);
    assert_null(vox_gb_results_find_family(&res, "c/batch", 1));
    assert_int_equal(r->threads, 2);
    assert_int_equal(r->iterations % 100, 0);
    assert_true(vox_gb_result_counter(r, "threads_seen", 0) == 2.0);

    r = vox_gb_results_find(&res, "c/fails");
    assert_non_null(r);
    assert_true(r->error);
    assert_string_equal(r->error_message, "planned failure");
    vox_gb_results_free(&res);
    assert_null(res.runs);

    /* GB's own JSON file reporter was driven too. */
    f = fopen(json_path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(json_path);
    assert_non_null(strstr(buf, "\"benchmarks\""));
    assert_non_null(strstr(buf, "c/sum/n:1000"));
}

static void rejects_unknown_flags_and_formats(void **state)
{
    char *argv1[] = {"test_gbench", "--benchmark_filter=c/never", "--no-such-flag", NULL};
    char *argv2[] = {"test_gbench", "--benchmark_filter=c/never", "--benchmark_format=csv", NULL};
    int argc1 = 3, argc2 = 3;
    struct vox_gb_results res;

    (void)state;
    /* c/never would fail the test if it ran: nothing runs after a bad command line. */
    assert_int_equal(vox_gb_run(&argc1, argv1, &res), -1);
    assert_int_equal(res.count, 0);
    assert_int_equal(vox_gb_run(&argc2, argv2, &res), -1);
    assert_int_equal(res.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runs_registered_c_benchmarks),
        cmocka_unit_test(rejects_unknown_flags_and_formats),
    };

    return cmocka_run_group_tests_name("gbench shim", tests, NULL, NULL);
}
