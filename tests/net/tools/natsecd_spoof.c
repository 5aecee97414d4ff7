/* natsecd_spoof's difference from natsecd, linked only into that test
 * build (CMakeLists.txt: -Wl,--wrap=nsd_start,--wrap=ns_sad_install).
 *
 * A client's outbound SAs take any inner source and destination, so the
 * TUN device's packets go out on them whatever their addresses: what a
 * malicious client could send. The gateway's inbound selector check (R17)
 * is what must stop them. The engine and the status still see the
 * negotiated selectors; only the SAD's copy is widened. */
#include <string.h>
#include <sys/socket.h>

#include "daemon/natsecd.h"
#include "esp/sad.h"
#include "util/log.h"

int __real_nsd_start(struct nsd *d);
int __wrap_nsd_start(struct nsd *d);
struct ns_esp_sa *__real_ns_sad_install(struct ns_sad *sad, const struct ns_esp_sa_spec *spec);
struct ns_esp_sa *__wrap_ns_sad_install(struct ns_sad *sad, const struct ns_esp_sa_spec *spec);

/* Only a client spoofs; the role is fixed for the process's life (a reload
 * cannot change it). */
static bool spoofing_client;

int __wrap_nsd_start(struct nsd *d)
{
    spoofing_client = d->conf.role == NS_CONF_CLIENT;
    return __real_nsd_start(d);
}

struct ns_esp_sa *__wrap_ns_sad_install(struct ns_sad *sad, const struct ns_esp_sa_spec *spec)
{
    if (!spoofing_client || spec->dir != NS_ESP_OUTBOUND)
        return __real_ns_sad_install(sad, spec);
    struct ns_esp_sa_spec wide = *spec;
    /* Any address of either family (IPv4 and IPv6 inside, X8). */
    struct ns_ts any = {.port_hi = 65535, .lo = {.family = AF_INET}, .hi = {.family = AF_INET}};
    struct ns_ts any6 = {.port_hi = 65535, .lo = {.family = AF_INET6}, .hi = {.family = AF_INET6}};
    memset(any.hi.a, 0xff, 4);
    memset(any6.hi.a, 0xff, 16);
    wide.local_ts[0] = wide.remote_ts[0] = any;
    wide.local_ts[1] = wide.remote_ts[1] = any6;
    wide.n_local_ts = wide.n_remote_ts = 2;
    NS_WARN("TEST BUILD natsecd_spoof: outbound SA 0x%08x sends any inner addresses", spec->spi);
    return __real_ns_sad_install(sad, &wide);
}
