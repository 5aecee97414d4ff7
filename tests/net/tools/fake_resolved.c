/* A stand-in for systemd-resolved's D-Bus API on a private bus, for
 * tests/net/test_dns_resolved.sh: owns org.freedesktop.resolve1 on the bus
 * at argv[1] and answers SetLinkDNS, SetLinkDomains and RevertLink of
 * org.freedesktop.resolve1.Manager with success, printing each call and
 * its arguments as one line on stdout (flushed). It checks the
 * signatures as resolved does (sd-bus refuses others) and nothing else:
 * not what resolved would do with the servers. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

static int set_link_dns(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
    (void)userdata;
    (void)err;
    int32_t ifindex;
    int rc = sd_bus_message_read(m, "i", &ifindex);
    if (rc < 0 || (rc = sd_bus_message_enter_container(m, 'a', "(iay)")) < 0)
        return rc;
    printf("SetLinkDNS %d", ifindex);
    while ((rc = sd_bus_message_enter_container(m, 'r', "iay")) > 0) {
        int32_t family;
        const void *a;
        size_t n;
        char s[INET6_ADDRSTRLEN];
        if ((rc = sd_bus_message_read(m, "i", &family)) < 0 ||
            (rc = sd_bus_message_read_array(m, 'y', &a, &n)) < 0 ||
            (rc = sd_bus_message_exit_container(m)) < 0)
            return rc;
        if ((family == AF_INET && n == 4) || (family == AF_INET6 && n == 16))
            printf(" %s", inet_ntop(family, a, s, sizeof(s)));
        else
            printf(" bad(%d,%zu)", family, n);
    }
    printf("\n");
    fflush(stdout);
    return rc < 0 ? rc : sd_bus_reply_method_return(m, NULL);
}

static int set_link_domains(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
    (void)userdata;
    (void)err;
    int32_t ifindex;
    int rc = sd_bus_message_read(m, "i", &ifindex);
    if (rc < 0 || (rc = sd_bus_message_enter_container(m, 'a', "(sb)")) < 0)
        return rc;
    printf("SetLinkDomains %d", ifindex);
    const char *name;
    int route_only;
    while ((rc = sd_bus_message_read(m, "(sb)", &name, &route_only)) > 0)
        printf(" %s%s", route_only ? "~" : "", name);
    printf("\n");
    fflush(stdout);
    return rc < 0 ? rc : sd_bus_reply_method_return(m, NULL);
}

static int revert_link(sd_bus_message *m, void *userdata, sd_bus_error *err)
{
    (void)userdata;
    (void)err;
    int32_t ifindex;
    int rc = sd_bus_message_read(m, "i", &ifindex);
    if (rc < 0)
        return rc;
    printf("RevertLink %d\n", ifindex);
    fflush(stdout);
    return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable manager[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("SetLinkDNS", "ia(iay)", "", set_link_dns, 0),
    SD_BUS_METHOD("SetLinkDomains", "ia(sb)", "", set_link_domains, 0),
    SD_BUS_METHOD("RevertLink", "i", "", revert_link, 0),
    SD_BUS_VTABLE_END};

int main(int argc, char **argv)
{
    sd_bus *bus = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: fake_resolved BUS_ADDRESS\n");
        return 2;
    }
    if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, argv[1]) < 0 ||
        sd_bus_set_bus_client(bus, 1) < 0 || sd_bus_start(bus) < 0 ||
        sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/resolve1",
                                 "org.freedesktop.resolve1.Manager", manager, NULL) < 0 ||
        sd_bus_request_name(bus, "org.freedesktop.resolve1", 0) < 0) {
        fprintf(stderr, "fake_resolved: cannot serve on %s\n", argv[1]);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int rc = sd_bus_process(bus, NULL);
        if (rc < 0)
            return 1;
        if (rc == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
            return 1;
    }
}
