/* SPDX-License-Identifier: Apache-2.0 */
/* TSS2 PRIVATE KEY files: a strict DER reader and writer for the TPMKey
 * structure of TCG "TPM 2.0 Key Files" (ASN.1 in keyfile.h), PEM
 * framing (RFC 7468) and atomic writes. Input is untrusted: every length is
 * checked against what remains, lengths must be minimal (X.690 §10.1) and
 * nothing may follow the structure. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include "common/err.h"
#include "tpm2/keyfile.h"

/* X.690 tags used here */
#define DEVID_DER_BOOLEAN 0x01
#define DEVID_DER_INTEGER 0x02
#define DEVID_DER_OCTETS 0x04
#define DEVID_DER_OID 0x06
#define DEVID_DER_SEQUENCE 0x30
#define DEVID_DER_CTX(n) (0xa0 | (n))

/* Key files are a few hundred bytes; this bounds what we read from disk. */
#define DEVID_KEYFILE_MAX (64 * 1024)

/* 2.23.133.10.1.3: id-loadablekey (TCG TPM 2.0 Key Files) */
static const unsigned char devid_oid_loadable[] = {
    0x67, 0x81, 0x05, 0x0a, 0x01, 0x03
};

static const char devid_pem_header[] = "-----BEGIN TSS2 PRIVATE KEY-----";

struct devid_der {
    const unsigned char *p;
    const unsigned char *end;
};

/* Reads one TLV with the expected tag; *val and *len hold its content.
 * Returns 1, or 0 on a wrong tag, a non-minimal or indefinite length, or a
 * length beyond the input. */
static int devid_der_get(struct devid_der *d, unsigned int tag,
                         const unsigned char **val, size_t *len)
{
    size_t n, i, nbytes;

    if (d->end - d->p < 2 || d->p[0] != tag) {
        return 0;
    }
    n = d->p[1];
    d->p += 2;
    if (n >= 0x80) {
        nbytes = n & 0x7f;
        if (nbytes == 0 || nbytes > 3 || (size_t)(d->end - d->p) < nbytes
            || d->p[0] == 0) {
            return 0;
        }
        for (n = 0, i = 0; i < nbytes; i++) {
            n = (n << 8) | d->p[i];
        }
        d->p += nbytes;
        if (n < 0x80) {
            return 0;
        }
    }
    if ((size_t)(d->end - d->p) < n) {
        return 0;
    }
    *val = d->p;
    *len = n;
    d->p += n;
    return 1;
}

/* Peeks at the next tag: 1 when it is tag. */
static int devid_der_next_is(const struct devid_der *d, unsigned int tag)
{
    return d->p < d->end && d->p[0] == tag;
}

/* [n] EXPLICIT BOOLEAN: exactly one BOOLEAN of one byte. DER wants TRUE as
 * 0xff, but tpm2-openssl writes 0x01 (BER), so any non-zero is TRUE. */
static int devid_der_get_bool(struct devid_der *d, unsigned int tag, int *b)
{
    struct devid_der in;
    const unsigned char *v;
    size_t n;

    if (!devid_der_get(d, tag, &in.p, &n)) {
        return 0;
    }
    in.end = in.p + n;
    if (!devid_der_get(&in, DEVID_DER_BOOLEAN, &v, &n) || n != 1
        || in.p != in.end) {
        return 0;
    }
    *b = v[0] != 0x00;
    return 1;
}

/* INTEGER holding a TPM handle: non-negative, minimal, at most 32 bits */
static int devid_der_get_u32(struct devid_der *d, uint32_t *out)
{
    const unsigned char *v;
    size_t n, i;
    uint32_t x = 0;

    if (!devid_der_get(d, DEVID_DER_INTEGER, &v, &n) || n == 0 || n > 5
        || (v[0] & 0x80) != 0 || (n > 1 && v[0] == 0 && (v[1] & 0x80) == 0)
        || (n == 5 && v[0] != 0)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        x = (x << 8) | v[i];
    }
    *out = x;
    return 1;
}

/* The optional fields in order; returns 0 on a malformed one. */
static int devid_keyfile_get_options(struct devid_der *d,
                                     struct devid_tpm2_keyfile *kf)
{
    const unsigned char *v;
    size_t n;
    unsigned int t;

    if (devid_der_next_is(d, DEVID_DER_CTX(0))
        && !devid_der_get_bool(d, DEVID_DER_CTX(0), &kf->empty_auth)) {
        return 0;
    }
    for (t = 1; t <= 4; t++) {
        if (!devid_der_next_is(d, DEVID_DER_CTX(t))) {
            continue;
        }
        if (!devid_der_get(d, DEVID_DER_CTX(t), &v, &n)) {
            return 0;
        }
        if (t == 2) {
            kf->has_secret = 1;
        } else if (t != 4) {
            kf->has_policy = 1;
        }
    }
    if (devid_der_next_is(d, DEVID_DER_CTX(5))
        && !devid_der_get_bool(d, DEVID_DER_CTX(5), &kf->rsa_parent)) {
        return 0;
    }
    return 1;
}

/* Returns NULL on success or what was wrong. */
static const char *devid_keyfile_parse(const unsigned char *der, size_t len,
                                       struct devid_tpm2_keyfile *kf)
{
    struct devid_der top = { der, der + len }, seq;
    const unsigned char *v;
    size_t n, off = 0;

    if (!devid_der_get(&top, DEVID_DER_SEQUENCE, &seq.p, &n)) {
        return "not a DER SEQUENCE";
    }
    if (top.p != top.end) {
        return "data after the SEQUENCE";
    }
    seq.end = seq.p + n;
    if (!devid_der_get(&seq, DEVID_DER_OID, &v, &n)) {
        return "no type OID";
    }
    if (n != sizeof(devid_oid_loadable)
        || memcmp(v, devid_oid_loadable, n) != 0) {
        return "type is not 2.23.133.10.1.3 (loadable key)";
    }
    if (!devid_keyfile_get_options(&seq, kf)) {
        return "malformed optional field";
    }
    if (!devid_der_get_u32(&seq, &kf->parent)) {
        return "malformed parent";
    }
    /* the TPM2B size must cover exactly the TPMT_PUBLIC that follows
     * (Tss2_MU does not check it) */
    if (!devid_der_get(&seq, DEVID_DER_OCTETS, &v, &n) || n < 2
        || ((size_t)v[0] << 8 | v[1]) != n - 2
        || Tss2_MU_TPM2B_PUBLIC_Unmarshal(v, n, &off, &kf->pub)
               != TSS2_RC_SUCCESS
        || off != n) {
        return "malformed pubkey";
    }
    off = 0;
    if (!devid_der_get(&seq, DEVID_DER_OCTETS, &v, &n)
        || Tss2_MU_TPM2B_PRIVATE_Unmarshal(v, n, &off, &kf->priv)
               != TSS2_RC_SUCCESS
        || off != n) {
        return "malformed privkey";
    }
    if (seq.p != seq.end) {
        return "data after privkey";
    }
    return NULL;
}

int devid_tpm2_keyfile_decode(const struct devid_prov *prov,
                              const unsigned char *der, size_t len,
                              struct devid_tpm2_keyfile **out)
{
    struct devid_tpm2_keyfile *kf = NULL;
    const char *why;
    int ret = 0;

    *out = NULL;
    kf = OPENSSL_zalloc(sizeof(*kf));
    if (kf == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "key file");
        goto end;
    }
    why = der == NULL ? "no data" : devid_keyfile_parse(der, len, kf);
    if (why != NULL) {
        DEVID_RAISE(prov, DEVID_R_BAD_KEY_FILE, "TSS2 PRIVATE KEY: %s", why);
        goto end;
    }
    *out = kf;
    kf = NULL;
    ret = 1;
end:
    devid_tpm2_keyfile_free(kf);
    return ret;
}

/* Writes a TLV header (tag, minimal length) at p, or only counts when p is
 * NULL. Returns the header size. */
static size_t devid_der_put_hdr(unsigned char *p, unsigned int tag, size_t len)
{
    size_t n = len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : 5;
    size_t i;

    if (p != NULL) {
        p[0] = (unsigned char)tag;
        if (n == 2) {
            p[1] = (unsigned char)len;
        } else {
            p[1] = (unsigned char)(0x80 | (n - 2));
            for (i = 0; i < n - 2; i++) {
                p[n - 1 - i] = (unsigned char)(len >> (8 * i));
            }
        }
    }
    return n;
}

/* Writes a whole TLV (or counts it). */
static size_t devid_der_put(unsigned char *p, unsigned int tag,
                            const unsigned char *val, size_t len)
{
    size_t h = devid_der_put_hdr(p, tag, len);

    if (p != NULL && len > 0) {
        memcpy(p + h, val, len);
    }
    return h + len;
}

/* The SEQUENCE content: everything but the outer header. */
static size_t devid_keyfile_put_body(unsigned char *p,
                                     const struct devid_tpm2_keyfile *kf,
                                     const unsigned char *pub, size_t publen,
                                     const unsigned char *priv, size_t privlen)
{
    static const unsigned char tru[] = { DEVID_DER_BOOLEAN, 1, 0xff };
    unsigned char parent[5];
    size_t n = 0, plen, i;

    n += devid_der_put(p, DEVID_DER_OID, devid_oid_loadable,
                       sizeof(devid_oid_loadable));
    if (kf->empty_auth) {
        n += devid_der_put(p == NULL ? NULL : p + n, DEVID_DER_CTX(0), tru,
                           sizeof(tru));
    }
    if (kf->rsa_parent) {
        n += devid_der_put(p == NULL ? NULL : p + n, DEVID_DER_CTX(5), tru,
                           sizeof(tru));
    }
    /* minimal two's complement: a leading zero when the top bit is set */
    parent[0] = 0;
    for (i = 0; i < 4; i++) {
        parent[1 + i] = (unsigned char)(kf->parent >> (24 - 8 * i));
    }
    for (i = 0; i < 4 && parent[i] == 0 && (parent[i + 1] & 0x80) == 0; i++) {
        continue;
    }
    plen = 5 - i;
    n += devid_der_put(p == NULL ? NULL : p + n, DEVID_DER_INTEGER, parent + i,
                       plen);
    n += devid_der_put(p == NULL ? NULL : p + n, DEVID_DER_OCTETS, pub, publen);
    n += devid_der_put(p == NULL ? NULL : p + n, DEVID_DER_OCTETS, priv,
                       privlen);
    return n;
}

int devid_tpm2_keyfile_encode(const struct devid_prov *prov,
                              const struct devid_tpm2_keyfile *kf,
                              unsigned char **der, size_t *len)
{
    unsigned char pub[sizeof(TPM2B_PUBLIC)], priv[sizeof(TPM2B_PRIVATE)];
    size_t publen = 0, privlen = 0, body, h;
    unsigned char *buf = NULL;

    *der = NULL;
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(&kf->pub, pub, sizeof(pub), &publen)
            != TSS2_RC_SUCCESS
        || Tss2_MU_TPM2B_PRIVATE_Marshal(&kf->priv, priv, sizeof(priv),
                                         &privlen)
               != TSS2_RC_SUCCESS) {
        DEVID_RAISE(prov, DEVID_R_INTERNAL, "TPM2B marshal");
        return 0;
    }
    body = devid_keyfile_put_body(NULL, kf, pub, publen, priv, privlen);
    h = devid_der_put_hdr(NULL, DEVID_DER_SEQUENCE, body);
    buf = OPENSSL_malloc(h + body);
    if (buf == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "key file");
        return 0;
    }
    devid_der_put_hdr(buf, DEVID_DER_SEQUENCE, body);
    devid_keyfile_put_body(buf + h, kf, pub, publen, priv, privlen);
    *der = buf;
    *len = h + body;
    return 1;
}

void devid_tpm2_keyfile_free(struct devid_tpm2_keyfile *kf)
{
    /* the private blob is wrapped by the parent: not secret, but tidy */
    OPENSSL_clear_free(kf, sizeof(*kf));
}

int devid_tpm2_keyfile_sniff(const unsigned char *buf, size_t len)
{
    size_t off, hl = sizeof(devid_pem_header) - 1, i;

    for (i = 0; i + hl <= len; i++) {
        if (memcmp(buf + i, devid_pem_header, hl) == 0) {
            return 1;
        }
    }
    if (len < 2 || buf[0] != DEVID_DER_SEQUENCE) {
        return 0;
    }
    off = buf[1] < 0x80 ? 2 : buf[1] == 0x81 ? 3 : buf[1] == 0x82 ? 4 : 0;
    return off != 0 && len >= off + 2 + sizeof(devid_oid_loadable)
           && buf[off] == DEVID_DER_OID
           && buf[off + 1] == sizeof(devid_oid_loadable)
           && memcmp(buf + off + 2, devid_oid_loadable,
                     sizeof(devid_oid_loadable))
                  == 0;
}

/* Decodes the first TSS2 PRIVATE KEY PEM block in buf. */
static int devid_keyfile_from_pem(const struct devid_prov *prov,
                                  const unsigned char *buf, size_t len,
                                  struct devid_tpm2_keyfile **out)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long dlen = 0;
    int ret = 0;

    if (bio == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "BIO");
        goto end;
    }
    for (;;) {
        if (PEM_read_bio(bio, &name, &header, &der, &dlen) != 1) {
            DEVID_RAISE(prov, DEVID_R_BAD_KEY_FILE, "no valid %s PEM block",
                        DEVID_TPM2_KEYFILE_PEM_NAME);
            goto end;
        }
        if (strcmp(name, DEVID_TPM2_KEYFILE_PEM_NAME) == 0) {
            break;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
        name = header = NULL;
        der = NULL;
    }
    ret = devid_tpm2_keyfile_decode(prov, der, (size_t)dlen, out);
end:
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    return ret;
}

int devid_tpm2_keyfile_read(const struct devid_prov *prov, const char *path,
                            struct devid_tpm2_keyfile **out)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int ret = 0;

    *out = NULL;
    buf = OPENSSL_malloc(DEVID_KEYFILE_MAX + 1);
    if (buf == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "key file");
        goto end;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        DEVID_RAISE(prov, DEVID_R_NO_OBJECT, "%s: %s", path, strerror(errno));
        goto end;
    }
    len = fread(buf, 1, DEVID_KEYFILE_MAX + 1, f);
    if (ferror(f) || len > DEVID_KEYFILE_MAX) {
        DEVID_RAISE(prov, DEVID_R_BAD_KEY_FILE, "%s: unreadable or too big",
                    path);
        goto end;
    }
    if (len > 0 && buf[0] == DEVID_DER_SEQUENCE) {
        ret = devid_tpm2_keyfile_decode(prov, buf, len, out);
    } else {
        ret = devid_keyfile_from_pem(prov, buf, len, out);
    }
end:
    if (f != NULL) {
        fclose(f);
    }
    OPENSSL_free(buf);
    return ret;
}

/* PEM text of kf in a new buffer. */
static int devid_keyfile_to_pem(const struct devid_prov *prov,
                                const struct devid_tpm2_keyfile *kf,
                                char **pem, size_t *len)
{
    unsigned char *der = NULL;
    size_t dlen = 0;
    BIO *bio = NULL;
    char *data;
    long n;
    int ret = 0;

    if (!devid_tpm2_keyfile_encode(prov, kf, &der, &dlen)) {
        goto end;
    }
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL
        || PEM_write_bio(bio, DEVID_TPM2_KEYFILE_PEM_NAME, "", der,
                         (long)dlen)
               <= 0) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "PEM");
        goto end;
    }
    n = BIO_get_mem_data(bio, &data);
    *pem = OPENSSL_memdup(data, (size_t)n);
    if (*pem == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "PEM");
        goto end;
    }
    *len = (size_t)n;
    ret = 1;
end:
    BIO_free(bio);
    OPENSSL_free(der);
    return ret;
}

/* fsync of the directory holding path, so the rename is durable */
static void devid_keyfile_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    int fd;

    if (slash == NULL) {
        dir = OPENSSL_strdup(".");
    } else {
        dir = OPENSSL_strndup(path, slash == path ? 1 : (size_t)(slash - path));
    }
    if (dir == NULL) {
        return;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    OPENSSL_free(dir);
}

int devid_tpm2_keyfile_write_pem(const struct devid_prov *prov,
                                 const char *path,
                                 const struct devid_tpm2_keyfile *kf)
{
    char *pem = NULL, *tmp = NULL;
    size_t len = 0, tlen = strlen(path) + sizeof(".XXXXXX");
    int fd = -1, ret = 0;

    if (!devid_keyfile_to_pem(prov, kf, &pem, &len)) {
        goto end;
    }
    tmp = OPENSSL_malloc(tlen);
    if (tmp == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "path");
        goto end;
    }
    snprintf(tmp, tlen, "%s.XXXXXX", path);
    fd = mkstemp(tmp);              /* mode 0600 */
    if (fd < 0) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM, "%s: %s", path,
                    strerror(errno));
        goto end;
    }
    if (write(fd, pem, len) != (ssize_t)len || fsync(fd) != 0
        || close(fd) != 0) {
        fd = -1;
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM, "%s: %s", tmp,
                    strerror(errno));
        unlink(tmp);
        goto end;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        DEVID_RAISE(prov, DEVID_R_INVALID_PARAM, "%s: %s", path,
                    strerror(errno));
        unlink(tmp);
        goto end;
    }
    devid_keyfile_sync_dir(path);
    ret = 1;
end:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    OPENSSL_free(tmp);
    OPENSSL_free(pem);
    return ret;
}
