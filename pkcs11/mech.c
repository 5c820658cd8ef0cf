/* SPDX-License-Identifier: Apache-2.0 */
/* Which PKCS#11 mechanism makes what the provider asks for. A key may use
 * the mechanisms its token lists (C_GetMechanismList) and, when the key has
 * CKA_ALLOWED_MECHANISMS (PKCS #11 v2.40 §4.9, an array of
 * CK_MECHANISM_TYPE), only those: SoftHSM 2.6 and most hardware tokens
 * answer any other with CKR_MECHANISM_INVALID. Both are read once (per
 * token, per key) into a bit set; choosing a mechanism on the signing path
 * is then a few table look-ups, with no call and no lock.
 *
 * Order of preference for a signature over a digest made in software:
 * 1. the token pads (CKM_ECDSA, CKM_RSA_PKCS, CKM_RSA_PKCS_PSS): one call;
 * 2. raw RSA (CKM_RSA_X_509), padded here (provider/rsa-pad.c): one call;
 * 3. a hash-and-sign mechanism (CKM_SHA256_RSA_PKCS_PSS, CKM_ECDSA_SHA256,
 *    ...): the token hashes the message itself (sign-hashed.c). */
#include "config.h"

#include <string.h>
#include <openssl/bio.h>
#include <openssl/objects.h>

#include "common/err.h"
#include "common/log.h"
#include "pkcs11/p11.h"

/* PKCS #11 v3.0 values that p11-kit 0.24's header lacks. */
#ifndef CKM_SHA3_256
#define CKM_SHA3_256 0x2b0UL
#define CKM_SHA3_224 0x2b5UL
#define CKM_SHA3_384 0x2c0UL
#define CKM_SHA3_512 0x2d0UL
#endif
#ifndef CKG_MGF1_SHA3_224
#define CKG_MGF1_SHA3_224 0x6UL
#define CKG_MGF1_SHA3_256 0x7UL
#define CKG_MGF1_SHA3_384 0x8UL
#define CKG_MGF1_SHA3_512 0x9UL
#endif
#ifndef CKM_SHA3_256_RSA_PKCS
#define CKM_SHA3_256_RSA_PKCS 0x60UL
#define CKM_SHA3_384_RSA_PKCS 0x61UL
#define CKM_SHA3_512_RSA_PKCS 0x62UL
#define CKM_SHA3_256_RSA_PKCS_PSS 0x63UL
#define CKM_SHA3_384_RSA_PKCS_PSS 0x64UL
#define CKM_SHA3_512_RSA_PKCS_PSS 0x65UL
#define CKM_SHA3_224_RSA_PKCS 0x66UL
#define CKM_SHA3_224_RSA_PKCS_PSS 0x67UL
#endif
#ifndef CKM_ECDSA_SHA3_224
#define CKM_ECDSA_SHA3_224 0x1047UL
#define CKM_ECDSA_SHA3_256 0x1048UL
#define CKM_ECDSA_SHA3_384 0x1049UL
#define CKM_ECDSA_SHA3_512 0x104aUL
#endif

/* The digests, in the order of the hash-and-sign rows below. oid is the
 * last arc under 2.16.840.1.101.3.4.2 (NIST hash algorithms), 0 for
 * SHA-1. */
static const struct devid_p11_md devid_p11_mds[DEVID_P11_NMD + 1] = {
    { NID_sha1, CKM_SHA_1, CKG_MGF1_SHA1, 20, 0 },
    { NID_sha224, CKM_SHA224, CKG_MGF1_SHA224, 28, 4 },
    { NID_sha256, CKM_SHA256, CKG_MGF1_SHA256, 32, 1 },
    { NID_sha384, CKM_SHA384, CKG_MGF1_SHA384, 48, 2 },
    { NID_sha512, CKM_SHA512, CKG_MGF1_SHA512, 64, 3 },
    { NID_sha3_224, CKM_SHA3_224, CKG_MGF1_SHA3_224, 28, 7 },
    { NID_sha3_256, CKM_SHA3_256, CKG_MGF1_SHA3_256, 32, 8 },
    { NID_sha3_384, CKM_SHA3_384, CKG_MGF1_SHA3_384, 48, 9 },
    { NID_sha3_512, CKM_SHA3_512, CKG_MGF1_SHA3_512, 64, 10 },
    { NID_undef, 0, 0, 0, 0 }
};

/* Every mechanism devid uses, by its bit in a devid_p11_mset: the plain
 * ones, then one row of hash-and-sign mechanisms per scheme, in the order
 * of devid_p11_mds. */
struct devid_p11_mech_item {
    CK_MECHANISM_TYPE ckm;
    const char *name;
};

/* one line: clang-format would spread the braces over four */
/* clang-format off */
#define DEVID_P11_M(x) { x, #x }
/* clang-format on */

static const struct devid_p11_mech_item devid_p11_mechs[DEVID_P11_NMECH] = {
    DEVID_P11_M(CKM_ECDSA),
    DEVID_P11_M(CKM_RSA_PKCS),
    DEVID_P11_M(CKM_RSA_PKCS_PSS),
    DEVID_P11_M(CKM_RSA_X_509),
    DEVID_P11_M(CKM_RSA_PKCS_OAEP),
    DEVID_P11_M(CKM_ECDH1_DERIVE),
    /* DEVID_P11_B_HASHED_ECDSA */
    DEVID_P11_M(CKM_ECDSA_SHA1),
    DEVID_P11_M(CKM_ECDSA_SHA224),
    DEVID_P11_M(CKM_ECDSA_SHA256),
    DEVID_P11_M(CKM_ECDSA_SHA384),
    DEVID_P11_M(CKM_ECDSA_SHA512),
    DEVID_P11_M(CKM_ECDSA_SHA3_224),
    DEVID_P11_M(CKM_ECDSA_SHA3_256),
    DEVID_P11_M(CKM_ECDSA_SHA3_384),
    DEVID_P11_M(CKM_ECDSA_SHA3_512),
    /* DEVID_P11_B_HASHED_PKCS1 */
    DEVID_P11_M(CKM_SHA1_RSA_PKCS),
    DEVID_P11_M(CKM_SHA224_RSA_PKCS),
    DEVID_P11_M(CKM_SHA256_RSA_PKCS),
    DEVID_P11_M(CKM_SHA384_RSA_PKCS),
    DEVID_P11_M(CKM_SHA512_RSA_PKCS),
    DEVID_P11_M(CKM_SHA3_224_RSA_PKCS),
    DEVID_P11_M(CKM_SHA3_256_RSA_PKCS),
    DEVID_P11_M(CKM_SHA3_384_RSA_PKCS),
    DEVID_P11_M(CKM_SHA3_512_RSA_PKCS),
    /* DEVID_P11_B_HASHED_PSS */
    DEVID_P11_M(CKM_SHA1_RSA_PKCS_PSS),
    DEVID_P11_M(CKM_SHA224_RSA_PKCS_PSS),
    DEVID_P11_M(CKM_SHA256_RSA_PKCS_PSS),
    DEVID_P11_M(CKM_SHA384_RSA_PKCS_PSS),
    DEVID_P11_M(CKM_SHA512_RSA_PKCS_PSS),
    DEVID_P11_M(CKM_SHA3_224_RSA_PKCS_PSS),
    DEVID_P11_M(CKM_SHA3_256_RSA_PKCS_PSS),
    DEVID_P11_M(CKM_SHA3_384_RSA_PKCS_PSS),
    DEVID_P11_M(CKM_SHA3_512_RSA_PKCS_PSS),
    /* DEVID_P11_B_EDDSA */
    DEVID_P11_M(CKM_EDDSA),
};

const struct devid_p11_md *devid_p11_md_find(int nid)
{
    const struct devid_p11_md *md;

    for (md = devid_p11_mds; md->nid != NID_undef; md++) {
        if (md->nid == nid) {
            return md;
        }
    }
    return NULL;
}

size_t devid_p11_digest_info(const struct devid_p11_md *md,
                             const unsigned char *dgst, unsigned char *out)
{
    /* RFC 8017 §9.2 note 1: DigestInfo ::= SEQUENCE { SEQUENCE { OID,
     * NULL }, OCTET STRING digest } */
    static const unsigned char sha1[] = { 0x30, 0x21, 0x30, 0x09, 0x06,
                                          0x05, 0x2b, 0x0e, 0x03, 0x02,
                                          0x1a, 0x05, 0x00, 0x04, 0x14 };
    static const unsigned char nist[] = { 0x30, 0x00, 0x30, 0x0d, 0x06,
                                          0x09, 0x60, 0x86, 0x48, 0x01,
                                          0x65, 0x03, 0x04, 0x02, 0x00,
                                          0x05, 0x00, 0x04, 0x00 };
    size_t n;

    if (md->oid == 0) {
        memcpy(out, sha1, sizeof(sha1));
        n = sizeof(sha1);
    } else {
        memcpy(out, nist, sizeof(nist));
        out[1] = (unsigned char)(sizeof(nist) - 2 + md->len);
        out[14] = md->oid;
        out[18] = (unsigned char)md->len;
        n = sizeof(nist);
    }
    memcpy(out + n, dgst, md->len);
    return n + md->len;
}

/* The bit of ckm, or -1 when devid never uses it. */
static int devid_p11_mech_bit(CK_MECHANISM_TYPE ckm)
{
    int i;

    for (i = 0; i < DEVID_P11_NMECH; i++) {
        if (devid_p11_mechs[i].ckm == ckm) {
            return i;
        }
    }
    return -1;
}

devid_p11_mset devid_p11_mech_set(const CK_MECHANISM_TYPE *list, size_t n)
{
    devid_p11_mset set = 0;
    size_t i;
    int bit;

    for (i = 0; i < n; i++) {
        bit = devid_p11_mech_bit(list[i]);
        if (bit >= 0) {
            set |= DEVID_P11_BIT(bit);
        }
    }
    return set;
}

devid_p11_mset devid_p11_mech_token(CK_FUNCTION_LIST *fn, CK_SLOT_ID slot)
{
    CK_MECHANISM_TYPE *list = NULL;
    CK_ULONG n = 0;
    devid_p11_mset set = 0;

    if (fn->C_GetMechanismList(slot, NULL, &n) != CKR_OK || n == 0) {
        return 0;
    }
    /* one spare entry, for p11-kit's RPC client (devid_p11_token_mechs in
     * slot.c says why) */
    list = OPENSSL_malloc((n + 1) * sizeof(*list));
    if (list != NULL && fn->C_GetMechanismList(slot, list, &n) == CKR_OK) {
        set = devid_p11_mech_set(list, n);
    }
    OPENSSL_free(list);
    return set;
}

devid_p11_mset devid_p11_mech_key(struct devid_p11_token *tok,
                                  CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
    unsigned char *v = NULL;
    size_t len = 0;
    devid_p11_mset allowed;

    /* absent, unreadable or empty: no restriction (SoftHSM reads an empty
     * list so too) */
    if (devid_p11_object_get_attr(tok, s, h, CKA_ALLOWED_MECHANISMS, &v, &len)
            != CKR_OK
        || len < sizeof(CK_MECHANISM_TYPE)) {
        OPENSSL_free(v);
        return tok->mset;
    }
    /* get_attr's buffer comes from OPENSSL_malloc: aligned for any type */
    allowed = devid_p11_mech_set((const CK_MECHANISM_TYPE *)(void *)v,
                                 len / sizeof(CK_MECHANISM_TYPE));
    OPENSSL_free(v);
    return tok->mset & allowed;
}

unsigned int devid_p11_mech_caps(devid_p11_mset m, CK_KEY_TYPE kt, int sign,
                                 int dec, int derive)
{
    devid_p11_mset row = (DEVID_P11_BIT(DEVID_P11_NMD) - 1);
    unsigned int caps = 0;
    int x509 = (m & DEVID_P11_BIT(DEVID_P11_B_RSA_X509)) != 0;

    if (kt == CKK_EC) {
        if (sign
            && ((m & DEVID_P11_BIT(DEVID_P11_B_ECDSA)) != 0
                || (m & (row << DEVID_P11_B_HASHED_ECDSA)) != 0)) {
            caps |= DEVID_CAP_SIGN_ECDSA;
        }
        if (derive && (m & DEVID_P11_BIT(DEVID_P11_B_ECDH)) != 0) {
            caps |= DEVID_CAP_DERIVE_ECDH;
        }
        return caps;
    }
    if (kt == CKK_EC_EDWARDS) {
        /* EdDSA has no hash-and-sign variant: CKM_EDDSA signs messages */
        return sign && (m & DEVID_P11_BIT(DEVID_P11_B_EDDSA)) != 0
                   ? DEVID_CAP_SIGN_EDDSA
                   : 0;
    }
    if (kt != CKK_RSA) {
        return 0; /* other key types are their callers' business */
    }
    if (sign && ((m & DEVID_P11_BIT(DEVID_P11_B_RSA_PKCS)) != 0 || x509)) {
        caps |= DEVID_CAP_SIGN_PKCS1 | DEVID_CAP_SIGN_RAW_PKCS1;
    }
    if (sign && (m & (row << DEVID_P11_B_HASHED_PKCS1)) != 0) {
        caps |= DEVID_CAP_SIGN_PKCS1;
    }
    if (sign
        && ((m & DEVID_P11_BIT(DEVID_P11_B_RSA_PSS)) != 0 || x509
            || (m & (row << DEVID_P11_B_HASHED_PSS)) != 0)) {
        caps |= DEVID_CAP_SIGN_PSS;
    }
    /* PKCS#1 v1.5 decryption is never unpadded here: outside TLS (whose
     * premaster check is constant time, provider/rsa-pad.c) it would be a
     * padding oracle */
    if (dec && (m & DEVID_P11_BIT(DEVID_P11_B_RSA_PKCS)) != 0) {
        caps |= DEVID_CAP_DECRYPT_PKCS1;
    }
    if (dec && (m & DEVID_P11_BIT(DEVID_P11_B_RSA_OAEP)) != 0) {
        caps |= DEVID_CAP_DECRYPT_OAEP;
    }
    caps |= dec && x509 ? DEVID_CAP_DECRYPT_RAW : 0;
    return caps;
}

/* Writes " CKM_A CKM_B" (or " none") for the mechanisms in m into buf,
 * cut short when it does not fit. */
static void devid_p11_mech_list(devid_p11_mset m, char *buf, size_t size)
{
    size_t used = 0;
    int i;
    int n;

    buf[0] = '\0';
    for (i = 0; i < DEVID_P11_NMECH; i++) {
        if ((m & DEVID_P11_BIT(i)) == 0) {
            continue;
        }
        n = BIO_snprintf(buf + used, size - used, " %s",
                         devid_p11_mechs[i].name);
        if (n < 0 || (size_t)n >= size - used) {
            break;
        }
        used += (size_t)n;
    }
    if (used == 0) {
        BIO_snprintf(buf, size, " none");
    }
}

/* The token-padded mechanism and hash-and-sign row of a scheme. */
static void devid_p11_mech_scheme(enum devid_sig_scheme scheme, int *plain,
                                  int *row)
{
    switch (scheme) {
    case DEVID_SIG_ECDSA:
        *plain = DEVID_P11_B_ECDSA;
        *row = DEVID_P11_B_HASHED_ECDSA;
        break;
    case DEVID_SIG_PSS:
        *plain = DEVID_P11_B_RSA_PSS;
        *row = DEVID_P11_B_HASHED_PSS;
        break;
    default:
        *plain = DEVID_P11_B_RSA_PKCS;
        *row = DEVID_P11_B_HASHED_PKCS1;
        break;
    }
}

int devid_p11_mech_plan(const struct devid_key *key,
                        const struct devid_sign_params *p,
                        struct devid_p11_plan *plan)
{
    const struct devid_p11_key *k = key->be;
    const struct devid_p11_md *md = devid_p11_md_find(p->md_nid);
    devid_p11_mset m = k->mset;
    int plain = 0;
    int row = 0;
    int hashed = -1;
    char usable[256];

    memset(plan, 0, sizeof(*plan));
    plan->md = md;
    devid_p11_mech_scheme(p->scheme, &plain, &row);
    if (md != NULL) {
        hashed = row + (int)(md - devid_p11_mds);
    }
    if ((m & DEVID_P11_BIT(plain)) != 0) {
        plan->route = DEVID_P11_ROUTE_TOKEN;
        plan->ckm = devid_p11_mechs[plain].ckm;
    } else if (p->scheme != DEVID_SIG_ECDSA
               && (m & DEVID_P11_BIT(DEVID_P11_B_RSA_X509)) != 0) {
        plan->route = DEVID_P11_ROUTE_X509;
        plan->ckm = CKM_RSA_X_509;
    } else if (hashed >= 0 && (m & DEVID_P11_BIT(hashed)) != 0) {
        plan->route = DEVID_P11_ROUTE_HASHED;
        plan->ckm = devid_p11_mechs[hashed].ckm;
    } else {
        devid_p11_mech_list(m, usable, sizeof(usable));
        DEVID_RAISE(key->prov, DEVID_R_MECHANISM,
                    "%s: no mechanism for this signature: it needs %s%s%s%s, "
                    "and the token and the key's CKA_ALLOWED_MECHANISMS "
                    "leave it only%s",
                    key->uri, devid_p11_mechs[plain].name,
                    hashed >= 0 ? ", " : "",
                    hashed >= 0 ? devid_p11_mechs[hashed].name : "",
                    p->scheme == DEVID_SIG_ECDSA ? "" : " or CKM_RSA_X_509",
                    usable);
        return 0;
    }
    DEVID_DEBUG("pkcs11", "%s: signing with %s", key->uri,
                devid_p11_mech_name(plan->ckm));
    return 1;
}

const char *devid_p11_mech_name(CK_MECHANISM_TYPE ckm)
{
    int bit = devid_p11_mech_bit(ckm);

    return bit >= 0 ? devid_p11_mechs[bit].name : "CKM_?";
}

int devid_p11_mech_print(BIO *out, int indent, devid_p11_mset m)
{
    char list[DEVID_P11_NMECH * 32];

    devid_p11_mech_list(m, list, sizeof(list));
    return BIO_printf(out, "%*sPKCS#11 mechanisms usable:%s\n", indent, "",
                      list)
           > 0;
}
