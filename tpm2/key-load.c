/* SPDX-License-Identifier: Apache-2.0 */
/* Opening TPM keys: persistent handles ("handle:0x81xxxxxx") and TSS2
 * PRIVATE KEY files loaded under the storage root key; the public part and
 * capabilities; auth values; keeping the object loaded for the life of the
 * devid_key. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <tss2/tss2_rc.h>

#include "common/err.h"
#include "common/log.h"
#include "provider/prov.h"
#include "tpm2/keyfile.h"
#include "tpm2/tpm2.h"

int devid_tpm2_name_handle(const char *name, TPM2_HANDLE *handle,
                           int *ask_auth)
{
    const char *p = name + 7, *q;
    unsigned long v = 0;
    int d;

    if (strncmp(name, "handle:", 7) != 0) {
        return 0;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
    }
    for (q = p; *q != '\0' && *q != '?' && q - p < 9; q++) {
        d = OPENSSL_hexchar2int((unsigned char)*q);
        if (d < 0) {
            return -1;
        }
        v = (v << 4) | (unsigned long)d;
    }
    /* persistent objects: TPM 2.0 Part 2 §7 (TPM_HT_PERSISTENT),
     * 0x81000000..0x81ffffff */
    if (q == p || q - p > 8 || v < 0x81000000ul || v > 0x81fffffful) {
        return -1;
    }
    *ask_auth = 0;
    if (*q == '?') {
        /* tpm2-openssl's "?pass": ask the passphrase callback */
        if (strcmp(q, "?pass") != 0) {
            return -1;
        }
        *ask_auth = 1;
    } else if (*q != '\0') {
        return -1;
    }
    *handle = (TPM2_HANDLE)v;
    return 1;
}

struct devid_key *devid_tpm2_key_alloc(struct devid_prov *prov)
{
    struct devid_key *key = devid_key_new(&devid_tpm2_backend, prov);
    struct devid_tpm2_key *k = OPENSSL_zalloc(sizeof(*k));

    if (key == NULL || k == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "TPM key");
        OPENSSL_free(k);
        devid_key_free(key);
        return NULL;
    }
    k->ptr = ESYS_TR_NONE;
    k->obj.tr = ESYS_TR_NONE;
    key->be = k;
    return key;
}

void devid_tpm2_key_free(struct devid_key *key)
{
    struct devid_tpm2_key *k = key->be;
    struct devid_tpm2 *st = key->prov != NULL
                                ? devid_backend_state_peek(key->prov,
                                                           &devid_tpm2_backend)
                                : NULL;

    if (k == NULL) {
        return;
    }
    if (st != NULL && CRYPTO_THREAD_write_lock(st->lock)) {
        /* a persistent key's ESYS_TR stays: ESYS hands out one ESYS_TR per
         * TPM handle, which other keys may share; it goes with the context */
        devid_tpm2_obj_clear(st, &k->obj);
        CRYPTO_THREAD_unlock(st->lock);
    }
    OPENSSL_secure_clear_free(k->auth, k->auth_len + 1);
    OPENSSL_secure_clear_free(k->parent_auth, DEVID_TPM2_PARENT_AUTH_SIZE);
    devid_tpm2_keyfile_free(k->kf);
    OPENSSL_clear_free(k, sizeof(*k));
    key->be = NULL;
}

/* Asks the application's passphrase callback for the key's auth value. */
static int devid_tpm2_key_ask_auth(struct devid_key *key, const char *name,
                                   const struct devid_pin_cb *pin)
{
    struct devid_tpm2_key *k = key->be;
    OSSL_PARAM params[2];
    size_t len = 0, max = sizeof(((TPM2B_AUTH *)NULL)->buffer);
    int ret = 0;

    if (pin == NULL || pin->cb == NULL) {
        DEVID_RAISE(key->prov, DEVID_R_PIN_REQUIRED,
                    "%s has an auth value and no passphrase callback", name);
        return 0;
    }
    k->auth = OPENSSL_secure_zalloc(max + 1);
    if (k->auth == NULL) {
        DEVID_RAISE(key->prov, DEVID_R_MALLOC, "auth");
        return 0;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PASSPHRASE_PARAM_INFO,
                                                 (char *)name, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!pin->cb(k->auth, max, &len, params, pin->arg) || len > max) {
        DEVID_RAISE(key->prov, DEVID_R_PIN_REQUIRED,
                    "%s: no auth value from the passphrase callback", name);
        goto end;
    }
    k->auth_len = len;
    ret = 1;
end:
    if (!ret) {
        OPENSSL_secure_clear_free(k->auth, max + 1);
        k->auth = NULL;
    }
    return ret;
}

/* Hands the key's auth value to ESYS for the password session (Part 1
 * §19.6.4). The copy on the stack is wiped. */
static int devid_tpm2_key_set_auth(struct devid_key *key,
                                   struct devid_tpm2 *st, ESYS_TR tr)
{
    struct devid_tpm2_key *k = key->be;
    TPM2B_AUTH auth = { 0 };
    TSS2_RC rc;

    if (k->auth != NULL) {
        auth.size = (UINT16)k->auth_len;
        memcpy(auth.buffer, k->auth, k->auth_len);
    }
    rc = Esys_TR_SetAuth(st->esys, tr, &auth);
    OPENSSL_cleanse(&auth, sizeof(auth));
    if (rc != TSS2_RC_SUCCESS) {
        return devid_tpm2_rc_raise(key->prov, "Esys_TR_SetAuth", rc);
    }
    return 1;
}

struct devid_tpm2_load {
    ESYS_TR parent;
    const struct devid_tpm2_keyfile *kf;
    ESYS_TR tr;
};

static TSS2_RC devid_tpm2_load_f(struct devid_tpm2 *st, void *arg)
{
    struct devid_tpm2_load *a = arg;

    /* TPM 2.0 Part 3 §12.2 TPM2_Load; the parent's auth was set on it */
    return Esys_Load(st->esys, a->parent, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                     ESYS_TR_NONE, &a->kf->priv, &a->kf->pub, &a->tr);
}

/* A persistent parent with its auth value set, unless the TPM refused that
 * value before: then nothing is sent (DEVID_R_PIN_REFUSED_BEFORE). */
static int devid_tpm2_key_parent(struct devid_key *key, struct devid_tpm2 *st,
                                 ESYS_TR *ptr)
{
    struct devid_tpm2_key *k = key->be;
    TPM2B_AUTH auth = { 0 };
    TSS2_RC rc;

    if (devid_tpm2_parent_auth_refused(st, k->kf->parent, k->parent_auth,
                                       k->parent_auth_len)) {
        DEVID_RAISE(key->prov, DEVID_R_PIN_REFUSED_BEFORE,
                    "the TPM refused this auth value for parent 0x%08x "
                    "before",
                    (unsigned int)k->kf->parent);
        return 0;
    }
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_TR_FromTPMPublic(st->esys, k->kf->parent,
                                           ESYS_TR_NONE, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ptr));
    if (rc != TSS2_RC_SUCCESS) {
        return devid_tpm2_rc_raise(key->prov, "parent Esys_TR_FromTPMPublic",
                                   rc);
    }
    if (k->parent_auth != NULL) {
        auth.size = (UINT16)k->parent_auth_len;
        memcpy(auth.buffer, k->parent_auth, k->parent_auth_len);
    }
    rc = Esys_TR_SetAuth(st->esys, *ptr, &auth);
    OPENSSL_cleanse(&auth, sizeof(auth));
    if (rc != TSS2_RC_SUCCESS) {
        return devid_tpm2_rc_raise(key->prov, "Esys_TR_SetAuth", rc);
    }
    return 1;
}

/* Loads a key file's object under its parent and frees the parent's slot. */
static int devid_tpm2_key_load(struct devid_key *key, struct devid_tpm2 *st)
{
    struct devid_tpm2_key *k = key->be;
    struct devid_tpm2_load a = { ESYS_TR_NONE, k->kf, ESYS_TR_NONE };
    TSS2_RC rc;
    int ret = 0;

    if (k->kf->parent == TPM2_RH_OWNER) {
        if (!devid_tpm2_srk_get(key->prov, st, &a.parent)) {
            goto end;
        }
    } else if (!devid_tpm2_key_parent(key, st, &a.parent)) {
        goto end;
    }
    rc = devid_tpm2_obj_with_room(st, devid_tpm2_load_f, &a, NULL);
    if (rc != TSS2_RC_SUCCESS && k->kf->parent != TPM2_RH_OWNER
        && devid_tpm2_rc_is_auth_fail(rc)) {
        /* never resent, by this key or any other under this parent */
        devid_tpm2_parent_auth_remember(st, k->kf->parent, k->parent_auth,
                                        k->parent_auth_len);
        DEVID_RAISE(key->prov, DEVID_R_PIN_INCORRECT,
                    "Esys_Load: %s (0x%x): parent 0x%08x refused the auth "
                    "value (tpm2-parent-auth), not retried",
                    Tss2_RC_Decode(rc), (unsigned int)rc,
                    (unsigned int)k->kf->parent);
        goto end;
    }
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_rc_raise(key->prov, "Esys_Load", rc);
        goto end;
    }
    devid_tpm2_obj_set(st, &k->obj, a.tr);
    DEVID_DEBUG("tpm2", "loaded %s", key->uri != NULL ? key->uri : "key");
    ret = 1;
end:
    devid_tpm2_srk_done(st);
    return ret;
}

int devid_tpm2_key_use(struct devid_key *key, struct devid_tpm2 *st,
                       ESYS_TR *tr)
{
    struct devid_tpm2_key *k = key->be;
    TSS2_RC rc;
    int r;

    if (k->auth_failed) {
        DEVID_RAISE(key->prov, DEVID_R_PIN_REFUSED_BEFORE,
                    "the TPM refused the auth value of %s before",
                    key->uri != NULL ? key->uri : "this key");
        return 0;
    }
    if (k->kf == NULL) {
        if (k->pgen != st->gen || k->ptr == ESYS_TR_NONE) {
            DEVID_TPM2_RETRY(st, NULL, rc,
                             Esys_TR_FromTPMPublic(st->esys, k->handle,
                                                   ESYS_TR_NONE, ESYS_TR_NONE,
                                                   ESYS_TR_NONE, &k->ptr));
            if (rc != TSS2_RC_SUCCESS) {
                k->ptr = ESYS_TR_NONE;
                return devid_tpm2_rc_raise(key->prov, "Esys_TR_FromTPMPublic",
                                           rc);
            }
            k->pgen = st->gen;
        }
        *tr = k->ptr;
    } else {
        r = devid_tpm2_obj_use(key->prov, st, &k->obj, tr);
        if (r < 0 || (r == 0 && !devid_tpm2_key_load(key, st))) {
            return 0;
        }
        *tr = k->obj.tr;
    }
    return devid_tpm2_key_set_auth(key, st, *tr);
}

int devid_tpm2_key_fail(struct devid_key *key, const char *what, TSS2_RC rc)
{
    struct devid_tpm2_key *k = key->be;

    if (devid_tpm2_rc_is_auth_fail(rc)) {
        /* never resent: each failure counts toward the TPM's dictionary
         * attack lockout (TPM 2.0 Part 1, "Dictionary Attack Protection") */
        k->auth_failed = 1;
        DEVID_RAISE(key->prov, DEVID_R_PIN_INCORRECT,
                    "%s: %s (0x%x): auth value of %s refused, not retried",
                    what, Tss2_RC_Decode(rc), (unsigned int)rc,
                    key->uri != NULL ? key->uri : "key");
        return 0;
    }
    return devid_tpm2_rc_raise(key->prov, what, rc);
}

/* Big-endian x left-padded to n bytes at out. */
static void devid_tpm2_pad(unsigned char *out, size_t n, const BYTE *x,
                           size_t xlen)
{
    memset(out, 0, n - xlen);
    memcpy(out + n - xlen, x, xlen);
}

static int devid_tpm2_pub_ecc(struct devid_key *key, const TPMT_PUBLIC *pub)
{
    const TPMS_ECC_POINT *q = &pub->unique.ecc;
    const struct devid_tpm2_curve *c = devid_tpm2_curve_by_id(
        pub->parameters.eccDetail.curveID);
    struct devid_pubkey *pk = &key->pub;
    size_t n;

    if (c == NULL) {
        DEVID_RAISE(key->prov, DEVID_R_UNSUPPORTED_KEY, "TPM curve 0x%x",
                    pub->parameters.eccDetail.curveID);
        return 0;
    }
    snprintf(pk->group, sizeof(pk->group), "%s", c->name);
    pk->bits = c->bits;
    n = ((size_t)pk->bits + 7) / 8;
    if (q->x.size > n || q->y.size > n) {
        DEVID_RAISE(key->prov, DEVID_R_UNSUPPORTED_KEY, "bad EC point");
        return 0;
    }
    pk->point = OPENSSL_malloc(1 + 2 * n);
    if (pk->point == NULL) {
        DEVID_RAISE(key->prov, DEVID_R_MALLOC, "EC point");
        return 0;
    }
    pk->point[0] = 0x04;
    devid_tpm2_pad(pk->point + 1, n, q->x.buffer, q->x.size);
    devid_tpm2_pad(pk->point + 1 + n, n, q->y.buffer, q->y.size);
    pk->point_len = 1 + 2 * n;
    pk->type = DEVID_KEY_EC;
    return 1;
}

static int devid_tpm2_pub_rsa(struct devid_key *key, const TPMT_PUBLIC *pub)
{
    const TPM2B_PUBLIC_KEY_RSA *n = &pub->unique.rsa;
    struct devid_pubkey *pk = &key->pub;
    /* exponent 0 means the default, 2^16 + 1 (Part 2 §12.2.3.5) */
    UINT32 e = pub->parameters.rsaDetail.exponent;
    size_t i = 0, j;
    unsigned char eb[4];

    e = e == 0 ? 65537 : e;
    while (i < n->size && n->buffer[i] == 0) {
        i++;
    }
    for (j = 0; j < 4; j++) {
        eb[j] = (unsigned char)(e >> (24 - 8 * j));
    }
    for (j = 0; j < 3 && eb[j] == 0; j++) {
        continue;
    }
    pk->n = OPENSSL_memdup(n->buffer + i, n->size - i);
    pk->e = OPENSSL_memdup(eb + j, 4 - j);
    if (i == n->size || pk->n == NULL || pk->e == NULL) {
        DEVID_RAISE(key->prov, DEVID_R_MALLOC, "RSA public key");
        return 0;
    }
    pk->n_len = n->size - i;
    pk->e_len = 4 - j;
    pk->bits = pub->parameters.rsaDetail.keyBits;
    pk->type = DEVID_KEY_RSA;
    return 1;
}

/* The key's own scheme, or TPM2_ALG_NULL (an ECC or RSA key). */
static TPM2_ALG_ID devid_tpm2_pub_scheme(const TPMT_PUBLIC *pub)
{
    return pub->type == TPM2_ALG_ECC ? pub->parameters.eccDetail.scheme.scheme
                                     : pub->parameters.rsaDetail.scheme.scheme;
}

/* 1 when the key's caps depend on which algorithms this TPM implements:
 * an unrestricted RSA key without a scheme of its own, which signs with
 * RSASSA or RSAPSS through TPM2_Sign where the TPM has them, else with
 * PKCS#1 or PSS encoded by devid through TPM2_RSA_Decrypt (ops.c). A key
 * with a scheme has one the TPM implements (see devid_tpm2_caps); a
 * restricted one has a scheme or does nothing for us. An EC key without
 * a scheme signs with ECDSA and derives with ECDH or not at all: devid has
 * no other way for either, so the answer would change only where a TPM
 * lacking one fails: when the key is opened, or (without the read) at
 * TPM2_Sign or TPM2_ECDH_ZGen with TPM_RC_SCHEME, named by devid's error.
 * That read is one TPM command on every process's first use of an EC key,
 * which is what TLS clients mostly hold. */
static int devid_tpm2_algs_needed(const TPMT_PUBLIC *pub)
{
    return pub->type == TPM2_ALG_RSA
           && pub->parameters.rsaDetail.scheme.scheme == TPM2_ALG_NULL
           && (pub->objectAttributes & TPMA_OBJECT_RESTRICTED) == 0;
}

/* What the key may do: its attributes (Part 2 §8.3), its own scheme if it
 * has one, and the algorithms this TPM implements (st->algs, read when the
 * key has no scheme: see devid_tpm2_key_set_public). */
static unsigned int devid_tpm2_caps(const TPMT_PUBLIC *pub,
                                    const struct devid_tpm2 *st)
{
    TPMA_OBJECT a = pub->objectAttributes;
    int restricted = (a & TPMA_OBJECT_RESTRICTED) != 0;
    int sign = (a & TPMA_OBJECT_SIGN_ENCRYPT) != 0;
    int dec = (a & TPMA_OBJECT_DECRYPT) != 0 && !restricted;
    TPM2_ALG_ID s = devid_tpm2_pub_scheme(pub);
    /* every operation below needs s NULL or s itself, and a TPM that
     * holds or loads a key with scheme s implements s: the scheme
     * interface types of Part 2 (TPMI_ALG_ECC_SCHEME, TPMI_ALG_RSA_SCHEME)
     * admit only implemented algorithms, else TPM_RC_SCHEME. An EC key
     * is taken for ECDSA and ECDH without asking (devid_tpm2_algs_needed) */
    unsigned int algs = devid_tpm2_algs_needed(pub) ? st->algs : ~0u;
    unsigned int caps = 0;

    /* a restricted signing key (an attestation key) has its own scheme
     * and signs only what the TPM hashed (restricted.c); a restricted
     * decryption key is a storage key: nothing for us */
    if (restricted && (!sign || s == TPM2_ALG_NULL)) {
        return 0;
    }
    if (restricted) {
        caps |= DEVID_CAP_SIGN_MESSAGE;
    }

    if (pub->type == TPM2_ALG_ECC) {
        if (sign && (s == TPM2_ALG_NULL || s == TPM2_ALG_ECDSA)
            && (algs & DEVID_TPM2_ALG_ECDSA) != 0) {
            caps |= DEVID_CAP_SIGN_ECDSA;
        }
        if (dec && (s == TPM2_ALG_NULL || s == TPM2_ALG_ECDH)
            && (algs & DEVID_TPM2_ALG_ECDH) != 0) {
            caps |= DEVID_CAP_DERIVE_ECDH;
        }
        return caps;
    }
    if (sign && (s == TPM2_ALG_NULL || s == TPM2_ALG_RSASSA)
        && (algs & DEVID_TPM2_ALG_RSASSA) != 0) {
        caps |= DEVID_CAP_SIGN_PKCS1;
    }
    if (sign && (s == TPM2_ALG_NULL || s == TPM2_ALG_RSAPSS)
        && (algs & DEVID_TPM2_ALG_RSAPSS) != 0) {
        caps |= DEVID_CAP_SIGN_PSS;
    }
    if (dec && s == TPM2_ALG_NULL) {
        /* raw RSA through TPM2_RSA_Decrypt with scheme NULL: our own
         * PKCS#1 type 1 or PSS encoding (see ops.c) */
        caps |= DEVID_CAP_SIGN_RAW_PKCS1 | DEVID_CAP_SIGN_PSS
                | DEVID_CAP_DECRYPT_RAW;
    }
    if (dec && (s == TPM2_ALG_NULL || s == TPM2_ALG_RSAES)
        && (algs & DEVID_TPM2_ALG_RSAES) != 0) {
        caps |= DEVID_CAP_DECRYPT_PKCS1;
    }
    if (dec && (s == TPM2_ALG_NULL || s == TPM2_ALG_OAEP)
        && (algs & DEVID_TPM2_ALG_OAEP) != 0) {
        caps |= DEVID_CAP_DECRYPT_OAEP;
    }
    if ((caps & DEVID_CAP_SIGN_PSS) != 0
        && (caps & DEVID_CAP_SIGN_RAW_PKCS1) == 0) {
        /* PSS only through TPM2_Sign, whose salt the TPM picks: the digest
         * length on TPMs of library 1.38 and later (Part 1 Annex B.7) */
        caps |= DEVID_CAP_PSS_SALT_DIGEST;
    }
    return caps;
}

int devid_tpm2_key_set_public(struct devid_key *key, struct devid_tpm2 *st,
                              const TPMT_PUBLIC *pub)
{
    struct devid_tpm2_key *k = key->be;
    int ok;

    /* read which algorithms this TPM implements (once per context) only
     * when the key's caps depend on it */
    if (devid_tpm2_algs_needed(pub) && !devid_tpm2_caps_read(key->prov, st)) {
        return 0;
    }
    if (pub->type == TPM2_ALG_ECC) {
        ok = devid_tpm2_pub_ecc(key, pub);
    } else if (pub->type == TPM2_ALG_RSA) {
        ok = devid_tpm2_pub_rsa(key, pub);
    } else {
        DEVID_RAISE(key->prov, DEVID_R_UNSUPPORTED_KEY, "TPM key type 0x%x",
                    pub->type);
        ok = 0;
    }
    if (!ok) {
        return 0;
    }
    k->pub = *pub;
    key->caps = devid_tpm2_caps(pub, st);
    key->has_private = 1;
    return 1;
}

/* Opens a persistent key: its public area as TPM 2.0 Part 3 §12.4
 * TPM2_ReadPublic gives it. Esys_TR_FromTPMPublic sends that command and
 * keeps the answer to itself; Esys_TR_Serialize gives it back, so a second
 * TPM2_ReadPublic is sent only when that answer is not in the expected
 * form (object.c). */
static int devid_tpm2_key_open_handle(struct devid_key *key, const char *name,
                                      const struct devid_pin_cb *pin)
{
    struct devid_tpm2_key *k = key->be;
    struct devid_tpm2 *st = NULL;
    TPM2B_PUBLIC *pub = NULL, known;
    TSS2_RC rc;
    int ret = 0;

    if (k->ask_auth && !devid_tpm2_key_ask_auth(key, name, pin)) {
        return 0;
    }
    if (!devid_tpm2_esys_acquire(key->prov, &st)) {
        goto end;
    }
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_TR_FromTPMPublic(st->esys, k->handle, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ESYS_TR_NONE,
                                           &k->ptr));
    if (rc != TSS2_RC_SUCCESS) {
        k->ptr = ESYS_TR_NONE;
        DEVID_RAISE(key->prov, DEVID_R_NO_OBJECT, "%s: %s (0x%x)", name,
                    Tss2_RC_Decode(rc), (unsigned int)rc);
        goto end;
    }
    k->pgen = st->gen;
    if (devid_tpm2_tr_public(st, k->ptr, k->handle, &known)) {
        ret = devid_tpm2_key_set_public(key, st, &known.publicArea);
        goto end;
    }
    DEVID_TPM2_RETRY(st, NULL, rc,
                     Esys_ReadPublic(st->esys, k->ptr, ESYS_TR_NONE,
                                     ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL,
                                     NULL));
    if (rc != TSS2_RC_SUCCESS) {
        devid_tpm2_rc_raise(key->prov, "Esys_ReadPublic", rc);
        goto end;
    }
    ret = devid_tpm2_key_set_public(key, st, &pub->publicArea);
end:
    Esys_Free(pub);
    devid_tpm2_esys_release(st);
    return ret;
}

/* Checks what we can load: loadable keys without policy under the owner
 * SRK or a persistent parent. */
static int devid_tpm2_keyfile_usable(struct devid_prov *prov,
                                     const struct devid_tpm2_keyfile *kf)
{
    if (kf->has_policy || kf->has_secret) {
        DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY,
                    "TSS2 key files with policies are not supported");
        return 0;
    }
    if (kf->rsa_parent) {
        DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY,
                    "TSS2 key file under an RSA SRK is not supported");
        return 0;
    }
    /* the handle type is the top byte (TPM 2.0 Part 2 §7.2). Not
     * TPM2_HR_PERSISTENT: tss2's macro shifts a UINT8 promoted to int by
     * 24, undefined for 0x81 (UBSan aborts on it) */
    if (kf->parent != TPM2_RH_OWNER
        && (kf->parent & 0xff000000u) != DEVID_TPM2_HR_PERSISTENT) {
        DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY, "parent handle 0x%x",
                    (unsigned int)kf->parent);
        return 0;
    }
    return 1;
}

int devid_tpm2_key_set_auth_value(struct devid_key *key, int parent,
                                  const char *value, size_t len)
{
    struct devid_tpm2_key *k = key->be;
    size_t size = parent ? DEVID_TPM2_PARENT_AUTH_SIZE : len + 1;
    char *buf;

    if (len > sizeof(((TPM2B_AUTH *)NULL)->buffer)) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM, "auth value of %zu bytes",
                    len);
        return 0;
    }
    buf = OPENSSL_secure_zalloc(size);
    if (buf == NULL) {
        DEVID_RAISE(key->prov, DEVID_R_MALLOC, "auth");
        return 0;
    }
    memcpy(buf, value, len);
    if (parent) {
        OPENSSL_secure_clear_free(k->parent_auth, DEVID_TPM2_PARENT_AUTH_SIZE);
        k->parent_auth = buf;
        k->parent_auth_len = len;
    } else {
        OPENSSL_secure_clear_free(k->auth, k->auth_len + 1);
        k->auth = buf;
        k->auth_len = len;
    }
    return 1;
}

int devid_tpm2_key_from_keyfile(struct devid_prov *prov,
                                struct devid_tpm2_keyfile *kf, const char *uri,
                                const struct devid_pin_cb *pin,
                                const struct devid_tpm2_auths *given,
                                struct devid_key **out)
{
    struct devid_key *key = NULL;
    struct devid_tpm2_key *k;
    struct devid_tpm2 *st = NULL;
    ESYS_TR tr;
    int ret = 0;

    *out = NULL;
    if (!devid_tpm2_keyfile_usable(prov, kf)) {
        goto end;
    }
    key = devid_tpm2_key_alloc(prov);
    if (key == NULL) {
        goto end;
    }
    k = key->be;
    k->kf = kf;
    kf = NULL;
    if (uri != NULL && (key->uri = OPENSSL_strdup(uri)) == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "uri");
        goto end;
    }
    if (given != NULL && given->user != NULL) {
        if (!devid_tpm2_key_set_auth_value(key, 0, given->user,
                                           given->user_len)) {
            goto end;
        }
    } else if (!k->kf->empty_auth
               && !devid_tpm2_key_ask_auth(key, uri != NULL ? uri : "TPM key",
                                           pin)) {
        goto end;
    }
    if (k->kf->parent != TPM2_RH_OWNER && given != NULL
        && given->parent != NULL) {
        if (!devid_tpm2_key_set_auth_value(key, 1, given->parent,
                                           given->parent_len)) {
            goto end;
        }
    } else if (k->kf->parent != TPM2_RH_OWNER
               && !devid_tpm2_parent_auth_get(prov, k->kf->parent,
                                              uri != NULL ? uri : "TPM key",
                                              pin, &k->parent_auth,
                                              &k->parent_auth_len)) {
        goto end;
    }
    /* load now, so a key file for another TPM fails here and not in the
     * middle of a handshake */
    if (!devid_tpm2_esys_acquire(prov, &st)
        || !devid_tpm2_key_set_public(key, st, &k->kf->pub.publicArea)
        || !devid_tpm2_key_use(key, st, &tr)) {
        goto end;
    }
    *out = key;
    key = NULL;
    ret = 1;
end:
    devid_tpm2_esys_release(st);
    devid_key_free(key);
    devid_tpm2_keyfile_free(kf);
    return ret;
}

int devid_tpm2_key_from_keyfile_der(struct devid_prov *prov,
                                    const unsigned char *der, size_t len,
                                    const struct devid_pin_cb *pin,
                                    struct devid_key **out)
{
    struct devid_tpm2_keyfile *kf = NULL;

    *out = NULL;
    if (!devid_tpm2_keyfile_decode(prov, der, len, &kf)) {
        return 0;
    }
    return devid_tpm2_key_from_keyfile(prov, kf, NULL, pin, NULL, out);
}

int devid_tpm2_key_get_keyfile_der(struct devid_key *key, unsigned char **der,
                                   size_t *len)
{
    struct devid_tpm2_key *k = key->be;

    *der = NULL;
    if (key->ops != &devid_tpm2_backend || k == NULL || k->kf == NULL) {
        DEVID_RAISE(key->prov, DEVID_R_NOT_SUPPORTED,
                    "%s has no TSS2 key file (persistent handle?)",
                    key->uri != NULL ? key->uri : "key");
        return 0;
    }
    return devid_tpm2_keyfile_encode(key->prov, k->kf, der, len);
}

/* "file:PATH" or "file://PATH" to PATH */
static const char *devid_tpm2_name_path(const char *name)
{
    if (strncmp(name, "file://", 7) == 0) {
        return name + 7;
    }
    if (strncmp(name, "file:", 5) == 0) {
        return name + 5;
    }
    return name;
}

int devid_tpm2_key_open(struct devid_prov *prov, const char *name,
                        const struct devid_pin_cb *pin, struct devid_key **out)
{
    struct devid_tpm2_keyfile *kf = NULL;
    struct devid_key *key = NULL;
    struct devid_tpm2_key *k;
    TPM2B_NAME oname;
    TPM2_HANDLE h = 0;
    int object = strncmp(name, "object:", 7) == 0;
    int ask = 0, r = 1, ret = 0;

    *out = NULL;
    if (devid_tpm2_name_nv(name, &h)) {
        DEVID_RAISE(prov, DEVID_R_NO_OBJECT,
                    "%s is an NV index: a public key or certificate, no "
                    "private key",
                    name);
        return 0;
    }
    if (object && !devid_tpm2_object_handle(prov, name + 7, &h, &oname)) {
        return 0;
    }
    if (!object) {
        r = devid_tpm2_name_handle(name, &h, &ask);
    }
    if (r < 0) {
        DEVID_RAISE(prov, DEVID_R_BAD_URI,
                    "%s: expected handle:0x81xxxxxx[?pass], "
                    "handle:0x01xxxxxx (NV) or object:PATH",
                    name);
        return 0;
    }
    if (r == 0) {
        if (!devid_tpm2_keyfile_read(prov, devid_tpm2_name_path(name), &kf)) {
            return 0;
        }
        return devid_tpm2_key_from_keyfile(prov, kf, name, pin, NULL, out);
    }
    key = devid_tpm2_key_alloc(prov);
    if (key == NULL) {
        goto end;
    }
    k = key->be;
    k->handle = h;
    k->ask_auth = ask;
    key->uri = object ? devid_tpm2_object_uri(name + 7) : OPENSSL_strdup(name);
    if (key->uri == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "uri");
        goto end;
    }
    if (!devid_tpm2_key_open_handle(key, name, pin)
        || (object && !devid_tpm2_object_check(key, &oname))) {
        goto end;
    }
    *out = key;
    key = NULL;
    ret = 1;
end:
    devid_key_free(key);
    return ret;
}
