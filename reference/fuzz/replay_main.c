/* SPDX-License-Identifier: MIT */
/* Replay driver for the fuzz targets, for any compiler: runs the seed corpus and a fixed number
 * of deterministic mutations of it through LLVMFuzzerTestOneInput. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT_BYTES (1u << 20) /* larger seed files are refused */
#define GROW_BYTES      64         /* room mutations may add to the largest seed */

static const char usage[] =
    "usage: %s [--mutations N] [--seed S] [--save FILE] PATH...\n"
    "  Runs every file of each PATH (a file, or a directory: its regular files in name order)\n"
    "  through the fuzz target, then N (default 20000) mutations of them: bit flips, byte\n"
    "  sets, truncations, inserts, deletions, copies and splices, drawn from seed S (default\n"
    "  1), the same on every run. --save writes each input to FILE before running it, so that\n"
    "  FILE holds the crashing one after a crash. Exit status 0: no target crashed.\n";

struct input {
    uint8_t *data;
    size_t len;
};

struct corpus {
    struct input *v;
    size_t n, cap, max_len;
};

static int add_input(struct corpus *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    struct input in = {0};
    long len;
    int rc = -1;

    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: cannot size %s\n", path);
        goto out;
    }
    if ((unsigned long)len > MAX_INPUT_BYTES) {
        fprintf(stderr, "replay: %s: %ld bytes, over the %u-byte limit\n", path, len,
                MAX_INPUT_BYTES);
        goto out;
    }
    in.len = (size_t)len;
    in.data = malloc(in.len ? in.len : 1);
    if (!in.data || fread(in.data, 1, in.len, f) != in.len) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(in.data);
        goto out;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct input *v = realloc(c->v, cap * sizeof(*v));

        if (!v) {
            free(in.data);
            goto out;
        }
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = in;
    if (in.len > c->max_len)
        c->max_len = in.len;
    rc = 0;
out:
    fclose(f);
    return rc;
}

static int only_files(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* A file, or the regular files of a directory in name order (readdir order is not stable). */
static int add_path(struct corpus *c, const char *path)
{
    struct dirent **names;
    struct stat st;
    int n, i, rc = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return add_input(c, path);
    n = scandir(path, &names, only_files, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (i = 0; i < n; i++) {
        char full[4096];

        snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
        if (rc == 0 && stat(full, &st) == 0 && S_ISREG(st.st_mode))
            rc = add_input(c, full);
        free(names[i]);
    }
    free(names);
    return rc;
}

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
    /* xorshift64*: fixed sequence for a given seed. */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return n ? (uint32_t)((rng * 0x2545F4914F6CDD1Dull >> 32) % n) : 0;
}

/* Runs one input from an exact-size heap block, so that ASan flags any read past its end. */
static void run(const uint8_t *data, size_t len, const char *save)
{
    uint8_t *copy = malloc(len ? len : 1);

    if (!copy) {
        fprintf(stderr, "replay: out of memory\n");
        exit(2);
    }
    if (len)
        memcpy(copy, data, len);
    if (save) {
        FILE *f = fopen(save, "wb");

        if (f) {
            fwrite(data, 1, len, f);
            fclose(f);
        }
    }
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
}

/* Applies 1..4 random edits to buf[0, *len) (capacity cap). */
static void mutate(uint8_t *buf, size_t *len, size_t cap, const struct corpus *c)
{
    static const uint8_t interesting[] = {0x00, 0x01, 0x02, 0x03, 0x0f, 0x10, 0x3f, 0x40,
                                          0x7f, 0x80, 0x81, 0xbe, 0xc8, 0xde, 0xfe, 0xff};
    uint32_t edits = 1 + rnd(4), e;

    for (e = 0; e < edits; e++) {
        size_t n = *len, pos = rnd((uint32_t)n + 1);

        switch (rnd(8)) {
        case 0: /* flip a bit */
            if (n)
                buf[pos % n] ^= (uint8_t)(1u << rnd(8));
            break;
        case 1: /* an interesting byte */
            if (n)
                buf[pos % n] = interesting[rnd(sizeof(interesting))];
            break;
        case 2: /* a random byte */
            if (n)
                buf[pos % n] = (uint8_t)rnd(256);
            break;
        case 3: /* truncate */
            *len = pos;
            break;
        case 4: /* insert a byte */
            if (n < cap) {
                memmove(buf + pos + 1, buf + pos, n - pos);
                buf[pos] = (uint8_t)rnd(256);
                *len = n + 1;
            }
            break;
        case 5: /* delete a byte */
            if (n && pos < n) {
                memmove(buf + pos, buf + pos + 1, n - pos - 1);
                *len = n - 1;
            }
            break;
        case 6: /* copy a chunk over another place */
            if (n > 1) {
                size_t from = rnd((uint32_t)n), to = rnd((uint32_t)n);
                size_t k = 1 + rnd((uint32_t)(n - (from > to ? from : to)));

                memmove(buf + to, buf + from, k);
            }
            break;
        default: { /* splice: the tail of another seed */
            const struct input *o = &c->v[rnd((uint32_t)c->n)];
            size_t from = rnd((uint32_t)o->len + 1), k = o->len - from;

            if (pos + k > cap)
                k = cap - pos;
            if (k)
                memcpy(buf + pos, o->data + from, k);
            *len = pos + k;
            break;
        }
        }
    }
}

int main(int argc, char **argv)
{
    struct corpus c = {0};
    unsigned long long mutations = 20000, seed = 1, i;
    const char *save = NULL;
    uint8_t *buf = NULL;
    size_t cap;
    int a, rc = 2;

    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--mutations") && a + 1 < argc) {
            mutations = strtoull(argv[++a], NULL, 0);
        } else if (!strcmp(argv[a], "--seed") && a + 1 < argc) {
            seed = strtoull(argv[++a], NULL, 0);
        } else if (!strcmp(argv[a], "--save") && a + 1 < argc) {
            save = argv[++a];
        } else if (argv[a][0] == '-') {
            fprintf(stderr, usage, argv[0]);
            goto out;
        } else if (add_path(&c, argv[a]) != 0) {
            goto out;
        }
    }
    if (c.n == 0) {
        fprintf(stderr, "replay: no input files\n");
        fprintf(stderr, usage, argv[0]);
        goto out;
    }
    for (i = 0; i < c.n; i++)
        run(c.v[i].data, c.v[i].len, save);

    cap = c.max_len + GROW_BYTES;
    buf = malloc(cap);
    if (!buf)
        goto out;
    rng = seed ? seed : 1;
    for (i = 0; i < mutations; i++) {
        const struct input *s = &c.v[rnd((uint32_t)c.n)];
        size_t len = s->len;

        memcpy(buf, s->data, len);
        mutate(buf, &len, cap, &c);
        run(buf, len, save);
    }
    printf("replay: %zu seed input(s), %llu mutation(s) (seed %llu): no crash\n", c.n, mutations,
           seed);
    rc = 0;
out:
    free(buf);
    for (i = 0; i < c.n; i++)
        free(c.v[i].data);
    free(c.v);
    return rc;
}
