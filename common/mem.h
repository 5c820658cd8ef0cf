/* SPDX-License-Identifier: Apache-2.0 */
/* Small memory helpers: wiping secrets and reading secret files. */
#ifndef DEVID_MEM_H
#define DEVID_MEM_H

#include <stddef.h>

/** Overwrites len bytes at p with zeros in a way the compiler cannot drop.
 *  Accepts p == NULL. */
void devid_memzero(void *p, size_t len);

/* devid_read_secret_file flags: accept a file its group may read (an
 * administrator's choice, e.g. a PIN shared by a service group). */
#define DEVID_SECRET_GROUP_READABLE 1

/** Reads a whole small secret file (PIN, auth value) into a fresh secure
 *  buffer, dropping one trailing newline (LF or CR LF). Before reading,
 *  refuses a file that is not a regular file, is owned by another user
 *  than the caller or root, or that group or others may read or write
 *  (group may read with DEVID_SECRET_GROUP_READABLE in flags). Returns the
 *  buffer (NUL-terminated, length in *len, possibly 0); the caller frees it
 *  with OPENSSL_secure_clear_free(p, *len + 1). Returns NULL when the file
 *  is refused, cannot be read or is over max bytes, with *why saying which
 *  in words that follow the file's name ("is not a regular file"). */
char *devid_read_secret_file(const char *path, size_t max, int flags,
                             size_t *len, const char **why);

/** Returns a copy of a key name (URI) fit for messages and logs: the value
 *  of any pin-value attribute is replaced by "***". The caller frees it with
 *  OPENSSL_free. Returns NULL only on allocation failure. */
char *devid_name_redact(const char *name);

/** Fills buf with len random bytes from the kernel (getrandom(2)), which
 *  works even where no OpenSSL provider offers a random generator (a
 *  library context with only devid loaded). Returns 1 or 0. */
int devid_random_bytes(unsigned char *buf, size_t len);

#endif
