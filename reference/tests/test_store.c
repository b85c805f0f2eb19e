/* SPDX-License-Identifier: MIT */
/* Session containers: the sharded map, the LRU+TTL cache and the RTP port allocator, with
 * refcounted values and threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vox/alloc.h"
#include "vox/core.h"
#include "vox/store.h"

/* ---- refcounted test values ------------------------------------------------------------------ */

/* A session stand-in: the test holds one reference while it wants the object, each container
 * holds its own; the object is freed when the count reaches 0. */
struct obj {
    _Atomic int refs;
    int id;
};

static _Atomic long objs_live;

static struct obj *obj_new(int id)
{
    struct obj *o = malloc(sizeof(*o));

    assert_non_null(o);
    atomic_init(&o->refs, 1);
    o->id = id;
    atomic_fetch_add(&objs_live, 1);
    return o;
}

static void obj_ref(void *v)
{
    struct obj *o = v;
    int before = atomic_fetch_add(&o->refs, 1);

    /* A lookup must never resurrect an object whose last reference is gone. */
    if (before <= 0)
        abort();
}

static void obj_unref(void *v)
{
    struct obj *o = v;
    int before = atomic_fetch_sub(&o->refs, 1);

    if (before <= 0)
        abort();
    if (before == 1) {
        free(o);
        atomic_fetch_sub(&objs_live, 1);
    }
}

static int refs_of(const struct obj *o)
{
    return atomic_load(&o->refs);
}

/* A fake monotonic clock the tests move by hand. */
static _Atomic uint64_t fake_ns;
static uint64_t fake_clock(void)
{
    return atomic_load(&fake_ns);
}

/* A clock that advances 5 ns every time it is read. */
static _Atomic uint64_t ticking_ns;
static uint64_t ticking_clock(void)
{
    return atomic_fetch_add(&ticking_ns, 5) + 5;
}

/* An allocator backend that fails once `budget` allocations have succeeded (-1: never). */
static _Atomic long budget = -1;

static void *budget_alloc(void *state, size_t size)
{
    long b = atomic_load(&budget);

    (void)state;
    while (b >= 0) {
        if (b == 0)
            return NULL;
        if (atomic_compare_exchange_weak(&budget, &b, b - 1))
            break;
    }
    return malloc(size);
}

static void budget_free(void *state, void *p, size_t size)
{
    (void)state;
    (void)size;
    free(p);
}

static const struct vox_allocator_ops budget_ops = {
    .name = "store-budget",
    .abi_version = VOX_ALLOCATOR_ABI_VERSION,
    .description = "test: fails after a budget of allocations",
    .alloc = budget_alloc,
    .free = budget_free,
};

static struct vox_allocator *budget_allocator(void)
{
    struct vox_allocator *a = NULL;
    int rc = vox_allocator_register(&budget_ops);

    assert_true(rc == 0 || rc == VOX_EEXIST);
    assert_int_equal(vox_allocator_create("store-budget", NULL, &a, NULL), 0);
    return a;
}

/* ---- hash ------------------------------------------------------------------------------------ */

static void hash_properties(void **st)
{
    unsigned char *buf;
    uint64_t h[65];
    size_t n, i, j;

    (void)st;
    assert_int_equal(vox_store_hash(1, "call-1@host", 11), vox_store_hash(1, "call-1@host", 11));
    assert_int_not_equal(vox_store_hash(1, "call-1@host", 11),
                         vox_store_hash(2, "call-1@host", 11));
    assert_int_not_equal(vox_store_hash(1, "call-1@host", 11),
                         vox_store_hash(1, "call-2@host", 11));
    assert_int_not_equal(vox_store_hash(1, "ab", 2), vox_store_hash(1, "ab\0", 3));
    (void)vox_store_hash(7, NULL, 0);
    /* Every length from 0 to 64, each key in a heap block of exactly its size (ASan reports a
     * read past the end), and no two prefixes of one string collide. */
    for (n = 0; n <= 64; n++) {
        buf = malloc(n ? n : 1);
        assert_non_null(buf);
        for (i = 0; i < n; i++)
            buf[i] = (unsigned char)('a' + i % 26);
        h[n] = vox_store_hash(42, buf, n);
        free(buf);
        for (j = 0; j < n; j++)
            assert_int_not_equal(h[j], h[n]);
    }
}

/* ---- sharded map ----------------------------------------------------------------------------- */

static struct vox_shardmap *map_make(unsigned shards)
{
    struct vox_shardmap_config cfg = {.shards = shards, .ref = obj_ref};
    struct vox_shardmap *m = NULL;
    struct vox_diag diag = {{0}};
    int rc = vox_shardmap_create(&cfg, &m, &diag);

    if (rc)
        fail_msg("vox_shardmap_create(%u): %s: %s", shards, vox_err_name(rc), diag.text);
    return m;
}

static void map_basic(void **st)
{
    struct vox_shardmap *m = map_make(0);
    struct obj *a = obj_new(1), *b = obj_new(2), *e = obj_new(3), *z = obj_new(4);
    struct vox_shardmap_stats s;
    struct obj *got;

    (void)st;
    assert_int_equal(vox_shardmap_insert(m, "call-a", 6, a), 0);
    assert_int_equal(vox_shardmap_insert(m, "call-a", 6, b), VOX_EEXIST);
    /* Keys are bytes with a length: a prefix, an embedded NUL and the empty key are distinct. */
    assert_int_equal(vox_shardmap_insert(m, "call-a\0x", 8, b), 0);
    assert_int_equal(vox_shardmap_insert(m, "", 0, e), 0);
    assert_int_equal(vox_shardmap_insert(m, "call", 4, z), 0);
    assert_int_equal(vox_shardmap_insert(m, "x", 1, NULL), VOX_EINVAL);
    assert_int_equal(vox_shardmap_insert(m, NULL, 3, a), VOX_EINVAL);
    assert_int_equal(vox_shardmap_count(m), 4);

    got = vox_shardmap_get(m, "call-a", 6);
    assert_ptr_equal(got, a);
    assert_int_equal(refs_of(a), 2); /* the caller's reference, from ref() */
    obj_unref(got);
    assert_ptr_equal(vox_shardmap_get(m, "call-a\0x", 8), b);
    obj_unref(b);
    assert_ptr_equal(vox_shardmap_get(m, NULL, 0), e);
    obj_unref(e);
    assert_null(vox_shardmap_get(m, "call-b", 6));
    assert_null(vox_shardmap_get(m, "call-", 5));

    /* remove hands the map's reference over: no ref, no unref. */
    got = vox_shardmap_remove(m, "call-a", 6);
    assert_ptr_equal(got, a);
    assert_int_equal(refs_of(a), 1);
    assert_null(vox_shardmap_remove(m, "call-a", 6));
    assert_null(vox_shardmap_get(m, "call-a", 6));
    assert_int_equal(vox_shardmap_count(m), 3);

    vox_shardmap_stats(m, &s);
    assert_int_equal(s.lookups, 6);
    assert_int_equal(s.hits, 3);
    assert_int_equal(s.inserts, 4);
    assert_int_equal(s.removes, 1);
    assert_int_equal(s.entries, 3);
    assert_int_equal(s.shards, VOX_SHARDMAP_DEFAULT_SHARDS);
    assert_true(s.max_shard_entries >= 1 && s.max_shard_entries <= 3);
    assert_int_equal(s.read_contended, 0);
    assert_int_equal(s.write_contended, 0);

    /* destroy does not touch values: they are still ours (the analyzer cannot see that each
     * get() took the reference its obj_unref dropped). */
    vox_shardmap_destroy(m);
    vox_shardmap_destroy(NULL);
    assert_int_equal(refs_of(b), 1); /* NOLINT(clang-analyzer-unix.Malloc) */
    obj_unref(a);
    obj_unref(b);
    obj_unref(e); /* NOLINT(clang-analyzer-unix.Malloc) */
    obj_unref(z);
    assert_int_equal(atomic_load(&objs_live), 0);
}

static void map_shards_validation(void **st)
{
    static const unsigned bad[] = {3, 6, 100, 65535, 131072, 1u << 31};
    static const unsigned good[] = {1, 2, 64, 1024, 65536};
    struct vox_shardmap_config cfg = {0};
    struct vox_shardmap *m = (void *)1;
    struct vox_shardmap_stats s;
    struct vox_diag diag;
    size_t i;

    (void)st;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&diag, 0, sizeof(diag));
        cfg.shards = bad[i];
        assert_int_equal(vox_shardmap_create(&cfg, &m, &diag), VOX_EINVAL);
        assert_null(m);
        assert_non_null(strstr(diag.text, "not a power of two"));
        assert_non_null(strstr(diag.text, "SHARD_COUNT"));
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        cfg.shards = good[i];
        assert_int_equal(vox_shardmap_create(&cfg, &m, NULL), 0);
        vox_shardmap_stats(m, &s);
        assert_int_equal(s.shards, good[i]);
        vox_shardmap_destroy(m);
    }
    assert_int_equal(vox_shardmap_create(NULL, &m, NULL), 0); /* defaults */
    vox_shardmap_stats(m, &s);
    assert_int_equal(s.shards, 64);
    vox_shardmap_destroy(m);
    assert_int_equal(vox_shardmap_create(NULL, NULL, NULL), VOX_EINVAL);
}

static void map_collect_and_growth(void **st)
{
    enum { N = 5000 };
    struct vox_shardmap *m = map_make(8), *one = map_make(1);
    struct obj **objs = calloc(N, sizeof(*objs));
    void **got = calloc(N + 10, sizeof(*got));
    unsigned char *seen = calloc(N, 1);
    struct vox_shardmap_stats s;
    char key[64];
    size_t i, n;

    (void)st;
    assert_non_null(objs);
    assert_non_null(got);
    assert_non_null(seen);
    for (i = 0; i < N; i++) {
        int len = snprintf(key, sizeof(key), "%zu-a84b4c76e66710@192.0.2.%zu", i * 7919, i % 250);

        objs[i] = obj_new((int)i);
        assert_int_equal(vox_shardmap_insert(m, key, (size_t)len, objs[i]), 0);
        obj_ref(objs[i]);
        assert_int_equal(vox_shardmap_insert(one, key, (size_t)len, objs[i]), 0);
    }
    /* One shard holds all N (its table grew from 8 buckets); every key still resolves. */
    vox_shardmap_stats(one, &s);
    assert_int_equal(s.entries, N);
    assert_int_equal(s.max_shard_entries, N);
    vox_shardmap_stats(m, &s);
    assert_int_equal(s.entries, N);
    assert_true(s.max_shard_entries < N / 8 * 2); /* the hash spreads keys over the shards */
    for (i = 0; i < N; i++) {
        int len = snprintf(key, sizeof(key), "%zu-a84b4c76e66710@192.0.2.%zu", i * 7919, i % 250);
        struct obj *o = vox_shardmap_get(one, key, (size_t)len);

        assert_ptr_equal(o, objs[i]);
        obj_unref(o);
    }

    /* A snapshot of every value, each with a reference for the caller. */
    n = vox_shardmap_collect(m, got, N + 10);
    assert_int_equal(n, N);
    for (i = 0; i < n; i++) {
        const struct obj *o = got[i];

        assert_false(seen[o->id]);
        seen[o->id] = 1;
        assert_int_equal(refs_of(o), 3);
        obj_unref(got[i]);
    }
    /* A short one stops at cap. */
    n = vox_shardmap_collect(m, got, 10);
    assert_int_equal(n, 10);
    for (i = 0; i < n; i++)
        obj_unref(got[i]);
    assert_int_equal(vox_shardmap_collect(m, got, 0), 0);

    for (i = 0; i < N; i++) {
        int len = snprintf(key, sizeof(key), "%zu-a84b4c76e66710@192.0.2.%zu", i * 7919, i % 250);

        obj_unref(vox_shardmap_remove(m, key, (size_t)len));
        obj_unref(vox_shardmap_remove(one, key, (size_t)len));
    }
    assert_int_equal(vox_shardmap_count(m), 0);
    assert_int_equal(vox_shardmap_count(one), 0);
    assert_int_equal(atomic_load(&objs_live), 0);
    vox_shardmap_destroy(m);
    vox_shardmap_destroy(one);
    free(objs);
    free(got);
    free(seen);
}

/*
 * Four threads, each inserting, looking up and removing keys of its own plus a few keys all of
 * them fight over. Every thread counts its successful inserts and removes; at the end the map's
 * counters match those sums, and every object was freed exactly once (refcounts balanced: an
 * unbalanced ref leaks, an unbalanced unref aborts or trips ASan).
 */
enum { MT_THREADS = 4, MT_ITERS = 4000, MT_OWN = 32, MT_SHARED = 4 };

struct map_worker {
    struct vox_shardmap *m;
    unsigned seed;
    long inserts, removes, hits;
};

static void *map_worker_run(void *arg)
{
    struct map_worker *w = arg;
    unsigned s = w->seed;
    char key[32];
    int i;

    for (i = 0; i < MT_ITERS; i++) {
        unsigned r, k;
        int shared, len;
        struct obj *o;

        s = s * 1103515245u + 12345u;
        r = s >> 16;
        shared = (r & 3) == 0;
        k = (r >> 2) % (shared ? MT_SHARED : MT_OWN);
        len = shared ? snprintf(key, sizeof(key), "shared-%u", k)
                     : snprintf(key, sizeof(key), "t%u-%u", w->seed, k);
        switch ((r >> 8) % 3) {
        case 0:
            o = obj_new((int)k);
            if (vox_shardmap_insert(w->m, key, (size_t)len, o) == 0)
                w->inserts++;
            else
                obj_unref(o); /* EEXIST: ours to drop */
            break;
        case 1:
            o = vox_shardmap_get(w->m, key, (size_t)len);
            if (o) {
                if (o->id != (int)k)
                    abort();
                w->hits++;
                obj_unref(o);
            }
            break;
        default:
            o = vox_shardmap_remove(w->m, key, (size_t)len);
            if (o) {
                w->removes++;
                obj_unref(o);
            }
            break;
        }
    }
    return NULL;
}

static void map_concurrent(void **st)
{
    static const unsigned shard_counts[] = {1, 4};
    size_t c;

    (void)st;
    for (c = 0; c < 2; c++) {
        struct vox_shardmap *m = map_make(shard_counts[c]);
        struct map_worker w[MT_THREADS];
        pthread_t th[MT_THREADS];
        struct vox_shardmap_stats s;
        long inserts = 0, removes = 0, hits = 0;
        void *left[MT_THREADS * MT_OWN + MT_SHARED];
        size_t i, n;

        for (i = 0; i < MT_THREADS; i++) {
            w[i] = (struct map_worker){.m = m, .seed = 11u + (unsigned)i * 977u};
            assert_int_equal(pthread_create(&th[i], NULL, map_worker_run, &w[i]), 0);
        }
        for (i = 0; i < MT_THREADS; i++) {
            assert_int_equal(pthread_join(th[i], NULL), 0);
            inserts += w[i].inserts;
            removes += w[i].removes;
            hits += w[i].hits;
        }
        vox_shardmap_stats(m, &s);
        assert_int_equal(s.inserts, (uint64_t)inserts);
        assert_int_equal(s.removes, (uint64_t)removes);
        assert_int_equal(s.hits, (uint64_t)hits);
        assert_int_equal(s.entries, (size_t)(inserts - removes));
        assert_int_equal(vox_shardmap_count(m), (size_t)(inserts - removes));
        assert_true(s.lookups >= s.hits);

        /* Drain: collect (one ref each) and remove (the map's ref) every value left. */
        n = vox_shardmap_collect(m, left, sizeof(left) / sizeof(left[0]));
        assert_int_equal(n, (size_t)(inserts - removes));
        for (i = 0; i < n; i++) {
            const struct obj *o = left[i];
            char key[32];
            int len = -1;
            size_t t;

            /* Find the object's key: its own thread's or a shared one. */
            for (t = 0; t < MT_THREADS && len < 0; t++) {
                int l = snprintf(key, sizeof(key), "t%u-%d", w[t].seed, o->id);
                void *v = vox_shardmap_get(m, key, (size_t)l);

                if (v == o)
                    len = l;
                if (v)
                    obj_unref(v);
            }
            if (len < 0)
                len = snprintf(key, sizeof(key), "shared-%d", o->id);
            assert_ptr_equal(vox_shardmap_remove(m, key, (size_t)len), o);
            obj_unref(left[i]); /* the map's reference */
            obj_unref(left[i]); /* collect's */
        }
        assert_int_equal(vox_shardmap_count(m), 0);
        assert_int_equal(atomic_load(&objs_live), 0);
        vox_shardmap_destroy(m);
    }
}

/* ---- LRU cache ------------------------------------------------------------------------------- */

static struct vox_lru *lru_make_striped(size_t capacity, uint64_t ttl_ns, uint64_t (*clock)(void),
                                        unsigned stripes)
{
    struct vox_lru_config cfg = {.capacity = capacity,
                                 .ttl_ns = ttl_ns,
                                 .ref = obj_ref,
                                 .unref = obj_unref,
                                 .now_ns = clock,
                                 .stripes = stripes};
    struct vox_lru *c = NULL;
    struct vox_diag diag = {{0}};
    int rc = vox_lru_create(&cfg, &c, &diag);

    if (rc)
        fail_msg("vox_lru_create(%zu): %s: %s", capacity, vox_err_name(rc), diag.text);
    return c;
}

static struct vox_lru *lru_make(size_t capacity, uint64_t ttl_ns, uint64_t (*clock)(void))
{
    return lru_make_striped(capacity, ttl_ns, clock, 0);
}

static void lru_eviction_order(void **st)
{
    struct vox_lru *c = lru_make(3, 0, NULL);
    struct obj *o[5];
    struct vox_lru_stats s;
    const char *keys[5] = {"a", "b", "c", "d", "e"};
    int i;

    (void)st;
    for (i = 0; i < 5; i++)
        o[i] = obj_new(i);
    for (i = 0; i < 3; i++)
        assert_int_equal(vox_lru_put(c, keys[i], 1, o[i]), 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(refs_of(o[i]), 2); /* ours + the cache's */
    /* Touch a: b becomes the least recently used, and d evicts it. */
    assert_ptr_equal(vox_lru_get(c, "a", 1), o[0]);
    obj_unref(o[0]);
    assert_int_equal(vox_lru_put(c, "d", 1, o[3]), 0);
    assert_int_equal(refs_of(o[1]), 1); /* evicted: the cache's reference dropped */
    assert_null(vox_lru_get(c, "b", 1));
    /* Order now (most recent first): d a c. e evicts c. */
    assert_int_equal(vox_lru_put(c, "e", 1, o[4]), 0);
    assert_null(vox_lru_get(c, "c", 1));
    assert_int_equal(refs_of(o[2]), 1);
    for (i = 0; i < 5; i++) {
        void *v = vox_lru_get(c, keys[i], 1);

        if (i == 1 || i == 2) {
            assert_null(v);
        } else {
            assert_ptr_equal(v, o[i]);
            obj_unref(v);
        }
    }
    vox_lru_stats(c, &s);
    assert_int_equal(s.evictions, 2);
    assert_int_equal(s.entries, 3);
    assert_int_equal(s.capacity, 3);
    assert_int_equal(s.puts, 5);
    assert_int_equal(s.lookups, 8);
    assert_int_equal(s.hits, 4);
    assert_int_equal(s.misses, 4);
    vox_lru_destroy(c); /* drops the cache's references to a, d, e */
    for (i = 0; i < 5; i++) {
        assert_int_equal(refs_of(o[i]), 1);
        obj_unref(o[i]);
    }
    assert_int_equal(atomic_load(&objs_live), 0);
}

static void lru_ttl_with_fake_clock(void **st)
{
    struct vox_lru *c = lru_make(8, 100, fake_clock);
    struct obj *a = obj_new(1), *b = obj_new(2);
    struct vox_lru_stats s;
    void *v;

    (void)st;
    atomic_store(&fake_ns, 1000);
    assert_int_equal(vox_lru_put(c, "a", 1, a), 0);
    atomic_store(&fake_ns, 1050);
    assert_int_equal(vox_lru_put(c, "b", 1, b), 0);
    atomic_store(&fake_ns, 1099);
    v = vox_lru_get(c, "a", 1); /* 99 ns old: fresh; a get does not extend the TTL */
    assert_ptr_equal(v, a);
    obj_unref(v);
    atomic_store(&fake_ns, 1100);
    assert_null(vox_lru_get(c, "a", 1)); /* 100 ns old: expired, removed, unref'd */
    assert_int_equal(refs_of(a), 1);
    assert_null(vox_lru_get(c, "a", 1)); /* now a plain miss */
    v = vox_lru_get(c, "b", 1);
    assert_ptr_equal(v, b);
    obj_unref(v);
    /* A put over an entry starts its TTL again. */
    atomic_store(&fake_ns, 1140);
    assert_int_equal(vox_lru_put(c, "b", 1, b), 0);
    atomic_store(&fake_ns, 1200);
    v = vox_lru_get(c, "b", 1);
    assert_ptr_equal(v, b);
    obj_unref(v);
    atomic_store(&fake_ns, 1240);
    assert_null(vox_lru_get(c, "b", 1));
    vox_lru_stats(c, &s);
    assert_int_equal(s.expired, 2);
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.lookups, 6);
    assert_int_equal(s.hits, 3);
    assert_int_equal(s.misses, 3);
    assert_int_equal(s.hits + s.misses, s.lookups);
    assert_int_equal(refs_of(b), 1);
    vox_lru_destroy(c);
    obj_unref(a);
    obj_unref(b);

    /* TTL 0: nothing expires, however old. */
    c = lru_make(8, 0, fake_clock);
    a = obj_new(3);
    atomic_store(&fake_ns, 0);
    assert_int_equal(vox_lru_put(c, "a", 1, a), 0);
    atomic_store(&fake_ns, UINT64_MAX / 2);
    v = vox_lru_get(c, "a", 1);
    assert_ptr_equal(v, a);
    obj_unref(v);
    vox_lru_destroy(c);
    obj_unref(a);
    assert_int_equal(atomic_load(&objs_live), 0);
}

static void lru_replace_and_remove(void **st)
{
    struct vox_lru *c = lru_make(4, 0, NULL);
    struct obj *v1 = obj_new(1), *v2 = obj_new(2);
    struct vox_lru_stats s;
    void *v;

    (void)st;
    assert_int_equal(vox_lru_put(c, "k", 1, v1), 0);
    assert_int_equal(vox_lru_put(c, "k", 1, v2), 0);
    assert_int_equal(refs_of(v1), 1); /* replaced: unref'd */
    assert_int_equal(refs_of(v2), 2);
    v = vox_lru_get(c, "k", 1);
    assert_ptr_equal(v, v2);
    obj_unref(v);
    /* Putting the value already cached keeps exactly one cache reference. */
    assert_int_equal(vox_lru_put(c, "k", 1, v2), 0);
    assert_int_equal(refs_of(v2), 2);
    vox_lru_stats(c, &s);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.puts, 3);
    assert_int_equal(s.evictions, 0);
    vox_lru_remove(c, "k", 1);
    assert_int_equal(refs_of(v2), 1);
    vox_lru_remove(c, "k", 1); /* absent: nothing happens */
    assert_null(vox_lru_get(c, "k", 1));
    assert_int_equal(vox_lru_put(c, "k", 1, NULL), VOX_EINVAL);
    assert_int_equal(vox_lru_put(c, NULL, 1, v1), VOX_EINVAL);
    /* The empty key is a key. */
    assert_int_equal(vox_lru_put(c, NULL, 0, v1), 0);
    v = vox_lru_get(c, "", 0);
    assert_ptr_equal(v, v1);
    obj_unref(v);
    vox_lru_stats(c, &s);
    assert_int_equal(s.entries, 1);
    vox_lru_destroy(c);
    obj_unref(v1);
    obj_unref(v2);
    assert_int_equal(atomic_load(&objs_live), 0);
}

static void lru_stats_and_timing(void **st)
{
    enum { GETS = 160 };
    struct vox_lru *c = lru_make(100, 0, ticking_clock);
    struct obj *o = obj_new(1);
    struct vox_lru_stats s;
    char key[16];
    int i;

    (void)st;
    for (i = 0; i < 50; i++) {
        int len = snprintf(key, sizeof(key), "k%d", i);

        assert_int_equal(vox_lru_put(c, key, (size_t)len, o), 0);
    }
    assert_int_equal(refs_of(o), 51);
    for (i = 0; i < GETS; i++) {
        int len = snprintf(key, sizeof(key), "k%d", i % 80);
        void *v = vox_lru_get(c, key, (size_t)len);

        if (v)
            obj_unref(v);
    }
    vox_lru_stats(c, &s);
    assert_int_equal(s.lookups, GETS);
    assert_int_equal(s.hits + s.misses, s.lookups);
    assert_int_equal(s.hits, 100); /* keys 0..49 of each 80 */
    assert_int_equal(s.entries, 50);
    assert_int_equal(s.capacity, 100);
    /* The cache holds capacity entries with 255-byte keys inline, and an index. */
    assert_true(s.bytes >= 100 * (VOX_LRU_MAX_KEY + sizeof(void *)) + 128 * sizeof(uint32_t));
    assert_true(s.bytes < 100 * 400 + 4096);
    /* One get in 16 per thread is timed (160 gets: exactly 10, wherever this thread's count
     * stood) and stands for 16; the clock steps 5 ns between its two reads. */
    assert_int_equal(s.lookups_timed, GETS / VOX_LRU_TIME_EVERY);
    assert_int_equal(s.lookup_ns_sum, 5 * VOX_LRU_TIME_EVERY * s.lookups_timed);
    vox_lru_destroy(c);
    assert_int_equal(refs_of(o), 1);
    obj_unref(o);
}

static void lru_long_keys(void **st)
{
    struct vox_lru *c = lru_make(4, 0, NULL);
    struct obj *o = obj_new(1);
    char key[VOX_LRU_MAX_KEY + 2];
    struct vox_lru_stats s;
    void *v;

    (void)st;
    memset(key, 'x', sizeof(key));
    assert_int_equal(vox_lru_put(c, key, VOX_LRU_MAX_KEY + 1, o), VOX_ERANGE);
    assert_int_equal(refs_of(o), 1); /* not cached, no reference taken */
    assert_null(vox_lru_get(c, key, VOX_LRU_MAX_KEY + 1));
    vox_lru_remove(c, key, VOX_LRU_MAX_KEY + 1);
    /* The longest key that fits is cached, and differs from its 254-byte prefix. */
    assert_int_equal(vox_lru_put(c, key, VOX_LRU_MAX_KEY, o), 0);
    assert_null(vox_lru_get(c, key, VOX_LRU_MAX_KEY - 1));
    v = vox_lru_get(c, key, VOX_LRU_MAX_KEY);
    assert_ptr_equal(v, o);
    obj_unref(v);
    vox_lru_stats(c, &s);
    assert_int_equal(s.long_keys, 2);
    assert_int_equal(s.lookups, 3);
    assert_int_equal(s.misses, 2);
    assert_int_equal(s.puts, 1);
    vox_lru_destroy(c);
    obj_unref(o);
    assert_int_equal(atomic_load(&objs_live), 0);
}

static void lru_capacity_one_and_config(void **st)
{
    struct vox_lru_config cfg = {.capacity = VOX_LRU_MAX_CAPACITY + 1};
    struct vox_lru *c = lru_make(1, 0, NULL), *d = (void *)1;
    struct obj *a = obj_new(1), *b = obj_new(2);
    struct vox_diag diag = {{0}};
    struct vox_lru_stats s;
    void *v;
    int i;

    (void)st;
    for (i = 0; i < 10; i++) {
        assert_int_equal(vox_lru_put(c, i % 2 ? "b" : "a", 1, i % 2 ? b : a), 0);
        v = vox_lru_get(c, i % 2 ? "b" : "a", 1);
        assert_ptr_equal(v, i % 2 ? b : a);
        obj_unref(v);
        assert_null(vox_lru_get(c, i % 2 ? "a" : "b", 1));
    }
    vox_lru_stats(c, &s);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.evictions, 9);
    assert_int_equal(refs_of(a) + refs_of(b), 3);
    vox_lru_destroy(c);
    assert_int_equal(refs_of(a) + refs_of(b), 2);
    obj_unref(a);
    obj_unref(b);

    assert_int_equal(vox_lru_create(&cfg, &d, &diag), VOX_EINVAL);
    assert_null(d);
    assert_non_null(strstr(diag.text, "capacity 16777217"));
    assert_non_null(strstr(diag.text, "CACHE_SIZE"));
    assert_int_equal(vox_lru_create(NULL, &d, NULL), 0); /* defaults */
    vox_lru_stats(d, &s);
    assert_int_equal(s.capacity, VOX_LRU_DEFAULT_CAPACITY);
    assert_int_equal(s.stripes, 1);
    vox_lru_destroy(d);
    d = (void *)1;
    cfg.capacity = 4;
    cfg.stripes = 3;
    assert_int_equal(vox_lru_create(&cfg, &d, &diag), VOX_EINVAL);
    assert_null(d);
    assert_non_null(strstr(diag.text, "3 stripes is not a power of two"));
    cfg.stripes = 8; /* more stripes than entries */
    assert_int_equal(vox_lru_create(&cfg, &d, &diag), VOX_EINVAL);
    cfg.capacity = 10000;
    cfg.stripes = VOX_LRU_MAX_STRIPES * 2;
    assert_int_equal(vox_lru_create(&cfg, &d, &diag), VOX_EINVAL);
    cfg.stripes = VOX_LRU_MAX_STRIPES;
    assert_int_equal(vox_lru_create(&cfg, &d, &diag), 0);
    vox_lru_stats(d, &s);
    assert_int_equal(s.stripes, VOX_LRU_MAX_STRIPES);
    assert_int_equal(s.capacity, 10000);
    vox_lru_destroy(d);
    vox_lru_destroy(NULL);
    assert_int_equal(atomic_load(&objs_live), 0);
}

/* Eight stripes of 8 slots: every key put either stays cached or was evicted from its own
 * stripe (never lost, never counted twice), and the most recent put of each stripe is cached. */
static void lru_striped(void **st)
{
    enum { CAP = 64, KEYS = 200 };
    struct vox_lru *c = lru_make_striped(CAP, 0, NULL, 8);
    struct obj *o[KEYS];
    struct vox_lru_stats s;
    char key[16];
    size_t cached = 0;
    int i;

    (void)st;
    for (i = 0; i < KEYS; i++) {
        int len = snprintf(key, sizeof(key), "s-%d", i);

        o[i] = obj_new(i);
        assert_int_equal(vox_lru_put(c, key, (size_t)len, o[i]), 0);
    }
    for (i = 0; i < KEYS; i++) {
        int len = snprintf(key, sizeof(key), "s-%d", i);
        void *v = vox_lru_get(c, key, (size_t)len);

        assert_int_equal(refs_of(o[i]), v ? 3 : 1);
        if (v) {
            assert_ptr_equal(v, o[i]);
            obj_unref(v);
            cached++;
        }
    }
    vox_lru_stats(c, &s);
    assert_int_equal(s.stripes, 8);
    assert_int_equal(s.entries, cached);
    assert_true(cached <= CAP && cached >= CAP / 2);
    assert_int_equal(s.puts, KEYS);
    assert_int_equal(s.evictions + s.entries, KEYS);
    assert_int_equal(s.hits, cached);
    assert_int_equal(s.hits + s.misses, s.lookups);
    vox_lru_destroy(c);
    for (i = 0; i < KEYS; i++) {
        assert_int_equal(refs_of(o[i]), 1);
        obj_unref(o[i]);
    }
    assert_int_equal(atomic_load(&objs_live), 0);
}

/* Threads putting, getting and removing over more keys than the cache holds: every value's
 * refcount returns to the test's single reference once the cache is destroyed. */
enum { LT_THREADS = 4, LT_ITERS = 5000, LT_KEYS = 48 };

struct lru_worker {
    struct vox_lru *c;
    struct obj **vals;
    unsigned seed;
    int bad;
};

static void *lru_worker_run(void *arg)
{
    struct lru_worker *w = arg;
    unsigned s = w->seed;
    char key[16];
    int i;

    for (i = 0; i < LT_ITERS; i++) {
        unsigned r, k;
        int len;
        struct obj *o;

        s = s * 1103515245u + 12345u;
        r = s >> 16;
        k = r % LT_KEYS;
        len = snprintf(key, sizeof(key), "key-%u", k);
        switch ((r >> 8) % 4) {
        case 0:
            vox_lru_put(w->c, key, (size_t)len, w->vals[k]);
            break;
        case 3:
            vox_lru_remove(w->c, key, (size_t)len);
            break;
        default:
            o = vox_lru_get(w->c, key, (size_t)len);
            if (o) {
                if (o != w->vals[k])
                    w->bad = 1;
                obj_unref(o);
            }
        }
    }
    return NULL;
}

static void lru_concurrent(void **st)
{
    unsigned stripes;

    (void)st;
    for (stripes = 1; stripes <= 4; stripes *= 4) {
        struct vox_lru *c = lru_make_striped(16, 0, NULL, stripes);
        struct obj *vals[LT_KEYS];
        struct lru_worker w[LT_THREADS];
        pthread_t th[LT_THREADS];
        struct vox_lru_stats s;
        int i;

        for (i = 0; i < LT_KEYS; i++)
            vals[i] = obj_new(i);
        for (i = 0; i < LT_THREADS; i++) {
            w[i] = (struct lru_worker){.c = c, .vals = vals, .seed = 5u + (unsigned)i * 131u};
            assert_int_equal(pthread_create(&th[i], NULL, lru_worker_run, &w[i]), 0);
        }
        for (i = 0; i < LT_THREADS; i++) {
            assert_int_equal(pthread_join(th[i], NULL), 0);
            assert_false(w[i].bad);
        }
        vox_lru_stats(c, &s);
        assert_int_equal(s.lookups, s.hits + s.misses);
        assert_true(s.entries <= 16);
        assert_true(s.hits > 0);
        assert_true(s.evictions > 0);
        vox_lru_destroy(c);
        for (i = 0; i < LT_KEYS; i++) {
            assert_int_equal(refs_of(vals[i]), 1);
            obj_unref(vals[i]);
        }
        assert_int_equal(atomic_load(&objs_live), 0);
    }
}

/* ---- out of memory ------------------------------------------------------------------------------
 */

/* Every allocation of every create fails in turn: each failure is VOX_ENOMEM with a diag and
 * leaks nothing (ASan), and some budget finally succeeds. */
static void oom_sweep_create(void **st)
{
    struct vox_allocator *a = budget_allocator();
    struct vox_shardmap_config mc = {.shards = 4, .alloc = a};
    struct vox_lru_config lc = {.capacity = 64, .stripes = 4, .alloc = a};
    struct vox_portalloc_config pc = {.alloc = a};
    struct vox_diag diag;
    int done[3] = {0, 0, 0};
    long b;

    (void)st;
    for (b = 0; b < 64 && !(done[0] && done[1] && done[2]); b++) {
        struct vox_shardmap *m = NULL;
        struct vox_lru *c = NULL;
        struct vox_portalloc *pa = NULL;
        int rc;

        memset(&diag, 0, sizeof(diag));
        atomic_store(&budget, b);
        rc = vox_shardmap_create(&mc, &m, &diag);
        if (rc == 0) {
            done[0] = 1;
            vox_shardmap_destroy(m);
        } else {
            assert_int_equal(rc, VOX_ENOMEM);
            assert_non_null(strstr(diag.text, "out of memory"));
            assert_null(m);
        }
        atomic_store(&budget, b);
        rc = vox_lru_create(&lc, &c, &diag);
        if (rc == 0) {
            done[1] = 1;
            vox_lru_destroy(c);
        } else {
            assert_int_equal(rc, VOX_ENOMEM);
            assert_null(c);
        }
        atomic_store(&budget, b);
        rc = vox_portalloc_create(&pc, &pa, &diag);
        if (rc == 0) {
            done[2] = 1;
            vox_portalloc_destroy(pa);
        } else {
            assert_int_equal(rc, VOX_ENOMEM);
            assert_null(pa);
        }
    }
    assert_true(done[0] && done[1] && done[2]);
    atomic_store(&budget, -1);
    vox_allocator_destroy(a);
}

/* A shard whose table cannot grow keeps every entry on longer chains; an insert whose node
 * cannot be allocated fails cleanly. */
static void oom_map_insert_and_growth(void **st)
{
    enum { N = 40 };
    struct vox_allocator *a = budget_allocator();
    struct vox_shardmap_config mc = {.shards = 1, .alloc = a};
    struct vox_shardmap *m = NULL;
    struct obj *o[N];
    char key[16];
    int i;

    (void)st;
    assert_int_equal(vox_shardmap_create(&mc, &m, NULL), 0);
    for (i = 0; i < N; i++)
        o[i] = obj_new(i);
    /* 8 initial buckets: the 9th insert wants to double them; the budget leaves room for its
     * node only. */
    atomic_store(&budget, 9);
    for (i = 0; i < 9; i++) {
        int len = snprintf(key, sizeof(key), "k%d", i);

        assert_int_equal(vox_shardmap_insert(m, key, (size_t)len, o[i]), 0);
    }
    assert_int_equal(vox_shardmap_insert(m, "k9", 2, o[9]), VOX_ENOMEM);
    assert_null(vox_shardmap_get(m, "k9", 2));
    atomic_store(&budget, -1);
    for (i = 9; i < N; i++) {
        int len = snprintf(key, sizeof(key), "k%d", i);

        assert_int_equal(vox_shardmap_insert(m, key, (size_t)len, o[i]), 0);
    }
    assert_int_equal(vox_shardmap_count(m), N);
    for (i = 0; i < N; i++) {
        int len = snprintf(key, sizeof(key), "k%d", i);

        assert_ptr_equal(vox_shardmap_remove(m, key, (size_t)len), o[i]);
        obj_unref(o[i]);
    }
    vox_shardmap_destroy(m);
    vox_allocator_destroy(a);
    assert_int_equal(atomic_load(&objs_live), 0);
}

/* ---- port allocator -------------------------------------------------------------------------- */

static struct vox_portalloc *pa_make(unsigned min, unsigned max, uint64_t quarantine_ns)
{
    struct vox_portalloc_config cfg = {
        .min_port = min, .max_port = max, .quarantine_ns = quarantine_ns, .now_ns = fake_clock};
    struct vox_portalloc *pa = NULL;
    struct vox_diag diag = {{0}};
    int rc = vox_portalloc_create(&cfg, &pa, &diag);

    if (rc)
        fail_msg("vox_portalloc_create(%u-%u): %s: %s", min, max, vox_err_name(rc), diag.text);
    return pa;
}

static void pa_every_pair_once_and_exhaustion(void **st)
{
    struct vox_portalloc *pa = pa_make(10000, 10019, 100);
    unsigned char seen[10] = {0};
    struct vox_portalloc_stats s;
    unsigned port, i;

    (void)st;
    atomic_store(&fake_ns, 5000);
    for (i = 0; i < 10; i++) {
        assert_int_equal(vox_portalloc_get(pa, &port), 0);
        assert_true(port >= 10000 && port + 1 <= 10019);
        assert_int_equal(port % 2, 0);
        assert_false(seen[(port - 10000) / 2]);
        seen[(port - 10000) / 2] = 1;
        /* Never-used pairs come out in port order. */
        assert_int_equal(port, 10000 + 2 * i);
    }
    port = 7;
    assert_int_equal(vox_portalloc_get(pa, &port), VOX_ELIMIT);
    assert_int_equal(port, 7);
    assert_int_equal(vox_portalloc_get(pa, &port), VOX_ELIMIT);
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.total_pairs, 10);
    assert_int_equal(s.in_use, 10);
    assert_int_equal(s.peak_in_use, 10);
    assert_int_equal(s.exhausted, 2);
    assert_int_equal(s.allocations, 10);

    /* Recovers after a put: the pair is still in quarantine but the only one free. */
    vox_portalloc_put(pa, 10008);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, 10008);
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.reused_within_quarantine, 1);
    assert_int_equal(s.frees, 1);
    assert_int_equal(s.allocations, 11);
    assert_int_equal(s.in_use, 10);
    assert_int_equal(s.allocations, s.frees + s.bind_rejects + s.in_use);

    /* Past the quarantine the reuse is not counted. */
    vox_portalloc_put(pa, 10008);
    atomic_store(&fake_ns, 5100);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, 10008);
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.reused_within_quarantine, 1);
    for (i = 0; i < 10; i++)
        vox_portalloc_put(pa, 10000 + 2 * i);
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.in_use, 0);
    assert_int_equal(s.peak_in_use, 10);
    assert_int_equal(s.allocations, s.frees + s.bind_rejects + s.in_use);
    vox_portalloc_destroy(pa);
    vox_portalloc_destroy(NULL);
}

static void pa_quarantine_order(void **st)
{
    struct vox_portalloc *pa = pa_make(20000, 20007, 1000); /* 4 pairs */
    struct vox_portalloc_stats s;
    unsigned a, b, port;

    (void)st;
    atomic_store(&fake_ns, 0);
    assert_int_equal(vox_portalloc_get(pa, &a), 0);
    assert_int_equal(vox_portalloc_get(pa, &b), 0);
    assert_int_equal(a, 20000);
    assert_int_equal(b, 20002);
    /* Freed at t=0 (yes, a clock at 0 counts as a time): the fresh pairs go first. */
    vox_portalloc_put(pa, a);
    atomic_store(&fake_ns, 10);
    vox_portalloc_put(pa, b);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, 20004);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, 20006);
    /* Only quarantined pairs left: the one freed first comes back, counted. */
    atomic_store(&fake_ns, 500);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, a);
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.reused_within_quarantine, 1);
    /* b was freed at t=10: its quarantine ends at 1010. */
    atomic_store(&fake_ns, 1010);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, b);
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.reused_within_quarantine, 1);
    assert_int_equal(s.in_use, 4);

    /* Least recently freed first: free 20006, 20000, 20004 in that order. */
    vox_portalloc_put(pa, 20006);
    vox_portalloc_put(pa, 20000);
    vox_portalloc_put(pa, 20004);
    atomic_store(&fake_ns, 10000);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, 20006);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, 20000);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, 20004);
    vox_portalloc_destroy(pa);
}

static void pa_reject_and_bad_frees(void **st)
{
    struct vox_portalloc *pa = pa_make(30000, 30006, 1000); /* 3 pairs: 30000 30002 30004 */
    struct vox_portalloc_stats s;
    unsigned a, port;

    (void)st;
    atomic_store(&fake_ns, 0);
    assert_int_equal(vox_portalloc_get(pa, &a), 0);
    assert_int_equal(a, 30000);
    /* The caller could not bind 30000: it goes to the back, behind the fresh pairs. */
    vox_portalloc_reject(pa, a);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, 30002);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, 30004);
    assert_int_equal(vox_portalloc_get(pa, &port), 0);
    assert_int_equal(port, 30000);
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.bind_rejects, 1);
    assert_int_equal(s.frees, 0);
    assert_int_equal(s.reused_within_quarantine, 1);
    assert_int_equal(s.allocations, s.frees + s.bind_rejects + s.in_use);

    vox_portalloc_put(pa, 29998);    /* below the range */
    vox_portalloc_put(pa, 30001);    /* an RTCP port */
    vox_portalloc_put(pa, 30006);    /* the range's even last port: not a pair */
    vox_portalloc_put(pa, 40000);    /* far outside */
    vox_portalloc_put(pa, 30002);    /* good */
    vox_portalloc_put(pa, 30002);    /* double free */
    vox_portalloc_reject(pa, 30002); /* not in use any more */
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.bad_frees, 6);
    assert_int_equal(s.frees, 1);
    assert_int_equal(s.in_use, 2);
    assert_int_equal(s.allocations, s.frees + s.bind_rejects + s.in_use);
    vox_portalloc_destroy(pa);
}

static void pa_config_errors(void **st)
{
    static const struct {
        unsigned min, max;
        const char *want;
    } bad[] = {
        {20000, 10000, "RTP ports 20000-10000: the first port is above the last"},
        {80, 10000, "RTP ports 80-10000: ports below 1024 are privileged"},
        {10000, 70000, "RTP ports 10000-70000: the last port is over 65535"},
        {10001, 20000, "RTP ports 10001-20000: the first port is odd"},
        {10000, 10000, "RTP ports 10000-10000: too small a range"},
        {0, 5000, "RTP ports 10000-5000: the first port is above the last"},
    };
    struct vox_portalloc_config cfg = {0};
    struct vox_portalloc *pa = (void *)1;
    struct vox_portalloc_stats s;
    struct vox_diag diag;
    size_t i;

    (void)st;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&diag, 0, sizeof(diag));
        cfg.min_port = bad[i].min;
        cfg.max_port = bad[i].max;
        assert_int_equal(vox_portalloc_create(&cfg, &pa, &diag), VOX_EINVAL);
        assert_null(pa);
        if (!strstr(diag.text, bad[i].want))
            fail_msg("diag '%s' lacks '%s'", diag.text, bad[i].want);
    }
    /* Defaults: 10000..20000 holds 5000 pairs (20000 itself has no RTCP port). */
    assert_int_equal(vox_portalloc_create(NULL, &pa, NULL), 0);
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.total_pairs, 5000);
    vox_portalloc_destroy(pa);
    cfg.min_port = 0;
    cfg.max_port = 15001;
    assert_int_equal(vox_portalloc_create(&cfg, &pa, NULL), 0);
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.total_pairs, 2501);
    vox_portalloc_destroy(pa);
    cfg.min_port = 65534;
    cfg.max_port = 65535;
    assert_int_equal(vox_portalloc_create(&cfg, &pa, NULL), 0);
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.total_pairs, 1);
    vox_portalloc_destroy(pa);
    assert_int_equal(vox_portalloc_create(NULL, NULL, NULL), VOX_EINVAL);
}

/* Threads taking and returning pairs: no pair is ever held by two threads at once. */
enum { PT_THREADS = 4, PT_ITERS = 3000, PT_PAIRS = 16 };

struct pa_worker {
    struct vox_portalloc *pa;
    _Atomic int *owner; /* per pair: 0 free, else thread number + 1 */
    int id;
    int bad;
    long got, exhausted;
};

static void *pa_worker_run(void *arg)
{
    struct pa_worker *w = arg;
    unsigned held[4], port;
    int nheld = 0, i;

    for (i = 0; i < PT_ITERS; i++) {
        if (nheld < 4 && (i % 3) != 2) {
            int expect = 0;

            if (vox_portalloc_get(w->pa, &port) != 0) {
                w->exhausted++;
                continue;
            }
            if (!atomic_compare_exchange_strong(&w->owner[(port - 40000) / 2], &expect, w->id + 1))
                w->bad = 1;
            held[nheld++] = port;
            w->got++;
        } else if (nheld > 0) {
            port = held[--nheld];
            atomic_store(&w->owner[(port - 40000) / 2], 0);
            if (i % 7 == 0)
                vox_portalloc_reject(w->pa, port);
            else
                vox_portalloc_put(w->pa, port);
        }
    }
    while (nheld > 0) {
        port = held[--nheld];
        atomic_store(&w->owner[(port - 40000) / 2], 0);
        vox_portalloc_put(w->pa, port);
    }
    return NULL;
}

static void pa_concurrent(void **st)
{
    struct vox_portalloc *pa = pa_make(40000, 40000 + 2 * PT_PAIRS - 1, 1);
    _Atomic int owner[PT_PAIRS];
    struct pa_worker w[PT_THREADS];
    pthread_t th[PT_THREADS];
    struct vox_portalloc_stats s;
    long got = 0, exhausted = 0;
    int i;

    (void)st;
    for (i = 0; i < PT_PAIRS; i++)
        atomic_init(&owner[i], 0);
    for (i = 0; i < PT_THREADS; i++) {
        w[i] = (struct pa_worker){.pa = pa, .owner = owner, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, pa_worker_run, &w[i]), 0);
    }
    for (i = 0; i < PT_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_false(w[i].bad);
        got += w[i].got;
        exhausted += w[i].exhausted;
    }
    vox_portalloc_stats(pa, &s);
    assert_int_equal(s.in_use, 0);
    assert_int_equal(s.allocations, (uint64_t)got);
    assert_int_equal(s.exhausted, (uint64_t)exhausted);
    assert_int_equal(s.allocations, s.frees + s.bind_rejects);
    assert_int_equal(s.bad_frees, 0);
    assert_true(s.peak_in_use <= PT_PAIRS);
    vox_portalloc_destroy(pa);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_properties),
        cmocka_unit_test(map_basic),
        cmocka_unit_test(map_shards_validation),
        cmocka_unit_test(map_collect_and_growth),
        cmocka_unit_test(map_concurrent),
        cmocka_unit_test(lru_eviction_order),
        cmocka_unit_test(lru_ttl_with_fake_clock),
        cmocka_unit_test(lru_replace_and_remove),
        cmocka_unit_test(lru_stats_and_timing),
        cmocka_unit_test(lru_long_keys),
        cmocka_unit_test(lru_capacity_one_and_config),
        cmocka_unit_test(lru_striped),
        cmocka_unit_test(lru_concurrent),
        cmocka_unit_test(oom_sweep_create),
        cmocka_unit_test(oom_map_insert_and_growth),
        cmocka_unit_test(pa_every_pair_once_and_exhaustion),
        cmocka_unit_test(pa_quarantine_order),
        cmocka_unit_test(pa_reject_and_bad_frees),
        cmocka_unit_test(pa_config_errors),
        cmocka_unit_test(pa_concurrent),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
