/* SPDX-License-Identifier: MIT */
/* Process preparation: the environment every compiled backend needs before main() runs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vox/config.h"
#include "vox/core.h"
#include "vox/err.h"

/*
 * jemalloc is opened with dlopen() (see alloc_jemalloc.c) and its thread-local storage uses
 * the initial-exec model, which needs room in glibc's static TLS block; glibc reserves 512
 * bytes for late loads by default and Debian's libjemalloc needs about 2.6 KiB. The room can
 * only be set from the environment before the program starts, hence the re-exec.
 */
#define STATIC_TLS_TUNABLE "glibc.rtld.optional_static_tls=16384"

void vox_process_prepare(char **argv)
{
#if VOX_HAVE_JEMALLOC
    const char *cur = getenv("GLIBC_TUNABLES");
    char buf[1024];

    if (!argv || !argv[0] || getenv("VOX_PREPARED"))
        return;
    if (cur && strstr(cur, "glibc.rtld.optional_static_tls"))
        return;
    if (cur && cur[0])
        snprintf(buf, sizeof(buf), "%s:%s", cur, STATIC_TLS_TUNABLE);
    else
        snprintf(buf, sizeof(buf), "%s", STATIC_TLS_TUNABLE);
    /* VOX_PREPARED stops a loop should the tunable be ignored (for example under setuid). */
    if (setenv("GLIBC_TUNABLES", buf, 1) != 0 || setenv("VOX_PREPARED", "1", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* exec failed: carry on; the jemalloc backend will then say why it cannot load. */
    unsetenv("VOX_PREPARED");
#else
    (void)argv;
#endif
}

unsigned long vox_fd_reserve(unsigned long want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    unsigned long room = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > want ? want : rl.rlim_cur;
    if (room > INT_MAX)
        room = INT_MAX;
    /* A descriptor at the top of the room makes the kernel size the table for it, and closing
     * it leaves the table as it is (tables never shrink). F_DUPFD takes the lowest free number
     * from room - 1 up, so no descriptor in use is touched. */
    if (room > 64) {
        int top = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, (int)(room - 1));
        if (top < 0) {
            int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            top = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, (int)(room - 1)) : -1;
            if (fd >= 0)
                close(fd);
        }
        if (top >= 0)
            close(top);
    }
    return rl.rlim_cur == RLIM_INFINITY ? (unsigned long)-1 : (unsigned long)rl.rlim_cur;
}

int vox_thread_nice(unsigned nice)
{
    /* PRIO_PROCESS with a thread id sets that one thread (setpriority(2), "BUGS") */
    id_t tid = (id_t)syscall(SYS_gettid);
    int cur;

    if (nice > 19)
        return VOX_EINVAL;
    errno = 0;
    cur = getpriority(PRIO_PROCESS, tid);
    if (cur == -1 && errno != 0)
        cur = 0;
    if ((int)nice > cur && setpriority(PRIO_PROCESS, tid, (int)nice) == 0)
        cur = (int)nice;
    return cur;
}
