/* SPDX-License-Identifier: Apache-2.0 */
/* Binding of the ENGINE "devid": identity, init and the two key loaders.
 * The engine offers no RSA/EC methods of its own: the keys it returns are
 * provider keys, and OpenSSL 3 routes their operations to the provider. */
#include "config.h"

#include <string.h>
#include <openssl/engine.h>

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

static int devid_eng_bind(ENGINE *e, const char *id)
{
    if (id != NULL && strcmp(id, DEVID_ENG_ID) != 0) {
        return 0;
    }
    if (!ENGINE_set_id(e, DEVID_ENG_ID)
        || !ENGINE_set_name(e, DEVID_ENG_NAME)
        || !ENGINE_set_init_function(e, devid_eng_init)
        || !ENGINE_set_finish_function(e, devid_eng_finish)
        || !ENGINE_set_load_privkey_function(e, devid_eng_load_privkey)
        || !ENGINE_set_load_pubkey_function(e, devid_eng_load_pubkey)
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
