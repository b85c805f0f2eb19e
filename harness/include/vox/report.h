/* SPDX-License-Identifier: MIT */
/* voxbench report: Markdown and HTML tables shaped like the published guides, gnuplot plots. */
#ifndef VOX_REPORT_H
#define VOX_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "vox/err.h"
#include "vox/results.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vox_report_opts {
    const char *out_dir; /* created if missing */
    const char *gnuplot; /* gnuplot binary; NULL = "gnuplot" on PATH */
    bool plots; /* false: tables only (also when gnuplot is missing: noted in the report) */
};

/*
 * Renders one or more results files (several: e.g. one per machine or per commit, shown side
 * by side) into opts->out_dir: report.md, report.html (one static page, plots embedded by
 * relative path), and plots/<name>.{png,svg} with the .gp script and .tsv data beside each.
 * Returns 0, or a negative VOX_E* code with the file and cause in `diag`.
 */
int vox_report_write(const struct vox_results *const *files, size_t nfiles,
                     const struct vox_report_opts *opts, struct vox_diag *diag);

#ifdef __cplusplus
}
#endif

#endif /* VOX_REPORT_H */
