/* SPDX-License-Identifier: Apache-2.0 */
/* DER of signatures: the AlgorithmIdentifier X509_sign/X509_REQ_sign ask
 * for, and the ECDSA-Sig-Value a raw r||s becomes. */
#ifndef DEVID_SIG_ALGID_H
#define DEVID_SIG_ALGID_H

#include <stddef.h>
#include <openssl/evp.h>

#include "provider/backend.h"

/** Writes the DER AlgorithmIdentifier for a signature made with a key of
 *  type with digest md (RFC 5758 ecdsa-with-SHA*, RFC 8017 sha*WithRSA or
 *  RSASSA-PSS with its parameters; mgf1 NULL means md, saltlen follows the
 *  RSA_PSS_SALTLEN_* convention, bits is the modulus size). Returns 1 and
 *  the length in *outlen, or 0 when out is too small or the combination has
 *  no identifier. */
int devid_sig_algid(enum devid_key_type type, int pad, const EVP_MD *md,
                    const EVP_MD *mgf1, int bits, int saltlen,
                    unsigned char *out, size_t outsize, size_t *outlen);

/** Writes the DER ECDSA-Sig-Value (RFC 3279 §2.2.3: SEQUENCE of the
 *  INTEGERs r and s) of a raw signature r||s (two halves of equal size, at
 *  most 66 bytes each: P-521) into der. Allocates nothing: this runs once
 *  per signature. Returns 1 and the length in *derlen, or 0 when rs is not
 *  a raw signature or dersize is too small (der is then untouched). */
int devid_sig_ecdsa_der(const unsigned char *rs, size_t rslen,
                        unsigned char *der, size_t dersize, size_t *derlen);

#endif
