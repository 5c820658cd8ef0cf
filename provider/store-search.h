/* SPDX-License-Identifier: Apache-2.0 */
/* Search criteria of the store (OSSL_STORE_SEARCH: alias, subject, issuer
 * and serial, fingerprint), checked in software on the objects a backend
 * finds for a name, so that every backend honours all of them. */
#ifndef DEVID_STORE_SEARCH_H
#define DEVID_STORE_SEARCH_H

#include <stddef.h>
#include <openssl/core.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "provider/backend.h"

struct devid_store_search {
    char *alias;        /* the object's label */
    X509_NAME *subject; /* a certificate's subject, or a key's cert's */
    X509_NAME *issuer;  /* with serial: one certificate */
    ASN1_INTEGER *serial;
    EVP_MD *md;        /* with fp: digest of a certificate's DER or */
    unsigned char *fp; /* of a key's SubjectPublicKeyInfo */
    size_t fp_len;
};

/** The store's settable parameters: the expected type and every
 *  criterion (what OSSL_STORE_supports_search asks about). Static. */
const OSSL_PARAM *devid_store_search_settable(void);

/** Reads the criteria among params into s (replacing earlier ones).
 *  Returns 1, or 0 with DEVID_R_INVALID_PARAM raised for a criterion that
 *  cannot be honoured (an unknown digest, a fingerprint of the wrong size
 *  or without its digest, an issuer without a serial) or DEVID_R_MALLOC. */
int devid_store_search_set(struct devid_prov *prov,
                           struct devid_store_search *s,
                           const OSSL_PARAM params[]);

/** 1 when s holds any criterion. */
int devid_store_search_any(const struct devid_store_search *s);

/** The classes (devid_obj_class mask, 0 = all) to ask the backend for when
 *  the caller wants want: certificates too when keys are searched by
 *  subject (a key matches through its certificate). */
unsigned int devid_store_search_want(const struct devid_store_search *s,
                                     unsigned int want);

/** One object the backend found, as the store keeps it. */
struct devid_store_item {
    enum devid_obj_class cls;
    struct devid_key *key;
    unsigned char *der;
    size_t der_len;
    char *label;
};

/** Keeps the items of the n in items that meet every criterion of s and
 *  are of a class in want (0 = all); frees the others, moves the kept ones
 *  to the front and sets *kept to how many there are. A key meets a
 *  subject when a found certificate with that subject holds its public
 *  key. Returns 1, or 0 with DEVID_R_MALLOC raised (items untouched). */
int devid_store_search_filter(struct devid_prov *prov,
                              const struct devid_store_search *s,
                              unsigned int want, struct devid_store_item *items,
                              size_t n, size_t *kept);

/** Frees one item's contents. */
void devid_store_item_clear(struct devid_store_item *item);

/** Frees the criteria of s and zeroes it. */
void devid_store_search_clear(struct devid_store_search *s);

#endif
