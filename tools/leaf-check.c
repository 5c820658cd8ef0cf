/* SPDX-License-Identifier: Apache-2.0 */
/* The checks an issued chain passes before it may replace an identity that
 * works: install, provision and renew all come through here, before
 * anything is written to the token or the state directory. A DPS server
 * that is wrong or hostile must not be able to swap a usable certificate
 * for one that fails every TLS handshake (issue 14, item 1). */
#include "config.h"

#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tools/install.h"
#include "tools/tool.h"

/* The leaf is valid now: notBefore in the past, notAfter in the future. */
static int devid_leaf_check_time(struct devid_tool *t, X509 *leaf)
{
    time_t now = time(NULL);
    /* -2: a time that cannot be read counts against the certificate, as
     * with X509_cmp_current_time (deprecated in OpenSSL 4.0) */
    int nb = ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), now);

    if (nb != -1 && nb != 0) {
        return devid_tool_fail(t, DEVID_EXIT_CERT,
                               "the certificate is not "
                               "valid yet (notBefore is in the future): "
                               "nothing installed");
    }
    if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), now) <= 0) {
        return devid_tool_fail(t, DEVID_EXIT_CERT,
                               "the certificate has expired: nothing "
                               "installed");
    }
    return DEVID_EXIT_OK;
}

/* Exactly one subject CN, equal to regid byte for byte (an embedded NUL
 * or a second CN cannot pass for the registration ID). DPS names the leaf
 * after the registration ID (DPS-PROTOCOL.md §1.6), and the hub takes the
 * device's identity from it. */
static int devid_leaf_check_cn(struct devid_tool *t, X509 *leaf,
                               const char *regid)
{
    const X509_NAME *subject = X509_get_subject_name(leaf);
    int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    const ASN1_STRING *cn = NULL;
    unsigned char *utf8 = NULL;
    int len = -1;
    int rc = DEVID_EXIT_CERT;

    if (i >= 0 && X509_NAME_get_index_by_NID(subject, NID_commonName, i) < 0) {
        cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
        len = cn != NULL ? ASN1_STRING_to_UTF8(&utf8, cn) : -1;
    }
    if (len < 0 || (size_t)len != strlen(regid)
        || memcmp(utf8, regid, (size_t)len) != 0) {
        devid_tool_fail(t, DEVID_EXIT_CERT,
                        "the certificate's subject CN is "
                        "not the registration ID %s: nothing installed",
                        regid);
        goto end;
    }
    rc = DEVID_EXIT_OK;
end:
    OPENSSL_free(utf8);
    return rc;
}

/* Leaf first, each certificate issued and signed by the next one. Only the
 * links are checked here: the last certificate need not be a root, and
 * trust in the issuing CA is the hub's business (it checks the chain
 * against its enrolled CAs), but a chain whose links do not verify is
 * refused by every TLS peer. */
static int devid_leaf_check_links(struct devid_tool *t, STACK_OF(X509) *chain)
{
    int i;

    for (i = 0; i + 1 < sk_X509_num(chain); i++) {
        X509 *cert = sk_X509_value(chain, i);
        X509 *issuer = sk_X509_value(chain, i + 1);
        EVP_PKEY *pub = X509_get0_pubkey(issuer);

        if (X509_check_issued(issuer, cert) != X509_V_OK) {
            return devid_tool_fail(t, DEVID_EXIT_CERT,
                                   "the chain is out of "
                                   "order: certificate %d did not issue "
                                   "certificate %d: nothing installed",
                                   i + 1, i);
        }
        if (pub == NULL || X509_verify(cert, pub) != 1) {
            return devid_tool_fail(t, DEVID_EXIT_CERT,
                                   "the signature of "
                                   "certificate %d does not verify with the "
                                   "key of certificate %d: nothing installed",
                                   i, i + 1);
        }
    }
    return DEVID_EXIT_OK;
}

int devid_leaf_check(struct devid_tool *t, STACK_OF(X509) *chain,
                     EVP_PKEY *pkey, const char *regid)
{
    X509 *leaf = sk_X509_value(chain, 0);
    int rc;

    if (leaf == NULL) {
        return devid_tool_fail(t, DEVID_EXIT_CERT, "empty certificate chain");
    }
    if (X509_check_private_key(leaf, pkey) != 1) {
        ERR_clear_error();
        return devid_tool_fail(t, DEVID_EXIT_CERT,
                               "the certificate does not belong to the key: "
                               "nothing installed");
    }
    rc = devid_leaf_check_time(t, leaf);
    if (rc == DEVID_EXIT_OK && regid != NULL) {
        rc = devid_leaf_check_cn(t, leaf, regid);
    }
    if (rc == DEVID_EXIT_OK) {
        rc = devid_leaf_check_links(t, chain);
    }
    ERR_clear_error();
    return rc;
}
