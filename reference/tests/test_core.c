/* SPDX-License-Identifier: MIT */
/* Core tests: error codes and texts, diagnostics, the backend registry helper, clock, CPUs,
 * the reserve of open files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

/* The size of this process's descriptor table ("FDSize" in /proc/self/status). */
static long fd_table_size(void)
{
    char line[256];
    long size = -1;
    FILE *f = fopen("/proc/self/status", "r");

    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "FDSize: %ld", &size) == 1)
            break;
    fclose(f);
    return size;
}

static void fd_reserve_raises_the_limit_and_grows_the_table(void **st)
{
    struct rlimit orig, rl;
    struct stat a, b;
    int p[2];
    char c = 0;

    (void)st;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &orig), 0);
    if (orig.rlim_max != RLIM_INFINITY && orig.rlim_max < 8192)
        skip(); /* the hard limit leaves no room to test in */
    /* a descriptor in use at 511, where the reserve below puts its probe */
    rl = orig;
    rl.rlim_cur = 1024;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(dup2(p[0], 511), 511);
    rl.rlim_cur = 128;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);

    /* raised to what is asked for, not further; the descriptor in use is left alone */
    assert_int_equal(vox_fd_reserve(512), 512);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(rl.rlim_cur, 512);
    assert_int_equal(fstat(511, &a), 0);
    assert_int_equal(fstat(p[0], &b), 0);
    assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(read(511, &c, 1), 1);
    assert_int_equal(c, 'x');

    /* the table grows at once, before any descriptor needs it */
    long before = fd_table_size();
    assert_true(before > 0 && before < 6000);
    assert_int_equal(vox_fd_reserve(6000), 6000);
    assert_true(fd_table_size() >= 6000);
    /* no descriptor was left behind by the probe */
    for (int fd = 512; fd < 6000; fd++)
        assert_int_equal(fcntl(fd, F_GETFD), -1);

    /* never lowered */
    assert_int_equal(vox_fd_reserve(100), 6000);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(rl.rlim_cur, 6000);

    /* capped by the hard limit (raised back only when privileged, so this comes last) */
    rl.rlim_cur = rl.rlim_max = 7000;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(vox_fd_reserve(1000000), 7000);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(rl.rlim_cur, 7000);

    close(511);
    close(p[0]);
    close(p[1]);
    setrlimit(RLIMIT_NOFILE, &orig);
}

struct nice_probe {
    int first, again, zero, bad, seen;
};

static void *nice_thread(void *arg)
{
    struct nice_probe *p = arg;

    p->first = vox_thread_nice(5);
    p->again = vox_thread_nice(3); /* never raises the priority back */
    p->zero = vox_thread_nice(0);
    p->bad = vox_thread_nice(20);
    p->seen = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    return NULL;
}

static void thread_nice_lowers_only_the_calling_thread(void **st)
{
    int mine = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    int want = mine > 5 ? mine : 5;
    struct nice_probe p;
    pthread_t t;

    (void)st;
    assert_int_equal(pthread_create(&t, NULL, nice_thread, &p), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(p.first, want);
    assert_int_equal(p.again, want);
    assert_int_equal(p.zero, want);
    assert_int_equal(p.bad, VOX_EINVAL);
    assert_int_equal(p.seen, want);
    assert_int_equal(getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)), mine);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(errors_have_unique_names_and_texts),
        cmocka_unit_test(diag_truncates_and_accepts_null),
        cmocka_unit_test(registry_finds_explains_and_rejects_duplicates),
        cmocka_unit_test(clock_and_cpus),
        cmocka_unit_test(socket_arrival_from_the_kernel_stamp),
        cmocka_unit_test(fd_reserve_raises_the_limit_and_grows_the_table),
        cmocka_unit_test(thread_nice_lowers_only_the_calling_thread),
    };

    (void)argc;
    vox_process_prepare(argv);
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
