/* SPDX-License-Identifier: Apache-2.0 */
/* "openssl pkey -text" for TPM keys: where the key lives, its TPM Name and
 * the object attributes and scheme that limit what it may do (TPM 2.0
 * Part 2 §8.3 TPMA_OBJECT, §12.2.4 TPMT_PUBLIC). Nothing here talks to the
 * TPM: it all comes from the public area read when the key was opened. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <openssl/bio.h>

#include "tpm2/keyfile.h"
#include "tpm2/tpm2.h"

/* TPMA_OBJECT bits by their Part 2 names, in bit order. */
static const struct {
    TPMA_OBJECT bit;
    const char *name;
} devid_tpm2_attr_names[] = {
    { TPMA_OBJECT_FIXEDTPM, "fixedTPM" },
    { TPMA_OBJECT_STCLEAR, "stClear" },
    { TPMA_OBJECT_FIXEDPARENT, "fixedParent" },
    { TPMA_OBJECT_SENSITIVEDATAORIGIN, "sensitiveDataOrigin" },
    { TPMA_OBJECT_USERWITHAUTH, "userWithAuth" },
    { TPMA_OBJECT_ADMINWITHPOLICY, "adminWithPolicy" },
    { TPMA_OBJECT_NODA, "noDA" },
    { TPMA_OBJECT_ENCRYPTEDDUPLICATION, "encryptedDuplication" },
    { TPMA_OBJECT_RESTRICTED, "restricted" },
    { TPMA_OBJECT_DECRYPT, "decrypt" },
    { TPMA_OBJECT_SIGN_ENCRYPT, "sign" },
};

/* Algorithm IDs we print by name (Part 2 §6.3 TPM_ALG_ID); others in hex. */
static const char *devid_tpm2_alg_name(TPM2_ALG_ID alg)
{
    switch (alg) {
    case TPM2_ALG_NULL:
        return "null";
    case TPM2_ALG_SHA1:
        return "sha1";
    case TPM2_ALG_SHA256:
        return "sha256";
    case TPM2_ALG_SHA384:
        return "sha384";
    case TPM2_ALG_SHA512:
        return "sha512";
    case TPM2_ALG_RSASSA:
        return "rsassa";
    case TPM2_ALG_RSAPSS:
        return "rsapss";
    case TPM2_ALG_RSAES:
        return "rsaes";
    case TPM2_ALG_OAEP:
        return "oaep";
    case TPM2_ALG_ECDSA:
        return "ecdsa";
    case TPM2_ALG_ECDH:
        return "ecdh";
    default:
        return NULL;
    }
}

static int devid_tpm2_print_alg(BIO *out, int indent, const char *what,
                                TPM2_ALG_ID alg)
{
    const char *name = devid_tpm2_alg_name(alg);

    if (name != NULL) {
        return BIO_printf(out, "%*s%s: %s\n", indent, "", what, name) > 0;
    }
    return BIO_printf(out, "%*s%s: 0x%04x\n", indent, "", what,
                      (unsigned int)alg)
           > 0;
}

/* The object's Name, as tpm2_load -n and tpm2_readpublic show it. */
static int devid_tpm2_print_name(BIO *out, int indent, const TPMT_PUBLIC *pub)
{
    TPM2B_NAME name;
    unsigned int i;

    if (!devid_tpm2_pub_name(pub, &name)) {
        return BIO_printf(out, "%*sTPM name: (not computed)\n", indent, "") > 0;
    }
    if (BIO_printf(out, "%*sTPM name: ", indent, "") <= 0) {
        return 0;
    }
    for (i = 0; i < name.size; i++) {
        if (BIO_printf(out, "%02x", name.name[i]) <= 0) {
            return 0;
        }
    }
    return BIO_printf(out, "\n") > 0;
}

static int devid_tpm2_print_attrs(BIO *out, int indent, TPMA_OBJECT a)
{
    const char *sep = "";
    size_t i;

    if (BIO_printf(out, "%*sTPM object attributes: 0x%08x (", indent, "",
                   (unsigned int)a)
        <= 0) {
        return 0;
    }
    for (i = 0;
         i < sizeof(devid_tpm2_attr_names) / sizeof(devid_tpm2_attr_names[0]);
         i++) {
        if ((a & devid_tpm2_attr_names[i].bit) == 0) {
            continue;
        }
        if (BIO_printf(out, "%s%s", sep, devid_tpm2_attr_names[i].name) <= 0) {
            return 0;
        }
        sep = "|";
    }
    return BIO_printf(out, ")\n") > 0;
}

/* Where the key lives and how its auth value is given. */
static int devid_tpm2_print_place(BIO *out, int indent,
                                  const struct devid_tpm2_key *k)
{
    if (k->kf == NULL) {
        return BIO_printf(out,
                          "%*sTPM location: persistent handle 0x%08x\n"
                          "%*sTPM auth: %s\n",
                          indent, "", (unsigned int)k->handle, indent, "",
                          k->ask_auth ? "asked from the passphrase callback"
                                      : "empty, unless given")
               > 0;
    }
    return BIO_printf(out,
                      "%*sTPM location: TSS2 key file, parent 0x%08x%s\n"
                      "%*sTPM auth: %s\n%*sTPM policy: %s\n",
                      indent, "", (unsigned int)k->kf->parent,
                      k->kf->parent == 0x40000001u
                          ? " (storage root key, owner hierarchy)"
                          : "",
                      indent, "",
                      k->kf->empty_auth ? "none (emptyAuth)" : "required",
                      indent, "", k->kf->has_policy ? "present" : "none")
           > 0;
}

int devid_tpm2_key_describe(struct devid_key *key, BIO *out, int indent)
{
    const struct devid_tpm2_key *k = key->be;
    const TPMT_PUBLIC *pub = &k->pub;
    TPM2_ALG_ID scheme = pub->type == TPM2_ALG_ECC
                             ? pub->parameters.eccDetail.scheme.scheme
                             : pub->parameters.rsaDetail.scheme.scheme;
    TPM2_ALG_ID hash =
        pub->type == TPM2_ALG_ECC
            ? pub->parameters.eccDetail.scheme.details.anySig.hashAlg
            : pub->parameters.rsaDetail.scheme.details.anySig.hashAlg;

    return devid_tpm2_print_place(out, indent, k)
           && devid_tpm2_print_name(out, indent, pub)
           && devid_tpm2_print_alg(out, indent, "TPM name algorithm",
                                   pub->nameAlg)
           && devid_tpm2_print_attrs(out, indent, pub->objectAttributes)
           && devid_tpm2_print_alg(out, indent, "TPM scheme", scheme)
           && (scheme == TPM2_ALG_NULL
               || devid_tpm2_print_alg(out, indent, "TPM scheme hash", hash));
}
