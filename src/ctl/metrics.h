/* natsecctl metrics: natsecd's status JSON in the Prometheus text
 * exposition format (version 0.0.4), for node_exporter's textfile
 * collector or a scrape wrapper. */
#ifndef NATSEC_CTL_METRICS_H
#define NATSEC_CTL_METRICS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

/* Writes every metric of status (the answer to "status-json") to out;
 * per_peer adds series per IKE SA (labels id, peer). Returns 0, or -1 on
 * a write error. */
int ctl_metrics_print(FILE *out, json_object *status, bool per_peer);

#endif
