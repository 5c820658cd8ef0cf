/* SPDX-License-Identifier: Apache-2.0 */
/* Public-key operations on resident keys (verification, RSA encryption),
 * done in software on the key's public half. OpenSSL hands these to the
 * key's own provider (our operation names exist nowhere else), so the
 * signature and asymmetric-cipher code start one of these and forward to
 * it; the hardware is never asked. */
#ifndef DEVID_PUBOP_H
#define DEVID_PUBOP_H

#include <stddef.h>
#include <openssl/core.h>
#include <openssl/evp.h>

#include "provider/backend.h"

/* An operation on the public half of a key, in another provider. */
struct devid_pubop;

/** The public half of key as a key of another provider (the default one),
 *  built from the public export. Returns a new EVP_PKEY (EVP_PKEY_free),
 *  or NULL with DEVID_R_NOT_SUPPORTED raised. */
EVP_PKEY *devid_key_public_pkey(const struct devid_key *key);

/** The key's SubjectPublicKeyInfo in DER into *der (OPENSSL_free).
 *  Returns 1, or 0 with an error raised. */
int devid_key_spki(const struct devid_key *key, unsigned char **der,
                   size_t *len);

/** Starts a verification with key's public half: of a digest
 *  (digest_verify 0, EVP_PKEY_verify) or of a message hashed with mdname
 *  (digest_verify 1; mdname NULL: the key type's default digest). params
 *  go to the operation. Returns a new operation (devid_pubop_free) or NULL
 *  with an error raised. */
struct devid_pubop *devid_pubop_verify_new(const struct devid_key *key,
                                           int digest_verify,
                                           const char *mdname,
                                           const OSSL_PARAM params[]);

/** Starts an RSA encryption to key's public half, with params. Returns a
 *  new operation or NULL with an error raised. */
struct devid_pubop *devid_pubop_encrypt_new(const struct devid_key *key,
                                            const OSSL_PARAM params[]);

/** A copy of op with its own state (dupctx). NULL on failure. */
struct devid_pubop *devid_pubop_dup(const struct devid_pubop *op);

/** Frees op. Accepts NULL. */
void devid_pubop_free(struct devid_pubop *op);

/** Passes the caller's parameters on to the operation (padding, digest,
 *  salt length, OAEP label). Returns 1/0 as the operation does. */
int devid_pubop_set_params(struct devid_pubop *op, const OSSL_PARAM params[]);

/** Reads the operation's parameters. Returns 1/0. */
int devid_pubop_get_params(struct devid_pubop *op, OSSL_PARAM params[]);

/** Verifies sig over tbs (a digest, or the whole message for a
 *  digest_verify operation). Returns 1 when it holds, else 0. */
int devid_pubop_verify(struct devid_pubop *op, const unsigned char *sig,
                       size_t siglen, const unsigned char *tbs, size_t tbslen);

/** Feeds message data to a digest_verify operation. Returns 1/0. */
int devid_pubop_update(struct devid_pubop *op, const unsigned char *data,
                       size_t len);

/** Ends a digest_verify operation: 1 when sig holds, else 0. */
int devid_pubop_verify_final(struct devid_pubop *op, const unsigned char *sig,
                             size_t siglen);

/** Encrypts in to out (out NULL: sets *outlen to the size needed).
 *  Returns 1/0. */
int devid_pubop_encrypt(struct devid_pubop *op, unsigned char *out,
                        size_t *outlen, size_t outsize, const unsigned char *in,
                        size_t inlen);

#endif
