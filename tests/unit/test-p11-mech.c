/* SPDX-License-Identifier: Apache-2.0 */
/* The mechanism choices and the software paddings around them: the TLS
 * premaster check (provider/rsa-pad.c) on good and bad blocks, then,
 * through OpenSSL with the devid provider built in and a SoftHSM2 token,
 * TLS-padded decryption on raw RSA and on a key allowed only CKM_RSA_PKCS,
 * PSS padded in software for a modulus whose bit length is 1 mod 8, and
 * ECDH into an output shorter than the secret. */
#include "config.h"

#include <string.h>
#include <CUnit/Basic.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <openssl/ui.h>

#include "provider/provider.h"
#include "provider/rsa-pad.h"
#include "tests/unit/test-p11-util.h"

#define TOKEN "devid-mech"
#define URI(label)                                                             \
    "pkcs11:token=" TOKEN ";object=" label ";type=private?pin-value=" TP11_PIN

/* ---- the premaster check alone ----------------------------------------- */

#define EMLEN 256
#define TLS12 0x0303u

static unsigned char rnd[DEVID_TLS_PREMASTER_LEN];

/* A good type 2 block: 00 02 PS 00 03 03 secret. */
static void good_block(unsigned char *em, unsigned char *pms)
{
    size_t i;

    CU_ASSERT_FATAL(RAND_bytes(em, EMLEN) == 1);
    em[0] = 0x00;
    em[1] = 0x02;
    for (i = 2; i < EMLEN - DEVID_TLS_PREMASTER_LEN - 1; i++) {
        em[i] |= 0x01; /* nonzero padding */
    }
    em[EMLEN - DEVID_TLS_PREMASTER_LEN - 1] = 0x00;
    em[EMLEN - DEVID_TLS_PREMASTER_LEN] = 0x03;
    em[EMLEN - DEVID_TLS_PREMASTER_LEN + 1] = 0x03;
    memcpy(pms, em + EMLEN - DEVID_TLS_PREMASTER_LEN, DEVID_TLS_PREMASTER_LEN);
}

static void test_premaster_good(void)
{
    unsigned char em[EMLEN];
    unsigned char pms[DEVID_TLS_PREMASTER_LEN];
    unsigned char out[DEVID_TLS_PREMASTER_LEN];

    good_block(em, pms);
    devid_rsa_tls_premaster(em, EMLEN, TLS12, 0, rnd, out);
    CU_ASSERT(memcmp(out, pms, sizeof(out)) == 0);
    /* the rollback-bug workaround: the negotiated version is good too */
    em[EMLEN - DEVID_TLS_PREMASTER_LEN + 1] = 0x01;
    memcpy(pms, em + EMLEN - DEVID_TLS_PREMASTER_LEN, sizeof(pms));
    devid_rsa_tls_premaster(em, EMLEN, TLS12, 0x0301u, rnd, out);
    CU_ASSERT(memcmp(out, pms, sizeof(out)) == 0);
}

/* Every damaged block gives the random bytes, never an error. */
static void test_premaster_bad(void)
{
    static const struct {
        size_t at;
        int value; /* -1: xor 0xff */
        const char *what;
    } cases[] = {
        { 0, 0x01, "first byte" },
        { 1, 0x01, "block type 1" },
        { 1, 0x00, "block type 0" },
        { 2, 0x00, "padding ends at once" },
        { 9, 0x00, "padding shorter than 8" },
        { EMLEN - DEVID_TLS_PREMASTER_LEN - 2, 0x00, "secret too long" },
        { EMLEN - DEVID_TLS_PREMASTER_LEN - 1, 0x07, "no separator" },
        { EMLEN - DEVID_TLS_PREMASTER_LEN, 0x02, "major version" },
        { EMLEN - DEVID_TLS_PREMASTER_LEN + 1, 0x01, "minor version" },
    };
    unsigned char em[EMLEN];
    unsigned char pms[DEVID_TLS_PREMASTER_LEN];
    unsigned char out[DEVID_TLS_PREMASTER_LEN];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        good_block(em, pms);
        em[cases[i].at] = (unsigned char)cases[i].value;
        memset(out, 0, sizeof(out));
        devid_rsa_tls_premaster(em, EMLEN, TLS12, 0, rnd, out);
        if (memcmp(out, rnd, sizeof(out)) != 0) {
            fprintf(stderr, "bad block accepted: %s\n", cases[i].what);
        }
        CU_ASSERT(memcmp(out, rnd, sizeof(out)) == 0);
    }
    /* a wrong version is not saved by an alternative that differs too */
    good_block(em, pms);
    em[EMLEN - DEVID_TLS_PREMASTER_LEN + 1] = 0x02;
    devid_rsa_tls_premaster(em, EMLEN, TLS12, 0x0301u, rnd, out);
    CU_ASSERT(memcmp(out, rnd, sizeof(out)) == 0);
}

static void test_premaster_select(void)
{
    unsigned char pt[EMLEN] = { 0x03, 0x03, 0xaa };
    unsigned char out[DEVID_TLS_PREMASTER_LEN];

    devid_rsa_tls_select(1, pt, DEVID_TLS_PREMASTER_LEN, TLS12, 0, rnd, out);
    CU_ASSERT(memcmp(out, pt, sizeof(out)) == 0);
    devid_rsa_tls_select(0, pt, DEVID_TLS_PREMASTER_LEN, TLS12, 0, rnd, out);
    CU_ASSERT(memcmp(out, rnd, sizeof(out)) == 0);
    devid_rsa_tls_select(1, pt, DEVID_TLS_PREMASTER_LEN - 1, TLS12, 0, rnd,
                         out);
    CU_ASSERT(memcmp(out, rnd, sizeof(out)) == 0);
    devid_rsa_tls_select(1, pt, DEVID_TLS_PREMASTER_LEN, 0x0302u, 0, rnd, out);
    CU_ASSERT(memcmp(out, rnd, sizeof(out)) == 0);
}

/* ---- through the provider ------------------------------------------------ */

static OSSL_PROVIDER *ossl_default, *ossl_devid;

static EVP_PKEY *load_key(const char *uri)
{
    OSSL_STORE_CTX *store = OSSL_STORE_open(uri, UI_null(), NULL, NULL, NULL);
    OSSL_STORE_INFO *info;
    EVP_PKEY *pkey = NULL;

    while (store != NULL && pkey == NULL && !OSSL_STORE_eof(store)) {
        info = OSSL_STORE_load(store);
        if (info != NULL
            && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY) {
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        }
        OSSL_STORE_INFO_free(info);
        if (info == NULL && OSSL_STORE_error(store)) {
            break;
        }
    }
    OSSL_STORE_close(store);
    return pkey;
}

/* The public half as a key of the default provider. */
static EVP_PKEY *public_copy(EVP_PKEY *pkey)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    int len = i2d_PUBKEY(pkey, &der);
    EVP_PKEY *pub = NULL;

    if (len > 0) {
        p = der;
        pub = d2i_PUBKEY(NULL, &p, len);
    }
    OPENSSL_free(der);
    return pub;
}

/* Decrypts c with TLS padding; returns 1 and 48 bytes in out, or 0. */
static int tls_decrypt(EVP_PKEY *pkey, const unsigned char *c, size_t clen,
                       unsigned char *out)
{
    unsigned int version = TLS12;
    OSSL_PARAM params[2];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    size_t outlen = DEVID_TLS_PREMASTER_LEN;
    int ok;

    params[0] =
        OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION,
                                  &version);
    params[1] = OSSL_PARAM_construct_end();
    ok = ctx != NULL && EVP_PKEY_decrypt_init(ctx) > 0
         && EVP_PKEY_CTX_set_params(ctx, params) > 0
         && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_WITH_TLS_PADDING) > 0
         && EVP_PKEY_decrypt(ctx, out, &outlen, c, clen) > 0
         && outlen == DEVID_TLS_PREMASTER_LEN;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* Encrypts a premaster (version first) to pub with PKCS#1 v1.5. */
static size_t encrypt_pms(EVP_PKEY *pub, unsigned char v0, unsigned char v1,
                          unsigned char *pms, unsigned char *c)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    size_t clen = 512;

    CU_ASSERT_FATAL(RAND_bytes(pms, DEVID_TLS_PREMASTER_LEN) == 1);
    pms[0] = v0;
    pms[1] = v1;
    if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) <= 0
        || EVP_PKEY_encrypt(ctx, c, &clen, pms, DEVID_TLS_PREMASTER_LEN) <= 0) {
        clen = 0;
    }
    EVP_PKEY_CTX_free(ctx);
    return clen;
}

static void check_tls_key(const char *uri)
{
    EVP_PKEY *pkey = load_key(uri);
    EVP_PKEY *pub = pkey != NULL ? public_copy(pkey) : NULL;
    unsigned char pms[DEVID_TLS_PREMASTER_LEN];
    unsigned char out[DEVID_TLS_PREMASTER_LEN];
    unsigned char c[512];
    size_t clen;

    CU_ASSERT_FATAL(pub != NULL);
    ERR_clear_error();
    clen = encrypt_pms(pub, 0x03, 0x03, pms, c);
    CU_ASSERT(clen == 256 && tls_decrypt(pkey, c, clen, out));
    CU_ASSERT(memcmp(out, pms, sizeof(out)) == 0);
    /* the wrong version: 48 bytes, not the secret, and no error */
    clen = encrypt_pms(pub, 0x03, 0x01, pms, c);
    CU_ASSERT(tls_decrypt(pkey, c, clen, out));
    CU_ASSERT(memcmp(out, pms, sizeof(out)) != 0);
    /* garbage below the modulus: bad padding, the same answer */
    c[0] = 0x01;
    CU_ASSERT(tls_decrypt(pkey, c, clen, out));
    CU_ASSERT(ERR_peek_error() == 0);
    ERR_print_errors_fp(stderr);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pkey);
}

static void test_tls_raw(void)
{
    check_tls_key(URI("kx-raw"));
}

static void test_tls_pkcs_only(void)
{
    check_tls_key(URI("kx-pkcs"));
}

/* RSA-1025: EMSA-PSS is one byte shorter than the modulus. */
static void test_pss_odd_modulus(void)
{
    static const unsigned char msg[] = "odd modulus";
    EVP_PKEY *pkey = load_key(URI("odd"));
    EVP_PKEY *pub = pkey != NULL ? public_copy(pkey) : NULL;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_MD_CTX *vctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char sig[256];
    size_t siglen = sizeof(sig);
    int i;

    CU_ASSERT_FATAL(pub != NULL && mctx != NULL && vctx != NULL);
    CU_ASSERT_EQUAL(EVP_PKEY_get_bits(pkey), 1025);
    for (i = 0; i < 4; i++) {
        siglen = sizeof(sig);
        CU_ASSERT(EVP_DigestSignInit(mctx, &pctx, EVP_sha256(), NULL, pkey) > 0
                  && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING)
                         > 0
                  && EVP_DigestSign(mctx, sig, &siglen, msg, sizeof(msg)) > 0);
        CU_ASSERT(siglen == 129);
        CU_ASSERT(
            EVP_DigestVerifyInit(vctx, &pctx, EVP_sha256(), NULL, pub) > 0
            && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0
            && EVP_DigestVerify(vctx, sig, siglen, msg, sizeof(msg)) == 1);
    }
    ERR_print_errors_fp(stderr);
    EVP_MD_CTX_free(mctx);
    EVP_MD_CTX_free(vctx);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pkey);
}

/* ECDH into 16 bytes: the secret's first 16, as OpenSSL's own ECDH. */
static void test_ecdh_truncated(void)
{
    EVP_PKEY *mine = load_key(URI("ec"));
    EVP_PKEY *pub = mine != NULL ? public_copy(mine) : NULL;
    EVP_PKEY *peer = EVP_EC_gen("P-256");
    EVP_PKEY *peer_pub = peer != NULL ? public_copy(peer) : NULL;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char full[32];
    unsigned char part[32];
    size_t flen = sizeof(full);
    size_t plen = 16;

    /* the peer as a handshake gives it: its public half only */
    CU_ASSERT_FATAL(pub != NULL && peer_pub != NULL);
    /* the secret, made by the default provider from the peer's side */
    ctx = EVP_PKEY_CTX_new(peer, NULL);
    CU_ASSERT(EVP_PKEY_derive_init(ctx) > 0
              && EVP_PKEY_derive_set_peer(ctx, pub) > 0
              && EVP_PKEY_derive(ctx, full, &flen) > 0 && flen == 32);
    EVP_PKEY_CTX_free(ctx);
    ctx = EVP_PKEY_CTX_new(mine, NULL);
    memset(part, 0, sizeof(part));
    CU_ASSERT(EVP_PKEY_derive_init(ctx) > 0
              && EVP_PKEY_derive_set_peer(ctx, peer_pub) > 0
              && EVP_PKEY_derive(ctx, part, &plen) > 0);
    CU_ASSERT_EQUAL(plen, 16);
    CU_ASSERT(memcmp(part, full, 16) == 0);
    CU_ASSERT(part[16] == 0);
    plen = sizeof(part);
    CU_ASSERT(EVP_PKEY_derive(ctx, part, &plen) > 0 && plen == 32
              && memcmp(part, full, 32) == 0);
    ERR_print_errors_fp(stderr);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer_pub);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(mine);
}

static int keygen(const char *type, const char *id, const char *label,
                  const char *extra)
{
    return tp11_run("pkcs11-tool --module %s --token-label %s --login "
                    "--pin %s --keypairgen --key-type %s --id %s --label %s "
                    "%s >/dev/null 2>&1",
                    TP11_SOFTHSM, TOKEN, TP11_PIN, type, id, label, extra);
}

static int suite_init(void)
{
    struct devid_prov *prov;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1 || tp11_softhsm_setup() == NULL
        || !tp11_token_init(TOKEN)
        || !keygen("rsa:2048", "01", "kx-raw", "--usage-decrypt")
        || !keygen("rsa:2048", "02", "kx-pkcs",
                   "--usage-decrypt --allowed-mechanisms RSA-PKCS")
        || !keygen("rsa:1025", "03", "odd",
                   "--usage-sign --allowed-mechanisms RSA-X-509")
        || !keygen("EC:prime256v1", "04", "ec", "--usage-derive")) {
        return 1;
    }
    ossl_default = OSSL_PROVIDER_load(NULL, "default");
    if (ossl_default == NULL
        || !OSSL_PROVIDER_add_builtin(NULL, "devid", devid_provider_init)) {
        return 1;
    }
    ossl_devid = OSSL_PROVIDER_load(NULL, "devid");
    prov = ossl_devid != NULL ? OSSL_PROVIDER_get0_provider_ctx(ossl_devid)
                              : NULL;
    return prov == NULL
           || !devid_config_set(prov, "pkcs11-module-path", TP11_SOFTHSM);
}

static int suite_clean(void)
{
    OSSL_PROVIDER_unload(ossl_devid);
    OSSL_PROVIDER_unload(ossl_default);
    tp11_softhsm_cleanup();
    return 0;
}

int main(void)
{
    CU_pSuite s;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("rsa-pad", NULL, NULL);
    CU_add_test(s, "test_premaster_good", test_premaster_good);
    CU_add_test(s, "test_premaster_bad", test_premaster_bad);
    CU_add_test(s, "test_premaster_select", test_premaster_select);
    s = CU_add_suite("provider", suite_init, suite_clean);
    CU_add_test(s, "test_tls_raw", test_tls_raw);
    CU_add_test(s, "test_tls_pkcs_only", test_tls_pkcs_only);
    CU_add_test(s, "test_pss_odd_modulus", test_pss_odd_modulus);
    CU_add_test(s, "test_ecdh_truncated", test_ecdh_truncated);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed != 0;
}
