/* SPDX-License-Identifier: Apache-2.0 */
/* Tokens: which devid state directories the module shows, reading an
 * identity from one, opening its key through the backend registry, and
 * the login that hands the user PIN to the key as its auth value.
 *
 * What this file relies on in a state directory (written by tools/, see
 * docs/cli.md "Files in the state directory"):
 *   current            symlink to identities/<name> (switched by rename(2))
 *   <identity>/state.json  JSON object; string members "key" (the key's name
 *                      for devid_key_open_name), "registration_id",
 *                      "device_id"
 *   <identity>/chain.pem   the issued chain, leaf first */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "p11module/p11module.h"

#define DEVID_P11M_DEFAULT_CONF "/etc/devid/devid.conf"
#define DEVID_P11M_DEFAULT_STATE "/var/lib/devid"
#define DEVID_P11M_RESERVED_PREFIX "devid-config="

/* ---- the list of identities ----------------------------------------------- */

static char *devid_p11m_strdup_trim(const char *s, size_t n)
{
    while (n > 0
           && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'
               || s[n - 1] == '\n')) {
        n--;
    }
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    return OPENSSL_strndup(s, n);
}

/* A devid config file (docs/cli.md "Settings file"): the module reads only
 * state-dir, tcti, pkcs11-module-path and pin-source and ignores the rest. */
static int devid_p11m_read_conf(struct devid_p11m_token *t, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];

    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *eq = strchr(line, '=');
        char *name, *value;
        char **slot = NULL;

        if (line[0] == '#' || eq == NULL) {
            continue;
        }
        name = devid_p11m_strdup_trim(line, (size_t)(eq - line));
        value = devid_p11m_strdup_trim(eq + 1, strlen(eq + 1));
        if (name != NULL && strcmp(name, "state-dir") == 0) {
            slot = &t->state_dir;
        } else if (name != NULL && strcmp(name, "tcti") == 0) {
            slot = &t->tcti;
        } else if (name != NULL && strcmp(name, "pkcs11-module-path") == 0) {
            slot = &t->module_path;
        } else if (name != NULL && strcmp(name, "pin-source") == 0) {
            slot = &t->pin_source;
        }
        if (slot != NULL) {
            OPENSSL_free(*slot);
            *slot = value;
            value = NULL;
        }
        OPENSSL_free(name);
        OPENSSL_free(value);
    }
    fclose(f);
    if (t->state_dir == NULL) {
        t->state_dir = OPENSSL_strdup(DEVID_P11M_DEFAULT_STATE);
    }
    return t->state_dir != NULL;
}

/* The backend settings of a token, by their openssl.cnf names. A PIN named
 * by pin-source lets the backend log in to a PKCS#11 token itself. */
static CK_RV devid_p11m_token_prov(struct devid_p11m_token *t)
{
    int ok;

    t->prov = devid_prov_new_standalone(NULL);
    if (t->prov == NULL) {
        return CKR_HOST_MEMORY;
    }
    ok = (t->tcti == NULL || devid_config_set(t->prov, "tcti", t->tcti))
         && (t->module_path == NULL
             || devid_config_set(t->prov, "pkcs11-module-path", t->module_path))
         && (t->pin_source == NULL
             || devid_config_set(t->prov, "pkcs11-module-token-pin",
                                 t->pin_source));
    return ok ? CKR_OK : devid_p11m_backend_rv(CKR_GENERAL_ERROR);
}

static void devid_p11m_token_label(struct devid_p11m_token *t, const char *name)
{
    unsigned char md[32];
    size_t i;

    memset(t->label, ' ', 32);
    memcpy(t->label, name, strlen(name) < 32 ? strlen(name) : 32);
    t->label[32] = '\0';
    SHA256((const unsigned char *)t->state_dir, strlen(t->state_dir), md);
    for (i = 0; i < 8; i++) {
        snprintf(t->serial + 2 * i, 3, "%02x", md[i]);
    }
}

static CK_RV devid_p11m_token_add(struct devid_p11m *m, const char *entry)
{
    struct devid_p11m_token *t, *grown;
    struct stat st;
    const char *base;
    CK_RV rv;

    grown = OPENSSL_realloc(m->tokens, (m->ntokens + 1) * sizeof(*t));
    if (grown == NULL) {
        return CKR_HOST_MEMORY;
    }
    m->tokens = grown;
    t = &m->tokens[m->ntokens];
    memset(t, 0, sizeof(*t));
    if (stat(entry, &st) == 0 && S_ISREG(st.st_mode)) {
        if (!devid_p11m_read_conf(t, entry)) {
            return CKR_GENERAL_ERROR;
        }
    } else {
        t->state_dir = OPENSSL_strdup(entry);
        if (t->state_dir == NULL) {
            return CKR_HOST_MEMORY;
        }
    }
    m->ntokens++;
    base = strrchr(t->state_dir, '/');
    devid_p11m_token_label(t, base != NULL && base[1] != '\0' ? base + 1
                                                              : t->state_dir);
    rv = devid_p11m_token_prov(t);
    DEVID_DEBUG("p11module", "token %zu: state directory %s", m->ntokens - 1,
                t->state_dir);
    return rv;
}

/* Sources, first that names something wins: $DEVID_PKCS11_CONFIG, the
 * C_Initialize reserved string "devid-config=..." (p11-kit's
 * x-init-reserved), $DEVID_CONFIG, /etc/devid/devid.conf, /var/lib/devid.
 * A list is ':'-separated; each entry is a devid config file or a state
 * directory. */
CK_RV devid_p11m_tokens_load(struct devid_p11m *m, const char *reserved)
{
    const char *list = getenv("DEVID_PKCS11_CONFIG");
    char *copy, *entry, *save = NULL;
    CK_RV rv = CKR_OK;

    if ((list == NULL || *list == '\0') && reserved != NULL
        && strncmp(reserved, DEVID_P11M_RESERVED_PREFIX,
                   strlen(DEVID_P11M_RESERVED_PREFIX))
               == 0) {
        list = reserved + strlen(DEVID_P11M_RESERVED_PREFIX);
    }
    if (list == NULL || *list == '\0') {
        list = getenv("DEVID_CONFIG");
    }
    if ((list == NULL || *list == '\0')
        && access(DEVID_P11M_DEFAULT_CONF, R_OK) == 0) {
        list = DEVID_P11M_DEFAULT_CONF;
    }
    if (list == NULL || *list == '\0') {
        list = DEVID_P11M_DEFAULT_STATE;
    }
    copy = OPENSSL_strdup(list);
    if (copy == NULL) {
        return CKR_HOST_MEMORY;
    }
    for (entry = strtok_r(copy, ":", &save); entry != NULL && rv == CKR_OK;
         entry = strtok_r(NULL, ":", &save)) {
        rv = devid_p11m_token_add(m, entry);
    }
    OPENSSL_free(copy);
    return rv;
}

/* ---- identities ---------------------------------------------------------- */

/* Releasing a key or a provider instance may reach a backend that loaded
 * p11-kit's proxy, and through it this module: mark the thread. */
static void devid_p11m_key_free(struct devid_key *key)
{
    devid_p11m_set_nested(1);
    devid_key_free(key);
    devid_p11m_set_nested(0);
}

static void devid_p11m_prov_free(struct devid_prov *prov)
{
    devid_p11m_set_nested(1);
    devid_prov_free(prov);
    devid_p11m_set_nested(0);
}

static void devid_p11m_ident_free(struct devid_p11m_ident *id)
{
    size_t i;

    for (i = 0; i < id->ncerts; i++) {
        OPENSSL_free(id->certs[i].der);
        OPENSSL_free(id->certs[i].subject);
        OPENSSL_free(id->certs[i].issuer);
        OPENSSL_free(id->certs[i].serial);
    }
    EVP_PKEY_free(id->pub);
    devid_p11m_key_free(id->key);
    OPENSSL_free(id->dir);
    OPENSSL_free(id->key_name);
    pthread_mutex_destroy(&id->lock);
    OPENSSL_free(id);
}

void devid_p11m_ident_unref(struct devid_p11m_ident *id)
{
    int last;

    if (id == NULL) {
        return;
    }
    devid_p11m_lock();
    last = --id->refs == 0;
    devid_p11m_unlock();
    if (last) {
        devid_p11m_ident_free(id);
    }
}

void devid_p11m_tokens_free(struct devid_p11m *m, int in_child)
{
    size_t i;

    for (i = 0; i < m->nsessions; i++) {
        if (!in_child) {
            devid_p11m_op_clear(&m->sessions[i]->op);
            devid_p11m_secrets_free(m->sessions[i]);
            if (--m->sessions[i]->ident->refs == 0) {
                devid_p11m_ident_free(m->sessions[i]->ident);
            }
            pthread_mutex_destroy(&m->sessions[i]->lock);
            OPENSSL_free(m->sessions[i]);
        }
    }
    OPENSSL_free(m->sessions);
    for (i = 0; i < m->ntokens; i++) {
        struct devid_p11m_token *t = &m->tokens[i];

        /* a fork child leaves the parent's keys and TPM contexts alone */
        if (!in_child) {
            if (t->ident != NULL && --t->ident->refs == 0) {
                devid_p11m_ident_free(t->ident);
            }
            devid_p11m_prov_free(t->prov);
        }
        OPENSSL_free(t->state_dir);
        OPENSSL_free(t->tcti);
        OPENSSL_free(t->module_path);
        OPENSSL_free(t->pin_source);
        OPENSSL_secure_clear_free(t->pin, t->pin_len + 1);
    }
    OPENSSL_free(m->tokens);
}

struct devid_p11m_token *devid_p11m_token_get(CK_SLOT_ID slot)
{
    struct devid_p11m *m = devid_p11m_get();

    return slot < m->ntokens ? &m->tokens[slot] : NULL;
}

static char *devid_p11m_json_str(json_object *root, const char *name)
{
    json_object *v = NULL;

    if (json_object_object_get_ex(root, name, &v)
        && json_object_is_type(v, json_type_string)) {
        return OPENSSL_strdup(json_object_get_string(v));
    }
    return NULL;
}

static int devid_p11m_cert_add(struct devid_p11m_ident *id, X509 *x)
{
    struct devid_p11m_cert *c = &id->certs[id->ncerts];
    unsigned int idlen = sizeof(c->id);
    int n;

    n = i2d_X509(x, &c->der);
    c->der_len = n > 0 ? (size_t)n : 0;
    n = i2d_X509_NAME(X509_get_subject_name(x), &c->subject);
    c->subject_len = n > 0 ? (size_t)n : 0;
    n = i2d_X509_NAME(X509_get_issuer_name(x), &c->issuer);
    c->issuer_len = n > 0 ? (size_t)n : 0;
    n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &c->serial);
    c->serial_len = n > 0 ? (size_t)n : 0;
    if (id->ncerts == 0) {
        snprintf(c->label, sizeof(c->label), "%s", DEVID_P11M_KEY_LABEL);
    } else {
        snprintf(c->label, sizeof(c->label), "%s-ca%zu", DEVID_P11M_KEY_LABEL,
                 id->ncerts);
    }
    if (c->der == NULL || c->subject == NULL || c->issuer == NULL
        || c->serial == NULL
        || !X509_pubkey_digest(x, EVP_sha1(), c->id, &idlen)) {
        return 0;
    }
    id->ncerts++;
    return 1;
}

static int devid_p11m_read_chain(struct devid_p11m_ident *id, const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = NULL;
    int ok = 1;

    if (f == NULL) {
        return 0;
    }
    while (ok && id->ncerts < DEVID_P11M_MAX_CERTS
           && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (id->ncerts == 0) {
            id->pub = X509_get_pubkey(x);
            /* this module offers ECDSA and RSA mechanisms only: an
             * identity with another key (Ed25519, Ed448) is not offered,
             * rather than shown as an RSA key it is not */
            ok = id->pub != NULL
                 && (EVP_PKEY_is_a(id->pub, "EC")
                     || EVP_PKEY_is_a(id->pub, "RSA"));
            if (id->pub != NULL && !ok) {
                DEVID_DEBUG("p11module",
                            "%s: a %s key: only EC and RSA identities are "
                            "offered",
                            path, EVP_PKEY_get0_type_name(id->pub));
            }
        }
        ok = ok && devid_p11m_cert_add(id, x);
        X509_free(x);
    }
    fclose(f);
    ERR_clear_error(); /* the end of the file */
    return ok && id->ncerts > 0;
}

/* dir/sub/name into buf; 0 when it does not fit. */
static int devid_p11m_path(char *buf, size_t size, const char *dir,
                           const char *sub, const char *name)
{
    int n = snprintf(buf, size, "%s/%s/%s", dir, sub, name);

    return n > 0 && (size_t)n < size;
}

/* Reads state-dir/<target>: state.json and chain.pem. */
static struct devid_p11m_ident *
devid_p11m_ident_load(struct devid_p11m_token *t, const char *target)
{
    struct devid_p11m_ident *id = OPENSSL_zalloc(sizeof(*id));
    char path[PATH_MAX];
    json_object *root = NULL;
    char *name = NULL;

    if (id == NULL) {
        return NULL;
    }
    pthread_mutex_init(&id->lock, NULL);
    id->refs = 1;
    id->dir = OPENSSL_strdup(target);
    if (devid_p11m_path(path, sizeof(path), t->state_dir, target,
                        "state.json")) {
        root = json_object_from_file(path);
    }
    if (id->dir == NULL || root == NULL
        || !json_object_is_type(root, json_type_object)) {
        DEVID_DEBUG("p11module", "%s: no identity state", path);
        goto err;
    }
    id->key_name = devid_p11m_json_str(root, "key");
    name = devid_p11m_json_str(root, "registration_id");
    if (name == NULL) {
        name = devid_p11m_json_str(root, "device_id");
    }
    if (id->key_name == NULL
        || !devid_p11m_path(path, sizeof(path), t->state_dir, target,
                            "chain.pem")
        || !devid_p11m_read_chain(id, path)) {
        DEVID_DEBUG("p11module", "%s: no key name or no chain", path);
        goto err;
    }
    if (name != NULL) {
        devid_p11m_token_label(t, name);
    }
    id->gen = ++t->gen;
    OPENSSL_free(name);
    json_object_put(root);
    return id;
err:
    OPENSSL_free(name);
    json_object_put(root);
    devid_p11m_ident_free(id);
    return NULL;
}

struct devid_p11m_ident *devid_p11m_token_ident(struct devid_p11m_token *t)
{
    char path[PATH_MAX], target[PATH_MAX];
    ssize_t n;
    struct devid_p11m_ident *id;

    if (!devid_p11m_path(path, sizeof(path), t->state_dir, ".", "current")) {
        return NULL;
    }
    n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0) {
        return NULL;
    }
    target[n] = '\0';
    if (t->ident == NULL || strcmp(t->ident->dir, target) != 0) {
        id = devid_p11m_ident_load(t, target);
        if (id == NULL) {
            return NULL;
        }
        DEVID_DEBUG("p11module", "%s: identity %s", t->state_dir, target);
        if (t->ident != NULL && --t->ident->refs == 0) {
            devid_p11m_ident_free(t->ident);
        }
        t->ident = id;
    }
    t->ident->refs++;
    return t->ident;
}

/* ---- the key -------------------------------------------------------------- */

struct devid_p11m_pin_arg {
    const unsigned char *pin; /* NULL: no PIN (a probe) */
    size_t len;
    int asked;
};

static int devid_p11m_pin_cb(char *buf, size_t size, size_t *len,
                             const OSSL_PARAM params[], void *varg)
{
    struct devid_p11m_pin_arg *a = varg;

    a->asked = 1;
    if (a->pin == NULL || a->len > size) {
        return 0;
    }
    memcpy(buf, a->pin, a->len);
    *len = a->len;
    return 1;
}

/* Opens the key with pin (or none). id->lock is held. */
static CK_RV devid_p11m_key_open(struct devid_p11m_token *t,
                                 struct devid_p11m_ident *id,
                                 const unsigned char *pin, size_t pin_len)
{
    struct devid_p11m_pin_arg arg = { pin, pin_len, 0 };
    struct devid_pin_cb cb = { devid_p11m_pin_cb, &arg };
    struct devid_key *key = NULL;
    int ok;

    devid_p11m_set_nested(1);
    ok = devid_key_open_name(t->prov, id->key_name, &cb, &key);
    devid_p11m_set_nested(0);
    if (arg.asked) {
        id->login_needed = 1;
    }
    if (!ok) {
        if (arg.asked && pin == NULL) {
            ERR_clear_error();
            return CKR_USER_NOT_LOGGED_IN;
        }
        return devid_p11m_backend_rv(pin != NULL ? CKR_PIN_INCORRECT
                                                 : CKR_DEVICE_ERROR);
    }
    id->key = key;
    return CKR_OK;
}

CK_RV devid_p11m_ident_key(struct devid_p11m_token *t,
                           struct devid_p11m_ident *id)
{
    unsigned char *pin = NULL;
    size_t pin_len = 0;
    CK_RV rv = CKR_OK;

    pthread_mutex_lock(&id->lock);
    if (id->key != NULL) {
        goto end;
    }
    devid_p11m_lock();
    if (t->logged_in && t->pin != NULL) {
        pin = OPENSSL_secure_malloc(t->pin_len + 1);
        if (pin != NULL) {
            memcpy(pin, t->pin, t->pin_len);
            pin_len = t->pin_len;
        }
    }
    devid_p11m_unlock();
    if (id->login_needed && pin == NULL) {
        rv = CKR_USER_NOT_LOGGED_IN; /* known: no need to ask the hardware */
        goto end;
    }
    rv = devid_p11m_key_open(t, id, pin, pin_len);
end:
    if (rv == CKR_OK && id->login_needed) {
        devid_p11m_lock();
        if (!t->logged_in) {
            rv = CKR_USER_NOT_LOGGED_IN;
        }
        devid_p11m_unlock();
    }
    pthread_mutex_unlock(&id->lock);
    OPENSSL_secure_clear_free(pin, pin_len + 1);
    return rv;
}

CK_FLAGS devid_p11m_token_flags(struct devid_p11m_token *t)
{
    CK_FLAGS flags = CKF_TOKEN_INITIALIZED | CKF_WRITE_PROTECTED
                     | CKF_USER_PIN_INITIALIZED;
    struct devid_p11m_ident *id;

    devid_p11m_lock();
    id = devid_p11m_token_ident(t);
    devid_p11m_unlock();
    if (id == NULL) {
        return flags;
    }
    (void)devid_p11m_ident_key(t, id);
    pthread_mutex_lock(&id->lock);
    if (id->login_needed) {
        flags |= CKF_LOGIN_REQUIRED;
    }
    pthread_mutex_unlock(&id->lock);
    devid_p11m_ident_unref(id);
    return flags;
}

/* One signature over a fixed digest: the TPM checks a key's auth value only
 * when the key is used, and C_Login must say whether the PIN is right. */
static int devid_p11m_try_sign(struct devid_key *key)
{
    static const unsigned char digest[32] = { 0 };
    struct devid_sign_params p = { DEVID_SIG_ECDSA, NID_sha256, NID_sha256,
                                   32 };
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    int ok;

    if ((key->caps & DEVID_CAP_SIGN_ECDSA) == 0) {
        p.scheme = (key->caps & DEVID_CAP_SIGN_PKCS1) != 0 ? DEVID_SIG_PKCS1
                                                           : DEVID_SIG_PSS;
    }
    devid_p11m_set_nested(1);
    ok = key->ops->sign(key, &p, digest, sizeof(digest), sig, &siglen);
    devid_p11m_set_nested(0);
    return ok;
}

static CK_RV devid_p11m_login_key(struct devid_p11m_token *t,
                                  struct devid_p11m_ident *id,
                                  const unsigned char *pin, size_t pin_len)
{
    CK_RV rv = CKR_OK;

    pthread_mutex_lock(&id->lock);
    if (id->key != NULL && !id->login_needed) {
        goto end; /* a key without auth: nothing to check */
    }
    if (id->key != NULL) {
        /* a login after a logout: check this PIN on a second key object.
         * The open key stays as it is (sessions may be signing with it):
         * it was opened with the one value the key or token accepts. */
        struct devid_key *open = id->key;

        id->key = NULL;
        rv = devid_p11m_key_open(t, id, pin, pin_len);
        if (rv == CKR_OK && !devid_p11m_try_sign(id->key)) {
            rv = devid_p11m_backend_rv(CKR_PIN_INCORRECT);
        }
        devid_p11m_key_free(id->key);
        id->key = open;
        goto end;
    }
    rv = devid_p11m_key_open(t, id, pin, pin_len);
    if (rv == CKR_OK && id->login_needed && !devid_p11m_try_sign(id->key)) {
        rv = devid_p11m_backend_rv(CKR_PIN_INCORRECT);
        devid_p11m_key_free(id->key);
        id->key = NULL;
    }
end:
    pthread_mutex_unlock(&id->lock);
    return rv;
}

/* The user PIN is the key's auth value (TPM) or the PIN of the token the key
 * lives in (PKCS#11). A PIN the key refused is remembered (its SHA-256) and
 * never sent again: a TPM in dictionary-attack lockout or a locked token is
 * a bricked device. */
CK_RV devid_p11m_login(struct devid_p11m_token *t, const unsigned char *pin,
                       size_t pin_len)
{
    unsigned char md[32];
    struct devid_p11m_ident *id;
    CK_RV rv;

    SHA256(pin, pin_len, md);
    devid_p11m_lock();
    if (t->have_bad_pin && CRYPTO_memcmp(md, t->bad_pin, sizeof(md)) == 0) {
        devid_p11m_unlock();
        DEVID_DEBUG("p11module", "login: the PIN was refused before; not sent");
        return CKR_PIN_INCORRECT;
    }
    if (t->logged_in) {
        devid_p11m_unlock();
        return CKR_USER_ALREADY_LOGGED_IN;
    }
    id = devid_p11m_token_ident(t);
    devid_p11m_unlock();
    if (id == NULL) {
        return CKR_TOKEN_NOT_PRESENT;
    }
    rv = devid_p11m_login_key(t, id, pin, pin_len);
    devid_p11m_lock();
    if (rv == CKR_PIN_INCORRECT) {
        memcpy(t->bad_pin, md, sizeof(md));
        t->have_bad_pin = 1;
    } else if (rv == CKR_OK) {
        OPENSSL_secure_clear_free(t->pin, t->pin_len + 1);
        t->pin = OPENSSL_secure_malloc(pin_len + 1);
        t->pin_len = t->pin != NULL ? pin_len : 0;
        if (t->pin != NULL) {
            memcpy(t->pin, pin, pin_len);
        }
        t->logged_in = 1;
    }
    devid_p11m_unlock();
    devid_p11m_ident_unref(id);
    OPENSSL_cleanse(md, sizeof(md));
    return rv;
}

void devid_p11m_logout(struct devid_p11m_token *t)
{
    OPENSSL_secure_clear_free(t->pin, t->pin_len + 1);
    t->pin = NULL;
    t->pin_len = 0;
    t->logged_in = 0;
}
