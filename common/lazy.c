/* SPDX-License-Identifier: Apache-2.0 */
/* Loading a library on first use (see lazy.h). */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>

#include "common/lazy.h"
#include "common/log.h"

/* Loads lib once. Returns its handle, or NULL with lib->why set. */
static void *devid_lazy_open(struct devid_lazy_lib *lib)
{
    void *handle = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);
    const char *err;

    if (handle != NULL) {
        return handle;
    }
    pthread_mutex_lock(&lib->lock);
    handle = lib->handle;
    if (handle == NULL && !lib->failed) {
        /* RTLD_LAZY: the library's own flags decide its binding, as when a
         * program is linked with it */
        handle = dlopen(lib->file, RTLD_LAZY | RTLD_LOCAL);
        if (handle == NULL) {
            err = dlerror();
            snprintf(lib->why, sizeof(lib->why), "%s",
                     err != NULL ? err : lib->file);
            lib->failed = 1;
        } else {
            DEVID_DEBUG("lazy", "loaded %s", lib->file);
            __atomic_store_n(&lib->handle, handle, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&lib->lock);
    return handle;
}

void *devid_lazy_sym(struct devid_lazy_lib *lib, const char *name, void **slot)
{
    void *sym = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    void *handle;

    if (sym != NULL) {
        return sym;
    }
    handle = devid_lazy_open(lib);
    if (handle == NULL) {
        DEVID_DEBUG("lazy", "%s: %s", name, lib->why);
        return NULL;
    }
    sym = dlsym(handle, name);
    if (sym == NULL) {
        DEVID_DEBUG("lazy", "%s: not in %s", name, lib->file);
        return NULL;
    }
    __atomic_store_n(slot, sym, __ATOMIC_RELEASE);
    return sym;
}

const char *devid_lazy_error(struct devid_lazy_lib *lib)
{
    const char *why = NULL;

    pthread_mutex_lock(&lib->lock);
    if (lib->failed) {
        why = lib->why;
    }
    pthread_mutex_unlock(&lib->lock);
    return why;
}
