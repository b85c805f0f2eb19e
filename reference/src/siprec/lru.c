/* SPDX-License-Identifier: MIT */
/* The LRU cache with TTL: preallocated entries, a chained hash index and a recency list. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "vox/core.h"
#include "vox/store.h"

/*
 * Layout. `entries` is an array of `capacity` slots split into `nstripes` stripes, each a
 * complete LRU over its own contiguous run of slots, with its own lock, index, recency list,
 * free list and counters; a key's stripe is chosen by the high bits of its hash, its bucket by
 * the low bits. With one stripe (the default) the cache is an exact LRU; with more, eviction
 * picks the least recently used entry of the new key's stripe, and threads working on
 * different stripes never share a lock.
 *
 * In a stripe a slot is either on the free list or cached, in which case it sits in one hash
 * chain (bucket heads in the stripe's `index`, linked through `chain`) and in the recency list
 * (`prev`/`next`, most recently used at `head`). Links are 32-bit slot numbers with NIL for
 * none, which keeps a slot small and the index at 4 bytes a bucket. Each index has a
 * power-of-two bucket count of at least the stripe's slots, so chains average under one entry.
 */
#define NIL UINT32_MAX

struct entry {
    uint32_t prev;  /* towards the most recently used; NIL at head */
    uint32_t next;  /* towards the least recently used; NIL at tail; free-list link when free */
    uint32_t chain; /* next slot in the same bucket */
    uint32_t key_len;
    uint64_t hash;
    uint64_t put_ns; /* when the value was put: it expires at put_ns + ttl_ns */
    void *value;
    char key[VOX_LRU_MAX_KEY];
};

/* Counters of one stripe, kept under its lock. */
struct counters {
    uint64_t lookups, hits, misses, expired, evictions, puts, long_keys;
    uint64_t lookup_ns_sum, lookups_timed;
};

/* One stripe, on its own cache lines: its lock and list ends are written by every operation. */
struct stripe {
    pthread_mutex_t lock;
    struct entry *entries; /* the cache's array: slot numbers are global */
    uint32_t *index;
    size_t nbuckets; /* power of two */
    uint32_t head;
    uint32_t tail;
    uint32_t free;
    uint32_t count;
    struct counters st;
} __attribute__((aligned(64)));

struct vox_lru {
    struct vox_allocator *alloc;
    void (*ref)(void *v);
    void (*unref)(void *v);
    uint64_t (*now_ns)(void);
    uint64_t ttl_ns;
    uint64_t seed;
    size_t capacity;
    unsigned nstripes;
    unsigned stripe_bits;
    size_t index_total; /* buckets over all stripes */
    struct entry *entries;
    uint32_t *index;   /* every stripe's buckets, one after another */
    void *stripes_mem; /* the allocation; `stripes` is it rounded up to a cache line */
    size_t stripes_mem_bytes;
    struct stripe *stripes;
};

/* Which gets of this thread are timed: a per-thread tick, so the choice costs no shared
 * write. */
static _Thread_local unsigned time_tick;

static uint64_t draw_seed(const void *obj)
{
    uint64_t seed = 0;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
        seed = vox_clock_ns() ^ ((uint64_t)(uintptr_t)obj * 0x9e3779b97f4a7c15ull);
    return seed;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 1;

    while (p < n)
        p *= 2;
    return p;
}

/* Slots of stripe i: capacity split as evenly as it goes, the first ones taking the rest. */
static size_t stripe_slots(size_t capacity, unsigned nstripes, unsigned i)
{
    return capacity / nstripes + (i < capacity % nstripes);
}

static void lru_free_memory(struct vox_lru *lru)
{
    vox_free(lru->alloc, lru->entries, lru->capacity * sizeof(struct entry));
    vox_free(lru->alloc, lru->index, lru->index_total * sizeof(uint32_t));
    vox_free(lru->alloc, lru->stripes_mem, lru->stripes_mem_bytes);
    vox_free(lru->alloc, lru, sizeof(*lru));
}

int vox_lru_create(const struct vox_lru_config *cfg, struct vox_lru **out, struct vox_diag *diag)
{
    struct vox_lru_config c = {.capacity = VOX_LRU_DEFAULT_CAPACITY};
    struct vox_lru *lru = NULL;
    unsigned s, inited = 0;
    size_t i, slot = 0, bucket = 0;

    if (!out)
        return VOX_EINVAL;
    *out = NULL;
    if (cfg) {
        c = *cfg;
        if (!c.capacity)
            c.capacity = VOX_LRU_DEFAULT_CAPACITY;
    }
    if (!c.stripes)
        c.stripes = 1;
    if (c.capacity > VOX_LRU_MAX_CAPACITY) {
        vox_diag_set(diag, "session cache: capacity %zu entries over the limit of %u (CACHE_SIZE)",
                     c.capacity, VOX_LRU_MAX_CAPACITY);
        return VOX_EINVAL;
    }
    if (c.stripes > VOX_LRU_MAX_STRIPES || (c.stripes & (c.stripes - 1)) ||
        c.stripes > c.capacity) {
        vox_diag_set(diag,
                     "session cache: %u stripes is not a power of two between 1 and %u, at most "
                     "the capacity (%zu entries)",
                     c.stripes, VOX_LRU_MAX_STRIPES, c.capacity);
        return VOX_EINVAL;
    }
    if (!c.alloc)
        c.alloc = vox_allocator_default();
    if (!c.now_ns)
        c.now_ns = vox_clock_ns;

    lru = vox_alloc(c.alloc, sizeof(*lru));
    if (!lru)
        goto fail;
    memset(lru, 0, sizeof(*lru));
    lru->alloc = c.alloc;
    lru->capacity = c.capacity;
    lru->nstripes = c.stripes;
    lru->stripe_bits = (unsigned)__builtin_ctz(c.stripes);
    for (s = 0; s < c.stripes; s++)
        lru->index_total += pow2_at_least(stripe_slots(c.capacity, c.stripes, s));
    lru->entries = vox_alloc_array(c.alloc, c.capacity, sizeof(struct entry));
    lru->index = vox_alloc_array(c.alloc, lru->index_total, sizeof(uint32_t));
    /* vox_alloc aligns to 16 bytes: over-allocate to place the stripes on cache lines. */
    lru->stripes_mem_bytes = (size_t)c.stripes * sizeof(struct stripe) + sizeof(struct stripe);
    lru->stripes_mem = vox_alloc(c.alloc, lru->stripes_mem_bytes);
    if (!lru->entries || !lru->index || !lru->stripes_mem)
        goto fail;
    lru->stripes = (struct stripe *)(((uintptr_t)lru->stripes_mem + 63) & ~(uintptr_t)63);
    lru->ref = c.ref;
    lru->unref = c.unref;
    lru->now_ns = c.now_ns;
    lru->ttl_ns = c.ttl_ns;
    lru->seed = draw_seed(lru);
    /* Every slot on its stripe's free list, in order; touching them all now also commits the
     * memory, so the cache's footprint does not grow later. */
    memset(lru->entries, 0, c.capacity * sizeof(struct entry));
    for (s = 0; s < c.stripes; s++) {
        struct stripe *st = &lru->stripes[s];
        size_t n = stripe_slots(c.capacity, c.stripes, s);

        memset(st, 0, sizeof(*st));
        if (pthread_mutex_init(&st->lock, NULL) != 0)
            goto fail;
        inited++;
        st->entries = lru->entries;
        st->index = lru->index + bucket;
        st->nbuckets = pow2_at_least(n);
        for (i = 0; i < st->nbuckets; i++)
            st->index[i] = NIL;
        bucket += st->nbuckets;
        for (i = 0; i < n; i++)
            lru->entries[slot + i].next = i + 1 < n ? (uint32_t)(slot + i + 1) : NIL;
        st->free = (uint32_t)slot;
        st->head = st->tail = NIL;
        slot += n;
    }
    *out = lru;
    return 0;

fail:
    vox_diag_set(diag, "session cache: out of memory for %zu entries (%zu bytes)", c.capacity,
                 sizeof(*lru) + c.capacity * sizeof(struct entry) +
                     pow2_at_least(c.capacity) * sizeof(uint32_t));
    if (lru) {
        for (s = 0; s < inited; s++)
            pthread_mutex_destroy(&lru->stripes[s].lock);
        lru_free_memory(lru);
    }
    return VOX_ENOMEM;
}

void vox_lru_destroy(struct vox_lru *c)
{
    unsigned s;
    uint32_t i;

    if (!c)
        return;
    for (s = 0; s < c->nstripes; s++) {
        struct stripe *st = &c->stripes[s];

        for (i = st->head; i != NIL; i = c->entries[i].next)
            if (c->unref)
                c->unref(c->entries[i].value);
        pthread_mutex_destroy(&st->lock);
    }
    lru_free_memory(c);
}

/* ---- list and index, all under the stripe's lock --------------------------------------------- */

static void list_unlink(struct stripe *c, uint32_t i)
{
    struct entry *e = &c->entries[i];

    if (e->prev != NIL)
        c->entries[e->prev].next = e->next;
    else
        c->head = e->next;
    if (e->next != NIL)
        c->entries[e->next].prev = e->prev;
    else
        c->tail = e->prev;
}

static void list_push_head(struct stripe *c, uint32_t i)
{
    struct entry *e = &c->entries[i];

    e->prev = NIL;
    e->next = c->head;
    if (c->head != NIL)
        c->entries[c->head].prev = i;
    else
        c->tail = i;
    c->head = i;
}

/* The slot holding the key, or NIL; *link_out gets the link that points at it. */
static uint32_t lookup(struct stripe *c, uint64_t h, const char *key, size_t key_len,
                       uint32_t **link_out)
{
    uint32_t *link = &c->index[h & (c->nbuckets - 1)];

    for (; *link != NIL; link = &c->entries[*link].chain) {
        const struct entry *e = &c->entries[*link];

        if (e->hash == h && e->key_len == key_len && (!key_len || !memcmp(e->key, key, key_len)))
            break;
    }
    *link_out = link;
    return *link;
}

/* Takes the slot out of the index and the list and puts it on the free list; returns the
 * value it held, for the caller to unref once the lock is released. */
static void *drop(struct stripe *c, uint32_t i, uint32_t *link)
{
    struct entry *e = &c->entries[i];
    void *v = e->value;

    *link = e->chain;
    list_unlink(c, i);
    e->value = NULL;
    e->next = c->free;
    c->free = i;
    c->count--;
    return v;
}

/* The link pointing at slot i in its chain (the slot must be indexed). */
static uint32_t *link_of(struct stripe *c, uint32_t i)
{
    uint32_t *link = &c->index[c->entries[i].hash & (c->nbuckets - 1)];

    while (*link != i)
        link = &c->entries[*link].chain;
    return link;
}

/* The stripe of a hash: its high bits, so that the bucket (low bits) stays independent. */
static inline struct stripe *stripe_of(const struct vox_lru *c, uint64_t h)
{
    return c->stripe_bits ? &c->stripes[h >> (64 - c->stripe_bits)] : &c->stripes[0];
}

/* ---- operations ------------------------------------------------------------------------------ */

void *vox_lru_get(struct vox_lru *c, const char *key, size_t key_len)
{
    int timed = (++time_tick % VOX_LRU_TIME_EVERY) == 0;
    int bad_key = key_len > VOX_LRU_MAX_KEY || (!key && key_len);
    uint64_t t0 = 0, now = 0, h = 0;
    void *v = NULL, *stale = NULL;
    struct stripe *st;
    uint32_t i, *link;

    if (timed || c->ttl_ns)
        t0 = now = c->now_ns();
    if (!bad_key)
        h = vox_store_hash(c->seed, key, key_len);
    st = stripe_of(c, h);

    pthread_mutex_lock(&st->lock);
    st->st.lookups++;
    if (bad_key) {
        st->st.long_keys += key_len > VOX_LRU_MAX_KEY;
        st->st.misses++;
        goto out;
    }
    i = lookup(st, h, key, key_len, &link);
    if (i == NIL) {
        st->st.misses++;
        goto out;
    }
    if (c->ttl_ns && now - st->entries[i].put_ns >= c->ttl_ns) {
        stale = drop(st, i, link);
        st->st.expired++;
        st->st.misses++;
        goto out;
    }
    v = st->entries[i].value;
    if (c->ref)
        c->ref(v);
    if (st->head != i) {
        list_unlink(st, i);
        list_push_head(st, i);
    }
    st->st.hits++;
out:
    if (timed) {
        /* One get in VOX_LRU_TIME_EVERY stands for the others: a clock read costs about as
         * much as a whole get (26 ns against 45-70 ns on the 2-vCPU VM), so timing every one
         * would double the cost being measured. The end is read under the lock so that the
         * sum is updated in the same critical section. */
        st->st.lookup_ns_sum += (c->now_ns() - t0) * VOX_LRU_TIME_EVERY;
        st->st.lookups_timed++;
    }
    pthread_mutex_unlock(&st->lock);
    if (stale && c->unref)
        c->unref(stale);
    return v;
}

int vox_lru_put(struct vox_lru *c, const char *key, size_t key_len, void *value)
{
    void *old = NULL;
    struct stripe *st;
    uint32_t i, *link;
    uint64_t h, now;

    if (!value || (!key && key_len))
        return VOX_EINVAL;
    if (key_len > VOX_LRU_MAX_KEY) {
        st = &c->stripes[0];
        pthread_mutex_lock(&st->lock);
        st->st.long_keys++;
        pthread_mutex_unlock(&st->lock);
        return VOX_ERANGE;
    }
    h = vox_store_hash(c->seed, key, key_len);
    st = stripe_of(c, h);
    now = c->ttl_ns ? c->now_ns() : 0;
    /* The caller holds a reference, so the value cannot die before the cache owns its own. */
    if (c->ref)
        c->ref(value);

    pthread_mutex_lock(&st->lock);
    st->st.puts++;
    i = lookup(st, h, key, key_len, &link);
    if (i != NIL) {
        old = st->entries[i].value;
        list_unlink(st, i);
    } else {
        if (st->free == NIL) {
            /* Full: the least recently used slot is reused for the new key. */
            uint32_t victim = st->tail;

            old = drop(st, victim, link_of(st, victim));
            st->st.evictions++;
            /* Dropping may have emptied the chain `link` ends: look the link up again. */
            lookup(st, h, key, key_len, &link);
        }
        i = st->free;
        st->free = st->entries[i].next;
        st->entries[i].hash = h;
        st->entries[i].key_len = (uint32_t)key_len;
        if (key_len)
            memcpy(st->entries[i].key, key, key_len);
        st->entries[i].chain = NIL;
        *link = i;
        st->count++;
    }
    st->entries[i].value = value;
    st->entries[i].put_ns = now;
    list_push_head(st, i);
    pthread_mutex_unlock(&st->lock);
    if (old && c->unref)
        c->unref(old);
    return 0;
}

void vox_lru_remove(struct vox_lru *c, const char *key, size_t key_len)
{
    struct stripe *st;
    void *v = NULL;
    uint32_t i, *link;
    uint64_t h;

    if (key_len > VOX_LRU_MAX_KEY || (!key && key_len))
        return;
    h = vox_store_hash(c->seed, key, key_len);
    st = stripe_of(c, h);
    pthread_mutex_lock(&st->lock);
    i = lookup(st, h, key, key_len, &link);
    if (i != NIL)
        v = drop(st, i, link);
    pthread_mutex_unlock(&st->lock);
    if (v && c->unref)
        c->unref(v);
}

void vox_lru_stats(const struct vox_lru *c, struct vox_lru_stats *out)
{
    unsigned s;

    memset(out, 0, sizeof(*out));
    for (s = 0; s < c->nstripes; s++) {
        struct stripe *st = &c->stripes[s]; /* the locks are not observable state */

        pthread_mutex_lock(&st->lock);
        out->lookups += st->st.lookups;
        out->hits += st->st.hits;
        out->misses += st->st.misses;
        out->expired += st->st.expired;
        out->evictions += st->st.evictions;
        out->puts += st->st.puts;
        out->long_keys += st->st.long_keys;
        out->lookup_ns_sum += st->st.lookup_ns_sum;
        out->lookups_timed += st->st.lookups_timed;
        out->entries += st->count;
        pthread_mutex_unlock(&st->lock);
    }
    out->capacity = c->capacity;
    out->stripes = c->nstripes;
    out->bytes = sizeof(*c) + c->capacity * sizeof(struct entry) +
                 c->index_total * sizeof(uint32_t) + c->stripes_mem_bytes;
}
