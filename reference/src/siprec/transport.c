/* SPDX-License-Identifier: MIT */
/* The SIP side of the server's I/O: UDP and TCP sockets on one epoll loop, message framing,
 * hand-off of each message to the executor, and the timer pass (retransmissions, delayed
 * answers, ACK waits, media timeouts). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "siprec/internal.h"
#include "vox/core.h"

#define UDP_BATCH     32
#define UDP_MAX_BYTES 65536
#define TCP_MAX_IN    (VOX_SIP_MAX_MSG_BYTES + 4096)
#define TCP_MAX_OUT   (1u << 20)
#define LOOP_IDLE_MS  50

/* epoll tags: the data pointer of each registration is one of these or a struct srs_conn. */
static char tag_udp, tag_listen, tag_event;

struct job {
    struct vox_srs *srs;
    struct srs_peer peer;
    uint64_t rx_ns;
    size_t len;
    char buf[]; /* the message, NUL-terminated */
};

/* ---- peers and connections ------------------------------------------------------------------ */

void srs_peer_copy(struct srs_peer *dst, const struct srs_peer *src)
{
    *dst = *src;
    if (dst->conn)
        atomic_fetch_add(&dst->conn->refs, 1);
}

void srs_peer_release(struct srs_peer *p)
{
    if (p->conn)
        srs_conn_unref(p->conn);
    p->conn = NULL;
}

void srs_conn_unref(struct srs_conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    atomic_fetch_sub(&c->srs->c.tcp_active, 1);
    close(c->fd);
    pthread_mutex_destroy(&c->wlock);
    free(c->in);
    free(c->out);
    free(c);
}

static void conn_arm(struct srs_conn *c, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0u),
                             .data.ptr = c};
    c->want_out = want_out;
    epoll_ctl(c->srs->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what fits now and queues the rest for EPOLLOUT. Called with wlock held. */
static void conn_write_locked(struct srs_conn *c, const char *msg, size_t len)
{
    if (atomic_load(&c->closed))
        return;
    if (!c->out_len) {
        ssize_t n = send(c->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            atomic_store(&c->closed, true);
            shutdown(c->fd, SHUT_RDWR);
            return;
        }
        if (n > 0) {
            msg += n;
            len -= (size_t)n;
        }
        if (!len)
            return;
    }
    if (c->out_len + len > TCP_MAX_OUT) {
        /* a peer that stops reading does not get to hold our memory */
        srs_log(c->srs, 0, "TCP peer does not read its responses; closing the connection");
        atomic_store(&c->closed, true);
        shutdown(c->fd, SHUT_RDWR);
        return;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) {
            atomic_store(&c->closed, true);
            shutdown(c->fd, SHUT_RDWR);
            return;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, msg, len);
    c->out_len += len;
    if (!c->want_out)
        conn_arm(c, true);
}

static void conn_flush(struct srs_conn *c)
{
    pthread_mutex_lock(&c->wlock);
    while (c->out_len) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                atomic_store(&c->closed, true);
                c->out_len = 0;
            }
            break;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    if (!c->out_len && c->want_out)
        conn_arm(c, false);
    pthread_mutex_unlock(&c->wlock);
}

void srs_send(struct vox_srs *s, const struct srs_peer *peer, const char *msg, size_t len)
{
    if (peer->transport == SRS_UDP) {
        if (sendto(s->udp_fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&peer->addr,
                   peer->addr_len) < 0)
            srs_log(s, 2, "UDP send: %s", strerror(errno));
    } else if (peer->conn) {
        pthread_mutex_lock(&peer->conn->wlock);
        conn_write_locked(peer->conn, msg, len);
        pthread_mutex_unlock(&peer->conn->wlock);
    }
}

static void conn_close(struct srs_conn *c);

/* ---- jobs: one message handled on the executor ---------------------------------------------- */

static void job_run(void *arg)
{
    struct job *j = arg;

    srs_handle_message(j->srs, &j->peer, j->buf, j->len, j->rx_ns, false);
    srs_peer_release(&j->peer);
    free(j);
}

static void job_free(void *arg)
{
    struct job *j = arg;

    srs_peer_release(&j->peer);
    free(j);
}

/* Where a message goes in an executor with priorities (steal; the others serve in order):
 * - ACK, BYE and CANCEL first: they confirm or end what is already paid for, so a backlog of
 *   INVITEs does not delay them;
 * - then INVITEs and the other requests, ahead of the media ticks (NORMAL, recorder.c): a
 *   tick's tasks for a thousand sessions would otherwise stand between an INVITE and its 200,
 *   while the media they read waits in the sockets and its task catches up from the clock;
 * - OPTIONS pings with the media. */
static enum vox_priority message_priority(const char *buf, size_t len)
{
    if (len >= 4 && (!memcmp(buf, "ACK ", 4) || !memcmp(buf, "BYE ", 4)))
        return VOX_PRIO_CRITICAL;
    if (len >= 7 && !memcmp(buf, "CANCEL ", 7))
        return VOX_PRIO_CRITICAL;
    if (len >= 8 && !memcmp(buf, "OPTIONS ", 8))
        return VOX_PRIO_NORMAL;
    return VOX_PRIO_HIGH;
}

static void dispatch(struct vox_srs *s, const struct srs_peer *peer, const char *buf, size_t len,
                     uint64_t rx_ns)
{
    struct job *j = malloc(sizeof(*j) + len + 1);

    atomic_fetch_add_explicit(&s->c.bytes_in, len, memory_order_relaxed);
    if (!j) {
        srs_log(s, 0, "out of memory: dropping a %zu-byte message", len);
        return;
    }
    j->srs = s;
    srs_peer_copy(&j->peer, peer);
    j->rx_ns = rx_ns;
    j->len = len;
    memcpy(j->buf, buf, len);
    j->buf[len] = 0;
    /* On this thread when it cannot wait on the disk (SIP_INLINE): one thread hop less between
     * the datagram and its answer. Through the executor, a new INVITE at 1000 recorded sessions
     * on 2 cores waited for a worker 2-3 ms at p99 (docs/siprec.md). */
    if (s->cfg.sip_inline && srs_handle_message(s, &j->peer, j->buf, j->len, rx_ns, true)) {
        atomic_fetch_add_explicit(&s->c.messages_on_loop, 1, memory_order_relaxed);
        job_free(j);
        return;
    }
    atomic_fetch_add_explicit(&s->c.messages_to_executor, 1, memory_order_relaxed);
    struct vox_task t = {job_run, job_free, j, message_priority(buf, len)};
    if (vox_executor_submit(s->exec, &t) < 0)
        job_free(j);
}

/* ---- sockets ----------------------------------------------------------------------------------
 */

static int addr_parse(const char *host, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof(*a4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*a6);
        return 0;
    }
    return VOX_EINVAL;
}

static int bind_socket(const char *host, unsigned port, int type, unsigned *bound,
                       struct vox_diag *diag)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1;

    if (addr_parse(host, port, &ss, &len) < 0) {
        vox_diag_set(diag, "bad address %s", host);
        return VOX_EINVAL;
    }
    fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return VOX__ERR(errno);
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
        (type == SOCK_STREAM && listen(fd, 1024) < 0)) {
        int e = errno;
        vox_diag_set(diag, "cannot listen on %s %s:%u: %s", type == SOCK_STREAM ? "TCP" : "UDP",
                     host, port, strerror(e));
        close(fd);
        return VOX__ERR(e);
    }
    len = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *bound = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                     : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

static int epoll_add(struct vox_srs *s, int fd, void *tag, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = tag};
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? VOX__ERR(errno) : 0;
}

int srs_transport_open(struct vox_srs *s, struct vox_diag *diag)
{
    bool udp = strstr(s->cfg.sip_transports, "udp") != NULL;
    bool tcp = strstr(s->cfg.sip_transports, "tcp") != NULL;
    unsigned port = s->cfg.sip_port;
    int rc;

    s->udp_fd = s->tcp_fd = s->event_fd = -1;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->epfd < 0 || s->event_fd < 0) {
        vox_diag_set(diag, "epoll/eventfd: %s", strerror(errno));
        return VOX__ERR(errno);
    }
    /* With port 0 the UDP socket picks the number and TCP must get the same one; another
     * program may hold it for TCP, so try a few. */
    for (int attempt = 0; attempt < 16; attempt++) {
        unsigned bound = port;
        if (udp) {
            int one = 1;

            rc = bind_socket(s->cfg.sip_host, port, SOCK_DGRAM, &bound, diag);
            if (rc < 0)
                return rc;
            s->udp_fd = rc;
            /* the kernel's arrival time: INVITE-to-200 then counts the wait for this loop */
            setsockopt(s->udp_fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
        }
        if (tcp) {
            rc = bind_socket(s->cfg.sip_host, bound, SOCK_STREAM, &bound, diag);
            if (rc < 0) {
                if (udp && port == 0 && rc == VOX__ERR(EADDRINUSE)) {
                    close(s->udp_fd);
                    s->udp_fd = -1;
                    continue;
                }
                return rc;
            }
            s->tcp_fd = rc;
        }
        s->sip_port = bound;
        break;
    }
    if (!s->sip_port) {
        vox_diag_set(diag, "no free port for SIP on %s", s->cfg.sip_host);
        return VOX_EBUSY;
    }
    if (s->udp_fd >= 0) {
        int rcvbuf = 4 << 20;
        setsockopt(s->udp_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        if ((rc = epoll_add(s, s->udp_fd, &tag_udp, EPOLLIN)) < 0)
            return rc;
    }
    if (s->tcp_fd >= 0 && (rc = epoll_add(s, s->tcp_fd, &tag_listen, EPOLLIN)) < 0)
        return rc;
    if ((rc = epoll_add(s, s->event_fd, &tag_event, EPOLLIN)) < 0)
        return rc;
    return 0;
}

void srs_transport_close(struct vox_srs *s)
{
    while (s->conns)
        conn_close(s->conns);
    if (s->udp_fd >= 0)
        close(s->udp_fd);
    if (s->tcp_fd >= 0)
        close(s->tcp_fd);
    if (s->event_fd >= 0)
        close(s->event_fd);
    if (s->epfd >= 0)
        close(s->epfd);
    s->udp_fd = s->tcp_fd = s->event_fd = s->epfd = -1;
}

void srs_wake(struct vox_srs *s)
{
    uint64_t one = 1;
    ssize_t n = write(s->event_fd, &one, sizeof(one));
    (void)n;
}

/* ---- the loop ---------------------------------------------------------------------------------
 */

static void udp_read(struct vox_srs *s)
{
    static __thread char bufs[UDP_BATCH][UDP_MAX_BYTES];
    static __thread union {
        char bytes[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } ctl[UDP_BATCH];
    struct mmsghdr msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct sockaddr_storage addrs[UDP_BATCH];

    for (int round = 0; round < 64; round++) {
        for (int i = 0; i < UDP_BATCH; i++) {
            iov[i] = (struct iovec){bufs[i], UDP_MAX_BYTES - 1};
            msgs[i].msg_hdr = (struct msghdr){.msg_name = &addrs[i],
                                              .msg_namelen = sizeof(addrs[i]),
                                              .msg_iov = &iov[i],
                                              .msg_iovlen = 1,
                                              .msg_control = ctl[i].bytes,
                                              .msg_controllen = sizeof(ctl[i].bytes)};
        }
        int n = recvmmsg(s->udp_fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        uint64_t now = vox_clock_ns();
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        int64_t real = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
        for (int i = 0; i < n; i++) {
            struct srs_peer peer = {.transport = SRS_UDP, .addr_len = msgs[i].msg_hdr.msg_namelen};
            size_t len = msgs[i].msg_len;
            memcpy(&peer.addr, &addrs[i], sizeof(addrs[i]));
            /* RFC 5626 §3.5.1 keep-alives over UDP are a bare CRLF (or CRLFCRLF): ignore */
            if (len <= 4 && strspn(bufs[i], "\r\n") >= len)
                continue;
            dispatch(s, &peer, bufs[i], len, vox_socket_arrival_ns(&msgs[i].msg_hdr, now, real));
        }
        if (n < UDP_BATCH)
            return;
    }
}

static void tcp_accept(struct vox_srs *s)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(s->tcp_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct srs_conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->fd = fd;
        c->srs = s;
        atomic_init(&c->refs, 1);
        pthread_mutex_init(&c->wlock, NULL);
        c->addr = ss;
        c->addr_len = len;
        atomic_fetch_add(&s->c.tcp_connections, 1);
        atomic_fetch_add(&s->c.tcp_active, 1);
        if (epoll_add(s, fd, c, EPOLLIN | EPOLLRDHUP) < 0) {
            srs_conn_unref(c);
            continue;
        }
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
    }
}

static void conn_close(struct srs_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->srs->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_store(&c->closed, true);
    epoll_ctl(c->srs->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    shutdown(c->fd, SHUT_RDWR);
    srs_conn_unref(c);
}

/* Frames every complete message in c->in and hands each to the executor. Returns false when
 * the stream is broken (RFC 3261 §18.3: it cannot be resynchronised) and must close. */
static bool conn_frame(struct srs_conn *c, uint64_t now)
{
    struct vox_srs *s = c->srs;
    size_t pos = 0;
    bool ok = true;

    while (pos < c->in_len) {
        struct vox_sip_frame f;
        int rc = vox_sip_frame(c->in + pos, c->in_len - pos, VOX_SIP_TRANSPORT_STREAM, &f, NULL);
        for (unsigned i = 0; i < f.pings; i++) {
            /* RFC 5626 §3.5.1: a CRLFCRLF ping gets a CRLF pong */
            pthread_mutex_lock(&c->wlock);
            conn_write_locked(c, "\r\n", 2);
            pthread_mutex_unlock(&c->wlock);
        }
        if (rc == VOX_EINCOMPLETE) {
            pos += f.skip;
            break;
        }
        if (rc < 0) {
            atomic_fetch_add(&s->c.dropped_malformed, 1);
            srs_log(s, 1, "TCP stream from a peer is not SIP (%s); closing it",
                    f.error.reason[0] ? f.error.reason : vox_strerror(rc));
            if (f.error.status) {
                char resp[256];
                int n = snprintf(resp, sizeof(resp), "SIP/2.0 %d %s\r\nContent-Length: 0\r\n\r\n",
                                 f.error.status, f.error.reason);
                pthread_mutex_lock(&c->wlock);
                conn_write_locked(c, resp, (size_t)n);
                pthread_mutex_unlock(&c->wlock);
            }
            ok = false;
            break;
        }
        struct srs_peer peer = {.transport = SRS_TCP, .addr_len = c->addr_len, .conn = c};
        memcpy(&peer.addr, &c->addr, sizeof(c->addr));
        dispatch(s, &peer, c->in + pos + f.skip, f.len, now);
        pos += f.skip + f.len;
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    return ok;
}

static void conn_read(struct srs_conn *c)
{
    uint64_t now = vox_clock_ns();

    for (;;) {
        if (c->in_cap - c->in_len < 4096) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
            if (cap > TCP_MAX_IN)
                cap = TCP_MAX_IN;
            if (cap <= c->in_len) {
                /* the framer answers 513 before this; a guard for the buffer all the same */
                conn_close(c);
                return;
            }
            char *p = realloc(c->in, cap);
            if (!p) {
                conn_close(c);
                return;
            }
            c->in = p;
            c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_frame(c, now);
            conn_close(c);
            return;
        }
        if (n < 0)
            return;
        c->in_len += (size_t)n;
        if (!conn_frame(c, now)) {
            conn_flush(c);
            conn_close(c);
            return;
        }
    }
}

int srs_loop(struct vox_srs *s)
{
    struct epoll_event evs[64];
    uint64_t next_ns = 0;

    while (!atomic_load(&s->stopping)) {
        uint64_t now = vox_clock_ns();
        int wait_ms = LOOP_IDLE_MS;
        if (next_ns && next_ns > now && (next_ns - now) / 1000000 < (uint64_t)wait_ms)
            wait_ms = (int)((next_ns - now) / 1000000) + 1;
        else if (next_ns && next_ns <= now)
            wait_ms = 0;
        int n = epoll_wait(s->epfd, evs, 64, wait_ms);
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == &tag_udp) {
                udp_read(s);
            } else if (tag == &tag_listen) {
                tcp_accept(s);
            } else if (tag == &tag_event) {
                uint64_t v;
                ssize_t r = read(s->event_fd, &v, sizeof(v));
                (void)r;
            } else {
                struct srs_conn *c = tag;
                if (evs[i].events & EPOLLOUT)
                    conn_flush(c);
                if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    conn_read(c);
            }
        }
        next_ns = 0;
        srs_timers_run(s, vox_clock_ns(), &next_ns);
    }
    return 0;
}
