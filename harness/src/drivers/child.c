/* SPDX-License-Identifier: MIT */
/* Child processes for drivers: spawn without a shell, time out, collect rusage; the registry. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "vox/core.h"

volatile sig_atomic_t vox_driver_cancel;

static const struct vox_driver_ops *const drivers[] = {
    &vox__driver_micro,
    &vox__driver_frames,
    &vox__driver_sipp,
    &vox__driver_pcap,
};

const struct vox_driver_ops *vox_driver_find(const char *kind)
{
    size_t i;

    for (i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
        if (strcmp(drivers[i]->kind, kind) == 0)
            return drivers[i];
    return NULL;
}

size_t vox_driver_count(void)
{
    return sizeof(drivers) / sizeof(drivers[0]);
}

const struct vox_driver_ops *vox_driver_at(size_t i)
{
    return i < vox_driver_count() ? drivers[i] : NULL;
}

static int redirect(const char *path, int fd, int flags)
{
    int f = open(path ? path : "/dev/null", flags, 0644);

    if (f < 0)
        return -1;
    if (dup2(f, fd) < 0) {
        close(f);
        return -1;
    }
    close(f);
    return 0;
}

int vox_child_spawn(char *const argv[], char *const env_add[], const char *cwd,
                    const char *stdout_path, const char *stderr_path, pid_t *pid_out,
                    struct vox_diag *diag)
{
    int pipefd[2], err = 0;
    pid_t pid;
    ssize_t n;

    *pid_out = 0;
    /* A close-on-exec pipe reports an exec failure (errno) back to the parent. */
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        vox_diag_set(diag, "%s: pipe: %s", argv[0], strerror(errno));
        return VOX_EIO;
    }
    pid = fork();
    if (pid < 0) {
        vox_diag_set(diag, "%s: fork: %s", argv[0], strerror(errno));
        close(pipefd[0]);
        close(pipefd[1]);
        return VOX_EIO;
    }
    if (pid == 0) {
        char *const *e;

        /* Its own process group, so a timeout kills whatever it started too. */
        setpgid(0, 0);
        close(pipefd[0]);
        if (redirect(stdout_path, STDOUT_FILENO, O_WRONLY | O_CREAT | O_TRUNC) ||
            redirect(stderr_path, STDERR_FILENO, O_WRONLY | O_CREAT | O_TRUNC) ||
            redirect(NULL, STDIN_FILENO, O_RDONLY) || (cwd && chdir(cwd) != 0))
            goto child_fail;
        for (e = env_add; e && *e; e++)
            if (putenv(*e) != 0)
                goto child_fail;
        execvp(argv[0], argv);
    child_fail:
        err = errno;
        if (write(pipefd[1], &err, sizeof(err)) < 0)
            _exit(126);
        _exit(127);
    }
    close(pipefd[1]);
    n = read(pipefd[0], &err, sizeof(err));
    close(pipefd[0]);
    if (n == (ssize_t)sizeof(err)) {
        waitpid(pid, NULL, 0);
        vox_diag_set(diag, "cannot run %s: %s", argv[0], strerror(err));
        return VOX_EIO;
    }
    *pid_out = pid;
    return 0;
}

int vox_child_run(char *const argv[], char *const env_add[], const char *stdout_path,
                  const char *stderr_path, unsigned timeout_s, struct vox_child_usage *usage,
                  struct vox_diag *diag)
{
    int status = 0, rc;
    uint64_t start = vox_clock_ns(), deadline;
    struct rusage ru;
    pid_t pid, w;

    memset(usage, 0, sizeof(*usage));
    rc = vox_child_spawn(argv, env_add, NULL, stdout_path, stderr_path, &pid, diag);
    if (rc)
        return rc;
    /* Poll for the exit so that the timeout needs no signal handler or extra thread; the
     * 10 ms granularity is far below any workload's length. */
    deadline = start + (uint64_t)(timeout_s ? timeout_s : 600) * 1000000000u;
    for (;;) {
        w = wait4(pid, &status, WNOHANG, &ru);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            vox_diag_set(diag, "%s: wait: %s", argv[0], strerror(errno));
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            return VOX_EIO;
        }
        if ((vox_clock_ns() > deadline || vox_driver_cancel) && !usage->timed_out) {
            usage->timed_out = true;
            kill(-pid, SIGKILL);
        }
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    usage->wall_s = (double)(vox_clock_ns() - start) / 1e9;
    usage->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    usage->user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    usage->sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    usage->max_rss_bytes = (uint64_t)ru.ru_maxrss * 1024u; /* Linux reports KiB */
    return 0;
}

int vox_driver_push_usage(struct vox_run *run, const struct vox_child_usage *u)
{
    /* One metric at a time: adding a metric may move the run's array, and with it a pointer
     * taken before. */
    static const char *const names[] = {"rss_peak_bytes", "cpu_user_s", "cpu_sys_s", "wall_s"};
    const double values[] = {(double)u->max_rss_bytes, u->user_s, u->sys_s, u->wall_s};

    for (size_t i = 0; i < 4; i++) {
        struct vox_metric *m =
            vox_run_metric(run, names[i], i == 0 ? "bytes" : "s", VOX_DIR_LOWER, false);

        if (!m || vox_metric_push(m, values[i]))
            return VOX_ENOMEM;
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void vox_driver_rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void vox_driver_tail(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "rb");
    long size;
    size_t n;
    char *nl;

    buf[0] = '\0';
    if (!f)
        return;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0) {
        fseek(f, size > (long)len - 1 ? size - (long)len + 1 : 0, SEEK_SET);
        n = fread(buf, 1, len - 1, f);
        buf[n] = '\0';
        /* One line is what fits in a diag: keep the last non-empty one. */
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
            buf[--n] = '\0';
        nl = strrchr(buf, '\n');
        if (nl)
            memmove(buf, nl + 1, strlen(nl + 1) + 1);
    }
    fclose(f);
}

bool vox_driver_on_path(const char *name)
{
    const char *path = getenv("PATH"), *p, *colon;
    char buf[4096];

    if (strchr(name, '/'))
        return access(name, X_OK) == 0;
    for (p = path ? path : "/usr/bin:/bin"; *p; p = colon + 1) {
        size_t len;

        colon = strchr(p, ':');
        len = colon ? (size_t)(colon - p) : strlen(p);
        if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, len ? p : ".", name) <
                (int)sizeof(buf) &&
            access(buf, X_OK) == 0)
            return true;
        if (!colon)
            break;
    }
    return false;
}

/* Where scenarios/ lives: $VOXBENCH_HOME or the source tree (as `voxbench` itself looks). */
const char *vox_driver_home(void)
{
    const char *h = getenv("VOXBENCH_HOME");

    return h && h[0] ? h : VOX_SOURCE_DIR;
}
