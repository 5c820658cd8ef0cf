/* SPDX-License-Identifier: Apache-2.0 */
/* AlgorithmIdentifiers for the signatures we make, built with libcrypto's
 * ASN.1 types rather than byte tables; and the ECDSA-Sig-Value of each
 * signature, written by hand because it is on the signing path, where
 * libcrypto's ASN.1 would cost two BIGNUMs and five allocations. */
#include "config.h"

#include <string.h>
#include <openssl/asn1t.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "provider/sig-algid.h"

/* RFC 8017 A.2.3: RSASSA-PSS-params; hash and MGF default to SHA-1, so a
 * SHA-1 choice is omitted, and trailerField stays at its default. */
static ASN1_STRING *devid_pss_params(const EVP_MD *md, const EVP_MD *mgf1,
                                     int saltlen)
{
    RSA_PSS_PARAMS *pss = RSA_PSS_PARAMS_new();
    X509_ALGOR *mgfhash = NULL;
    ASN1_STRING *seq = NULL;
    ASN1_STRING *out = NULL;

    if (pss == NULL) {
        goto end;
    }
    if (EVP_MD_get_type(md) != NID_sha1) {
        pss->hashAlgorithm = X509_ALGOR_new();
        if (pss->hashAlgorithm == NULL) {
            goto end;
        }
        X509_ALGOR_set_md(pss->hashAlgorithm, md);
    }
    if (EVP_MD_get_type(mgf1) != NID_sha1) {
        mgfhash = X509_ALGOR_new();
        pss->maskGenAlgorithm = X509_ALGOR_new();
        if (mgfhash == NULL || pss->maskGenAlgorithm == NULL) {
            goto end;
        }
        X509_ALGOR_set_md(mgfhash, mgf1);
        if (ASN1_item_pack(mgfhash, ASN1_ITEM_rptr(X509_ALGOR), &seq) == NULL) {
            goto end;
        }
        X509_ALGOR_set0(pss->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1),
                        V_ASN1_SEQUENCE, seq);
        seq = NULL;
    }
    if (saltlen != 20) {
        pss->saltLength = ASN1_INTEGER_new();
        if (pss->saltLength == NULL
            || !ASN1_INTEGER_set(pss->saltLength, saltlen)) {
            goto end;
        }
    }
    out = ASN1_item_pack(pss, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL);
end:
    X509_ALGOR_free(mgfhash);
    ASN1_STRING_free(seq);
    RSA_PSS_PARAMS_free(pss);
    return out;
}

static int devid_pss_saltlen(const EVP_MD *md, int bits, int saltlen)
{
    int mdsize = EVP_MD_get_size(md);

    if (saltlen == RSA_PSS_SALTLEN_DIGEST) {
        return mdsize;
    }
    if (saltlen < 0) {
        return ((bits - 1 + 7) / 8) - mdsize - 2;   /* max, as we sign */
    }
    return saltlen;
}

int devid_sig_algid(enum devid_key_type type, int pad, const EVP_MD *md,
                    const EVP_MD *mgf1, int bits, int saltlen,
                    unsigned char *out, size_t outsize, size_t *outlen)
{
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_STRING *params = NULL;
    unsigned char *der = NULL;
    int sig_nid = NID_undef;
    int len = 0;
    int ret = 0;

    if (alg == NULL) {
        goto end;
    }
    if (type == DEVID_KEY_RSA && pad == RSA_PKCS1_PSS_PADDING) {
        params = devid_pss_params(md, mgf1 != NULL ? mgf1 : md,
                                  devid_pss_saltlen(md, bits, saltlen));
        if (params == NULL) {
            goto end;
        }
        X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE,
                        params);
        params = NULL;
    } else {
        if (!OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(md),
                                    type == DEVID_KEY_EC ? NID_X9_62_id_ecPublicKey
                                                         : NID_rsaEncryption)) {
            goto end;
        }
        /* RFC 5758 §3.2: ECDSA identifiers have absent parameters; RFC 8017
         * sha*WithRSAEncryption have NULL */
        X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid),
                        type == DEVID_KEY_EC ? V_ASN1_UNDEF : V_ASN1_NULL, NULL);
    }
    len = i2d_X509_ALGOR(alg, &der);
    if (len <= 0 || (size_t)len > outsize) {
        goto end;
    }
    memcpy(out, der, (size_t)len);
    *outlen = (size_t)len;
    ret = 1;
end:
    OPENSSL_free(der);
    ASN1_STRING_free(params);
    X509_ALGOR_free(alg);
    return ret;
}

/* An INTEGER (X.690 §8.3) from an unsigned big-endian value: no leading
 * zero bytes, one 0x00 in front when the top bit is set. Returns its
 * length; writes it when out is not NULL. */
static size_t devid_sig_der_uint(const unsigned char *v, size_t n,
                                 unsigned char *out)
{
    size_t pad;

    while (n > 1 && 0 == v[0]) {
        v++;
        n--;
    }
    pad = (v[0] & 0x80) != 0;
    if (out != NULL) {
        out[0] = 0x02;
        out[1] = (unsigned char)(n + pad);
        out[2] = 0x00;
        memcpy(out + 2 + pad, v, n);
    }
    return 2 + pad + n;
}

int devid_sig_ecdsa_der(const unsigned char *rs, size_t rslen,
                        unsigned char *der, size_t dersize, size_t *derlen)
{
    size_t half = rslen / 2;
    size_t lr;
    size_t ls;
    size_t hdr;

    if (0 == half || rslen != 2 * half || half > 66) {
        return 0;
    }
    lr = devid_sig_der_uint(rs, half, NULL);
    ls = devid_sig_der_uint(rs + half, half, NULL);
    hdr = lr + ls < 128 ? 2 : 3;        /* short or 0x81 long form */
    if (hdr + lr + ls > dersize) {
        return 0;
    }
    der[0] = 0x30;
    der[1] = 0x81;
    der[hdr - 1] = (unsigned char)(lr + ls);
    devid_sig_der_uint(rs, half, der + hdr);
    devid_sig_der_uint(rs + half, half, der + hdr + lr);
    *derlen = hdr + lr + ls;
    return 1;
}
