/* natsec-load's statistics and report: setups per second, latency
 * percentiles, failures by reason, uniqueness of virtual IPs and SPIs, the
 * gateway's memory and CPU per client; the last line machine-readable. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "load.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* How many distinct values in v[0..n) (sorts v). */
static unsigned distinct_u32(uint32_t *v, unsigned n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_u32);
    unsigned d = 1;
    for (unsigned i = 1; i < n; i++)
        d += v[i] != v[i - 1];
    return d;
}

unsigned load_report(const struct load_measure *m)
{
    unsigned ok = G.up;
    uint64_t *lat = calloc(ok ? ok : 1, sizeof(*lat));
    uint32_t *vips = calloc(ok ? ok : 1, sizeof(*vips));
    uint32_t *spis = calloc(ok ? ok : 1, sizeof(*spis));
    if (!lat || !vips || !spis)
        load_die("out of memory");
    unsigned k = 0, n_vip = 0;
    for (unsigned i = 0; i < m->started; i++) {
        struct client *c = &G.c[i];
        if (c->state != C_UP || k >= ok)
            continue;
        lat[k] = c->t_up_ns - c->t_start_ns;
        spis[k] = c->spi_out;
        if (c->vip_set && c->vip.family == AF_INET)
            vips[n_vip++] = ns_addr_to_ipv4(&c->vip);
        k++;
    }
    qsort(lat, k, sizeof(*lat), cmp_u64);
    double p50 = k ? (double)lat[(k - 1) / 2] / 1e6 : 0;
    double p99 = k ? (double)lat[(size_t)((k - 1) * 0.99)] / 1e6 : 0;
    double span = G.t_last_up_ns > G.t_first_ns ? (double)(G.t_last_up_ns - G.t_first_ns) / 1e9 : 0;
    double rate = span > 0 ? k / span : 0;
    unsigned uniq_vip = distinct_u32(vips, n_vip);
    unsigned uniq_spi = distinct_u32(spis, k);
    double rss_per = (m->rss0 >= 0 && m->rss1 >= 0 && k) ? (double)(m->rss1 - m->rss0) / k : -1;
    double cpu_per = (m->cpu0 >= 0 && m->cpu1 >= 0 && k) ? (m->cpu1 - m->cpu0) / k : -1;
    double self_per = k ? (m->self1 - m->self0) / k : -1;
    unsigned failed = G.failed + m->timed_out + m->not_started;

    printf("natsec-load %s: %u clients, window %u, %s\n", G.label, G.n, G.window,
           G.shared_port ? "one UDP port per client for IKE and NAT-T (open file limit)"
                         : "two UDP ports per client");
    printf("  setups ok %u, failed %u (timeout %u, not started %u, engine:", k, failed,
           m->timed_out, m->not_started);
    for (int r = 0; r < 8; r++)
        if (G.fail_reason[r])
            printf(" %s=%u", r < 5 ? ns_ike_down_reason_str((enum ns_ike_down_reason)r) : "other",
                   G.fail_reason[r]);
    printf(")\n");
    printf("  %.1f setups/s over %.2f s; latency p50 %.1f ms, p99 %.1f ms\n", rate, span, p50, p99);
    printf("  unique virtual IPs %u of %u, unique gateway SPIs %u of %u\n", uniq_vip, k, uniq_spi,
           k);
    printf("  keepalives %lu, ESP echoes sent %lu, clients answered %lu, bad ESP %lu, "
           "another client's ESP %lu\n",
           (unsigned long)G.keepalives, (unsigned long)G.esp_sent, (unsigned long)G.esp_replies,
           (unsigned long)G.esp_bad, (unsigned long)G.esp_foreign);
    if (G.reconnect)
        printf("  --reconnect: connections lost %llu (%llu on the gateway's QCD crash answer), "
               "attempts to connect again %llu, waiting at the end %u\n",
               (unsigned long long)G.downs, (unsigned long long)G.qcd_downs,
               (unsigned long long)G.reconnects, G.waiting.n);
    printf("  natsec-load itself: CPU %.3f ms per setup (every client's DH and key derivation)\n",
           self_per);
    if (G.gw_pid)
        printf("  gateway pid %ld: VmRSS %ld KiB before, %ld KiB with %u clients (%.2f KiB per "
               "client); CPU %.2f ms per setup\n",
               G.gw_pid, m->rss0, m->rss1, k, rss_per, cpu_per);
    printf("RESULT load label=%s clients=%u ok=%u failed=%u setups_per_s=%.1f p50_ms=%.1f "
           "p99_ms=%.1f unique_vips=%u unique_spis=%u keepalives=%lu esp_sent=%lu "
           "esp_replies=%lu esp_bad=%lu esp_foreign=%lu rss_before_kib=%ld rss_after_kib=%ld rss_per_client_kib=%.2f "
           "gw_cpu_ms_per_setup=%.3f load_cpu_ms_per_setup=%.3f downs=%llu attempts=%llu qcd_downs=%llu\n",
           G.label, G.n, k, failed, rate, p50, p99, uniq_vip, uniq_spi, (unsigned long)G.keepalives,
           (unsigned long)G.esp_sent, (unsigned long)G.esp_replies, (unsigned long)G.esp_bad,
           (unsigned long)G.esp_foreign, m->rss0, m->rss1, rss_per,
           cpu_per, self_per, (unsigned long long)G.downs, (unsigned long long)G.reconnects,
           (unsigned long long)G.qcd_downs);
    if (G.flood)
        printf("RESULT flood label=%s clients=%u payload=%u pkts=%llu seconds=%.2f pps=%.0f "
               "mbps=%.1f\n",
               G.label, k, G.flood, (unsigned long long)G.flood_pkts, G.flood_ns / 1e9,
               G.flood_ns ? G.flood_pkts / (G.flood_ns / 1e9) : 0.0,
               G.flood_ns ? G.flood_bytes * 8 / (G.flood_ns / 1e3) : 0.0);
    fflush(stdout);
    free(lat);
    free(vips);
    free(spis);
    return k;
}

bool load_dump_clients(unsigned started)
{
    FILE *f = fopen(G.dump_path, "w");
    if (!f)
        return false;
    for (unsigned i = 0; i < started; i++) {
        const struct client *c = &G.c[i];
        if (c->state != C_UP)
            continue;
        char id[NS_CONF_ID_STRLEN], vip[NS_ADDR_STRLEN] = "-";
        snprintf(id, sizeof(id), G.id_fmt, i);
        if (c->vip_set)
            ns_addr_str(&c->vip, vip);
        fprintf(f, "%s %s %08x %08x\n", id, vip, (unsigned)c->spi_out, (unsigned)c->spi_in);
    }
    return fclose(f) == 0;
}
