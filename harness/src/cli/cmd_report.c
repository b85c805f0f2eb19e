/* SPDX-License-Identifier: MIT */
/* voxbench report: results files in, Markdown + HTML + plots out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vox/report.h"
#include "vox/results.h"

int vox_cmd_report(int argc, char **argv)
{
    struct vox_report_opts opts = {.plots = true};
    struct vox_results *files = NULL;
    const struct vox_results **ptrs = NULL;
    struct vox_diag diag = {{0}};
    size_t n = 0, i;
    int a, rc = VOX_EXIT_ERROR;

    files = calloc((size_t)argc, sizeof(*files));
    ptrs = calloc((size_t)argc, sizeof(*ptrs));
    if (!files || !ptrs)
        goto out;
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--out") == 0 && a + 1 < argc) {
            opts.out_dir = argv[++a];
        } else if (strcmp(argv[a], "--no-plots") == 0) {
            opts.plots = false;
        } else if (argv[a][0] == '-') {
            fprintf(stderr, "voxbench report: unexpected argument '%s'\n", argv[a]);
            goto out;
        } else {
            if (vox_results_read(argv[a], &files[n], &diag) != 0) {
                fprintf(stderr, "voxbench report: %s\n", diag.text);
                vox_results_free(&files[n]);
                goto out;
            }
            ptrs[n] = &files[n];
            n++;
        }
    }
    if (!n || !opts.out_dir) {
        fprintf(stderr, "usage: voxbench report RESULTS.json... --out DIR [--no-plots]\n");
        goto out;
    }
    if (vox_report_write(ptrs, n, &opts, &diag) != 0) {
        fprintf(stderr, "voxbench report: %s\n", diag.text);
        goto out;
    }
    printf("%s/report.md\n%s/report.html\n", opts.out_dir, opts.out_dir);
    rc = VOX_EXIT_OK;
out:
    for (i = 0; i < n; i++)
        vox_results_free(&files[i]);
    free(files);
    free(ptrs);
    return rc;
}
