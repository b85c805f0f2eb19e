/* SPDX-License-Identifier: MIT */
/* voxbench-micro: the allocator and executor micro suites, run by Google Benchmark. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "micro.h"
#include "vox/alloc.h"
#include "vox/core.h"
#include "vox/exec.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: voxbench-micro [--alloc NAMES] [--exec NAMES] [--quick] [--tables FILE]\n"
            "                      [--benchmark_filter=RE] [--benchmark_out=FILE ...]\n"
            "  --alloc a,b   allocator backends to measure (default: every one compiled in)\n"
            "  --exec a,b    executor backends to measure (default: every one)\n"
            "  --quick       short runs, for CI smoke tests\n"
            "  --iterations N  exactly N iterations of every benchmark (for instruction counts)\n"
            "  --tables FILE also write the Markdown tables to FILE\n"
            "  --list        print the backends compiled in and exit\n"
            "Every --benchmark_* flag of Google Benchmark is accepted.\n");
}

struct vox_gb_bench *vox_micro_timing(struct vox_gb_bench *b, const struct vox_micro_opts *opts)
{
    if (opts->iterations > 0)
        return vox_gb_iterations(b, opts->iterations);
    if (opts->quick)
        return vox_gb_min_time(b, 0.05);
    return b;
}

const char *vox_micro_si(char *buf, size_t len, double v)
{
    static const char *const unit[] = {"", "k", "M", "G", "T"};
    int u = 0;

    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    snprintf(buf, len, "%.2f %s", v, unit[u]);
    return buf;
}

/* Splits a comma-separated list in place into `set`. */
static int parse_set(char *list, struct vox_micro_set *set)
{
    char *save = NULL, *tok;

    set->count = 0;
    for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (set->count == sizeof(set->names) / sizeof(set->names[0]))
            return -1;
        set->names[set->count++] = tok;
    }
    return set->count ? 0 : -1;
}

static void list_backends(void)
{
    size_t i;

    printf("voxbench %s (%s)\nallocators:\n", vox_version(), vox_build_features());
    for (i = 0; i < vox_allocator_backend_count(); i++)
        printf("  %-10s %s\n", vox_allocator_backend_at(i)->name,
               vox_allocator_backend_at(i)->description);
    printf("executors:\n");
    for (i = 0; i < vox_executor_backend_count(); i++)
        printf("  %-10s %s\n", vox_executor_backend_at(i)->name,
               vox_executor_backend_at(i)->description);
}

int main(int argc, char **argv)
{
    struct vox_micro_opts opts = {0};
    struct vox_gb_results res = {0};
    const char *tables = NULL;
    bool json_out = false;
    int i, j, rc = 1;

    vox_process_prepare(argv);
    for (i = 0; i < (int)vox_allocator_backend_count(); i++)
        opts.allocs.names[opts.allocs.count++] = vox_allocator_backend_at((size_t)i)->name;
    for (i = 0; i < (int)vox_executor_backend_count(); i++)
        opts.execs.names[opts.execs.count++] = vox_executor_backend_at((size_t)i)->name;

    /* Take our flags out of argv; the rest goes to Google Benchmark. */
    for (i = 1, j = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            opts.quick = true;
        } else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            char *end;

            opts.iterations = strtoll(argv[++i], &end, 10);
            if (*end || opts.iterations <= 0) {
                fprintf(stderr, "voxbench-micro: --iterations needs a positive count\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--list") == 0) {
            list_backends();
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if ((strcmp(argv[i], "--alloc") == 0 || strcmp(argv[i], "--exec") == 0 ||
                    strcmp(argv[i], "--tables") == 0)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "voxbench-micro: %s needs a value\n", argv[i]);
                return 2;
            }
            if (strcmp(argv[i], "--tables") == 0)
                tables = argv[i + 1];
            else if (parse_set(argv[i + 1], argv[i][2] == 'a' ? &opts.allocs : &opts.execs)) {
                fprintf(stderr, "voxbench-micro: bad list for %s: '%s'\n", argv[i], argv[i + 1]);
                return 2;
            }
            i++;
        } else {
            /* Machine-readable output on stdout (the harness's micro driver) must stay pure. */
            if (strcmp(argv[i], "--benchmark_format=json") == 0)
                json_out = true;
            argv[j++] = argv[i];
        }
    }
    argc = j;
    argv[argc] = NULL;

    if (vox_micro_alloc_register(&opts) || vox_micro_exec_register(&opts) ||
        vox_micro_media_register(&opts) || vox_micro_simd_register(&opts) ||
        vox_micro_store_register(&opts) || vox_micro_match_register(&opts))
        goto out;
    if (vox_gb_run(&argc, argv, &res) < 0) {
        usage(stderr);
        goto out;
    }
    if (!json_out) {
        vox_micro_alloc_tables(stdout, &opts, &res);
        vox_micro_exec_tables(stdout, &opts, &res);
    }
    if (tables) {
        FILE *f = fopen(tables, "w");

        if (!f) {
            perror(tables);
            goto out;
        }
        fprintf(f, "## voxbench micro suite\n\nvoxbench %s (%s), %u CPUs available.\n",
                vox_version(), vox_build_features(), vox_cpu_count());
        vox_micro_alloc_tables(f, &opts, &res);
        vox_micro_exec_tables(f, &opts, &res);
        if (fclose(f) != 0) {
            perror(tables);
            goto out;
        }
    }
    rc = 0;
out:
    vox_gb_results_free(&res);
    vox_micro_media_cleanup();
    vox_micro_simd_cleanup();
    vox_micro_match_cleanup();
    vox_micro_exec_cleanup();
    vox_micro_alloc_cleanup();
    return rc;
}
