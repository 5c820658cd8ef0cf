/* SPDX-License-Identifier: Apache-2.0 */
/* Key loading for the ENGINE "devid". The engine holds no key code of its
 * own: it loads the names it is given through OSSL_STORE in the default
 * library context, where the devid provider resolves "pkcs11:" URIs,
 * "handle:" TPM names and reference files, exactly as it does for programs
 * that load keys without an engine. */
#include "config.h"

#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "common/mem.h"
#include "engine-compat/eng.h"

/* Loaded once per process by the engine's init (which OpenSSL serialises
 * under its global engine lock) and kept: see devid_eng_finish. */
static OSSL_PROVIDER *devid_eng_default;
static OSSL_PROVIDER *devid_eng_devid;

/* The provider by name, from $OPENSSL_MODULES or OpenSSL's own modules
 * folder; else from the folder devid was configured to install it in
 * (--with-modulesdir), which a packager may have set elsewhere. */
static OSSL_PROVIDER *devid_eng_devid_load(void)
{
    const char *env = getenv("OPENSSL_MODULES");
    const char *first = env != NULL && *env != '\0'
                            ? env
                            : OPENSSL_info(OPENSSL_INFO_MODULES_DIR);
    OSSL_PROVIDER *prov;

    ERR_set_mark();
    prov = OSSL_PROVIDER_try_load(NULL, "devid", 1);
    if (prov == NULL) {
        prov = OSSL_PROVIDER_try_load(NULL, DEVID_MODULESDIR "/devid.so", 1);
    }
    if (prov != NULL) {
        ERR_pop_to_mark();
        return prov;
    }
    ERR_clear_last_mark();
    ERR_raise_data(ERR_LIB_ENGINE, ENGINE_R_INIT_FAILED,
                   "devid: cannot load the OpenSSL provider 'devid': no "
                   "devid.so in %s%s nor in %s (devid's modulesdir)",
                   first != NULL ? first : "OpenSSL's modules folder",
                   env != NULL && *env != '\0' ? " ($OPENSSL_MODULES)" : "",
                   DEVID_MODULESDIR);
    return NULL;
}

int devid_eng_providers_load(void)
{
    /* default first: a provider activated before default would answer
     * empty-property fetches (libssl's key-exchange groups) */
    if (devid_eng_default == NULL) {
        devid_eng_default = OSSL_PROVIDER_try_load(NULL, "default", 1);
        if (devid_eng_default == NULL) {
            ERR_raise_data(ERR_LIB_ENGINE, ENGINE_R_INIT_FAILED,
                           "devid: cannot load the OpenSSL provider 'default'");
            return 0;
        }
    }
    if (devid_eng_devid == NULL) {
        devid_eng_devid = devid_eng_devid_load();
        if (devid_eng_devid == NULL) {
            return 0;
        }
    }
    return 1;
}

/* Raises an ENGINE error naming the key, with any PIN in it masked. */
static void devid_eng_raise(int reason, const char *what, const char *name)
{
    char *shown = devid_name_redact(name);

    ERR_raise_data(ERR_LIB_ENGINE, reason, "devid: %s %s", what,
                   shown != NULL ? shown : "(name withheld)");
    OPENSSL_free(shown);
}

/* The first key the store gives for name: a private key when want is
 * OSSL_STORE_INFO_PKEY, a private or a public key when want is 0. */
static EVP_PKEY *devid_eng_store_load(const char *name, int want,
                                      UI_METHOD *ui_method, void *cb_data)
{
    OSSL_STORE_CTX *store = NULL;
    OSSL_STORE_INFO *info = NULL;
    EVP_PKEY *pkey = NULL;

    if (ui_method == NULL) {
        ui_method = (UI_METHOD *)UI_get_default_method();
    }
    store = OSSL_STORE_open_ex(name, NULL, NULL, ui_method, cb_data, NULL,
                               NULL, NULL);
    if (store == NULL) {
        goto end;
    }
    if (want != 0 && !OSSL_STORE_expect(store, want)) {
        goto end;
    }
    while (pkey == NULL && !OSSL_STORE_eof(store)) {
        /* NULL is the end of the objects or an error: stop either way */
        info = OSSL_STORE_load(store);
        if (info == NULL) {
            break;
        }
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY) {
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        } else if (want == 0
                   && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PUBKEY) {
            pkey = OSSL_STORE_INFO_get1_PUBKEY(info);
        }
        OSSL_STORE_INFO_free(info);
    }
end:
    OSSL_STORE_close(store);
    return pkey;
}

X509 *devid_eng_load_cert(const char *name)
{
    OSSL_STORE_CTX *store = NULL;
    OSSL_STORE_INFO *info = NULL;
    X509 *cert = NULL;

    if (!devid_eng_providers_load()) {
        return NULL;
    }
    store = OSSL_STORE_open_ex(name, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    if (store != NULL && OSSL_STORE_expect(store, OSSL_STORE_INFO_CERT)) {
        while (cert == NULL && !OSSL_STORE_eof(store)) {
            info = OSSL_STORE_load(store);
            if (info == NULL) {
                break;
            }
            if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_CERT) {
                cert = OSSL_STORE_INFO_get1_CERT(info);
            }
            OSSL_STORE_INFO_free(info);
        }
    }
    OSSL_STORE_close(store);
    if (cert == NULL) {
        devid_eng_raise(ENGINE_R_INVALID_ARGUMENT, "no certificate from", name);
    }
    return cert;
}

EVP_PKEY *devid_eng_load_privkey(ENGINE *e, const char *name,
                                 UI_METHOD *ui_method, void *cb_data)
{
    EVP_PKEY *pkey = NULL;

    if (name == NULL) {
        ERR_raise(ERR_LIB_ENGINE, ERR_R_PASSED_NULL_PARAMETER);
        return NULL;
    }
    pkey = devid_eng_store_load(name, OSSL_STORE_INFO_PKEY, ui_method,
                                cb_data);
    if (pkey == NULL) {
        devid_eng_raise(ENGINE_R_FAILED_LOADING_PRIVATE_KEY,
                        "no private key from", name);
    }
    return pkey;
}

/* A public-only copy in a provider other than devid: i2d_PUBKEY exports
 * the public half (the only part devid lets out), d2i_PUBKEY_ex imports it
 * into the default provider. */
static EVP_PKEY *devid_eng_public_copy(const EVP_PKEY *key)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    EVP_PKEY *pub = NULL;
    int len;

    len = i2d_PUBKEY(key, &der);
    if (len <= 0) {
        goto end;
    }
    p = der;
    pub = d2i_PUBKEY_ex(NULL, &p, len, NULL, "provider!=devid");
end:
    OPENSSL_free(der);
    return pub;
}

EVP_PKEY *devid_eng_load_pubkey(ENGINE *e, const char *name,
                                UI_METHOD *ui_method, void *cb_data)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY *pub = NULL;

    if (name == NULL) {
        ERR_raise(ERR_LIB_ENGINE, ERR_R_PASSED_NULL_PARAMETER);
        return NULL;
    }
    key = devid_eng_store_load(name, 0, ui_method, cb_data);
    if (key != NULL) {
        pub = devid_eng_public_copy(key);
    }
    if (pub == NULL) {
        devid_eng_raise(ENGINE_R_FAILED_LOADING_PUBLIC_KEY,
                        "no public key from", name);
    }
    EVP_PKEY_free(key);
    return pub;
}
