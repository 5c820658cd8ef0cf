/* SPDX-License-Identifier: Apache-2.0 */
/* devid-pkcs11.so entry points: C_GetFunctionList, C_GetInterfaceList and
 * C_GetInterface (the only exported symbols), the function table,
 * C_Initialize/C_Finalize, locking and fork handling, and
 * CKR_FUNCTION_NOT_SUPPORTED for what a read-only identity token does not
 * do (PKCS #11 v2.40 §5). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "common/err.h"
#include "common/exit.h"
#include "common/log.h"
#include "p11module/p11module.h"
#include "p11module/api.h"

static struct devid_p11m devid_p11m_state;
static pthread_mutex_t devid_p11m_mutex = PTHREAD_MUTEX_INITIALIZER;
static __thread int devid_p11m_in_backend;
static int devid_p11m_exit_registered; /* under the module lock */

struct devid_p11m *devid_p11m_get(void)
{
    return &devid_p11m_state;
}

void devid_p11m_lock(void)
{
    pthread_mutex_lock(&devid_p11m_mutex);
}

void devid_p11m_unlock(void)
{
    pthread_mutex_unlock(&devid_p11m_mutex);
}

/* A depth, as backend calls may nest (a key freed inside a teardown). */
void devid_p11m_set_nested(int on)
{
    devid_p11m_in_backend += on ? 1 : -1;
}

int devid_p11m_nested(void)
{
    return devid_p11m_in_backend;
}

/* PKCS #11 v2.40 §5.4: after fork the child must call C_Initialize; until it
 * does, every call fails as if the module were not initialised. */
CK_RV devid_p11m_check_init(void)
{
    if (!devid_p11m_state.initialized || devid_p11m_state.pid != getpid()) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    return CKR_OK;
}

CK_RV devid_p11m_backend_rv(CK_RV dflt)
{
    unsigned long e = ERR_peek_last_error();
    CK_RV rv = dflt;

    if (e != 0 && ERR_GET_LIB(e) == devid_err_lib()) {
        switch (ERR_GET_REASON(e)) {
        case DEVID_R_PIN_INCORRECT:
        case DEVID_R_PIN_REFUSED_BEFORE:
            rv = CKR_PIN_INCORRECT;
            break;
        case DEVID_R_PIN_LOCKED:
            rv = CKR_PIN_LOCKED;
            break;
        case DEVID_R_PIN_REQUIRED:
            rv = CKR_USER_NOT_LOGGED_IN;
            break;
        case DEVID_R_MALLOC:
            rv = CKR_HOST_MEMORY;
            break;
        case DEVID_R_TPM_UNREACHABLE:
        case DEVID_R_TPM_ERROR:
        case DEVID_R_TOKEN_ERROR:
        case DEVID_R_MODULE_LOAD:
            rv = CKR_DEVICE_ERROR;
            break;
        default:
            break;
        }
    }
    if (e != 0 && devid_debug_enabled()) {
        char text[256];

        ERR_error_string_n(e, text, sizeof(text));
        devid_debug_print("p11module", "backend: %s", text);
    }
    ERR_clear_error();
    return rv;
}

/* ---- C_Initialize, C_Finalize, C_GetInfo ------------------------------- */

/* The application's locking: v2.40 §5.4 table 8. The module uses its own
 * native locks, so it accepts CKF_OS_LOCKING_OK and no callbacks, or no
 * threads at all; callbacks without CKF_OS_LOCKING_OK cannot be honoured. */
static CK_RV devid_p11m_check_args(const CK_C_INITIALIZE_ARGS *a)
{
    int some = a->CreateMutex != NULL || a->DestroyMutex != NULL
               || a->LockMutex != NULL || a->UnlockMutex != NULL;
    int all = a->CreateMutex != NULL && a->DestroyMutex != NULL
              && a->LockMutex != NULL && a->UnlockMutex != NULL;

    if (some && !all) {
        return CKR_ARGUMENTS_BAD;
    }
    if (all && (a->flags & CKF_OS_LOCKING_OK) == 0) {
        return CKR_CANT_LOCK;
    }
    return CKR_OK;
}

/* Programs that never call C_Finalize (SunPKCS11, many p11-kit users)
 * still release the backends at exit: a TPM reached without a resource
 * manager (swtpm, /dev/tpm0) keeps a key's context loaded until someone
 * flushes it. Registered after OpenSSL's own exit handler, so it runs
 * first, while libcrypto still works; and tied to devid-pkcs11.so
 * (common/exit.h), so a program that unloads the module before exit does
 * not call it afterwards. */
static void devid_p11m_at_exit(void *arg)
{
    devid_p11m_lock();
    if (devid_p11m_state.initialized && devid_p11m_state.pid == getpid()) {
        devid_p11m_tokens_free(&devid_p11m_state, 0);
        memset(&devid_p11m_state, 0, sizeof(devid_p11m_state));
    }
    devid_p11m_unlock();
}

static CK_RV devid_p11m_initialize(CK_VOID_PTR init_args)
{
    CK_C_INITIALIZE_ARGS *a = init_args;
    const char *reserved = NULL;
    CK_RV rv;

    if (devid_p11m_in_backend) {
        return CKR_OK; /* loaded again by a backend's p11-kit proxy */
    }
    if (a != NULL) {
        rv = devid_p11m_check_args(a);
        if (rv != CKR_OK) {
            return rv;
        }
        reserved = a->pReserved;
    }
    /* OpenSSL's exit handler first, so that ours (below) runs before it */
    OPENSSL_init_crypto(0, NULL);
    devid_p11m_lock();
    if (devid_p11m_state.initialized && devid_p11m_state.pid == getpid()) {
        devid_p11m_unlock();
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    }
    if (devid_p11m_state.initialized) {
        /* a fork child: the parent's sessions and keys are not ours */
        devid_p11m_tokens_free(&devid_p11m_state, 1);
    }
    memset(&devid_p11m_state, 0, sizeof(devid_p11m_state));
    rv = devid_p11m_tokens_load(&devid_p11m_state, reserved);
    if (rv == CKR_OK) {
        devid_p11m_state.pid = getpid();
        devid_p11m_state.next_session = 1;
        devid_p11m_state.initialized = 1;
        if (!devid_p11m_exit_registered) {
            devid_p11m_exit_registered = devid_atexit(devid_p11m_at_exit);
        }
    }
    devid_p11m_unlock();
    return rv;
}

static CK_RV devid_p11m_finalize(CK_VOID_PTR reserved)
{
    CK_RV rv;

    if (devid_p11m_in_backend) {
        return CKR_OK;
    }
    if (reserved != NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    devid_p11m_lock();
    rv = devid_p11m_check_init();
    if (rv == CKR_OK) {
        devid_p11m_tokens_free(&devid_p11m_state, 0);
        memset(&devid_p11m_state, 0, sizeof(devid_p11m_state));
    }
    devid_p11m_unlock();
    return rv;
}

static void devid_p11m_pad(unsigned char *dst, const char *src, size_t len)
{
    size_t n = strlen(src);

    memset(dst, ' ', len);
    memcpy(dst, src, n < len ? n : len);
}

static CK_RV devid_p11m_get_info(CK_INFO_PTR info)
{
    if (!devid_p11m_in_backend && devid_p11m_check_init() != CKR_OK) {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    if (info == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    memset(info, 0, sizeof(*info));
    info->cryptokiVersion.major = 2;
    info->cryptokiVersion.minor = 40;
    devid_p11m_pad(info->manufacturerID, "devid", sizeof(info->manufacturerID));
    devid_p11m_pad(info->libraryDescription, "devid device identity",
                   sizeof(info->libraryDescription));
    info->libraryVersion.major = 0;
    info->libraryVersion.minor = 1;
    return CKR_OK;
}

/* ---- what a read-only identity token does not do ----------------------- */

#define DEVID_P11M_UNSUPPORTED(name, args)                                     \
    static CK_RV devid_p11m_##name args                                        \
    {                                                                          \
        return CKR_FUNCTION_NOT_SUPPORTED;                                     \
    }

DEVID_P11M_UNSUPPORTED(init_token, (CK_SLOT_ID a, CK_UTF8CHAR_PTR b, CK_ULONG c,
                                    CK_UTF8CHAR_PTR d))
DEVID_P11M_UNSUPPORTED(init_pin,
                       (CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c))
DEVID_P11M_UNSUPPORTED(set_pin, (CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b,
                                 CK_ULONG c, CK_UTF8CHAR_PTR d, CK_ULONG e))
DEVID_P11M_UNSUPPORTED(get_op_state,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c))
DEVID_P11M_UNSUPPORTED(set_op_state,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                        CK_OBJECT_HANDLE d, CK_OBJECT_HANDLE e))
DEVID_P11M_UNSUPPORTED(create_object, (CK_SESSION_HANDLE a, CK_ATTRIBUTE_PTR b,
                                       CK_ULONG c, CK_OBJECT_HANDLE_PTR d))
DEVID_P11M_UNSUPPORTED(copy_object,
                       (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b,
                        CK_ATTRIBUTE_PTR c, CK_ULONG d, CK_OBJECT_HANDLE_PTR e))
DEVID_P11M_UNSUPPORTED(destroy_object,
                       (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b))
DEVID_P11M_UNSUPPORTED(set_attribute_value,
                       (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b,
                        CK_ATTRIBUTE_PTR c, CK_ULONG d))
DEVID_P11M_UNSUPPORTED(encrypt_init, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
                                      CK_OBJECT_HANDLE c))
DEVID_P11M_UNSUPPORTED(encrypt, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                                 CK_BYTE_PTR d, CK_ULONG_PTR e))
DEVID_P11M_UNSUPPORTED(encrypt_update,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                        CK_BYTE_PTR d, CK_ULONG_PTR e))
DEVID_P11M_UNSUPPORTED(encrypt_final,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c))
DEVID_P11M_UNSUPPORTED(decrypt_update,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                        CK_BYTE_PTR d, CK_ULONG_PTR e))
DEVID_P11M_UNSUPPORTED(decrypt_final,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c))
DEVID_P11M_UNSUPPORTED(digest_init, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b))
DEVID_P11M_UNSUPPORTED(digest, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                                CK_BYTE_PTR d, CK_ULONG_PTR e))
DEVID_P11M_UNSUPPORTED(digest_update,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c))
DEVID_P11M_UNSUPPORTED(digest_key, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b))
DEVID_P11M_UNSUPPORTED(digest_final,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c))
DEVID_P11M_UNSUPPORTED(sign_recover_init,
                       (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
                        CK_OBJECT_HANDLE c))
DEVID_P11M_UNSUPPORTED(sign_recover,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                        CK_BYTE_PTR d, CK_ULONG_PTR e))
DEVID_P11M_UNSUPPORTED(verify_init, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
                                     CK_OBJECT_HANDLE c))
DEVID_P11M_UNSUPPORTED(verify, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                                CK_BYTE_PTR d, CK_ULONG e))
DEVID_P11M_UNSUPPORTED(verify_update,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c))
DEVID_P11M_UNSUPPORTED(verify_final,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c))
DEVID_P11M_UNSUPPORTED(verify_recover_init,
                       (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
                        CK_OBJECT_HANDLE c))
DEVID_P11M_UNSUPPORTED(verify_recover,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                        CK_BYTE_PTR d, CK_ULONG_PTR e))
DEVID_P11M_UNSUPPORTED(digest_encrypt_update,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                        CK_BYTE_PTR d, CK_ULONG_PTR e))
DEVID_P11M_UNSUPPORTED(decrypt_digest_update,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                        CK_BYTE_PTR d, CK_ULONG_PTR e))
DEVID_P11M_UNSUPPORTED(sign_encrypt_update,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                        CK_BYTE_PTR d, CK_ULONG_PTR e))
DEVID_P11M_UNSUPPORTED(decrypt_verify_update,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
                        CK_BYTE_PTR d, CK_ULONG_PTR e))
DEVID_P11M_UNSUPPORTED(generate_key,
                       (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
                        CK_ATTRIBUTE_PTR c, CK_ULONG d, CK_OBJECT_HANDLE_PTR e))
DEVID_P11M_UNSUPPORTED(generate_key_pair,
                       (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
                        CK_ATTRIBUTE_PTR c, CK_ULONG d, CK_ATTRIBUTE_PTR e,
                        CK_ULONG f, CK_OBJECT_HANDLE_PTR g,
                        CK_OBJECT_HANDLE_PTR h))
DEVID_P11M_UNSUPPORTED(wrap_key, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
                                  CK_OBJECT_HANDLE c, CK_OBJECT_HANDLE d,
                                  CK_BYTE_PTR e, CK_ULONG_PTR f))
DEVID_P11M_UNSUPPORTED(unwrap_key,
                       (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
                        CK_OBJECT_HANDLE c, CK_BYTE_PTR d, CK_ULONG e,
                        CK_ATTRIBUTE_PTR f, CK_ULONG g, CK_OBJECT_HANDLE_PTR h))
DEVID_P11M_UNSUPPORTED(seed_random,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c))
DEVID_P11M_UNSUPPORTED(generate_random,
                       (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c))
DEVID_P11M_UNSUPPORTED(wait_for_slot_event,
                       (CK_FLAGS a, CK_SLOT_ID_PTR b, CK_VOID_PTR c))

/* v2.40 §5.15: legacy functions that always say "not parallel" */
static CK_RV devid_p11m_get_function_status(CK_SESSION_HANDLE h)
{
    return CKR_FUNCTION_NOT_PARALLEL;
}

static CK_RV devid_p11m_cancel_function(CK_SESSION_HANDLE h)
{
    return CKR_FUNCTION_NOT_PARALLEL;
}

static CK_FUNCTION_LIST devid_p11m_functions = {
    { 2, 40 },
    devid_p11m_initialize,
    devid_p11m_finalize,
    devid_p11m_get_info,
    NULL, /* C_GetFunctionList, set below */
    devid_p11m_get_slot_list,
    devid_p11m_get_slot_info,
    devid_p11m_get_token_info,
    devid_p11m_get_mechanism_list,
    devid_p11m_get_mechanism_info,
    devid_p11m_init_token,
    devid_p11m_init_pin,
    devid_p11m_set_pin,
    devid_p11m_open_session,
    devid_p11m_close_session,
    devid_p11m_close_all_sessions,
    devid_p11m_get_session_info,
    devid_p11m_get_op_state,
    devid_p11m_set_op_state,
    devid_p11m_login_fn,
    devid_p11m_logout_fn,
    devid_p11m_create_object,
    devid_p11m_copy_object,
    devid_p11m_destroy_object,
    devid_p11m_get_object_size,
    devid_p11m_get_attribute_value,
    devid_p11m_set_attribute_value,
    devid_p11m_find_objects_init,
    devid_p11m_find_objects,
    devid_p11m_find_objects_final,
    devid_p11m_encrypt_init,
    devid_p11m_encrypt,
    devid_p11m_encrypt_update,
    devid_p11m_encrypt_final,
    devid_p11m_decrypt_init_fn,
    devid_p11m_decrypt_fn,
    devid_p11m_decrypt_update,
    devid_p11m_decrypt_final,
    devid_p11m_digest_init,
    devid_p11m_digest,
    devid_p11m_digest_update,
    devid_p11m_digest_key,
    devid_p11m_digest_final,
    devid_p11m_sign_init_fn,
    devid_p11m_sign_fn,
    devid_p11m_sign_update_fn,
    devid_p11m_sign_final_fn,
    devid_p11m_sign_recover_init,
    devid_p11m_sign_recover,
    devid_p11m_verify_init,
    devid_p11m_verify,
    devid_p11m_verify_update,
    devid_p11m_verify_final,
    devid_p11m_verify_recover_init,
    devid_p11m_verify_recover,
    devid_p11m_digest_encrypt_update,
    devid_p11m_decrypt_digest_update,
    devid_p11m_sign_encrypt_update,
    devid_p11m_decrypt_verify_update,
    devid_p11m_generate_key,
    devid_p11m_generate_key_pair,
    devid_p11m_wrap_key,
    devid_p11m_unwrap_key,
    devid_p11m_derive_key,
    devid_p11m_seed_random,
    devid_p11m_generate_random,
    devid_p11m_get_function_status,
    devid_p11m_cancel_function,
    devid_p11m_wait_for_slot_event,
};

/* The v2.40 entry point (§5.2); p11-kit uses it for v2 modules. */
__attribute__((visibility("default"))) CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    if (list == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    devid_p11m_functions.C_GetFunctionList = C_GetFunctionList;
    *list = &devid_p11m_functions;
    return CKR_OK;
}

/* PKCS #11 3.0's entry points (§5.2), offering the v2.40 function list as
 * the one interface, "PKCS 11". A consumer that looks for C_GetInterface
 * first (OpenSC 0.26's pkcs11-tool does) and found none here would get the
 * one of a library this module links: p11-kit 0.25's proxy, which serves
 * every registered module instead of devid's identities. p11-kit 0.24's
 * header has no v3.0 interface types: the layout is the standard's. */
#ifndef CKF_INTERFACE_FORK_SAFE
typedef struct devid_p11m_interface {
    char *pInterfaceName;
    void *pFunctionList;
    CK_FLAGS flags;
} CK_INTERFACE, *CK_INTERFACE_PTR, **CK_INTERFACE_PTR_PTR;
CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                     CK_INTERFACE_PTR_PTR iface, CK_FLAGS flags);
#endif

#define DEVID_P11M_INTERFACE "PKCS 11"
static CK_INTERFACE devid_p11m_interface = { (void *)DEVID_P11M_INTERFACE,
                                             &devid_p11m_functions, 0 };

__attribute__((visibility("default"))) CK_RV
C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
{
    CK_ULONG room;

    if (count == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    room = *count;
    *count = 1;
    if (list == NULL) {
        return CKR_OK;
    }
    if (room < 1) {
        return CKR_BUFFER_TOO_SMALL;
    }
    devid_p11m_functions.C_GetFunctionList = C_GetFunctionList;
    list[0] = devid_p11m_interface;
    return CKR_OK;
}

__attribute__((visibility("default"))) CK_RV
C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
               CK_INTERFACE_PTR_PTR iface, CK_FLAGS flags)
{
    if (iface == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    /* no other name, version or flag (fork safety) is on offer */
    if ((name != NULL && strcmp((const char *)name, DEVID_P11M_INTERFACE) != 0)
        || (version != NULL
            && (version->major != devid_p11m_functions.version.major
                || version->minor != devid_p11m_functions.version.minor))
        || flags != 0) {
        return CKR_ARGUMENTS_BAD;
    }
    devid_p11m_functions.C_GetFunctionList = C_GetFunctionList;
    *iface = &devid_p11m_interface;
    return CKR_OK;
}
