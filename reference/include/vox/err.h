/* SPDX-License-Identifier: MIT */
/* voxbench error codes: one X-macro list, 0 is success, every error is negative. */
#ifndef VOX_ERR_H
#define VOX_ERR_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The one list of error codes. Codes that mirror an OS error take its value negated, so a
 * failing system call maps with VOX__ERR(errno); codes of our own live below -4000 where no
 * errno reaches. The enum, vox_strerror() and vox_err_name() are all generated from this list.
 */
#define VOX_ERRNO_MAP(X)                                                                           \
    X(ENOMEM, -ENOMEM, "out of memory")                                                            \
    X(EINVAL, -EINVAL, "invalid argument")                                                         \
    X(EAGAIN, -EAGAIN, "resource temporarily unavailable")                                         \
    X(EBUSY, -EBUSY, "resource busy")                                                              \
    X(ENOENT, -ENOENT, "no such entry")                                                            \
    X(EEXIST, -EEXIST, "already exists")                                                           \
    X(ENOSYS, -ENOSYS, "operation not supported by this backend")                                  \
    X(ERANGE, -ERANGE, "value out of range")                                                       \
    X(EIO, -EIO, "input/output error")                                                             \
    X(ECANCELED, -ECANCELED, "operation canceled")                                                 \
    X(ESHUTDOWN, -ESHUTDOWN, "already shut down")                                                  \
    X(EUNKNOWN_BACKEND, -4001, "unknown backend name")                                             \
    X(ENOT_COMPILED, -4002, "backend not compiled into this build")                                \
    X(EBACKEND_LOAD, -4003, "backend library could not be loaded")                                 \
    X(ELIMIT, -4004, "configured limit reached")                                                   \
    X(EINCOMPLETE, -4005, "input incomplete")                                                      \
    X(EMALFORMED, -4006, "input malformed")

enum vox_err {
    VOX_OK = 0,
#define VOX__ERR_ENUM(name, value, text) VOX_##name = (value),
    VOX_ERRNO_MAP(VOX__ERR_ENUM)
#undef VOX__ERR_ENUM
};

/* Maps a positive errno value to a negative vox error code. */
#define VOX__ERR(e) (-(e))

/*
 * Returns a static, human-readable description of a vox error code (or of any negated errno).
 * Never returns NULL; unknown codes give "unknown error". Thread-safe.
 */
const char *vox_strerror(int err);

/* Returns the symbolic name of an error code ("VOX_ENOMEM"), or "VOX_E?" when unknown. */
const char *vox_err_name(int err);

/*
 * A sentence explaining a failure, filled by functions that take a `struct vox_diag *`
 * (which may always be NULL). Example: "allocator 'jemaloc' is unknown; available: system,
 * pool, jemalloc, mimalloc". The text is NUL-terminated and truncated to fit.
 */
struct vox_diag {
    char text[512]; /* empty string when nothing was reported */
};

/* printf-style fill of a diag; a NULL diag is ignored. */
void vox_diag_set(struct vox_diag *diag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif /* VOX_ERR_H */
