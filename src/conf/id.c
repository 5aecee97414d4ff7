/* Identities (R3): the text a configuration uses, the IKEv2 ID type it
 * means, and the bytes that go on the wire. An IP-address identity is
 * possible but never required. */
#include "conf/conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "conf/value.h"
#include "util/escape.h"

static int fail(char *err, size_t errlen, const char *fmt, const char *s)
{
    snprintf(err, errlen, fmt, s);
    return -1;
}

/* "C=CH, O=Example, CN=vpn" (or with '/' separators) to a DER Name, in the
 * order written. Certificates will compare against these bytes. */
static int parse_dn(const char *s, struct ns_conf_id *out, char *err, size_t errlen)
{
    X509_NAME *name = X509_NAME_new();
    unsigned char *der = NULL;
    int rc = -1;
    char buf[NS_CONF_ID_MAX * 2];
    if (!name)
        return fail(err, errlen, "out of memory parsing DN '%s'", s);
    if (strlen(s) >= sizeof(buf)) {
        fail(err, errlen, "DN '%.40s...' is too long", s);
        goto out;
    }
    strcpy(buf, s);
    char *save = NULL;
    const char *sep = strchr(buf, ',') ? "," : "/";
    int n = 0;
    for (char *rdn = strtok_r(buf, sep, &save); rdn; rdn = strtok_r(NULL, sep, &save)) {
        while (isspace((unsigned char)*rdn))
            rdn++;
        char *eq = strchr(rdn, '=');
        if (!eq || eq == rdn || eq[1] == '\0') {
            fail(err, errlen, "DN part '%s' is not attribute=value", rdn);
            goto out;
        }
        char *kend = eq;
        while (kend > rdn && isspace((unsigned char)kend[-1]))
            kend--;
        *kend = '\0';
        char *val = eq + 1;
        while (isspace((unsigned char)*val))
            val++;
        size_t vl = strlen(val);
        while (vl > 0 && isspace((unsigned char)val[vl - 1]))
            val[--vl] = '\0';
        if (OBJ_txt2nid(rdn) == NID_undef) {
            fail(err, errlen, "unknown DN attribute '%s'", rdn);
            goto out;
        }
        if (vl == 0 || !X509_NAME_add_entry_by_txt(name, rdn, MBSTRING_UTF8,
                                                   (const unsigned char *)val, (int)vl, -1, 0)) {
            fail(err, errlen, "bad DN value for '%s'", rdn);
            goto out;
        }
        n++;
    }
    if (n == 0) {
        fail(err, errlen, "empty DN in '%s'", s);
        goto out;
    }
    int len = i2d_X509_NAME(name, &der);
    if (len <= 0 || (size_t)len > sizeof(out->data)) {
        fail(err, errlen, "DN '%.40s' does not fit an identity", s);
        goto out;
    }
    out->type = NS_CONF_ID_DER_ASN1_DN;
    memcpy(out->data, der, (size_t)len);
    out->len = (size_t)len;
    rc = 0;
out:
    OPENSSL_free(der);
    X509_NAME_free(name);
    return rc;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if (!isgraph((unsigned char)*s))
            return false;
    return true;
}

int ns_conf_id_parse_err(const char *s, struct ns_conf_id *out, char *err, size_t errlen)
{
    struct ns_conf_id id;
    memset(&id, 0, sizeof(id));
    size_t n = strlen(s);
    if (n == 0) {
        snprintf(err, errlen, "empty identity");
        return -1;
    }
    if (strncasecmp(s, "dn:", 3) == 0) {
        if (parse_dn(s + 3, &id, err, errlen) != 0)
            return -1;
        *out = id;
        return 0;
    }
    if (strncasecmp(s, "keyid:", 6) == 0) {
        const char *k = s + 6;
        id.type = NS_CONF_ID_KEY_ID;
        if (k[0] == '0' && (k[1] == 'x' || k[1] == 'X')) {
            if (ns_conf_value_hex(k + 2, id.data, sizeof(id.data), &id.len, err, errlen) != 0)
                return -1;
        } else {
            id.len = strlen(k);
            if (id.len == 0 || id.len > sizeof(id.data))
                return fail(err, errlen, "key ID '%s' is empty or too long", s);
            memcpy(id.data, k, id.len);
        }
        *out = id;
        return 0;
    }
    if (inet_pton(AF_INET, s, id.data) == 1) {
        id.type = NS_CONF_ID_IPV4_ADDR;
        id.len = 4;
    } else if (inet_pton(AF_INET6, s, id.data) == 1) {
        id.type = NS_CONF_ID_IPV6_ADDR;
        id.len = 16;
    } else {
        if (n > sizeof(id.data))
            return fail(err, errlen, "identity '%.40s...' is longer than 256 bytes", s);
        if (!printable(s))
            return fail(err, errlen, "identity '%s' contains spaces or control characters", s);
        const char *at = strchr(s, '@');
        /* user@host is an RFC822 address; "@host" is strongSwan's way to
         * force an FQDN, so a leading '@' is dropped and means FQDN. */
        if (at == s) {
            s++;
            n--;
            if (n == 0 || strchr(s, '@'))
                return fail(err, errlen, "identity '@%s' is not an FQDN", s);
            id.type = NS_CONF_ID_FQDN;
        } else {
            id.type = at ? NS_CONF_ID_RFC822_ADDR : NS_CONF_ID_FQDN;
        }
        memcpy(id.data, s, n);
        id.len = n;
    }
    *out = id;
    return 0;
}

int ns_conf_id_parse(const char *s, struct ns_conf_id *out)
{
    char err[16];
    return ns_conf_id_parse_err(s, out, err, sizeof(err));
}

bool ns_conf_id_equal(const struct ns_conf_id *x, const struct ns_conf_id *y)
{
    return x->type == y->type && x->len == y->len && memcmp(x->data, y->data, x->len) == 0;
}

bool ns_conf_id_text_type(uint8_t type)
{
    return type == NS_CONF_ID_FQDN || type == NS_CONF_ID_RFC822_ADDR;
}

bool ns_conf_id_match(const struct ns_conf_id *x, const struct ns_conf_id *y)
{
    if (x->type != y->type || x->len != y->len)
        return false;
    if (!ns_conf_id_text_type(x->type))
        return memcmp(x->data, y->data, x->len) == 0;
    for (size_t i = 0; i < x->len; i++)
        if (tolower(x->data[i]) != tolower(y->data[i]))
            return false;
    return true;
}

const char *ns_conf_id_type_name(uint8_t type)
{
    switch (type) {
    case NS_CONF_ID_IPV4_ADDR:
        return "ipv4";
    case NS_CONF_ID_FQDN:
        return "fqdn";
    case NS_CONF_ID_RFC822_ADDR:
        return "rfc822";
    case NS_CONF_ID_IPV6_ADDR:
        return "ipv6";
    case NS_CONF_ID_DER_ASN1_DN:
        return "dn";
    case NS_CONF_ID_KEY_ID:
        return "keyid";
    default:
        return "unknown";
    }
}

static void hex_into(char *buf, size_t cap, const uint8_t *d, size_t n)
{
    size_t o = strlen(buf);
    for (size_t i = 0; i < n && o + 3 <= cap; i++, o += 2)
        snprintf(buf + o, cap - o, "%02x", d[i]);
}

static bool text_ok(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isgraph(d[i]) || d[i] > 126)
            return false;
    return n > 0;
}

/* The DER Name back to "dn:C=.., O=.., CN=..", in the order it holds; the
 * values escaped (util/escape.h): a peer chooses them. */
static void dn_str(const struct ns_conf_id *id, char *buf, size_t cap)
{
    const unsigned char *p = id->data;
    X509_NAME *name = d2i_X509_NAME(NULL, &p, (long)id->len);
    snprintf(buf, cap, "dn:");
    if (!name) {
        snprintf(buf, cap, "dn:0x");
        hex_into(buf, cap, id->data, id->len);
        return;
    }
    for (int i = 0; i < X509_NAME_entry_count(name); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : "?";
        char value[NS_ESCAPE_CAP(NS_CONF_ID_MAX)];
        size_t o = strlen(buf);
        ns_escape(value, sizeof(value), ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v));
        snprintf(buf + o, cap - o, "%s%s=%s", i ? ", " : "", sn, value);
    }
    X509_NAME_free(name);
}

const char *ns_conf_id_str(const struct ns_conf_id *id, char buf[NS_CONF_ID_STRLEN])
{
    buf[0] = '\0';
    switch (id->type) {
    case 0:
        snprintf(buf, NS_CONF_ID_STRLEN, "%%default");
        break;
    case NS_CONF_ID_IPV4_ADDR:
    case NS_CONF_ID_IPV6_ADDR:
        if (id->len != (id->type == NS_CONF_ID_IPV4_ADDR ? 4u : 16u) ||
            !inet_ntop(id->type == NS_CONF_ID_IPV4_ADDR ? AF_INET : AF_INET6, id->data, buf,
                       NS_CONF_ID_STRLEN))
            snprintf(buf, NS_CONF_ID_STRLEN, "(bad address identity)");
        break;
    case NS_CONF_ID_FQDN:
    case NS_CONF_ID_RFC822_ADDR:
        if (text_ok(id->data, id->len)) {
            snprintf(buf, NS_CONF_ID_STRLEN, "%.*s", (int)id->len, (const char *)id->data);
        } else {
            snprintf(buf, NS_CONF_ID_STRLEN, "%s:0x", ns_conf_id_type_name(id->type));
            hex_into(buf, NS_CONF_ID_STRLEN, id->data, id->len);
        }
        break;
    case NS_CONF_ID_KEY_ID:
        /* Text when it reads as text and cannot be mistaken for hex. */
        if (text_ok(id->data, id->len) &&
            !(id->len >= 2 && id->data[0] == '0' && (id->data[1] == 'x' || id->data[1] == 'X'))) {
            snprintf(buf, NS_CONF_ID_STRLEN, "keyid:%.*s", (int)id->len, (const char *)id->data);
        } else {
            snprintf(buf, NS_CONF_ID_STRLEN, "keyid:0x");
            hex_into(buf, NS_CONF_ID_STRLEN, id->data, id->len);
        }
        break;
    case NS_CONF_ID_DER_ASN1_DN:
        dn_str(id, buf, NS_CONF_ID_STRLEN);
        break;
    default:
        snprintf(buf, NS_CONF_ID_STRLEN, "id%u:0x", id->type);
        hex_into(buf, NS_CONF_ID_STRLEN, id->data, id->len);
        break;
    }
    return buf;
}
