/* SPDX-License-Identifier: Apache-2.0 */
/* devid.so only: the p11-kit functions the PKCS#11 backend calls, as stubs
 * that load libp11-kit on the first call (common/lazy.h says why). Without
 * the library each returns what its callers take for a failure; p11-kit's
 * messages then give dlerror's text. One line per function the backend
 * calls: a new call needs a new line here. */
#include "config.h"

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include "common/lazy.h"

static struct devid_lazy_lib devid_lazy_p11kit = DEVID_LAZY_LIB(
    DEVID_SONAME_P11KIT);

/* ---- modules ------------------------------------------------------------- */

DEVID_LAZY_STUB(devid_lazy_p11kit, CK_FUNCTION_LIST **,
                p11_kit_modules_load_and_initialize, (int flags), (flags), NULL)
DEVID_LAZY_STUB(devid_lazy_p11kit, CK_FUNCTION_LIST *, p11_kit_module_load,
                (const char *module_path, int flags), (module_path, flags),
                NULL)
DEVID_LAZY_STUB(devid_lazy_p11kit, CK_RV, p11_kit_module_initialize,
                (CK_FUNCTION_LIST * module), (module), CKR_GENERAL_ERROR)
DEVID_LAZY_STUB(devid_lazy_p11kit, CK_RV, p11_kit_module_finalize,
                (CK_FUNCTION_LIST * module), (module), CKR_GENERAL_ERROR)
DEVID_LAZY_STUB_VOID(devid_lazy_p11kit, p11_kit_module_release,
                     (CK_FUNCTION_LIST * module), (module))
DEVID_LAZY_STUB(devid_lazy_p11kit, char *, p11_kit_module_get_name,
                (CK_FUNCTION_LIST * module), (module), NULL)
DEVID_LAZY_STUB(devid_lazy_p11kit, char *, p11_kit_module_get_filename,
                (CK_FUNCTION_LIST * module), (module), NULL)
DEVID_LAZY_STUB(devid_lazy_p11kit, const char *, p11_kit_message, (void), (),
                devid_lazy_error(&devid_lazy_p11kit))

/* ---- URIs ---------------------------------------------------------------- */

DEVID_LAZY_STUB(devid_lazy_p11kit, P11KitUri *, p11_kit_uri_new, (void), (),
                NULL)
DEVID_LAZY_STUB_VOID(devid_lazy_p11kit, p11_kit_uri_free, (P11KitUri * uri),
                     (uri))
DEVID_LAZY_STUB(devid_lazy_p11kit, int, p11_kit_uri_parse,
                (const char *string, P11KitUriType uri_type, P11KitUri *uri),
                (string, uri_type, uri), P11_KIT_URI_NO_MEMORY)
DEVID_LAZY_STUB(devid_lazy_p11kit, int, p11_kit_uri_format,
                (P11KitUri * uri, P11KitUriType uri_type, char **string),
                (uri, uri_type, string), P11_KIT_URI_NO_MEMORY)
DEVID_LAZY_STUB(devid_lazy_p11kit, const char *, p11_kit_uri_message,
                (int code), (code), devid_lazy_error(&devid_lazy_p11kit))
DEVID_LAZY_STUB(devid_lazy_p11kit, int, p11_kit_uri_any_unrecognized,
                (P11KitUri * uri), (uri), 0)
DEVID_LAZY_STUB(devid_lazy_p11kit, CK_ATTRIBUTE_PTR, p11_kit_uri_get_attribute,
                (P11KitUri * uri, CK_ATTRIBUTE_TYPE attr_type),
                (uri, attr_type), NULL)
DEVID_LAZY_STUB(devid_lazy_p11kit, int, p11_kit_uri_set_attribute,
                (P11KitUri * uri, CK_ATTRIBUTE_PTR attr), (uri, attr),
                P11_KIT_URI_NO_MEMORY)
DEVID_LAZY_STUB(devid_lazy_p11kit, const char *, p11_kit_uri_get_module_name,
                (const P11KitUri *uri), (uri), NULL)
DEVID_LAZY_STUB(devid_lazy_p11kit, const char *, p11_kit_uri_get_module_path,
                (const P11KitUri *uri), (uri), NULL)
DEVID_LAZY_STUB_VOID(devid_lazy_p11kit, p11_kit_uri_set_module_path,
                     (P11KitUri * uri, const char *path), (uri, path))
DEVID_LAZY_STUB(devid_lazy_p11kit, const char *, p11_kit_uri_get_pin_source,
                (const P11KitUri *uri), (uri), NULL)
DEVID_LAZY_STUB(devid_lazy_p11kit, const char *, p11_kit_uri_get_pin_value,
                (const P11KitUri *uri), (uri), NULL)
DEVID_LAZY_STUB(devid_lazy_p11kit, CK_SLOT_ID, p11_kit_uri_get_slot_id,
                (P11KitUri * uri), (uri), (CK_SLOT_ID)-1)
DEVID_LAZY_STUB(devid_lazy_p11kit, CK_TOKEN_INFO_PTR,
                p11_kit_uri_get_token_info, (P11KitUri * uri), (uri), NULL)
DEVID_LAZY_STUB(devid_lazy_p11kit, int, p11_kit_uri_match_module_info,
                (const P11KitUri *uri, const CK_INFO *info), (uri, info), 0)
DEVID_LAZY_STUB(devid_lazy_p11kit, int, p11_kit_uri_match_slot_info,
                (const P11KitUri *uri, const CK_SLOT_INFO *slot_info),
                (uri, slot_info), 0)
DEVID_LAZY_STUB(devid_lazy_p11kit, int, p11_kit_uri_match_token_info,
                (const P11KitUri *uri, const CK_TOKEN_INFO *token_info),
                (uri, token_info), 0)
