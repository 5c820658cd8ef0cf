/* SPDX-License-Identifier: Apache-2.0 */
/* glibc's atexit() ties a handler to the shared object it is called from
 * only because atexit() itself is linked into that object (libc_nonshared.a)
 * and passes the object's handle to __cxa_atexit(). When a runtime linked
 * before the C library exports an atexit() of its own (ThreadSanitizer's
 * does), the handle is lost: a handler of devid.so then ran at exit after
 * OpenSSL had unloaded devid.so, and jumped into unmapped memory. Asking
 * __cxa_atexit() directly, with the handle, does not depend on which
 * atexit() the linker found. This file is linked into each shared object
 * (libdevid-core.la is a convenience library), so __dso_handle is that
 * object's. */
#include "config.h"

#include <stddef.h>

#include "common/exit.h"

/* The C++ ABI's registration (glibc, musl), which no C header declares,
 * and the handle of the object being linked, which crtbegin.o defines */
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);
extern void *__dso_handle;

int devid_atexit(void (*fn)(void *))
{
    return __cxa_atexit(fn, NULL, __dso_handle) == 0;
}
