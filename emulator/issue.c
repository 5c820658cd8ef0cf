/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: certificate issuance from CSRs (DPS-PROTOCOL.md 1.5,
 * 7.1 item 5), certificate JSON views, and the issue-* subcommands. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "emulator/emu.h"

/* Key type of pub as a DEVID_EMU_KEY_* bit, 0 when unsupported. */
static unsigned devid_emu_key_type(EVP_PKEY *pub, int *bits)
{
    char group[64] = "";
    size_t glen = 0;

    *bits = EVP_PKEY_get_bits(pub);
    if (EVP_PKEY_is_a(pub, "RSA")) {
        return DEVID_EMU_KEY_RSA;
    }
    if (!EVP_PKEY_is_a(pub, "EC")
        || EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME,
                                          group, sizeof(group), &glen) != 1) {
        return 0;
    }
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
        return DEVID_EMU_KEY_P256;
    }
    if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
        return DEVID_EMU_KEY_P384;
    }
    return 0;
}

/* Check a CSR's signature, subject and key against the policy. */
static int devid_emu_csr_check(X509_REQ *req,
                               const struct devid_emu_policy *pol,
                               const char *regid, const char **msg)
{
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    const X509_NAME *subj = X509_REQ_get_subject_name(req);
    char cn[129] = "";
    int n;
    int bits = 0;
    unsigned type;

    if (pub == NULL || X509_REQ_verify(req, pub) != 1) {
        *msg = "csr signature does not verify";
        return 0;
    }
    n = devid_emu_name_cn(subj, cn, sizeof(cn));
    if (n <= 0 || strcmp(cn, regid) != 0) {
        *msg = "csr subject CN must equal the registration ID";
        return 0;
    }
    type = devid_emu_key_type(pub, &bits);
    if ((type & pol->key_types) == 0) {
        *msg = "csr key type is not allowed by the issuance policy";
        return 0;
    }
    if (type == DEVID_EMU_KEY_RSA && bits < pol->rsa_min_bits) {
        *msg = "csr RSA key is shorter than the issuance policy allows";
        return 0;
    }
    return 1;
}

X509 *devid_emu_issue_from_b64(const struct devid_emu_pki *pki,
                               const struct devid_emu_policy *pol,
                               const char *b64, const char *regid,
                               const char **msg)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t len = 0;
    X509_REQ *req = NULL;
    X509 *leaf = NULL;

    if (strstr(b64, "-----BEGIN") != NULL) {
        *msg = "csr must be base64 DER, not PEM";
        goto end;
    }
    if (!devid_emu_unb64(b64, &der, &len)) {
        *msg = "csr is not base64 (no whitespace or line breaks allowed)";
        goto end;
    }
    p = der;
    req = d2i_X509_REQ(NULL, &p, (long)len);
    if (req == NULL || p != der + len) {
        *msg = "csr is not a DER PKCS#10 request";
        goto end;
    }
    if (!devid_emu_csr_check(req, pol, regid, msg)) {
        goto end;
    }
    leaf = devid_emu_pki_sign_leaf(&pki->device_ca, X509_REQ_get0_pubkey(req),
                                   regid, pol->validity_seconds);
    if (leaf == NULL) {
        *msg = "certificate issuance failed";
    }
end:
    X509_REQ_free(req);
    free(der);
    return leaf;
}

static void devid_emu_add_str(json_object *obj, const char *key,
                              const char *val)
{
    json_object_object_add(obj, key, json_object_new_string(val));
}

static void devid_emu_add_name(json_object *obj, const char *key,
                               const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n = 0;

    /* "CN=dev-01, O=devid emulator", the order Azure shows */
    if (bio != NULL
        && X509_NAME_print_ex(bio, name, 0, XN_FLAG_SEP_CPLUS_SPC
                                                | XN_FLAG_DN_REV | XN_FLAG_FN_SN
                                                | ASN1_STRFLGS_RFC2253) >= 0) {
        n = BIO_get_mem_data(bio, &data);
    }
    json_object_object_add(obj, key, json_object_new_string_len(
                                         data != NULL ? data : "", (int)n));
    BIO_free(bio);
}

json_object *devid_emu_cert_info(X509 *cert)
{
    json_object *obj = json_object_new_object();
    char buf[130];
    BIGNUM *bn = NULL;
    char *hex = NULL;

    if (obj == NULL) {
        return NULL;
    }
    devid_emu_add_name(obj, "subjectName", X509_get_subject_name(cert));
    if (devid_emu_thumbprint(cert, "SHA1", buf, sizeof(buf))) {
        devid_emu_add_str(obj, "sha1Thumbprint", buf);
    }
    if (devid_emu_thumbprint(cert, "SHA256", buf, sizeof(buf))) {
        devid_emu_add_str(obj, "sha256Thumbprint", buf);
    }
    devid_emu_add_name(obj, "issuerName", X509_get_issuer_name(cert));
    devid_emu_asn1_rfc3339(X509_get0_notBefore(cert), buf, sizeof(buf));
    devid_emu_add_str(obj, "notBeforeUtc", buf);
    devid_emu_asn1_rfc3339(X509_get0_notAfter(cert), buf, sizeof(buf));
    devid_emu_add_str(obj, "notAfterUtc", buf);
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    devid_emu_add_str(obj, "serialNumber", hex != NULL ? hex : "");
    json_object_object_add(
        obj, "version", json_object_new_int((int)X509_get_version(cert) + 1));
    OPENSSL_free(hex);
    BN_free(bn);
    return obj;
}

json_object *devid_emu_cert_b64(X509 *cert)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    char *b64 = len > 0 ? devid_emu_b64(der, (size_t)len) : NULL;
    json_object *s = b64 != NULL ? json_object_new_string(b64) : NULL;

    OPENSSL_free(der);
    free(b64);
    return s;
}

static const char devid_emu_issue_usage[] =
    "usage: devid-dps-emulator %s --state DIR --csr FILE --out FILE "
    "[--days N | --seconds N] [--cn NAME]\n"
    "  Signs the CSR (PEM or DER) with the %s CA in DIR and writes the\n"
    "  certificate chain as PEM: leaf, then the CA. The root is %s/root.pem.\n"
    "  The subject is CN=<the CSR's CN> unless --cn is given.\n";

struct devid_emu_issue_args {
    const char *state;
    const char *csr;
    const char *out;
    const char *cn;
    long seconds;
};

static int devid_emu_issue_parse(int argc, char **argv, const char *cmd,
                                 int factory, struct devid_emu_issue_args *a)
{
    static const struct option opts[] = {
        { "state", required_argument, NULL, 's' },
        { "csr", required_argument, NULL, 'c' },
        { "out", required_argument, NULL, 'o' },
        { "days", required_argument, NULL, 'd' },
        { "seconds", required_argument, NULL, 'S' },
        { "cn", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    a->seconds = 365L * 86400L;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 's') {
            a->state = optarg;
        } else if (c == 'c') {
            a->csr = optarg;
        } else if (c == 'o') {
            a->out = optarg;
        } else if (c == 'n') {
            a->cn = optarg;
        } else if (c == 'd' || c == 'S') {
            a->seconds = strtol(optarg, NULL, 10) * (c == 'd' ? 86400L : 1L);
        } else {
            printf(devid_emu_issue_usage, cmd, factory ? "factory" : "device",
                   factory ? "DIR/factory" : "DIR/device");
            return c == 'h' ? 0 : 2;
        }
    }
    if (a->state == NULL || a->csr == NULL || a->out == NULL
        || a->seconds <= 0 || optind != argc) {
        fprintf(stderr, devid_emu_issue_usage, cmd,
                factory ? "factory" : "device",
                factory ? "DIR/factory" : "DIR/device");
        return 2;
    }
    return -1;
}

/* Sign the CSR with ca and write leaf + CA as PEM to out. */
static int devid_emu_issue_write(const struct devid_emu_ca *ca,
                                 const struct devid_emu_issue_args *a)
{
    X509_REQ *req = devid_emu_pki_read_csr(a->csr);
    X509 *leaf = NULL;
    char cn[129] = "";
    char *text = NULL;
    size_t len = 0;
    int ret = 1;

    if (req == NULL || X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) != 1) {
        fprintf(stderr, "%s: not a valid signed CSR\n", a->csr);
        goto end;
    }
    if (a->cn != NULL) {
        snprintf(cn, sizeof(cn), "%s", a->cn);
    } else if (devid_emu_name_cn(X509_REQ_get_subject_name(req), cn, sizeof(cn))
               <= 0) {
        fprintf(stderr, "%s: the CSR has no CN (use --cn)\n", a->csr);
        goto end;
    }
    leaf = devid_emu_pki_sign_leaf(ca, X509_REQ_get0_pubkey(req), cn,
                                   a->seconds);
    if (leaf == NULL || !devid_emu_pki_pem_append(leaf, &text, &len)
        || !devid_emu_pki_pem_append(ca->cert, &text, &len)
        || !devid_emu_write_file(a->out, text, len, 0644)) {
        fprintf(stderr, "cannot issue the certificate to %s\n", a->out);
        goto end;
    }
    ret = 0;
end:
    free(text);
    X509_free(leaf);
    X509_REQ_free(req);
    return ret;
}

int devid_emu_issue_cmd(int argc, char **argv, int factory)
{
    struct devid_emu_issue_args a = { NULL, NULL, NULL, NULL, 0 };
    struct devid_emu_pki pki;
    int ret = devid_emu_issue_parse(argc, argv, argv[0], factory, &a);

    if (ret >= 0) {
        return ret;
    }
    if (!devid_emu_pki_open(&pki, a.state)) {
        fprintf(stderr, "cannot open the state directory %s\n", a.state);
        devid_emu_pki_free(&pki);
        return 1;
    }
    ret = devid_emu_issue_write(factory ? &pki.factory_ca : &pki.device_ca,
                                &a);
    devid_emu_pki_free(&pki);
    return ret;
}
