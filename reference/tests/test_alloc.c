/* SPDX-License-Identifier: MIT */
/* Allocator tests: one contract suite every backend passes, the registry, and pool specifics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc/internal.h"
#include "vox/alloc.h"
#include "vox/config.h"
#include "vox/core.h"

static const char *backend; /* set from --backend */

static struct vox_allocator *make(const char *name, const struct vox_alloc_config *cfg)
{
    struct vox_allocator *a = NULL;
    struct vox_diag diag = {{0}};
    int rc = vox_allocator_create(name, cfg, &a, &diag);

    if (rc)
        fail_msg("vox_allocator_create(%s): %s: %s", name, vox_err_name(rc), diag.text);
    assert_non_null(a);
    assert_string_equal(vox_allocator_name(a), name);
    return a;
}

/* A byte pattern unique to (block, offset), to catch overlapping or reused live blocks. */
static void fill(unsigned char *p, size_t n, uint32_t tag)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(tag * 31u + i);
}

static int check(const unsigned char *p, size_t n, uint32_t tag)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] != (unsigned char)(tag * 31u + i))
            return 0;
    return 1;
}

/* ---- contract -------------------------------------------------------------------------------- */

static void contract_alignment(void **st)
{
    static const size_t sizes[] = {1,    7,    8,     15,    16,    17,    24,     40,   56,
                                   100,  129,  160,   320,   640,   1280,  1500,   4095, 4096,
                                   7680, 9000, 32768, 65535, 65536, 65537, 1 << 20};
    struct vox_allocator *a = make(backend, NULL);
    void *ps[sizeof(sizes) / sizeof(sizes[0])];
    size_t i;

    (void)st;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        ps[i] = vox_alloc(a, sizes[i]);
        assert_non_null(ps[i]);
        assert_int_equal((uintptr_t)ps[i] % VOX_ALLOC_ALIGN, 0);
        fill(ps[i], sizes[i], (uint32_t)i);
    }
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_true(check(ps[i], sizes[i], (uint32_t)i));
        vox_free(a, ps[i], sizes[i]);
    }
    vox_allocator_destroy(a);
}

static void contract_zero_size(void **st)
{
    struct vox_allocator *a = make(backend, NULL);
    void *p = vox_alloc(a, 0), *q = vox_alloc(a, 0);

    (void)st;
    assert_non_null(p);
    assert_non_null(q);
    assert_ptr_not_equal(p, q);
    vox_free(a, p, 0);
    vox_free(a, q, 0);
    vox_free(a, NULL, 0); /* a no-op */
    vox_free(a, NULL, 100);
    vox_allocator_destroy(a);
    vox_allocator_destroy(NULL);
}

static void contract_reuse_keeps_live_blocks_intact(void **st)
{
    enum { N = 2000 };
    struct vox_allocator *a = make(backend, NULL);
    unsigned char **ps = calloc(N, sizeof(*ps));
    uint32_t *tags = calloc(N, sizeof(*tags));
    size_t i, round;

    (void)st;
    assert_non_null(ps);
    assert_non_null(tags);
    for (i = 0; i < N; i++) {
        ps[i] = vox_alloc(a, 320);
        assert_non_null(ps[i]);
        tags[i] = (uint32_t)i;
        fill(ps[i], 320, tags[i]);
    }
    /* Free every other block and allocate again: the new blocks may reuse the freed ones but
     * must never overlap the blocks still live. */
    for (round = 1; round <= 3; round++) {
        for (i = round % 2; i < N; i += 2)
            vox_free(a, ps[i], 320);
        for (i = round % 2; i < N; i += 2) {
            ps[i] = vox_alloc(a, 320);
            assert_non_null(ps[i]);
            tags[i] = (uint32_t)(i + round * N);
            fill(ps[i], 320, tags[i]);
        }
        for (i = 0; i < N; i++)
            assert_true(check(ps[i], 320, tags[i]));
    }
    for (i = 0; i < N; i++)
        vox_free(a, ps[i], 320);
    free(tags);
    free(ps);
    vox_allocator_destroy(a);
}

static void contract_stats_consistent(void **st)
{
    enum { N = 500 };
    struct vox_allocator *a = make(backend, NULL);
    struct vox_alloc_stats s0, s1, s2;
    void *ps[N];
    uint64_t sum = 0;
    size_t i;

    (void)st;
    vox_allocator_stats(a, &s0);
    assert_int_equal(s0.alloc_calls, 0);
    assert_int_equal(s0.bytes_in_use, 0);
    for (i = 0; i < N; i++) {
        size_t n = 16 + (i * 37) % 3000;

        ps[i] = vox_alloc(a, n);
        assert_non_null(ps[i]);
        sum += n;
    }
    vox_allocator_stats(a, &s1);
    assert_int_equal(s1.alloc_calls, N);
    assert_int_equal(s1.free_calls, 0);
    assert_int_equal(s1.bytes_in_use, sum);
    assert_true(s1.bytes_in_use_peak >= sum);
    for (i = 0; i < N; i++)
        vox_free(a, ps[i], 16 + (i * 37) % 3000);
    vox_allocator_stats(a, &s2);
    assert_int_equal(s2.alloc_calls, N);
    assert_int_equal(s2.free_calls, N);
    assert_int_equal(s2.failed_calls, 0);
    assert_int_equal(s2.bytes_in_use, 0);
    /* The peak never falls, and is exact to within the documented slack. */
    assert_true(s2.bytes_in_use_peak >= sum);
    assert_true(s2.bytes_in_use_peak <= sum + VOX_ALLOC_PEAK_SLACK_BYTES);
    vox_allocator_destroy(a);
}

static void contract_array_overflow(void **st)
{
    struct vox_allocator *a = make(backend, NULL);
    struct vox_alloc_stats s;
    void *p;

    (void)st;
    assert_null(vox_alloc_array(a, SIZE_MAX / 2, 3));
    p = vox_alloc_array(a, 160, sizeof(int16_t));
    assert_non_null(p);
    vox_free(a, p, 160 * sizeof(int16_t));
    vox_allocator_stats(a, &s);
    assert_int_equal(s.alloc_calls, 1);
    vox_allocator_destroy(a);
}

static void contract_free_preserves_errno(void **st)
{
    struct vox_allocator *a = make(backend, NULL);
    void *p = vox_alloc(a, 64);

    (void)st;
    errno = EPIPE;
    vox_free(a, p, 64);
    assert_int_equal(errno, EPIPE);
    vox_allocator_destroy(a);
}

struct worker_arg {
    struct vox_allocator *a;
    unsigned seed;
    int ok;
    void **handoff; /* blocks this thread leaves for another thread to free */
    size_t handoff_n;
};

static void *worker(void *v)
{
    enum { LIVE = 64, OPS = 20000 };
    struct worker_arg *w = v;
    unsigned char *live[LIVE] = {0};
    size_t sizes[LIVE] = {0};
    unsigned s = w->seed;
    int i;

    w->ok = 1;
    for (i = 0; i < OPS; i++) {
        unsigned k;

        s = s * 1103515245u + 12345u;
        k = (s >> 16) % LIVE;
        if (live[k]) {
            if (!check(live[k], sizes[k], k + w->seed))
                w->ok = 0;
            vox_free(w->a, live[k], sizes[k]);
            live[k] = NULL;
        } else {
            sizes[k] = 1 + (s >> 8) % 2048;
            live[k] = vox_alloc(w->a, sizes[k]);
            if (!live[k]) {
                w->ok = 0;
                continue;
            }
            fill(live[k], sizes[k], k + w->seed);
        }
    }
    for (i = 0; i < LIVE; i++) {
        if (live[i] && !check(live[i], sizes[i], (unsigned)i + w->seed))
            w->ok = 0;
        if (live[i])
            vox_free(w->a, live[i], sizes[i]);
    }
    /* Blocks for the next thread to free: frees that cross threads must work. */
    for (i = 0; i < (int)w->handoff_n; i++)
        w->handoff[i] = vox_alloc(w->a, 320);
    return NULL;
}

static void contract_many_threads(void **st)
{
    enum { T = 8, H = 100 };
    struct vox_allocator *a = make(backend, NULL);
    pthread_t th[T];
    struct worker_arg args[T];
    void *handoff[T][H];
    struct vox_alloc_stats s;
    int i, j;

    (void)st;
    for (i = 0; i < T; i++) {
        args[i] = (struct worker_arg){
            .a = a, .seed = 7u + (unsigned)i * 1000u, .handoff = handoff[i], .handoff_n = H};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (i = 0; i < T; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_true(args[i].ok);
    }
    /* Free, on this thread, what the (now exited) workers allocated. */
    for (i = 0; i < T; i++) {
        for (j = 0; j < H; j++) {
            assert_non_null(handoff[i][j]);
            vox_free(a, handoff[i][j], 320);
        }
    }
    vox_allocator_stats(a, &s);
    assert_int_equal(s.alloc_calls, s.free_calls);
    assert_int_equal(s.failed_calls, 0);
    assert_int_equal(s.bytes_in_use, 0);
    assert_true(s.alloc_calls >= T * H);
    vox_allocator_destroy(a);
}

/* More threads than per-thread counter slots, all alive at once: the overflow slot is shared
 * and must still count exactly. */
static void *slot_hog(void *v)
{
    struct worker_arg *w = v;
    void *p;
    int i;

    for (i = 0; i < 200; i++) {
        p = vox_alloc(w->a, 48);
        if (!p)
            w->ok = 0;
        vox_free(w->a, p, 48);
    }
    return NULL;
}

static void contract_more_threads_than_slots(void **st)
{
    enum { T = VOX__ALLOC_SLOTS + 16 };
    struct vox_allocator *a = make(backend, NULL);
    pthread_t th[T];
    struct worker_arg w = {.a = a, .ok = 1};
    struct vox_alloc_stats s;
    int i;

    (void)st;
    for (i = 0; i < T; i++)
        assert_int_equal(pthread_create(&th[i], NULL, slot_hog, &w), 0);
    for (i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    assert_true(w.ok);
    vox_allocator_stats(a, &s);
    assert_int_equal(s.alloc_calls, (uint64_t)T * 200);
    assert_int_equal(s.free_calls, (uint64_t)T * 200);
    assert_int_equal(s.bytes_in_use, 0);
    vox_allocator_destroy(a);
}

/* ---- registry -------------------------------------------------------------------------------- */

static void registry_unknown_name(void **st)
{
    struct vox_allocator *a = (void *)1;
    struct vox_diag diag = {{0}};

    (void)st;
    assert_int_equal(vox_allocator_create("tcmalloc", NULL, &a, &diag), VOX_EUNKNOWN_BACKEND);
    assert_null(a);
    assert_non_null(strstr(diag.text, "'tcmalloc'"));
    assert_non_null(strstr(diag.text, "system, pool"));
    /* A NULL diag is allowed. */
    assert_int_equal(vox_allocator_create("", NULL, &a, NULL), VOX_EUNKNOWN_BACKEND);
    assert_int_equal(vox_allocator_create(NULL, NULL, &a, NULL), VOX_EUNKNOWN_BACKEND);
    assert_int_equal(vox_allocator_create("system", NULL, NULL, NULL), VOX_EINVAL);
}

static void registry_optional_backends(void **st)
{
    struct vox_allocator *a = NULL;
    struct vox_diag diag = {{0}};
    const char *names[] = {"jemalloc", "mimalloc"};
    const int have[] = {VOX_HAVE_JEMALLOC, VOX_HAVE_MIMALLOC};
    int i, rc;

    (void)st;
    for (i = 0; i < 2; i++) {
        rc = vox_allocator_create(names[i], NULL, &a, &diag);
        if (have[i]) {
            assert_int_equal(rc, 0);
            vox_allocator_destroy(a);
        } else {
            assert_int_equal(rc, VOX_ENOT_COMPILED);
            assert_non_null(strstr(diag.text, "not compiled"));
        }
    }
}

static void registry_lists_every_backend(void **st)
{
    char names[256];
    size_t i, n = vox_allocator_backend_count();

    (void)st;
    assert_true(n >= 2 + VOX_HAVE_JEMALLOC + VOX_HAVE_MIMALLOC);
    vox_allocator_backend_names(names, sizeof(names));
    for (i = 0; i < n; i++) {
        const struct vox_allocator_ops *ops = vox_allocator_backend_at(i);

        assert_non_null(ops);
        assert_non_null(strstr(names, ops->name));
        assert_ptr_equal(vox_allocator_backend_find(ops->name), ops);
        assert_non_null(ops->description);
    }
    assert_null(vox_allocator_backend_at(n));
}

/* A fault-injecting backend: fails every allocation after the first `budget`. */
static int failing_budget;
static void *failing_alloc(void *state, size_t size)
{
    (void)state;
    if (failing_budget <= 0)
        return NULL;
    failing_budget--;
    return malloc(size);
}
static void failing_free(void *state, void *p, size_t size)
{
    (void)state;
    (void)size;
    free(p);
}
static const struct vox_allocator_ops failing_ops = {
    .name = "failing",
    .abi_version = VOX_ALLOCATOR_ABI_VERSION,
    .description = "test: fails after a budget",
    .alloc = failing_alloc,
    .free = failing_free,
};

static void registry_register_custom(void **st)
{
    static const struct vox_allocator_ops dup = {
        .name = "pool", .abi_version = 1, .alloc = failing_alloc, .free = failing_free};
    static const struct vox_allocator_ops future = {
        .name = "future", .abi_version = 99, .alloc = failing_alloc, .free = failing_free};
    struct vox_allocator *a;
    struct vox_alloc_stats s;
    void *p;

    (void)st;
    assert_int_equal(vox_allocator_register(&failing_ops), 0);
    assert_int_equal(vox_allocator_register(&failing_ops), VOX_EEXIST);
    assert_int_equal(vox_allocator_register(&dup), VOX_EEXIST);
    assert_int_equal(vox_allocator_register(&future), VOX_EINVAL);
    assert_int_equal(vox_allocator_register(NULL), VOX_EINVAL);
    failing_budget = 1;
    a = make("failing", NULL);
    p = vox_alloc(a, 10);
    assert_non_null(p);
    assert_null(vox_alloc(a, 10));
    vox_allocator_stats(a, &s);
    assert_int_equal(s.alloc_calls, 1);
    assert_int_equal(s.failed_calls, 1);
    vox_free(a, p, 10);
    vox_allocator_destroy(a);
}

static void registry_default_is_system(void **st)
{
    struct vox_allocator *d = vox_allocator_default();

    (void)st;
    assert_non_null(d);
    assert_ptr_equal(d, vox_allocator_default());
    assert_string_equal(vox_allocator_name(d), "system");
}

/* ---- pool specifics
 * ------------------------------------------------------------------------------ */

static void pool_reuses_lifo_and_counts_hits(void **st)
{
    struct vox_allocator *a = make("pool", NULL);
    struct vox_alloc_stats s;
    void *p, *q;

    (void)st;
    p = vox_alloc(a, 320);
    vox_free(a, p, 320);
    q = vox_alloc(a, 320);
    assert_ptr_equal(p, q);
    /* 300 bytes share the 320-byte class, so the same block comes back. */
    vox_free(a, q, 320);
    q = vox_alloc(a, 300);
    assert_ptr_equal(p, q);
    vox_free(a, q, 300);
    vox_allocator_stats(a, &s);
    assert_int_equal(s.pool_misses, 1);
    assert_int_equal(s.pool_hits, 2);
    vox_allocator_destroy(a);
}

static void pool_thousand_frames_miss_then_hit(void **st)
{
    enum { N = 1000 };
    struct vox_allocator *a = make("pool", NULL);
    struct vox_alloc_stats s;
    void *ps[N];
    int i, round;

    (void)st;
    for (round = 0; round < 2; round++) {
        for (i = 0; i < N; i++)
            ps[i] = vox_alloc(a, 320);
        for (i = 0; i < N; i++)
            vox_free(a, ps[i], 320);
    }
    vox_allocator_stats(a, &s);
    assert_int_equal(s.pool_misses, N);
    assert_int_equal(s.pool_hits, N);
    /* 1000 blocks of 320 bytes need at least 320000 bytes of slabs, and not wildly more. */
    assert_true(s.bytes_reserved >= N * 320);
    assert_true(s.bytes_reserved <= N * 320 + 2 * 64 * 1024);
    vox_allocator_destroy(a);
}

static void pool_cap_is_enforced_and_recovers(void **st)
{
    struct vox_alloc_config cfg = {.cap_bytes = 256 * 1024, .slab_bytes = 64 * 1024};
    struct vox_allocator *a = make("pool", &cfg);
    struct vox_alloc_stats s;
    void *ps[1024];
    int n = 0, i;

    (void)st;
    while (n < 1024 && (ps[n] = vox_alloc(a, 1024)) != NULL)
        n++;
    assert_true(n > 200);
    assert_true(n < 256);
    vox_allocator_stats(a, &s);
    assert_true(s.bytes_reserved <= cfg.cap_bytes);
    assert_int_equal(s.failed_calls, 1);
    /* A request beyond the small classes is capped too. */
    assert_null(vox_alloc(a, 1 << 20));
    for (i = 0; i < n; i++)
        vox_free(a, ps[i], 1024);
    /* Freed blocks are reusable at once, without new slabs. */
    for (i = 0; i < n; i++) {
        ps[i] = vox_alloc(a, 1024);
        assert_non_null(ps[i]);
    }
    for (i = 0; i < n; i++)
        vox_free(a, ps[i], 1024);
    vox_allocator_destroy(a);
}

static void *alloc_free_then_exit(void *v)
{
    struct vox_allocator *a = v;
    void *ps[10];
    int i;

    for (i = 0; i < 10; i++)
        ps[i] = vox_alloc(a, 640);
    for (i = 0; i < 10; i++)
        vox_free(a, ps[i], 640);
    return NULL;
}

static void pool_exiting_thread_returns_its_cache(void **st)
{
    struct vox_allocator *a = make("pool", NULL);
    struct vox_alloc_stats before, after;
    pthread_t t;
    void *ps[10];
    int i;

    (void)st;
    assert_int_equal(pthread_create(&t, NULL, alloc_free_then_exit, a), 0);
    pthread_join(t, NULL);
    vox_allocator_stats(a, &before);
    assert_int_equal(before.pool_misses, 10);
    for (i = 0; i < 10; i++)
        ps[i] = vox_alloc(a, 640);
    vox_allocator_stats(a, &after);
    /* All ten came from the exited thread's cache, handed back to the central list. */
    assert_int_equal(after.pool_misses, 10);
    assert_int_equal(after.pool_hits, before.pool_hits + 10);
    for (i = 0; i < 10; i++)
        vox_free(a, ps[i], 640);
    vox_allocator_destroy(a);
}

static void pool_every_small_size_is_usable(void **st)
{
    struct vox_allocator *a = make("pool", NULL);
    size_t n;

    (void)st;
    /* Under ASan only the requested bytes are unpoisoned, so a size class smaller than the
     * request would be reported here. */
    for (n = 1; n <= 65536 + 64; n += (n < 1024 ? 1 : 61)) {
        unsigned char *p = vox_alloc(a, n);

        assert_non_null(p);
        memset(p, 0xab, n);
        vox_free(a, p, n);
    }
    vox_allocator_destroy(a);
}

static void pool_large_blocks_are_tracked(void **st)
{
    struct vox_allocator *a = make("pool", NULL);
    struct vox_alloc_stats s;
    void *p = vox_alloc(a, 200000);

    (void)st;
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    memset(p, 1, 200000);
    vox_allocator_stats(a, &s);
    assert_true(s.bytes_reserved >= 200000);
    assert_int_equal(s.pool_misses, 1);
    vox_free(a, p, 200000);
    vox_allocator_stats(a, &s);
    assert_int_equal(s.bytes_reserved, 0);
    /* Destroying the pool with live blocks releases them (LeakSanitizer checks this). */
    assert_non_null(vox_alloc(a, 100000));
    assert_non_null(vox_alloc(a, 100));
    vox_allocator_destroy(a);
}

static void pool_use_after_free_is_reported_under_asan(void **st)
{
#ifdef VOX__ASAN
    struct vox_allocator *a = make("pool", NULL);
    pid_t pid;
    int status;

    (void)st;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        volatile unsigned char *p = vox_alloc(a, 320);
        int devnull = open("/dev/null", O_WRONLY);

        /* The child's ASan report is expected; keep it out of the test log. */
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO);

        vox_free(a, (void *)p, 320);
        p[100] = 1; /* poisoned: ASan must abort the child */
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    vox_allocator_destroy(a);
#else
    (void)st;
    skip();
#endif
}

static void pool_rejects_bad_config(void **st)
{
    struct vox_alloc_config cfg = {.thread_cache_blocks = (size_t)1 << 40};
    struct vox_allocator *a = NULL;
    struct vox_diag diag = {{0}};

    (void)st;
    assert_int_equal(vox_allocator_create("pool", &cfg, &a, &diag), VOX_EINVAL);
    assert_null(a);
    assert_non_null(strstr(diag.text, "thread_cache_blocks"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest contract[] = {
        cmocka_unit_test(contract_alignment),
        cmocka_unit_test(contract_zero_size),
        cmocka_unit_test(contract_reuse_keeps_live_blocks_intact),
        cmocka_unit_test(contract_stats_consistent),
        cmocka_unit_test(contract_array_overflow),
        cmocka_unit_test(contract_free_preserves_errno),
        cmocka_unit_test(contract_many_threads),
        cmocka_unit_test(contract_more_threads_than_slots),
    };
    const struct CMUnitTest registry[] = {
        cmocka_unit_test(registry_unknown_name),
        cmocka_unit_test(registry_optional_backends),
        cmocka_unit_test(registry_lists_every_backend),
        cmocka_unit_test(registry_register_custom),
        cmocka_unit_test(registry_default_is_system),
    };
    const struct CMUnitTest pool[] = {
        cmocka_unit_test(pool_reuses_lifo_and_counts_hits),
        cmocka_unit_test(pool_thousand_frames_miss_then_hit),
        cmocka_unit_test(pool_cap_is_enforced_and_recovers),
        cmocka_unit_test(pool_exiting_thread_returns_its_cache),
        cmocka_unit_test(pool_every_small_size_is_usable),
        cmocka_unit_test(pool_large_blocks_are_tracked),
        cmocka_unit_test(pool_use_after_free_is_reported_under_asan),
        cmocka_unit_test(pool_rejects_bad_config),
    };

    vox_process_prepare(argv);
    if (argc == 3 && strcmp(argv[1], "--backend") == 0) {
        char title[64];

        backend = argv[2];
        snprintf(title, sizeof(title), "alloc contract: %s", backend);
        return _cmocka_run_group_tests(title, contract, sizeof(contract) / sizeof(contract[0]),
                                       NULL, NULL);
    }
    if (argc == 2 && strcmp(argv[1], "--registry") == 0)
        return cmocka_run_group_tests_name("alloc registry", registry, NULL, NULL);
    if (argc == 2 && strcmp(argv[1], "--pool") == 0)
        return cmocka_run_group_tests_name("alloc pool", pool, NULL, NULL);
    fprintf(stderr, "usage: %s --backend NAME | --registry | --pool\n", argv[0]);
    return 2;
}
