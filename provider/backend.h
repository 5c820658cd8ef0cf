/* SPDX-License-Identifier: Apache-2.0 */
/* The one interface between the OpenSSL-facing code (provider, engine shim,
 * CLI) and the places keys live (PKCS#11 tokens, TPM 2.0). A backend fills a
 * struct devid_backend_ops; nothing above this header knows PKCS#11 or TSS. */
#ifndef DEVID_BACKEND_H
#define DEVID_BACKEND_H

#include <stddef.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>

struct devid_prov;
struct devid_backend_ops;

enum devid_key_type {
    DEVID_KEY_NONE = 0,
    DEVID_KEY_RSA,
    DEVID_KEY_EC
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

/* The public half of a key, in the form OSSL_PARAMs want it. */
struct devid_pubkey {
    enum devid_key_type type;
    int bits;                 /* RSA modulus bits or EC field bits */
    char group[32];           /* EC: OpenSSL group name, e.g. "prime256v1" */
    unsigned char *point;     /* EC: uncompressed point 04||X||Y */
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
    DEVID_SIG_PSS
};

struct devid_sign_params {
    enum devid_sig_scheme scheme;
    int md_nid;               /* digest the input was made with */
    int mgf1_nid;             /* PSS only */
    int saltlen;              /* PSS only, in bytes, already resolved */
};

enum devid_dec_pad {
    DEVID_PAD_PKCS1 = 1,
    DEVID_PAD_OAEP
};

struct devid_dec_params {
    enum devid_dec_pad pad;
    int oaep_md_nid;
    int mgf1_nid;
    const unsigned char *label;
    size_t label_len;
};

struct devid_gen_params {
    enum devid_key_type type;
    int bits;                 /* RSA */
    unsigned long exponent;   /* RSA, 0 means 65537 */
    char group[32];           /* EC group name */
};

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

/* Every function returns 1 on success and 0 on failure with an error already
 * raised (DEVID_RAISE) that names the input. Functions may be NULL when the
 * backend cannot do the operation; callers raise DEVID_R_NOT_SUPPORTED. */
struct devid_backend_ops {
    const char *name;                     /* "pkcs11", "tpm2" */

    /* 1 when name is this backend's kind of name ("pkcs11:...",
     * "handle:0x81..."). Must not touch any hardware. */
    int (*handles)(const char *name);

    /* Finds the objects a name designates and calls cb for each, in the
     * order private keys, public keys, certificates. want is a mask of
     * devid_obj_class (0 = all). Logs in when private keys are wanted.
     * Finding nothing is success with no callback. */
    int (*search)(struct devid_prov *prov, const char *name, unsigned int want,
                  const struct devid_pin_cb *pin, devid_object_cb *cb,
                  void *cbarg);

    /* Signs a digest (or raw input for PKCS#1 with md_nid undefined). When
     * sig is NULL, sets *siglen to the maximum size and returns 1. */
    int (*sign)(struct devid_key *key, const struct devid_sign_params *p,
                const unsigned char *tbs, size_t tbslen, unsigned char *sig,
                size_t *siglen);

    /* RSA decryption; out must hold the modulus size. */
    int (*decrypt)(struct devid_key *key, const struct devid_dec_params *p,
                   const unsigned char *in, size_t inlen, unsigned char *out,
                   size_t *outlen);

    /* ECDH with a peer's uncompressed point; writes the x coordinate. */
    int (*derive)(struct devid_key *key, const unsigned char *peer,
                  size_t peer_len, unsigned char *secret, size_t *secretlen);

    /* Creates a non-exportable key pair at name; returns a new reference. */
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

    /* Releases key->be (the common part is freed by devid_key_free). */
    void (*key_free)(struct devid_key *key);

    /* Releases all backend state held in prov (module, sessions, TPM). */
    void (*teardown)(struct devid_prov *prov);

    /* Reference files. Optional: without encode_ref a key's reference file
     * is a "PKCS#11 PROVIDER URI" PEM holding key->uri. encode_ref returns
     * the PEM label (static) and a DER body the caller frees with
     * OPENSSL_free; decode_ref opens the key such a body names. */
    int (*encode_ref)(struct devid_key *key, const char **pem_label,
                      unsigned char **der, size_t *der_len);
    int (*decode_ref)(struct devid_prov *prov, const unsigned char *der,
                      size_t der_len, const struct devid_pin_cb *pin,
                      struct devid_key **out);
};

/** Returns the backend that handles name, or NULL (no error raised). */
const struct devid_backend_ops *devid_backend_for_name(const char *name);

/** Allocates a zeroed key with one reference, bound to ops and prov. The
 *  caller (a backend) fills it. Returns NULL on allocation failure. */
struct devid_key *devid_key_new(const struct devid_backend_ops *ops,
                                struct devid_prov *prov);

/** Takes one more reference to key. Returns key. */
struct devid_key *devid_key_up_ref(struct devid_key *key);

/** Drops one reference; the last one frees the backend part (ops->key_free)
 *  and the common fields. Accepts NULL. */
void devid_key_free(struct devid_key *key);

/** Size in bytes of the largest signature the key makes (DER for ECDSA). */
size_t devid_key_max_sig_len(const struct devid_key *key);

/** Security bits of the key (NIST SP 800-57 table, as OpenSSL computes). */
int devid_key_security_bits(const struct devid_key *key);

/** Frees the buffers of a devid_pubkey and zeroes it. Accepts NULL. */
void devid_pubkey_clear(struct devid_pubkey *pub);

extern const struct devid_backend_ops devid_pkcs11_backend;
#ifdef DEVID_HAVE_TPM2
extern const struct devid_backend_ops devid_tpm2_backend;
#endif

#endif
