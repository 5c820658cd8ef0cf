/* SPDX-License-Identifier: Apache-2.0 */
/* RSA paddings in software around a raw RSA operation (RFC 8017), and the
 * constant-time TLS premaster check (RFC 5246 §7.4.7.1). OpenSSL's own
 * helpers for these take an RSA key, deprecated since 3.0, or are
 * internal: these are written from the RFCs with EVP digests only. */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include "provider/rsa-pad.h"

/* ---- constant-time selection -------------------------------------------
 * Masks are all ones (true) or all zeros (false); no branch and no memory
 * access depends on a secret. */

static unsigned int devid_ct_msb(unsigned int a)
{
    return 0u - (a >> (sizeof(a) * 8 - 1));
}

static unsigned int devid_ct_is_zero(unsigned int a)
{
    return devid_ct_msb(~a & (a - 1));
}

static unsigned int devid_ct_eq(unsigned int a, unsigned int b)
{
    return devid_ct_is_zero(a ^ b);
}

/* Hides a mask's value from the optimiser, so that it cannot turn the
 * selection that follows into a branch (OpenSSL's value_barrier). */
static unsigned int devid_ct_barrier(unsigned int mask)
{
#if defined(__GNUC__) || defined(__clang__)
    __asm__ volatile("" : "+r"(mask));
#endif
    return mask;
}

static unsigned char devid_ct_select8(unsigned int mask, unsigned char a,
                                      unsigned char b)
{
    return (unsigned char)((mask & a) | (~mask & b));
}

/* ---- EMSA-PKCS1-v1_5 ---------------------------------------------------- */

int devid_rsa_pad_pkcs1(const unsigned char *in, size_t inlen,
                        unsigned char *em, size_t emlen)
{
    /* RFC 8017 §9.2 step 3: at least 8 bytes of 0xff */
    if (emlen < inlen + 11) {
        return 0;
    }
    em[0] = 0x00;
    em[1] = 0x01;
    memset(em + 2, 0xff, emlen - inlen - 3);
    em[emlen - inlen - 1] = 0x00;
    memcpy(em + emlen - inlen, in, inlen);
    return 1;
}

/* ---- EMSA-PSS ------------------------------------------------------------ */

/* MGF1 (RFC 8017 §B.2.1): xors the mask of seed into out (len bytes). */
static int devid_rsa_mgf1_xor(EVP_MD_CTX *mctx, const EVP_MD *md,
                              const unsigned char *seed, size_t seedlen,
                              unsigned char *out, size_t len)
{
    unsigned char t[EVP_MAX_MD_SIZE];
    unsigned char c[4];
    unsigned int tlen = 0;
    size_t done = 0;
    size_t i;
    unsigned long counter;
    int ret = 0;

    for (counter = 0; done < len; counter++) {
        c[0] = (unsigned char)(counter >> 24);
        c[1] = (unsigned char)(counter >> 16);
        c[2] = (unsigned char)(counter >> 8);
        c[3] = (unsigned char)counter;
        if (!EVP_DigestInit_ex(mctx, md, NULL)
            || !EVP_DigestUpdate(mctx, seed, seedlen)
            || !EVP_DigestUpdate(mctx, c, sizeof(c))
            || !EVP_DigestFinal_ex(mctx, t, &tlen)) {
            goto end;
        }
        for (i = 0; i < tlen && done < len; i++) {
            out[done++] ^= t[i];
        }
    }
    ret = 1;
end:
    OPENSSL_cleanse(t, sizeof(t));
    return ret;
}

/* Steps 4-12 of EMSA-PSS-ENCODE into em (emlen bytes), salt given. */
static int devid_rsa_pss_encode(EVP_MD_CTX *mctx, const EVP_MD *md,
                                const EVP_MD *mgf1, const unsigned char *mhash,
                                size_t hlen, const unsigned char *salt,
                                size_t slen, size_t embits, unsigned char *em,
                                size_t emlen)
{
    static const unsigned char zeros[8] = { 0 };
    unsigned char *h = em + emlen - hlen - 1;
    size_t dblen = emlen - hlen - 1;

    /* H = Hash(00 x8 || mHash || salt), written in place */
    if (!EVP_DigestInit_ex(mctx, md, NULL)
        || !EVP_DigestUpdate(mctx, zeros, sizeof(zeros))
        || !EVP_DigestUpdate(mctx, mhash, hlen)
        || (slen > 0 && !EVP_DigestUpdate(mctx, salt, slen))
        || !EVP_DigestFinal_ex(mctx, h, NULL)) {
        return 0;
    }
    /* DB = PS || 0x01 || salt, masked by MGF1(H) */
    memset(em, 0, dblen - slen - 1);
    em[dblen - slen - 1] = 0x01;
    memcpy(em + dblen - slen, salt, slen);
    if (!devid_rsa_mgf1_xor(mctx, mgf1, h, hlen, em, dblen)) {
        return 0;
    }
    /* the leftmost 8 * emLen - emBits bits are zero */
    em[0] &= (unsigned char)(0xffu >> (8 * emlen - embits));
    em[emlen - 1] = 0xbc;
    return 1;
}

int devid_rsa_pad_pss(OSSL_LIB_CTX *libctx, int md_nid, int mgf1_nid,
                      int saltlen, int modbits, const unsigned char *mhash,
                      size_t hlen, unsigned char *em)
{
    EVP_MD *md = EVP_MD_fetch(libctx, OBJ_nid2sn(md_nid), NULL);
    EVP_MD *mgf1 = EVP_MD_fetch(libctx, OBJ_nid2sn(mgf1_nid), NULL);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    size_t k = ((size_t)modbits + 7) / 8;
    size_t embits = (size_t)modbits - 1;
    size_t emlen = (embits + 7) / 8;
    unsigned char salt[512];
    int ret = 0;

    if (md == NULL || mgf1 == NULL || mctx == NULL || saltlen < 0
        || (size_t)saltlen > sizeof(salt) || (size_t)EVP_MD_get_size(md) != hlen
        || emlen < hlen + (size_t)saltlen + 2) {
        goto end;
    }
    if (saltlen > 0 && RAND_bytes_ex(libctx, salt, (size_t)saltlen, 0) != 1) {
        goto end;
    }
    /* modbits - 1 a multiple of 8: EM is one byte shorter than the
     * modulus, and the integer gets a leading zero byte (§8.1.1 step 2) */
    if (emlen < k) {
        em[0] = 0;
    }
    ret = devid_rsa_pss_encode(mctx, md, mgf1, mhash, hlen, salt,
                               (size_t)saltlen, embits, em + (k - emlen),
                               emlen);
end:
    OPENSSL_cleanse(salt, sizeof(salt));
    EVP_MD_CTX_free(mctx);
    EVP_MD_free(md);
    EVP_MD_free(mgf1);
    return ret;
}

/* ---- TLS premaster -------------------------------------------------------- */

/* Mask: the two bytes v are version (or alt, when alt is not 0). */
static unsigned int devid_rsa_tls_version_ok(const unsigned char *v,
                                             unsigned int version,
                                             unsigned int alt)
{
    unsigned int good = devid_ct_eq(v[0], (version >> 8) & 0xffu)
                        & devid_ct_eq(v[1], version & 0xffu);
    unsigned int alt_good = devid_ct_eq(v[0], (alt >> 8) & 0xffu)
                            & devid_ct_eq(v[1], alt & 0xffu)
                            & ~devid_ct_is_zero(alt);

    return good | alt_good;
}

void devid_rsa_tls_premaster(const unsigned char *em, size_t emlen,
                             unsigned int client_version,
                             unsigned int alt_version, const unsigned char *rnd,
                             unsigned char *out)
{
    const unsigned char *pms = em + emlen - DEVID_TLS_PREMASTER_LEN;
    unsigned int good;
    size_t i;

    /* EM = 00 || 02 || PS (nonzero, emlen - 51 >= 8 bytes) || 00 || M with
     * M the 48-byte premaster: every position is known in advance, so
     * each byte is checked once and always */
    good = devid_ct_is_zero(em[0]) & devid_ct_eq(em[1], 2);
    for (i = 2; i < emlen - DEVID_TLS_PREMASTER_LEN - 1; i++) {
        good &= ~devid_ct_is_zero(em[i]);
    }
    good &= devid_ct_is_zero(em[emlen - DEVID_TLS_PREMASTER_LEN - 1]);
    good &= devid_rsa_tls_version_ok(pms, client_version, alt_version);
    good = devid_ct_barrier(good);
    for (i = 0; i < DEVID_TLS_PREMASTER_LEN; i++) {
        out[i] = devid_ct_select8(good, pms[i], rnd[i]);
    }
}

void devid_rsa_tls_select(int ok, const unsigned char *pt, size_t ptlen,
                          unsigned int client_version, unsigned int alt_version,
                          const unsigned char *rnd, unsigned char *out)
{
    unsigned int good = ~devid_ct_is_zero((unsigned int)ok)
                        & devid_ct_eq((unsigned int)ptlen,
                                      DEVID_TLS_PREMASTER_LEN);
    size_t i;

    /* pt always has room for 48 bytes (the modulus size): read them all */
    good &= devid_rsa_tls_version_ok(pt, client_version, alt_version);
    good = devid_ct_barrier(good);
    for (i = 0; i < DEVID_TLS_PREMASTER_LEN; i++) {
        out[i] = devid_ct_select8(good, pt[i], rnd[i]);
    }
}
