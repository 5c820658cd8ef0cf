/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: the PKIs kept in the state directory (server TLS roots
 * A and B, device issuing root + CA, factory root + CA) and certificate
 * construction. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "emulator/emu.h"

enum devid_emu_kind {
    DEVID_EMU_ROOT,
    DEVID_EMU_ICA,
    DEVID_EMU_SERVER,
    DEVID_EMU_CLIENT
};

#define DEVID_EMU_DAY (24L * 3600L)

static int devid_emu_add_ext(X509 *cert, X509 *issuer, int nid,
                             const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext = NULL;
    int ret = 0;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL || X509_add_ext(cert, ext, -1) != 1) {
        goto end;
    }
    ret = 1;
end:
    X509_EXTENSION_free(ext);
    return ret;
}

static int devid_emu_add_exts(X509 *cert, X509 *issuer,
                              enum devid_emu_kind kind)
{
    int ok = devid_emu_add_ext(cert, cert, NID_subject_key_identifier, "hash")
             && devid_emu_add_ext(cert, issuer, NID_authority_key_identifier,
                                  "keyid:always");

    switch (kind) {
    case DEVID_EMU_ROOT:
        return ok
               && devid_emu_add_ext(cert, issuer, NID_basic_constraints,
                                    "critical,CA:TRUE")
               && devid_emu_add_ext(cert, issuer, NID_key_usage,
                                    "critical,keyCertSign,cRLSign");
    case DEVID_EMU_ICA:
        return ok
               && devid_emu_add_ext(cert, issuer, NID_basic_constraints,
                                    "critical,CA:TRUE,pathlen:0")
               && devid_emu_add_ext(cert, issuer, NID_key_usage,
                                    "critical,keyCertSign,cRLSign");
    case DEVID_EMU_SERVER:
        return ok
               && devid_emu_add_ext(cert, issuer, NID_basic_constraints,
                                    "critical,CA:FALSE")
               && devid_emu_add_ext(cert, issuer, NID_key_usage,
                                    "critical,digitalSignature")
               && devid_emu_add_ext(cert, issuer, NID_ext_key_usage,
                                    "serverAuth")
               && devid_emu_add_ext(cert, issuer, NID_subject_alt_name,
                                    "DNS:localhost,IP:127.0.0.1");
    case DEVID_EMU_CLIENT:
        return ok
               && devid_emu_add_ext(cert, issuer, NID_basic_constraints,
                                    "critical,CA:FALSE")
               && devid_emu_add_ext(cert, issuer, NID_key_usage,
                                    "critical,digitalSignature")
               && devid_emu_add_ext(cert, issuer, NID_ext_key_usage,
                                    "clientAuth");
    }
    return 0;
}

/* SHA-384 under a P-384 (or larger) issuer, SHA-256 otherwise. */
static const EVP_MD *devid_emu_sign_md(EVP_PKEY *key)
{
    return EVP_PKEY_get_bits(key) >= 384 && EVP_PKEY_get_base_id(key)
                                                == EVP_PKEY_EC
               ? EVP_sha384()
               : EVP_sha256();
}

static int devid_emu_set_serial(X509 *cert)
{
    BIGNUM *bn = BN_new();
    ASN1_INTEGER *serial = NULL;
    int ret = 0;

    if (bn == NULL || BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)
                          != 1) {
        goto end;
    }
    serial = BN_to_ASN1_INTEGER(bn, NULL);
    ret = serial != NULL && X509_set_serialNumber(cert, serial) == 1;
end:
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return ret;
}

/* Build and sign a certificate; issuer NULL means self-signed. */
static X509 *devid_emu_cert_make(EVP_PKEY *pub, const char *cn,
                                 const struct devid_emu_ca *issuer,
                                 EVP_PKEY *self_key, enum devid_emu_kind kind,
                                 long seconds)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    EVP_PKEY *sign_key = issuer != NULL ? issuer->key : self_key;
    X509 *ret = NULL;
    int ok;

    if (cert == NULL || name == NULL) {
        goto end;
    }
    ok = X509_set_version(cert, 2) == 1 && devid_emu_set_serial(cert)
         && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                       (const unsigned char *)"devid emulator",
                                       -1, -1, 0) == 1
         && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       (const unsigned char *)cn, -1, -1, 0)
                == 1
         && X509_set_subject_name(cert, name) == 1
         && X509_set_issuer_name(cert, issuer != NULL
                                           ? X509_get_subject_name(issuer->cert)
                                           : name) == 1
         && X509_gmtime_adj(X509_getm_notBefore(cert), kind == DEVID_EMU_CLIENT
                                                           ? 0
                                                           : -3600) != NULL
         && X509_gmtime_adj(X509_getm_notAfter(cert), seconds) != NULL
         && X509_set_pubkey(cert, pub) == 1
         && devid_emu_add_exts(cert, issuer != NULL ? issuer->cert : cert, kind)
         && X509_sign(cert, sign_key, devid_emu_sign_md(sign_key)) > 0;
    if (ok) {
        ret = cert;
        cert = NULL;
    }
end:
    X509_NAME_free(name);
    X509_free(cert);
    return ret;
}

X509 *devid_emu_pki_sign_leaf(const struct devid_emu_ca *issuer,
                              EVP_PKEY *pub, const char *cn, long seconds)
{
    return devid_emu_cert_make(pub, cn, issuer, NULL, DEVID_EMU_CLIENT,
                               seconds);
}

static int devid_emu_ca_create(struct devid_emu_ca *ca,
                               const struct devid_emu_ca *issuer,
                               const char *cn, const char *curve,
                               enum devid_emu_kind kind, long seconds)
{
    ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    if (ca->key == NULL) {
        return 0;
    }
    ca->cert = devid_emu_cert_make(ca->key, cn, issuer, ca->key, kind,
                                   seconds);
    return ca->cert != NULL;
}

static int devid_emu_ca_save(const struct devid_emu_ca *ca, const char *dir,
                             const char *base)
{
    char name[64];
    char *path = NULL;
    char *text = NULL;
    size_t len = 0;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;
    int ret = 0;

    snprintf(name, sizeof(name), "%s.pem", base);
    path = devid_emu_path(dir, name);
    if (bio == NULL || path == NULL || !devid_emu_pki_pem_append(ca->cert,
                                                                 &text, &len)
        || !devid_emu_write_file(path, text, len, 0644)) {
        goto end;
    }
    free(path);
    snprintf(name, sizeof(name), "%s.key", base);
    path = devid_emu_path(dir, name);
    if (path == NULL
        || PEM_write_bio_PrivateKey(bio, ca->key, NULL, NULL, 0, NULL, NULL)
               != 1) {
        goto end;
    }
    n = BIO_get_mem_data(bio, &data);
    ret = devid_emu_write_file(path, data, (size_t)n, 0600);
end:
    BIO_free(bio);
    free(text);
    free(path);
    return ret;
}

static int devid_emu_ca_load(struct devid_emu_ca *ca, const char *dir,
                             const char *base)
{
    char name[64];
    char *path = NULL;
    FILE *f = NULL;
    int ret = 0;

    snprintf(name, sizeof(name), "%s.pem", base);
    path = devid_emu_path(dir, name);
    ca->cert = path != NULL ? devid_emu_pki_read_cert(path) : NULL;
    free(path);
    snprintf(name, sizeof(name), "%s.key", base);
    path = devid_emu_path(dir, name);
    f = path != NULL ? fopen(path, "r") : NULL;
    if (ca->cert == NULL || f == NULL) {
        goto end;
    }
    ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    ret = ca->key != NULL;
end:
    if (f != NULL) {
        fclose(f);
    }
    free(path);
    return ret;
}

/* Write issuer-chain.pem = ca then root (what a device sends after its leaf
 * is only the CA; the file with both is for trust stores). */
static int devid_emu_chain_save(const struct devid_emu_ca *ca,
                                const struct devid_emu_ca *root,
                                const char *dir, const char *file)
{
    char *path = devid_emu_path(dir, file);
    char *text = NULL;
    size_t len = 0;
    int ret = path != NULL && devid_emu_pki_pem_append(ca->cert, &text, &len)
              && devid_emu_pki_pem_append(root->cert, &text, &len)
              && devid_emu_write_file(path, text, len, 0644);

    free(text);
    free(path);
    return ret;
}

/* One two-level PKI in dir/sub: root + (ICA or server leaf). */
static int devid_emu_pair_open(const char *dir, const char *sub,
                               struct devid_emu_ca *root,
                               struct devid_emu_ca *child,
                               enum devid_emu_kind kind, const char *curve,
                               const char *label)
{
    char *path = devid_emu_path(dir, sub);
    const char *child_base = kind == DEVID_EMU_SERVER ? "cert" : "ca";
    char cn[96];
    int ret = 0;

    if (path == NULL) {
        return 0;
    }
    if (devid_emu_ca_load(root, path, "root")
        && devid_emu_ca_load(child, path, child_base)) {
        ret = 1;
        goto end;
    }
    X509_free(root->cert);
    EVP_PKEY_free(root->key);
    X509_free(child->cert);
    EVP_PKEY_free(child->key);
    memset(root, 0, sizeof(*root));
    memset(child, 0, sizeof(*child));
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        devid_emu_log("cannot create %s: %s", path, strerror(errno));
        goto end;
    }
    snprintf(cn, sizeof(cn), "devid emulator %s root", label);
    if (!devid_emu_ca_create(root, NULL, cn, curve, DEVID_EMU_ROOT,
                             3650 * DEVID_EMU_DAY)) {
        goto end;
    }
    snprintf(cn, sizeof(cn), kind == DEVID_EMU_SERVER ? "localhost"
                                                      : "devid emulator %s CA",
             label);
    ret = devid_emu_ca_create(child, root, cn, curve, kind,
                              1825 * DEVID_EMU_DAY)
          && devid_emu_ca_save(root, path, "root")
          && devid_emu_ca_save(child, path, child_base)
          && devid_emu_chain_save(child, root, path, "chain.pem");
    devid_emu_log("created %s PKI in %s", label, path);
end:
    free(path);
    return ret;
}

int devid_emu_pki_open(struct devid_emu_pki *pki, const char *dir)
{
    memset(pki, 0, sizeof(*pki));
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        devid_emu_log("cannot create %s: %s", dir, strerror(errno));
        return 0;
    }
    pki->dir = strdup(dir);
    return pki->dir != NULL
           && devid_emu_pair_open(dir, "server-a", &pki->server_root[0],
                                  &pki->server_leaf[0], DEVID_EMU_SERVER,
                                  "P-256", "server A")
           && devid_emu_pair_open(dir, "server-b", &pki->server_root[1],
                                  &pki->server_leaf[1], DEVID_EMU_SERVER,
                                  "P-256", "server B")
           && devid_emu_pair_open(dir, "device", &pki->device_root,
                                  &pki->device_ca, DEVID_EMU_ICA, "P-384",
                                  "device issuing")
           && devid_emu_pair_open(dir, "factory", &pki->factory_root,
                                  &pki->factory_ca, DEVID_EMU_ICA, "P-256",
                                  "factory");
}

static void devid_emu_ca_free(struct devid_emu_ca *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    ca->cert = NULL;
    ca->key = NULL;
}

void devid_emu_pki_free(struct devid_emu_pki *pki)
{
    int i;

    for (i = 0; i < 2; i++) {
        devid_emu_ca_free(&pki->server_root[i]);
        devid_emu_ca_free(&pki->server_leaf[i]);
    }
    devid_emu_ca_free(&pki->device_root);
    devid_emu_ca_free(&pki->device_ca);
    devid_emu_ca_free(&pki->factory_root);
    devid_emu_ca_free(&pki->factory_ca);
    free(pki->dir);
    pki->dir = NULL;
}

X509 *devid_emu_pki_read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *cert = NULL;

    if (f == NULL) {
        return NULL;
    }
    cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return cert;
}

X509_REQ *devid_emu_pki_read_csr(const char *path)
{
    BIO *bio = BIO_new_file(path, "rb");
    X509_REQ *req = NULL;

    if (bio == NULL) {
        return NULL;
    }
    req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
    if (req == NULL && BIO_reset(bio) == 0) {
        req = d2i_X509_REQ_bio(bio, NULL);
    }
    BIO_free(bio);
    return req;
}

int devid_emu_pki_pem_append(X509 *cert, char **text, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    char *grown = NULL;
    long n;
    int ret = 0;

    if (bio == NULL || PEM_write_bio_X509(bio, cert) != 1) {
        goto end;
    }
    n = BIO_get_mem_data(bio, &data);
    grown = realloc(*text, *len + (size_t)n + 1);
    if (grown == NULL) {
        goto end;
    }
    memcpy(grown + *len, data, (size_t)n);
    *len += (size_t)n;
    grown[*len] = '\0';
    *text = grown;
    ret = 1;
end:
    BIO_free(bio);
    return ret;
}

char *devid_emu_pki_server_file(const struct devid_emu_pki *pki, char root,
                                const char *name)
{
    char sub[64];

    snprintf(sub, sizeof(sub), "server-%c/%s", root == 'B' ? 'b' : 'a', name);
    return devid_emu_path(pki->dir, sub);
}
