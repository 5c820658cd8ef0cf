/* SPDX-License-Identifier: Apache-2.0 */
/* The provider's entry points: init (config from openssl.cnf), parameters,
 * the algorithm catalogue, reason strings and teardown. Nothing here touches
 * a token or a TPM: backends start on a key's first use. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>

#include "common/err.h"
#include "common/log.h"
#include "provider/backend.h"
#include "provider/implementations.h"
#include "provider/prov.h"
#include "provider/provider.h"

static const OSSL_ALGORITHM devid_keymgmt[] = {
    { "EC:id-ecPublicKey:1.2.840.10045.2.1", DEVID_PROPS,
      devid_keymgmt_ec_functions, "devid EC key in a token or TPM" },
    { "RSA:rsaEncryption:1.2.840.113549.1.1.1", DEVID_PROPS,
      devid_keymgmt_rsa_functions, "devid RSA key in a token or TPM" },
    { "RSA-PSS:RSASSA-PSS:1.2.840.113549.1.1.10", DEVID_PROPS,
      devid_keymgmt_rsa_pss_functions,
      "devid RSA key fixed to PSS signatures in a token or TPM" },
    { "ED25519:1.3.101.112", DEVID_PROPS, devid_keymgmt_ed25519_functions,
      "devid Ed25519 key in a token" },
    { "ED448:1.3.101.113", DEVID_PROPS, devid_keymgmt_ed448_functions,
      "devid Ed448 key in a token" },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM devid_signature[] = {
    { DEVID_NAME_ECDSA, DEVID_PROPS, devid_sig_ecdsa_functions, NULL },
    { DEVID_NAME_RSA_SIG, DEVID_PROPS, devid_sig_rsa_functions, NULL },
    { DEVID_NAME_ED25519, DEVID_PROPS, devid_sig_ed25519_functions, NULL },
    { DEVID_NAME_ED448, DEVID_PROPS, devid_sig_ed448_functions, NULL },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM devid_asym_cipher[] = {
    { DEVID_NAME_RSA_ENC, DEVID_PROPS, devid_asym_rsa_functions, NULL },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM devid_keyexch[] = {
    { DEVID_NAME_ECDH, DEVID_PROPS, devid_kex_ecdh_functions, NULL },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *devid_prov_query(void *provctx, int operation_id,
                                              int *no_cache)
{
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return devid_keymgmt;
    case OSSL_OP_SIGNATURE:
        return devid_signature;
    case OSSL_OP_ASYM_CIPHER:
        return devid_asym_cipher;
    case OSSL_OP_KEYEXCH:
        return devid_keyexch;
    case OSSL_OP_STORE:
        return devid_store_algorithms();
    case OSSL_OP_DECODER:
        return devid_decoders;
    case OSSL_OP_ENCODER:
        return devid_encoders;
    default:
        return NULL;
    }
}

static const OSSL_PARAM *devid_prov_gettable_params(void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, NULL, 0),
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, NULL, 0),
        OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL),
        OSSL_PARAM_END
    };

    return params;
}

static int devid_prov_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "devid")) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, PACKAGE_VERSION)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "devid " PACKAGE_VERSION)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, 1)) {
        return 0;
    }
    return 1;
}

static const OSSL_ITEM *devid_prov_get_reason_strings(void *provctx)
{
    return devid_err_reason_strings();
}

static void devid_prov_teardown(void *provctx)
{
    DEVID_DEBUG("provider", "teardown");
    devid_prov_free(provctx);
}

static const OSSL_DISPATCH devid_prov_functions[] = {
    DEVID_DISPATCH(PROVIDER, prov, TEARDOWN, teardown),
    DEVID_DISPATCH(PROVIDER, prov, GETTABLE_PARAMS, gettable_params),
    DEVID_DISPATCH(PROVIDER, prov, GET_PARAMS, get_params),
    DEVID_DISPATCH(PROVIDER, prov, QUERY_OPERATION, query),
    DEVID_DISPATCH(PROVIDER, prov, GET_REASON_STRINGS, get_reason_strings),
    OSSL_DISPATCH_END
};

/* Reads every registered backend's settings from the provider's
 * openssl.cnf section; each backend parses its own. */
static int devid_prov_read_config(struct devid_prov *prov,
                                  OSSL_FUNC_core_get_params_fn *get_params)
{
    const char *const *keys = devid_setting_names();
    OSSL_PARAM *params = NULL;
    char **values = NULL;
    size_t i, n = 0;
    int ret = 0;

    while (keys[n] != NULL) {
        n++;
    }
    params = OPENSSL_zalloc((n + 1) * sizeof(*params));
    values = OPENSSL_zalloc((n + 1) * sizeof(*values));
    if (params == NULL || values == NULL) {
        goto end;
    }
    for (i = 0; i < n; i++) {
        params[i] = OSSL_PARAM_construct_utf8_ptr(keys[i], &values[i], 0);
    }
    params[n] = OSSL_PARAM_construct_end();
    if (get_params == NULL || !get_params(prov->handle, params)) {
        ret = 1; /* no section: all defaults */
        goto end;
    }
    for (i = 0; i < n; i++) {
        if (values[i] != NULL && !devid_config_set(prov, keys[i], values[i])) {
            goto end;
        }
    }
    ret = 1;
end:
    OPENSSL_free(params);
    OPENSSL_free(values);
    return ret;
}

/* The error module's way to the core handle of the instance raising. */
static const OSSL_CORE_HANDLE *devid_prov_err_handle(const void *ctx)
{
    return ctx != NULL ? devid_prov_get0_handle(ctx) : NULL;
}

/* 1 when the core loading devid is the OpenSSL major version devid.so is
 * linked to. A process can hold two libcryptos: a PKCS#11 module linked to
 * OpenSSL 3 inside an OpenSSL 4 program (SoftHSM in such a process reads
 * the same openssl.cnf and loads devid.so once more). devid's code calls
 * its own libcrypto, so an instance for the other one would hand that
 * core's objects to the wrong library, and take over the error upcalls
 * every instance shares: such a load is refused. */
static int devid_prov_same_core(const OSSL_CORE_HANDLE *handle,
                                OSSL_FUNC_core_get_params_fn *get_params)
{
    char *version = NULL;
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_utf8_ptr(OSSL_PROV_PARAM_CORE_VERSION,
                                              &version, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (get_params == NULL || !get_params(handle, params) || version == NULL) {
        return 1; /* nothing to compare: trust the loader */
    }
    if (strtol(version, NULL, 10) != OPENSSL_VERSION_MAJOR) {
        DEVID_DEBUG("provider",
                    "not started for OpenSSL %s: devid.so is built for "
                    "OpenSSL %d (a second libcrypto in this process)",
                    version, OPENSSL_VERSION_MAJOR);
        return 0;
    }
    return 1;
}

int devid_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                        const OSSL_DISPATCH **out, void **provctx)
{
    OSSL_FUNC_core_get_params_fn *get_params = NULL;
    const OSSL_DISPATCH *d;
    struct devid_prov *prov = NULL;

    for (d = in; d->function_id != 0; d++) {
        if (d->function_id == OSSL_FUNC_CORE_GET_PARAMS) {
            get_params = OSSL_FUNC_core_get_params(d);
        }
    }
    if (!devid_prov_same_core(handle, get_params)) {
        return 0;
    }
    devid_err_set_core(in, devid_prov_err_handle);
    prov = devid_prov_new_standalone(NULL);
    if (prov == NULL) {
        return 0;
    }
    prov->handle = handle;
    prov->core_in = in; /* its library context is made on first use */
    if (!devid_prov_read_config(prov, get_params)) {
        devid_prov_free(prov);
        return 0;
    }
    if (!devid_prov_start_early(prov)) {
        devid_prov_free(prov);
        return 0;
    }
    DEVID_DEBUG("provider", "initialised (backends start on first use)");
    *out = devid_prov_functions;
    *provctx = prov;
    return 1;
}
