/* SPDX-License-Identifier: Apache-2.0 */
/* TSS2 PRIVATE KEY parsing and writing (tpm2/keyfile.c), without a TPM:
 * a key file made by tpm2-openssl, table-driven corruptions of it, the
 * encoder, the sniffing of the first bytes, and file reading/writing. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/err.h"
#include "tpm2/keyfile.h"

/* `openssl genpkey -provider tpm2 -algorithm EC -pkeyopt group:P-256`
 * (tpm2-openssl 1.1.1 on swtpm): emptyAuth TRUE written as BER 0x01,
 * parent 0x40000001, pubkey 88 bytes at 24, privkey 128 bytes at 115. */
static const char t2o_pem[]
    = "-----BEGIN TSS2 PRIVATE KEY-----\n"
      "MIHwBgZngQUKAQOgAwEBAQIEQAAAAQRYAFYAIwALAAYAcgAAABAAEAADABAAIMY6\n"
      "RUqUA354ckrsruYa1osHBFoLlKIKw1xzPfiJ3iyzACDS89jiT8X2+IDPnzlirWaM\n"
      "Fraa31nbHop/AsW39hI/wgSBgAB+ACCd4feztLsnbBCJ8fPLpsO9l/WQ7fdGyX+F\n"
      "aKka33xy4gAQfgGk8dqEt9VsRGe0cBodnCfFuNkY1c/Fh/LO/jXr53KrUbnmG0w9\n"
      "Efb2WO5xkgIoV2Ae4hAK6sX46+zZhYKuxXHIW63DM7hafmf6ll4Jjyfb8Mgscl2A\n"
      "+R41\n"
      "-----END TSS2 PRIVATE KEY-----\n";

static unsigned char t2o[512];
static size_t t2o_len;
static char tdir[256];

static int last_reason(void)
{
    unsigned long e = ERR_peek_last_error();

    return ERR_GET_LIB(e) == devid_err_lib() ? ERR_GET_REASON(e) : -1;
}

static int suite_init(void)
{
    const char *b64 = strchr(t2o_pem, '\n') + 1;
    char clean[400];
    size_t n = 0;
    int len;

    for (; *b64 != '-'; b64++) {
        if (*b64 != '\n') {
            clean[n++] = *b64;
        }
    }
    len = EVP_DecodeBlock(t2o, (const unsigned char *)clean, (int)n);
    /* EVP_DecodeBlock counts the '=' padding as data: none here (0xf3) */
    t2o_len = (size_t)len;
    snprintf(tdir, sizeof(tdir), "/tmp/devid-keyfile-XXXXXX");
    return len != 0xf3 || mkdtemp(tdir) == NULL;
}

static int suite_clean(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
    return system(cmd) != 0;
}

static void test_decode_tpm2_openssl(void)
{
    struct devid_tpm2_keyfile *kf = NULL;

    CU_ASSERT_EQUAL_FATAL(devid_tpm2_keyfile_decode(NULL, t2o, t2o_len, &kf),
                          1);
    CU_ASSERT_TRUE(kf->empty_auth);
    CU_ASSERT_FALSE(kf->has_policy);
    CU_ASSERT_FALSE(kf->rsa_parent);
    CU_ASSERT_EQUAL(kf->parent, 0x40000001u);
    CU_ASSERT_EQUAL(kf->pub.publicArea.type, TPM2_ALG_ECC);
    CU_ASSERT_EQUAL(kf->pub.publicArea.parameters.eccDetail.curveID,
                    TPM2_ECC_NIST_P256);
    CU_ASSERT_EQUAL(kf->pub.publicArea.unique.ecc.x.size, 32);
    CU_ASSERT_EQUAL(kf->priv.size, 126);
    devid_tpm2_keyfile_free(kf);
}

/* Re-encoding gives the same bytes except TRUE, which we write as DER's
 * 0xff; decoding our output gives the same structure. */
static void test_encode_roundtrip(void)
{
    struct devid_tpm2_keyfile *kf = NULL, *kf2 = NULL;
    unsigned char *der = NULL;
    size_t len = 0, i, diff = 0;

    CU_ASSERT_EQUAL_FATAL(devid_tpm2_keyfile_decode(NULL, t2o, t2o_len, &kf),
                          1);
    CU_ASSERT_EQUAL_FATAL(devid_tpm2_keyfile_encode(NULL, kf, &der, &len), 1);
    CU_ASSERT_EQUAL_FATAL(len, t2o_len);
    for (i = 0; i < len; i++) {
        diff += der[i] != t2o[i];
    }
    CU_ASSERT_EQUAL(diff, 1);
    CU_ASSERT_EQUAL(der[15], 0xff);
    CU_ASSERT_EQUAL(devid_tpm2_keyfile_decode(NULL, der, len, &kf2), 1);
    CU_ASSERT_EQUAL(memcmp(&kf->pub, &kf2->pub, sizeof(kf->pub)), 0);
    CU_ASSERT_EQUAL(memcmp(&kf->priv, &kf2->priv, sizeof(kf->priv)), 0);
    OPENSSL_free(der);
    devid_tpm2_keyfile_free(kf2);
    devid_tpm2_keyfile_free(kf);
}

/* Parents with the top bit set need a leading zero byte in the INTEGER;
 * emptyAuth FALSE is left out. */
static void test_encode_persistent_parent(void)
{
    static const unsigned char parent[] = { 0x02, 0x05, 0x00, 0x81, 0x00,
                                            0x00, 0x01 };
    struct devid_tpm2_keyfile *kf = NULL, *kf2 = NULL;
    unsigned char *der = NULL;
    size_t len = 0;

    CU_ASSERT_EQUAL_FATAL(devid_tpm2_keyfile_decode(NULL, t2o, t2o_len, &kf),
                          1);
    kf->parent = 0x81000001u;
    kf->empty_auth = 0;
    CU_ASSERT_EQUAL_FATAL(devid_tpm2_keyfile_encode(NULL, kf, &der, &len), 1);
    CU_ASSERT_EQUAL(memcmp(der + 11, parent, sizeof(parent)), 0);
    CU_ASSERT_EQUAL(devid_tpm2_keyfile_decode(NULL, der, len, &kf2), 1);
    CU_ASSERT_EQUAL(kf2->parent, 0x81000001u);
    CU_ASSERT_FALSE(kf2->empty_auth);
    OPENSSL_free(der);
    devid_tpm2_keyfile_free(kf2);
    devid_tpm2_keyfile_free(kf);
}

/* A structure whose public area no TPM or parser could have produced (an
 * algorithm that does not exist) does not marshal: the encoder reports an
 * internal error, and the writer leaves no file. */
static void test_encode_unmarshalable(void)
{
    struct devid_tpm2_keyfile *kf = NULL;
    unsigned char *der = NULL;
    size_t len = 0;
    char path[300];
    struct stat sb;

    CU_ASSERT_EQUAL_FATAL(devid_tpm2_keyfile_decode(NULL, t2o, t2o_len, &kf),
                          1);
    kf->pub.publicArea.type = 0x7777;
    ERR_clear_error();
    CU_ASSERT_EQUAL(devid_tpm2_keyfile_encode(NULL, kf, &der, &len), 0);
    CU_ASSERT_PTR_NULL(der);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_INTERNAL);
    snprintf(path, sizeof(path), "%s/unmarshalable.pem", tdir);
    ERR_clear_error();
    CU_ASSERT_EQUAL(devid_tpm2_keyfile_write_pem(NULL, path, kf), 0);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_INTERNAL);
    CU_ASSERT_NOT_EQUAL(stat(path, &sb), 0);
    ERR_clear_error();
    OPENSSL_free(der);
    devid_tpm2_keyfile_free(kf);
}

/* A policy [1] after emptyAuth: parsed, and flagged. */
static void test_decode_policy_flag(void)
{
    static const unsigned char policy[] = { 0xa1, 0x02, 0x30, 0x00 };
    struct devid_tpm2_keyfile *kf = NULL;
    unsigned char der[600];
    size_t len = 0;

    memcpy(der, t2o, 16);
    der[2] = (unsigned char)(t2o[2] + sizeof(policy));
    memcpy(der + 16, policy, sizeof(policy));
    memcpy(der + 16 + sizeof(policy), t2o + 16, t2o_len - 16);
    len = t2o_len + sizeof(policy);
    CU_ASSERT_EQUAL_FATAL(devid_tpm2_keyfile_decode(NULL, der, len, &kf), 1);
    CU_ASSERT_TRUE(kf->has_policy);
    devid_tpm2_keyfile_free(kf);
}

enum mut_kind { MUT_SET, MUT_TRUNC, MUT_APPEND };

static const struct {
    const char *what;
    enum mut_kind kind;
    size_t at;
    unsigned char val;
} corrupt[] = {
    { "empty", MUT_TRUNC, 0, 0 },
    { "one byte", MUT_TRUNC, 1, 0 },
    { "header only", MUT_TRUNC, 3, 0 },
    { "truncated by one", MUT_TRUNC, 0xf2, 0 },
    { "truncated in pubkey", MUT_TRUNC, 60, 0 },
    { "trailing byte", MUT_APPEND, 0, 0x00 },
    { "outer tag SET", MUT_SET, 0, 0x31 },
    { "indefinite length", MUT_SET, 1, 0x80 },
    { "long-form length beyond the input", MUT_SET, 1, 0x82 },
    { "OID tag", MUT_SET, 3, 0x05 },
    { "importable key OID", MUT_SET, 10, 0x04 },
    { "sealed data OID", MUT_SET, 10, 0x05 },
    { "OID length", MUT_SET, 4, 0x07 },
    { "emptyAuth inner tag", MUT_SET, 13, 0x02 },
    { "emptyAuth inner length", MUT_SET, 14, 0x02 },
    { "parent tag", MUT_SET, 16, 0x04 },
    { "parent negative", MUT_SET, 18, 0xc0 },
    { "parent too long", MUT_SET, 17, 0x06 },
    { "pubkey tag", MUT_SET, 22, 0x30 },
    { "pubkey TPM2B size", MUT_SET, 25, 0x57 },
    { "pubkey TPM2B too short", MUT_SET, 25, 0x50 },
    { "privkey length", MUT_SET, 114, 0x81 },
    { "privkey TPM2B size", MUT_SET, 116, 0x7f },
    { "privkey missing tag", MUT_SET, 112, 0x05 },
};

static void test_decode_corrupt(void)
{
    struct devid_tpm2_keyfile *kf = NULL;
    unsigned char der[600];
    size_t i, len;
    int r;

    for (i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
        memcpy(der, t2o, t2o_len);
        len = t2o_len;
        if (corrupt[i].kind == MUT_SET) {
            der[corrupt[i].at] = corrupt[i].val;
        } else if (corrupt[i].kind == MUT_TRUNC) {
            len = corrupt[i].at;
        } else {
            der[len++] = corrupt[i].val;
        }
        ERR_clear_error();
        kf = NULL;
        r = devid_tpm2_keyfile_decode(NULL, der, len, &kf);
        if (r != 0 || last_reason() != DEVID_R_BAD_KEY_FILE) {
            fprintf(stderr, "\n  corrupt case '%s' accepted\n",
                    corrupt[i].what);
        }
        CU_ASSERT_EQUAL(r, 0);
        CU_ASSERT_PTR_NULL(kf);
        CU_ASSERT_EQUAL(last_reason(), DEVID_R_BAD_KEY_FILE);
        devid_tpm2_keyfile_free(kf);
    }
    ERR_clear_error();
}

static void test_sniff(void)
{
    static const unsigned char other[] = "-----BEGIN PRIVATE KEY-----\n";
    static const unsigned char cert[] = { 0x30, 0x82, 0x01, 0x0a, 0x30, 0x82,
                                          0x01, 0x00, 0x02, 0x01, 0x00 };

    CU_ASSERT_TRUE(devid_tpm2_keyfile_sniff((const unsigned char *)t2o_pem,
                                            sizeof(t2o_pem) - 1));
    CU_ASSERT_TRUE(devid_tpm2_keyfile_sniff(t2o, t2o_len));
    CU_ASSERT_TRUE(devid_tpm2_keyfile_sniff(t2o, 11));
    CU_ASSERT_FALSE(devid_tpm2_keyfile_sniff(t2o, 10));
    CU_ASSERT_FALSE(devid_tpm2_keyfile_sniff(other, sizeof(other) - 1));
    CU_ASSERT_FALSE(devid_tpm2_keyfile_sniff(cert, sizeof(cert)));
    CU_ASSERT_FALSE(devid_tpm2_keyfile_sniff(NULL, 0));
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    fwrite(data, 1, len, f);
    fclose(f);
}

static void test_read_files(void)
{
    struct devid_tpm2_keyfile *kf = NULL;
    char path[300];
    static const char junk[] = "comment line\n";
    static const char wrong_label[]
        = "-----BEGIN TSS2 KEY-----\nMAA=\n-----END TSS2 KEY-----\n";
    FILE *f;

    snprintf(path, sizeof(path), "%s/k.pem", tdir);
    f = fopen(path, "w");
    fputs(junk, f);
    fputs(t2o_pem, f);
    fclose(f);
    CU_ASSERT_EQUAL(devid_tpm2_keyfile_read(NULL, path, &kf), 1);
    CU_ASSERT_PTR_NOT_NULL(kf);
    devid_tpm2_keyfile_free(kf);
    snprintf(path, sizeof(path), "%s/k.der", tdir);
    write_file(path, t2o, t2o_len);
    CU_ASSERT_EQUAL(devid_tpm2_keyfile_read(NULL, path, &kf), 1);
    devid_tpm2_keyfile_free(kf);
    kf = NULL;
    snprintf(path, sizeof(path), "%s/w.pem", tdir);
    write_file(path, wrong_label, sizeof(wrong_label) - 1);
    ERR_clear_error();
    CU_ASSERT_EQUAL(devid_tpm2_keyfile_read(NULL, path, &kf), 0);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_BAD_KEY_FILE);
    snprintf(path, sizeof(path), "%s/missing.pem", tdir);
    ERR_clear_error();
    CU_ASSERT_EQUAL(devid_tpm2_keyfile_read(NULL, path, &kf), 0);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_NO_OBJECT);
    ERR_clear_error();
}

static void test_write_pem(void)
{
    struct devid_tpm2_keyfile *kf = NULL, *kf2 = NULL;
    char path[300];
    struct stat sb;

    CU_ASSERT_EQUAL_FATAL(devid_tpm2_keyfile_decode(NULL, t2o, t2o_len, &kf),
                          1);
    snprintf(path, sizeof(path), "%s/out.pem", tdir);
    CU_ASSERT_EQUAL(devid_tpm2_keyfile_write_pem(NULL, path, kf), 1);
    CU_ASSERT_EQUAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(devid_tpm2_keyfile_read(NULL, path, &kf2), 1);
    if (kf2 != NULL) {
        CU_ASSERT_EQUAL(memcmp(&kf->pub, &kf2->pub, sizeof(kf->pub)), 0);
    }
    /* a directory that does not exist: clear error, nothing left behind */
    snprintf(path, sizeof(path), "%s/no/such/dir.pem", tdir);
    ERR_clear_error();
    CU_ASSERT_EQUAL(devid_tpm2_keyfile_write_pem(NULL, path, kf), 0);
    CU_ASSERT_EQUAL(last_reason(), DEVID_R_INVALID_PARAM);
    ERR_clear_error();
    devid_tpm2_keyfile_free(kf2);
    devid_tpm2_keyfile_free(kf);
}

int main(void)
{
    CU_pSuite s;
    unsigned int failures;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("tpm2-keyfile", suite_init, suite_clean);
    CU_add_test(s, "test_decode_tpm2_openssl", test_decode_tpm2_openssl);
    CU_add_test(s, "test_encode_roundtrip", test_encode_roundtrip);
    CU_add_test(s, "test_encode_persistent_parent",
                test_encode_persistent_parent);
    CU_add_test(s, "test_encode_unmarshalable", test_encode_unmarshalable);
    CU_add_test(s, "test_decode_policy_flag", test_decode_policy_flag);
    CU_add_test(s, "test_decode_corrupt", test_decode_corrupt);
    CU_add_test(s, "test_sniff", test_sniff);
    CU_add_test(s, "test_read_files", test_read_files);
    CU_add_test(s, "test_write_pem", test_write_pem);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures()
               + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failures == 0 ? 0 : 1;
}
