/* SPDX-License-Identifier: Apache-2.0 */
/* Deleting token objects devid made, so renewals do not fill a secure
 * element that holds a handful of keys (issue 14, item 7): a pruned
 * identity's key pair and certificates, and the leaf certificates a new
 * one replaces for the same key. */
#include "config.h"

#include <string.h>

#include "common/err.h"
#include "pkcs11/p11.h"

/* Objects destroyed per search: more than any key has. */
#define DEVID_P11_DELETE_BATCH 32

/* Destroys the objects of tok matching t (n attributes), except keep.
 * Searches again after each batch, since destroying while a search is
 * active is not allowed (PKCS #11 v2.40 §5.7: C_FindObjects sessions).
 * Returns CKR_OK or the failing call's code. */
static CK_RV devid_p11_destroy_matching(struct devid_p11_token *tok,
                                        CK_SESSION_HANDLE s, CK_ATTRIBUTE *t,
                                        CK_ULONG n, CK_OBJECT_HANDLE keep)
{
    CK_OBJECT_HANDLE h[DEVID_P11_DELETE_BATCH];
    CK_ULONG found = 0;
    CK_ULONG i;
    CK_ULONG gone;
    CK_RV rv;

    do {
        rv = tok->mod->fn->C_FindObjectsInit(s, t, n);
        if (rv != CKR_OK) {
            return rv;
        }
        rv = tok->mod->fn->C_FindObjects(s, h, DEVID_P11_DELETE_BATCH, &found);
        tok->mod->fn->C_FindObjectsFinal(s);
        if (rv != CKR_OK) {
            return rv;
        }
        gone = 0;
        for (i = 0; i < found; i++) {
            if (h[i] == keep) {
                continue;
            }
            rv = tok->mod->fn->C_DestroyObject(s, h[i]);
            if (rv != CKR_OK) {
                return rv;
            }
            gone++;
        }
    } while (gone > 0 && found == DEVID_P11_DELETE_BATCH);
    return CKR_OK;
}

CK_RV devid_p11_certs_replace(struct devid_p11_token *tok, CK_SESSION_HANDLE s,
                              const unsigned char *id, size_t id_len,
                              CK_OBJECT_HANDLE keep)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE t[2] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_ID, (void *)(uintptr_t)id, (CK_ULONG)id_len },
    };

    return devid_p11_destroy_matching(tok, s, t, 2, keep);
}

struct devid_p11_delete_find {
    struct devid_key *key;
};

static int devid_p11_delete_cb(const struct devid_object *obj, void *arg)
{
    struct devid_p11_delete_find *f = arg;

    if (obj->cls == DEVID_OBJ_PRIVKEY && f->key == NULL) {
        f->key = devid_key_up_ref(obj->key);
        return 0;
    }
    return 1;
}

int devid_p11_key_delete(struct devid_prov *prov, const char *name,
                         const struct devid_pin_cb *pin)
{
    struct devid_p11_delete_find f = { NULL };
    struct devid_p11_token *tok = NULL;
    struct devid_p11_key *k;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_ATTRIBUTE t[1];
    CK_RV rv;
    int ret = 0;

    if (!devid_pkcs11_backend.search(prov, name, DEVID_OBJ_PRIVKEY, pin,
                                     devid_p11_delete_cb, &f)) {
        goto end;
    }
    if (f.key == NULL) {
        ret = 1; /* gone already */
        goto end;
    }
    k = f.key->be;
    tok = devid_p11_ops_ready(f.key);
    if (tok == NULL) {
        goto end;
    }
    rv = devid_p11_session_take(tok, &s);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(prov, "C_OpenSession", rv, f.key->uri);
        goto end;
    }
    if (k->id != NULL && k->id_len > 0) {
        /* the key pair and its certificates share the key's CKA_ID */
        t[0] = (CK_ATTRIBUTE){ CKA_ID, k->id, (CK_ULONG)k->id_len };
        rv = devid_p11_destroy_matching(tok, s, t, 1, CK_INVALID_HANDLE);
    } else {
        rv = tok->mod->fn->C_DestroyObject(s, k->h);
    }
    devid_p11_session_give(tok, s, 0);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(prov, "C_DestroyObject", rv, f.key->uri);
        goto end;
    }
    ret = 1;
end:
    devid_key_free(f.key);
    return ret;
}
