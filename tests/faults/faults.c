/* SPDX-License-Identifier: Apache-2.0 */
/* A pass-through PKCS#11 module for tests: it loads the real module (env
 * DEVID_FAULTS_MODULE, default SoftHSM2), forwards every call, counts the
 * calls per function and fails the ones named in env DEVID_FAULTS or by
 * devid_faults_set(), e.g. "C_Sign=CKR_DEVICE_ERROR,C_Login=0xa0". */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* the header's own (GNU) names match the function list it declares */
#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>

#define DEVID_FAULTS_EXPORT __attribute__((visibility("default")))
#define DEVID_FAULTS_DEFAULT "/usr/lib/softhsm/libsofthsm2.so"
#define DEVID_FAULTS_MAX 16

DEVID_FAULTS_EXPORT unsigned long devid_faults_count(const char *fn);
DEVID_FAULTS_EXPORT void devid_faults_reset(void);
DEVID_FAULTS_EXPORT int devid_faults_set(const char *spec);

static const char *const devid_faults_names[] = {"C_Initialize",
                                                 "C_Finalize",
                                                 "C_GetInfo",
                                                 "C_GetSlotList",
                                                 "C_GetSlotInfo",
                                                 "C_GetTokenInfo",
                                                 "C_WaitForSlotEvent",
                                                 "C_GetMechanismList",
                                                 "C_GetMechanismInfo",
                                                 "C_InitToken",
                                                 "C_InitPIN",
                                                 "C_SetPIN",
                                                 "C_OpenSession",
                                                 "C_CloseSession",
                                                 "C_CloseAllSessions",
                                                 "C_GetSessionInfo",
                                                 "C_GetOperationState",
                                                 "C_SetOperationState",
                                                 "C_Login",
                                                 "C_Logout",
                                                 "C_CreateObject",
                                                 "C_CopyObject",
                                                 "C_DestroyObject",
                                                 "C_GetObjectSize",
                                                 "C_GetAttributeValue",
                                                 "C_SetAttributeValue",
                                                 "C_FindObjectsInit",
                                                 "C_FindObjects",
                                                 "C_FindObjectsFinal",
                                                 "C_EncryptInit",
                                                 "C_Encrypt",
                                                 "C_EncryptUpdate",
                                                 "C_EncryptFinal",
                                                 "C_DecryptInit",
                                                 "C_Decrypt",
                                                 "C_DecryptUpdate",
                                                 "C_DecryptFinal",
                                                 "C_DigestInit",
                                                 "C_Digest",
                                                 "C_DigestUpdate",
                                                 "C_DigestKey",
                                                 "C_DigestFinal",
                                                 "C_SignInit",
                                                 "C_Sign",
                                                 "C_SignUpdate",
                                                 "C_SignFinal",
                                                 "C_SignRecoverInit",
                                                 "C_SignRecover",
                                                 "C_VerifyInit",
                                                 "C_Verify",
                                                 "C_VerifyUpdate",
                                                 "C_VerifyFinal",
                                                 "C_VerifyRecoverInit",
                                                 "C_VerifyRecover",
                                                 "C_DigestEncryptUpdate",
                                                 "C_DecryptDigestUpdate",
                                                 "C_SignEncryptUpdate",
                                                 "C_DecryptVerifyUpdate",
                                                 "C_GenerateKey",
                                                 "C_GenerateKeyPair",
                                                 "C_WrapKey",
                                                 "C_UnwrapKey",
                                                 "C_DeriveKey",
                                                 "C_SeedRandom",
                                                 "C_GenerateRandom",
                                                 "C_GetFunctionStatus",
                                                 "C_CancelFunction",
                                                 NULL};

#define DEVID_FAULTS_NFN (sizeof(devid_faults_names) / sizeof(char *) - 1)

static pthread_mutex_t devid_faults_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long devid_faults_counts[DEVID_FAULTS_NFN];
static struct {
    char fn[40];
    ck_rv_t rv;
} devid_faults_fail[DEVID_FAULTS_MAX];
static size_t devid_faults_nfail;
static int devid_faults_explicit;  /* devid_faults_set was called */
static char devid_faults_env[512]; /* DEVID_FAULTS last parsed */
static void *devid_faults_dl;
static struct ck_function_list *devid_faults_real;
static int devid_faults_inits;

static const struct {
    const char *name;
    ck_rv_t rv;
} devid_faults_rvs[] = {
    {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
    {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
    {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
    {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
    {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
    {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
    {"CKR_PIN_LOCKED", CKR_PIN_LOCKED},
    {"CKR_KEY_FUNCTION_NOT_PERMITTED", CKR_KEY_FUNCTION_NOT_PERMITTED},
    {"CKR_KEY_HANDLE_INVALID", CKR_KEY_HANDLE_INVALID},
    {"CKR_MECHANISM_INVALID", CKR_MECHANISM_INVALID},
    {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
    {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN},
    {"CKR_BUFFER_TOO_SMALL", CKR_BUFFER_TOO_SMALL},
    {"CKR_HOST_MEMORY", CKR_HOST_MEMORY},
    {NULL, 0}};

static int devid_faults_rv_parse(const char *s, ck_rv_t *rv)
{
    char *endp = NULL;
    size_t i;

    for (i = 0; devid_faults_rvs[i].name != NULL; i++) {
        if (strcmp(devid_faults_rvs[i].name, s) == 0) {
            *rv = devid_faults_rvs[i].rv;
            return 1;
        }
    }
    *rv = strtoul(s, &endp, 0);
    return endp != s && *endp == '\0';
}

/* Called with the lock held. */
static int devid_faults_parse(const char *spec)
{
    char buf[512];
    char *save = NULL;
    char *item;

    devid_faults_nfail = 0;
    if (spec == NULL) {
        return 1;
    }
    snprintf(buf, sizeof(buf), "%s", spec);
    for (item = strtok_r(buf, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');

        if (eq == NULL || devid_faults_nfail == DEVID_FAULTS_MAX) {
            return 0;
        }
        *eq = '\0';
        snprintf(devid_faults_fail[devid_faults_nfail].fn,
                 sizeof(devid_faults_fail[0].fn), "%s", item);
        if (!devid_faults_rv_parse(eq + 1,
                                   &devid_faults_fail[devid_faults_nfail].rv)) {
            return 0;
        }
        devid_faults_nfail++;
    }
    return 1;
}

int devid_faults_set(const char *spec)
{
    int ok;

    pthread_mutex_lock(&devid_faults_lock);
    devid_faults_explicit = 1;
    ok = devid_faults_parse(spec);
    pthread_mutex_unlock(&devid_faults_lock);
    return ok;
}

unsigned long devid_faults_count(const char *fn)
{
    unsigned long n = 0;
    size_t i;

    pthread_mutex_lock(&devid_faults_lock);
    for (i = 0; i < DEVID_FAULTS_NFN; i++) {
        if (strcmp(devid_faults_names[i], fn) == 0) {
            n = devid_faults_counts[i];
        }
    }
    pthread_mutex_unlock(&devid_faults_lock);
    return n;
}

void devid_faults_reset(void)
{
    pthread_mutex_lock(&devid_faults_lock);
    memset(devid_faults_counts, 0, sizeof(devid_faults_counts));
    pthread_mutex_unlock(&devid_faults_lock);
}

/* Counts the call; returns 1 with *rv set when the call must fail. */
static int devid_faults_enter(const char *fn, ck_rv_t *rv)
{
    int fail = 0;
    size_t i;

    pthread_mutex_lock(&devid_faults_lock);
    /* the environment is followed until devid_faults_set takes over */
    if (!devid_faults_explicit) {
        const char *env = getenv("DEVID_FAULTS");

        if (env == NULL) {
            env = "";
        }
        if (strcmp(env, devid_faults_env) != 0) {
            snprintf(devid_faults_env, sizeof(devid_faults_env), "%s", env);
            devid_faults_parse(devid_faults_env);
        }
    }
    for (i = 0; i < DEVID_FAULTS_NFN; i++) {
        if (strcmp(devid_faults_names[i], fn) == 0) {
            devid_faults_counts[i]++;
        }
    }
    for (i = 0; i < devid_faults_nfail; i++) {
        if (strcmp(devid_faults_fail[i].fn, fn) == 0) {
            *rv = devid_faults_fail[i].rv;
            fail = 1;
        }
    }
    if (!fail && devid_faults_real == NULL && strcmp(fn, "C_Initialize") != 0) {
        *rv = CKR_CRYPTOKI_NOT_INITIALIZED;
        fail = 1;
    }
    pthread_mutex_unlock(&devid_faults_lock);
    return fail;
}

static int devid_faults_load(void)
{
    const char *path = getenv("DEVID_FAULTS_MODULE");
    ck_rv_t (*get)(struct ck_function_list **) = NULL;

    if (devid_faults_real != NULL) {
        return 1;
    }
    devid_faults_dl = dlopen(path != NULL ? path : DEVID_FAULTS_DEFAULT,
                             RTLD_NOW | RTLD_LOCAL);
    if (devid_faults_dl == NULL) {
        return 0;
    }
    *(void **)&get = dlsym(devid_faults_dl, "C_GetFunctionList");
    return get != NULL && get(&devid_faults_real) == CKR_OK;
}

/* The real module may already be initialised by its other users in this
 * process (the same SoftHSM loaded directly): that is not an error here,
 * and only the initialisation made here is finalized here. */
static ck_rv_t devid_faults_C_Initialize(void *init_args)
{
    ck_rv_t rv = CKR_OK;

    if (devid_faults_enter("C_Initialize", &rv)) {
        return rv;
    }
    if (!devid_faults_load()) {
        return CKR_GENERAL_ERROR;
    }
    rv = devid_faults_real->C_Initialize(init_args);
    if (CKR_OK == rv) {
        devid_faults_inits = 1;
    }
    return CKR_CRYPTOKI_ALREADY_INITIALIZED == rv ? CKR_OK : rv;
}

static ck_rv_t devid_faults_C_Finalize(void *reserved)
{
    ck_rv_t rv = CKR_OK;

    if (devid_faults_enter("C_Finalize", &rv)) {
        return rv;
    }
    if (devid_faults_inits) {
        devid_faults_inits = 0;
        return devid_faults_real->C_Finalize(reserved);
    }
    return CKR_OK;
}

/* One forwarder per function: count, maybe fail, else call through. */
#define DEVID_FAULTS_FWD(name, params, args)                                   \
    static ck_rv_t devid_faults_##name params                                  \
    {                                                                          \
        ck_rv_t rv = CKR_OK;                                                   \
                                                                               \
        if (devid_faults_enter(#name, &rv)) {                                  \
            return rv;                                                         \
        }                                                                      \
        return devid_faults_real->name args;                                   \
    }

DEVID_FAULTS_FWD(C_GetInfo, (struct ck_info * info), (info))

DEVID_FAULTS_FWD(C_GetSlotList,
                 (unsigned char token_present, ck_slot_id_t *slot_list,
                  unsigned long *count),
                 (token_present, slot_list, count))

DEVID_FAULTS_FWD(C_GetSlotInfo,
                 (ck_slot_id_t slot_id, struct ck_slot_info *info),
                 (slot_id, info))

DEVID_FAULTS_FWD(C_GetTokenInfo,
                 (ck_slot_id_t slot_id, struct ck_token_info *info),
                 (slot_id, info))

DEVID_FAULTS_FWD(C_WaitForSlotEvent,
                 (ck_flags_t flags, ck_slot_id_t *slot, void *reserved),
                 (flags, slot, reserved))

DEVID_FAULTS_FWD(C_GetMechanismList,
                 (ck_slot_id_t slot_id, ck_mechanism_type_t *mechanism_list,
                  unsigned long *count),
                 (slot_id, mechanism_list, count))

DEVID_FAULTS_FWD(C_GetMechanismInfo,
                 (ck_slot_id_t slot_id, ck_mechanism_type_t type,
                  struct ck_mechanism_info *info),
                 (slot_id, type, info))

DEVID_FAULTS_FWD(C_InitToken,
                 (ck_slot_id_t slot_id, unsigned char *pin,
                  unsigned long pin_len, unsigned char *label),
                 (slot_id, pin, pin_len, label))

DEVID_FAULTS_FWD(C_InitPIN,
                 (ck_session_handle_t session, unsigned char *pin,
                  unsigned long pin_len),
                 (session, pin, pin_len))

DEVID_FAULTS_FWD(C_SetPIN,
                 (ck_session_handle_t session, unsigned char *old_pin,
                  unsigned long old_len, unsigned char *new_pin,
                  unsigned long new_len),
                 (session, old_pin, old_len, new_pin, new_len))

DEVID_FAULTS_FWD(C_OpenSession,
                 (ck_slot_id_t slot_id, ck_flags_t flags, void *application,
                  ck_notify_t notify, ck_session_handle_t *session),
                 (slot_id, flags, application, notify, session))

DEVID_FAULTS_FWD(C_CloseSession, (ck_session_handle_t session), (session))

DEVID_FAULTS_FWD(C_CloseAllSessions, (ck_slot_id_t slot_id), (slot_id))

DEVID_FAULTS_FWD(C_GetSessionInfo,
                 (ck_session_handle_t session, struct ck_session_info *info),
                 (session, info))

DEVID_FAULTS_FWD(C_GetOperationState,
                 (ck_session_handle_t session, unsigned char *operation_state,
                  unsigned long *operation_state_len),
                 (session, operation_state, operation_state_len))

DEVID_FAULTS_FWD(C_SetOperationState,
                 (ck_session_handle_t session, unsigned char *operation_state,
                  unsigned long operation_state_len,
                  ck_object_handle_t encryption_key,
                  ck_object_handle_t authentiation_key),
                 (session, operation_state, operation_state_len, encryption_key,
                  authentiation_key))

DEVID_FAULTS_FWD(C_Login,
                 (ck_session_handle_t session, ck_user_type_t user_type,
                  unsigned char *pin, unsigned long pin_len),
                 (session, user_type, pin, pin_len))

DEVID_FAULTS_FWD(C_Logout, (ck_session_handle_t session), (session))

DEVID_FAULTS_FWD(C_CreateObject,
                 (ck_session_handle_t session, struct ck_attribute *templ,
                  unsigned long count, ck_object_handle_t *object),
                 (session, templ, count, object))

DEVID_FAULTS_FWD(C_CopyObject,
                 (ck_session_handle_t session, ck_object_handle_t object,
                  struct ck_attribute *templ, unsigned long count,
                  ck_object_handle_t *new_object),
                 (session, object, templ, count, new_object))

DEVID_FAULTS_FWD(C_DestroyObject,
                 (ck_session_handle_t session, ck_object_handle_t object),
                 (session, object))

DEVID_FAULTS_FWD(C_GetObjectSize,
                 (ck_session_handle_t session, ck_object_handle_t object,
                  unsigned long *size),
                 (session, object, size))

DEVID_FAULTS_FWD(C_GetAttributeValue,
                 (ck_session_handle_t session, ck_object_handle_t object,
                  struct ck_attribute *templ, unsigned long count),
                 (session, object, templ, count))

DEVID_FAULTS_FWD(C_SetAttributeValue,
                 (ck_session_handle_t session, ck_object_handle_t object,
                  struct ck_attribute *templ, unsigned long count),
                 (session, object, templ, count))

DEVID_FAULTS_FWD(C_FindObjectsInit,
                 (ck_session_handle_t session, struct ck_attribute *templ,
                  unsigned long count),
                 (session, templ, count))

DEVID_FAULTS_FWD(C_FindObjects,
                 (ck_session_handle_t session, ck_object_handle_t *object,
                  unsigned long max_object_count, unsigned long *object_count),
                 (session, object, max_object_count, object_count))

DEVID_FAULTS_FWD(C_FindObjectsFinal, (ck_session_handle_t session), (session))

DEVID_FAULTS_FWD(C_EncryptInit,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  ck_object_handle_t key),
                 (session, mechanism, key))

DEVID_FAULTS_FWD(C_Encrypt,
                 (ck_session_handle_t session, unsigned char *data,
                  unsigned long data_len, unsigned char *encrypted_data,
                  unsigned long *encrypted_data_len),
                 (session, data, data_len, encrypted_data, encrypted_data_len))

DEVID_FAULTS_FWD(C_EncryptUpdate,
                 (ck_session_handle_t session, unsigned char *part,
                  unsigned long part_len, unsigned char *encrypted_part,
                  unsigned long *encrypted_part_len),
                 (session, part, part_len, encrypted_part, encrypted_part_len))

DEVID_FAULTS_FWD(C_EncryptFinal,
                 (ck_session_handle_t session,
                  unsigned char *last_encrypted_part,
                  unsigned long *last_encrypted_part_len),
                 (session, last_encrypted_part, last_encrypted_part_len))

DEVID_FAULTS_FWD(C_DecryptInit,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  ck_object_handle_t key),
                 (session, mechanism, key))

DEVID_FAULTS_FWD(C_Decrypt,
                 (ck_session_handle_t session, unsigned char *encrypted_data,
                  unsigned long encrypted_data_len, unsigned char *data,
                  unsigned long *data_len),
                 (session, encrypted_data, encrypted_data_len, data, data_len))

DEVID_FAULTS_FWD(C_DecryptUpdate,
                 (ck_session_handle_t session, unsigned char *encrypted_part,
                  unsigned long encrypted_part_len, unsigned char *part,
                  unsigned long *part_len),
                 (session, encrypted_part, encrypted_part_len, part, part_len))

DEVID_FAULTS_FWD(C_DecryptFinal,
                 (ck_session_handle_t session, unsigned char *last_part,
                  unsigned long *last_part_len),
                 (session, last_part, last_part_len))

DEVID_FAULTS_FWD(C_DigestInit,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism),
                 (session, mechanism))

DEVID_FAULTS_FWD(C_Digest,
                 (ck_session_handle_t session, unsigned char *data,
                  unsigned long data_len, unsigned char *digest,
                  unsigned long *digest_len),
                 (session, data, data_len, digest, digest_len))

DEVID_FAULTS_FWD(C_DigestUpdate,
                 (ck_session_handle_t session, unsigned char *part,
                  unsigned long part_len),
                 (session, part, part_len))

DEVID_FAULTS_FWD(C_DigestKey,
                 (ck_session_handle_t session, ck_object_handle_t key),
                 (session, key))

DEVID_FAULTS_FWD(C_DigestFinal,
                 (ck_session_handle_t session, unsigned char *digest,
                  unsigned long *digest_len),
                 (session, digest, digest_len))

DEVID_FAULTS_FWD(C_SignInit,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  ck_object_handle_t key),
                 (session, mechanism, key))

DEVID_FAULTS_FWD(C_Sign,
                 (ck_session_handle_t session, unsigned char *data,
                  unsigned long data_len, unsigned char *signature,
                  unsigned long *signature_len),
                 (session, data, data_len, signature, signature_len))

DEVID_FAULTS_FWD(C_SignUpdate,
                 (ck_session_handle_t session, unsigned char *part,
                  unsigned long part_len),
                 (session, part, part_len))

DEVID_FAULTS_FWD(C_SignFinal,
                 (ck_session_handle_t session, unsigned char *signature,
                  unsigned long *signature_len),
                 (session, signature, signature_len))

DEVID_FAULTS_FWD(C_SignRecoverInit,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  ck_object_handle_t key),
                 (session, mechanism, key))

DEVID_FAULTS_FWD(C_SignRecover,
                 (ck_session_handle_t session, unsigned char *data,
                  unsigned long data_len, unsigned char *signature,
                  unsigned long *signature_len),
                 (session, data, data_len, signature, signature_len))

DEVID_FAULTS_FWD(C_VerifyInit,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  ck_object_handle_t key),
                 (session, mechanism, key))

DEVID_FAULTS_FWD(C_Verify,
                 (ck_session_handle_t session, unsigned char *data,
                  unsigned long data_len, unsigned char *signature,
                  unsigned long signature_len),
                 (session, data, data_len, signature, signature_len))

DEVID_FAULTS_FWD(C_VerifyUpdate,
                 (ck_session_handle_t session, unsigned char *part,
                  unsigned long part_len),
                 (session, part, part_len))

DEVID_FAULTS_FWD(C_VerifyFinal,
                 (ck_session_handle_t session, unsigned char *signature,
                  unsigned long signature_len),
                 (session, signature, signature_len))

DEVID_FAULTS_FWD(C_VerifyRecoverInit,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  ck_object_handle_t key),
                 (session, mechanism, key))

DEVID_FAULTS_FWD(C_VerifyRecover,
                 (ck_session_handle_t session, unsigned char *signature,
                  unsigned long signature_len, unsigned char *data,
                  unsigned long *data_len),
                 (session, signature, signature_len, data, data_len))

DEVID_FAULTS_FWD(C_DigestEncryptUpdate,
                 (ck_session_handle_t session, unsigned char *part,
                  unsigned long part_len, unsigned char *encrypted_part,
                  unsigned long *encrypted_part_len),
                 (session, part, part_len, encrypted_part, encrypted_part_len))

DEVID_FAULTS_FWD(C_DecryptDigestUpdate,
                 (ck_session_handle_t session, unsigned char *encrypted_part,
                  unsigned long encrypted_part_len, unsigned char *part,
                  unsigned long *part_len),
                 (session, encrypted_part, encrypted_part_len, part, part_len))

DEVID_FAULTS_FWD(C_SignEncryptUpdate,
                 (ck_session_handle_t session, unsigned char *part,
                  unsigned long part_len, unsigned char *encrypted_part,
                  unsigned long *encrypted_part_len),
                 (session, part, part_len, encrypted_part, encrypted_part_len))

DEVID_FAULTS_FWD(C_DecryptVerifyUpdate,
                 (ck_session_handle_t session, unsigned char *encrypted_part,
                  unsigned long encrypted_part_len, unsigned char *part,
                  unsigned long *part_len),
                 (session, encrypted_part, encrypted_part_len, part, part_len))

DEVID_FAULTS_FWD(C_GenerateKey,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  struct ck_attribute *templ, unsigned long count,
                  ck_object_handle_t *key),
                 (session, mechanism, templ, count, key))

DEVID_FAULTS_FWD(C_GenerateKeyPair,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  struct ck_attribute *public_key_template,
                  unsigned long public_key_attribute_count,
                  struct ck_attribute *private_key_template,
                  unsigned long private_key_attribute_count,
                  ck_object_handle_t *public_key,
                  ck_object_handle_t *private_key),
                 (session, mechanism, public_key_template,
                  public_key_attribute_count, private_key_template,
                  private_key_attribute_count, public_key, private_key))

DEVID_FAULTS_FWD(C_WrapKey,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  ck_object_handle_t wrapping_key, ck_object_handle_t key,
                  unsigned char *wrapped_key, unsigned long *wrapped_key_len),
                 (session, mechanism, wrapping_key, key, wrapped_key,
                  wrapped_key_len))

DEVID_FAULTS_FWD(C_UnwrapKey,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  ck_object_handle_t unwrapping_key, unsigned char *wrapped_key,
                  unsigned long wrapped_key_len, struct ck_attribute *templ,
                  unsigned long attribute_count, ck_object_handle_t *key),
                 (session, mechanism, unwrapping_key, wrapped_key,
                  wrapped_key_len, templ, attribute_count, key))

DEVID_FAULTS_FWD(C_DeriveKey,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  ck_object_handle_t base_key, struct ck_attribute *templ,
                  unsigned long attribute_count, ck_object_handle_t *key),
                 (session, mechanism, base_key, templ, attribute_count, key))

DEVID_FAULTS_FWD(C_SeedRandom,
                 (ck_session_handle_t session, unsigned char *seed,
                  unsigned long seed_len),
                 (session, seed, seed_len))

DEVID_FAULTS_FWD(C_GenerateRandom,
                 (ck_session_handle_t session, unsigned char *random_data,
                  unsigned long random_len),
                 (session, random_data, random_len))

DEVID_FAULTS_FWD(C_GetFunctionStatus, (ck_session_handle_t session), (session))

DEVID_FAULTS_FWD(C_CancelFunction, (ck_session_handle_t session), (session))

static struct ck_function_list devid_faults_list = {
    {2, 40},
    devid_faults_C_Initialize,
    devid_faults_C_Finalize,
    devid_faults_C_GetInfo,
    C_GetFunctionList,
    devid_faults_C_GetSlotList,
    devid_faults_C_GetSlotInfo,
    devid_faults_C_GetTokenInfo,
    devid_faults_C_GetMechanismList,
    devid_faults_C_GetMechanismInfo,
    devid_faults_C_InitToken,
    devid_faults_C_InitPIN,
    devid_faults_C_SetPIN,
    devid_faults_C_OpenSession,
    devid_faults_C_CloseSession,
    devid_faults_C_CloseAllSessions,
    devid_faults_C_GetSessionInfo,
    devid_faults_C_GetOperationState,
    devid_faults_C_SetOperationState,
    devid_faults_C_Login,
    devid_faults_C_Logout,
    devid_faults_C_CreateObject,
    devid_faults_C_CopyObject,
    devid_faults_C_DestroyObject,
    devid_faults_C_GetObjectSize,
    devid_faults_C_GetAttributeValue,
    devid_faults_C_SetAttributeValue,
    devid_faults_C_FindObjectsInit,
    devid_faults_C_FindObjects,
    devid_faults_C_FindObjectsFinal,
    devid_faults_C_EncryptInit,
    devid_faults_C_Encrypt,
    devid_faults_C_EncryptUpdate,
    devid_faults_C_EncryptFinal,
    devid_faults_C_DecryptInit,
    devid_faults_C_Decrypt,
    devid_faults_C_DecryptUpdate,
    devid_faults_C_DecryptFinal,
    devid_faults_C_DigestInit,
    devid_faults_C_Digest,
    devid_faults_C_DigestUpdate,
    devid_faults_C_DigestKey,
    devid_faults_C_DigestFinal,
    devid_faults_C_SignInit,
    devid_faults_C_Sign,
    devid_faults_C_SignUpdate,
    devid_faults_C_SignFinal,
    devid_faults_C_SignRecoverInit,
    devid_faults_C_SignRecover,
    devid_faults_C_VerifyInit,
    devid_faults_C_Verify,
    devid_faults_C_VerifyUpdate,
    devid_faults_C_VerifyFinal,
    devid_faults_C_VerifyRecoverInit,
    devid_faults_C_VerifyRecover,
    devid_faults_C_DigestEncryptUpdate,
    devid_faults_C_DecryptDigestUpdate,
    devid_faults_C_SignEncryptUpdate,
    devid_faults_C_DecryptVerifyUpdate,
    devid_faults_C_GenerateKey,
    devid_faults_C_GenerateKeyPair,
    devid_faults_C_WrapKey,
    devid_faults_C_UnwrapKey,
    devid_faults_C_DeriveKey,
    devid_faults_C_SeedRandom,
    devid_faults_C_GenerateRandom,
    devid_faults_C_GetFunctionStatus,
    devid_faults_C_CancelFunction,
    devid_faults_C_WaitForSlotEvent};

DEVID_FAULTS_EXPORT ck_rv_t C_GetFunctionList(struct ck_function_list **list)
{
    if (list == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    *list = &devid_faults_list;
    return CKR_OK;
}
