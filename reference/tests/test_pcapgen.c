/* SPDX-License-Identifier: MIT */
/*
 * vox-pcapgen tests: the binary (VOX_PCAPGEN_BIN) writes a capture and its truth file into a
 * temporary directory, and tools that share no code with it check that the capture holds what
 * the truth says:
 * - libpcap: frame count, link type, first/last timestamps, timestamps never decreasing; a small
 *   parser here for the IP fragments (count, bytes in each last fragment);
 * - tshark: `-z rtp,streams` (packets and lost per SSRC, addresses, codec; it finds the RTP from
 *   the SDP, so this also proves the SDP was read, over TCP and through fragments), the SIP
 *   messages per Call-ID (so tshark reassembled the fragments and the TCP streams), every RTP
 *   sequence number per SSRC (distinct, duplicates, late packets, first/last, wrap), checksum
 *   validation (with a corrupted copy as the negative control), TCP retransmission and
 *   out-of-order flags, VLAN ids.
 * The tshark checks are skipped (cmocka skip()) when tshark is not installed. Nothing asserts a
 * time measured here, only counts and timestamps written in the file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <pcap/pcap.h>

#define EPOCH_US 1767225600000000LL /* 2026-01-01T00:00:00Z, what the generator documents */
/* every tshark run: reassemble TCP segments that arrive out of order (off by default) */
#define TSHARK_OPTS "-o tcp.reassemble_out_of_order:TRUE"
#define MAX_ARGS    64
#define MAX_STREAMS 16

extern char **environ;

static char tmpdir[256];

/* Truths loaded by the running test, freed by gen_free() or, when a check skips or fails out
 * of the test (longjmp), by free_truths() after it. */
static json_t *live[8];

/* ---- running things ------------------------------------------------------------------------ */

static int exit_status(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void stderr_text(char *buf, size_t cap)
{
    char path[300];
    FILE *f;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/stderr.txt", tmpdir);
    f = fopen(path, "r");
    if (f) {
        n = fread(buf, 1, cap - 1, f);
        fclose(f);
    }
    buf[n] = 0;
}

/* Runs the generator with argv (argv[0] is set here, NULL-terminated), stderr to
 * tmpdir/stderr.txt; returns its exit status. */
static int run_gen(const char **argv)
{
    posix_spawn_file_actions_t fa;
    char errpath[300];
    int status = 0;
    pid_t pid;

    snprintf(errpath, sizeof(errpath), "%s/stderr.txt", tmpdir);
    argv[0] = VOX_PCAPGEN_BIN;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_int_equal(posix_spawn(&pid, VOX_PCAPGEN_BIN, &fa, NULL, (char **)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return exit_status(status);
}

/* One generated capture: its paths and its parsed truth. */
struct gen {
    char pcap[320];
    char truth_path[320];
    json_t *truth;
};

/* Generates tmpdir/NAME.pcap and NAME.json with the NULL-terminated extra `args`. */
static void generate(struct gen *g, const char *name, const char *const *args)
{
    const char *argv[MAX_ARGS] = {NULL, "--out", g->pcap, "--truth", g->truth_path};
    json_error_t err;
    size_t n = 5, i;
    int rc;

    snprintf(g->pcap, sizeof(g->pcap), "%s/%s.pcap", tmpdir, name);
    snprintf(g->truth_path, sizeof(g->truth_path), "%s/%s.json", tmpdir, name);
    for (i = 0; args[i]; i++) {
        assert_true(n + 1 < MAX_ARGS);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    rc = run_gen(argv);
    if (rc != 0) {
        char text[2048];

        stderr_text(text, sizeof(text));
        fail_msg("vox-pcapgen for %s exited %d: %s", name, rc, text);
    }
    g->truth = json_load_file(g->truth_path, 0, &err);
    if (!g->truth)
        fail_msg("%s: line %d: %s", g->truth_path, err.line, err.text);
    for (i = 0; i < sizeof(live) / sizeof(live[0]) && live[i]; i++)
        ;
    assert_true(i < sizeof(live) / sizeof(live[0]));
    live[i] = g->truth;
}

static void gen_free(struct gen *g)
{
    size_t i;

    for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
        if (live[i] == g->truth)
            live[i] = NULL;
    json_decref(g->truth);
    g->truth = NULL;
}

static int free_truths(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
        json_decref(live[i]);
        live[i] = NULL;
    }
    return 0;
}

static json_int_t jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        fail_msg("truth: '%s' is not an integer", key);
    return json_integer_value(v);
}

static const char *jstr(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        fail_msg("truth: '%s' is not a string", key);
    return json_string_value(v);
}

static json_int_t total(const struct gen *g, const char *key)
{
    return jint(json_object_get(g->truth, "totals"), key);
}

static bool have_tshark(void)
{
    static int ok = -1;

    if (ok < 0)
        ok = system("command -v tshark >/dev/null 2>&1") == 0;
    return ok;
}

static void need_tshark(void)
{
    if (!have_tshark()) {
        print_message("tshark is not installed: skipping the checks that need it\n");
        skip();
    }
}

/* Runs `tshark -r FILE TSHARK_OPTS opts` and returns its stdout (free it). */
static char *tshark(const char *file, const char *opts)
{
    char cmd[2048];
    size_t len = 0, cap = 65536;
    char *out = malloc(cap);
    FILE *p;
    int st;

    assert_non_null(out);
    snprintf(cmd, sizeof(cmd), "tshark -r '%s' " TSHARK_OPTS " %s 2>/dev/null", file, opts);
    p = popen(cmd, "r");
    assert_non_null(p);
    for (;;) {
        size_t n;

        if (cap - len < 4096) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        n = fread(out + len, 1, cap - len - 1, p);
        if (n == 0)
            break;
        len += n;
    }
    out[len] = 0;
    st = pclose(p);
    if (st == -1 || exit_status(st) != 0)
        fail_msg("'%s' failed (status %d)", cmd, st);
    return out;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Frames shown by tshark under display filter `filter`. */
static size_t tshark_count(const char *file, const char *filter)
{
    char opts[512];
    char *out;
    size_t n;

    snprintf(opts, sizeof(opts), "-Y '%s' -T fields -e frame.number", filter);
    out = tshark(file, opts);
    n = count_lines(out);
    free(out);
    return n;
}

/* ---- libpcap checks ---------------------------------------------------------------------- */

struct capinfo {
    uint64_t frames, fragments, last_fragments;
    int dlt;
    int64_t first_us, last_us;
    size_t tails[64]; /* data bytes of each last fragment (offset > 0, no more fragments) */
};

/* Reads the whole file; fails the test on a decreasing timestamp. Fragments are counted in
 * Ethernet captures only (VLAN-free). */
static void read_capture(const char *path, struct capinfo *ci)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    struct pcap_pkthdr *h;
    const u_char *d;

    if (!p)
        fail_msg("libpcap cannot open %s: %s", path, err);
    memset(ci, 0, sizeof(*ci));
    ci->dlt = pcap_datalink(p);
    while (pcap_next_ex(p, &h, &d) == 1) {
        int64_t t = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;

        assert_int_equal(h->caplen, h->len);
        if (ci->frames && t < ci->last_us)
            fail_msg("%s: frame %" PRIu64 " goes back in time", path, ci->frames + 1);
        if (!ci->frames)
            ci->first_us = t;
        ci->last_us = t;
        ci->frames++;
        if (ci->dlt != DLT_EN10MB || h->caplen < 14 + 20)
            continue;
        if (d[12] == 0x08 && d[13] == 0x00) {
            const u_char *ip = d + 14;
            unsigned frag = (unsigned)ip[6] << 8 | ip[7];

            if (frag & 0x3FFF)
                ci->fragments++;
            if (!(frag & 0x2000) && (frag & 0x1FFF) && ci->last_fragments < 64)
                ci->tails[ci->last_fragments++] =
                    ((size_t)ip[2] << 8 | ip[3]) - (size_t)(ip[0] & 15) * 4;
        } else if (d[12] == 0x86 && d[13] == 0xDD && h->caplen >= 14 + 48 && d[14 + 6] == 44) {
            const u_char *ip = d + 14, *fh = ip + 40;
            unsigned off = (unsigned)fh[2] << 8 | fh[3];

            ci->fragments++;
            if (!(off & 1) && (off >> 3) && ci->last_fragments < 64)
                ci->tails[ci->last_fragments++] = ((size_t)ip[4] << 8 | ip[5]) - 8;
        }
    }
    pcap_close(p);
}

/* The file's frames, link type and time span equal the truth's; returns what was read. */
static void check_capture(const struct gen *g, int dlt, struct capinfo *ci)
{
    read_capture(g->pcap, ci);
    assert_int_equal(ci->dlt, dlt);
    assert_int_equal(ci->frames, total(g, "packets"));
    assert_int_equal(ci->first_us, total(g, "first_us"));
    assert_int_equal(ci->last_us, total(g, "last_us"));
    assert_int_equal(ci->fragments, total(g, "fragments"));
}

/* ---- tshark checks ------------------------------------------------------------------------- */

static const json_t *find_stream(const struct gen *g, uint32_t ssrc)
{
    json_t *calls = json_object_get(g->truth, "calls"), *c, *s;
    size_t i, j;

    json_array_foreach(calls, i, c)
    {
        json_array_foreach(json_object_get(c, "rtp"), j, s)
        {
            if ((uint32_t)jint(s, "ssrc") == ssrc)
                return s;
        }
    }
    return NULL;
}

/* `tshark -z rtp,streams`: one line per truth stream with its addresses, codec, packets
 * (duplicates included) and lost (expected - packets: RFC 3550 A.3, negative with
 * duplicates), which the truth gives as lost_rfc3550. */
static void check_rtp_streams(const struct gen *g)
{
    char *out = tshark(g->pcap, "-q -z rtp,streams"), *line, *save = NULL;
    size_t lines = 0;

    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char src[64], dst[64], codec[32];
        unsigned sport, dport;
        unsigned long ssrc, pkts;
        long lost;
        double t0, t1;
        const json_t *s;

        if (!strstr(line, " 0x"))
            continue;
        if (sscanf(line, "%lf %lf %63s %u %63s %u %lx %31s %lu %ld", &t0, &t1, src, &sport, dst,
                   &dport, &ssrc, codec, &pkts, &lost) != 10)
            fail_msg("%s: cannot read tshark's line '%s'", g->pcap, line);
        s = find_stream(g, (uint32_t)ssrc);
        if (!s)
            fail_msg("%s: tshark found SSRC 0x%08lX, the truth does not have it", g->pcap, ssrc);
        assert_string_equal(src, jstr(s, "src_ip"));
        assert_string_equal(dst, jstr(s, "dst_ip"));
        assert_int_equal(sport, jint(s, "src_port"));
        assert_int_equal(dport, jint(s, "dst_port"));
        assert_string_equal(codec, jint(s, "payload_type") == 8 ? "g711A" : "g711U");
        assert_int_equal(pkts, jint(s, "packets"));
        assert_int_equal(lost, jint(s, "lost_rfc3550"));
        assert_int_equal(jint(s, "lost"), jint(s, "expected") - jint(s, "distinct"));
        lines++;
    }
    assert_int_equal(lines, total(g, "rtp_streams"));
    free(out);
}

/* The SIP messages tshark decodes, per Call-ID, equal the truth's list (method or status code,
 * count) for every call; no other Call-ID. One frame may hold several messages (TCP). */
static void check_sip(const struct gen *g)
{
    char *out = tshark(g->pcap, "-Y sip -T fields -e sip.Call-ID -e sip.Method -e sip.Status-Code");
    json_t *seen = json_object(), *calls = json_object_get(g->truth, "calls"), *c, *m;
    char *line, *save = NULL;
    size_t i, j, with_sip = 0;

    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *rest = line, *ids = strsep(&rest, "\t"), *id, *fields[2], *tok;
        json_t *per;
        int f;

        fields[0] = strsep(&rest, "\t");
        fields[1] = strsep(&rest, "\t");
        assert_non_null(fields[1]);
        id = strsep(&ids, ","); /* the Call-ID of each message of the frame: the same */
        per = json_object_get(seen, id);
        if (!per) {
            per = json_object();
            json_object_set_new(seen, id, per);
        }
        for (f = 0; f < 2; f++) {
            char *list = fields[f];

            while ((tok = strsep(&list, ",")) != NULL) {
                if (!*tok)
                    continue;
                json_object_set_new(
                    per, tok, json_integer(json_integer_value(json_object_get(per, tok)) + 1));
            }
        }
    }
    json_array_foreach(calls, i, c)
    {
        json_t *sip = json_object_get(c, "sip"), *per;

        if (!json_array_size(sip))
            continue;
        with_sip++;
        per = json_object_get(seen, jstr(c, "call_id"));
        if (!per)
            fail_msg("%s: tshark saw no SIP for Call-ID %s", g->pcap, jstr(c, "call_id"));
        json_array_foreach(sip, j, m)
        {
            json_int_t got = json_integer_value(json_object_get(per, jstr(m, "message")));

            if (got != jint(m, "count"))
                fail_msg("%s: Call-ID %s: tshark saw %" JSON_INTEGER_FORMAT " '%s', the truth "
                         "says %" JSON_INTEGER_FORMAT,
                         g->pcap, jstr(c, "call_id"), got, jstr(m, "message"), jint(m, "count"));
        }
        assert_int_equal(json_object_size(per), json_array_size(sip));
    }
    assert_int_equal(json_object_size(seen), with_sip);
    json_decref(seen);
    free(out);
}

#define BAD_CHECKSUM                                                                               \
    "-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE "             \
    "-Y 'ip.checksum.status==0 || udp.checksum.status==0 || tcp.checksum.status==0' "              \
    "-T fields -e frame.number"

static void check_checksums(const struct gen *g)
{
    char *out = tshark(g->pcap, BAD_CHECKSUM);

    if (*out)
        fail_msg("%s: tshark finds bad checksums in frames %s", g->pcap, out);
    free(out);
}

/* Every RTP packet of one SSRC as tshark decodes it, in file order. */
struct seqstat {
    uint32_t ssrc;
    uint64_t pkts, distinct, dups, late;
    int64_t first, min, max; /* extended sequence numbers, + 65536 */
    uint8_t *seen;           /* 3 x 65536 flags indexed by extended number */
};

static size_t rtp_seqs(const struct gen *g, struct seqstat *st, size_t cap)
{
    char *out = tshark(g->pcap, "-Y rtp -T fields -e rtp.ssrc -e rtp.seq"), *line, *save = NULL;
    size_t n = 0, i;

    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *end;
        uint32_t ssrc = (uint32_t)strtoul(line, &end, 0);
        uint16_t seq = (uint16_t)strtoul(end, NULL, 10);
        struct seqstat *s = NULL;
        int64_t ext;

        for (i = 0; i < n && !s; i++)
            if (st[i].ssrc == ssrc)
                s = &st[i];
        if (!s) {
            assert_true(n < cap);
            s = &st[n++];
            memset(s, 0, sizeof(*s));
            s->ssrc = ssrc;
            s->seen = calloc(3, 65536);
            assert_non_null(s->seen);
            s->first = s->min = s->max = 65536 + seq;
        }
        /* the extended number nearest to the highest so far (RFC 3550 A.1's idea) */
        ext = s->max + (int16_t)(uint16_t)(seq - (uint16_t)s->max);
        assert_true(ext >= 0 && ext < 3 * 65536);
        s->pkts++;
        if (s->seen[ext]) {
            s->dups++;
        } else {
            s->seen[ext] = 1;
            s->distinct++;
            if (ext < s->max)
                s->late++;
        }
        if (ext > s->max)
            s->max = ext;
        if (ext < s->min)
            s->min = ext;
    }
    free(out);
    return n;
}

/* Packets, distinct, duplicates, late (= reordered), first/last and expected of every stream
 * from tshark's sequence numbers equal the truth's. */
static void check_rtp_seqs(const struct gen *g)
{
    struct seqstat st[MAX_STREAMS];
    size_t n = rtp_seqs(g, st, MAX_STREAMS), i;

    assert_int_equal(n, total(g, "rtp_streams"));
    for (i = 0; i < n; i++) {
        const json_t *s = find_stream(g, st[i].ssrc);

        assert_non_null(s);
        assert_int_equal(st[i].pkts, jint(s, "packets"));
        assert_int_equal(st[i].distinct, jint(s, "distinct"));
        assert_int_equal(st[i].dups, jint(s, "duplicates"));
        assert_int_equal(st[i].late, jint(s, "reordered"));
        assert_int_equal(st[i].min % 65536, jint(s, "first_seq"));
        assert_int_equal(st[i].first % 65536, jint(s, "first_seq"));
        assert_int_equal(st[i].max % 65536, jint(s, "last_seq"));
        assert_int_equal(st[i].max - st[i].min + 1, jint(s, "expected"));
        assert_int_equal(st[i].max >= 2 * 65536, json_is_true(json_object_get(s, "seq_wraps")));
        free(st[i].seen);
    }
}

/* The checks every configuration gets. */
static void check_all(const struct gen *g, int dlt)
{
    struct capinfo ci;

    check_capture(g, dlt, &ci);
    need_tshark();
    check_rtp_streams(g);
    check_sip(g);
    check_checksums(g);
}

/* ---- the configurations ---------------------------------------------------------------- */

/* Three overlapping UDP calls: the whole check set; the truth's own figures (times, unique
 * identifiers, ports); and a copy with one corrupted byte that the checksum check must catch. */
static void test_udp(void **state)
{
    const char *args[] = {"--calls", "3", "--concurrency", "2", "--duration-ms", "600", NULL};
    struct gen g = {0};
    json_t *calls, *c, *c0;
    struct capinfo ci;
    size_t i;

    (void)state;
    generate(&g, "udp", args);
    check_capture(&g, DLT_EN10MB, &ci);
    assert_int_equal(ci.first_us, EPOCH_US);
    calls = json_object_get(g.truth, "calls");
    assert_int_equal(json_array_size(calls), 3);
    assert_int_equal(total(&g, "sip_messages"), 21);
    assert_int_equal(total(&g, "rtp_packets"), 3 * 2 * 30);
    assert_int_equal(total(&g, "packets"), 3 * (7 + 60));
    c0 = json_array_get(calls, 0);
    assert_string_equal(jstr(c0, "start"), "2026-01-01T00:00:00.000000Z");
    assert_string_equal(jstr(c0, "sip_transport"), "udp");
    json_array_foreach(calls, i, c)
    {
        const json_t *s0 = json_array_get(json_object_get(c, "rtp"), 0);
        const json_t *s1 = json_array_get(json_object_get(c, "rtp"), 1);

        assert_int_equal(jint(c, "packets"), 67);
        assert_true(jint(c, "end_us") > jint(c, "start_us"));
        assert_int_equal(jint(s0, "lost"), 0);
        assert_int_equal(jint(s0, "expected"), 30);
        assert_int_not_equal(jint(s0, "ssrc"), jint(s1, "ssrc"));
        if (i) {
            const json_t *p = json_array_get(calls, i - 1);
            const json_t *ps = json_array_get(json_object_get(p, "rtp"), 0);

            assert_string_not_equal(jstr(c, "call_id"), jstr(p, "call_id"));
            assert_int_not_equal(jint(s0, "src_port"), jint(ps, "src_port"));
            assert_int_not_equal(jint(s0, "ssrc"), jint(ps, "ssrc"));
            /* concurrency 2: the next call starts before this one ends */
            assert_true(jint(c, "start_us") < jint(p, "end_us"));
        }
    }
    need_tshark();
    check_rtp_streams(&g);
    check_sip(&g);
    check_checksums(&g);
    check_rtp_seqs(&g);

    /* negative control: flip the last byte of the first frame (the INVITE's UDP payload) */
    {
        char err[PCAP_ERRBUF_SIZE], bad[330], *out;
        pcap_t *in = pcap_open_offline(g.pcap, err);
        pcap_dumper_t *dump;
        struct pcap_pkthdr *h;
        const u_char *d;
        bool first = true;

        assert_non_null(in);
        snprintf(bad, sizeof(bad), "%s/bad.pcap", tmpdir);
        dump = pcap_dump_open(in, bad);
        assert_non_null(dump);
        while (pcap_next_ex(in, &h, &d) == 1) {
            u_char copy[65536];

            memcpy(copy, d, h->caplen);
            if (first)
                copy[h->caplen - 1] ^= 0x5A;
            first = false;
            pcap_dump((u_char *)dump, h, copy);
        }
        pcap_dump_close(dump);
        pcap_close(in);
        out = tshark(bad, BAD_CHECKSUM);
        assert_string_equal(out, "1\n");
        free(out);
    }
    gen_free(&g);
}

/* SIP over TCP: the big INVITE in 200-byte segments, 100 and 180 in one write, the first two
 * segments of every message swapped, every 3rd data segment sent twice; then 100 and 180 in one
 * segment (no --tcp-segment). */
static void test_tcp(void **state)
{
    const char *args[] = {"--sip-transport",
                          "tcp",
                          "--tcp-segment",
                          "200",
                          "--tcp-coalesce",
                          "--tcp-reorder",
                          "1",
                          "--tcp-retransmit",
                          "3",
                          "--big-invite",
                          "--calls",
                          "2",
                          "--concurrency",
                          "2",
                          "--duration-ms",
                          "400",
                          NULL};
    const char *args2[] = {"--sip-transport", "tcp", "--tcp-coalesce", "--calls", "2", NULL};
    const char *args3[] = {
        "--sip-transport", "tcp", "--tcp-segment", "50",  "--ring-ms", "0", "--calls", "3",
        "--concurrency",   "3",   "--duration-ms", "200", NULL};
    struct gen g = {0}, g2 = {0};
    json_t *c;
    size_t i;
    json_int_t reordered = 0;

    (void)state;
    generate(&g, "tcp", args);
    json_array_foreach(json_object_get(g.truth, "calls"), i, c)
    {
        json_t *t = json_object_get(c, "tcp");

        assert_string_equal(jstr(c, "sip_transport"), "tcp");
        assert_true(jint(t, "reordered") > 0);
        assert_true(jint(t, "retransmissions") > 0);
        reordered += jint(t, "reordered");
    }
    check_all(&g, DLT_EN10MB);
    check_rtp_seqs(&g);
    assert_int_equal(tshark_count(g.pcap, "tcp"), total(&g, "tcp_segments"));
    assert_int_equal(tshark_count(g.pcap, "tcp.flags.syn==1 && tcp.flags.ack==0"), 2);
    assert_int_equal(tshark_count(g.pcap, "tcp.flags.fin==1"), 4);
    /* each retransmission and each swapped pair gives one flagged segment */
    assert_int_equal(
        tshark_count(g.pcap, "tcp.analysis.retransmission || tcp.analysis.out_of_order"),
        total(&g, "tcp_retransmissions") + reordered);
    gen_free(&g);

    generate(&g2, "tcp2", args2);
    check_all(&g2, DLT_EN10MB);
    /* the frame holding both 100 and 180 */
    assert_int_equal(tshark_count(g2.pcap, "sip.Status-Code==100 && sip.Status-Code==180"), 2);
    gen_free(&g2);

    /* 50-byte segments and no ringing: a message's segments run past the next message's
     * schedule, which must wait (check_capture fails on a timestamp going back) */
    generate(&g2, "tcp3", args3);
    check_all(&g2, DLT_EN10MB);
    gen_free(&g2);
}

/* The SIPREC INVITE fragmented over IPv4 with a 3-byte last fragment, fragments written last
 * first; tshark must reassemble it (the SIP and the RTP it announces). */
static void test_fragment_tiny_tail(void **state)
{
    const char *args[] = {"--fragment",    "--frag-tail", "3", "--frag-reorder", "--calls", "2",
                          "--duration-ms", "400",         NULL};
    struct gen g = {0};
    struct capinfo ci;
    json_t *c;
    size_t i;

    (void)state;
    generate(&g, "frag", args);
    check_capture(&g, DLT_EN10MB, &ci);
    json_array_foreach(json_object_get(g.truth, "calls"), i, c)
        assert_true(jint(c, "fragments") >= 3); /* a 3.5 KB INVITE at MTU 1500, padded */
    assert_int_equal(total(&g, "fragmented_datagrams"), 2);
    assert_int_equal(ci.last_fragments, 2);
    for (i = 0; i < ci.last_fragments; i++)
        assert_int_equal(ci.tails[i], 3);
    need_tshark();
    assert_int_equal(tshark_count(g.pcap, "ip.flags.mf==1 || ip.frag_offset>0"), ci.fragments);
    /* written last first: the first frame is the last fragment */
    assert_int_equal(tshark_count(g.pcap, "frame.number==1 && ip.flags.mf==0 && ip.frag_offset>0"),
                     1);
    check_rtp_streams(&g);
    check_sip(&g);
    check_checksums(&g);
    gen_free(&g);
}

/* IPv6: a fragmented INVITE (Fragment header, 5-byte last fragment) and SIP over TCP. */
static void test_ipv6(void **state)
{
    const char *args[] = {"--ipv6", "--fragment", "--frag-tail", "5", "--duration-ms", "400", NULL};
    const char *args2[] = {"--ipv6", "--sip-transport", "tcp", "--tcp-segment",
                           "300",    "--duration-ms",   "400", NULL};
    struct gen g = {0};
    struct capinfo ci;
    json_t *c;

    (void)state;
    generate(&g, "ipv6", args);
    check_capture(&g, DLT_EN10MB, &ci);
    assert_true(ci.fragments >= 3);
    assert_int_equal(ci.last_fragments, 1);
    assert_int_equal(ci.tails[0], 5);
    c = json_array_get(json_object_get(g.truth, "calls"), 0);
    assert_string_equal(jstr(c, "caller"), "2001:db8:1::1");
    need_tshark();
    assert_int_equal(tshark_count(g.pcap, "ipv6.fraghdr"), ci.fragments);
    check_rtp_streams(&g);
    check_sip(&g);
    check_checksums(&g);
    gen_free(&g);

    generate(&g, "ipv6tcp", args2);
    check_all(&g, DLT_EN10MB);
    gen_free(&g);
}

/* Every link type: VLAN (every frame tagged 100), Linux cooked v1 (with PCMA) and v2, raw IP. */
static void test_link_types(void **state)
{
    static const struct {
        const char *link;
        int dlt;
    } links[] = {
        {"vlan", DLT_EN10MB}, {"sll", DLT_LINUX_SLL}, {"sll2", DLT_LINUX_SLL2}, {"raw", DLT_RAW}};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        const char *args[] = {"--link",
                              links[i].link,
                              "--calls",
                              "2",
                              "--duration-ms",
                              "400",
                              "--codec",
                              i == 1 ? "pcma" : "pcmu",
                              NULL};
        struct gen g = {0};

        generate(&g, links[i].link, args);
        check_all(&g, links[i].dlt);
        if (i == 0)
            assert_int_equal(tshark_count(g.pcap, "vlan.id==100"), total(&g, "packets"));
        gen_free(&g);
    }
}

/* pcapng written by the generator: the magic, then what libpcap and tshark read from it. */
static void test_pcapng(void **state)
{
    const char *args[] = {"--pcapng", "--calls", "2", "--duration-ms", "400", NULL};
    uint8_t magic[4] = {0};
    struct gen g = {0};
    FILE *f;

    (void)state;
    generate(&g, "ng", args);
    f = fopen(g.pcap, "rb");
    assert_non_null(f);
    assert_int_equal(fread(magic, 1, 4, f), 4);
    fclose(f);
    assert_memory_equal(magic, "\x0A\x0D\x0D\x0A", 4);
    assert_string_equal(jstr(json_object_get(g.truth, "config"), "format"), "pcapng");
    check_all(&g, DLT_EN10MB);
    gen_free(&g);
}

/* Seeded loss, jitter, duplicates, reordering and a sequence wrap: tshark's per-stream figures
 * and every sequence number agree with the truth, which must show each impairment. */
static void test_rtp_impairments(void **state)
{
    const char *args[] = {
        "--loss-rate", "10",    "--jitter-ms",   "30",   "--duplicate", "7", "--reorder",     "9",
        "--seq-start", "65500", "--duration-ms", "3000", "--calls",     "2", "--concurrency", "2",
        NULL};
    struct gen g = {0};
    json_t *c, *s;
    size_t i, j;

    (void)state;
    generate(&g, "impair", args);
    json_array_foreach(json_object_get(g.truth, "calls"), i, c)
    {
        json_array_foreach(json_object_get(c, "rtp"), j, s)
        {
            assert_int_equal(jint(s, "generated"), 150);
            assert_true(jint(s, "lost") > 0);
            assert_int_equal(jint(s, "lost"), jint(s, "dropped"));
            assert_true(jint(s, "duplicates") > 0);
            assert_true(jint(s, "reordered") > 0);
            assert_int_equal(jint(s, "first_seq"), 65500);
            assert_int_equal(jint(s, "last_seq"), (65500 + 149) % 65536);
            assert_true(json_is_true(json_object_get(s, "seq_wraps")));
        }
    }
    check_all(&g, DLT_EN10MB);
    check_rtp_seqs(&g);
    gen_free(&g);
}

/* --loss LIST drops exactly those packets of each stream. */
static void test_loss_list(void **state)
{
    const char *args[] = {"--loss", "11,3,10", "--duration-ms", "1000", NULL};
    struct seqstat st[MAX_STREAMS];
    struct gen g = {0};
    size_t n, i;
    int64_t k;

    (void)state;
    generate(&g, "losslist", args);
    assert_int_equal(total(&g, "rtp_lost"), 6);
    need_tshark();
    check_rtp_streams(&g);
    n = rtp_seqs(&g, st, MAX_STREAMS);
    assert_int_equal(n, 2);
    for (i = 0; i < n; i++) {
        for (k = 0; k < 50; k++)
            assert_int_equal(st[i].seen[st[i].first + k], !(k == 3 || k == 10 || k == 11));
        free(st[i].seen);
    }
    gen_free(&g);
}

/* Same options, same bytes; another seed, other bytes; --rtp-only and --sip-only. */
static void test_deterministic_and_subsets(void **state)
{
    const char *a[] = {"--calls",     "3", "--concurrency", "3",   "--jitter-ms", "5",
                       "--loss-rate", "5", "--duration-ms", "400", NULL};
    const char *b[] = {"--calls",     "3", "--concurrency", "3",   "--jitter-ms", "5",
                       "--loss-rate", "5", "--duration-ms", "400", "--seed",      "2",
                       NULL};
    const char *rtp_only[] = {"--rtp-only", "--duration-ms", "400", NULL};
    const char *sip_only[] = {"--sip-only", "--sip-transport", "tcp", NULL};
    struct gen g1 = {0}, g2 = {0}, g3 = {0};
    char cmd[1024];

    (void)state;
    generate(&g1, "det1", a);
    generate(&g2, "det2", a);
    generate(&g3, "det3", b);
    snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", g1.pcap, g2.pcap);
    assert_int_equal(system(cmd), 0);
    assert_true(json_equal(json_object_get(g1.truth, "calls"), json_object_get(g2.truth, "calls")));
    snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", g1.pcap, g3.pcap);
    assert_int_not_equal(system(cmd), 0);
    assert_false(
        json_equal(json_object_get(g1.truth, "calls"), json_object_get(g3.truth, "calls")));
    gen_free(&g1);
    gen_free(&g2);
    gen_free(&g3);

    generate(&g1, "rtponly", rtp_only);
    assert_int_equal(total(&g1, "sip_messages"), 0);
    assert_int_equal(total(&g1, "packets"), 40);
    generate(&g2, "siponly", sip_only);
    assert_int_equal(total(&g2, "rtp_packets"), 0);
    assert_int_equal(total(&g2, "sip_messages"), 7);
    if (have_tshark()) {
        assert_int_equal(tshark_count(g1.pcap, "sip || tcp"), 0);
        assert_int_equal(tshark_count(g2.pcap, "rtp || udp"), 0);
        check_sip(&g2);
    }
    gen_free(&g1);
    gen_free(&g2);
}

/* Bad command lines exit 2 naming the flag; an unwritable file exits 1 naming the file. */
static void test_bad_args(void **state)
{
    static const char *const cases[][8] = {
        {"--link", "token-ring", NULL}, {"--fragment", "--sip-transport", "tcp", NULL},
        {"--tcp-segment", "100", NULL}, {"--frag-tail", "9", NULL},
        {"--reorder", "1", NULL},       {"--loss", "3,x", NULL},
        {"--loss-rate", "101", NULL},   {"--calls", "0", NULL},
        {"--bogus", "1", NULL},         {"--seq-start", NULL},
    };
    static const char *const flag[] = {"--link",    "--fragment", "--tcp-segment", "--frag-tail",
                                       "--reorder", "--loss",     "--loss-rate",   "--calls",
                                       "--bogus",   "--seq-start"};
    char text[2048], out[300];
    size_t i, j;

    (void)state;
    snprintf(out, sizeof(out), "%s/x.pcap", tmpdir);
    for (i = 0; i < sizeof(flag) / sizeof(flag[0]); i++) {
        const char *argv[16] = {NULL, "--out", out};

        for (j = 0; cases[i][j]; j++)
            argv[3 + j] = cases[i][j];
        assert_int_equal(run_gen(argv), 2);
        stderr_text(text, sizeof(text));
        if (!strstr(text, flag[i]))
            fail_msg("case %zu: '%s' does not name %s", i, text, flag[i]);
    }
    {
        const char *argv[] = {NULL, "--calls", "1", NULL};

        assert_int_equal(run_gen(argv), 2);
        stderr_text(text, sizeof(text));
        assert_non_null(strstr(text, "--out"));
    }
    {
        const char *argv[] = {NULL, "--out", "/nonexistent-dir/x.pcap", NULL};

        assert_int_equal(run_gen(argv), 1);
        stderr_text(text, sizeof(text));
        assert_non_null(strstr(text, "/nonexistent-dir/x.pcap"));
    }
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vox-pcapgen-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_udp, free_truths),
        cmocka_unit_test_teardown(test_tcp, free_truths),
        cmocka_unit_test_teardown(test_fragment_tiny_tail, free_truths),
        cmocka_unit_test_teardown(test_ipv6, free_truths),
        cmocka_unit_test_teardown(test_link_types, free_truths),
        cmocka_unit_test_teardown(test_pcapng, free_truths),
        cmocka_unit_test_teardown(test_rtp_impairments, free_truths),
        cmocka_unit_test_teardown(test_loss_list, free_truths),
        cmocka_unit_test_teardown(test_deterministic_and_subsets, free_truths),
        cmocka_unit_test_teardown(test_bad_args, free_truths),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
