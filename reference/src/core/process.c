/* SPDX-License-Identifier: MIT */
/* Process preparation: the environment every compiled backend needs before main() runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vox/config.h"
#include "vox/core.h"

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
