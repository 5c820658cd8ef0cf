/* SPDX-License-Identifier: Apache-2.0 */
/* devid error reasons and the raise wrapper used by every layer.
 * Inside the provider errors go through the core's error functions; in the
 * CLI, the engine and the unit tests they go to a library code of our own.
 * The raising context (a provider instance) is opaque here: common/ knows
 * nothing of the layers above it, which hand it a way to the core handle. */
#ifndef DEVID_ERR_H
#define DEVID_ERR_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

enum devid_reason {
    DEVID_R_BAD_URI = 1,        /* a key name that cannot be parsed */
    DEVID_R_NO_TOKEN,           /* no token/slot matches the URI */
    DEVID_R_NO_OBJECT,          /* no object matches the URI */
    DEVID_R_AMBIGUOUS,          /* more than one key matches */
    DEVID_R_PIN_REQUIRED,       /* login needed and no PIN source */
    DEVID_R_PIN_INCORRECT,      /* the token or TPM refused the PIN/auth */
    DEVID_R_PIN_LOCKED,         /* PIN locked or TPM in lockout */
    DEVID_R_PIN_REFUSED_BEFORE, /* PIN already refused once: not resent */
    DEVID_R_PIN_SOURCE,         /* pin-source file unreadable */
    DEVID_R_MODULE_LOAD,        /* PKCS#11 module could not be loaded */
    DEVID_R_TOKEN_ERROR,        /* any other PKCS#11 failure */
    DEVID_R_MECHANISM,          /* the key or token lacks the mechanism */
    DEVID_R_BUFFER_TOO_SMALL,   /* caller's output buffer too small */
    DEVID_R_TPM_UNREACHABLE,    /* TCTI could not be opened */
    DEVID_R_TPM_ERROR,          /* any other TPM failure */
    DEVID_R_BAD_KEY_FILE,       /* corrupt reference or TSS2 key file */
    DEVID_R_UNSUPPORTED_KEY,    /* key type or size we do not handle */
    DEVID_R_INVALID_PARAM,      /* a bad or unsupported parameter */
    DEVID_R_PRIVATE_EXPORT,     /* private key material cannot leave */
    DEVID_R_NOT_SUPPORTED,      /* operation not offered for this key */
    DEVID_R_BAD_CONFIG,         /* provider configuration is invalid */
    DEVID_R_NO_BACKEND,         /* the name belongs to no backend */
    DEVID_R_MALLOC,             /* out of memory */
    DEVID_R_INTERNAL,           /* an impossible state */
    DEVID_R_BAD_PIN,            /* empty or over-long PIN: not sent */
    DEVID_R_MAX
};

/* Returns the core handle errors raised with ctx go to, or NULL to raise
 * through libcrypto's ERR directly. */
typedef const OSSL_CORE_HANDLE *devid_err_handle_fn(const void *ctx);

/** Remembers the core's error functions from the provider's dispatch table,
 *  and how to find the core handle of a raising context. Called once from
 *  OSSL_provider_init. */
void devid_err_set_core(const OSSL_DISPATCH *in, devid_err_handle_fn *handle);

/** Returns the reason-string table (terminated by { 0, NULL }) that the
 *  provider hands to the core. Owned by devid: do not free. */
const OSSL_ITEM *devid_err_reason_strings(void);

/** Returns the text of one reason, or NULL for an unknown reason. */
const char *devid_err_reason_string(int reason);

/** Raises one error with a printf-style detail. Use DEVID_RAISE. The
 *  detail must never contain a PIN or key material. */
void devid_err_raise(const void *ctx, const char *file, int line,
                     const char *func, int reason, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/** Sets an error mark so a failed probe can be forgotten. */
void devid_err_mark(const void *ctx);
/** Drops every error raised since the last mark. */
void devid_err_pop_to_mark(const void *ctx);
/** Removes the last mark, keeping the errors raised after it. */
void devid_err_clear_mark(const void *ctx);

/** Library code under which errors are raised outside the provider. */
int devid_err_lib(void);

#define DEVID_RAISE(prov, reason, ...)                                         \
    devid_err_raise((prov), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC,          \
                    (reason), __VA_ARGS__)

#endif
