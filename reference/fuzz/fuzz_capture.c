/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the whole capture engine (decoder, IP defragmenter, TCP reassembler, SIP
 * and SDP tracking, RTP statistics, JSON and CSV output) over a pcap built from the input.
 * Input: byte 0 picks the link type; then frames, each a 2-byte big-endian length and that
 * many bytes (a short last frame is taken as it is). Timestamps advance 1 ms a frame, with
 * byte 1 shaping the jitter, so that stream figures and timeouts are exercised too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"
#include "capture/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_capture: check failed at line %d: %s\n", __LINE__, #cond);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* the pcap header is in the writer's byte order */
}

/* Every frame through the decoder alone: views must stay inside the frame. */
static void decode_checks(int link, const uint8_t *frame, size_t len)
{
    struct vox_cap_pkt pk;
    enum vox_cap_verdict v = vox_cap_decode(link, frame, len, &pk);

    CHECK((unsigned)v < VOX_CAP_VERDICT__COUNT);
    if (v == VOX_CAP_OK) {
        CHECK(pk.payload >= frame && pk.payload + pk.payload_len_bytes <= frame + len);
        CHECK(pk.payload_len_bytes <= pk.wire_payload_bytes);
        CHECK(pk.tuple.family == 4 || pk.tuple.family == 6);
    }
    if (v == VOX_CAP_OK || v == VOX_CAP_FRAGMENT)
        CHECK(pk.l3 >= frame && pk.l3 + pk.l3_len_bytes <= frame + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int links[] = {VOX_CAP_LINK_EN10MB, VOX_CAP_LINK_RAW101, VOX_CAP_LINK_SLL,
                                VOX_CAP_LINK_SLL2,   VOX_CAP_LINK_NULL,   VOX_CAP_LINK_IPV6};
    struct vox_capture_config cfg;
    struct vox_capture *cap;
    struct vox_capture_stats st;
    uint8_t *file, *w;
    size_t pos = 2, nframes = 0;
    uint64_t ts_us = 1000000;
    FILE *f, *sink;
    int link, rc;

    if (size < 2)
        return 0;
    link = links[data[0] % (sizeof links / sizeof links[0])];
    /* 24-byte header, then 16 bytes per record (one per 2 input bytes at most) + the bytes. */
    file = malloc(24 + size * 17);
    CHECK(file);
    put32(file, 0xa1b2c3d4);
    file[4] = 2, file[5] = 0, file[6] = 4, file[7] = 0; /* version 2.4, little-endian host */
    memset(file + 8, 0, 8);
    put32(file + 16, 65535);
    put32(file + 20, (uint32_t)link);
    w = file + 24;
    while (pos + 2 <= size) {
        size_t len = (size_t)data[pos] << 8 | data[pos + 1];

        pos += 2;
        if (len > size - pos)
            len = size - pos;
        decode_checks(link, data + pos, len);
        ts_us += 1000 + (uint64_t)(data[1] & 0x0f) * (nframes % 7) * 100;
        if (data[1] & 0x08) /* finished calls: seconds pass, calls end and go */
            ts_us += 400000;
        put32(w, (uint32_t)(ts_us / 1000000));
        put32(w + 4, (uint32_t)(ts_us % 1000000));
        put32(w + 8, (uint32_t)len);
        put32(w + 12, (uint32_t)len);
        memcpy(w + 16, data + pos, len);
        w += 16 + len;
        pos += len;
        nframes++;
    }
    f = fmemopen(file, (size_t)(w - file), "rb");
    CHECK(f);
    vox_capture_config_init(&cfg);
    cfg.match = "scalar";
    cfg.rtp_heuristic = data[1] & 0x80;
    cfg.profile.batch_packets = 1 + (data[1] >> 4 & 7);
    /* the decoder and tracker on one thread: an executor per input would only slow the
     * fuzzer (test_capture's threads_agree holds the two-thread engine to the same output) */
    cfg.profile.threads = 1;
    if (data[1] & 0x08) {
        cfg.finished_path = "/dev/null";
        cfg.profile.stream_timeout_ms = 1000;
        cfg.linger_ms = 1000;
    }
    rc = cap_open_stream(&cfg, f, "fuzz", &cap, NULL);
    CHECK(rc == 0);
    rc = vox_capture_run(cap, 0, 0, NULL);
    CHECK(rc == 0);
    vox_capture_stats(cap, &st);
    CHECK(st.read == nframes);
    CHECK(st.rtp_packets <= st.read);
    sink = fopen("/dev/null", "w");
    CHECK(sink);
    CHECK(vox_capture_write_json(cap, sink) == 0);
    CHECK(vox_capture_write_calls_csv(cap, sink) == 0);
    CHECK(vox_capture_write_streams_csv(cap, sink) == 0);
    fclose(sink);
    CHECK(vox_capture_finish_all(cap, NULL) == 0);
    vox_capture_stats(cap, &st);
    CHECK(!cfg.finished_path || st.calls_finished == st.calls); /* each call written once */
    vox_capture_close(cap);
    free(file);
    return 0;
}
