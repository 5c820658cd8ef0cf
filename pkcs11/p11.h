/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interface of the PKCS#11 backend: the state kept per provider
 * instance (modules, tokens, session pools), parsed URIs and key objects.
 * Nothing outside pkcs11/ includes this header except the unit tests. */
#ifndef DEVID_P11_H
#define DEVID_P11_H

#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/types.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "provider/backend.h"
#include "provider/prov.h"

/* Mechanisms a token offers, as bits (read once per token). */
#define DEVID_P11_MECH_ECDSA 0x01u
#define DEVID_P11_MECH_RSA_PKCS 0x02u
#define DEVID_P11_MECH_RSA_PSS 0x04u
#define DEVID_P11_MECH_RSA_OAEP 0x08u
#define DEVID_P11_MECH_ECDH 0x10u

/* The mechanisms devid uses, as bits of a devid_p11_mset (mech.c): the
 * plain ones, then a row of hash-and-sign mechanisms per scheme, one per
 * digest of DEVID_P11_NMD (SHA-1, SHA-2 and SHA-3 sizes). */
typedef unsigned long long devid_p11_mset;
#define DEVID_P11_BIT(b) (1ULL << (b))
#define DEVID_P11_B_ECDSA 0
#define DEVID_P11_B_RSA_PKCS 1
#define DEVID_P11_B_RSA_PSS 2
#define DEVID_P11_B_RSA_X509 3
#define DEVID_P11_B_RSA_OAEP 4
#define DEVID_P11_B_ECDH 5
#define DEVID_P11_NMD 9
#define DEVID_P11_B_HASHED_ECDSA 6
#define DEVID_P11_B_HASHED_PKCS1 (DEVID_P11_B_HASHED_ECDSA + DEVID_P11_NMD)
#define DEVID_P11_B_HASHED_PSS (DEVID_P11_B_HASHED_PKCS1 + DEVID_P11_NMD)
/* pure EdDSA (PKCS #11 v3.0 §2.3.14), after the rows */
#define DEVID_P11_B_EDDSA (DEVID_P11_B_HASHED_PSS + DEVID_P11_NMD)
#define DEVID_P11_NMECH (DEVID_P11_B_EDDSA + 1)

/* At most this many sessions per token when the token sets no limit. */
#define DEVID_P11_POOL_MAX 32
/* At most this many refused PINs remembered per token. */
#define DEVID_P11_BAD_PINS 8
#define DEVID_P11_PIN_MAX 256

struct devid_p11;

/* The backend's table (backend-pkcs11.c), listed in provider/registry.c. */
extern const struct devid_backend_ops devid_pkcs11_backend;

/* The backend's provider settings (config.c), from openssl.cnf or the CLI. */
struct devid_p11_cfg {
    char *module_path; /* pkcs11-module-path */
    char *pin;         /* pkcs11-module-token-pin (secure heap) */
    size_t pin_len;
    int load_early; /* pkcs11-module-load-behavior = early */
    int cache_pins; /* pkcs11-module-cache-pins = cache */
    int pin_file_group; /* pkcs11-pin-file-group-readable = yes */
    int no_key_copy; /* pkcs11-module-key-copy = none */
};

/* A PKCS#11 module loaded through p11-kit. */
struct devid_p11_module {
    char *path;                  /* as loaded: path, or p11-kit name */
    char *name;                  /* p11-kit's name for it, or NULL */
    CK_FUNCTION_LIST *fn;        /* p11-kit managed function list */
    CK_INFO info;
    int initialized;             /* C_Initialize succeeded in this process */
    int named;                   /* loaded for a URI's module-path: key
                                  * URIs carry it to reopen the key */
    struct timespec restarted;   /* last restart (recover.c), monotonic */
};

/* A token in a slot of a module, with its session pool and login state. */
struct devid_p11_token {
    struct devid_p11 *p11;
    struct devid_p11_module *mod;
    CK_SLOT_ID slot;
    CK_SLOT_INFO slot_info;
    CK_TOKEN_INFO info;
    unsigned int mechs;          /* DEVID_P11_MECH_* */
    devid_p11_mset mset;         /* the mechanisms devid uses (mech.c) */
    unsigned long gen;           /* p11 generation slot/sessions belong to */
    /* idle sessions, max slots, CK_INVALID_HANDLE when empty: taken and
     * given back with one atomic exchange each, no lock (session.c) */
    CK_SESSION_HANDLE *idle;
    size_t max;
    int nwait;                   /* threads waiting for a session (atomic) */
    pthread_mutex_t lock;        /* guards everything below */
    pthread_cond_t cond;         /* a session came back to the pool */
    CK_SESSION_HANDLE anchor;    /* held open so the login lasts; holds
                                  * the keys' session copies (copy.c) */
    int has_anchor;
    unsigned long anchor_gen;    /* bumped each time an anchor is opened */
    size_t nopen;                /* pooled sessions open, idle or in use */
    unsigned long epoch;         /* bumped when the module restarts: the
                                  * sessions taken before are gone */
    int logged_in;
    unsigned char *bad_pins;     /* secure heap: refused PINs, see login.c */
    size_t nbad;
    unsigned char salt[16];
    char *pin;                   /* secure heap: cached for re-login */
    size_t pin_len;
};

/* The backend's state in a provider instance (prov->p11). */
struct devid_p11 {
    struct devid_prov *prov;
    pthread_mutex_t lock;        /* guards modules, tokens, pid, gen */
    pid_t pid;                   /* process the state belongs to */
    unsigned long gen;           /* bumped at each re-initialisation */
    struct devid_p11_module **mods;
    size_t nmods;
    int all_loaded;              /* p11-kit's registered modules loaded */
    struct devid_p11_token **toks;
    size_t ntoks;
    int dead;                    /* modules finalized at exit: no calls */
    struct devid_p11 *next_live; /* list of states the exit handler sees */
};

/* A parsed RFC 7512 URI. */
struct devid_p11_uri {
    P11KitUri *uri;
    char *safe;                  /* the text without pin-value, for messages */
    CK_SLOT_ID slot_id;          /* (CK_SLOT_ID)-1 when absent */
    int has_class;
    CK_OBJECT_CLASS cls;
};

/* Where a private key's operations run (devid_p11_key.copy_state). A key
 * is copied into a session object on its second signature: a process that
 * signs once (curl, openssl dgst) never pays for a copy. */
#define DEVID_P11_COPY_UNUSED 0  /* not used yet: the token object */
#define DEVID_P11_COPY_WANTED 1  /* used once: the next use makes the copy */
#define DEVID_P11_COPY_READY 2   /* operations run on the session copy */
#define DEVID_P11_COPY_NONE 3    /* refused or turned off: the token object */

/* Backend part of a devid_key (key->be). */
struct devid_p11_key {
    struct devid_p11_token *tok;
    CK_OBJECT_HANDLE h;          /* the token object (atomic) */
    unsigned long gen;           /* generation h was found in */
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE kt;
    unsigned char *id;
    size_t id_len;
    devid_p11_mset mset; /* the token's, less what the key's
                                  * CKA_ALLOWED_MECHANISMS leaves out */
    /* the session copy (copy.c): state read without a lock on the signing
     * path, changed under tok->lock (but UNUSED -> WANTED) */
    int copy_state;              /* DEVID_P11_COPY_* (atomic) */
    CK_OBJECT_HANDLE copy;       /* in tok->anchor when READY (atomic) */
    unsigned long copy_anchor;   /* tok->anchor_gen the copy was made in */
    int always_auth;             /* CKA_ALWAYS_AUTHENTICATE: a context
                                  * login after each *Init (login.c) */
};

/* ---- uri.c ------------------------------------------------------------ */

/** Parses a pkcs11: URI. On success *out is a new URI the caller frees with
 *  devid_p11_uri_free. Returns 1, or 0 with DEVID_R_BAD_URI raised (the
 *  message quotes the URI without any pin-value). */
int devid_p11_uri_parse(struct devid_prov *prov, const char *text,
                        struct devid_p11_uri **out);

/** Frees a parsed URI. Accepts NULL. */
void devid_p11_uri_free(struct devid_p11_uri *u);

/** Returns a copy of text with the value of every pin-value attribute
 *  replaced by "***" (OPENSSL_free it), or NULL on allocation failure. */
char *devid_p11_uri_redact(const char *text);

/** Returns 1 when the module, slot and token named by u match the given
 *  ones (attributes absent from u match anything), else 0. */
int devid_p11_uri_match_token(const struct devid_p11_uri *u,
                              const CK_INFO *mod, CK_SLOT_ID slot,
                              const CK_SLOT_INFO *si, const CK_TOKEN_INFO *ti);

/** Returns the module-path, module-name of u, or NULL when absent. */
const char *devid_p11_uri_module_path(const struct devid_p11_uri *u);
const char *devid_p11_uri_module_name(const struct devid_p11_uri *u);

/** Returns the CKA_ID / CKA_LABEL attribute of u, or NULL when absent. */
const CK_ATTRIBUTE *devid_p11_uri_attr(const struct devid_p11_uri *u,
                                       CK_ATTRIBUTE_TYPE type);

/** Makes the canonical URI of an object: token label, manufacturer, model,
 *  serial, then id, object and type, plus module-path when given; never a
 *  PIN. Returns a string the caller frees with OPENSSL_free, or NULL. */
char *devid_p11_uri_make(const CK_TOKEN_INFO *ti, const unsigned char *id,
                         size_t id_len, const char *label, CK_OBJECT_CLASS cls,
                         const char *module_path);

/* ---- config.c --------------------------------------------------------- */

/* The setting names and their help, ending with { NULL, NULL }. */
extern const struct devid_backend_setting devid_p11_settings[];

/** Returns the instance's PKCS#11 settings (defaults when none was set).
 *  Owned by the instance. */
const struct devid_p11_cfg *devid_p11_cfg_get(const struct devid_prov *prov);

/** devid_backend_ops.config_set: parses one setting into *cfg (created on
 *  the first call). Raises DEVID_R_BAD_CONFIG or DEVID_R_PIN_SOURCE naming
 *  the setting. */
int devid_p11_cfg_set(struct devid_prov *prov, void **cfg, const char *name,
                      const char *value);

/** devid_backend_ops.config_free: wipes the PIN and frees cfg. */
void devid_p11_cfg_free(void *cfg);

/* ---- module.c --------------------------------------------------------- */

/** Returns the instance's PKCS#11 state, creating it on first use and
 *  re-initialising it in a child after fork() (through the registry's
 *  devid_backend_state). Loads no module. Returns NULL with an error raised
 *  on failure. The state stays owned by the instance. */
struct devid_p11 *devid_p11_get(struct devid_prov *prov);

/** devid_backend_ops.first_use: a new, empty state in *state. */
int devid_p11_first_use(struct devid_prov *prov, void **state);

/** devid_backend_ops.after_fork: drops the parent's sessions and logins and
 *  initialises every module again. */
void devid_p11_after_fork_hook(struct devid_prov *prov, void *state);

/** Loads (once) the modules u designates: module-path, module-name, the
 *  configured module, else all modules registered with p11-kit. Call with
 *  p11->lock held. Returns 1, or 0 with DEVID_R_MODULE_LOAD raised. */
int devid_p11_module_load_for(struct devid_p11 *p11,
                              const struct devid_p11_uri *u);

/** Returns 1 when the loaded module m may hold what u names (its
 *  module-path, module-name, else the configured module, else any). */
int devid_p11_module_wanted(const struct devid_p11 *p11,
                            const struct devid_p11_module *m,
                            const struct devid_p11_uri *u);

/** Lists the initialised tokens matching u (module, slot, token
 *  attributes) into a new array of borrowed pointers (*out, OPENSSL_free it). Loads modules as
 *  needed. Returns 1 (possibly with zero tokens) or 0 with an error. */
int devid_p11_token_list(struct devid_p11 *p11, const struct devid_p11_uri *u,
                         struct devid_p11_token ***out, size_t *n);

/** Picks the token to create a key in among the n tokens a URI matched
 *  (what names the URI in messages): write-protected ones are left out.
 *  Returns a borrowed token, or NULL with DEVID_R_NO_TOKEN raised (none
 *  left) or DEVID_R_AMBIGUOUS naming each candidate's label and serial. */
struct devid_p11_token *devid_p11_token_pick(struct devid_prov *prov,
                                             const char *what,
                                             struct devid_p11_token **toks,
                                             size_t n);

/** Makes tok usable in this process generation (slot found again after a
 *  fork). Returns 1 or 0 with DEVID_R_NO_TOKEN raised. */
int devid_p11_token_refresh(struct devid_p11_token *tok);

/** Finalizes every module once and marks the state dead (exit handler). */
void devid_p11_shutdown(struct devid_p11 *p11);

/** Frees the state of an instance (teardown). Accepts NULL. */
void devid_p11_free(struct devid_p11 *p11);

/** devid_backend_ops.teardown: devid_p11_free on the instance's state. */
void devid_p11_teardown(struct devid_prov *prov, void *state);

/** Returns the length of a blank-padded CK_*_INFO string without its
 *  trailing blanks. */
int devid_p11_blank_len(const CK_UTF8CHAR *s, size_t n);

/* printf arguments for a blank-padded label with "%.*s" */
#define DEVID_P11_LABEL(l)                                                     \
    devid_p11_blank_len((l), sizeof(l)), (const char *)(l)

/** Raises one error for a failed PKCS#11 call: the reason fits rv, the
 *  message is "fn: CKR_NAME (0xrv)" plus the printf-style context. */
void devid_p11_raise_rv(struct devid_prov *prov, const char *fn, CK_RV rv,
                        const char *ctx);

/** Returns the name of a CKR_ value ("CKR_DEVICE_ERROR"), or "CKR_?". */
const char *devid_p11_rv_name(CK_RV rv);

/** devid_backend_ops.start_early: when pkcs11-module-load-behavior is
 *  early, loads the configured module (or p11-kit's registered ones) now.
 *  Returns 1, or 0 with DEVID_R_MODULE_LOAD raised. */
int devid_p11_start_early(struct devid_prov *prov);

/* ---- session.c -------------------------------------------------------- */

/** Takes an open RW session of tok from its pool, opening one when none is
 *  idle and the token allows more; waits when the pool is at its limit.
 *  Returns CKR_OK or the failing call's code (not raised). */
CK_RV devid_p11_session_take(struct devid_p11_token *tok,
                             CK_SESSION_HANDLE *out);

/** Gives a session back. With broken set (the session failed in a way that
 *  may leave an operation active) it is closed instead. A session taken
 *  before the module restarted (devid_p11_session_reset) is only counted
 *  out: its handle may name another session now. */
void devid_p11_session_give(struct devid_p11_token *tok, CK_SESSION_HANDLE s,
                            int broken);

/** Forgets every session of tok without closing them (after fork, or once
 *  the module is finalized). Call with tok->lock held. */
void devid_p11_session_forget(struct devid_p11_token *tok);

/** After a call failed with a session error: 1 when the token has lost its
 *  sessions (the anchor is gone or logged out). Then every idle session is
 *  closed, the login is forgotten and the generation is bumped, so that the
 *  next use logs in again and finds its key again (as after a fork). 0 when
 *  the anchor is still fine: only one session was bad. */
int devid_p11_session_lost(struct devid_p11_token *tok);

/** The module of tok was finalized and initialised again: every session
 *  of tok is gone. Forgets the idle ones and the anchor without a call
 *  (their handles may name new sessions now), forgets the login, and bumps
 *  tok->epoch so that sessions in use are dropped, not pooled or closed,
 *  when given back. Call with p11->lock held, not tok->lock. */
void devid_p11_session_reset(struct devid_p11_token *tok);

/** Opens the token's anchor session (tok->anchor) unless it is open.
 *  Call with tok->lock held. Returns CKR_OK or the C_OpenSession code. */
CK_RV devid_p11_session_anchor(struct devid_p11_token *tok);

/* ---- key-delete.c ----------------------------------------------------- */

/** devid_backend_ops.delete_key: destroys the private key name designates
 *  and every object with its CKA_ID (public key, certificates). Returns 1
 *  (also when there is no such key), or 0 with an error raised. */
int devid_p11_key_delete(struct devid_prov *prov, const char *name,
                         const struct devid_pin_cb *pin);

/** Destroys the certificate objects of tok with CKA_ID id except keep: a
 *  key's leaf certificates that a new one replaced. Returns CKR_OK or the
 *  failing call's code (not raised). */
CK_RV devid_p11_certs_replace(struct devid_p11_token *tok, CK_SESSION_HANDLE s,
                              const unsigned char *id, size_t id_len,
                              CK_OBJECT_HANDLE keep);

/* ---- login.c ---------------------------------------------------------- */

/** Logs the user in to tok once, when the token needs it. The PIN comes
 *  from u's pin-value, u's pin-source, the configured PIN or the callback,
 *  in that order. Returns 1, or 0 with DEVID_R_PIN_REQUIRED,
 *  DEVID_R_PIN_INCORRECT, DEVID_R_PIN_LOCKED, DEVID_R_PIN_REFUSED_BEFORE,
 *  DEVID_R_PIN_SOURCE or DEVID_R_TOKEN_ERROR raised. u and pin may be NULL
 *  (re-login with the cached PIN). */
int devid_p11_login(struct devid_p11_token *tok, const struct devid_p11_uri *u,
                    const struct devid_pin_cb *pin);

/** The context-specific login (PKCS #11 v2.40 §5.6, CKU_CONTEXT_SPECIFIC)
 *  an always-authenticate key needs on session s right after C_SignInit or
 *  C_DecryptInit. The PIN is the one the user login kept (pin-value,
 *  pin-source, configured PIN; a callback's only when PINs are cached), else
 *  the configured PIN; a PIN the token refused before is not sent. Returns
 *  CKR_OK, or DEVID_P11_RAISED with DEVID_R_PIN_REQUIRED,
 *  DEVID_R_PIN_INCORRECT, DEVID_R_PIN_LOCKED, DEVID_R_PIN_REFUSED_BEFORE or
 *  a token error raised. */
CK_RV devid_p11_login_context(struct devid_key *key,
                              struct devid_p11_token *tok, CK_SESSION_HANDLE s);

/* A CK_RV of our own (vendor range): the failure is already raised. */
#define DEVID_P11_RAISED (CKR_VENDOR_DEFINED | 0xde1dUL)

/** Frees the login secrets of tok. */
void devid_p11_login_clear(struct devid_p11_token *tok);

/* ---- object.c --------------------------------------------------------- */

/** Finds the objects of u in tok, of the classes in want, and calls cb for
 *  each in the order private keys, public keys, certificates. Returns 1
 *  (*stop set when cb asked to stop) or 0 with an error raised. */
int devid_p11_object_search(struct devid_p11_token *tok,
                            const struct devid_p11_uri *u, unsigned int want,
                            devid_object_cb *cb, void *cbarg, int *stop);

/** Makes a key object for the key handle h of tok (reads its attributes and
 *  public half). Returns a new key (one reference) or NULL with an error. */
struct devid_key *devid_p11_object_key_new(struct devid_p11_token *tok,
                                           CK_SESSION_HANDLE s,
                                           CK_OBJECT_HANDLE h,
                                           CK_OBJECT_CLASS cls);

/** Finds the key object of key again after a re-initialisation (fork).
 *  Returns 1, or 0 with DEVID_R_NO_OBJECT or a token error raised. */
int devid_p11_object_refind(struct devid_key *key);

/** Reads one attribute into a new buffer (*out, OPENSSL_free it).
 *  Returns the call's CKR (not raised); CKR_OK with *out NULL and *len 0
 *  for an empty value. */
CK_RV devid_p11_object_get_attr(struct devid_p11_token *tok,
                                CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                                CK_ATTRIBUTE_TYPE type, unsigned char **out,
                                size_t *len);

/** The object of class cls with the same CKA_ID as the key k (its public
 *  key or certificate), or CK_INVALID_HANDLE. */
CK_OBJECT_HANDLE devid_p11_object_sibling(struct devid_p11_token *tok,
                                          CK_SESSION_HANDLE s,
                                          const struct devid_p11_key *k,
                                          CK_OBJECT_CLASS cls);

/** Fills pub->point (a new buffer) with the encoded public key of the
 *  certificate object h (OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY). Returns 1,
 *  or 0 (nothing raised) when h holds no such certificate. */
int devid_p11_ec_point_from_cert(struct devid_p11_token *tok,
                                 CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                                 struct devid_pubkey *pub);

/* ---- object-ed.c ------------------------------------------------------ */

/** Reads the public half of the Edwards-curve key k (CKK_EC_EDWARDS) into
 *  pub: its type from CKA_EC_PARAMS, its encoded point from CKA_EC_POINT
 *  of the key, its public key object or its certificate. Returns 1, or 0
 *  (nothing raised: the caller names the key) for another curve or no
 *  public key. */
int devid_p11_pub_ed(struct devid_p11_token *tok, CK_SESSION_HANDLE s,
                     const struct devid_p11_key *k, struct devid_pubkey *pub);

/** The key type the DER value of CKA_EC_PARAMS names: DEVID_KEY_ED25519
 *  or DEVID_KEY_ED448 for either form v3.0 §2.3.5 allows (the RFC 8410
 *  OID, the PrintableString curve name), else DEVID_KEY_NONE. */
enum devid_key_type devid_p11_ed_type(const unsigned char *v, size_t len);

/** Sets pub->point to the encoded key in der, the CKA_EC_POINT of a key of
 *  type pub->type (a DER OCTET STRING, or the bare key). Takes ownership of
 *  der (freed, or kept as pub->point). Returns 1, or 0 when der holds no
 *  key of that size (DEVID_R_MALLOC raised only on allocation failure). */
int devid_p11_ed_point(struct devid_prov *prov, unsigned char *der, size_t len,
                       struct devid_pubkey *pub);

/** CKA_EC_PARAMS for a new key of type (Ed25519 or Ed448): the DER of a
 *  PrintableString curve name (PKCS #11 v3.0 §2.3.10). Returns a static
 *  buffer and its length in *len, or NULL for another type. */
const unsigned char *devid_p11_ed_gen_params(enum devid_key_type type,
                                             size_t *len);

/* ---- copy.c ----------------------------------------------------------- */

/** The object a private-key operation of key runs on: the session copy
 *  when there is one, else the token object. On the key's second use it
 *  makes the copy (C_CopyObject with CKA_TOKEN false, in the anchor
 *  session), unless pkcs11-module-key-copy is none; a token that refuses
 *  it, or gives a copy less protected than the original, leaves the key on
 *  its token object, silently. Never raises. Lock-free once settled. */
CK_OBJECT_HANDLE devid_p11_copy_handle(struct devid_key *key,
                                       struct devid_p11_token *tok);

/** An operation on h failed with an invalid handle: when h is the key's
 *  copy, drop it (the next use makes another) and return 1. */
int devid_p11_copy_lost(struct devid_key *key, CK_OBJECT_HANDLE h);

/** The key's object was found again (k->h is new): keep the copy when its
 *  anchor session is still the one it was made in, else forget it so the
 *  next use makes one. Call with p11->lock held. */
void devid_p11_copy_refound(struct devid_key *key);

/** Destroys the key's copy, when this process's anchor holds it (key
 *  free). Makes no call after fork or once the module is finalized. */
void devid_p11_copy_free(struct devid_key *key);

/* ---- describe.c ------------------------------------------------------- */

/** Prints the key's token, module, CKA_ID and boolean attributes, one line
 *  each at indent (the backend's describe). Returns 1, or 0 with a token
 *  error raised. */
int devid_p11_key_describe(struct devid_key *key, BIO *out, int indent);

/* ---- mech.c ----------------------------------------------------------- */

/* A digest as PKCS #11 and RFC 8017 name it. */
struct devid_p11_md {
    int nid;
    CK_MECHANISM_TYPE ckm;
    CK_RSA_PKCS_MGF_TYPE mgf;
    size_t len;
    unsigned char oid; /* last arc under 2.16.840.1.101.3.4.2 */
};

/* How a signature is made (devid_p11_mech_plan). */
enum devid_p11_route {
    DEVID_P11_ROUTE_TOKEN = 1, /* over the digest, padded by the token */
    DEVID_P11_ROUTE_X509,      /* over the digest, padded here, raw RSA */
    DEVID_P11_ROUTE_HASHED     /* over the message, hashed by the token */
};

struct devid_p11_plan {
    enum devid_p11_route route;
    CK_MECHANISM_TYPE ckm;
    const struct devid_p11_md *md; /* NULL for raw PKCS#1 */
};

/** The digest with OpenSSL's nid, or NULL. Static storage. */
const struct devid_p11_md *devid_p11_md_find(int nid);

/** Writes the DER DigestInfo of dgst (md->len bytes) into out (at least
 *  83 bytes) and returns its length. */
size_t devid_p11_digest_info(const struct devid_p11_md *md,
                             const unsigned char *dgst, unsigned char *out);

/** The set of the mechanisms in list that devid uses. */
devid_p11_mset devid_p11_mech_set(const CK_MECHANISM_TYPE *list, size_t n);

/** Reads the token's mechanism list into a set (0 when it cannot). */
devid_p11_mset devid_p11_mech_token(CK_FUNCTION_LIST *fn, CK_SLOT_ID slot);

/** The mechanisms key object h of tok may use: the token's, less those
 *  its CKA_ALLOWED_MECHANISMS leaves out. */
devid_p11_mset devid_p11_mech_key(struct devid_p11_token *tok,
                                  CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h);

/** The DEVID_CAP_* of an EC or RSA key (kt; 0 for other types) with
 *  mechanisms m and the given CKA_SIGN, CKA_DECRYPT and CKA_DERIVE. */
unsigned int devid_p11_mech_caps(devid_p11_mset m, CK_KEY_TYPE kt, int sign,
                                 int dec, int derive);

/** Chooses the mechanism for a signature of key with p. Returns 1, or 0
 *  with DEVID_R_MECHANISM raised naming the key and the mechanisms it
 *  lacks. No call to the token. */
int devid_p11_mech_plan(const struct devid_key *key,
                        const struct devid_sign_params *p,
                        struct devid_p11_plan *plan);

/** The name of a mechanism devid uses ("CKM_ECDSA_SHA256"), or "CKM_?". */
const char *devid_p11_mech_name(CK_MECHANISM_TYPE ckm);

/** Prints one line naming the mechanisms in m (openssl pkey -text). */
int devid_p11_mech_print(BIO *out, int indent, devid_p11_mset m);

/* ---- sign-hashed.c ---------------------------------------------------- */

/** The backend's streamed signature (backend.h sign_init and its
 *  siblings) for keys that need a hash-and-sign mechanism. */
int devid_p11_sign_init(struct devid_key *key,
                        const struct devid_sign_params *p,
                        struct devid_sign_op **op);
int devid_p11_sign_update(struct devid_sign_op *op, const unsigned char *data,
                          size_t len);
int devid_p11_sign_final(struct devid_sign_op *op, unsigned char *sig,
                         size_t *siglen);
int devid_p11_sign_dup(struct devid_sign_op *op, struct devid_sign_op **out);
void devid_p11_sign_free(struct devid_sign_op *op);

/* ---- ops.c ------------------------------------------------------------ */

/** Signs in on pooled session with mech (retried once on a lost copy or
 *  session, as every signature is). Returns 1, or 0 with the failing
 *  call's reason raised. */
int devid_p11_sign_call(struct devid_key *key, CK_MECHANISM *mech,
                        const unsigned char *in, size_t inlen,
                        unsigned char *sig, size_t *siglen);

/** The private-key operations of the ops table (see backend.h). */
int devid_p11_ops_sign(struct devid_key *key, const struct devid_sign_params *p,
                       const unsigned char *tbs, size_t tbslen,
                       unsigned char *sig, size_t *siglen);
int devid_p11_ops_decrypt(struct devid_key *key,
                          const struct devid_dec_params *p,
                          const unsigned char *in, size_t inlen,
                          unsigned char *out, size_t *outlen);
int devid_p11_ops_derive(struct devid_key *key, const unsigned char *peer,
                         size_t peer_len, unsigned char *secret,
                         size_t *secretlen);

/** Makes key usable in this process (re-login, re-find after fork) and
 *  returns its token. Returns NULL with an error raised. */
struct devid_p11_token *devid_p11_ops_ready(struct devid_key *key);

/* ---- recover.c -------------------------------------------------------- */

/* SIGPIPE blocked around calls into a module (see recover.c). */
struct devid_p11_sigpipe {
    sigset_t old;
    int blocked;
};

/** Blocks SIGPIPE in the calling thread, unless it is blocked already. */
void devid_p11_sigpipe_block(struct devid_p11_sigpipe *g);

/** Takes a SIGPIPE the module left pending (when check is set: after a
 *  failure) and restores the thread's signal mask. */
void devid_p11_sigpipe_restore(struct devid_p11_sigpipe *g, int check);

/* Runs the expression call, which enters the module, with SIGPIPE blocked;
 * its value goes to ret. */
#define DEVID_P11_GUARDED(ret, call)                                           \
    do {                                                                       \
        struct devid_p11_sigpipe devid_g_;                                     \
        devid_p11_sigpipe_block(&devid_g_);                                    \
        (ret) = (call);                                                        \
        devid_p11_sigpipe_restore(&devid_g_, 1);                               \
    } while (0)

/** Finalizes the module m and initialises it again (a module that stopped
 *  answering, or that shows no slot: p11-kit's client connects to its
 *  server only in C_Initialize), at most once per half second unless force
 *  is set (the module answers nothing at all). Every
 *  session and login of its tokens is forgotten, and the generation bumped
 *  so keys find their objects again. Call with p11->lock held. Returns 1
 *  when the module is initialised afterwards. Never raises. */
int devid_p11_module_restart_locked(struct devid_p11 *p11,
                                    struct devid_p11_module *m, int force);

/** After a private-key operation of key on tok failed with rv on object h:
 *  puts the token's state in order for the next try (drops a lost copy,
 *  forgets lost sessions and login, restarts a module that stopped
 *  answering, has the key find its object again). Returns 1 when the guard
 *  should make the operation once more (then an error mark is set), 0 when
 *  rv is not about a lost token, or this was the second try. */
int devid_p11_recover(struct devid_key *key, struct devid_p11_token *tok,
                      CK_RV rv, CK_OBJECT_HANDLE h);

/** The private-key operations of the backend's table: the ops.c ones with
 *  SIGPIPE blocked, and made once more when devid_p11_recover says so. */
int devid_p11_guard_sign(struct devid_key *key,
                         const struct devid_sign_params *p,
                         const unsigned char *tbs, size_t tbslen,
                         unsigned char *sig, size_t *siglen);
int devid_p11_guard_decrypt(struct devid_key *key,
                            const struct devid_dec_params *p,
                            const unsigned char *in, size_t inlen,
                            unsigned char *out, size_t *outlen);
int devid_p11_guard_derive(struct devid_key *key, const unsigned char *peer,
                           size_t peer_len, unsigned char *secret,
                           size_t *secretlen);

/** devid_p11_sign_call, guarded and made once more like guard_sign: a
 *  hash-and-sign signature over a message kept whole (sign-hashed.c). */
int devid_p11_guard_sign_call(struct devid_key *key, CK_MECHANISM *mech,
                              const unsigned char *in, size_t inlen,
                              unsigned char *sig, size_t *siglen);

/** The streamed signature entries of the backend's table (sign-hashed.c)
 *  with SIGPIPE blocked. A streamed operation holds its session and is not
 *  made again: a token lost in the middle fails it with a clear reason. */
int devid_p11_guard_sign_update(struct devid_sign_op *op,
                                const unsigned char *data, size_t len);
int devid_p11_guard_sign_final(struct devid_sign_op *op, unsigned char *sig,
                               size_t *siglen);
void devid_p11_guard_sign_free(struct devid_sign_op *op);

#endif
