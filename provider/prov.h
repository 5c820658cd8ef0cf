/* SPDX-License-Identifier: Apache-2.0 */
/* The provider instance: configuration read from openssl.cnf and the lazily
 * created state of each backend. Also used standalone by the CLI and the
 * engine shim, which create an instance without an OpenSSL core. */
#ifndef DEVID_PROV_H
#define DEVID_PROV_H

#include <openssl/core.h>
#include <openssl/crypto.h>

/* Settings, from the provider's openssl.cnf section (names documented in
 * docs/provider.md) or given by the CLI. */
struct devid_config {
    char *p11_module_path;   /* pkcs11-module-path */
    char *p11_pin;           /* pkcs11-module-token-pin (secure heap) */
    size_t p11_pin_len;
    int p11_load_early;      /* pkcs11-module-load-behavior = early */
    int p11_cache_pins;      /* pkcs11-module-cache-pins = cache */
    char *tcti;              /* tcti */
};

struct devid_prov {
    const OSSL_CORE_HANDLE *handle;  /* NULL when standalone */
    OSSL_LIB_CTX *libctx;            /* where digests are fetched from */
    int own_libctx;                  /* libctx was created here */
    struct devid_config cfg;
    CRYPTO_RWLOCK *lock;             /* guards creation of the fields below */
    void *p11;                       /* owned by pkcs11/ (struct devid_p11) */
    void *tpm2;                      /* owned by tpm2/ */
    void *ref_cache;                 /* owned by ref-file.c */
};

/** Returns the core handle of the instance (NULL when standalone). */
const OSSL_CORE_HANDLE *devid_prov_get0_handle(const struct devid_prov *prov);

/** Creates an instance without an OpenSSL core (CLI, engine, tests).
 *  libctx may be NULL (the default library context); it is not owned.
 *  cfg may be NULL; its strings are copied. Free with devid_prov_free. */
struct devid_prov *devid_prov_new_standalone(OSSL_LIB_CTX *libctx,
                                             const struct devid_config *cfg);

/** Tears down every backend and frees the instance. Accepts NULL. */
void devid_prov_free(struct devid_prov *prov);

/** Sets a configuration value by its openssl.cnf name. Returns 1, or 0 with
 *  DEVID_R_BAD_CONFIG raised for an unknown name or bad value. */
int devid_config_set(struct devid_prov *prov, const char *name,
                     const char *value);

/** Wipes and frees every string of cfg. */
void devid_config_clear(struct devid_config *cfg);

#endif
