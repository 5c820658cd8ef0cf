/* SPDX-License-Identifier: Apache-2.0 */
/* The PKCS#11 backend's table of functions (provider/backend.h): search,
 * generate and store here; the key operations live in ops.c. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/name-ref.h"
#include "pkcs11/p11.h"

#define DEVID_P11_NEW_ID_LEN 16

static int devid_p11be_handles(const char *name)
{
    return name != NULL && strncmp(name, "pkcs11:", 7) == 0;
}

/* The tokens a URI names; none is an error (DEVID_R_NO_TOKEN). */
static int devid_p11be_tokens(struct devid_prov *prov,
                              const struct devid_p11_uri *u,
                              struct devid_p11_token ***toks, size_t *n)
{
    struct devid_p11 *p11 = devid_p11_get(prov);

    if (p11 == NULL || !devid_p11_token_list(p11, u, toks, n)) {
        return 0;
    }
    if (0 == *n) {
        DEVID_RAISE(prov, DEVID_R_NO_TOKEN, "%s: no token matches", u->safe);
        return 0;
    }
    return 1;
}

/* Searches one token. When the URI matched several tokens (it names none),
 * a token that cannot be used (no card, write-protected trust store, login
 * refused) is skipped quietly: its errors are dropped. */
static int devid_p11be_search_token(struct devid_prov *prov,
                                    struct devid_p11_token *tok,
                                    const struct devid_p11_uri *u,
                                    unsigned int want,
                                    const struct devid_pin_cb *pin,
                                    devid_object_cb *cb, void *cbarg,
                                    int *stop, int tolerant)
{
    int privs = (0 == want || (want & DEVID_OBJ_PRIVKEY) != 0)
                && (!u->has_class || CKO_PRIVATE_KEY == u->cls);
    int ok;

    if (tolerant) {
        devid_err_mark(prov);
    }
    ok = (!privs || devid_p11_login(tok, u, pin))
         && devid_p11_object_search(tok, u, want, cb, cbarg, stop);
    if (tolerant) {
        if (ok) {
            devid_err_clear_mark(prov);
        } else {
            devid_err_pop_to_mark(prov);
        }
    }
    return ok;
}

static int devid_p11be_search(struct devid_prov *prov, const char *name,
                              unsigned int want, const struct devid_pin_cb *pin,
                              devid_object_cb *cb, void *cbarg)
{
    struct devid_p11_uri *u = NULL;
    struct devid_p11_token **toks = NULL;
    size_t n = 0;
    size_t i;
    size_t skipped = 0;
    int stop = 0;
    int ret = 0;

    if (!devid_p11_uri_parse(prov, name, &u)
        || !devid_p11be_tokens(prov, u, &toks, &n)) {
        goto end;
    }
    for (i = 0; i < n && !stop; i++) {
        if (!devid_p11be_search_token(prov, toks[i], u, want, pin, cb, cbarg,
                                      &stop, n > 1)) {
            if (n == 1) {
                goto end;
            }
            skipped++;
        }
    }
    if (skipped == n) {
        DEVID_RAISE(prov, DEVID_R_NO_TOKEN, "%s: no usable token (%zu failed)",
                    u->safe, n);
        goto end;
    }
    ret = 1;
end:
    OPENSSL_free(toks);
    devid_p11_uri_free(u);
    return ret;
}

/* The one writable token a URI names for a new key. */
static struct devid_p11_token *
devid_p11be_one_token(struct devid_prov *prov, const struct devid_p11_uri *u)
{
    struct devid_p11_token **toks = NULL;
    struct devid_p11_token *tok = NULL;
    size_t n = 0;

    if (devid_p11be_tokens(prov, u, &toks, &n)) {
        tok = devid_p11_token_pick(prov, u->safe, toks, n);
    }
    OPENSSL_free(toks);
    return tok;
}

/* CKA_EC_PARAMS for a named curve: the DER of its OID. */
static int devid_p11be_ec_params(const char *group, unsigned char **der,
                                 int *len)
{
    int nid = OBJ_sn2nid(group);

    if (NID_undef == nid) {
        nid = EC_curve_nist2nid(group);
    }
    if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1
        && nid != NID_secp521r1) {
        return 0;
    }
    *der = NULL;
    *len = i2d_ASN1_OBJECT(OBJ_nid2obj(nid), der);
    return *len > 0;
}

/* Generation parameters in a form the templates point to. */
struct devid_p11be_gen {
    CK_MECHANISM mech;
    unsigned char *ec_params;
    int ec_params_len;
    const unsigned char *ed_params; /* static */
    size_t ed_params_len;
    CK_ULONG bits;
    unsigned char exp[8];
    size_t exp_len;
    unsigned char id[DEVID_P11_NEW_ID_LEN];
    CK_ATTRIBUTE id_attr;
    CK_ATTRIBUTE label_attr;
};

static int devid_p11be_gen_prepare(struct devid_prov *prov,
                                   const struct devid_p11_uri *u,
                                   const struct devid_gen_params *p,
                                   struct devid_p11be_gen *g)
{
    const CK_ATTRIBUTE *id = devid_p11_uri_attr(u, CKA_ID);
    const CK_ATTRIBUTE *label = devid_p11_uri_attr(u, CKA_LABEL);
    unsigned long e = 0 == p->exponent ? 65537UL : p->exponent;
    unsigned long v;
    size_t i;

    if (DEVID_KEY_EC == p->type) {
        g->mech.mechanism = CKM_EC_KEY_PAIR_GEN;
        if (!devid_p11be_ec_params(p->group, &g->ec_params,
                                   &g->ec_params_len)) {
            DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY, "%s: EC group '%s'",
                        u->safe, p->group);
            return 0;
        }
    } else if (devid_key_type_is_eddsa(p->type)) {
        /* v3.0 §2.3.10: the curve is named in CKA_EC_PARAMS */
        g->mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
        g->ed_params = devid_p11_ed_gen_params(p->type, &g->ed_params_len);
    } else if (DEVID_KEY_RSA == p->type) {
        g->mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        if (p->bits < 2048 || p->bits > 4096) {
            DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY, "%s: RSA-%d", u->safe,
                        p->bits);
            return 0;
        }
        g->bits = (CK_ULONG)p->bits;
        /* CKA_PUBLIC_EXPONENT: big-endian, no leading zero byte */
        for (v = e; v != 0; v >>= 8) {
            g->exp_len++;
        }
        for (i = g->exp_len; i > 0; i--, e >>= 8) {
            g->exp[i - 1] = (unsigned char)(e & 0xff);
        }
    } else {
        DEVID_RAISE(prov, DEVID_R_UNSUPPORTED_KEY, "%s: key type %d", u->safe,
                    (int)p->type);
        return 0;
    }
    if (id != NULL) {
        g->id_attr = *id;
    } else {
        if (devid_random_bytes(g->id, sizeof(g->id)) != 1) {
            DEVID_RAISE(prov, DEVID_R_INTERNAL, "random key id");
            return 0;
        }
        g->id_attr.type = CKA_ID;
        g->id_attr.pValue = g->id;
        g->id_attr.ulValueLen = sizeof(g->id);
    }
    if (label != NULL) {
        g->label_attr = *label;
    }
    return 1;
}

/* Templates of PKCS #11 v2.40 §2.1.4 (RSA), §2.3.7 (EC) and v3.0 §2.3.10
 * (Edwards curves): the private key is a token object that never leaves
 * the token. */
static CK_RV devid_p11be_gen_call(struct devid_p11_token *tok,
                                  CK_SESSION_HANDLE s,
                                  struct devid_p11be_gen *g,
                                  CK_OBJECT_HANDLE *priv)
{
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    int ec = CKM_EC_KEY_PAIR_GEN == g->mech.mechanism;
    int ed = CKM_EC_EDWARDS_KEY_PAIR_GEN == g->mech.mechanism;
    CK_ATTRIBUTE pub_t[8] = {
        { CKA_TOKEN, &yes, sizeof(yes) },
        { CKA_PRIVATE, &no, sizeof(no) },
        { CKA_VERIFY, &yes, sizeof(yes) },
        g->id_attr,
    };
    CK_ATTRIBUTE priv_t[8] = {
        { CKA_TOKEN, &yes, sizeof(yes) },
        { CKA_PRIVATE, &yes, sizeof(yes) },
        { CKA_SENSITIVE, &yes, sizeof(yes) },
        { CKA_EXTRACTABLE, &no, sizeof(no) },
        { CKA_SIGN, &yes, sizeof(yes) },
        { ec ? CKA_DERIVE : CKA_DECRYPT, &yes, sizeof(yes) },
        g->id_attr,
    };
    CK_ULONG npub = 4;
    CK_ULONG npriv = 7;
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;

    if (ed) {
        /* an EdDSA key only signs: no CKA_DERIVE, no CKA_DECRYPT */
        priv_t[5] = priv_t[6];
        npriv = 6;
        pub_t[npub].type = CKA_EC_PARAMS;
        pub_t[npub].pValue = (void *)(uintptr_t)g->ed_params;
        pub_t[npub++].ulValueLen = (CK_ULONG)g->ed_params_len;
    } else if (ec) {
        pub_t[npub].type = CKA_EC_PARAMS;
        pub_t[npub].pValue = g->ec_params;
        pub_t[npub++].ulValueLen = (CK_ULONG)g->ec_params_len;
    } else {
        pub_t[npub].type = CKA_MODULUS_BITS;
        pub_t[npub].pValue = &g->bits;
        pub_t[npub++].ulValueLen = sizeof(g->bits);
        pub_t[npub].type = CKA_PUBLIC_EXPONENT;
        pub_t[npub].pValue = g->exp;
        pub_t[npub++].ulValueLen = (CK_ULONG)g->exp_len;
    }
    if (g->label_attr.pValue != NULL) {
        priv_t[npriv++] = g->label_attr;
        pub_t[npub++] = g->label_attr;
    }
    return tok->mod->fn->C_GenerateKeyPair(s, &g->mech, pub_t, npub, priv_t,
                                           npriv, &pub, priv);
}

static int devid_p11be_generate(struct devid_prov *prov, const char *name,
                                const struct devid_gen_params *p,
                                const struct devid_pin_cb *pin,
                                struct devid_key **out)
{
    struct devid_p11be_gen g;
    struct devid_p11_uri *u = NULL;
    struct devid_p11_token *tok = NULL;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
    CK_RV rv;
    int ret = 0;

    *out = NULL;
    memset(&g, 0, sizeof(g));
    if (!devid_p11_uri_parse(prov, name, &u)
        || !devid_p11be_gen_prepare(prov, u, p, &g)) {
        goto end;
    }
    tok = devid_p11be_one_token(prov, u);
    if (tok == NULL || !devid_p11_login(tok, u, pin)) {
        goto end;
    }
    rv = devid_p11_session_take(tok, &s);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(prov, "C_OpenSession", rv, u->safe);
        goto end;
    }
    DEVID_DEBUG("pkcs11", "generating a key pair at %s", u->safe);
    rv = devid_p11be_gen_call(tok, s, &g, &priv);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(prov, "C_GenerateKeyPair", rv, u->safe);
        goto end;
    }
    *out = devid_p11_object_key_new(tok, s, priv, CKO_PRIVATE_KEY);
    ret = *out != NULL;
end:
    if (s != CK_INVALID_HANDLE) {
        devid_p11_session_give(tok, s, 0);
    }
    OPENSSL_free(g.ec_params);
    devid_p11_uri_free(u);
    return ret;
}

/* DER of the parts of a certificate that go into its object's attributes
 * (PKCS #11 v2.40 §4.6.3). */
struct devid_p11be_cert {
    unsigned char *subject;
    int subject_len;
    unsigned char *issuer;
    int issuer_len;
    unsigned char *serial;
    int serial_len;
};

static int devid_p11be_cert_parse(const unsigned char *der, size_t der_len,
                                  struct devid_p11be_cert *c)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)der_len);
    int ret = 0;

    if (x == NULL) {
        goto end;
    }
    c->subject_len = i2d_X509_NAME(X509_get_subject_name(x), &c->subject);
    c->issuer_len = i2d_X509_NAME(X509_get_issuer_name(x), &c->issuer);
    c->serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &c->serial);
    ret = c->subject_len > 0 && c->issuer_len > 0 && c->serial_len > 0;
end:
    X509_free(x);
    return ret;
}

/* 1 when the token already holds a certificate object with this value (so
 * installing the same chain again adds nothing), 0 when not or unknown. */
static int devid_p11be_cert_exists(struct devid_p11_token *tok,
                                   CK_SESSION_HANDLE s,
                                   const unsigned char *der, size_t der_len)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE t[2] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_VALUE, (void *)(uintptr_t)der, (CK_ULONG)der_len },
    };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG found = 0;

    if (tok->mod->fn->C_FindObjectsInit(s, t, 2) != CKR_OK) {
        return 0;
    }
    if (tok->mod->fn->C_FindObjects(s, &h, 1, &found) != CKR_OK) {
        found = 0;
    }
    tok->mod->fn->C_FindObjectsFinal(s);
    return found > 0;
}

/* A certificate object in the key's token: the key's own certificate with
 * its CKA_ID, or (authority) a CA certificate of its chain, without the
 * key's CKA_ID and marked CKA_CERTIFICATE_CATEGORY 2 (PKCS #11 v2.40
 * §4.6.2), so that looking up "the certificate of this key" finds one. */
static int devid_p11be_store(struct devid_key *key, const unsigned char *der,
                             size_t der_len, const char *label, int authority)
{
    struct devid_p11_key *k = key->be;
    struct devid_p11be_cert c = { NULL, 0, NULL, 0, NULL, 0 };
    struct devid_p11_token *tok = NULL;
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_ULONG category = 2;          /* authority */
    const char *lbl = label != NULL ? label : key->label;
    CK_ATTRIBUTE t[11] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
        { CKA_TOKEN, &yes, sizeof(yes) },
        { CKA_PRIVATE, &no, sizeof(no) },
        { CKA_VALUE, (void *)(uintptr_t)der, (CK_ULONG)der_len },
    };
    CK_ULONG n = 5;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_RV rv;
    int ret = 0;

    if (!devid_p11be_cert_parse(der, der_len, &c)) {
        DEVID_RAISE(key->prov, DEVID_R_INVALID_PARAM,
                    "%s: not a DER certificate", key->uri);
        goto end;
    }
    t[n++] = (CK_ATTRIBUTE){ CKA_SUBJECT, c.subject, (CK_ULONG)c.subject_len };
    t[n++] = (CK_ATTRIBUTE){ CKA_ISSUER, c.issuer, (CK_ULONG)c.issuer_len };
    t[n++] = (CK_ATTRIBUTE){ CKA_SERIAL_NUMBER, c.serial,
                             (CK_ULONG)c.serial_len };
    if (authority) {
        t[n++] = (CK_ATTRIBUTE){ CKA_CERTIFICATE_CATEGORY, &category,
                                 sizeof(category) };
    } else if (k->id != NULL) {
        t[n++] = (CK_ATTRIBUTE){ CKA_ID, k->id, (CK_ULONG)k->id_len };
    }
    if (lbl != NULL) {
        t[n++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)(uintptr_t)lbl,
                                 (CK_ULONG)strlen(lbl) };
    }
    tok = devid_p11_ops_ready(key);
    if (tok == NULL) {
        goto end;
    }
    rv = devid_p11_session_take(tok, &s);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(key->prov, "C_OpenSession", rv, key->uri);
        goto end;
    }
    if (devid_p11be_cert_exists(tok, s, der, der_len)) {
        rv = CKR_OK;                /* already there: nothing to add */
    } else {
        rv = tok->mod->fn->C_CreateObject(s, t, n, &h);
    }
    /* a key has one leaf: the ones this replaces go, once it is written
     * (provision --force left one more each time) */
    if (rv == CKR_OK && h != CK_INVALID_HANDLE && !authority && k->id != NULL) {
        rv = devid_p11_certs_replace(tok, s, k->id, k->id_len, h);
    }
    devid_p11_session_give(tok, s, 0);
    if (rv != CKR_OK) {
        devid_p11_raise_rv(key->prov, "C_CreateObject", rv, key->uri);
        goto end;
    }
    ret = 1;
end:
    OPENSSL_free(c.subject);
    OPENSSL_free(c.issuer);
    OPENSSL_free(c.serial);
    return ret;
}

static int devid_p11be_store_cert(struct devid_key *key,
                                  const unsigned char *der, size_t der_len,
                                  const char *label)
{
    return devid_p11be_store(key, der, der_len, label, 0);
}

static int devid_p11be_store_ca_cert(struct devid_key *key,
                                     const unsigned char *der, size_t der_len,
                                     const char *label)
{
    return devid_p11be_store(key, der, der_len, label, 1);
}

static void devid_p11be_key_free(struct devid_key *key)
{
    struct devid_p11_key *k = key->be;

    if (k == NULL) {
        return;
    }
    devid_p11_copy_free(key);
    OPENSSL_free(k->id);
    OPENSSL_clear_free(k, sizeof(*k));
    key->be = NULL;
}

int devid_p11_start_early(struct devid_prov *prov)
{
    struct devid_p11 *p11;
    int ret;

    if (!devid_p11_cfg_get(prov)->load_early) {
        return 1;
    }
    p11 = devid_p11_get(prov);
    if (p11 == NULL) {
        return 0;
    }
    pthread_mutex_lock(&p11->lock);
    ret = devid_p11_module_load_for(p11, NULL);
    pthread_mutex_unlock(&p11->lock);
    return ret;
}

/* A key's reference file holds its URI (pkcs11-provider's format). */
static int devid_p11be_encode_ref(struct devid_key *key, const char **pem_label,
                                  unsigned char **der, size_t *der_len)
{
    if (key->uri == NULL || !devid_name_ref_encode(key->uri, der, der_len)) {
        DEVID_RAISE(key->prov, DEVID_R_MALLOC, "reference to a token key");
        return 0;
    }
    *pem_label = DEVID_PEM_NAME_REF;
    return 1;
}

/* The body holds a name; whichever backend handles that name opens it (a
 * TPM's persistent handle is written in this format too). A name of a
 * public key ("type=public") gives that public key, as pkcs11-provider's
 * files do. */
static int devid_p11be_decode_ref(struct devid_prov *prov,
                                  const unsigned char *der, size_t der_len,
                                  const struct devid_pin_cb *pin,
                                  struct devid_key **out)
{
    char *name = devid_name_ref_decode(der, der_len);
    int ret;

    *out = NULL;
    if (name == NULL) {
        return 1; /* not a name reference */
    }
    ret = devid_key_open_name_any(prov, name, pin, out);
    OPENSSL_free(name);
    return ret;
}

/* Renewal: the same URI without its id (the token assigns a new one) and
 * with the stamp appended to the object label, or a label made of it. The
 * query (pin-source, module-path) is kept as it is. */
static int devid_p11be_renew_name(const char *base, const char *stamp,
                                  char **out)
{
    size_t len = strlen(base) + strlen(stamp) + 32;
    char *copy = OPENSSL_strdup(base + 7);
    char *buf = OPENSSL_malloc(len);
    char *query = NULL;
    char *save = NULL;
    char *attr;
    size_t o = 0;
    int named = 0;

    *out = NULL;
    if (copy == NULL || buf == NULL) {
        OPENSSL_free(copy);
        OPENSSL_free(buf);
        return 0;
    }
    query = strchr(copy, '?');
    if (query != NULL) {
        *query++ = '\0';
    }
    o += (size_t)snprintf(buf, len, "pkcs11:");
    for (attr = strtok_r(copy, ";", &save); attr != NULL;
         attr = strtok_r(NULL, ";", &save)) {
        int is_object = strncmp(attr, "object=", 7) == 0;

        if (strncmp(attr, "id=", 3) == 0) {
            continue;
        }
        o += (size_t)snprintf(buf + o, len - o, "%s%s%s%s", o > 7 ? ";" : "",
                              attr, is_object ? "-" : "",
                              is_object ? stamp : "");
        named |= is_object;
    }
    if (!named) {
        o += (size_t)snprintf(buf + o, len - o, "%sobject=devid-%s",
                              o > 7 ? ";" : "", stamp);
    }
    if (query != NULL) {
        snprintf(buf + o, len - o, "?%s", query);
    }
    OPENSSL_free(copy);
    *out = buf;
    return 1;
}

/* Every entry that calls into a module runs with SIGPIPE blocked: a proxy
 * whose server went away must not end the program (recover.c). */
static int devid_p11be_g_search(struct devid_prov *prov, const char *name,
                                unsigned int want,
                                const struct devid_pin_cb *pin,
                                devid_object_cb *cb, void *cbarg)
{
    int ret;

    DEVID_P11_GUARDED(ret,
                      devid_p11be_search(prov, name, want, pin, cb, cbarg));
    return ret;
}

static int devid_p11be_g_generate(struct devid_prov *prov, const char *name,
                                  const struct devid_gen_params *p,
                                  const struct devid_pin_cb *pin,
                                  struct devid_key **out)
{
    int ret;

    DEVID_P11_GUARDED(ret, devid_p11be_generate(prov, name, p, pin, out));
    return ret;
}

static int devid_p11be_g_store_cert(struct devid_key *key,
                                    const unsigned char *der, size_t der_len,
                                    const char *label)
{
    int ret;

    DEVID_P11_GUARDED(ret, devid_p11be_store_cert(key, der, der_len, label));
    return ret;
}

static int devid_p11be_g_store_ca_cert(struct devid_key *key,
                                       const unsigned char *der, size_t der_len,
                                       const char *label)
{
    int ret;

    DEVID_P11_GUARDED(ret, devid_p11be_store_ca_cert(key, der, der_len, label));
    return ret;
}

static int devid_p11be_g_describe(struct devid_key *key, BIO *out, int indent)
{
    int ret;

    DEVID_P11_GUARDED(ret, devid_p11_key_describe(key, out, indent));
    return ret;
}

static void devid_p11be_g_key_free(struct devid_key *key)
{
    struct devid_p11_sigpipe g;

    devid_p11_sigpipe_block(&g);
    devid_p11be_key_free(key);
    devid_p11_sigpipe_restore(&g, 1);
}

static int devid_p11be_g_delete_key(struct devid_prov *prov, const char *name,
                                    const struct devid_pin_cb *pin)
{
    int ret;

    DEVID_P11_GUARDED(ret, devid_p11_key_delete(prov, name, pin));
    return ret;
}

static int devid_p11be_g_start_early(struct devid_prov *prov)
{
    int ret;

    DEVID_P11_GUARDED(ret, devid_p11_start_early(prov));
    return ret;
}

static const char *const devid_p11be_schemes[] = { "pkcs11", NULL };
static const char *const devid_p11be_ref_labels[] = { DEVID_PEM_NAME_REF,
                                                      NULL };

const struct devid_backend_ops devid_pkcs11_backend = {
    .name = "pkcs11",
    .description = "keys in PKCS#11 tokens, named by RFC 7512 URIs",
    .flags = DEVID_BACKEND_CERT_BESIDE_KEY,
    .schemes = devid_p11be_schemes,
    .name_help = "pkcs11:token=...;object=...",
    .gen_name_param = "pkcs11_uri", /* pkcs11-provider's name */
    .handles = devid_p11be_handles,
    .renew_name = devid_p11be_renew_name,
    .ref_labels = devid_p11be_ref_labels,
    .encode_ref = devid_p11be_encode_ref,
    .decode_ref = devid_p11be_decode_ref,
    .settings = devid_p11_settings,
    .config_set = devid_p11_cfg_set,
    .config_free = devid_p11_cfg_free,
    .first_use = devid_p11_first_use,
    .after_fork = devid_p11_after_fork_hook,
    .start_early = devid_p11be_g_start_early,
    .teardown = devid_p11_teardown,
    .search = devid_p11be_g_search,
    .sign = devid_p11_guard_sign,
    .sign_init = devid_p11_sign_init,
    .sign_update = devid_p11_guard_sign_update,
    .sign_final = devid_p11_guard_sign_final,
    .sign_dup = devid_p11_sign_dup,
    .sign_free = devid_p11_guard_sign_free,
    .decrypt = devid_p11_guard_decrypt,
    .derive = devid_p11_guard_derive,
    .generate = devid_p11be_g_generate,
    .store_cert = devid_p11be_g_store_cert,
    .store_ca_cert = devid_p11be_g_store_ca_cert,
    .describe = devid_p11be_g_describe,
    .key_free = devid_p11be_g_key_free,
    .delete_key = devid_p11be_g_delete_key,
};
