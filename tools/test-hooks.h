/* SPDX-License-Identifier: Apache-2.0 */
/* Test hooks: environment variables that let the tests stop or fail the
 * CLI at a named step. They exist only in a build configured with
 * --enable-test-hooks (DEVID_TEST_HOOKS in config.h), which scripts/test.sh
 * uses. Any other build gets the empty inline versions below and holds
 * none of the variable names, so nothing in a device's environment can
 * change what an installed devid does. Every DEVID_TEST_* hook lives in
 * test-hooks.c; nothing else in tools/ calls getenv for a test. */
#ifndef DEVID_TOOLS_TEST_HOOKS_H
#define DEVID_TOOLS_TEST_HOOKS_H

#include "tools/tool.h"

#ifdef DEVID_TEST_HOOKS

/** DEVID_TEST_PAUSE=STEP: when step is STEP, prints "test pause at STEP
 *  (dumpable N)"
 *  on stderr and sleeps 30 s, so a test can SIGKILL the process at exactly
 *  that step (tests/cli/renew-kill.sh). Otherwise returns at once. */
void devid_test_pause(struct devid_tool *t, const char *step);

/** DEVID_TEST_FAIL_WRITE=NAME: returns 1 when the atomic write of path
 *  must fail (path ends in NAME), else 0 (tests/cli/provision.sh). */
int devid_test_fail_write(const char *path);

/** DEVID_TEST_WAIT_DIVISOR=N (1 to 1000): returns ms / N, the time
 *  devid_sleep_ms really waits between DPS tries, so tests whose subject is
 *  not the waiting (a factory line, ten renewals) do not spend their time
 *  asleep. Every decision (the waits asked for, their messages, the
 *  deadline check) still uses ms. Otherwise returns ms. */
long devid_test_wait_ms(long ms);

#else

/* Macros rather than empty inline functions: not even their names (which
 * debug information would keep) reach a build without the hooks. */
#define devid_test_pause(t, step) ((void)(t), (void)(step))
#define devid_test_fail_write(path) ((void)(path), 0)
#define devid_test_wait_ms(ms) (ms)

#endif

#endif
