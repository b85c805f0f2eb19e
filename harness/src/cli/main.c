/* SPDX-License-Identifier: MIT */
/* voxbench: run suites, compare results, render reports, list what is there. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "drivers/driver.h"
#include "frames/frames.h"
#include "suite/suite.h"
#include "vox/alloc.h"
#include "vox/core.h"
#include "vox/exec.h"
#include "vox/gpu.h"

volatile sig_atomic_t vox_cli_interrupted;

static char self_path[PATH_MAX];
static char bin_dir[PATH_MAX];

const char *vox_cli_home(void)
{
    const char *h = getenv("VOXBENCH_HOME");

    return h && h[0] ? h : VOX_SOURCE_DIR;
}

const char *vox_cli_self(void)
{
    return self_path;
}

const char *vox_cli_bin_dir(void)
{
    return bin_dir;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: voxbench COMMAND [options]\n"
            "  run SUITE [--matrix axis=v1,v2]... [--repeat N] [--out FILE|DIR] [--quick]\n"
            "            [--only ID,...] [--timeout S]\n"
            "      run every workload of SUITE (a name under scenarios/suites/ or a .yaml path)\n"
            "      under every configuration, and write one results JSON file\n"
            "  compare BASE.json NEW.json [--threshold PCT] [--threshold-measured PCT]\n"
            "          [--stable-only] [--all]\n"
            "      per metric: change, 95%% interval, p-value, verdict; exit 2 on a regression\n"
            "      (--threshold-measured: the floor for timed metrics, default --threshold)\n"
            "  report RESULTS.json... --out DIR [--no-plots]\n"
            "      Markdown + HTML tables shaped like the published guides, gnuplot plots\n"
            "  list\n"
            "      suites, workloads, drivers and the backends compiled in\n");
}

static int print_suite(const char *path, void *unused)
{
    struct vox_suite *s = calloc(1, sizeof(*s));
    struct vox_diag diag = {{0}};
    size_t i;

    (void)unused;
    if (!s)
        return -1;
    if (vox_suite_load(path, "", s, &diag) != 0) {
        printf("  %-12s (unreadable: %s)\n", path, diag.text);
        free(s);
        return 0;
    }
    printf("  %-12s %s\n", s->name, s->description);
    for (i = 0; i < s->nworkloads; i++)
        printf("      %-20s %-7s %s\n", s->workloads[i].id, s->workloads[i].kind,
               s->workloads[i].benchmark);
    free(s);
    return 0;
}

int vox_cmd_list(int argc, char **argv)
{
    char dir[PATH_MAX], path[PATH_MAX * 2];
    struct dirent **names;
    int n, i;
    size_t k;

    (void)argc;
    (void)argv;
    printf("voxbench %s (%s)\n\nsuites (%s/scenarios/suites):\n", vox_version(),
           vox_build_features(), vox_cli_home());
    snprintf(dir, sizeof(dir), "%s/scenarios/suites", vox_cli_home());
    n = scandir(dir, &names, NULL, alphasort);
    for (i = 0; i < n; i++) {
        size_t len = strlen(names[i]->d_name);

        if (len > 5 && strcmp(names[i]->d_name + len - 5, ".yaml") == 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            print_suite(path, NULL);
        }
        free(names[i]);
    }
    if (n >= 0)
        free(names);
    printf("\nworkload kinds:\n");
    for (k = 0; k < vox_driver_count(); k++)
        printf("  %-10s %s\n", vox_driver_at(k)->kind, vox_driver_at(k)->description);
    printf("\nallocators:\n");
    for (k = 0; k < vox_allocator_backend_count(); k++)
        printf("  %-10s %s\n", vox_allocator_backend_at(k)->name,
               vox_allocator_backend_at(k)->description);
    printf("\nexecutors:\n");
    for (k = 0; k < vox_executor_backend_count(); k++)
        printf("  %-10s %s\n", vox_executor_backend_at(k)->name,
               vox_executor_backend_at(k)->description);
    printf("\npattern matching (gpu):\n");
    for (k = 0; k < vox_gpu_backend_count(); k++)
        printf("  %-10s %s\n", vox_gpu_backend_at(k)->name, vox_gpu_backend_at(k)->description);
    {
        struct vox_gpu *g;

        /* What "auto" picks on this machine, and why (a CUDA device answers, or not). */
        if (vox_gpu_create("auto", &g, NULL) == 0) {
            printf("  auto       -> %s\n", vox_gpu_device_info(g));
            vox_gpu_destroy(g);
        }
    }
    return VOX_EXIT_OK;
}

int main(int argc, char **argv)
{
    ssize_t n;
    char *slash;

    /* The hidden workload process comes first: it must not re-exec or print anything else. */
    if (argc >= 2 && strcmp(argv[1], "__frames") == 0) {
        vox_process_prepare(argv);
        return vox_frames_main(argc - 1, argv + 1);
    }
    vox_process_prepare(argv);
    n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
    if (n <= 0) {
        fprintf(stderr, "voxbench: cannot find its own binary (/proc/self/exe)\n");
        return VOX_EXIT_ERROR;
    }
    self_path[n] = '\0';
    snprintf(bin_dir, sizeof(bin_dir), "%s", self_path);
    slash = strrchr(bin_dir, '/');
    if (slash)
        *slash = '\0';
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VOX_EXIT_ERROR : VOX_EXIT_OK;
    }
    if (strcmp(argv[1], "run") == 0)
        return vox_cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "compare") == 0)
        return vox_cmd_compare(argc - 1, argv + 1);
    if (strcmp(argv[1], "report") == 0)
        return vox_cmd_report(argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return vox_cmd_list(argc - 1, argv + 1);
    fprintf(stderr, "voxbench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return VOX_EXIT_ERROR;
}
