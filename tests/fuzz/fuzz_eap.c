/* libFuzzer target for the EAP codec (src/eap: eap.c, eap_mschapv2.c), the
 * parser of what a client sends inside IKE_AUTH's EAP payload and what a
 * RADIUS server returns in EAP-Message: any input parses without reading
 * outside it; what parses lies inside it; and each packet kind the
 * builders make is rebuilt from its parsed fields to exactly the bytes it
 * came from (the codec reads what it writes, and nothing else). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eap/eap.h"
#include "eap/eap_mschapv2.h"

static const uint8_t *copy_of;
static size_t copy_len;

static void inside(const uint8_t *p, size_t n)
{
    if (n != 0 && (p < copy_of || p + n > copy_of + copy_len))
        abort();
}

/* The writer's output must equal the packet as received. */
static void same(const uint8_t *built, const struct ns_writer *w, const struct ns_eap *p)
{
    if (!ns_writer_ok(w) || ns_writer_len(w) != p->len || memcmp(built, copy_of, p->len) != 0)
        abort();
}

static void mschapv2(const struct ns_eap *p, uint8_t *out, size_t cap)
{
    struct ns_eap_mschapv2 m;
    if (ns_eap_mschapv2_parse(p, &m) != NS_EAP_OK)
        return;
    struct ns_writer w;
    ns_writer_init(&w, out, cap);
    if (m.ack) {
        ns_eap_mschapv2_build_ack(&w, p->id, m.op);
        same(out, &w, p);
        return;
    }
    inside(m.name, m.name_len);
    inside(m.message, m.message_len);
    switch (m.op) {
    case NS_MSCHAPV2_CHALLENGE:
        ns_eap_mschapv2_build_challenge(&w, p->id, m.ms_id, m.challenge, m.name, m.name_len);
        same(out, &w, p);
        break;
    case NS_MSCHAPV2_RESPONSE:
        ns_eap_mschapv2_build_response(&w, p->id, m.ms_id, m.peer_challenge, m.nt_response, m.name,
                                       m.name_len);
        same(out, &w, p);
        break;
    case NS_MSCHAPV2_SUCCESS: {
        const uint8_t *auth;
        if (ns_eap_mschapv2_success_auth(m.message, m.message_len, &auth) == NS_EAP_OK &&
            auth != m.message)
            abort();
        break;
    }
    case NS_MSCHAPV2_FAILURE: {
        struct ns_mschapv2_failure f;
        if (ns_eap_mschapv2_failure_parse(m.message, m.message_len, &f) == NS_EAP_OK)
            inside(f.text, f.text_len);
        break;
    }
    default:
        abort(); /* the parser accepts no other OpCode */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan flags any read past the end. */
    uint8_t *copy = malloc(size ? size : 1);
    uint8_t *out = malloc(size + 16);
    if (!copy || !out)
        goto done;
    if (size)
        memcpy(copy, data, size);
    copy_of = copy;
    copy_len = size;
    struct ns_eap p;
    if (ns_eap_parse(copy, size, &p) != NS_EAP_OK)
        goto done;
    if (p.len > size || p.len < NS_EAP_HDR_LEN)
        abort();
    inside(p.data, p.data_len);
    (void)ns_eap_code_name(p.code);
    (void)ns_eap_type_name(p.type);
    struct ns_writer w;
    ns_writer_init(&w, out, size + 16);
    if (p.code == NS_EAP_SUCCESS || p.code == NS_EAP_FAILURE) {
        ns_eap_build_result(&w, p.code, p.id);
        same(out, &w, &p);
        goto done;
    }
    /* Any Request or Response is its type and type-data. */
    ns_eap_build(&w, p.code, p.id, p.type, p.data, p.data_len);
    same(out, &w, &p);
    const uint8_t *a, *b;
    size_t na, nb;
    if (ns_eap_identity(&p, &a, &na) == NS_EAP_OK &&
        (na > NS_EAP_IDENTITY_MAX || (na && memchr(a, 0, na))))
        abort();
    if (ns_eap_nak(&p, &a, &na) == NS_EAP_OK)
        inside(a, na);
    if (ns_eap_md5(&p, &a, &na, &b, &nb) == NS_EAP_OK) {
        inside(a, na);
        inside(b, nb);
    }
    mschapv2(&p, out, size + 16);
done:
    free(copy);
    free(out);
    return 0;
}
