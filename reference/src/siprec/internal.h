/* SPDX-License-Identifier: MIT */
/* Internals of the SIPREC server shared by its files: server.c (life cycle), transport.c (epoll
 * loop, UDP, TCP, timers), dialog.c (requests, sessions), api.c (HTTP API). */
#ifndef VOX_SIPREC_INTERNAL_H
#define VOX_SIPREC_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "vox/alloc.h"
#include "vox/exec.h"
#include "vox/httpd.h"
#include "vox/recorder.h"
#include "vox/rsmeta.h"
#include "vox/sip.h"
#include "vox/siprec.h"
#include "vox/store.h"

#define SRS_MAX_STREAMS 16
#define SRS_T1_MS       500  /* RFC 3261 §17.1.1.1 */
#define SRS_T2_MS       4000 /* RFC 3261 §17.1.2.2 */
#define SRS_ACK_WAIT_MS (64 * SRS_T1_MS)

enum srs_transport { SRS_UDP = 0, SRS_TCP };

/* A TCP connection. The loop holds one reference while it is in epoll; each job and session
 * that may answer through it holds one more. The fd closes with the last reference, so a late
 * writer never writes into a reused descriptor. */
struct srs_conn {
    int fd;
    atomic_uint refs;
    atomic_bool closed;
    pthread_mutex_t wlock; /* outbuf and writes */
    char *out;
    size_t out_len, out_cap;
    bool want_out; /* EPOLLOUT armed */
    char *in;      /* bytes not yet framed */
    size_t in_len, in_cap;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct vox_srs *srs;
    struct srs_conn *next, *prev; /* the loop's list of open connections */
};

/* Where a message came from and where its answers go. */
struct srs_peer {
    enum srs_transport transport;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct srs_conn *conn; /* TCP: referenced */
};

struct srs_stream {
    char label[64];
    unsigned port; /* 0: rejected or stopped */
    unsigned rec_index;
    bool recording; /* handed to the recorder and not stopped */
    bool paused;
};

enum srs_state {
    SRS_PROCEEDING = 0, /* 100 sent, the answer waits for answer_delay_ms */
    SRS_ANSWERED,       /* final 2xx sent, waiting for ACK */
    SRS_CONFIRMED,      /* ACK received */
    SRS_ENDED,
};

/* An outgoing request we retransmit over UDP until any response (our BYEs). */
struct srs_uac {
    struct srs_uac *next;
    struct srs_peer peer;
    char branch[48];
    char *msg;
    size_t len;
    uint64_t next_ns;
    unsigned interval_ms, tries;
};

struct srs_session {
    atomic_uint refs;
    pthread_mutex_t lock;
    struct vox_srs *srs;
    enum srs_state state;
    char call_id[256];
    size_t call_id_len;
    char local_tag[24];
    char remote_uri[512];  /* Contact of the SRC: the Request-URI of our BYE */
    char route[1024];      /* Record-Route values in order: our Route (RFC 3261 §12.1.1) */
    char remote_from[512]; /* From of the INVITE: the To of our requests */
    char local_to[512];    /* To of the INVITE + our tag: the From of our requests */
    uint32_t remote_cseq;
    uint32_t invite_cseq;
    char invite_branch[128];
    uint32_t local_cseq;
    struct srs_peer peer;
    /* the INVITE transaction's final answer, kept for retransmissions and delayed sending */
    char *final_msg;
    size_t final_len;
    int final_status;
    char *cancel_msg; /* 487 to the INVITE, prepared while an answer is delayed */
    size_t cancel_len;
    uint64_t answer_due_ns, next_retx_ns, ack_deadline_ns;
    unsigned retx_interval_ms;
    uint64_t invite_rx_ns;
    bool in_timers;
    struct srs_session *timer_next, *timer_prev;
    uint64_t created_ns, created_unix_ms;
    uint64_t sdp_version;
    char *last_answer;
    struct srs_stream streams[SRS_MAX_STREAMS];
    size_t nstreams;
    struct vox_rec_session *rec;
    /* A new session's recording not made yet (its files and streams): made on a closer thread
     * just after the 200, or first by a request or an end that needs the recorder. */
    struct srs_offer_state *pending;
    /* Set while a thread makes that recording with the lock let go (open_pending): until it is
     * clear, rec, streams and nstreams are that thread's alone, and meta does not change (its
     * one writer, apply_metadata, waits); `opened` is signalled then. */
    bool opening;
    pthread_cond_t opened;
    struct vox_rsmeta *meta; /* NULL when no metadata arrived */
    char end_reason[16];
};

/* Work for the closer threads, in order: a session's recording to make, or its end to run. */
struct srs_timeout_item {
    struct srs_timeout_item *next;
    struct srs_session *session; /* referenced */
    bool open;                   /* make the pending recording; else end the session */
};

/* Closer threads: the file work of sessions (creating and completing recordings, with their
 * syncs) blocks on the disk for milliseconds, so it runs off the executor's workers. */
#define SRS_CLOSERS 2

struct srs_counters {
#define SRS_COUNTER(name) atomic_uint_fast64_t name;
    SRS_COUNTER(sessions_total)
    SRS_COUNTER(sessions_peak)
    SRS_COUNTER(invites)
    SRS_COUNTER(reinvites)
    SRS_COUNTER(updates)
    SRS_COUNTER(acks)
    SRS_COUNTER(byes)
    SRS_COUNTER(cancels)
    SRS_COUNTER(options)
    SRS_COUNTER(other_requests)
    SRS_COUNTER(responses_2xx)
    SRS_COUNTER(responses_4xx)
    SRS_COUNTER(responses_5xx)
    SRS_COUNTER(rejected_busy)
    SRS_COUNTER(rejected_not_siprec)
    SRS_COUNTER(rejected_malformed)
    SRS_COUNTER(dropped_malformed)
    SRS_COUNTER(retransmissions_in)
    SRS_COUNTER(retransmissions_out)
    SRS_COUNTER(ended_bye)
    SRS_COUNTER(ended_timeout)
    SRS_COUNTER(ended_cancel)
    SRS_COUNTER(ended_no_ack)
    SRS_COUNTER(ended_error)
    SRS_COUNTER(ended_shutdown)
    SRS_COUNTER(tcp_connections)
    SRS_COUNTER(tcp_active)
    SRS_COUNTER(setup_ns_sum)
    SRS_COUNTER(setup_count)
    SRS_COUNTER(setup_ns_max)
    SRS_COUNTER(bytes_in)
    SRS_COUNTER(messages_on_loop)
    SRS_COUNTER(messages_to_executor)
#undef SRS_COUNTER
    atomic_uint_fast64_t setup_buckets[VOX_SRS_SETUP_BUCKETS + 1];
};

struct vox_srs {
    struct vox_srs_config cfg;
    struct vox_allocator *alloc;
    struct vox_executor *exec;
    struct vox_shardmap *sessions;
    struct vox_lru *cache;
    struct vox_portalloc *ports;
    struct vox_rec_engine *rec;
    struct vox_httpd *http;
    int epfd, udp_fd, tcp_fd, event_fd;
    struct srs_conn *conns; /* open TCP connections (loop thread only) */
    unsigned sip_port;
    char contact[160]; /* "<sip:srs@127.0.0.1:5060>" without transport */
    atomic_int active; /* sessions not ended */
    atomic_bool stopping;
    pthread_mutex_t timer_lock; /* the timer list and the UAC list */
    struct srs_session *timers;
    struct srs_uac *uacs;
    pthread_mutex_t timeout_lock; /* the work queued for the closer threads */
    pthread_cond_t timeout_cv;
    struct srs_timeout_item *timeouts, *timeouts_tail; /* first in, first out */
    pthread_t closers[SRS_CLOSERS];                    /* run the queued work (srs_closer_main) */
    unsigned nclosers;                                 /* started */
    bool closer_stop;
    bool closers_held;      /* tests: the work queues and waits (srs_closers_hold) */
    atomic_bool files_held; /* tests: makers of files wait, sessions unlocked (srs_files_hold) */
    unsigned files_waiting; /* tests: how many wait so (timeout_lock) */
    struct srs_counters c;
    uint64_t start_ns;
    atomic_uint_fast64_t calls_window[16]; /* sessions started per second, ring by second */
};

/* transport.c */
int srs_transport_open(struct vox_srs *s, struct vox_diag *diag);
void srs_transport_close(struct vox_srs *s);
int srs_loop(struct vox_srs *s);
void srs_send(struct vox_srs *s, const struct srs_peer *peer, const char *msg, size_t len);
void srs_peer_copy(struct srs_peer *dst, const struct srs_peer *src); /* takes a conn reference */
void srs_peer_release(struct srs_peer *p);
void srs_conn_unref(struct srs_conn *c);
void srs_wake(struct vox_srs *s);

/* dialog.c */
/* Handles one message. On the SIP loop (`on_loop`) it declines, returning false before doing
 * anything, the requests that may wait on the disk (in-dialog offers; new INVITEs when answers
 * are delayed): the caller hands those to the executor. */
bool srs_handle_message(struct vox_srs *s, const struct srs_peer *peer, const char *buf, size_t len,
                        uint64_t rx_ns, bool on_loop);
void srs_timers_run(struct vox_srs *s, uint64_t now_ns, uint64_t *next_ns);
void srs_timeouts_run(struct vox_srs *s);
/* A closer thread: runs the queued work until srs_closer_stop (which drains the queue). */
void *srs_closer_main(void *arg);
void srs_closer_stop(struct vox_srs *s);
/* For tests: while held, the closer threads leave the queued work alone (srs_closer_stop
 * releases them first), so a request can be made to come before its call's files. */
void srs_closers_hold(struct vox_srs *s, bool hold);
/* For tests: while held, a thread that makes a session's files waits just before it does so,
 * with the session unlocked, counted in files_waiting (srs_closer_stop releases it too). */
void srs_files_hold(struct vox_srs *s, bool hold);
void srs_end_all(struct vox_srs *s);
void srs_session_ref(void *session);
void srs_session_unref(void *session);
void srs_on_media_timeout(void *user, struct vox_rec_session *rec);

/* api.c */
void srs_http_handler(void *ctx, const struct vox_http_request *req,
                      struct vox_http_response *resp);

/* log lines to stderr at or below cfg.log_level */
void srs_log(const struct vox_srs *s, unsigned level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void srs_max_u64(atomic_uint_fast64_t *a, uint64_t v)
{
    uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak(a, &cur, v))
        ;
}

#endif /* VOX_SIPREC_INTERNAL_H */
