/* SPDX-License-Identifier: Apache-2.0 */
/* RSA paddings done in software around a raw RSA private-key operation
 * (RFC 8017), for hardware that offers raw RSA but not the padding asked
 * for, and the TLS premaster check of RFC 5246 §7.4.7.1 in constant time.
 * Pure functions: no error is raised here, the caller names its key. */
#ifndef DEVID_RSA_PAD_H
#define DEVID_RSA_PAD_H

#include <stddef.h>
#include <openssl/types.h>

/* The TLS premaster secret's length (RFC 5246 §8.1). */
#define DEVID_TLS_PREMASTER_LEN 48

/** EMSA-PKCS1-v1_5 (RFC 8017 §9.2 steps 3-5): writes 00 01 FF.. 00 in
 *  into em (emlen bytes, the modulus size). in is a DigestInfo, or the raw
 *  input of an unhashed PKCS#1 signature. Returns 1, or 0 when in leaves
 *  less than 8 bytes of padding. */
int devid_rsa_pad_pkcs1(const unsigned char *in, size_t inlen,
                        unsigned char *em, size_t emlen);

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) of the digest mhash made with
 *  md_nid, with MGF1 over mgf1_nid and a fresh random salt of saltlen
 *  bytes, for a modulus of modbits bits. Writes the modulus size
 *  ((modbits + 7) / 8 bytes, with a leading zero byte when modbits - 1 is
 *  a multiple of 8) into em. Returns 1, or 0 when a digest cannot be
 *  fetched from libctx, the sizes do not fit or the random generator
 *  fails. */
int devid_rsa_pad_pss(OSSL_LIB_CTX *libctx, int md_nid, int mgf1_nid,
                      int saltlen, int modbits, const unsigned char *mhash,
                      size_t hlen, unsigned char *em);

/** The TLS premaster secret from em, the raw RSA decryption (emlen bytes,
 *  the modulus size) of a ClientKeyExchange, without a padding oracle:
 *  out gets the last 48 bytes of em when em is a PKCS#1 type 2 block (at
 *  least 8 padding bytes) whose first two secret bytes are client_version
 *  (or alt_version, when it is not 0), and rnd (48 random bytes) in every
 *  other case. The time taken does not depend on which case it is, nor on
 *  where the padding ends. Never fails: emlen must be at least 59. */
void devid_rsa_tls_premaster(const unsigned char *em, size_t emlen,
                             unsigned int client_version,
                             unsigned int alt_version, const unsigned char *rnd,
                             unsigned char *out);

/** The TLS premaster secret from pt, a PKCS#1 v1.5 decryption made by the
 *  hardware (ok: it succeeded; ptlen bytes), for hardware without raw RSA:
 *  out gets pt when ok, ptlen is 48 and the version matches as above,
 *  else rnd. Constant time in software; the hardware's own behaviour is
 *  outside it (docs/pkcs11-mechanisms.md). */
void devid_rsa_tls_select(int ok, const unsigned char *pt, size_t ptlen,
                          unsigned int client_version, unsigned int alt_version,
                          const unsigned char *rnd, unsigned char *out);

#endif
