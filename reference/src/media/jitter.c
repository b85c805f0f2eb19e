/* SPDX-License-Identifier: MIT */
/* Fixed-memory RTP jitter buffer: a ring of depth slots indexed by extended sequence number. */
#include <string.h>

#include "vox/jitter.h"

/* One position of the window. A slot holds position `ext` only while `used`; within the window
 * [next, next + depth) each position has its own slot (ext % depth). */
struct slot {
    uint64_t ext;
    uint32_t ts;
    uint32_t len;
    uint8_t pt;
    bool marker;
    bool used;
};

struct vox_jitter {
    struct vox_allocator *alloc;
    size_t block_bytes;
    uint32_t depth;
    uint32_t max_payload;
    struct slot *slots;
    uint8_t *data; /* depth x max_payload bytes, slot i at i * max_payload */

    bool started;
    uint64_t next; /* extended sequence number of the next position to play */
    uint64_t top;  /* highest extended sequence number stored since the last (re)start */
    uint32_t held;
    uint32_t skipped; /* positions slid out since the last item popped */

    /* RFC 3550 A.1 style restart detection: the sequence number that confirms a jump. */
    bool jump_pending;
    uint16_t jump_seq;

    /* The last item popped with a known timestamp, for lost-packet timestamps. */
    bool have_last;
    bool last_is_packet;
    uint64_t last_ext;
    uint32_t last_ts;
    uint8_t last_pt;
    bool have_step;
    int32_t step; /* timestamp increment between the last two consecutive packets */

    struct vox_jitter_stats st;
};

/* Extended numbers start at 2^32 + seq so that they never go below zero. */
#define EXT_ORIGIN (1ull << 32)

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

int vox_jitter_create(const struct vox_jitter_config *cfg, struct vox_jitter **out,
                      struct vox_diag *diag)
{
    struct vox_jitter_config c = {.depth_packets = 16, .max_payload_bytes = 1500};
    struct vox_jitter *jb;
    size_t head, slots_bytes, bytes;

    *out = NULL;
    if (cfg) {
        c.depth_packets = cfg->depth_packets ? cfg->depth_packets : c.depth_packets;
        c.max_payload_bytes = cfg->max_payload_bytes ? cfg->max_payload_bytes : c.max_payload_bytes;
        c.alloc = cfg->alloc;
    }
    if (c.depth_packets > VOX_JITTER_MAX_DEPTH || c.max_payload_bytes > 65535) {
        vox_diag_set(diag,
                     "jitter buffer: depth %u packets (1..%d) or max payload %u bytes (1..65535) "
                     "out of range",
                     c.depth_packets, VOX_JITTER_MAX_DEPTH, c.max_payload_bytes);
        return VOX_EINVAL;
    }
    if (!c.alloc)
        c.alloc = vox_allocator_default();
    head = align8(sizeof(*jb));
    slots_bytes = align8((size_t)c.depth_packets * sizeof(struct slot));
    bytes = head + slots_bytes + (size_t)c.depth_packets * c.max_payload_bytes;
    jb = c.alloc ? vox_alloc(c.alloc, bytes) : NULL;
    if (!jb) {
        vox_diag_set(diag, "jitter buffer: out of memory for %zu bytes", bytes);
        return VOX_ENOMEM;
    }
    memset(jb, 0, head + slots_bytes);
    jb->alloc = c.alloc;
    jb->block_bytes = bytes;
    jb->depth = c.depth_packets;
    jb->max_payload = c.max_payload_bytes;
    jb->slots = (struct slot *)((uint8_t *)jb + head);
    jb->data = (uint8_t *)jb + head + slots_bytes;
    *out = jb;
    return 0;
}

void vox_jitter_destroy(struct vox_jitter *jb)
{
    if (jb)
        vox_free(jb->alloc, jb, jb->block_bytes);
}

static struct slot *slot_of(struct vox_jitter *jb, uint64_t ext)
{
    return &jb->slots[ext % jb->depth];
}

/* True when position `ext` is held (only meaningful inside the window). */
static bool held_at(struct vox_jitter *jb, uint64_t ext)
{
    const struct slot *s = slot_of(jb, ext);

    return s->used && s->ext == ext;
}

/* Overflow: slides the window start to `new_next`, dropping what slides out. */
static void slide(struct vox_jitter *jb, uint64_t new_next)
{
    while (jb->next < new_next) {
        struct slot *s = slot_of(jb, jb->next);

        if (s->used && s->ext == jb->next) {
            s->used = false;
            jb->held--;
            jb->st.overflow_drops++;
        } else {
            jb->st.lost++;
        }
        jb->skipped++;
        jb->next++;
    }
}

/* A confirmed jump: the sender restarted; everything held belongs to the old numbering. */
static void resync(struct vox_jitter *jb, uint16_t seq)
{
    uint32_t i;

    for (i = 0; i < jb->depth; i++)
        jb->slots[i].used = false;
    jb->st.overflow_drops += jb->held;
    jb->held = 0;
    /* Keep extended numbers increasing: the next 2^16 block, at `seq`. */
    jb->next = ((jb->next >> 16) + 1) << 16 | seq;
    jb->top = jb->next;
    jb->skipped = 0;
    jb->jump_pending = false;
    jb->have_last = false;
    jb->have_step = false;
    jb->st.resyncs++;
}

int vox_jitter_push(struct vox_jitter *jb, const struct vox_rtp_view *pkt)
{
    struct slot *s;
    uint64_t ext;
    int32_t d;

    if (!pkt->payload && pkt->payload_len_bytes)
        return VOX_EINVAL;
    jb->st.received++;
    if (pkt->payload_len_bytes > jb->max_payload) {
        jb->st.oversize++;
        return VOX_ERANGE;
    }
    if (!jb->started) {
        jb->started = true;
        jb->next = EXT_ORIGIN | pkt->seq;
        jb->top = jb->next;
        ext = jb->next;
        goto store;
    }
    d = vox_rtp_seq_delta(pkt->seq, (uint16_t)jb->next);
    if (d >= VOX_RTP_MAX_DROPOUT || d <= -VOX_RTP_MAX_MISORDER) {
        /* RFC 3550 A.1: a far jump is believed only when the next packet follows it. */
        if (jb->jump_pending && pkt->seq == jb->jump_seq) {
            resync(jb, pkt->seq);
            ext = jb->next;
            goto store;
        }
        jb->jump_pending = true;
        jb->jump_seq = (uint16_t)(pkt->seq + 1);
        if (d < 0) {
            jb->st.late++;
            return VOX_JITTER_LATE;
        }
        jb->st.jumps++;
        return VOX_JITTER_JUMP;
    }
    if (d < 0) {
        jb->st.late++;
        return VOX_JITTER_LATE;
    }
    ext = jb->next + (uint64_t)d;
    if ((uint32_t)d >= jb->depth)
        slide(jb, ext - jb->depth + 1);
store:
    s = slot_of(jb, ext);
    if (s->used) {
        /* Inside the window a used slot can only hold this very position. */
        jb->st.duplicates++;
        return VOX_JITTER_DUPLICATE;
    }
    s->ext = ext;
    s->ts = pkt->timestamp;
    s->len = (uint32_t)pkt->payload_len_bytes;
    s->pt = pkt->payload_type;
    s->marker = pkt->marker;
    s->used = true;
    if (pkt->payload_len_bytes)
        memcpy(jb->data + (size_t)(ext % jb->depth) * jb->max_payload, pkt->payload,
               pkt->payload_len_bytes);
    jb->held++;
    if (jb->held > jb->st.peak_depth)
        jb->st.peak_depth = jb->held;
    if (ext < jb->top)
        jb->st.reordered++;
    else
        jb->top = ext;
    return VOX_JITTER_QUEUED;
}

/* Expected timestamp of the missing position `ext`; false when nothing tells. */
static bool estimate_ts(struct vox_jitter *jb, uint64_t ext, uint32_t *ts)
{
    uint64_t e, end = jb->next + jb->depth;
    const struct slot *after = NULL;

    for (e = ext + 1; e < end; e++) {
        if (held_at(jb, e)) {
            after = slot_of(jb, e);
            break;
        }
    }
    if (jb->have_last && after) {
        int64_t span = (int64_t)(after->ext - jb->last_ext);
        int64_t dts = vox_rtp_ts_delta(after->ts, jb->last_ts);

        *ts = jb->last_ts + (uint32_t)(dts * (int64_t)(ext - jb->last_ext) / span);
        return true;
    }
    if (jb->have_last && jb->have_step) {
        *ts = jb->last_ts + (uint32_t)((int64_t)jb->step * (int64_t)(ext - jb->last_ext));
        return true;
    }
    if (after && jb->have_step) {
        *ts = after->ts - (uint32_t)((int64_t)jb->step * (int64_t)(after->ext - ext));
        return true;
    }
    return false;
}

int vox_jitter_pop(struct vox_jitter *jb, enum vox_jitter_pop_mode mode,
                   struct vox_jitter_packet *out)
{
    struct slot *s;

    if (!jb->started)
        return VOX_JITTER_NONE;
    s = slot_of(jb, jb->next);
    if (s->used && s->ext == jb->next) {
        *out = (struct vox_jitter_packet){
            .seq = (uint16_t)jb->next,
            .timestamp = s->ts,
            .ts_known = true,
            .marker = s->marker,
            .payload_type = s->pt,
            .payload = jb->data + (size_t)(jb->next % jb->depth) * jb->max_payload,
            .payload_len_bytes = s->len,
            .skipped_before = jb->skipped,
        };
        s->used = false;
        jb->held--;
        jb->st.played++;
        if (jb->have_last && jb->last_is_packet && jb->last_ext + 1 == jb->next) {
            jb->step = vox_rtp_ts_delta(s->ts, jb->last_ts);
            jb->have_step = true;
        }
        jb->have_last = true;
        jb->last_is_packet = true;
        jb->last_ext = jb->next;
        jb->last_ts = s->ts;
        jb->last_pt = s->pt;
        jb->skipped = 0;
        jb->next++;
        return VOX_JITTER_PACKET;
    }
    switch (mode) {
    case VOX_JITTER_WAIT:
        /* Waiting is useless once the window's last position is held: the next packet
         * beyond it would slide the window past the missing one anyway. */
        if (!jb->held || jb->top + 1 < jb->next + jb->depth)
            return VOX_JITTER_NONE;
        break;
    case VOX_JITTER_DRAIN:
        if (!jb->held)
            return VOX_JITTER_NONE;
        break;
    case VOX_JITTER_DEADLINE:
    default:
        break;
    }
    *out = (struct vox_jitter_packet){
        .seq = (uint16_t)jb->next,
        .payload_type = jb->last_pt,
        .skipped_before = jb->skipped,
    };
    out->ts_known = estimate_ts(jb, jb->next, &out->timestamp);
    if (out->ts_known) {
        jb->have_last = true;
        jb->last_is_packet = false;
        jb->last_ext = jb->next;
        jb->last_ts = out->timestamp;
    }
    jb->st.lost++;
    jb->skipped = 0;
    jb->next++;
    return VOX_JITTER_LOST;
}

void vox_jitter_stats(const struct vox_jitter *jb, struct vox_jitter_stats *out)
{
    *out = jb->st;
    out->depth = jb->held;
}
