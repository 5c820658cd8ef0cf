/* SPDX-License-Identifier: Apache-2.0 */
/* "openssl pkey -text" for token keys: the token and module that hold the
 * key and the attributes that limit its use (PKCS #11 v2.40 §4.9 storage
 * and key attributes, §4.8.1 CK_TOKEN_INFO). Reads attributes on a pooled
 * session; prints nothing secret. */
#include "config.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "pkcs11/p11.h"

/* Boolean attributes printed when the token answers them. */
static const struct {
    CK_ATTRIBUTE_TYPE type;
    const char *name;
} devid_p11_bool_attrs[] = {
    { CKA_TOKEN, "CKA_TOKEN" },
    { CKA_PRIVATE, "CKA_PRIVATE" },
    { CKA_SENSITIVE, "CKA_SENSITIVE" },
    { CKA_EXTRACTABLE, "CKA_EXTRACTABLE" },
    { CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE" },
    { CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE" },
    { CKA_LOCAL, "CKA_LOCAL" },
    { CKA_SIGN, "CKA_SIGN" },
    { CKA_DECRYPT, "CKA_DECRYPT" },
    { CKA_DERIVE, "CKA_DERIVE" },
    { CKA_ALWAYS_AUTHENTICATE, "CKA_ALWAYS_AUTHENTICATE" },
};

static int devid_p11_print_token(BIO *out, int indent,
                                 const struct devid_p11_token *tok)
{
    const CK_TOKEN_INFO *ti = &tok->info;

    return BIO_printf(out,
                      "%*sPKCS#11 token: %.*s (%.*s %.*s, serial %.*s), "
                      "slot %lu\n%*sPKCS#11 module: %s\n",
                      indent, "",
                      devid_p11_blank_len(ti->label, sizeof(ti->label)),
                      ti->label,
                      devid_p11_blank_len(ti->manufacturerID,
                                          sizeof(ti->manufacturerID)),
                      ti->manufacturerID,
                      devid_p11_blank_len(ti->model, sizeof(ti->model)),
                      ti->model,
                      devid_p11_blank_len(ti->serialNumber,
                                          sizeof(ti->serialNumber)),
                      ti->serialNumber, (unsigned long)tok->slot, indent, "",
                      tok->mod->path != NULL ? tok->mod->path : "(p11-kit)")
           > 0;
}

static int devid_p11_print_id(BIO *out, int indent,
                              const struct devid_p11_key *k)
{
    size_t i;

    if (BIO_printf(out, "%*sPKCS#11 object: class %s, CKA_ID ", indent, "",
                   k->cls == CKO_PRIVATE_KEY ? "CKO_PRIVATE_KEY"
                                             : "CKO_PUBLIC_KEY")
        <= 0) {
        return 0;
    }
    for (i = 0; i < k->id_len; i++) {
        if (BIO_printf(out, "%02x", k->id[i]) <= 0) {
            return 0;
        }
    }
    return BIO_printf(out, "%s\n", k->id_len == 0 ? "(none)" : "") > 0;
}

/* One line: each boolean attribute the token answers, as NAME=TRUE|FALSE. */
static int devid_p11_print_flags(BIO *out, int indent,
                                 struct devid_p11_token *tok,
                                 CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
    unsigned char *v = NULL;
    size_t len = 0;
    size_t i;
    int ret = BIO_printf(out, "%*sPKCS#11 attributes:", indent, "") > 0;

    for (i = 0;
         ret
         && i < sizeof(devid_p11_bool_attrs) / sizeof(devid_p11_bool_attrs[0]);
         i++) {
        if (devid_p11_object_get_attr(tok, s, h, devid_p11_bool_attrs[i].type,
                                      &v, &len)
                == CKR_OK
            && len == sizeof(CK_BBOOL)) {
            ret = BIO_printf(out, " %s=%s", devid_p11_bool_attrs[i].name,
                             v[0] == CK_TRUE ? "TRUE" : "FALSE")
                  > 0;
        }
        OPENSSL_free(v);
        v = NULL;
    }
    return ret && BIO_printf(out, "\n") > 0;
}

int devid_p11_key_describe(struct devid_key *key, BIO *out, int indent)
{
    struct devid_p11_key *k = key->be;
    struct devid_p11_token *tok = devid_p11_ops_ready(key);
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_RV rv;
    int ret = 0;

    if (tok == NULL) {
        return 0;
    }
    if (!devid_p11_print_token(out, indent, tok)
        || !devid_p11_print_id(out, indent, k)) {
        return 0;
    }
    rv = devid_p11_session_take(tok, &s);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(key->prov, "C_OpenSession", rv, key->uri);
        return 0;
    }
    ret = devid_p11_print_flags(out, indent, tok, s, k->h)
          && (k->cls != CKO_PRIVATE_KEY
              || devid_p11_mech_print(out, indent, k->mset));
    devid_p11_session_give(tok, s, 0);
    return ret;
}
