/* SPDX-License-Identifier: Apache-2.0 */
/* The PKCS#11 backend's provider settings. The names are pkcs11-provider's,
 * so an openssl.cnf written for it works unchanged (docs/openssl-cnf.md). */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "common/mem.h"
#include "pkcs11/p11.h"

/* Read in this order (provider/prov.c), whatever the order in openssl.cnf:
 * the group setting must be known when the PIN file is read. */
const struct devid_backend_setting devid_p11_settings[] = {
    { "pkcs11-module-path", "PKCS#11 module used when a URI names none" },
    { "pkcs11-pin-file-group-readable",
      "yes: accept PIN files its group may read (default no: 0600)" },
    { "pkcs11-module-token-pin",
      "the user PIN, or file:/path to read it from" },
    { "pkcs11-module-load-behavior",
      "lazy (default: load on a key's first use) or early (at provider load)" },
    { "pkcs11-module-cache-pins",
      "cache: keep a PIN from the passphrase prompt for later logins; none" },
    { "pkcs11-module-key-copy",
      "session (default: sign on a session copy of a key used twice) or "
      "none (always on the token object)" },
    { NULL, NULL }
};

/* Defaults when no setting was given. */
static const struct devid_p11_cfg devid_p11_cfg_default;

const struct devid_p11_cfg *devid_p11_cfg_get(const struct devid_prov *prov)
{
    const struct devid_p11_cfg *cfg =
        devid_backend_config(prov, &devid_pkcs11_backend);

    return cfg != NULL ? cfg : &devid_p11_cfg_default;
}

void devid_p11_cfg_free(void *vcfg)
{
    struct devid_p11_cfg *cfg = vcfg;

    if (cfg == NULL) {
        return;
    }
    OPENSSL_free(cfg->module_path);
    if (cfg->pin != NULL) {
        OPENSSL_secure_clear_free(cfg->pin, cfg->pin_len + 1);
    }
    OPENSSL_clear_free(cfg, sizeof(*cfg));
}

/* pkcs11-module-token-pin takes the PIN itself or "file:/path" (the form
 * pkcs11-provider accepts). The PIN goes to the secure heap at once. */
static int devid_p11_cfg_set_pin(struct devid_prov *prov,
                                 struct devid_p11_cfg *cfg, const char *value)
{
    char *pin = NULL;
    size_t len = 0;

    const char *why = NULL;

    if (strncmp(value, "file:", 5) == 0) {
        pin = devid_read_secret_file(value + 5, DEVID_P11_PIN_MAX,
                                     cfg->pin_file_group
                                         ? DEVID_SECRET_GROUP_READABLE
                                         : 0,
                                     &len, &why);
        if (pin == NULL) {
            DEVID_RAISE(prov, DEVID_R_PIN_SOURCE,
                        "pkcs11-module-token-pin: %s %s", value + 5, why);
            return 0;
        }
    } else {
        len = strlen(value);
        pin = OPENSSL_secure_malloc(len + 1);
        if (pin == NULL) {
            DEVID_RAISE(prov, DEVID_R_MALLOC, "pkcs11-module-token-pin");
            return 0;
        }
        memcpy(pin, value, len + 1);
    }
    if (cfg->pin != NULL) {
        OPENSSL_secure_clear_free(cfg->pin, cfg->pin_len + 1);
    }
    cfg->pin = pin;
    cfg->pin_len = len;
    return 1;
}

/* A setting with two allowed words; *flag becomes 1 for the first. */
static int devid_p11_cfg_choice(struct devid_prov *prov, const char *name,
                                const char *value, const char *yes,
                                const char *no, int *flag)
{
    if (strcmp(value, yes) != 0 && strcmp(value, no) != 0) {
        DEVID_RAISE(prov, DEVID_R_BAD_CONFIG, "%s: '%s' is not %s or %s", name,
                    value, yes, no);
        return 0;
    }
    *flag = strcmp(value, yes) == 0;
    return 1;
}

int devid_p11_cfg_set(struct devid_prov *prov, void **vcfg, const char *name,
                      const char *value)
{
    struct devid_p11_cfg *cfg = *vcfg;
    char *copy = NULL;

    if (cfg == NULL) {
        cfg = OPENSSL_zalloc(sizeof(*cfg));
        if (cfg == NULL) {
            DEVID_RAISE(prov, DEVID_R_MALLOC, "%s", name);
            return 0;
        }
        *vcfg = cfg;
    }
    if (strcmp(name, "pkcs11-module-path") == 0) {
        copy = OPENSSL_strdup(value);
        if (copy == NULL) {
            DEVID_RAISE(prov, DEVID_R_MALLOC, "%s", name);
            return 0;
        }
        OPENSSL_free(cfg->module_path);
        cfg->module_path = copy;
        return 1;
    }
    if (strcmp(name, "pkcs11-module-token-pin") == 0) {
        return devid_p11_cfg_set_pin(prov, cfg, value);
    }
    if (strcmp(name, "pkcs11-module-load-behavior") == 0) {
        return devid_p11_cfg_choice(prov, name, value, "early", "lazy",
                                    &cfg->load_early);
    }
    if (strcmp(name, "pkcs11-pin-file-group-readable") == 0) {
        return devid_p11_cfg_choice(prov, name, value, "yes", "no",
                                    &cfg->pin_file_group);
    }
    if (strcmp(name, "pkcs11-module-cache-pins") == 0) {
        return devid_p11_cfg_choice(prov, name, value, "cache", "none",
                                    &cfg->cache_pins);
    }
    if (strcmp(name, "pkcs11-module-key-copy") == 0) {
        return devid_p11_cfg_choice(prov, name, value, "none", "session",
                                    &cfg->no_key_copy);
    }
    DEVID_RAISE(prov, DEVID_R_BAD_CONFIG, "unknown setting '%s'", name);
    return 0;
}
