/* SPDX-License-Identifier: MIT */
/* Configuration of the SIPREC server: defaults, file, environment and flags from one table. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vox/siprec.h"

enum kind { KIND_STR, KIND_UINT, KIND_ADDR };

struct setting {
    const char *key;
    const char *flag;
    enum kind kind;
    const char *def;
    unsigned long min, max;
    const char *help;
    size_t offset;
};

static const struct setting settings[] = {
#define VOX__SRS_ROW(field, key, flag, kind, def, min, max, help)                                  \
    {#key, flag, KIND_##kind, def, min, max, help, offsetof(struct vox_srs_config, field)},
    VOX_SRS_CONFIG_MAP(VOX__SRS_ROW)
#undef VOX__SRS_ROW
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static const struct setting *find(const char *key)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (!strcmp(settings[i].key, key) || !strcmp(settings[i].flag, key))
            return &settings[i];
    return NULL;
}

static int assign(struct vox_srs_config *cfg, const struct setting *s, const char *value,
                  const char *origin, struct vox_diag *diag)
{
    char *p = (char *)cfg + s->offset;

    if (s->kind == KIND_UINT) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(value, &end, 10);
        if (!isdigit((unsigned char)*value) || *end || errno || v < s->min || v > s->max) {
            vox_diag_set(diag, "%s: %s = '%s' is not a whole number from %lu to %lu", origin,
                         s->key, value, s->min, s->max);
            return VOX_EINVAL;
        }
        *(unsigned *)(void *)p = (unsigned)v;
        return 0;
    }
    if (s->kind == KIND_ADDR) {
        unsigned char buf[sizeof(struct in6_addr)];

        if (inet_pton(AF_INET, value, buf) != 1 && inet_pton(AF_INET6, value, buf) != 1) {
            vox_diag_set(diag, "%s: %s = '%s' is not an IPv4 or IPv6 address", origin, s->key,
                         value);
            return VOX_EINVAL;
        }
    }
    if (!*value && s->kind == KIND_STR) {
        vox_diag_set(diag, "%s: %s must not be empty", origin, s->key);
        return VOX_EINVAL;
    }
    char *copy = strdup(value);
    if (!copy)
        return VOX_ENOMEM;
    free(*(char **)(void *)p);
    *(char **)(void *)p = copy;
    return 0;
}

int vox_srs_config_init(struct vox_srs_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NSETTINGS; i++)
        if (assign(cfg, &settings[i], settings[i].def, "default", NULL) < 0) {
            vox_srs_config_free(cfg);
            return VOX_ENOMEM;
        }
    return 0;
}

void vox_srs_config_free(struct vox_srs_config *cfg)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].kind != KIND_UINT) {
            char **p = (char **)(void *)((char *)cfg + settings[i].offset);
            free(*p);
            *p = NULL;
        }
}

int vox_srs_config_set(struct vox_srs_config *cfg, const char *key, const char *value,
                       const char *origin, struct vox_diag *diag)
{
    const struct setting *s = find(key);

    if (!s) {
        char names[400];
        size_t n = 0;

        names[0] = 0;
        for (size_t i = 0; i < NSETTINGS && n < sizeof(names); i++)
            n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? " " : "",
                                  settings[i].key);
        vox_diag_set(diag, "%s: unknown setting '%s'; known: %s", origin, key, names);
        return VOX_ENOENT;
    }
    return assign(cfg, s, value, origin, diag);
}

/* Strips blanks at both ends in place and returns the start. */
static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = 0;
    return s;
}

int vox_srs_config_load_file(struct vox_srs_config *cfg, const char *path, struct vox_diag *diag)
{
    FILE *f = fopen(path, "r");
    char line[1024], origin[512];
    unsigned lineno = 0;
    int rc = 0;

    if (!f) {
        vox_diag_set(diag, "config file %s: %s", path, strerror(errno));
        return VOX_EIO;
    }
    while (fgets(line, sizeof(line), f)) {
        char *key, *value, *eq;
        size_t vlen;

        lineno++;
        snprintf(origin, sizeof(origin), "%s:%u", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            vox_diag_set(diag, "%s: line longer than %zu bytes", origin, sizeof(line) - 2);
            rc = VOX_EINVAL;
            break;
        }
        key = trim(line);
        if (!*key || *key == '#')
            continue;
        eq = strchr(key, '=');
        if (!eq) {
            vox_diag_set(diag, "%s: expected KEY = value, got '%s'", origin, key);
            rc = VOX_EINVAL;
            break;
        }
        *eq = 0;
        key = trim(key);
        value = trim(eq + 1);
        vlen = strlen(value);
        if (vlen >= 2 && (value[0] == '"' || value[0] == '\'') && value[vlen - 1] == value[0]) {
            value[vlen - 1] = 0;
            value++;
        }
        rc = vox_srs_config_set(cfg, key, value, origin, diag);
        if (rc < 0)
            break;
    }
    if (!rc && ferror(f)) {
        vox_diag_set(diag, "config file %s: read error", path);
        rc = VOX_EIO;
    }
    fclose(f);
    return rc;
}

int vox_srs_config_load_env(struct vox_srs_config *cfg, struct vox_diag *diag)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *v = getenv(settings[i].key);
        char origin[96];

        if (!v)
            continue;
        snprintf(origin, sizeof(origin), "environment %s", settings[i].key);
        int rc = assign(cfg, &settings[i], v, origin, diag);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int vox_srs_config_check(const struct vox_srs_config *cfg, struct vox_diag *diag)
{
    const char *t = cfg->sip_transports;

    if (cfg->rtp_port_min >= cfg->rtp_port_max || cfg->rtp_port_max - cfg->rtp_port_min < 3) {
        vox_diag_set(diag, "RTP_PORT_MIN %u .. RTP_PORT_MAX %u holds no RTP/RTCP pair",
                     cfg->rtp_port_min, cfg->rtp_port_max);
        return VOX_EINVAL;
    }
    if (cfg->shard_count & (cfg->shard_count - 1)) {
        vox_diag_set(diag, "SHARD_COUNT %u is not a power of two", cfg->shard_count);
        return VOX_EINVAL;
    }
    if (strcmp(t, "udp") && strcmp(t, "tcp") && strcmp(t, "udp,tcp") && strcmp(t, "tcp,udp")) {
        vox_diag_set(diag, "SIP_TRANSPORTS '%s': expected udp, tcp or udp,tcp", t);
        return VOX_EINVAL;
    }
    return 0;
}

void vox_srs_config_usage(FILE *out)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        char flag[64];

        snprintf(flag, sizeof(flag), "--%s %s", s->flag, s->kind == KIND_UINT ? "N" : "VALUE");
        fprintf(out, "  %-26s %s (%s, default %s)\n", flag, s->help, s->key, s->def);
    }
}
