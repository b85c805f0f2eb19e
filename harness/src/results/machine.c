/* SPDX-License-Identifier: MIT */
/* Machine context for results files: hwloc topology, OS, kernel, build, git commit, GPU. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vox/core.h"
#include "vox/results.h"

static void copy_trim(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    while (n && (src[n - 1] == '\n' || src[n - 1] == ' ' || src[n - 1] == '"'))
        n--;
    while (n && (*src == '"' || *src == ' ')) {
        src++;
        n--;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Runs argv (no shell) and captures the first line of its stdout. Returns 0 when it exited 0. */
static int capture(char *const argv[], char *out, size_t cap)
{
    int fd[2], status, rc = -1;
    ssize_t n;
    pid_t pid;

    out[0] = '\0';
    if (pipe(fd) != 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);

        dup2(fd[1], STDOUT_FILENO);
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO);
        close(fd[0]);
        close(fd[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    n = read(fd[0], out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        rc = 0;
    out[strcspn(out, "\n")] = '\0';
    return rc;
}

static void first_line(const char *path, char *dst, size_t cap)
{
    FILE *f = fopen(path, "r");

    dst[0] = '\0';
    if (!f)
        return;
    if (fgets(dst, (int)cap, f))
        dst[strcspn(dst, "\n")] = '\0';
    fclose(f);
}

/* The value of `key` in a "key=value" or "key : value" file such as /etc/os-release. */
static void file_value(const char *path, const char *key, char sep, char *dst, size_t cap)
{
    char line[512];
    size_t klen = strlen(key);
    FILE *f = fopen(path, "r");

    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *p;

        if (strncmp(line, key, klen) != 0)
            continue;
        p = line + klen;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != sep)
            continue;
        copy_trim(dst, cap, p + 1);
        break;
    }
    fclose(f);
}

/*
 * The first NVIDIA GPU: its model from the driver when one is loaded, else its PCI id from
 * sysfs (vendor 0x10de, display class 0x03). hwloc's PCI plugin could name it too, but it
 * leaks at every topology load (seen under LeakSanitizer) and Debian ships no CUDA plugin.
 */
static void detect_gpu(struct vox_machine *m)
{
    struct dirent **ents;
    char path[512], vendor[16], cls[16], dev[16];
    int n, i;

    n = scandir("/proc/driver/nvidia/gpus", &ents, NULL, alphasort);
    for (i = 0; i < n; i++) {
        if (!m->cuda_device[0] && ents[i]->d_name[0] != '.') {
            snprintf(path, sizeof(path), "/proc/driver/nvidia/gpus/%s/information",
                     ents[i]->d_name);
            file_value(path, "Model", ':', m->cuda_device, sizeof(m->cuda_device));
        }
        free(ents[i]);
    }
    if (n >= 0)
        free(ents);
    if (m->cuda_device[0])
        return;
    n = scandir("/sys/bus/pci/devices", &ents, NULL, alphasort);
    for (i = 0; i < n; i++) {
        vendor[0] = cls[0] = dev[0] = '\0';
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", ents[i]->d_name);
        first_line(path, vendor, sizeof(vendor));
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", ents[i]->d_name);
        first_line(path, cls, sizeof(cls));
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", ents[i]->d_name);
        first_line(path, dev, sizeof(dev));
        if (!m->cuda_device[0] && strcmp(vendor, "0x10de") == 0 && strncmp(cls, "0x03", 4) == 0)
            snprintf(m->cuda_device, sizeof(m->cuda_device), "NVIDIA PCI device %s (no driver)",
                     dev);
        free(ents[i]);
    }
    if (n >= 0)
        free(ents);
}

static void detect_topology(struct vox_machine *m)
{
    hwloc_topology_t t;
    hwloc_obj_t root;
    const char *model;
    int depth;

    if (hwloc_topology_init(&t) != 0)
        return;
    if (hwloc_topology_load(t) != 0)
        goto out;
    root = hwloc_get_root_obj(t);
    model = hwloc_obj_get_info_by_name(root, "CPUModel");
    if (!model) {
        hwloc_obj_t pkg = hwloc_get_obj_by_type(t, HWLOC_OBJ_PACKAGE, 0);

        model = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
    }
    if (model)
        copy_trim(m->cpu_model, sizeof(m->cpu_model), model);
    m->packages = (unsigned)hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);
    m->cores = (unsigned)hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
    m->pus = (unsigned)hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
    m->numa_nodes = (unsigned)hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
    /* One entry per cache kind and level, with how many there are. */
    for (depth = 0; depth < hwloc_topology_get_depth(t); depth++) {
        hwloc_obj_t c = hwloc_get_obj_by_depth(t, depth, 0);
        struct vox_cache_info *ci;

        if (!c || !hwloc_obj_type_is_cache(c->type) || !c->attr ||
            m->ncaches == sizeof(m->caches) / sizeof(m->caches[0]))
            continue;
        ci = &m->caches[m->ncaches++];
        ci->level = c->attr->cache.depth;
        ci->size_bytes = c->attr->cache.size;
        ci->count = (unsigned)hwloc_get_nbobjs_by_depth(t, (unsigned)depth);
        snprintf(ci->type, sizeof(ci->type), "%s",
                 c->attr->cache.type == HWLOC_OBJ_CACHE_DATA          ? "data"
                 : c->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION ? "instruction"
                                                                      : "unified");
    }
out:
    hwloc_topology_destroy(t);
}

void vox_machine_detect(struct vox_machine *m)
{
    struct utsname u;
    char buf[256];
    char *git_head[] = {"git", "-C", VOX_SOURCE_DIR, "rev-parse", "HEAD", NULL};
    char *git_dirty[] = {
        "git", "-C", VOX_SOURCE_DIR, "status", "--porcelain", "--untracked-files=no", NULL};

    memset(m, 0, sizeof(*m));
    if (gethostname(buf, sizeof(buf)) == 0) {
        buf[sizeof(buf) - 1] = '\0';
        copy_trim(m->hostname, sizeof(m->hostname), buf);
    }
    if (uname(&u) == 0)
        copy_trim(m->kernel, sizeof(m->kernel), u.release);
    file_value("/etc/os-release", "PRETTY_NAME", '=', m->os, sizeof(m->os));
    detect_topology(m);
    detect_gpu(m);
    if (!m->cpu_model[0])
        file_value("/proc/cpuinfo", "model name", ':', m->cpu_model, sizeof(m->cpu_model));
    m->cpus_available = vox_cpu_count();
    /* What `free` calls total; hwloc's root total_memory counts only NUMA-local memory here. */
    if (sysconf(_SC_PHYS_PAGES) > 0 && sysconf(_SC_PAGESIZE) > 0)
        m->memory_bytes = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    copy_trim(m->compiler, sizeof(m->compiler), VOX_C_COMPILER);
    copy_trim(m->build_type, sizeof(m->build_type), VOX_BUILD_TYPE);
    copy_trim(m->c_flags, sizeof(m->c_flags), VOX_C_FLAGS);
    copy_trim(m->features, sizeof(m->features), vox_build_features());
    copy_trim(m->voxbench_version, sizeof(m->voxbench_version), vox_version());
    /* The commit of the source tree the binary was built from, and whether it had changes. */
    if (capture(git_head, buf, sizeof(buf)) == 0)
        copy_trim(m->git_commit, sizeof(m->git_commit), buf);
    if (m->git_commit[0] && capture(git_dirty, buf, sizeof(buf)) == 0)
        m->git_dirty = buf[0] != '\0';
}
