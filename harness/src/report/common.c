/* SPDX-License-Identifier: MIT */
/* Helpers shared by the report's tables and plots: a string set, config ids less one key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void vox__strset_free(struct vox__strset *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

long vox__strset_find(const struct vox__strset *s, const char *str)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return (long)i;
    return -1;
}

int vox__strset_add(struct vox__strset *s, const char *str)
{
    char *copy;

    if (vox__strset_find(s, str) >= 0)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **v = realloc(s->v, cap * sizeof(*v));

        if (!v)
            return VOX_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    copy = strdup(str);
    if (!copy)
        return VOX_ENOMEM;
    s->v[s->n++] = copy;
    return 0;
}

void vox__report_config_without(const struct vox_run *run, const char *key, char *dst, size_t cap)
{
    size_t i, used = 0;

    dst[0] = '\0';
    for (i = 0; i < run->nparams; i++) {
        int n;

        if (strcmp(run->params[i].key, key) == 0)
            continue;
        n = snprintf(dst + used, cap - used, "%s%s=%s", used ? " " : "", run->params[i].key,
                     run->params[i].value);
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
}
