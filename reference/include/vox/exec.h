/* SPDX-License-Identifier: MIT */
/* Swappable threading backends (thread, pool, steal) behind one executor vtable. */
#ifndef VOX_EXEC_H
#define VOX_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vox/alloc.h"
#include "vox/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Task priorities, most urgent first. Backends that honour priorities serve them in order. */
enum vox_priority {
    VOX_PRIO_CRITICAL = 0,
    VOX_PRIO_HIGH = 1,
    VOX_PRIO_NORMAL = 2,
    VOX_PRIO_LOW = 3,
};
#define VOX_PRIO_COUNT 4

/* A unit of work. `run` is called exactly once, on some thread, unless the task is cancelled
 * by a VOX_EXEC_CANCEL_PENDING shutdown, in which case `cancel` (optional) is called instead so
 * that the owner of `arg` can release it. */
struct vox_task {
    void (*run)(void *arg);
    void (*cancel)(void *arg); /* optional; may be NULL */
    void *arg;                 /* borrowed by the executor until run or cancel returns */
    enum vox_priority prio;
};

/* Options for vox_executor_create(); zero means the default for every field. */
struct vox_exec_config {
    unsigned workers;            /* pool, steal: worker threads (default: CPUs available) */
    bool pin_workers;            /* steal: bind each worker to its own PU through hwloc */
    struct vox_allocator *alloc; /* task nodes come from here (default: system allocator) */
    unsigned deque_capacity;     /* steal: slots per worker deque, power of two (default 1024) */
    unsigned nice;               /* workers lower their own priority to this nice value (0..19;
                                    0: as created), see vox_thread_nice */
};

/* Counters of one executor. Per-priority figures are indexed by enum vox_priority. */
struct vox_exec_stats {
    uint64_t submitted;                       /* tasks accepted by submit */
    uint64_t completed;                       /* tasks whose run returned */
    uint64_t cancelled;                       /* tasks dropped by a cancelling shutdown */
    uint64_t steals;                          /* steal: tasks taken from another worker */
    uint64_t threads_started;                 /* threads this executor created */
    uint64_t queue_depth_max;                 /* most tasks queued at once (not yet started) */
    uint64_t started_by_prio[VOX_PRIO_COUNT]; /* tasks started, per priority */
    uint64_t wait_ns_sum[VOX_PRIO_COUNT];     /* sum of submit-to-start delays, ns */
    uint64_t wait_ns_max[VOX_PRIO_COUNT];     /* longest submit-to-start delay, ns */
};

/* How vox_executor_shutdown() treats tasks still queued. */
enum vox_exec_shutdown {
    VOX_EXEC_RUN_PENDING = 0,    /* run every queued task, then stop */
    VOX_EXEC_CANCEL_PENDING = 1, /* call each queued task's cancel instead of run, then stop */
};

struct vox_executor;

/*
 * A queued task as the backends see it: the front end allocates it from the configured
 * allocator, a backend links it into its queues through `next` and gives it back to
 * vox__exec_run() or vox__exec_cancel() exactly once.
 */
struct vox_task_node {
    struct vox_task task;
    uint64_t submit_ns;         /* CLOCK_MONOTONIC at submission */
    struct vox_task_node *next; /* free for the backend's use */
};

#define VOX_EXECUTOR_ABI_VERSION 1

/* A threading backend. The front end allocates `state_bytes` of zeroed state per instance. */
struct vox_executor_ops {
    const char *name;        /* registry key: "thread", "pool", "steal" */
    unsigned abi_version;    /* VOX_EXECUTOR_ABI_VERSION */
    const char *description; /* one line for `voxbench list` */
    size_t state_bytes;
    /* Starts the backend's threads. `ex` is the owning front end, to pass to vox__exec_run. */
    int (*init)(void *state, struct vox_executor *ex, const struct vox_exec_config *cfg,
                struct vox_diag *diag);
    /* Queues or starts `node`; on 0 the backend owns it. Thread-safe, callable from tasks. */
    int (*submit)(void *state, struct vox_task_node *node);
    /* Stops accepting work, disposes of queued nodes as `mode` says, joins every thread. */
    void (*shutdown)(void *state, enum vox_exec_shutdown mode);
    /* Releases what init allocated (optional). Called after shutdown. */
    void (*fini)(void *state);
    /* Fills backend-specific counters: steals, threads_started, queue_depth_max (optional). */
    void (*stats)(void *state, struct vox_exec_stats *out);
};

/*
 * Creates an executor using the backend registered under `name` ("thread", "pool", "steal",
 * or "auto" for the default, "steal"); `cfg` may be NULL. Stores the instance in *out (owned
 * by the caller; release with vox_executor_destroy). Errors as vox_allocator_create(), plus
 * VOX_EINVAL for a bad configuration (deque_capacity not a power of two, more than 1024
 * workers) and VOX_EAGAIN when worker threads cannot be started; `diag` names the backend and
 * the available ones. Starts threads; thread-safe.
 */
int vox_executor_create(const char *name, const struct vox_exec_config *cfg,
                        struct vox_executor **out, struct vox_diag *diag);

/*
 * Submits a task (copied; `t` may be reused at once). Returns 0, VOX_ESHUTDOWN after shutdown
 * began, VOX_EINVAL on a NULL run or bad priority, VOX_ENOMEM, or VOX_EAGAIN when the backend
 * could not start a thread. On failure neither run nor cancel is ever called. Thread-safe and
 * callable from inside a task; never blocks for long.
 */
int vox_executor_submit(struct vox_executor *ex, const struct vox_task *t);

/* Blocks until every task submitted so far (and every task they submit) has run or been
 * cancelled. Returns 0. Must not be called from inside a task of the same executor. */
int vox_executor_drain(struct vox_executor *ex);

/*
 * Stops the executor: queued tasks are run or cancelled as `mode` says, then every thread is
 * joined. Later submits fail with VOX_ESHUTDOWN, including submits made by tasks that run
 * during a VOX_EXEC_RUN_PENDING shutdown: such a task must handle the error (its children are
 * not run). Returns 0, VOX_ESHUTDOWN when already shut down, or VOX_EINVAL for a NULL executor
 * or an unknown mode. Blocks; must not be called from inside a task.
 */
int vox_executor_shutdown(struct vox_executor *ex, enum vox_exec_shutdown mode);

/* Shuts down (running pending tasks) if not yet done, then frees. NULL is a no-op. */
void vox_executor_destroy(struct vox_executor *ex);

/* Copies the counters. Thread-safe. */
void vox_executor_stats(struct vox_executor *ex, struct vox_exec_stats *out);

/* Backend name ("steal") and number of worker threads (0 for "thread", and for backends that
 * do not report it). */
const char *vox_executor_name(const struct vox_executor *ex);
unsigned vox_executor_workers(const struct vox_executor *ex);

/* Registry, as for allocators. */
size_t vox_executor_backend_count(void);
const struct vox_executor_ops *vox_executor_backend_at(size_t i);
const struct vox_executor_ops *vox_executor_backend_find(const char *name);
int vox_executor_register(const struct vox_executor_ops *ops);
void vox_executor_backend_names(char *buf, size_t buf_len);

/* For backends only: run a node's task (records stats, frees the node, wakes drainers). */
void vox__exec_run(struct vox_executor *ex, struct vox_task_node *node);
/* For backends only: cancel a node's task (calls cancel, frees the node, wakes drainers). */
void vox__exec_cancel(struct vox_executor *ex, struct vox_task_node *node);

#ifdef __cplusplus
}
#endif

#endif /* VOX_EXEC_H */
