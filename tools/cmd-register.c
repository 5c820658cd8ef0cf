/* SPDX-License-Identifier: Apache-2.0 */
/* devid register: one DPS registration by X.509 attestation with the
 * resident onboarding key, optionally sending a CSR, and the issued chain
 * written atomically (DPS-PROTOCOL.md §1, §3). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/mem.h"
#include "tools/dps-client.h"
#include "tools/tool.h"

/* What the command line and the settings say. */
struct devid_register_args {
    const char *id_scope;
    const char *registration_id;
    const char *auth_key;
    const char *auth_cert;
    const char *csr;
    const char *endpoint;
    const char *trust;
    const char *api_version;
    const char *out_chain;
    const char *out_bundle;
    const char *payload;
    long timeout_s;
};

static void devid_register_usage(FILE *out)
{
    fprintf(out,
            "Usage: devid register --id-scope S --registration-id R\n"
            "         --auth-key REF --auth-cert CHAIN.pem [--csr FILE]\n"
            "         [--endpoint HOST[:PORT]] [--trust CAFILE] "
            "[--api-version V]\n"
            "         [--out-chain FILE] [--out-trust-bundle FILE] "
            "[--timeout SEC]\n"
            "         [--payload JSON] [--transport https|mqtt]\n"
            "Registers with Azure DPS over HTTPS or MQTT, authenticated in TLS "
            "by the\n"
            "onboarding key (which stays in its token or TPM) and its chain,\n"
            "and waits for the assignment. Prints the assigned hub, device "
            "id,\n"
            "status and substatus. Every option but --csr, --out-*, --payload\n"
            "falls back to the config file setting named in brackets.\n"
            "  --id-scope          DPS ID scope [id-scope]\n"
            "  --registration-id   registration ID, the onboarding "
            "certificate's CN\n"
            "                      [registration-id]\n"
            "  --auth-key          onboarding key: reference file, pkcs11: URI,"
            "\n"
            "                      handle: or TSS2 key file [onboarding-key]\n"
            "  --auth-cert         onboarding certificate chain, PEM, leaf "
            "first,\n"
            "                      sent in TLS [onboarding-cert]\n"
            "  --csr               PKCS#10 request (PEM or DER) for DPS to "
            "sign;\n"
            "                      the issued leaf must carry the CSR's key\n"
            "  --endpoint          DPS host[:port] [dps-endpoint]; default\n"
            "                      " DEVID_DPS_DEFAULT_ENDPOINT ", port 443\n"
            "                      (HTTPS) or 8883 (MQTT)\n"
            "  --transport         https or mqtt (MQTT 3.1.1 over TLS)\n"
            "                      [dps-transport]; default https\n"
            "  --trust             CA file the DPS server certificate must "
            "chain\n"
            "                      to [dps-trust]; required: the server is "
            "always\n"
            "                      verified, only against this file\n"
            "  --api-version       [api-version]; default " DEVID_DPS_API_CSR
            " with\n"
            "                      --csr, else " DEVID_DPS_API_PLAIN
            "; " DEVID_DPS_API_LEGACY " for\n"
            "                      the legacy issuance shape (PEM chain and "
            "trust bundle)\n"
            "  --out-chain         write the issued chain here (PEM, leaf "
            "first,\n"
            "                      atomically) when DPS issued one (--csr)\n"
            "  --out-trust-bundle  write the legacy trust bundle (PEM) here "
            "when\n"
            "                      DPS returns one\n"
            "  --timeout           overall limit in seconds, retries included\n"
            "                      [dps-timeout]; default 60\n"
            "  --payload           JSON object sent as the registration "
            "payload\n"
            "Exit codes: 0 assigned, 1 usage, 2 configuration, 3 key, 4 "
            "network,\n"
            "TLS or malformed answer, 5 refused/failed/disabled by DPS, 6 "
            "cannot\n"
            "write, 8 timeout, 9 issued certificate unusable (wrong "
            "key...).\n");
}

/* Parses argv over the defaults of the settings. Returns 1 to go on, or 0
 * to stop now with the exit code in *rc (OK after --help). */
static int devid_register_parse(struct devid_tool *t, int argc, char **argv,
                                struct devid_register_args *a, int *rc)
{
    static const struct option opts[] = {
        { "id-scope", required_argument, NULL, 's' },
        { "registration-id", required_argument, NULL, 'r' },
        { "auth-key", required_argument, NULL, 'k' },
        { "auth-cert", required_argument, NULL, 'c' },
        { "csr", required_argument, NULL, 'q' },
        { "endpoint", required_argument, NULL, 'e' },
        { "trust", required_argument, NULL, 'T' },
        { "api-version", required_argument, NULL, 'a' },
        { "out-chain", required_argument, NULL, 'o' },
        { "out-trust-bundle", required_argument, NULL, 'b' },
        { "timeout", required_argument, NULL, 't' },
        { "payload", required_argument, NULL, 'p' },
        { "transport", required_argument, NULL, 'x' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    a->id_scope = t->set.id_scope;
    a->registration_id = t->set.registration_id;
    a->auth_key = t->set.auth_key;
    a->auth_cert = t->set.auth_cert;
    a->endpoint = t->set.endpoint;
    a->trust = t->set.dps_trust;
    a->api_version = t->set.api_version;
    a->timeout_s = t->set.timeout_s;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            a->id_scope = optarg;
            break;
        case 'r':
            a->registration_id = optarg;
            break;
        case 'k':
            a->auth_key = optarg;
            break;
        case 'c':
            a->auth_cert = optarg;
            break;
        case 'q':
            a->csr = optarg;
            break;
        case 'e':
            a->endpoint = optarg;
            break;
        case 'T':
            a->trust = optarg;
            break;
        case 'a':
            a->api_version = optarg;
            break;
        case 'o':
            a->out_chain = optarg;
            break;
        case 'b':
            a->out_bundle = optarg;
            break;
        case 'p':
            a->payload = optarg;
            break;
        case 't':
            /* the same checks as dps-timeout in the config file */
            if (!devid_settings_set(t, "--timeout", "dps-timeout", optarg)) {
                *rc = DEVID_EXIT_CONFIG;
                return 0;
            }
            a->timeout_s = t->set.timeout_s;
            break;
        case 'x':
            /* the same checks as dps-transport in the config file; the
             * DPS client reads the setting */
            if (!devid_settings_set(t, "--transport", "dps-transport",
                                    optarg)) {
                *rc = DEVID_EXIT_CONFIG;
                return 0;
            }
            break;
        case 'h':
            devid_register_usage(stdout);
            *rc = DEVID_EXIT_OK;
            return 0;
        default:
            devid_register_usage(stderr);
            *rc = DEVID_EXIT_USAGE;
            return 0;
        }
    }
    if (optind < argc) {
        devid_register_usage(stderr);
        *rc = DEVID_EXIT_USAGE;
        return 0;
    }
    return 1;
}

/* Names what a usable registration still lacks, or returns NULL. */
static const char *devid_register_missing(const struct devid_register_args *a)
{
    return a->id_scope == NULL          ? "--id-scope (id-scope)"
           : a->registration_id == NULL ? "--registration-id (registration-id)"
           : a->auth_key == NULL        ? "--auth-key (onboarding-key)"
           : a->auth_cert == NULL       ? "--auth-cert (onboarding-cert)"
           : a->trust == NULL           ? "--trust (dps-trust)"
                                        : NULL;
}

/* Reads a CSR file, PEM or DER, into DER (free with OPENSSL_free). */
static int devid_register_read_csr(struct devid_tool *t, const char *path,
                                   unsigned char **der, size_t *der_len)
{
    X509_REQ *req = NULL;
    BIO *in = NULL;
    char *data;
    size_t len = 0;
    int n;
    int rc = DEVID_EXIT_CONFIG;

    data = devid_read_file(path, &len);
    if (data == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot read %s: %s",
                               path, strerror(errno));
    }
    if (strstr(data, "-----BEGIN") != NULL) {
        in = BIO_new_mem_buf(data, (int)len);
        req = in != NULL ? PEM_read_bio_X509_REQ(in, NULL, NULL, NULL) : NULL;
    } else {
        const unsigned char *p = (const unsigned char *)data;

        req = d2i_X509_REQ(NULL, &p, (long)len);
    }
    n = req != NULL ? i2d_X509_REQ(req, der) : -1;
    if (n <= 0) {
        devid_tool_fail(t, DEVID_EXIT_CONFIG, "%s is not a PKCS#10 request "
                        "(PEM or DER)", path);
        goto end;
    }
    *der_len = (size_t)n;
    rc = DEVID_EXIT_OK;
end:
    X509_REQ_free(req);
    BIO_free(in);
    free(data);
    return rc;
}

/* Writes certificates as PEM to path, atomically. */
static int devid_register_write_pem(struct devid_tool *t, const char *path,
                                    STACK_OF(X509) *certs)
{
    BIO *mem = BIO_new(BIO_s_mem());
    BUF_MEM *bm = NULL;
    int i;
    int rc = DEVID_EXIT_INSTALL;

    for (i = 0; mem != NULL && i < sk_X509_num(certs); i++) {
        if (!PEM_write_bio_X509(mem, sk_X509_value(certs, i))) {
            break;
        }
    }
    if (mem == NULL || i < sk_X509_num(certs)) {
        devid_tool_fail(t, rc, "cannot encode the certificates for %s", path);
        goto end;
    }
    BIO_get_mem_ptr(mem, &bm);
    if (!devid_atomic_write(path, bm->data, bm->length, 0644)) {
        devid_tool_fail(t, rc, "cannot write %s: %s", path, strerror(errno));
        goto end;
    }
    rc = DEVID_EXIT_OK;
end:
    BIO_free(mem);
    return rc;
}

/* Prints what DPS said and writes the files asked for. */
static int devid_register_output(struct devid_tool *t,
                                 const struct devid_register_args *a,
                                 const struct devid_dps_result *res)
{
    int rc = DEVID_EXIT_OK;

    if (a->out_chain != NULL && res->issued_chain != NULL) {
        rc = devid_register_write_pem(t, a->out_chain, res->issued_chain);
    }
    if (rc == DEVID_EXIT_OK && a->out_bundle != NULL
        && res->trust_bundle != NULL) {
        rc = devid_register_write_pem(t, a->out_bundle, res->trust_bundle);
    }
    if (rc != DEVID_EXIT_OK) {
        return rc;
    }
    devid_tool_result(t, "registration_id", a->registration_id);
    devid_tool_result(t, "assigned_hub", res->assigned_hub);
    devid_tool_result(t, "device_id", res->device_id);
    devid_tool_result(t, "status", res->status);
    devid_tool_result(t, "substatus", res->substatus);
    if (res->issued_chain != NULL) {
        devid_tool_result(t, "issued_chain", a->out_chain);
    }
    if (res->trust_bundle != NULL) {
        devid_tool_result(t, "trust_bundle", a->out_bundle);
        devid_tool_result(t, "trust_bundle_etag", res->trust_bundle_etag);
    }
    return DEVID_EXIT_OK;
}

/* On a refusal the JSON result still says what DPS answered. */
static void devid_register_output_refusal(struct devid_tool *t,
                                          const struct devid_dps_result *res)
{
    char code[32];

    if (!t->json) {
        return;                 /* the error line already says it all */
    }
    devid_tool_result(t, "status", res->status);
    if (res->error_code != 0) {
        snprintf(code, sizeof(code), "%ld", res->error_code);
        devid_tool_result(t, "dps_error_code", code);
    }
    devid_tool_result(t, "dps_error_message", res->error_message);
}

/* Loads what the request needs and registers. */
static int devid_register_run(struct devid_tool *t,
                              const struct devid_register_args *a,
                              struct devid_dps_request *req,
                              struct devid_dps_result *res)
{
    char *shown = NULL;
    int rc;

    if (a->payload != NULL) {
        req->payload = json_tokener_parse(a->payload);
        if (req->payload == NULL
            || !json_object_is_type(req->payload, json_type_object)) {
            return devid_tool_fail(t, DEVID_EXIT_USAGE, "--payload must be a "
                                   "JSON object");
        }
    }
    if (!devid_tool_crypto_init(t)) {
        return devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot start OpenSSL");
    }
    req->auth_chain = devid_tool_read_chain(t, a->auth_cert);
    if (req->auth_chain == NULL) {
        return DEVID_EXIT_CONFIG;
    }
    req->auth_key = devid_tool_load_key(t, a->auth_key);
    if (req->auth_key == NULL) {
        shown = devid_name_redact(a->auth_key);
        rc = devid_tool_fail(t, DEVID_EXIT_KEY, "cannot open the onboarding "
                             "key %s", shown != NULL ? shown : "");
        OPENSSL_free(shown);
        return rc;
    }
    rc = devid_dps_register(t, req, res);
    if (rc != DEVID_EXIT_OK) {
        devid_register_output_refusal(t, res);
        return rc;
    }
    return devid_register_output(t, a, res);
}

int devid_cmd_register(struct devid_tool *t, int argc, char **argv)
{
    struct devid_register_args a;
    struct devid_dps_request req;
    struct devid_dps_result res;
    unsigned char *csr_der = NULL;
    const char *missing;
    int rc;

    memset(&a, 0, sizeof(a));
    memset(&req, 0, sizeof(req));
    memset(&res, 0, sizeof(res));
    if (!devid_register_parse(t, argc, argv, &a, &rc)) {
        return rc;
    }
    missing = devid_register_missing(&a);
    if (missing != NULL) {
        return devid_tool_fail(t, DEVID_EXIT_USAGE, "missing %s", missing);
    }
    if (a.csr != NULL) {
        rc = devid_register_read_csr(t, a.csr, &csr_der, &req.csr_len);
        if (rc != DEVID_EXIT_OK) {
            return rc;
        }
        req.csr_der = csr_der;
    }
    req.endpoint = a.endpoint;
    req.id_scope = a.id_scope;
    req.registration_id = a.registration_id;
    req.api_version = a.api_version;
    req.trust_file = a.trust;
    req.timeout_s = a.timeout_s;
    rc = devid_register_run(t, &a, &req, &res);
    if (rc == DEVID_EXIT_OK && res.issued_chain != NULL && a.out_chain == NULL) {
        devid_tool_progress(t, "the issued chain was not saved (no "
                            "--out-chain)");
    } else if (rc == DEVID_EXIT_OK && res.issued_chain == NULL
               && a.out_chain != NULL) {
        devid_tool_progress(t, "DPS issued no chain (no CSR sent): %s not "
                            "written", a.out_chain);
    }
    devid_dps_result_clear(&res);
    EVP_PKEY_free(req.auth_key);
    sk_X509_pop_free(req.auth_chain, X509_free);
    OPENSSL_free(csr_der);
    json_object_put(req.payload);
    return rc;
}
