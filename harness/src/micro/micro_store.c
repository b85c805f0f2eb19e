/* SPDX-License-Identifier: MIT */
/* Session container micro benchmarks: sharded map lookups, LRU hits, RTP port get+put. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "micro.h"
#include "vox/store.h"

/*
 * The shapes of the Go SRS guide's tables (shared/research/siprec.md §8), measured instead of
 * claimed:
 * - "store/shardmap_get/shards:N", 1 and 2 threads: lookups/s over 10000 sessions keyed by
 *   Call-ID-like strings (38 bytes), visited in a fixed pseudo-random order, each lookup taking
 *   and dropping a reference as the server does (an atomic refcount per session);
 * - "store/lru_get_hit/capacity:N/stripes:S", 1 and 2 threads: ns per hit in a cache filled
 *   to capacity (1000/5000/10000, CACHE_SIZE) behind one lock (S = 1, exact LRU) or 8; every
 *   lookup hits; counters: the cache's bytes and the share of the fill it kept (below 1 with
 *   stripes, whose slots are not shared);
 * - "store/portalloc_get_put": ns per RTP port pair taken and given back (default range,
 *   2 s quarantine, real clock).
 * Containers are built by thread 0 before the timed loop and freed by it after: Google
 * Benchmark starts and ends the loop of every thread together, so the other threads see them
 * built, and nothing outlives the run (no cleanup hook needed).
 */
#define SESSIONS 10000
#define BATCH    1000
#define ORDER    8192 /* lookup order: a permutation-like walk, power of two */

struct session {
    _Atomic long refs;
};

static char keys[SESSIONS][48];
static size_t key_lens[SESSIONS];
static uint32_t order[ORDER]; /* session indices, < SESSIONS */
static struct session sessions[SESSIONS];
static int keys_ready;

static void session_ref(void *v)
{
    atomic_fetch_add_explicit(&((struct session *)v)->refs, 1, memory_order_relaxed);
}

static void session_unref(void *v)
{
    atomic_fetch_sub_explicit(&((struct session *)v)->refs, 1, memory_order_release);
}

static void make_keys(void)
{
    uint32_t x = 2463534242u;
    size_t i;

    if (keys_ready)
        return;
    for (i = 0; i < SESSIONS; i++) {
        int n = snprintf(keys[i], sizeof(keys[i]), "%08x-5c1b-4e2a-%06zu@192.0.2.%zu",
                         (unsigned)(i * 2654435761u), i, 10 + i % 200);

        key_lens[i] = (size_t)n;
        atomic_init(&sessions[i].refs, 1);
    }
    for (i = 0; i < ORDER; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        order[i] = x % SESSIONS;
    }
    keys_ready = 1;
}

/* ---- sharded map ----------------------------------------------------------------------------- */

static struct vox_shardmap *bench_map;

static void bm_shardmap_get(struct vox_gb_state *st, void *v)
{
    unsigned pos = (unsigned)vox_gb_thread_index(st) * (ORDER / 2);
    struct vox_shardmap_stats s0 = {0}, s1;
    const int64_t batch = vox_gb_batch(st, BATCH);
    int64_t i;

    (void)v;
    if (vox_gb_thread_index(st) == 0) {
        struct vox_shardmap_config cfg = {.shards = (unsigned)vox_gb_range_arg(st, 0),
                                          .ref = session_ref};
        size_t k;

        if (vox_shardmap_create(&cfg, &bench_map, NULL) != 0) {
            bench_map = NULL;
        } else {
            for (k = 0; k < SESSIONS; k++)
                vox_shardmap_insert(bench_map, keys[k], key_lens[k], &sessions[k]);
            vox_shardmap_stats(bench_map, &s0);
        }
    }
    while (vox_gb_keep_running_batch(st, batch)) {
        if (!bench_map) {
            vox_gb_skip_with_error(st, "map creation failed");
            break;
        }
        for (i = 0; i < batch; i++) {
            uint32_t k = order[pos++ & (ORDER - 1)];
            void *s = vox_shardmap_get(bench_map, keys[k], key_lens[k]);

            vox_gb_do_not_optimize(s);
            session_unref(s);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st));
    if (vox_gb_thread_index(st) == 0 && bench_map) {
        vox_shardmap_stats(bench_map, &s1);
        vox_gb_counter(st, "read_contended", (double)(s1.read_contended - s0.read_contended),
                       VOX_GB_COUNTER_DEFAULT);
        vox_shardmap_destroy(bench_map);
        bench_map = NULL;
    }
}

/* ---- LRU ------------------------------------------------------------------------------------- */

static struct vox_lru *bench_lru;
static uint32_t cached[SESSIONS]; /* sessions the cache holds after the fill */
static uint32_t ncached;

static void bm_lru_get_hit(struct vox_gb_state *st, void *v)
{
    size_t cap = (size_t)vox_gb_range_arg(st, 0);
    unsigned pos = (unsigned)vox_gb_thread_index(st) * (ORDER / 2);
    struct vox_lru_stats s;
    const int64_t batch = vox_gb_batch(st, BATCH);
    int64_t i;

    (void)v;
    if (vox_gb_thread_index(st) == 0) {
        struct vox_lru_config cfg = {.capacity = cap,
                                     .ttl_ns = 0,
                                     .ref = session_ref,
                                     .unref = session_unref,
                                     .stripes = (unsigned)vox_gb_range_arg(st, 1)};
        size_t k;

        ncached = 0;
        if (vox_lru_create(&cfg, &bench_lru, NULL) != 0) {
            bench_lru = NULL;
        } else {
            for (k = 0; k < cap; k++)
                vox_lru_put(bench_lru, keys[k], key_lens[k], &sessions[k]);
            /* With stripes, a stripe that drew more than its share of the keys evicted some:
             * time the lookups of the sessions actually cached, and report how many are. */
            for (k = 0; k < cap; k++) {
                void *p = vox_lru_get(bench_lru, keys[k], key_lens[k]);

                if (p) {
                    cached[ncached++] = (uint32_t)k;
                    session_unref(p);
                }
            }
            if (!ncached) {
                vox_lru_destroy(bench_lru);
                bench_lru = NULL;
            }
        }
    }
    while (vox_gb_keep_running_batch(st, batch)) {
        if (!bench_lru) {
            vox_gb_skip_with_error(st, "cache creation failed");
            break;
        }
        for (i = 0; i < batch; i++) {
            uint32_t k = cached[order[pos++ & (ORDER - 1)] % ncached];
            void *p = vox_lru_get(bench_lru, keys[k], key_lens[k]);

            vox_gb_do_not_optimize(p);
            session_unref(p);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st));
    if (vox_gb_thread_index(st) == 0 && bench_lru) {
        vox_lru_stats(bench_lru, &s);
        vox_gb_counter(st, "cache_bytes", (double)s.bytes, VOX_GB_COUNTER_DEFAULT);
        vox_gb_counter(st, "cached_ratio", (double)ncached / (double)cap, VOX_GB_COUNTER_DEFAULT);
        vox_lru_destroy(bench_lru);
        bench_lru = NULL;
    }
}

/* ---- port allocator -------------------------------------------------------------------------- */

static void bm_portalloc_get_put(struct vox_gb_state *st, void *v)
{
    struct vox_portalloc *pa = NULL;
    unsigned port;
    const int64_t batch = vox_gb_batch(st, BATCH);
    int64_t i;

    (void)v;
    if (vox_portalloc_create(NULL, &pa, NULL) != 0) {
        vox_gb_skip_with_error(st, "port allocator creation failed");
        return;
    }
    while (vox_gb_keep_running_batch(st, batch)) {
        for (i = 0; i < batch; i++) {
            if (vox_portalloc_get(pa, &port) != 0) {
                vox_gb_skip_with_error(st, "no port");
                goto out;
            }
            vox_gb_do_not_optimize(&port);
            vox_portalloc_put(pa, port);
        }
    }
    vox_gb_set_items_processed(st, vox_gb_max_iterations(st));
out:
    vox_portalloc_destroy(pa);
}

/* ---- registration ---------------------------------------------------------------------------- */

int vox_micro_store_register(const struct vox_micro_opts *opts)
{
    static const int64_t shards[] = {1, 8, 64};
    static const int64_t capacities[] = {1000, 5000, 10000};
    static const int64_t stripes[] = {1, 8};
    static const char *const shard_names[] = {"shards"};
    static const char *const lru_names[] = {"capacity", "stripes"};
    struct vox_gb_bench *b;
    size_t i, j;

    make_keys();
    b = vox_gb_register("store/shardmap_get", bm_shardmap_get, NULL);
    vox_gb_arg_names(b, shard_names, 1);
    for (i = 0; i < sizeof(shards) / sizeof(shards[0]); i++)
        vox_gb_arg(b, shards[i]);
    /* Wall time: with two threads GB's CPU time sums both. */
    vox_micro_timing(vox_gb_use_real_time(vox_gb_threads(vox_gb_threads(b, 1), 2)), opts);

    b = vox_gb_register("store/lru_get_hit", bm_lru_get_hit, NULL);
    vox_gb_arg_names(b, lru_names, 2);
    for (i = 0; i < sizeof(stripes) / sizeof(stripes[0]); i++) {
        for (j = 0; j < sizeof(capacities) / sizeof(capacities[0]); j++) {
            int64_t args[2] = {capacities[j], stripes[i]};

            vox_gb_args(b, args, 2);
        }
    }
    vox_micro_timing(vox_gb_use_real_time(vox_gb_threads(vox_gb_threads(b, 1), 2)), opts);

    b = vox_gb_register("store/portalloc_get_put", bm_portalloc_get_put, NULL);
    vox_micro_timing(b, opts);
    return 0;
}
