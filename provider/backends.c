/* SPDX-License-Identifier: Apache-2.0 */
/* Finding a backend (by key name, reference-file label or setting name) and
 * keeping its per-instance settings and state: what every caller above the
 * backends uses instead of naming one. The list itself is registry.c. */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "provider/backend.h"
#include "provider/implementations.h"
#include "provider/prov.h"
#include "provider/provider.h"

/* registry.c */
extern const struct devid_backend_ops *const devid_registry[];

size_t devid_backend_count(void)
{
    size_t n = 0;

    while (devid_registry[n] != NULL) {
        n++;
    }
    return n;
}

const struct devid_backend_ops *devid_backend_at(size_t i)
{
    return i < devid_backend_count() ? devid_registry[i] : NULL;
}

const struct devid_backend_ops *devid_backend_for_name(const char *name)
{
    size_t i;

    if (name == NULL) {
        return NULL;
    }
    for (i = 0; devid_registry[i] != NULL; i++) {
        if (devid_registry[i]->handles != NULL
            && devid_registry[i]->handles(name)) {
            return devid_registry[i];
        }
    }
    return NULL;
}

static int devid_str_in(const char *const *list, const char *s)
{
    for (; list != NULL && *list != NULL; list++) {
        if (strcmp(*list, s) == 0) {
            return 1;
        }
    }
    return 0;
}

const struct devid_backend_ops *devid_backend_for_ref_label(const char *label)
{
    size_t i;

    if (label == NULL) {
        return NULL;
    }
    for (i = 0; devid_registry[i] != NULL; i++) {
        if (devid_str_in(devid_registry[i]->ref_labels, label)) {
            return devid_registry[i];
        }
    }
    return NULL;
}

static const struct devid_backend_ops *
devid_backend_for_setting(const char *name, size_t *slot)
{
    const struct devid_backend_setting *s;
    size_t i;

    for (i = 0; devid_registry[i] != NULL; i++) {
        for (s = devid_registry[i]->settings; s != NULL && s->name != NULL;
             s++) {
            if (strcmp(s->name, name) == 0) {
                *slot = i;
                return devid_registry[i];
            }
        }
    }
    return NULL;
}

/* The slot of ops in prov: its index in the registry. At most a handful of
 * pointer comparisons, so the signing path can afford it. */
static struct devid_backend_slot *
devid_backend_slot(const struct devid_prov *prov,
                   const struct devid_backend_ops *ops)
{
    size_t i;

    for (i = 0; devid_registry[i] != NULL && i < DEVID_BACKEND_MAX; i++) {
        if (devid_registry[i] == ops) {
            return (struct devid_backend_slot *)&prov->be[i];
        }
    }
    return NULL;
}

/* Fork detection without a system call on the signing path: every fork
 * child bumps devid_fork_gen (a pthread_atfork child handler, which glibc
 * drops when this module is unloaded), and a slot whose fork_gen is the
 * current one was checked against getpid() in this process. Until the
 * handler is in place (or when it could not be), getpid() decides. */
static unsigned long devid_fork_gen;
static int devid_fork_watched;
static pthread_once_t devid_fork_once = PTHREAD_ONCE_INIT;

static void devid_fork_child(void)
{
    __atomic_add_fetch(&devid_fork_gen, 1, __ATOMIC_RELEASE);
}

static void devid_fork_watch(void)
{
    __atomic_store_n(&devid_fork_watched,
                     pthread_atfork(NULL, NULL, devid_fork_child) == 0,
                     __ATOMIC_RELEASE);
}

const void *devid_backend_config(const struct devid_prov *prov,
                                 const struct devid_backend_ops *ops)
{
    const struct devid_backend_slot *slot = devid_backend_slot(prov, ops);

    return slot != NULL ? slot->cfg : NULL;
}

void *devid_backend_state_peek(const struct devid_prov *prov,
                               const struct devid_backend_ops *ops)
{
    struct devid_backend_slot *slot = devid_backend_slot(prov, ops);

    return slot != NULL ? __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE)
                        : NULL;
}

void *devid_backend_state(struct devid_prov *prov,
                          const struct devid_backend_ops *ops)
{
    struct devid_backend_slot *slot = devid_backend_slot(prov, ops);
    unsigned long forks;
    void *state;
    pid_t pid;

    if (slot == NULL) {
        DEVID_RAISE(prov, DEVID_R_INTERNAL, "%s: not in the registry",
                    ops->name);
        return NULL;
    }
    /* the signing path: no lock and no system call once the state exists
     * and no fork happened since it was checked */
    state = __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE);
    forks = __atomic_load_n(&devid_fork_gen, __ATOMIC_ACQUIRE);
    if (state != NULL && __atomic_load_n(&devid_fork_watched, __ATOMIC_ACQUIRE)
        && __atomic_load_n(&slot->fork_gen, __ATOMIC_ACQUIRE) == forks) {
        return state;
    }
    pthread_once(&devid_fork_once, devid_fork_watch);
    forks = __atomic_load_n(&devid_fork_gen, __ATOMIC_ACQUIRE);
    pid = getpid();
    if (state != NULL && __atomic_load_n(&slot->pid, __ATOMIC_ACQUIRE) == pid) {
        __atomic_store_n(&slot->fork_gen, forks, __ATOMIC_RELEASE);
        return state;
    }
    if (!CRYPTO_THREAD_write_lock(prov->lock)) {
        DEVID_RAISE(prov, DEVID_R_INTERNAL, "%s: instance lock", ops->name);
        return NULL;
    }
    state = slot->state;
    if (state == NULL) {
        if (ops->first_use != NULL && ops->first_use(prov, &state)
            && state != NULL) {
            slot->pid = pid;
            __atomic_store_n(&slot->fork_gen, forks, __ATOMIC_RELEASE);
            __atomic_store_n(&slot->state, state, __ATOMIC_RELEASE);
        }
    } else if (slot->pid != pid) {
        /* first use in a fork child: other threads of the child wait on
         * the instance lock until the parent's leftovers are dropped */
        DEVID_DEBUG("registry", "%s: first use after fork (pid %ld)", ops->name,
                    (long)pid);
        if (ops->after_fork != NULL) {
            ops->after_fork(prov, state);
        }
        __atomic_store_n(&slot->pid, pid, __ATOMIC_RELEASE);
        __atomic_store_n(&slot->fork_gen, forks, __ATOMIC_RELEASE);
    }
    CRYPTO_THREAD_unlock(prov->lock);
    return state;
}

int devid_config_set(struct devid_prov *prov, const char *name,
                     const char *value)
{
    const struct devid_backend_ops *ops;
    size_t i = 0;

    ops = devid_backend_for_setting(name, &i);
    if (ops == NULL || ops->config_set == NULL) {
        DEVID_RAISE(prov, DEVID_R_BAD_CONFIG, "unknown setting '%s'", name);
        return 0;
    }
    return ops->config_set(prov, &prov->be[i].cfg, name, value);
}

int devid_prov_start_early(struct devid_prov *prov)
{
    size_t i;

    for (i = 0; devid_registry[i] != NULL; i++) {
        if (devid_registry[i]->start_early != NULL
            && !devid_registry[i]->start_early(prov)) {
            return 0;
        }
    }
    return 1;
}

void devid_backends_teardown(struct devid_prov *prov)
{
    size_t i;

    for (i = 0; devid_registry[i] != NULL && i < DEVID_BACKEND_MAX; i++) {
        const struct devid_backend_ops *ops = devid_registry[i];
        struct devid_backend_slot *slot = &prov->be[i];

        if (slot->state != NULL && ops->teardown != NULL) {
            ops->teardown(prov, slot->state);
        }
        slot->state = NULL;
        if (slot->cfg != NULL && ops->config_free != NULL) {
            ops->config_free(slot->cfg);
        }
        slot->cfg = NULL;
    }
}

/* ---- tables the provider builds from the registry ------------------------ */

#define DEVID_MAX_SCHEMES (DEVID_BACKEND_MAX * 4)
#define DEVID_MAX_SETTINGS (DEVID_BACKEND_MAX * 16)

static OSSL_ALGORITHM devid_store_table[DEVID_MAX_SCHEMES + 1];
static const char *devid_setting_table[DEVID_MAX_SETTINGS + 1];
static CRYPTO_ONCE devid_tables_once = CRYPTO_ONCE_STATIC_INIT;

static void devid_tables_build(void)
{
    const struct devid_backend_setting *s;
    const char *const *sch;
    size_t i, nst = 0, nset = 0;

    for (i = 0; devid_registry[i] != NULL; i++) {
        const struct devid_backend_ops *ops = devid_registry[i];

        for (sch = ops->schemes;
             sch != NULL && *sch != NULL && nst < DEVID_MAX_SCHEMES; sch++) {
            devid_store_table[nst].algorithm_names = *sch;
            devid_store_table[nst].property_definition = DEVID_PROPS;
            devid_store_table[nst].implementation = devid_store_functions;
            devid_store_table[nst].algorithm_description = ops->description;
            nst++;
        }
        for (s = ops->settings;
             s != NULL && s->name != NULL && nset < DEVID_MAX_SETTINGS; s++) {
            devid_setting_table[nset++] = s->name;
        }
    }
}

const OSSL_ALGORITHM *devid_store_algorithms(void)
{
    CRYPTO_THREAD_run_once(&devid_tables_once, devid_tables_build);
    return devid_store_table;
}

const char *const *devid_setting_names(void)
{
    CRYPTO_THREAD_run_once(&devid_tables_once, devid_tables_build);
    return devid_setting_table;
}

/* ---- opening a key by name ----------------------------------------------- */

struct devid_first_key {
    struct devid_key *key;
};

static int devid_take_first_key(const struct devid_object *obj, void *arg)
{
    struct devid_first_key *first = arg;

    /* search() reports private keys before public ones */
    if ((obj->cls == DEVID_OBJ_PRIVKEY || obj->cls == DEVID_OBJ_PUBKEY)
        && first->key == NULL) {
        first->key = devid_key_up_ref(obj->key);
        return 0;
    }
    return 1;
}

/* The first key of the classes in want that the backend of name finds. */
static int devid_key_open_first(struct devid_prov *prov, const char *name,
                                unsigned int want,
                                const struct devid_pin_cb *pin,
                                struct devid_key **out)
{
    const struct devid_backend_ops *ops = devid_backend_for_name(name);
    struct devid_first_key first = { NULL };
    char *shown = NULL;

    *out = NULL;
    if (ops == NULL || ops->search == NULL) {
        shown = devid_name_redact(name);
        DEVID_RAISE(prov, DEVID_R_NO_BACKEND, "%s",
                    shown != NULL ? shown : "reference");
        OPENSSL_free(shown);
        return 0;
    }
    if (!ops->search(prov, name, want, pin, devid_take_first_key, &first)) {
        return 0;
    }
    if (first.key == NULL) {
        shown = devid_name_redact(name);
        DEVID_RAISE(prov, DEVID_R_NO_OBJECT, "no %s matches %s",
                    want == DEVID_OBJ_PRIVKEY ? "private key" : "key",
                    shown != NULL ? shown : "the reference");
        OPENSSL_free(shown);
        return 0;
    }
    *out = first.key;
    return 1;
}

struct devid_first_cert {
    unsigned char *der;
    size_t len;
    int oom;
};

static int devid_take_first_cert(const struct devid_object *obj, void *arg)
{
    struct devid_first_cert *first = arg;

    if (obj->cls != DEVID_OBJ_CERT || first->der != NULL) {
        return 1;
    }
    first->der = OPENSSL_memdup(obj->der, obj->der_len);
    first->len = obj->der_len;
    first->oom = first->der == NULL;
    return 0;
}

int devid_cert_open_name(struct devid_prov *prov, const char *name,
                         const struct devid_pin_cb *pin, unsigned char **der,
                         size_t *len)
{
    const struct devid_backend_ops *ops = devid_backend_for_name(name);
    struct devid_first_cert first = { NULL, 0, 0 };
    char *shown = NULL;

    *der = NULL;
    *len = 0;
    if (ops == NULL || ops->search == NULL) {
        shown = devid_name_redact(name);
        DEVID_RAISE(prov, DEVID_R_NO_BACKEND, "%s",
                    shown != NULL ? shown : "reference");
        OPENSSL_free(shown);
        return 0;
    }
    if (!ops->search(prov, name, DEVID_OBJ_CERT, pin, devid_take_first_cert,
                     &first)) {
        return 0;
    }
    if (first.oom) {
        DEVID_RAISE(prov, DEVID_R_MALLOC, "certificate");
        return 0;
    }
    if (first.der == NULL) {
        shown = devid_name_redact(name);
        DEVID_RAISE(prov, DEVID_R_NO_OBJECT, "no certificate matches %s",
                    shown != NULL ? shown : "the reference");
        OPENSSL_free(shown);
        return 0;
    }
    *der = first.der;
    *len = first.len;
    return 1;
}

int devid_key_open_name(struct devid_prov *prov, const char *name,
                        const struct devid_pin_cb *pin, struct devid_key **out)
{
    return devid_key_open_first(prov, name, DEVID_OBJ_PRIVKEY, pin, out);
}

int devid_key_open_name_any(struct devid_prov *prov, const char *name,
                            const struct devid_pin_cb *pin,
                            struct devid_key **out)
{
    return devid_key_open_first(prov, name,
                                DEVID_OBJ_PRIVKEY | DEVID_OBJ_PUBKEY, pin, out);
}
