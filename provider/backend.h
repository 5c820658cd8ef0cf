/* SPDX-License-Identifier: Apache-2.0 */
/* The one interface between the OpenSSL-facing code (provider, engine shim,
 * CLI) and the places keys live (PKCS#11 tokens, TPM 2.0). A backend fills a
 * struct devid_backend_ops; nothing above this header knows PKCS#11 or TSS. */
#ifndef DEVID_BACKEND_H
#define DEVID_BACKEND_H

#include <stddef.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/types.h>

struct devid_prov;
struct devid_backend_ops;

enum devid_key_type {
    DEVID_KEY_NONE = 0,
    DEVID_KEY_RSA,
    DEVID_KEY_EC,
    /* EdDSA keys (RFC 8032): sign only, and only whole messages
     * (DEVID_SIG_EDDSA) */
    DEVID_KEY_ED25519,
    DEVID_KEY_ED448
};

/* What a key can do. Filled by the backend when the key is opened, from the
 * key's attributes and the mechanisms the token/TPM reports. */
#define DEVID_CAP_SIGN_ECDSA 0x0001u    /* ECDSA over a digest */
#define DEVID_CAP_SIGN_PKCS1 0x0002u    /* RSASSA-PKCS1-v1_5 */
#define DEVID_CAP_SIGN_PSS 0x0004u      /* RSASSA-PSS */
#define DEVID_CAP_SIGN_RAW_PKCS1 0x0008u /* PKCS#1 v1.5 over raw input */
#define DEVID_CAP_DECRYPT_PKCS1 0x0010u /* RSAES-PKCS1-v1_5 */
#define DEVID_CAP_DECRYPT_OAEP 0x0020u  /* RSAES-OAEP */
#define DEVID_CAP_DERIVE_ECDH 0x0040u   /* ECDH, raw shared x coordinate */
/* PSS where the hardware picks the salt itself, of the digest's length
 * (a TPM's RSASSA-PSS scheme): other lengths cannot be made. */
#define DEVID_CAP_PSS_SALT_DIGEST 0x0080u
#define DEVID_CAP_DECRYPT_RAW 0x0100u /* raw RSA: c^d mod n, no padding */
/* The hardware hashes what it signs (a TPM's restricted signing key):
 * sign() gets the message itself, to be hashed with md_nid, never a digest
 * made elsewhere; the provider refuses digests for such keys. The
 * provider keeps the whole message (up to 1 MiB) for one sign() call. A
 * backend that can hash only some signatures itself, and can take the
 * message piecewise, uses sign_init and its siblings instead. */
#define DEVID_CAP_SIGN_MESSAGE 0x0200u
#define DEVID_CAP_SIGN_EDDSA 0x0400u /* pure EdDSA over a whole message */

/* The public half of a key, in the form OSSL_PARAMs want it. */
struct devid_pubkey {
    enum devid_key_type type;
    int bits;                 /* RSA modulus bits or EC field bits; EdDSA:
                               * 256 or 456, as OpenSSL counts them */
    char group[32];           /* EC: OpenSSL group name, e.g. "prime256v1" */
    unsigned char *point;     /* EC: uncompressed point 04||X||Y; EdDSA:
                               * the encoded public key of RFC 8032
                               * §5.1.5/§5.2.5 (32 or 57 bytes) */
    size_t point_len;
    unsigned char *n;         /* RSA modulus, big-endian, no leading zero */
    size_t n_len;
    unsigned char *e;         /* RSA public exponent, big-endian */
    size_t e_len;
};

/* A key object as the provider sees it. Created by a backend (search or
 * generate), reference counted, shared between threads: everything here is
 * read-only after creation. */
struct devid_key {
    const struct devid_backend_ops *ops;
    struct devid_prov *prov;
    int refs;                 /* atomic; use devid_key_up_ref/devid_key_free */
    int has_private;          /* a private-key operation is possible */
    unsigned int caps;        /* DEVID_CAP_* */
    struct devid_pubkey pub;
    char *uri;                /* a name that opens this key again */
    char *label;              /* object label, or NULL */
    void *be;                 /* backend-private state */
};

enum devid_sig_scheme {
    DEVID_SIG_ECDSA = 1,      /* output: r||s, each half the field size */
    DEVID_SIG_PKCS1,          /* md_nid == NID_undef: raw PKCS#1 padding */
    DEVID_SIG_PSS,
    /* pure Ed25519/Ed448: the input is the whole message, md_nid
     * NID_undef; output R||S */
    DEVID_SIG_EDDSA
};

struct devid_sign_params {
    enum devid_sig_scheme scheme;
    int md_nid;               /* digest the input was made with */
    int mgf1_nid;             /* PSS only */
    int saltlen;              /* PSS only, in bytes, already resolved */
};

/* A signature in progress over a message the hardware hashes itself (a
 * PKCS#11 hash-and-sign mechanism such as CKM_SHA256_RSA_PKCS_PSS): made
 * by sign_init, fed by sign_update, ended by sign_final, released by
 * sign_free. Each backend defines its own; the provider only holds it. */
struct devid_sign_op;

enum devid_dec_pad {
    DEVID_PAD_PKCS1 = 1,
    DEVID_PAD_OAEP,
    DEVID_PAD_NONE /* only for keys with DEVID_CAP_DECRYPT_RAW;
                               * input and output are modulus-sized */
};

struct devid_dec_params {
    enum devid_dec_pad pad;
    int oaep_md_nid;
    int mgf1_nid;
    const unsigned char *label;
    size_t label_len;
};

/* Most extra generation parameters one key generation carries. */
#define DEVID_GEN_EXTRA_MAX 8

/* An extra generation parameter a backend declared (gen_params): its name
 * and the value as text (an unsigned integer arrives as "0x%x"). The value
 * may be a secret (an auth value): it lives in the secure heap and is
 * wiped by the provider. */
struct devid_gen_extra {
    const char *name; /* the backend's gen_params entry */
    char *value;      /* NUL-terminated */
    size_t len;
};

struct devid_gen_params {
    enum devid_key_type type;
    int bits;                 /* RSA */
    unsigned long exponent;   /* RSA, 0 means 65537 */
    int pss;                  /* RSA: makes only PSS signatures (RSA-PSS) */
    char group[32];           /* EC group name */
    struct devid_gen_extra extra[DEVID_GEN_EXTRA_MAX];
    size_t n_extra;
};

/** The value of the extra generation parameter name, or NULL. */
const struct devid_gen_extra *
devid_gen_extra_get(const struct devid_gen_params *p, const char *name);

enum devid_obj_class {
    DEVID_OBJ_ANY = 0,
    DEVID_OBJ_PRIVKEY = 1,
    DEVID_OBJ_PUBKEY = 2,
    DEVID_OBJ_CERT = 4
};

/* One object found by a search. Valid only during the callback: take a
 * reference (devid_key_up_ref) or copy the DER to keep it. */
struct devid_object {
    enum devid_obj_class cls;
    struct devid_key *key;          /* PRIVKEY and PUBKEY */
    const unsigned char *der;       /* CERT */
    size_t der_len;
    const char *label;              /* may be NULL */
};

/* Returns 1 to go on, 0 to stop the search (not an error). */
typedef int devid_object_cb(const struct devid_object *obj, void *arg);

/* Passphrase source for a login: the application's callback (may be NULL). */
struct devid_pin_cb {
    OSSL_PASSPHRASE_CALLBACK *cb;
    void *arg;
};

/* A setting a backend reads from the provider's openssl.cnf section. The
 * CLI and the tests set the same names through devid_config_set. */
struct devid_backend_setting {
    const char *name; /* e.g. "tcti" */
    const char *help; /* one line, for docs and tests */
};

/* Backend flags (devid_backend_ops.flags). */
/* generate() takes name NULL: the new key then lives in its reference file
 * alone, which the encoder writes ("openssl genpkey -out key.pem" with no
 * name). The first backend in the registry with this flag gets such keys. */
#define DEVID_BACKEND_GEN_UNNAMED 0x0002u
#define DEVID_BACKEND_CERT_BESIDE_KEY                                          \
    0x0001u /* the key's store holds
                                               * certificates too: install
                                               * puts them there by default */

/* A backend describes itself in one of these tables and is listed once in
 * the registry (provider/registry.c). The provider, the engine shim and the
 * CLI reach a backend only through the registry functions below.
 *
 * Every function returns 1 on success and 0 on failure with an error already
 * raised (DEVID_RAISE) that names the input. Functions may be NULL when the
 * backend cannot do the operation; callers raise DEVID_R_NOT_SUPPORTED. */
struct devid_backend_ops {
    const char *name;        /* short, lowercase: "pkcs11" */
    const char *description; /* one line: the keys it serves */
    unsigned int flags;      /* DEVID_BACKEND_* */

    /* ---- key names ----------------------------------------------------- */

    /* URI schemes the provider's store answers for this backend (without
     * the colon), NULL-terminated. May be NULL. */
    const char *const *schemes;

    /* How a user names a key of this backend, for messages ("-pkeyopt
     * uri:<name_help>"). */
    const char *name_help;

    /* An extra key-generation parameter that carries the key's name, for
     * programs written for another provider (NULL: only "uri"). */
    const char *gen_name_param;

    /* Names of further key-generation parameters this backend reads
     * (devid_gen_params.extra), NULL-terminated. May be NULL. */
    const char *const *gen_params;

    /* 1 when name is this backend's kind of name. Must not touch any
     * hardware. */
    int (*handles)(const char *name);

    /* Names a new key next to the one base names, distinguished by stamp
     * (renewal: same token or folder, a new label or file). Sets *out to a
     * string the caller frees with OPENSSL_free, or to NULL when names of
     * this kind cannot be varied (a fixed persistent handle). Returns 0
     * only on allocation failure. May be NULL (never varied). */
    int (*renew_name)(const char *base, const char *stamp, char **out);

    /* ---- reference files ----------------------------------------------- */

    /* PEM labels of the reference files this backend reads, NULL-terminated.
     * May be NULL. */
    const char *const *ref_labels;

    /* Writes the reference to key: the PEM label (static) and a DER body the
     * caller frees with OPENSSL_free. */
    int (*encode_ref)(struct devid_key *key, const char **pem_label,
                      unsigned char **der, size_t *der_len);

    /* Opens the key a reference body names. Returns 1 with *out NULL when
     * the body is not one of this backend's (DER input is recognised by
     * content: every backend is asked in registry order). */
    int (*decode_ref)(struct devid_prov *prov, const unsigned char *der,
                      size_t der_len, const struct devid_pin_cb *pin,
                      struct devid_key **out);

    /* ---- settings ------------------------------------------------------ */

    /* The settings this backend reads, ending with { NULL, NULL }. May be
     * NULL. */
    const struct devid_backend_setting *settings;

    /* Sets one of those settings. *cfg is the backend's own settings
     * object in prov (NULL until the first set; the backend creates it).
     * Raises DEVID_R_BAD_CONFIG naming the setting for a bad value. */
    int (*config_set)(struct devid_prov *prov, void **cfg, const char *name,
                      const char *value);

    /* Wipes and frees a settings object made by config_set. */
    void (*config_free)(void *cfg);

    /* ---- lifecycle ----------------------------------------------------- */

    /* First use in a provider instance: creates the backend's state (no
     * hardware need be touched yet). Called once, under the instance
     * lock, through devid_backend_state. */
    int (*first_use)(struct devid_prov *prov, void **state);

    /* The first use of state in a fork child: drop what belongs to the
     * parent process. Called once per child, under the instance lock, before
     * devid_backend_state returns state there. May be NULL. */
    void (*after_fork)(struct devid_prov *prov, void *state);

    /* At provider load: start now if the backend's settings ask for it
     * (pkcs11-module-load-behavior = early). May be NULL. */
    int (*start_early)(struct devid_prov *prov);

    /* Releases state (never NULL here) at instance teardown. */
    void (*teardown)(struct devid_prov *prov, void *state);

    /* ---- operations ---------------------------------------------------- */

    /* Finds the objects a name designates and calls cb for each, in the
     * order private keys, public keys, certificates. want is a mask of
     * devid_obj_class (0 = all). Logs in when private keys are wanted.
     * Finding nothing is success with no callback. The store's search
     * criteria (OSSL_STORE_find: alias, subject, issuer and serial,
     * fingerprint) never reach a backend: the store asks for the classes
     * they need and checks them itself (provider/store-search.c), so
     * every backend honours them alike. */
    int (*search)(struct devid_prov *prov, const char *name, unsigned int want,
                  const struct devid_pin_cb *pin, devid_object_cb *cb,
                  void *cbarg);

    /* Signs a digest (or raw input for PKCS#1 with md_nid undefined, or
     * the whole message for DEVID_SIG_EDDSA). When sig is NULL, sets
     * *siglen to the maximum size and returns 1. */
    int (*sign)(struct devid_key *key, const struct devid_sign_params *p,
                const unsigned char *tbs, size_t tbslen, unsigned char *sig,
                size_t *siglen);

    /* ---- streamed signatures (optional, all five or none) ----
     * For a DigestSign (EVP_DigestSignInit/Update/Final) the provider
     * calls sign_init once the operation's parameters are final (at its
     * first update, or at final). The backend chooses how the signature
     * is made: *op NULL means "hash in software and call sign() with the
     * digest" (the fast path: sign_init then costs no call to the
     * hardware, no allocation and no lock); a new *op means the hardware
     * must hash the message itself, and the provider passes every update
     * to sign_update and ends with sign_final. Returns 0 with
     * DEVID_R_MECHANISM raised, naming the key and the mechanism, when
     * the key can make no signature with p at all. p->saltlen is resolved
     * as for sign(). */
    int (*sign_init)(struct devid_key *key, const struct devid_sign_params *p,
                     struct devid_sign_op **op);

    /* Feeds len bytes of the message to op. */
    int (*sign_update)(struct devid_sign_op *op, const unsigned char *data,
                       size_t len);

    /* Ends op and writes the signature (r||s for ECDSA, as sign() does);
     * *siglen is the room in sig on entry (the key's maximum, checked by
     * the provider). op can only be freed afterwards. */
    int (*sign_final)(struct devid_sign_op *op, unsigned char *sig,
                      size_t *siglen);

    /* A copy of op (EVP_PKEY_CTX_dup: OpenSSL 3.0's EVP_DigestSignFinal
     * finishes on a copy). When the hardware cannot copy an operation in
     * progress, the copy takes it over and op fails later use with a
     * clear reason. */
    int (*sign_dup)(struct devid_sign_op *op, struct devid_sign_op **out);

    /* Releases op, ended or not (an unfinished operation is abandoned).
     * Accepts NULL. */
    void (*sign_free)(struct devid_sign_op *op);

    /* RSA decryption; out must hold the modulus size. */
    int (*decrypt)(struct devid_key *key, const struct devid_dec_params *p,
                   const unsigned char *in, size_t inlen, unsigned char *out,
                   size_t *outlen);

    /* ECDH with a peer's uncompressed point; writes the x coordinate. */
    int (*derive)(struct devid_key *key, const unsigned char *peer,
                  size_t peer_len, unsigned char *secret, size_t *secretlen);

    /* Creates a non-exportable key pair at name (NULL: see
     * DEVID_BACKEND_GEN_UNNAMED); returns a new reference. */
    int (*generate)(struct devid_prov *prov, const char *name,
                    const struct devid_gen_params *p,
                    const struct devid_pin_cb *pin, struct devid_key **out);

    /* Stores a certificate next to key (same id/label). Optional. */
    int (*store_cert)(struct devid_key *key, const unsigned char *der,
                      size_t der_len, const char *label);

    /* Stores a CA certificate of key's chain in the same place, marked as
     * an authority and without the key's id. Optional. Both store_cert and
     * store_ca_cert add nothing when the same certificate is there. */
    int (*store_ca_cert)(struct devid_key *key, const unsigned char *der,
                         size_t der_len, const char *label);

    /* Stores the leaf certificate der of key in a new place of the key's
     * hardware (a TPM NV index), never in one that exists or is in use, so
     * the certificate in use stays until the caller switches. Sets *where
     * to a name that opens the certificate through search (OPENSSL_free).
     * On failure nothing new is left behind. Only when asked ("install-to
     * = tpm-nv"). Optional. */
    int (*store_cert_new)(struct devid_key *key, const unsigned char *der,
                          size_t der_len, char **where);

    /* Removes a certificate store_cert_new stored at name (and refuses
     * names it cannot have made). One that is not there is success.
     * Optional. */
    int (*delete_cert)(struct devid_prov *prov, const char *name);

    /* Writes what the hardware says about key, as text for "openssl pkey
     * -text": where the key lives and the attributes that limit its use
     * (TPM object attributes, PKCS#11 CKA_* flags). One item per line, each
     * indented by indent spaces. Never prints an auth value or PIN. May be
     * NULL; the provider prints the public half and the name itself. */
    int (*describe)(struct devid_key *key, BIO *out, int indent);

    /* Releases key->be (the common part is freed by devid_key_free). */
    void (*key_free)(struct devid_key *key);

    /* Deletes the key name designates and what belongs to it: PKCS#11
     * destroys the key pair and the certificates with its CKA_ID; TPM
     * removes a key file, or evicts a persistent handle. Only for keys
     * devid made (the CLI asks for no other). A key that is not there is
     * success. Optional (NULL: nothing to delete). */
    int (*delete_key)(struct devid_prov *prov, const char *name,
                      const struct devid_pin_cb *pin);
};

/* ---- the registry (provider/registry.c) ---------------------------------- */

/* Most backends a build can list; the size of devid_prov's slot array. */
#define DEVID_BACKEND_MAX 8

/** Number of backends in this build. */
size_t devid_backend_count(void);

/** The i-th backend in registry order (0 <= i < devid_backend_count()), or
 *  NULL past the end. The table is static: never freed. */
const struct devid_backend_ops *devid_backend_at(size_t i);

/** Returns the backend that handles name, or NULL (no error raised). */
const struct devid_backend_ops *devid_backend_for_name(const char *name);

/** Returns the backend that reads reference files with this PEM label, or
 *  NULL (no error raised). */
const struct devid_backend_ops *devid_backend_for_ref_label(const char *label);

/** Returns the backend's state in prov, created on first use (ops->first_use)
 *  and handed over to a fork child once (ops->after_fork). The state stays
 *  owned by prov. Returns NULL with an error raised on failure. Lock-free
 *  once the state exists in the calling process. */
void *devid_backend_state(struct devid_prov *prov,
                          const struct devid_backend_ops *ops);

/** Returns the backend's state in prov when it exists, without creating it
 *  or handing it to a fork child (teardown paths). Owned by prov. */
void *devid_backend_state_peek(const struct devid_prov *prov,
                               const struct devid_backend_ops *ops);

/** Returns the backend's settings object in prov (made by ops->config_set),
 *  or NULL when none of its settings was given. Owned by prov. */
const void *devid_backend_config(const struct devid_prov *prov,
                                 const struct devid_backend_ops *ops);

/** Opens the first private key that name designates, through the backend
 *  that handles name. Returns 1 with a new reference in *out, or 0 with
 *  DEVID_R_NO_BACKEND or DEVID_R_NO_OBJECT (or the backend's reason)
 *  raised. */
int devid_key_open_name(struct devid_prov *prov, const char *name,
                        const struct devid_pin_cb *pin, struct devid_key **out);

/** Opens the first key that name designates, for a reference file: a
 *  private key, else a public key (a name of one, "type=public"), which then
 *  has has_private 0. Same errors as devid_key_open_name ("no key
 *  matches"). */
int devid_key_open_name_any(struct devid_prov *prov, const char *name,
                            const struct devid_pin_cb *pin,
                            struct devid_key **out);

/** Opens the first certificate that name designates ("type=cert"), through
 *  the backend that handles name. Returns 1 with its DER in *der (the
 *  caller frees it with OPENSSL_free), or 0 with DEVID_R_NO_BACKEND or
 *  DEVID_R_NO_OBJECT (or the backend's reason) raised. */
int devid_cert_open_name(struct devid_prov *prov, const char *name,
                         const struct devid_pin_cb *pin, unsigned char **der,
                         size_t *len);

/** Allocates a zeroed key with one reference, bound to ops and prov. The
 *  caller (a backend) fills it. Returns NULL on allocation failure. */
struct devid_key *devid_key_new(const struct devid_backend_ops *ops,
                                struct devid_prov *prov);

/** Takes one more reference to key. Returns key. */
struct devid_key *devid_key_up_ref(struct devid_key *key);

/** Drops one reference; the last one frees the backend part (ops->key_free)
 *  and the common fields. Accepts NULL. */
void devid_key_free(struct devid_key *key);

/** Size in bytes of the largest signature the key makes (DER for ECDSA;
 *  64 or 114 for Ed25519 and Ed448). */
size_t devid_key_max_sig_len(const struct devid_key *key);

/** OpenSSL's name for the key's type: "EC", "ED25519", "ED448", "RSA", or
 *  "RSA-PSS" for an RSA key that can only make PSS signatures (no PKCS#1
 *  v1.5, no decryption), so OpenSSL picks PSS for it as it does for its own
 *  RSA-PSS keys. */
const char *devid_key_type_name(const struct devid_key *key);

/** EMSA-PSS-ENCODE (provider/rsa-pad.h) of the digest tbs for an RSA key
 *  signed with raw RSA: p's digest, its MGF1 digest (the digest when p names
 *  none) and salt length. Writes the modulus size into em. Returns 1, or 0
 *  when devid's library context cannot be made (DEVID_R_MALLOC raised) or a
 *  digest, the sizes or the random generator fail (nothing raised: the
 *  caller names its key). */
int devid_key_rsa_pad_pss(const struct devid_key *key,
                          const struct devid_sign_params *p,
                          const unsigned char *tbs, size_t tbslen,
                          unsigned char *em);

/** Security bits of the key (NIST SP 800-57 table, as OpenSSL computes;
 *  128 for Ed25519, 224 for Ed448, as RFC 8032 rates them). */
int devid_key_security_bits(const struct devid_key *key);

/** 1 when type is an EdDSA key type (Ed25519 or Ed448). */
int devid_key_type_is_eddsa(enum devid_key_type type);

/** Frees the buffers of a devid_pubkey and zeroes it. Accepts NULL. */
void devid_pubkey_clear(struct devid_pubkey *pub);

#endif
