/* SPDX-License-Identifier: Apache-2.0 */
/* Out of memory with TPM keys (issue 14, item 10), as test-oom-keys.c does
 * for PKCS#11 keys: with the devid provider built in, opening a TSS2 key
 * file (OSSL_STORE: the file loader and devid's decoder), signing with it
 * (EVP_PKEY_sign) and making a CSR with it (X509_REQ_sign) run with their
 * n-th allocation failing, for every n (oom-util.c). Each call must
 * succeed or fail with an error queued, DEVID_R_MALLOC when the allocation
 * was devid's own, never crash or leak (ASan builds check), and leave no
 * transient object in the TPM: this program starts its own swtpm, which
 * has no resource manager and three object slots, and counts them after
 * each sweep. The keys are made by tpm2-openssl under a persistent SRK
 * (0x81000001), an EC P-256 and an RSA-2048 key. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "common/err.h"
#include "provider/prov.h"
#include "provider/provider.h"
#include "provider/ref-file.h"
#include "tests/unit/oom-util.h"

#define OOM_MAX_STEPS 20000
#define OOM_LIB_RUNS 1000

static char tdir[256];
static char tcti[128];
static char ec_file[300], rsa_file[300];
static pid_t swtpm_pid = -1;
static OSSL_PROVIDER *ossl_default, *ossl_devid;
static EVP_PKEY *ec_pkey, *rsa_pkey; /* opened once, plainly */

/* ---- swtpm (as test-tpm2-backend.c starts it) -------------------------- */

/* A port p with p and p+1 free on 127.0.0.1 right now. */
static int free_port_pair(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int s, s2, port = -1, tries;

    for (tries = 0; tries < 20 && port < 0; tries++) {
        s = socket(AF_INET, SOCK_STREAM, 0);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(s, (struct sockaddr *)&a, sizeof(a)) == 0
            && getsockname(s, (struct sockaddr *)&a, &len) == 0) {
            port = ntohs(a.sin_port);
            s2 = socket(AF_INET, SOCK_STREAM, 0);
            a.sin_port = htons((uint16_t)(port + 1));
            if (port > 65000
                || bind(s2, (struct sockaddr *)&a, sizeof(a)) != 0) {
                port = -1;
            }
            close(s2);
        }
        close(s);
    }
    return port;
}

static int port_answers(int port)
{
    struct sockaddr_in a;
    int s = socket(AF_INET, SOCK_STREAM, 0), ok;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

static int swtpm_start(void)
{
    char state[300], server[80], ctrl[80];
    int port = free_port_pair(), i;

    if (port < 0) {
        return 0;
    }
    snprintf(state, sizeof(state), "dir=%s", tdir);
    snprintf(server, sizeof(server), "type=tcp,bindaddr=127.0.0.1,port=%d",
             port);
    snprintf(ctrl, sizeof(ctrl), "type=tcp,bindaddr=127.0.0.1,port=%d",
             port + 1);
    swtpm_pid = fork();
    if (swtpm_pid == 0) {
        execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state,
               "--server", server, "--ctrl", ctrl, "--flags",
               "not-need-init,startup-clear", (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 100 && !port_answers(port + 1); i++) {
        usleep(50000);
    }
    snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%d", port);
    setenv("TPM2TOOLS_TCTI", tcti, 1);
    setenv("TPM2OPENSSL_TCTI", tcti, 1);
    return i < 100;
}

static void swtpm_stop(void)
{
    if (swtpm_pid > 0) {
        kill(swtpm_pid, SIGTERM);
        waitpid(swtpm_pid, NULL, 0);
        swtpm_pid = -1;
    }
}

/* Runs a shell command in the test directory (output to cmd.log): 1 when
 * it exits 0. */
static int run(const char *cmd)
{
    char full[2048];

    /* tpm2-openssl lives in the system modules directory, not ours */
    snprintf(full, sizeof(full),
             "cd '%s' && OPENSSL_MODULES=$(pkg-config --variable=modulesdir "
             "libcrypto) && export OPENSSL_MODULES && { %s ; } "
             ">>'%s/cmd.log' 2>&1",
             tdir, cmd, tdir);
    return system(full) == 0;
}

/* The transient objects loaded in the TPM now (tpm2_getcap), or -1. */
static int transient_count(void)
{
    char cmd[512], line[256];
    FILE *p;
    int n = 0;

    snprintf(cmd, sizeof(cmd), "tpm2_getcap handles-transient 2>/dev/null");
    p = popen(cmd, "r");
    if (p == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), p) != NULL) {
        n += strstr(line, "0x80") != NULL;
    }
    return pclose(p) == 0 ? n : -1;
}

/* ---- the suite ---------------------------------------------------------- */

static int suite_init(void)
{
    struct devid_prov *prov;

    snprintf(tdir, sizeof(tdir), "%s/devid-oomt-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tdir) == NULL || !swtpm_start()) {
        fprintf(stderr, "cannot start swtpm\n");
        swtpm_stop();
        return 1;
    }
    /* the SRK persistent at 0x81000001 (no resource manager: flush the
     * transient copies tpm2-tools leave) and two keys under it */
    if (!run("F='tpm2_flushcontext -t'"
             " && tpm2_createprimary -C o -G ecc -c srk.ctx"
             " && tpm2_evictcontrol -C o -c srk.ctx 0x81000001 && $F"
             " && openssl genpkey -provider tpm2 -provider default"
             " -algorithm EC -pkeyopt group:P-256"
             " -pkeyopt parent:0x81000001 -out ec.tss && $F"
             " && openssl genpkey -provider tpm2 -provider default"
             " -algorithm RSA -pkeyopt bits:2048"
             " -pkeyopt parent:0x81000001 -out rsa.tss && $F")) {
        fprintf(stderr, "tpm2-tools/tpm2-openssl failed: see %s/cmd.log\n",
                tdir);
        swtpm_stop();
        return 1;
    }
    snprintf(ec_file, sizeof(ec_file), "%s/ec.tss", tdir);
    snprintf(rsa_file, sizeof(rsa_file), "%s/rsa.tss", tdir);
    ossl_default = OSSL_PROVIDER_load(NULL, "default");
    if (ossl_default == NULL
        || !OSSL_PROVIDER_add_builtin(NULL, "devid", devid_provider_init)) {
        return 1;
    }
    ossl_devid = OSSL_PROVIDER_load(NULL, "devid");
    prov = ossl_devid != NULL ? OSSL_PROVIDER_get0_provider_ctx(ossl_devid)
                              : NULL;
    if (prov == NULL || !devid_config_set(prov, "tcti", tcti)) {
        return 1;
    }
    ec_pkey = toom_load_key(ec_file);
    rsa_pkey = toom_load_key(rsa_file);
    return ec_pkey == NULL || rsa_pkey == NULL;
}

static int suite_clean(void)
{
    char cmd[400];

    EVP_PKEY_free(ec_pkey);
    EVP_PKEY_free(rsa_pkey);
    OSSL_PROVIDER_unload(ossl_devid);
    OSSL_PROVIDER_unload(ossl_default);
    swtpm_stop();
    if (getenv("DEVID_KEEP_TESTDIR") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
        if (system(cmd) != 0) {
            fprintf(stderr, "cannot remove %s\n", tdir);
        }
    }
    return 0;
}

/* ---- the steps ---------------------------------------------------------- */

static int step_load(void *arg)
{
    EVP_PKEY *pkey;

    /* the decoders' short-lived cache would answer instead of the TPM */
    devid_ref_cache_free(OSSL_PROVIDER_get0_provider_ctx(ossl_devid));
    pkey = toom_load_key(arg);
    if (pkey == NULL) {
        return 0;
    }
    EVP_PKEY_free(pkey);
    return 1;
}

static int step_sign(void *arg)
{
    return toom_sign_digest(*(EVP_PKEY **)arg);
}

static int step_csr(void *arg)
{
    return toom_make_csr(*(EVP_PKEY **)arg);
}

/* The sweeps of step with arg: each of devid's own allocations failing in
 * turn, then every stride-th of all, with a stride that makes about
 * OOM_LIB_RUNS runs (a TPM call takes milliseconds and the libraries make
 * thousands of allocations; DEVID_OOM_STRIDE=1 fails every one). No
 * transient object may be left in the TPM. */
static void oom_sweep(const char *what, toom_step_fn step, void *arg)
{
    const char *s = getenv("DEVID_OOM_STRIDE");
    long total = toom_count(step, arg);
    long stride = total / OOM_LIB_RUNS + 1;
    int before = transient_count(), after; /* after a plain run, as after
                                            * the sweep */
    char title[160];

    if (s != NULL && atol(s) > 0) {
        stride = atol(s);
    }
    CU_ASSERT_FATAL(before >= 0);
    snprintf(title, sizeof(title), "%s, devid's own allocations", what);
    CU_ASSERT(toom_sweep(title, step, toom_judge_queue, arg, 0, OOM_MAX_STEPS)
              > 0);
    snprintf(title, sizeof(title), "%s, all %ld allocations", what, total);
    toom_sweep(title, step, toom_judge_queue, arg, stride, OOM_MAX_STEPS);
    after = transient_count();
    if (after > before) {
        fprintf(stderr,
                "\n  %s: %d transient objects in the TPM, %d "
                "before\n",
                what, after, before);
    }
    /* fewer is fine: the provider drops what it keeps loaded for a while */
    CU_ASSERT(after >= 0 && after <= before);
}

static void test_load_oom(void)
{
    oom_sweep("open a TPM EC key file (OSSL_STORE)", step_load, ec_file);
    oom_sweep("open a TPM RSA key file (OSSL_STORE)", step_load, rsa_file);
}

static void test_sign_oom(void)
{
    oom_sweep("EVP_PKEY_sign, TPM EC", step_sign, &ec_pkey);
    oom_sweep("EVP_PKEY_sign, TPM RSA", step_sign, &rsa_pkey);
}

static void test_csr_oom(void)
{
    oom_sweep("X509_REQ_sign, TPM EC", step_csr, &ec_pkey);
    oom_sweep("X509_REQ_sign, TPM RSA", step_csr, &rsa_pkey);
}

int main(void)
{
    CU_pSuite s;
    unsigned int failures;

    if (!toom_setup()) {
        return 1;
    }
    /* tss2's own warnings (the TPM's object slots are full, and devid
     * makes room) would drown the test's */
    setenv("TSS2_LOG", "all+none", 0);
    /* no system openssl.cnf: it might load another copy of devid */
    if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL)) {
        return 1;
    }
    DEVID_RAISE(NULL, DEVID_R_BAD_URI, "warm-up");
    ERR_clear_error();
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("oom-tpm2-keys", suite_init, suite_clean);
    CU_add_test(s, "test_load_oom", test_load_oom);
    CU_add_test(s, "test_sign_oom", test_sign_oom);
    CU_add_test(s, "test_csr_oom", test_csr_oom);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    OPENSSL_cleanup();
    return failures == 0 ? 0 : 1;
}
