/* SPDX-License-Identifier: Apache-2.0 */
/* devid keygen and devid csr: the device's own key pair, made inside its
 * token or TPM, and a CSR signed by it. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "provider/backend.h"
#include "provider/ref-file.h"
#include "tools/tool.h"

struct devid_key_type_name {
    const char *name;
    enum devid_key_type type;
    int bits;
    const char *group;
};

static const struct devid_key_type_name devid_key_types[] = {
    { "ec-p256", DEVID_KEY_EC, 256, "prime256v1" },
    { "ec-p384", DEVID_KEY_EC, 384, "secp384r1" },
    { "ec-p521", DEVID_KEY_EC, 521, "secp521r1" },
    { "rsa-2048", DEVID_KEY_RSA, 2048, NULL },
    { "rsa-3072", DEVID_KEY_RSA, 3072, NULL },
    { "rsa-4096", DEVID_KEY_RSA, 4096, NULL },
    { "ed25519", DEVID_KEY_ED25519, 256, NULL },
    { "ed448", DEVID_KEY_ED448, 456, NULL },
    { NULL, DEVID_KEY_NONE, 0, NULL }
};

static const struct devid_key_type_name *devid_key_type_find(const char *name)
{
    const struct devid_key_type_name *k;

    for (k = devid_key_types; k->name != NULL; k++) {
        if (strcmp(k->name, name) == 0) {
            return k;
        }
    }
    return NULL;
}

int devid_key_type_known(const char *name)
{
    return devid_key_type_find(name) != NULL;
}

void devid_key_type_list(char *buf, size_t size)
{
    const struct devid_key_type_name *k;
    size_t n = 0;

    buf[0] = '\0';
    for (k = devid_key_types; k->name != NULL && n < size; k++) {
        n += (size_t)snprintf(buf + n, size - n, "%s%s",
                              k == devid_key_types ? "" : ", ", k->name);
    }
}

static const char *devid_key_type_of(const struct devid_key *key)
{
    const struct devid_key_type_name *k;

    for (k = devid_key_types; k->name != NULL; k++) {
        if (k->type == key->pub.type && k->bits == key->pub.bits) {
            return k->name;
        }
    }
    return "unknown";
}

struct devid_first_key {
    struct devid_key *key;
};

static int devid_take_first_key(const struct devid_object *obj, void *arg)
{
    struct devid_first_key *first = arg;

    if (obj->cls == DEVID_OBJ_PRIVKEY) {
        first->key = devid_key_up_ref(obj->key);
        return 0;
    }
    return 1;
}

/* An existing key at name, or NULL (no error) when there is none. */
static struct devid_key *devid_find_key(struct devid_tool *t,
                                        const struct devid_backend_ops *ops,
                                        const char *name)
{
    struct devid_first_key first = { NULL };

    if (ops->search == NULL) {
        return NULL;
    }
    ERR_set_mark();
    if (!ops->search(t->prov, name, DEVID_OBJ_PRIVKEY, NULL,
                     devid_take_first_key, &first)) {
        ERR_pop_to_mark();      /* "not there" is the normal case here */
        return NULL;
    }
    ERR_clear_last_mark();
    return first.key;
}

int devid_key_exists(struct devid_tool *t, const char *name)
{
    const struct devid_backend_ops *ops = devid_backend_for_name(name);
    struct devid_key *key = ops != NULL ? devid_find_key(t, ops, name) : NULL;

    devid_key_free(key);
    return key != NULL;
}

/* Writes the reference file of key to path (or stdout when path is NULL). */
int devid_write_key_ref(struct devid_tool *t, struct devid_key *key,
                        const char *path)
{
    char *pem = devid_ref_pem_for_key(key);
    int ok;

    if (pem == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_KEY, "cannot encode a reference");
    }
    if (path == NULL) {
        ok = fputs(pem, t->json ? stderr : stdout) >= 0;
    } else {
        ok = devid_atomic_write(path, pem, strlen(pem), 0644);
    }
    OPENSSL_free(pem);
    if (!ok) {
        return devid_tool_fail(t, DEVID_EXIT_INSTALL, "cannot write %s: %s",
                               path != NULL ? path : "stdout", strerror(errno));
    }
    return DEVID_EXIT_OK;
}

static void devid_keygen_usage(FILE *out)
{
    fprintf(out,
            "Usage: devid keygen [--type TYPE] [--out REF.pem] NAME\n"
            "Creates a non-exportable key pair at NAME, or reuses the key "
            "that\n"
            "is already there, and writes its reference file (no secret).\n"
            "  NAME   pkcs11:token=...;object=LABEL[;id=%%..]  (PIN from\n"
            "         pin-source/pin-value or the pin-source setting),\n"
            "         handle:0x81xxxxxx (TPM persistent), or a path for a TPM\n"
            "         key file (TSS2 PRIVATE KEY)\n"
            "  --type ec-p256 (default), ec-p384, ec-p521, rsa-2048, "
            "rsa-3072,\n"
            "         rsa-4096, ed25519, ed448 (TPM: ec-p256, ec-p384,\n"
            "         rsa-2048, rsa-3072)\n"
            "  --out  reference file to write (default: stdout)\n");
}

int devid_key_ensure(struct devid_tool *t, const char *name, const char *type,
                     struct devid_key **out, int *created)
{
    const struct devid_key_type_name *kt = devid_key_type_find(type);
    const struct devid_backend_ops *ops = devid_backend_for_name(name);
    struct devid_gen_params gp;
    struct devid_key *key = NULL;

    *out = NULL;
    *created = 0;
    if (kt == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_USAGE, "unknown key type '%s'",
                               type);
    }
    if (ops == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_USAGE,
                               "'%s' is neither a pkcs11: URI, a TPM handle "
                               "nor a TPM key file path", name);
    }
    key = devid_find_key(t, ops, name);
    if (key != NULL && strcmp(devid_key_type_of(key), kt->name) != 0) {
        devid_tool_fail(t, DEVID_EXIT_KEY,
                        "a %s key already exists at %s (asked for %s)",
                        devid_key_type_of(key), name, kt->name);
        devid_key_free(key);
        return DEVID_EXIT_KEY;
    }
    if (key != NULL) {
        devid_tool_progress(t, "reusing the %s key already at %s", kt->name,
                            key->uri != NULL ? key->uri : name);
        *out = key;
        return DEVID_EXIT_OK;
    }
    memset(&gp, 0, sizeof(gp));
    gp.type = kt->type;
    gp.bits = kt->bits;
    if (kt->group != NULL) {
        OPENSSL_strlcpy(gp.group, kt->group, sizeof(gp.group));
    }
    devid_tool_progress(t, "creating a %s key in the %s backend", kt->name,
                        ops->name);
    if (ops->generate == NULL
        || !ops->generate(t->prov, name, &gp, NULL, &key)) {
        return devid_tool_fail(t, DEVID_EXIT_KEY, "cannot create a key at %s",
                               name);
    }
    *out = key;
    *created = 1;
    return DEVID_EXIT_OK;
}

int devid_cmd_keygen(struct devid_tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        { "type", required_argument, NULL, 't' },
        { "out", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct devid_key *key = NULL;
    const char *type;
    const char *out = NULL;
    const char *name;
    int created = 0;
    int c;
    int rc;

    while ((c = getopt_long(argc, argv, "t:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (!devid_settings_set(t, "--type", "key-type", optarg)) {
                return DEVID_EXIT_CONFIG;
            }
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            devid_keygen_usage(stdout);
            return DEVID_EXIT_OK;
        default:
            devid_keygen_usage(stderr);
            return DEVID_EXIT_USAGE;
        }
    }
    /* keygen's own default: the cheapest key; provision asks for ec-p384 */
    type = t->set.key_type != NULL ? t->set.key_type : "ec-p256";
    name = optind < argc ? argv[optind] : t->set.key;
    if (name == NULL || optind + 1 < argc) {
        devid_keygen_usage(stderr);
        return DEVID_EXIT_USAGE;
    }
    if (!devid_tool_crypto_init(t)) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot start OpenSSL");
    }
    rc = devid_key_ensure(t, name, type, &key, &created);
    if (rc == DEVID_EXIT_OK) {
        rc = devid_write_key_ref(t, key, out);
    }
    if (rc == DEVID_EXIT_OK) {
        devid_tool_result(t, "key", key->uri != NULL ? key->uri : name);
        devid_tool_result(t, "type", type);
        devid_tool_result(t, "created", created ? "yes" : "no");
        devid_tool_result(t, "reference", out);
    }
    devid_key_free(key);
    return rc;
}

/* RFC 5280 §4.2.1.6 names from "DNS:x", "IP:1.2.3.4", "URI:..." */
static int devid_csr_add_sans(X509_REQ *req, char **sans, int n)
{
    STACK_OF(X509_EXTENSION) *exts = NULL;
    X509_EXTENSION *ext = NULL;
    char value[2048] = "";
    size_t len = 0;
    int i;
    int ret = 0;

    if (n == 0) {
        return 1;
    }
    for (i = 0; i < n; i++) {
        int w = snprintf(value + len, sizeof(value) - len, "%s%s",
                         i > 0 ? "," : "", sans[i]);

        if (w < 0 || (size_t)w >= sizeof(value) - len) {
            return 0;
        }
        len += (size_t)w;
    }
    ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, value);
    exts = sk_X509_EXTENSION_new_null();
    if (ext == NULL || exts == NULL || !sk_X509_EXTENSION_push(exts, ext)) {
        goto end;
    }
    ext = NULL;
    ret = X509_REQ_add_extensions(req, exts);
end:
    X509_EXTENSION_free(ext);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return ret;
}

/* The digest that matches the key's strength (RFC 5480 §4, TLS practice);
 * none for EdDSA, which hashes inside the signature (RFC 8410 §6). */
static const EVP_MD *devid_csr_md(EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448")) {
        return NULL;
    }
    return EVP_PKEY_get_bits(pkey) == 384 ? EVP_sha384()
           : EVP_PKEY_get_bits(pkey) == 521 ? EVP_sha512()
                                            : EVP_sha256();
}

/* Makes a CSR for pkey with subject CN=cn; returns it or NULL. */
X509_REQ *devid_make_csr(EVP_PKEY *pkey, const char *cn, char **sans,
                         int n_sans)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *subj = X509_NAME_new();

    if (req == NULL || subj == NULL || !X509_REQ_set_version(req, 0)) {
        goto err;
    }
    /* built apart and copied in: OpenSSL 4.0 hands out the request's own
     * name as const */
    if (!X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
                                    (const unsigned char *)cn, -1, -1, 0)
        || !X509_REQ_set_subject_name(req, subj)
        || !X509_REQ_set_pubkey(req, pkey)
        || !devid_csr_add_sans(req, sans, n_sans)
        || X509_REQ_sign(req, pkey, devid_csr_md(pkey)) <= 0) {
        goto err;
    }
    X509_NAME_free(subj);
    return req;
err:
    X509_NAME_free(subj);
    X509_REQ_free(req);
    return NULL;
}

int devid_csr_der(struct devid_tool *t, const char *keyname, const char *cn,
                  unsigned char **der, size_t *len)
{
    EVP_PKEY *pkey = devid_tool_load_key(t, keyname);
    X509_REQ *req = NULL;
    int n;

    if (pkey == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_KEY, "cannot open key %s",
                               keyname);
    }
    req = devid_make_csr(pkey, cn, NULL, 0);
    EVP_PKEY_free(pkey);
    n = req != NULL ? i2d_X509_REQ(req, der) : -1;
    X509_REQ_free(req);
    if (n <= 0) {
        return devid_tool_fail(t, DEVID_EXIT_KEY, "cannot sign a CSR with %s",
                               keyname);
    }
    *len = (size_t)n;
    return DEVID_EXIT_OK;
}

static void devid_csr_usage(FILE *out)
{
    fprintf(out,
            "Usage: devid csr --key REF --cn REGISTRATION_ID [--san NAME]...\n"
            "                 [--out FILE] [--der]\n"
            "Makes a PKCS#10 request signed inside the token or TPM.\n"
            "  --key  reference file, pkcs11: URI, handle: or TSS2 key file\n"
            "  --cn   subject common name: the device's DPS registration ID\n"
            "  --san  subjectAltName entry, e.g. DNS:dev1.example (repeatable)\n"
            "  --out  file to write (default: stdout); --der for DER, not PEM\n");
}

int devid_cmd_csr(struct devid_tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' },
        { "cn", required_argument, NULL, 'n' },
        { "san", required_argument, NULL, 's' },
        { "out", required_argument, NULL, 'o' },
        { "der", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *keyname = t->set.key;
    const char *cn = t->set.registration_id;
    const char *out = NULL;
    char *sans[16];
    int n_sans = 0;
    int der = 0;
    EVP_PKEY *pkey = NULL;
    X509_REQ *req = NULL;
    BIO *mem = NULL;
    BUF_MEM *bm = NULL;
    int c;
    int rc = DEVID_EXIT_KEY;

    while ((c = getopt_long(argc, argv, "k:n:s:o:dh", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keyname = optarg;
            break;
        case 'n':
            cn = optarg;
            break;
        case 's':
            if (n_sans == (int)(sizeof(sans) / sizeof(sans[0]))) {
                return devid_tool_fail(t, DEVID_EXIT_USAGE, "too many --san");
            }
            sans[n_sans++] = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'd':
            der = 1;
            break;
        case 'h':
            devid_csr_usage(stdout);
            return DEVID_EXIT_OK;
        default:
            devid_csr_usage(stderr);
            return DEVID_EXIT_USAGE;
        }
    }
    if (keyname == NULL || cn == NULL || optind < argc) {
        devid_csr_usage(stderr);
        return DEVID_EXIT_USAGE;
    }
    if (strlen(cn) == 0 || strlen(cn) > 64) {
        return devid_tool_fail(t, DEVID_EXIT_USAGE,
                               "--cn must be 1 to 64 characters (X.509 CN)");
    }
    if (!devid_tool_crypto_init(t)) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot start OpenSSL");
    }
    pkey = devid_tool_load_key(t, keyname);
    if (pkey == NULL) {
        rc = devid_tool_fail(t, DEVID_EXIT_KEY, "cannot open key %s", keyname);
        goto end;
    }
    req = devid_make_csr(pkey, cn, sans, n_sans);
    mem = BIO_new(BIO_s_mem());
    if (req == NULL || mem == NULL
        || (der ? i2d_X509_REQ_bio(mem, req) : PEM_write_bio_X509_REQ(mem, req))
               <= 0) {
        rc = devid_tool_fail(t, DEVID_EXIT_KEY, "cannot sign a CSR with %s",
                             keyname);
        goto end;
    }
    BIO_get_mem_ptr(mem, &bm);
    if (out == NULL) {
        fwrite(bm->data, 1, bm->length, t->json ? stderr : stdout);
    } else if (!devid_atomic_write(out, bm->data, bm->length, 0644)) {
        rc = devid_tool_fail(t, DEVID_EXIT_INSTALL, "cannot write %s: %s", out,
                             strerror(errno));
        goto end;
    }
    devid_tool_result(t, "subject_cn", cn);
    devid_tool_result(t, "csr", out);
    rc = DEVID_EXIT_OK;
end:
    BIO_free(mem);
    X509_REQ_free(req);
    EVP_PKEY_free(pkey);
    return rc;
}

/* 1 when PEM text holds key material (any label but our references). */
static int devid_pem_has_secret(const char *pem, size_t len)
{
    static const char *const labels[] = {
        "-----BEGIN PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----"
    };
    size_t i;

    for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
        if (memmem(pem, len, labels[i], strlen(labels[i])) != NULL) {
            return 1;
        }
    }
    return 0;
}

int devid_write_pkey_ref(struct devid_tool *t, EVP_PKEY *pkey,
                         const char *name, const char *path)
{
    BIO *mem = BIO_new(BIO_s_mem());
    BUF_MEM *bm = NULL;
    int rc = DEVID_EXIT_OK;

    /* the devid encoder answers for resident keys: a reference, no secret */
    if (mem == NULL
        || !PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL)) {
        rc = devid_tool_fail(t, DEVID_EXIT_KEY,
                             "cannot write a reference for %s", name);
        goto end;
    }
    BIO_get_mem_ptr(mem, &bm);
    /* a software key would come out in the clear: refuse to write it */
    if (bm->length == 0 || devid_pem_has_secret(bm->data, bm->length)) {
        rc = devid_tool_fail(t, DEVID_EXIT_KEY, "%s is not a resident key", name);
        goto end;
    }
    if (!devid_atomic_write(path, bm->data, bm->length, 0644)) {
        rc = devid_tool_fail(t, DEVID_EXIT_INSTALL, "cannot write %s: %s", path,
                             strerror(errno));
    }
end:
    BIO_free(mem);
    return rc;
}
