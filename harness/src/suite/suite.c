/* SPDX-License-Identifier: MIT */
/* Suite files: YAML (libyaml's document API) into struct vox_suite, overrides, expansion. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "suite.h"

/* Parser context: the document and where to report errors. */
struct parse {
    yaml_document_t doc;
    const char *file;
    struct vox_diag *diag;
};

static int fail_at(struct parse *p, const yaml_node_t *n, const char *fmt, const char *arg)
{
    char what[256];

    snprintf(what, sizeof(what), fmt, arg ? arg : "");
    vox_diag_set(p->diag, "%s:%zu:%zu: %s", p->file, n ? n->start_mark.line + 1 : 0,
                 n ? n->start_mark.column + 1 : 0, what);
    return VOX_EMALFORMED;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Copies a scalar into a fixed field; too long is an error, not a silent cut. */
static int get_scalar(struct parse *p, const yaml_node_t *n, char *dst, size_t cap,
                      const char *what)
{
    const char *s = scalar(n);

    if (!s)
        return fail_at(p, n, "%s must be a single value", what);
    if (strlen(s) >= cap)
        return fail_at(p, n, "%s is too long", what);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static int valid_token(const char *s)
{
    const char *c;

    if (!*s)
        return 0;
    for (c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-' || *c == '.' || *c == '/' || *c == ':'))
            return 0;
    return 1;
}

/* A value or a list of values into an axis (values: letters, digits, _-./: only, since they
 * end up in config ids, benchmark filters and file names). */
static int get_values(struct parse *p, const yaml_node_t *n, struct vox_axis *ax)
{
    yaml_node_item_t *it;

    ax->nvalues = 0;
    if (n->type == YAML_SCALAR_NODE) {
        if (!valid_token(scalar(n)) || strlen(scalar(n)) >= sizeof(ax->values[0]))
            return fail_at(p, n, "bad value for '%s' (letters, digits, _-./: only)", ax->name);
        memcpy(ax->values[0], scalar(n), strlen(scalar(n)) + 1);
        ax->nvalues = 1;
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE)
        return fail_at(p, n, "'%s' must be a value or a list of values", ax->name);
    for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *v = yaml_document_get_node(&p->doc, *it);
        const char *s = scalar(v);

        if (ax->nvalues == VOX_SUITE_MAX_VALUES)
            return fail_at(p, v, "too many values for '%s'", ax->name);
        if (!s || !valid_token(s) || strlen(s) >= sizeof(ax->values[0]))
            return fail_at(p, v ? v : n, "bad value for '%s' (letters, digits, _-./: only)",
                           ax->name);
        memcpy(ax->values[ax->nvalues++], s, strlen(s) + 1);
    }
    if (ax->nvalues == 0)
        return fail_at(p, n, "'%s' has no values", ax->name);
    return 0;
}

/* A mapping of name -> value(s) into axes[]. */
static int get_axes(struct parse *p, const yaml_node_t *n, struct vox_axis *axes, size_t *count,
                    size_t max, const char *what)
{
    yaml_node_pair_t *pair;

    if (n->type != YAML_MAPPING_NODE)
        return fail_at(p, n, "'%s' must be a mapping of name: values", what);
    for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(&p->doc, pair->key);
        struct vox_axis *ax;
        size_t i;
        int rc;

        if (*count == max)
            return fail_at(p, k, "too many entries in '%s'", what);
        ax = &axes[*count];
        memset(ax, 0, sizeof(*ax));
        if ((rc = get_scalar(p, k, ax->name, sizeof(ax->name), "a name")))
            return rc;
        if (!valid_token(ax->name) || strchr(ax->name, '=') || strchr(ax->name, ' '))
            return fail_at(p, k, "bad name '%s'", ax->name);
        for (i = 0; i < *count; i++)
            if (strcmp(axes[i].name, ax->name) == 0)
                return fail_at(p, k, "'%s' appears twice", ax->name);
        if ((rc = get_values(p, yaml_document_get_node(&p->doc, pair->value), ax)))
            return rc;
        (*count)++;
    }
    return 0;
}

static int parse_workload(struct parse *p, const yaml_node_t *n, struct vox_workload *w)
{
    yaml_node_pair_t *pair;
    int rc;

    memset(w, 0, sizeof(*w));
    w->line = (int)n->start_mark.line + 1;
    if (n->type != YAML_MAPPING_NODE)
        return fail_at(p, n, "a workload must be a mapping (id, kind, ...)", NULL);
    for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(&p->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(&p->doc, pair->value);
        const char *key = scalar(k);

        if (!key)
            return fail_at(p, k, "workload keys must be names", NULL);
        if (strcmp(key, "id") == 0) {
            if ((rc = get_scalar(p, v, w->id, sizeof(w->id), "id")))
                return rc;
            if (!valid_token(w->id) || strchr(w->id, '/'))
                return fail_at(p, v, "bad workload id '%s'", w->id);
        } else if (strcmp(key, "kind") == 0) {
            rc = get_scalar(p, v, w->kind, sizeof(w->kind), "kind");
        } else if (strcmp(key, "benchmark") == 0) {
            rc = get_scalar(p, v, w->benchmark, sizeof(w->benchmark), "benchmark");
        } else if (strcmp(key, "axes") == 0) {
            struct vox_axis tmp;
            size_t i;

            memset(&tmp, 0, sizeof(tmp));
            snprintf(tmp.name, sizeof(tmp.name), "axes");
            if ((rc = get_values(p, v, &tmp)))
                return rc;
            if (tmp.nvalues > VOX_SUITE_MAX_AXES)
                return fail_at(p, v, "too many axes", NULL);
            for (i = 0; i < tmp.nvalues; i++) {
                size_t len = strlen(tmp.values[i]);

                if (len >= sizeof(w->axes[i]))
                    return fail_at(p, v, "axis name '%s' is too long", tmp.values[i]);
                memcpy(w->axes[i], tmp.values[i], len + 1);
            }
            w->naxes = i;
        } else if (strcmp(key, "matrix") == 0) {
            rc = get_axes(p, v, w->matrix, &w->nmatrix, VOX_SUITE_MAX_AXES, "matrix");
        } else if (strcmp(key, "params") == 0) {
            rc = get_axes(p, v, w->params, &w->nparams, VOX_SUITE_MAX_PARAMS, "params");
        } else if (strcmp(key, "description") == 0) {
            rc = 0;
        } else {
            return fail_at(p, k,
                           "unknown workload key '%s' (id, kind, benchmark, axes, "
                           "matrix, params, description)",
                           key);
        }
        if (rc)
            return rc;
    }
    if (!w->id[0])
        return fail_at(p, n, "a workload has no 'id'", NULL);
    if (!w->kind[0])
        return fail_at(p, n, "workload '%s' has no 'kind'", w->id);
    return 0;
}

static int parse_root(struct parse *p, struct vox_suite *s)
{
    yaml_node_t *root = yaml_document_get_root_node(&p->doc);
    yaml_node_pair_t *pair;
    int rc = 0;

    if (!root)
        return fail_at(p, NULL, "empty suite file", NULL);
    if (root->type != YAML_MAPPING_NODE)
        return fail_at(p, root, "a suite must be a mapping (name, workloads, ...)", NULL);
    for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(&p->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(&p->doc, pair->value);
        const char *key = scalar(k);

        if (!key)
            return fail_at(p, k, "suite keys must be names", NULL);
        if (strcmp(key, "name") == 0) {
            rc = get_scalar(p, v, s->name, sizeof(s->name), "name");
        } else if (strcmp(key, "description") == 0) {
            rc = get_scalar(p, v, s->description, sizeof(s->description), "description");
        } else if (strcmp(key, "repetitions") == 0) {
            char *end;
            long reps;

            if (!scalar(v))
                return fail_at(p, v, "repetitions must be a number", NULL);
            errno = 0;
            reps = strtol(scalar(v), &end, 10);
            if (errno || *end || reps < 1 || reps > 1000)
                return fail_at(p, v, "repetitions must be 1..1000, not '%s'", scalar(v));
            s->repetitions = (unsigned)reps;
        } else if (strcmp(key, "matrix") == 0) {
            rc = get_axes(p, v, s->axes, &s->naxes, VOX_SUITE_MAX_AXES, "matrix");
        } else if (strcmp(key, "workloads") == 0) {
            yaml_node_item_t *it;

            if (v->type != YAML_SEQUENCE_NODE)
                return fail_at(p, v, "'workloads' must be a list", NULL);
            for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                struct vox_workload *w;
                size_t i;

                if (s->nworkloads == VOX_SUITE_MAX_WORKLOADS)
                    return fail_at(p, v, "too many workloads", NULL);
                w = &s->workloads[s->nworkloads];
                if ((rc = parse_workload(p, yaml_document_get_node(&p->doc, *it), w)))
                    return rc;
                for (i = 0; i < s->nworkloads; i++)
                    if (strcmp(s->workloads[i].id, w->id) == 0)
                        return fail_at(p, yaml_document_get_node(&p->doc, *it),
                                       "workload id '%s' appears twice", w->id);
                s->nworkloads++;
            }
        } else {
            return fail_at(p, k,
                           "unknown suite key '%s' (name, description, repetitions, "
                           "matrix, workloads)",
                           key);
        }
        if (rc)
            return rc;
    }
    if (!s->name[0])
        return fail_at(p, root, "the suite has no 'name'", NULL);
    if (!s->nworkloads)
        return fail_at(p, root, "the suite has no workloads", NULL);
    return 0;
}

int vox_suite_load(const char *name_or_path, const char *suites_dir, struct vox_suite *out,
                   struct vox_diag *diag)
{
    struct parse p = {.diag = diag};
    yaml_parser_t parser;
    size_t len = strlen(name_or_path);
    FILE *f;
    int rc;

    memset(out, 0, sizeof(*out));
    out->repetitions = 3;
    if (!strchr(name_or_path, '/') && (len < 5 || strcmp(name_or_path + len - 5, ".yaml") != 0))
        snprintf(out->file, sizeof(out->file), "%s/%s.yaml", suites_dir, name_or_path);
    else
        snprintf(out->file, sizeof(out->file), "%s", name_or_path);
    p.file = out->file;
    f = fopen(out->file, "rb");
    if (!f) {
        vox_diag_set(diag, "suite %s: cannot open %s: %s", name_or_path, out->file,
                     strerror(errno));
        return VOX_EIO;
    }
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return VOX_ENOMEM;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &p.doc)) {
        vox_diag_set(diag, "%s:%zu:%zu: not valid YAML: %s", out->file,
                     parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        fclose(f);
        return VOX_EMALFORMED;
    }
    rc = parse_root(&p, out);
    yaml_document_delete(&p.doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

int vox_suite_override(struct vox_suite *s, const char *spec, struct vox_diag *diag)
{
    struct vox_axis ax;
    const char *eq = strchr(spec, '=');
    char buf[1024], *save = NULL, *tok;
    size_t i;

    memset(&ax, 0, sizeof(ax));
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(ax.name) ||
        strlen(eq + 1) >= sizeof(buf)) {
        vox_diag_set(diag, "--matrix '%s': expected axis=value[,value...]", spec);
        return VOX_EINVAL;
    }
    memcpy(ax.name, spec, (size_t)(eq - spec));
    snprintf(buf, sizeof(buf), "%s", eq + 1);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (ax.nvalues == VOX_SUITE_MAX_VALUES || !valid_token(tok) ||
            strlen(tok) >= sizeof(ax.values[0])) {
            vox_diag_set(diag, "--matrix '%s': bad or too many values", spec);
            return VOX_EINVAL;
        }
        snprintf(ax.values[ax.nvalues++], sizeof(ax.values[0]), "%s", tok);
    }
    if (!ax.nvalues) {
        vox_diag_set(diag, "--matrix '%s': no values", spec);
        return VOX_EINVAL;
    }
    /* The suite's axis, added when new, and every workload's own values for it. */
    for (i = 0; i < s->naxes && strcmp(s->axes[i].name, ax.name) != 0; i++)
        ;
    if (i == s->naxes) {
        if (s->naxes == VOX_SUITE_MAX_AXES) {
            vox_diag_set(diag, "--matrix '%s': too many axes", spec);
            return VOX_EINVAL;
        }
        s->naxes++;
    }
    s->axes[i] = ax;
    for (i = 0; i < s->nworkloads; i++) {
        struct vox_workload *w = &s->workloads[i];
        size_t j;

        for (j = 0; j < w->nmatrix; j++)
            if (strcmp(w->matrix[j].name, ax.name) == 0)
                w->matrix[j] = ax;
        for (j = 0; j < w->nparams; j++)
            if (strcmp(w->params[j].name, ax.name) == 0)
                w->params[j] = ax;
    }
    return 0;
}

/* The values of one dimension of a workload's configuration space. */
static const struct vox_axis *dimension(const struct vox_suite *s, const struct vox_workload *w,
                                        size_t d)
{
    size_t i;

    if (d < w->naxes) {
        for (i = 0; i < w->nmatrix; i++)
            if (strcmp(w->matrix[i].name, w->axes[d]) == 0)
                return &w->matrix[i];
        for (i = 0; i < s->naxes; i++)
            if (strcmp(s->axes[i].name, w->axes[d]) == 0)
                return &s->axes[i];
        return NULL;
    }
    return &w->params[d - w->naxes];
}

int vox_suite_expand(const struct vox_suite *s, const struct vox_workload *w,
                     int (*fn)(const struct vox_run *run, void *ctx), void *ctx,
                     struct vox_diag *diag)
{
    const struct vox_axis *dims[VOX_SUITE_MAX_AXES + VOX_SUITE_MAX_PARAMS];
    size_t idx[VOX_SUITE_MAX_AXES + VOX_SUITE_MAX_PARAMS] = {0};
    size_t ndims = w->naxes + w->nparams, d;
    struct vox_run *run = calloc(1, sizeof(*run));
    int rc = 0;

    if (!run)
        return VOX_ENOMEM;
    for (d = 0; d < ndims; d++) {
        dims[d] = dimension(s, w, d);
        if (!dims[d] || !dims[d]->nvalues) {
            vox_diag_set(diag,
                         "%s:%d: workload '%s': axis '%s' has no values (add it to the "
                         "suite's matrix or the workload's)",
                         s->file, w->line, w->id, d < w->naxes ? w->axes[d] : "?");
            rc = VOX_EINVAL;
            goto out;
        }
    }
    /* An odometer over every dimension: the last one turns fastest. */
    for (;;) {
        memset(run, 0, sizeof(*run));
        snprintf(run->workload, sizeof(run->workload), "%s", w->id);
        snprintf(run->kind, sizeof(run->kind), "%s", w->kind);
        snprintf(run->benchmark, sizeof(run->benchmark), "%s", w->benchmark);
        run->ok = true;
        for (d = 0; d < ndims; d++) {
            rc = vox_run_set_param(run, dims[d]->name, dims[d]->values[idx[d]]);
            if (rc) {
                vox_diag_set(diag, "workload '%s': too many parameters", w->id);
                goto out;
            }
        }
        if ((rc = fn(run, ctx)))
            goto out;
        for (d = ndims; d-- > 0;) {
            if (++idx[d] < dims[d]->nvalues)
                break;
            idx[d] = 0;
        }
        if (d == (size_t)-1)
            break;
    }
out:
    free(run);
    return rc;
}
