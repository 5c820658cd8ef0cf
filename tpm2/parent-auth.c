/* SPDX-License-Identifier: Apache-2.0 */
/* The auth value of a key file's parent (a persistent storage key made with
 * one): from the tpm2-parent-auth setting (a value, file:PATH, or ask for
 * the application's passphrase callback), else tpm2-openssl's environment
 * variable TPM2OPENSSL_PARENT_AUTH. A value the TPM refused for a parent is
 * remembered (salted digest) and never sent again: each refusal counts
 * toward the TPM's dictionary-attack lockout (TPM 2.0 Part 1 §19.8.7). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "tpm2/tpm2.h"

/* tpm2-openssl's name for the same value (its docs/keys.md) */
#define DEVID_TPM2_PARENT_AUTH_ENV "TPM2OPENSSL_PARENT_AUTH"
#define DEVID_TPM2_AUTH_MAX sizeof(((TPM2B_AUTH *)NULL)->buffer)

int devid_tpm2_parent_auth_cfg(struct devid_prov *prov,
                               struct devid_tpm2_cfg *cfg, const char *value)
{
    size_t len;

    OPENSSL_secure_clear_free(cfg->parent_auth, cfg->parent_auth_len + 1);
    cfg->parent_auth = NULL;
    cfg->parent_auth_len = 0;
    OPENSSL_free(cfg->parent_auth_file);
    cfg->parent_auth_file = NULL;
    cfg->parent_auth_ask = strcmp(value, "ask") == 0;
    if (cfg->parent_auth_ask) {
        return 1;
    }
    if (strncmp(value, "file:", 5) == 0) {
        cfg->parent_auth_file = OPENSSL_strdup(value + 5);
        if (cfg->parent_auth_file == NULL || value[5] == '\0') {
            DEVID_RAISE(prov, DEVID_R_BAD_CONFIG,
                        "tpm2-parent-auth: file: needs a path");
            return 0;
        }
        return 1;
    }
    if (strncmp(value, "pass:", 5) == 0) {
        value += 5;
    }
    len = strlen(value);
    if (len > DEVID_TPM2_AUTH_MAX) {
        DEVID_RAISE(prov, DEVID_R_BAD_CONFIG,
                    "tpm2-parent-auth: longer than %zu bytes",
                    DEVID_TPM2_AUTH_MAX);
        return 0;
    }
    cfg->parent_auth = OPENSSL_secure_malloc(len + 1);
    if (cfg->parent_auth == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "tpm2-parent-auth");
        return 0;
    }
    memcpy(cfg->parent_auth, value, len + 1);
    cfg->parent_auth_len = len;
    return 1;
}

/* The first line of path, without its end of line. */
static int devid_tpm2_parent_auth_file(struct devid_prov *prov,
                                       const char *path, char *buf, size_t *len)
{
    FILE *f = fopen(path, "r");
    int ret = 0;

    if (f == NULL || fgets(buf, (int)DEVID_TPM2_PARENT_AUTH_SIZE, f) == NULL) {
        DEVID_RAISE(prov, DEVID_R_PIN_SOURCE,
                    "tpm2-parent-auth file %s: cannot read", path);
        goto end;
    }
    *len = strcspn(buf, "\r\n");
    buf[*len] = '\0';
    if (*len > DEVID_TPM2_AUTH_MAX) {
        DEVID_RAISE(prov, DEVID_R_PIN_SOURCE,
                    "tpm2-parent-auth file %s: longer than %zu bytes", path,
                    DEVID_TPM2_AUTH_MAX);
        goto end;
    }
    ret = 1;
end:
    if (f != NULL) {
        fclose(f);
    }
    return ret;
}

static int devid_tpm2_parent_auth_ask(struct devid_prov *prov,
                                      TPM2_HANDLE parent, const char *name,
                                      const struct devid_pin_cb *pin, char *buf,
                                      size_t *len)
{
    char info[160];
    OSSL_PARAM params[2];

    if (pin == NULL || pin->cb == NULL) {
        DEVID_RAISE(prov, DEVID_R_PIN_REQUIRED,
                    "parent 0x%08x of %s: tpm2-parent-auth is 'ask' and "
                    "there is no passphrase callback",
                    (unsigned int)parent, name);
        return 0;
    }
    snprintf(info, sizeof(info), "TPM parent 0x%08x of %s",
             (unsigned int)parent, name);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PASSPHRASE_PARAM_INFO,
                                                 info, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!pin->cb(buf, DEVID_TPM2_AUTH_MAX, len, params, pin->arg)
        || *len > DEVID_TPM2_AUTH_MAX) {
        DEVID_RAISE(prov, DEVID_R_PIN_REQUIRED,
                    "parent 0x%08x of %s: no auth value from the passphrase "
                    "callback",
                    (unsigned int)parent, name);
        return 0;
    }
    return 1;
}

int devid_tpm2_parent_auth_get(struct devid_prov *prov, TPM2_HANDLE parent,
                               const char *name, const struct devid_pin_cb *pin,
                               char **out, size_t *out_len)
{
    const struct devid_tpm2_cfg *cfg =
        devid_backend_config(prov, &devid_tpm2_backend);
    const char *env = getenv(DEVID_TPM2_PARENT_AUTH_ENV);
    char *buf = OPENSSL_secure_zalloc(DEVID_TPM2_PARENT_AUTH_SIZE);
    size_t len = 0;
    int ok = 1;

    *out = NULL;
    *out_len = 0;
    if (buf == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "parent auth");
        return 0;
    }
    if (cfg != NULL && cfg->parent_auth_ask) {
        ok = devid_tpm2_parent_auth_ask(prov, parent, name, pin, buf, &len);
    } else if (cfg != NULL && cfg->parent_auth_file != NULL) {
        ok = devid_tpm2_parent_auth_file(prov, cfg->parent_auth_file, buf,
                                         &len);
    } else if (cfg != NULL && cfg->parent_auth != NULL) {
        len = cfg->parent_auth_len;
        memcpy(buf, cfg->parent_auth, len);
    } else if (env != NULL && strlen(env) <= DEVID_TPM2_AUTH_MAX) {
        len = strlen(env);
        memcpy(buf, env, len);
    }
    if (!ok) {
        OPENSSL_secure_clear_free(buf, DEVID_TPM2_PARENT_AUTH_SIZE);
        return 0;
    }
    *out = buf;
    *out_len = len;
    return 1;
}

/* SHA-256(salt || parent || auth): what we remember of a refused value. */
static int devid_tpm2_parent_auth_digest(struct devid_tpm2 *st,
                                         TPM2_HANDLE parent, const char *auth,
                                         size_t len, unsigned char md[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok;

    if (!st->refused_salted) {
        st->refused_salted = RAND_bytes(st->refused_salt,
                                        sizeof(st->refused_salt))
                             == 1;
    }
    ok = c != NULL && st->refused_salted
         && EVP_DigestInit_ex(c, EVP_sha256(), NULL)
         && EVP_DigestUpdate(c, st->refused_salt, sizeof(st->refused_salt))
         && EVP_DigestUpdate(c, &parent, sizeof(parent))
         && EVP_DigestUpdate(c, auth != NULL ? auth : "", len)
         && EVP_DigestFinal_ex(c, md, NULL);
    EVP_MD_CTX_free(c);
    return ok;
}

int devid_tpm2_parent_auth_refused(struct devid_tpm2 *st, TPM2_HANDLE parent,
                                   const char *auth, size_t len)
{
    unsigned char md[32];
    size_t i;

    if (st->nrefused == 0
        || !devid_tpm2_parent_auth_digest(st, parent, auth, len, md)) {
        return 0;
    }
    for (i = 0; i < st->nrefused; i++) {
        if (CRYPTO_memcmp(st->refused[i], md, sizeof(md)) == 0) {
            return 1;
        }
    }
    return 0;
}

void devid_tpm2_parent_auth_remember(struct devid_tpm2 *st, TPM2_HANDLE parent,
                                     const char *auth, size_t len)
{
    size_t slot = st->nrefused < DEVID_TPM2_REFUSED_MAX
                      ? st->nrefused
                      : DEVID_TPM2_REFUSED_MAX - 1;

    if (devid_tpm2_parent_auth_digest(st, parent, auth, len, st->refused[slot])
        && slot == st->nrefused) {
        st->nrefused++;
    }
}
