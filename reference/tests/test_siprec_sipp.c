/* SPDX-License-Identifier: MIT */
/* End to end: the vox-siprec binary on 127.0.0.1, SIPp running our SIPREC client scenarios
 * (scenarios/sipp/) over UDP and TCP, vox-rtpsend sending real speech on both streams; the
 * checks read what the server recorded: WAV per stream and the stereo mix (length, audio that
 * is not silence), the session JSON (end reason, labels, packets, participants from the
 * metadata), pause padding, CANCEL, OPTIONS, malformed requests and SIGTERM mid-call. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "vox/wav.h"

extern char **environ;

static const char *const BIN = VOX_BIN_DIR;
static const char *const SCEN = VOX_SCENARIOS_DIR "/sipp";

struct env {
    char dir[64];
    pid_t server, sender;
    unsigned sip_port, http_port, control_port;
};

/* Every process a test starts, so that a failed assertion (which jumps out of the test) does
 * not leave a server or a sender running into the next test: the teardown kills them. */
static pid_t g_children[16];
static size_t g_nchildren;

static int kill_children(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_nchildren; i++)
        if (g_children[i] > 0 && kill(g_children[i], SIGKILL) == 0)
            waitpid(g_children[i], NULL, 0);
    g_nchildren = 0;
    return 0;
}

static pid_t spawn(char *const argv[], const char *out_path)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;

    posix_spawn_file_actions_init(&fa);
    if (out_path) {
        posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    if (pid > 0 && g_nchildren < 16)
        g_children[g_nchildren++] = pid;
    return pid;
}

/* Waits for pid at most timeout_s; kills it after that. Returns its exit status (128+sig). */
static int wait_for(pid_t pid, unsigned timeout_s)
{
    int status = 0;

    for (unsigned i = 0; i < timeout_s * 20; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Starts vox-siprec (extra flags after the defaults) and the RTP sender daemon. */
static void env_start(struct env *e, ...)
{
    char *argv[64], ports[128], log[128];
    size_t n = 0;
    va_list ap;
    const char *a;

    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/vox-sipp-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(ports, sizeof(ports), "%s/ports", e->dir);
    snprintf(log, sizeof(log), "%s/server.log", e->dir);
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/vox-siprec", BIN);
    char recdir[128];
    snprintf(recdir, sizeof(recdir), "%s/rec", e->dir);
    const char *fixed[] = {bin,     "--sip-port",     "0",     "--http-port",
                           "0",     "--print-ports",  ports,   "--recording-dir",
                           recdir,  "--rtp-port-min", "33000", "--rtp-port-max",
                           "33999", "--log-level",    "2"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        argv[n++] = (char *)fixed[i];
    va_start(ap, e);
    while ((a = va_arg(ap, const char *)) != NULL && n < 62)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    e->server = spawn(argv, log);
    assert_true(e->server > 0);
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(ports, "r");
        if (f) {
            int got = fscanf(f, "sip=%u http=%u", &e->sip_port, &e->http_port);
            fclose(f);
            if (got == 2)
                break;
        }
        sleep_ms(25);
    }
    if (!e->sip_port)
        fail_msg("vox-siprec did not start; see %s", log);

    /* the sender picks its control port and says which on stdout */
    char sbin[512], slog[128];
    snprintf(sbin, sizeof(sbin), "%s/vox-rtpsend", BIN);
    snprintf(slog, sizeof(slog), "%s/rtpsend.log", e->dir);
    char *sargv[] = {sbin, "--control", "127.0.0.1:0", "--max-seconds", "300", NULL};
    e->sender = spawn(sargv, slog);
    assert_true(e->sender > 0);
    for (int i = 0; i < 200 && !e->control_port; i++) {
        FILE *f = fopen(slog, "r");
        if (f) {
            if (fscanf(f, "control 127.0.0.1:%u", &e->control_port) != 1)
                e->control_port = 0;
            fclose(f);
        }
        if (!e->control_port)
            sleep_ms(25);
    }
    if (!e->control_port)
        fail_msg("vox-rtpsend did not start; see %s", slog);
}

/* Stops both (SIGTERM) and checks the server exited 0. */
static void env_stop(struct env *e)
{
    kill(e->sender, SIGTERM);
    wait_for(e->sender, 10);
    kill(e->server, SIGTERM);
    assert_int_equal(wait_for(e->server, 30), 0);
}

static void env_clean(struct env *e)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", e->dir);
}

/* Runs one SIPp scenario to completion; returns SIPp's exit status. */
static int sipp(struct env *e, const char *scenario, const char *transport, unsigned calls, ...)
{
    char *argv[64], target[64], sf[512], m[16], rtpsend[640], log[128], trace[128];
    size_t n = 0;
    va_list ap;
    const char *a;

    snprintf(target, sizeof(target), "127.0.0.1:%u", e->sip_port);
    snprintf(sf, sizeof(sf), "%s/%s", SCEN, scenario);
    snprintf(m, sizeof(m), "%u", calls);
    snprintf(rtpsend, sizeof(rtpsend), "%s/vox-rtpsend --send 127.0.0.1:%u", BIN, e->control_port);
    snprintf(log, sizeof(log), "%s/sipp-%s-%s.log", e->dir, scenario, transport);
    snprintf(trace, sizeof(trace), "%s/sipp-errors.log", e->dir);
    const char *fixed[] = {"sipp",     target,     "-sf",      sf,           "-t",
                           transport,  "-m",       m,          "-l",         m,
                           "-nostdin", "-timeout", "60s",      "-trace_err", "-error_file",
                           trace,      "-i",       "127.0.0.1"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        argv[n++] = (char *)fixed[i];
    /* only the scenarios with media declare the variable (SIPp refuses unknown ones) */
    if (strstr(scenario, "uac") || strstr(scenario, "reinvite") || strstr(scenario, "load")) {
        argv[n++] = "-set";
        argv[n++] = "rtpsend_cmd";
        argv[n++] = rtpsend;
    }
    va_start(ap, calls);
    while ((a = va_arg(ap, const char *)) != NULL && n < 62)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = spawn(argv, log);
    assert_true(pid > 0);
    int rc = wait_for(pid, 90);
    if (rc != 0)
        fprintf(stderr, "sipp %s over %s exited %d; see %s and %s\n", scenario, transport, rc, log,
                trace);
    return rc;
}

/* The session JSON files in the recording dir, loaded; returns the count. */
static size_t load_sessions(const struct env *e, json_t **out, size_t cap)
{
    char dir[128], path[512];
    size_t n = 0;
    DIR *d;
    struct dirent *de;

    snprintf(dir, sizeof(dir), "%s/rec", e->dir);
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL && n < cap) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
            continue;
        json_error_t err;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        out[n] = json_load_file(path, 0, &err);
        if (!out[n])
            fail_msg("%s: %s", path, err.text);
        n++;
    }
    closedir(d);
    return n;
}

/* Reads a recorded WAV: its length in seconds and its RMS (of channel `ch`). */
static double wav_check(const struct env *e, const char *file, unsigned want_channels, double *rms)
{
    char path[512];
    struct vox_wav_info info;
    int16_t *s = NULL;
    struct vox_diag diag = {{0}};
    double sum = 0;

    snprintf(path, sizeof(path), "%s/rec/%s", e->dir, file);
    if (vox_wav_read(path, &info, &s, &diag) < 0)
        fail_msg("%s", diag.text);
    assert_int_equal(info.rate_hz, 8000);
    assert_int_equal(info.channels, want_channels);
    for (uint64_t i = 0; i < info.frames * info.channels; i++)
        sum += (double)s[i] * s[i];
    *rms = info.frames ? sqrt(sum / (double)(info.frames * info.channels)) : 0;
    free(s);
    return (double)info.frames / 8000.0;
}

/* Checks one recorded two-stream session of `seconds` of speech. */
static void check_session(const struct env *e, json_t *j, double seconds)
{
    const char *reason = json_string_value(json_object_get(j, "end_reason"));
    json_t *streams = json_object_get(j, "streams");
    char name[512];
    double rms;

    assert_string_equal(reason, "bye");
    assert_int_equal(json_array_size(streams), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *st = json_array_get(streams, i);
        const char *label = json_string_value(json_object_get(st, "label"));
        const char *file = json_string_value(json_object_get(st, "file"));
        json_int_t packets = json_integer_value(json_object_get(st, "packets"));
        assert_string_equal(label, i ? "2" : "1");
        /* 50 packets a second from the sender for the whole call, give or take the start */
        if (packets < (json_int_t)(seconds * 50 * 0.8) || packets > (json_int_t)(seconds * 50 + 60))
            fail_msg("stream %s: %lld packets for %.0f s", label, (long long)packets, seconds);
        assert_non_null(file);
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        snprintf(name, sizeof(name), "%s", base);
        double d = wav_check(e, name, 1, &rms);
        if (d < seconds - 0.5 || d > seconds + 3)
            fail_msg("%s: %.2f s recorded for a %.0f s call", name, d, seconds);
        if (rms < 100)
            fail_msg("%s: RMS %.1f: silence where speech was sent", name, rms);
    }
    const char *mix = json_string_value(json_object_get(j, "mix_file"));
    assert_non_null(mix);
    const char *base = strrchr(mix, '/') ? strrchr(mix, '/') + 1 : mix;
    double d = wav_check(e, base, 2, &rms);
    assert_true(d >= seconds - 0.5 && rms >= 100);
    /* the participants and the label -> participant mapping of the RFC 7865 metadata */
    json_t *meta = json_object_get(j, "metadata");
    assert_string_equal(json_string_value(json_object_get(meta, "dialect")), "rfc7865");
    json_t *parts = json_object_get(meta, "participants");
    assert_int_equal(json_array_size(parts), 2);
    json_t *ms = json_object_get(meta, "streams");
    assert_int_equal(json_array_size(ms), 2);
    for (size_t i = 0; i < 2; i++)
        assert_true(json_is_string(json_object_get(json_array_get(ms, i), "sender")));
}

static void call_over(const char *transport)
{
    struct env e;
    json_t *sessions[8];

    env_start(&e, NULL);
    assert_int_equal(sipp(&e, "siprec_uac.xml", transport, 2, "-set", "duration", "3", NULL), 0);
    env_stop(&e);
    size_t n = load_sessions(&e, sessions, 8);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        check_session(&e, sessions[i], 3);
        json_decref(sessions[i]);
    }
    env_clean(&e);
}

static void test_call_udp(void **state)
{
    (void)state;
    call_over("u1");
}

static void test_call_tcp(void **state)
{
    (void)state;
    call_over("t1");
}

static void test_pause_resume_padded(void **state)
{
    (void)state;
    struct env e;
    json_t *s[4];
    double rms;
    char name[512];

    env_start(&e, NULL);
    assert_int_equal(sipp(&e, "siprec_reinvite_pause.xml", "u1", 1, "-set", "phase", "2", NULL), 0);
    env_stop(&e);
    assert_int_equal(load_sessions(&e, s, 4), 1);
    json_t *streams = json_object_get(s[0], "streams");
    json_int_t duration_ms = json_integer_value(json_object_get(s[0], "duration_ms"));
    assert_true(duration_ms >= 6000); /* four phases of 2 s, give or take */
    json_t *st = json_array_get(streams, 0);
    /* the hold was recorded as silence: the file is as long as the call (pain point: short
     * recordings after a hold) and the paused time is counted */
    assert_true(json_integer_value(json_object_get(st, "paused_ms")) >= 1000);
    snprintf(name, sizeof(name), "%s",
             strrchr(json_string_value(json_object_get(st, "file")), '/')
                 ? strrchr(json_string_value(json_object_get(st, "file")), '/') + 1
                 : json_string_value(json_object_get(st, "file")));
    double d = wav_check(&e, name, 1, &rms);
    if (fabs(d * 1000 - (double)duration_ms) > 500)
        fail_msg("%.2f s recorded for a %lld ms call", d, (long long)duration_ms);
    json_decref(s[0]);
    env_clean(&e);
}

static void test_cancel_options_malformed(void **state)
{
    (void)state;
    struct env e;
    json_t *s[4];

    /* the server holds the INVITE a second, so the CANCEL finds it unanswered */
    env_start(&e, "--answer-delay-ms", "1000", NULL);
    assert_int_equal(sipp(&e, "siprec_cancel.xml", "u1", 1, NULL), 0);
    assert_int_equal(sipp(&e, "siprec_options.xml", "u1", 1, NULL), 0);
    assert_int_equal(sipp(&e, "siprec_options.xml", "t1", 1, NULL), 0);
    assert_int_equal(sipp(&e, "siprec_malformed.xml", "u1", 1, NULL), 0);
    /* after all that, still answering */
    assert_int_equal(sipp(&e, "siprec_options.xml", "u1", 1, NULL), 0);
    env_stop(&e);
    size_t n = load_sessions(&e, s, 4);
    assert_int_equal(n, 1);
    assert_string_equal(json_string_value(json_object_get(s[0], "end_reason")), "cancel");
    json_decref(s[0]);
    env_clean(&e);
}

static void test_sigterm_mid_call(void **state)
{
    (void)state;
    struct env e;
    json_t *s[4];
    char target[64], sf[512], rtpsend[640], log[128];
    double rms;

    env_start(&e, NULL);
    snprintf(target, sizeof(target), "127.0.0.1:%u", e.sip_port);
    snprintf(sf, sizeof(sf), "%s/siprec_uac.xml", SCEN);
    snprintf(rtpsend, sizeof(rtpsend), "%s/vox-rtpsend --send 127.0.0.1:%u", BIN, e.control_port);
    snprintf(log, sizeof(log), "%s/sipp-long.log", e.dir);
    char *argv[] = {"sipp",  target,     "-sf",  sf,         "-t",        "u1",   "-m",
                    "1",     "-nostdin", "-set", "duration", "30",        "-set", "rtpsend_cmd",
                    rtpsend, "-timeout", "40s",  "-i",       "127.0.0.1", NULL};
    pid_t pid = spawn(argv, log);
    assert_true(pid > 0);
    sleep_ms(3000); /* call set up, media flowing */
    kill(e.server, SIGTERM);
    assert_int_equal(wait_for(e.server, 30), 0);
    kill(pid, SIGTERM);
    wait_for(pid, 10);
    kill(e.sender, SIGTERM);
    wait_for(e.sender, 10);
    /* nothing recorded is lost: complete files, the reason says why */
    assert_int_equal(load_sessions(&e, s, 4), 1);
    assert_string_equal(json_string_value(json_object_get(s[0], "end_reason")), "shutdown");
    const char *mix = json_string_value(json_object_get(s[0], "mix_file"));
    double d = wav_check(&e, strrchr(mix, '/') ? strrchr(mix, '/') + 1 : mix, 2, &rms);
    assert_true(d >= 1.5 && rms > 100);
    json_decref(s[0]);
    env_clean(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_call_udp, kill_children),
        cmocka_unit_test_teardown(test_call_tcp, kill_children),
        cmocka_unit_test_teardown(test_pause_resume_padded, kill_children),
        cmocka_unit_test_teardown(test_cancel_options_malformed, kill_children),
        cmocka_unit_test_teardown(test_sigterm_mid_call, kill_children),
    };
    if (system("command -v sipp >/dev/null 2>&1") != 0) {
        fprintf(stderr, "sipp is not installed (Debian package sip-tester; scripts/install-deps "
                        "installs it)\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
