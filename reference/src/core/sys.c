/* SPDX-License-Identifier: MIT */
/* Monotonic clock, CPU count and build description. */
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
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

uint64_t vox_socket_arrival_ns(struct msghdr *mh, uint64_t now_ns, int64_t real_ns)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            int64_t age;

            memcpy(&ts, CMSG_DATA(c), sizeof(ts));
            age = real_ns - ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
            if (age > 0 && age < 10000000000 && (uint64_t)age < now_ns)
                return now_ns - (uint64_t)age;
            break;
        }
    }
    return now_ns;
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
