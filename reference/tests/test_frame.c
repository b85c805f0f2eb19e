/* SPDX-License-Identifier: MIT */
/* Frame tests: refcounts, zero-copy clones and views, copy on write, and the frame pool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "vox/core.h"
#include "vox/frame.h"

static struct vox_allocator *counting(void)
{
    struct vox_allocator *a = NULL;

    assert_int_equal(vox_allocator_create("pool", NULL, &a, NULL), 0);
    return a;
}

static uint64_t in_use(struct vox_allocator *a)
{
    struct vox_alloc_stats s;

    vox_allocator_stats(a, &s);
    return s.bytes_in_use;
}

static void alloc_clone_view_release(void **st)
{
    struct vox_allocator *a = counting();
    struct vox_frame f, c, v, vv;
    size_t i;

    (void)st;
    assert_int_equal(vox_frame_alloc(a, 8000, 2, 160, &f), 0);
    assert_int_equal((uintptr_t)f.data % 32, 0);
    assert_int_equal(vox_frame_values(&f), 320);
    for (i = 0; i < 320; i++)
        f.data[i] = (int16_t)i;
    f.timestamp = 1000;
    assert_false(vox_frame_is_shared(&f));
    vox_frame_clone(&f, &c);
    assert_ptr_equal(c.data, f.data); /* zero-copy */
    assert_true(vox_frame_is_shared(&f));
    assert_int_equal(vox_frame_view(&f, 10, 20, &v), 0);
    assert_ptr_equal(v.data, f.data + 20); /* 10 samples x 2 channels in */
    assert_int_equal(v.samples, 20);
    assert_int_equal(v.timestamp, 1010);
    assert_int_equal(vox_frame_view(&v, 5, 15, &vv), 0);
    assert_int_equal(vv.data[0], 30);
    vox_frame_release(&vv);
    assert_int_equal(vox_frame_view(&v, 5, 16, &vv), VOX_ERANGE);
    assert_int_equal(vox_frame_view(&f, 160, 1, &vv), VOX_ERANGE);
    assert_int_equal(vox_frame_view(&f, 0, 0, &vv), VOX_ERANGE);
    /* Releasing in any order keeps the data valid until the last reference. */
    vox_frame_release(&f);
    assert_null(f.st);
    assert_int_equal(c.data[319], 319);
    vox_frame_release(&c);
    assert_int_equal(v.data[0], 20);
    vox_frame_release(&v);
    vox_frame_release(&v); /* a zeroed frame: no-op */
    assert_int_equal(in_use(a), 0);
    assert_int_equal(vox_frame_alloc(a, 8000, 0, 160, &f), VOX_EINVAL);
    assert_int_equal(vox_frame_alloc(a, 0, 1, 160, &f), VOX_EINVAL);
    vox_allocator_destroy(a);
}

static void copy_on_write(void **st)
{
    struct vox_allocator *a = counting();
    struct vox_frame f, c, d;

    (void)st;
    assert_int_equal(vox_frame_alloc(a, 16000, 1, 320, &f), 0);
    memset(f.data, 0, 640);
    vox_frame_clone(&f, &c);
    assert_int_equal(vox_frame_make_writable(a, &c), 0);
    assert_ptr_not_equal(c.data, f.data);
    assert_false(vox_frame_is_shared(&f));
    c.data[0] = 7;
    assert_int_equal(f.data[0], 0);
    /* Sole owner: nothing to copy. */
    d = f;
    assert_int_equal(vox_frame_make_writable(a, &f), 0);
    assert_ptr_equal(f.data, d.data);
    assert_int_equal(vox_frame_copy(a, &c, &d), 0);
    assert_int_equal(d.data[0], 7);
    assert_int_equal(d.rate_hz, 16000);
    vox_frame_release(&f);
    vox_frame_release(&c);
    vox_frame_release(&d);
    assert_int_equal(in_use(a), 0);
    vox_allocator_destroy(a);
}

static void pool_hits_misses_drops(void **st)
{
    struct vox_allocator *a = counting();
    struct vox_frame_pool_config cfg = {.initial = 4, .max = 6, .alloc = a};
    struct vox_frame_pool *p;
    struct vox_frame_pool_stats s;
    struct vox_frame f[10];
    int i;

    (void)st;
    assert_int_equal(vox_frame_pool_create(&cfg, &p, NULL), 0);
    for (i = 0; i < 10; i++) {
        assert_int_equal(vox_frame_pool_get(p, &f[i]), 0);
        assert_int_equal(f[i].samples, 160);
        assert_int_equal(f[i].rate_hz, 8000);
    }
    vox_frame_pool_stats(p, &s);
    assert_int_equal(s.gets, 10);
    assert_int_equal(s.hits, 4);
    assert_int_equal(s.misses, 6);
    assert_int_equal(s.allocated, 10);
    /* A clone keeps the storage out of the pool until it goes too. */
    {
        struct vox_frame c;

        vox_frame_clone(&f[0], &c);
        vox_frame_release(&f[0]);
        vox_frame_pool_stats(p, &s);
        assert_int_equal(s.returns, 0);
        vox_frame_release(&c);
    }
    for (i = 1; i < 10; i++)
        vox_frame_release(&f[i]);
    vox_frame_pool_stats(p, &s);
    assert_int_equal(s.returns, 6); /* max */
    assert_int_equal(s.drops, 4);
    /* Reuse: the next six come from the pool. */
    for (i = 0; i < 6; i++)
        assert_int_equal(vox_frame_pool_get(p, &f[i]), 0);
    vox_frame_pool_stats(p, &s);
    assert_int_equal(s.misses, 6);
    /* Destroy with frames still out: they stay usable and are freed when released. */
    vox_frame_pool_destroy(p);
    f[0].data[159] = 5;
    for (i = 0; i < 6; i++)
        vox_frame_release(&f[i]);
    assert_int_equal(in_use(a), 0);
    vox_frame_pool_destroy(NULL);
    {
        struct vox_frame_pool_config bad = {.initial = 10, .max = 5};
        struct vox_diag d = {{0}};

        assert_int_equal(vox_frame_pool_create(&bad, &p, &d), VOX_EINVAL);
        assert_non_null(strstr(d.text, "initial"));
    }
    vox_allocator_destroy(a);
}

struct hammer {
    struct vox_frame_pool *p;
    struct vox_frame shared; /* cloned by every thread */
    int ok;
};

static void *hammer_thread(void *v)
{
    struct hammer *h = v;
    int i;

    for (i = 0; i < 100000; i++) {
        struct vox_frame f, c;

        if (vox_frame_pool_get(h->p, &f) != 0) {
            h->ok = 0;
            break;
        }
        f.data[0] = (int16_t)i;
        vox_frame_clone(&h->shared, &c);
        if (c.data[1] != 42 || f.data[0] != (int16_t)i)
            h->ok = 0;
        vox_frame_release(&c);
        vox_frame_release(&f);
    }
    return NULL;
}

static void pool_and_refcounts_across_threads(void **st)
{
    enum { T = 4 };
    struct vox_allocator *a = counting();
    struct vox_frame_pool_config cfg = {.initial = 2, .max = 3, .alloc = a};
    struct hammer h = {.ok = 1};
    struct vox_frame_pool_stats s;
    pthread_t th[T];
    int i;

    (void)st;
    assert_int_equal(vox_frame_pool_create(&cfg, &h.p, NULL), 0);
    assert_int_equal(vox_frame_alloc(a, 8000, 1, 160, &h.shared), 0);
    h.shared.data[1] = 42;
    for (i = 0; i < T; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer_thread, &h), 0);
    for (i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    assert_true(h.ok);
    assert_false(vox_frame_is_shared(&h.shared));
    vox_frame_pool_stats(h.p, &s);
    assert_int_equal(s.gets, (uint64_t)T * 100000);
    /* All frames are back: what was not dropped sits in the pool, which keeps at most max. */
    assert_true(s.allocated >= 2);
    assert_true(s.allocated - s.drops >= 1);
    assert_true(s.allocated - s.drops <= cfg.max);
    vox_frame_release(&h.shared);
    vox_frame_pool_destroy(h.p);
    assert_int_equal(in_use(a), 0);
    vox_allocator_destroy(a);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alloc_clone_view_release),
        cmocka_unit_test(copy_on_write),
        cmocka_unit_test(pool_hits_misses_drops),
        cmocka_unit_test(pool_and_refcounts_across_threads),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("frames", tests, NULL, NULL);
}
