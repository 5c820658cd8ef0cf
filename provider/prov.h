/* SPDX-License-Identifier: Apache-2.0 */
/* The provider instance: one slot of settings and lazily created state per
 * registered backend. Also used standalone by the CLI and the unit tests,
 * which create an instance without an OpenSSL core. Settings are described
 * in docs/architecture.md and docs/openssl-cnf.md. */
#ifndef DEVID_PROV_H
#define DEVID_PROV_H

#include <sys/types.h>
#include <openssl/core.h>
#include <openssl/crypto.h>

#include "provider/backend.h"

/* What a provider instance holds for one backend. cfg is the backend's
 * settings object (devid_backend_ops.config_set), state what first_use
 * made; pid is the process state belongs to (fork detection), fork_gen the
 * count of forks seen when pid was last checked (backends.c). */
struct devid_backend_slot {
    void *cfg;
    void *state;
    pid_t pid;
    unsigned long fork_gen;
};

struct devid_prov {
    const OSSL_CORE_HANDLE *handle;  /* NULL when standalone */
    const OSSL_DISPATCH *core_in;    /* the core's functions; NULL when
                                      * standalone */
    OSSL_LIB_CTX *libctx;            /* use devid_prov_libctx */
    int own_libctx;                  /* libctx was created here */
    CRYPTO_RWLOCK *libctx_lock;      /* guards creating libctx */
    CRYPTO_RWLOCK *lock;             /* guards creation of state below */
    struct devid_backend_slot be[DEVID_BACKEND_MAX]; /* registry order */
    void *ref_cache;                 /* owned by ref-file.c */
};

/** Returns the core handle of the instance (NULL when standalone). */
const OSSL_CORE_HANDLE *devid_prov_get0_handle(const struct devid_prov *prov);

/** The library context devid fetches digests from and runs software
 *  operations in. For the provider module it is a child of the context
 *  that loaded devid, made on the first call: making one costs a process
 *  about 90 000 instructions with its teardown, and most processes with
 *  devid active never need it (bench/, "unused devid"). For a standalone
 *  instance it is the one given (NULL: the default context). Sets *libctx
 *  (not owned by the caller) and returns 1, or returns 0 with
 *  DEVID_R_MALLOC raised when the child cannot be made. Thread-safe. */
int devid_prov_libctx(struct devid_prov *prov, OSSL_LIB_CTX **libctx);

/** Creates an instance without an OpenSSL core (CLI, engine, tests).
 *  libctx may be NULL (the default library context); it is not owned.
 *  Settings are given afterwards with devid_config_set. Free with
 *  devid_prov_free. Returns NULL on allocation failure. */
struct devid_prov *devid_prov_new_standalone(OSSL_LIB_CTX *libctx);

/** Tears down every backend and frees the instance. Accepts NULL. */
void devid_prov_free(struct devid_prov *prov);

/** Sets a setting by its openssl.cnf name; the backend that declares the
 *  name parses the value. Returns 1, or 0 with DEVID_R_BAD_CONFIG raised for
 *  an unknown name or a bad value (the message names the setting). */
int devid_config_set(struct devid_prov *prov, const char *name,
                     const char *value);

/** Starts every backend whose settings ask to start at provider load.
 *  Returns 1, or 0 with the backend's error raised. */
int devid_prov_start_early(struct devid_prov *prov);

#endif
