/* SPDX-License-Identifier: MIT */
/*
 * libvox-sipp-clock.so: an LD_PRELOAD shim that gives SIPp a fine clock for its response times.
 *
 * SIPp 3.6.1 (Debian's sip-tester) reads its time with CLOCK_MONOTONIC_COARSE, which advances
 * once per kernel tick: 4 ms at HZ=250. Every INVITE->200 time in its -trace_rtt file is then
 * 0, 4, 8 ... ms, so percentiles below a few ms are meaningless (a 0.3 ms answer reads 0 ms
 * most of the time and 4 ms when it straddles a tick). The sipp driver preloads this library
 * into SIPp, and only SIPp, so that the coarse clocks read their precise counterparts; SIPp's
 * scheduling is unchanged apart from seeing the time more exactly. The cost is a vDSO read of
 * the precise clock (tens of ns) instead of the coarse one.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

/* Only SIPp: the programs its <exec> actions start (vox-rtpsend, an ASan build of it among
 * them, where a preload ahead of the sanitizer's runtime is a fatal error) do without. */
__attribute__((constructor)) static void not_inherited(void)
{
    unsetenv("LD_PRELOAD");
}

typedef int (*clock_gettime_fn)(clockid_t id, struct timespec *ts);

/* Exported on purpose: this is the symbol the preload replaces. */
int clock_gettime(clockid_t id, struct timespec *ts) __attribute__((visibility("default")));

int clock_gettime(clockid_t id, struct timespec *ts)
{
    static clock_gettime_fn real;

    /* A benign race: every thread stores the same pointer. */
    if (!real) {
        real = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
        if (!real)
            return -1;
    }
    if (id == CLOCK_MONOTONIC_COARSE)
        id = CLOCK_MONOTONIC;
    else if (id == CLOCK_REALTIME_COARSE)
        id = CLOCK_REALTIME;
    return real(id, ts);
}
