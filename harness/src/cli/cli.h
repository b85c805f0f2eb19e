/* SPDX-License-Identifier: MIT */
/* The voxbench subcommands and what they share. */
#ifndef VOX_CLI_H
#define VOX_CLI_H

#include <signal.h>

/* Exit statuses, as the CI gate reads them. */
enum {
    VOX_EXIT_OK = 0,
    VOX_EXIT_ERROR = 1,      /* bad usage, unreadable input, a workload that failed */
    VOX_EXIT_REGRESSION = 2, /* compare found a confirmed regression */
};

/* Set by SIGINT/SIGTERM: `run` stops after killing the current child and still writes what it
 * has measured. */
extern volatile sig_atomic_t vox_cli_interrupted;

/* Directory holding scenarios/ (the source tree, or $VOXBENCH_HOME). */
const char *vox_cli_home(void);
/* Directory of the running binary (where voxbench-micro lives) and its own path. */
const char *vox_cli_bin_dir(void);
const char *vox_cli_self(void);

int vox_cmd_run(int argc, char **argv);
int vox_cmd_compare(int argc, char **argv);
int vox_cmd_report(int argc, char **argv);
int vox_cmd_list(int argc, char **argv);

#endif /* VOX_CLI_H */
