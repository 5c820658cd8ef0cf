/* SPDX-License-Identifier: Apache-2.0 */
/* Decoders that turn a reference file into a resident key, so that
 * SSL_CTX_use_PrivateKey_file, PEM_read_bio_PrivateKey and "-key file.pem"
 * work unchanged. Two steps, as OpenSSL chains decoders: PEM -> DER body
 * (typed with the name of the DER step that makes the key), then DER body
 * -> EC, RSA or EdDSA key. A reference file in DER (a backend's key file
 * without PEM armour) goes straight to the second step. Which backend reads
 * which file is the registry's business.
 *
 * Each decoder here costs every program that has devid active, on OpenSSL
 * 3.0: each certificate it parses builds its public key's decoder chain
 * afresh, comparing every decoder of every provider by name (README.md,
 * "Performance"). Hence one DER step per key type, which takes both a PEM
 * step's body and a DER file, and key steps that decline public-only
 * decodes. */
#include "config.h"

#include <string.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/err.h"
#include "common/log.h"
#include "provider/implementations.h"
#include "provider/provider.h"
#include "provider/pubop.h"
#include "provider/ref-file.h"

/* A reference file is small; anything bigger is not one. */
#define DEVID_REF_MAX 65536
/* Every reference and key file devid writes fits in this many bytes: the
 * DER step reads such a body on the stack. */
#define DEVID_REF_SMALL 4096

static OSSL_FUNC_decoder_newctx_fn devid_dec_newctx;
static OSSL_FUNC_decoder_freectx_fn devid_dec_freectx;
static OSSL_FUNC_decoder_does_selection_fn devid_dec_does_selection;
static OSSL_FUNC_decoder_decode_fn devid_dec_pem_decode;
static OSSL_FUNC_decoder_decode_fn devid_dec_der_ec_decode;
static OSSL_FUNC_decoder_decode_fn devid_dec_der_rsa_decode;
static OSSL_FUNC_decoder_decode_fn devid_dec_der_ed25519_decode;
static OSSL_FUNC_decoder_decode_fn devid_dec_der_ed448_decode;

/* A decoder needs nothing but its provider instance: that is its context,
 * and nothing is allocated (OpenSSL 3.0 crashes in a later decode of the
 * same chain when a decoder's newctx fails). */
static void *devid_dec_newctx(void *provctx)
{
    return provctx;
}

static void devid_dec_freectx(void *vctx)
{
    (void)vctx;
}

/* The caller's input as a BIO; NULL (an error raised) when devid's library
 * context or the BIO cannot be made. */
static BIO *devid_dec_bio(struct devid_prov *prov, OSSL_CORE_BIO *cin)
{
    OSSL_LIB_CTX *libctx = NULL;

    return devid_prov_libctx(prov, &libctx) ? BIO_new_from_core_bio(libctx, cin)
                                            : NULL;
}

/* A reference file names a private key: a decoder asked only for public
 * parts (every certificate's SubjectPublicKeyInfo, d2i_PUBKEY) has no use
 * for ours. Saying so keeps OpenSSL 3.0 from setting our DER steps up, and
 * searching the decoder table for their inputs, on each of those decodes:
 * with devid active, that made loading a 144-certificate CA bundle cost
 * 8 ms more CPU and a TLS handshake about 2.3 million instructions more,
 * in programs that use no devid key (bench/, "unused devid").
 * The PEM step says the same, although a PEM reference file may name a
 * public key ("type=public": "openssl pkey -pubin", PEM_read_bio_PUBKEY),
 * which it passes on as its SubjectPublicKeyInfo. OpenSSL (3.0 to 4.0)
 * asks a decoder's selection only where it picks decoders by key type
 * name, which "DER" never is; the PEM step joins a chain as the source of
 * another decoder's input (OSSL_DECODER_CTX_add_extra), where nobody asks.
 * Saying yes only made OpenSSL 3.0 compare "DER" with each certificate's
 * key type names (2.0 M instructions for the bundle, callgrind).
 * Public reference files are read in tests/unit/test-decoder-paths
 * (PEM_read_bio_PUBKEY) and tests/tls/all_pkcs11_public.sh (pkey -pubin). */
static int devid_dec_does_selection(void *provctx, int selection)
{
    return selection == 0
           || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

/* Hands the opened key to the core (keymgmt load() takes the reference). */
static int devid_dec_emit(struct devid_key **key, OSSL_CALLBACK *object_cb,
                          void *object_cbarg)
{
    OSSL_PARAM params[4];
    int type = OSSL_OBJECT_PKEY;

    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                                 (char *)devid_key_type_name(
                                                     *key),
                                                 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE,
                                                  key, sizeof(*key));
    params[3] = OSSL_PARAM_construct_end();
    return object_cb(params, object_cbarg);
}

/* Opens the key a reference names and emits it when it has the type this
 * decoder makes. Returns 0 only when the reference is ours and cannot be
 * opened: OpenSSL keeps the errors of a decoder that returns 0, so the
 * program reports "no matching token" rather than "unsupported". */
static int devid_dec_open_emit(struct devid_prov *prov, const char *label,
                               const unsigned char *der, size_t len,
                               enum devid_key_type want, /* NONE: any */
                               OSSL_CALLBACK *object_cb, void *object_cbarg,
                               OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    struct devid_pin_cb pin = { pw_cb, pw_cbarg };
    struct devid_key *key = NULL;
    int ret = 1;

    if (!devid_ref_open_cached(prov, label, der, len, &pin, &key)) {
        DEVID_DEBUG("decoder", "reference file (%s) cannot be opened",
                    label != NULL ? label : "DER");
        return 0;
    }
    if (key != NULL && (want == DEVID_KEY_NONE || key->pub.type == want)) {
        ret = devid_dec_emit(&key, object_cb, object_cbarg);
    }
    devid_key_free(key);        /* NULL when keymgmt load() took it */
    return ret;
}

/* A public key named by a reference goes on as its SubjectPublicKeyInfo:
 * OpenSSL's decoders make an ordinary public key of it. */
static int devid_dec_emit_spki(struct devid_key *key, OSSL_CALLBACK *object_cb,
                               void *object_cbarg)
{
    OSSL_PARAM params[4];
    unsigned char *spki = NULL;
    size_t len = 0;
    int type = OSSL_OBJECT_PKEY;
    int ret;

    if (!devid_key_spki(key, &spki, &len)) {
        return 0;
    }
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, spki,
                                                  len);
    params[2] =
        OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE,
                                         (char *)"SubjectPublicKeyInfo", 0);
    params[3] = OSSL_PARAM_construct_end();
    ret = object_cb(params, object_cbarg);
    OPENSSL_free(spki);
    return ret;
}

/* A reference to a certificate ("type=cert") goes on as the certificate's
 * DER: the file store makes an X509 of it ("openssl x509 -in", storeutl,
 * OSSL_STORE users). */
static int devid_dec_emit_cert(unsigned char *cert, size_t len,
                               OSSL_CALLBACK *object_cb, void *object_cbarg)
{
    OSSL_PARAM params[4];
    int type = OSSL_OBJECT_CERT;

    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, cert,
                                                  len);
    params[2] =
        OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE,
                                         (char *)"Certificate", 0);
    params[3] = OSSL_PARAM_construct_end();
    return object_cb(params, object_cbarg);
}

/* No key matches the reference (and nothing else went wrong: a refused
 * PIN stands): it may name a certificate. Returns 1 with its DER in *cert
 * (OPENSSL_free), else 0 with no error added. */
static int devid_dec_find_cert(struct devid_prov *prov,
                               const unsigned char *der, size_t len,
                               const struct devid_pin_cb *pin,
                               unsigned char **cert, size_t *cert_len)
{
    *cert = NULL;
    if (ERR_GET_REASON(ERR_peek_last_error()) != DEVID_R_NO_OBJECT) {
        return 0;
    }
    devid_err_mark(prov);
    if (!devid_ref_open_cert(prov, der, len, pin, cert, cert_len)
        || *cert == NULL) {
        devid_err_pop_to_mark(prov);
        return 0;
    }
    devid_err_clear_mark(prov);
    return 1;
}

/* The name of the DER step that makes this key (devid_decoders[]), which
 * is also the name OpenSSL gives its type; NULL for an RSA key fixed to
 * PSS ("RSA-PSS"), which the RSA step makes. Its body goes on untyped: to
 * every DER step, and behind the file store to a search among all key
 * managers. Typed "RSA", it made OpenSSL 3.5 and later (which then search
 * the RSA key managers only) crash in "openssl pkey -in" of a TPM key file
 * fixed to PSS (tests/tpm2/rsapss_tpm2tools_sign.sh). */
static const char *devid_dec_der_name(const struct devid_key *key)
{
    const char *name = devid_key_type_name(key);

    return strcmp(name, "RSA-PSS") == 0 ? NULL : name;
}

/* PEM step: only our two labels; any other PEM is left to the other
 * decoders (returning 1 without calling back means "not mine"). A public
 * key goes on as its SubjectPublicKeyInfo, a certificate as its DER; a
 * private key's body goes on to the DER step. It opens the key already
 * (kept in the reference cache for the next step): OpenSSL keeps the
 * errors of a decoder that returns 0 here, whereas the next step runs
 * inside the file store, which drops them. So a program reports "no
 * matching token" instead of "unsupported". */
static int devid_dec_pem_decode(void *vctx, OSSL_CORE_BIO *cin, int selection,
                                OSSL_CALLBACK *object_cb, void *object_cbarg,
                                OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    struct devid_prov *prov = vctx;
    struct devid_pin_cb pin = { pw_cb, pw_cbarg };
    struct devid_key *key = NULL;
    BIO *in = devid_dec_bio(prov, cin);
    char *label = NULL;
    char *header = NULL;
    unsigned char *der = NULL;
    unsigned char *cert = NULL;
    size_t cert_len = 0;
    long len = 0;
    OSSL_PARAM params[3];
    const char *type;
    int opened;
    int ret = 1;

    if (in == NULL) {
        return 0; /* out of memory: an error, not an empty hand */
    }
    ERR_set_mark();
    if (PEM_read_bio(in, &label, &header, &der, &len) <= 0) {
        ERR_pop_to_mark();
        goto end;
    }
    ERR_clear_last_mark();
    if (!devid_ref_is_ours(label)) {
        goto end;
    }
    DEVID_DEBUG("decoder", "reference file: %s", label);
    devid_err_mark(prov);
    opened = devid_ref_open_cached(prov, label, der, (size_t)len, &pin, &key);
    if (!opened
        && devid_dec_find_cert(prov, der, (size_t)len, &pin, &cert,
                               &cert_len)) {
        devid_err_pop_to_mark(prov); /* "no key matches": it is a cert */
        ret = devid_dec_emit_cert(cert, cert_len, object_cb, object_cbarg);
        goto end;
    }
    devid_err_clear_mark(prov);
    if (!opened) {
        DEVID_DEBUG("decoder", "the %s file cannot be opened", label);
        ret = 0;
        goto end;
    }
    if (key == NULL) {
        goto end;
    }
    if (!key->has_private) {
        ret = devid_dec_emit_spki(key, object_cb, object_cbarg);
        goto end;
    }
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der,
                                                  (size_t)len);
    params[1] = OSSL_PARAM_construct_end();
    type = devid_dec_der_name(key);
    if (type != NULL) {
        params[1] =
            OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                             (char *)type, 0);
        params[2] = OSSL_PARAM_construct_end();
    }
    ret = object_cb(params, object_cbarg);
end:
    devid_key_free(key);
    OPENSSL_free(cert);
    OPENSSL_free(label);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(in);
    return ret;
}

/* Reads up to max bytes of in into buf; returns how many. */
static size_t devid_dec_read(BIO *in, unsigned char *buf, size_t max)
{
    size_t n = 0;
    size_t got = 0;

    while (n < max && BIO_read_ex(in, buf + n, max - n, &got) && got > 0) {
        n += got;
    }
    return n;
}

/* Reads the whole DER body: into small (DEVID_REF_SMALL bytes) when it
 * fits, as every reference and key file does, else into *big
 * (OPENSSL_free). Returns the body, or NULL: none, too big, or no memory
 * (then *failed is 1 and DEVID_R_MALLOC is queued). Reading a key file
 * takes no allocation of devid's: behind OpenSSL's file store the DER step
 * runs where OpenSSL drops its errors, so a failure there could only say
 * "unsupported". */
static const unsigned char *devid_dec_read_all(struct devid_prov *prov, BIO *in,
                                               unsigned char *small,
                                               unsigned char **big, size_t *len,
                                               int *failed)
{
    size_t n = devid_dec_read(in, small, DEVID_REF_SMALL);

    *big = NULL;
    *failed = 0;
    if (n == DEVID_REF_SMALL) {
        *big = OPENSSL_malloc(DEVID_REF_MAX);
        if (*big == NULL) {
            DEVID_RAISE(prov, DEVID_R_MALLOC, "a DER key file's body");
            *failed = 1;
            return NULL;
        }
        memcpy(*big, small, n);
        n += devid_dec_read(in, *big + n, DEVID_REF_MAX - n);
    }
    if (n == 0 || n == DEVID_REF_MAX) {
        /* OpenSSL's file store drops a DER decoder's errors (it says only
         * "unsupported"): the trace is where this reason can be seen */
        if (n == DEVID_REF_MAX) {
            DEVID_DEBUG("decoder",
                        "DER input of %d KB or more: not a key "
                        "reference or key file (those are under %d KB)",
                        DEVID_REF_MAX / 1024, DEVID_REF_MAX / 1024);
        }
        return NULL;
    }
    *len = n;
    return *big != NULL ? *big : small;
}

/* DER files (a key file without PEM armour), recognised by content. */
static int devid_dec_der_decode(struct devid_prov *prov, OSSL_CORE_BIO *cin,
                                enum devid_key_type want,
                                OSSL_CALLBACK *object_cb, void *object_cbarg,
                                OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    BIO *in = devid_dec_bio(prov, cin);
    unsigned char small[DEVID_REF_SMALL];
    unsigned char *big = NULL;
    const unsigned char *der;
    size_t len = 0;
    int failed = 0;
    int ret = 1;

    if (in == NULL) {
        return 0; /* out of memory: an error, not an empty hand */
    }
    der = devid_dec_read_all(prov, in, small, &big, &len, &failed);
    if (der != NULL) {
        ret = devid_dec_open_emit(prov, NULL, der, len, want, object_cb,
                                  object_cbarg, pw_cb, pw_cbarg);
    } else if (failed) {
        ret = 0;
    }
    OPENSSL_free(big);
    BIO_free(in);
    return ret;
}

static int devid_dec_der_ec_decode(void *vctx, OSSL_CORE_BIO *cin,
                                   int selection, OSSL_CALLBACK *object_cb,
                                   void *object_cbarg,
                                   OSSL_PASSPHRASE_CALLBACK *pw_cb,
                                   void *pw_cbarg)
{
    return devid_dec_der_decode(vctx, cin, DEVID_KEY_EC, object_cb,
                                object_cbarg, pw_cb, pw_cbarg);
}

static int devid_dec_der_rsa_decode(void *vctx, OSSL_CORE_BIO *cin,
                                    int selection, OSSL_CALLBACK *object_cb,
                                    void *object_cbarg,
                                    OSSL_PASSPHRASE_CALLBACK *pw_cb,
                                    void *pw_cbarg)
{
    return devid_dec_der_decode(vctx, cin, DEVID_KEY_RSA, object_cb,
                                object_cbarg, pw_cb, pw_cbarg);
}

static int devid_dec_der_ed25519_decode(void *vctx, OSSL_CORE_BIO *cin,
                                        int selection, OSSL_CALLBACK *object_cb,
                                        void *object_cbarg,
                                        OSSL_PASSPHRASE_CALLBACK *pw_cb,
                                        void *pw_cbarg)
{
    return devid_dec_der_decode(vctx, cin, DEVID_KEY_ED25519, object_cb,
                                object_cbarg, pw_cb, pw_cbarg);
}

static int devid_dec_der_ed448_decode(void *vctx, OSSL_CORE_BIO *cin,
                                      int selection, OSSL_CALLBACK *object_cb,
                                      void *object_cbarg,
                                      OSSL_PASSPHRASE_CALLBACK *pw_cb,
                                      void *pw_cbarg)
{
    return devid_dec_der_decode(vctx, cin, DEVID_KEY_ED448, object_cb,
                                object_cbarg, pw_cb, pw_cbarg);
}

#define DEVID_DEC_TABLE(name, which, selects)                                  \
    static const OSSL_DISPATCH devid_dec_##name##_functions[] = {              \
        DEVID_DISPATCH(DECODER, dec, NEWCTX, newctx),                          \
        DEVID_DISPATCH(DECODER, dec, FREECTX, freectx),                        \
        DEVID_DISPATCH(DECODER, dec, DOES_SELECTION, selects),                 \
        DEVID_DISPATCH(DECODER, dec, DECODE, which##_decode),                  \
        OSSL_DISPATCH_END                                                      \
    }

DEVID_DEC_TABLE(pem, pem, does_selection);
DEVID_DEC_TABLE(der_ec, der_ec, does_selection);
DEVID_DEC_TABLE(der_rsa, der_rsa, does_selection);
DEVID_DEC_TABLE(der_ed25519, der_ed25519, does_selection);
DEVID_DEC_TABLE(der_ed448, der_ed448, does_selection);

const OSSL_ALGORITHM devid_decoders[] = {
    { "DER", DEVID_PROPS ",input=pem", devid_dec_pem_functions,
      "devid key reference file (PEM)" },
    { "EC", DEVID_PROPS ",input=der", devid_dec_der_ec_functions,
      "devid EC key reference or key file (DER)" },
    { "RSA", DEVID_PROPS ",input=der", devid_dec_der_rsa_functions,
      "devid RSA key reference or key file (DER)" },
    { "ED25519", DEVID_PROPS ",input=der", devid_dec_der_ed25519_functions,
      "devid Ed25519 key reference or key file (DER)" },
    { "ED448", DEVID_PROPS ",input=der", devid_dec_der_ed448_functions,
      "devid Ed448 key reference or key file (DER)" },
    { NULL, NULL, NULL, NULL }
};
