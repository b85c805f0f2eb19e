/* SPDX-License-Identifier: MIT */
/*
 * The reference apps' command-line values: one parser and one error format for vox-capture,
 * vox-pcapgen and vox-rtpsend. Hand-written: getopt finds the flags, nothing in Debian checks
 * their values' ranges. Every error names the program, the flag and the value, and returns -1
 * (the caller exits with status 2).
 */
#ifndef VOX_APPS_ARGS_H
#define VOX_APPS_ARGS_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* "PROG: FLAG: " then `fmt` with `value` (its one %s), then a hint to --help. Returns -1. */
static inline int vox_arg_bad(const char *prog, const char *flag, const char *fmt,
                              const char *value)
{
    fprintf(stderr, "%s: %s: ", prog, flag);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    fprintf(stderr, fmt, value);
#pragma GCC diagnostic pop
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    return -1;
}

/* An integer in [min, max], decimal or 0x hexadecimal (a leading 0 is not octal). */
static inline int vox_arg_u64(const char *prog, const char *flag, const char *s, uint64_t min,
                              uint64_t max, uint64_t *out)
{
    int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(hex ? s + 2 : s, &end, hex ? 16 : 10);
    if (!*s || end == s + (hex ? 2 : 0) || *end || errno || s[0] == '-' || s[0] == '+' || v < min ||
        v > max) {
        char msg[128];

        snprintf(msg, sizeof msg, "'%%s' is not an integer in %" PRIu64 "..%" PRIu64, min, max);
        return vox_arg_bad(prog, flag, msg, s);
    }
    *out = v;
    return 0;
}

/* A finite number in [min, max]. */
static inline int vox_arg_double(const char *prog, const char *flag, const char *s, double min,
                                 double max, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= min && v <= max)) {
        char msg[128];

        snprintf(msg, sizeof msg, "'%%s' is not a number in [%g, %g]", min, max);
        return vox_arg_bad(prog, flag, msg, s);
    }
    *out = v;
    return 0;
}

#endif /* VOX_APPS_ARGS_H */
