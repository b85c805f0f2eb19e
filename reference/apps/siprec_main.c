/* SPDX-License-Identifier: MIT */
/* vox-siprec: the SIPREC Session Recording Server. Settings come from defaults, then a file
 * (--config), then the environment, then flags; the last one wins. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vox/core.h"
#include "vox/siprec.h"

static struct vox_srs *g_server;

static void on_signal(int sig)
{
    (void)sig;
    if (g_server)
        vox_srs_stop(g_server);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vox-siprec [--config FILE] [--print-ports FILE] [options]\n"
            "A SIPREC recording server (RFC 7866): records the calls a recording client forks\n"
            "to it as WAV per stream, a stereo mix and JSON metadata per session.\n\n"
            "  --config FILE              read KEY = value settings (keys below) first\n"
            "  --print-ports FILE         write \"sip=PORT http=PORT\" once listening\n"
            "  --version                  print the version and build features\n"
            "Settings (flag, then KEY for files and the environment):\n");
    vox_srs_config_usage(out);
    fprintf(out, "\nExit status: 0 after SIGTERM/SIGINT, 1 when it cannot start, 2 for bad "
                 "arguments or settings.\n");
}

int main(int argc, char **argv)
{
    struct vox_srs_config cfg;
    struct vox_diag diag = {{0}};
    const char *config_file = NULL, *ports_file = NULL;
    int rc;

    vox_process_prepare(argv);
    if (vox_srs_config_init(&cfg) < 0) {
        fprintf(stderr, "vox-siprec: out of memory\n");
        return 1;
    }
    /* the file comes before the environment and the flags, wherever --config is written */
    for (int i = 1; i < argc - 1; i++)
        if (!strcmp(argv[i], "--config"))
            config_file = argv[i + 1];
    if (config_file && vox_srs_config_load_file(&cfg, config_file, &diag) < 0)
        goto bad;
    if (vox_srs_config_load_env(&cfg, &diag) < 0)
        goto bad;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            vox_srs_config_free(&cfg);
            return 0;
        }
        if (!strcmp(a, "--version")) {
            printf("vox-siprec %s (%s)\n", vox_version(), vox_build_features());
            vox_srs_config_free(&cfg);
            return 0;
        }
        if (strncmp(a, "--", 2) || i + 1 >= argc) {
            vox_diag_set(&diag, "%s: expected --flag VALUE (see --help)", a);
            goto bad;
        }
        if (!strcmp(a, "--config")) {
            i++;
        } else if (!strcmp(a, "--print-ports")) {
            ports_file = argv[++i];
        } else if (vox_srs_config_set(&cfg, a + 2, argv[i + 1], a, &diag) < 0) {
            goto bad;
        } else {
            i++;
        }
    }
    if (vox_srs_config_check(&cfg, &diag) < 0)
        goto bad;

    rc = vox_srs_create(&cfg, &g_server, &diag);
    vox_srs_config_free(&cfg);
    if (rc < 0) {
        fprintf(stderr, "vox-siprec: cannot start: %s\n",
                diag.text[0] ? diag.text : vox_strerror(rc));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (ports_file) {
        /* written once the sockets are bound, so a test that waits for it can send at once */
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", ports_file);
        FILE *f = fopen(tmp, "w");
        if (!f ||
            fprintf(f, "sip=%u http=%u\n", vox_srs_sip_port(g_server),
                    vox_srs_http_port(g_server)) < 0 ||
            fclose(f) != 0 || rename(tmp, ports_file) != 0) {
            fprintf(stderr, "vox-siprec: cannot write %s\n", ports_file);
            vox_srs_destroy(g_server);
            return 1;
        }
    }
    vox_srs_run(g_server);
    vox_srs_destroy(g_server);
    return 0;
bad:
    fprintf(stderr, "vox-siprec: %s\n", diag.text);
    vox_srs_config_free(&cfg);
    return 2;
}
