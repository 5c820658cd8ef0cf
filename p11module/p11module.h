/* SPDX-License-Identifier: Apache-2.0 */
/* devid-pkcs11.so: a PKCS#11 v2.40 module that shows each devid identity as
 * one read-only token. Internal interface shared by the files of
 * p11module/; nothing outside this folder includes it but its unit test.
 * The module reaches keys only through the backend registry
 * (provider/backend.h), never a backend directly (docs/pkcs11-module.md). */
#ifndef DEVID_P11M_H
#define DEVID_P11M_H

#include <stddef.h>
#include <pthread.h>
#include <sys/types.h>
#include <p11-kit/pkcs11.h>
#include <openssl/evp.h>

#include "provider/backend.h"
#include "provider/prov.h"

/* Object handles of an identity: (generation << 8) | index, so that a handle
 * of an identity a renewal replaced is invalid in sessions that started on
 * the new one. Objects made by C_DeriveKey have the top bit set. */
#define DEVID_P11M_OBJ_PRIV 1u
#define DEVID_P11M_OBJ_PUB 2u
#define DEVID_P11M_OBJ_CERT 3u /* the leaf; CA certificates follow */
#define DEVID_P11M_OBJ_SECRET 0x80000000ul
#define DEVID_P11M_MAX_CERTS 16
#define DEVID_P11M_PIN_MAX 256
#define DEVID_P11M_KEY_LABEL "device"
#define DEVID_P11M_SECRET_MAX 132 /* an ECDH x coordinate, P-521 */

/* One certificate of an identity's chain, leaf first. */
struct devid_p11m_cert {
    unsigned char *der;
    size_t der_len;
    unsigned char *subject, *issuer, *serial; /* DER */
    size_t subject_len, issuer_len, serial_len;
    unsigned char id[20]; /* CKA_ID: SHA-1 of the certificate's key */
    char label[64];
};

/* One identity (state-dir/identities/<name>) as it was when a session
 * opened. Everything is read-only after devid_p11m_ident_load except key,
 * login_needed and key_failed, which ident->lock guards. */
struct devid_p11m_ident {
    int refs; /* under the module lock */
    unsigned long gen;
    char *dir;
    char *key_name;
    struct devid_p11m_cert certs[DEVID_P11M_MAX_CERTS];
    size_t ncerts;
    EVP_PKEY *pub; /* the leaf's public key */
    pthread_mutex_t lock;
    struct devid_key *key; /* NULL until opened */
    int login_needed;      /* the key asked for an auth value */
    int key_failed;        /* opening failed for another reason */
};

/* One token: a devid state directory and the settings of its config file. */
struct devid_p11m_token {
    char *state_dir;
    char *tcti, *module_path, *pin_source;
    char label[33];                 /* blank padded, CK_TOKEN_INFO.label */
    char serial[17];                /* blank padded */
    struct devid_prov *prov;        /* made on the first key open */
    struct devid_p11m_ident *ident; /* newest one loaded */
    unsigned long gen;
    int logged_in;
    unsigned char *pin; /* secure heap; the PIN of the last good login */
    size_t pin_len;
    unsigned char bad_pin[32]; /* SHA-256 of the PIN the key refused */
    int have_bad_pin;
};

/* A derived secret (CKM_ECDH1_DERIVE), a session object. */
struct devid_p11m_secret {
    struct devid_p11m_secret *next;
    CK_OBJECT_HANDLE handle;
    unsigned char *value;
    size_t len;
};

enum devid_p11m_opkind {
    DEVID_P11M_OP_NONE = 0,
    DEVID_P11M_OP_SIGN,
    DEVID_P11M_OP_DECRYPT
};

struct devid_p11m_op {
    enum devid_p11m_opkind kind;
    CK_MECHANISM_TYPE mech;
    struct devid_sign_params sp;
    struct devid_dec_params dp;
    unsigned char *oaep_label;
    EVP_MD_CTX *md;     /* combined hash-and-sign mechanisms */
    unsigned char *buf; /* single-part input gathered by C_SignUpdate */
    size_t buf_len;
};

struct devid_p11m_session {
    CK_SESSION_HANDLE handle;
    CK_SLOT_ID slot;
    CK_FLAGS flags;
    int refs;   /* the table's and each call's; under the module lock */
    int closed; /* removed from the table; calls in flight finish */
    struct devid_p11m_ident *ident;
    pthread_mutex_t lock; /* one call at a time on a session */
    struct devid_p11m_op op;
    int finding;
    CK_OBJECT_HANDLE found[DEVID_P11M_MAX_CERTS + 8];
    size_t nfound, found_pos;
    struct devid_p11m_secret *secrets;
    unsigned long next_secret;
};

/* The module's state: one per process (PKCS#11 v2.40 §5.4: a fork child
 * calls C_Initialize again). */
struct devid_p11m {
    pid_t pid;
    int initialized;
    struct devid_p11m_token *tokens;
    size_t ntokens;
    struct devid_p11m_session **sessions;
    size_t nsessions, cap;
    CK_SESSION_HANDLE next_session;
};

/* ---- module.c ------------------------------------------------------------ */

/** The module state; callers hold devid_p11m_lock() while they touch it. */
struct devid_p11m *devid_p11m_get(void);
/** Takes and releases the module lock. */
void devid_p11m_lock(void);
void devid_p11m_unlock(void);
/** CKR_OK when the module is initialised in this process. */
CK_RV devid_p11m_check_init(void);
/** Marks this thread as entering (1) or leaving (0) a backend call, which
 *  may nest: a backend that loads p11-kit's proxy may load this module
 *  again, and then the module shows nothing and takes no lock. */
void devid_p11m_set_nested(int on);
int devid_p11m_nested(void);
/** Turns the error a backend raised into a CK_RV and clears it. */
CK_RV devid_p11m_backend_rv(CK_RV dflt);

/* ---- token.c ------------------------------------------------------------- */

/** Reads the list of identities (env, C_Initialize's reserved string,
 *  DEVID_CONFIG, /etc/devid/devid.conf, /var/lib/devid). */
CK_RV devid_p11m_tokens_load(struct devid_p11m *m, const char *reserved);
void devid_p11m_tokens_free(struct devid_p11m *m, int in_child);
/** The token of slot, or NULL. */
struct devid_p11m_token *devid_p11m_token_get(CK_SLOT_ID slot);
/** Returns a new reference to the token's current identity, loading it
 *  again when state-dir/current changed. NULL when not provisioned.
 *  Called with the module lock held. */
struct devid_p11m_ident *devid_p11m_token_ident(struct devid_p11m_token *t);
void devid_p11m_ident_unref(struct devid_p11m_ident *id);
/** Opens the identity's private key when not open yet (ident->lock
 *  taken here). CKR_USER_NOT_LOGGED_IN when it needs the PIN. */
CK_RV devid_p11m_ident_key(struct devid_p11m_token *t,
                           struct devid_p11m_ident *id);
/** CKF_* token flags for the current identity. */
CK_FLAGS devid_p11m_token_flags(struct devid_p11m_token *t);
/** Mechanisms the key of id can do (list may be NULL for a count). */
size_t devid_p11m_mechs(const struct devid_p11m_ident *id,
                        CK_MECHANISM_TYPE *list);
CK_RV devid_p11m_login(struct devid_p11m_token *t, const unsigned char *pin,
                       size_t pin_len);
void devid_p11m_logout(struct devid_p11m_token *t);

/* ---- object.c ------------------------------------------------------------ */

/** The attributes of object h as the session sees it. */
CK_RV devid_p11m_get_attrs(struct devid_p11m_session *s,
                           struct devid_p11m_token *t, CK_OBJECT_HANDLE h,
                           CK_ATTRIBUTE *tmpl, CK_ULONG n);
/** Fills s->found with the objects matching tmpl. */
CK_RV devid_p11m_find(struct devid_p11m_session *s, struct devid_p11m_token *t,
                      const CK_ATTRIBUTE *tmpl, CK_ULONG n);
/** 1 when h names an object of s's identity the session may see. */
int devid_p11m_object_valid(struct devid_p11m_session *s,
                            struct devid_p11m_token *t, CK_OBJECT_HANDLE h);
void devid_p11m_secrets_free(struct devid_p11m_session *s);

/* ---- crypto.c ------------------------------------------------------------ */

void devid_p11m_op_clear(struct devid_p11m_op *op);
CK_RV devid_p11m_sign_init(struct devid_p11m_session *s,
                           struct devid_p11m_token *t, CK_MECHANISM *mech,
                           CK_OBJECT_HANDLE key);
CK_RV devid_p11m_sign_update(struct devid_p11m_session *s,
                             const unsigned char *data, size_t len);
CK_RV devid_p11m_sign_final(struct devid_p11m_session *s, unsigned char *sig,
                            CK_ULONG *siglen);
CK_RV devid_p11m_decrypt_init(struct devid_p11m_session *s,
                              struct devid_p11m_token *t, CK_MECHANISM *mech,
                              CK_OBJECT_HANDLE key);
CK_RV devid_p11m_decrypt(struct devid_p11m_session *s, const unsigned char *in,
                         size_t inlen, unsigned char *out, CK_ULONG *outlen);
CK_RV devid_p11m_derive(struct devid_p11m_session *s,
                        struct devid_p11m_token *t, CK_MECHANISM *mech,
                        CK_OBJECT_HANDLE base, const CK_ATTRIBUTE *tmpl,
                        CK_ULONG n, CK_OBJECT_HANDLE *out);
/** Information on one mechanism for the key of id. */
CK_RV devid_p11m_mech_info(const struct devid_p11m_ident *id,
                           CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);

#endif
