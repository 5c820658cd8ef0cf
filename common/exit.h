/* SPDX-License-Identifier: Apache-2.0 */
/* Exit handlers that belong to the shared object that registers them. */
#ifndef DEVID_EXIT_H
#define DEVID_EXIT_H

/** Registers fn(NULL) to run at process exit, or when the shared object
 *  that calls this (devid.so, devid-pkcs11.so) is unloaded, whichever comes
 *  first: a handler never runs after its code is gone. Handlers run in the
 *  reverse order of registration, mixed with atexit()'s. Returns 1, or 0
 *  when the C library cannot take another handler. */
int devid_atexit(void (*fn)(void *));

#endif
