/* SPDX-License-Identifier: MIT */
/* Opening allocator libraries with dlopen(RTLD_LOCAL), once per process. */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "dl.h"

static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER;

int vox__dl_load(const char *backend, const char *soname, const struct vox__dl_sym *syms,
                 void **handle, struct vox_diag *diag)
{
    const struct vox__dl_sym *s;
    int rc = 0;

    pthread_mutex_lock(&dl_lock);
    if (!*handle) {
        *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (!*handle) {
            const char *why = dlerror();

            rc = VOX_EBACKEND_LOAD;
            /* glibc's wording for the jemalloc case: say what to do about it. */
            if (why && strstr(why, "static TLS"))
                vox_diag_set(diag,
                             "allocator '%s': cannot load %s: %s; start the program with "
                             "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 (voxbench "
                             "programs call vox_process_prepare() to do this)",
                             backend, soname, why);
            else
                vox_diag_set(diag, "allocator '%s': cannot load %s: %s", backend, soname,
                             why ? why : "unknown loader error");
            goto out;
        }
        for (s = syms; s->name; s++)
            *s->slot = dlsym(*handle, s->name);
    }
    /* Checked on every call: a library missing a symbol stays loaded (it cannot be unloaded
     * safely) and fails every attempt the same way. */
    for (s = syms; s->name; s++) {
        if (!*s->slot) {
            vox_diag_set(diag, "allocator '%s': %s has no symbol %s", backend, soname, s->name);
            rc = VOX_EBACKEND_LOAD;
            break;
        }
    }
out:
    pthread_mutex_unlock(&dl_lock);
    return rc;
}
