/* SPDX-License-Identifier: Apache-2.0 */
/* Error reasons and raising: through the core inside the provider, through
 * libcrypto's ERR with a library code of our own everywhere else. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/crypto.h>

#include "common/err.h"

/* One entry per line: tests/reason-coverage.sh reads the table line by
 * line, and clang-format would break the long ones. */
/* clang-format off */
static const OSSL_ITEM devid_reasons[] = {
    { DEVID_R_BAD_URI, (void *)"invalid key name or URI" },
    { DEVID_R_NO_TOKEN, (void *)"no matching token" },
    { DEVID_R_NO_OBJECT, (void *)"no matching object" },
    { DEVID_R_AMBIGUOUS, (void *)"more than one object matches" },
    { DEVID_R_PIN_REQUIRED, (void *)"PIN or auth value required" },
    { DEVID_R_PIN_INCORRECT, (void *)"PIN or auth value incorrect" },
    { DEVID_R_PIN_LOCKED, (void *)"PIN locked or TPM in lockout" },
    { DEVID_R_PIN_REFUSED_BEFORE, (void *)"PIN already refused; not sent again" },
    { DEVID_R_PIN_SOURCE, (void *)"cannot read PIN source" },
    { DEVID_R_MODULE_LOAD, (void *)"cannot load PKCS#11 module" },
    { DEVID_R_TOKEN_ERROR, (void *)"PKCS#11 error" },
    { DEVID_R_MECHANISM, (void *)"mechanism not supported by the key or token" },
    { DEVID_R_BUFFER_TOO_SMALL, (void *)"output buffer too small" },
    { DEVID_R_TPM_UNREACHABLE, (void *)"TPM unreachable" },
    { DEVID_R_TPM_ERROR, (void *)"TPM error" },
    { DEVID_R_BAD_KEY_FILE, (void *)"invalid key reference file" },
    { DEVID_R_UNSUPPORTED_KEY, (void *)"unsupported key type or size" },
    { DEVID_R_INVALID_PARAM, (void *)"invalid parameter" },
    { DEVID_R_PRIVATE_EXPORT, (void *)"private key material cannot be exported" },
    { DEVID_R_NOT_SUPPORTED, (void *)"operation not supported" },
    { DEVID_R_BAD_CONFIG, (void *)"invalid provider configuration" },
    { DEVID_R_NO_BACKEND, (void *)"no backend handles this key name" },
    { DEVID_R_MALLOC, (void *)"out of memory" },
    { DEVID_R_INTERNAL, (void *)"internal error" },
    { DEVID_R_BAD_PIN, (void *)"unusable PIN: empty or too long" },
    { 0, NULL }
};
/* clang-format on */

static OSSL_FUNC_core_new_error_fn *core_new_error;
static OSSL_FUNC_core_set_error_debug_fn *core_set_error_debug;
static OSSL_FUNC_core_vset_error_fn *core_vset_error;
static OSSL_FUNC_core_set_error_mark_fn *core_set_error_mark;
static OSSL_FUNC_core_pop_error_to_mark_fn *core_pop_error_to_mark;
static OSSL_FUNC_core_clear_last_error_mark_fn *core_clear_last_error_mark;
static devid_err_handle_fn *devid_err_handle_of;

void devid_err_set_core(const OSSL_DISPATCH *in, devid_err_handle_fn *handle)
{
    devid_err_handle_of = handle;
    for (; in != NULL && in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_NEW_ERROR:
            core_new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            core_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            core_vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_MARK:
            core_set_error_mark = OSSL_FUNC_core_set_error_mark(in);
            break;
        case OSSL_FUNC_CORE_POP_ERROR_TO_MARK:
            core_pop_error_to_mark = OSSL_FUNC_core_pop_error_to_mark(in);
            break;
        case OSSL_FUNC_CORE_CLEAR_LAST_ERROR_MARK:
            core_clear_last_error_mark = OSSL_FUNC_core_clear_last_error_mark(in);
            break;
        default:
            break;
        }
    }
}

const OSSL_ITEM *devid_err_reason_strings(void)
{
    return devid_reasons;
}

const char *devid_err_reason_string(int reason)
{
    const OSSL_ITEM *it;

    for (it = devid_reasons; it->ptr != NULL; it++) {
        if ((int)it->id == reason) {
            return it->ptr;
        }
    }
    return NULL;
}

static int devid_lib_code;
static CRYPTO_ONCE devid_lib_once = CRYPTO_ONCE_STATIC_INIT;
static ERR_STRING_DATA devid_lib_strings[DEVID_R_MAX + 1];

static void devid_err_lib_init(void)
{
    int i;

    devid_lib_code = ERR_get_next_error_library();
    devid_lib_strings[0].error = ERR_PACK(devid_lib_code, 0, 0);
    devid_lib_strings[0].string = "devid";
    for (i = 0; devid_reasons[i].ptr != NULL; i++) {
        devid_lib_strings[i + 1].error
            = ERR_PACK(devid_lib_code, 0, (int)devid_reasons[i].id);
        devid_lib_strings[i + 1].string = devid_reasons[i].ptr;
    }
    ERR_load_strings(devid_lib_code, devid_lib_strings);
}

int devid_err_lib(void)
{
    CRYPTO_THREAD_run_once(&devid_lib_once, devid_err_lib_init);
    return devid_lib_code;
}

/* Inside a provider the handle is that of the provider instance; outside it
 * (CLI, engine, unit tests) there is none and ERR is used directly. */
static const OSSL_CORE_HANDLE *devid_err_handle(const void *ctx)
{
    if (ctx == NULL || core_new_error == NULL || devid_err_handle_of == NULL) {
        return NULL;
    }
    return devid_err_handle_of(ctx);
}

/* The longest detail devid gives an error, well under OpenSSL's own limit
 * (ERR_MAX_DATA_SIZE, 4096). */
#define DEVID_ERR_DATA_MAX 1024

/* core_vset_error with a format, for devid_err_raise. */
static void devid_err_set(const OSSL_CORE_HANDLE *handle, uint32_t reason,
                          const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    core_vset_error(handle, reason, fmt, ap);
    va_end(ap);
}

void devid_err_raise(const void *ctx, const char *file, int line,
                     const char *func, int reason, const char *fmt, ...)
{
    const OSSL_CORE_HANDLE *handle = devid_err_handle(ctx);
    char data[DEVID_ERR_DATA_MAX];
    va_list ap;
    int n;

    /* formatted here, cut short with "...": OpenSSL drops the whole detail
     * of an error whose text does not fit its buffer (a 5 KB URI gave an
     * empty one, issue 14) */
    va_start(ap, fmt);
    n = BIO_vsnprintf(data, sizeof(data), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(data) - 1) {
        memcpy(data + sizeof(data) - 4, "...", 4);
    }
    if (handle != NULL) {
        core_new_error(handle);
        core_set_error_debug(handle, file, line, func);
        devid_err_set(handle, (uint32_t)reason, "%s", data);
    } else {
        ERR_new();
        ERR_set_debug(file, line, func);
        ERR_set_error(devid_err_lib(), reason, "%s", data);
    }
}

void devid_err_mark(const void *ctx)
{
    const OSSL_CORE_HANDLE *handle = devid_err_handle(ctx);

    if (handle != NULL && core_set_error_mark != NULL) {
        core_set_error_mark(handle);
    } else {
        ERR_set_mark();
    }
}

void devid_err_pop_to_mark(const void *ctx)
{
    const OSSL_CORE_HANDLE *handle = devid_err_handle(ctx);

    if (handle != NULL && core_pop_error_to_mark != NULL) {
        core_pop_error_to_mark(handle);
    } else {
        ERR_pop_to_mark();
    }
}

void devid_err_clear_mark(const void *ctx)
{
    const OSSL_CORE_HANDLE *handle = devid_err_handle(ctx);

    if (handle != NULL && core_clear_last_error_mark != NULL) {
        core_clear_last_error_mark(handle);
    } else {
        ERR_clear_last_mark();
    }
}
