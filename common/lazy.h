/* SPDX-License-Identifier: Apache-2.0 */
/* A library that devid.so loads on the first call of one of its functions,
 * not when devid.so itself is loaded: a program that activates devid but
 * uses none of its keys then never maps p11-kit or tpm2-tss (docs/bench.md,
 * "unused devid"). The backends call p11-kit and tpm2-tss as usual; in
 * devid.so alone, pkcs11/lazy-p11-kit.c and tpm2/lazy-tss2.c define each
 * function they call as a stub that resolves the real one (dlopen, dlsym)
 * the first time and calls it. The CLI, the PKCS#11 module and the tests
 * link the libraries directly and have no stubs.
 *
 * A function the backends start to call without a stub leaves devid.so
 * with an undefined symbol: "make check-exports" names it. */
#ifndef DEVID_LAZY_H
#define DEVID_LAZY_H

#include <pthread.h>

/* One library, loaded at most once per process and never unloaded (as a
 * library devid.so was linked with stays while devid.so does; these stay
 * for good, so that nothing they registered, atexit handlers say, can
 * outlive their code). */
struct devid_lazy_lib {
    const char *file; /* SONAME to dlopen, from configure */
    void *handle;     /* atomic; NULL until loaded */
    int failed;       /* the load failed; why holds dlerror() */
    char why[256];
    pthread_mutex_t lock;
};

#define DEVID_LAZY_LIB(file)                                                   \
    {                                                                          \
        (file), NULL, 0, "", PTHREAD_MUTEX_INITIALIZER                         \
    }

/** Returns the address of symbol name in lib, loading lib on the first
 *  call, and caches it in *slot (one static slot per stub). Returns NULL
 *  when the library or the symbol cannot be loaded: devid_lazy_error says
 *  why. Thread-safe; lock-free once *slot is set. */
void *devid_lazy_sym(struct devid_lazy_lib *lib, const char *name, void **slot);

/** Why lib could not be loaded (dlerror's text), or NULL when it was not
 *  tried or loaded. Static storage in lib: never freed. */
const char *devid_lazy_error(struct devid_lazy_lib *lib);

/* Defines the stub of function fn of lib: the real fn's return type ret,
 * parameter list params and argument list args (the parameters' names),
 * and the value it returns when the library cannot be loaded (fail), one
 * its callers treat as a failure. The prototype must match the library's
 * header, which the stub's file includes: the compiler checks it. */
#define DEVID_LAZY_STUB(lib, ret, fn, params, args, fail)                      \
    ret fn params                                                              \
    {                                                                          \
        static void *slot;                                                     \
        __typeof__(&fn) real;                                                  \
                                                                               \
        *(void **)&real = devid_lazy_sym(&(lib), #fn, &slot);                  \
        return real != NULL ? real args : (fail);                              \
    }

/* The same for a function that returns nothing: without its library it
 * does nothing (a release or finalize of what could not have been made). */
#define DEVID_LAZY_STUB_VOID(lib, fn, params, args)                            \
    void fn params                                                             \
    {                                                                          \
        static void *slot;                                                     \
        __typeof__(&fn) real;                                                  \
                                                                               \
        *(void **)&real = devid_lazy_sym(&(lib), #fn, &slot);                  \
        if (real != NULL) {                                                    \
            real args;                                                         \
        }                                                                      \
    }

#endif
