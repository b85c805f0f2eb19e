/* SPDX-License-Identifier: MIT */
/* Error names and texts generated from the VOX_ERRNO_MAP list, and struct vox_diag. */
#include <stdarg.h>
#include <stdio.h>

#include "vox/err.h"

const char *vox_strerror(int err)
{
    switch (err) {
    case VOX_OK:
        return "success";
#define VOX__ERR_TEXT(name, value, text)                                                           \
    case VOX_##name:                                                                               \
        return text;
        VOX_ERRNO_MAP(VOX__ERR_TEXT)
#undef VOX__ERR_TEXT
    default:
        return "unknown error";
    }
}

const char *vox_err_name(int err)
{
    switch (err) {
    case VOX_OK:
        return "VOX_OK";
#define VOX__ERR_NAME(name, value, text)                                                           \
    case VOX_##name:                                                                               \
        return "VOX_" #name;
        VOX_ERRNO_MAP(VOX__ERR_NAME)
#undef VOX__ERR_NAME
    default:
        return "VOX_E?";
    }
}

void vox_diag_set(struct vox_diag *diag, const char *fmt, ...)
{
    va_list ap;

    if (!diag)
        return;
    va_start(ap, fmt);
    vsnprintf(diag->text, sizeof(diag->text), fmt, ap);
    va_end(ap);
}
