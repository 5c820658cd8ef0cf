/* SPDX-License-Identifier: Apache-2.0 */
/* The PKCS#11 functions the module implements (api.c), as module.c puts
 * them in the function list. */
#ifndef DEVID_P11M_API_H
#define DEVID_P11M_API_H

#include <p11-kit/pkcs11.h>

CK_RV devid_p11m_get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list,
                               CK_ULONG_PTR count);
CK_RV devid_p11m_get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info);
CK_RV devid_p11m_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info);
CK_RV devid_p11m_get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list,
                                    CK_ULONG_PTR count);
CK_RV devid_p11m_get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                                    CK_MECHANISM_INFO_PTR info);
CK_RV devid_p11m_open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app,
                              CK_NOTIFY notify, CK_SESSION_HANDLE_PTR out);
CK_RV devid_p11m_close_session(CK_SESSION_HANDLE h);
CK_RV devid_p11m_close_all_sessions(CK_SLOT_ID slot);
CK_RV devid_p11m_get_session_info(CK_SESSION_HANDLE h,
                                  CK_SESSION_INFO_PTR info);
CK_RV devid_p11m_login_fn(CK_SESSION_HANDLE h, CK_USER_TYPE user,
                          CK_UTF8CHAR_PTR pin, CK_ULONG pin_len);
CK_RV devid_p11m_logout_fn(CK_SESSION_HANDLE h);
CK_RV devid_p11m_get_object_size(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                                 CK_ULONG_PTR size);
CK_RV devid_p11m_get_attribute_value(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                                     CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);
CK_RV devid_p11m_find_objects_init(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                                   CK_ULONG n);
CK_RV devid_p11m_find_objects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out,
                              CK_ULONG max, CK_ULONG_PTR count);
CK_RV devid_p11m_find_objects_final(CK_SESSION_HANDLE h);
CK_RV devid_p11m_sign_init_fn(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                              CK_OBJECT_HANDLE key);
CK_RV devid_p11m_sign_fn(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG len,
                         CK_BYTE_PTR sig, CK_ULONG_PTR siglen);
CK_RV devid_p11m_sign_update_fn(CK_SESSION_HANDLE h, CK_BYTE_PTR data,
                                CK_ULONG len);
CK_RV devid_p11m_sign_final_fn(CK_SESSION_HANDLE h, CK_BYTE_PTR sig,
                               CK_ULONG_PTR siglen);
CK_RV devid_p11m_decrypt_init_fn(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                                 CK_OBJECT_HANDLE key);
CK_RV devid_p11m_decrypt_fn(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen,
                            CK_BYTE_PTR out, CK_ULONG_PTR outlen);
CK_RV devid_p11m_derive_key(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                            CK_OBJECT_HANDLE base, CK_ATTRIBUTE_PTR tmpl,
                            CK_ULONG n, CK_OBJECT_HANDLE_PTR out);

#endif
