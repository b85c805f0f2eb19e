/* SPDX-License-Identifier: MIT */
/* Allocator backend "pool": size-class slabs with per-thread caches, growing up to a cap. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/*
 * Layout. Requests up to 64 KiB are rounded up to one of 44 size classes: multiples of 16 up
 * to 128 bytes, then four classes per power of two (160, 192, 224, 256, 320, ...), so that
 * audio frames (320 bytes for 20 ms of 8 kHz PCM16, 1280 for 16 kHz stereo) waste nothing.
 * Each class has a central free list and a bump region carved from slabs that are mmap()ed
 * from the OS and only returned at fini. Each thread keeps a small LIFO cache per class: the
 * fast path is a pop or a push on it, with no lock and no atomic read-modify-write. A cache
 * refills from, and spills half of itself to, the central list in batches; when no recycled
 * block is left anywhere it carves new ones from a private run of fresh slab memory.
 *
 * Accounting. A hit is a block that was used before (recycled); a miss is a block carved from
 * fresh slab memory or a request too large for the classes. bytes_reserved counts slabs plus
 * large blocks, and the cap bounds it: past the cap vox_alloc() returns NULL.
 */

#define NCLASSES    44
#define MAX_SMALL   65536
#define SLAB_HEADER 64

#define DEFAULT_CAP   ((size_t)1 << 30)
#define DEFAULT_SLAB  ((size_t)64 * 1024)
#define DEFAULT_CACHE 64

struct block {
    struct block *next;
};

struct slab {
    struct slab *next;
    size_t bytes;
};

/* A large block's header, in front of the 64-byte-aligned user pointer. */
struct large {
    struct large *prev;
    struct large *next;
    size_t bytes;
    char pad[SLAB_HEADER - 3 * sizeof(void *)];
};

struct central {
    pthread_mutex_t lock;
    struct block *free; /* recycled blocks, linked through their first word */
    char *bump;         /* unused part of this class's newest slab */
    char *bump_end;
} __attribute__((aligned(64)));

struct bin {
    struct block *head; /* recycled blocks, most recently freed first */
    uint32_t count;
    char *run; /* fresh memory this thread carves blocks from, never handed out */
    char *run_end;
};

struct tcache {
    struct pool *pool;
    struct tcache *prev;
    struct tcache *next;
    _Atomic uint64_t hits; /* written by the owner only, read by stats */
    _Atomic uint64_t misses;
    struct bin bins[NCLASSES];
};

struct pool {
    uint64_t id; /* unique per instance, so a stale thread-local hint never matches */
    size_t cap_bytes;
    size_t slab_bytes;
    uint32_t cache_max;
    int key_ok;
    pthread_key_t key;
    pthread_mutex_t lock; /* slabs, larges, caches, retired counters */
    struct slab *slabs;
    struct large *larges;
    struct tcache *caches;
    uint64_t retired_hits; /* counters of caches whose thread has exited */
    uint64_t retired_misses;
    _Atomic uint64_t reserved;
    _Atomic uint64_t shared_hits;   /* blocks served without a thread cache */
    _Atomic uint64_t shared_misses; /* ditto, plus large blocks */
    struct central classes[NCLASSES];
};

static _Atomic uint64_t next_pool_id = 1;

/* The calling thread's cache of the pool it used last: one compare instead of a TSD lookup. */
static _Thread_local struct {
    uint64_t id;
    struct tcache *tc;
} tls_last;

/* ---- size classes ---------------------------------------------------------------------------- */

/* Classes of sizes up to 1024 bytes, indexed by (size + 15) / 16: one load on the hot path. */
static uint8_t small_class[1024 / 16 + 1];

static unsigned class_of_slow(size_t size)
{
    size_t s;
    unsigned msb;

    if (size <= 128)
        return (unsigned)((size + 15) / 16) - 1;
    s = size - 1;
    msb = 63u - (unsigned)__builtin_clzll((unsigned long long)s);
    return 8u + (msb - 7u) * 4u + (unsigned)((s >> (msb - 2u)) & 3u);
}

static inline unsigned class_of(size_t size)
{
    if (__builtin_expect(size <= 1024, 1))
        return small_class[(size + 15) >> 4];
    return class_of_slow(size);
}

static pthread_once_t small_class_once = PTHREAD_ONCE_INIT;

static void small_class_fill(void)
{
    size_t i;

    small_class[0] = 0;
    for (i = 1; i < sizeof(small_class); i++)
        small_class[i] = (uint8_t)class_of_slow(i * 16);
}

static inline size_t class_size(unsigned cls)
{
    unsigned k, msb;

    if (cls < 8)
        return (size_t)(cls + 1) * 16;
    k = cls - 8;
    msb = 7 + k / 4;
    return ((size_t)1 << msb) + (size_t)(k % 4 + 1) * ((size_t)1 << (msb - 2));
}

/* ---- block links, kept poisoned while a block is free ---------------------------------------- */

static inline struct block *link_get(struct block *b)
{
    struct block *n;

    VOX__UNPOISON(b, sizeof(*b));
    n = b->next;
    VOX__POISON(b, sizeof(*b));
    return n;
}

static inline void link_set(struct block *b, struct block *n)
{
    VOX__UNPOISON(b, sizeof(*b));
    b->next = n;
    VOX__POISON(b, sizeof(*b));
}

static inline void own_add(_Atomic uint64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

/* ---- slabs ----------------------------------------------------------------------------------- */

static int reserve(struct pool *p, size_t bytes)
{
    uint64_t cur = atomic_load_explicit(&p->reserved, memory_order_relaxed);

    do {
        if (cur + bytes > p->cap_bytes)
            return VOX_ELIMIT;
    } while (!atomic_compare_exchange_weak_explicit(&p->reserved, &cur, cur + bytes,
                                                    memory_order_relaxed, memory_order_relaxed));
    return 0;
}

/* Gives class `c` a new bump region. Called with c->lock held. */
static int slab_grow(struct pool *p, struct central *c, size_t csize)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = p->slab_bytes;
    struct slab *s;
    void *mem;

    if (bytes < SLAB_HEADER + 8 * csize)
        bytes = SLAB_HEADER + 8 * csize;
    bytes = (bytes + page - 1) & ~(page - 1);
    if (reserve(p, bytes))
        return VOX_ELIMIT;
    mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        atomic_fetch_sub_explicit(&p->reserved, bytes, memory_order_relaxed);
        return VOX_ENOMEM;
    }
    s = mem;
    s->bytes = bytes;
    pthread_mutex_lock(&p->lock);
    s->next = p->slabs;
    p->slabs = s;
    pthread_mutex_unlock(&p->lock);
    c->bump = (char *)mem + SLAB_HEADER;
    c->bump_end = (char *)mem + bytes;
    VOX__POISON(c->bump, (size_t)(c->bump_end - c->bump));
    return 0;
}

/* Moves up to `want` recycled blocks from the central list into an empty bin; returns how many. */
static uint32_t refill(struct pool *p, struct bin *bin, unsigned cls, uint32_t want)
{
    struct central *c = &p->classes[cls];
    struct block *head = NULL;
    uint32_t n = 0;

    pthread_mutex_lock(&c->lock);
    while (n < want && c->free) {
        struct block *b = c->free;

        c->free = link_get(b);
        link_set(b, head);
        head = b;
        n++;
    }
    pthread_mutex_unlock(&c->lock);
    bin->head = head;
    bin->count = n;
    return n;
}

/*
 * Takes fresh memory for up to `want` blocks of class `cls` from its slab, growing the slab
 * when it is used up. Returns the start and stores the number of blocks in *got, or returns
 * NULL when the cap or the OS refuses.
 */
static char *carve(struct pool *p, unsigned cls, uint32_t want, uint32_t *got)
{
    struct central *c = &p->classes[cls];
    size_t csize = class_size(cls), avail;
    char *start = NULL;

    pthread_mutex_lock(&c->lock);
    if ((size_t)(c->bump_end - c->bump) < csize && slab_grow(p, c, csize))
        goto out;
    avail = (size_t)(c->bump_end - c->bump) / csize;
    *got = avail < want ? (uint32_t)avail : want;
    start = c->bump;
    c->bump += (size_t)*got * csize;
out:
    pthread_mutex_unlock(&c->lock);
    return start;
}

static void central_push(struct pool *p, unsigned cls, struct block *b)
{
    struct central *c = &p->classes[cls];

    pthread_mutex_lock(&c->lock);
    link_set(b, c->free);
    c->free = b;
    pthread_mutex_unlock(&c->lock);
}

/* Moves the `n` most recently freed blocks of a bin to the central list. */
static void spill(struct pool *p, struct bin *bin, unsigned cls, uint32_t n)
{
    struct central *c = &p->classes[cls];
    struct block *first = bin->head, *last = bin->head;
    uint32_t i;

    if (!n)
        return;
    for (i = 1; i < n; i++)
        last = link_get(last);
    bin->head = link_get(last);
    bin->count -= n;
    pthread_mutex_lock(&c->lock);
    link_set(last, c->free);
    c->free = first;
    pthread_mutex_unlock(&c->lock);
}

/* ---- thread caches --------------------------------------------------------------------------- */

static void tcache_retire(struct tcache *tc)
{
    struct pool *p = tc->pool;
    unsigned cls;

    for (cls = 0; cls < NCLASSES; cls++) {
        struct bin *bin = &tc->bins[cls];
        size_t csize = class_size(cls);

        spill(p, bin, cls, bin->count);
        /* The unused part of the run becomes ordinary free blocks: another thread's first use
         * of one of them will count as a hit, which is the price of not keeping run lists. */
        for (; bin->run + csize <= bin->run_end; bin->run += csize)
            central_push(p, cls, (struct block *)bin->run);
    }
    pthread_mutex_lock(&p->lock);
    p->retired_hits += atomic_load_explicit(&tc->hits, memory_order_relaxed);
    p->retired_misses += atomic_load_explicit(&tc->misses, memory_order_relaxed);
    if (tc->prev)
        tc->prev->next = tc->next;
    else
        p->caches = tc->next;
    if (tc->next)
        tc->next->prev = tc->prev;
    pthread_mutex_unlock(&p->lock);
    free(tc);
}

/* Thread exit: give the cached blocks back so other threads can reuse them. */
static void tcache_destructor(void *v)
{
    /* A later destructor on this thread may still allocate: it must not find the freed cache. */
    tls_last.id = 0;
    tls_last.tc = NULL;
    tcache_retire(v);
}

static struct tcache *tcache_get(struct pool *p)
{
    struct tcache *tc;

    if (__builtin_expect(tls_last.id == p->id, 1))
        return tls_last.tc;
    if (!p->key_ok)
        return NULL;
    tc = pthread_getspecific(p->key);
    if (!tc) {
        /* Bookkeeping memory, not pool memory: it comes from libc like the front end's. */
        tc = calloc(1, sizeof(*tc));
        if (!tc)
            return NULL;
        tc->pool = p;
        if (pthread_setspecific(p->key, tc) != 0) {
            free(tc);
            return NULL;
        }
        pthread_mutex_lock(&p->lock);
        tc->next = p->caches;
        if (p->caches)
            p->caches->prev = tc;
        p->caches = tc;
        pthread_mutex_unlock(&p->lock);
    }
    tls_last.id = p->id;
    tls_last.tc = tc;
    return tc;
}

/* ---- large blocks
 * -------------------------------------------------------------------------------- */

static void *large_alloc(struct pool *p, size_t size)
{
    struct large *h;
    size_t total;

    if (__builtin_add_overflow(size, sizeof(*h), &total) || reserve(p, total))
        return NULL;
    if (posix_memalign((void **)&h, SLAB_HEADER, total) != 0) {
        atomic_fetch_sub_explicit(&p->reserved, total, memory_order_relaxed);
        return NULL;
    }
    h->bytes = total;
    h->prev = NULL;
    pthread_mutex_lock(&p->lock);
    h->next = p->larges;
    if (p->larges)
        p->larges->prev = h;
    p->larges = h;
    pthread_mutex_unlock(&p->lock);
    atomic_fetch_add_explicit(&p->shared_misses, 1, memory_order_relaxed);
    return h + 1;
}

static void large_free(struct pool *p, void *ptr)
{
    struct large *h = (struct large *)ptr - 1;

    pthread_mutex_lock(&p->lock);
    if (h->prev)
        h->prev->next = h->next;
    else
        p->larges = h->next;
    if (h->next)
        h->next->prev = h->prev;
    pthread_mutex_unlock(&p->lock);
    atomic_fetch_sub_explicit(&p->reserved, h->bytes, memory_order_relaxed);
    free(h);
}

/* ---- ops ------------------------------------------------------------------------------------- */

static int pool_init(void *state, const struct vox_alloc_config *cfg, struct vox_diag *diag)
{
    struct pool *p = state;
    unsigned cls;

    pthread_once(&small_class_once, small_class_fill);
    p->id = atomic_fetch_add(&next_pool_id, 1);
    p->cap_bytes = cfg->cap_bytes ? cfg->cap_bytes : DEFAULT_CAP;
    p->slab_bytes = cfg->slab_bytes ? cfg->slab_bytes : DEFAULT_SLAB;
    p->cache_max = cfg->thread_cache_blocks ? (uint32_t)cfg->thread_cache_blocks : DEFAULT_CACHE;
    if (cfg->thread_cache_blocks > UINT32_MAX / 2) {
        vox_diag_set(diag, "allocator 'pool': thread_cache_blocks %zu is too large",
                     cfg->thread_cache_blocks);
        return VOX_EINVAL;
    }
    /* Without a TSD key every call goes to the central lists: slower, still correct. */
    p->key_ok = pthread_key_create(&p->key, tcache_destructor) == 0;
    pthread_mutex_init(&p->lock, NULL);
    for (cls = 0; cls < NCLASSES; cls++)
        pthread_mutex_init(&p->classes[cls].lock, NULL);
    return 0;
}

static void pool_fini(void *state)
{
    struct pool *p = state;
    unsigned cls;

    /* Deleting the key first means no thread-exit destructor can run on a cache freed below. */
    if (p->key_ok)
        pthread_key_delete(p->key);
    while (p->caches) {
        struct tcache *tc = p->caches;

        p->caches = tc->next;
        free(tc);
    }
    while (p->larges) {
        struct large *h = p->larges;

        p->larges = h->next;
        free(h);
    }
    while (p->slabs) {
        struct slab *s = p->slabs;

        p->slabs = s->next;
        VOX__UNPOISON(s, s->bytes);
        munmap(s, s->bytes);
    }
    for (cls = 0; cls < NCLASSES; cls++)
        pthread_mutex_destroy(&p->classes[cls].lock);
    pthread_mutex_destroy(&p->lock);
}

/* Everything but a pop from a warm bin: kept out of line so the fast path needs no frame. */
__attribute__((noinline)) static void *alloc_slow(struct pool *p, size_t size)
{
    struct tcache *tc;
    struct bin *bin;
    struct block *b;
    unsigned cls;
    uint32_t got;

    if (size > MAX_SMALL)
        return large_alloc(p, size);
    cls = class_of(size);
    tc = tcache_get(p);
    if (__builtin_expect(!tc, 0)) {
        /* No thread cache (out of memory for one): one block straight from the central list. */
        struct bin one = {0};

        if (refill(p, &one, cls, 1)) {
            atomic_fetch_add_explicit(&p->shared_hits, 1, memory_order_relaxed);
            b = one.head;
        } else {
            b = (struct block *)carve(p, cls, 1, &got);
            if (!b)
                return NULL;
            atomic_fetch_add_explicit(&p->shared_misses, 1, memory_order_relaxed);
        }
        VOX__UNPOISON(b, size);
        return b;
    }
    bin = &tc->bins[cls];
    if (bin->head || refill(p, bin, cls, p->cache_max / 2 + 1)) {
        b = bin->head;
        bin->head = link_get(b);
        bin->count--;
        own_add(&tc->hits, 1);
    } else {
        size_t csize = class_size(cls);

        if ((size_t)(bin->run_end - bin->run) < csize) {
            bin->run = carve(p, cls, p->cache_max / 2 + 1, &got);
            if (!bin->run) {
                bin->run_end = NULL;
                return NULL;
            }
            bin->run_end = bin->run + (size_t)got * csize;
        }
        b = (struct block *)bin->run;
        bin->run += csize;
        own_add(&tc->misses, 1);
    }
    /* Only the bytes asked for: ASan then also reports overflows into the class's slack. */
    VOX__UNPOISON(b, size);
    return b;
}

__attribute__((noinline)) static void free_slow(struct pool *p, void *ptr, size_t size)
{
    struct block *b = ptr;
    struct tcache *tc;
    struct bin *bin;
    unsigned cls;

    if (size > MAX_SMALL) {
        large_free(p, ptr);
        return;
    }
    cls = class_of(size);
#ifdef VOX__ASAN
    VOX__POISON(b, class_size(cls));
#endif
    tc = tcache_get(p);
    if (__builtin_expect(!tc, 0)) {
        central_push(p, cls, b);
        return;
    }
    bin = &tc->bins[cls];
    link_set(b, bin->head);
    bin->head = b;
    bin->count++;
    if (bin->count > p->cache_max)
        spill(p, bin, cls, bin->count - p->cache_max / 2);
}

/*
 * The fast paths: a small block, this thread's cache of this pool already looked up, and a
 * pop from a non-empty bin or a push onto a bin with room. About a dozen instructions.
 */
static void *pool_alloc(void *state, size_t size)
{
    struct pool *p = state;

    if (__builtin_expect(size <= 1024 && tls_last.id == p->id, 1)) {
        struct tcache *tc = tls_last.tc;
        struct bin *bin = &tc->bins[small_class[(size + 15) >> 4]];
        struct block *b = bin->head;

        if (__builtin_expect(b != NULL, 1)) {
            bin->head = link_get(b);
            bin->count--;
            own_add(&tc->hits, 1);
            VOX__UNPOISON(b, size);
            return b;
        }
    }
    return alloc_slow(p, size);
}

static void pool_free(void *state, void *ptr, size_t size)
{
    struct pool *p = state;

    if (__builtin_expect(size <= 1024 && tls_last.id == p->id, 1)) {
        unsigned cls = small_class[(size + 15) >> 4];
        struct bin *bin = &tls_last.tc->bins[cls];

        if (__builtin_expect(bin->count < p->cache_max, 1)) {
            struct block *b = ptr;

#ifdef VOX__ASAN
            VOX__POISON(b, class_size(cls));
#endif
            link_set(b, bin->head);
            bin->head = b;
            bin->count++;
            return;
        }
    }
    free_slow(p, ptr, size);
}

static void pool_stats(void *state, struct vox_alloc_stats *out)
{
    struct pool *p = state;
    struct tcache *tc;

    pthread_mutex_lock(&p->lock);
    out->pool_hits = p->retired_hits;
    out->pool_misses = p->retired_misses;
    for (tc = p->caches; tc; tc = tc->next) {
        out->pool_hits += atomic_load_explicit(&tc->hits, memory_order_relaxed);
        out->pool_misses += atomic_load_explicit(&tc->misses, memory_order_relaxed);
    }
    pthread_mutex_unlock(&p->lock);
    out->pool_hits += atomic_load_explicit(&p->shared_hits, memory_order_relaxed);
    out->pool_misses += atomic_load_explicit(&p->shared_misses, memory_order_relaxed);
    out->bytes_reserved = atomic_load_explicit(&p->reserved, memory_order_relaxed);
}

const struct vox_allocator_ops vox__alloc_pool_ops = {
    .name = "pool",
    .abi_version = VOX_ALLOCATOR_ABI_VERSION,
    .description = "size-class slabs, per-thread caches, capped growth, hit/miss stats",
    .state_bytes = sizeof(struct pool),
    .init = pool_init,
    .fini = pool_fini,
    .alloc = pool_alloc,
    .free = pool_free,
    .stats = pool_stats,
};
