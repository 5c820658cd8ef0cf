/* SPDX-License-Identifier: Apache-2.0 */
/* Out of memory: OpenSSL's allocator is replaced (CRYPTO_set_mem_functions)
 * by one that fails the n-th allocation, for n = 0, 1, 2, ... until a call
 * of the parser or writer under test makes no more allocations than that.
 * Every such call must succeed with a whole result or fail cleanly with a
 * devid error, DEVID_R_MALLOC when the allocation was devid's own; it must
 * never crash, leave half a file behind, or leak (ASan builds check the
 * leaks). Each sweep must fail some allocation of devid's own. */
#include "config.h"

#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "common/err.h"
#include "tests/unit/oom-util.h"
#include "pkcs11/p11.h"
#ifdef DEVID_HAVE_TPM2
#include "tpm2/keyfile.h"
#endif

/* A sweep that still finds allocations after this many is broken. */
#define OOM_MAX_STEPS 5000

/* ---- the failing allocator ------------------------------------------ */

static long oom_countdown = -1;  /* allocations until one fails; -1 none */
static const char *oom_file;     /* where the armed failure happened */
static int oom_line;

static int oom_fail_now(const char *file, int line)
{
    if (oom_countdown < 0) {
        return 0;
    }
    if (oom_countdown-- > 0) {
        return 0;
    }
    /* one failure per run, then plain again. OpenSSL 3.6 allocates
     * without a file name in places: still a failure, not devid's */
    oom_file = file != NULL ? file : "(no file)";
    oom_line = line;
    return 1;
}

static void *oom_malloc(size_t n, const char *file, int line)
{
    return oom_fail_now(file, line) ? NULL : malloc(n);
}

static void *oom_realloc(void *p, size_t n, const char *file, int line)
{
    return oom_fail_now(file, line) ? NULL : realloc(p, n);
}

static void oom_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

static int last_reason(void)
{
    unsigned long e = ERR_peek_last_error();

    return e != 0 && ERR_GET_LIB(e) == devid_err_lib() ? ERR_GET_REASON(e)
                                                        : -1;
}

/* One call of the code under test: 1 on success (its result checked and
 * freed by the step itself), 0 on failure. */
typedef int (*oom_step_fn)(void);

/* Runs step with the n-th allocation failing, for every n it reaches. A
 * failed call must raise a devid error, DEVID_R_MALLOC when the failed
 * allocation was devid's own. */
static void oom_sweep(const char *what, oom_step_fn step)
{
    long n;
    int r, reason, own = 0, other = 0, malloc_seen = 0;

    /* once without failures: OpenSSL initialises some state once per
     * process (locks, tables), and a failure injected there would stay */
    CU_ASSERT_EQUAL_FATAL(step(), 1);
    for (n = 0; n < OOM_MAX_STEPS; n++) {
        ERR_clear_error();
        oom_file = NULL;
        oom_countdown = n;
        r = step();
        oom_countdown = -1;
        if (oom_file == NULL) {
            /* no allocation left to fail: the plain run must succeed */
            CU_ASSERT_EQUAL(r, 1);
            break;
        }
        if (r == 1) {
            continue;            /* it did without that allocation */
        }
        reason = last_reason();
        malloc_seen += reason == DEVID_R_MALLOC;
        if (toom_in_devid(oom_file)) {
            own++;
            if (reason != DEVID_R_MALLOC) {
                fprintf(stderr, "\n  %s: allocation at %s:%d failed, "
                        "reported as reason %d, not DEVID_R_MALLOC\n",
                        what, oom_file, oom_line, reason);
            }
            CU_ASSERT_EQUAL(reason, DEVID_R_MALLOC);
        } else {
            other++;
            if (reason <= 0) {
                fprintf(stderr, "\n  %s: allocation at %s:%d failed, "
                        "no devid error\n", what, oom_file, oom_line);
            }
            CU_ASSERT(reason > 0);
        }
    }
    CU_ASSERT(n < OOM_MAX_STEPS);
    CU_ASSERT(own > 0);
    CU_ASSERT(malloc_seen > 0);
    printf("\n  %s: %ld allocations failed in turn; the call failed for %d "
           "of devid's own (each out of memory) and %d inside libraries "
           "(%d of those reported as out of memory)\n",
           what, n, own, other, malloc_seen - own);
    ERR_clear_error();
}

/* ---- PKCS#11 URIs ---------------------------------------------------- */

static int step_p11_uri_parse(void)
{
    struct devid_p11_uri *u = NULL;

    if (!devid_p11_uri_parse(NULL, "pkcs11:token=dev;object=device;"
                             "type=private?pin-value=1234", &u)) {
        CU_ASSERT_PTR_NULL(u);
        return 0;
    }
    CU_ASSERT_PTR_NOT_NULL(u);
    devid_p11_uri_free(u);
    return 1;
}

static void test_p11_uri_parse_oom(void)
{
    oom_sweep("devid_p11_uri_parse", step_p11_uri_parse);
}

#ifdef DEVID_HAVE_TPM2
/* ---- TSS2 PRIVATE KEY files ------------------------------------------ */

static struct devid_tpm2_keyfile kf;    /* a P-256 key file, made by hand */
static unsigned char *kf_der;
static size_t kf_der_len;
static char tdir[256];

/* The public area of an EC P-256 signing key as a TPM makes it (TPM 2.0
 * Part 2 §12.2.4 TPMT_PUBLIC), with a made-up point: marshalling does not
 * check that it is on the curve. */
static void keyfile_setup(void)
{
    TPMT_PUBLIC *p = &kf.pub.publicArea;

    memset(&kf, 0, sizeof(kf));
    kf.empty_auth = 1;
    kf.parent = 0x40000001u;
    p->type = TPM2_ALG_ECC;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT
                          | TPMA_OBJECT_SENSITIVEDATAORIGIN
                          | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT;
    p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    p->unique.ecc.x.size = 32;
    memset(p->unique.ecc.x.buffer, 0x11, 32);
    p->unique.ecc.y.size = 32;
    memset(p->unique.ecc.y.buffer, 0x22, 32);
    kf.priv.size = 126;
    memset(kf.priv.buffer, 0x33, kf.priv.size);
}

/* got holds the same key as kf: the same DER, allocations not failing */
static int keyfile_same(const struct devid_tpm2_keyfile *got)
{
    unsigned char *der = NULL;
    size_t len = 0;
    long armed = oom_countdown;    /* not failing this check's own */
    int same;

    oom_countdown = -1;
    same = devid_tpm2_keyfile_encode(NULL, got, &der, &len) == 1
           && len == kf_der_len && memcmp(der, kf_der, len) == 0;
    OPENSSL_free(der);
    oom_countdown = armed;
    return same;
}

static int step_keyfile_encode(void)
{
    unsigned char *der = NULL;
    size_t len = 0;

    if (!devid_tpm2_keyfile_encode(NULL, &kf, &der, &len)) {
        CU_ASSERT_PTR_NULL(der);
        return 0;
    }
    CU_ASSERT_EQUAL(len, kf_der_len);
    CU_ASSERT_EQUAL(memcmp(der, kf_der, len), 0);
    OPENSSL_free(der);
    return 1;
}

static int step_keyfile_decode(void)
{
    struct devid_tpm2_keyfile *out = NULL;

    if (!devid_tpm2_keyfile_decode(NULL, kf_der, kf_der_len, &out)) {
        CU_ASSERT_PTR_NULL(out);
        return 0;
    }
    CU_ASSERT_TRUE(keyfile_same(out));
    devid_tpm2_keyfile_free(out);
    return 1;
}

/* Writing: on failure neither the file nor a temporary one is left. */
static int step_keyfile_write_read(void)
{
    struct devid_tpm2_keyfile *out = NULL;
    char path[300], cmd[400];
    struct stat sb;
    int ok;

    snprintf(path, sizeof(path), "%s/key.pem", tdir);
    if (!devid_tpm2_keyfile_write_pem(NULL, path, &kf)) {
        snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", tdir);
        CU_ASSERT_EQUAL(system(cmd), 0);
        return 0;
    }
    CU_ASSERT_EQUAL(stat(path, &sb), 0);
    ok = devid_tpm2_keyfile_read(NULL, path, &out);
    if (ok) {
        CU_ASSERT_TRUE(keyfile_same(out));
        devid_tpm2_keyfile_free(out);
    } else {
        CU_ASSERT_PTR_NULL(out);
    }
    unlink(path);
    return ok;
}

static int keyfile_suite_init(void)
{
    keyfile_setup();
    snprintf(tdir, sizeof(tdir), "%s/devid-oom-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tdir) == NULL
           || devid_tpm2_keyfile_encode(NULL, &kf, &kf_der, &kf_der_len) != 1;
}

static int keyfile_suite_clean(void)
{
    OPENSSL_free(kf_der);
    return rmdir(tdir) != 0;
}

static void test_keyfile_encode_oom(void)
{
    oom_sweep("devid_tpm2_keyfile_encode", step_keyfile_encode);
}

static void test_keyfile_decode_oom(void)
{
    oom_sweep("devid_tpm2_keyfile_decode", step_keyfile_decode);
}

static void test_keyfile_write_read_oom(void)
{
    oom_sweep("devid_tpm2_keyfile_write_pem and _read",
              step_keyfile_write_read);
}
#endif

int main(void)
{
    CU_pSuite s;
    unsigned int failures;

    /* before anything allocates through OpenSSL, or it is refused */
    if (!CRYPTO_set_mem_functions(oom_malloc, oom_realloc, oom_free)) {
        fprintf(stderr, "CRYPTO_set_mem_functions refused: OpenSSL "
                "allocated before main\n");
        return 1;
    }
    /* the error queue and devid's library code exist before any sweep */
    DEVID_RAISE(NULL, DEVID_R_BAD_URI, "warm-up");
    ERR_clear_error();
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("oom-p11-uri", NULL, NULL);
    CU_add_test(s, "test_p11_uri_parse_oom", test_p11_uri_parse_oom);
#ifdef DEVID_HAVE_TPM2
    s = CU_add_suite("oom-tpm2-keyfile", keyfile_suite_init,
                     keyfile_suite_clean);
    CU_add_test(s, "test_keyfile_encode_oom", test_keyfile_encode_oom);
    CU_add_test(s, "test_keyfile_decode_oom", test_keyfile_decode_oom);
    CU_add_test(s, "test_keyfile_write_read_oom",
                test_keyfile_write_read_oom);
#endif
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures()
               + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    OPENSSL_cleanup();
    return failures == 0 ? 0 : 1;
}
