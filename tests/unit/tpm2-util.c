/* SPDX-License-Identifier: Apache-2.0 */
/* What the TPM unit tests against a swtpm share (see tpm2-util.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/err.h"
#include "tests/unit/pubkey-util.h"
#include "tests/unit/tpm2-util.h"
#include "tpm2/tpm2.h"

int ttpm2_run(const char *dir, const char *cmd)
{
    char full[2900];

    /* tpm2-openssl lives in the system modules directory, not ours */
    snprintf(full, sizeof(full),
             "cd '%s' && OPENSSL_MODULES=$(pkg-config --variable=modulesdir "
             "libcrypto) && export OPENSSL_MODULES && { %s ; } "
             ">>'%s/cmd.log' 2>&1",
             dir, cmd, dir);
    return system(full) == 0;
}

int ttpm2_make_tools_keys(const char *dir)
{
    /* swtpm has three object slots and tpm2-tools leave their primary
     * loaded without a resource manager, hence the flushes */
    return ttpm2_run(dir,
                     "F='tpm2_flushcontext -t'"
                     " && tpm2_createprimary -C o -G ecc -c prim.ctx"
                     " && tpm2_evictcontrol -C o -c prim.ctx 0x81000100 && $F"
                     " && tpm2_create -C 0x81000100 -G ecc256 -u t.pub -r "
                     "t.priv"
                     " && $F && tpm2_load -C 0x81000100 -u t.pub -r t.priv -c "
                     "t.ctx"
                     " && tpm2_evictcontrol -C o -c t.ctx 0x81000020 && $F"
                     " && tpm2_create -C 0x81000100 -G rsa2048 -u r.pub -r "
                     "r.priv -a "
                     "'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|"
                     "sign'"
                     " && $F && tpm2_load -C 0x81000100 -u r.pub -r r.priv -c "
                     "r.ctx"
                     " && tpm2_evictcontrol -C o -c r.ctx 0x81000021 && $F"
                     /* a key with a scheme of its own: ECDSA with SHA-256 */
                     " && tpm2_create -C 0x81000100 -G ecc256:ecdsa-sha256 -u "
                     "s.pub"
                     " -r s.priv -a "
                     "'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|"
                     "sign'"
                     " && $F && tpm2_load -C 0x81000100 -u s.pub -r s.priv -c "
                     "s.ctx"
                     " && tpm2_evictcontrol -C o -c s.ctx 0x81000022 && $F");
}

static int ttpm2_take_first(const struct devid_object *obj, void *arg)
{
    struct devid_key **out = arg;

    if (obj->cls == DEVID_OBJ_PRIVKEY && *out == NULL) {
        *out = devid_key_up_ref(obj->key);
    }
    return 1;
}

struct devid_key *ttpm2_open_key(struct devid_prov *pv, const char *name,
                                 const struct devid_pin_cb *pin)
{
    struct devid_key *key = NULL;

    /* errors stay queued for the caller to check */
    devid_tpm2_backend.search(pv, name, DEVID_OBJ_PRIVKEY, pin,
                              ttpm2_take_first, &key);
    return key;
}

int ttpm2_last_reason(void)
{
    unsigned long e = ERR_peek_last_error();

    return ERR_GET_LIB(e) == devid_err_lib() ? ERR_GET_REASON(e) : -1;
}

static void digest(const char *md, const char *msg, unsigned char *out,
                   size_t *len)
{
    unsigned int n = 0;

    EVP_Digest(msg, strlen(msg), out, &n, EVP_get_digestbyname(md), NULL);
    *len = n;
}

/* Verifies a devid signature over digest dg: ECDSA r||s is turned into DER;
 * pad is RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING (salt = digest). */
static int verify(struct devid_key *key, const char *md, int pad,
                  const unsigned char *dg, size_t dglen,
                  const unsigned char *sig, size_t siglen)
{
    EVP_PKEY *pk = tpub_pkey(&key->pub);
    EVP_PKEY_CTX *ctx = pk != NULL ? EVP_PKEY_CTX_new(pk, NULL) : NULL;
    unsigned char der[160], *p = der;
    ECDSA_SIG *es = NULL;
    int ok = 0, dl;

    if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1
        || EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(md)) != 1) {
        goto end;
    }
    if (key->pub.type == DEVID_KEY_EC) {
        es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)siglen / 2, NULL),
                       BN_bin2bn(sig + siglen / 2, (int)siglen / 2, NULL));
        dl = i2d_ECDSA_SIG(es, &p);
        ok = EVP_PKEY_verify(ctx, der, (size_t)dl, dg, dglen) == 1;
        goto end;
    }
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1
        || (pad == RSA_PKCS1_PSS_PADDING
            && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST)
                   != 1)) {
        goto end;
    }
    ok = EVP_PKEY_verify(ctx, sig, siglen, dg, dglen) == 1;
end:
    ECDSA_SIG_free(es);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok;
}

int ttpm2_sign_verify(struct devid_key *key, const char *md, int scheme)
{
    struct devid_sign_params p = { 0 };
    unsigned char dg[64], sig[512];
    size_t dglen = 0, siglen = 0;

    digest(md, "devid tpm2 test message", dg, &dglen);
    p.scheme = (enum devid_sig_scheme)scheme;
    p.md_nid = EVP_MD_get_type(EVP_get_digestbyname(md));
    p.mgf1_nid = p.md_nid;
    p.saltlen = (int)dglen;
    if (key->ops->sign(key, &p, dg, dglen, NULL, &siglen) != 1
        || siglen > sizeof(sig)) {
        return 0;
    }
    if (key->ops->sign(key, &p, dg, dglen, sig, &siglen) != 1) {
        return 0;
    }
    return verify(key, md,
                  scheme == DEVID_SIG_PSS ? RSA_PKCS1_PSS_PADDING
                                          : RSA_PKCS1_PADDING,
                  dg, dglen, sig, siglen);
}
