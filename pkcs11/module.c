/* SPDX-License-Identifier: Apache-2.0 */
/* The backend's per-instance state: PKCS#11 modules loaded through p11-kit,
 * the tokens found in their slots, fork detection and the exit handler. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <p11-kit/p11-kit.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "common/exit.h"
#include "common/log.h"
#include "pkcs11/p11.h"

/* Every live state, so the exit handler can finalize modules before their
 * own exit-time destructors run (SoftHSM tears itself down from a C++
 * static destructor and crashes if called afterwards). */
static pthread_mutex_t devid_p11_live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct devid_p11 *devid_p11_live;
static pthread_once_t devid_p11_atexit_once = PTHREAD_ONCE_INIT;

static void devid_p11_atexit(void *arg)
{
    struct devid_p11 *p11;

    struct devid_p11_sigpipe g;

    /* C_Finalize of a proxy whose server went away writes to its socket */
    devid_p11_sigpipe_block(&g);
    pthread_mutex_lock(&devid_p11_live_lock);
    for (p11 = devid_p11_live; p11 != NULL; p11 = p11->next_live) {
        devid_p11_shutdown(p11);
    }
    pthread_mutex_unlock(&devid_p11_live_lock);
    devid_p11_sigpipe_restore(&g, 1);
}

/* The handler belongs to devid.so (common/exit.h), so it runs at exit or
 * when devid.so is unloaded, whichever comes first. It must be
 * registered after the first module is loaded so that it runs before that
 * module's own exit-time destructors (handlers run in reverse order). */
static void devid_p11_atexit_register(void)
{
    if (!devid_atexit(devid_p11_atexit)) {
        DEVID_DEBUG("pkcs11", "%s",
                    "atexit failed: modules are not finalized at exit");
    }
}

/* A state joins the list when it is made, not when it loads a module: the
 * exit handler takes the list's lock and then each state's, so the list's
 * lock is never taken with a state's held (a thread loading a module while
 * another exits would deadlock). */
static void devid_p11_live_add(struct devid_p11 *p11)
{
    pthread_mutex_lock(&devid_p11_live_lock);
    p11->next_live = devid_p11_live;
    devid_p11_live = p11;
    pthread_mutex_unlock(&devid_p11_live_lock);
}

static void devid_p11_live_remove(struct devid_p11 *p11)
{
    struct devid_p11 **pp;

    pthread_mutex_lock(&devid_p11_live_lock);
    for (pp = &devid_p11_live; *pp != NULL; pp = &(*pp)->next_live) {
        if (*pp == p11) {
            *pp = p11->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&devid_p11_live_lock);
}

static void devid_p11_module_free(struct devid_p11_module *m, int call)
{
    struct devid_p11_sigpipe g;

    if (m == NULL) {
        return;
    }
    if (call && m->fn != NULL) {
        devid_p11_sigpipe_block(&g);
        if (m->initialized) {
            p11_kit_module_finalize(m->fn);
        }
        p11_kit_module_release(m->fn);
        devid_p11_sigpipe_restore(&g, 1);
    }
    free(m->name);
    OPENSSL_free(m->path);
    OPENSSL_free(m);
}

static void devid_p11_token_free(struct devid_p11_token *tok)
{
    if (tok == NULL) {
        return;
    }
    devid_p11_login_clear(tok);
    OPENSSL_free(tok->idle);
    pthread_cond_destroy(&tok->cond);
    pthread_mutex_destroy(&tok->lock);
    OPENSSL_clear_free(tok, sizeof(*tok));
}

void devid_p11_shutdown(struct devid_p11 *p11)
{
    size_t i;

    pthread_mutex_lock(&p11->lock);
    if (p11->dead || p11->pid != getpid()) {
        p11->dead = 1;
        goto end;
    }
    /* C_Finalize closes every session and logs out (PKCS #11 v2.40 §5.4);
     * nothing is called in the module after this */
    for (i = 0; i < p11->ntoks; i++) {
        devid_p11_session_forget(p11->toks[i]);
    }
    for (i = 0; i < p11->nmods; i++) {
        if (p11->mods[i]->initialized) {
            DEVID_DEBUG("pkcs11", "finalizing module %s", p11->mods[i]->path);
            p11_kit_module_finalize(p11->mods[i]->fn);
            p11->mods[i]->initialized = 0;
        }
    }
    p11->dead = 1;
end:
    pthread_mutex_unlock(&p11->lock);
}

void devid_p11_free(struct devid_p11 *p11)
{
    int same = 0;
    size_t i;

    if (p11 == NULL) {
        return;
    }
    devid_p11_live_remove(p11);
    same = p11->pid == getpid() && !p11->dead;
    /* no C_CloseSession/C_Logout: C_Finalize below closes every session
     * (PKCS #11 v2.40 §5.4), so teardown makes as few calls as it can */
    for (i = 0; i < p11->ntoks; i++) {
        devid_p11_token_free(p11->toks[i]);
    }
    for (i = 0; i < p11->nmods; i++) {
        /* after fork or exit the module is not ours to call any more */
        devid_p11_module_free(p11->mods[i], same);
    }
    OPENSSL_free(p11->toks);
    OPENSSL_free(p11->mods);
    pthread_mutex_destroy(&p11->lock);
    OPENSSL_clear_free(p11, sizeof(*p11));
}

/* After fork() the child owns a copy of the parent's state: sessions and
 * login belong to the parent (PKCS #11 v2.40 §6.7.7). Drop them without a
 * call and initialise every module again. Called with p11->lock held. */
static void devid_p11_after_fork(struct devid_p11 *p11)
{
    size_t i;
    CK_RV rv;

    DEVID_DEBUG("pkcs11", "fork detected (pid %ld): re-initialising",
                (long)getpid());
    for (i = 0; i < p11->ntoks; i++) {
        struct devid_p11_token *tok = p11->toks[i];

        /* the parent may have held these locks at fork time */
        pthread_mutex_init(&tok->lock, NULL);
        pthread_cond_init(&tok->cond, NULL);
        devid_p11_session_forget(tok);
    }
    for (i = 0; i < p11->nmods; i++) {
        struct devid_p11_module *m = p11->mods[i];

        /* p11-kit's managed modules know about the fork and want a new
         * C_Initialize; a module that still thinks it is initialised is
         * finalized first (its state is the child's copy) */
        rv = p11_kit_module_initialize(m->fn);
        if (CKR_CRYPTOKI_ALREADY_INITIALIZED == rv) {
            p11_kit_module_finalize(m->fn);
            rv = p11_kit_module_initialize(m->fn);
        }
        m->initialized = rv == CKR_OK;
        if (rv != CKR_OK) {
            DEVID_DEBUG("pkcs11", "re-initialising %s: %s", m->path,
                        devid_p11_rv_name(rv));
        }
    }
    p11->gen++;
    p11->dead = 0;
    __atomic_store_n(&p11->pid, getpid(), __ATOMIC_RELEASE);
}

struct devid_p11 *devid_p11_get(struct devid_prov *prov)
{
    return devid_backend_state(prov, &devid_pkcs11_backend);
}

int devid_p11_first_use(struct devid_prov *prov, void **state)
{
    struct devid_p11 *p11 = OPENSSL_zalloc(sizeof(*p11));

    if (p11 == NULL) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "pkcs11 state");
        return 0;
    }
    p11->prov = prov;
    p11->pid = getpid();
    p11->gen = 1;
    pthread_mutex_init(&p11->lock, NULL);
    devid_p11_live_add(p11);
    *state = p11;
    return 1;
}

/* The registry calls this with the instance lock held, which keeps other
 * threads of the child out; the parent's p11->lock may have been held at
 * fork time, so it starts afresh. */
void devid_p11_after_fork_hook(struct devid_prov *prov, void *state)
{
    struct devid_p11 *p11 = state;

    pthread_mutex_init(&p11->lock, NULL);
    pthread_mutex_lock(&p11->lock);
    devid_p11_after_fork(p11);
    pthread_mutex_unlock(&p11->lock);
}

void devid_p11_teardown(struct devid_prov *prov, void *state)
{
    devid_p11_free(state);
}

static int devid_p11_module_add(struct devid_p11 *p11, CK_FUNCTION_LIST *fn,
                                const char *path, int initialized)
{
    struct devid_p11_module **mods = NULL;
    struct devid_p11_module *m = OPENSSL_zalloc(sizeof(*m));

    if (m == NULL) {
        return 0;
    }
    m->fn = fn;
    m->initialized = initialized;
    m->path = OPENSSL_strdup(path);
    m->name = p11_kit_module_get_name(fn);
    mods = OPENSSL_realloc(p11->mods, (p11->nmods + 1) * sizeof(*mods));
    if (m->path == NULL || mods == NULL) {
        m->fn = NULL;
        devid_p11_module_free(m, 0);
        return 0;
    }
    if (fn->C_GetInfo(&m->info) != CKR_OK) {
        memset(&m->info, 0, sizeof(m->info));
    }
    p11->mods = mods;
    p11->mods[p11->nmods++] = m;
    pthread_once(&devid_p11_atexit_once, devid_p11_atexit_register);
    return 1;
}

static struct devid_p11_module *devid_p11_module_find(struct devid_p11 *p11,
                                                      const char *path)
{
    size_t i;

    for (i = 0; i < p11->nmods; i++) {
        if (strcmp(p11->mods[i]->path, path) == 0) {
            return p11->mods[i];
        }
    }
    return NULL;
}

static int devid_p11_module_load_path(struct devid_p11 *p11, const char *path)
{
    CK_FUNCTION_LIST *fn = NULL;
    CK_RV rv;

    if (devid_p11_module_find(p11, path) != NULL) {
        return 1;
    }
    DEVID_DEBUG("pkcs11", "loading module %s", path);
    /* modules that use OpenSSL themselves may leave errors behind */
    devid_err_mark(p11->prov);
    fn = p11_kit_module_load(path, 0);
    rv = fn != NULL ? p11_kit_module_initialize(fn) : CKR_GENERAL_ERROR;
    devid_err_pop_to_mark(p11->prov);
    if (fn == NULL) {
        DEVID_RAISE(p11->prov, DEVID_R_MODULE_LOAD, "%s: %s", path,
                    p11_kit_message() != NULL ? p11_kit_message() : "?");
        return 0;
    }
    if (rv != CKR_OK) {
        p11_kit_module_release(fn);
        DEVID_RAISE(p11->prov, DEVID_R_MODULE_LOAD,
                    "%s: C_Initialize: %s (0x%lx)", path,
                    devid_p11_rv_name(rv), (unsigned long)rv);
        return 0;
    }
    if (!devid_p11_module_add(p11, fn, path, 1)) {
        p11_kit_module_finalize(fn);
        p11_kit_module_release(fn);
        DEVID_RAISE(p11->prov, DEVID_R_MALLOC, "%s", path);
        return 0;
    }
    return 1;
}

/* All modules registered with p11-kit (pkcs11.conf(5)); one that fails to
 * initialise is skipped, as p11-kit does for non-critical modules. */
static int devid_p11_module_load_all(struct devid_p11 *p11)
{
    CK_FUNCTION_LIST **list = NULL;
    size_t i;
    int ret = 0;

    if (p11->all_loaded) {
        return 1;
    }
    DEVID_DEBUG("pkcs11", "loading module %s", "(all registered with p11-kit)");
    devid_err_mark(p11->prov);
    list = p11_kit_modules_load_and_initialize(0);
    devid_err_pop_to_mark(p11->prov);
    if (list == NULL) {
        DEVID_RAISE(p11->prov, DEVID_R_MODULE_LOAD, "p11-kit modules: %s",
                    p11_kit_message() != NULL ? p11_kit_message() : "?");
        goto end;
    }
    for (i = 0; list[i] != NULL; i++) {
        char *file = p11_kit_module_get_filename(list[i]);
        int ok = file != NULL && devid_p11_module_add(p11, list[i], file, 1);

        free(file);
        if (!ok) {
            p11_kit_module_finalize(list[i]);
            p11_kit_module_release(list[i]);
        }
    }
    p11->all_loaded = 1;
    ret = 1;
end:
    free(list);
    return ret;
}

/* RFC 7512 §2.3: module-name is the library name without path, "lib"
 * prefix or suffix; p11-kit's own module name is accepted too. */
static int devid_p11_module_name_is(const struct devid_p11_module *m,
                                    const char *want)
{
    const char *base = strrchr(m->path, '/');
    size_t len;

    if (m->name != NULL && strcmp(m->name, want) == 0) {
        return 1;
    }
    base = base == NULL ? m->path : base + 1;
    if (strncmp(base, "lib", 3) == 0 && strncmp(want, "lib", 3) != 0) {
        base += 3;
    }
    len = strcspn(base, ".");
    return strlen(want) == len && strncmp(base, want, len) == 0;
}

int devid_p11_module_load_for(struct devid_p11 *p11,
                              const struct devid_p11_uri *u)
{
    const char *path = u != NULL ? devid_p11_uri_module_path(u) : NULL;
    const char *name = u != NULL ? devid_p11_uri_module_name(u) : NULL;
    const char *configured = devid_p11_cfg_get(p11->prov)->module_path;

    if (path != NULL) {
        if (!devid_p11_module_load_path(p11, path)) {
            return 0;
        }
        devid_p11_module_find(p11, path)->named = 1;
        return 1;
    }
    if (name != NULL) {
        return devid_p11_module_load_all(p11);
    }
    if (configured != NULL) {
        return devid_p11_module_load_path(p11, configured);
    }
    return devid_p11_module_load_all(p11);
}

int devid_p11_module_wanted(const struct devid_p11 *p11,
                                   const struct devid_p11_module *m,
                                   const struct devid_p11_uri *u)
{
    const char *path = devid_p11_uri_module_path(u);
    const char *name = devid_p11_uri_module_name(u);
    const char *configured = devid_p11_cfg_get(p11->prov)->module_path;

    if (!m->initialized) {
        return 0;
    }
    if (path != NULL) {
        return strcmp(m->path, path) == 0;
    }
    if (name != NULL) {
        return devid_p11_module_name_is(m, name);
    }
    if (configured != NULL) {
        return strcmp(m->path, configured) == 0;
    }
    return 1;
}
