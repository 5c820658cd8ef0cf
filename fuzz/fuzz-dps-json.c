/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the DPS answer parser (tools/dps-json.c), fed what a
 * hostile DPS could send as an operation status or an error body. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <openssl/x509.h>

#include "tools/dps-client.h"
#include "tools/dps-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct devid_dps_result res = { 0 };
    char err[160];
    json_object *root = devid_dps_json_parse((const char *)data, size, err,
                                             sizeof(err));
    long code = 0;
    char *msg = NULL;
    char *tid = NULL;

    if (root != NULL) {
        (void)devid_dps_json_operation(root, &res, err, sizeof(err));
        devid_dps_json_error(root, &code, &msg, &tid);
    }
    json_object_put(root);
    free(msg);
    free(tid);
    free(res.status);
    free(res.substatus);
    free(res.assigned_hub);
    free(res.device_id);
    free(res.operation_id);
    free(res.error_message);
    free(res.trust_bundle_etag);
    sk_X509_pop_free(res.issued_chain, X509_free);
    sk_X509_pop_free(res.trust_bundle, X509_free);
    return 0;
}
