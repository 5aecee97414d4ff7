#include "util/version.h"

#include "natsec_version.h"

const char *ns_version(void)
{
    return NATSEC_VERSION;
}

const char *ns_version_long(void)
{
    return sizeof(NATSEC_VERSION_GIT) > 1 ? NATSEC_VERSION " (git " NATSEC_VERSION_GIT ")"
                                          : NATSEC_VERSION;
}
