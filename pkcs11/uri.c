/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 7512 pkcs11: URIs, parsed and matched with p11-kit, and the canonical
 * URI that names a key found in a token. */
#include "config.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "pkcs11/p11.h"

/* RFC 7512 §2.3: attribute values end at ';' (path) or '&' (query). */
static size_t devid_p11_uri_value_len(const char *v)
{
    return strcspn(v, ";?&");
}

char *devid_p11_uri_redact(const char *text)
{
    static const char key[] = "pin-value=";
    size_t len = strlen(text);
    /* each value becomes "***": at most 3 more bytes per 10-byte key */
    char *out = OPENSSL_malloc(2 * len + 4);
    const char *p = text;
    char *o = out;

    if (out == NULL) {
        return NULL;
    }
    while (*p != '\0') {
        int at_attr = p == text || p[-1] == ';' || p[-1] == '?'
                      || p[-1] == '&' || p[-1] == ':';

        if (at_attr && strncmp(p, key, sizeof(key) - 1) == 0) {
            size_t vlen = devid_p11_uri_value_len(p + sizeof(key) - 1);

            memcpy(o, key, sizeof(key) - 1);
            o += sizeof(key) - 1;
            memcpy(o, "***", 3);
            o += 3;
            p += sizeof(key) - 1 + vlen;
            continue;
        }
        *o++ = *p++;
    }
    *o = '\0';
    return out;
}

void devid_p11_uri_free(struct devid_p11_uri *u)
{
    const char *pin = NULL;

    if (u == NULL) {
        return;
    }
    /* p11-kit frees its copy of pin-value without wiping it: wipe it here
     * (the storage is p11-kit's own heap string) */
    pin = u->uri != NULL ? p11_kit_uri_get_pin_value(u->uri) : NULL;
    if (pin != NULL) {
        OPENSSL_cleanse((char *)(uintptr_t)pin, strlen(pin));
    }
    p11_kit_uri_free(u->uri);
    OPENSSL_free(u->safe);
    OPENSSL_free(u);
}

static int devid_p11_uri_check_class(struct devid_prov *prov,
                                     struct devid_p11_uri *u)
{
    CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(u->uri, CKA_CLASS);

    if (a == NULL) {
        return 1;
    }
    if (a->ulValueLen != sizeof(CK_OBJECT_CLASS)) {
        DEVID_RAISE(prov, DEVID_R_BAD_URI, "%s: bad type", u->safe);
        return 0;
    }
    memcpy(&u->cls, a->pValue, sizeof(u->cls));
    u->has_class = 1;
    return 1;
}

int devid_p11_uri_parse(struct devid_prov *prov, const char *text,
                        struct devid_p11_uri **out)
{
    struct devid_p11_uri *u = NULL;
    int rc;
    int ret = 0;

    *out = NULL;
    u = OPENSSL_zalloc(sizeof(*u));
    if (u == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "pkcs11 URI");
        goto end;
    }
    u->safe = devid_p11_uri_redact(text);
    u->uri = p11_kit_uri_new();
    if (u->safe == NULL || u->uri == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "pkcs11 URI");
        goto end;
    }
    rc = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, u->uri);
    if (rc != P11_KIT_URI_OK) {
        DEVID_RAISE(prov, DEVID_R_BAD_URI, "%s: %s", u->safe,
                    p11_kit_uri_message(rc));
        goto end;
    }
    /* p11-kit keeps unknown path attributes as "unrecognized" and then
     * matches nothing; a typo deserves an error rather than "not found" */
    if (p11_kit_uri_any_unrecognized(u->uri)) {
        DEVID_RAISE(prov, DEVID_R_BAD_URI, "%s: unknown attribute", u->safe);
        goto end;
    }
    if (!devid_p11_uri_check_class(prov, u)) {
        goto end;
    }
    u->slot_id = p11_kit_uri_get_slot_id(u->uri);
    *out = u;
    u = NULL;
    ret = 1;
end:
    devid_p11_uri_free(u);
    return ret;
}

int devid_p11_uri_match_token(const struct devid_p11_uri *u,
                              const CK_INFO *mod, CK_SLOT_ID slot,
                              const CK_SLOT_INFO *si, const CK_TOKEN_INFO *ti)
{
    if (mod != NULL && !p11_kit_uri_match_module_info(u->uri, mod)) {
        return 0;
    }
    if (u->slot_id != (CK_SLOT_ID)-1 && u->slot_id != slot) {
        return 0;
    }
    if (si != NULL && !p11_kit_uri_match_slot_info(u->uri, si)) {
        return 0;
    }
    if (ti != NULL && !p11_kit_uri_match_token_info(u->uri, ti)) {
        return 0;
    }
    return 1;
}

const char *devid_p11_uri_module_path(const struct devid_p11_uri *u)
{
    return p11_kit_uri_get_module_path(u->uri);
}

const char *devid_p11_uri_module_name(const struct devid_p11_uri *u)
{
    return p11_kit_uri_get_module_name(u->uri);
}

const CK_ATTRIBUTE *devid_p11_uri_attr(const struct devid_p11_uri *u,
                                       CK_ATTRIBUTE_TYPE type)
{
    return p11_kit_uri_get_attribute(u->uri, type);
}

/* CK_TOKEN_INFO strings are blank-padded, not NUL-terminated; p11-kit wants
 * them the same way, so they are copied as they are. */
static void devid_p11_uri_set_token(P11KitUri *uri, const CK_TOKEN_INFO *ti)
{
    CK_TOKEN_INFO *dst = p11_kit_uri_get_token_info(uri);

    memcpy(dst->label, ti->label, sizeof(dst->label));
    memcpy(dst->manufacturerID, ti->manufacturerID,
           sizeof(dst->manufacturerID));
    memcpy(dst->model, ti->model, sizeof(dst->model));
    memcpy(dst->serialNumber, ti->serialNumber, sizeof(dst->serialNumber));
}

static int devid_p11_uri_set_attr(P11KitUri *uri, CK_ATTRIBUTE_TYPE type,
                                  const void *value, size_t len)
{
    CK_ATTRIBUTE a;

    a.type = type;
    a.pValue = (void *)(uintptr_t)value;
    a.ulValueLen = (CK_ULONG)len;
    return p11_kit_uri_set_attribute(uri, &a) == P11_KIT_URI_OK;
}

char *devid_p11_uri_make(const CK_TOKEN_INFO *ti, const unsigned char *id,
                         size_t id_len, const char *label, CK_OBJECT_CLASS cls,
                         const char *module_path)
{
    P11KitUri *uri = p11_kit_uri_new();
    char *text = NULL;
    char *ret = NULL;

    if (uri == NULL) {
        goto end;
    }
    devid_p11_uri_set_token(uri, ti);
    if (id != NULL && id_len > 0
        && !devid_p11_uri_set_attr(uri, CKA_ID, id, id_len)) {
        goto end;
    }
    if (label != NULL
        && !devid_p11_uri_set_attr(uri, CKA_LABEL, label, strlen(label))) {
        goto end;
    }
    if (!devid_p11_uri_set_attr(uri, CKA_CLASS, &cls, sizeof(cls))) {
        goto end;
    }
    if (module_path != NULL) {
        p11_kit_uri_set_module_path(uri, module_path);
    }
    if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_ANY, &text)
        != P11_KIT_URI_OK) {
        goto end;
    }
    ret = OPENSSL_strdup(text);
end:
    free(text);
    p11_kit_uri_free(uri);
    return ret;
}
