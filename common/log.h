/* SPDX-License-Identifier: Apache-2.0 */
/* Debug tracing, switched on by DEVID_DEBUG=1 (stderr) or
 * DEVID_DEBUG=file:/path. Never pass a PIN, auth value or key bytes. */
#ifndef DEVID_LOG_H
#define DEVID_LOG_H

/** Returns 1 when tracing is on. Cheap after the first call. */
int devid_debug_enabled(void);

/** Writes one trace line ("devid[pid]: area: text"). */
void devid_debug_print(const char *area, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#define DEVID_DEBUG(area, ...)                                                 \
    do {                                                                       \
        if (devid_debug_enabled()) {                                           \
            devid_debug_print((area), __VA_ARGS__);                            \
        }                                                                      \
    } while (0)

#endif
