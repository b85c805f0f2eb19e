/* SPDX-License-Identifier: MIT */
/* The SIPREC server's session containers: a sharded session map, an LRU cache with TTL in front
 * of it, and the RTP port allocator. */
#ifndef VOX_STORE_H
#define VOX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "vox/alloc.h"
#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Keys are byte strings (a Call-ID, a Session-ID), compared by length and bytes; they need not
 * be NUL-terminated. Values are opaque pointers, never NULL. The containers do not own values:
 * they count references through the caller's ref/unref callbacks (typically an atomic refcount
 * in the session object), so a value returned by a lookup stays valid until the caller drops
 * its reference, even if another thread removes it at the same moment.
 *
 * The names and defaults follow the Go SRS's configuration (SHARD_COUNT, CACHE_SIZE, CACHE_TTL,
 * RTP_PORT_MIN/MAX), see shared/research/siprec.md §1 and §8.
 */

/*
 * The 64-bit hash every container here uses: multiply-fold mixing of 16 bytes per step, in the
 * style of wyhash, keyed by `seed`. Each container draws its own random seed at create, because
 * Call-IDs are chosen by the remote peer and an unkeyed hash would let it send colliding ones.
 * Reads exactly `len_bytes` of `key` (may be NULL when 0). Pure; thread-safe.
 */
uint64_t vox_store_hash(uint64_t seed, const void *key, size_t len_bytes);

/* ---- sharded session map ------------------------------------------------------------------- */

/*
 * A hash map split into `shards` independent tables, each behind its own reader-writer lock on
 * its own cache line, so that lookups of different sessions rarely touch the same lock. Keys
 * are copied into the map; values are borrowed (see above). Every function is thread-safe
 * except create and destroy. Memory: one node per entry (key inline) from the allocator, and a
 * bucket array per shard that doubles when the shard holds more entries than buckets.
 */
struct vox_shardmap;

#define VOX_SHARDMAP_DEFAULT_SHARDS 64    /* SHARD_COUNT */
#define VOX_SHARDMAP_MAX_SHARDS     65536 /* most shards a map may have */

struct vox_shardmap_config {
    unsigned shards;             /* power of two, 1..VOX_SHARDMAP_MAX_SHARDS; 0: default 64 */
    struct vox_allocator *alloc; /* nodes and tables come from here; NULL: default allocator */
    /* Called with the value under the shard's read lock when get() or collect() returns it, so
     * that the caller owns a reference before any remover can drop the map's. May be NULL
     * (values then must outlive every lookup by other means). Must not call into the map. */
    void (*ref)(void *value);
};

/*
 * Creates a map (cfg may be NULL for the defaults) and stores it in *out (owned by the caller,
 * freed with vox_shardmap_destroy). Returns 0, VOX_EINVAL with `diag` for a shard count that is
 * not a power of two or over VOX_SHARDMAP_MAX_SHARDS (0 means the default), or VOX_ENOMEM.
 */
int vox_shardmap_create(const struct vox_shardmap_config *cfg, struct vox_shardmap **out,
                        struct vox_diag *diag);

/* Frees the map, its nodes and key copies. Values are not touched (no unref): drain them first
 * with collect() + remove() if they hold references. NULL is a no-op. No other call may race. */
void vox_shardmap_destroy(struct vox_shardmap *m);

/*
 * Inserts `value` (not NULL) under a copy of the key. The map keeps the caller's reference: it
 * calls no ref() here. Returns 0, VOX_EEXIST when the key is present (the map is unchanged and
 * the caller keeps its reference), VOX_EINVAL for a NULL value or a NULL key with a non-zero
 * length, VOX_ENOMEM. Allocates one node outside the lock; may grow the shard's table.
 */
int vox_shardmap_insert(struct vox_shardmap *m, const char *key, size_t key_len, void *value);

/* Returns the value stored under the key after calling cfg->ref(value) under the shard's read
 * lock (the caller then owns that reference), or NULL when absent. Never allocates. */
void *vox_shardmap_get(struct vox_shardmap *m, const char *key, size_t key_len);

/* Removes the key and returns its value: the map's reference passes to the caller (no ref()
 * and no unref is called). Returns NULL when absent. */
void *vox_shardmap_remove(struct vox_shardmap *m, const char *key, size_t key_len);

/* Number of entries. Exact when no writer runs; otherwise a value the map held recently. */
size_t vox_shardmap_count(const struct vox_shardmap *m);

/*
 * Stores up to `cap` values into values[] and returns how many: each is ref()'d under its
 * shard's read lock, so the caller owns one reference per value returned. Shards are visited
 * one after another, so the snapshot is consistent per shard, not across shards (a session
 * inserted while collect runs may or may not appear). For /api/sessions and shutdown.
 */
size_t vox_shardmap_collect(struct vox_shardmap *m, void **values, size_t cap);

/* Counters since create. Contention counts lock acquisitions whose trylock failed, so that
 * the caller blocked on another thread; uncontended acquisitions cost no extra clock read. */
struct vox_shardmap_stats {
    uint64_t lookups;         /* get() calls */
    uint64_t hits;            /* get() calls that returned a value */
    uint64_t inserts;         /* successful insert() calls */
    uint64_t removes;         /* remove() calls that removed an entry */
    uint64_t read_contended;  /* read locks (get, collect) that had to wait */
    uint64_t write_contended; /* write locks (insert, remove) that had to wait */
    size_t entries;           /* entries now (inserts - removes, when no writer runs) */
    size_t max_shard_entries; /* entries in the fullest shard: a skew indicator */
    size_t shards;            /* shard count */
};

/* Copies the counters into *out without taking the locks (each counter is read atomically;
 * together they may be a few operations apart while other threads run). */
void vox_shardmap_stats(const struct vox_shardmap *m, struct vox_shardmap_stats *out);

/* ---- LRU cache with TTL -------------------------------------------------------------------- */

/*
 * A fixed-capacity cache of hot sessions in the same key space as the map, in front of it: a
 * hash index plus a doubly linked recency list, every operation O(1) (expected). All memory is
 * allocated at create (capacity entries with their keys inline, and the index); nothing is
 * allocated afterwards. The cache holds one reference per entry (ref at put, unref when the
 * entry is replaced, evicted, expired, removed or destroyed); unref is always called after
 * the cache's lock is released, so it may free the session or call back into the cache.
 *
 * TTL: an entry expires `ttl_ns` after it was put (a get does not extend it), which bounds how
 * stale a cached session may be. An expired entry is removed when a get finds it (counted in
 * `expired`, and as a miss). Keys over VOX_LRU_MAX_KEY bytes are never cached (counted).
 *
 * Locking: with `stripes` 1 (the default) one mutex guards the cache and it is an exact LRU.
 * With more, the slots are split into that many independent LRUs, each with its own mutex, and
 * a key belongs to one of them by its hash: threads rarely wait for each other, but eviction
 * takes the least recently used entry of the new key's stripe, not of the whole cache (an
 * approximation that matters only when keys crowd into one stripe). micro_store.c measures
 * both. Every function is thread-safe except create and destroy.
 */
struct vox_lru;

#define VOX_LRU_DEFAULT_CAPACITY 1024       /* CACHE_SIZE */
#define VOX_LRU_MAX_CAPACITY     (1u << 24) /* most entries a cache may have */
#define VOX_LRU_MAX_KEY          255        /* longest key cached, in bytes */
#define VOX_LRU_MAX_STRIPES      256        /* most stripes (independent locks) */
#define VOX_LRU_TIME_EVERY       16         /* one get in this many is timed (lookup_ns_sum) */

struct vox_lru_config {
    size_t capacity;             /* entries, 1..VOX_LRU_MAX_CAPACITY; 0: default 1024 */
    uint64_t ttl_ns;             /* CACHE_TTL: entry lifetime after put; 0: no expiry */
    struct vox_allocator *alloc; /* the memory comes from here; NULL: default allocator */
    void (*ref)(void *value);    /* called at put and when get returns a value; may be NULL */
    void (*unref)(void *value);  /* drops the cache's reference; may be NULL */
    uint64_t (*now_ns)(void);    /* monotonic clock; NULL: vox_clock_ns (tests inject a fake) */
    unsigned stripes;            /* power of two, 1..VOX_LRU_MAX_STRIPES, at most capacity;
                                  * 0: 1 (one lock, exact LRU) */
};

/*
 * Creates a cache and stores it in *out (owned by the caller, freed with vox_lru_destroy); cfg
 * may be NULL for the defaults. Returns 0, VOX_EINVAL with `diag` for a capacity over
 * VOX_LRU_MAX_CAPACITY or a bad stripe count, or VOX_ENOMEM (with diag naming the bytes).
 */
int vox_lru_create(const struct vox_lru_config *cfg, struct vox_lru **out, struct vox_diag *diag);

/* Unrefs every entry and frees the cache. NULL is a no-op. No other call may race. */
void vox_lru_destroy(struct vox_lru *c);

/*
 * Returns the value cached under the key, ref()'d under the lock (the caller owns that
 * reference), and makes it the most recently used; or NULL on a miss, an expired entry (which
 * is removed and unref'd) or a key over VOX_LRU_MAX_KEY bytes. Never allocates.
 */
void *vox_lru_get(struct vox_lru *c, const char *key, size_t key_len);

/*
 * Caches `value` (not NULL) under the key, taking a reference with ref(); the caller keeps its
 * own. An entry already under the key gets the new value (its old value is unref'd) and a new
 * TTL. When the cache (with stripes: the key's stripe) is full, its least recently used entry
 * is evicted (and unref'd). Returns 0, VOX_ERANGE for a key over VOX_LRU_MAX_KEY bytes (not
 * cached, no ref, counted in long_keys), or VOX_EINVAL for a NULL value or a NULL key with a
 * non-zero length. Never allocates.
 */
int vox_lru_put(struct vox_lru *c, const char *key, size_t key_len, void *value);

/* Drops the entry under the key, if any (its value is unref'd). */
void vox_lru_remove(struct vox_lru *c, const char *key, size_t key_len);

/* Counters since create; hits + misses == lookups. */
struct vox_lru_stats {
    uint64_t lookups;       /* get() calls */
    uint64_t hits;          /* get() calls that returned a value */
    uint64_t misses;        /* get() calls that returned NULL (absent, expired or long key) */
    uint64_t expired;       /* entries a get found past their TTL (each also a miss) */
    uint64_t evictions;     /* least recently used entries dropped to make room */
    uint64_t puts;          /* successful put() calls, replacements included */
    uint64_t long_keys;     /* put() and get() calls with a key over VOX_LRU_MAX_KEY bytes */
    uint64_t lookup_ns_sum; /* time spent in get(), lock wait included, ns: estimated from a
                             * sample, one get in VOX_LRU_TIME_EVERY of each thread, whose time
                             * counts VOX_LRU_TIME_EVERY times (a clock read costs about as
                             * much as a get); mean get time ~= lookup_ns_sum / lookups */
    uint64_t lookups_timed; /* gets in the sample (lookup_ns_sum / (VOX_LRU_TIME_EVERY *
                             * lookups_timed) is the sample's exact mean) */
    size_t entries;         /* entries cached now */
    size_t capacity;        /* most entries */
    size_t bytes;           /* memory the cache holds: entries with their keys, index, header */
    unsigned stripes;       /* independent locks */
};

/* Copies the counters into *out, locking one stripe at a time (with one stripe, a consistent
 * snapshot). */
void vox_lru_stats(const struct vox_lru *c, struct vox_lru_stats *out);

/* ---- RTP port allocator -------------------------------------------------------------------- */

/*
 * Hands out RTP/RTCP port pairs from an inclusive range: an even RTP port p with RTCP on p + 1
 * (RFC 3550 §11), both reserved together. Free pairs wait in a FIFO, so the pair freed longest
 * ago is handed out first; a pair freed less than `quarantine_ns` ago is handed out only when
 * no other pair is free (counted), so that late packets of an ended call do not land in a new
 * one. A pair the caller could not bind (another process holds it) is given back at the end of
 * the queue with vox_portalloc_reject(). One mutex; every call is O(1) and thread-safe except
 * create and destroy. Memory: a few bytes per pair, allocated at create.
 */
struct vox_portalloc;

#define VOX_PORTALLOC_DEFAULT_MIN        10000         /* RTP_PORT_MIN */
#define VOX_PORTALLOC_DEFAULT_MAX        20000         /* RTP_PORT_MAX */
#define VOX_PORTALLOC_DEFAULT_QUARANTINE 2000000000ull /* 2 s, in ns */

struct vox_portalloc_config {
    unsigned min_port;           /* first port, even, 1024..65534; 0: 10000 */
    unsigned max_port;           /* last port (inclusive), up to 65535; 0: 20000; an even
                                  * max_port is left unused (its RTCP port would be outside) */
    uint64_t quarantine_ns;      /* 0: default 2 s; 1 makes it practically none */
    uint64_t (*now_ns)(void);    /* monotonic clock; NULL: vox_clock_ns */
    struct vox_allocator *alloc; /* NULL: default allocator */
};

/*
 * Creates an allocator and stores it in *out (owned by the caller, freed with
 * vox_portalloc_destroy); cfg may be NULL for the defaults. Returns 0, VOX_EINVAL with `diag`
 * naming the range for: min > max, min below 1024, max over 65535, an odd min, a range with
 * room for no pair; or VOX_ENOMEM. The defaults apply per field (min 0 with max 15000 is
 * 10000..15000).
 */
int vox_portalloc_create(const struct vox_portalloc_config *cfg, struct vox_portalloc **out,
                         struct vox_diag *diag);

/* Frees the allocator (pairs still handed out are forgotten). NULL is a no-op. */
void vox_portalloc_destroy(struct vox_portalloc *pa);

/*
 * Stores the even RTP port of a free pair in *port (its RTCP port is *port + 1) and marks the
 * pair in use. Returns 0, or VOX_ELIMIT when every pair is in use (counted in `exhausted`; the
 * server answers 503).
 */
int vox_portalloc_get(struct vox_portalloc *pa, unsigned *port);

/* Gives back a pair from vox_portalloc_get(), to be reused after its quarantine. A port not in
 * use (a double free) or not one this allocator hands out is ignored and counted (bad_frees). */
void vox_portalloc_put(struct vox_portalloc *pa, unsigned port);

/* Gives back a pair from vox_portalloc_get() that the caller could not bind (another process
 * holds one of the two ports): it goes to the end of the queue, quarantined like a freed pair
 * so that it is retried last, and is counted in bind_rejects (not in frees). A port not in use
 * is ignored and counted in bad_frees. */
void vox_portalloc_reject(struct vox_portalloc *pa, unsigned port);

/* Counters since create; allocations == frees + bind_rejects + in_use. */
struct vox_portalloc_stats {
    unsigned total_pairs;              /* pairs in the range */
    unsigned in_use;                   /* pairs handed out now */
    unsigned peak_in_use;              /* most pairs handed out at once */
    uint64_t allocations;              /* successful get() calls */
    uint64_t frees;                    /* put() calls that freed a pair */
    uint64_t exhausted;                /* get() calls that found no free pair */
    uint64_t reused_within_quarantine; /* pairs handed out while still in quarantine because
                                        * nothing else was free */
    uint64_t bind_rejects;             /* reject() calls that gave a pair back */
    uint64_t bad_frees;                /* put()/reject() of a port not in use or not ours */
};

/* Copies the counters into *out (under the lock: a consistent snapshot). */
void vox_portalloc_stats(const struct vox_portalloc *pa, struct vox_portalloc_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* VOX_STORE_H */
