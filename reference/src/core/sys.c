/* SPDX-License-Identifier: MIT */
/* Monotonic clock, CPU count and build description. */
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "vox/config.h"
#include "vox/core.h"

uint64_t vox_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned vox_cpu_count(void)
{
    cpu_set_t set;
    long n;

    /* The affinity mask, not the machine's CPU count: containers and taskset narrow it. */
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

const char *vox_version(void)
{
    return VOX_VERSION_STRING;
}

const char *vox_build_features(void)
{
    return VOX_BUILD_FEATURES;
}
