/* SPDX-License-Identifier: Apache-2.0 */
/* Out of memory on the install path (issue 14, item 10): the CLI's
 * `devid install --to token --trust-bundle` (devid_cmd_install, linked here
 * from tools/ with everything but main) runs with its n-th allocation
 * failing, for n = 0, 1, 2, ...: reading the chain, opening the key on a
 * SoftHSM2 token, the leaf and chain checks, the certificates stored in the
 * token, the trust bundle synced into trust-dir, the new identity's files
 * written atomically, and the switch of "current". OpenSSL's allocations
 * fail through CRYPTO_set_mem_functions (oom-util.c); the plain malloc,
 * calloc, realloc and strdup of the tools/ code through the linker's
 * --wrap (below). Each run must either install (a new identity, current
 * switched to it) or fail with an error reported and nothing half-written:
 * current still names the identity it named, no new identity directory,
 * no temporary file in the state or trust directory, trust-dir unchanged.
 * It must never crash or leak (ASan builds check the leaks).
 *
 * The token's certificate objects are not compared: storing the same
 * certificate again adds nothing, so a run that failed after the token
 * took the chain leaves what the next successful run stores. */
#include "config.h"

#include <dirent.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tests/unit/oom-util.h"
#include "tests/unit/test-p11-util.h"
#include "tools/tool.h"

/* Runs of one sweep at most: the install path makes a few thousand
 * allocations. */
#define OOM_MAX_RUNS 20000
#define OOM_LIB_RUNS 1000
#define TOKEN "devid-oomi"
#define REGID "oom-device"
#define KEY_URI "pkcs11:token=" TOKEN ";object=dev;type=private"

/* ---- the tools' own allocations --------------------------------------- */

/* The linker sends the test's and tools/ objects' calls of these here
 * (-Wl,--wrap=..., tests/unit/tools.inc); libraries keep the real ones. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

/* Whether this call of the tools' code is the one to fail (not when it is
 * OpenSSL's allocator, oom-util.c, calling malloc). */
static int tools_fail(void)
{
    return toom_inside == 0 && toom_fail_now(TOOM_TOOLS, 0);
}

void *__wrap_malloc(size_t n)
{
    return tools_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return tools_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return tools_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return tools_fail() ? NULL : __real_strdup(s);
}

/* ---- the set-up --------------------------------------------------------- */

static struct devid_tool tool;
static char dir[256]; /* chain.pem, bundle.pem, pin, state/... */
static char state_dir[300], trust_dir[300], chain_file[300], bundle_file[300];

/* A certificate for pub signed by ca_key (self-signed when issuer is
 * NULL), valid from an hour ago for 30 days. */
static X509 *make_cert(EVP_PKEY *pub, const char *cn, X509 *issuer,
                       EVP_PKEY *ca_key, int ca)
{
    X509 *x = X509_new();
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    ok = x != NULL && X509_set_version(x, 2)
         && ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2)
         && X509_gmtime_adj(X509_getm_notBefore(x), -3600)
         && X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400)
         && X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
                                       MBSTRING_ASC, (const unsigned char *)cn,
                                       -1, -1, 0)
         && X509_set_issuer_name(x, issuer != NULL
                                        ? X509_get_subject_name(issuer)
                                        : X509_get_subject_name(x))
         && X509_set_pubkey(x, pub);
    if (ok && ca) {
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
                                  "critical,CA:TRUE");
        ok = ext != NULL && X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
                                  "critical,keyCertSign,cRLSign");
        ok = ok && ext != NULL && X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (!ok || X509_sign(x, ca_key, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int write_pem(const char *path, X509 *a, X509 *b)
{
    FILE *f = fopen(path, "w");
    int ok = f != NULL && PEM_write_X509(f, a)
             && (b == NULL || PEM_write_X509(f, b));

    return f != NULL && fclose(f) == 0 && ok;
}

static int suite_init(void)
{
    char pin[300], where[40];
    EVP_PKEY *ca_key = NULL, *dev = NULL;
    X509 *ca = NULL, *leaf = NULL;
    FILE *f;
    int ok;

    snprintf(dir, sizeof(dir), "%s/devid-oomi-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL || tp11_softhsm_setup() == NULL
        || !tp11_token_init(TOKEN)
        || !tp11_keygen(TOKEN, "EC:prime256v1", "01", "dev")) {
        return 1;
    }
    snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
    snprintf(trust_dir, sizeof(trust_dir), "%s/trust", dir);
    snprintf(chain_file, sizeof(chain_file), "%s/chain.pem", dir);
    snprintf(bundle_file, sizeof(bundle_file), "%s/bundle.pem", dir);
    snprintf(pin, sizeof(pin), "%s/pin", dir);
    f = fopen(pin, "w");
    if (f == NULL || fputs(TP11_PIN, f) < 0 || fclose(f) != 0
        || chmod(pin, 0600) != 0) {
        return 1;
    }
    snprintf(where, sizeof(where), "test-oom-install");
    memset(&tool, 0, sizeof(tool));
    tool.json = 1;
    tool.out = json_object_new_object();
    snprintf(pin, sizeof(pin), "file:%s/pin", dir);
    if (tool.out == NULL
        || !devid_settings_set(&tool, where, "pkcs11-module-path", TP11_SOFTHSM)
        || !devid_settings_set(&tool, where, "pin-source", pin)
        || !devid_settings_set(&tool, where, "registration-id", REGID)
        || !devid_settings_set(&tool, where, "trust-dir", trust_dir)
        || !devid_tool_crypto_init(&tool)) {
        return 1;
    }
    /* a CA and a leaf for the token's key, CN = the registration id */
    dev = devid_tool_load_key(&tool, KEY_URI);
    ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ca = ca_key != NULL ? make_cert(ca_key, "devid oom CA", NULL, ca_key, 1)
                        : NULL;
    leaf = ca != NULL && dev != NULL ? make_cert(dev, REGID, ca, ca_key, 0)
                                     : NULL;
    ok = leaf != NULL && write_pem(chain_file, leaf, ca)
         && write_pem(bundle_file, ca, NULL);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(dev);
    return !ok;
}

static int rm_cb(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int suite_clean(void)
{
    json_object_put(tool.out);
    devid_tool_crypto_done(&tool);
    devid_settings_clear(&tool.set);
    tp11_softhsm_cleanup();
    if (dir[0] != '\0' && getenv("DEVID_KEEP_TESTDIR") == NULL) {
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    }
    return 0;
}

/* ---- what a run leaves ---------------------------------------------- */

/* What the state and trust directories hold, as the judge compares it. */
struct seen {
    char current[128]; /* current's target ("" when none) */
    int identities;    /* entries in identities/ */
    int temps;         /* files named *.tmp.* or *.new anywhere */
    char trust[4096];  /* trust-dir's names, sorted, one a line */
};

static int temps_found;

static int temp_cb(const char *path, const struct stat *st, int flag,
                   struct FTW *ftw)
{
    const char *base = path + ftw->base;
    size_t n = strlen(base);

    (void)st;
    (void)flag;
    if (strstr(base, ".tmp.") != NULL
        || (n > 4 && strcmp(base + n - 4, ".new") == 0)) {
        fprintf(stderr, "\n  left behind: %s\n", path);
        temps_found++;
    }
    return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void look(struct seen *s)
{
    char path[400];
    struct dirent **names = NULL;
    size_t used;
    ssize_t n;
    int i, k;

    memset(s, 0, sizeof(*s));
    snprintf(path, sizeof(path), "%s/current", state_dir);
    n = readlink(path, s->current, sizeof(s->current) - 1);
    s->current[n > 0 ? n : 0] = '\0';
    snprintf(path, sizeof(path), "%s/identities", state_dir);
    k = scandir(path, &names, NULL, name_cmp);
    for (i = 0; i < k; i++) {
        s->identities += names[i]->d_name[0] != '.';
        free(names[i]);
    }
    free(names);
    names = NULL;
    k = scandir(trust_dir, &names, NULL, name_cmp);
    for (i = 0, used = 0; i < k; i++) {
        n = snprintf(s->trust + used, sizeof(s->trust) - used, "%s\n",
                     names[i]->d_name);
        if (n > 0 && (size_t)n < sizeof(s->trust) - used) {
            used += (size_t)n;
        }
        free(names[i]);
    }
    free(names);
    temps_found = 0;
    nftw(state_dir, temp_cb, 16, FTW_PHYS);
    nftw(trust_dir, temp_cb, 16, FTW_PHYS);
    s->temps = temps_found;
}

/* ---- the step and its judge -------------------------------------------- */

static struct seen before; /* what the directories held before the run */
static int last_rc;
static FILE *devnull;

/* One `devid install`, as the CLI runs it for these arguments. */
static int step_install(void *arg)
{
    const char *const args[] = { "install",     "--cert",         chain_file,
                                 "--key",       KEY_URI,          "--to",
                                 "token",       "--trust-bundle", bundle_file,
                                 "--state-dir", state_dir };
    static char buf[11][320]; /* getopt's argv is char *[] */
    char *argv[12];
    FILE *saved;
    int i;

    (void)arg;
    for (i = 0; i < 11; i++) {
        snprintf(buf[i], sizeof(buf[i]), "%s", args[i]);
        argv[i] = buf[i];
    }
    argv[11] = NULL;
    look(&before);
    json_object_put(tool.out);
    tool.out = json_object_new_object();
    optind = 0; /* glibc: getopt starts afresh */
    /* devid's own messages (thousands) would drown the test's: stdio's
     * stderr goes to /dev/null, fd 2 stays for the sanitizers' reports */
    saved = stderr;
    if (devnull != NULL && getenv("DEVID_OOM_TRACE") == NULL) {
        stderr = devnull;
    }
    last_rc = devid_cmd_install(&tool, 11, argv);
    stderr = saved;
    return last_rc == DEVID_EXIT_OK;
}

/* Whether identities/NAME/chain.pem (current names it) holds the whole
 * chain: the leaf and the CA. */
static int chain_whole(const char *current)
{
    char path[600], line[128];
    FILE *f;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s/chain.pem", state_dir, current);
    f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        n += strncmp(line, "-----BEGIN CERTIFICATE-----", 27) == 0;
    }
    if (f != NULL) {
        fclose(f);
    }
    if (n != 2) {
        fprintf(stderr, "\n  %s holds %d certificates, not 2\n", path, n);
    }
    return n == 2;
}

/* Whether the state file at path is the whole state of identities/name:
 * its identity, key, chain, key reference and notAfter. */
static int state_whole(const char *path, const char *current)
{
    json_object *st = json_object_from_file(path), *v;
    const char *name = strrchr(current, '/');
    int ok;

    ok = st != NULL && name != NULL
         && json_object_object_get_ex(st, "identity", &v)
         && strcmp(json_object_get_string(v), name + 1) == 0
         && json_object_object_get_ex(st, "key", &v)
         && strcmp(json_object_get_string(v), KEY_URI) == 0
         && json_object_object_get_ex(st, "cert_chain", &v)
         && json_object_object_get_ex(st, "key_ref", &v)
         && json_object_object_get_ex(st, "not_after", &v)
         && json_object_object_get_ex(st, "previous", &v);
    if (!ok) {
        fprintf(stderr, "\n  %s: not the whole state of %s\n", path, current);
    }
    json_object_put(st);
    return ok && chain_whole(current);
}

static int judge_install(int r, const char *file, int line, void *arg)
{
    struct seen after;
    json_object *err = NULL;
    char path[600];
    int ok = 1;

    (void)arg;
    look(&after);
    if (after.temps != 0) {
        ok = 0; /* named by temp_cb */
    }
    if (strcmp(after.trust, before.trust) != 0) {
        fprintf(stderr, "\n  trust-dir changed:\n%s-- to --\n%s", before.trust,
                after.trust);
        ok = 0;
    }
    if (r == 1) {
        snprintf(path, sizeof(path), "%s/%s/state.json", state_dir,
                 after.current);
        if (strcmp(after.current, before.current) == 0
            || after.identities != before.identities + 1
            || !state_whole(path, after.current)) {
            fprintf(stderr,
                    "\n  installed, but current is %s (was %s), "
                    "%d identities (were %d)\n",
                    after.current, before.current, after.identities,
                    before.identities);
            ok = 0;
        }
        ERR_clear_error();
        return ok;
    }
    if (!json_object_object_get_ex(tool.out, "error", &err)) {
        fprintf(stderr,
                "\n  install failed (exit %d) with no error "
                "reported\n",
                last_rc);
        ok = 0;
    }
    if (strcmp(after.current, before.current) != 0
        || after.identities != before.identities) {
        fprintf(stderr,
                "\n  failed, but current is %s (was %s), %d "
                "identities (were %d)\n",
                after.current, before.current, after.identities,
                before.identities);
        ok = 0;
    }
    if (ERR_peek_error() != 0) {
        fprintf(stderr, "\n  errors left in OpenSSL's queue\n");
        ok = 0;
    }
    if (!ok) {
        fprintf(stderr, "  (the failed allocation: %s:%d)\n",
                file != NULL ? file : "none", line);
    }
    ERR_clear_error();
    return ok;
}

/* Every allocation of devid's own (tools/, and the provider's under it)
 * fails in turn. */
static void test_install_oom_own(void)
{
    /* the first install makes an identity and fills trust-dir: the sweep
     * replaces that identity */
    CU_ASSERT_EQUAL_FATAL(step_install(NULL), 1);
    CU_ASSERT(toom_sweep("devid install --to token --trust-bundle, devid's "
                         "own allocations",
                         step_install, judge_install, NULL, 0, OOM_MAX_RUNS)
              > 0);
}

/* Allocations of the libraries under it (OpenSSL's decoders, the token's
 * module): a run makes tens of thousands, so every stride-th fails, with
 * a stride that makes about OOM_LIB_RUNS runs (DEVID_OOM_STRIDE=1: every
 * one, which takes hours). */
static void test_install_oom_libs(void)
{
    const char *s = getenv("DEVID_OOM_STRIDE");
    long total = toom_count(step_install, NULL);
    long stride = total / OOM_LIB_RUNS + 1;

    if (s != NULL && atol(s) > 0) {
        stride = atol(s);
    }
    printf("\n  one install makes %ld allocations\n", total);
    toom_sweep("devid install --to token --trust-bundle, all allocations",
               step_install, judge_install, NULL, stride, OOM_MAX_RUNS);
}

/* ---- reading the chain, every allocation ------------------------------ */

static int chain_len; /* certificates the last read returned, -1: NULL */

static int step_read_chain(void *arg)
{
    STACK_OF(X509) *chain;
    FILE *saved = stderr;

    (void)arg;
    if (devnull != NULL && getenv("DEVID_OOM_TRACE") == NULL) {
        stderr = devnull;
    }
    chain = devid_tool_read_chain(&tool, chain_file);
    stderr = saved;
    chain_len = chain != NULL ? sk_X509_num(chain) : -1;
    sk_X509_pop_free(chain, X509_free);
    return chain != NULL;
}

/* The chain file holds two certificates: a read gives both or fails. On
 * OpenSSL 3.0 a failed allocation inside PEM_read_bio_X509 can end the
 * read loop with nothing on the error queue, which once read as the end of
 * the file and installed a chain of one. */
static int judge_read_chain(int r, const char *file, int line, void *arg)
{
    (void)arg;
    if (!r || chain_len == 2) {
        return 1;
    }
    printf("\n  %d certificates read, not 2 (allocation %s:%d failed)\n",
           chain_len, file != NULL ? file : "none", line);
    return 0;
}

/* Each allocation of reading the chain (a few hundred) fails in turn. */
static void test_read_chain_oom(void)
{
    CU_ASSERT(toom_sweep("devid_tool_read_chain, all allocations",
                         step_read_chain, judge_read_chain, NULL, 1,
                         OOM_MAX_RUNS)
              > 0);
}

int main(void)
{
    CU_pSuite s;
    unsigned int failures;

    if (!toom_setup()) {
        return 1;
    }
    devnull = fopen("/dev/null", "we");
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("oom-install", suite_init, suite_clean);
    CU_add_test(s, "test_install_oom_own", test_install_oom_own);
    CU_add_test(s, "test_install_oom_libs", test_install_oom_libs);
    CU_add_test(s, "test_read_chain_oom", test_read_chain_oom);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    OPENSSL_cleanup();
    if (devnull != NULL) {
        fclose(devnull);
    }
    return failures == 0 ? 0 : 1;
}
