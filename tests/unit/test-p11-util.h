/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the PKCS#11 backend tests: a fresh SoftHSM2 token per test
 * program, OpenSSL keys made from a devid_pubkey, error checks. */
#ifndef DEVID_TEST_P11_UTIL_H
#define DEVID_TEST_P11_UTIL_H

#include <stddef.h>
#include <openssl/evp.h>

#include "provider/backend.h"
#include "provider/prov.h"
#include "pkcs11/p11.h"

#define TP11_SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define TP11_PIN "1234"
#define TP11_SO_PIN "12345678"

/** Makes a temporary directory with a SoftHSM2 configuration, sets
 *  SOFTHSM2_CONF and returns the directory (static storage), or NULL. */
const char *tp11_softhsm_setup(void);

/** A standalone provider instance using the PKCS#11 module at path, with
 *  pin (may be NULL) as pkcs11-module-token-pin. Free it with
 *  devid_prov_free. Returns NULL on failure. */
struct devid_prov *tp11_new_prov(const char *path, const char *pin);

/** Removes the directory made by tp11_softhsm_setup. */
void tp11_softhsm_cleanup(void);

/** Initialises a token with the given label (user PIN TP11_PIN). */
int tp11_token_init(const char *label);

/** Generates a key pair with pkcs11-tool: type like "EC:prime256v1" or
 *  "rsa:2048", hex id like "01". */
int tp11_keygen(const char *token, const char *type, const char *id,
                const char *label);

/** Runs a shell command; returns 1 when it exits 0. */
int tp11_run(const char *fmt, ...);

/** Builds an OpenSSL public key from the key's public half. */
EVP_PKEY *tp11_pkey(const struct devid_key *key);

/** Signs a random 32-byte digest with ECDSA through the PKCS#11 backend.
 *  Returns 1 when the backend signed and, when pkey is not NULL, pkey
 *  verifies the signature; else 0. */
int tp11_sign_ecdsa(struct devid_key *key, EVP_PKEY *pkey);

/** Verifies a raw r||s ECDSA signature over a digest with pkey. */
int tp11_verify_ecdsa(EVP_PKEY *pkey, const unsigned char *dgst,
                      size_t dlen, const unsigned char *sig, size_t siglen);

/** Verifies an RSA signature (pad: RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING;
 *  md NULL for raw PKCS#1). */
int tp11_verify_rsa(EVP_PKEY *pkey, int pad, const EVP_MD *md,
                    const unsigned char *tbs, size_t tbslen,
                    const unsigned char *sig, size_t siglen);

/** Returns the reason of the last error when it is devid's, else -1, and
 *  copies its data string into data (size n) when data is not NULL. */
int tp11_last_reason(char *data, size_t n);

/** A search callback that keeps up to 8 objects (keys referenced, DER and
 *  label copied). */
struct tp11_found {
    int n;
    enum devid_obj_class cls[8];
    struct devid_key *key[8];
    unsigned char *der[8];
    size_t der_len[8];
    char *label[8];
};
int tp11_collect(const struct devid_object *obj, void *arg);
void tp11_found_clear(struct tp11_found *f);

/** Searches name and returns the first private key found (a reference),
 *  or NULL. */
struct devid_key *tp11_find_key(struct devid_prov *prov, const char *name);

#endif
