/* EAP-MSCHAPv2 type-data: see eap_mschapv2.h. */
#include "eap/eap_mschapv2.h"

#include <stdio.h>
#include <string.h>

#define RESERVED_LEN 8

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* Challenge: Value-Size 16, the challenge, the Name. */
static bool parse_challenge(struct ns_reader *r, struct ns_eap_mschapv2 *out)
{
    if (ns_read_u8(r) != NS_MSCHAPV2_CHALLENGE_LEN ||
        !ns_read_copy(r, out->challenge, sizeof(out->challenge)))
        return false;
    out->name_len = ns_reader_left(r);
    out->name = ns_read_bytes(r, out->name_len);
    return ns_reader_ok(r) && out->name_len <= NS_EAP_MSCHAPV2_NAME_MAX;
}

/* Response: Value-Size 49, Peer-Challenge, 8 zero bytes, NT-Response,
 * Flags (zero: RFC 2759 4), the Name. */
static bool parse_response(struct ns_reader *r, struct ns_eap_mschapv2 *out)
{
    if (ns_read_u8(r) != NS_EAP_MSCHAPV2_RESPONSE_LEN ||
        !ns_read_copy(r, out->peer_challenge, sizeof(out->peer_challenge)))
        return false;
    const uint8_t *reserved = ns_read_bytes(r, RESERVED_LEN);
    if (reserved == NULL || !all_zero(reserved, RESERVED_LEN) ||
        !ns_read_copy(r, out->nt_response, sizeof(out->nt_response)))
        return false;
    out->flags = ns_read_u8(r);
    out->name_len = ns_reader_left(r);
    out->name = ns_read_bytes(r, out->name_len);
    return ns_reader_ok(r) && out->flags == 0 && out->name_len <= NS_EAP_MSCHAPV2_NAME_MAX;
}

int ns_eap_mschapv2_parse(const struct ns_eap *p, struct ns_eap_mschapv2 *out)
{
    memset(out, 0, sizeof(*out));
    if ((p->code != NS_EAP_REQUEST && p->code != NS_EAP_RESPONSE) || p->type != NS_EAP_T_MSCHAPV2)
        return NS_EAP_BAD;
    const bool request = p->code == NS_EAP_REQUEST;
    struct ns_reader r;
    ns_reader_init(&r, p->data, p->data_len);
    out->op = ns_read_u8(&r);
    if (!ns_reader_ok(&r))
        return NS_EAP_BAD;
    /* The peer's acknowledgement of a Success or Failure Request. */
    if (!request && (out->op == NS_MSCHAPV2_SUCCESS || out->op == NS_MSCHAPV2_FAILURE)) {
        out->ack = true;
        return p->data_len == 1 ? NS_EAP_OK : NS_EAP_BAD;
    }
    out->ms_id = ns_read_u8(&r);
    const uint16_t ms_len = ns_read_u16(&r);
    if (!ns_reader_ok(&r) || ms_len != p->data_len)
        return NS_EAP_BAD;
    bool ok;
    switch (out->op) {
    case NS_MSCHAPV2_CHALLENGE:
        ok = request && parse_challenge(&r, out);
        break;
    case NS_MSCHAPV2_RESPONSE:
        ok = !request && parse_response(&r, out);
        break;
    case NS_MSCHAPV2_SUCCESS:
    case NS_MSCHAPV2_FAILURE:
        out->message_len = ns_reader_left(&r);
        out->message = ns_read_bytes(&r, out->message_len);
        ok = ns_reader_ok(&r) && out->message_len <= NS_EAP_MSCHAPV2_MESSAGE_MAX;
        break;
    default: /* Change-Password (7) and unknown OpCodes */
        ok = false;
        break;
    }
    return ok ? NS_EAP_OK : NS_EAP_BAD;
}

static bool is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hex_value(uint8_t c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

int ns_eap_mschapv2_success_auth(const uint8_t *msg, size_t len, const uint8_t **auth)
{
    if (len < NS_MSCHAPV2_AUTH_RESPONSE_LEN || msg[0] != 'S' || msg[1] != '=')
        return NS_EAP_BAD;
    for (size_t i = 2; i < NS_MSCHAPV2_AUTH_RESPONSE_LEN; i++)
        if (!is_hex(msg[i]))
            return NS_EAP_BAD;
    /* What follows is " M=<text>" (RFC 2759 5) or nothing. */
    if (len > NS_MSCHAPV2_AUTH_RESPONSE_LEN &&
        (len < NS_MSCHAPV2_AUTH_RESPONSE_LEN + 3 ||
         memcmp(msg + NS_MSCHAPV2_AUTH_RESPONSE_LEN, " M=", 3) != 0))
        return NS_EAP_BAD;
    *auth = msg;
    return NS_EAP_OK;
}

/* A decimal number of 1 to 9 digits at msg[*i..len). */
static bool read_decimal(const uint8_t *msg, size_t len, size_t *i, unsigned *out)
{
    unsigned v = 0, digits = 0;
    while (*i < len && msg[*i] >= '0' && msg[*i] <= '9' && digits < 9) {
        v = v * 10 + (unsigned)(msg[(*i)++] - '0');
        digits++;
    }
    *out = v;
    return digits != 0 && (*i == len || msg[*i] == ' ');
}

int ns_eap_mschapv2_failure_parse(const uint8_t *msg, size_t len, struct ns_mschapv2_failure *out)
{
    size_t i = 0;
    bool has_error = false;
    memset(out, 0, sizeof(*out));
    while (i < len) {
        if (len - i < 2 || msg[i + 1] != '=')
            return NS_EAP_BAD;
        const uint8_t key = msg[i];
        i += 2;
        unsigned v;
        switch (key) {
        case 'E':
            if (!read_decimal(msg, len, &i, &out->error))
                return NS_EAP_BAD;
            has_error = true;
            break;
        case 'R':
            if (!read_decimal(msg, len, &i, &v) || v > 1)
                return NS_EAP_BAD;
            out->retry = v == 1;
            break;
        case 'C':
            if (len - i < 2 * NS_MSCHAPV2_CHALLENGE_LEN)
                return NS_EAP_BAD;
            for (size_t k = 0; k < NS_MSCHAPV2_CHALLENGE_LEN; k++) {
                if (!is_hex(msg[i + 2 * k]) || !is_hex(msg[i + 2 * k + 1]))
                    return NS_EAP_BAD;
                out->challenge[k] =
                    (uint8_t)(hex_value(msg[i + 2 * k]) << 4 | hex_value(msg[i + 2 * k + 1]));
            }
            i += 2 * NS_MSCHAPV2_CHALLENGE_LEN;
            if (i < len && msg[i] != ' ')
                return NS_EAP_BAD;
            out->has_challenge = true;
            break;
        case 'V':
            if (!read_decimal(msg, len, &i, &out->version))
                return NS_EAP_BAD;
            break;
        case 'M': /* the text runs to the end */
            out->text = msg + i;
            out->text_len = len - i;
            i = len;
            break;
        default:
            return NS_EAP_BAD;
        }
        if (i < len)
            i++; /* the space between fields */
    }
    return has_error ? NS_EAP_OK : NS_EAP_BAD;
}

/* Writes the EAP header, type 26 and the MS-CHAPv2 header with both
 * lengths left 0, and returns where the packet starts: the lengths are
 * known once the rest is written (finish). */
static size_t begin(struct ns_writer *w, uint8_t code, uint8_t eap_id, uint8_t op, uint8_t ms_id)
{
    const size_t start = ns_writer_len(w);
    ns_eap_build(w, code, eap_id, NS_EAP_T_MSCHAPV2, NULL, 0);
    ns_write_u8(w, op);
    ns_write_u8(w, ms_id);
    ns_write_u16(w, 0);
    return start;
}

/* Fills in the EAP Length and MS-Length of the packet begun at start. */
static void finish(struct ns_writer *w, size_t start)
{
    const size_t total = ns_writer_len(w) - start;
    if (!ns_writer_ok(w) || total > UINT16_MAX) {
        ns_write_u16_at(w, SIZE_MAX, 0); /* out of range: fails the writer */
        return;
    }
    ns_write_u16_at(w, start + 2, (uint16_t)total);
    ns_write_u16_at(w, start + NS_EAP_HDR_LEN + 1 + 2, (uint16_t)(total - NS_EAP_HDR_LEN - 1));
}

void ns_eap_mschapv2_build_challenge(struct ns_writer *w, uint8_t eap_id, uint8_t ms_id,
                                     const uint8_t challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                     const void *name, size_t name_len)
{
    size_t start = begin(w, NS_EAP_REQUEST, eap_id, NS_MSCHAPV2_CHALLENGE, ms_id);
    ns_write_u8(w, NS_MSCHAPV2_CHALLENGE_LEN);
    ns_write_bytes(w, challenge, NS_MSCHAPV2_CHALLENGE_LEN);
    ns_write_bytes(w, name, name_len);
    finish(w, start);
}

void ns_eap_mschapv2_build_response(struct ns_writer *w, uint8_t eap_id, uint8_t ms_id,
                                    const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                    const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN],
                                    const void *name, size_t name_len)
{
    size_t start = begin(w, NS_EAP_RESPONSE, eap_id, NS_MSCHAPV2_RESPONSE, ms_id);
    ns_write_u8(w, NS_EAP_MSCHAPV2_RESPONSE_LEN);
    ns_write_bytes(w, peer_challenge, NS_MSCHAPV2_CHALLENGE_LEN);
    ns_write_zeros(w, RESERVED_LEN);
    ns_write_bytes(w, nt_response, NS_MSCHAPV2_NT_RESPONSE_LEN);
    ns_write_u8(w, 0); /* Flags */
    ns_write_bytes(w, name, name_len);
    finish(w, start);
}

void ns_eap_mschapv2_build_success(struct ns_writer *w, uint8_t eap_id, uint8_t ms_id,
                                   const char *auth, const char *text)
{
    size_t start = begin(w, NS_EAP_REQUEST, eap_id, NS_MSCHAPV2_SUCCESS, ms_id);
    ns_write_bytes(w, auth, NS_MSCHAPV2_AUTH_RESPONSE_LEN);
    if (text != NULL) {
        ns_write_bytes(w, " M=", 3);
        ns_write_bytes(w, text, strlen(text));
    }
    finish(w, start);
}

void ns_eap_mschapv2_build_failure(struct ns_writer *w, uint8_t eap_id, uint8_t ms_id,
                                   unsigned error, bool retry,
                                   const uint8_t challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                   const char *text)
{
    char head[32];
    size_t start = begin(w, NS_EAP_REQUEST, eap_id, NS_MSCHAPV2_FAILURE, ms_id);
    int n = snprintf(head, sizeof(head), "E=%u R=%d", error % 1000000000u, retry ? 1 : 0);
    ns_write_bytes(w, head, (size_t)n);
    if (challenge != NULL) {
        static const char hex[] = "0123456789ABCDEF";
        ns_write_bytes(w, " C=", 3);
        for (size_t i = 0; i < NS_MSCHAPV2_CHALLENGE_LEN; i++) {
            ns_write_u8(w, (uint8_t)hex[challenge[i] >> 4]);
            ns_write_u8(w, (uint8_t)hex[challenge[i] & 0xf]);
        }
    }
    ns_write_bytes(w, " V=3", 4);
    if (text != NULL) {
        ns_write_bytes(w, " M=", 3);
        ns_write_bytes(w, text, strlen(text));
    }
    finish(w, start);
}

void ns_eap_mschapv2_build_ack(struct ns_writer *w, uint8_t eap_id, uint8_t op)
{
    ns_eap_build(w, NS_EAP_RESPONSE, eap_id, NS_EAP_T_MSCHAPV2, &op, 1);
}
