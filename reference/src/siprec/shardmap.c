/* SPDX-License-Identifier: MIT */
/* The sharded session map: independent chained hash tables, each behind its own rwlock. */
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "vox/core.h"
#include "vox/store.h"

/* ---- hash ------------------------------------------------------------------------------------ */

/*
 * Why this hash: keys are Call-IDs of 20-80 bytes. FNV-1a would do one dependent multiply per
 * byte (60 for a typical Call-ID); folding a 64x64->128-bit product takes 16 bytes per
 * multiply and mixes well enough for power-of-two tables (the idea of wyhash, written here
 * from that description). The seed is random per container, so a peer cannot precompute keys
 * that collide, and the secret words it is mixed into keep a block equal to a constant from
 * zeroing the state.
 */
#define K0 0x9e3779b97f4a7c15ull /* 2^64 / golden ratio, odd */
#define K1 0xbf58476d1ce4e5b9ull /* splitmix64's multipliers, odd */
#define K2 0x94d049bb133111ebull

static inline uint64_t fold(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;

    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t load32(const unsigned char *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

uint64_t vox_store_hash(uint64_t seed, const void *key, size_t len_bytes)
{
    const unsigned char *p = key;
    size_t n = len_bytes;
    uint64_t s1 = seed ^ K1, s2 = (seed * K0) ^ K2;
    uint64_t h = fold(seed ^ K0, (uint64_t)len_bytes ^ K1);
    uint64_t a, b;

    while (n > 16) {
        h = fold(load64(p) ^ s1, load64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    /* The last 1..16 bytes, read as two possibly overlapping words (never past the end). */
    if (n >= 8) {
        a = load64(p);
        b = load64(p + n - 8);
    } else if (n >= 4) {
        a = load32(p);
        b = load32(p + n - 4);
    } else if (n > 0) {
        a = ((uint64_t)p[0] << 16) | ((uint64_t)p[n / 2] << 8) | p[n - 1];
        b = 0;
    } else {
        a = b = 0;
    }
    h = fold(a ^ s1, b ^ h ^ s2);
    return fold(h ^ K2, h ^ s1);
}

/* A random seed for one container; when the kernel has no entropy to give (never after boot),
 * the clock and the container's address still differ between processes. */
static uint64_t draw_seed(const void *obj)
{
    uint64_t seed = 0;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
        seed = vox_clock_ns() ^ ((uint64_t)(uintptr_t)obj * K0);
    return seed;
}

/* ---- map ------------------------------------------------------------------------------------- */

#define INITIAL_BUCKETS 8

struct node {
    struct node *next;
    uint64_t hash;
    void *value;
    size_t key_len;
    char key[]; /* key_len bytes, not NUL-terminated */
};

/*
 * One shard. Aligned to a cache line so that two shards never share one: the lock word and the
 * counters below are written by every operation on the shard. Counters that readers update are
 * atomic (readers run concurrently); `count` is atomic only so that count() and stats() may
 * read it without the lock.
 */
struct shard {
    pthread_rwlock_t lock;
    struct node **buckets; /* mask + 1 chains */
    size_t mask;
    _Atomic size_t count;
    _Atomic uint64_t lookups;
    _Atomic uint64_t hits;
    _Atomic uint64_t read_contended;
    uint64_t inserts; /* written under the write lock, read atomically by stats */
    uint64_t removes;
    uint64_t write_contended;
} __attribute__((aligned(64)));

struct vox_shardmap {
    struct vox_allocator *alloc;
    void (*ref)(void *value);
    uint64_t seed;
    unsigned shard_bits;
    unsigned nshards;
    void *shards_mem; /* the allocation; `shards` is it rounded up to a cache line */
    size_t shards_mem_bytes;
    struct shard *shards;
};

static inline void add_relaxed(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* The write-lock counters are plain fields written under the lock; stats reads them with an
 * atomic load so that a concurrent writer is not a data race. */
static inline void bump(uint64_t *c)
{
    __atomic_store_n(c, *c + 1, __ATOMIC_RELAXED);
}

static inline uint64_t peek(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void read_lock(struct shard *s)
{
    if (pthread_rwlock_tryrdlock(&s->lock) != 0) {
        add_relaxed(&s->read_contended);
        pthread_rwlock_rdlock(&s->lock);
    }
}

static void write_lock(struct shard *s)
{
    if (pthread_rwlock_trywrlock(&s->lock) != 0) {
        pthread_rwlock_wrlock(&s->lock);
        bump(&s->write_contended);
    }
}

/* The high bits pick the shard, the low bits the bucket, so the two choices are independent. */
static inline struct shard *shard_of(const struct vox_shardmap *m, uint64_t h)
{
    return m->shard_bits ? &m->shards[h >> (64 - m->shard_bits)] : &m->shards[0];
}

static inline size_t node_bytes(size_t key_len)
{
    return sizeof(struct node) + key_len;
}

int vox_shardmap_create(const struct vox_shardmap_config *cfg, struct vox_shardmap **out,
                        struct vox_diag *diag)
{
    struct vox_allocator *alloc = cfg && cfg->alloc ? cfg->alloc : vox_allocator_default();
    unsigned nshards = cfg && cfg->shards ? cfg->shards : VOX_SHARDMAP_DEFAULT_SHARDS;
    struct vox_shardmap *m = NULL;
    unsigned i, inited = 0;
    int rc = VOX_ENOMEM;

    if (!out)
        return VOX_EINVAL;
    *out = NULL;
    if (nshards > VOX_SHARDMAP_MAX_SHARDS || (nshards & (nshards - 1)) != 0) {
        vox_diag_set(diag,
                     "session map: %u shards is not a power of two between 1 and %u "
                     "(SHARD_COUNT; 0 takes the default, %u)",
                     nshards, VOX_SHARDMAP_MAX_SHARDS, VOX_SHARDMAP_DEFAULT_SHARDS);
        return VOX_EINVAL;
    }
    m = vox_alloc(alloc, sizeof(*m));
    if (!m)
        goto fail;
    memset(m, 0, sizeof(*m));
    m->alloc = alloc;
    m->ref = cfg ? cfg->ref : NULL;
    m->nshards = nshards;
    m->shard_bits = (unsigned)__builtin_ctz(nshards);
    m->seed = draw_seed(m);
    /* vox_alloc aligns to 16 bytes: over-allocate to place the shards on cache lines. */
    m->shards_mem_bytes = (size_t)nshards * sizeof(struct shard) + alignof(struct shard);
    m->shards_mem = vox_alloc(alloc, m->shards_mem_bytes);
    if (!m->shards_mem)
        goto fail;
    m->shards = (struct shard *)(((uintptr_t)m->shards_mem + alignof(struct shard) - 1) &
                                 ~(uintptr_t)(alignof(struct shard) - 1));
    memset(m->shards, 0, (size_t)nshards * sizeof(struct shard));
    for (inited = 0; inited < nshards; inited++) {
        struct shard *s = &m->shards[inited];

        s->buckets = vox_alloc_array(alloc, INITIAL_BUCKETS, sizeof(*s->buckets));
        if (!s->buckets)
            goto fail;
        memset(s->buckets, 0, INITIAL_BUCKETS * sizeof(*s->buckets));
        s->mask = INITIAL_BUCKETS - 1;
        if (pthread_rwlock_init(&s->lock, NULL) != 0) {
            vox_free(alloc, s->buckets, INITIAL_BUCKETS * sizeof(*s->buckets));
            goto fail;
        }
    }
    *out = m;
    return 0;

fail:
    vox_diag_set(diag, "session map: out of memory for %u shards", nshards);
    if (m) {
        for (i = 0; i < inited; i++) {
            pthread_rwlock_destroy(&m->shards[i].lock);
            vox_free(alloc, m->shards[i].buckets, INITIAL_BUCKETS * sizeof(struct node *));
        }
        vox_free(alloc, m->shards_mem, m->shards_mem_bytes);
        vox_free(alloc, m, sizeof(*m));
    }
    return rc;
}

void vox_shardmap_destroy(struct vox_shardmap *m)
{
    unsigned i;
    size_t b;

    if (!m)
        return;
    for (i = 0; i < m->nshards; i++) {
        struct shard *s = &m->shards[i];

        for (b = 0; b <= s->mask; b++) {
            struct node *n = s->buckets[b], *next;

            for (; n; n = next) {
                next = n->next;
                vox_free(m->alloc, n, node_bytes(n->key_len));
            }
        }
        vox_free(m->alloc, s->buckets, (s->mask + 1) * sizeof(*s->buckets));
        pthread_rwlock_destroy(&s->lock);
    }
    vox_free(m->alloc, m->shards_mem, m->shards_mem_bytes);
    vox_free(m->alloc, m, sizeof(*m));
}

/* The link that points at the node holding the key, or at the NULL ending its chain. */
static struct node **find(struct shard *s, uint64_t h, const char *key, size_t key_len)
{
    struct node **link = &s->buckets[h & s->mask];

    for (; *link; link = &(*link)->next) {
        const struct node *n = *link;

        if (n->hash == h && n->key_len == key_len &&
            (key_len == 0 || !memcmp(n->key, key, key_len)))
            break;
    }
    return link;
}

/* Doubles the shard's bucket array (under its write lock). On allocation failure the table
 * keeps its size: chains grow longer, nothing is lost. */
static void grow(struct vox_shardmap *m, struct shard *s)
{
    size_t old_n = s->mask + 1, new_n = old_n * 2, b;
    struct node **nb = vox_alloc_array(m->alloc, new_n, sizeof(*nb));

    if (!nb)
        return;
    memset(nb, 0, new_n * sizeof(*nb));
    for (b = 0; b < old_n; b++) {
        struct node *n = s->buckets[b], *next;

        for (; n; n = next) {
            next = n->next;
            n->next = nb[n->hash & (new_n - 1)];
            nb[n->hash & (new_n - 1)] = n;
        }
    }
    vox_free(m->alloc, s->buckets, old_n * sizeof(*s->buckets));
    s->buckets = nb;
    s->mask = new_n - 1;
}

int vox_shardmap_insert(struct vox_shardmap *m, const char *key, size_t key_len, void *value)
{
    struct node *n, **link;
    struct shard *s;
    uint64_t h;
    size_t count;

    if (!value || (!key && key_len) || key_len > SIZE_MAX - sizeof(struct node))
        return VOX_EINVAL;
    h = vox_store_hash(m->seed, key, key_len);
    s = shard_of(m, h);
    /* Allocate and copy before locking: the critical section stays a probe and a link. */
    n = vox_alloc(m->alloc, node_bytes(key_len));
    if (!n)
        return VOX_ENOMEM;
    n->hash = h;
    n->value = value;
    n->key_len = key_len;
    if (key_len)
        memcpy(n->key, key, key_len);

    write_lock(s);
    link = find(s, h, key, key_len);
    if (*link) {
        pthread_rwlock_unlock(&s->lock);
        vox_free(m->alloc, n, node_bytes(key_len));
        return VOX_EEXIST;
    }
    n->next = NULL;
    *link = n;
    count = atomic_load_explicit(&s->count, memory_order_relaxed) + 1;
    atomic_store_explicit(&s->count, count, memory_order_relaxed);
    bump(&s->inserts);
    if (count > s->mask + 1)
        grow(m, s);
    pthread_rwlock_unlock(&s->lock);
    return 0;
}

void *vox_shardmap_get(struct vox_shardmap *m, const char *key, size_t key_len)
{
    struct shard *s;
    struct node *n;
    void *v = NULL;
    uint64_t h;

    if (!key && key_len)
        return NULL;
    h = vox_store_hash(m->seed, key, key_len);
    s = shard_of(m, h);
    read_lock(s);
    add_relaxed(&s->lookups);
    n = *find(s, h, key, key_len);
    if (n) {
        v = n->value;
        if (m->ref)
            m->ref(v);
        add_relaxed(&s->hits);
    }
    pthread_rwlock_unlock(&s->lock);
    return v;
}

void *vox_shardmap_remove(struct vox_shardmap *m, const char *key, size_t key_len)
{
    struct node *n, **link;
    struct shard *s;
    void *v = NULL;
    uint64_t h;

    if (!key && key_len)
        return NULL;
    h = vox_store_hash(m->seed, key, key_len);
    s = shard_of(m, h);
    write_lock(s);
    link = find(s, h, key, key_len);
    n = *link;
    if (n) {
        *link = n->next;
        atomic_store_explicit(&s->count, atomic_load_explicit(&s->count, memory_order_relaxed) - 1,
                              memory_order_relaxed);
        bump(&s->removes);
        v = n->value;
    }
    pthread_rwlock_unlock(&s->lock);
    if (n)
        vox_free(m->alloc, n, node_bytes(n->key_len));
    return v;
}

size_t vox_shardmap_count(const struct vox_shardmap *m)
{
    size_t total = 0;
    unsigned i;

    for (i = 0; i < m->nshards; i++)
        total += atomic_load_explicit(&m->shards[i].count, memory_order_relaxed);
    return total;
}

size_t vox_shardmap_collect(struct vox_shardmap *m, void **values, size_t cap)
{
    size_t got = 0, b;
    unsigned i;

    for (i = 0; i < m->nshards && got < cap; i++) {
        struct shard *s = &m->shards[i];

        read_lock(s);
        for (b = 0; b <= s->mask && got < cap; b++) {
            const struct node *n;

            for (n = s->buckets[b]; n && got < cap; n = n->next) {
                if (m->ref)
                    m->ref(n->value);
                values[got++] = n->value;
            }
        }
        pthread_rwlock_unlock(&s->lock);
    }
    return got;
}

void vox_shardmap_stats(const struct vox_shardmap *m, struct vox_shardmap_stats *out)
{
    unsigned i;

    memset(out, 0, sizeof(*out));
    out->shards = m->nshards;
    for (i = 0; i < m->nshards; i++) {
        const struct shard *s = &m->shards[i];
        size_t n = atomic_load_explicit(&s->count, memory_order_relaxed);

        out->lookups += atomic_load_explicit(&s->lookups, memory_order_relaxed);
        out->hits += atomic_load_explicit(&s->hits, memory_order_relaxed);
        out->read_contended += atomic_load_explicit(&s->read_contended, memory_order_relaxed);
        out->inserts += peek(&s->inserts);
        out->removes += peek(&s->removes);
        out->write_contended += peek(&s->write_contended);
        out->entries += n;
        if (n > out->max_shard_entries)
            out->max_shard_entries = n;
    }
}
