/* SPDX-License-Identifier: Apache-2.0 */
/* Restricted signing keys (attestation keys, tpm2_createak): the TPM signs
 * only a digest it computed itself, proven by a hash-check ticket (TPM 2.0
 * Part 1 §11.4.6.3 "Restricted Signing Keys"; Part 3 §15.4 TPM2_Hash,
 * §17 hash sequences). So the message goes to the TPM: one TPM2_Hash when
 * it fits in one buffer, else a hash sequence; the ticket then goes to
 * TPM2_Sign. Unrestricted keys never come here. */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>
#include <tss2/tss2_rc.h>

#include "common/err.h"
#include "tpm2/tpm2.h"

/* TPM2_Hash over the whole message (at most one TPM2B_MAX_BUFFER). */
static TSS2_RC devid_tpm2_hash_once(struct devid_tpm2 *st, TPM2_ALG_ID halg,
                                    const unsigned char *msg, size_t len,
                                    TPM2B_DIGEST **out, TPMT_TK_HASHCHECK **tk)
{
    TPM2B_MAX_BUFFER data;
    TSS2_RC rc;

    data.size = (UINT16)len;
    memcpy(data.buffer, msg, len);
    rc = Esys_Hash(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &data,
                   halg, ESYS_TR_RH_OWNER, out, tk);
    OPENSSL_cleanse(&data, sizeof(data));
    return rc;
}

/* A hash sequence for a longer message: start, update per buffer,
 * complete with the ticket of the owner hierarchy. */
static TSS2_RC devid_tpm2_hash_seq(struct devid_tpm2 *st, TPM2_ALG_ID halg,
                                   const unsigned char *msg, size_t len,
                                   TPM2B_DIGEST **out, TPMT_TK_HASHCHECK **tk)
{
    TPM2B_AUTH auth = { 0 };
    TPM2B_MAX_BUFFER data;
    ESYS_TR seq = ESYS_TR_NONE;
    size_t off = 0, n;
    TSS2_RC rc;

    rc = Esys_HashSequenceStart(st->esys, ESYS_TR_NONE, ESYS_TR_NONE,
                                ESYS_TR_NONE, &auth, halg, &seq);
    while (rc == TSS2_RC_SUCCESS && len - off > sizeof(data.buffer)) {
        n = sizeof(data.buffer);
        data.size = (UINT16)n;
        memcpy(data.buffer, msg + off, n);
        rc = Esys_SequenceUpdate(st->esys, seq, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                 ESYS_TR_NONE, &data);
        off += n;
    }
    if (rc == TSS2_RC_SUCCESS) {
        data.size = (UINT16)(len - off);
        memcpy(data.buffer, msg + off, len - off);
        rc = Esys_SequenceComplete(st->esys, seq, ESYS_TR_PASSWORD,
                                   ESYS_TR_NONE, ESYS_TR_NONE, &data,
                                   ESYS_TR_RH_OWNER, out, tk);
        seq = ESYS_TR_NONE; /* SequenceComplete flushes it */
    }
    if (seq != ESYS_TR_NONE) {
        Esys_FlushContext(st->esys, seq);
    }
    OPENSSL_cleanse(&data, sizeof(data));
    return rc;
}

int devid_tpm2_hash_ticket(struct devid_key *key, int md_nid,
                           const unsigned char *msg, size_t len,
                           unsigned char *digest, size_t *dlen,
                           TPMT_TK_HASHCHECK *tk)
{
    TPM2_ALG_ID halg = devid_tpm2_hash_alg(md_nid);
    struct devid_tpm2 *st = NULL;
    TPM2B_DIGEST *d = NULL;
    TPMT_TK_HASHCHECK *t = NULL;
    TSS2_RC rc;
    int ret = 0;

    if (halg == TPM2_ALG_NULL) {
        DEVID_RAISE(key->prov, DEVID_R_MECHANISM,
                    "restricted key: no TPM hash for digest %d", md_nid);
        return 0;
    }
    if (!devid_tpm2_esys_acquire(key->prov, &st)) {
        goto end;
    }
    if (len <= sizeof(((TPM2B_MAX_BUFFER *)NULL)->buffer)) {
        rc = devid_tpm2_hash_once(st, halg, msg, len, &d, &t);
    } else {
        DEVID_TPM2_RETRY(st, NULL, rc,
                         devid_tpm2_hash_seq(st, halg, msg, len, &d, &t));
    }
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_rc_raise(key->prov, "TPM2 hash with ticket", rc);
        goto end;
    }
    /* a message that starts with TPM_GENERATED_VALUE gets no ticket: the
     * TPM will not sign what could pass for its own attestation */
    if (t->hierarchy == TPM2_RH_NULL || d->size > *dlen) {
        DEVID_RAISE(key->prov, DEVID_R_MECHANISM,
                    "the TPM gave no ticket for this message (it starts "
                    "like TPM-generated data)");
        goto end;
    }
    memcpy(digest, d->buffer, d->size);
    *dlen = d->size;
    *tk = *t;
    ret = 1;
end:
    devid_tpm2_esys_release(st);
    Esys_Free(d);
    Esys_Free(t);
    return ret;
}
