/* Least privilege (X14), with libcap-ng. natsecd needs exactly three
 * capabilities once it is set up: CAP_NET_ADMIN (addresses and routes of a
 * client's tunnel, transport-mode routes, the policy rule, ip_forward at
 * exit), CAP_NET_RAW (plain ESP, protocol 50) and CAP_NET_BIND_SERVICE
 * (IKE on UDP 500). Everything else (setting up the TUN device, binding
 * the sockets) happens before.
 *
 * Started as root with `user = NAME`, natsecd becomes that user after set
 * up, keeping only those three in the main thread (the outbound worker
 * thread, which only encrypts and sends on sockets already open, keeps
 * none: the uid change clears a thread's capabilities unless it asked to
 * keep them, and only the main thread does), with the supplementary
 * groups dropped and the bounding set cleared. Started as another user
 * with the capabilities (systemd's AmbientCapabilities), it keeps only
 * those three. Started without them, it says which are missing and why,
 * before anything is created. The IKE, EAP and X.509 parsers run only
 * after set-up, so never as root when `user` is set or under systemd. */
#include <cap-ng.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "daemon/natsecd.h"
#include "util/log.h"

struct need {
    unsigned cap;
    const char *name, *why;
};

static const struct need needs[] = {
    {CAP_NET_ADMIN, "CAP_NET_ADMIN", "the TUN device, addresses and routes"},
    {CAP_NET_RAW, "CAP_NET_RAW", "plain ESP (IP protocol 50)"},
    {CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE", "UDP ports below 1024 (IKE on 500)"},
};
#define N_NEEDS (sizeof(needs) / sizeof(needs[0]))

static bool needed(const struct ns_conf *c, unsigned cap)
{
    return cap != CAP_NET_BIND_SERVICE || c->ike_port < 1024 || c->natt_port < 1024;
}

int nsd_privileges_prepare(struct nsd *d)
{
    const struct ns_conf *c = &d->conf;
    if (c->user[0]) {
        errno = 0;
        struct passwd *pw = getpwnam(c->user);
        if (!pw) {
            NS_ERR("user = %s: no such user%s%s", c->user, errno ? ": " : "",
                   errno ? strerror(errno) : "");
            return -1;
        }
        d->run_uid = pw->pw_uid;
        d->run_gid = pw->pw_gid;
    }
    capng_get_caps_process();
    char missing[160] = "", why[256] = "";
    for (unsigned i = 0; i < N_NEEDS; i++) {
        if (!needed(c, needs[i].cap) || capng_have_capability(CAPNG_EFFECTIVE, needs[i].cap))
            continue;
        size_t m = strlen(missing), w = strlen(why);
        snprintf(missing + m, sizeof(missing) - m, "%s%s", m ? ", " : "", needs[i].name);
        snprintf(why + w, sizeof(why) - w, "%s%s for %s", w ? "; " : "", needs[i].name,
                 needs[i].why);
    }
    if (missing[0]) {
        NS_ERR("natsecd runs as uid %u without %s (%s): start it as root (with user = natsec "
               "it drops root after set-up), or give it these capabilities (systemd: "
               "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE)",
               (unsigned)geteuid(), missing, why);
        return -1;
    }
    return 0;
}

/* The three capabilities, effective and permitted, nothing else. */
static void keep_needed_only(void)
{
    capng_clear(CAPNG_SELECT_BOTH);
    for (unsigned i = 0; i < N_NEEDS; i++)
        capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, needs[i].cap);
}

int nsd_privileges_drop(struct nsd *d)
{
    const struct ns_conf *c = &d->conf;
    if (geteuid() == 0 && !c->user[0]) {
        NS_WARN("natsecd keeps running as root: set user = natsec (or another user) to drop "
                "root after set-up");
        return 0;
    }
    if (geteuid() == 0) {
        keep_needed_only();
        int rc = capng_change_id((int)d->run_uid, (int)d->run_gid,
                                 CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
        if (rc != 0) {
            NS_ERR("cannot become user %s (uid %u): capng_change_id failed (%d)", c->user,
                   (unsigned)d->run_uid, rc);
            return -1;
        }
    } else {
        if (c->user[0] && geteuid() != d->run_uid)
            NS_WARN("user = %s: natsecd was started as uid %u, not as root, and stays so", c->user,
                    (unsigned)geteuid());
        keep_needed_only();
        if (capng_apply(CAPNG_SELECT_CAPS) != 0) {
            NS_ERR("cannot reduce the capabilities to CAP_NET_ADMIN, CAP_NET_RAW, "
                   "CAP_NET_BIND_SERVICE");
            return -1;
        }
    }
    /* No way back to more privileges, e.g. through a set-uid program. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        NS_ERR("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
        return -1;
    }
    NS_INFO("running as uid %u gid %u with CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE",
            (unsigned)getuid(), (unsigned)getgid());
    return 0;
}
