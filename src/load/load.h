/* natsec-load's private header: the state shared by its files (one
 * process, one run, hence one global), and the functions each file offers
 * the others. See natsec_load.c for what the tool does.
 *
 *   natsec_load.c  main: the setup and hold phases, teardown
 *   options.c      command line -> G's options and the client template
 *   client.c       the emulated clients: engine callbacks, state machine,
 *                  sockets and the receive path
 *   traffic.c      hold-phase traffic: NAT keepalives, ICMP echo via ESP,
 *                  the --flood stream
 *   report.c       statistics over the clients and the printed report
 *   procstat.c     the gateway's VmRSS and CPU time, this process's CPU */
#ifndef NATSEC_LOAD_H
#define NATSEC_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "conf/conf.h"
#include "esp/sad.h"
#include "ike/engine.h"
#include "util/addr.h"

#define MAX_CLIENTS 100000
#define RX_BUF 4096
#define EPOLL_BATCH 256
#define ECHO_TRIES 3

enum cstate {
    C_IDLE = 0,
    C_CONNECTING,
    C_UP,
    C_FAILED,
    C_WAITING, /* --reconnect: down, in G.waiting until its next attempt */
};

struct client {
    struct ns_ike_engine *e;
    uint64_t wake_ms;    /* the engine's next deadline, as it reports it */
    struct ns_conf conf; /* the template's, with this client's local_id */
    int fd[2];           /* [0] the client's "500", [1] its "4500" (may be one socket) */
    enum cstate state;
    bool floated; /* the engine sent on the NAT-T port: later datagrams without a marker are ESP */
    bool child, vip_set;
    int down_reason;
    unsigned set_pos; /* its place in G.inflight (C_CONNECTING) or G.waiting (C_WAITING) */
    uint64_t t_start_ns, t_up_ns;
    uint64_t ike_sa_id;
    uint32_t spi_in, spi_out;
    struct ns_addr vip;
    struct ns_esp_sa *sa_out;
    unsigned attempt; /* --reconnect: attempts since the last time up */
    uint16_t echo_seq;
    uint8_t echo_tries;
    bool echo_sent, echo_ok, keepalive_sent;
};

/* Clients in one state, with O(1) add and remove, and beside each the
 * millisecond it is next due (its engine's deadline, or its next attempt):
 * the passes made every millisecond read these compact arrays, not the
 * clients' 10 KB records (a storm has thousands in each at once). */
struct client_set {
    unsigned *idx;
    uint64_t *due_ms;
    unsigned n;
};

struct load_state {
    /* options */
    struct ns_endpoint gw_ike, gw_natt;
    struct ns_addr local_addr;
    unsigned n, window;
    const char *id_fmt, *remote_id, *psk, *subnet, *ike_props, *esp_props, *label;
    const char *dump_path; /* --dump: one line per connected client */
    const char *dpd, *retransmit, *tries; /* client settings, natsecd.conf syntax */
    bool reconnect; /* clients that go down connect again (back-off, jitter) */
    bool no_qcd;    /* --no-qcd: no quick crash detection (RFC 6290) */
    bool timeline;  /* a TIMELINE line every second of the hold */
    bool holding;   /* in the hold phase (setups then are reconnects) */
    long gw_pid;
    double timeout_s, hold_s;
    struct ns_addr ping;
    unsigned flood; /* --flood: UDP payload bytes of the hold's stream; 0: none */
    bool verbose;
    bool shared_port; /* one socket per client (the fd limit is too low for two) */

    struct ns_conf tmpl;
    struct client *c;
    struct ns_sad *sad;
    int ep;
    unsigned started, up, failed;
    uint64_t downs, reconnects;  /* --reconnect: connections lost, attempts made */
    uint64_t qcd_downs;          /* ... of the losses: on the gateway's QCD crash answer */
    struct client_set inflight;  /* C_CONNECTING, due at their engine's deadline */
    struct client_set waiting;   /* C_WAITING (--reconnect), due at their next attempt */
    uint64_t t_first_ns, t_last_up_ns;
    uint64_t rx_ike, rx_esp, rx_other, tx, tx_err;
    uint64_t esp_sent, esp_replies, esp_bad, keepalives;
    uint64_t esp_foreign; /* decrypted, but not an answer to this client's own echo */
    /* --flood: packets and inner bytes sent, over flood_ns of the hold */
    uint64_t flood_pkts, flood_bytes, flood_ns;
    unsigned fail_reason[8];
};

/* The one run of this process (defined in natsec_load.c). */
extern struct load_state G;

/* Prints "natsec-load: MSG" on stderr and exits 2. */
void load_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* options.c: fills G's options and G.tmpl, or exits. */
void load_parse_args(int argc, char **argv);

/* client.c */
bool load_raise_fd_limit(rlim_t need);
void load_learn_local_addr(void);
void load_client_start(unsigned i, uint64_t now_ns);
void load_client_tick(struct client *c, uint64_t now_ms);
void load_inflight_del(struct client *c);
/* Every client in flight whose engine's deadline has come. */
void load_inflight_tick(uint64_t now_ms);
void load_poll_once(int timeout_ms);
/* --reconnect: starts the attempts that are due. */
void load_reconnect_due(uint64_t now_ns);

/* traffic.c */
void load_send_keepalive(struct client *c);
void load_send_echo(struct client *c, unsigned idx, uint64_t now_ns);
/* --flood: one UDP datagram of G.flood bytes from the client's virtual IP
 * to --ping's address, port 9 (discard), through its CHILD_SA. */
void load_send_flood(struct client *c, uint64_t now_ns);
void load_esp_input(struct client *c, unsigned idx, uint8_t *buf, size_t cap, size_t len,
                    uint64_t now_ns);

/* procstat.c: -1 when not readable. */
long load_proc_rss_kib(long pid);
double load_proc_cpu_ms(long pid);
double load_self_cpu_ms(void);

/* report.c: what main measured around the phases. */
struct load_measure {
    unsigned started;     /* clients started (G.c[0..started)) */
    unsigned timed_out;   /* still in flight at the setup deadline */
    unsigned not_started; /* never started before the deadline */
    long rss0, rss1;      /* the gateway's VmRSS before the first client, after the hold */
    double cpu0, cpu1;    /* the gateway's CPU time around the setup phase */
    double self0, self1;  /* this process's CPU time around the setup phase */
};

/* Prints the report and the RESULT line; returns the successful setups. */
unsigned load_report(const struct load_measure *m);

/* Writes "identity virtual-IP gateway-SPI our-SPI" (SPIs in hex) for each
 * connected client to G.dump_path; false when it cannot. */
bool load_dump_clients(unsigned started);

#endif
