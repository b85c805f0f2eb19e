/* SPDX-License-Identifier: MIT */
/* Internal declarations shared by the executor front end and its backend files. */
#ifndef VOX_EXEC_INTERNAL_H
#define VOX_EXEC_INTERNAL_H

#include <stddef.h>

#include "vox/exec.h"

extern const struct vox_executor_ops vox__exec_thread_ops;
extern const struct vox_executor_ops vox__exec_pool_ops;
extern const struct vox_executor_ops vox__exec_steal_ops;

/* Most worker threads a pool or steal executor accepts; more is a configuration error. */
#define VOX__EXEC_MAX_WORKERS 1024

/* Default slots per steal deque when vox_exec_config.deque_capacity is 0. */
#define VOX__EXEC_DEQUE_CAPACITY 1024

/*
 * Records the number of worker threads that vox_executor_workers() reports. Backends call it
 * from init; a backend that never calls it reports 0.
 */
void vox__exec_set_workers(struct vox_executor *ex, unsigned workers);

/* Every worker thread calls it first: applies vox_exec_config.nice to the calling thread. */
void vox__exec_worker_start(struct vox_executor *ex);

/*
 * Backend bookkeeping (worker tables, deques, thread records) comes from the process default
 * allocator, never from the configured one: the configured allocator serves task nodes only,
 * so that its byte count drops back to 0 once the executor is drained. Returns zeroed memory
 * aligned to 64 bytes, or NULL; free with vox__exec_free() and the same size.
 */
void *vox__exec_zalloc(size_t size_bytes);
void vox__exec_free(void *p, size_t size_bytes);

#endif /* VOX_EXEC_INTERNAL_H */
