/* SPDX-License-Identifier: Apache-2.0 */
/* Binding of the ENGINE "devid": identity, init, the two key loaders and
 * libp11's command for certificates.
 * The engine offers no RSA/EC methods of its own: the keys it returns are
 * provider keys, and OpenSSL 3 routes their operations to the provider. */
#include "config.h"

#include <string.h>
#include <openssl/engine.h>
#include <openssl/err.h>

#include "engine-compat/eng.h"

/* Called by ENGINE_init (under OpenSSL's global engine lock): bring up the
 * providers now, so that a missing provider fails the init, with a message,
 * rather than the first key load. */
static int devid_eng_init(ENGINE *e)
{
    return devid_eng_providers_load();
}

/* The providers stay loaded for the life of the process: keys handed out
 * may outlive the engine's last functional reference (curl finishes the
 * engine before it frees its SSL_CTX), and OPENSSL_cleanup unloads them. */
static int devid_eng_finish(ENGINE *e)
{
    return 1;
}

/* libp11's command, which curl ("--cert-type ENG") and others send to get
 * a certificate from a pkcs11 engine: p points to the caller's
 * { const char *cert_id; X509 *cert; }, and the engine fills cert. */
#define DEVID_ENG_CMD_LOAD_CERT ENGINE_CMD_BASE

struct devid_eng_load_cert_params {
    const char *cert_id;
    X509 *cert;
};

static const ENGINE_CMD_DEFN devid_eng_cmds[] = {
    { DEVID_ENG_CMD_LOAD_CERT, "LOAD_CERT_CTRL",
      "loads the certificate a name designates (pkcs11: URI, reference file)",
      ENGINE_CMD_FLAG_INTERNAL },
    { 0, NULL, NULL, 0 }
};

static int devid_eng_ctrl(ENGINE *e, int cmd, long i, void *p, void (*f)(void))
{
    struct devid_eng_load_cert_params *params = p;

    if (cmd != DEVID_ENG_CMD_LOAD_CERT) {
        ERR_raise(ERR_LIB_ENGINE, ENGINE_R_CTRL_COMMAND_NOT_IMPLEMENTED);
        return 0;
    }
    if (params == NULL || params->cert_id == NULL) {
        ERR_raise(ERR_LIB_ENGINE, ERR_R_PASSED_NULL_PARAMETER);
        return 0;
    }
    params->cert = devid_eng_load_cert(params->cert_id);
    return params->cert != NULL;
}

static int devid_eng_bind(ENGINE *e, const char *id)
{
    if (id != NULL && strcmp(id, DEVID_ENG_ID) != 0) {
        return 0;
    }
    if (!ENGINE_set_id(e, DEVID_ENG_ID) || !ENGINE_set_name(e, DEVID_ENG_NAME)
        || !ENGINE_set_init_function(e, devid_eng_init)
        || !ENGINE_set_finish_function(e, devid_eng_finish)
        || !ENGINE_set_load_privkey_function(e, devid_eng_load_privkey)
        || !ENGINE_set_load_pubkey_function(e, devid_eng_load_pubkey)
        || !ENGINE_set_cmd_defns(e, devid_eng_cmds)
        || !ENGINE_set_ctrl_function(e, devid_eng_ctrl)
        /* nothing to register as a default method */
        || !ENGINE_set_flags(e, ENGINE_FLAGS_NO_REGISTER_ALL)) {
        return 0;
    }
    return 1;
}

/* The two symbols the "dynamic" engine looks up; the build hides every
 * other symbol (-fvisibility=hidden), so these are exported explicitly. */
#pragma GCC visibility push(default)
IMPLEMENT_DYNAMIC_CHECK_FN()
IMPLEMENT_DYNAMIC_BIND_FN(devid_eng_bind)
#pragma GCC visibility pop
