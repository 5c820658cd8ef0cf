/* SPDX-License-Identifier: Apache-2.0 */
/* devid.so only: the tpm2-tss functions the TPM backend calls, as stubs
 * that load their library on the first call (common/lazy.h says why).
 * Without the library each returns a general failure of its layer, which
 * the backend reports as a TPM error with Tss2_RC_Decode's text: here,
 * dlerror's. One line per function the backend calls: a new call needs a
 * new line here. */
#include "config.h"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "common/lazy.h"

static struct devid_lazy_lib devid_lazy_esys = DEVID_LAZY_LIB(
    DEVID_SONAME_TSS2_ESYS);
static struct devid_lazy_lib devid_lazy_mu = DEVID_LAZY_LIB(
    DEVID_SONAME_TSS2_MU);
static struct devid_lazy_lib devid_lazy_rc = DEVID_LAZY_LIB(
    DEVID_SONAME_TSS2_RC);
static struct devid_lazy_lib devid_lazy_tctildr = DEVID_LAZY_LIB(
    DEVID_SONAME_TSS2_TCTILDR);

/* The ESYS stubs: every one returns TSS2_RC, ESYS's failure without it. */
#define DEVID_LAZY_ESYS(fn, params, args)                                      \
    DEVID_LAZY_STUB(devid_lazy_esys, TSS2_RC, fn, params, args,                \
                    TSS2_ESYS_RC_GENERAL_FAILURE)

/* ---- ESYS: contexts and resources ---------------------------------------- */

DEVID_LAZY_ESYS(Esys_Initialize,
                (ESYS_CONTEXT * *esys_context, TSS2_TCTI_CONTEXT *tcti,
                 TSS2_ABI_VERSION *abiVersion),
                (esys_context, tcti, abiVersion))
DEVID_LAZY_STUB_VOID(devid_lazy_esys, Esys_Finalize, (ESYS_CONTEXT * *context),
                     (context))
DEVID_LAZY_STUB_VOID(devid_lazy_esys, Esys_Free, (void *__ptr), (__ptr))
DEVID_LAZY_ESYS(Esys_TR_FromTPMPublic,
                (ESYS_CONTEXT * esysContext, TPM2_HANDLE tpm_handle,
                 ESYS_TR optionalSession1, ESYS_TR optionalSession2,
                 ESYS_TR optionalSession3, ESYS_TR *object),
                (esysContext, tpm_handle, optionalSession1, optionalSession2,
                 optionalSession3, object))
DEVID_LAZY_ESYS(Esys_TR_Close,
                (ESYS_CONTEXT * esys_context, ESYS_TR *rsrc_handle),
                (esys_context, rsrc_handle))
DEVID_LAZY_ESYS(Esys_TR_Deserialize,
                (ESYS_CONTEXT * esys_context, uint8_t const *buffer,
                 size_t buffer_size, ESYS_TR *esys_handle),
                (esys_context, buffer, buffer_size, esys_handle))
DEVID_LAZY_ESYS(Esys_TR_Serialize,
                (ESYS_CONTEXT * esys_context, ESYS_TR object, uint8_t **buffer,
                 size_t *buffer_size),
                (esys_context, object, buffer, buffer_size))
DEVID_LAZY_ESYS(Esys_TR_GetName,
                (ESYS_CONTEXT * esysContext, ESYS_TR handle, TPM2B_NAME **name),
                (esysContext, handle, name))
DEVID_LAZY_ESYS(Esys_TR_GetTpmHandle,
                (ESYS_CONTEXT * esys_context, ESYS_TR esys_handle,
                 TPM2_HANDLE *tpm_handle),
                (esys_context, esys_handle, tpm_handle))
DEVID_LAZY_ESYS(Esys_TR_SetAuth,
                (ESYS_CONTEXT * esysContext, ESYS_TR handle,
                 TPM2B_AUTH const *authValue),
                (esysContext, handle, authValue))
DEVID_LAZY_ESYS(Esys_ContextSave,
                (ESYS_CONTEXT * esysContext, ESYS_TR saveHandle,
                 TPMS_CONTEXT **context),
                (esysContext, saveHandle, context))
DEVID_LAZY_ESYS(Esys_ContextLoad,
                (ESYS_CONTEXT * esysContext, const TPMS_CONTEXT *context,
                 ESYS_TR *loadedHandle),
                (esysContext, context, loadedHandle))
DEVID_LAZY_ESYS(Esys_FlushContext,
                (ESYS_CONTEXT * esysContext, ESYS_TR flushHandle),
                (esysContext, flushHandle))
DEVID_LAZY_ESYS(Esys_GetCapability,
                (ESYS_CONTEXT * esysContext, ESYS_TR shandle1, ESYS_TR shandle2,
                 ESYS_TR shandle3, TPM2_CAP capability, UINT32 property,
                 UINT32 propertyCount, TPMI_YES_NO *moreData,
                 TPMS_CAPABILITY_DATA **capabilityData),
                (esysContext, shandle1, shandle2, shandle3, capability,
                 property, propertyCount, moreData, capabilityData))

/* ---- ESYS: keys ----------------------------------------------------------- */

DEVID_LAZY_ESYS(Esys_CreatePrimary,
                (ESYS_CONTEXT * esysContext, ESYS_TR primaryHandle,
                 ESYS_TR shandle1, ESYS_TR shandle2, ESYS_TR shandle3,
                 const TPM2B_SENSITIVE_CREATE *inSensitive,
                 const TPM2B_PUBLIC *inPublic, const TPM2B_DATA *outsideInfo,
                 const TPML_PCR_SELECTION *creationPCR, ESYS_TR *objectHandle,
                 TPM2B_PUBLIC **outPublic, TPM2B_CREATION_DATA **creationData,
                 TPM2B_DIGEST **creationHash,
                 TPMT_TK_CREATION **creationTicket),
                (esysContext, primaryHandle, shandle1, shandle2, shandle3,
                 inSensitive, inPublic, outsideInfo, creationPCR, objectHandle,
                 outPublic, creationData, creationHash, creationTicket))
DEVID_LAZY_ESYS(Esys_Create,
                (ESYS_CONTEXT * esysContext, ESYS_TR parentHandle,
                 ESYS_TR shandle1, ESYS_TR shandle2, ESYS_TR shandle3,
                 const TPM2B_SENSITIVE_CREATE *inSensitive,
                 const TPM2B_PUBLIC *inPublic, const TPM2B_DATA *outsideInfo,
                 const TPML_PCR_SELECTION *creationPCR,
                 TPM2B_PRIVATE **outPrivate, TPM2B_PUBLIC **outPublic,
                 TPM2B_CREATION_DATA **creationData,
                 TPM2B_DIGEST **creationHash,
                 TPMT_TK_CREATION **creationTicket),
                (esysContext, parentHandle, shandle1, shandle2, shandle3,
                 inSensitive, inPublic, outsideInfo, creationPCR, outPrivate,
                 outPublic, creationData, creationHash, creationTicket))
DEVID_LAZY_ESYS(Esys_Load,
                (ESYS_CONTEXT * esysContext, ESYS_TR parentHandle,
                 ESYS_TR shandle1, ESYS_TR shandle2, ESYS_TR shandle3,
                 const TPM2B_PRIVATE *inPrivate, const TPM2B_PUBLIC *inPublic,
                 ESYS_TR *objectHandle),
                (esysContext, parentHandle, shandle1, shandle2, shandle3,
                 inPrivate, inPublic, objectHandle))
DEVID_LAZY_ESYS(Esys_ReadPublic,
                (ESYS_CONTEXT * esysContext, ESYS_TR objectHandle,
                 ESYS_TR shandle1, ESYS_TR shandle2, ESYS_TR shandle3,
                 TPM2B_PUBLIC **outPublic, TPM2B_NAME **name,
                 TPM2B_NAME **qualifiedName),
                (esysContext, objectHandle, shandle1, shandle2, shandle3,
                 outPublic, name, qualifiedName))
DEVID_LAZY_ESYS(Esys_EvictControl,
                (ESYS_CONTEXT * esysContext, ESYS_TR auth, ESYS_TR objectHandle,
                 ESYS_TR shandle1, ESYS_TR shandle2, ESYS_TR shandle3,
                 TPMI_DH_PERSISTENT persistentHandle, ESYS_TR *newObjectHandle),
                (esysContext, auth, objectHandle, shandle1, shandle2, shandle3,
                 persistentHandle, newObjectHandle))

/* ---- ESYS: operations ----------------------------------------------------- */

DEVID_LAZY_ESYS(Esys_Sign,
                (ESYS_CONTEXT * esysContext, ESYS_TR keyHandle,
                 ESYS_TR shandle1, ESYS_TR shandle2, ESYS_TR shandle3,
                 const TPM2B_DIGEST *digest, const TPMT_SIG_SCHEME *inScheme,
                 const TPMT_TK_HASHCHECK *validation,
                 TPMT_SIGNATURE **signature),
                (esysContext, keyHandle, shandle1, shandle2, shandle3, digest,
                 inScheme, validation, signature))
DEVID_LAZY_ESYS(Esys_RSA_Decrypt,
                (ESYS_CONTEXT * esysContext, ESYS_TR keyHandle,
                 ESYS_TR shandle1, ESYS_TR shandle2, ESYS_TR shandle3,
                 const TPM2B_PUBLIC_KEY_RSA *cipherText,
                 const TPMT_RSA_DECRYPT *inScheme, const TPM2B_DATA *label,
                 TPM2B_PUBLIC_KEY_RSA **message),
                (esysContext, keyHandle, shandle1, shandle2, shandle3,
                 cipherText, inScheme, label, message))
DEVID_LAZY_ESYS(Esys_ECDH_ZGen,
                (ESYS_CONTEXT * esysContext, ESYS_TR keyHandle,
                 ESYS_TR shandle1, ESYS_TR shandle2, ESYS_TR shandle3,
                 const TPM2B_ECC_POINT *inPoint, TPM2B_ECC_POINT **outPoint),
                (esysContext, keyHandle, shandle1, shandle2, shandle3, inPoint,
                 outPoint))
DEVID_LAZY_ESYS(Esys_Hash,
                (ESYS_CONTEXT * esysContext, ESYS_TR shandle1, ESYS_TR shandle2,
                 ESYS_TR shandle3, const TPM2B_MAX_BUFFER *data,
                 TPMI_ALG_HASH hashAlg, ESYS_TR hierarchy,
                 TPM2B_DIGEST **outHash, TPMT_TK_HASHCHECK **validation),
                (esysContext, shandle1, shandle2, shandle3, data, hashAlg,
                 hierarchy, outHash, validation))
DEVID_LAZY_ESYS(Esys_HashSequenceStart,
                (ESYS_CONTEXT * esysContext, ESYS_TR shandle1, ESYS_TR shandle2,
                 ESYS_TR shandle3, const TPM2B_AUTH *auth,
                 TPMI_ALG_HASH hashAlg, ESYS_TR *sequenceHandle),
                (esysContext, shandle1, shandle2, shandle3, auth, hashAlg,
                 sequenceHandle))
DEVID_LAZY_ESYS(Esys_SequenceUpdate,
                (ESYS_CONTEXT * esysContext, ESYS_TR sequenceHandle,
                 ESYS_TR shandle1, ESYS_TR shandle2, ESYS_TR shandle3,
                 const TPM2B_MAX_BUFFER *buffer),
                (esysContext, sequenceHandle, shandle1, shandle2, shandle3,
                 buffer))
DEVID_LAZY_ESYS(Esys_SequenceComplete,
                (ESYS_CONTEXT * esysContext, ESYS_TR sequenceHandle,
                 ESYS_TR shandle1, ESYS_TR shandle2, ESYS_TR shandle3,
                 const TPM2B_MAX_BUFFER *buffer, ESYS_TR hierarchy,
                 TPM2B_DIGEST **result, TPMT_TK_HASHCHECK **validation),
                (esysContext, sequenceHandle, shandle1, shandle2, shandle3,
                 buffer, hierarchy, result, validation))

/* ---- ESYS: NV indices ----------------------------------------------------- */

DEVID_LAZY_ESYS(Esys_NV_DefineSpace,
                (ESYS_CONTEXT * esysContext, ESYS_TR authHandle,
                 ESYS_TR shandle1, ESYS_TR shandle2, ESYS_TR shandle3,
                 const TPM2B_AUTH *auth, const TPM2B_NV_PUBLIC *publicInfo,
                 ESYS_TR *nvHandle),
                (esysContext, authHandle, shandle1, shandle2, shandle3, auth,
                 publicInfo, nvHandle))
DEVID_LAZY_ESYS(Esys_NV_UndefineSpace,
                (ESYS_CONTEXT * esysContext, ESYS_TR authHandle,
                 ESYS_TR nvIndex, ESYS_TR shandle1, ESYS_TR shandle2,
                 ESYS_TR shandle3),
                (esysContext, authHandle, nvIndex, shandle1, shandle2,
                 shandle3))
DEVID_LAZY_ESYS(Esys_NV_ReadPublic,
                (ESYS_CONTEXT * esysContext, ESYS_TR nvIndex, ESYS_TR shandle1,
                 ESYS_TR shandle2, ESYS_TR shandle3, TPM2B_NV_PUBLIC **nvPublic,
                 TPM2B_NAME **nvName),
                (esysContext, nvIndex, shandle1, shandle2, shandle3, nvPublic,
                 nvName))
DEVID_LAZY_ESYS(Esys_NV_Read,
                (ESYS_CONTEXT * esysContext, ESYS_TR authHandle,
                 ESYS_TR nvIndex, ESYS_TR shandle1, ESYS_TR shandle2,
                 ESYS_TR shandle3, UINT16 size, UINT16 offset,
                 TPM2B_MAX_NV_BUFFER **data),
                (esysContext, authHandle, nvIndex, shandle1, shandle2, shandle3,
                 size, offset, data))
DEVID_LAZY_ESYS(Esys_NV_Write,
                (ESYS_CONTEXT * esysContext, ESYS_TR authHandle,
                 ESYS_TR nvIndex, ESYS_TR shandle1, ESYS_TR shandle2,
                 ESYS_TR shandle3, const TPM2B_MAX_NV_BUFFER *data,
                 UINT16 offset),
                (esysContext, authHandle, nvIndex, shandle1, shandle2, shandle3,
                 data, offset))

/* ---- marshalling (key files) ---------------------------------------------- */

#define DEVID_LAZY_MU(fn, params, args)                                        \
    DEVID_LAZY_STUB(devid_lazy_mu, TSS2_RC, fn, params, args,                  \
                    TSS2_MU_RC_GENERAL_FAILURE)

DEVID_LAZY_MU(Tss2_MU_TPM2B_PRIVATE_Marshal,
              (TPM2B_PRIVATE const *src, uint8_t buffer[], size_t buffer_size,
               size_t *offset),
              (src, buffer, buffer_size, offset))
DEVID_LAZY_MU(Tss2_MU_TPM2B_PRIVATE_Unmarshal,
              (uint8_t const buffer[], size_t buffer_size, size_t *offset,
               TPM2B_PRIVATE *dest),
              (buffer, buffer_size, offset, dest))
DEVID_LAZY_MU(Tss2_MU_TPM2B_PUBLIC_Marshal,
              (TPM2B_PUBLIC const *src, uint8_t buffer[], size_t buffer_size,
               size_t *offset),
              (src, buffer, buffer_size, offset))
DEVID_LAZY_MU(Tss2_MU_TPM2B_PUBLIC_Unmarshal,
              (uint8_t const buffer[], size_t buffer_size, size_t *offset,
               TPM2B_PUBLIC *dest),
              (buffer, buffer_size, offset, dest))
DEVID_LAZY_MU(Tss2_MU_TPMT_PUBLIC_Marshal,
              (TPMT_PUBLIC const *src, uint8_t buffer[], size_t buffer_size,
               size_t *offset),
              (src, buffer, buffer_size, offset))

/* ---- TCTI loader ---------------------------------------------------------- */

DEVID_LAZY_STUB(devid_lazy_tctildr, TSS2_RC, Tss2_TctiLdr_Initialize,
                (const char *nameConf, TSS2_TCTI_CONTEXT **context),
                (nameConf, context), TSS2_TCTI_RC_GENERAL_FAILURE)
DEVID_LAZY_STUB_VOID(devid_lazy_tctildr, Tss2_TctiLdr_Finalize,
                     (TSS2_TCTI_CONTEXT * *context), (context))

/* ---- response codes ------------------------------------------------------- */

/* The text of rc; when a library of tpm2-tss could not be loaded, why. */
const char *Tss2_RC_Decode(TSS2_RC rc)
{
    static void *slot;
    const char *(*real)(TSS2_RC) = NULL;
    const char *why = devid_lazy_error(&devid_lazy_esys);

    if (why == NULL) {
        why = devid_lazy_error(&devid_lazy_mu);
    }
    if (why == NULL) {
        why = devid_lazy_error(&devid_lazy_tctildr);
    }
    if (why != NULL) {
        return why;
    }
    *(void **)&real = devid_lazy_sym(&devid_lazy_rc, "Tss2_RC_Decode", &slot);
    if (real == NULL) {
        why = devid_lazy_error(&devid_lazy_rc);
        return why != NULL ? why : "tpm2-tss: Tss2_RC_Decode not found";
    }
    return real(rc);
}
