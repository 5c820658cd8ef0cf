/* SPDX-License-Identifier: Apache-2.0 */
/* Small memory helpers: wiping secrets and reading secret files. */
#ifndef DEVID_MEM_H
#define DEVID_MEM_H

#include <stddef.h>

/** Overwrites len bytes at p with zeros in a way the compiler cannot drop.
 *  Accepts p == NULL. */
void devid_memzero(void *p, size_t len);

/** Reads a whole small secret file (PIN, auth value) into a fresh secure
 *  buffer, dropping one trailing newline. Returns the buffer (NUL-terminated,
 *  length in *len); the caller frees it with OPENSSL_secure_clear_free(p,
 *  *len + 1). Returns NULL when the file cannot be read or is over max bytes. */
char *devid_read_secret_file(const char *path, size_t max, size_t *len);

/** Returns a copy of a key name (URI) fit for messages and logs: the value
 *  of any pin-value attribute is replaced by "***". The caller frees it with
 *  OPENSSL_free. Returns NULL only on allocation failure. */
char *devid_name_redact(const char *name);

/** Fills buf with len random bytes from the kernel (getrandom(2)), which
 *  works even where no OpenSSL provider offers a random generator (a
 *  library context with only devid loaded). Returns 1 or 0. */
int devid_random_bytes(unsigned char *buf, size_t len);

#endif
