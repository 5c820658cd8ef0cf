/* SPDX-License-Identifier: Apache-2.0 */
/* Name references (see name-ref.h): a small DER writer and a strict reader
 * (one SEQUENCE, exact description, a UTF8String without NUL, no trailing
 * bytes). */
#include "config.h"

#include <string.h>
#include <openssl/asn1.h>
#include <openssl/crypto.h>

#include "common/name-ref.h"

/* DER length octets (X.690 §8.1.3), definite form. */
static size_t devid_der_len_octets(size_t len, unsigned char *out)
{
    size_t n = 0;
    size_t i;

    if (len < 128) {
        if (out != NULL) {
            out[0] = (unsigned char)len;
        }
        return 1;
    }
    for (i = len; i > 0; i >>= 8) {
        n++;
    }
    if (out != NULL) {
        out[0] = (unsigned char)(0x80 | n);
        for (i = 0; i < n; i++) {
            out[1 + i] = (unsigned char)(len >> (8 * (n - 1 - i)));
        }
    }
    return 1 + n;
}

static size_t devid_der_put(unsigned char *out, int tag, const unsigned char *v,
                            size_t len)
{
    size_t n = 1;

    out[0] = (unsigned char)tag;
    n += devid_der_len_octets(len, out + 1);
    memcpy(out + n, v, len);
    return n + len;
}

int devid_name_ref_encode(const char *name, unsigned char **der, size_t *len)
{
    size_t desc_len = strlen(DEVID_NAME_REF_DESC);
    size_t name_len = strlen(name);
    size_t body = 1 + devid_der_len_octets(desc_len, NULL) + desc_len + 1
                  + devid_der_len_octets(name_len, NULL) + name_len;
    size_t total = 1 + devid_der_len_octets(body, NULL) + body;
    unsigned char *buf = OPENSSL_malloc(total);
    size_t n;

    if (buf == NULL) {
        return 0;
    }
    buf[0] = V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED;
    n = 1 + devid_der_len_octets(body, buf + 1);
    n += devid_der_put(buf + n, V_ASN1_VISIBLESTRING,
                       (const unsigned char *)DEVID_NAME_REF_DESC, desc_len);
    n += devid_der_put(buf + n, V_ASN1_UTF8STRING, (const unsigned char *)name,
                       name_len);
    *der = buf;
    *len = n;
    return 1;
}

/* Reads one primitive TLV of the given tag; advances *p. */
static int devid_der_get(const unsigned char **p, long *left, int want_tag,
                         const unsigned char **val, long *vlen)
{
    const unsigned char *q = *p;
    int tag = 0;
    int xclass = 0;
    int r = ASN1_get_object(&q, vlen, &tag, &xclass, *left);

    if ((r & 0x80) != 0 || tag != want_tag || xclass != V_ASN1_UNIVERSAL) {
        return 0;
    }
    *val = q;
    *left -= (long)(q - *p) + *vlen;
    *p = q + *vlen;
    return 1;
}

char *devid_name_ref_decode(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    const unsigned char *seq = NULL;
    const unsigned char *v = NULL;
    long left = (long)len;
    long seqlen = 0;
    long vlen = 0;
    int tag = 0;
    int xclass = 0;
    int r;

    r = ASN1_get_object(&p, &seqlen, &tag, &xclass, left);
    if ((r & 0x80) != 0 || tag != V_ASN1_SEQUENCE
        || (r & V_ASN1_CONSTRUCTED) == 0 || (long)(p - der) + seqlen != left) {
        return NULL;
    }
    seq = p;
    left = seqlen;
    if (!devid_der_get(&seq, &left, V_ASN1_VISIBLESTRING, &v, &vlen)
        || (size_t)vlen != strlen(DEVID_NAME_REF_DESC)
        || memcmp(v, DEVID_NAME_REF_DESC, (size_t)vlen) != 0) {
        return NULL;
    }
    if (!devid_der_get(&seq, &left, V_ASN1_UTF8STRING, &v, &vlen) || left != 0
        || vlen <= 0 || memchr(v, '\0', (size_t)vlen) != NULL) {
        return NULL;
    }
    return OPENSSL_strndup((const char *)v, (size_t)vlen);
}
