/* The certificate settings of natsecd's configuration (X7), shared by the
 * files of src/conf only: the [natsecd] keys cert, key, ca and rsa_pss,
 * the [peer] key auth, and, once the whole file is read, the loading of
 * the files into ns_conf.creds with file:line errors. */
#ifndef NATSEC_CONF_CREDS_H
#define NATSEC_CONF_CREDS_H

#include <stddef.h>

#include "conf/parse.h"

int ns_conf_p_set_cert(struct ns_conf_parser *p, const char *v, char *err, size_t errlen);
int ns_conf_p_set_key(struct ns_conf_parser *p, const char *v, char *err, size_t errlen);
int ns_conf_p_set_ca(struct ns_conf_parser *p, const char *v, char *err, size_t errlen);
int ns_conf_p_set_rsa_pss(struct ns_conf_parser *p, const char *v, char *err, size_t errlen);
/* [peer] auth = psk | pubkey. */
int ns_conf_p_set_auth(struct ns_conf_peer *peer, const char *v, char *err, size_t errlen);
/* After the peers are validated: psk and auth agree in every [peer], and
 * when one says auth = pubkey, cert, key and ca are loaded and checked (the
 * key is the certificate's, the certificate is valid now and holds
 * local_id). Errors go to p. */
void ns_conf_p_load_creds(struct ns_conf_parser *p);

#endif
