/* SPDX-License-Identifier: Apache-2.0 */
/* The provider's openssl.cnf settings, the way OpenSSL hands them over: the
 * module built here is configured (not activated) in a config file loaded
 * into a fresh library context, then loaded by name, which runs its init
 * with that section. A bad value must make the load fail with devid's
 * reason, naming the setting; a good one must load. (A module activated
 * from the file itself would hide the reason: OpenSSL 3.0 drops the errors
 * of a failed activation while it loads a config file.) */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include "common/err.h"

static char cnf[256];
static char module[1024];

static int suite_init(void)
{
    const char *dir = getenv("OPENSSL_MODULES");
    int fd;

    /* make check exports it: the directory of the module built here */
    if (dir == NULL) {
        fprintf(stderr, "OPENSSL_MODULES is not set\n");
        return 1;
    }
    snprintf(module, sizeof(module), "%s/devid.so", dir);
    if (access(module, R_OK) != 0) {
        fprintf(stderr, "no provider module at %s\n", module);
        return 1;
    }
    snprintf(cnf, sizeof(cnf), "%s/devid-prov-config-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    fd = mkstemp(cnf);
    if (fd < 0) {
        return 1;
    }
    close(fd);
    return 0;
}

static int suite_clean(void)
{
    return unlink(cnf) != 0;
}

/* Loads devid into a fresh library context with "name = value" in its
 * section. Returns 1 when it loaded, else 0 with the errors queued. */
static int load_with(const char *name, const char *value)
{
    OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
    OSSL_PROVIDER *prov = NULL;
    FILE *f = fopen(cnf, "w");
    int loaded;

    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "openssl_conf = openssl_init\n"
               "[openssl_init]\nproviders = provider_sect\n"
               "[provider_sect]\ndevid = devid_sect\n"
               "[devid_sect]\nmodule = %s\n%s = %s\n",
            module, name, value);
    fclose(f);
    CU_ASSERT_EQUAL(OSSL_LIB_CTX_load_config(ctx, cnf), 1);
    prov = OSSL_PROVIDER_load(ctx, "devid");
    loaded = prov != NULL;
    OSSL_PROVIDER_unload(prov);
    OSSL_LIB_CTX_free(ctx);
    return loaded;
}

/* Whether the queue holds an error with reason and data mentioning both
 * words; empties the queue. The library code is the one the core gave the
 * module, not ours, so the data string tells devid's error apart. */
static int queued(int reason, const char *word1, const char *word2)
{
    const char *data = NULL;
    unsigned long e;
    int flags = 0, found = 0;

    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        if (ERR_GET_REASON(e) == reason && data != NULL
            && strstr(data, word1) != NULL && strstr(data, word2) != NULL) {
            found = 1;
        }
    }
    return found;
}

static const struct {
    const char *name;
    const char *value;
    int reason;                 /* 0: the module loads */
} settings[] = {
    { "pkcs11-module-load-behavior", "sometimes", DEVID_R_BAD_CONFIG },
    { "pkcs11-module-load-behavior", "", DEVID_R_BAD_CONFIG },
    { "pkcs11-module-cache-pins", "always", DEVID_R_BAD_CONFIG },
    { "pkcs11-module-token-pin", "file:/nonexistent/devid-pin",
      DEVID_R_PIN_SOURCE },
    { "pkcs11-module-load-behavior", "lazy", 0 },
    { "pkcs11-module-cache-pins", "cache", 0 },
    { "pkcs11-module-cache-pins", "none", 0 },
};

static void test_config_settings(void)
{
    size_t i;
    int loaded;

    for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        ERR_clear_error();
        loaded = load_with(settings[i].name, settings[i].value);
        if (settings[i].reason == 0) {
            if (!loaded) {
                ERR_print_errors_fp(stderr);
            }
            CU_ASSERT_TRUE(loaded);
            continue;
        }
        CU_ASSERT_FALSE(loaded);
        if (!queued(settings[i].reason, settings[i].name,
                    settings[i].reason == DEVID_R_BAD_CONFIG
                        ? settings[i].value
                        : "/nonexistent/devid-pin")) {
            fprintf(stderr, "\n  %s = '%s': no reason %d naming it\n",
                    settings[i].name, settings[i].value,
                    settings[i].reason);
            CU_FAIL("devid's reason missing");
        }
    }
    ERR_clear_error();
}

int main(void)
{
    CU_pSuite s;
    unsigned int failures;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("prov-config", suite_init, suite_clean);
    CU_add_test(s, "test_config_settings", test_config_settings);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures()
               + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failures == 0 ? 0 : 1;
}
