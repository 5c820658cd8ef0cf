/* SPDX-License-Identifier: Apache-2.0 */
/* Public keys and certificates in TPM NV indices ("handle:0x01xxxxxx", as
 * tpm2-openssl names them). TCG's device-identity profile keeps IDevID and
 * LDevID certificates there, and the EK Credential Profile the EK
 * certificates (docs/tpm2.md lists the indices). The index holds DER (a
 * certificate or a SubjectPublicKeyInfo, possibly padded) or PEM. */
#include "config.h"

#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tss2/tss2_rc.h>

#include "common/err.h"
#include "tpm2/tpm2.h"

/* Bytes per TPM2_NV_Read: every TPM takes 512 (PC Client Platform TPM
 * Profile, MAX_NV_BUFFER_SIZE minimum). */
#define DEVID_TPM2_NV_CHUNK 512

int devid_tpm2_name_nv(const char *name, TPM2_HANDLE *handle)
{
    const char *p = name + 7;
    unsigned long v = 0;
    int d;

    if (strncmp(name, "handle:", 7) != 0) {
        return 0;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
    }
    if (*p == '\0' || strlen(p) > 8) {
        return 0;
    }
    for (; *p != '\0'; p++) {
        d = OPENSSL_hexchar2int((unsigned char)*p);
        if (d < 0) {
            return 0;
        }
        v = (v << 4) | (unsigned long)d;
    }
    /* NV indices: TPM 2.0 Part 2 §7.2 (TPM_HT_NV_INDEX), 0x01xxxxxx */
    if ((v & 0xff000000ul) != 0x01000000ul) {
        return 0;
    }
    *handle = (TPM2_HANDLE)v;
    return 1;
}

/* Who authorizes the read (TPM 2.0 Part 3 §31.13 TPM2_NV_Read), with the
 * empty auth value, once: the owner or the platform when the index allows
 * it (hierarchy auth values are outside dictionary-attack protection),
 * else the index itself. */
static ESYS_TR devid_tpm2_nv_auth(TPMA_NV a, ESYS_TR index)
{
    if ((a & TPMA_NV_OWNERREAD) != 0) {
        return ESYS_TR_RH_OWNER;
    }
    if ((a & TPMA_NV_PPREAD) != 0) {
        return ESYS_TR_RH_PLATFORM;
    }
    return index;
}

static int devid_tpm2_nv_read_all(struct devid_prov *prov,
                                  struct devid_tpm2 *st, TPM2_HANDLE h,
                                  unsigned char **out, size_t *len)
{
    TPM2B_NV_PUBLIC *pub = NULL;
    TPM2B_MAX_NV_BUFFER *chunk = NULL;
    ESYS_TR tr = ESYS_TR_NONE, auth;
    unsigned char *buf = NULL;
    size_t size, off = 0;
    UINT16 n;
    TSS2_RC rc;
    int ret = 0;

    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_TR_FromTPMPublic(st->esys, h, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ESYS_TR_NONE, &tr));
    if (rc != TSS2_RC_SUCCESS) {
        tr = ESYS_TR_NONE;
        DEVID_RAISE(prov, DEVID_R_NO_OBJECT, "NV index 0x%08x: %s (0x%x)",
                    (unsigned int)h, Tss2_RC_Decode(rc), (unsigned int)rc);
        goto end;
    }
    rc = Esys_NV_ReadPublic(st->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE,
                            ESYS_TR_NONE, &pub, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_rc_raise(prov, "Esys_NV_ReadPublic", rc);
        goto end;
    }
    size = pub->nvPublic.dataSize;
    buf = OPENSSL_malloc(size + 1);
    if (buf == NULL || size == 0) {
        DEVID_RAISE(prov, size == 0 ? DEVID_R_NO_OBJECT : DEVID_R_MALLOC,
                    "NV index 0x%08x (%zu bytes)", (unsigned int)h, size);
        goto end;
    }
    auth = devid_tpm2_nv_auth(pub->nvPublic.attributes, tr);
    for (off = 0; off < size; off += n) {
        n = (UINT16)(size - off > DEVID_TPM2_NV_CHUNK ? DEVID_TPM2_NV_CHUNK
                                                      : size - off);
        rc = Esys_NV_Read(st->esys, auth, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                          ESYS_TR_NONE, n, (UINT16)off, &chunk);
        if (rc != TSS2_RC_SUCCESS) {
            devid_tpm2_rc_raise(prov, "Esys_NV_Read", rc);
            goto end;
        }
        memcpy(buf + off, chunk->buffer, chunk->size < n ? chunk->size : n);
        Esys_Free(chunk);
        chunk = NULL;
    }
    *out = buf;
    *len = size;
    buf = NULL;
    ret = 1;
end:
    if (tr != ESYS_TR_NONE) {
        Esys_TR_Close(st->esys, &tr);
    }
    Esys_Free(pub);
    Esys_Free(chunk);
    OPENSSL_free(buf);
    return ret;
}

/* The public half of pk as a devid public key of this backend. */
static struct devid_key *devid_tpm2_nv_pubkey(struct devid_prov *prov,
                                              EVP_PKEY *pk, const char *name)
{
    struct devid_key *key = devid_key_new(&devid_tpm2_backend, prov);
    unsigned char buf[1024];
    BIGNUM *n = NULL, *e = NULL;
    size_t len = 0;
    int ok = 0;

    if (key == NULL || (key->uri = OPENSSL_strdup(name)) == NULL) {
        goto end;
    }
    key->pub.bits = EVP_PKEY_get_bits(pk);
    if (EVP_PKEY_is_a(pk, "EC")) {
        key->pub.type = DEVID_KEY_EC;
        ok = EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
                                            key->pub.group,
                                            sizeof(key->pub.group), NULL)
             && EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY,
                                                buf, sizeof(buf), &len)
             && (key->pub.point = OPENSSL_memdup(buf, len)) != NULL;
        key->pub.point_len = len;
    } else if (EVP_PKEY_is_a(pk, "RSA")) {
        key->pub.type = DEVID_KEY_RSA;
        ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n)
             && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e)
             && (key->pub.n_len = (size_t)BN_num_bytes(n)) > 0
             && (key->pub.n = OPENSSL_malloc(key->pub.n_len)) != NULL
             && (key->pub.e_len = (size_t)BN_num_bytes(e)) > 0
             && (key->pub.e = OPENSSL_malloc(key->pub.e_len)) != NULL
             && BN_bn2bin(n, key->pub.n) > 0 && BN_bn2bin(e, key->pub.e) > 0;
    }
end:
    BN_free(n);
    BN_free(e);
    if (!ok) {
        DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY,
                    "%s: not an EC or RSA public key", name);
        devid_key_free(key);
        key = NULL;
    }
    return key;
}

/* What the index holds: a certificate (DER or PEM) or a public key. */
static int devid_tpm2_nv_parse(const unsigned char *data, size_t len,
                               X509 **cert, EVP_PKEY **pk)
{
    const unsigned char *p = data;
    BIO *mem;

    *cert = d2i_X509(NULL, &p, (long)len);
    if (*cert != NULL) {
        return 1;
    }
    p = data;
    *pk = d2i_PUBKEY(NULL, &p, (long)len);
    if (*pk != NULL) {
        return 1;
    }
    mem = BIO_new_mem_buf(data, (int)len);
    if (mem != NULL) {
        *cert = PEM_read_bio_X509(mem, NULL, NULL, NULL);
        if (*cert == NULL && BIO_reset(mem) == 1) {
            *pk = PEM_read_bio_PUBKEY(mem, NULL, NULL, NULL);
        }
    }
    BIO_free(mem);
    return *cert != NULL || *pk != NULL;
}

int devid_tpm2_nv_search(struct devid_prov *prov, const char *name,
                         TPM2_HANDLE h, unsigned int want, devid_object_cb *cb,
                         void *cbarg)
{
    struct devid_tpm2 *st = NULL;
    struct devid_object obj;
    struct devid_key *key = NULL;
    unsigned char *data = NULL, *der = NULL;
    size_t len = 0;
    X509 *cert = NULL;
    EVP_PKEY *pk = NULL;
    int all = want == DEVID_OBJ_ANY, ret = 0, derlen;

    if (!devid_tpm2_esys_acquire(prov, &st)
        || !devid_tpm2_nv_read_all(prov, st, h, &data, &len)) {
        goto end;
    }
    devid_tpm2_esys_release(st);
    st = NULL;
    ERR_set_mark(); /* the parsers' misses are not errors */
    if (!devid_tpm2_nv_parse(data, len, &cert, &pk)) {
        ERR_pop_to_mark();
        DEVID_RAISE(prov, DEVID_R_NO_OBJECT,
                    "%s: the NV index holds no certificate or public key",
                    name);
        goto end;
    }
    ERR_pop_to_mark();
    key = devid_tpm2_nv_pubkey(prov, cert != NULL ? X509_get0_pubkey(cert) : pk,
                               name);
    if (key == NULL) {
        goto end;
    }
    memset(&obj, 0, sizeof(obj));
    if (all || (want & DEVID_OBJ_PUBKEY) != 0) {
        obj.cls = DEVID_OBJ_PUBKEY;
        obj.key = key;
        if (!cb(&obj, cbarg)) {
            ret = 1;
            goto end;
        }
    }
    if (cert != NULL && (all || (want & DEVID_OBJ_CERT) != 0)) {
        derlen = i2d_X509(cert, &der);
        if (derlen <= 0) {
            DEVID_RAISE(prov, DEVID_R_MALLOC, "%s: certificate", name);
            goto end;
        }
        obj.cls = DEVID_OBJ_CERT;
        obj.key = NULL;
        obj.der = der;
        obj.der_len = (size_t)derlen;
        cb(&obj, cbarg);
    }
    ret = 1;
end:
    devid_tpm2_esys_release(st);
    devid_key_free(key);
    X509_free(cert);
    EVP_PKEY_free(pk);
    OPENSSL_free(der);
    OPENSSL_free(data);
    return ret;
}
