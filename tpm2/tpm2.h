/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interface of the TPM 2.0 backend: the per-provider TPM state (one
 * ESYS context, its lock, the storage root key, the transient objects we keep
 * loaded) and the helpers the tpm2/ files share. Nothing outside tpm2/ uses
 * this header; the provider sees provider/backend.h and tpm2/keyfile.h. */
#ifndef DEVID_TPM2_H
#define DEVID_TPM2_H

#include <stdint.h>
#include <sys/types.h>
#include <openssl/crypto.h>
#include <tss2/tss2_esys.h>

#include "provider/backend.h"

struct devid_prov;
struct devid_tpm2_keyfile;

/* The backend's table (backend-tpm2.c), listed in provider/registry.c. */
extern const struct devid_backend_ops devid_tpm2_backend;

/* The backend's provider settings (esys.c). */
struct devid_tpm2_cfg {
    char *tcti; /* tcti: TCTI configuration string */
    /* tpm2-parent-auth: a value (secure heap), a file, or ask */
    char *parent_auth;
    size_t parent_auth_len;
    char *parent_auth_file;
    int parent_auth_ask;
};

/* Parent auth values the TPM refused, remembered per provider instance. */
#define DEVID_TPM2_REFUSED_MAX 8

/* Algorithms and curves this TPM reports (TPM2_GetCapability, read once). */
#define DEVID_TPM2_ALG_RSASSA 0x01u
#define DEVID_TPM2_ALG_RSAPSS 0x02u
#define DEVID_TPM2_ALG_RSAES 0x04u
#define DEVID_TPM2_ALG_OAEP 0x08u
#define DEVID_TPM2_ALG_ECDSA 0x10u
#define DEVID_TPM2_ALG_ECDH 0x20u
#define DEVID_TPM2_CURVE_P256 0x01u
#define DEVID_TPM2_CURVE_P384 0x02u
#define DEVID_TPM2_CURVE_P192 0x04u
#define DEVID_TPM2_CURVE_P224 0x08u
#define DEVID_TPM2_CURVE_P521 0x10u

/* The NIST curves devid serves: the TPM's ID, OpenSSL's short name, the
 * field size and the DEVID_TPM2_CURVE_* bit (esys.c). */
struct devid_tpm2_curve {
    TPMI_ECC_CURVE id;
    const char *name;
    int bits;
    unsigned int bit;
};

/** The curve with this TPM ID or OpenSSL short name, or NULL. */
const struct devid_tpm2_curve *devid_tpm2_curve_by_id(TPMI_ECC_CURVE id);
const struct devid_tpm2_curve *devid_tpm2_curve_by_name(const char *name);

/* The TCG storage root key lives here when it is provisioned (TCG TPM v2.0
 * Provisioning Guidance, reserved handles). */
#define DEVID_TPM2_SRK_HANDLE 0x81000001u

/* TPM_HT_PERSISTENT in the top byte (TPM 2.0 Part 2 §7.2). tss2's
 * TPM2_HR_PERSISTENT shifts a signed 0x81 left by 24, which is undefined
 * behaviour in C (UBSan says so). */
#define DEVID_TPM2_HR_PERSISTENT 0x81000000u

/* A transient object we keep in the TPM, or its saved context when the TPM
 * ran out of object slots (TPM 2.0 Part 3 §28.2 ContextSave). */
struct devid_tpm2_obj {
    ESYS_TR tr;                   /* ESYS_TR_NONE when not loaded */
    TPMS_CONTEXT *saved;          /* context blob while swapped out */
    unsigned long gen;            /* context generation tr/saved belong to */
    unsigned long long used;      /* LRU stamp */
    int listed;                   /* on the state's object list */
    struct devid_tpm2_obj *next;
};

/* The backend's state in a provider instance (its registry slot). Every
 * field below lock is only touched with lock held. */
struct devid_tpm2 {
    CRYPTO_RWLOCK *lock;          /* serialises all ESYS use */
    char *tcti_conf;              /* configured TCTI, or NULL for env/default */
    char tcti_name[128];          /* what we opened, for error messages */
    pid_t pid;                    /* process that opened esys */
    int forked;                   /* a fork child's state: no object stays
                                   * loaded between two operations */
    unsigned long gen;            /* bumped on every new ESYS context */
    TSS2_TCTI_CONTEXT *tcti;
    int tcti_own; /* tcti opened without tctildr (tcti.c) */
    ESYS_CONTEXT *esys;
    int caps_read;
    unsigned int algs;            /* DEVID_TPM2_ALG_* */
    int curves_read;              /* read only to make a key */
    unsigned int curves;          /* DEVID_TPM2_CURVE_* */
    ESYS_TR srk_persistent;       /* SRK at 0x81000001, or ESYS_TR_NONE */
    unsigned long srk_gen;        /* generation srk_* belongs to (0: unknown) */
    struct devid_tpm2_obj srk;    /* transient SRK created from the template */
    struct devid_tpm2_obj *objs;  /* loaded keys, for eviction */
    unsigned long long clock;
    /* refused parent auth values: salted SHA-256 (parent-auth.c) */
    unsigned char refused[DEVID_TPM2_REFUSED_MAX][32];
    size_t nrefused;
    unsigned char refused_salt[16];
    int refused_salted;
};

/* Backend-private part of a devid_key (key->be). */
struct devid_tpm2_key {
    TPM2_HANDLE handle;           /* persistent handle, or 0 for file keys */
    struct devid_tpm2_keyfile *kf;/* file keys: blobs and parent */
    ESYS_TR ptr;                  /* persistent: ESYS_TR of handle */
    unsigned long pgen;           /* generation ptr belongs to */
    struct devid_tpm2_obj obj;    /* file keys: the loaded object */
    TPMT_PUBLIC pub;
    char *auth;                   /* secure heap, NUL-terminated, or NULL */
    size_t auth_len;
    int ask_auth;                 /* ask the passphrase callback */
    int auth_failed;              /* the TPM refused auth: never resend */
    char *parent_auth;            /* key files: parent's auth (secure heap,
                                   * DEVID_TPM2_PARENT_AUTH_SIZE), or NULL */
    size_t parent_auth_len;
};

/* Size of the secure-heap buffer of a parent auth value. */
#define DEVID_TPM2_PARENT_AUTH_SIZE (sizeof(((TPM2B_AUTH *)NULL)->buffer) + 2)

/* esys.c */

/** Returns the TPM state of prov, creating it (without touching the TPM) on
 *  first call, through the registry. Returns NULL with DEVID_R_MALLOC
 *  raised. The state stays owned by prov. */
struct devid_tpm2 *devid_tpm2_state_get(struct devid_prov *prov);

/** The settings the backend reads, ending with { NULL, NULL }. */
extern const struct devid_backend_setting devid_tpm2_settings[];

/** devid_backend_ops.config_set: parses one TPM setting into *cfg. */
int devid_tpm2_cfg_set(struct devid_prov *prov, void **cfg, const char *name,
                       const char *value);

/** devid_backend_ops.config_free: frees a settings object. */
void devid_tpm2_cfg_free(void *cfg);

/** devid_backend_ops.first_use: a new state (no TPM access) in *state. */
int devid_tpm2_first_use(struct devid_prov *prov, void **state);

/** devid_backend_ops.after_fork: forgets the parent's ESYS context without
 *  a word to the TPM; the child opens its own on first use. */
void devid_tpm2_after_fork(struct devid_prov *prov, void *state);

/** Locks the state and makes sure an ESYS context for this process exists
 *  (opening the TCTI on first use and again in a fork child). On success the
 *  lock is held: release it with devid_tpm2_esys_release. Returns 0 with
 *  DEVID_R_TPM_UNREACHABLE (naming the TCTI) or DEVID_R_MALLOC raised, with
 *  the lock released. */
int devid_tpm2_esys_acquire(struct devid_prov *prov, struct devid_tpm2 **st);

/** Releases the lock taken by devid_tpm2_esys_acquire. Accepts NULL. */
void devid_tpm2_esys_release(struct devid_tpm2 *st);

/** devid_backend_ops.teardown: flushes our transient objects, closes the
 *  context and frees the state. */
void devid_tpm2_state_free(struct devid_prov *prov, void *state);

/** Reads the TPM's algorithms once (lock held). Returns 1, or 0 with
 *  DEVID_R_TPM_ERROR raised. */
int devid_tpm2_caps_read(struct devid_prov *prov, struct devid_tpm2 *st);

/** Reads the TPM's curves once (lock held), which only making a key needs:
 *  opening one then costs a TPM command less. Returns 1, or 0 with
 *  DEVID_R_TPM_ERROR raised. */
int devid_tpm2_curves_read(struct devid_prov *prov, struct devid_tpm2 *st);

/** Runs f(arg) and, while it fails with TPM_RC_OBJECT_MEMORY, swaps out the
 *  least recently used of our loaded objects other than keep and tries again
 *  (lock held). Returns the last TSS2_RC; raises nothing. */
TSS2_RC devid_tpm2_obj_with_room(struct devid_tpm2 *st,
                                 TSS2_RC (*f)(struct devid_tpm2 *, void *),
                                 void *arg, const struct devid_tpm2_obj *keep);

/** Frees one object slot by swapping out the least recently used of our
 *  loaded objects other than keep (lock held). Returns 1 when one was
 *  freed, 0 when there is nothing of ours to swap out. */
int devid_tpm2_obj_make_room(struct devid_tpm2 *st,
                             const struct devid_tpm2_obj *keep);

/* Runs a TPM command again while the TPM has no free object slot and we
 * can free one: even a persistent object takes a slot while a command uses
 * it (the reference TPM loads it into an object slot for the
 * command), so every command goes through this. */
#define DEVID_TPM2_RETRY(st, keep, rc, call)                                  \
    do {                                                                       \
        (rc) = (call);                                                         \
    } while (devid_tpm2_rc_is_object_memory(rc)                               \
             && devid_tpm2_obj_make_room((st), (keep)))

/** Makes obj loaded in this context, loading its saved context if it was
 *  swapped out (lock held). Returns 1 with *tr set; 0 when obj has nothing
 *  to load from in this context (no error raised: the caller reloads it), or
 *  -1 with an error raised. */
int devid_tpm2_obj_use(struct devid_prov *prov, struct devid_tpm2 *st,
                       struct devid_tpm2_obj *obj, ESYS_TR *tr);

/** Records a freshly loaded object tr in obj and on the state's list (lock
 *  held). */
void devid_tpm2_obj_set(struct devid_tpm2 *st, struct devid_tpm2_obj *obj,
                        ESYS_TR tr);

/** Flushes obj from the TPM (when this process loaded it), frees its saved
 *  context and takes it off the list (lock held). */
void devid_tpm2_obj_clear(struct devid_tpm2 *st, struct devid_tpm2_obj *obj);

/* tcti.c */

/** Opens the TCTI: conf when not NULL, else $TPM2OPENSSL_TCTI, $TSS2_TCTI,
 *  $TPM2TOOLS_TCTI, else the tctildr default. A plain "NAME[:CONF]" is
 *  opened from libtss2-tcti-NAME.so.0 by devid itself (*own 1), anything
 *  else by tctildr (*own 0). Writes the name used to name (size bytes).
 *  Returns the TSS2_RC of the TCTI's init or of Tss2_TctiLdr_Initialize;
 *  on success close *tcti with devid_tpm2_tcti_close(tcti, *own). */
TSS2_RC devid_tpm2_tcti_open(const char *conf, TSS2_TCTI_CONTEXT **tcti,
                             int *own, char *name, size_t size);

/** Finalizes and frees a TCTI opened by devid_tpm2_tcti_open (own as it
 *  said), and sets *tcti to NULL. Accepts a NULL *tcti. */
void devid_tpm2_tcti_close(TSS2_TCTI_CONTEXT **tcti, int own);

/** Drops a TCTI inherited from the parent process in a fork child without
 *  disturbing the parent's connection (see tcti.c for which TCTIs can be
 *  finalized safely). own and name are what it was opened with. */
void devid_tpm2_tcti_forget(TSS2_TCTI_CONTEXT *tcti, int own, const char *name);

/* rc.c */

/** Raises the devid reason that fits rc (TPM_RC_AUTH_FAIL/BAD_AUTH:
 *  DEVID_R_PIN_INCORRECT; TPM_RC_LOCKOUT: DEVID_R_PIN_LOCKED; TCTI I/O:
 *  DEVID_R_TPM_UNREACHABLE; else DEVID_R_TPM_ERROR) with "what: <text of
 *  Tss2_RC_Decode> (0x...)" as data. Returns 0 for use in return. */
int devid_tpm2_rc_raise(const struct devid_prov *prov, const char *what,
                        TSS2_RC rc);

/** Returns 1 when rc says the auth value was wrong (TPM 2.0 Part 2 §6.6:
 *  TPM_RC_AUTH_FAIL, TPM_RC_BAD_AUTH). */
int devid_tpm2_rc_is_auth_fail(TSS2_RC rc);

/** Returns 1 when rc is TPM_RC_OBJECT_MEMORY (out of object slots). */
int devid_tpm2_rc_is_object_memory(TSS2_RC rc);

/* srk.c */

/** Returns the parent to load or create keys under (lock held): the
 *  persistent SRK at 0x81000001 when it matches the standard ECC template,
 *  else the primary created once per process from that template (TCG TPM
 *  2.0 Key Files), loaded from its saved context. Returns 1 with *tr,
 *  or 0 with an error raised. Flush a transient parent with
 *  devid_tpm2_srk_done after use. */
int devid_tpm2_srk_get(struct devid_prov *prov, struct devid_tpm2 *st,
                       ESYS_TR *tr);

/** Swaps a transient SRK out again after use to free its slot (lock held). */
void devid_tpm2_srk_done(struct devid_tpm2 *st);

/* parent-auth.c */

/** Parses the tpm2-parent-auth setting into cfg: "ask" (the passphrase
 *  callback), "file:PATH" (read at use), "pass:VALUE" or a value. Returns
 *  1, or 0 with DEVID_R_BAD_CONFIG raised. */
int devid_tpm2_parent_auth_cfg(struct devid_prov *prov,
                               struct devid_tpm2_cfg *cfg, const char *value);

/** The auth value for parent of the key named name: from the setting, else
 *  $TPM2OPENSSL_PARENT_AUTH, else empty. *out is a secure-heap buffer of
 *  DEVID_TPM2_PARENT_AUTH_SIZE bytes (OPENSSL_secure_clear_free) holding
 *  *out_len bytes. Returns 1, or 0 with DEVID_R_PIN_SOURCE or
 *  DEVID_R_PIN_REQUIRED raised. */
int devid_tpm2_parent_auth_get(struct devid_prov *prov, TPM2_HANDLE parent,
                               const char *name, const struct devid_pin_cb *pin,
                               char **out, size_t *out_len);

/** 1 when the TPM refused this auth value for parent before (st locked). */
int devid_tpm2_parent_auth_refused(struct devid_tpm2 *st, TPM2_HANDLE parent,
                                   const char *auth, size_t len);

/** Remembers that the TPM refused auth for parent (st locked). */
void devid_tpm2_parent_auth_remember(struct devid_tpm2 *st, TPM2_HANDLE parent,
                                     const char *auth, size_t len);

/* nv.c */

/** 1 when name is "handle:0x01xxxxxx" (an NV index), with *handle set. */
int devid_tpm2_name_nv(const char *name, TPM2_HANDLE *handle);

/** The search of an NV index: its public key (PUBKEY) and, when it holds a
 *  certificate, the certificate (CERT). Reads with the empty auth of the
 *  owner (ownerread indices) or of the index. Returns 1, or 0 with
 *  DEVID_R_NO_OBJECT or a TPM reason raised. */
int devid_tpm2_nv_search(struct devid_prov *prov, const char *name,
                         TPM2_HANDLE h, unsigned int want, devid_object_cb *cb,
                         void *cbarg);

/* nv-write.c */

/** 1 when h is in devid's own NV range (docs/tpm2.md), the only indices
 *  devid ever defines or undefines. */
int devid_tpm2_nv_ours(TPM2_HANDLE h);

/** ops->store_cert_new: defines a new NV index in devid's range (owner
 *  hierarchy, empty auth; ownerwrite, authread, no_da) and writes der into
 *  it in chunks of TPM2_PT_NV_BUFFER_MAX. Sets *where to "handle:0x..."
 *  (OPENSSL_free). An index that exists is never written; a failed write
 *  undefines the new index again. Returns 1, or 0 with an error raised. */
int devid_tpm2_nv_store_cert(struct devid_key *key, const unsigned char *der,
                             size_t der_len, char **where);

/** ops->delete_cert: undefines an NV index of devid's range; one that is
 *  not there is success. Refuses any other name (DEVID_R_BAD_URI). */
int devid_tpm2_nv_delete_cert(struct devid_prov *prov, const char *name);

/* object.c */

/** The TPM Name of a public area (nameAlg || H(TPMT_PUBLIC)). Returns 1,
 *  or 0 for a name algorithm it does not know. */
int devid_tpm2_pub_name(const TPMT_PUBLIC *pub, TPM2B_NAME *name);

/** Parses the serialized ESYS_TR of a persistent key (Esys_TR_Serialize)
 *  into *pub, the public area ESYS read with TPM2_ReadPublic in
 *  Esys_TR_FromTPMPublic. Takes it only when every part is as expected:
 *  the handle, a key resource, sizes that add up to len exactly, and a
 *  Name that is the public area's own. Returns 1, or 0 (nothing raised). */
int devid_tpm2_pub_from_serialized(const uint8_t *buf, size_t len,
                                   TPM2_HANDLE handle, TPM2B_PUBLIC *pub);

/** The public area of tr, the ESYS_TR of persistent handle handle, as ESYS
 *  keeps it from Esys_TR_FromTPMPublic: no TPM command (lock held).
 *  Returns 1, or 0 when ESYS does not give it in the expected form (the
 *  caller then sends TPM2_ReadPublic); nothing raised. */
int devid_tpm2_tr_public(struct devid_tpm2 *st, ESYS_TR tr, TPM2_HANDLE handle,
                         TPM2B_PUBLIC *pub);

/** Reads an "object:" file (a serialized ESYS_TR): the persistent handle
 *  and the Name it had. No TPM command. Returns 1, or 0 with
 *  DEVID_R_BAD_KEY_FILE or DEVID_R_UNSUPPORTED_KEY raised. */
int devid_tpm2_object_handle(struct devid_prov *prov, const char *path,
                             TPM2_HANDLE *handle, TPM2B_NAME *name);

/** "object:" and the absolute path of path (so a reference file written
 *  for the key opens it from any directory), or NULL on allocation
 *  failure. OPENSSL_free it. */
char *devid_tpm2_object_uri(const char *path);

/** 1 when the opened key has the Name the object file recorded; else 0
 *  with DEVID_R_NO_OBJECT raised (the handle was reused). */
int devid_tpm2_object_check(struct devid_key *key, const TPM2B_NAME *name);

/* restricted.c */

/** Hashes msg in the TPM (TPM2_Hash, or a hash sequence when it is longer
 *  than one buffer) with the digest md_nid, for a restricted signing key:
 *  the digest (at most *dlen bytes; *dlen set) and the owner hierarchy's
 *  hash-check ticket for TPM2_Sign. Returns 1, or 0 with DEVID_R_MECHANISM
 *  or a TPM reason raised. */
int devid_tpm2_hash_ticket(struct devid_key *key, int md_nid,
                           const unsigned char *msg, size_t len,
                           unsigned char *digest, size_t *dlen,
                           TPMT_TK_HASHCHECK *tk);

/* describe.c */

/** Prints where key lives, its TPM Name, object attributes and scheme, one
 *  line each at indent (the backend's describe). Touches no TPM. Returns 1,
 *  or 0 when out fails. */
int devid_tpm2_key_describe(struct devid_key *key, BIO *out, int indent);

/* key-load.c */

/** Opens a key by name ("handle:0x81...", "file:PATH", PATH), reading its
 *  public part; the TPM object is loaded on first use. Returns 1 with a new
 *  key, or 0 with DEVID_R_BAD_URI, DEVID_R_NO_OBJECT, DEVID_R_BAD_KEY_FILE,
 *  DEVID_R_UNSUPPORTED_KEY or a TPM error raised. */
int devid_tpm2_key_open(struct devid_prov *prov, const char *name,
                        const struct devid_pin_cb *pin, struct devid_key **out);

/* Auth values already known when a key is opened (a key just generated
 * with user-auth and parent-auth): used instead of asking. */
struct devid_tpm2_auths {
    const char *user; /* the key's own, or NULL */
    size_t user_len;
    const char *parent; /* the parent's, or NULL */
    size_t parent_len;
};

/** Makes a key from a parsed key file (takes ownership of kf even on
 *  failure). uri and given may be NULL. Same return and reasons as
 *  key_open. */
int devid_tpm2_key_from_keyfile(struct devid_prov *prov,
                                struct devid_tpm2_keyfile *kf, const char *uri,
                                const struct devid_pin_cb *pin,
                                const struct devid_tpm2_auths *given,
                                struct devid_key **out);

/** Sets key's own auth value (parent 0) or its parent's (parent 1) to a
 *  copy of value in the secure heap. Returns 1, or 0 with
 *  DEVID_R_INVALID_PARAM (too long) or DEVID_R_MALLOC raised. */
int devid_tpm2_key_set_auth_value(struct devid_key *key, int parent,
                                  const char *value, size_t len);

/** Makes sure key's object is usable in this context and sets its auth
 *  (lock held). Returns 1 with *tr, or 0 with an error raised. */
int devid_tpm2_key_use(struct devid_key *key, struct devid_tpm2 *st,
                       ESYS_TR *tr);

/** Records a TPM answer for key's auth: on an auth failure marks the key so
 *  its auth value is never sent again, and raises DEVID_R_PIN_INCORRECT.
 *  Otherwise raises the reason for rc. Returns 0. */
int devid_tpm2_key_fail(struct devid_key *key, const char *what, TSS2_RC rc);

/** Fills key->pub and key->caps from a public area (lock held), reading
 *  the TPM's algorithms first (once per context) when the caps depend on
 *  them: an unrestricted key without a scheme of its own. Returns 1, or 0
 *  with DEVID_R_UNSUPPORTED_KEY, DEVID_R_MALLOC or a TPM error raised. */
int devid_tpm2_key_set_public(struct devid_key *key, struct devid_tpm2 *st,
                              const TPMT_PUBLIC *pub);

/** Allocates an empty TPM key object bound to prov. Returns NULL with
 *  DEVID_R_MALLOC raised. */
struct devid_key *devid_tpm2_key_alloc(struct devid_prov *prov);

/** ops->key_free: flushes and frees key->be. */
void devid_tpm2_key_free(struct devid_key *key);

/** Parses "handle:0x81xxxxxx" (with an optional "?pass"). Returns 1 with the
 *  handle, 0 when name has another form, -1 when it is a malformed handle
 *  name (nothing raised). */
int devid_tpm2_name_handle(const char *name, TPM2_HANDLE *handle,
                           int *ask_auth);

/* key-delete.c */

/** ops->delete_key: removes a key file, or evicts a persistent handle.
 *  Returns 1 (also when nothing is there) or 0 with an error raised. */
int devid_tpm2_key_delete(struct devid_prov *prov, const char *name,
                          const struct devid_pin_cb *pin);

/* key-create.c */

/** ops->generate: a new key at a persistent handle or in a key file. */
int devid_tpm2_key_generate(struct devid_prov *prov, const char *name,
                            const struct devid_gen_params *p,
                            const struct devid_pin_cb *pin,
                            struct devid_key **out);

/* ops.c */

/** ops->sign (TPM 2.0 Part 3 §20.2 TPM2_Sign). */
int devid_tpm2_op_sign(struct devid_key *key, const struct devid_sign_params *p,
                       const unsigned char *tbs, size_t tbslen,
                       unsigned char *sig, size_t *siglen);

/** ops->decrypt (TPM 2.0 Part 3 §14.3 TPM2_RSA_Decrypt). */
int devid_tpm2_op_decrypt(struct devid_key *key,
                          const struct devid_dec_params *p,
                          const unsigned char *in, size_t inlen,
                          unsigned char *out, size_t *outlen);

/** ops->derive (TPM 2.0 Part 3 §14.5 TPM2_ECDH_ZGen). */
int devid_tpm2_op_derive(struct devid_key *key, const unsigned char *peer,
                         size_t peer_len, unsigned char *secret,
                         size_t *secretlen);

/** Maps an OpenSSL digest NID to a TPM hash algorithm, or TPM2_ALG_NULL. */
TPM2_ALG_ID devid_tpm2_hash_alg(int md_nid);

#endif
