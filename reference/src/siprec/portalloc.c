/* SPDX-License-Identifier: MIT */
/* The RTP port allocator: even/odd pairs from a range, least recently freed first. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vox/core.h"
#include "vox/store.h"

/*
 * Pair k is RTP port base + 2k with RTCP base + 2k + 1. Free pairs wait in a ring `queue` in the
 * order they were freed (never-used pairs first, in port order); since the clock is monotonic,
 * the head is always the pair whose quarantine ends first, so get() only ever looks at the
 * head: when it is still quarantined, every other free pair is too, and the head is the best
 * choice left (counted). The ring holds at most every pair once, so it never overflows.
 */
enum pair_state { PAIR_FRESH = 0, PAIR_FREE, PAIR_IN_USE };

struct vox_portalloc {
    pthread_mutex_t lock;
    struct vox_allocator *alloc;
    uint64_t (*now_ns)(void);
    uint64_t quarantine_ns;
    unsigned base;
    unsigned npairs;
    uint8_t *state;     /* enum pair_state per pair */
    uint64_t *freed_ns; /* when the pair was last freed or rejected */
    uint32_t *queue;    /* ring of free pair numbers, npairs slots */
    unsigned q_head;
    unsigned q_count;
    struct vox_portalloc_stats st;
};

static size_t arrays_bytes(unsigned npairs)
{
    return (size_t)npairs * (sizeof(uint8_t) + sizeof(uint64_t) + sizeof(uint32_t));
}

int vox_portalloc_create(const struct vox_portalloc_config *cfg, struct vox_portalloc **out,
                         struct vox_diag *diag)
{
    unsigned min = cfg && cfg->min_port ? cfg->min_port : VOX_PORTALLOC_DEFAULT_MIN;
    unsigned max = cfg && cfg->max_port ? cfg->max_port : VOX_PORTALLOC_DEFAULT_MAX;
    struct vox_allocator *alloc = cfg && cfg->alloc ? cfg->alloc : vox_allocator_default();
    struct vox_portalloc *pa;
    unsigned npairs, i;
    char *mem;

    if (!out)
        return VOX_EINVAL;
    *out = NULL;
    if (max > 65535) {
        vox_diag_set(diag, "RTP ports %u-%u: the last port is over 65535 (RTP_PORT_MAX)", min, max);
        return VOX_EINVAL;
    }
    if (min > max) {
        vox_diag_set(diag,
                     "RTP ports %u-%u: the first port is above the last (RTP_PORT_MIN > "
                     "RTP_PORT_MAX)",
                     min, max);
        return VOX_EINVAL;
    }
    if (min < 1024) {
        vox_diag_set(diag,
                     "RTP ports %u-%u: ports below 1024 are privileged; start the range "
                     "at 1024 or above (RTP_PORT_MIN)",
                     min, max);
        return VOX_EINVAL;
    }
    if (min % 2) {
        vox_diag_set(diag,
                     "RTP ports %u-%u: the first port is odd; RTP uses even ports with "
                     "RTCP on the next odd one (RFC 3550 §11): start at %u",
                     min, max, min + 1);
        return VOX_EINVAL;
    }
    npairs = (max - min + 1) / 2;
    if (npairs == 0) {
        vox_diag_set(diag,
                     "RTP ports %u-%u: too small a range, it holds no RTP/RTCP pair "
                     "(an even port and the next one)",
                     min, max);
        return VOX_EINVAL;
    }

    pa = vox_alloc(alloc, sizeof(*pa));
    mem = vox_alloc(alloc, arrays_bytes(npairs));
    if (!pa || !mem || pthread_mutex_init(&pa->lock, NULL) != 0) {
        vox_free(alloc, mem, arrays_bytes(npairs));
        vox_free(alloc, pa, sizeof(*pa));
        vox_diag_set(diag, "RTP ports %u-%u: out of memory", min, max);
        return VOX_ENOMEM;
    }
    memset(mem, 0, arrays_bytes(npairs));
    /* One block: the 8-byte array first (vox_alloc aligns to 16), then 4- and 1-byte ones. */
    pa->freed_ns = (uint64_t *)(void *)mem;
    pa->queue = (uint32_t *)(void *)(mem + (size_t)npairs * sizeof(uint64_t));
    pa->state = (uint8_t *)(mem + (size_t)npairs * (sizeof(uint64_t) + sizeof(uint32_t)));
    pa->alloc = alloc;
    pa->now_ns = cfg && cfg->now_ns ? cfg->now_ns : vox_clock_ns;
    pa->quarantine_ns =
        cfg && cfg->quarantine_ns ? cfg->quarantine_ns : VOX_PORTALLOC_DEFAULT_QUARANTINE;
    pa->base = min;
    pa->npairs = npairs;
    for (i = 0; i < npairs; i++)
        pa->queue[i] = i;
    pa->q_head = 0;
    pa->q_count = npairs;
    memset(&pa->st, 0, sizeof(pa->st));
    pa->st.total_pairs = npairs;
    *out = pa;
    return 0;
}

void vox_portalloc_destroy(struct vox_portalloc *pa)
{
    if (!pa)
        return;
    pthread_mutex_destroy(&pa->lock);
    vox_free(pa->alloc, pa->freed_ns, arrays_bytes(pa->npairs));
    vox_free(pa->alloc, pa, sizeof(*pa));
}

int vox_portalloc_get(struct vox_portalloc *pa, unsigned *port)
{
    uint64_t now = pa->now_ns();
    uint32_t k;

    pthread_mutex_lock(&pa->lock);
    if (pa->q_count == 0) {
        pa->st.exhausted++;
        pthread_mutex_unlock(&pa->lock);
        return VOX_ELIMIT;
    }
    k = pa->queue[pa->q_head];
    pa->q_head = pa->q_head + 1 == pa->npairs ? 0 : pa->q_head + 1;
    pa->q_count--;
    if (pa->state[k] == PAIR_FREE && now - pa->freed_ns[k] < pa->quarantine_ns)
        pa->st.reused_within_quarantine++;
    pa->state[k] = PAIR_IN_USE;
    pa->st.allocations++;
    if (++pa->st.in_use > pa->st.peak_in_use)
        pa->st.peak_in_use = pa->st.in_use;
    pthread_mutex_unlock(&pa->lock);
    *port = pa->base + 2 * k;
    return 0;
}

/* Puts pair k at the end of the free queue. Called with the lock held. */
static void enqueue(struct vox_portalloc *pa, uint32_t k, uint64_t now)
{
    unsigned tail = pa->q_head + pa->q_count;

    if (tail >= pa->npairs)
        tail -= pa->npairs;
    pa->queue[tail] = k;
    pa->q_count++;
    pa->state[k] = PAIR_FREE;
    pa->freed_ns[k] = now;
    pa->st.in_use--;
}

/* The pair number of `port` when it is one this allocator hands out and is in use, else -1.
 * Called with the lock held. */
static long in_use_pair(const struct vox_portalloc *pa, unsigned port)
{
    unsigned k;

    if (port < pa->base || (port - pa->base) % 2)
        return -1;
    k = (port - pa->base) / 2;
    if (k >= pa->npairs || pa->state[k] != PAIR_IN_USE)
        return -1;
    return (long)k;
}

/* Queues a pair in use for reuse, counting it in frees or bind_rejects; a port not in use is a
 * bad free. */
static void give_back(struct vox_portalloc *pa, unsigned port, bool rejected)
{
    uint64_t now = pa->now_ns();
    long k;

    pthread_mutex_lock(&pa->lock);
    k = in_use_pair(pa, port);
    if (k < 0) {
        pa->st.bad_frees++;
    } else {
        enqueue(pa, (uint32_t)k, now);
        if (rejected)
            pa->st.bind_rejects++;
        else
            pa->st.frees++;
    }
    pthread_mutex_unlock(&pa->lock);
}

void vox_portalloc_put(struct vox_portalloc *pa, unsigned port)
{
    give_back(pa, port, false);
}

void vox_portalloc_reject(struct vox_portalloc *pa, unsigned port)
{
    give_back(pa, port, true);
}

void vox_portalloc_stats(const struct vox_portalloc *pa, struct vox_portalloc_stats *out)
{
    struct vox_portalloc *m = (struct vox_portalloc *)pa; /* the lock is not observable state */

    pthread_mutex_lock(&m->lock);
    *out = pa->st;
    pthread_mutex_unlock(&m->lock);
}
