/* SPDX-License-Identifier: Apache-2.0 */
/* Private-key operations, one TPM command each: TPM2_Sign (ECDSA, RSASSA,
 * RSAPSS), TPM2_RSA_Decrypt (RSAES, OAEP, and raw RSA for our own PKCS#1 and
 * PSS encodings) and TPM2_ECDH_ZGen. Digests come from software; the TPM is
 * never asked to hash, verify or make random numbers. */
#include "config.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/err.h"
#include "provider/prov.h"
#include "provider/rsa-pad.h"
#include "tpm2/tpm2.h"

TPM2_ALG_ID devid_tpm2_hash_alg(int md_nid)
{
    switch (md_nid) {
    case NID_sha1:
        return TPM2_ALG_SHA1;
    case NID_sha256:
        return TPM2_ALG_SHA256;
    case NID_sha384:
        return TPM2_ALG_SHA384;
    case NID_sha512:
        return TPM2_ALG_SHA512;
    default:
        return TPM2_ALG_NULL;
    }
}

static size_t devid_tpm2_key_bytes(const struct devid_key *key)
{
    return ((size_t)key->pub.bits + 7) / 8;
}

/* ECDSA needs a hash algorithm for the scheme even though the TPM does not
 * hash; without a digest NID, guess it from the digest length. */
static TPM2_ALG_ID devid_tpm2_ecdsa_hash(int md_nid, size_t tbslen)
{
    if (md_nid != NID_undef) {
        return devid_tpm2_hash_alg(md_nid);
    }
    switch (tbslen) {
    case 20:
        return TPM2_ALG_SHA1;
    case 32:
        return TPM2_ALG_SHA256;
    case 48:
        return TPM2_ALG_SHA384;
    case 64:
        return TPM2_ALG_SHA512;
    default:
        return TPM2_ALG_NULL;
    }
}

/* TPM 2.0 Part 3 §20.2 TPM2_Sign with a null hash-check ticket (Part 2
 * §10.7.6: tag TPM_ST_HASHCHECK, hierarchy TPM_RH_NULL), allowed for
 * unrestricted keys, or the ticket tk of the TPM's own hash (restricted
 * keys, restricted.c). */
static int devid_tpm2_sign_cmd(struct devid_key *key, TPM2_ALG_ID scheme,
                               TPM2_ALG_ID halg, const unsigned char *tbs,
                               size_t tbslen, const TPMT_TK_HASHCHECK *tk,
                               TPMT_SIGNATURE **out)
{
    struct devid_tpm2_key *k = key->be;
    TPMT_TK_HASHCHECK ticket = { TPM2_ST_HASHCHECK, TPM2_RH_NULL, { 0 } };
    TPMT_SIG_SCHEME s;
    TPM2B_DIGEST digest;
    struct devid_tpm2 *st = NULL;
    TPM2_ALG_ID own;
    ESYS_TR tr;
    TSS2_RC rc;
    int ret = 0;

    if (tbslen > sizeof(digest.buffer)) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM, "digest of %zu bytes",
                    tbslen);
        return 0;
    }
    digest.size = (UINT16)tbslen;
    memcpy(digest.buffer, tbs, tbslen);
    if (tk != NULL) {
        ticket = *tk;
    }
    memset(&s, 0, sizeof(s));
    s.scheme = scheme;
    s.details.any.hashAlg = halg;
    own = k->pub.type == TPM2_ALG_ECC
              ? k->pub.parameters.eccDetail.scheme.scheme
              : k->pub.parameters.rsaDetail.scheme.scheme;
    if (own != TPM2_ALG_NULL) {
        /* a key with its own scheme takes inScheme NULL (Part 3 §20.2.1),
         * and signs digests of its scheme's hash only */
        s.scheme = TPM2_ALG_NULL;
        if (k->pub.parameters.asymDetail.scheme.details.anySig.hashAlg
            != halg) {
            DEVID_RAISE(key->prov, DEVID_R_MECHANISM,
                        "%s: the key's scheme fixes the hash to TPM "
                        "algorithm 0x%04x, not 0x%04x",
                        key->uri != NULL ? key->uri : "TPM key",
                        (unsigned int)k->pub.parameters.asymDetail.scheme
                            .details.anySig.hashAlg,
                        (unsigned int)halg);
            return 0;
        }
    }
    if (!devid_tpm2_esys_acquire(key->prov, &st)
        || !devid_tpm2_key_use(key, st, &tr)) {
        goto end;
    }
    DEVID_TPM2_RETRY(st, &k->obj, rc,
                     Esys_Sign(st->esys, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &digest, &s, &ticket, out));
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_key_fail(key, "Esys_Sign", rc);
        goto end;
    }
    ret = 1;
end:
    devid_tpm2_esys_release(st);
    return ret;
}

/* TPM 2.0 Part 3 §14.3 TPM2_RSA_Decrypt. */
static int devid_tpm2_decrypt_cmd(struct devid_key *key, TPM2_ALG_ID scheme,
                                  TPM2_ALG_ID halg, const unsigned char *in,
                                  size_t inlen, const unsigned char *label,
                                  size_t label_len,
                                  TPM2B_PUBLIC_KEY_RSA **out)
{
    struct devid_tpm2_key *k = key->be;
    TPM2B_PUBLIC_KEY_RSA c;
    TPMT_RSA_DECRYPT s;
    TPM2B_DATA l;
    struct devid_tpm2 *st = NULL;
    ESYS_TR tr;
    TSS2_RC rc;
    int ret = 0;

    if (inlen > sizeof(c.buffer) || label_len > sizeof(l.buffer)) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM, "input too long");
        return 0;
    }
    c.size = (UINT16)inlen;
    memcpy(c.buffer, in, inlen);
    l.size = (UINT16)label_len;
    if (label_len > 0) {
        memcpy(l.buffer, label, label_len);
    }
    memset(&s, 0, sizeof(s));
    s.scheme = scheme;
    s.details.oaep.hashAlg = halg;
    if (!devid_tpm2_esys_acquire(key->prov, &st)
        || !devid_tpm2_key_use(key, st, &tr)) {
        goto end;
    }
    DEVID_TPM2_RETRY(st, &k->obj, rc,
                     Esys_RSA_Decrypt(st->esys, tr, ESYS_TR_PASSWORD,
                                      ESYS_TR_NONE, ESYS_TR_NONE, &c, &s, &l,
                                      out));
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_key_fail(key, "Esys_RSA_Decrypt", rc);
        goto end;
    }
    ret = 1;
end:
    devid_tpm2_esys_release(st);
    OPENSSL_cleanse(&c, sizeof(c));
    return ret;
}

/* Raw RSA private operation on an encoded message em (k bytes). */
static int devid_tpm2_rsa_raw(struct devid_key *key, const unsigned char *em,
                              unsigned char *sig, size_t *siglen)
{
    size_t k = devid_tpm2_key_bytes(key);
    TPM2B_PUBLIC_KEY_RSA *m = NULL;
    int ret = 0;

    if (!devid_tpm2_decrypt_cmd(key, TPM2_ALG_NULL, TPM2_ALG_NULL, em, k,
                                NULL, 0, &m)) {
        goto end;
    }
    if (m->size > k) {
        DEVID_RAISE(key->prov, DEVID_R_TPM_ERROR, "raw RSA: %u bytes",
                    (unsigned int)m->size);
        goto end;
    }
    memset(sig, 0, k - m->size);
    memcpy(sig + k - m->size, m->buffer, m->size);
    *siglen = k;
    ret = 1;
end:
    Esys_Free(m);
    return ret;
}

/* PSS or raw PKCS#1 through our own encoding and one raw RSA operation:
 * exact control of the salt length (RFC 8446 §4.2.3: TLS 1.3 wants salt =
 * digest length, which not every TPM's TPM2_Sign uses). */
static int devid_tpm2_sign_rsa_raw(struct devid_key *key,
                                   const struct devid_sign_params *p,
                                   const unsigned char *tbs, size_t tbslen,
                                   unsigned char *sig, size_t *siglen)
{
    unsigned char em[TPM2_MAX_RSA_KEY_BYTES];
    size_t k = devid_tpm2_key_bytes(key);
    int ok;

    if (k > sizeof(em)) {
        DEVID_RAISE(key->prov, DEVID_R_UNSUPPORTED_KEY, "%d bits",
                    key->pub.bits);
        return 0;
    }
    /* the encodings are the provider's (provider/rsa-pad.c), shared with
     * the PKCS#11 backend's raw RSA */
    if (p->scheme == DEVID_SIG_PSS) {
        ok = devid_key_rsa_pad_pss(key, p, tbs, tbslen, em);
    } else {
        ok = devid_rsa_pad_pkcs1(tbs, tbslen, em, k);
    }
    if (!ok) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM,
                    "cannot pad %zu bytes for a %d-bit key (salt %d)", tbslen,
                    key->pub.bits, p->saltlen);
    }
    ok = ok && devid_tpm2_rsa_raw(key, em, sig, siglen);
    OPENSSL_cleanse(em, sizeof(em));
    return ok;
}

static int devid_tpm2_sign_ecdsa(struct devid_key *key,
                                 const struct devid_sign_params *p,
                                 const unsigned char *tbs, size_t tbslen,
                                 const TPMT_TK_HASHCHECK *tk,
                                 unsigned char *sig, size_t *siglen)
{
    TPM2_ALG_ID halg = devid_tpm2_ecdsa_hash(p->md_nid, tbslen);
    size_t n = devid_tpm2_key_bytes(key);
    TPMT_SIGNATURE *s = NULL;
    TPMS_SIGNATURE_ECC *e;
    int ret = 0;

    if (halg == TPM2_ALG_NULL) {
        DEVID_RAISE(key->prov, DEVID_R_MECHANISM,
                    "ECDSA: no TPM hash for digest %d (%zu bytes)", p->md_nid,
                    tbslen);
        return 0;
    }
    if (!devid_tpm2_sign_cmd(key, TPM2_ALG_ECDSA, halg, tbs, tbslen, tk, &s)) {
        goto end;
    }
    e = &s->signature.ecdsa;
    if (e->signatureR.size > n || e->signatureS.size > n) {
        DEVID_RAISE(key->prov, DEVID_R_TPM_ERROR, "ECDSA signature size");
        goto end;
    }
    /* r || s, each left-padded to the field size */
    memset(sig, 0, 2 * n);
    memcpy(sig + n - e->signatureR.size, e->signatureR.buffer,
           e->signatureR.size);
    memcpy(sig + 2 * n - e->signatureS.size, e->signatureS.buffer,
           e->signatureS.size);
    *siglen = 2 * n;
    ret = 1;
end:
    Esys_Free(s);
    return ret;
}

/* The public key of key as an EVP_PKEY of the default provider. */
static EVP_PKEY *devid_tpm2_pub_pkey(struct devid_key *key)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *n = BN_bin2bn(key->pub.n, (int)key->pub.n_len, NULL);
    BIGNUM *e = BN_bin2bn(key->pub.e, (int)key->pub.e_len, NULL);
    OSSL_LIB_CTX *libctx = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pk = NULL;

    if (b == NULL || n == NULL || e == NULL
        || !devid_prov_libctx(key->prov, &libctx)
        || !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n)
        || !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e)
        || (params = OSSL_PARAM_BLD_to_param(b)) == NULL) {
        goto end;
    }
    ctx = EVP_PKEY_CTX_new_from_name(libctx, "RSA", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        pk = NULL;
    }
end:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(n);
    BN_free(e);
    return pk;
}

/* TPM2_Sign with RSAPSS picks the salt length itself: older TPMs use the
 * largest one, newer ones the digest length (TPM 2.0 Part 1 Annex B,
 * RSASSA_PSS). Check in software that it is the one asked for (TLS 1.3:
 * RFC 8446 §4.2.3), so a mismatch is a clear error here and not a failed
 * handshake at the peer. */
static int devid_tpm2_pss_check(struct devid_key *key,
                                const struct devid_sign_params *p,
                                const unsigned char *tbs, size_t tbslen,
                                const unsigned char *sig, size_t siglen)
{
    EVP_PKEY *pk = devid_tpm2_pub_pkey(key);
    OSSL_LIB_CTX *libctx = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_MD *md = NULL;
    int ok = 0;

    if (pk != NULL && devid_prov_libctx(key->prov, &libctx)) {
        md = EVP_MD_fetch(libctx, OBJ_nid2sn(p->md_nid), NULL);
        ctx = EVP_PKEY_CTX_new_from_pkey(libctx, pk, NULL);
    }
    ok = ctx != NULL && md != NULL && EVP_PKEY_verify_init(ctx) == 1
         && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1
         && EVP_PKEY_CTX_set_signature_md(ctx, md) == 1
         && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, p->saltlen) == 1
         && EVP_PKEY_verify(ctx, sig, siglen, tbs, tbslen) == 1;
    if (!ok) {
        DEVID_RAISE(key->prov, DEVID_R_MECHANISM,
                    "this TPM's RSASSA-PSS does not use a %d-byte salt",
                    p->saltlen);
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    EVP_MD_free(md);
    return ok;
}

/* RSASSA-PKCS1-v1_5 or RSAPSS through TPM2_Sign. */
static int devid_tpm2_sign_rsa_tpm(struct devid_key *key,
                                   const struct devid_sign_params *p,
                                   const unsigned char *tbs, size_t tbslen,
                                   const TPMT_TK_HASHCHECK *tk,
                                   unsigned char *sig, size_t *siglen)
{
    TPM2_ALG_ID halg = devid_tpm2_hash_alg(p->md_nid);
    TPM2_ALG_ID scheme = p->scheme == DEVID_SIG_PSS ? TPM2_ALG_RSAPSS
                                                    : TPM2_ALG_RSASSA;
    size_t k = devid_tpm2_key_bytes(key);
    TPMT_SIGNATURE *s = NULL;
    int ret = 0;

    if (halg == TPM2_ALG_NULL
        || (p->scheme == DEVID_SIG_PSS && p->mgf1_nid != NID_undef
            && p->mgf1_nid != p->md_nid)) {
        DEVID_RAISE(key->prov, DEVID_R_MECHANISM,
                    "TPM2_Sign: digest %d / MGF1 %d not possible", p->md_nid,
                    p->mgf1_nid);
        return 0;
    }
    if (!devid_tpm2_sign_cmd(key, scheme, halg, tbs, tbslen, tk, &s)) {
        goto end;
    }
    if (s->signature.rsassa.sig.size > k) {
        DEVID_RAISE(key->prov, DEVID_R_TPM_ERROR, "RSA signature size");
        goto end;
    }
    memset(sig, 0, k - s->signature.rsassa.sig.size);
    memcpy(sig + k - s->signature.rsassa.sig.size,
           s->signature.rsassa.sig.buffer, s->signature.rsassa.sig.size);
    *siglen = k;
    ret = p->scheme != DEVID_SIG_PSS
          || devid_tpm2_pss_check(key, p, tbs, tbslen, sig, k);
end:
    Esys_Free(s);
    return ret;
}

/* The scheme dispatch of op_sign, over a digest (and its ticket, for a
 * restricted key). */
static int devid_tpm2_sign_digest(struct devid_key *key,
                                  const struct devid_sign_params *p,
                                  const unsigned char *tbs, size_t tbslen,
                                  const TPMT_TK_HASHCHECK *tk,
                                  unsigned char *sig, size_t *siglen)
{
    struct devid_tpm2_key *k = key->be;
    int raw = (key->caps & DEVID_CAP_SIGN_RAW_PKCS1) != 0;

    if (key->pub.type == DEVID_KEY_EC && p->scheme == DEVID_SIG_ECDSA
        && (key->caps & DEVID_CAP_SIGN_ECDSA) != 0) {
        return devid_tpm2_sign_ecdsa(key, p, tbs, tbslen, tk, sig, siglen);
    }
    if (key->pub.type == DEVID_KEY_RSA && p->scheme == DEVID_SIG_PKCS1) {
        if (p->md_nid == NID_undef && raw) {
            return devid_tpm2_sign_rsa_raw(key, p, tbs, tbslen, sig, siglen);
        }
        if (p->md_nid != NID_undef
            && (key->caps & DEVID_CAP_SIGN_PKCS1) != 0) {
            return devid_tpm2_sign_rsa_tpm(key, p, tbs, tbslen, tk, sig,
                                           siglen);
        }
    }
    if (key->pub.type == DEVID_KEY_RSA && p->scheme == DEVID_SIG_PSS
        && (key->caps & DEVID_CAP_SIGN_PSS) != 0) {
        /* our own encoding when the key allows raw RSA; else the TPM's,
         * whose salt length is its own choice (TPM 2.0 Part 1 Annex B,
         * RSASSA_PSS) */
        if (raw) {
            return devid_tpm2_sign_rsa_raw(key, p, tbs, tbslen, sig, siglen);
        }
        return devid_tpm2_sign_rsa_tpm(key, p, tbs, tbslen, tk, sig, siglen);
    }
    DEVID_RAISE(key->prov, DEVID_R_MECHANISM,
                "%s cannot sign with scheme %d (object attributes 0x%x)",
                key->uri != NULL ? key->uri : "TPM key", (int)p->scheme,
                (unsigned int)k->pub.objectAttributes);
    return 0;
}

int devid_tpm2_op_sign(struct devid_key *key, const struct devid_sign_params *p,
                       const unsigned char *tbs, size_t tbslen,
                       unsigned char *sig, size_t *siglen)
{
    unsigned char digest[sizeof(TPMU_HA)];
    size_t dlen = sizeof(digest);
    TPMT_TK_HASHCHECK tk;
    int restricted = (key->caps & DEVID_CAP_SIGN_MESSAGE) != 0;

    if (sig == NULL) {
        *siglen = key->pub.type == DEVID_KEY_EC ? 2 * devid_tpm2_key_bytes(key)
                                                : devid_tpm2_key_bytes(key);
        return 1;
    }
    if (!restricted) {
        return devid_tpm2_sign_digest(key, p, tbs, tbslen, NULL, sig, siglen);
    }
    /* one TPM2_Hash (or a hash sequence) for the digest and its ticket,
     * then TPM2_Sign with them */
    return devid_tpm2_hash_ticket(key, p->md_nid, tbs, tbslen, digest, &dlen,
                                  &tk)
           && devid_tpm2_sign_digest(key, p, digest, dlen, &tk, sig, siglen);
}

int devid_tpm2_op_decrypt(struct devid_key *key,
                          const struct devid_dec_params *p,
                          const unsigned char *in, size_t inlen,
                          unsigned char *out, size_t *outlen)
{
    TPM2_ALG_ID halg = TPM2_ALG_NULL, scheme;
    TPM2B_PUBLIC_KEY_RSA *m = NULL;
    int ret = 0;

    if (p->pad == DEVID_PAD_OAEP
        && (key->caps & DEVID_CAP_DECRYPT_OAEP) != 0) {
        scheme = TPM2_ALG_OAEP;
        halg = devid_tpm2_hash_alg(p->oaep_md_nid);
        /* the TPM's OAEP uses the one hash for MGF1 too (Part 1 Annex B) */
        if (halg == TPM2_ALG_NULL
            || (p->mgf1_nid != NID_undef && p->mgf1_nid != p->oaep_md_nid)) {
            DEVID_RAISE(key->prov, DEVID_R_MECHANISM,
                        "OAEP digest %d / MGF1 %d not possible",
                        p->oaep_md_nid, p->mgf1_nid);
            return 0;
        }
        /* the TPM takes the label as a NUL-terminated string (Part 1
         * Annex B, RSAES_OAEP) and refuses one without the NUL
         * (TPM_RC_VALUE) */
        if (p->label_len > 0 && p->label[p->label_len - 1] != '\0') {
            DEVID_RAISE(key->prov, DEVID_R_MECHANISM,
                        "OAEP label must end with a NUL byte for the TPM");
            return 0;
        }
    } else if (p->pad == DEVID_PAD_PKCS1
               && (key->caps & DEVID_CAP_DECRYPT_PKCS1) != 0) {
        scheme = TPM2_ALG_RSAES;
    } else if (p->pad == DEVID_PAD_NONE
               && (key->caps & DEVID_CAP_DECRYPT_RAW) != 0
               && inlen == devid_tpm2_key_bytes(key)) {
        /* TPM2_RSA_Decrypt with scheme NULL: c^d mod n, left-padded */
        return devid_tpm2_rsa_raw(key, in, out, outlen);
    } else {
        DEVID_RAISE(key->prov, DEVID_R_MECHANISM, "%s cannot decrypt (pad %d)",
                    key->uri != NULL ? key->uri : "TPM key", (int)p->pad);
        return 0;
    }
    if (!devid_tpm2_decrypt_cmd(key, scheme, halg, in, inlen, p->label,
                                p->label_len, &m)) {
        goto end;
    }
    memcpy(out, m->buffer, m->size);
    *outlen = m->size;
    ret = 1;
end:
    if (m != NULL) {
        OPENSSL_cleanse(m, sizeof(*m));
    }
    Esys_Free(m);
    return ret;
}

int devid_tpm2_op_derive(struct devid_key *key, const unsigned char *peer,
                         size_t peer_len, unsigned char *secret,
                         size_t *secretlen)
{
    struct devid_tpm2_key *k = key->be;
    size_t n = devid_tpm2_key_bytes(key);
    unsigned char *out = secret;    /* the shared x, written below */
    size_t pad;
    TPM2B_ECC_POINT in, *z = NULL;
    struct devid_tpm2 *st = NULL;
    ESYS_TR tr;
    TSS2_RC rc;
    int ret = 0;

    if (secret == NULL) {
        *secretlen = n;
        return 1;
    }
    if ((key->caps & DEVID_CAP_DERIVE_ECDH) == 0) {
        DEVID_RAISE(key->prov, DEVID_R_MECHANISM, "%s cannot do ECDH",
                    key->uri != NULL ? key->uri : "TPM key");
        return 0;
    }
    if (peer_len != 1 + 2 * n || peer[0] != 0x04) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM,
                    "peer point: want %zu bytes uncompressed", 1 + 2 * n);
        return 0;
    }
    memset(&in, 0, sizeof(in));
    in.point.x.size = (UINT16)n;
    memcpy(in.point.x.buffer, peer + 1, n);
    in.point.y.size = (UINT16)n;
    memcpy(in.point.y.buffer, peer + 1 + n, n);
    if (!devid_tpm2_esys_acquire(key->prov, &st)
        || !devid_tpm2_key_use(key, st, &tr)) {
        goto end;
    }
    /* TPM 2.0 Part 3 §14.5 TPM2_ECDH_ZGen: Z = d * Q, we return x */
    DEVID_TPM2_RETRY(st, &k->obj, rc,
                     Esys_ECDH_ZGen(st->esys, tr, ESYS_TR_PASSWORD,
                                    ESYS_TR_NONE, ESYS_TR_NONE, &in, &z));
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_key_fail(key, "Esys_ECDH_ZGen", rc);
        goto end;
    }
    if (z->point.x.size > n) {
        DEVID_RAISE(key->prov, DEVID_R_TPM_ERROR, "ECDH x size");
        goto end;
    }
    /* left-pad x to the field size (SEC 1 §2.3.5) */
    pad = n - z->point.x.size;
    memset(out, 0, pad);
    memcpy(out + pad, z->point.x.buffer, z->point.x.size);
    *secretlen = n;
    ret = 1;
end:
    devid_tpm2_esys_release(st);
    if (z != NULL) {
        OPENSSL_cleanse(z, sizeof(*z));
    }
    Esys_Free(z);
    return ret;
}
