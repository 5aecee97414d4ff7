/* EAP packets (RFC 3748): see eap.h. */
#include "eap/eap.h"

#include <string.h>

int ns_eap_parse(const uint8_t *buf, size_t len, struct ns_eap *out)
{
    struct ns_reader r;
    memset(out, 0, sizeof(*out));
    ns_reader_init(&r, buf, len);
    out->code = ns_read_u8(&r);
    out->id = ns_read_u8(&r);
    out->len = ns_read_u16(&r);
    if (!ns_reader_ok(&r) || out->len < NS_EAP_HDR_LEN || out->len > len)
        return NS_EAP_BAD;
    struct ns_reader body = ns_read_sub(&r, out->len - NS_EAP_HDR_LEN);
    switch (out->code) {
    case NS_EAP_REQUEST:
    case NS_EAP_RESPONSE:
        out->type = ns_read_u8(&body);
        out->data_len = ns_reader_left(&body);
        out->data = ns_read_bytes(&body, out->data_len);
        return ns_reader_ok(&body) ? NS_EAP_OK : NS_EAP_BAD;
    case NS_EAP_SUCCESS:
    case NS_EAP_FAILURE:
        /* RFC 3748 4.2: no Data; a longer Length is not a Success. */
        return out->len == NS_EAP_HDR_LEN ? NS_EAP_OK : NS_EAP_BAD;
    default:
        return NS_EAP_BAD;
    }
}

static bool is_method(const struct ns_eap *p, uint8_t type)
{
    return (p->code == NS_EAP_REQUEST || p->code == NS_EAP_RESPONSE) && p->type == type;
}

int ns_eap_identity(const struct ns_eap *p, const uint8_t **id, size_t *len)
{
    if (!is_method(p, NS_EAP_T_IDENTITY) || p->data_len > NS_EAP_IDENTITY_MAX ||
        (p->data_len != 0 && memchr(p->data, 0, p->data_len) != NULL))
        return NS_EAP_BAD;
    *id = p->data;
    *len = p->data_len;
    return NS_EAP_OK;
}

int ns_eap_nak(const struct ns_eap *p, const uint8_t **types, size_t *n)
{
    if (!is_method(p, NS_EAP_T_NAK) || p->code != NS_EAP_RESPONSE || p->data_len == 0)
        return NS_EAP_BAD;
    *types = p->data;
    *n = p->data_len;
    return NS_EAP_OK;
}

int ns_eap_md5(const struct ns_eap *p, const uint8_t **value, size_t *value_len,
               const uint8_t **name, size_t *name_len)
{
    if (!is_method(p, NS_EAP_T_MD5))
        return NS_EAP_BAD;
    struct ns_reader r;
    ns_reader_init(&r, p->data, p->data_len);
    *value_len = ns_read_u8(&r);
    *value = ns_read_bytes(&r, *value_len);
    *name_len = ns_reader_left(&r);
    *name = ns_read_bytes(&r, *name_len);
    return ns_reader_ok(&r) && *value_len != 0 ? NS_EAP_OK : NS_EAP_BAD;
}

void ns_eap_build(struct ns_writer *w, uint8_t code, uint8_t id, uint8_t type, const void *data,
                  size_t len)
{
    const size_t start = ns_writer_len(w);
    ns_write_u8(w, code);
    ns_write_u8(w, id);
    ns_write_u16(w, 0); /* Length, below */
    ns_write_u8(w, type);
    ns_write_bytes(w, data, len);
    const size_t total = ns_writer_len(w) - start;
    if (total > UINT16_MAX) {
        ns_write_u16_at(w, SIZE_MAX, 0); /* fails the writer: out of range */
        return;
    }
    ns_write_u16_at(w, start + 2, (uint16_t)total);
}

void ns_eap_build_result(struct ns_writer *w, uint8_t code, uint8_t id)
{
    ns_write_u8(w, code);
    ns_write_u8(w, id);
    ns_write_u16(w, NS_EAP_HDR_LEN);
}

void ns_eap_build_nak(struct ns_writer *w, uint8_t id, const uint8_t *types, size_t n)
{
    ns_eap_build(w, NS_EAP_RESPONSE, id, NS_EAP_T_NAK, types, n);
}

const char *ns_eap_code_name(uint8_t code)
{
    static const char *const names[] = {NULL, "Request", "Response", "Success", "Failure"};
    return code >= 1 && code <= 4 ? names[code] : "unknown";
}

const char *ns_eap_type_name(uint8_t type)
{
    switch (type) {
    case NS_EAP_T_IDENTITY:
        return "Identity";
    case NS_EAP_T_NOTIFICATION:
        return "Notification";
    case NS_EAP_T_NAK:
        return "Nak";
    case NS_EAP_T_MD5:
        return "MD5-Challenge";
    case NS_EAP_T_MSCHAPV2:
        return "MSCHAPv2";
    case NS_EAP_T_EXPANDED:
        return "Expanded";
    default:
        return "unknown";
    }
}

const char *ns_eap_name_str(const uint8_t *name, size_t len, char out[NS_EAP_NAME_STRLEN])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len && i < NS_EAP_IDENTITY_MAX; i++) {
        uint8_t c = name[i];
        if (c >= ' ' && c < 127) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}
