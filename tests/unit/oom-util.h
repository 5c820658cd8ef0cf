/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the allocation-failure tests (test-oom.c, test-oom-keys.c). */
#ifndef DEVID_TEST_OOM_UTIL_H
#define DEVID_TEST_OOM_UTIL_H

/** 1 when file (an allocation site's OPENSSL_FILE) is one of devid's own
 *  library sources under DEVID_TEST_SRCDIR (common/, provider/, pkcs11/,
 *  tpm2/), 0 for anything else (OpenSSL's, a module's). Real paths are
 *  compared: the objects and the test may spell the source directory
 *  differently (../.. from one configure, absolute from another). */
int toom_in_devid(const char *file);

#endif
