/* SPDX-License-Identifier: MIT */
/* By-name backend tables: built-in entries first, then runtime registrations. */
#include <string.h>

#include "registry.h"

/* Guards the first fill of every registry; pthread_once cannot take the registry as argument. */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

static void registry_fill(struct vox__registry *r)
{
    const void *const *p;

    for (p = r->builtin; p && *p && r->count < VOX__REGISTRY_MAX; p++) {
        r->ops[r->count] = *p;
        r->names[r->count] = vox__ops_name(*p);
        r->count++;
    }
}

static void registry_ensure(struct vox__registry *r)
{
    /* A flag read under the lock keeps this simple; registries are looked up rarely (at
     * create time), never per allocation or per task. */
    pthread_mutex_lock(&init_lock);
    if (r->count == 0 && r->builtin)
        registry_fill(r);
    pthread_mutex_unlock(&init_lock);
}

int vox__registry_add(struct vox__registry *r, const void *ops)
{
    const char *name;
    size_t i;
    int rc = 0;

    if (!ops || !vox__ops_name(ops) || !vox__ops_name(ops)[0])
        return VOX_EINVAL;
    registry_ensure(r);
    name = vox__ops_name(ops);
    pthread_mutex_lock(&r->lock);
    for (i = 0; i < r->count; i++) {
        if (strcmp(r->names[i], name) == 0) {
            rc = VOX_EEXIST;
            goto out;
        }
    }
    if (r->count == VOX__REGISTRY_MAX) {
        rc = VOX_ENOMEM;
        goto out;
    }
    r->ops[r->count] = ops;
    r->names[r->count] = name;
    r->count++;
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

size_t vox__registry_count(struct vox__registry *r)
{
    size_t n;

    registry_ensure(r);
    pthread_mutex_lock(&r->lock);
    n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

const void *vox__registry_at(struct vox__registry *r, size_t i)
{
    const void *ops = NULL;

    registry_ensure(r);
    pthread_mutex_lock(&r->lock);
    if (i < r->count)
        ops = r->ops[i];
    pthread_mutex_unlock(&r->lock);
    return ops;
}

const void *vox__registry_find(struct vox__registry *r, const char *name)
{
    const void *ops = NULL;
    size_t i;

    if (!name)
        return NULL;
    registry_ensure(r);
    pthread_mutex_lock(&r->lock);
    for (i = 0; i < r->count; i++) {
        if (strcmp(r->names[i], name) == 0) {
            ops = r->ops[i];
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return ops;
}

void vox__registry_names(struct vox__registry *r, char *buf, size_t buf_len)
{
    size_t i, used = 0;

    if (!buf || buf_len == 0)
        return;
    buf[0] = '\0';
    registry_ensure(r);
    pthread_mutex_lock(&r->lock);
    for (i = 0; i < r->count; i++) {
        size_t n = strlen(r->names[i]);
        size_t sep = i ? 2 : 0;

        if (used + sep + n + 1 > buf_len)
            break;
        if (sep)
            memcpy(buf + used, ", ", 2);
        memcpy(buf + used + sep, r->names[i], n + 1);
        used += sep + n;
    }
    pthread_mutex_unlock(&r->lock);
}

int vox__registry_lookup(struct vox__registry *r, const char *name, const void **out,
                         struct vox_diag *diag)
{
    const struct vox__registry_optional *o;
    char avail[256];

    *out = vox__registry_find(r, name);
    if (*out)
        return 0;
    vox__registry_names(r, avail, sizeof(avail));
    for (o = r->optional; name && o && o->name; o++) {
        if (strcmp(o->name, name) == 0) {
            vox_diag_set(diag, "%s '%s' is not compiled into this build (%s); available: %s",
                         r->family, name, o->how, avail);
            return VOX_ENOT_COMPILED;
        }
    }
    vox_diag_set(diag, "%s '%s' is unknown; available: %s", r->family, name ? name : "(null)",
                 avail);
    return VOX_EUNKNOWN_BACKEND;
}
