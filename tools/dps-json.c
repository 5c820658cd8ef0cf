/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON of the DPS device API (DPS-PROTOCOL.md §1.5-1.7): building the
 * DeviceRegistration body and reading the answers. Unknown members are
 * ignored and members may come in any order (§7.3); a member we know with
 * the wrong type makes the answer malformed. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "tools/dps-json.h"

/* More certificates than any real chain or bundle holds. */
#define DEVID_DPS_MAX_CERTS 32

/* The date part of an api-version ("2025-07-01-preview" -> "2025-07-01")
 * orders versions; the suffix does not matter for what we send. */
static int devid_dps_api_at_least(const char *api, const char *date)
{
    return strlen(api) >= 10 && strncmp(api, date, 10) >= 0;
}

int devid_dps_json_is_legacy(const char *api)
{
    return strcmp(api, DEVID_DPS_API_LEGACY) == 0;
}

const char *devid_dps_json_csr_field(const char *api)
{
    if (devid_dps_json_is_legacy(api)) {
        return "clientCertificateCsr";
    }
    if (devid_dps_api_at_least(api, DEVID_DPS_API_CSR)) {
        return "csr";
    }
    return NULL;
}

/* base64 without line breaks, as DPS wants the CSR (§1.5). */
static char *devid_dps_b64(const unsigned char *der, size_t len)
{
    size_t size = 4 * ((len + 2) / 3) + 1;
    char *out;

    if (len > DEVID_DPS_MAX_BODY) {
        return NULL;
    }
    out = malloc(size);
    if (out != NULL) {
        EVP_EncodeBlock((unsigned char *)out, der, (int)len);
    }
    return out;
}

char *devid_dps_json_request(const char *registration_id,
                             const unsigned char *csr_der, size_t csr_len,
                             const char *csr_field, json_object *payload)
{
    json_object *body = json_object_new_object();
    char *b64 = NULL;
    char *ret = NULL;

    if (body == NULL
        || json_object_object_add(body, "registrationId",
                                  json_object_new_string(registration_id))
               != 0) {
        goto end;
    }
    if (csr_der != NULL) {
        b64 = devid_dps_b64(csr_der, csr_len);
        if (b64 == NULL || csr_field == NULL
            || json_object_object_add(body, csr_field,
                                      json_object_new_string(b64))
                   != 0) {
            goto end;
        }
    }
    if (payload != NULL
        && json_object_object_add(body, "payload", json_object_get(payload))
               != 0) {
        goto end;
    }
    ret = strdup(json_object_to_json_string_ext(
        body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
end:
    free(b64);
    json_object_put(body);
    return ret;
}

json_object *devid_dps_json_parse(const char *body, size_t len, char *err,
                                  size_t errlen)
{
    json_tokener *tok = json_tokener_new_ex(DEVID_DPS_MAX_DEPTH);
    json_object *root = NULL;
    enum json_tokener_error jerr;
    size_t end;

    if (tok == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (len == 0 || len > DEVID_DPS_MAX_BODY) {
        snprintf(err, errlen, "%s body", len == 0 ? "empty" : "oversized");
        goto end;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, body, (int)len);
    jerr = json_tokener_get_error(tok);
    if (root == NULL || jerr != json_tokener_success) {
        snprintf(err, errlen, "not JSON (%s)",
                 jerr == json_tokener_continue ? "truncated"
                                               : json_tokener_error_desc(jerr));
        json_object_put(root);
        root = NULL;
        goto end;
    }
    for (end = json_tokener_get_parse_end(tok); end < len; end++) {
        if (strchr(" \t\r\n", body[end]) == NULL || body[end] == '\0') {
            snprintf(err, errlen, "data after the JSON object");
            json_object_put(root);
            root = NULL;
            goto end;
        }
    }
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "the answer is not a JSON object");
        json_object_put(root);
        root = NULL;
    }
end:
    json_tokener_free(tok);
    return root;
}

/* Member key of obj as a string: 1 with *out set (NULL when absent or
 * null), 0 when it has another type. */
static int devid_dps_get_str(json_object *obj, const char *key,
                             const char **out)
{
    json_object *v = NULL;

    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        return 1;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return 0;
    }
    *out = json_object_get_string(v);
    return 1;
}

/* Member key of obj as an object or array of the given type, same
 * convention as devid_dps_get_str. */
static int devid_dps_get_typed(json_object *obj, const char *key,
                               json_type type, json_object **out)
{
    json_object *v = NULL;

    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        return 1;
    }
    if (!json_object_is_type(v, type)) {
        return 0;
    }
    *out = v;
    return 1;
}

/* A number, or a string of digits (errorCode is int32 in the spec, but a
 * string costs nothing to accept). 0 when absent or not a number. The
 * check is spelled out rather than devid_parse_long (settings.c) so this
 * file keeps no dependency and a fuzzer can link it alone. */
static long devid_dps_get_long(json_object *obj, const char *key)
{
    json_object *v = NULL;
    char *end = NULL;
    long n;

    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        return 0;
    }
    if (json_object_is_type(v, json_type_int)) {
        return (long)json_object_get_int64(v);
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *text = json_object_get_string(v);

        errno = 0;
        n = strtol(text, &end, 10);
        return errno == 0 && end != text && *end == '\0' ? n : 0;
    }
    return 0;
}

/* ---- server strings (issue 14, item 2) -------------------------------- */

/* 1 when s holds no control character: no C0, no DEL, no UTF-8 encoded C1
 * (U+0080-U+009F), which terminals act on. The same set as escape.c's,
 * written out here so that this file links alone into a fuzzer. */
static int devid_dps_text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    for (; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f
            || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)) {
            return 0;
        }
    }
    return 1;
}

/* A DNS host name (RFC 1123 §2.1): dot-separated labels of 1-63 letters,
 * digits and hyphens, no hyphen at either end of a label, 253 characters
 * at most. What MQTT and TLS connect to; nothing else is a hub name. */
static int devid_dps_dns_name(const char *s)
{
    size_t len = strlen(s);
    size_t label = 0;
    size_t i;

    if (len == 0 || len > 253) {
        return 0;
    }
    for (i = 0; i <= len; i++) {
        char c = s[i];

        if (c == '.' || c == '\0') {
            if (label == 0 || s[i - 1] == '-') {
                return 0;
            }
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                   || (c >= '0' && c <= '9') || c == '-') {
            if (label == 0 && c == '-') {
                return 0;
            }
            if (++label > 63) {
                return 0;
            }
        } else {
            return 0;
        }
    }
    return 1;
}

/* An IoT Hub device ID: 1-128 ASCII letters, digits and
 * "-.+%_#*?!(),:=@$'" (IoT Hub identity registry, "Device identity
 * properties"). */
static int devid_dps_device_id(const char *s)
{
    static const char extra[] = "-.+%_#*?!(),:=@$'";
    size_t len = strlen(s);
    size_t i;

    if (len == 0 || len > 128) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || strchr(extra, c) != NULL)) {
            return 0;
        }
    }
    return 1;
}

/* Checks the strings of an answer: names the first bad one in err (never
 * quoting it) and returns DEVID_EXIT_NETWORK, or DEVID_EXIT_OK. Each of
 * names[i] / values[i] (NULL: absent) must be free of control characters;
 * hub and dev must also be a DNS name and a device ID. */
static int devid_dps_check_strings(const char *const *names,
                                   const char *const *values, size_t n,
                                   const char *hub, const char *dev, char *err,
                                   size_t errlen)
{
    size_t i;

    if (hub != NULL && !devid_dps_dns_name(hub)) {
        snprintf(err, errlen,
                 "registrationState.assignedHub is not a DNS "
                 "host name");
        return DEVID_EXIT_NETWORK;
    }
    if (dev != NULL && !devid_dps_device_id(dev)) {
        snprintf(err, errlen,
                 "registrationState.deviceId is not an IoT Hub "
                 "device ID (1-128 letters, digits and -.+%%_#*?!(),:=@$')");
        return DEVID_EXIT_NETWORK;
    }
    for (i = 0; i < n; i++) {
        if (values[i] != NULL && !devid_dps_text_ok(values[i])) {
            snprintf(err, errlen, "%s holds control characters", names[i]);
            return DEVID_EXIT_NETWORK;
        }
    }
    return DEVID_EXIT_OK;
}

/* Replaces *slot by a copy of value (NULL leaves NULL). 0 on ENOMEM. */
static int devid_dps_set(char **slot, const char *value)
{
    char *copy = NULL;

    if (value != NULL) {
        copy = strdup(value);
        if (copy == NULL) {
            return 0;
        }
    }
    free(*slot);
    *slot = copy;
    return 1;
}

X509 *devid_dps_json_cert_b64(const char *b64)
{
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    size_t len = strlen(b64);
    unsigned char *der = NULL;
    const unsigned char *p;
    X509 *x = NULL;
    int n = 0;
    int m = 0;

    if (ctx == NULL || len == 0 || len > DEVID_DPS_MAX_BODY) {
        goto end;
    }
    der = malloc(len / 4 * 3 + 4);
    if (der == NULL) {
        goto end;
    }
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, der, &n, (const unsigned char *)b64, (int)len)
            < 0
        || EVP_DecodeFinal(ctx, der + n, &m) != 1) {
        goto end;
    }
    p = der;
    x = d2i_X509(NULL, &p, n + m);
    if (x != NULL && p != der + n + m) {
        X509_free(x);           /* trailing bytes: not one certificate */
        x = NULL;
    }
end:
    free(der);
    EVP_ENCODE_CTX_free(ctx);
    ERR_clear_error();          /* the caller reports what was wrong */
    return x;
}

/* 1 when line (up to its newline) is the BEGIN line of label, spaces and
 * tabs after it allowed. */
static int devid_pem_begins(const char *line, const char *label)
{
    size_t n = strlen(label);

    if (strncmp(line, "-----BEGIN ", 11) != 0
        || strncmp(line + 11, label, n) != 0
        || strncmp(line + 11 + n, "-----", 5) != 0) {
        return 0;
    }
    line += 16 + n;
    line += strspn(line, " \t\r");
    return *line == '\n' || *line == '\0';
}

int devid_pem_cert_count(const char *text)
{
    const char *line = text;
    int n = 0;

    while (line != NULL && *line != '\0') {
        n += devid_pem_begins(line, "CERTIFICATE")
             || devid_pem_begins(line, "X509 CERTIFICATE");
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    return n;
}

/* Appends the certificates of PEM text to chain. Returns 1, or 0 when the
 * text holds none or too many (more than DEVID_DPS_MAX_CERTS in chain). */
static int devid_dps_pem_certs(const char *pem, STACK_OF(X509) *chain)
{
    BIO *in = BIO_new_mem_buf(pem, -1);
    X509 *x;
    int n = 0;

    if (in == NULL) {
        return 0;
    }
    while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_num(chain) >= DEVID_DPS_MAX_CERTS
            || !sk_X509_push(chain, x)) {
            X509_free(x);
            n = 0;              /* too many: refuse the whole text */
            break;
        }
        n++;
    }
    ERR_clear_error();          /* the end of the text reads as an error */
    BIO_free(in);
    /* a block left unread (a failed allocation ends the loop too) */
    return n > 0 && n >= devid_pem_cert_count(pem);
}

/* issuedCertificateChain (2025-07-01-preview): base64 DER, leaf first. */
static int devid_dps_chain_b64(json_object *arr, STACK_OF(X509) **out,
                               char *err, size_t errlen)
{
    STACK_OF(X509) *chain = NULL;
    size_t n = json_object_array_length(arr);
    size_t i;
    X509 *x;
    int ret = DEVID_EXIT_CERT;

    if (n == 0 || n > DEVID_DPS_MAX_CERTS) {
        snprintf(err, errlen, "issuedCertificateChain has %zu elements", n);
        return DEVID_EXIT_CERT;
    }
    chain = sk_X509_new_null();
    if (chain == NULL) {
        goto end;
    }
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);

        x = NULL;
        if (json_object_is_type(e, json_type_string)) {
            x = devid_dps_json_cert_b64(json_object_get_string(e));
        }
        if (x == NULL || !sk_X509_push(chain, x)) {
            X509_free(x);
            snprintf(err, errlen, "issuedCertificateChain[%zu] is not a "
                     "base64 DER certificate", i);
            goto end;
        }
    }
    sk_X509_pop_free(*out, X509_free);
    *out = chain;
    chain = NULL;
    ret = DEVID_EXIT_OK;
end:
    sk_X509_pop_free(chain, X509_free);
    return ret;
}

/* Legacy trustBundle (2021-11-01-preview): etag and certificates[] of
 * {"certificate": PEM, "metadata": ...}. */
static int devid_dps_trust_bundle(json_object *tb,
                                  struct devid_dps_result *res, char *err,
                                  size_t errlen)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    json_object *arr = NULL;
    const char *etag = NULL;
    const char *pem = NULL;
    size_t i;
    int ret = DEVID_EXIT_NETWORK;

    if (certs == NULL || !devid_dps_get_str(tb, "etag", &etag)
        || !devid_dps_get_typed(tb, "certificates", json_type_array, &arr)) {
        snprintf(err, errlen, "trustBundle.etag or .certificates has the "
                 "wrong type");
        goto end;
    }
    for (i = 0; arr != NULL && i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);

        if (!json_object_is_type(e, json_type_object)
            || !devid_dps_get_str(e, "certificate", &pem) || pem == NULL
            || !devid_dps_pem_certs(pem, certs)) {
            snprintf(err, errlen, "trustBundle.certificates[%zu] holds no "
                     "PEM certificate", i);
            ret = DEVID_EXIT_CERT;
            goto end;
        }
    }
    if (etag != NULL && !devid_dps_text_ok(etag)) {
        snprintf(err, errlen, "trustBundle.etag holds control characters");
        goto end;
    }
    if (!devid_dps_set(&res->trust_bundle_etag, etag)) {
        goto end;
    }
    sk_X509_pop_free(res->trust_bundle, X509_free);
    res->trust_bundle = certs;
    certs = NULL;
    ret = DEVID_EXIT_OK;
end:
    sk_X509_pop_free(certs, X509_free);
    return ret;
}

/* The certificate members of a registrationState: the 2025 chain, or the
 * legacy PEM certificate and trust bundle. */
static int devid_dps_state_certs(json_object *st,
                                 struct devid_dps_result *res, char *err,
                                 size_t errlen)
{
    json_object *chain = NULL;
    json_object *tb = NULL;
    const char *pem = NULL;
    STACK_OF(X509) *legacy = NULL;
    int rc;

    if (!devid_dps_get_typed(st, "issuedCertificateChain", json_type_array,
                             &chain)
        || !devid_dps_get_str(st, "issuedClientCertificate", &pem)
        || !devid_dps_get_typed(st, "trustBundle", json_type_object, &tb)) {
        snprintf(err, errlen, "issuedCertificateChain, issuedClientCertificate"
                 " or trustBundle has the wrong type");
        return DEVID_EXIT_NETWORK;
    }
    if (chain != NULL) {
        rc = devid_dps_chain_b64(chain, &res->issued_chain, err, errlen);
        if (rc != DEVID_EXIT_OK) {
            return rc;
        }
    } else if (pem != NULL) {
        legacy = sk_X509_new_null();
        if (legacy == NULL || !devid_dps_pem_certs(pem, legacy)) {
            sk_X509_pop_free(legacy, X509_free);
            snprintf(err, errlen, "issuedClientCertificate holds no PEM "
                     "certificate");
            return DEVID_EXIT_CERT;
        }
        sk_X509_pop_free(res->issued_chain, X509_free);
        res->issued_chain = legacy;
    }
    if (tb != NULL) {
        return devid_dps_trust_bundle(tb, res, err, errlen);
    }
    return DEVID_EXIT_OK;
}

/* DeviceRegistrationResult (§1.6): the members devid uses. */
static int devid_dps_state(json_object *st, struct devid_dps_result *res,
                           char *err, size_t errlen)
{
    const char *sub = NULL;
    const char *hub = NULL;
    const char *dev = NULL;
    const char *msg = NULL;

    if (!devid_dps_get_str(st, "substatus", &sub)
        || !devid_dps_get_str(st, "assignedHub", &hub)
        || !devid_dps_get_str(st, "deviceId", &dev)
        || !devid_dps_get_str(st, "errorMessage", &msg)) {
        snprintf(err, errlen, "a registrationState member has the wrong "
                 "type");
        return DEVID_EXIT_NETWORK;
    }
    {
        const char *const names[] = { "registrationState.substatus",
                                      "registrationState.errorMessage" };
        const char *const values[] = { sub, msg };

        if (devid_dps_check_strings(names, values, 2, hub, dev, err, errlen)
            != DEVID_EXIT_OK) {
            return DEVID_EXIT_NETWORK;
        }
    }
    if (!devid_dps_set(&res->substatus, sub)
        || !devid_dps_set(&res->assigned_hub, hub)
        || !devid_dps_set(&res->device_id, dev)
        || !devid_dps_set(&res->error_message, msg)) {
        snprintf(err, errlen, "out of memory");
        return DEVID_EXIT_NETWORK;
    }
    res->error_code = devid_dps_get_long(st, "errorCode");
    return devid_dps_state_certs(st, res, err, errlen);
}

int devid_dps_json_operation(json_object *root, struct devid_dps_result *res,
                             char *err, size_t errlen)
{
    const char *op = NULL;
    const char *status = NULL;
    json_object *st = NULL;

    if (!devid_dps_get_str(root, "operationId", &op)
        || !devid_dps_get_str(root, "status", &status)
        || !devid_dps_get_typed(root, "registrationState", json_type_object,
                                &st)) {
        snprintf(err, errlen, "operationId, status or registrationState has "
                 "the wrong type");
        return DEVID_EXIT_NETWORK;
    }
    if (status == NULL || *status == '\0') {
        snprintf(err, errlen, "no status");
        return DEVID_EXIT_NETWORK;
    }
    if (!devid_dps_text_ok(status) || (op != NULL && !devid_dps_text_ok(op))) {
        snprintf(err, errlen, "%s holds control characters",
                 devid_dps_text_ok(status) ? "operationId" : "status");
        return DEVID_EXIT_NETWORK;
    }
    if ((op != NULL && !devid_dps_set(&res->operation_id, op))
        || !devid_dps_set(&res->status, status)) {
        snprintf(err, errlen, "out of memory");
        return DEVID_EXIT_NETWORK;
    }
    /* "assigning" -> "failed" may come without registrationState (§7.3) */
    return st == NULL ? DEVID_EXIT_OK : devid_dps_state(st, res, err, errlen);
}

void devid_dps_json_error(json_object *root, long *code, char **message,
                          char **tracking_id)
{
    const char *msg = NULL;
    const char *tid = NULL;

    *code = 0;
    *message = NULL;
    *tracking_id = NULL;
    if (root == NULL) {
        return;
    }
    *code = devid_dps_get_long(root, "errorCode");
    if (devid_dps_get_str(root, "message", &msg) && msg != NULL) {
        *message = strdup(msg);
    }
    if (devid_dps_get_str(root, "trackingId", &tid) && tid != NULL) {
        *tracking_id = strdup(tid);
    }
}
