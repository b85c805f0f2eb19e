/* SPDX-License-Identifier: MIT */
/* Internal: the by-name backend table shared by every module with swappable backends. */
#ifndef VOX_CORE_REGISTRY_H
#define VOX_CORE_REGISTRY_H

#include <pthread.h>
#include <stddef.h>

#include "vox/err.h"

#define VOX__REGISTRY_MAX 32

/* A backend that this project knows but the build may have left out, with how to get it. */
struct vox__registry_optional {
    const char *name; /* "jemalloc" */
    const char *how;  /* "install libjemalloc-dev and configure with -DVOX_WITH_JEMALLOC=ON" */
};

/*
 * One registry per backend family. `builtin` is the static table of backends compiled in
 * (built from VOX_HAVE_* in the module's front file); `optional` lists every optional backend
 * the project has, compiled or not, so that a missing one gets a precise error.
 */
struct vox__registry {
    const char *family;                            /* "allocator", for messages */
    const void *const *builtin;                    /* ops pointers, NULL-terminated */
    const struct vox__registry_optional *optional; /* terminated by a NULL name */
    pthread_mutex_t lock;
    size_t count;
    const void *ops[VOX__REGISTRY_MAX];
    const char *names[VOX__REGISTRY_MAX];
};

#define VOX__REGISTRY_INIT(fam, table, opt)                                                        \
    {                                                                                              \
        .family = (fam), .builtin = (table), .optional = (opt), .lock = PTHREAD_MUTEX_INITIALIZER, \
    }

/* Every ops struct begins with `const char *name`; this reads it. */
static inline const char *vox__ops_name(const void *ops)
{
    return *(const char *const *)ops;
}

int vox__registry_add(struct vox__registry *r, const void *ops);
size_t vox__registry_count(struct vox__registry *r);
const void *vox__registry_at(struct vox__registry *r, size_t i);
const void *vox__registry_find(struct vox__registry *r, const char *name);
void vox__registry_names(struct vox__registry *r, char *buf, size_t buf_len);

/*
 * Looks `name` up; on failure returns VOX_EUNKNOWN_BACKEND or VOX_ENOT_COMPILED and writes a
 * sentence to `diag` naming the family, the name, why, and the backends available.
 */
int vox__registry_lookup(struct vox__registry *r, const char *name, const void **out,
                         struct vox_diag *diag);

#endif /* VOX_CORE_REGISTRY_H */
