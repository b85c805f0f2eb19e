/* SPDX-License-Identifier: MIT */
/* Small process-wide facilities every module uses: clocks and the CPU count. */
#ifndef VOX_CORE_H
#define VOX_CORE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CLOCK_MONOTONIC in nanoseconds. Thread-safe, never fails on Linux. */
uint64_t vox_clock_ns(void);

struct msghdr;

/*
 * When a datagram read with SO_TIMESTAMPNS reached its socket, on the CLOCK_MONOTONIC scale:
 * `now_ns` (CLOCK_MONOTONIC) less the age of the kernel's timestamp measured against `real_ns`
 * (CLOCK_REALTIME, read together with now_ns). Without a timestamp in `mh`, or across a clock
 * step (an age of 0 or less, or of 10 s or more), the datagram arrived `now_ns`.
 */
uint64_t vox_socket_arrival_ns(struct msghdr *mh, uint64_t now_ns, int64_t real_ns);

/* Number of CPUs this process may run on (its affinity mask), at least 1. */
unsigned vox_cpu_count(void);

/*
 * Call first thing in main(). Re-executes the program once, when needed, with the environment
 * that every backend compiled into this build needs in order to load (today: room in glibc's
 * static TLS block for the dlopen()ed jemalloc). Returns only when nothing had to change or the
 * re-exec failed; the environment variable VOX_PREPARED marks the second run. Not needed (and
 * harmless) in programs that never create a jemalloc allocator.
 */
void vox_process_prepare(char **argv);

/*
 * Makes room for `want` open files: raises the soft RLIMIT_NOFILE towards the hard one when it
 * is lower (never lowers it), then grows the process's descriptor table to that size at once.
 * The kernel grows the table by doubling as descriptors are opened, and in a process with
 * threads each growth waits for an RCU grace period (milliseconds on a loaded VM) in whichever
 * thread opened the descriptor; done up front, no later socket() or open() waits for it.
 * Returns the number of descriptors the process may now have open (the soft limit).
 */
unsigned long vox_fd_reserve(unsigned long want);

/*
 * Lowers the calling thread's scheduling priority to nice value `nice` (0..19): Linux keeps a
 * nice value per thread, so the process's other threads keep theirs. Never raises it: a thread
 * already at `nice` or above is left alone, and 0 changes nothing. Background threads (media,
 * files) call it so that a latency-bound thread woken beside them is scheduled first. Returns
 * the thread's nice value afterwards, or VOX_EINVAL for `nice` above 19.
 */
int vox_thread_nice(unsigned nice);

/* The build's version string and configuration summary ("jemalloc mimalloc cuda ..."). */
const char *vox_version(void);
const char *vox_build_features(void);

#ifdef __cplusplus
}
#endif

#endif /* VOX_CORE_H */
