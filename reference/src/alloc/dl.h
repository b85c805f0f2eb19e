/* SPDX-License-Identifier: MIT */
/* Internal: loading an allocator library at run time without letting it replace malloc. */
#ifndef VOX_ALLOC_DL_H
#define VOX_ALLOC_DL_H

#include "vox/err.h"

/*
 * Function table filled from a shared library opened with dlopen(RTLD_NOW | RTLD_LOCAL):
 * RTLD_LOCAL keeps its malloc/free out of the global symbol scope, so the rest of the process
 * (and the "system" backend) keeps glibc's. The library is opened once per process and never
 * closed, since blocks it handed out may outlive any one instance.
 */
struct vox__dl_sym {
    const char *name;
    void **slot; /* where to store the address */
};

/*
 * Opens `soname` (once; later calls return the first result) and resolves every symbol of the
 * NULL-name-terminated `syms`. `backend` names the allocator in the diag text.
 * Returns 0 or VOX_EBACKEND_LOAD with the loader's message in `diag`.
 */
int vox__dl_load(const char *backend, const char *soname, const struct vox__dl_sym *syms,
                 void **handle, struct vox_diag *diag);

#endif /* VOX_ALLOC_DL_H */
