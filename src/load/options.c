/* natsec-load's command line: options into G, checked, and the one client
 * configuration every emulated client copies (G.tmpl). */
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "load.h"

/* ---- options ---- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: natsec-load --gateway ADDR --psk PSK [options]\n"
            "  -g, --gateway ADDR     the gateway's IPv4 address (IKE on 500, NAT-T on 4500)\n"
            "  -k, --psk PSK          the shared key (text or 0x<hex>, as in natsecd.conf)\n"
            "  -n, --clients N        emulated telecommuters (default 100, at most %d)\n"
            "  -w, --window W         setups in flight at once (default 64)\n"
            "  -i, --id FMT           identity of client N, printf format with one %%u\n"
            "                         (default user%%u@corp.example)\n"
            "  -r, --remote-id ID     the gateway's identity (default vpn.corp.example)\n"
            "  -s, --subnet CIDR      the subnet asked for (default 192.0.2.0/24)\n"
            "      --ike-proposals L  natsecd.conf syntax (default natsec's)\n"
            "      --esp-proposals L  natsecd.conf syntax (default natsec's)\n"
            "  -p, --gw-pid PID       read the gateway's VmRSS and CPU time from /proc\n"
            "  -P, --ping ADDR        one ICMP echo per client through its tunnel to ADDR\n"
            "  -t, --timeout S        seconds for the setup phase (default 120)\n"
            "  -H, --hold S           seconds connected after setup (default 5)\n"
            "  -l, --label NAME       name in the RESULT line (default gateway)\n"
            "  -d, --dump FILE        write identity, virtual IP and SPIs of each connected client\n"
            "      --reconnect        a client that goes down connects again, as natsecd's client\n"
            "                         does: back-off from 1 s doubling to 30 s, each delay drawn\n"
            "                         between half and all of it; never gives up\n"
            "      --timeline         during the hold, a TIMELINE line every second: wall-clock ms,\n"
            "                         clients up, connecting, waiting, attempts so far, and\n"
            "                         connections lost on the gateway's QCD crash answer\n"
            "      --dpd S            the clients' dpd (seconds of silence before a liveness check)\n"
            "      --retransmit S[,N] the clients' retransmit_timeout (and retransmit_tries)\n"
            "      --flood BYTES      during the hold, every connected client in turn sends UDP\n"
            "                         datagrams of BYTES (8-1400) to --ping's port 9 through its\n"
            "                         CHILD_SA, as fast as this one thread can seal them\n"
            "      --no-qcd           no quick crash detection (RFC 6290): by default each\n"
            "                         client offers it (a secret of this process's own, in\n"
            "                         memory) and, when the gateway hands out QCD tokens, drops\n"
            "                         its IKE SA as soon as the restarted gateway answers a\n"
            "                         liveness check with its token\n"
            "  -v, --verbose          engine log at info level (default warn)\n",
            MAX_CLIENTS);
}

void load_parse_args(int argc, char **argv)
{
    static const struct option lo[] = {
        {"gateway", required_argument, NULL, 'g'},
        {"psk", required_argument, NULL, 'k'},
        {"clients", required_argument, NULL, 'n'},
        {"window", required_argument, NULL, 'w'},
        {"id", required_argument, NULL, 'i'},
        {"remote-id", required_argument, NULL, 'r'},
        {"subnet", required_argument, NULL, 's'},
        {"ike-proposals", required_argument, NULL, 1},
        {"esp-proposals", required_argument, NULL, 2},
        {"gw-pid", required_argument, NULL, 'p'},
        {"ping", required_argument, NULL, 'P'},
        {"timeout", required_argument, NULL, 't'},
        {"hold", required_argument, NULL, 'H'},
        {"label", required_argument, NULL, 'l'},
        {"dump", required_argument, NULL, 'd'},
        {"reconnect", no_argument, NULL, 3},
        {"timeline", no_argument, NULL, 4},
        {"dpd", required_argument, NULL, 5},
        {"retransmit", required_argument, NULL, 6},
        {"flood", required_argument, NULL, 7},
        {"no-qcd", no_argument, NULL, 8},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *gw = NULL;
    G.n = 100;
    G.window = 64;
    G.id_fmt = "user%u@corp.example";
    G.remote_id = "vpn.corp.example";
    G.subnet = "192.0.2.0/24";
    G.timeout_s = 120;
    G.hold_s = 5;
    G.label = "gateway";
    int o;
    while ((o = getopt_long(argc, argv, "g:k:n:w:i:r:s:p:P:t:H:l:d:vh", lo, NULL)) != -1) {
        switch (o) {
        case 'g':
            gw = optarg;
            break;
        case 'k':
            G.psk = optarg;
            break;
        case 'n':
            G.n = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'w':
            G.window = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'i':
            G.id_fmt = optarg;
            break;
        case 'r':
            G.remote_id = optarg;
            break;
        case 's':
            G.subnet = optarg;
            break;
        case 1:
            G.ike_props = optarg;
            break;
        case 2:
            G.esp_props = optarg;
            break;
        case 'p':
            G.gw_pid = strtol(optarg, NULL, 10);
            break;
        case 'P':
            if (ns_addr_parse(&G.ping, optarg) != 0 || G.ping.family != AF_INET)
                load_die("--ping wants an IPv4 address");
            break;
        case 't':
            G.timeout_s = atof(optarg);
            break;
        case 'H':
            G.hold_s = atof(optarg);
            break;
        case 'l':
            G.label = optarg;
            break;
        case 'd':
            G.dump_path = optarg;
            break;
        case 3:
            G.reconnect = true;
            break;
        case 4:
            G.timeline = true;
            break;
        case 5:
            G.dpd = optarg;
            break;
        case 6: {
            char *comma = strchr(optarg, ',');
            if (comma) {
                *comma = '\0';
                G.tries = comma + 1;
            }
            G.retransmit = optarg;
            break;
        }
        case 7:
            G.flood = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 8:
            G.no_qcd = true;
            break;
        case 'v':
            G.verbose = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (!gw || !G.psk || optind != argc) {
        usage(stderr);
        exit(2);
    }
    if (G.flood && (!G.ping.family || G.flood < 8 || G.flood > 1400))
        load_die("--flood wants --ping and 8..1400 bytes");
    if (G.n < 1 || G.n > MAX_CLIENTS)
        load_die("--clients must be 1..%d", MAX_CLIENTS);
    if (G.window < 1 || G.window > 4096)
        load_die("--window must be 1..4096");
    if (G.timeout_s <= 0 || G.timeout_s > 3600 || G.hold_s < 0 || G.hold_s > 600)
        load_die("--timeout must be 0..3600 s and --hold 0..600 s");
    /* The identity format must take exactly one unsigned conversion. */
    const char *pc = strchr(G.id_fmt, '%');
    if (!pc || strncmp(pc, "%u", 2) != 0 || strchr(pc + 2, '%'))
        load_die("--id must contain exactly one %%u and no other %%");

    /* One client configuration, as natsecd.conf text, checked by the real
     * loader; every client copies it and changes only its local_id. */
    char text[4096];
    int len = snprintf(text, sizeof(text),
                       "[natsecd]\nrole = client\nlocal_id = client.load.example\n"
                       "gateway = %s\nremote_id = %s\nlog_level = warn\n%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s"
                       "[peer %s]\npsk = %s\nsubnets = %s\n",
                       gw, G.remote_id, G.ike_props ? "ike_proposals = " : "",
                       G.ike_props ? G.ike_props : "", G.ike_props ? "\n" : "",
                       G.esp_props ? "esp_proposals = " : "", G.esp_props ? G.esp_props : "",
                       G.esp_props ? "\n" : "", G.dpd ? "dpd = " : "", G.dpd ? G.dpd : "",
                       G.dpd ? "\n" : "", G.retransmit ? "retransmit_timeout = " : "",
                       G.retransmit ? G.retransmit : "", G.retransmit ? "\n" : "",
                       G.tries ? "retransmit_tries = " : "", G.tries ? G.tries : "",
                       G.tries ? "\n" : "", G.remote_id, G.psk, G.subnet);
    if (len < 0 || (size_t)len >= sizeof(text))
        load_die("options too long");
    char err[512];
    if (ns_conf_load_string(text, "natsec-load", &G.tmpl, err, sizeof(err)) != 0)
        load_die("%s", err);
    /* The clients' QCD secret lives as long as this process: their tokens
     * only tell the gateway that they take its tokens (ike/qcd.c). */
    G.tmpl.qcd = !G.no_qcd;
    if (G.tmpl.qcd) {
        if (ns_random_bytes(G.tmpl.qcd_secret, sizeof(G.tmpl.qcd_secret)) != 0)
            load_die("no random bytes for the QCD secret");
        G.tmpl.qcd_secret_set = true;
    }
    G.gw_ike.addr = G.tmpl.gateway;
    G.gw_ike.port = G.tmpl.ike_port;
    G.gw_natt.addr = G.tmpl.gateway;
    G.gw_natt.port = G.tmpl.natt_port;
    if (G.tmpl.gateway.family != AF_INET)
        load_die("--gateway must be an IPv4 address");
}
