/* SPDX-License-Identifier: MIT */
/* Tests of the sipp driver: its readers of SIPp's files on small samples, its checks, and one
 * quick repetition against the real vox-siprec, vox-rtpsend and SIPp of this build. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "suite/suite.h"
#include "vox/results.h"
#include "tmp_file.h"
#include "vox/stats.h"

static char tmpdir[64];

static const char *write_file(const char *name, const char *text)
{
    return tmp_file(tmpdir, name, text);
}

/* A -trace_stat file cut to the columns the driver reads (SIPp writes ~100), with the
 * HH:MM:SS:µs times and the tab-separated dates SIPp writes, and a row every -fd. */
static const char *stat_csv =
    "StartTime;LastResetTime;CurrentTime;ElapsedTime(P);ElapsedTime(C);TargetRate;"
    "CallRate(P);CallRate(C);TotalCallCreated;CurrentCall;SuccessfulCall(P);"
    "SuccessfulCall(C);FailedCall(P);FailedCall(C);FailedCannotSendMessage(C);"
    "FailedMaxUDPRetrans(C);FailedTcpConnect(C);FailedTcpClosed(C);"
    "FailedUnexpectedMessage(C);FailedCallRejected(C);FailedTimeoutOnRecv(C);"
    "Retransmissions(C);ResponseTime1(C);\n"
    "2026-11-23\t06:18:55.397165\t1795414735.397165;2026-11-23\t06:18:55.397165\t1795414735."
    "397165;2026-11-23\t06:18:55.397976\t1795414735.397976;00:00:00;00:00:00;50;0;0;0;0;0;0;0;0;"
    "0;0;0;0;0;0;0;0;00:00:00:000000;\n"
    "2026-11-23\t06:18:55.397165\t1795414735.397165;2026-11-23\t06:18:56.399541\t1795414736."
    "399541;2026-11-23\t06:18:57.399189\t1795414737.399189;00:00:01;00:00:02;50;40;45;90;50;40;"
    "40;0;1;0;2;0;0;1;0;3;7;00:00:00:001000;\n"
    "2026-11-23\t06:18:55.397165\t1795414735.397165;2026-11-23\t06:18:57.399541\t1795414737."
    "399541;2026-11-23\t06:18:58.399189\t1795414738.399189;00:00:01;00:00:03;50;10;33;100;0;10;"
    "94;0;6;0;2;0;0;1;0;3;9;00:00:00:001000;\n";

static void stat_reads_the_last_row(void **st)
{
    struct vox__sipp_stat s;
    struct vox_diag d = {{0}};

    (void)st;
    assert_int_equal(vox__sipp_parse_stat(write_file("stat.csv", stat_csv), &s, &d), 0);
    assert_int_equal(s.rows, 3);
    assert_true(s.created == 100);
    assert_true(s.successful == 94);
    assert_true(s.failed == 6);
    assert_true(s.retransmissions == 9);
    assert_true(s.failed_timeout == 2 + 3);   /* MaxUDPRetrans + TimeoutOnRecv */
    assert_true(s.failed_unexpected == 1);    /* UnexpectedMessage + CallRejected */
    assert_true(s.failed_transport == 0 + 0); /* CannotSend + TcpConnect + TcpClosed */
}

static void stat_rejects_what_is_not_a_stat_file(void **st)
{
    struct vox__sipp_stat s;
    struct vox_diag d = {{0}};

    (void)st;
    assert_int_equal(vox__sipp_parse_stat(write_file("empty.csv", ""), &s, &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "empty"));
    assert_int_equal(vox__sipp_parse_stat(write_file("head.csv", "A;B\n"), &s, &d), VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "no data row"));
    assert_int_equal(vox__sipp_parse_stat(write_file("cols.csv", "A;B\n1;2\n"), &s, &d),
                     VOX_EMALFORMED);
    assert_non_null(strstr(d.text, "TotalCallCreated"));
    assert_int_equal(vox__sipp_parse_stat("/nonexistent/stat.csv", &s, &d), VOX_EIO);
    assert_non_null(strstr(d.text, "/nonexistent/stat.csv"));
}

/* -trace_rtt with two named timers (SIPp writes the name of rtd="invite"), fractional ms as
 * the preloaded clock gives them, whole ms as SIPp's own coarse clock does, an unnamed timer
 * (its number), and a line cut by a kill. */
static const char *rtt_csv = "Date_ms;response_time_ms;rtd_no\n"
                             "15.423;0.593;invite\n"
                             "27.457;0.64;invite\n"
                             "33.444;1.235;bye\n"
                             "43.508;0.397;invite\n"
                             "1043.5;4;invite\n"
                             "1055.1;0.2;bye\n"
                             "1057.2;0.3;1\n"
                             "1060";

static void rtt_reads_one_timer(void **st)
{
    struct vox__sipp_rtt r;
    struct vox_diag d = {{0}};
    double p50, max;

    (void)st;
    assert_int_equal(vox__sipp_parse_rtt(write_file("a_1_rtt.csv", rtt_csv), "invite", &r, &d), 0);
    assert_int_equal(r.count, 4);
    assert_true(r.first_ms == 15.423 && r.last_ms == 1043.5);
    /* 0.397 0.593 0.64 4: the median is the second value (nearest rank), to 1% */
    p50 = (double)vox_hist_percentile(r.hist, 50) / 1e6;
    max = (double)vox_hist_max(r.hist) / 1e6;
    assert_true(fabs(p50 - 0.593) < 0.006);
    assert_true(fabs(max - 4.0) < 1e-9);
    vox_hist_destroy(r.hist);

    assert_int_equal(vox__sipp_parse_rtt(write_file("b_1_rtt.csv", rtt_csv), "bye", &r, &d), 0);
    assert_int_equal(r.count, 2);
    vox_hist_destroy(r.hist);
    assert_int_equal(vox__sipp_parse_rtt(write_file("c_1_rtt.csv", rtt_csv), "1", &r, &d), 0);
    assert_int_equal(r.count, 1);
    assert_true(r.first_ms == 1057.2);
    vox_hist_destroy(r.hist);
    assert_int_equal(vox__sipp_parse_rtt(write_file("d_1_rtt.csv", rtt_csv), "re", &r, &d), 0);
    assert_int_equal(r.count, 0);
    assert_true(isnan(r.first_ms));
    vox_hist_destroy(r.hist);
}

static void rtt_rejects_garbage(void **st)
{
    struct vox__sipp_rtt r;
    struct vox_diag d = {{0}};

    (void)st;
    assert_int_equal(
        vox__sipp_parse_rtt(write_file("g_rtt.csv", "Date_ms;response_time_ms;rtd_no\n1;2;1\n"
                                                    "x;y;z\n"),
                            "1", &r, &d),
        VOX_EMALFORMED);
    assert_non_null(strstr(d.text, ":3:"));
    assert_null(r.hist);
    assert_int_equal(vox__sipp_parse_rtt("/nonexistent/x_rtt.csv", "1", &r, &d), VOX_EIO);
}

static void prometheus_values_by_name_and_labels(void **st)
{
    static const char *text = "# HELP vox_siprec_sessions_peak Most sessions at once\n"
                              "# TYPE vox_siprec_sessions_peak gauge\n"
                              "vox_siprec_sessions_peak 1000\n"
                              "vox_siprec_sessions_peak_extra 7\n"
                              "vox_siprec_rejected_total{reason=\"busy\"} 3\n"
                              "vox_siprec_rejected_total{reason=\"not_siprec\"} 4\n"
                              "vox_siprec_setup_seconds_sum 0.0421\n";

    (void)st;
    assert_true(vox__sipp_prom_value(text, "vox_siprec_sessions_peak", NULL) == 1000);
    assert_true(vox__sipp_prom_value(text, "vox_siprec_rejected_total", "reason=\"busy\"") == 3);
    assert_true(vox__sipp_prom_value(text, "vox_siprec_rejected_total", "reason=\"not_siprec\"") ==
                4);
    assert_true(vox__sipp_prom_value(text, "vox_siprec_setup_seconds_sum", NULL) == 0.0421);
    assert_true(isnan(vox__sipp_prom_value(text, "vox_siprec_rejected_total", NULL)));
    assert_true(isnan(vox__sipp_prom_value(text, "vox_siprec_sessions", NULL)));
    assert_true(isnan(vox__sipp_prom_value("", "x", NULL)));
}

static void prometheus_histogram_quantiles(void **st)
{
    /* 100 observations: 50 up to 1 ms, 40 in (1, 2] ms, 9 in (2, 5] ms, 1 above 5 ms */
    static const char *text = "# TYPE vox_siprec_setup_seconds histogram\n"
                              "vox_siprec_setup_seconds_bucket{le=\"0.001\"} 50\n"
                              "vox_siprec_setup_seconds_bucket{le=\"0.002\"} 90\n"
                              "vox_siprec_setup_seconds_bucket{le=\"0.005\"} 99\n"
                              "vox_siprec_setup_seconds_bucket{le=\"+Inf\"} 100\n"
                              "vox_siprec_setup_seconds_sum 0.2\n"
                              "vox_siprec_setup_seconds_count 100\n";
    static const char *shuffled = "x_bucket{le=\"+Inf\"} 4\n"
                                  "x_bucket{le=\"2\"} 4\n"
                                  "x_bucket{le=\"1\"} 2\n";

    (void)st;
    /* rank 50 ends the first bucket: linear from 0 */
    assert_true(fabs(vox__sipp_prom_quantile(text, "vox_siprec_setup_seconds", 0.5) - 0.001) <
                1e-12);
    assert_true(fabs(vox__sipp_prom_quantile(text, "vox_siprec_setup_seconds", 0.25) - 0.0005) <
                1e-12);
    /* rank 70: half way through (1, 2] ms */
    assert_true(fabs(vox__sipp_prom_quantile(text, "vox_siprec_setup_seconds", 0.7) - 0.0015) <
                1e-12);
    /* rank 99 ends (2, 5] ms; rank 99.5 is in +Inf: the highest finite bound */
    assert_true(fabs(vox__sipp_prom_quantile(text, "vox_siprec_setup_seconds", 0.99) - 0.005) <
                1e-12);
    assert_true(vox__sipp_prom_quantile(text, "vox_siprec_setup_seconds", 0.995) == 0.005);
    /* the bounds in any order */
    assert_true(fabs(vox__sipp_prom_quantile(shuffled, "x", 0.75) - 1.5) < 1e-12);
    assert_true(isnan(vox__sipp_prom_quantile(text, "vox_siprec_other", 0.5)));
    assert_true(isnan(vox__sipp_prom_quantile("x_bucket{le=\"+Inf\"} 0\n", "x", 0.5)));
    assert_true(isnan(vox__sipp_prom_quantile(text, "vox_siprec_setup_seconds", 1.5)));
}

static void steady_window_is_the_plateau(void **st)
{
    /* ramp, plateau at 100 (one dip to 96 inside it), drain; -1 = /health did not answer */
    static const long ramp[] = {-1, 0, 20, 60, 96, 100, 100, 96, 100, 80, 30, 0};
    static const long short_of[] = {0, 10, 40, 41, 40, 20};
    static const long flat[] = {0, 5, 0};
    size_t first = 99, last = 99;

    (void)st;
    assert_true(vox__sipp_steady_window(ramp, 12, 100, &first, &last));
    assert_int_equal(first, 4);
    assert_int_equal(last, 8);
    /* the level was never reached: 95% of the peak (41) instead */
    assert_true(vox__sipp_steady_window(short_of, 6, 100, &first, &last));
    assert_int_equal(first, 2);
    assert_int_equal(last, 4);
    /* a single sample at the top is no window */
    assert_false(vox__sipp_steady_window(flat, 3, 100, &first, &last));
}

static void set_param(struct vox_workload *w, const char *name, const char *value)
{
    struct vox_axis *a = &w->params[w->nparams++];

    snprintf(a->name, sizeof(a->name), "%s", name);
    snprintf(a->values[0], sizeof(a->values[0]), "%s", value);
    a->nvalues = 1;
}

static void check_rejects_bad_params_and_a_missing_sipp(void **st)
{
    const struct vox_driver_ops *drv = vox_driver_find("sipp");
    struct vox_workload w;
    struct vox_diag d = {{0}};

    (void)st;
    assert_non_null(drv);
    memset(&w, 0, sizeof(w));
    snprintf(w.id, sizeof(w.id), "s");
    set_param(&w, "concurency", "10");
    assert_int_equal(drv->check(&w, &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "unknown param 'concurency'"));

    memset(&w, 0, sizeof(w));
    set_param(&w, "transport", "sctp");
    assert_int_equal(drv->check(&w, &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "udp or tcp"));

    memset(&w, 0, sizeof(w));
    set_param(&w, "rate", "0");
    assert_int_equal(drv->check(&w, &d), VOX_EINVAL);
    memset(&w, 0, sizeof(w));
    set_param(&w, "concurrency", "ten");
    assert_int_equal(drv->check(&w, &d), VOX_EINVAL);

    memset(&w, 0, sizeof(w));
    set_param(&w, "server_cpus", "0-");
    assert_int_equal(drv->check(&w, &d), VOX_EINVAL);
    assert_non_null(strstr(d.text, "a CPU list"));
    memset(&w, 0, sizeof(w));
    set_param(&w, "load_cpus", "one");
    assert_int_equal(drv->check(&w, &d), VOX_EINVAL);

    memset(&w, 0, sizeof(w));
    set_param(&w, "concurrency", "10");
    setenv("VOXBENCH_SIPP", "/nonexistent/sipp", 1);
    assert_int_equal(drv->check(&w, &d), VOX_ENOENT);
    assert_non_null(strstr(d.text, "sip-tester"));
    unsetenv("VOXBENCH_SIPP");

    /* any executable stands in for SIPp here, so that this part runs without it */
    memset(&w, 0, sizeof(w));
    set_param(&w, "scenario", "no_such_scenario.xml");
    setenv("VOXBENCH_SIPP", "/bin/true", 1);
    if (drv->check(&w, &d) != VOX_ENOENT || !strstr(d.text, "no_such_scenario.xml"))
        fail_msg("a missing scenario: %s", d.text);
    unsetenv("VOXBENCH_SIPP");
}

static const struct vox_metric *need(const struct vox_run *run, const char *name)
{
    const struct vox_metric *m = vox_run_find_metric(run, name);

    if (!m || m->n != 1)
        fail_msg("metric %s missing", name);
    return m;
}

/* One quick repetition, every process real: 20 calls of 2 s at 40/s with RTP. */
static void quick_run_against_the_real_server(void **st)
{
    const struct vox_driver_ops *drv = vox_driver_find("sipp");
    struct vox_driver_env env = {
        .bin_dir = VOX_BIN_DIR, .self = "", .quick = true, .timeout_s = 120};
    char work[] = "/tmp/vox-sipp-test.XXXXXX";
    struct vox_workload w;
    struct vox_results res;
    struct vox_run *run;
    struct vox_diag d = {{0}};
    int rc;

    (void)st;
    memset(&w, 0, sizeof(w));
    snprintf(w.id, sizeof(w.id), "siprec-quick");
    snprintf(w.kind, sizeof(w.kind), "sipp");
    set_param(&w, "concurrency", "20");
    set_param(&w, "rate", "40");
    set_param(&w, "cache_size", "1000");
    /* pinned (to the one CPU every machine has): the server, and the load generators */
    set_param(&w, "server_cpus", "0");
    set_param(&w, "load_cpus", "0");
    if (drv->check(&w, &d) == VOX_ENOENT && strstr(d.text, "sip-tester")) {
        print_message("skipped: %s\n", d.text);
        skip();
    }
    assert_int_equal(drv->check(&w, &d), 0);
    assert_non_null(mkdtemp(work));
    env.work_dir = work;
    vox_results_init(&res);
    run = vox_results_add_run(&res);
    assert_non_null(run);
    snprintf(run->workload, sizeof(run->workload), "%s", w.id);
    snprintf(run->kind, sizeof(run->kind), "sipp");
    vox_run_set_param(run, "alloc", "pool");
    vox_run_set_param(run, "exec", "steal");
    vox_run_set_param(run, "concurrency", "20");
    vox_run_set_param(run, "rate", "40");
    vox_run_set_param(run, "cache_size", "1000");
    vox_run_set_param(run, "server_cpus", "0");
    vox_run_set_param(run, "load_cpus", "0");
    rc = drv->run_once(&env, &w, run, 0, &d);
    vox_driver_rm_tree(work);
    if (rc != 0)
        fail_msg("run_once: %s (%s)", d.text, vox_strerror(rc));

    assert_true(vox_metric_median(need(run, "calls_failed")) == 0);
    assert_true(vox_metric_median(need(run, "calls_successful")) == 20);
    assert_true(vox_metric_median(need(run, "rss_peak_bytes")) > 1e6);
    assert_true(vox_metric_median(need(run, "rss_steady_bytes")) > 1e6);
    assert_true(vox_metric_median(need(run, "setup_ms_p99")) > 0);
    /* SIPp kept its µs clock through taskset and env: a coarse one reads 0 for most calls */
    assert_true(vox_metric_median(need(run, "setup_ms_p50")) > 0);
    /* the server's own INVITE-to-200, from its histogram */
    assert_true(vox_metric_median(need(run, "server_setup_ms_p50")) > 0);
    assert_true(vox_metric_median(need(run, "server_setup_ms_p50")) <=
                vox_metric_median(need(run, "server_setup_ms_p99")));
    assert_true(vox_metric_median(need(run, "setup_ms_p50")) <=
                vox_metric_median(need(run, "setup_ms_p99")));
    assert_true(vox_metric_median(need(run, "cache_lookups")) > 0);
    assert_true(vox_metric_median(need(run, "cache_hit_rate")) > 0);
    assert_true(vox_metric_median(need(run, "cache_bytes")) > 0);
    /* the server held the calls at once: 2 s calls, all 20 started within 0.5 s */
    assert_true(vox_metric_median(need(run, "concurrent_sessions")) == 20);
    assert_true(vox_metric_median(need(run, "cpu_percent")) >= 0);
    assert_true(vox_metric_median(need(run, "calls_per_s")) > 10);
    /* media reached the server: two legs of 50 packets/s for most of 2 s, 20 calls */
    assert_true(vox_metric_median(need(run, "rtp_packets")) > 20 * 2 * 50);
    assert_true(vox_metric_median(need(run, "rtp_packets_sent")) >=
                vox_metric_median(need(run, "rtp_packets")));
    assert_true(run->npercentiles > 2);
    vox_results_free(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stat_reads_the_last_row),
        cmocka_unit_test(stat_rejects_what_is_not_a_stat_file),
        cmocka_unit_test(rtt_reads_one_timer),
        cmocka_unit_test(rtt_rejects_garbage),
        cmocka_unit_test(prometheus_values_by_name_and_labels),
        cmocka_unit_test(prometheus_histogram_quantiles),
        cmocka_unit_test(steady_window_is_the_plateau),
        cmocka_unit_test(check_rejects_bad_params_and_a_missing_sipp),
        cmocka_unit_test(quick_run_against_the_real_server),
    };
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vox-sipp-unit.XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    vox_driver_rm_tree(tmpdir);
    return rc;
}
