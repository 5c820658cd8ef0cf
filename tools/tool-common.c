/* SPDX-License-Identifier: Apache-2.0 */
/* Output, errors, crypto set-up and key loading shared by every verb. */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/ui.h>

#include "common/err.h"
#include "common/mem.h"
#include "provider/prov.h"
#include "provider/provider.h"
#include "tools/dps-json.h"
#include "tools/escape.h"
#include "tools/test-hooks.h"
#include "tools/tool.h"

/* Progress, errors and results often carry text from outside (a DPS
 * answer, a state file): it is printed escaped, so that it can neither
 * forge a line nor send ESC sequences to the terminal (escape.c). */
void devid_tool_progress(struct devid_tool *t, const char *fmt, ...)
{
    char raw[4096];
    char msg[sizeof(raw)];
    char out[4 * sizeof(msg)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    devid_text_redact_pins(raw, msg, sizeof(msg));
    devid_memzero(raw, sizeof(raw));
    fprintf(stderr, "devid: %s\n", devid_text_escape(msg, out, sizeof(out)));
}

/* Appends the OpenSSL error queue (reason and detail of each entry) to buf,
 * and empties the queue. */
static void devid_tool_drain_errors(char *buf, size_t size)
{
    const char *data = NULL;
    unsigned long e;
    int flags = 0;
    size_t n = strlen(buf);
    char reason[256];
    char detail[1024];

    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        const char *r = ERR_reason_error_string(e);

        if (r == NULL) {
            snprintf(reason, sizeof(reason), "error %d", ERR_GET_REASON(e));
            r = reason;
        }
        if (n + 4 >= size) {
            break;
        }
        /* the detail may quote a name or a server string: escaped */
        devid_text_escape((flags & ERR_TXT_STRING) != 0 ? data : "", detail,
                          sizeof(detail));
        n += (size_t)snprintf(buf + n, size - n, "\n  %s%s%s", r,
                              detail[0] != '\0' ? ": " : "", detail);
        if (n >= size) {
            n = size - 1;
        }
    }
}

int devid_tool_fail(struct devid_tool *t, int code, const char *fmt, ...)
{
    char raw[4096];
    char redacted[sizeof(raw)];
    char msg[4 * sizeof(raw)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    devid_text_redact_pins(raw, redacted, sizeof(redacted));
    devid_memzero(raw, sizeof(raw));
    devid_text_escape(redacted, msg, sizeof(msg));
    devid_tool_drain_errors(msg, sizeof(msg));
    fprintf(stderr, "devid: error: %s\n", msg);
    if (t->json && t->out != NULL) {
        json_object_object_add(t->out, "error", json_object_new_string(msg));
        json_object_object_add(t->out, "exit_code", json_object_new_int(code));
    }
    return code;
}

void devid_tool_result(struct devid_tool *t, const char *name,
                       const char *value)
{
    if (value == NULL) {
        return;
    }
    char redacted[4096];
    char out[4 * sizeof(redacted)];

    devid_text_redact_pins(value, redacted, sizeof(redacted));
    if (t->json) {
        /* json-c writes control characters as \u00XX */
        json_object_object_add(t->out, name, json_object_new_string(redacted));
    } else {
        printf("%s: %s\n", name, devid_text_escape(redacted, out, sizeof(out)));
    }
}

/* Applies the CLI settings to the in-process provider: what openssl.cnf
 * would say in a provider section. */
static int devid_tool_configure(struct devid_tool *t)
{
    const struct devid_settings *s = &t->set;

    if (s->pkcs11_module != NULL
        && !devid_config_set(t->prov, "pkcs11-module-path", s->pkcs11_module)) {
        return 0;
    }
    /* before the PIN file is read: it decides whether group may read it */
    if (s->pin_file_group != NULL
        && !devid_config_set(t->prov, "pkcs11-pin-file-group-readable",
                             s->pin_file_group)) {
        return 0;
    }
    if (s->pin_source != NULL
        && !devid_config_set(t->prov, "pkcs11-module-token-pin",
                             s->pin_source)) {
        return 0;
    }
    if (s->tcti != NULL && !devid_config_set(t->prov, "tcti", s->tcti)) {
        return 0;
    }
    return 1;
}

int devid_tool_crypto_init(struct devid_tool *t)
{
    OSSL_PROVIDER *def = NULL;
    OSSL_PROVIDER *dev = NULL;

    if (t->ossl_devid != NULL) {
        return 1;               /* a verb that calls another */
    }
    /* The CLI has its own config file; the system openssl.cnf might load
     * another copy of devid into this process. */
    if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL)) {
        return 0;
    }
    /* default first: empty-property fetches (ECDHE, digests) must find it */
    def = OSSL_PROVIDER_load(NULL, "default");
    if (def == NULL
        || !OSSL_PROVIDER_add_builtin(NULL, "devid", devid_provider_init)) {
        return 0;
    }
    t->ossl_default = def;
    dev = OSSL_PROVIDER_load(NULL, "devid");
    if (dev == NULL) {
        return 0;
    }
    t->ossl_devid = dev;
    t->prov = OSSL_PROVIDER_get0_provider_ctx(dev);
    return t->prov != NULL && devid_tool_configure(t);
}

void devid_tool_crypto_done(struct devid_tool *t)
{
    /* the reference OSSL_PROVIDER_load took would keep the provider (and a
     * TPM's loaded objects) alive past OPENSSL_cleanup */
    if (t->ossl_devid != NULL) {
        OSSL_PROVIDER_unload(t->ossl_devid);
        t->ossl_devid = NULL;
        t->prov = NULL;
    }
    if (t->ossl_default != NULL) {
        OSSL_PROVIDER_unload(t->ossl_default);
        t->ossl_default = NULL;
    }
}

/* A PIN prompt is not possible for an unattended tool: the PIN comes from
 * pin-source or the key name, and a missing one is an error. */
/* The provider's decoder reads no more of a key file than this
 * (DEVID_REF_MAX in provider/decoder.c): no reference or key file is as
 * big. */
#define DEVID_TOOL_REF_MAX 65536

/* A key file too big to be one gets a devid reason of its own, where
 * OpenSSL's file store would only say "unsupported" (issue 14, item 6). */
static void devid_tool_key_file_size(const char *name)
{
    struct stat st;

    if (stat(name, &st) == 0 && S_ISREG(st.st_mode)
        && st.st_size >= DEVID_TOOL_REF_MAX) {
        DEVID_RAISE(NULL, DEVID_R_BAD_KEY_FILE,
                    "%s: %lld bytes: a key "
                    "reference or key file is under %d KB",
                    name, (long long)st.st_size, DEVID_TOOL_REF_MAX / 1024);
    }
}

EVP_PKEY *devid_tool_load_key(struct devid_tool *t, const char *name)
{
    OSSL_STORE_CTX *store = NULL;
    OSSL_STORE_INFO *info = NULL;
    EVP_PKEY *pkey = NULL;

    /* a plain path goes to OpenSSL's file: loader and our decoder */
    store = OSSL_STORE_open(name, UI_null(), NULL, NULL, NULL);
    if (store == NULL) {
        goto end;
    }
    OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
    while (pkey == NULL && !OSSL_STORE_eof(store)) {
        info = OSSL_STORE_load(store);
        if (info == NULL) {
            continue;
        }
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY) {
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        }
        OSSL_STORE_INFO_free(info);
    }
end:
    OSSL_STORE_close(store);
    if (pkey == NULL) {
        devid_tool_key_file_size(name);
    }
    return pkey;
}

STACK_OF(X509) *devid_tool_read_chain(struct devid_tool *t, const char *path)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    size_t len = 0;
    char *text = devid_read_file(path, &len);
    BIO *in = text != NULL ? BIO_new_mem_buf(text, (int)len) : NULL;
    X509 *x = NULL;
    unsigned long e;

    if (chain == NULL || in == NULL || len > INT_MAX) {
        devid_tool_fail(t, DEVID_EXIT_CONFIG, "cannot read %s", path);
        goto err;
    }
    while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(chain, x)) {
            X509_free(x);
            devid_tool_fail(t, DEVID_EXIT_CONFIG,
                            "cannot read %s: out of memory", path);
            goto err;
        }
    }
    /* the end of the file reads as "no start line"; anything else (out of
     * memory, a broken certificate) would leave a chain cut short */
    e = ERR_peek_last_error();
    if (e != 0
        && !(ERR_GET_LIB(e) == ERR_LIB_PEM
             && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
        devid_tool_fail(t, DEVID_EXIT_CONFIG,
                        "cannot read certificate %d "
                        "of %s",
                        sk_X509_num(chain) + 1, path);
        goto err;
    }
    ERR_clear_error();
    if (sk_X509_num(chain) == 0) {
        devid_tool_fail(t, DEVID_EXIT_CONFIG, "%s holds no certificate", path);
        goto err;
    }
    /* OpenSSL 3.0 can end the loop above on a failed allocation with
     * nothing on the error queue: every certificate block must have been
     * read, or the chain is cut short */
    if (sk_X509_num(chain) < devid_pem_cert_count(text)) {
        devid_tool_fail(t, DEVID_EXIT_CONFIG,
                        "cannot read certificate %d of %s",
                        sk_X509_num(chain) + 1, path);
        goto err;
    }
    BIO_free(in);
    free(text);
    return chain;
err:
    BIO_free(in);
    free(text);
    sk_X509_pop_free(chain, X509_free);
    return NULL;
}

void devid_sleep_ms(long ms)
{
    struct timespec ts;

    ms = devid_test_wait_ms(ms);
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        continue;
    }
}
