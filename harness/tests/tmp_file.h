/* SPDX-License-Identifier: MIT */
/* A helper the harness tests share: a file with given text in the test's temporary directory.
 * Include after <cmocka.h>. */
#ifndef VOX_TESTS_TMP_FILE_H
#define VOX_TESTS_TMP_FILE_H

#include <stdio.h>

/* Writes `text` to DIR/NAME and returns the path (in a buffer the next call reuses). */
static inline const char *tmp_file(const char *dir, const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    return path;
}

#endif /* VOX_TESTS_TMP_FILE_H */
