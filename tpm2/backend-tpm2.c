/* SPDX-License-Identifier: Apache-2.0 */
/* The TPM 2.0 backend's table of functions (provider/backend.h): which names
 * are ours, the store's search, and the entry points of the other files. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "provider/backend.h"
#include "common/name-ref.h"
#include "provider/prov.h"
#include "tpm2/keyfile.h"
#include "tpm2/tpm2.h"

/* Enough of a file to see a PEM header after a few comment lines. */
#define DEVID_TPM2_SNIFF_LEN 4096

/* "handle:..." and "object:..." are ours by their prefix; a path
 * (optionally "file:PATH") is ours when the file starts like a TSS2 PRIVATE
 * KEY, is empty, or does not exist yet (a place to generate a key file:
 * "file:PATH" or a name with a '/'). No TPM access. */
static int devid_tpm2_be_handles(const char *name)
{
    unsigned char buf[DEVID_TPM2_SNIFF_LEN];
    const char *path = name;
    size_t n;
    FILE *f;
    int prefixed;

    if (name == NULL) {
        return 0;
    }
    if (strncmp(name, "handle:", 7) == 0 || strncmp(name, "object:", 7) == 0) {
        return 1;
    }
    if (strncmp(name, "file://", 7) == 0) {
        path = name + 7;
    } else if (strncmp(name, "file:", 5) == 0) {
        path = name + 5;
    } else if (strchr(name, ':') != NULL && name[0] != '/'
               && name[0] != '.') {
        return 0;                   /* another scheme: pkcs11:, http:, ... */
    }
    prefixed = path != name;
    f = fopen(path, "rb");
    if (f == NULL) {
        return errno == ENOENT && (prefixed || strchr(path, '/') != NULL);
    }
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    /* an empty file is a place to write too: "openssl genpkey -pkeyopt
     * uri:X -out X" creates X before the key exists */
    return n == 0 || devid_tpm2_keyfile_sniff(buf, n);
}

/* A public-only twin of key for a PUBKEY result (its TPM state stays with
 * the private key). */
static struct devid_key *devid_tpm2_pub_twin(const struct devid_key *key)
{
    struct devid_key *pk = devid_key_new(&devid_tpm2_backend, key->prov);
    const struct devid_pubkey *s = &key->pub;
    int ok = 0;

    if (pk == NULL) {
        goto end;
    }
    pk->pub.type = s->type;
    pk->pub.bits = s->bits;
    memcpy(pk->pub.group, s->group, sizeof(pk->pub.group));
    pk->pub.point_len = s->point_len;
    pk->pub.n_len = s->n_len;
    pk->pub.e_len = s->e_len;
    if ((s->point != NULL
         && (pk->pub.point = OPENSSL_memdup(s->point, s->point_len)) == NULL)
        || (s->n != NULL
            && (pk->pub.n = OPENSSL_memdup(s->n, s->n_len)) == NULL)
        || (s->e != NULL
            && (pk->pub.e = OPENSSL_memdup(s->e, s->e_len)) == NULL)
        || (key->uri != NULL
            && (pk->uri = OPENSSL_strdup(key->uri)) == NULL)) {
        goto end;
    }
    ok = 1;
end:
    if (!ok) {
        devid_key_free(pk);
        pk = NULL;
        DEVID_RAISE(key->prov, DEVID_R_MALLOC, "public key");
    }
    return pk;
}

/* One private key per name (and its public half when asked); an NV index
 * gives a public key and the certificate it holds. */
static int devid_tpm2_be_search(struct devid_prov *prov, const char *name,
                                unsigned int want,
                                const struct devid_pin_cb *pin,
                                devid_object_cb *cb, void *cbarg)
{
    struct devid_key *key = NULL, *pub = NULL;
    struct devid_object obj;
    TPM2_HANDLE nv = 0;
    int all = want == DEVID_OBJ_ANY, ret = 0;

    if (devid_tpm2_name_nv(name, &nv)) {
        if (!all && (want & (DEVID_OBJ_PUBKEY | DEVID_OBJ_CERT)) == 0) {
            return 1; /* an NV index holds no private key */
        }
        return devid_tpm2_nv_search(prov, name, nv, want, cb, cbarg);
    }
    if (!all && (want & (DEVID_OBJ_PRIVKEY | DEVID_OBJ_PUBKEY)) == 0) {
        return 1;
    }
    if (!devid_tpm2_key_open(prov, name, pin, &key)) {
        goto end;
    }
    memset(&obj, 0, sizeof(obj));
    obj.label = key->label;
    if (all || (want & DEVID_OBJ_PRIVKEY) != 0) {
        obj.cls = DEVID_OBJ_PRIVKEY;
        obj.key = key;
        if (!cb(&obj, cbarg)) {
            ret = 1;
            goto end;
        }
    }
    if (all || (want & DEVID_OBJ_PUBKEY) != 0) {
        pub = devid_tpm2_pub_twin(key);
        if (pub == NULL) {
            goto end;
        }
        obj.cls = DEVID_OBJ_PUBKEY;
        obj.key = pub;
        cb(&obj, cbarg);
    }
    ret = 1;
end:
    devid_key_free(pub);
    devid_key_free(key);
    return ret;
}

/* Reference file of a key: its TSS2 PRIVATE KEY for a key-file key; a
 * persistent key has no key file (TPM 2.0 Key Files knows only loadable
 * blobs), so its "handle:0x81..." name goes into a name reference
 * (common/name-ref.h), which devid opens again through the registry. */
static int devid_tpm2_be_encode_ref(struct devid_key *key,
                                    const char **pem_label,
                                    unsigned char **der, size_t *der_len)
{
    struct devid_tpm2_key *k = key->be;

    if (k != NULL && k->kf != NULL) {
        *pem_label = DEVID_TPM2_KEYFILE_PEM_NAME;
        return devid_tpm2_key_get_keyfile_der(key, der, der_len);
    }
    if (key->uri == NULL || !devid_name_ref_encode(key->uri, der, der_len)) {
        DEVID_RAISE(key->prov, DEVID_R_INTERNAL, "TPM key without a name");
        return 0;
    }
    *pem_label = DEVID_PEM_NAME_REF;
    return 1;
}

/* A DER body that does not start like a TPMKey is not ours: 1, *out NULL. */
static int devid_tpm2_be_decode_ref(struct devid_prov *prov,
                                    const unsigned char *der, size_t der_len,
                                    const struct devid_pin_cb *pin,
                                    struct devid_key **out)
{
    *out = NULL;
    if (!devid_tpm2_keyfile_sniff(der, der_len)) {
        return 1;
    }
    return devid_tpm2_key_from_keyfile_der(prov, der, der_len, pin, out);
}

/* Renewal: a persistent handle is a fixed place (no new name); a key file
 * gets a sibling with the stamp before its extension. */
static int devid_tpm2_be_renew_name(const char *base, const char *stamp,
                                    char **out)
{
    size_t len = strlen(base) + strlen(stamp) + 2;
    const char *dot = strrchr(base, '.');
    const char *slash = strrchr(base, '/');
    char *buf;

    *out = NULL;
    if (strncmp(base, "handle:", 7) == 0) {
        return 1;
    }
    buf = OPENSSL_malloc(len);
    if (buf == NULL) {
        return 0;
    }
    if (dot != NULL && (slash == NULL || dot > slash + 1)) {
        snprintf(buf, len, "%.*s-%s%s", (int)(dot - base), base, stamp, dot);
    } else {
        snprintf(buf, len, "%s-%s", base, stamp);
    }
    *out = buf;
    return 1;
}

/* tpm2-openssl's key-generation parameters (its docs/keys.md) */
static const char *const devid_tpm2_be_gen_params[] = { "user-auth", "parent",
                                                        "parent-auth", "digest",
                                                        NULL };

static const char *const devid_tpm2_be_schemes[] = { "handle", "object", NULL };
static const char *const devid_tpm2_be_ref_labels[] = {
    DEVID_TPM2_KEYFILE_PEM_NAME, NULL
};

const struct devid_backend_ops devid_tpm2_backend = {
    .name = "tpm2",
    .description = "keys in a TPM 2.0: persistent handles and TSS2 key files",
    /* a TPM holds no certificates for us; a key without a name lives in
     * its TSS2 key file */
    .flags = DEVID_BACKEND_GEN_UNNAMED,
    .schemes = devid_tpm2_be_schemes,
    .name_help = "handle:0x81..., object:/path or uri:/path/key.tss2.pem",
    .gen_params = devid_tpm2_be_gen_params,
    .handles = devid_tpm2_be_handles,
    .renew_name = devid_tpm2_be_renew_name,
    .ref_labels = devid_tpm2_be_ref_labels,
    .settings = devid_tpm2_settings,
    .config_set = devid_tpm2_cfg_set,
    .config_free = devid_tpm2_cfg_free,
    .first_use = devid_tpm2_first_use,
    .after_fork = devid_tpm2_after_fork,
    .teardown = devid_tpm2_state_free,
    .search = devid_tpm2_be_search,
    .sign = devid_tpm2_op_sign,
    .decrypt = devid_tpm2_op_decrypt,
    .derive = devid_tpm2_op_derive,
    .generate = devid_tpm2_key_generate,
    /* no store_cert: a TPM holds no certificates beside a key; a leaf
     * goes to a new NV index only when install-to asks (tpm-nv) */
    .store_cert_new = devid_tpm2_nv_store_cert,
    .delete_cert = devid_tpm2_nv_delete_cert,
    .describe = devid_tpm2_key_describe,
    .key_free = devid_tpm2_key_free,
    .delete_key = devid_tpm2_key_delete,
    .encode_ref = devid_tpm2_be_encode_ref,
    .decode_ref = devid_tpm2_be_decode_ref,
};
