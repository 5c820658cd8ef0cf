/* SPDX-License-Identifier: Apache-2.0 */
/* The provider instance and its configuration, shared by the provider
 * module, the engine shim and the CLI. */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "common/mem.h"
#include "provider/backend.h"
#include "provider/prov.h"
#include "provider/provider.h"
#include "provider/ref-file.h"
#include "pkcs11/p11.h"

/* A PIN longer than this is not a PIN. */
#define DEVID_PIN_MAX 256

const OSSL_CORE_HANDLE *devid_prov_get0_handle(const struct devid_prov *prov)
{
    return prov->handle;
}

struct devid_prov *devid_prov_new_standalone(OSSL_LIB_CTX *libctx,
                                             const struct devid_config *cfg)
{
    struct devid_prov *prov = OPENSSL_zalloc(sizeof(*prov));

    if (prov == NULL) {
        return NULL;
    }
    prov->libctx = libctx;
    prov->lock = CRYPTO_THREAD_lock_new();
    if (prov->lock == NULL) {
        goto err;
    }
    if (cfg != NULL) {
        if (cfg->p11_module_path != NULL
            && !devid_config_set(prov, "pkcs11-module-path",
                                 cfg->p11_module_path)) {
            goto err;
        }
        if (cfg->tcti != NULL && !devid_config_set(prov, "tcti", cfg->tcti)) {
            goto err;
        }
        if (cfg->p11_pin != NULL) {
            prov->cfg.p11_pin = OPENSSL_secure_malloc(cfg->p11_pin_len + 1);
            if (prov->cfg.p11_pin == NULL) {
                goto err;
            }
            memcpy(prov->cfg.p11_pin, cfg->p11_pin, cfg->p11_pin_len + 1);
            prov->cfg.p11_pin_len = cfg->p11_pin_len;
        }
        prov->cfg.p11_load_early = cfg->p11_load_early;
        prov->cfg.p11_cache_pins = cfg->p11_cache_pins;
    }
    return prov;
err:
    devid_prov_free(prov);
    return NULL;
}

void devid_config_clear(struct devid_config *cfg)
{
    OPENSSL_free(cfg->p11_module_path);
    if (cfg->p11_pin != NULL) {
        OPENSSL_secure_clear_free(cfg->p11_pin, cfg->p11_pin_len + 1);
    }
    OPENSSL_free(cfg->tcti);
    memset(cfg, 0, sizeof(*cfg));
}

void devid_prov_free(struct devid_prov *prov)
{
    if (prov == NULL) {
        return;
    }
    devid_ref_cache_free(prov);     /* keys first, then their backends */
    devid_pkcs11_backend.teardown(prov);
#ifdef DEVID_HAVE_TPM2
    devid_tpm2_backend.teardown(prov);
#endif
    devid_config_clear(&prov->cfg);
    if (prov->own_libctx) {
        OSSL_LIB_CTX_free(prov->libctx);
    }
    CRYPTO_THREAD_lock_free(prov->lock);
    OPENSSL_clear_free(prov, sizeof(*prov));
}

static int devid_config_set_string(char **dst, const char *value)
{
    char *copy = OPENSSL_strdup(value);

    if (copy == NULL) {
        return 0;
    }
    OPENSSL_free(*dst);
    *dst = copy;
    return 1;
}

/* pkcs11-module-token-pin takes the PIN itself or "file:/path" (the form
 * pkcs11-provider accepts). The PIN goes to the secure heap at once. */
static int devid_config_set_pin(struct devid_prov *prov, const char *value)
{
    struct devid_config *cfg = &prov->cfg;
    char *pin = NULL;
    size_t len = 0;

    if (strncmp(value, "file:", 5) == 0) {
        pin = devid_read_secret_file(value + 5, DEVID_PIN_MAX, &len);
        if (pin == NULL) {
            DEVID_RAISE(prov, DEVID_R_PIN_SOURCE,
                        "pkcs11-module-token-pin: cannot read %s", value + 5);
            return 0;
        }
    } else {
        len = strlen(value);
        pin = OPENSSL_secure_malloc(len + 1);
        if (pin == NULL) {
            return 0;
        }
        memcpy(pin, value, len + 1);
    }
    if (cfg->p11_pin != NULL) {
        OPENSSL_secure_clear_free(cfg->p11_pin, cfg->p11_pin_len + 1);
    }
    cfg->p11_pin = pin;
    cfg->p11_pin_len = len;
    return 1;
}

int devid_config_set(struct devid_prov *prov, const char *name,
                     const char *value)
{
    struct devid_config *cfg = &prov->cfg;

    if (strcmp(name, "pkcs11-module-path") == 0) {
        return devid_config_set_string(&cfg->p11_module_path, value);
    }
    if (strcmp(name, "pkcs11-module-token-pin") == 0) {
        return devid_config_set_pin(prov, value);
    }
    if (strcmp(name, "tcti") == 0) {
        return devid_config_set_string(&cfg->tcti, value);
    }
    if (strcmp(name, "pkcs11-module-load-behavior") == 0) {
        if (strcmp(value, "early") != 0 && strcmp(value, "lazy") != 0) {
            DEVID_RAISE(prov, DEVID_R_BAD_CONFIG,
                        "pkcs11-module-load-behavior: '%s' is not early or lazy",
                        value);
            return 0;
        }
        cfg->p11_load_early = strcmp(value, "early") == 0;
        return 1;
    }
    if (strcmp(name, "pkcs11-module-cache-pins") == 0) {
        if (strcmp(value, "cache") != 0 && strcmp(value, "none") != 0) {
            DEVID_RAISE(prov, DEVID_R_BAD_CONFIG,
                        "pkcs11-module-cache-pins: '%s' is not cache or none",
                        value);
            return 0;
        }
        cfg->p11_cache_pins = strcmp(value, "cache") == 0;
        return 1;
    }
    DEVID_RAISE(prov, DEVID_R_BAD_CONFIG, "unknown setting '%s'", name);
    return 0;
}

int devid_prov_load_early(struct devid_prov *prov)
{
    return devid_p11_preload(prov);
}
