/* SPDX-License-Identifier: Apache-2.0 */
/* The ENGINE "devid": a thin front over the devid provider for programs
 * that only speak the engine API (curl --engine, mosquitto --tls-engine).
 * eng-front.c binds the engine; eng-pkey.c loads keys through the provider. */
#ifndef DEVID_ENG_H
#define DEVID_ENG_H

#include <openssl/engine.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

#define DEVID_ENG_ID "devid"
#define DEVID_ENG_NAME "devid: keys in a PKCS#11 token or TPM 2.0, through the devid provider"

/** Makes sure the "default" and "devid" providers are available in the
 *  default library context, default first (libssl's empty-property fetches
 *  must keep finding default's key management). Providers already activated
 *  by openssl.cnf are reused. devid is looked for by name ($OPENSSL_MODULES
 *  or OpenSSL's modules folder), then in the modulesdir devid was
 *  configured with. Idempotent. Returns 1, or 0 with an ENGINE error naming
 *  the provider that could not be loaded and, for devid, both places. */
int devid_eng_providers_load(void);

/** ENGINE_LOAD_KEY_PTR: loads the private key a name designates: a
 *  "pkcs11:" URI, a "handle:0x81..." TPM name or a reference file (PEM or
 *  DER, any path). ui_method and cb_data are the application's passphrase
 *  prompt, used for PINs the name and the configuration do not give.
 *  Returns a new EVP_PKEY backed by the devid provider, or NULL with an
 *  error that names the key (a PIN in the name is shown as ***). */
EVP_PKEY *devid_eng_load_privkey(ENGINE *e, const char *name,
                                 UI_METHOD *ui_method, void *cb_data);

/** ENGINE_LOAD_KEY_PTR: loads the public key a name designates (same names
 *  as devid_eng_load_privkey). The key returned is an ordinary public key
 *  of the default provider, so verification never reaches the token.
 *  Returns a new EVP_PKEY or NULL with an error naming the key. */
EVP_PKEY *devid_eng_load_pubkey(ENGINE *e, const char *name,
                                UI_METHOD *ui_method, void *cb_data);

/** Loads the first certificate a name designates: a "pkcs11:" URI
 *  ("type=cert") or a reference file naming one. Makes sure the providers
 *  are loaded first. Returns a new X509, or NULL with an ENGINE error
 *  naming the certificate. */
X509 *devid_eng_load_cert(const char *name);

#endif
