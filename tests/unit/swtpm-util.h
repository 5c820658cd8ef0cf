/* SPDX-License-Identifier: Apache-2.0 */
/* A swtpm of a unit test's own, on a free pair of loopback ports, stopped
 * by its PID. */
#ifndef DEVID_TESTS_SWTPM_UTIL_H
#define DEVID_TESTS_SWTPM_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/** Starts swtpm with its state in dir and waits until its control port
 *  answers; writes its TCTI ("swtpm:host=...,port=N") into tcti and exports
 *  it as TPM2TOOLS_TCTI and TPM2OPENSSL_TCTI. Returns its PID, or -1 (then
 *  nothing is left running). */
pid_t tswtpm_start(const char *dir, char *tcti, size_t tcti_len);

/** Makes a directory $TMPDIR/NAME-XXXXXX (/tmp without TMPDIR) into dir
 *  (dir_len bytes) and starts a swtpm there (tswtpm_start). Returns its
 *  PID, or -1 after saying so on stderr (then nothing is left running). */
pid_t tswtpm_start_tmp(const char *name, char *dir, size_t dir_len, char *tcti,
                       size_t tcti_len);

/** Stops the swtpm *pid names: SIGTERM, then SIGKILL when it has not exited
 *  5 s later (swtpm 0.10 at times keeps polling after SIGTERM). Sets *pid
 *  to -1; does nothing when it is not positive. */
void tswtpm_stop(pid_t *pid);

#endif
