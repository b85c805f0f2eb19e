/* SPDX-License-Identifier: MIT */
/* Core tests: error codes and texts, diagnostics, the backend registry helper, clock, CPUs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/registry.h"
#include "vox/core.h"
#include "vox/err.h"

static void errors_have_unique_names_and_texts(void **st)
{
    static const int codes[] = {
#define X(name, value, text) VOX_##name,
        VOX_ERRNO_MAP(X)
#undef X
    };
    size_t i, j, n = sizeof(codes) / sizeof(codes[0]);

    (void)st;
    assert_string_equal(vox_strerror(VOX_OK), "success");
    assert_string_equal(vox_err_name(VOX_OK), "VOX_OK");
    for (i = 0; i < n; i++) {
        assert_true(codes[i] < 0);
        assert_string_not_equal(vox_strerror(codes[i]), "unknown error");
        assert_string_not_equal(vox_err_name(codes[i]), "VOX_E?");
        for (j = i + 1; j < n; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(vox_err_name(codes[i]), vox_err_name(codes[j]));
        }
    }
    assert_string_equal(vox_err_name(VOX_ENOMEM), "VOX_ENOMEM");
    assert_int_equal(VOX__ERR(ENOMEM), VOX_ENOMEM);
    assert_string_equal(vox_strerror(12345), "unknown error");
    assert_string_equal(vox_err_name(-99999), "VOX_E?");
}

static void diag_truncates_and_accepts_null(void **st)
{
    struct vox_diag d = {{0}};
    char big[2000];

    (void)st;
    vox_diag_set(NULL, "ignored %d", 1);
    vox_diag_set(&d, "backend '%s' failed: %d", "x", 42);
    assert_string_equal(d.text, "backend 'x' failed: 42");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    vox_diag_set(&d, "%s", big);
    assert_int_equal(strlen(d.text), sizeof(d.text) - 1);
}

struct fake_ops {
    const char *name;
    unsigned abi_version;
};

static const struct fake_ops fa = {"alpha", 1}, fb = {"beta", 1}, fc = {"gamma", 1};

static void registry_finds_explains_and_rejects_duplicates(void **st)
{
    static const void *const builtin[] = {&fa, &fb, NULL};
    static const struct vox__registry_optional opt[] = {{"delta", "install libdelta-dev"},
                                                        {NULL, NULL}};
    static struct vox__registry r = VOX__REGISTRY_INIT("widget", builtin, opt);
    struct vox_diag d = {{0}};
    const void *ops;
    char names[64];

    (void)st;
    assert_int_equal(vox__registry_count(&r), 2);
    assert_int_equal(vox__registry_lookup(&r, "beta", &ops, &d), 0);
    assert_ptr_equal(ops, &fb);
    assert_int_equal(vox__registry_lookup(&r, "delta", &ops, &d), VOX_ENOT_COMPILED);
    assert_null(ops);
    assert_string_equal(d.text, "widget 'delta' is not compiled into this build "
                                "(install libdelta-dev); available: alpha, beta");
    assert_int_equal(vox__registry_lookup(&r, "omega", &ops, &d), VOX_EUNKNOWN_BACKEND);
    assert_string_equal(d.text, "widget 'omega' is unknown; available: alpha, beta");
    assert_int_equal(vox__registry_add(&r, &fc), 0);
    assert_int_equal(vox__registry_add(&r, &fa), VOX_EEXIST);
    assert_int_equal(vox__registry_count(&r), 3);
    assert_ptr_equal(vox__registry_at(&r, 2), &fc);
    assert_null(vox__registry_at(&r, 3));
    vox__registry_names(&r, names, sizeof(names));
    assert_string_equal(names, "alpha, beta, gamma");
    /* Truncation keeps whole names only. */
    vox__registry_names(&r, names, 12);
    assert_string_equal(names, "alpha, beta");
}

/* A msghdr whose control data holds one SCM_TIMESTAMPNS of `stamp_ns` (CLOCK_REALTIME). */
static void stamped(struct msghdr *mh, void *buf, size_t cap, int64_t stamp_ns)
{
    struct timespec ts = {(time_t)(stamp_ns / 1000000000), (long)(stamp_ns % 1000000000)};
    struct cmsghdr *c;

    memset(mh, 0, sizeof(*mh));
    memset(buf, 0, cap);
    mh->msg_control = buf;
    mh->msg_controllen = CMSG_SPACE(sizeof(ts));
    assert_true(mh->msg_controllen <= cap);
    c = CMSG_FIRSTHDR(mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_TIMESTAMPNS;
    c->cmsg_len = CMSG_LEN(sizeof(ts));
    memcpy(CMSG_DATA(c), &ts, sizeof(ts));
}

static void socket_arrival_from_the_kernel_stamp(void **st)
{
    union {
        char bytes[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } buf;
    const int64_t real = 1700000000123456789;
    const uint64_t now = 5000000000000;
    struct msghdr mh;

    (void)st;
    /* stamped 1.5 ms before the read: it arrived 1.5 ms before now */
    stamped(&mh, buf.bytes, sizeof(buf), real - 1500000);
    assert_true(vox_socket_arrival_ns(&mh, now, real) == now - 1500000);
    /* a stamp from the future, or 10 s old (a clock step): now */
    stamped(&mh, buf.bytes, sizeof(buf), real + 1000);
    assert_true(vox_socket_arrival_ns(&mh, now, real) == now);
    stamped(&mh, buf.bytes, sizeof(buf), real - 10000000000);
    assert_true(vox_socket_arrival_ns(&mh, now, real) == now);
    /* older than the monotonic clock itself: now */
    stamped(&mh, buf.bytes, sizeof(buf), real - 2000000000);
    assert_true(vox_socket_arrival_ns(&mh, 1000000000, real) == 1000000000);
    /* no control data */
    memset(&mh, 0, sizeof(mh));
    assert_true(vox_socket_arrival_ns(&mh, now, real) == now);
}

static void clock_and_cpus(void **st)
{
    uint64_t a = vox_clock_ns(), b = vox_clock_ns();

    (void)st;
    assert_true(b >= a);
    assert_true(vox_cpu_count() >= 1);
    assert_non_null(vox_version());
    assert_non_null(vox_build_features());
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(errors_have_unique_names_and_texts),
        cmocka_unit_test(diag_truncates_and_accepts_null),
        cmocka_unit_test(registry_finds_explains_and_rejects_duplicates),
        cmocka_unit_test(clock_and_cpus),
        cmocka_unit_test(socket_arrival_from_the_kernel_stamp),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
