/* SPDX-License-Identifier: Apache-2.0 */
/* tpm2-openssl's "object:PATH" names: PATH holds a persistent object as
 * ESYS serializes it (Esys_TR_Serialize, what "tpm2_evictcontrol -o" and
 * "tpm2_readpublic -t" write): its handle and its Name. devid opens the
 * handle and checks that the TPM still holds the object of that Name, so a
 * handle reused for another key is refused. Also the TPM Name itself. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "common/err.h"
#include "common/log.h"
#include "tpm2/tpm2.h"

/* A serialized ESYS_TR is small: a header, the handle, the Name and the
 * public area. */
#define DEVID_TPM2_OBJECT_MAX 4096

int devid_tpm2_pub_name(const TPMT_PUBLIC *pub, TPM2B_NAME *name)
{
    uint8_t buf[sizeof(TPMT_PUBLIC)];
    const EVP_MD *md;
    unsigned int mdlen = 0;
    size_t off = 0;

    switch (pub->nameAlg) {
    case TPM2_ALG_SHA1:
        md = EVP_sha1();
        break;
    case TPM2_ALG_SHA256:
        md = EVP_sha256();
        break;
    case TPM2_ALG_SHA384:
        md = EVP_sha384();
        break;
    case TPM2_ALG_SHA512:
        md = EVP_sha512();
        break;
    default:
        return 0;
    }
    /* Name = nameAlg || H_nameAlg(TPMT_PUBLIC) (TPM 2.0 Part 1 §16) */
    if (Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, sizeof(buf), &off)
            != TSS2_RC_SUCCESS
        || !EVP_Digest(buf, off, name->name + 2, &mdlen, md, NULL)) {
        return 0;
    }
    name->name[0] = (BYTE)(pub->nameAlg >> 8);
    name->name[1] = (BYTE)pub->nameAlg;
    name->size = (UINT16)(mdlen + 2);
    return 1;
}

/* IESYSC_KEY_RSRC of tpm2-tss's esys_types.h (not a public header): the
 * resource type ESYS gives a key's ESYS_TR, whose serialized form then
 * ends with the key's TPM2B_PUBLIC. The same value in tpm2-tss 2.x to
 * 4.x. */
#define DEVID_TPM2_IESYS_KEY_RSRC 1u

/* Big-endian integers of a TPM marshalled buffer. */
static uint32_t devid_tpm2_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8
           | p[3];
}

int devid_tpm2_pub_from_serialized(const uint8_t *buf, size_t len,
                                   TPM2_HANDLE handle, TPM2B_PUBLIC *pub)
{
    TPM2B_NAME name, calc;
    size_t off = 0, start, nlen;

    /* handle (UINT32) || name (TPM2B_NAME) || rsrcType (UINT32) || misc
     * (for a key: TPM2B_PUBLIC), iesys_MU_IESYS_RESOURCE_Marshal */
    if (len < 6 || devid_tpm2_be32(buf) != handle) {
        return 0;
    }
    nlen = (size_t)buf[4] << 8 | buf[5];
    off = 6;
    if (nlen > sizeof(name.name) || len - off < nlen + 4) {
        return 0;
    }
    name.size = (UINT16)nlen;
    memcpy(name.name, buf + off, nlen);
    off += nlen;
    if (devid_tpm2_be32(buf + off) != DEVID_TPM2_IESYS_KEY_RSRC) {
        return 0;
    }
    off += 4;
    start = off;
    memset(pub, 0, sizeof(*pub));
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, pub) != TSS2_RC_SUCCESS
        || off != len || pub->size == 0 || off - start != 2u + pub->size) {
        return 0;
    }
    /* the Name the TPM gave with the public area must be the public
     * area's: nameAlg || H(TPMT_PUBLIC) */
    return devid_tpm2_pub_name(&pub->publicArea, &calc)
           && calc.size == name.size
           && memcmp(calc.name, name.name, name.size) == 0;
}

int devid_tpm2_tr_public(struct devid_tpm2 *st, ESYS_TR tr, TPM2_HANDLE handle,
                         TPM2B_PUBLIC *pub)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int ok;

    ok = Esys_TR_Serialize(st->esys, tr, &buf, &len) == TSS2_RC_SUCCESS
         && devid_tpm2_pub_from_serialized(buf, len, handle, pub);
    Esys_Free(buf);
    if (!ok) {
        DEVID_DEBUG("tpm2", "0x%08x: no public area from ESYS, reading it",
                    (unsigned int)handle);
    }
    return ok;
}

static unsigned char *devid_tpm2_object_read(struct devid_prov *prov,
                                             const char *path, size_t *len)
{
    unsigned char *buf = OPENSSL_malloc(DEVID_TPM2_OBJECT_MAX);
    FILE *f = fopen(path, "rb");

    *len = 0;
    if (buf != NULL && f != NULL) {
        *len = fread(buf, 1, DEVID_TPM2_OBJECT_MAX, f);
    }
    if (f != NULL) {
        fclose(f);
    }
    if (buf == NULL || *len == 0 || *len == DEVID_TPM2_OBJECT_MAX) {
        DEVID_RAISE(prov, DEVID_R_BAD_KEY_FILE,
                    "object:%s: cannot read a serialized TPM object", path);
        OPENSSL_free(buf);
        return NULL;
    }
    return buf;
}

int devid_tpm2_object_handle(struct devid_prov *prov, const char *path,
                             TPM2_HANDLE *handle, TPM2B_NAME *name)
{
    struct devid_tpm2 *st = NULL;
    unsigned char *buf;
    TPM2B_NAME *n = NULL;
    ESYS_TR tr = ESYS_TR_NONE;
    size_t len = 0;
    TSS2_RC rc;
    int ret = 0;

    buf = devid_tpm2_object_read(prov, path, &len);
    if (buf == NULL || !devid_tpm2_esys_acquire(prov, &st)) {
        goto end;
    }
    /* no TPM command: ESYS only parses the blob */
    rc = Esys_TR_Deserialize(st->esys, buf, len, &tr);
    if (rc == TSS2_RC_SUCCESS) {
        rc = Esys_TR_GetTpmHandle(st->esys, tr, handle);
    }
    if (rc == TSS2_RC_SUCCESS) {
        rc = Esys_TR_GetName(st->esys, tr, &n);
    }
    if (rc != TSS2_RC_SUCCESS) {
        DEVID_RAISE(prov, DEVID_R_BAD_KEY_FILE, "object:%s: %s (0x%x)", path,
                    Tss2_RC_Decode(rc), (unsigned int)rc);
        goto end;
    }
    if ((*handle & 0xff000000u) != DEVID_TPM2_HR_PERSISTENT) {
        DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY,
                    "object:%s: handle 0x%08x is not a persistent object", path,
                    (unsigned int)*handle);
        goto end;
    }
    *name = *n;
    ret = 1;
end:
    if (tr != ESYS_TR_NONE) {
        Esys_TR_Close(st->esys, &tr);
    }
    Esys_Free(n);
    devid_tpm2_esys_release(st);
    OPENSSL_free(buf);
    return ret;
}

int devid_tpm2_object_check(struct devid_key *key, const TPM2B_NAME *name)
{
    struct devid_tpm2_key *k = key->be;
    TPM2B_NAME now;

    if (!devid_tpm2_pub_name(&k->pub, &now) || now.size != name->size
        || memcmp(now.name, name->name, name->size) != 0) {
        DEVID_RAISE(key->prov, DEVID_R_NO_OBJECT,
                    "%s: handle 0x%08x now holds another object than the "
                    "one serialized",
                    key->uri, (unsigned int)k->handle);
        return 0;
    }
    return 1;
}

char *devid_tpm2_object_uri(const char *path)
{
    char *real = realpath(path, NULL);
    size_t len = strlen(real != NULL ? real : path) + 8;
    char *uri = OPENSSL_malloc(len);

    if (uri != NULL) {
        snprintf(uri, len, "object:%s", real != NULL ? real : path);
    }
    free(real); /* from realpath(3), not OPENSSL_malloc */
    return uri;
}
